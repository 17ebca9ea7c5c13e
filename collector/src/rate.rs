//! The per-agent ingest rate limit: a token bucket per agent id, applied as backpressure.
//!
//! An agent (compromised, misconfigured, or flushing a huge spool) must not take the store
//! from every other agent. Each agent may store `rate` findings per second on average, with
//! bursts of one second's worth. A batch over the budget is not refused — its findings are
//! real — but *delayed*: the collector waits before storing it, so the agent's acknowledgements
//! slow down, its in-flight window fills, and its backlog waits on its own disk. Buckets live
//! in memory per collector (a restart forgives) and are keyed by the certificate's agent id,
//! so their number is bounded by the agents the CA signed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The default average rate, in findings per second per agent (`ingest_rate_per_agent`).
pub const DEFAULT_FINDINGS_PER_SECOND: u32 = 20_000;

/// Token buckets by agent id.
pub struct RateLimit {
    /// Findings per second; 0 = no limit.
    rate: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    /// Findings that may be stored now; negative when the agent is in debt.
    tokens: f64,
    at: Instant,
}

impl RateLimit {
    /// A limit of `per_second` findings per agent (0: none).
    pub fn new(per_second: u32) -> RateLimit {
        RateLimit { rate: f64::from(per_second), buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes `findings` from `agent`'s bucket at `now` and says how long to wait before storing
    /// them (zero within the budget).
    pub fn delay(&self, agent: &str, findings: usize, now: Instant) -> Duration {
        if self.rate <= 0.0 {
            return Duration::ZERO;
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let b = buckets.entry(agent.to_string()).or_insert(Bucket { tokens: self.rate, at: now });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.rate).min(self.rate);
        b.at = now;
        b.tokens -= findings as f64;
        if b.tokens >= 0.0 { Duration::ZERO } else { Duration::from_secs_f64(-b.tokens / self.rate) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agent_within_its_rate_is_not_delayed_and_one_over_it_waits_for_its_debt() {
        let limit = RateLimit::new(1_000);
        let t0 = Instant::now();
        assert_eq!(limit.delay("a", 1_000, t0), Duration::ZERO, "one second's burst");
        assert_eq!(limit.delay("a", 500, t0), Duration::from_millis(500));
        // Other agents have their own bucket.
        assert_eq!(limit.delay("b", 1_000, t0), Duration::ZERO);
        // Two seconds later the debt is paid and the bucket full again (capped at one second).
        assert_eq!(limit.delay("a", 1_000, t0 + Duration::from_secs(2)), Duration::ZERO);
    }

    #[test]
    fn zero_means_no_limit() {
        assert_eq!(RateLimit::new(0).delay("a", 1 << 30, Instant::now()), Duration::ZERO);
    }
}
