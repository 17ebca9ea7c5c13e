//! Reliability of the agent–collector link, with real processes killed with SIGKILL, real
//! files rotated while written, and real enrolment over mutual TLS.
//!
//! The expected set of findings is known exactly: line `i` carries the e-mail address
//! `subject{i}@example.com`, whose keyed fingerprint the test computes with the deployment's
//! key. "Nothing lost, nothing duplicated" means: the collector holds exactly one finding per
//! line written, and the set of their fingerprints is exactly the expected set.

use custos_tests::*;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn line(i: usize) -> String {
    format!("2026-11-25T10:00:00Z INFO request {i} from subject{i}@example.com ok\n")
}

fn wait_for_count(db: &Path, n: i64, secs: u64) -> bool {
    wait_for(Duration::from_secs(secs), || (db.is_file() && count(db, "SELECT COUNT(*) FROM findings") >= n).then_some(())).is_some()
}

fn assert_exactly(db: &Path, n: usize, context: &str) {
    let ok = wait_for_count(db, n as i64, 60);
    let (count, set) = stored_fingerprints(db);
    assert!(ok, "only {count} of {n} findings arrived; {context}");
    assert_eq!(count, n as i64, "duplicates stored; {context}");
    let want = subject_fingerprints(0..n);
    let missing: Vec<_> = want.difference(&set).take(5).collect();
    assert!(missing.is_empty() && set == want, "set differs (missing e.g. {missing:?}); {context}");
}

/// Appends lines `from..to` in small bursts.
fn write_lines(log: &Path, from: usize, to: usize) {
    let mut i = from;
    while i < to {
        let burst: String = (i..(i + 25).min(to)).map(line).collect();
        append(log, &burst);
        i = (i + 25).min(to);
        std::thread::sleep(Duration::from_millis(30));
    }
}

#[test]
fn collector_killed_repeatedly_mid_stream_loses_and_duplicates_nothing() {
    let d = Deployment::new(&logs_register());
    let log = d.root().join("logs/app.log");
    let mut collector = d.start_collector();
    let cfg = d.agent_config("agent", "web-01-agent", &d.ca, "web-01-agent", "beginning");
    let agent = d.start_agent(&cfg, "agent");
    let n = 3000;
    let writer = {
        let log = log.clone();
        std::thread::spawn(move || write_lines(&log, 0, n))
    };
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(700));
        collector.kill(); // SIGKILL
        std::thread::sleep(Duration::from_millis(300));
        collector = d.start_collector();
    }
    writer.join().unwrap();
    assert_exactly(&d.db(), n, &format!("agent log:\n{}", agent.stderr()));
}

#[test]
fn an_agent_fails_over_to_the_next_collector_when_its_collector_is_killed() {
    let d = Deployment::new(&logs_register());
    let log = d.root().join("logs/app.log");
    // A second collector of the same deployment (same CA and register), its own port and store.
    let port2 = free_port();
    let cfg1 = std::fs::read_to_string(d.root().join("collector.toml")).unwrap();
    let cfg2 = cfg1.replace(&format!("127.0.0.1:{}", d.port), &format!("127.0.0.1:{port2}")).replace("collector-data", "collector2-data");
    std::fs::write(d.root().join("collector2.toml"), cfg2).unwrap();
    let mut first = d.start_collector();
    let second = Proc::start("e2e-collector", &["run", "--config", d.root().join("collector2.toml").to_str().unwrap()], &d.root().join("collector2.stderr"));
    assert!(wait_listening(port2, Duration::from_secs(20)), "second collector: {}", second.stderr());
    let cfg = d.agent_config("agent", "web-01-agent", &d.ca, "web-01-agent", "beginning");
    let text = std::fs::read_to_string(&cfg).unwrap().replace("server_name =", &format!("failover = [\"https://127.0.0.1:{port2}\"]\nserver_name ="));
    std::fs::write(&cfg, text).unwrap();
    let agent = d.start_agent(&cfg, "agent");

    write_lines(&log, 0, 500);
    assert!(wait_for_count(&d.db(), 500, 60), "the first collector takes the agent: {}", agent.stderr());
    first.kill(); // SIGKILL, and it stays down
    write_lines(&log, 500, 1000);
    let db2 = d.root().join("collector2-data/custos.db");
    let both = || {
        let (n1, s1) = stored_fingerprints(&d.db());
        let (n2, s2) = if db2.is_file() { stored_fingerprints(&db2) } else { (0, BTreeSet::new()) };
        (n1, n2, s1.union(&s2).cloned().collect::<BTreeSet<String>>())
    };
    let all = wait_for(Duration::from_secs(60), || {
        let (_, _, union) = both();
        (union.len() == 1000).then_some(union)
    });
    let (n1, n2, union) = both();
    assert!(all.is_some(), "only {} of 1000 findings reached a collector; agent log:\n{}", union.len(), agent.stderr());
    assert_eq!(union, subject_fingerprints(0..1000), "nothing lost across the failover");
    assert!(n2 >= 500, "the second collector took over: it holds {n2}");
    // A batch in flight when the first collector died may be stored by both; none twice by one.
    assert!(n1 + n2 <= 1000 + 100, "stored {n1} + {n2}");
}

