//! The scanner thread: reads each queued message, runs the detector on its text and appends
//! the findings to the spool — the same engine, finding factory and spool as log files.
//!
//! # What a finding says
//! - **system**: `host` is the sender's host name from the message (masked like a file name
//!   when the detector finds a value in it; an IP address is kept as the sender's address), or
//!   the peer's IP address when the message has none; the locator is `syslog/APP` (RFC 5424
//!   APP-NAME, RFC 3164 TAG; `syslog/-` when there is none). The collector names the system
//!   `HOST:syslog/APP`.
//! - **event time**: the message's own timestamp, as `event_start_ms` = `event_end_ms` in the
//!   evidence (what the Art. 33 draft dates a breach by); `observed_at` stays the time the agent
//!   read it (the incident clock must not move with a sender's clock).
//! - **id**: the source identity is `syslog:` and a keyed hash (the fingerprint key) of the
//!   message as received (and of the peer when the message names no host): a message sent
//!   again — a sender retrying after a reconnect, or a spool record resent after a restart —
//!   has the same finding ids and is stored once. Two byte-identical messages (same
//!   timestamp, host, application and text) are one message.

use super::listener::Received;
use super::parse::{self, Format};
use crate::finding::{self, FindingFactory};
use crate::metrics::Metrics;
use crate::spool::Spool;
use custos_proto::v1 as pb;
use custos_rules::{Detection, Engine};
use std::net::IpAddr;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

/// Messages scanned between two appends to the spool at most.
const BATCH: usize = 256;

/// What the scanner thread needs.
pub struct ScanContext {
    /// The detector.
    pub engine: Arc<Engine>,
    /// Where findings are made.
    pub factory: FindingFactory,
    /// Where they go.
    pub spool: Spool,
    /// The agent's metrics.
    pub metrics: Arc<Metrics>,
    /// Set to true to stop (the listeners stop, the queue is drained).
    pub shutdown: watch::Receiver<bool>,
}

/// The source identity of a message (see the module documentation).
pub fn identity(factory: &FindingFactory, msg: &[u8], peer: Option<IpAddr>) -> String {
    let mut input = msg.to_vec();
    if let Some(peer) = peer {
        input.push(0);
        input.extend_from_slice(peer.to_string().as_bytes());
    }
    let h = factory.key().fingerprint("custos:syslog", &input);
    format!("syslog:{}", hex::encode(&h.0[..16]))
}

/// The host a message is from, as sent (see the module documentation).
pub fn host_name(engine: &Engine, hostname: Option<&[u8]>, peer: IpAddr) -> String {
    let mut host = match hostname.and_then(|h| std::str::from_utf8(h).ok()) {
        Some(h) if h.parse::<IpAddr>().is_ok() => h.to_string(),
        Some(h) => finding::redact(engine, h),
        None => peer.to_string(),
    };
    // The collector refuses a host over 255 bytes (and with it the finding): masking never
    // makes a name much longer, but a cut name is better than a refused finding.
    if host.len() > MAX_HOST_BYTES {
        let mut end = MAX_HOST_BYTES;
        while !host.is_char_boundary(end) {
            end -= 1;
        }
        host.truncate(end);
    }
    host
}

/// Longest host name the collector stores.
const MAX_HOST_BYTES: usize = 255;

/// Reads `msg` and appends its findings to `out`; returns its format.
pub fn scan_message(ctx: &ScanContext, msg: &Received, now_ms: i64, detections: &mut Vec<Detection>, out: &mut Vec<pb::Finding>) -> Format {
    let p = parse::parse(&msg.bytes, now_ms);
    detections.clear();
    ctx.engine.scan(p.text, detections);
    if detections.is_empty() {
        return p.format;
    }
    let host = host_name(&ctx.engine, p.hostname, msg.peer);
    let app = p.app.map_or_else(|| "-".into(), String::from_utf8_lossy);
    let peer = p.hostname.is_none().then_some(msg.peer);
    let source = pb::Source { kind: pb::SourceKind::LogFile as i32, locator: format!("syslog/{app}"), identity: identity(&ctx.factory, &msg.bytes, peer) };
    let before = out.len();
    ctx.factory.line_findings(&ctx.engine, &source, 1, 0, detections, p.text, out);
    for f in &mut out[before..] {
        f.host.clone_from(&host);
        if let Some(t) = p.timestamp_ms {
            f.evidence.insert("event_start_ms".into(), t.to_string());
            f.evidence.insert("event_end_ms".into(), t.to_string());
        }
    }
    p.format
}

