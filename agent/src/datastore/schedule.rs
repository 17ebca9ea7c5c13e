//! Scheduled data-store scans: the `[[scan]]` jobs of the agent config.
//!
//! ```toml
//! [[scan]]
//! location = "/srv/exports"             # a path, sqlite://PATH or postgres://…
//! interval_s = 3600
//! sample_rows = 1000
//! ```
//!
//! Each job runs at start and then every `interval_s`. Its findings go through the same spool
//! and transport as log findings (source kind `FILE` or `DATABASE_TABLE`). File scans are
//! incremental: a file whose size and modification time are those of the last scan is not read
//! again, and one whose content hash is unchanged is not reported again. The state lives in
//! `scan-state.json` next to the checkpoints and is saved only after the findings it covers
//! are in the spool, so a crash rescans rather than forgets.
//!
//! A file that is new or has changed also goes through the `personal_data_file` export
//! heuristic ([`crate::anomaly::files`]).

use super::{Location, classify_database, file_findings, files, mtime_s, table_findings};
use crate::anomaly;
use crate::config::AnomalyConfig;
pub use crate::config::ScanJob;
use crate::finding::FindingFactory;
use crate::metrics::Metrics;
use crate::mode::RunMode;
use crate::spool::Spool;
use custos_proto::v1 as pb;
use custos_rules::Engine;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// What the last scan saw of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileState {
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: u128,
    /// SHA-256 of the content, hex.
    pub hash: String,
}

/// Persisted state of file scans (`scan-state.json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ScanState {
    /// By path.
    pub files: BTreeMap<PathBuf, FileState>,
    /// Directories scanned at least once: the files found by a directory's first scan are its
    /// baseline, not new files (unless they sit in an exposed place).
    #[serde(default)]
    pub roots: std::collections::BTreeSet<PathBuf>,
}

impl ScanState {
    /// Loads the state; a missing file is an empty state.
    pub fn load(path: &Path) -> io::Result<ScanState> {
        match std::fs::read(path) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {e}; delete it to rescan everything", path.display()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(ScanState::default()),
            Err(e) => Err(e),
        }
    }

    /// Saves atomically (write, fsync, rename).
    pub fn save(&self, path: &Path) -> io::Result<()> {
        let tmp = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec(self).map_err(io::Error::other)?;
        {
            use std::io::Write;
            let mut f = crate::private::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)
    }
}

fn mtime_ns(meta: &std::fs::Metadata) -> u128 {
    meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos())
}

/// Runs the scan jobs when they are due.
pub struct Scheduler {
    jobs: Vec<(ScanJob, Location, Option<Instant>)>,
    state: ScanState,
    state_path: PathBuf,
    anomaly: AnomalyConfig,
    places: crate::place::Places,
    sizes: anomaly::sizes::SizeHints,
}

impl Scheduler {
    /// A scheduler for `jobs`, keeping its state at `state_path`.
    pub fn new(jobs: Vec<ScanJob>, state_path: PathBuf, anomaly: AnomalyConfig) -> io::Result<Scheduler> {
        let state = ScanState::load(&state_path)?;
        let jobs = jobs.into_iter().map(|j| {
            let l = Location::parse(&j.location);
            (j, l, None)
        });
        let places = anomaly.places();
        Ok(Scheduler { jobs: jobs.collect(), state, state_path, anomaly, places, sizes: Default::default() })
    }

    /// Shares what scans learn of table and file sizes with the log watches (to size exports).
    pub fn share_sizes(&mut self, sizes: anomaly::sizes::SizeHints) {
        self.sizes = sizes;
    }

    /// True when there is nothing to schedule.
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// Time until the next job is due (zero when one is due now).
    pub fn until_next(&self) -> Duration {
        let now = Instant::now();
        self.jobs
            .iter()
            .map(|(j, _, last)| match last {
                None => Duration::ZERO,
                Some(t) => (*t + Duration::from_secs(j.interval_s)).saturating_duration_since(now),
            })
            .min()
            .unwrap_or(Duration::from_secs(3600))
    }