#[test]
fn agent_killed_repeatedly_mid_stream_loses_and_duplicates_nothing() {
    let d = Deployment::new(&logs_register());
    let log = d.root().join("logs/app.log");
    let _collector = d.start_collector();
    let cfg = d.agent_config("agent", "web-01-agent", &d.ca, "web-01-agent", "beginning");
    let mut agent = d.start_agent(&cfg, "agent");
    let n = 3000;
    let writer = {
        let log = log.clone();
        std::thread::spawn(move || write_lines(&log, 0, n))
    };
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(700));
        agent.kill(); // SIGKILL: spool and checkpoints must carry over
        agent = d.start_agent(&cfg, "agent");
    }
    writer.join().unwrap();
    assert_exactly(&d.db(), n, &format!("agent log:\n{}", agent.stderr()));
}

#[test]
fn rotation_by_rename_and_by_copytruncate_while_writing_misses_no_line() {
    let d = Deployment::new(&logs_register());
    let log = d.root().join("logs/app.log");
    let _collector = d.start_collector();
    let cfg = d.agent_config("agent", "web-01-agent", &d.ca, "web-01-agent", "beginning");
    let agent = d.start_agent(&cfg, "agent");
    let db = d.db();
    let mut written = 0;
    for round in 0..3 {
        // Rename-and-create: the application keeps writing to the old file for a moment.
        write_lines(&log, written, written + 300);
        let mut old = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        std::fs::rename(&log, d.root().join(format!("logs/app.log.{round}"))).unwrap();
        std::io::Write::write_all(&mut old, (written + 300..written + 320).map(line).collect::<String>().as_bytes()).unwrap();
        drop(old);
        written += 320;
        write_lines(&log, written, written + 300);
        written += 300;
        // Copytruncate: copy the file away, truncate it in place, keep writing. (Lines written
        // between copy and truncate are lost by copytruncate itself, for any reader; logrotate
        // runs when the reader has caught up, as here.)
        assert!(wait_for_count(&db, written as i64, 30), "agent did not catch up:\n{}", agent.stderr());
        std::fs::copy(&log, d.root().join(format!("logs/app.log.copy{round}"))).unwrap();
        std::fs::OpenOptions::new().write(true).open(&log).unwrap().set_len(0).unwrap();
        write_lines(&log, written, written + 300);
        written += 300;
    }
    assert_exactly(&db, written, &format!("agent log:\n{}", agent.stderr()));
}

/// Issue #17 with real processes: a rename out of the globs while the agent is down (kill
/// mid-read), then a copytruncate followed by a kill at once, then a new file under the head
/// length and a kill: each line stored exactly once.
#[test]
fn rename_while_down_and_copytruncate_then_kill_store_each_line_once() {
    let d = Deployment::new(&logs_register());
    let log = d.root().join("logs/app.log");
    let _collector = d.start_collector();
    let cfg = d.agent_config("agent", "web-01-agent", &d.ca, "web-01-agent", "beginning");
    let mut agent = d.start_agent(&cfg, "agent");
    let db = d.db();
    write_lines(&log, 0, 200);
    assert!(wait_for_count(&db, 200, 30), "agent did not catch up:\n{}", agent.stderr());
    // Lines arrive, the agent is killed mid-read, the file is renamed out of the globs.
    append(&log, &(200..400).map(line).collect::<String>());
    std::thread::sleep(Duration::from_millis(150));
    agent.kill();
    std::fs::rename(&log, d.root().join("logs/app.log.1")).unwrap();
    write_lines(&log, 400, 500);
    agent = d.start_agent(&cfg, "agent");
    assert_exactly(&db, 500, &format!("after a rename while down; agent log:\n{}", agent.stderr()));
    // Copytruncate, new lines, and a kill at once (within the second).
    std::fs::copy(&log, d.root().join("logs/app.log-copy")).unwrap();
    std::fs::OpenOptions::new().write(true).open(&log).unwrap().set_len(0).unwrap();
    append(&log, &(500..600).map(line).collect::<String>());
    std::thread::sleep(Duration::from_millis(400));
    agent.kill();
    agent = d.start_agent(&cfg, "agent");
    // A new file, shorter than the head, then a kill before it is checkpointed; it grows.
    append(&d.root().join("logs/new.log"), &line(600));
    std::thread::sleep(Duration::from_millis(400));
    agent.kill();
    append(&d.root().join("logs/new.log"), &(601..650).map(line).collect::<String>());
    agent = d.start_agent(&cfg, "agent");
    assert_exactly(&db, 650, &format!("after copytruncate and a short file, each with a kill; agent log:\n{}", agent.stderr()));
}

