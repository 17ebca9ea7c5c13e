//! The syslog receiver, end to end: a real collector, a real agent listening on TCP and UDP,
//! senders writing RFC 5424 and RFC 3164 messages (the test itself, and util-linux `logger`),
//! and the agent killed with SIGKILL mid-stream.
//!
//! Message `i` carries the e-mail address `subject{i}@example.com` and nothing else personal,
//! so the expected findings are known exactly: one per message, their fingerprints computed
//! with the deployment's key. The kill comes once the first half is stored (what the agent
//! had acknowledged to the collector); the sender then waits until the agent listens again,
//! sends the last messages of the first half again (as a sender that cannot know what was
//! received would) and the second half. "Exactly once" means: one finding per message, the
//! exact set of fingerprints, nothing resent stored twice.

use custos_tests::*;
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn wait_for_count(db: &Path, n: i64) -> bool {
    wait_for(Duration::from_secs(60), || (db.is_file() && count(db, "SELECT COUNT(*) FROM findings") >= n).then_some(())).is_some()
}

/// RFC 5424, octet-counted (RFC 6587), from host `mail-01`, application `shop`.
fn rfc5424_counted(i: usize) -> Vec<u8> {
    let msg = format!("<165>1 2026-12-07T03:00:{:02}.{:03}Z mail-01 shop 42 ORDER - order paid by subject{i}@example.com", i % 60, i);
    format!("{} {msg}", msg.len()).into_bytes()
}

/// RFC 3164, newline-framed, from host `mail-01`, tag `shop[42]`.
fn rfc3164_line(i: usize) -> Vec<u8> {
    format!("<34>Dec  7 03:{:02}:{:02} mail-01 shop[42]: refund for subject{i}@example.com\n", i / 60, i % 60).into_bytes()
}

fn send_tcp(port: u16, frames: impl IntoIterator<Item = Vec<u8>>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    for f in frames {
        s.write_all(&f).unwrap();
    }
    s.flush().unwrap();
}

