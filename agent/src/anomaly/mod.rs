//! Export anomalies: the signs of personal data leaving in bulk.
//!
//! Breaches often start as an export — an employee copying the customer base (Cdiscount 2021),
//! a dump left in a web root. Each heuristic here watches one kind of evidence and emits an
//! [`Anomaly`], which becomes a finding of kind `EXPORT_ANOMALY` whose detector is the
//! heuristic's name:
//!
//! | heuristic              | module       | watches                                                  |
//! |------------------------|--------------|----------------------------------------------------------|
//! | `db_export_statement`  | [`database`] | `COPY … TO`, `SELECT … INTO OUTFILE/DUMPFILE`             |
//! | `dump_command`         | [`database`] | `pg_dump` / `mysqldump` sessions                          |
//! | `bulk_read`            | [`database`] | statements returning far more rows than usual             |
//! | `download_volume`      | [`access`]   | export endpoints; responses far larger than usual         |
//! | `request_rate`         | [`access`]   | requests per user/client per window far above usual       |
//! | `personal_data_file`   | [`files`]    | new or grown files with many distinct personal values     |
//! | `finding_rate`         | [`rate`]     | personal-data findings per source per window              |
//!
//! "Usual" is a [`Baseline`]: the median and median absolute deviation of recent observations
//! (robust: one earlier spike does not raise the bar for the next), with a warm-up during which
//! relative heuristics stay silent. `sensitivity` is the number of (scaled) MADs above the
//! median that counts as far. Every heuristic also has an absolute floor, so a quiet baseline
//! does not turn ordinary noise into alerts.
//!
//! Log sources opt in per `[[log]]` with `detect = ["postgres", "mysql", "access_log",
//! "finding_rate"]`; thresholds live in the `[anomaly]` section.

pub mod access;
pub mod baseline;
pub mod database;
pub mod files;
pub mod rate;

pub use baseline::Baseline;

use serde::Deserialize;
use std::collections::BTreeMap;

/// Thresholds of the export-anomaly heuristics (`[anomaly]` in the agent config).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnomalyConfig {
    /// Length of a counting window (request rate, finding rate), seconds.
    pub window_s: u64,
    /// Observations a baseline needs before relative heuristics fire.
    pub warmup: usize,
    /// Observations a baseline remembers.
    pub history: usize,
    /// How many scaled MADs above the median count as "far above".
    pub sensitivity: f64,
    /// A read must return at least this many rows to be a bulk read.
    pub bulk_rows_min: u64,
    /// A read returning this many rows is a bulk read even without a baseline.
    pub bulk_rows_absolute: u64,
    /// A response must be at least this large (bytes) to be a download anomaly.
    pub download_bytes_min: u64,
    /// A 2xx response from an export endpoint at least this large is reported.
    pub export_bytes_min: u64,
    /// Path fragments of export/download endpoints (case-insensitive).
    pub export_paths: Vec<String>,
    /// An actor must make at least this many requests in a window to be a rate anomaly.
    pub request_rate_min: u64,
    /// A source must produce at least this many findings in a window to be a rate anomaly.
    pub finding_rate_min: u64,
    /// A new or grown file must hold at least this many distinct personal values (after
    /// the place's weight) to be reported.
    pub file_min_distinct: u64,
    /// Weight of places where exports hide (tmp, home, web roots, shares).
    pub exposed_place_weight: f64,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        AnomalyConfig {
            window_s: 60,
            warmup: 10,
            history: 200,
            sensitivity: 6.0,
            bulk_rows_min: 10_000,
            bulk_rows_absolute: 1_000_000,
            download_bytes_min: 5_000_000,
            export_bytes_min: 100_000,
            export_paths: ["/export", "/download", "/dump", "/backup", ".csv", ".xlsx", ".sql", ".ndjson"].map(String::from).to_vec(),
            request_rate_min: 300,
            finding_rate_min: 50,
            file_min_distinct: 1000,
            exposed_place_weight: 4.0,
        }
    }
}

