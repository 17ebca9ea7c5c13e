//! The reader thread: tails the configured logs, runs the detector on every line and the
//! anomaly watches the sources asked for, and appends the findings to the spool — then, and
//! only then, checkpoints the read positions.
//!
//! [`Reader`] is one step of that loop at a time ([`Reader::poll`], [`Reader::checkpoint`]),
//! so that a test can drive it deterministically and "kill" it between any two steps (dropping
//! it saves nothing); [`read_loop`] is the thread that runs it with file-system events.

use crate::anomaly;
use crate::checkpoint::Checkpoints;
use crate::config::{self, LogFormat};
use crate::container;
use crate::discovery;
use crate::finding::FindingFactory;
use crate::metrics::Metrics;
use crate::mode::RunMode;
use crate::spool::Spool;
use crate::tail;
use custos_proto::v1 as pb;
use custos_rules::{Detection, Engine};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// What the reader thread needs.
pub struct ReaderContext {
    pub(crate) engine: Arc<Engine>,
    pub(crate) factory: FindingFactory,
    pub(crate) sources: Vec<config::LogSource>,
    pub(crate) tail: config::TailConfig,
    pub(crate) spool: Spool,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) checkpoints_path: std::path::PathBuf,
    /// A second copy of the checkpoints, beside the spool (see [`crate::checkpoint::resume`]).
    pub(crate) checkpoints_copy: std::path::PathBuf,
    pub(crate) saved: Option<Checkpoints>,
    /// The agent ran before but no checkpoint was found: read files present at start whole.
    pub(crate) read_whole: bool,
    pub(crate) mode: RunMode,
    pub(crate) shutdown: watch::Receiver<bool>,
    pub(crate) anomaly: anomaly::AnomalyConfig,
    /// What scans learn of table and file sizes (to size the exports seen in logs).
    pub(crate) sizes: anomaly::SizeHints,
}

/// The finding of an anomaly seen in a log.
fn anomaly_finding(engine: &Engine, factory: &FindingFactory, a: &anomaly::LogAnomaly) -> pb::Finding {
    let source = pb::Source { kind: pb::SourceKind::LogFile as i32, locator: a.path.to_string_lossy().into_owned(), identity: a.identity.clone() };
    factory.anomaly_finding(engine, &source, &a.anomaly)
}

/// What one [`Reader::poll`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Polled {
    /// Read what there was; findings are in the spool.
    Read,
    /// Stopped while the spool was full (`block`): nothing past the last checkpoint counts.
    Stopped,
}

/// The tailing loop, one step at a time.
pub struct Reader {
    ctx: ReaderContext,
    tailer: tail::Tailer,
    pending: Vec<pb::Finding>,
    detections: Vec<Detection>,
    watches: anomaly::LogWatches,
    anomalies: Vec<anomaly::LogAnomaly>,
    /// The identity of the last piece of an overlong line and where its reported matches end
    /// (file offset), so the overlapping next piece does not report them again.
    last_piece: Option<(String, u64)>,
    last_checkpoint: Instant,
    checkpoint_dirty: bool,
    /// Container messages split over several lines, put back together.
    reassembler: container::Reassembler,
    systems: SystemNames,
    /// When undecodable container lines were last logged (once a minute at most: the metric
    /// counts them all).
    malformed_logged: Option<Instant>,
}

/// A text to scan: a line of a plain log, or a message of a container log.
struct Text<'a> {
    path: &'a std::path::Path,
    /// The container, for container logs (the locator then; the path goes in the evidence).
    system: Option<&'a str>,
    identity: &'a str,
    line: u64,
    offset: u64,
    bytes: &'a [u8],
    /// `Some(report_before)` for a piece of an overlong line.
    piece: Option<usize>,
    /// The runtime's time of the message (the findings' observation time).
    time_ms: Option<i64>,
}

impl<'a> Text<'a> {
    fn of_message(m: &container::Message<'a>, system: Option<&'a str>) -> Text<'a> {
        Text { path: m.path, system, identity: m.identity, line: m.line, offset: m.offset, bytes: m.bytes, piece: None, time_ms: m.time_ms }
    }
}

