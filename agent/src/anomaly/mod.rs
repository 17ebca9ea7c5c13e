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
//! Every anomaly of an export carries its event ([`signal::ExportEvent`]): what was taken
//! (statement, table, endpoint), where to, by whom, between which event times, and how many
//! records (with the method of the estimate). Windows and events run on the lines' own time
//! ([`event_time`], [`clock`]), so a log scanned after the fact (`custos-agent scan --detect`)
//! gives the anomalies its live tailing gave.
//!
//! "Usual" is a [`Baseline`]: the median and median absolute deviation of recent observations
//! (robust: one earlier spike does not raise the bar for the next), with a warm-up during which
//! relative heuristics stay silent. `sensitivity` is the number of (scaled) MADs above the
//! median that counts as far. Every heuristic also has an absolute floor, so a quiet baseline
//! does not turn ordinary noise into alerts.
//!
//! Log sources opt in per `[[log]]` with `detect = ["postgres", "mysql", "access_log",
//! "finding_rate", "egress"]` (`egress` is not an anomaly: it attaches the destination of
//! outbound requests to their findings, see [`crate::egress`]) ([`recognise`] guesses them for `scan --detect auto`); thresholds live in
//! the `[anomaly]` section.

pub mod access;
pub mod baseline;
pub mod clock;
pub mod database;
pub mod endpoint;
pub mod event_time;
pub mod files;
pub mod rate;
pub mod recognise;
pub mod signal;
pub mod sizes;
pub mod statement;

pub use crate::config::{AnomalyConfig, LogDetect};
pub use baseline::Baseline;
pub use signal::Anomaly;
pub use sizes::SizeHints;

use signal::Origin;
use std::path::{Path, PathBuf};

/// The anomaly watch of one log file: its event clock and the heuristics its source asked for.
///
/// Live tailing (`run`) and forensic scans (`scan --detect`) feed it the same lines and get the
/// same anomalies: every window and event is timed by the lines ([`clock`]); a scan flushes at
/// the end of the file, a live watch when the log has been quiet for a window and the reorder
/// tolerance (or, for a log whose lines carry no time, as the reading goes).
pub struct LogWatch {
    clock: clock::LineClock,
    database: Option<database::DbLogWatch>,
    access: Option<access::AccessLogWatch>,
    rate: Option<rate::FindingRate>,
    /// The log's lines are outbound requests (`egress`): see [`crate::egress`].
    egress: bool,
    last_read_ms: Option<i64>,
    idle_ms: i64,
    flushed: bool,
}

impl LogWatch {
    /// A watch of the log at `path` running the heuristics named in `detect`, sizing exports
    /// with what scans know (`sizes`).
    pub fn new(path: &Path, detect: &[LogDetect], config: &AnomalyConfig, sizes: &SizeHints) -> LogWatch {
        let database =
            (detect.contains(&LogDetect::Postgres) || detect.contains(&LogDetect::Mysql)).then(|| database::DbLogWatch::new(config.clone(), sizes.clone()));
        let access = detect.contains(&LogDetect::AccessLog).then(|| access::AccessLogWatch::new(config.clone()));
        let rate = detect.contains(&LogDetect::FindingRate).then(|| rate::FindingRate::new(path.display().to_string(), config.clone()));
        let idle_ms = ((config.window_s + config.reorder_tolerance_s) * 1000) as i64;
        let egress = detect.contains(&LogDetect::Egress);
        LogWatch { clock: clock::LineClock::default(), database, access, rate, egress, last_read_ms: None, idle_ms, flushed: true }
    }

    /// Whether the log's lines are outbound requests whose findings carry their destination.
    pub fn egress(&self) -> bool {
        self.egress
    }

    /// Looks at one line (1-based `number`, at byte `offset`) read at `read_ms`, on which
    /// `findings` personal-data findings were made.
    pub fn line(&mut self, bytes: &[u8], number: u64, offset: u64, findings: usize, read_ms: i64, out: &mut Vec<Anomaly>) {
        let t = self.clock.time(bytes, read_ms);
        let origin = Origin::Line { number, offset };
        self.last_read_ms = Some(read_ms);
        self.flushed = false;
        if let Some(d) = &mut self.database {
            d.line(bytes, t, origin, out);
        }
        if let Some(a) = &mut self.access {
            a.line(bytes, t, origin, out);
        }
        if let Some(r) = &mut self.rate {
            r.record(findings as u64, t, out);
        }
    }

    /// Live tailing, at `read_ms`: a log whose lines carry no time is timed by the reading; a
    /// log quiet for a window and the reorder tolerance is flushed.
    pub fn tick(&mut self, read_ms: i64, out: &mut Vec<Anomaly>) {
        if !self.clock.stamped() {
            if let Some(d) = &mut self.database {
                d.advance(read_ms, out);
            }
            if let Some(a) = &mut self.access {
                a.advance(read_ms, out);
            }
            if let Some(r) = &mut self.rate {
                r.advance(read_ms, out);
            }
        } else if !self.flushed && self.last_read_ms.is_some_and(|last| read_ms - last >= self.idle_ms) {
            self.flush(out);
        }
    }

    /// Reports everything still open: the end of a scanned file, a quiet live log.
    pub fn flush(&mut self, out: &mut Vec<Anomaly>) {
        if let Some(d) = &mut self.database {
            d.flush(out);
        }
        if let Some(a) = &mut self.access {
            a.flush(out);
        }
        if let Some(r) = &mut self.rate {
            r.flush(out);
        }
        self.flushed = true;
    }
}

/// An anomaly seen in a log file.
#[derive(Debug, Clone)]
pub struct LogAnomaly {
    /// The log file.
    pub path: PathBuf,
    /// Its identity (see [`crate::tail`]), when known.
    pub identity: String,
    /// What.
    pub anomaly: Anomaly,
}

