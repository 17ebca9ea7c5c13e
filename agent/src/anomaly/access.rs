//! Web access logs (common and combined formats): downloads and request rates far above usual.
//!
//! Three signs of a bulk export through a web application:
//! - a successful response from an export/download endpoint (`export_paths`) of at least
//!   `export_bytes_min`: `download_volume` with detail `export endpoint`;
//! - any successful response far larger than the responses this log usually serves (a
//!   [`Baseline`] of response sizes) and at least `download_bytes_min`: `download_volume`;
//! - a user (or, when the log has none, a client address) making far more requests in one
//!   window than clients of this log usually do (a baseline of per-client request counts per
//!   window) and at least `request_rate_min`: `request_rate`. Once a client has a history of its
//!   own (`warmup` windows), it must also be far above *its own* usual rate: a busy integration
//!   that always makes many requests is learned and stops being reported, while a client that
//!   suddenly jumps is still caught.
//!
//! The endpoint is reported without its query string (which may carry personal values).

use super::baseline::Baseline;
use super::signal::Anomaly;
use crate::config::AnomalyConfig;
use regex::bytes::Regex;
use std::collections::HashMap;
use std::sync::LazyLock;

static LINE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"(?-u)^(\S+) \S+ (\S+) \[[^\]]*\] "(\S+) (\S+)[^"]*" (\d{3}) (\d+|-)"#).expect("static regex"));

/// Watches one access log.
pub struct AccessLogWatch {
    config: AnomalyConfig,
    sizes: Baseline,
    rates: Baseline,
    window_start: Option<i64>,
    counts: HashMap<String, u64>,
    /// Each client's own request counts per window (bounded number of clients).
    own: HashMap<String, Baseline>,
}

/// Clients whose own rate history is kept; beyond this, new clients are judged against the
/// pooled baseline only (memory stays bounded under address scans).
const MAX_OWN_BASELINES: usize = 10_000;

impl AccessLogWatch {
    /// A watch with these thresholds.
    pub fn new(config: AnomalyConfig) -> Self {
        AccessLogWatch {
            sizes: Baseline::new(config.history.max(100) * 5, config.warmup),
            rates: Baseline::new(config.history * 5, config.warmup),
            config,
            window_start: None,
            counts: HashMap::new(),
            own: HashMap::new(),
        }
    }

    /// Looks at one line read at `now_s`.
    pub fn line(&mut self, line: &[u8], now_s: i64, out: &mut Vec<Anomaly>) {
        self.tick(now_s, out);
        let Some(c) = LINE.captures(line) else { return };
        let text = |i: usize| String::from_utf8_lossy(&c[i]).into_owned();
        let (client, user, path, status) = (text(1), text(2), text(4), text(5));
        let bytes: u64 = std::str::from_utf8(&c[6]).ok().and_then(|s| s.parse().ok()).unwrap_or(0);
        let actor = if user != "-" { user } else { client };
        if self.counts.len() < 100_000 || self.counts.contains_key(&actor) {
            *self.counts.entry(actor.clone()).or_default() += 1;
        }
        if !status.starts_with('2') {
            return;
        }
        let endpoint = path.split(['?', '#']).next().unwrap_or("").chars().take(200).collect::<String>();
        let lower = endpoint.to_ascii_lowercase();
        let cfg = &self.config;
        let verdict = self.sizes.threshold(cfg.sensitivity);
        self.sizes.push(bytes as f64);
        if bytes >= cfg.export_bytes_min && cfg.export_paths.iter().any(|p| lower.contains(&p.to_ascii_lowercase())) {
            out.push(Anomaly {
                heuristic: "download_volume",
                observed: bytes,
                baseline: verdict.map(|(m, _)| m),
                threshold: cfg.export_bytes_min as f64,
                actor: Some(actor),
                detail: format!("export endpoint {endpoint}"),
                confidence: 0.75,
            });
            return;
        }
        if let Some((median, t)) = verdict
            && bytes as f64 > t
            && bytes >= cfg.download_bytes_min
        {
            out.push(Anomaly {
                heuristic: "download_volume",
                observed: bytes,
                baseline: Some(median),
                threshold: t.max(cfg.download_bytes_min as f64),
                actor: Some(actor),
                detail: format!("response size on {endpoint}"),
                confidence: 0.65,
            });
        }
    }

    /// Closes the counting window when it has ended by `now_s`.
    pub fn tick(&mut self, now_s: i64, out: &mut Vec<Anomaly>) {
        let window = self.config.window_s as i64;
        let start = *self.window_start.get_or_insert(now_s);
        if now_s - start < window {
            return;
        }
        let verdict = self.rates.threshold(self.config.sensitivity);
        let mut counts: Vec<(String, u64)> = self.counts.drain().collect();
        counts.sort();
        for (actor, n) in counts {
            if self.own.len() < MAX_OWN_BASELINES && !self.own.contains_key(&actor) {
                self.own.insert(actor.clone(), Baseline::new(50, self.config.warmup));
            }
            // Above its own usual rate too, once the client has a history (None: no history yet).
            let own = self.own.get_mut(&actor).map(|b| {
                let verdict = b.threshold(self.config.sensitivity);
                b.push(n as f64);
                verdict
            });
            let above_own = !matches!(own, Some(Some((_, t))) if n as f64 <= t);
            if let Some((median, t)) = verdict
                && n as f64 > t
                && n >= self.config.request_rate_min
                && above_own
            {
                out.push(Anomaly {
                    heuristic: "request_rate",
                    observed: n,
                    baseline: Some(median),
                    threshold: t.max(self.config.request_rate_min as f64),
                    actor: Some(actor),
                    detail: format!("requests in {window} s"),
                    confidence: 0.6,
                });
                continue; // an outlier does not enter the baseline
            }
            self.rates.push(n as f64);
        }
        // Windows without traffic are skipped rather than replayed one by one.
        self.window_start = Some(now_s - (now_s - start) % window);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(ip: &str, user: &str, path: &str, status: u16, bytes: u64) -> String {
        format!("{ip} - {user} [20/Nov/2026:10:00:00 +0100] \"GET {path} HTTP/1.1\" {status} {bytes} \"-\" \"Mozilla/5.0\"")
    }

    /// An hour of ordinary traffic: 30 clients, a few requests each per minute, small pages.
    fn ordinary(w: &mut AccessLogWatch, out: &mut Vec<Anomaly>, minutes: i64) {
        for m in 0..minutes {
            for c in 0..30 {
                for r in 0..(3 + (c + m) % 5) {
                    let t = m * 60 + c;
                    w.line(line(&format!("10.0.0.{c}"), "-", &format!("/products/{r}?ref=home"), 200, 4000 + (r as u64 * 700)).as_bytes(), t, out);
                }
            }
        }
    }

    #[test]
    fn ordinary_traffic_is_quiet() {
        let mut w = AccessLogWatch::new(AnomalyConfig::default());
        let mut out = Vec::new();
        ordinary(&mut w, &mut out, 60);
        w.line(line("10.0.0.1", "-", "/reports/export?week=12", 200, 900).as_bytes(), 3601, &mut out);
        assert_eq!(out, vec![], "small export responses and usual rates stay quiet");
    }

    #[test]
    fn a_large_response_from_an_export_endpoint_is_reported_without_its_query() {
        let mut w = AccessLogWatch::new(AnomalyConfig::default());
        let mut out = Vec::new();
        ordinary(&mut w, &mut out, 20);
        w.line(line("10.0.0.9", "mdupont", "/admin/customers/export.csv?email=ann@example.fr", 200, 48_000_000).as_bytes(), 1300, &mut out);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!((out[0].heuristic, out[0].actor.as_deref()), ("download_volume", Some("mdupont")));
        assert_eq!(out[0].detail, "export endpoint /admin/customers/export.csv");
    }

    #[test]
    fn a_response_far_larger_than_usual_is_reported() {
        let mut w = AccessLogWatch::new(AnomalyConfig::default());
        let mut out = Vec::new();
        ordinary(&mut w, &mut out, 20);
        w.line(line("10.0.0.7", "-", "/api/v2/customers?page_size=1000000", 200, 250_000_000).as_bytes(), 1300, &mut out);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!((out[0].heuristic, out[0].detail.as_str()), ("download_volume", "response size on /api/v2/customers"));
        assert!(out[0].baseline.is_some_and(|b| b < 10_000.0));
    }

    #[test]
    fn a_steady_busy_integration_is_learned_and_then_quiet() {
        let mut w = AccessLogWatch::new(AnomalyConfig::default());
        let mut out = Vec::new();
        ordinary(&mut w, &mut out, 20);
        // From minute 20 on, a partner's API client makes 600 requests every minute.
        for m in 20..60 {
            for i in 0..600 {
                w.line(line("198.51.100.7", "partner-sync", &format!("/api/orders/{i}"), 200, 900).as_bytes(), m * 60 + i / 20, &mut out);
            }
            for c in 0..30 {
                w.line(line(&format!("10.0.0.{c}"), "-", "/products/1", 200, 4000).as_bytes(), m * 60 + 40 + c, &mut out);
            }
        }
        w.tick(3600, &mut out);
        let reported: Vec<i64> = out.iter().filter(|a| a.heuristic == "request_rate").map(|a| a.observed as i64).collect();
        assert!(!reported.is_empty() && reported.len() <= 10, "reported while unknown, then learned: {reported:?}");
        // And a jump far above its own usual rate is still caught.
        for i in 0..6000 {
            w.line(line("198.51.100.7", "partner-sync", &format!("/api/customers/{i}"), 200, 900).as_bytes(), 3600 + i / 200, &mut out);
        }
        w.tick(3700, &mut out);
        assert!(out.iter().any(|a| a.heuristic == "request_rate" && a.observed >= 6000), "{out:?}");
    }

    #[test]
    fn a_client_scraping_far_faster_than_others_is_a_rate_anomaly() {
        let mut w = AccessLogWatch::new(AnomalyConfig::default());
        let mut out = Vec::new();
        ordinary(&mut w, &mut out, 20);
        for i in 0..2000 {
            w.line(line("203.0.113.50", "-", &format!("/api/customers/{i}"), 200, 1200).as_bytes(), 1200 + i / 40, &mut out);
        }
        w.tick(1300, &mut out);
        let rate: Vec<_> = out.iter().filter(|a| a.heuristic == "request_rate").collect();
        assert_eq!(rate.len(), 1, "{out:?}");
        assert_eq!(rate[0].actor.as_deref(), Some("203.0.113.50"));
        assert!(rate[0].observed >= 1000);
    }
}