/// The container of the last container log seen (lines come in runs of one file).
#[derive(Default)]
struct SystemNames {
    last: Option<(std::path::PathBuf, Option<String>)>,
}

impl SystemNames {
    fn of(&mut self, path: &std::path::Path) -> Option<&str> {
        if self.last.as_ref().is_none_or(|(p, _)| p != path) {
            self.last = Some((path.to_path_buf(), container::system_name(path)));
        }
        self.last.as_ref().and_then(|(_, s)| s.as_deref())
    }
}

impl Reader {
    /// A reader resuming from `ctx.saved`.
    pub fn new(ctx: ReaderContext) -> Reader {
        let mut tailer = tail::Tailer::new(ctx.sources.clone(), ctx.saved.clone());
        tailer.set_orphan_grace(Duration::from_millis(ctx.tail.orphan_grace_ms));
        if ctx.read_whole {
            tailer.read_whole_files();
        }
        let mut watches = anomaly::LogWatches::new(&ctx.sources, &ctx.anomaly);
        watches.share_sizes(ctx.sizes.clone());
        Reader {
            ctx,
            tailer,
            pending: Vec::with_capacity(1024),
            detections: Vec::new(),
            watches,
            anomalies: Vec::new(),
            last_piece: None,
            last_checkpoint: Instant::now(),
            checkpoint_dirty: false,
            reassembler: container::Reassembler::default(),
            systems: SystemNames::default(),
            malformed_logged: None,
        }
    }

    /// Reads what the followed files gained (and looks for new files when `rescan`), and
    /// appends the findings to the spool. When the tailer needs a durable checkpoint before it
    /// reads on (a first start, a new generation of a file), it is saved at once and the files
    /// read again.
    pub fn poll(&mut self, rescan: bool) -> anyhow::Result<Polled> {
        let polled = self.poll_once(rescan)?;
        if polled == Polled::Read && self.tailer.needs_checkpoint() {
            self.checkpoint()?;
            return self.poll_once(false);
        }
        Ok(polled)
    }

