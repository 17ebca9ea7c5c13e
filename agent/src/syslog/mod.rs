//! The syslog receiver: the agent listens for syslog messages (`[[syslog]]`, UDP, TCP, TLS)
//! and scans them like log lines.
//!
//! Much personal data never reaches a file on the machine the agent runs on: applications and
//! appliances send it to a syslog endpoint. Pointing them (or a relay: rsyslog, syslog-ng) at
//! the agent makes that stream a source like any log.
//!
//! # The path of a message
//! ```text
//! socket ─► listener (frame.rs: cut, bound) ─► queue (bounded) ─► scanner thread
//!            UDP: drop when full, counted          parse.rs: RFC 5424 / 3164
//!            TCP/TLS: wait when full (back-pressure) detector ─► finding ─► spool ─► collector
//! ```
//! - [`listener`]: the sockets, connection limits, idle timeouts, TLS (RFC 5425) with optional
//!   client certificates; [`frame`]: octet-counted and LF/NUL framing (RFC 6587), cut at
//!   `max_message_bytes`; [`parse`]: the header (host, application, time), lenient and total;
//!   [`scanner`]: detection and findings (how the system is named, the event time, the ids);
//!   [`config`]: the `[[syslog]]` section; [`counters`]: the `custos_agent_syslog_*` metrics.
//!
//! # What a restart guarantees
//! Syslog has no acknowledgement: a sender cannot be asked to send again. A message's findings
//! are appended to the spool (written to the operating system at once, forced to disk per
//! `[spool] fsync`) by the scanner thread; from there they are delivered like every finding,
//! at least once, and stored once (deterministic ids). At a `kill -9` what is lost is what had
//! not reached the spool: the messages in the queue (at most [`listener::QUEUE_MESSAGES`]),
//! those in the kernel's socket buffers, and every datagram sent while the agent is down (TCP
//! senders reconnect and send on; what they resend is stored once, see [`scanner`]). Nothing
//! stored is stored twice. A graceful stop (SIGTERM) closes the listeners first and scans what
//! is queued before it exits.

pub mod config;
pub mod counters;
pub mod frame;
pub mod listener;
pub mod parse;
pub mod scanner;

/// Binds every listener of `sources` (an error names the one that cannot listen), then serves
/// them on the current runtime and scans what they receive on a thread of its own, until
/// `ctx.shutdown` turns true. The thread's handle ends once the queue is drained.
pub async fn start(sources: &[config::SyslogSource], ctx: scanner::ScanContext) -> anyhow::Result<std::thread::JoinHandle<anyhow::Result<()>>> {
    let mut bound = Vec::with_capacity(sources.len());
    for s in sources {
        bound.push(listener::Bound::bind(s).await?);
    }
    let (tx, rx) = tokio::sync::mpsc::channel(listener::QUEUE_MESSAGES);
    for b in bound {
        tokio::spawn(b.serve(tx.clone(), ctx.metrics.syslog.clone(), ctx.shutdown.clone()));
    }
    // The scanner ends when the last listener (and connection) has dropped its sender.
    drop(tx);
    Ok(std::thread::Builder::new().name("custos-syslog".into()).spawn(move || scanner::scan_loop(rx, ctx))?)
}
