//! Agent metrics, served on `/metrics` at a local address.
//!
//! Operators watch these to know the agent is alive and keeping up: what it reads, what it
//! finds, how deep the spool is, and how the link to the collector behaves.
//!
//! Two formats, chosen by the scraper's `Accept` header as Prometheus does: OpenMetrics
//! (`application/openmetrics-text`) when asked for, and otherwise the Prometheus text format
//! 0.0.4 (`text/plain; version=0.0.4`), which `promtool check metrics` reads. The registry
//! encodes OpenMetrics, where a counter family is named without its `_total` suffix; served
//! under the text/plain type that made every counter a family "without help text", so
//! [`prometheus_text`] renames the counter families for the older format.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::net::SocketAddr;
use std::sync::Arc;

/// Every metric of the agent.
pub struct Metrics {
    /// Lines read from sources.
    pub lines_read: Counter,
    /// Bytes read from sources.
    pub bytes_read: Counter,
    /// Findings produced.
    pub findings: Counter,
    /// Lines longer than `max_line_bytes`, scanned in pieces.
    pub overlong_lines: Counter,
    /// Files currently followed.
    pub files_followed: Gauge,
    /// Container log lines whose wrapper did not decode (scanned as they are).
    pub container_lines_malformed: Counter,
    /// Reassembled container messages cut at `max_line_bytes`.
    pub container_messages_overlong: Counter,
    /// Journal entries read (`[[journald]]`).
    pub journal_entries: Counter,
    /// Journal entries skipped: not JSON, or longer than `max_entry_bytes`.
    pub journal_entries_malformed: Counter,
    /// Times `journalctl` was (re)started after it could not start or exited.
    pub journal_restarts: Counter,
    /// Unacknowledged findings in the spool.
    pub spool_depth: Gauge,
    /// Unacknowledged bytes in the spool.
    pub spool_bytes: Gauge,
    /// 1 while the spool is at its size cap.
    pub spool_full: Gauge,
    /// Findings dropped because the spool was full (`drop_oldest` policy).
    pub spool_dropped: Counter,
    /// Spool records that could not be read back (corrupt), skipped.
    pub spool_corrupt: Counter,
    /// Batches sent (including resends).
    pub batches_sent: Counter,
    /// Batches acknowledged.
    pub batches_acked: Counter,
    /// Seconds from sending a batch to its ack.
    pub send_latency: Histogram,
    /// Connections to the collector established after the first.
    pub reconnects: Counter,
    /// Findings the collector acknowledged but refused to store (see the dead-letter record).
    pub findings_refused: Counter,
    /// The syslog receiver's counters (`custos_agent_syslog_*`).
    pub syslog: crate::syslog::counters::SyslogMetrics,
    registry: Registry,
}

impl Default for Metrics {
    fn default() -> Self {
        let m = Metrics {
            lines_read: Counter::default(),
            bytes_read: Counter::default(),
            findings: Counter::default(),
            overlong_lines: Counter::default(),
            files_followed: Gauge::default(),
            container_lines_malformed: Counter::default(),
            container_messages_overlong: Counter::default(),
            journal_entries: Counter::default(),
            journal_entries_malformed: Counter::default(),
            journal_restarts: Counter::default(),
            spool_depth: Gauge::default(),
            spool_bytes: Gauge::default(),
            spool_full: Gauge::default(),
            spool_dropped: Counter::default(),
            spool_corrupt: Counter::default(),
            batches_sent: Counter::default(),
            batches_acked: Counter::default(),
            send_latency: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
            reconnects: Counter::default(),
            findings_refused: Counter::default(),
            syslog: Default::default(),
            registry: Registry::with_prefix("custos_agent"),
        };
        let mut r = Registry::with_prefix("custos_agent");
        r.register("lines_read", "Lines read from sources", m.lines_read.clone());
        r.register("bytes_read", "Bytes read from sources", m.bytes_read.clone());
        r.register("findings", "Personal-data findings produced", m.findings.clone());
        r.register("overlong_lines", "Lines longer than max_line_bytes, scanned in pieces", m.overlong_lines.clone());
        r.register(
            "container_lines_malformed",
            "Container log lines whose CRI or Docker wrapper did not decode, scanned as they are",
            m.container_lines_malformed.clone(),
        );
        r.register("container_messages_overlong", "Reassembled container messages cut at max_line_bytes", m.container_messages_overlong.clone());
        r.register("journal_entries", "Journal entries read", m.journal_entries.clone());
        r.register("journal_entries_malformed", "Journal entries skipped: not JSON or longer than max_entry_bytes", m.journal_entries_malformed.clone());
        r.register("journal_restarts", "Times journalctl was restarted after it failed to start or exited", m.journal_restarts.clone());
        r.register("files_followed", "Files currently followed", m.files_followed.clone());
        r.register("spool_depth", "Unacknowledged findings in the spool", m.spool_depth.clone());
        r.register("spool_bytes", "Unacknowledged bytes in the spool", m.spool_bytes.clone());
        r.register("spool_full", "1 while the spool is at its size cap", m.spool_full.clone());
        r.register("spool_dropped_findings", "Findings dropped because the spool was full", m.spool_dropped.clone());
        r.register("spool_corrupt_records", "Spool records that could not be read back (corrupt) and were skipped", m.spool_corrupt.clone());
        r.register("batches_sent", "Batches sent to the collector, resends included", m.batches_sent.clone());
        r.register("batches_acked", "Batches acknowledged by the collector", m.batches_acked.clone());
        r.register("send_latency_seconds", "Time from sending a batch to its acknowledgement", m.send_latency.clone());
        r.register("reconnects", "Reconnections to the collector", m.reconnects.clone());
        r.register("findings_refused", "Findings the collector refused to store (listed in dead-letter.jsonl)", m.findings_refused.clone());
        m.syslog.register(&mut r);
        Metrics { registry: r, ..m }
    }
}