    fn poll_once(&mut self, rescan: bool) -> anyhow::Result<Polled> {
        let Reader { ctx, tailer, pending, detections, watches, anomalies, last_piece, reassembler, systems, .. } = self;
        let shutdown = ctx.shutdown.clone();
        let stop = || *shutdown.borrow();
        let mut spool_error: Option<std::io::Error> = None;
        let now_ms = custos_proto::time::now_ms;
        let mut decoded = container::DecodeStats::default();
        let mut malformed_at: Option<(std::path::PathBuf, container::DecodeError)> = None;
        let stats = {
            let mut scan = |t: Text<'_>| {
                detections.clear();
                ctx.engine.scan(t.bytes, detections);
                if let Some(report_before) = t.piece {
                    // Pieces of an overlong line overlap: a match is reported by the piece it
                    // starts in before the cut, and not again by the next one (which also
                    // sees the tail of a match that started before its first byte).
                    let skip_to = match last_piece.as_ref() {
                        Some((identity, end)) if identity == t.identity && *end > t.offset => (*end - t.offset) as usize,
                        _ => 0,
                    };
                    detections.retain(|d| d.start < report_before && d.start >= skip_to);
                    let end = detections.iter().map(|d| t.offset + d.end as u64).max().unwrap_or(0);
                    *last_piece = Some((t.identity.to_string(), end));
                }
                if !watches.is_empty() {
                    let before = anomalies.len();
                    watches.line(t.path, t.identity, t.line, t.offset, t.bytes, detections.len(), now_ms(), anomalies);
                    for a in anomalies.drain(before..) {
                        pending.push(anomaly_finding(&ctx.engine, &ctx.factory, &a));
                    }
                }
                if detections.is_empty() {
                    return;
                }
                let locator = match t.system {
                    Some(system) => system.to_string(),
                    None => t.path.to_string_lossy().into_owned(),
                };
                let source = pb::Source { kind: pb::SourceKind::LogFile as i32, locator, identity: t.identity.to_string() };
                let before = pending.len();
                ctx.factory.line_findings(&ctx.engine, &source, t.line, t.offset, detections, t.bytes, pending);
                if t.system.is_some() {
                    ctx.factory.place_in_file(&ctx.engine, &mut pending[before..], t.path, t.time_ms);
                }
                if watches.is_egress(t.path)
                    && let Some(outbound) = crate::egress::outbound(t.bytes)
                {
                    crate::finding::with_destination(&ctx.engine, &outbound, &mut pending[before..]);
                }
                if pending.len() >= 1024 && spool_error.is_none() {
                    // Blocks while the spool is full (backpressure on reading).
                    match ctx.spool.append(pending, &stop) {
                        Ok(()) => {
                            ctx.metrics.findings.inc_by(pending.len() as u64);
                        }
                        Err(e) => spool_error = Some(e),
                    }
                    pending.clear();
                }
            };
            let mut on_line = |l: tail::LogLine<'_>| {
                let source = ctx.sources.get(l.source);
                let format = source.map_or(LogFormat::Plain, |s| s.format);
                if format == LogFormat::Plain || l.piece {
                    // Plain logs, and pieces of an overlong wrapper line (scanned as they are).
                    let system = if format == LogFormat::Plain { None } else { systems.of(l.path) };
                    let piece = l.piece.then_some(l.report_before);
                    scan(Text { path: l.path, system, identity: l.identity, line: l.line, offset: l.offset, bytes: l.bytes, piece, time_ms: None });
                    return;
                }
                let max = source.map_or(1 << 20, |s| s.max_line_bytes);
                let mut why_malformed = |why| {
                    if malformed_at.is_none() {
                        malformed_at = Some((l.path.to_path_buf(), why));
                    }
                };
                reassembler.line(format, l.path, l.identity, l.line, l.offset, l.bytes, max, &mut decoded, &mut why_malformed, &mut |m| {
                    scan(Text::of_message(&m, systems.of(m.path)))
                });
            };
            let mut warn = |p: &std::path::Path, e: &str| tracing::warn!(path = %p.display(), error = %e, "cannot read log file; skipping it for now");
            let mut stats = tailer.poll(rescan, &mut on_line, &mut warn);
            if ctx.mode == RunMode::Once {
                // To the end of every file: one poll reads at most a budget per file, and a
                // line cut by the budget is not a line that ends there.
                while !tailer.needs_checkpoint() {
                    let more = tailer.poll(false, &mut on_line, &mut warn);
                    if more.bytes == 0 {
                        break;
                    }
                    stats.bytes += more.bytes;
                    stats.lines += more.lines;
                    stats.overlong += more.overlong;
                }
                if !tailer.needs_checkpoint() {
                    tailer.flush_partial_lines(&mut on_line);
                    // The end of what there is: unfinished container messages go out as they are.
                    reassembler.flush(None, &mut |m| scan(Text::of_message(&m, systems.of(m.path))));
                }
            } else if !reassembler.is_empty() {
                // Messages of files the tailer left for good will not be finished.
                reassembler.flush(Some(&tailer.checkpoints()), &mut |m| scan(Text::of_message(&m, systems.of(m.path))));
            }
            stats
        };
        if decoded.malformed > 0 || decoded.overlong > 0 {
            ctx.metrics.container_lines_malformed.inc_by(decoded.malformed);
            ctx.metrics.container_messages_overlong.inc_by(decoded.overlong);
            if let Some((path, why)) = malformed_at
                && self.malformed_logged.is_none_or(|t| t.elapsed() >= Duration::from_secs(60))
            {
                self.malformed_logged = Some(Instant::now());
                // Which file and why, never what the line held.
                tracing::warn!(path = %path.display(), lines = decoded.malformed, reason = why, "container log lines did not decode; scanned as they are");
            }
        }
        if !watches.is_empty() {
            watches.tick(now_ms(), anomalies);
            if ctx.mode == RunMode::Once && !tailer.needs_checkpoint() {
                watches.flush(anomalies); // the end of what there is to read
            }
            for a in anomalies.drain(..) {
                pending.push(anomaly_finding(&ctx.engine, &ctx.factory, &a));
            }
        }
        if spool_error.is_none() && !pending.is_empty() {
            match ctx.spool.append(pending, &stop) {
                Ok(()) => {
                    ctx.metrics.findings.inc_by(pending.len() as u64);
                }
                Err(e) => spool_error = Some(e),
            }
            pending.clear();
        }
        if let Some(e) = spool_error.take() {
            if e.kind() == std::io::ErrorKind::Interrupted {
                return Ok(Polled::Stopped); // shutdown while the spool was full; checkpoints not advanced
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
        self.checkpoint_dirty |= stats.bytes > 0 || rescan;
        Ok(Polled::Read)
    }

    /// True when the checkpoints should be saved now (`finishing`: the loop is about to end).
    pub fn checkpoint_due(&self, finishing: bool) -> bool {
        self.tailer.needs_checkpoint()
            || self.checkpoint_dirty && (finishing || self.last_checkpoint.elapsed() >= Duration::from_millis(self.ctx.tail.checkpoint_interval_ms))
    }

    /// Makes the spool durable, then saves the read positions.
    pub fn checkpoint(&mut self) -> anyhow::Result<()> {
        // The findings of every line before the checkpoint must be durable first.
        self.ctx.spool.sync()?;
        let mut c = self.tailer.checkpoints();
        // Not past the first line of an unfinished container message (read again after a kill).
        self.reassembler.hold_back(&mut c);
        for path in [&self.ctx.checkpoints_path, &self.ctx.checkpoints_copy] {
            c.save(path).map_err(|e| anyhow::anyhow!("{}: cannot save checkpoints: {e}", path.display()))?;
        }
        self.tailer.saved(c);
        self.last_checkpoint = Instant::now();
        self.checkpoint_dirty = false;
        Ok(())
    }

    fn stopping(&self) -> bool {
        *self.ctx.shutdown.borrow()
    }
}

