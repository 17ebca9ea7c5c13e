//! PostgreSQL connections as Custos makes them: from a libpq-style URL, over TLS when the URL
//! asks for it.
//!
//! Two parts of Custos talk to PostgreSQL: the collector's store and the agent's scans of
//! database tables. Both take the URL an operator writes
//! (`postgres://user:password@db.internal:5432/custos?sslmode=verify-full&sslrootcert=/etc/custos/db-ca.pem`,
//! or the `key=value` form) and get a connection through [`Target`]. The `postgres` client
//! alone knows `sslmode=disable|prefer|require` and no CA file, so this crate reads the TLS
//! part itself, as libpq does:
//!
//! | `sslmode`            | encrypted | server certificate checked                           |
//! |----------------------|-----------|-------------------------------------------------------|
//! | absent, `disable`, `prefer`, `allow` | no | —                                        |
//! | `require`            | yes       | against `sslrootcert` when given (libpq's rule), else not at all |
//! | `verify-ca`          | yes       | chains to `sslrootcert`                               |
//! | `verify-full`        | yes       | chains to `sslrootcert` and names the host connected to |
//!
//! `verify-ca` and `verify-full` need `sslrootcert` (there is no system store to fall back
//! on): without it the URL is refused rather than silently weakened. TLS is rustls with the
//! *ring* provider, the one the rest of Custos uses. Error messages never repeat the URL,
//! which may hold a password.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod verify;

use std::path::PathBuf;
use std::sync::Arc;

/// How a connection protects itself, from the URL's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// No TLS (`sslmode` absent, `disable`, `allow` or `prefer`).
    Disable,
    /// TLS; the certificate is checked against `sslrootcert` when one is given.
    Require,
    /// TLS; the certificate must chain to `sslrootcert` (any host name).
    VerifyCa,
    /// TLS; the certificate must chain to `sslrootcert` and name the host.
    VerifyFull,
}

/// A PostgreSQL server to connect to, read from a URL.
#[derive(Clone)]
pub struct Target {
    config: postgres::Config,
    tls: TlsMode,
    root_cert: Option<PathBuf>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        f.debug_struct("Target").field("hosts", &self.config.get_hosts()).field("tls", &self.tls).finish()
    }
}

/// Percent-decodes a URL query value (`%2F` → `/`).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Takes `sslmode` and `sslrootcert` out of a URL or `key=value` string; returns the rest (for
/// the `postgres` client) and the two values.
fn split_tls(url: &str) -> (String, Option<String>, Option<String>) {
    let (mut mode, mut root) = (None, None);
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let Some((base, query)) = url.split_once('?') else { return (url.to_string(), None, None) };
        let mut kept = Vec::new();
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("sslmode", v)) => mode = Some(percent_decode(v)),
                Some(("sslrootcert", v)) => root = Some(percent_decode(v)),
                _ => kept.push(pair),
            }
        }
        let rest = if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) };
        (rest, mode, root)
    } else {
        let mut kept = Vec::new();
        for token in url.split_whitespace() {
            match token.split_once('=') {
                Some(("sslmode", v)) => mode = Some(v.trim_matches('\'').to_string()),
                Some(("sslrootcert", v)) => root = Some(v.trim_matches('\'').to_string()),
                _ => kept.push(token),
            }
        }
        (kept.join(" "), mode, root)
    }
}

impl Target {
    /// Reads a URL (`postgres://…` or `key=value …`). The error says what is wrong without
    /// repeating the URL.
    pub fn parse(url: &str) -> Result<Target, String> {
        let (rest, mode, root) = split_tls(url);
        let tls = match mode.as_deref() {
            None | Some("disable" | "allow" | "prefer") => TlsMode::Disable,
            Some("require") => TlsMode::Require,
            Some("verify-ca") => TlsMode::VerifyCa,
            Some("verify-full") => TlsMode::VerifyFull,
            Some(other) => return Err(format!("sslmode `{other}` is not one of disable, prefer, require, verify-ca, verify-full")),
        };
        if matches!(tls, TlsMode::VerifyCa | TlsMode::VerifyFull) && root.is_none() {
            return Err("sslmode=verify-ca and verify-full need sslrootcert=FILE, the CA that signed the server's certificate".into());
        }
        let mut config: postgres::Config = rest.parse().map_err(|e| format!("the PostgreSQL URL is not valid: {e}"))?;
        config.ssl_mode(if tls == TlsMode::Disable { postgres::config::SslMode::Disable } else { postgres::config::SslMode::Require });
        Ok(Target { config, tls, root_cert: root.map(PathBuf::from) })
    }

