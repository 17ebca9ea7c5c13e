//! The Custos agent: sources → detector → finding → transport.
//!
//! An agent runs on a server, follows its log files, detects personal data with
//! [`custos_rules`], turns each detection into a [`Finding`](custos_proto::v1::Finding) that
//! carries no raw value, and streams findings to the collector over mutual TLS.
//!
//! Decisions that shaped it:
//! - **Raw values never leave this process.** [`finding`] is the only place a detection becomes
//!   something sendable, and what it builds holds a masked preview and an HMAC fingerprint.
//! - **At-least-once delivery, idempotent storage.** Every finding is written to the on-disk
//!   [`spool`] before it is sent and leaves it only when acknowledged; [`checkpoint`]s advance
//!   only after the findings they cover are in the spool. Finding ids are deterministic, the
//!   [`transport`] resends anything not acknowledged, the collector stores each id once.
//! - **Blocking work off the async runtime.** Reading files and running regexes happen on a
//!   dedicated thread; the runtime only moves batches.
//!
//! - **Data stores are sources too.** [`datastore`] classifies files and database tables per
//!   column on a schedule (`[[scan]]`), and [`anomaly`] watches logs and scans for the signs of
//!   a bulk export; both produce findings that travel through the same spool and transport.
//!
//! The binary (`custos-agent`) is a thin layer over [`cli`].

#![deny(missing_docs)]

pub mod anomaly;
pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod datastore;
pub mod enrollment;
pub mod finding;
pub mod metrics;
pub mod scan;
pub mod spool;
pub mod tail;
pub mod transport;

use checkpoint::Checkpoints;
use config::AgentConfig;
use custos_proto::v1 as pb;
use custos_rules::{Engine, EngineOptions, RuleSet};
use finding::FindingFactory;
use metrics::Metrics;
use spool::Spool;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
pub use transport::Delivery;

/// How long an agent runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// Follow the files until shut down.
    Follow,
    /// Read what is there now (partial last lines included), deliver it, and stop once every
    /// finding is acknowledged.
    Once,
}

/// The machine's host name.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_string())
}

/// Loads the default rule packs plus the packs of `extra` (a directory), and compiles them.
pub fn load_engine(extra: Option<&std::path::Path>, min_confidence: Option<f32>) -> anyhow::Result<Engine> {
    let mut rules = RuleSet::default_packs()?;
    if let Some(dir) = extra {
        rules.add_dir(dir)?;
    }
    let mut options = EngineOptions::default();
    if let Some(c) = min_confidence {
        options.min_confidence = c;
    }
    Ok(Engine::new(rules, options)?)
}

/// A configured agent, ready to run.
pub struct Agent {
    config: AgentConfig,
    engine: Arc<Engine>,
    factory: FindingFactory,
    host: String,
}

impl Agent {
    /// Loads the rule packs and the fingerprint key named by the config.
    pub fn new(config: AgentConfig) -> anyhow::Result<Agent> {
        let engine = load_engine(config.detection.rules.as_deref(), config.detection.min_confidence)?;
        let key = finding::load_fingerprint_key(&config.fingerprint.key_file).map_err(anyhow::Error::msg)?;
        let host = config.host.clone().unwrap_or_else(hostname);
        let factory = FindingFactory::new(config.agent_id.clone(), host.clone(), key);
        Ok(Agent { config, engine: Arc::new(engine), factory, host })
    }

