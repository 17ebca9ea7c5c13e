//! Notifications on real parts: a real HTTP server (axum) receives the webhook and checks its
//! HMAC-SHA256 signature itself; a real SMTP server in the test, which insists on STARTTLS with
//! a certificate from a test CA, receives the e-mail. Deliveries go through the collector's
//! outbox in a real store (SQLite, and PostgreSQL when CUSTOS_TEST_POSTGRES is set): send-once, retried with backoff, failures visible.

use custos_collector::config::{EmailConfig, NotificationConfig, WebhookConfig};
use custos_collector::correlation::CorrelationSettings;
use custos_collector::digest::Digest;
use custos_collector::incident::Status;
use custos_collector::notify::Notifier;
use custos_collector::register::Register;
use custos_collector::store::Store;
use custos_proto::v1 as pb;
use custos_tests::*;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const HOUR: i64 = 3_600_000;
/// Wednesday 2026-09-23 00:00 UTC: the following 72 hours hold no Monday, so no weekly digest is due.
const T0: i64 = 1_790_121_600_000;
const SECRET: &str = "webhook-shared-secret";

fn register_toml() -> String {
    RegisterFixture::new("Exemple SAS")
        .dpo("Claire Martin", "dpo@exemple.fr")
        .activity("accounts", "Customer accounts", &["contact"])
        .field("purpose", r#""Accounts""#)
        .system(r#"paths = ["/var/log/app/*.log"]"#)
        .system(r#"databases = ["postgres://never-scanned"]"#)
        .toml()
}

// ---------------------------------------------------------------- a real SMTP server with STARTTLS

#[derive(Debug, Clone)]
struct Mail {
    tls: bool,
    to: Vec<String>,
    data: String,
}

/// An SMTP server on loopback that offers STARTTLS and refuses mail before it.
fn smtp_server(cert: &Path, key: &Path) -> (u16, Arc<Mutex<Vec<Mail>>>) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert).unwrap().map(|c| c.unwrap()).collect();
    let key = PrivateKeyDer::from_pem_file(key).unwrap();
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mails = Arc::new(Mutex::new(Vec::new()));
    let sink = mails.clone();
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let (config, sink) = (config.clone(), sink.clone());
            std::thread::spawn(move || {
                let mut plain = BufReader::new(tcp.try_clone().unwrap());
                let mut out = tcp.try_clone().unwrap();
                out.write_all(b"220 localhost ESMTP custos-test\r\n").unwrap();
                loop {
                    let mut line = String::new();
                    if plain.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let cmd = line.to_ascii_uppercase();
                    if cmd.starts_with("EHLO") {
                        out.write_all(b"250-localhost\r\n250 STARTTLS\r\n").unwrap();
                    } else if cmd.starts_with("STARTTLS") {
                        out.write_all(b"220 go ahead\r\n").unwrap();
                        break;
                    } else if cmd.starts_with("QUIT") {
                        return;
                    } else {
                        out.write_all(b"530 must issue STARTTLS first\r\n").unwrap();
                    }
                }
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = BufReader::new(rustls::StreamOwned::new(conn, tcp));
                let mut mail = Mail { tls: true, to: Vec::new(), data: String::new() };
                loop {
                    let mut line = String::new();
                    if tls.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let cmd = line.to_ascii_uppercase();
                    let reply: &[u8] = if cmd.starts_with("EHLO") {
                        b"250 localhost\r\n"
                    } else if cmd.starts_with("RCPT TO:") {
                        mail.to.push(line[8..].trim().trim_matches(|c| c == '<' || c == '>').to_string());
                        b"250 ok\r\n"
                    } else if cmd.starts_with("DATA") {
                        tls.get_mut().write_all(b"354 end with .\r\n").unwrap();
                        loop {
                            let mut l = String::new();
                            if tls.read_line(&mut l).unwrap_or(0) == 0 || l == ".\r\n" {
                                break;
                            }
                            mail.data.push_str(&l);
                        }
                        sink.lock().unwrap().push(mail.clone());
                        b"250 queued\r\n"
                    } else if cmd.starts_with("QUIT") {
                        let _ = tls.get_mut().write_all(b"221 bye\r\n");
                        return;
                    } else {
                        b"250 ok\r\n"
                    };
                    tls.get_mut().write_all(reply).unwrap();
                }
            });
        }
    });
    (port, mails)
}

// ---------------------------------------------------------------- fixtures

struct Fixture {
    store: Store,
    _t: TestStore,
    dir: tempfile::TempDir,
    register: Register,
}

/// A register and an empty store on `engine` (None: PostgreSQL not configured for the tests).
fn fixture(engine: Engine) -> Option<Fixture> {
    let dir = tempfile::tempdir().unwrap();
    let reg = dir.path().join("register.toml");
    std::fs::write(&reg, register_toml()).unwrap();
    let register = Register::load(&reg).unwrap();
    let (t, store) = TestStore::new(engine, dir.path())?;
    Some(Fixture { store, _t: t, dir, register })
}

fn finding(id: &str, locator: &str, category: pb::Category) -> pb::Finding {
    pb::Finding {
        id: id.into(),
        agent_id: "agent-1".into(),
        host: "web-01".into(),
        source: Some(pb::Source { kind: pb::SourceKind::LogFile as i32, locator: locator.into(), identity: "i".into() }),
        position: None,
        detector: "iban".into(),
        category: category as i32,
        special_category: false,
        confidence: 0.9,
        preview: "FR76 ****  **** 189".into(),
        fingerprint: vec![id.as_bytes()[0]; 32],
        observed_at_ms: T0,
        kind: pb::FindingKind::PersonalData as i32,
        evidence: Default::default(),
    }
}

impl Fixture {
    fn ingest(&mut self, f: Vec<pb::Finding>, now: i64) -> Vec<i64> {
        let batch =
            pb::FindingBatch { seq: 1, agent_id: "agent-1".into(), findings: f, agent_version: "t".into(), host: "web-01".into(), ..Default::default() };
        let settings = CorrelationSettings::default();
        self.store.ingest(&custos_proto::checked::CheckedBatch::from_wire(&batch, "agent-1"), &self.register, &settings, now).unwrap().opened
    }

    fn secret(&self, text: &str) -> PathBuf {
        let p = self.dir.path().join("webhook.secret");
        std::fs::write(&p, text).unwrap();
        p
    }
}

fn webhook(url: &str, secret_file: PathBuf) -> Option<WebhookConfig> {
    Some(WebhookConfig { url: url.into(), secret_file })
}

// The specifications run once per engine: `sqlite::…` always, `postgres::…` when
// CUSTOS_TEST_POSTGRES names a database (scripts/test.sh sets it).
mod sqlite {
    use super::*;
    fn fixture() -> Option<Fixture> {
        super::fixture(Engine::Sqlite)
    }
    include!("specs/notify.rs");
}

mod postgres {
    use super::*;
    fn fixture() -> Option<Fixture> {
        super::fixture(Engine::Postgres)
    }
    include!("specs/notify.rs");
}