/// The anomaly watches of all `[[log]]` sources that asked for some (`detect = [...]`).
pub struct LogWatches {
    config: AnomalyConfig,
    sizes: SizeHints,
    sources: Vec<(Vec<glob::Pattern>, Vec<LogDetect>)>,
    files: std::collections::HashMap<PathBuf, Option<(LogWatch, String)>>,
    scratch: Vec<Anomaly>,
}

impl LogWatches {
    /// Watches for the sources of the config.
    pub fn new(sources: &[crate::config::LogSource], config: &AnomalyConfig) -> LogWatches {
        let sources = sources
            .iter()
            .filter(|s| !s.detect.is_empty())
            .map(|s| (s.paths.iter().filter_map(|p| glob::Pattern::new(p).ok()).collect(), s.detect.clone()))
            .collect();
        LogWatches { config: config.clone(), sizes: SizeHints::default(), sources, files: Default::default(), scratch: Vec::new() }
    }

    /// Sizes exports with what this agent's scans learn (shared with the scan thread).
    pub fn share_sizes(&mut self, sizes: SizeHints) {
        self.sizes = sizes;
    }

    /// True when no source asked for anything (then nothing needs to be called).
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// Looks at one line of `path` (file `identity`) read at `read_ms`; `findings`
    /// personal-data findings were made on it.
    #[allow(clippy::too_many_arguments)]
    pub fn line(&mut self, path: &Path, identity: &str, line: u64, offset: u64, bytes: &[u8], findings: usize, read_ms: i64, out: &mut Vec<LogAnomaly>) {
        if !self.files.contains_key(path) {
            let detect = self.sources.iter().find(|(globs, _)| globs.iter().any(|g| g.matches_path(path))).map(|(_, d)| d.clone());
            if self.files.len() > 10_000 {
                self.files.clear();
            }
            let watch = detect.map(|d| (LogWatch::new(path, &d, &self.config, &self.sizes), identity.to_string()));
            self.files.insert(path.to_path_buf(), watch);
        }
        let Some(Some((watch, id))) = self.files.get_mut(path) else { return };
        if id != identity {
            *id = identity.to_string();
        }
        watch.line(bytes, line, offset, findings, read_ms, &mut self.scratch);
        out.extend(self.scratch.drain(..).map(|anomaly| LogAnomaly { path: path.to_path_buf(), identity: identity.to_string(), anomaly }));
    }

    /// Whether the log at `path` (already seen by [`LogWatches::line`]) is an egress log.
    pub fn is_egress(&self, path: &Path) -> bool {
        matches!(self.files.get(path), Some(Some((watch, _))) if watch.egress())
    }

    /// Live tailing at `read_ms` (see [`LogWatch::tick`]).
    pub fn tick(&mut self, read_ms: i64, out: &mut Vec<LogAnomaly>) {
        for (path, w) in self.files.iter_mut() {
            if let Some((watch, identity)) = w {
                watch.tick(read_ms, &mut self.scratch);
                out.extend(self.scratch.drain(..).map(|anomaly| LogAnomaly { path: path.clone(), identity: identity.clone(), anomaly }));
            }
        }
    }

    /// Reports everything still open in every log (`run --once` at its end).
    pub fn flush(&mut self, out: &mut Vec<LogAnomaly>) {
        for (path, w) in self.files.iter_mut() {
            if let Some((watch, identity)) = w {
                watch.flush(&mut self.scratch);
                out.extend(self.scratch.drain(..).map(|anomaly| LogAnomaly { path: path.clone(), identity: identity.clone(), anomaly }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_lines_never_panic() {
        let all = [LogDetect::Postgres, LogDetect::Mysql, LogDetect::AccessLog, LogDetect::FindingRate, LogDetect::Egress];
        let mut w = LogWatch::new(Path::new("/var/log/x.log"), &all, &AnomalyConfig::default(), &SizeHints::default());
        let fragments: &[&[u8]] = &[
            b"COPY ",
            b"(",
            b")",
            b" TO ",
            b"'",
            b"\"",
            b"STDOUT",
            b"2026-11-20 10:00:01 UTC ",
            b"[902] ",
            b"user=",
            b"@",
            b"SELECT ",
            b" FROM ",
            b"count(*)",
            "\u{e9}t\u{e9}".as_bytes(),
            b"\xff\xfe",
            b"\x00",
            b"\t",
            b" (actual time=1..2 rows=",
            b"plan:",
            b"# Time: ",
            b"# User@Host: a[a] @ h",
            b"Rows_sent: 99",
            b"pg_dump",
            b"10.0.0.1 - - [20/Nov/2026:10:00:00 +0100] \"GET /a/1?page=2 HTTP/1.1\" 200 12",
            b"{\"time\":\"2026-11-20T10:00:00Z\"}",
            b"COPY 12",
            b" INTO OUTFILE ",
            b"SET timestamp=1795168801;",
            b"Nov 31 99:99:99 ",
            b"99999999999999999999",
        ];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut out = Vec::new();
        let mut offset = 0;
        for i in 0..20_000u64 {
            let mut line = Vec::new();
            for _ in 0..1 + next() % 12 {
                line.extend_from_slice(fragments[(next() % fragments.len() as u64) as usize]);
            }
            w.line(&line, i + 1, offset, (next() % 3) as usize, 1_795_168_801_000 + (next() % 100_000) as i64, &mut out);
            offset += line.len() as u64 + 1;
            if i % 1000 == 0 {
                w.tick(1_795_168_801_000 + i as i64 * 1000, &mut out);
            }
        }
        w.flush(&mut out);
        for a in &out {
            let _ = a.evidence();
        }
    }
}