/// Sends message `i` with util-linux `logger` (`args` choose transport and format), as the
/// application `billing`.
fn logger(port: u16, i: usize, args: &[&str]) {
    let out = Command::new("logger")
        .args(["--server", "127.0.0.1", "--port", &port.to_string(), "--tag", "billing"])
        .args(args)
        .arg(format!("invoice mailed to subject{i}@example.com"))
        .output()
        .expect("logger runs");
    assert!(out.status.success(), "logger {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn logger_present() -> bool {
    Command::new("logger").arg("--help").output().is_ok_and(|o| o.status.success())
}

/// A register whose activity declares contact data for the shop's syslog stream (the system
/// `mail-*:syslog/shop`); nothing declares `syslog/billing`.
fn syslog_register() -> String {
    RegisterFixture::new("T").activity("shop", "Shop orders", &["contact"]).system(r#"hosts = ["mail-*"]"#).field_in_system(r#"paths = ["syslog/shop"]"#).toml()
}

#[test]
fn syslog_messages_from_tcp_udp_and_logger_are_stored_once_each_across_a_kill_9() {
    if !logger_present() {
        skip_or_fail("util-linux logger", "it sends the RFC 3164 and RFC 5424 messages of a real sender");
        return;
    }
    let d = Deployment::new(&syslog_register());
    let collector = d.start_collector();
    let cfg = d.agent_config("agent", "web-01-agent", &d.ca, "web-01-agent", "beginning");
    let port = free_port();
    append(&cfg, &format!("\n[[syslog]]\nlisten = \"tcp://127.0.0.1:{port}\"\n\n[[syslog]]\nlisten = \"udp://127.0.0.1:{port}\"\n"));
    let mut agent = d.start_agent(&cfg, "agent");
    assert!(wait_listening(port, Duration::from_secs(30)), "the agent does not listen: {}", agent.stderr());

    // First half: 40 octet-counted RFC 5424 messages from the test, then `logger` over TCP
    // (RFC 5424 with structured data, octet-counted), TCP (RFC 3164, newline-framed) and UDP.
    send_tcp(port, (0..40).map(rfc5424_counted));
    for i in 40..44 {
        logger(
            port,
            i,
            &["--tcp", "--rfc5424=notq", "--octet-count", "--sd-id", "custos@32473", "--sd-param", &format!("note=\"copy to subject{}@example.com\"", i + 100)],
        );
    }
    for i in 44..47 {
        logger(port, i, &["--tcp", "--rfc3164"]);
    }
    for i in 47..50 {
        logger(port, i, &["--udp", "--rfc5424=notq"]);
    }
    // 4 messages of the structured-data kind carry a second address (`subject{i+100}`).
    let first_half = 50 + 4;
    let db = d.db();
    assert!(wait_for_count(&db, first_half), "only {:?} stored before the kill; agent log:\n{}", stored_fingerprints(&db).0, agent.stderr());

    // Killed with everything so far stored; then restarted on the same data directory.
    agent.kill();
    let agent = d.start_agent(&cfg, "agent");
    assert!(wait_listening(port, Duration::from_secs(30)), "the agent does not listen again: {}", agent.stderr());
    // A sender that cannot know what arrived sends its last messages again, then goes on.
    send_tcp(port, (30..40).map(rfc5424_counted));
    send_tcp(port, (50..100).map(rfc3164_line));
    for i in 100..103 {
        logger(port, i, &["--tcp", "--rfc3164", "--octet-count"]);
    }
    let total = first_half + 50 + 3;
    let all_arrived = wait_for_count(&db, total);
    // What was resent is stored once: give a straggler time to show up before counting.
    std::thread::sleep(Duration::from_secs(2));
    let (n, set) = stored_fingerprints(&db);
    let context = format!("agent log:\n{}\ncollector log:\n{}", agent.stderr(), collector.stderr());
    assert!(all_arrived, "only {n} of {total} findings arrived; {context}");
    assert_eq!(n, total, "duplicates stored; {context}");
    let want: BTreeSet<String> = subject_fingerprints(0..103).union(&subject_fingerprints(140..144)).cloned().collect();
    assert_eq!(set, want, "the stored fingerprints are not exactly one per address sent");

    // The system is the sender's host and application, as the register names it.
    assert_eq!(count(&db, "SELECT COUNT(*) FROM findings WHERE host = 'mail-01' AND locator = 'syslog/shop'"), 90);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM findings WHERE locator = 'syslog/billing' AND host <> ''"), total - 90);
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM verdicts v JOIN findings f ON f.id = v.finding_id WHERE f.locator = 'syslog/shop'"),
        0,
        "mail-01:syslog/shop is declared for contact data: no verdict"
    );
    let undeclared =
        "SELECT COUNT(*) FROM verdicts v JOIN findings f ON f.id = v.finding_id WHERE f.locator = 'syslog/billing' AND v.rule = 'undeclared_system'";
    assert!(
        wait_for(Duration::from_secs(30), || (count(&db, undeclared) > 0).then_some(())).is_some(),
        "syslog/billing is in no activity: an undeclared system"
    );
    // The message's own time is the event time.
    let event: String = {
        let c = rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        c.query_row("SELECT evidence FROM findings WHERE host = 'mail-01' AND locator = 'syslog/shop' AND line_offset = 0 ORDER BY id LIMIT 1", [], |r| {
            r.get(0)
        })
        .unwrap()
    };
    assert!(event.contains("event_start_ms") && event.contains("event_end_ms"), "{event}");
    // No address reached the collector in clear.
    let bytes = d.db_bytes();
    for i in [0, 41, 77, 141] {
        let raw = format!("subject{i}@example.com");
        assert!(!bytes.windows(raw.len()).any(|w| w == raw.as_bytes()), "{raw} stored in clear");
    }
}

fn metrics_text(port: u16) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

fn metric(body: &str, name: &str) -> f64 {
    body.lines().find(|l| l.starts_with(name)).and_then(|l| l.split_whitespace().last()).and_then(|v| v.parse().ok()).unwrap_or(0.0)
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.split_whitespace().next()?.parse().ok()).unwrap()
}

