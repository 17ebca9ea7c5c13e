//! End-to-end behaviour of the foundation: real agent and collector processes, real mutual TLS
//! over loopback, a real SQLite file.

use custos_tests::*;
use std::process::Command;
use std::time::Duration;

const EMAIL: &str = "jeanne.planted@example.fr";
const IBAN: &str = "FR76 3000 6000 0112 3456 7890 189";
const IBAN_COMPACT: &str = "FR7630006000011234567890189";
const CARD: &str = "4111 1111 1111 1111";

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn appended_lines_become_an_incident_for_undeclared_data_and_no_raw_value_is_stored() {
    let d = Deployment::new(&web_register());
    let _collector = d.start_collector();
    let cfg = d.agent_config("agent", "web-01-agent", &d.ca, "web-01-agent", "end");
    let log = d.root().join("logs/app.log");
    append(&log, "old line before the agent started: old.value@example.fr\n");
    let agent = d.start_agent(&cfg, "agent");

    // Give the agent time to see the file, then append lines it must pick up.
    std::thread::sleep(Duration::from_millis(800));
    append(&log, &format!("2026-11-20 INFO login user={EMAIL}\n"));
    append(&log, &format!("2026-11-20 ERROR refund failed iban={IBAN} card={CARD}\n"));

    let db = d.db();
    let incidents = wait_for(Duration::from_secs(30), || {
        (db.is_file() && count(&db, "SELECT COUNT(*) FROM incidents") >= 1 && count(&db, "SELECT COUNT(*) FROM findings") >= 3).then_some(())
    });
    assert!(
        incidents.is_some(),
        "no incident; agent log:\n{}\ncollector log:\n{}",
        agent.stderr(),
        std::fs::read_to_string(d.root().join("collector.stderr")).unwrap_or_default()
    );

    // Declared contact data (e-mail) opens nothing; undeclared financial data does.
    assert_eq!(count(&db, "SELECT COUNT(*) FROM findings"), 3, "email + iban + card; the line before start is skipped (read_from = end)");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM incidents"), 1);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM incident_categories WHERE category = 'financial'"), 1);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM incident_categories WHERE category = 'contact'"), 0);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM incident_findings"), 2);
    assert_eq!(count(&db, "SELECT deadline - detected_at FROM incidents"), 30 * 24 * 3600 * 1000, "a register gap: due in 30 days, no Art. 33 clock");

    // The CLI lists it, with the explanation naming the system, category and activity.
    let out = Command::new(bin("e2e-collector")).args(["incidents", "--json", "--data-dir"]).arg(d.root().join("collector-data")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line = String::from_utf8(out.stdout).unwrap();
    let v: serde_json::Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    assert_eq!(v["rule"], "undeclared_category");
    assert_eq!((v["kind"].as_str(), v["deadline"].as_str()), (Some("compliance"), None), "a compliance item has no Art. 33 deadline");
    assert_eq!(v["categories"], serde_json::json!(["financial"]));
    assert_eq!(v["findings"], 2);
    assert_eq!(v["records"], 1, "one log line, however many identifiers it holds");
    assert_eq!(v["distinct_subjects"], 1, "the IBAN and the card on one line are one person's");
    let why = v["explanation"].as_str().unwrap();
    assert!(why.contains("web-01:") && why.contains("app.log"), "{why}");
    assert!(why.contains("Customer accounts") && why.contains("financial"), "{why}");

    // Privacy by design: none of the planted values is in the database files (db + WAL).
    let bytes = d.db_bytes();
    for raw in [EMAIL, IBAN, IBAN_COMPACT, CARD, "4111111111111111"] {
        assert!(!contains(&bytes, raw), "raw value {raw} found in the collector's database");
    }
    // Nor in the processes' logs.
    let logs = agent.stderr() + &std::fs::read_to_string(d.root().join("collector.stderr")).unwrap_or_default();
    for raw in [EMAIL, IBAN, CARD] {
        assert!(!logs.contains(raw), "raw value {raw} found in a log");
    }
}