    /// How the connection is protected.
    pub fn tls_mode(&self) -> TlsMode {
        self.tls
    }

    /// The client configuration (host, port, user, database…).
    pub fn config(&self) -> &postgres::Config {
        &self.config
    }

    /// Connects (blocking; the `postgres` client runs its own small runtime, so call it off any
    /// tokio runtime's worker threads).
    pub fn connect(&self) -> Result<postgres::Client, String> {
        let result = match self.tls {
            TlsMode::Disable => self.config.connect(postgres::NoTls),
            _ => self.config.connect(tokio_postgres_rustls::MakeRustlsConnect::new(self.rustls_config()?)),
        };
        result.map_err(|e| {
            let mut s = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(c) = src {
                s.push_str(": ");
                s.push_str(&c.to_string());
                src = c.source();
            }
            s
        })
    }

    fn rustls_config(&self) -> Result<rustls::ClientConfig, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions().map_err(|e| format!("TLS: {e}"))?;
        let roots = match &self.root_cert {
            Some(path) => Some(verify::roots(path)?),
            None => None,
        };
        let config = match (self.tls, roots) {
            (TlsMode::VerifyFull, Some(roots)) => builder.with_root_certificates(roots).with_no_client_auth(),
            (TlsMode::VerifyCa | TlsMode::Require, Some(roots)) => {
                builder.dangerous().with_custom_certificate_verifier(verify::chain_only(roots, provider)?).with_no_client_auth()
            }
            (TlsMode::Require, None) => builder.dangerous().with_custom_certificate_verifier(verify::encrypt_only(provider)).with_no_client_auth(),
            _ => return Err("sslmode=verify-ca and verify-full need sslrootcert=FILE".into()),
        };
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_and_sslrootcert_are_read_from_both_url_forms_and_taken_out() {
        let t = Target::parse("postgres://u:secret@db:5432/custos?application_name=x&sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem").unwrap();
        assert_eq!(t.tls_mode(), TlsMode::VerifyFull);
        assert_eq!(t.root_cert.as_deref(), Some(std::path::Path::new("/etc/ca.pem")));
        assert_eq!(t.config().get_application_name(), Some("x"));
        let t = Target::parse("host=db user=u sslmode=require dbname=custos").unwrap();
        assert_eq!((t.tls_mode(), t.root_cert.is_none()), (TlsMode::Require, true));
        assert_eq!(Target::parse("postgres://u@db/custos").unwrap().tls_mode(), TlsMode::Disable);
        assert_eq!(Target::parse("postgres://u@db/custos?sslmode=prefer").unwrap().tls_mode(), TlsMode::Disable);
    }

    #[test]
    fn verification_without_a_ca_file_and_unknown_modes_are_refused_without_the_password() {
        let e = Target::parse("postgres://u:hunter2@db/custos?sslmode=verify-full").unwrap_err();
        assert!(e.contains("sslrootcert") && !e.contains("hunter2"), "{e}");
        let e = Target::parse("postgres://u:hunter2@db/custos?sslmode=always").unwrap_err();
        assert!(e.contains("always") && !e.contains("hunter2"), "{e}");
        assert!(!format!("{:?}", Target::parse("postgres://u:hunter2@db/x").unwrap()).contains("hunter2"));
    }

    #[test]
    fn a_missing_ca_file_is_named() {
        let t = Target::parse("postgres://u@127.0.0.1:1/x?sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem").unwrap();
        let Err(e) = t.connect() else { panic!("connected without a CA file") };
        assert!(e.contains("/nonexistent/ca.pem"), "{e}");
    }
}
