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
    let mut buf = Vec::new();
    let mut detections = Vec::new();
    let mut json = JsonLines::new(engine);
    for f in &files {
        match scan_file(engine, f, opts, out, &mut buf, &mut detections, &mut json, &progress, &mut summary) {
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
    json: &mut JsonLines,
    progress: &Progress,
    summary: &mut ScanSummary,
) -> io::Result<()> {
    let mut file = File::open(path)?;
    let path_str = path.to_string_lossy();
    // Escaped once per file, not once per finding.
    let path_json = serde_json::to_vec(&*path_str).map_err(io::Error::other)?;
    // `buf` holds the unscanned tail of the last chunk (a partial line), then what is read
    // after it. Reading through `take(..).read_to_end` fills its spare capacity without zeroing
    // it first (a zeroed 8 MiB buffer cost every run 2 ms and 2,048 page faults, even for a
    // small file).
    buf.clear();
    buf.reserve(CHUNK);
    let mut line_no: u64 = 1; // line number at `line_start`
    let mut first = true;
    let mut eof = false;
    while !eof {
        // The tail is always shorter than CHUNK (a chunk is cut after a newline, or scanned
        // whole), so at least one byte is asked for: reading less than asked is end of file.
        let want = CHUNK - buf.len();
        let got = (&mut file).take(want as u64).read_to_end(buf)?;
        eof = got < want;
        let filled = buf.len();
        let data = &buf[..filled];
        if first {
            first = false;
            if memchr::memchr(0, &data[..data.len().min(8192)]).is_some() {
                return Ok(()); // binary
            }
            summary.files += 1;
        }
        // Scan up to the last newline; keep the tail for the next round (unless EOF or no newline).
        let cut = if eof { data.len() } else { memchr::memrchr(b'\n', data).map_or(data.len(), |i| i + 1) };
        let chunk = &data[..cut];
        detections.clear();
        engine.scan(chunk, detections);
        let mut line_start = 0usize;
        for d in detections.iter() {
            // Advance the line counter to the detection's line.
            // Detections often share a line: look for its last newline first, count only up to it.
            if let Some(i) = memchr::memrchr(b'\n', &chunk[line_start..d.start]) {
                line_no += memchr::memchr_iter(b'\n', &chunk[line_start..=line_start + i]).count() as u64;
                line_start += i + 1;
            }
            let raw = &chunk[d.start..d.end];
            summary.findings += 1;
            if opts.json {
                json.record(&path_json, line_no, d.start - line_start, d.end - line_start, d.detector, d.confidence, raw, opts.show_values);
                if json.buf.len() >= JSON_FLUSH {
                    out.write_all(&json.buf)?;
                    json.buf.clear();
                }
            } else {
                let spec = engine.detector(d.detector);
                let rec = ScanRecord {
                    path: &path_str,
                    line: line_no,
                    start: d.start - line_start,
                    end: d.end - line_start,
                    detector: &spec.id,
                    category: spec.category.as_str(),
                    special: spec.special,
                    confidence: round_confidence(d.confidence),
                    preview: mask::preview(&spec.id, raw),
                    value: opts.show_values.then(|| String::from_utf8_lossy(raw).into_owned()),
                };
                let shown = rec.value.clone().unwrap_or_else(|| rec.preview.clone());
                writeln!(out, "{:<40} {:>6} {:>5}  {:<16} {:<18} {:>5.2}  {}", rec.path, rec.line, rec.start + 1, rec.detector, rec.category, rec.confidence, shown)?;
            }
        }
        if !json.buf.is_empty() {
            out.write_all(&json.buf)?;
            json.buf.clear();
        }
        line_no += memchr::memchr_iter(b'\n', &chunk[line_start..]).count() as u64;
        summary.bytes += cut as u64;
        progress.add(cut as u64);
        buf.drain(..cut);
    }
    Ok(())
}

/// Output is written in batches of about this size (one `write` per batch, not per field).
const JSON_FLUSH: usize = 64 << 10;

/// Confidence as printed: three decimals.
fn round_confidence(c: f32) -> f32 {
    (c * 1000.0).round() / 1000.0
}

/// Writes [`ScanRecord`]s as JSON Lines by hand into one reused buffer: the same bytes as
/// `serde_json::to_writer(&record)` (a test checks it), without a `String` per preview, a
/// `write` call per field, nor escaping of strings that are fixed per detector.
struct JsonLines {
    /// Output not yet written.
    buf: Vec<u8>,
    /// Per detector: `,"detector":…,"category":…,"special":…,"confidence":` (already escaped).
    detector_fields: Vec<Vec<u8>>,
    /// Per detector: previews use the e-mail form (see [`mask::preview`]).
    email_form: Vec<bool>,
    /// Confidences already formatted, keyed by the bits of the rounded `f32` (a handful of
    /// distinct values; formatted by serde_json once so the digits are its shortest form).
    confidences: Vec<(u32, Vec<u8>)>,
    /// Masked preview of the current record.
    preview: Vec<u8>,
}

impl JsonLines {
    fn new(engine: &Engine) -> Self {
        let detector_fields = engine
            .detectors()
            .map(|spec| {
                let mut f = b",\"detector\":".to_vec();
                write_json_str(&mut f, spec.id.as_bytes());
                f.extend_from_slice(b",\"category\":");
                write_json_str(&mut f, spec.category.as_str().as_bytes());
                f.extend_from_slice(if spec.special { b",\"special\":true,\"confidence\":" } else { b",\"special\":false,\"confidence\":" });
                f
            })
            .collect();
        let email_form = engine.detectors().map(|spec| spec.id == "email").collect();
        JsonLines { buf: Vec::with_capacity(JSON_FLUSH + 4096), detector_fields, email_form, confidences: Vec::new(), preview: Vec::new() }
    }

    /// Appends one record and its newline; `path` is already a JSON string.
    #[allow(clippy::too_many_arguments)]
    fn record(&mut self, path: &[u8], line: u64, start: usize, end: usize, detector: usize, confidence: f32, raw: &[u8], show_value: bool) {
        let b = &mut self.buf;
        b.extend_from_slice(b"{\"path\":");
        b.extend_from_slice(path);
        b.extend_from_slice(b",\"line\":");
        write_u64(b, line);
        b.extend_from_slice(b",\"start\":");
        write_u64(b, start as u64);
        b.extend_from_slice(b",\"end\":");
        write_u64(b, end as u64);
        b.extend_from_slice(&self.detector_fields[detector]);
        let c = round_confidence(confidence);
        let bits = c.to_bits();
        match self.confidences.iter().find(|(k, _)| *k == bits) {
            Some((_, text)) => b.extend_from_slice(text),
            None => {
                // serde_json prints a non-finite f32 as null; either way its bytes are kept.
                let text = serde_json::to_vec(&c).unwrap_or_else(|_| b"null".to_vec());
                b.extend_from_slice(&text);
                self.confidences.push((bits, text));
            }
        }
        b.extend_from_slice(b",\"preview\":");
        self.preview.clear();
        mask::preview_into(&mut self.preview, self.email_form[detector], raw);
        write_json_str(b, &self.preview);
        if show_value {
            b.extend_from_slice(b",\"value\":");
            write_json_str(b, String::from_utf8_lossy(raw).as_bytes());
        }
        b.extend_from_slice(b"}\n");
    }
}

/// Appends `n` in decimal.
fn write_u64(b: &mut Vec<u8>, n: u64) {
    b.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends `s` (UTF-8) as a JSON string, escaped as serde_json does: `"`, `\\`, and control
/// characters (`\n`-style where JSON has a short form, `\u00XX` otherwise); everything else,
/// non-ASCII included, is copied.
fn write_json_str(b: &mut Vec<u8>, s: &[u8]) {
    b.push(b'"');
    // Previews (the commonest strings) never need escaping: one check, one copy.
    if !s.iter().any(|&c| c < 0x20 || c == b'"' || c == b'\\') {
        b.extend_from_slice(s);
        b.push(b'"');
        return;
    }
    let mut from = 0;
    for (i, &c) in s.iter().enumerate() {
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => b"",
            _ => continue,
        };
        b.extend_from_slice(&s[from..i]);
        if esc.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            b.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[(c >> 4) as usize], HEX[(c & 0xf) as usize]]);
        } else {
            b.extend_from_slice(esc);
        }
        from = i + 1;
    }
    b.extend_from_slice(&s[from..]);
    b.push(b'"');
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_larger_than_a_chunk_reports_what_its_lines_hold() {
        // Lines of varied length, so chunk boundaries fall inside lines, and a little over one
        // chunk in all: every finding must have the line and offsets it has in its line alone.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.log");
        let mut text = Vec::new();
        let mut i = 0u64;
        while text.len() < CHUNK + CHUNK / 16 {
            let pad = "p".repeat((i % 37) as usize);
            text.extend_from_slice(format!("{i} {pad} user{i}@example.org from 10.{}.{}.7\n", i % 200 + 1, i % 250).as_bytes());
            i += 1;
        }
        text.extend_from_slice(b"no newline at the end: last@example.org");
        std::fs::write(&path, &text).unwrap();
        let engine = Engine::with_default_packs().unwrap();
        let mut out = Vec::new();
        let opts = ScanOptions { json: true, show_values: false, matches: true };
        let summary = scan_paths(&engine, std::slice::from_ref(&path), &opts, &mut out).unwrap();
        let got: Vec<(u64, u64, u64)> = out
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| {
                let v: serde_json::Value = serde_json::from_slice(l).unwrap();
                (v["line"].as_u64().unwrap(), v["start"].as_u64().unwrap(), v["end"].as_u64().unwrap())
            })
            .collect();
        let mut want = Vec::new();
        for (n, line) in text.split(|&b| b == b'\n').enumerate() {
            let mut found = Vec::new();
            engine.scan(line, &mut found);
            want.extend(found.iter().map(|d| (n as u64 + 1, d.start as u64, d.end as u64)));
        }
        assert_eq!(summary.bytes, text.len() as u64);
        assert!(want.len() > 100_000, "{} findings", want.len());
        assert_eq!(got.len(), want.len());
        assert!(got == want, "findings differ from those of the lines scanned one by one");
    }

    #[test]
    fn hand_written_json_is_what_serde_writes() {
        for s in ["plain", "quo\"te back\\slash", "ctl \u{1} \u{8} \u{c} \n \r \t \u{1f} \u{7f}", "naïve ü", ""] {
            let mut b = Vec::new();
            write_json_str(&mut b, s.as_bytes());
            assert_eq!(b, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
        for n in [0u64, 7, 10, 99, 1234567890, u64::MAX] {
            let mut b = Vec::new();
            write_u64(&mut b, n);
            assert_eq!(b, n.to_string().as_bytes());
        }
        let engine = Engine::with_default_packs().unwrap();
        let mut json = JsonLines::new(&engine);
        for (i, spec) in engine.detectors().enumerate() {
            for (conf, raw, show) in [(0.85f32, &b"jean.dupont@example.fr"[..], false), (0.3333, b"FR76 3000 \"6000\"", true), (1.0, b"\xff\x01x", true)] {
                json.buf.clear();
                json.record(b"\"a\\\\b.log\"", 3, 4, 9, i, conf, raw, show);
                let rec = ScanRecord {
                    path: "a\\b.log",
                    line: 3,
                    start: 4,
                    end: 9,
                    detector: &spec.id,
                    category: spec.category.as_str(),
                    special: spec.special,
                    confidence: round_confidence(conf),
                    preview: mask::preview(&spec.id, raw),
                    value: show.then(|| String::from_utf8_lossy(raw).into_owned()),
                };
                let mut want = serde_json::to_vec(&rec).unwrap();
                want.push(b'\n');
                assert_eq!(String::from_utf8_lossy(&json.buf), String::from_utf8_lossy(&want));
            }
        }
    }
}
