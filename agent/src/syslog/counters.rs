//! The syslog receiver's metrics (`custos_agent_syslog_*`), registered with the agent's
//! others by [`crate::metrics`]. Labels are fixed words (transport, reason), never anything a
//! sender wrote: a metric must not carry a host name or a value.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// A label set of fixed words.
pub type Labels = Vec<(&'static str, &'static str)>;

/// Counters of the syslog listeners.
#[derive(Default, Clone)]
pub struct SyslogMetrics {
    /// Messages received, by `transport` (`udp`, `tcp`, `tls`).
    pub received: Family<Labels, Counter>,
    /// Messages dropped unscanned, by `reason` (`queue_full`: UDP while the scanner was behind).
    pub dropped: Family<Labels, Counter>,
    /// Messages longer than `max_message_bytes`, scanned cut to it.
    pub truncated: Counter,
    /// Messages neither RFC 5424 nor RFC 3164 (scanned whole as text).
    pub parse_errors: Counter,
    /// TCP and TLS connections open.
    pub connections: Gauge,
    /// Connections closed by the agent, by `reason` (`limit`: over `max_connections`; `idle`;
    /// `tls`: failed handshake; `error`: a read error).
    pub connections_closed: Family<Labels, Counter>,
}

impl SyslogMetrics {
    /// Registers them under `registry` (prefixed `custos_agent_` there).
    pub fn register(&self, r: &mut Registry) {
        r.register("syslog_received", "Syslog messages received, by transport", self.received.clone());
        r.register("syslog_dropped", "Syslog messages dropped unscanned, by reason (queue_full: UDP while the scanner was behind)", self.dropped.clone());
        r.register("syslog_truncated", "Syslog messages longer than max_message_bytes, scanned cut to it", self.truncated.clone());
        r.register("syslog_parse_errors", "Syslog messages neither RFC 5424 nor RFC 3164, scanned whole as text", self.parse_errors.clone());
        r.register("syslog_connections", "Syslog TCP and TLS connections open", self.connections.clone());
        r.register("syslog_connections_closed", "Syslog connections closed by the agent, by reason (limit, idle, tls, error)", self.connections_closed.clone());
    }

    /// One more in `family` under `key=value`.
    pub fn inc(family: &Family<Labels, Counter>, key: &'static str, value: &'static str) {
        family.get_or_create(&vec![(key, value)]).inc();
    }
}
