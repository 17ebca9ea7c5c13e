//! `[[syslog]]` in `agent.toml`: one listener each.
//!
//! ```toml
//! [[syslog]]
//! listen = "udp://0.0.0.0:5514"
//!
//! [[syslog]]
//! listen = "tcp://0.0.0.0:5514"
//! max_message_bytes = 65536      # longer messages are scanned cut to this (and counted)
//! max_connections = 256          # more are closed at once (and counted)
//! idle_timeout_s = 300           # a connection silent this long is closed
//!
//! [[syslog]]
//! listen = "tls://0.0.0.0:6514"  # RFC 5425
//! cert = "/etc/custos/syslog.pem"
//! key = "/etc/custos/syslog.key"
//! client_ca = "/etc/custos/syslog-clients.pem"   # optional: senders must present a certificate it signed
//! ```

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// One `[[syslog]]` listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogSource {
    /// `udp://ADDR:PORT`, `tcp://ADDR:PORT` or `tls://ADDR:PORT` (an IP address, `[::]` for
    /// IPv6).
    pub listen: String,
    /// The listener's certificate chain (PEM), `tls://` only.
    #[serde(default)]
    pub cert: Option<PathBuf>,
    /// The listener's private key (PEM), `tls://` only.
    #[serde(default)]
    pub key: Option<PathBuf>,
    /// CA certificates (PEM) that sign the senders' certificates: with it, a `tls://` listener
    /// accepts only senders presenting one (mutual TLS).
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
    /// Longest message kept whole; longer ones are scanned cut to it (UDP datagrams are at most
    /// 65,507 bytes anyway).
    #[serde(default = "default_max_message")]
    pub max_message_bytes: usize,
    /// Open TCP/TLS connections at most; one more is closed as soon as it is accepted.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// A TCP/TLS connection that sends nothing for this long is closed.
    #[serde(default = "default_idle")]
    pub idle_timeout_s: u64,
}

fn default_max_message() -> usize {
    64 << 10
}
fn default_max_connections() -> usize {
    256
}
fn default_idle() -> u64 {
    300
}

/// How a listener receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Datagrams (RFC 5426); shed when the scanner is behind.
    Udp,
    /// A byte stream (RFC 6587); back-pressured when the scanner is behind.
    Tcp,
    /// A TLS byte stream (RFC 5425).
    Tls,
}

impl Transport {
    /// The scheme, and the metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
        }
    }
}

/// Smallest `max_message_bytes` (RFC 5424 receivers must take 480 bytes).
pub const MIN_MESSAGE_BYTES: usize = 480;
/// Largest `max_message_bytes`.
pub const MAX_MESSAGE_BYTES: usize = 16 << 20;

impl SyslogSource {
    /// The transport and address of `listen`, or why it cannot be read.
    pub fn endpoint(&self) -> Result<(Transport, SocketAddr), String> {
        let Some((scheme, addr)) = self.listen.split_once("://") else {
            return Err(format!("`{}`: write udp://ADDR:PORT, tcp://ADDR:PORT or tls://ADDR:PORT", self.listen));
        };
        let transport = match scheme {
            "udp" => Transport::Udp,
            "tcp" => Transport::Tcp,
            "tls" => Transport::Tls,
            _ => return Err(format!("`{scheme}://` is not a syslog transport; use udp://, tcp:// or tls://")),
        };
        let addr = addr.parse().map_err(|_| format!("`{addr}` is not IP:PORT (e.g. 0.0.0.0:5514 or [::]:5514)"))?;
        Ok((transport, addr))
    }

    /// Makes relative paths relative to `base` (the config file's directory).
    pub fn resolve(&mut self, base: &Path) {
        for p in [&mut self.cert, &mut self.key, &mut self.client_ca].into_iter().flatten() {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
    }

    /// Checks the listener; the error names the field (`syslog.FIELD`) and what to do.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        let (transport, _) = self.endpoint().map_err(|e| ("syslog.listen", e))?;
        let tls_files = [("syslog.cert", &self.cert), ("syslog.key", &self.key), ("syslog.client_ca", &self.client_ca)];
        if transport == Transport::Tls {
            if self.cert.is_none() || self.key.is_none() {
                return Err(("syslog.cert", "a tls:// listener needs `cert` and `key` (PEM files)".into()));
            }
            for (field, p) in tls_files {
                if let Some(p) = p
                    && !p.is_file()
                {
                    return Err((field, format!("file {} does not exist", p.display())));
                }
            }
        } else if let Some((field, _)) = tls_files.iter().find(|(_, p)| p.is_some()) {
            return Err((field, format!("only a tls:// listener takes it; remove it or listen on tls:// (this one is {}://)", transport.as_str())));
        }
        if !(MIN_MESSAGE_BYTES..=MAX_MESSAGE_BYTES).contains(&self.max_message_bytes) {
            return Err(("syslog.max_message_bytes", format!("must be between {MIN_MESSAGE_BYTES} and {MAX_MESSAGE_BYTES}")));
        }
        if self.max_connections == 0 || self.max_connections > 65_536 {
            return Err(("syslog.max_connections", "must be between 1 and 65536".into()));
        }
        if self.idle_timeout_s == 0 {
            return Err(("syslog.idle_timeout_s", "must be at least 1".into()));
        }
        Ok(())
    }
}