#[test]
fn a_flood_of_hostile_senders_is_held_back_or_shed_in_bounded_memory() {
    // No collector: the spool (64 KiB) fills and blocks the scanner, the queue fills, and
    // then TCP senders are held back and UDP datagrams dropped — the worst case for memory.
    let d = Deployment::new(&logs_register());
    let cfg = d.agent_config("agent", "web-01-agent", &d.ca, "web-01-agent", "beginning");
    let (port, metrics) = (free_port(), free_port());
    append(
        &cfg,
        &format!(
            "\n[metrics]\nlisten = \"127.0.0.1:{metrics}\"\n\n[spool]\nmax_bytes = 65536\n\n[[syslog]]\nlisten = \"tcp://127.0.0.1:{port}\"\nmax_connections = 8\nidle_timeout_s = 30\n\n[[syslog]]\nlisten = \"udp://127.0.0.1:{port}\"\n"
        ),
    );
    let mut agent = d.start_agent(&cfg, "agent");
    assert!(wait_listening(port, Duration::from_secs(30)), "{}", agent.stderr());
    let before = rss_kib(agent.pid());

    // Hostile stream clients: an endless line, a 9 GB octet count, binary garbage.
    let connect = || {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(3))).unwrap();
        s
    };
    let (mut endless, mut huge, mut garbage) = (connect(), connect(), connect());
    huge.write_all(b"9000000000 <13>1 - h app - - - ").unwrap();
    let chunk = vec![b'x'; 1 << 20];
    let mut noise = vec![0u8; 1 << 20];
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for b in &mut noise {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        *b = seed as u8;
    }
    for _ in 0..32 {
        endless.write_all(&chunk).unwrap();
        huge.write_all(&chunk).unwrap();
        garbage.write_all(&noise).unwrap();
    }
    // Hundreds of connections against a limit of 8: the extra ones are closed at once. Then
    // they go, and their places are free again.
    let crowd: Vec<TcpStream> = (0..300).filter_map(|_| TcpStream::connect(("127.0.0.1", port)).ok()).collect();
    let refused = wait_for(Duration::from_secs(30), || {
        let b = metrics_text(metrics)?;
        (metric(&b, "custos_agent_syslog_connections_closed_total{reason=\"limit\"}") >= 200.0).then_some(())
    });
    assert!(refused.is_some(), "connections over the limit were not closed: {:?}", metrics_text(metrics));
    drop(crowd);
    let freed = wait_for(Duration::from_secs(30), || (metric(&metrics_text(metrics)?, "custos_agent_syslog_connections ") <= 3.0).then_some(()));
    assert!(freed.is_some(), "closed connections still counted: {:?}", metrics_text(metrics));

    // A flood of personal data over UDP: the spool fills, the scanner blocks, datagrams are shed.
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    for i in 0..30_000 {
        let m = format!("<13>1 - sender app - - - flood {i} subject{i}@example.com {}", "y".repeat(900));
        let _ = udp.send_to(m.as_bytes(), ("127.0.0.1", port));
    }
    // And a TCP sender of personal data: once the queue is full it is held back (its writes
    // stop completing) instead of the agent buffering what it sends.
    let mut sender = TcpStream::connect(("127.0.0.1", port)).unwrap();
    sender.set_write_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut sent = 0usize;
    let line = format!("<13>1 - sender app - - - held back subject@example.com {}\n", "z".repeat(1000));
    let held_back = loop {
        match sender.write(line.as_bytes()) {
            Ok(n) => sent += n,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => break true,
            Err(e) => panic!("the agent closed a well-behaved sender: {e}"),
        }
        if sent > 512 << 20 {
            break false;
        }
    };
    assert!(held_back, "512 MiB written without the agent holding the sender back");

    let body = wait_for(Duration::from_secs(30), || {
        let b = metrics_text(metrics)?;
        (metric(&b, "custos_agent_syslog_dropped_total{reason=\"queue_full\"}") > 0.0).then_some(b)
    })
    .unwrap_or_else(|| panic!("no datagram counted as dropped: {:?}", metrics_text(metrics)));
    assert!(metric(&body, "custos_agent_syslog_truncated_total") >= 2.0, "the endless line and the huge count: {body}");
    assert!(metric(&body, "custos_agent_syslog_received_total{transport=\"udp\"}") > 0.0, "{body}");
    assert!(body.contains("custos_agent_spool_full 1"), "{body}");

    // Bounded: the queue (512 messages of at most 64 KiB), 8 connections and one datagram.
    let after = rss_kib(agent.pid());
    println!("agent RSS: {before} KiB before the flood, {after} KiB after ({} MiB sent to a blocked agent)", (sent >> 20) + 96);
    assert!(after < before + 96 * 1024, "RSS grew from {before} KiB to {after} KiB");
    assert!(agent.try_wait().is_none(), "the agent died: {}", agent.stderr());
    assert!(!agent.stderr().contains("panicked"), "{}", agent.stderr());
}