impl Metrics {
    /// The OpenMetrics exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render_prometheus(&self) -> String {
        prometheus_text(&self.render())
    }
}

/// Content type of [`Metrics::render`].
pub const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// Content type of [`Metrics::render_prometheus`].
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// An OpenMetrics exposition in the Prometheus text format 0.0.4: counter families take the
/// name of their `_total` samples in `# HELP` and `# TYPE`, and the OpenMetrics-only lines
/// (`# UNIT`, `# EOF`) go.
pub fn prometheus_text(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> =
        openmetrics.lines().filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter")).filter(|name| !name.ends_with("_total")).collect();
    let mut out = String::with_capacity(openmetrics.len() + 16 * counters.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let meta = ["# HELP ", "# TYPE "].into_iter().find_map(|p| Some((p, line.strip_prefix(p)?)));
        match meta {
            Some((prefix, rest)) if rest.split_once(' ').is_some_and(|(name, _)| counters.contains(name)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                out.push_str(&format!("{prefix}{name}_total {tail}\n"));
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// Serves `GET /metrics` on `addr` until the task is dropped.
pub async fn serve(addr: SocketAddr, metrics: Arc<Metrics>) -> std::io::Result<()> {
    use axum::routing::get;
    let app = axum::Router::new().route(
        "/metrics",
        get(move |headers: axum::http::HeaderMap| {
            let m = metrics.clone();
            async move {
                let accept = headers.get(axum::http::header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
                if accept.contains("application/openmetrics-text") {
                    ([(axum::http::header::CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)], m.render())
                } else {
                    ([(axum::http::header::CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE)], m.render_prometheus())
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "metrics on /metrics");
    axum::serve(listener, app).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        m.lines_read.inc_by(3);
        m.spool_depth.set(7);
        let text = m.render();
        assert!(text.contains("custos_agent_lines_read_total 3"), "{text}");
        assert!(text.contains("custos_agent_spool_depth 7"), "{text}");
        assert!(text.contains("# HELP custos_agent_send_latency_seconds"), "{text}");
    }

    #[test]
    fn the_prometheus_format_names_counter_families_after_their_total_samples() {
        let m = Metrics::default();
        m.lines_read.inc_by(3);
        let text = m.render_prometheus();
        assert!(text.contains("# HELP custos_agent_lines_read_total Lines read from sources"), "{text}");
        assert!(text.contains("# TYPE custos_agent_lines_read_total counter\ncustos_agent_lines_read_total 3\n"), "{text}");
        assert!(text.contains("# TYPE custos_agent_spool_depth gauge"), "{text}");
        assert!(text.contains("# TYPE custos_agent_send_latency_seconds histogram"), "{text}");
        assert!(!text.contains("# EOF"), "{text}");
        // Every sample line belongs to a family that has help text.
        let families: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("# HELP ")?.split(' ').next()).collect();
        for sample in text.lines().filter(|l| !l.starts_with('#')) {
            let name = sample.split(['{', ' ']).next().unwrap();
            assert!(
                families.iter().any(|f| name == *f || name.strip_prefix(f).is_some_and(|s| ["_bucket", "_sum", "_count"].contains(&s))),
                "{name} has no help: {text}"
            );
        }
    }
}
