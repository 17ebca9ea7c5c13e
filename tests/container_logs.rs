//! Container logs (`[[log]] format = "cri" | "docker"`) with a real collector and a real agent
//! killed with SIGKILL mid-stream — once while a message split in `P`artial lines is half
//! written.
//!
//! Message `i` carries `subject{i}@example.com`; every third one is split by the runtime, the
//! address itself across the split. "Exactly once" means: one finding per message, and the set
//! of their fingerprints is exactly the expected set (a message read from its closing line
//! alone would lose its address; one read twice under another position would store two).

use custos_tests::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Exactly `n` findings stored, whose fingerprints are exactly `want`.
fn assert_exactly(db: &Path, n: i64, want: &BTreeSet<String>, context: &str) {
    let arrived = wait_for(Duration::from_secs(60), || (db.is_file() && count(db, "SELECT COUNT(*) FROM findings") >= n).then_some(())).is_some();
    // A duplicate would arrive late: give it the time to.
    std::thread::sleep(Duration::from_millis(1500));
    let (count, set) = stored_fingerprints(db);
    assert!(arrived, "only {count} of {n} findings arrived; {context}");
    assert_eq!(count, n, "duplicates stored; {context}");
    let missing: Vec<_> = want.difference(&set).take(5).collect();
    assert!(missing.is_empty() && &set == want, "set differs (missing e.g. {missing:?}); {context}");
}

/// The CRI lines of message `i`: one `F` line, or (every third) three `P` lines and an `F`,
/// the address cut in the middle; a stderr line of the same container interleaved.
fn cri_lines(i: usize) -> Vec<String> {
    let t = format!("2026-11-25T10:{:02}:{:02}.123456789Z", (i / 60) % 60, i % 60);
    let message = format!("order {i} mailed to subject{i}@example.com");
    if !i.is_multiple_of(3) {
        return vec![format!("{t} stdout F {message}\n")];
    }
    let (a, rest) = message.split_at(message.len() - 16);
    let (b, c) = rest.split_at(6);
    vec![
        format!("{t} stdout P {a}\n"),
        format!("{t} stderr F worker {i} busy\n"),
        format!("{t} stdout P {b}\n"),
        format!("{t} stdout P {c}\n"),
        format!("{t} stdout F \n"),
    ]
}

/// The Docker json-file lines of message `i` (every third split without its final `\n`).
fn docker_lines(i: usize) -> Vec<String> {
    let time = format!("2026-11-25T11:00:{:02}.5Z", i % 60);
    let line = |log: &str| format!("{{\"log\":{},\"stream\":\"stdout\",\"time\":\"{time}\"}}\n", serde_json::to_string(log).unwrap());
    let message = format!("caf\u{e9} \"order\" {i} for subject{i}@example.com\n");
    if !i.is_multiple_of(3) {
        return vec![line(&message)];
    }
    let (a, b) = message.split_at(message.len() - 10);
    vec![line(a), line(b)]
}

fn append_bytes(path: &Path, bytes: &[u8]) {
    use std::io::Write;
    std::fs::OpenOptions::new().append(true).open(path).unwrap().write_all(bytes).unwrap();
}

fn write(path: &Path, lines: &[String]) {
    append(path, &lines.concat());
}

struct Setup {
    d: Deployment,
    cfg: PathBuf,
    cri: PathBuf,
    docker: PathBuf,
}

