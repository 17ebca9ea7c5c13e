//! Agent metrics, served as Prometheus text on `/metrics` at a local address.
//!
//! Operators watch these to know the agent is alive and keeping up: what it reads, what it
//! finds, how deep the spool is, and how the link to the collector behaves.

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
    /// Unacknowledged findings in the spool.
    pub spool_depth: Gauge,
    /// Unacknowledged bytes in the spool.
    pub spool_bytes: Gauge,
    /// 1 while the spool is at its size cap.
    pub spool_full: Gauge,
    /// Findings dropped because the spool was full (`drop_oldest` policy).
    pub spool_dropped: Counter,
    /// Batches sent (including resends).
    pub batches_sent: Counter,
    /// Batches acknowledged.
    pub batches_acked: Counter,
    /// Seconds from sending a batch to its ack.
    pub send_latency: Histogram,
    /// Connections to the collector established after the first.
    pub reconnects: Counter,
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
            spool_depth: Gauge::default(),
            spool_bytes: Gauge::default(),
            spool_full: Gauge::default(),
            spool_dropped: Counter::default(),
            batches_sent: Counter::default(),
            batches_acked: Counter::default(),
            send_latency: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
            reconnects: Counter::default(),
            registry: Registry::with_prefix("custos_agent"),
        };
        let mut r = Registry::with_prefix("custos_agent");
        r.register("lines_read", "Lines read from sources", m.lines_read.clone());
        r.register("bytes_read", "Bytes read from sources", m.bytes_read.clone());
        r.register("findings", "Personal-data findings produced", m.findings.clone());
        r.register("overlong_lines", "Lines longer than max_line_bytes, scanned in pieces", m.overlong_lines.clone());
        r.register("files_followed", "Files currently followed", m.files_followed.clone());
        r.register("spool_depth", "Unacknowledged findings in the spool", m.spool_depth.clone());
        r.register("spool_bytes", "Unacknowledged bytes in the spool", m.spool_bytes.clone());
        r.register("spool_full", "1 while the spool is at its size cap", m.spool_full.clone());
        r.register("spool_dropped_findings", "Findings dropped because the spool was full", m.spool_dropped.clone());
        r.register("batches_sent", "Batches sent to the collector, resends included", m.batches_sent.clone());
        r.register("batches_acked", "Batches acknowledged by the collector", m.batches_acked.clone());
        r.register("send_latency_seconds", "Time from sending a batch to its acknowledgement", m.send_latency.clone());
        r.register("reconnects", "Reconnections to the collector", m.reconnects.clone());
        Metrics { registry: r, ..m }
    }
}

impl Metrics {
    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// Serves `GET /metrics` on `addr` until the task is dropped.
pub async fn serve(addr: SocketAddr, metrics: Arc<Metrics>) -> std::io::Result<()> {
    use axum::routing::get;
    let app = axum::Router::new().route(
        "/metrics",
        get(move || {
            let m = metrics.clone();
            async move { ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], m.render()) }
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
}