/// Checks that no two listeners share a transport and address.
pub fn check_all(sources: &[SyslogSource]) -> Result<(), (&'static str, String)> {
    let mut seen = std::collections::HashSet::new();
    for s in sources {
        // Several listeners share field names: the error says which one it is about.
        s.check().map_err(|(field, reason)| (field, format!("[[syslog]] listen = \"{}\": {reason}", s.listen.escape_debug())))?;
        let (t, addr) = s.endpoint().map_err(|e| ("syslog.listen", e))?;
        // UDP and TCP may share a port; two stream listeners on one port may not.
        let key = (t == Transport::Udp, addr);
        if !seen.insert(key) {
            return Err(("syslog.listen", format!("`{}` is listened on twice", s.listen)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(toml_text: &str) -> SyslogSource {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn listen_urls_and_defaults() {
        let s = source("listen = \"udp://0.0.0.0:5514\"");
        assert_eq!(s.endpoint().unwrap(), (Transport::Udp, "0.0.0.0:5514".parse().unwrap()));
        assert_eq!((s.max_message_bytes, s.max_connections, s.idle_timeout_s), (65536, 256, 300));
        assert!(s.check().is_ok());
        assert_eq!(source("listen = \"tcp://[::]:514\"").endpoint().unwrap().0, Transport::Tcp);
        assert!(source("listen = \"http://0.0.0.0:1\"").check().unwrap_err().1.contains("not a syslog transport"));
        assert!(source("listen = \"0.0.0.0:1\"").check().unwrap_err().1.contains("udp://ADDR:PORT"));
        assert!(source("listen = \"tcp://localhost:1\"").check().unwrap_err().1.contains("IP:PORT"));
    }

    #[test]
    fn tls_needs_cert_and_key_and_only_tls_takes_them() {
        assert_eq!(source("listen = \"tls://0.0.0.0:6514\"").check().unwrap_err().0, "syslog.cert");
        let e = source("listen = \"tcp://0.0.0.0:6514\"\nclient_ca = \"ca.pem\"").check().unwrap_err();
        assert_eq!(e.0, "syslog.client_ca");
        let e = source("listen = \"tls://0.0.0.0:6514\"\ncert = \"/nonexistent.pem\"\nkey = \"/nonexistent.key\"").check().unwrap_err();
        assert!(e.1.contains("/nonexistent.pem"), "{e:?}");
    }

    #[test]
    fn a_typo_in_agent_toml_names_the_file_line_and_field() {
        let text = "agent_id = \"a\"\ndata_dir = \"x\"\n[collector]\nurl = \"https://x\"\nca = \"a\"\ncert = \"b\"\nkey = \"c\"\n[fingerprint]\nkey_file = \"k\"\n\n[[syslog]]\nlisten = \"udp://0.0.0.0:5514\"\n\n[[syslog]]\nlisten = \"tcp://0.0.0.0:5514\"\nmax_conections = 3\n";
        let e = crate::config::parse_toml::<crate::config::AgentConfig>(Path::new("agent.toml"), text).unwrap_err();
        assert_eq!(e.line, 16, "{e}");
        assert!(e.to_string().starts_with("agent.toml:16:") && e.to_string().contains("max_conections"), "{e}");
        let ok = crate::config::parse_toml::<crate::config::AgentConfig>(Path::new("agent.toml"), &text.replace("max_conections", "max_connections")).unwrap();
        assert_eq!(ok.syslogs.len(), 2);
        assert_eq!(ok.syslogs[1].max_connections, 3);
    }

    #[test]
    fn limits_are_checked_and_unknown_fields_refused() {
        assert_eq!(source("listen = \"udp://0.0.0.0:1\"\nmax_message_bytes = 10").check().unwrap_err().0, "syslog.max_message_bytes");
        assert_eq!(source("listen = \"tcp://0.0.0.0:1\"\nmax_connections = 0").check().unwrap_err().0, "syslog.max_connections");
        assert_eq!(source("listen = \"tcp://0.0.0.0:1\"\nidle_timeout_s = 0").check().unwrap_err().0, "syslog.idle_timeout_s");
        assert!(toml::from_str::<SyslogSource>("listen = \"udp://0.0.0.0:1\"\nmax_mesage_bytes = 1").is_err());
        let twice = [
            source("listen = \"tcp://0.0.0.0:1\""),
            source("listen = \"udp://0.0.0.0:1\""),
            source("listen = \"tls://0.0.0.0:1\"\ncert=\"/etc/hostname\"\nkey=\"/etc/hostname\""),
        ];
        assert!(check_all(&twice[..2]).is_ok(), "UDP and TCP share a port");
        assert!(check_all(&twice).unwrap_err().1.contains("twice"));
    }
}
