//! Notifications on real parts: a real HTTP server (axum) receives the webhook and checks its
//! HMAC-SHA256 signature itself; a real SMTP server in the test, which insists on STARTTLS with
//! a certificate from a test CA, receives the e-mail. Deliveries go through the collector's
//! outbox in a real SQLite file: send-once, retried with backoff, failures visible.

use custos_collector::config::{EmailConfig, NotificationConfig, WebhookConfig};
use custos_collector::correlation::Policy;
use custos_collector::digest::Digest;
use custos_collector::incident::Status;
use custos_collector::notify::Notifier;
use custos_collector::register::Register;
use custos_collector::store::{CorrelationSettings, Store};
use custos_proto::v1 as pb;
use custos_tests::*;
use hmac::{Hmac, Mac};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const HOUR: i64 = 3_600_000;
/// Wednesday 2026-09-23 00:00 UTC: the following 72 hours hold no Monday, so no weekly digest is due.
const T0: i64 = 1_790_121_600_000;
const SECRET: &str = "webhook-shared-secret";

const REGISTER: &str = r#"
[controller]
name = "Exemple SAS"
dpo = { name = "Claire Martin", email = "dpo@exemple.fr" }
[[activity]]
id = "accounts"
name = "Customer accounts"
purpose = "Accounts"
legal_basis = "contract"
data_categories = ["contact"]
[[activity.system]]
paths = ["/var/log/app/*.log"]
[[activity.system]]
databases = ["postgres://never-scanned"]
"#;

// ---------------------------------------------------------------- a real webhook receiver

#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(bool, serde_json::Value)>>>);

/// An HTTP server that verifies `X-Custos-Signature` with `secret` and answers 401 when it does
/// not match.
fn webhook_server(secret: &'static str) -> (String, Received) {
    let std_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let url = format!("http://127.0.0.1:{}/hook", std_listener.local_addr().unwrap().port());
    let received = Received::default();
    let state = received.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            async fn hook(axum::extract::State((secret, got)): axum::extract::State<(&'static str, Received)>, headers: axum::http::HeaderMap, body: axum::body::Bytes) -> axum::http::StatusCode {
                let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
                mac.update(&body);
                let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
                let valid = headers.get("x-custos-signature").and_then(|v| v.to_str().ok()) == Some(expected.as_str());
                got.0.lock().unwrap().push((valid, serde_json::from_slice(&body).unwrap_or_default()));
                if valid { axum::http::StatusCode::OK } else { axum::http::StatusCode::UNAUTHORIZED }
            }
            let app = axum::Router::new().route("/hook", axum::routing::post(hook)).with_state((secret, state));
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    (url, received)
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
    dir: tempfile::TempDir,
    register: Register,
    store: Store,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let reg = dir.path().join("register.toml");
    std::fs::write(&reg, REGISTER).unwrap();
    let register = Register::load(&reg).unwrap();
    let store = Store::open(&dir.path().join("custos.db")).unwrap();
    Fixture { dir, register, store }
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
        let batch = pb::FindingBatch { seq: 1, agent_id: "agent-1".into(), findings: f, agent_version: "t".into(), host: "web-01".into(), ..Default::default() };
        let settings = CorrelationSettings { policy: Policy::default(), window_ms: 24 * HOUR };
        self.store.ingest(&batch, "agent-1", &self.register, &settings, now).unwrap().opened
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

// ---------------------------------------------------------------- tests

#[test]
fn an_opened_incident_reaches_the_signed_webhook_and_the_mailbox_over_starttls_once() {
    let mut fx = fixture();
    let ca = TestCa::new("smtp test CA");
    let (cert, key) = ca.server(fx.dir.path());
    let ca_file = ca.write(fx.dir.path(), "smtp-ca.pem");
    let (smtp_port, mails) = smtp_server(&cert, &key);
    let (url, hooks) = webhook_server(SECRET);
    let cfg = NotificationConfig {
        webhook: webhook(&url, fx.secret(SECRET)),
        email: Some(EmailConfig {
            server: "localhost".into(),
            port: smtp_port,
            from: "custos@exemple.fr".into(),
            to: vec!["dpo@exemple.fr".into(), "soc@exemple.fr".into()],
            username: None,
            password_file: None,
            ca_file: Some(ca_file),
        }),
        ..Default::default()
    };
    let notifier = Notifier::new(cfg).unwrap();

    let opened = fx.ingest(vec![finding("a", "/var/log/app/pay.log", pb::Category::Financial)], T0);
    assert_eq!(opened, [1]);
    assert_eq!(notifier.plan(&mut fx.store, &fx.register, 24, T0).unwrap(), 2, "one per channel");
    assert_eq!(notifier.plan(&mut fx.store, &fx.register, 24, T0).unwrap(), 0, "send-once: planning again queues nothing");
    let store = Mutex::new(fx.store);
    assert_eq!(notifier.deliver(&store, T0).unwrap(), (2, 0));
    assert_eq!(notifier.deliver(&store, T0 + HOUR).unwrap(), (0, 0), "nothing left to send");

    let hooks = hooks.0.lock().unwrap().clone();
    assert_eq!(hooks.len(), 1);
    let (valid, body) = &hooks[0];
    assert!(valid, "the receiver recomputed the HMAC-SHA256 signature");
    assert_eq!(body["event"], "opened");
    assert_eq!(body["incident"]["id"], 1);
    assert_eq!(body["incident"]["rule"], "undeclared_category");
    assert_eq!(body["incident"]["categories"], serde_json::json!(["financial"]));
    assert_eq!(body["hours_left"], 72);

    let mails = mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].tls);
    assert_eq!(mails[0].to, ["dpo@exemple.fr", "soc@exemple.fr"]);
    assert!(mails[0].data.contains("Subject: [Custos] Possible personal-data breach: #1"), "{}", mails[0].data);
    for (what, text) in [("webhook", body.to_string()), ("mail", mails[0].data.clone())] {
        assert!(!text.contains("FR76") && !text.contains("****"), "no preview or value fragment in the {what}: {text}");
    }

    let store = store.into_inner().unwrap();
    let sent: Vec<(String, String)> = store.notifications().unwrap().into_iter().map(|n| (n.channel, n.status)).collect();
    assert_eq!(sent, [("email".to_string(), "sent".to_string()), ("webhook".to_string(), "sent".to_string())]);
    assert_eq!(store.timeline(1).unwrap().iter().filter(|t| t.kind == "alert_sent").count(), 2);
}