impl AnomalyConfig {
    /// Checks ranges; returns the offending field and why.
    pub fn check(&self) -> Result<(), (&'static str, &'static str)> {
        if self.window_s == 0 {
            return Err(("anomaly.window_s", "must be at least 1"));
        }
        if self.history < 3 || self.warmup > self.history {
            return Err(("anomaly.history", "must be at least 3 and not below anomaly.warmup"));
        }
        if !(self.sensitivity.is_finite() && self.sensitivity > 0.0) {
            return Err(("anomaly.sensitivity", "must be a positive number"));
        }
        if !(self.exposed_place_weight.is_finite() && self.exposed_place_weight >= 1.0) {
            return Err(("anomaly.exposed_place_weight", "must be at least 1"));
        }
        Ok(())
    }
}

/// What a `[[log]]` source is watched for (`detect = [...]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogDetect {
    /// PostgreSQL server log: `COPY … TO`, pg_dump sessions, bulk reads (auto_explain rows).
    Postgres,
    /// MySQL/MariaDB general or slow log: `INTO OUTFILE`, mysqldump, `Rows_sent`.
    Mysql,
    /// Web access log (common/combined format): export endpoints, download size, request rate.
    AccessLog,
    /// Rate of personal-data findings in this log against its baseline.
    FindingRate,
}

/// One anomaly: what, who, how much, against what.
#[derive(Debug, Clone, PartialEq)]
pub struct Anomaly {
    /// Heuristic name (the finding's detector id).
    pub heuristic: &'static str,
    /// Observed figure (rows, bytes, requests, findings, distinct values; 1 for a statement).
    pub observed: u64,
    /// Baseline the figure was compared with, when there is one.
    pub baseline: Option<f64>,
    /// Threshold that was crossed.
    pub threshold: f64,
    /// User or client address, when the log says.
    pub actor: Option<String>,
    /// Statement kind, endpoint or place; never a value.
    pub detail: String,
    /// Confidence in [0, 1].
    pub confidence: f32,
}

impl Anomaly {
    /// The evidence map, with the keys of the finding evidence contract.
    pub fn evidence(&self) -> BTreeMap<String, String> {
        let mut e = BTreeMap::new();
        e.insert("anomaly".into(), self.heuristic.to_string());
        e.insert("observed".into(), self.observed.to_string());
        if let Some(b) = self.baseline {
            e.insert("baseline".into(), format!("{b:.1}"));
        }
        e.insert("threshold".into(), format!("{:.1}", self.threshold));
        if let Some(a) = &self.actor {
            e.insert("actor".into(), a.clone());
        }
        e.insert("detail".into(), self.detail.clone());
        e
    }
}

/// The anomaly watch of one log file: the heuristics its source asked for.
pub struct LogWatch {
    database: Option<database::DbLogWatch>,
    access: Option<access::AccessLogWatch>,
}

impl LogWatch {
    /// A watch running the heuristics named in `detect`.
    pub fn new(detect: &[LogDetect], config: &AnomalyConfig) -> LogWatch {
        let database = if detect.contains(&LogDetect::Postgres) || detect.contains(&LogDetect::Mysql) { Some(database::DbLogWatch::new(config.clone())) } else { None };
        let access = detect.contains(&LogDetect::AccessLog).then(|| access::AccessLogWatch::new(config.clone()));
        LogWatch { database, access }
    }

    /// Looks at one line read at `now_s` (Unix seconds).
    pub fn line(&mut self, line: &[u8], now_s: i64, out: &mut Vec<Anomaly>) {
        if let Some(d) = &mut self.database {
            d.line(line, now_s, out);
        }
        if let Some(a) = &mut self.access {
            a.line(line, now_s, out);
        }
    }