/// Tails, detects, spools findings and persists checkpoints. Runs on its own thread.
pub fn read_loop(ctx: ReaderContext) -> anyhow::Result<()> {
    use notify::Watcher;
    let (mode, tail_cfg) = (ctx.mode, ctx.tail.clone());
    // File-system events wake the loop early; the periodic poll is the fallback.
    let (wake_tx, wake_rx) = std::sync::mpsc::channel::<bool>();
    let _watcher = if mode == RunMode::Follow {
        let tx = wake_tx.clone();
        match notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
            // Only structural events (new, renamed, removed files) wake the reader early: data
            // written to followed files is picked up by the periodic read, which costs far less
            // CPU than one wake-up per write on a busy log.
            if let Ok(ev) = ev
                && matches!(
                    ev.kind,
                    notify::EventKind::Create(_) | notify::EventKind::Modify(notify::event::ModifyKind::Name(_)) | notify::EventKind::Remove(_)
                )
            {
                let _ = tx.send(true);
            }
        }) {
            Ok(mut w) => {
                for (root, recursive) in discovery::watch_roots(&ctx.sources) {
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
    let mut reader = Reader::new(ctx);
    let mut last_rescan = Instant::now();
    let mut rescan = true;
    loop {
        if reader.poll(rescan)? == Polled::Stopped {
            return Ok(());
        }
        let finishing = mode == RunMode::Once || reader.stopping();
        if reader.checkpoint_due(finishing) {
            reader.checkpoint()?;
        }
        if finishing {
            return Ok(());
        }
        rescan = false;
        if let Ok(structural) = wake_rx.recv_timeout(Duration::from_millis(tail_cfg.poll_interval_ms)) {
            rescan = structural
        }
        while let Ok(structural) = wake_rx.try_recv() {
            rescan |= structural;
        }
        if last_rescan.elapsed() >= Duration::from_millis(tail_cfg.rescan_interval_ms) {
            rescan = true;
        }
        if rescan {
            last_rescan = Instant::now();
        }
    }
}
