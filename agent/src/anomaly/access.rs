//! Web access logs (common and combined formats): downloads, and scrapes far above usual rates.
//!
//! Three signs of a bulk export through a web application:
//! - a successful response from an export/download endpoint (`export_paths`) of at least
//!   `export_bytes_min`: `download_volume` with detail `export endpoint`;
//! - any successful response far larger than the responses this log usually serves (a
//!   [`Baseline`] of response sizes) and at least `download_bytes_min`: `download_volume`;
//! - a user (or, when the log has none, a client address) making far more requests in one
//!   window of event time than clients of this log usually do (a baseline of per-client
//!   request counts per window) and at least `request_rate_min`: `request_rate`. Once a client
//!   has `actor_warmup` windows of its own, it must also be far above *its own* usual rate: a
//!   steady integration is learned within a few windows, while a client that suddenly jumps is
//!   still caught. `known_actors` never fire.
//!
//! A scrape is an event: the client's requests to one endpoint template
//! ([`super::endpoint`]) until `event_gap_s` without one. Its pages (distinct page parameters
//! or ids), bytes and event-time span are counted from its first request, so the first window
//! that fires already says how much was taken; each later window that fires, and the event's
//! end when it grew since, report the figures so far. Records = pages × records per page (the
//! page-size parameter, one for an item endpoint, or a page's bytes over an item's bytes).
//! Endpoints are reported as templates, never with their query string.

use super::baseline::Baseline;
use super::clock::Windows;
use super::endpoint;
use super::signal::{Anomaly, ExportEvent, Origin, SizeMethod};
use crate::config::AnomalyConfig;
use regex::bytes::Regex;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::LazyLock;