/// Scans queued messages until every listener has stopped and the queue is empty (or the
/// spool refuses: full under `block` while stopping). Runs on its own thread.
pub fn scan_loop(mut rx: mpsc::Receiver<Received>, ctx: ScanContext) -> anyhow::Result<()> {
    let shutdown = ctx.shutdown.clone();
    let stop = || *shutdown.borrow();
    let mut batch = Vec::with_capacity(BATCH);
    let mut detections = Vec::new();
    let mut pending = Vec::new();
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        let now_ms = custos_proto::time::now_ms();
        for m in batch.drain(..) {
            if scan_message(&ctx, &m, now_ms, &mut detections, &mut pending) == Format::Unknown {
                ctx.metrics.syslog.parse_errors.inc();
            }
            ctx.metrics.lines_read.inc();
            ctx.metrics.bytes_read.inc_by(m.bytes.len() as u64);
        }
        if pending.is_empty() {
            continue;
        }
        // Blocks while the spool is full (`block`): the queue fills, TCP senders are held back
        // and UDP datagrams are dropped and counted.
        match ctx.spool.append(&pending, &stop) {
            Ok(()) => {
                ctx.metrics.findings.inc_by(pending.len() as u64);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => return Ok(()),
            Err(e) => return Err(anyhow::anyhow!("syslog: cannot write to the spool: {e}")),
        }
        pending.clear();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use custos_rules::FingerprintKey;

    fn context(dir: &std::path::Path) -> ScanContext {
        let metrics = Arc::new(Metrics::default());
        ScanContext {
            engine: Arc::new(Engine::with_default_packs().unwrap()),
            factory: FindingFactory::new("a".into(), "agent-host".into(), FingerprintKey::new(vec![9; 32]).unwrap()),
            spool: Spool::open(&dir.join("spool"), Default::default(), metrics.clone()).unwrap(),
            metrics,
            shutdown: watch::channel(false).1,
        }
    }

    fn findings(ctx: &ScanContext, msg: &[u8], peer: &str) -> Vec<pb::Finding> {
        let (mut detections, mut out) = (Vec::new(), Vec::new());
        scan_message(ctx, &Received { bytes: msg.to_vec(), peer: peer.parse().unwrap() }, 1_796_616_000_000, &mut detections, &mut out);
        out
    }

    #[test]
    fn a_finding_names_the_senders_host_and_application_and_carries_the_event_time() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(dir.path());
        let f = findings(&ctx, b"<165>1 2026-12-07T03:14:15.003Z mail-01 shop 1 - - paid by ann@example.com", "10.0.0.7");
        assert_eq!(f.len(), 1);
        let source = f[0].source.as_ref().unwrap();
        assert_eq!((f[0].host.as_str(), source.locator.as_str()), ("mail-01", "syslog/shop"));
        assert!(source.identity.starts_with("syslog:"));
        assert_eq!(f[0].evidence.get("event_start_ms").map(String::as_str), Some("1796613255003"));
        assert_eq!(f[0].evidence.get("event_end_ms").map(String::as_str), Some("1796613255003"));
        assert!(!f[0].preview.contains("ann@example.com"), "masked: {}", f[0].preview);
        // No host name in the message: the peer's address; no application: `syslog/-`.
        let f = findings(&ctx, b"bob@example.org logged in", "192.0.2.1");
        assert_eq!((f[0].host.as_str(), f[0].source.as_ref().unwrap().locator.as_str()), ("192.0.2.1", "syslog/-"));
        assert!(!f[0].evidence.contains_key("event_start_ms"), "no time in the message, none made up");
    }

    #[test]
    fn a_host_name_or_application_that_holds_a_value_is_masked() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(dir.path());
        let f = findings(&ctx, b"<13>1 - ann.smith@example.com carol@example.net - - - x dave@example.org", "10.0.0.7");
        assert_eq!(f.len(), 1);
        let sent = format!("{} {}", f[0].host, f[0].source.as_ref().unwrap().locator);
        for raw in ["ann.smith@example.com", "carol@example.net"] {
            assert!(!sent.contains(raw), "{raw} left the agent in {sent}");
        }
        // An IP address as host name is the sender's address, kept.
        let f = findings(&ctx, b"<13>1 - 192.0.2.9 app - - - x dave@example.org", "10.0.0.7");
        assert_eq!(f[0].host, "192.0.2.9");
    }

    #[test]
    fn the_same_message_has_the_same_ids_and_another_message_other_ones() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(dir.path());
        let m = b"<34>Dec  7 03:59:59 web-01 sshd[1]: failed for ann@example.com";
        let ids = |m: &[u8], peer: &str| findings(&ctx, m, peer).into_iter().map(|f| f.id).collect::<Vec<_>>();
        assert_eq!(ids(m, "10.0.0.1"), ids(m, "10.0.0.2"), "a resend is stored once, whichever address it came from");
        assert_ne!(ids(m, "10.0.0.1"), ids(b"<34>Dec  7 03:59:58 web-01 sshd[1]: failed for ann@example.com", "10.0.0.1"));
        // Without a host name in the message, the peer tells two senders apart.
        assert_ne!(ids(b"failed for ann@example.com", "10.0.0.1"), ids(b"failed for ann@example.com", "10.0.0.2"));
    }

    #[test]
    fn the_scanner_drains_the_queue_into_the_spool_and_ends_with_its_senders() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(dir.path());
        let (spool, metrics) = (ctx.spool.clone(), ctx.metrics.clone());
        let (tx, rx) = mpsc::channel(8);
        let thread = std::thread::spawn(move || scan_loop(rx, ctx));
        for (i, peer) in ["10.0.0.1", "10.0.0.2", "10.0.0.3"].iter().enumerate() {
            tx.blocking_send(Received { bytes: [format!("user{i}@example.com ").as_bytes(), b"\xff\x00 binary"].concat(), peer: peer.parse().unwrap() })
                .unwrap();
        }
        drop(tx);
        thread.join().unwrap().unwrap();
        assert_eq!(spool.depth(), 3);
        assert_eq!(metrics.syslog.parse_errors.get(), 3, "no syslog header");
        assert_eq!(metrics.findings.get(), 3);
    }
}
