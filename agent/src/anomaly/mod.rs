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
pub mod signal;

pub use crate::config::{AnomalyConfig, LogDetect};
pub use baseline::Baseline;
pub use signal::Anomaly;

/// The anomaly watch of one log file: the heuristics its source asked for.
pub struct LogWatch {
    database: Option<database::DbLogWatch>,
    access: Option<access::AccessLogWatch>,
}

impl LogWatch {
    /// A watch running the heuristics named in `detect`.
    pub fn new(detect: &[LogDetect], config: &AnomalyConfig) -> LogWatch {
        let database =
            if detect.contains(&LogDetect::Postgres) || detect.contains(&LogDetect::Mysql) { Some(database::DbLogWatch::new(config.clone())) } else { None };
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
        LogWatches {
            config: config.clone(),
            sources,
            files: Default::default(),
            rate: rate::FindingRate::new(config.clone()),
            scratch: Vec::new(),
            rate_scratch: Vec::new(),
        }
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