static LINE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"(?-u)^(\S+) \S+ (\S+) \[[^\]]*\] "(\S+) (\S+)[^"]*" (\d{3}) (\d+|-)"#).expect("static regex"));

/// True for a line of the common or combined log format.
pub fn is_access_line(line: &[u8]) -> bool {
    LINE.is_match(line)
}

/// Clients whose own rate history is kept; beyond this, new clients are judged against the
/// pooled baseline only (memory stays bounded under address scans).
const MAX_OWN_BASELINES: usize = 10_000;
/// Clients counted per window at most.
const MAX_ACTORS_PER_WINDOW: usize = 100_000;
/// Endpoints counted per client and window at most.
const MAX_ENDPOINTS_PER_ACTOR: usize = 32;
/// Scrape sessions followed at once at most.
const MAX_SESSIONS: usize = 20_000;
/// Distinct pages remembered over all sessions at most (beyond, counts are lower bounds).
const PAGES_BUDGET: usize = 2_000_000;
/// Item endpoints whose response sizes are remembered at most.
const MAX_ITEM_TEMPLATES: usize = 1_000;

/// Endpoint counts kept per window at most (over all clients).
const MAX_ENDPOINTS_PER_WINDOW: usize = 200_000;

/// One client's requests in one window.
#[derive(Debug, Default)]
struct ActorCounts {
    requests: u64,
    endpoints: HashMap<String, u64>,
}

/// The requests of one window, per client.
#[derive(Debug, Default)]
struct WindowCounts {
    actors: HashMap<String, ActorCounts>,
    /// Endpoint counts kept, over all clients (bounded).
    endpoints: usize,
}

/// A client's requests to one endpoint template: a potential scrape.
#[derive(Debug)]
struct Session {
    method: String,
    pages: HashSet<u64>,
    requests: u64,
    bytes: u64,
    start_ms: i64,
    end_ms: i64,
    per_page: Option<u64>,
    /// Reported (fired) at least once; and the figures then.
    fired: bool,
    reported: (u64, u64),
}

/// Watches one access log.
pub struct AccessLogWatch {
    config: AnomalyConfig,
    known: Vec<glob::Pattern>,
    sizes: Baseline,
    rates: Baseline,
    windows: Windows<WindowCounts>,
    closed: Vec<(i64, WindowCounts)>,
    /// Each client's own request counts per window (bounded number of clients).
    own: HashMap<String, Baseline>,
    sessions: HashMap<(String, String), Session>,
    pages_kept: usize,
    /// Recent response sizes of item endpoints (`/api/customers/{id}`), by template.
    item_bytes: HashMap<String, Baseline>,
    now_ms: i64,
}

impl AccessLogWatch {
    /// A watch with these thresholds.
    pub fn new(config: AnomalyConfig) -> Self {
        AccessLogWatch {
            known: config.known_actors.iter().filter_map(|a| glob::Pattern::new(a).ok()).collect(),
            sizes: Baseline::new(config.history.max(100) * 5, config.warmup),
            rates: Baseline::new(config.history * 5, config.warmup),
            windows: Windows::new(config.window_s, config.reorder_tolerance_s),
            config,
            closed: Vec::new(),
            own: HashMap::new(),
            sessions: HashMap::new(),
            pages_kept: 0,
            item_bytes: HashMap::new(),
            now_ms: i64::MIN,
        }
    }

    fn is_known(&self, actor: &str) -> bool {
        self.known.iter().any(|p| p.matches(actor))
    }

    /// Looks at one line (event time `t_ms`, the line's own `origin`).
    pub fn line(&mut self, line: &[u8], t_ms: i64, origin: Origin, out: &mut Vec<Anomaly>) {
        self.now_ms = self.now_ms.max(t_ms);
        let Some(c) = LINE.captures(line) else {
            self.windows.advance(t_ms, &mut self.closed);
            self.close_windows(out);
            return;
        };
        let text = |i: usize| String::from_utf8_lossy(&c[i]).into_owned();
        let (client, user, method, target, status) = (text(1), text(2), text(3), text(4), text(5));
        let bytes: u64 = std::str::from_utf8(&c[6]).ok().and_then(|s| s.parse().ok()).unwrap_or(0);
        let actor = if user != "-" { user } else { client };
        let template: String = endpoint::template(&target).chars().take(200).collect();
        let window = self.windows.at(t_ms, &mut self.closed);
        if window.actors.len() < MAX_ACTORS_PER_WINDOW || window.actors.contains_key(&actor) {
            let counts = window.actors.entry(actor.clone()).or_default();
            counts.requests += 1;
            if counts.endpoints.contains_key(&template) {
                *counts.endpoints.entry(template.clone()).or_default() += 1;
            } else if counts.endpoints.len() < MAX_ENDPOINTS_PER_ACTOR && window.endpoints < MAX_ENDPOINTS_PER_WINDOW {
                counts.endpoints.insert(template.clone(), 1);
                window.endpoints += 1;
            }
        }
        if status.starts_with('2') {
            self.follow(&actor, &method, &target, &template, bytes, t_ms);
        }
        self.close_windows(out);
        if !status.starts_with('2') {
            return;
        }
        let lower = template.to_ascii_lowercase();
        let cfg = &self.config;
        let verdict = self.sizes.threshold(cfg.sensitivity);
        self.sizes.push(bytes as f64);
        let download = |detail: String, baseline: Option<f64>, threshold: f64, confidence: f32| {
            let mut event = ExportEvent::new("download", t_ms);
            event.endpoint = Some(template.clone());
            event.statement = Some(method.clone());
            event.bytes = Some(bytes);
            event.pages = Some(1);
            Anomaly::new("download_volume", bytes, baseline, threshold, Some(actor.clone()), detail, confidence).with_event(event).at(origin)
        };
        if bytes >= cfg.export_bytes_min && cfg.export_paths.iter().any(|p| lower.contains(&p.to_ascii_lowercase())) {
            out.push(download(format!("export endpoint {template}: {method}, {bytes} bytes"), verdict.map(|(m, _)| m), cfg.export_bytes_min as f64, 0.75));
            return;
        }
        if let Some((median, t)) = verdict
            && bytes as f64 > t
            && bytes >= cfg.download_bytes_min
        {
            out.push(download(format!("response size on {template}: {method}, {bytes} bytes"), Some(median), t.max(cfg.download_bytes_min as f64), 0.65));
        }
    }

    /// Adds a successful request to its client's session on its endpoint.
    fn follow(&mut self, actor: &str, method: &str, target: &str, template: &str, bytes: u64, t_ms: i64) {
        if endpoint::is_item(template) && (self.item_bytes.len() < MAX_ITEM_TEMPLATES || self.item_bytes.contains_key(template)) {
            self.item_bytes.entry(template.to_string()).or_insert_with(|| Baseline::new(101, 1)).push(bytes as f64);
        }
        if self.is_known(actor) {
            return;
        }
        let key = (actor.to_string(), template.to_string());
        if !self.sessions.contains_key(&key) {
            if self.sessions.len() >= MAX_SESSIONS {
                return;
            }
            let session = Session {
                method: method.to_string(),
                pages: HashSet::new(),
                requests: 0,
                bytes: 0,
                start_ms: t_ms,
                end_ms: t_ms,
                per_page: None,
                fired: false,
                reported: (0, 0),
            };
            self.sessions.insert(key.clone(), session);
        }
        let Some(s) = self.sessions.get_mut(&key) else { return };
        s.requests += 1;
        s.bytes += bytes;
        s.start_ms = s.start_ms.min(t_ms);
        s.end_ms = s.end_ms.max(t_ms);
        if let Some(n) = endpoint::per_page(target) {
            s.per_page = Some(n);
        }
        if let Some(page) = endpoint::page_of(target)
            && self.pages_kept < PAGES_BUDGET
        {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            page.hash(&mut h);
            if s.pages.insert(h.finish()) {
                self.pages_kept += 1;
            }
        }
    }

    /// The event of a session so far.
    fn event(&self, template: &str, s: &Session) -> ExportEvent {
        let mut e = ExportEvent::new("scrape", s.start_ms);
        e.end_ms = s.end_ms;
        e.endpoint = Some(template.to_string());
        e.statement = Some(s.method.clone());
        e.bytes = Some(s.bytes);
        let pages = s.pages.len() as u64;
        e.pages = Some(pages);
        let per_page = s.per_page.or_else(|| endpoint::is_item(template).then_some(1)).or_else(|| {
            // A page's bytes over a record's (the same endpoint's item responses).
            let mut item = self.item_bytes.get(&format!("{template}/{{id}}"))?.clone();
            let (median, _) = item.threshold(1.0)?;
            (median >= 1.0 && s.requests > 0).then(|| ((s.bytes as f64 / s.requests as f64) / median).round().max(1.0) as u64)
        });
        if let Some(n) = per_page
            && pages > 0
        {
            e.size(pages.saturating_mul(n), SizeMethod::PagesTimesRecordsPerPage);
        }
        e
    }

    /// Evaluates the windows that closed, then ends the sessions that went quiet.
    fn close_windows(&mut self, out: &mut Vec<Anomaly>) {
        if self.closed.is_empty() {
            return;
        }
        let width_s = self.windows.width_ms() / 1000;
        for (start, counts) in std::mem::take(&mut self.closed) {
            let verdict = self.rates.threshold(self.config.sensitivity);
            let mut counts: Vec<(String, ActorCounts)> = counts.actors.into_iter().collect();
            counts.sort_by(|a, b| a.0.cmp(&b.0));
            for (actor, c) in counts {
                if self.is_known(&actor) {
                    continue; // declared integrations neither fire nor shape the usual rate
                }
                let n = c.requests;
                if self.own.len() < MAX_OWN_BASELINES && !self.own.contains_key(&actor) {
                    self.own.insert(actor.clone(), Baseline::new(50, self.config.actor_warmup));
                }
                // Above its own usual rate too, once the client has a history (None: no history yet).
                let own = self.own.get_mut(&actor).map(|b| {
                    let verdict = b.threshold(self.config.sensitivity);
                    b.push(n as f64);
                    verdict
                });
                let above_own = !matches!(own, Some(Some((_, t))) if n as f64 <= t);
                let Some((median, t)) = verdict.filter(|&(_, t)| n as f64 > t && n >= self.config.request_rate_min && above_own) else {
                    self.rates.push(n as f64);
                    continue;
                };
                // The endpoint it hit most in the window is the event.
                let Some((template, _)) = c.endpoints.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))) else { continue };
                let key = (actor.clone(), template.clone());
                let event = match self.sessions.get(&key) {
                    Some(s) => self.event(template, s),
                    None => {
                        let mut e = ExportEvent::new("scrape", start);
                        e.endpoint = Some(template.clone());
                        e
                    }
                };
                if let Some(s) = self.sessions.get_mut(&key) {
                    s.fired = true;
                    s.reported = (s.pages.len() as u64, s.bytes);
                }
                let detail = format!(
                    "{} {template}: {n} requests in {width_s} s (usually {median:.0}); {} pages, {} bytes so far",
                    event.statement.as_deref().unwrap_or("requests to"),
                    event.pages.unwrap_or(0),
                    event.bytes.unwrap_or(0)
                );
                let threshold = t.max(self.config.request_rate_min as f64);
                out.push(
                    Anomaly::new("request_rate", n, Some(median), threshold, Some(actor), detail, 0.6)
                        .with_event(event)
                        .at(Origin::Window { start_s: start.div_euclid(1000) }),
                );
                // An outlier does not enter the pooled baseline.
            }
        }
        let gap = (self.config.event_gap_s * 1000) as i64;
        let now = self.now_ms;
        self.end_sessions(|s| s.end_ms + gap < now, out);
    }

    /// Ends the sessions `done` says are over: a session that fired and grew since it was last
    /// reported reports its final figures.
    fn end_sessions(&mut self, done: impl Fn(&Session) -> bool, out: &mut Vec<Anomaly>) {
        let mut ended: Vec<(String, String)> = self.sessions.iter().filter(|(_, s)| done(s)).map(|(k, _)| k.clone()).collect();
        ended.sort();
        for key in ended {
            let Some(s) = self.sessions.remove(&key) else { continue };
            self.pages_kept = self.pages_kept.saturating_sub(s.pages.len());
            if !s.fired || s.reported == (s.pages.len() as u64, s.bytes) {
                continue;
            }
            let (actor, template) = key;
            let event = self.event(&template, &s);
            let detail = format!(
                "{} {template}: {} requests from start to end; {} pages, {} bytes",
                s.method,
                s.requests,
                event.pages.unwrap_or(0),
                event.bytes.unwrap_or(0)
            );
            let a = Anomaly::new("request_rate", s.requests, None, self.config.request_rate_min as f64, Some(actor), detail, 0.6);
            out.push(a.with_event(event).at(Origin::EventEnd { start_ms: s.start_ms }));
        }
    }

    /// Moves the clock to `t_ms`, closing the windows and sessions it is past.
    pub fn advance(&mut self, t_ms: i64, out: &mut Vec<Anomaly>) {
        self.now_ms = self.now_ms.max(t_ms);
        self.windows.advance(t_ms, &mut self.closed);
        self.close_windows(out);
    }

    /// Closes every window and ends every session (end of a scan, a quiet live log).
    pub fn flush(&mut self, out: &mut Vec<Anomaly>) {
        self.windows.flush(&mut self.closed);
        self.close_windows(out);
        self.end_sessions(|_| true, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(ip: &str, user: &str, path: &str, status: u16, bytes: u64) -> String {
        format!("{ip} - {user} [20/Nov/2026:10:00:00 +0100] \"GET {path} HTTP/1.1\" {status} {bytes} \"-\" \"Mozilla/5.0\"")
    }

    fn feed(w: &mut AccessLogWatch, out: &mut Vec<Anomaly>, l: &str, t_s: i64) {
        w.line(l.as_bytes(), t_s * 1000, Origin::Line { number: 1, offset: t_s as u64 }, out);
    }

    /// Ordinary traffic: 30 clients, a few requests each per minute, small pages.
    fn ordinary(w: &mut AccessLogWatch, out: &mut Vec<Anomaly>, from_minute: i64, minutes: i64) {
        for m in from_minute..from_minute + minutes {
            for c in 0..30 {
                for r in 0..(3 + (c + m) % 5) {
                    feed(w, out, &line(&format!("10.0.0.{c}"), "-", &format!("/products/{r}?ref=home"), 200, 4000 + (r as u64 * 700)), m * 60 + c);
                }
            }
        }
    }

    #[test]
    fn ordinary_traffic_is_quiet() {
        let mut w = AccessLogWatch::new(AnomalyConfig::default());
        let mut out = Vec::new();
        ordinary(&mut w, &mut out, 0, 60);
        feed(&mut w, &mut out, &line("10.0.0.1", "-", "/reports/export?week=12", 200, 900), 3601);
        w.flush(&mut out);
        assert_eq!(out, vec![], "small export responses and usual rates stay quiet");
    }

    #[test]
    fn a_large_response_from_an_export_endpoint_is_reported_without_its_query() {
        let mut w = AccessLogWatch::new(AnomalyConfig::default());
        let mut out = Vec::new();
        ordinary(&mut w, &mut out, 0, 20);
        feed(&mut w, &mut out, &line("10.0.0.9", "mdupont", "/admin/customers/export.csv?email=ann@example.fr", 200, 48_000_000), 1300);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!((out[0].heuristic, out[0].actor.as_deref()), ("download_volume", Some("mdupont")));
        assert_eq!(out[0].detail, "export endpoint /admin/customers/export.csv: GET, 48000000 bytes");
        let e = out[0].event.as_ref().unwrap();
        assert_eq!((e.bytes, e.start_ms, e.statement.as_deref()), (Some(48_000_000), 1_300_000, Some("GET")));
        assert_eq!(e.signature(out[0].actor.as_deref()), "download|endpoint=/admin/customers/export.csv|actor=mdupont");
    }

    #[test]
    fn a_response_far_larger_than_usual_is_reported() {
        let mut w = AccessLogWatch::new(AnomalyConfig::default());
        let mut out = Vec::new();
        ordinary(&mut w, &mut out, 0, 20);
        feed(&mut w, &mut out, &line("10.0.0.7", "-", "/api/v2/customers?page_size=1000000", 200, 250_000_000), 1300);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!((out[0].heuristic, out[0].event.as_ref().unwrap().endpoint.as_deref()), ("download_volume", Some("/api/v2/customers")));
        assert!(out[0].baseline.is_some_and(|b| b < 10_000.0));
    }

    #[test]
    fn a_steady_integration_is_learned_within_a_few_windows_and_a_jump_is_still_caught() {
        let mut w = AccessLogWatch::new(AnomalyConfig::default());
        let mut out = Vec::new();
        ordinary(&mut w, &mut out, 0, 20);
        // From minute 20 on, an ERP syncs at a constant 350 requests a minute.
        for m in 20..60 {
            for i in 0..350 {
                feed(&mut w, &mut out, &line("198.51.100.7", "erp-sync", &format!("/api/orders/{}", m * 350 + i), 200, 900), m * 60 + i / 6);
            }
            ordinary(&mut w, &mut out, m, 1);
        }
        w.advance(3700 * 1000, &mut out);
        let fired: Vec<_> = out.iter().filter(|a| a.heuristic == "request_rate" && matches!(a.origin, Origin::Window { .. })).collect();
        assert!(!fired.is_empty() && fired.len() <= 3, "reported while unknown, then learned: {fired:?}");
        assert!(out.iter().all(|a| a.event.as_ref().unwrap().signature(a.actor.as_deref()) == "scrape|endpoint=/api/orders/{id}|actor=erp-sync"));
        // A jump far above its own usual rate is still caught.
        for i in 0..6000 {
            feed(&mut w, &mut out, &line("198.51.100.7", "erp-sync", &format!("/api/customers/{i}"), 200, 900), 3700 + i / 200);
        }
        w.advance(3800 * 1000, &mut out);
        assert!(out.iter().any(|a| a.heuristic == "request_rate" && a.observed >= 2000 && a.detail.contains("/api/customers/{id}")), "{out:?}");
    }

    #[test]
    fn known_actors_never_fire() {
        let config = AnomalyConfig { known_actors: vec!["erp-*".into()], ..AnomalyConfig::default() };
        let mut w = AccessLogWatch::new(config);
        let mut out = Vec::new();
        ordinary(&mut w, &mut out, 0, 20);
        for i in 0..3000 {
            feed(&mut w, &mut out, &line("198.51.100.7", "erp-sync", &format!("/api/orders/{i}"), 200, 900), 1200 + i / 50);
        }
        w.flush(&mut out);
        assert_eq!(out, vec![]);
    }

    #[test]
    fn a_scrape_is_one_event_sized_by_pages_times_the_page_size_from_its_first_request() {
        let mut w = AccessLogWatch::new(AnomalyConfig::default());
        let mut out = Vec::new();
        ordinary(&mut w, &mut out, 0, 20);
        // 600 pages of 100 customers, 400 a minute, in a minute and a half.
        ordinary(&mut w, &mut out, 20, 1);
        for p in 0..600 {
            if p == 400 {
                ordinary(&mut w, &mut out, 21, 1);
            }
            feed(&mut w, &mut out, &line("203.0.113.9", "-", &format!("/api/customers?page={p}&per_page=100"), 200, 61_000), 1200 + p * 60 / 400);
        }
        w.flush(&mut out);
        let scrape: Vec<_> = out.iter().filter(|a| a.heuristic == "request_rate").collect();
        assert!(!scrape.is_empty(), "{out:?}");
        let sig = |a: &Anomaly| a.event.as_ref().unwrap().signature(a.actor.as_deref());
        assert!(scrape.iter().all(|a| sig(a) == "scrape|endpoint=/api/customers|actor=203.0.113.9"), "one event");
        let last = scrape.last().unwrap().event.as_ref().unwrap();
        assert_eq!((last.pages, last.bytes), (Some(600), Some(600 * 61_000)));
        assert_eq!(last.records, Some((60_000, SizeMethod::PagesTimesRecordsPerPage)));
        assert_eq!(last.start_ms, 1_200_000, "from its first request, before any window fired");
        let first = scrape[0].event.as_ref().unwrap();
        assert!(first.pages.unwrap() >= 400 && first.start_ms == 1_200_000, "{first:?}");
    }

    #[test]
    fn without_a_page_size_records_per_page_come_from_response_sizes() {
        let mut w = AccessLogWatch::new(AnomalyConfig::default());
        let mut out = Vec::new();
        ordinary(&mut w, &mut out, 0, 20);
        for i in 0..20 {
            feed(&mut w, &mut out, &line("10.0.0.3", "-", &format!("/api/customers/{i}"), 200, 1_000), 1200 + i);
        }
        for p in 0..400 {
            feed(&mut w, &mut out, &line("203.0.113.9", "-", &format!("/api/customers?offset={}", p * 25), 200, 25_000), 1260 + p / 10);
        }
        w.flush(&mut out);
        let last = out.iter().rfind(|a| a.heuristic == "request_rate").unwrap_or_else(|| panic!("{out:?}"));
        assert_eq!(last.event.as_ref().unwrap().records, Some((400 * 25, SizeMethod::PagesTimesRecordsPerPage)));
    }
}