    /// Runs the agent. Delivery progress is published on `progress`; setting `shutdown` to true
    /// stops it. In [`RunMode::Once`] it returns by itself when everything read is acknowledged.
    pub async fn run(self, mode: RunMode, progress: watch::Sender<Delivery>, shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
        let data_dir = self.config.data_dir.clone();
        std::fs::create_dir_all(&data_dir).map_err(|e| anyhow::anyhow!("{}: cannot create data dir: {e}", data_dir.display()))?;
        let metrics = Arc::new(Metrics::default());
        if let Some(m) = &self.config.metrics {
            let (addr, metrics) = (m.listen, metrics.clone());
            tokio::spawn(async move {
                if let Err(e) = metrics::serve(addr, metrics).await {
                    tracing::error!(%addr, error = %e, "cannot serve metrics");
                }
            });
        }
        let spool = Spool::open(&data_dir.join("spool"), self.config.spool.clone(), metrics.clone())
            .map_err(|e| anyhow::anyhow!("{}: cannot open the spool: {e}", data_dir.join("spool").display()))?;
        let checkpoints_path = data_dir.join("checkpoints.json");
        let saved = Checkpoints::load(&checkpoints_path)?;
        let transport = transport::Transport::new(self.config.collector.clone(), self.config.batch.clone(), self.config.agent_id.clone(), self.host.clone())?;
        let (done_tx, done_rx) = watch::channel(false);
        let scheduler = datastore::schedule::Scheduler::new(self.config.scans.clone(), data_dir.join("scan-state.json"), self.config.anomaly.clone())
            .map_err(|e| anyhow::anyhow!("cannot load the scan state: {e}"))?;
        let scans = ScanContext { engine: self.engine.clone(), factory: self.factory.clone(), spool: spool.clone(), metrics: metrics.clone(), mode, shutdown: shutdown.clone() };
        // In follow mode scheduled scans run on their own thread, beside tailing; in once mode
        // the reader runs them first, so "done" means both are done.
        let (scan_thread, once_scheduler) = match (mode, scheduler.is_empty()) {
            (_, true) => (None, None),
            (RunMode::Once, false) => (None, Some((scheduler, scans))),
            (RunMode::Follow, false) => (Some(std::thread::Builder::new().name("custos-datastore".into()).spawn(move || scan_loop(scheduler, scans))?), None),
        };
        let reader = {
            let ctx = ReaderContext {
                engine: self.engine.clone(),
                factory: self.factory.clone(),
                sources: self.config.logs.clone(),
                tail: self.config.tail.clone(),
                spool: spool.clone(),
                metrics: metrics.clone(),
                checkpoints_path,
                saved,
                mode,
                shutdown: shutdown.clone(),
                anomaly: self.config.anomaly.clone(),
            };
            std::thread::Builder::new().name("custos-reader".into()).spawn(move || {
                let r = match once_scheduler {
                    Some((scheduler, scans)) => scan_loop(scheduler, scans).and_then(|()| read_loop(ctx)),
                    None => read_loop(ctx),
                };
                let _ = done_tx.send(true);
                r
            })?
        };
        transport.run(spool.clone(), metrics, progress, shutdown, done_rx).await;
        let joined = tokio::task::spawn_blocking(move || reader.join()).await;
        if let Some(t) = scan_thread {
            match tokio::task::spawn_blocking(move || t.join()).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => tracing::error!(error = %e, "scheduled scans stopped"),
                _ => tracing::error!("the data-store scan thread panicked"),
            }
        }
        spool.sync()?;
        match joined {
            Ok(Ok(r)) => r,
            _ => Err(anyhow::anyhow!("the reader thread panicked")),
        }
    }
}

struct ScanContext {
    engine: Arc<Engine>,
    factory: FindingFactory,
    spool: Spool,
    metrics: Arc<Metrics>,
    mode: RunMode,
    shutdown: watch::Receiver<bool>,
}