#[test]
fn failed_deliveries_are_recorded_visible_and_retried_with_backoff() {
    let mut fx = fixture();
    let (url, hooks) = webhook_server(SECRET);
    let closed_port = free_port();
    let cfg = NotificationConfig {
        webhook: webhook(&url, fx.secret("not-the-receivers-secret")),
        email: Some(EmailConfig { server: "localhost".into(), port: closed_port, from: "c@x.fr".into(), to: vec!["d@x.fr".into()], username: None, password_file: None, ca_file: None }),
        max_attempts: 3,
        ..Default::default()
    };
    let notifier = Notifier::new(cfg).unwrap();
    fx.ingest(vec![finding("a", "/srv/export.csv", pb::Category::Contact)], T0);
    notifier.plan(&mut fx.store, &fx.register, 24, T0).unwrap();
    let store = Mutex::new(fx.store);
    assert_eq!(notifier.deliver(&store, T0).unwrap(), (0, 2));
    assert_eq!(hooks.0.lock().unwrap().len(), 1, "the receiver got it and refused the bad signature");
    {
        let s = store.lock().unwrap();
        for n in s.notifications().unwrap() {
            assert_eq!((n.status.as_str(), n.attempts), ("pending", 1), "{n:?}");
            let expected = if n.channel == "webhook" { "HTTP 401" } else { "SMTP localhost" };
            assert!(n.last_error.contains(expected), "{n:?}");
        }
    }
    assert_eq!(notifier.deliver(&store, T0 + 10_000).unwrap(), (0, 0), "backoff: not due after 10 s");
    assert_eq!(notifier.deliver(&store, T0 + 31_000).unwrap(), (0, 2), "due again after 30 s");
    assert_eq!(notifier.deliver(&store, T0 + 92_000).unwrap(), (0, 2), "third and last attempt after 60 s more");
    assert_eq!(notifier.deliver(&store, T0 + 10 * HOUR).unwrap(), (0, 0));
    let s = store.lock().unwrap();
    assert!(s.notifications().unwrap().iter().all(|n| n.status == "failed" && n.attempts == 3));
    // And the command line shows them.
    drop(s);
    let out = std::process::Command::new(bin("e2e-collector")).args(["notifications", "--data-dir"]).arg(fx.dir.path()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("failed") && text.contains("HTTP 401"), "{text}");
}