    /// Runs every due job; `emit` receives each job's findings (it spools them) before the
    /// state covering them is saved. Errors of one job are logged and do not stop the others.
    pub fn run_due(&mut self, engine: &Engine, factory: &FindingFactory, emit: &mut dyn FnMut(&[pb::Finding]) -> io::Result<()>) -> io::Result<()> {
        let now = Instant::now();
        for i in 0..self.jobs.len() {
            let due = self.jobs[i].2.is_none_or(|t| now >= t + Duration::from_secs(self.jobs[i].0.interval_s));
            if !due {
                continue;
            }
            self.jobs[i].2 = Some(now);
            let (job, location) = (self.jobs[i].0.clone(), self.jobs[i].1.clone());
            let started = Instant::now();
            let findings = match &location {
                Location::Path(p) => self.scan_files(engine, factory, p),
                db => {
                    let mut progress = |_: &str| {};
                    match classify_database(engine, factory.key(), db, job.sample_rows, &mut progress) {
                        Ok(tables) => {
                            for t in &tables {
                                self.sizes.record_table(&db.database_name(), &t.table, t.estimated_rows.max(t.sampled_rows));
                            }
                            tables.iter().flat_map(|t| table_findings(db, t)).map(|cf| factory.column_finding(engine, &cf)).collect()
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "scheduled database scan failed; retrying at the next interval");
                            continue;
                        }
                    }
                }
            };
            tracing::info!(location = %location.display(), findings = findings.len(), seconds = started.elapsed().as_secs_f64(), "data-store scan done");
            if !findings.is_empty() {
                emit(&findings)?;
            }
            self.state.save(&self.state_path).map_err(|e| io::Error::new(e.kind(), format!("{}: cannot save scan state: {e}", self.state_path.display())))?;
        }
        Ok(())
    }

    fn scan_files(&mut self, engine: &Engine, factory: &FindingFactory, root: &Path) -> Vec<pb::Finding> {
        let files = crate::discovery::walk(&[root.to_path_buf()], &mut |p, e| tracing::warn!(path = %p.display(), error = %e, "cannot read; skipping"));
        // Forget files that are gone, so the state does not grow forever (and a file that
        // comes back is scanned as new).
        let present: std::collections::HashSet<&PathBuf> = files.iter().collect();
        self.state.files.retain(|p, _| !p.starts_with(root) || present.contains(p));
        let mut out = Vec::new();
        // What a directory holds when it is first scanned was not written now: it is reported
        // (column findings, retention), but only an exposed place makes it an export anomaly.
        let baseline = !self.state.roots.contains(root);
        for f in files {
            let Ok(meta) = std::fs::metadata(&f) else { continue };
            let previous = self.state.files.get(&f).cloned();
            if previous.as_ref().is_some_and(|s| s.size == meta.len() && s.mtime_ns == mtime_ns(&meta)) {
                continue; // unchanged: not even read
            }
            let report = match files::classify_file(engine, factory.key(), &f) {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(path = %f.display(), error = %e, "cannot scan file; skipping");
                    continue;
                }
            };
            let hash = hex::encode(report.content_hash);
            let same_content = previous.as_ref().is_some_and(|s| s.hash == hash);
            self.state.files.insert(f.clone(), FileState { size: meta.len(), mtime_ns: mtime_ns(&meta), hash });
            if !report.binary {
                self.sizes.record_file(&f, report.rows);
            }
            if same_content || report.binary {
                continue; // touched but not changed
            }
            let mtime = mtime_s(&meta);
            let place = self.places.kind(&f);
            let column_findings = file_findings(&f, place, &report, mtime);
            out.extend(column_findings.iter().map(|cf| factory.column_finding(engine, cf)));
            let grown = previous.as_ref().is_some_and(|s| meta.len() > s.size);
            let written_ms = mtime.map_or_else(custos_proto::time::now_ms, |s| s * 1000);
            let new = previous.is_none() && (!baseline || place.is_some());
            if (new || grown)
                && let Some(a) = anomaly::files::assess(&f, place, report.distinct_subjects, report.rows, written_ms, grown, &self.anomaly)
            {
                let source =
                    pb::Source { kind: pb::SourceKind::File as i32, locator: f.display().to_string(), identity: hex::encode(&report.content_hash[..16]) };
                out.push(factory.anomaly_finding(engine, &source, &a.at(anomaly::signal::Origin::File { size: meta.len() })));
            }
        }
        self.state.roots.insert(root.to_path_buf());
        out
    }
}

/// What scheduled scans need.
pub struct ScanContext {
    pub(crate) engine: Arc<Engine>,
    pub(crate) factory: FindingFactory,
    pub(crate) spool: Spool,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) mode: RunMode,
    pub(crate) shutdown: watch::Receiver<bool>,
}

/// Runs the `[[scan]]` jobs when due until shut down (once each in [`RunMode::Once`]).
pub fn scan_loop(mut scheduler: Scheduler, ctx: ScanContext) -> anyhow::Result<()> {
    let stop = || *ctx.shutdown.borrow();
    loop {
        let mut emit = |findings: &[pb::Finding]| -> std::io::Result<()> {
            ctx.spool.append(findings, &stop)?;
            ctx.metrics.findings.inc_by(findings.len() as u64);
            ctx.spool.sync()
        };
        match scheduler.run_due(&ctx.engine, &ctx.factory, &mut emit) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => return Ok(()),
            Err(e) => return Err(anyhow::anyhow!("scheduled scan: {e}")),
        }
        if ctx.mode == RunMode::Once {
            return Ok(());
        }
        let wake = Instant::now() + scheduler.until_next();
        while Instant::now() < wake {
            if stop() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(250).min(wake.saturating_duration_since(Instant::now())));
        }
    }
}