/// Writes `msg` over TLS to `port`, trusting the deployment's CA, presenting `client` (a
/// certificate and key) when given. Errors (a refused handshake) are returned, not raised.
fn send_tls(d: &Deployment, port: u16, client: Option<(&Path, &Path)>, msg: &[u8]) -> std::io::Result<()> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_file(d.root().join("pki/ca.pem")).unwrap()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions().unwrap().with_root_certificates(roots);
    let config = match client {
        Some((cert, key)) => {
            builder.with_client_auth_cert(vec![CertificateDer::from_pem_file(cert).unwrap()], PrivateKeyDer::from_pem_file(key).unwrap()).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    let conn = rustls::ClientConnection::new(std::sync::Arc::new(config), ServerName::try_from("localhost").unwrap()).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, TcpStream::connect(("127.0.0.1", port))?);
    tls.write_all(msg)?;
    tls.flush()?;
    tls.conn.send_close_notify();
    tls.flush()?;
    // Read to the end: the server's verdict on the handshake (an alert) shows up here.
    let mut rest = Vec::new();
    tls.read_to_end(&mut rest).map(|_| ())
}

#[test]
fn a_tls_listener_with_a_client_ca_takes_only_senders_it_signed() {
    let d = Deployment::new(&syslog_register());
    let collector = d.start_collector();
    let cfg = d.agent_config("agent", "web-01-agent", &d.ca, "web-01-agent", "beginning");
    let (port, metrics) = (free_port(), free_port());
    append(
        &cfg,
        &format!(
            "\n[metrics]\nlisten = \"127.0.0.1:{metrics}\"\n\n[[syslog]]\nlisten = \"tls://127.0.0.1:{port}\"\ncert = \"pki/server.pem\"\nkey = \"pki/server.key\"\nclient_ca = \"pki/ca.pem\"\n"
        ),
    );
    let agent = d.start_agent(&cfg, "agent");
    assert!(wait_listening(port, Duration::from_secs(30)), "{}", agent.stderr());
    let (cert, key) = d.ca.agent(&d.root().join("pki"), "sender", "mail-01");

    // Without a certificate: the handshake is refused, the message never read.
    let _ = send_tls(&d, port, None, &rfc5424_counted(1));
    let refused = wait_for(Duration::from_secs(30), || {
        (metric(&metrics_text(metrics)?, "custos_agent_syslog_connections_closed_total{reason=\"tls\"}") >= 1.0).then_some(())
    });
    assert!(refused.is_some(), "a sender without a certificate was not refused: {:?}", metrics_text(metrics));
    // With one the CA signed: both framings over one connection.
    let mut frames = rfc5424_counted(2);
    frames.extend(rfc3164_line(3));
    send_tls(&d, port, Some((&cert, &key)), &frames).unwrap();
    let db = d.db();
    assert!(wait_for_count(&db, 2), "agent log:\n{}\ncollector log:\n{}", agent.stderr(), collector.stderr());
    std::thread::sleep(Duration::from_secs(1));
    let (n, set) = stored_fingerprints(&db);
    assert_eq!((n, set), (2, subject_fingerprints(2..4)), "only the signed sender's two messages");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM findings WHERE host = 'mail-01' AND locator = 'syslog/shop'"), 2);
    let body = metrics_text(metrics).unwrap();
    assert_eq!(metric(&body, "custos_agent_syslog_received_total{transport=\"tls\"}"), 2.0, "{body}");
}