/// Runs the `[[scan]]` jobs when due until shut down (once each in [`RunMode::Once`]).
fn scan_loop(mut scheduler: datastore::schedule::Scheduler, ctx: ScanContext) -> anyhow::Result<()> {
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

struct ReaderContext {
    engine: Arc<Engine>,
    factory: FindingFactory,
    sources: Vec<config::LogSource>,
    tail: config::TailConfig,
    spool: Spool,
    metrics: Arc<Metrics>,
    checkpoints_path: std::path::PathBuf,
    saved: Option<Checkpoints>,
    mode: RunMode,
    shutdown: watch::Receiver<bool>,
    anomaly: anomaly::AnomalyConfig,
}

/// Base directories of glob patterns, watched for file-system events.
fn watch_roots(sources: &[config::LogSource]) -> Vec<(std::path::PathBuf, bool)> {
    let mut roots = Vec::new();
    for s in sources {
        for p in &s.paths {
            let mut base = std::path::PathBuf::new();
            for c in std::path::Path::new(p).components() {
                let text = c.as_os_str().to_string_lossy();
                if text.contains(['*', '?', '[', '{']) {
                    break;
                }
                base.push(c);
            }
            let recursive = p.contains("**");
            let dir = if base.is_dir() { base } else { base.parent().map(|b| b.to_path_buf()).unwrap_or_default() };
            if dir.is_dir() && !roots.iter().any(|(r, _)| *r == dir) {
                roots.push((dir, recursive));
            }
        }
    }
    roots
}

/// The finding of an anomaly seen in a log.
fn anomaly_finding(engine: &Engine, factory: &FindingFactory, source: pb::Source, a: &anomaly::LogAnomaly) -> pb::Finding {
    match (a.line, a.window) {
        (Some((line, offset)), _) => {
            let position = pb::Position { at: Some(pb::position::At::Text(pb::TextPosition { line, start: 0, end: 0, line_offset: offset })) };
            factory.anomaly_finding(engine, &source, Some(position), &format!("line:{offset}"), &a.anomaly)
        }
        (None, w) => factory.anomaly_finding(engine, &source, None, &format!("window:{}:{}", w.unwrap_or(0), a.anomaly.actor.as_deref().unwrap_or("")), &a.anomaly),
    }
}

/// Tails, detects, spools findings and persists checkpoints. Runs on its own thread.
fn read_loop(ctx: ReaderContext) -> anyhow::Result<()> {
    use notify::Watcher;
    let mut tailer = tail::Tailer::new(ctx.sources.clone(), ctx.saved);
    tailer.set_orphan_grace(Duration::from_millis(ctx.tail.orphan_grace_ms));
    // File-system events wake the loop early; the periodic poll is the fallback.
    let (wake_tx, wake_rx) = std::sync::mpsc::channel::<bool>();
    let _watcher = if ctx.mode == RunMode::Follow {
        let tx = wake_tx.clone();
        match notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
            // Only structural events (new, renamed, removed files) wake the reader early: data
            // written to followed files is picked up by the periodic read, which costs far less
            // CPU than one wake-up per write on a busy log.
            if let Ok(ev) = ev
                && matches!(ev.kind, notify::EventKind::Create(_) | notify::EventKind::Modify(notify::event::ModifyKind::Name(_)) | notify::EventKind::Remove(_)) {
                    let _ = tx.send(true);
                }
        }) {
            Ok(mut w) => {
                for (root, recursive) in watch_roots(&ctx.sources) {
                    let mode = if recursive { notify::RecursiveMode::Recursive } else { notify::RecursiveMode::NonRecursive };
                    if let Err(e) = w.watch(&root, mode) {
                        tracing::warn!(dir = %root.display(), error = %e, "cannot watch directory; relying on periodic rescans");
                    }
                }
                Some(w)
            }
            Err(e) => {
                tracing::warn!(error = %e, "file-system events unavailable; relying on periodic polling");
                None
            }
        }
    } else {
        None
    };
    let stop = || *ctx.shutdown.borrow();
    let mut pending: Vec<pb::Finding> = Vec::with_capacity(1024);
    let mut detections = Vec::new();
    let mut spool_error: Option<std::io::Error> = None;
    let mut watches = anomaly::LogWatches::new(&ctx.sources, &ctx.anomaly);
    let mut anomalies: Vec<anomaly::LogAnomaly> = Vec::new();
    let unix_now = || finding::now_ms() / 1000;
    let mut last_rescan = Instant::now();
    let mut last_checkpoint = Instant::now();
    let mut rescan = true;
    let mut checkpoint_dirty = false;
    loop {
        let stats = {
            let mut on_line = |l: tail::LogLine<'_>| {
                detections.clear();
                ctx.engine.scan(l.bytes, &mut detections);
                if !watches.is_empty() {
                    let before = anomalies.len();
                    watches.line(l.path, l.line, l.offset, l.bytes, detections.len(), unix_now(), &mut anomalies);
                    for a in anomalies.drain(before..) {
                        let source = pb::Source { kind: pb::SourceKind::LogFile as i32, locator: l.path.to_string_lossy().into_owned(), identity: l.identity.to_string() };
                        pending.push(anomaly_finding(&ctx.engine, &ctx.factory, source, &a));
                    }
                }
                if detections.is_empty() {
                    return;
                }
                let source = pb::Source { kind: pb::SourceKind::LogFile as i32, locator: l.path.to_string_lossy().into_owned(), identity: l.identity.to_string() };
                for d in &detections {
                    pending.push(ctx.factory.text_finding(&ctx.engine, &source, l.line, l.offset, d, &l.bytes[d.start..d.end]));
                }
                if pending.len() >= 1024 && spool_error.is_none() {
                    // Blocks while the spool is full (backpressure on reading).
                    match ctx.spool.append(&pending, &stop) {
                        Ok(()) => {
                            ctx.metrics.findings.inc_by(pending.len() as u64);
                        }
                        Err(e) => spool_error = Some(e),
                    }
                    pending.clear();
                }
            };
            let mut warn = |p: &std::path::Path, e: &str| tracing::warn!(path = %p.display(), error = %e, "cannot read log file; skipping it for now");
            let stats = tailer.poll(rescan, &mut on_line, &mut warn);
            if ctx.mode == RunMode::Once {
                tailer.flush_partial_lines(&mut on_line);
            }
            stats
        };
        if !watches.is_empty() {
            watches.tick(unix_now(), &mut anomalies);
            for a in anomalies.drain(..) {
                let source = pb::Source { kind: pb::SourceKind::LogFile as i32, locator: a.path.to_string_lossy().into_owned(), identity: String::new() };
                pending.push(anomaly_finding(&ctx.engine, &ctx.factory, source, &a));
            }
        }
        if spool_error.is_none() && !pending.is_empty() {
            match ctx.spool.append(&pending, &stop) {
                Ok(()) => {
                            ctx.metrics.findings.inc_by(pending.len() as u64);
                        }
                Err(e) => spool_error = Some(e),
            }
            pending.clear();
        }
        if let Some(e) = spool_error.take() {
            if e.kind() == std::io::ErrorKind::Interrupted {
                return Ok(()); // shutdown while the spool was full; checkpoints not advanced
            }
            return Err(anyhow::anyhow!("cannot write to the spool: {e}"));
        }
        ctx.metrics.lines_read.inc_by(stats.lines);
        ctx.metrics.bytes_read.inc_by(stats.bytes);
        ctx.metrics.overlong_lines.inc_by(stats.overlong);
        ctx.metrics.files_followed.set(tailer.followed() as i64);
        if stats.overlong > 0 {
            tracing::warn!(lines = stats.overlong, "overlong lines were scanned in pieces of max_line_bytes");
        }
        checkpoint_dirty |= stats.bytes > 0 || rescan;
        let finishing = ctx.mode == RunMode::Once || stop();
        if checkpoint_dirty && (finishing || last_checkpoint.elapsed() >= Duration::from_millis(ctx.tail.checkpoint_interval_ms)) {
            // The findings of every line before the checkpoint must be durable first.
            ctx.spool.sync()?;
            tailer.checkpoints().save(&ctx.checkpoints_path).map_err(|e| anyhow::anyhow!("{}: cannot save checkpoints: {e}", ctx.checkpoints_path.display()))?;
            last_checkpoint = Instant::now();
            checkpoint_dirty = false;
        }
        if finishing {
            return Ok(());
        }
        rescan = false;
        if let Ok(structural) = wake_rx.recv_timeout(Duration::from_millis(ctx.tail.poll_interval_ms)) { rescan = structural }
        while let Ok(structural) = wake_rx.try_recv() {
            rescan |= structural;
        }
        if last_rescan.elapsed() >= Duration::from_millis(ctx.tail.rescan_interval_ms) {
            rescan = true;
        }
        if rescan {
            last_rescan = Instant::now();
        }
    }
}