fn run(bin_name: &str, args: &[&str]) -> std::process::Output {
    Command::new(bin(bin_name)).args(args).output().unwrap()
}

#[test]
fn enrolment_tokens_are_one_time_and_expire_and_revoked_agents_are_cut_off() {
    let d = Deployment::new(&logs_register());
    let root = d.root();
    let data = root.join("collector-data");
    let data = data.to_str().unwrap();
    let _collector = d.start_collector();
    let url = format!("https://127.0.0.1:{}", d.port);
    let ca = root.join("pki/ca.pem");
    let ca = ca.to_str().unwrap();

    // A token issued for web-07 gives a certificate for web-07.
    let out = run("e2e-collector", &["enroll", "--agent-id", "web-07", "--data-dir", data]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let certs = root.join("enrolled");
    let out = run("e2e-agent", &["enroll", "--collector", &url, "--token", &token, "--ca", ca, "--server-name", "localhost", "--out", certs.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("enrolled as `web-07`"));

    // Used twice: refused.
    let again = run(
        "e2e-agent",
        &["enroll", "--collector", &url, "--token", &token, "--ca", ca, "--server-name", "localhost", "--out", root.join("again").to_str().unwrap()],
    );
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already used"), "{}", String::from_utf8_lossy(&again.stderr));

    // Expired: refused.
    let out = run("e2e-collector", &["enroll", "--agent-id", "web-08", "--ttl-seconds", "1", "--data-dir", data]);
    let short = String::from_utf8(out.stdout).unwrap().trim().to_string();
    std::thread::sleep(Duration::from_millis(1500));
    let expired = run(
        "e2e-agent",
        &["enroll", "--collector", &url, "--token", &short, "--ca", ca, "--server-name", "localhost", "--out", root.join("expired").to_str().unwrap()],
    );
    assert_eq!(expired.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&expired.stderr).contains("expired"), "{}", String::from_utf8_lossy(&expired.stderr));

    // The enrolled certificate works.
    let cfg = d.agent_config("web07", "web-07", &d.ca, "placeholder", "beginning");
    std::fs::copy(certs.join("agent.pem"), root.join("pki/web07.pem")).unwrap();
    std::fs::copy(certs.join("agent.key"), root.join("pki/web07.key")).unwrap();
    let log = root.join("logs/app.log");
    write_lines(&log, 0, 10);
    let agent = d.start_agent(&cfg, "web07");
    assert!(wait_for_count(&d.db(), 10, 30), "{}", agent.stderr());

    // Revoked: the open stream is closed at the next batch, nothing more is stored.
    let out = run("e2e-collector", &["revoke", "web-07", "--data-dir", data, "--reason", "host decommissioned"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    write_lines(&log, 10, 20);
    let refused = wait_for(Duration::from_secs(20), || agent.stderr().contains("revoked").then_some(()));
    assert!(refused.is_some(), "{}", agent.stderr());
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(count(&d.db(), "SELECT COUNT(*) FROM findings"), 10);
}

#[test]
fn metrics_are_served_in_prometheus_text_format() {
    let d = Deployment::new(&logs_register());
    let _collector = d.start_collector();
    let cfg = d.agent_config("agent", "web-01-agent", &d.ca, "web-01-agent", "beginning");
    let port = free_port();
    append(&cfg, &format!("\n[metrics]\nlisten = \"127.0.0.1:{port}\"\n"));
    write_lines(&d.root().join("logs/app.log"), 0, 50);
    let agent = d.start_agent(&cfg, "agent");
    assert!(wait_for_count(&d.db(), 50, 30), "{}", agent.stderr());
    let body = wait_for(Duration::from_secs(10), || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        s.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        out.contains("custos_agent_batches_acked_total").then_some(out)
    })
    .expect("metrics endpoint");
    let value = |name: &str| -> f64 {
        body.lines().find(|l| l.starts_with(name)).and_then(|l| l.split_whitespace().last()).and_then(|v| v.parse().ok()).unwrap_or(-1.0)
    };
    assert!(value("custos_agent_lines_read_total") >= 50.0, "{body}");
    assert!(value("custos_agent_findings_total") >= 50.0, "{body}");
    assert!(value("custos_agent_batches_acked_total") >= 1.0, "{body}");
    assert!(value("custos_agent_spool_depth") >= 0.0, "{body}");
    assert!(body.contains("custos_agent_send_latency_seconds_bucket"), "{body}");
    assert!(body.contains("custos_agent_reconnects_total"), "{body}");
}
