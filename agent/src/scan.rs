//! One-shot scans (`custos-agent scan PATH...`): like ripgrep, but for personal data.
//!
//! Files are read in large chunks cut at line boundaries and each chunk is scanned in one pass;
//! line numbers are counted only up to each detection. Directories are walked recursively
//! (symbolic links to directories are not followed, so a loop cannot trap the walk); files that
//! look binary (a NUL byte in their first 8 KiB) are skipped.

use custos_rules::{Engine, mask};
use serde::Serialize;
use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Chunk size for reading files (a chunk ends at a line boundary unless a line is longer).
const CHUNK: usize = 8 << 20;

/// What `scan` prints for one finding (`--json`: one object per line).
#[derive(Debug, Serialize)]
pub struct ScanRecord<'a> {
    /// File path as given or found while walking.
    pub path: &'a str,
    /// 1-based line number.
    pub line: u64,
    /// Byte offset of the match in the line.
    pub start: usize,
    /// End (exclusive).
    pub end: usize,
    /// Detector id.
    pub detector: &'a str,
    /// GDPR data category.
    pub category: &'a str,
    /// Art. 9/10 special category.
    pub special: bool,
    /// Confidence in [0, 1].
    pub confidence: f32,
    /// Masked value.
    pub preview: String,
    /// The raw value, only with `--show-values`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// Options of a scan run.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// JSON Lines instead of a table.
    pub json: bool,
    /// Print raw values (never the default).
    pub show_values: bool,
    /// Treat uncompressed structured files (CSV, TSV, JSON, NDJSON) as text and list every match
    /// with its line and span, instead of classifying them per column or field path.
    pub matches: bool,
}

/// Totals of a scan run.
#[derive(Debug, Default, Clone, Copy)]
pub struct ScanSummary {
    /// Files scanned.
    pub files: u64,
    /// Bytes scanned.
    pub bytes: u64,
    /// Findings printed.
    pub findings: u64,
    /// Files or directories that could not be read.
    pub errors: u64,
}

/// Lists the files under `paths` (recursively), in a stable order.
pub fn walk(paths: &[PathBuf], errors: &mut dyn FnMut(&Path, &io::Error)) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = paths.iter().rev().cloned().collect();
    while let Some(p) = stack.pop() {
        let meta = match std::fs::metadata(&p) {
            Ok(m) => m,
            Err(e) => {
                errors(&p, &e);
                continue;
            }
        };
        if meta.is_dir() {
            let is_link = std::fs::symlink_metadata(&p).map(|m| m.file_type().is_symlink()).unwrap_or(false);
            if is_link && !paths.contains(&p) {
                continue;
            }
            match std::fs::read_dir(&p) {
                Ok(rd) => {
                    let mut children: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
                    children.sort();
                    stack.extend(children.into_iter().rev());
                }
                Err(e) => errors(&p, &e),
            }
        } else if meta.is_file() {
            out.push(p);
        }
    }
    out
}

/// Scans files and prints findings to `out`. Errors go to stderr and are counted.
pub fn scan_paths(engine: &Engine, paths: &[PathBuf], opts: &ScanOptions, out: &mut dyn Write) -> io::Result<ScanSummary> {
    let mut summary = ScanSummary::default();
    let report = |p: &Path, e: &io::Error| {
        eprintln!("custos-agent: {}: {e}", p.display());
    };
    let mut walk_errors = 0u64;
    let files = walk(paths, &mut |p, e| {
        walk_errors += 1;
        report(p, e)
    });
    summary.errors += walk_errors;
    let total: u64 = files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
    let progress = Progress::new(total);
    if !opts.json {
        writeln!(out, "{:<40} {:>6} {:>5}  {:<16} {:<18} {:>5}  PREVIEW", "PATH", "LINE", "COL", "DETECTOR", "CATEGORY", "CONF")?;
    }
    let mut buf = Vec::with_capacity(CHUNK + 64 * 1024);
    let mut detections = Vec::new();
    for f in &files {
        match scan_file(engine, f, opts, out, &mut buf, &mut detections, &progress, &mut summary) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Err(e),
            Err(e) => {
                summary.errors += 1;
                report(f, &e);
            }
        }
    }
    progress.finish();
    Ok(summary)
}