#[test]
fn with_a_postgresql_store_appended_lines_become_an_incident_that_the_command_line_reads_there() {
    if test_postgres_url().is_none() {
        return;
    }
    let d = Deployment::new(&web_register());
    let data_dir = d.root().join("collector-data");
    std::fs::create_dir_all(&data_dir).unwrap();
    let (t, store) = TestStore::new(Engine::Postgres, &data_dir).unwrap();
    drop(store);
    d.use_store(t.url().unwrap());
    let collector = d.start_collector();
    let cfg = d.agent_config("agent", "web-01-agent", &d.ca, "web-01-agent", "end");
    let log = d.root().join("logs/app.log");
    append(&log, "");
    let agent = d.start_agent(&cfg, "agent");
    std::thread::sleep(Duration::from_millis(800));
    append(&log, &format!("2026-11-20 INFO login user={EMAIL}\n"));
    append(&log, &format!("2026-11-20 ERROR refund failed iban={IBAN} card={CARD}\n"));

    let stored =
        wait_for(Duration::from_secs(30), || (t.count("SELECT COUNT(*) FROM incidents") >= 1 && t.count("SELECT COUNT(*) FROM findings") >= 3).then_some(()));
    assert!(stored.is_some(), "no incident in PostgreSQL; agent log:\n{}\ncollector log:\n{}", agent.stderr(), collector.stderr());
    assert_eq!(t.count("SELECT COUNT(*) FROM findings"), 3);
    assert_eq!(t.count("SELECT COUNT(*) FROM incidents"), 1);
    assert_eq!(t.count("SELECT deadline - detected_at FROM incidents"), 30 * 24 * 3600 * 1000, "a register gap: due in 30 days");
    assert!(!data_dir.join("custos.db").exists(), "no SQLite file when the store is PostgreSQL");
    assert!(!collector.stderr().contains("postgres:postgres@"), "the database password stays out of the log");

    // The command line given the data directory reads the same PostgreSQL store.
    let out = Command::new(bin("e2e-collector")).args(["incidents", "--json", "--data-dir"]).arg(&data_dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_str(String::from_utf8(out.stdout).unwrap().lines().next().unwrap()).unwrap();
    assert_eq!(v["rule"], "undeclared_category");
    assert_eq!(v["categories"], serde_json::json!(["financial"]));
    assert_eq!(v["distinct_subjects"], 1, "the IBAN and the card on one line are one person's");
}

#[test]
fn a_resent_finding_is_stored_once() {
    let d = Deployment::new(&web_register());
    let _collector = d.start_collector();
    append(&d.root().join("logs/app.log"), &format!("iban={IBAN}\ncontact {EMAIL}\n"));
    let cfg = d.agent_config("agent", "web-01-agent", &d.ca, "web-01-agent", "beginning");
    // Two runs over the same content send the same findings twice.
    for _ in 0..2 {
        let out = Command::new(bin("e2e-agent")).args(["run", "--once", "--config"]).arg(&cfg).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    assert_eq!(count(&d.db(), "SELECT COUNT(*) FROM findings"), 2);
    assert_eq!(count(&d.db(), "SELECT COUNT(*) FROM incident_findings"), 1);
}

#[test]
fn an_agent_with_a_certificate_from_another_ca_is_refused() {
    let d = Deployment::new(&web_register());
    let _collector = d.start_collector();
    let rogue_ca = TestCa::new("Rogue CA");
    let cfg = d.agent_config("rogue", "web-01-agent", &rogue_ca, "web-01-agent", "beginning");
    append(&d.root().join("logs/app.log"), &format!("iban={IBAN}\n"));
    let agent = d.start_agent(&cfg, "rogue");
    let refused = wait_for(Duration::from_secs(20), || {
        let e = agent.stderr();
        (e.contains("cannot reach the collector") || e.contains("refused the stream") || e.contains("stream to the collector failed")).then_some(e)
    });
    assert!(refused.is_some(), "agent did not report a refusal:\n{}", agent.stderr());
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(count(&d.db(), "SELECT COUNT(*) FROM findings"), 0, "nothing from an unknown CA may be stored");
}

#[test]
fn an_agent_whose_id_differs_from_its_certificate_is_refused_at_start_up() {
    let d = Deployment::new(&web_register());
    let _collector = d.start_collector();
    // Certificate for "web-02-agent", config claims "web-01-agent": the collector would refuse
    // every batch, so the agent refuses to start and says why, instead of spooling findings
    // under an id that can never deliver them.
    let cfg = d.agent_config("liar", "web-01-agent", &d.ca, "web-02-agent", "beginning");
    append(&d.root().join("logs/app.log"), &format!("iban={IBAN}\n"));
    let mut agent = d.start_agent(&cfg, "liar");
    let exited = wait_for(Duration::from_secs(20), || agent.try_wait());
    assert_eq!(exited.and_then(|s| s.code()), Some(2), "agent log:\n{}", agent.stderr());
    let log = agent.stderr();
    assert!(log.contains("`web-02-agent`") && log.contains("`web-01-agent`"), "{log}");
    assert!(!d.root().join("liar-data/spool").exists(), "nothing spooled under the wrong id");
    assert_eq!(count(&d.db(), "SELECT COUNT(*) FROM findings"), 0);
}

#[test]
fn a_config_typo_names_file_line_and_field() {
    let d = Deployment::new(&web_register());
    let cfg = d.agent_config("agent", "a", &d.ca, "a", "end");
    let text = std::fs::read_to_string(&cfg).unwrap().replace("read_from = \"end\"", "read_form = \"end\"");
    std::fs::write(&cfg, text).unwrap();
    let out = Command::new(bin("e2e-agent")).args(["run", "--config"]).arg(&cfg).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("agent.toml:20:") && err.contains("read_form"), "{err}");

    // The collector refuses a register with a wrong category, naming line and field.
    let broken = web_register().replace("[\"contact\"]", "[\"kontact\"]");
    let line = broken.lines().position(|l| l.contains("kontact")).unwrap() + 1;
    std::fs::write(d.root().join("register.toml"), &broken).unwrap();
    let out = Command::new(bin("e2e-collector")).args(["run", "--config"]).arg(d.root().join("collector.toml")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("register.toml:{line}:")) && err.contains("data_categories") && err.contains("kontact"), "{err}");
}