    /// Closes counting windows that ended before `now_s`.
    pub fn tick(&mut self, now_s: i64, out: &mut Vec<Anomaly>) {
        if let Some(a) = &mut self.access {
            a.tick(now_s, out);
        }
    }
}

/// An anomaly seen in a log file: the file, the line offset (for lines) and what.
#[derive(Debug, Clone)]
pub struct LogAnomaly {
    /// The log file.
    pub path: std::path::PathBuf,
    /// 1-based line number and byte offset of the line, when a line caused it.
    pub line: Option<(u64, u64)>,
    /// Unix seconds of the window that fired, for window heuristics.
    pub window: Option<i64>,
    /// What.
    pub anomaly: Anomaly,
}

/// The anomaly watches of all `[[log]]` sources that asked for some (`detect = [...]`).
pub struct LogWatches {
    config: AnomalyConfig,
    sources: Vec<(Vec<glob::Pattern>, Vec<LogDetect>)>,
    files: std::collections::HashMap<std::path::PathBuf, Option<(LogWatch, bool)>>,
    rate: rate::FindingRate,
    scratch: Vec<Anomaly>,
    rate_scratch: Vec<(String, Anomaly)>,
}

impl LogWatches {
    /// Watches for the sources of the config.
    pub fn new(sources: &[crate::config::LogSource], config: &AnomalyConfig) -> LogWatches {
        let sources = sources
            .iter()
            .filter(|s| !s.detect.is_empty())
            .map(|s| (s.paths.iter().filter_map(|p| glob::Pattern::new(p).ok()).collect(), s.detect.clone()))
            .collect();
        LogWatches { config: config.clone(), sources, files: Default::default(), rate: rate::FindingRate::new(config.clone()), scratch: Vec::new(), rate_scratch: Vec::new() }
    }

    /// True when no source asked for anything (then nothing needs to be called).
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// Looks at one line of `path` (`findings` personal-data findings were made on it).
    #[allow(clippy::too_many_arguments)]
    pub fn line(&mut self, path: &std::path::Path, line: u64, offset: u64, bytes: &[u8], findings: usize, now_s: i64, out: &mut Vec<LogAnomaly>) {
        if !self.files.contains_key(path) {
            let detect = self.sources.iter().find(|(globs, _)| globs.iter().any(|g| g.matches_path(path))).map(|(_, d)| d.clone());
            if self.files.len() > 10_000 {
                self.files.clear();
            }
            self.files.insert(path.to_path_buf(), detect.map(|d| (LogWatch::new(&d, &self.config), d.contains(&LogDetect::FindingRate))));
        }
        let Some(Some((watch, rate))) = self.files.get_mut(path) else { return };
        watch.line(bytes, now_s, &mut self.scratch);
        for a in self.scratch.drain(..) {
            out.push(LogAnomaly { path: path.to_path_buf(), line: Some((line, offset)), window: None, anomaly: a });
        }
        if *rate {
            self.rate.record(&path.to_string_lossy(), findings as u64, now_s, &mut self.rate_scratch);
            self.drain_rate(now_s, out);
        }
    }

    /// Closes windows that ended by `now_s`.
    pub fn tick(&mut self, now_s: i64, out: &mut Vec<LogAnomaly>) {
        for (path, w) in self.files.iter_mut() {
            if let Some((watch, _)) = w {
                watch.tick(now_s, &mut self.scratch);
                for a in self.scratch.drain(..) {
                    out.push(LogAnomaly { path: path.clone(), line: None, window: Some(now_s), anomaly: a });
                }
            }
        }
        self.rate.tick(now_s, &mut self.rate_scratch);
        self.drain_rate(now_s, out);
    }

    fn drain_rate(&mut self, now_s: i64, out: &mut Vec<LogAnomaly>) {
        for (source, a) in self.rate_scratch.drain(..) {
            out.push(LogAnomaly { path: source.into(), line: None, window: Some(now_s), anomaly: a });
        }
    }
}
