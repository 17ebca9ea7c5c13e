//! The register is reloaded by the running collector — when its file changes, or on SIGHUP —
//! and stored findings are re-correlated against it; the incident this opens is pushed to the
//! webhook by the running collector. Real collector and agent processes, real mutual TLS, a
//! real HTTP receiver checking the signature.

use custos_tests::*;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const IBAN: &str = "FR76 3000 6000 0112 3456 7890 189";
const SECRET: &str = "reload-test-secret";

fn register(categories: &[&str]) -> String {
    RegisterFixture::new("T")
        .dpo("D", "d@t.example")
        .activity("accounts", "Customer accounts", categories)
        .field("purpose", r#""p""#)
        .system(r#"paths = ["**/logs/*.log"]"#)
        .toml()
}

struct Collector(Child);

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A deployment whose register declares contact and financial data, with one financial finding
/// stored (no incident), a webhook receiver, and the register polled every `poll` seconds.
fn deployment_with_a_stored_iban(poll: u32) -> (Deployment, Collector, WebhookInbox) {
    let d = Deployment::new(&register(&["contact", "financial"]));
    let (url, got) = webhook_server(SECRET);
    std::fs::write(d.root().join("webhook.secret"), SECRET).unwrap();
    let cfg = d.root().join("collector.toml");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("register = \"register.toml\"\n", &format!("register = \"register.toml\"\nregister_poll_seconds = {poll}\n"));
    std::fs::write(&cfg, format!("{text}\n[notifications.webhook]\nurl = \"{url}\"\nsecret_file = \"webhook.secret\"\n")).unwrap();
    let err = std::fs::File::create(d.root().join("collector.stderr")).unwrap();
    let child =
        Command::new(bin("e2e-collector")).args(["run", "--config"]).arg(&cfg).env("RUST_LOG", "info").stdout(Stdio::null()).stderr(err).spawn().unwrap();
    let c = Collector(child);
    assert!(wait_listening(d.port, Duration::from_secs(20)), "collector did not start");
    append(&d.root().join("logs/app.log"), &format!("refund iban={IBAN}\n"));
    let agent = d.agent_config("agent", "web-01-agent", &d.ca, "web-01-agent", "beginning");
    let out = Command::new(bin("e2e-agent")).args(["run", "--once", "--config"]).arg(&agent).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(count(&d.db(), "SELECT COUNT(*) FROM findings"), 1);
    assert_eq!(count(&d.db(), "SELECT COUNT(*) FROM incidents"), 0, "financial is declared");
    (d, c, got)
}

fn collector_log(d: &Deployment) -> String {
    std::fs::read_to_string(d.root().join("collector.stderr")).unwrap_or_default()
}

#[test]
fn an_edited_register_file_is_reloaded_and_stored_findings_are_re_correlated() {
    let (d, _c, got) = deployment_with_a_stored_iban(1);
    // A broken register is refused; the one in force stays.
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::write(d.root().join("register.toml"), register(&["contact", "financal"])).unwrap();
    let refused = wait_for(Duration::from_secs(20), || collector_log(&d).contains("register not reloaded").then_some(()));
    assert!(refused.is_some(), "{}", collector_log(&d));
    assert!(collector_log(&d).contains("financal"));
    assert_eq!(count(&d.db(), "SELECT COUNT(*) FROM incidents"), 0);
    // The DPO removes `financial`: the stored IBAN is now undeclared.
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::write(d.root().join("register.toml"), register(&["contact"])).unwrap();
    let opened = wait_for(Duration::from_secs(20), || (count(&d.db(), "SELECT COUNT(*) FROM incidents WHERE rule = 'undeclared_category'") == 1).then_some(()));
    assert!(opened.is_some(), "{}", collector_log(&d));
    // A register gap is a compliance item: it waits for the weekly digest, no alert. When the
    // DPO promotes it to a possible breach, the running collector tells the webhook, signed.
    assert_eq!(count(&d.db(), "SELECT COUNT(*) FROM incidents WHERE kind = 'compliance'"), 1);
    d.add_user("claire", "dpo");
    let out = Command::new(bin("e2e-collector"))
        .args(["incident", "1", "--promote", "--by", "claire", "--note", "the refund log is readable by every support agent", "--data-dir"])
        .arg(d.root().join("collector-data"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let pushed = wait_for(Duration::from_secs(20), || got.0.lock().unwrap().first().cloned());
    let (valid, body) = pushed.expect("no webhook call");
    assert!(valid, "signature");
    assert!(body.contains("\"event\":\"promoted\"") && body.contains("undeclared_category") && body.contains("\"kind\":\"breach\""), "{body}");
    assert!(!body.contains("FR76"), "{body}");
    assert_eq!(count(&d.db(), "SELECT COUNT(*) FROM notifications WHERE event = 'opened'"), 0, "the compliance item itself was not pushed");
}

#[test]
fn sighup_reloads_the_register() {
    let (d, c, _got) = deployment_with_a_stored_iban(3600);
    std::fs::write(d.root().join("register.toml"), register(&["contact"])).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(count(&d.db(), "SELECT COUNT(*) FROM incidents"), 0, "no poll for an hour: not reloaded yet");
    let status = Command::new("kill").args(["-HUP", &c.0.id().to_string()]).status().unwrap();
    assert!(status.success());
    let opened = wait_for(Duration::from_secs(20), || (count(&d.db(), "SELECT COUNT(*) FROM incidents WHERE rule = 'undeclared_category'") == 1).then_some(()));
    assert!(opened.is_some(), "{}", collector_log(&d));
    let log = collector_log(&d);
    let reload = log.lines().find(|l| l.contains("register reloaded")).unwrap_or_default();
    assert!(reload.contains("by_signal") && reload.contains("true"), "{log}");
}
