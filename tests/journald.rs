//! The systemd journal as a source (`[[journald]]`), with journal files written in the test by
//! `systemd-journal-remote`, read by the agent through `journalctl --directory`, a real
//! collector, and the agent killed with SIGKILL mid-stream.
//!
//! Entry `i` of unit `shop.service` carries `subject{i}@example.com` (every fourth in a message
//! that is not UTF-8, which `journalctl` prints as a byte array); entries of `cron.service`
//! carry addresses too, and are not read (the source names `shop.service` only). "Exactly once"
//! means: one finding per `shop.service` entry, and exactly the expected fingerprints.

use custos_tests::*;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const JOURNAL_REMOTE: &str = "/lib/systemd/systemd-journal-remote";

/// The journal's time of entry `i`: later entries, later times (a cursor resumes in time order).
fn realtime_us(i: usize) -> u64 {
    1_795_600_800_000_000 + i as u64 * 1000
}

/// Entries `from..to` in the journal export format: `shop.service` ones with an address, and
/// after each tenth a `cron.service` one (with an address the source must not read).
/// The boot of entry `i`: the host reboots at entry 3000 (a cursor of the first boot must
/// resume in the second).
fn boot_id(i: usize) -> &'static str {
    if i < 3000 { "0123456789abcdef0123456789abcdef" } else { "fedcba9876543210fedcba9876543210" }
}

fn export(from: usize, to: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in from..to {
        let mut field = |unit: &str, message: &[u8], seq: usize| {
            out.extend_from_slice(
                format!("__REALTIME_TIMESTAMP={}\n__MONOTONIC_TIMESTAMP={}\n", realtime_us(i) + seq as u64, 1000 + 2 * (i % 3000) + seq).as_bytes(),
            );
            out.extend_from_slice(format!("_BOOT_ID={}\n_SYSTEMD_UNIT={unit}\nSYSLOG_IDENTIFIER=app\n_HOSTNAME=web-01\n", boot_id(i)).as_bytes());
            // The binary form of a field (a length, then the bytes), which non-UTF-8 needs.
            out.extend_from_slice(b"MESSAGE\n");
            out.extend_from_slice(&(message.len() as u64).to_le_bytes());
            out.extend_from_slice(message);
            out.extend_from_slice(b"\n\n");
        };
        let message = if i.is_multiple_of(4) {
            [&b"payload \xff\xfe for "[..], format!("subject{i}@example.com").as_bytes()].concat()
        } else {
            format!("order {i} mailed to subject{i}@example.com").into_bytes()
        };
        field("shop.service", &message, 0);
        if i % 10 == 9 {
            field("cron.service", format!("backup sent to other{i}@example.com").as_bytes(), 1);
        }
    }
    out
}