#[test]
fn reminders_are_queued_once_as_the_deadline_nears_until_the_incident_is_assessed() {
    let mut fx = fixture();
    let notifier = Notifier::new(NotificationConfig { webhook: webhook("http://127.0.0.1:9/hook", fx.secret(SECRET)), ..Default::default() }).unwrap();
    fx.ingest(vec![finding("a", "/srv/export.csv", pb::Category::Contact)], T0);
    let events = |s: &Store| -> Vec<String> {
        let mut e: Vec<String> = s.notifications().unwrap().into_iter().map(|n| n.event).collect();
        e.sort();
        e
    };
    notifier.plan(&mut fx.store, &fx.register, 24, T0).unwrap();
    assert_eq!(events(&fx.store), ["opened"]);
    notifier.plan(&mut fx.store, &fx.register, 24, T0 + 23 * HOUR).unwrap();
    assert_eq!(events(&fx.store), ["opened"], "49 h left: no reminder yet");
    notifier.plan(&mut fx.store, &fx.register, 24, T0 + 25 * HOUR).unwrap();
    notifier.plan(&mut fx.store, &fx.register, 24, T0 + 26 * HOUR).unwrap();
    assert_eq!(events(&fx.store), ["opened", "reminder_48h"]);
    fx.store.set_status(1, Status::Triaged, "soc", "confirmed", T0 + 27 * HOUR).unwrap().unwrap();
    notifier.plan(&mut fx.store, &fx.register, 24, T0 + 49 * HOUR).unwrap();
    assert_eq!(events(&fx.store), ["opened", "reminder_24h", "reminder_48h"], "triaged is not assessed yet");
    fx.store.set_status(1, Status::Assessed, "claire", "low risk", T0 + 50 * HOUR).unwrap().unwrap();
    notifier.plan(&mut fx.store, &fx.register, 24, T0 + 67 * HOUR).unwrap();
    assert_eq!(events(&fx.store), ["opened", "reminder_24h", "reminder_48h"], "assessed: no 6 h reminder");
}

#[test]
fn the_weekly_digest_lists_incidents_deadlines_undeclared_stores_unseen_systems_and_silent_agents() {
    let mut fx = fixture();
    fx.ingest(vec![finding("a", "/var/log/app/a.log", pb::Category::Contact), finding("b", "/srv/export.csv", pb::Category::Contact)], T0);
    let d = Digest::build(&fx.store, &fx.register, 24, T0 + 30 * HOUR).unwrap();
    assert_eq!(d.new_incidents.len(), 1);
    assert_eq!(d.open_deadlines[0].hours_left, 42);
    assert_eq!(d.undeclared_stores, ["web-01:/srv/export.csv [contact]"]);
    assert_eq!(d.unseen_systems, ["«Customer accounts» (accounts): databases postgres://never-scanned"]);
    assert_eq!(d.silent_agents.len(), 1, "agent-1 last seen 30 h ago");
    assert!(Digest::build(&fx.store, &fx.register, 48, T0 + 30 * HOUR).unwrap().silent_agents.is_empty());
    let text = d.text();
    assert!(text.contains("Undeclared stores") && text.contains("/srv/export.csv"), "{text}");
}

#[test]
fn the_weekly_digest_is_queued_once_on_its_day_and_hour() {
    let mut fx = fixture();
    let notifier = Notifier::new(NotificationConfig { webhook: webhook("http://127.0.0.1:9/hook", fx.secret(SECRET)), ..Default::default() }).unwrap();
    let monday_8h = T0 + 5 * 24 * HOUR + 8 * HOUR;
    assert_eq!(notifier.plan(&mut fx.store, &fx.register, 24, monday_8h - HOUR).unwrap(), 0, "Monday 07:00: not yet");
    assert_eq!(notifier.plan(&mut fx.store, &fx.register, 24, monday_8h).unwrap(), 1);
    assert_eq!(notifier.plan(&mut fx.store, &fx.register, 24, monday_8h + 2 * HOUR).unwrap(), 0, "once per week");
    assert_eq!(notifier.plan(&mut fx.store, &fx.register, 24, monday_8h + 7 * 24 * HOUR).unwrap(), 1, "next week");
}