#[allow(clippy::too_many_arguments)]
fn scan_file(
    engine: &Engine,
    path: &Path,
    opts: &ScanOptions,
    out: &mut dyn Write,
    buf: &mut Vec<u8>,
    detections: &mut Vec<custos_rules::Detection>,
    progress: &Progress,
    summary: &mut ScanSummary,
) -> io::Result<()> {
    let mut file = File::open(path)?;
    let path_str = path.to_string_lossy();
    buf.clear();
    let mut line_no: u64 = 1; // line number at `line_start`
    let mut first = true;
    let mut eof = false;
    while !eof {
        // Fill up to CHUNK bytes.
        let start_len = buf.len();
        buf.resize(start_len.max(CHUNK), 0);
        let mut filled = start_len;
        while filled < buf.len() {
            match file.read(&mut buf[filled..]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        buf.truncate(filled);
        if first {
            first = false;
            if memchr::memchr(0, &buf[..buf.len().min(8192)]).is_some() {
                return Ok(()); // binary
            }
            summary.files += 1;
        }
        // Scan up to the last newline; keep the tail for the next round (unless EOF or no newline).
        let cut = if eof { buf.len() } else { memchr::memrchr(b'\n', buf).map_or(buf.len(), |i| i + 1) };
        let chunk = &buf[..cut];
        detections.clear();
        engine.scan(chunk, detections);
        let mut line_start = 0usize;
        for d in detections.iter() {
            // Advance the line counter to the detection's line.
            line_no += memchr::memchr_iter(b'\n', &chunk[line_start..d.start]).count() as u64;
            line_start = memchr::memrchr(b'\n', &chunk[..d.start]).map_or(0, |i| i + 1).max(line_start);
            let spec = engine.detector(d.detector);
            let raw = &chunk[d.start..d.end];
            let rec = ScanRecord {
                path: &path_str,
                line: line_no,
                start: d.start - line_start,
                end: d.end - line_start,
                detector: &spec.id,
                category: spec.category.as_str(),
                special: spec.special,
                confidence: (d.confidence * 1000.0).round() / 1000.0,
                preview: mask::preview(&spec.id, raw),
                value: opts.show_values.then(|| String::from_utf8_lossy(raw).into_owned()),
            };
            summary.findings += 1;
            if opts.json {
                serde_json::to_writer(&mut *out, &rec).map_err(io::Error::other)?;
                out.write_all(b"\n")?;
            } else {
                let shown = rec.value.clone().unwrap_or_else(|| rec.preview.clone());
                writeln!(out, "{:<40} {:>6} {:>5}  {:<16} {:<18} {:>5.2}  {}", rec.path, rec.line, rec.start + 1, rec.detector, rec.category, rec.confidence, shown)?;
            }
        }
        line_no += memchr::memchr_iter(b'\n', &chunk[line_start..]).count() as u64;
        summary.bytes += cut as u64;
        progress.add(cut as u64);
        buf.drain(..cut);
    }
    Ok(())
}

/// Progress on stderr for large scans, only when stderr is a terminal.
struct Progress {
    total: u64,
    enabled: bool,
    state: std::cell::Cell<(u64, Instant)>,
    started: Instant,
}

impl Progress {
    fn new(total: u64) -> Self {
        let enabled = total > (64 << 20) && io::stderr().is_terminal();
        Progress { total, enabled, state: std::cell::Cell::new((0, Instant::now())), started: Instant::now() }
    }
    fn add(&self, n: u64) {
        if !self.enabled {
            return;
        }
        let (done, last) = self.state.get();
        let done = done + n;
        let now = Instant::now();
        if now.duration_since(last) >= Duration::from_millis(500) {
            let secs = self.started.elapsed().as_secs_f64().max(0.001);
            eprint!("\rscanned {:.0} / {:.0} MB ({:.0} MB/s)   ", done as f64 / 1e6, self.total as f64 / 1e6, done as f64 / 1e6 / secs);
            self.state.set((done, now));
        } else {
            self.state.set((done, last));
        }
    }
    fn finish(&self) {
        if self.enabled {
            eprintln!();
        }
    }
}
