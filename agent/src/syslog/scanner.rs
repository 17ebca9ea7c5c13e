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
    match hostname.and_then(|h| std::str::from_utf8(h).ok()) {
        Some(h) if h.parse::<IpAddr>().is_ok() => h.to_string(),
        Some(h) => finding::redact(engine, h),
        None => peer.to_string(),
    }
}

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