#[test]
fn an_unreadable_log_file_is_reported_and_skipped() {
    let d = Deployment::new(&web_register());
    let _collector = d.start_collector();
    let logs = d.root().join("logs");
    // A directory matching the glob is skipped; a file with no read permission is reported
    // (root can read anything, so use a dangling symlink, which fails to open for everyone).
    std::os::unix::fs::symlink(logs.join("missing-target"), logs.join("broken.log")).unwrap();
    append(&logs.join("good.log"), &format!("iban={IBAN}\n"));
    let cfg = d.agent_config("agent", "web-01-agent", &d.ca, "web-01-agent", "beginning");
    let out = Command::new(bin("e2e-agent")).args(["run", "--once", "--config"]).arg(&cfg).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("cannot read log file") && err.contains("broken.log"), "{err}");
    assert_eq!(count(&d.db(), "SELECT COUNT(*) FROM findings"), 1);
}

#[test]
fn quickstart_once_prints_the_undeclared_cases_and_exits_zero() {
    let data = tempfile::tempdir().unwrap();
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let out =
        Command::new(bin("e2e-collector")).args(["quickstart", "--once", "--data-dir"]).arg(data.path()).arg("--examples").arg(&examples).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("payments.log") && stdout.contains("financial"), "{stdout}");
    assert!(stdout.contains("crm-sync.log") && stdout.contains("No processing activity"), "{stdout}");
    assert!(!stdout.contains("logs/app.log  "), "declared data in app.log must not be flagged:\n{stdout}");
    // A second run over the same data adds no findings (idempotent) and still lists them.
    let db = data.path().join("custos.db");
    let before = count(&db, "SELECT COUNT(*) FROM findings");
    let out =
        Command::new(bin("e2e-collector")).args(["quickstart", "--once", "--data-dir"]).arg(data.path()).arg("--examples").arg(&examples).output().unwrap();
    assert!(out.status.success());
    assert_eq!(count(&db, "SELECT COUNT(*) FROM findings"), before);

    // The data map lists every example system with its categories, people and activity.
    let out = Command::new(bin("e2e-collector")).args(["datamap", "--format", "json", "--data-dir"]).arg(data.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let row = |file: &str| rows.iter().find(|r| r["locator"].as_str().unwrap().ends_with(file)).unwrap_or_else(|| panic!("{file} not in the map: {rows:#?}"));
    for file in ["logs/app.log", "logs/payments.log", "crm-sync.log", "customers-export.csv"] {
        let r = row(file);
        assert!(!r["categories"].as_array().unwrap().is_empty() && r["subjects"].as_u64() >= Some(1), "{r}");
        assert!(r["fides_categories"].as_array().unwrap().iter().all(|c| c.as_str().unwrap().starts_with("user.")), "{r}");
    }
    assert_ne!(row("logs/app.log")["activity"], "undeclared", "app.log is declared");
    assert_eq!(row("crm-sync.log")["activity"], "undeclared");
    assert!(row("logs/payments.log")["undeclared_categories"].as_array().unwrap().iter().any(|c| c == "financial"), "{}", row("logs/payments.log"));
    let md = Command::new(bin("e2e-collector")).args(["datamap", "--data-dir"]).arg(data.path()).output().unwrap();
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(md.contains("## undeclared") && md.contains("| system |"), "{md}");
    let fides = Command::new(bin("e2e-collector")).args(["datamap", "--format", "fideslang", "--data-dir"]).arg(data.path()).output().unwrap();
    let fides: serde_json::Value = serde_json::from_slice(&fides.stdout).unwrap();
    assert_eq!(fides["system"].as_array().unwrap().len(), rows.iter().filter(|r| r["kind"] == "system").count());
    // The proxy log's flows: the ad network's pixel is no declared recipient; the processor
    // and the US firm under standard contractual clauses are.
    let flow = |host: &str| rows.iter().find(|r| r["kind"] == "flow" && r["destination"] == host).unwrap_or_else(|| panic!("no flow to {host}: {rows:#?}"));
    assert_eq!((flow("pixel.adnetwork.example")["status"].as_str(), flow("pixel.adnetwork.example")["findings"].as_u64()), (Some("undeclared"), Some(2)));
    assert_eq!(flow("api.mailer.example")["status"], "declared");
    assert_eq!(flow("eu.analytics.example")["safeguard"], "scc");
    let listed = Command::new(bin("e2e-collector")).args(["incidents", "--json", "--data-dir"]).arg(data.path()).output().unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert_eq!(listed.lines().filter(|l| l.contains("\"undeclared_recipient\"")).count(), 1, "{listed}");
    assert!(!listed.contains("transfer_without_safeguard"), "{listed}");
}