fn setup() -> Setup {
    let d = Deployment::new(&RegisterFixture::new("T").activity("a", "A", &["contact"]).system(r#"paths = ["k8s/shop/**", "docker/*"]"#).toml());
    let cfg = d.agent_config("agent", "node-01-agent", &d.ca, "node-01-agent", "beginning");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let logs = "[[log]]\npaths = [\"pods/*/*/*.log\"]\nformat = \"cri\"\nread_from = \"beginning\"\n\n[[log]]\npaths = [\"containers/*/*-json.log\"]\nformat = \"docker\"\nread_from = \"beginning\"\n";
    let text = text.replace("[[log]]\npaths = [\"logs/*.log\"]\nread_from = \"beginning\"\n", logs);
    assert!(text.contains("format = \"cri\""));
    std::fs::write(&cfg, text).unwrap();
    let cri = d.root().join("pods/shop_web-7d9f_0b1c2d3e/api/0.log");
    let id = "4f".repeat(32);
    let docker = d.root().join(format!("containers/{id}/{id}-json.log"));
    for p in [&cri, &docker] {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "").unwrap();
    }
    Setup { d, cfg, cri, docker }
}

#[test]
fn cri_and_docker_messages_are_stored_once_across_kills_even_mid_partial_line() {
    let Setup { d, cfg, cri, docker } = setup();
    let _collector = d.start_collector();
    let mut agent = d.start_agent(&cfg, "agent");
    let n = 600;
    let writer = {
        let (cri, docker) = (cri.clone(), docker.clone());
        std::thread::spawn(move || {
            for i in 0..n {
                write(&cri, &cri_lines(i));
                write(&docker, &docker_lines(i));
                if i % 20 == 19 {
                    std::thread::sleep(Duration::from_millis(40));
                }
            }
        })
    };
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(500));
        agent.kill(); // SIGKILL: spool and checkpoints must carry over
        agent = d.start_agent(&cfg, "agent");
    }
    writer.join().unwrap();
    // The kill that matters: a message's partial lines are written and checkpointed past,
    // the agent dies, and the closing line arrives while it is down.
    let i = n; // a multiple of 3: split
    let lines = cri_lines(i);
    write(&cri, &lines[..4]);
    std::thread::sleep(Duration::from_millis(2500)); // more than a checkpoint interval
    agent.kill();
    write(&cri, &lines[4..]);
    write(&docker, &docker_lines(i));
    let agent = d.start_agent(&cfg, "agent");
    let want: BTreeSet<String> = subject_fingerprints(0..=n);
    // Each address is in both files: one finding per file and message.
    assert_exactly(&d.db(), 2 * (n as i64 + 1), &want, &format!("agent log:\n{}", agent.stderr()));
    let per_locator = |loc: &str| count(&d.db(), &format!("SELECT COUNT(*) FROM findings WHERE locator = '{loc}'"));
    assert_eq!(per_locator("k8s/shop/web-7d9f/api"), (n + 1) as i64, "the CRI messages, under the container's name");
    assert_eq!(per_locator("docker/4f4f4f4f4f4f"), (n + 1) as i64, "the Docker messages, under the container's id");
}

#[test]
fn a_container_finding_points_into_its_file_at_the_runtimes_time_and_holds_no_value() {
    let Setup { d, cfg, cri, docker } = setup();
    write(&cri, &cri_lines(0)); // split: P, stderr F, P, P, F
    append(&cri, "\u{1}not a CRI line: subject1@example.com\n");
    append_bytes(&cri, b"\x7f\xff\xfe garbage line\n2026-11-25T10:00:02Z stdout X bad tag\n");
    write(&docker, &docker_lines(2));
    append(&docker, "{\"log\": \"unterminated\n{\"stream\":\"stdout\"}\n[1,2]\n");
    let _collector = d.start_collector();
    let agent = d.start_agent(&cfg, "agent");
    assert_exactly(&d.db(), 3, &subject_fingerprints([0, 1, 2]), &format!("agent log:\n{}", agent.stderr()));
    let c = rusqlite::Connection::open_with_flags(d.db(), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let (line, line_offset, start, observed, evidence): (i64, i64, i64, i64, String) = c
        .query_row("SELECT line, line_offset, start, observed_at, evidence FROM findings WHERE locator = 'k8s/shop/web-7d9f/api' AND line = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap();
    // The split message is found at its first wrapper line, its offsets within the message.
    assert_eq!((line, line_offset, start), (1, 0, "order 0 mailed to ".len() as i64));
    assert_eq!(observed, 1_795_600_800_123, "the runtime's time of the line (2026-11-25T10:00:00.123Z)");
    assert!(evidence.contains("pods/shop_web-7d9f_0b1c2d3e/api/0.log"), "the file is in the evidence: {evidence}");
    let docker_observed: i64 = c.query_row("SELECT observed_at FROM findings WHERE locator LIKE 'docker/%'", [], |r| r.get(0)).unwrap();
    assert_eq!(docker_observed, 1_795_604_402_500, "2026-11-25T11:00:02.5Z");
    let bytes = d.db_bytes();
    for value in ["subject0@example.com", "subject1@example.com", "subject2@example.com"] {
        assert!(!bytes.windows(value.len()).any(|w| w == value.as_bytes()), "{value} stored raw");
    }
    let log = agent.stderr();
    assert!(log.contains("did not decode"), "malformed lines are reported: {log}");
    assert!(!log.contains("subject1@example.com") && !log.contains("garbage"), "without what they held: {log}");
}