/// Writes entries `from..to` into the journal file `file` with systemd-journal-remote.
fn write_journal(file: &Path, from: usize, to: usize) {
    let mut child = Command::new(JOURNAL_REMOTE)
        .arg(format!("--output={}", file.display()))
        .arg("--split-mode=none")
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("systemd-journal-remote runs");
    child.stdin.take().unwrap().write_all(&export(from, to)).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "systemd-journal-remote failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// A deployment whose agent reads `shop.service` from the journal directory `journal/`.
fn setup() -> Option<(Deployment, PathBuf, PathBuf)> {
    if !Path::new(JOURNAL_REMOTE).is_file() || Command::new("journalctl").arg("--version").output().is_err() {
        skip_or_fail("systemd-journal-remote and journalctl", "apt-get install systemd systemd-journal-remote (scripts/test.sh does)");
        return None;
    }
    let d = Deployment::new(&RegisterFixture::new("T").activity("a", "A", &["contact"]).system(r#"paths = ["journald/shop.service"]"#).toml());
    let cfg = d.agent_config("agent", "web-01-agent", &d.ca, "web-01-agent", "beginning");
    append(&cfg, "\n[[journald]]\nunits = [\"shop.service\"]\ndirectory = \"journal\"\nread_from = \"beginning\"\n");
    let journal = d.root().join("journal");
    std::fs::create_dir_all(&journal).unwrap();
    Some((d, cfg, journal))
}

fn wait_count(db: &Path, at_least: i64) -> i64 {
    wait_for(Duration::from_secs(60), || (db.is_file() && count(db, "SELECT COUNT(*) FROM findings") >= at_least).then_some(()));
    if db.is_file() { count(db, "SELECT COUNT(*) FROM findings") } else { 0 }
}

#[test]
fn journal_entries_are_stored_once_across_kills_and_entries_written_mid_stream_are_read() {
    let Some((d, cfg, journal)) = setup() else { return };
    write_journal(&journal.join("first.journal"), 0, 3000);
    let _collector = d.start_collector();
    let mut agent = d.start_agent(&cfg, "agent");
    // Killed while reading the first file: its cursor and spool must carry over.
    let seen = wait_count(&d.db(), 1);
    assert!(seen > 0, "no finding from the journal; agent log:\n{}", agent.stderr());
    agent.kill(); // SIGKILL
    agent = d.start_agent(&cfg, "agent");
    std::thread::sleep(Duration::from_millis(300));
    agent.kill();
    agent = d.start_agent(&cfg, "agent");
    // While it follows, more entries arrive (a second journal file, after a reboot), and it is
    // killed again.
    wait_count(&d.db(), 3000);
    write_journal(&journal.join("second.journal"), 3000, 4000);
    wait_count(&d.db(), 3001);
    agent.kill();
    let agent = d.start_agent(&cfg, "agent");
    wait_count(&d.db(), 4000);
    std::thread::sleep(Duration::from_millis(1500)); // a duplicate would arrive late
    let (n, set) = stored_fingerprints(&d.db());
    let context = format!("agent log:\n{}", agent.stderr());
    assert_eq!(n, 4000, "one finding per shop.service entry; {context}");
    assert!(set == subject_fingerprints(0..4000), "the expected fingerprints; {context}");
    let c = rusqlite::Connection::open_with_flags(d.db(), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let (locator, observed): (String, i64) = c
        .query_row(
            "SELECT locator, observed_at FROM findings WHERE fingerprint = ?1",
            [fingerprint_key().fingerprint("email", b"subject8@example.com").0.to_vec()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(locator, "journald/shop.service", "the system is host:journald/UNIT");
    assert_eq!(observed, (realtime_us(8) / 1000) as i64, "the entry's own time (__REALTIME_TIMESTAMP)");
    let bytes = d.db_bytes();
    assert!(!bytes.windows(20).any(|w| w == b"subject8@example.com"), "no raw value stored");
}

#[test]
fn a_missing_journalctl_is_reported_and_retried_without_stopping_the_agent() {
    let Some((d, cfg, journal)) = setup() else { return };
    write_journal(&journal.join("first.journal"), 0, 10);
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text.replace("[[journald]]\n", "[[journald]]\njournalctl = \"/nonexistent/journalctl\"\n")).unwrap();
    let _collector = d.start_collector();
    let mut agent = d.start_agent(&cfg, "agent");
    let said = wait_for(Duration::from_secs(20), || {
        let log = agent.stderr();
        (log.matches("cannot run journalctl").count() >= 2).then_some(log)
    });
    assert!(said.is_some(), "a clear error, then a retry; agent log:\n{}", agent.stderr());
    assert!(agent.try_wait().is_none(), "the agent keeps running (its other sources too)");
    // The log source beside it still works.
    append(&d.root().join("logs/app.log"), "mail to subject0@example.com\n");
    assert_eq!(wait_count(&d.db(), 1), 1, "agent log:\n{}", agent.stderr());
}

#[test]
fn read_from_end_keeps_the_end_it_saw_so_entries_written_while_the_agent_is_down_are_read() {
    let Some((d, cfg, journal)) = setup() else { return };
    write_journal(&journal.join("first.journal"), 0, 50); // history: not read
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text.replace("directory = \"journal\"\nread_from = \"beginning\"", "directory = \"journal\"\nread_from = \"end\"")).unwrap();
    let _collector = d.start_collector();
    let mut agent = d.start_agent(&cfg, "agent");
    // The end it starts from is saved before anything is read …
    let cursors = d.root().join("agent-data/journald");
    let saved = wait_for(Duration::from_secs(20), || std::fs::read_dir(&cursors).ok()?.flatten().find(|e| e.path().extension().is_some_and(|x| x == "json")));
    assert!(saved.is_some(), "the start position is saved; agent log:\n{}", agent.stderr());
    agent.kill(); // SIGKILL before any entry was read
    // … so what is written while it is down is read after the restart, and nothing before.
    write_journal(&journal.join("second.journal"), 50, 80);
    let agent = d.start_agent(&cfg, "agent");
    wait_count(&d.db(), 30);
    std::thread::sleep(Duration::from_millis(1500));
    let (n, set) = stored_fingerprints(&d.db());
    let want: BTreeSet<String> = subject_fingerprints(0..80).difference(&subject_fingerprints(0..50)).cloned().collect();
    assert_eq!(n, 30, "agent log:\n{}", agent.stderr());
    assert_eq!(set, want, "exactly the entries written after the first start");
}