#[test]
fn run_once_reads_a_log_larger_than_a_polls_budget_to_its_end() {
    let d = Deployment::new(&web_register());
    let _collector = d.start_collector();
    // 72 MiB of lines without personal data (one poll reads at most 32 MiB of a file), then
    // one IBAN on the last line, which has no newline yet.
    let line = "2026-11-20 INFO GET /static/app.js 200 1532 0.004\n";
    let filler = line.repeat((72 << 20) / line.len());
    let log = d.root().join("logs/big.log");
    std::fs::write(&log, format!("{filler}refund iban={IBAN}")).unwrap();
    let cfg = d.agent_config("agent", "web-01-agent", &d.ca, "web-01-agent", "beginning");
    let out = Command::new(bin("e2e-agent")).args(["run", "--once", "--config"]).arg(&cfg).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(count(&d.db(), "SELECT COUNT(*) FROM findings WHERE detector = 'iban'"), 1, "the last line of a file over two polls' budgets");
}

#[test]
fn values_across_the_pieces_of_a_tailed_line_longer_than_max_line_bytes_are_stored_once_each() {
    let d = Deployment::new(&web_register());
    let _collector = d.start_collector();
    // One line of about 3 MiB (pieces of 1 MiB): an e-mail every 2,999 bytes, so some lie
    // across each piece boundary wherever it falls, and two start 7 bytes before one.
    let mut starts: Vec<usize> = (0..3 << 20).step_by(2999).filter(|i| (i + 7) % (1 << 20) > 40).collect();
    starts.extend([(1 << 20) - 7, (2 << 20) - 7]);
    starts.sort();
    let mut line = String::with_capacity(3 << 20);
    for (n, at) in starts.iter().enumerate() {
        while line.len() + 6 <= *at {
            line.push_str("lorem ");
        }
        while line.len() < *at {
            line.push(' ');
        }
        line.push_str(&format!("client{n}@exemple.fr "));
    }
    line.push('\n');
    std::fs::write(d.root().join("logs/long.log"), &line).unwrap();
    let cfg = d.agent_config("agent", "web-01-agent", &d.ca, "web-01-agent", "beginning");
    let out = Command::new(bin("e2e-agent")).args(["run", "--once", "--config"]).arg(&cfg).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let db = d.db();
    assert_eq!(count(&db, "SELECT COUNT(*) FROM findings WHERE detector = 'email'"), starts.len() as i64, "each value once");
    assert_eq!(count(&db, "SELECT COUNT(DISTINCT fingerprint) FROM findings WHERE detector = 'email'"), starts.len() as i64, "each value once");
    // Whole: `clientN@exemple.fr` is 18 bytes at least; a value cut at a piece boundary is shorter.
    assert_eq!(count(&db, "SELECT COUNT(*) FROM findings WHERE detector = 'email' AND end_ - start < 18"), 0, "each value whole");
}
