//! One-shot scans (`custos-agent scan PATH...`): like ripgrep, but for personal data.
//!
//! Files are read in large chunks cut at line boundaries and each chunk is scanned in one pass;
//! line numbers are counted only up to each detection. Directories are walked recursively
//! (symbolic links to directories are not followed, so a loop cannot trap the walk); files that
//! look binary (a NUL byte in their first 8 KiB) are skipped.

//! [`output`] is the one writer of what a scan prints; [`forensic`] runs the export-anomaly
//! heuristics over logs read after the fact (`--detect`); [`parallel`] spreads the files of a
//! scan over every core (`--threads`) with the output of a single-threaded run.

pub mod forensic;
pub mod output;
pub mod parallel;

use crate::datastore::{self, Location};
use custos_rules::{Engine, FingerprintKey};
use output::ScanOutput;
use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Chunk size for reading files (a chunk ends at a line boundary unless a line is longer).
const CHUNK: usize = 8 << 20;

/// When a line is longer than a chunk, the chunk is cut at a separator at least this far
/// before its end, and a match that starts before the cut is reported whole (it ends within
/// the chunk: no detected value is this long); the rest of the chunk is scanned again with
/// the next one. So a value across a chunk boundary is found once, whole.
const OVERLAP: usize = 4096;

/// Where to cut a chunk without a newline: the last separator before `len - OVERLAP` (so the
/// next chunk starts at a token boundary), or `len - OVERLAP` if there is none.
fn cut_inside_line(data: &[u8]) -> usize {
    let limit = data.len().saturating_sub(OVERLAP);
    data[..limit].iter().rposition(|b| matches!(b, b' ' | b'\t' | b',' | b';' | b'"' | b'\'' | b'|' | b'&' | b'<' | b'>')).map_or(limit, |i| i + 1)
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
    /// Export-anomaly heuristics to run over the logs (text files, `.gz` included).
    pub detect: forensic::Detect,
    /// Their thresholds (the `[anomaly]` section's defaults unless said).
    pub anomaly: crate::config::AnomalyConfig,
    /// Files scanned at once (0: one per core). A file is always scanned by one thread.
    pub threads: usize,
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

/// One-shot scan of the command line's locations: plain text files are listed match by match
/// (like ripgrep); structured and compressed files and database tables are
/// reported per column.
pub fn scan_locations(engine: &Engine, locations: &[String], sample_rows: u64, opts: &ScanOptions, out: &mut (dyn Write + Send)) -> io::Result<ScanSummary> {
    // Fingerprints only count distinct values here; a key made for this run is enough.
    let key = FingerprintKey::new(rand::random::<[u8; 32]>().to_vec()).ok_or_else(|| io::Error::other("fingerprint key"))?;
    let mut summary = ScanSummary::default();
    let mut out = ScanOutput::new(engine, out, opts.json, opts.show_values);
    let mut paths = Vec::new();
    let mut databases = Vec::new();
    for l in locations {
        match Location::parse(l) {
            Location::Path(p) => paths.push(p),
            db => databases.push(db),
        }
    }
    let threads = parallel::threads(opts.threads);
    let mut walk_errors = 0;
    let files = crate::discovery::walk(&paths, &mut |p, e| {
        walk_errors += 1;
        eprintln!("custos-agent: {}: {e}", p.display());
    });
    summary.errors += walk_errors;
    let (text, structured): (Vec<PathBuf>, Vec<PathBuf>) = files.into_iter().partition(|f| match datastore::files::Format::of(f) {
        (datastore::files::Format::Text, false) => true,
        // Match listings read plain bytes; compressed files keep their per-file summary.
        (_, gz) => opts.matches && !gz,
    });
    if !text.is_empty() {
        let s = scan_paths(engine, &text, &mut out, threads)?;
        summary.files += s.files;
        summary.bytes += s.bytes;
        summary.findings += s.findings;
        summary.errors += s.errors;
    }
    let terminal = io::stderr().is_terminal();
    // What the scan learns of file and table sizes sizes the exports its logs show.
    let sizes = crate::anomaly::SizeHints::default();
    let places = opts.anomaly.places();
    // Classified on every core, reported in the walk's order.
    let classified = std::sync::atomic::AtomicUsize::new(0);
    let reports = parallel::map_ordered(&structured, threads, |f| {
        if terminal {
            let i = classified.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            eprint!("\rscanning file {}/{}: {}   ", i + 1, structured.len(), f.display());
        }
        std::fs::metadata(f).and_then(|m| Ok((datastore::files::classify_file(engine, &key, f)?, datastore::mtime_s(&m))))
    });
    for (f, report) in structured.iter().zip(reports) {
        match report {
            Ok((r, _)) if r.binary => {}
            Ok((r, mtime)) => {
                summary.files += 1;
                summary.bytes += r.bytes;
                sizes.record_file(f, r.rows);
                for cf in datastore::file_findings(f, places.kind(f), &r, mtime) {
                    summary.findings += 1;
                    out.column(engine, &cf)?;
                }
            }
            Err(e) => {
                summary.errors += 1;
                eprintln!("custos-agent: {}: {e}", f.display());
            }
        }
    }
    if terminal && !structured.is_empty() {
        eprintln!();
    }
    for db in &databases {
        let mut progress = |table: &str| {
            if terminal {
                eprint!("\rclassifying {}/{table}          ", db.display());
            }
        };
        match datastore::classify_database(engine, &key, db, sample_rows, &mut progress) {
            Ok(tables) => {
                if terminal {
                    eprintln!();
                }
                for t in &tables {
                    sizes.record_table(&db.database_name(), &t.table, t.estimated_rows.max(t.sampled_rows));
                    for cf in datastore::table_findings(db, t) {
                        summary.findings += 1;
                        out.column(engine, &cf)?;
                    }
                }
            }
            Err(e) => {
                summary.errors += 1;
                eprintln!("custos-agent: {e}");
            }
        }
    }
    if opts.detect != forensic::Detect::Off {
        // Logs: text files, compressed or not (rotated logs are `.gz`).
        let logs: Vec<PathBuf> = crate::discovery::walk(&paths, &mut |_, _| {})
            .into_iter()
            .filter(|f| matches!(datastore::files::Format::of(f), (datastore::files::Format::Text, _)))
            .collect();
        for f in &logs {
            match forensic::scan_log(engine, f, &opts.detect, &opts.anomaly, &sizes, &mut out) {
                Ok(n) => summary.findings += n,
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Err(e),
                Err(e) => {
                    summary.errors += 1;
                    eprintln!("custos-agent: {}: {e}", f.display());
                }
            }
        }
    }
    Ok(summary)
}

/// Scans files and prints findings to `out`, on `threads` threads (see [`parallel`]: the
/// output is the same whatever their number). Errors go to stderr and are counted.
pub fn scan_paths(engine: &Engine, paths: &[PathBuf], out: &mut ScanOutput<'_>, threads: usize) -> io::Result<ScanSummary> {
    let mut summary = ScanSummary::default();
    let report = |p: &Path, e: &io::Error| {
        eprintln!("custos-agent: {}: {e}", p.display());
    };
    let mut walk_errors = 0u64;
    let files = crate::discovery::walk(paths, &mut |p, e| {
        walk_errors += 1;
        report(p, e)
    });
    summary.errors += walk_errors;
    let total: u64 = files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
    let progress = Progress::new(total);
    out.match_header()?;
    /// What one thread carries from file to file: its read buffer, detections and totals.
    #[derive(Default)]
    struct Worker {
        buf: Vec<u8>,
        detections: Vec<custos_rules::Detection>,
        summary: ScanSummary,
    }
    let scan_one =
        |f: &PathBuf, out: &mut ScanOutput<'_>, w: &mut Worker| match scan_file(engine, f, out, &mut w.buf, &mut w.detections, &progress, &mut w.summary) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(e),
            Err(e) => {
                w.summary.errors += 1;
                report(f, &e);
                Ok(())
            }
        };
    let workers = if threads <= 1 || files.len() <= 1 {
        let mut w = Worker::default();
        for f in &files {
            scan_one(f, out, &mut w)?;
        }
        vec![w]
    } else {
        let (json, show_values) = out.form();
        parallel::for_each_ordered(&files, threads, out.writer()?, |f, writer, w: &mut Worker| {
            let mut file_out = ScanOutput::new(engine, writer, json, show_values);
            scan_one(f, &mut file_out, w)?;
            file_out.flush_matches()
        })?
    };
    for w in workers {
        summary.files += w.summary.files;
        summary.bytes += w.summary.bytes;
        summary.findings += w.summary.findings;
        summary.errors += w.summary.errors;
    }
    progress.finish();
    Ok(summary)
}

fn scan_file(
    engine: &Engine,
    path: &Path,
    out: &mut ScanOutput<'_>,
    buf: &mut Vec<u8>,
    detections: &mut Vec<custos_rules::Detection>,
    progress: &Progress,
    summary: &mut ScanSummary,
) -> io::Result<()> {
    let mut file = File::open(path)?;
    // Masked (unless --show-values) and escaped once per file, not once per finding.
    let (path_str, path_json) = out.path_names(engine, path)?;
    // `buf` holds the unscanned tail of the last chunk (a partial line), then what is read
    // after it. Reading through `take(..).read_to_end` fills its spare capacity without zeroing
    // it first (a zeroed 8 MiB buffer cost every run 2 ms and 2,048 page faults, even for a
    // small file).
    buf.clear();
    buf.reserve(CHUNK);
    let mut line_no: u64 = 1; // line number at `line_start`
    // Bytes of the current line left behind in earlier chunks (a line longer than a chunk),
    // so that positions are from the start of the line.
    let mut carried: usize = 0;
    // Matches the previous chunk reported that reach into this one end here: a later match
    // starting before it is a piece of one already reported.
    let mut reported_to: usize = 0;
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
        let newline = memchr::memrchr(b'\n', data);
        let inside_line = !eof && newline.is_none() && data.len() > OVERLAP;
        let cut = if eof {
            data.len()
        } else if inside_line {
            cut_inside_line(data)
        } else {
            newline.map_or(data.len(), |i| i + 1)
        };
        // A line longer than a chunk is scanned to the chunk's end, so that a match starting
        // before the cut is seen whole; matches starting after it wait for the next chunk.
        let scanned = if inside_line { data } else { &data[..cut] };
        let chunk = &data[..cut];
        detections.clear();
        engine.scan(scanned, detections);
        detections.retain(|d| d.start < cut && d.start >= reported_to);
        let mut next_reported_to = 0;
        let mut line_start = 0usize;
        let mut base = carried;
        for d in detections.iter() {
            // Advance the line counter to the detection's line.
            // Detections often share a line: look for its last newline first, count only up to it.
            if let Some(i) = memchr::memrchr(b'\n', &chunk[line_start..d.start]) {
                line_no += memchr::memchr_iter(b'\n', &chunk[line_start..=line_start + i]).count() as u64;
                line_start += i + 1;
                base = 0;
            }
            let raw = &scanned[d.start..d.end];
            next_reported_to = next_reported_to.max(d.end.saturating_sub(cut));
            summary.findings += 1;
            out.matched(engine, &path_str, &path_json, line_no, base + d.start - line_start, base + d.end - line_start, d, raw)?;
        }
        out.flush_matches()?;
        let newlines = memchr::memchr_iter(b'\n', &chunk[line_start..]).count();
        line_no += newlines as u64;
        carried = match memchr::memrchr(b'\n', chunk) {
            Some(i) => cut - (i + 1),
            None => carried + cut,
        };
        reported_to = next_reported_to;
        summary.bytes += cut as u64;
        progress.add(cut as u64);
        buf.drain(..cut);
    }
    Ok(())
}

/// Progress on stderr for large scans, only when stderr is a terminal; shared by the threads.
struct Progress {
    total: u64,
    enabled: bool,
    /// Bytes done, and when progress was last printed.
    state: std::sync::Mutex<(u64, Instant)>,
    started: Instant,
}

impl Progress {
    fn new(total: u64) -> Self {
        let enabled = total > (64 << 20) && io::stderr().is_terminal();
        Progress { total, enabled, state: std::sync::Mutex::new((0, Instant::now())), started: Instant::now() }
    }
    fn add(&self, n: u64) {
        if !self.enabled {
            return;
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.0 += n;
        let now = Instant::now();
        if now.duration_since(state.1) >= Duration::from_millis(500) {
            let secs = self.started.elapsed().as_secs_f64().max(0.001);
            eprint!("\rscanned {:.0} / {:.0} MB ({:.0} MB/s)   ", state.0 as f64 / 1e6, self.total as f64 / 1e6, state.0 as f64 / 1e6 / secs);
            state.1 = now;
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
        let opts = ScanOptions { json: true, show_values: false, matches: true, ..ScanOptions::default() };
        let summary = scan_paths(&engine, std::slice::from_ref(&path), &mut ScanOutput::new(&engine, &mut out, opts.json, opts.show_values), 1).unwrap();
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
    fn a_value_across_the_boundary_of_a_line_longer_than_a_chunk_is_found_once_and_whole() {
        // One line of two and a half chunks: e-mails every 2,999 bytes, so some straddle each
        // cut wherever it falls; each must be found once, at its offset from the line's start.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("one-line.json");
        // Two values start 7 bytes before a multiple of the chunk size.
        let mut starts: Vec<usize> = (0..CHUNK * 5 / 2).step_by(2999).filter(|i| (i + 7) % CHUNK > 40).collect();
        starts.extend([CHUNK - 7, 2 * CHUNK - 7]);
        starts.sort();
        let mut line = Vec::with_capacity(CHUNK * 5 / 2);
        let mut planted = Vec::new();
        for at in starts {
            while line.len() + 6 <= at {
                line.extend_from_slice(b"lorem ");
            }
            line.resize(at, b' ');
            let email = format!("client{}@example.org", planted.len());
            planted.push((at as u64, (at + email.len()) as u64));
            line.extend_from_slice(email.as_bytes());
            line.push(b' ');
        }
        line.extend_from_slice(b"\nsecond line: last@example.org\n");
        std::fs::write(&path, &line).unwrap();
        let engine = Engine::with_default_packs().unwrap();
        let mut out = Vec::new();
        scan_paths(&engine, std::slice::from_ref(&path), &mut ScanOutput::new(&engine, &mut out, true, false), 1).unwrap();
        let got: Vec<(u64, u64, u64)> = out
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| {
                let v: serde_json::Value = serde_json::from_slice(l).unwrap();
                assert_eq!(v["detector"], "email", "{v}");
                (v["line"].as_u64().unwrap(), v["start"].as_u64().unwrap(), v["end"].as_u64().unwrap())
            })
            .collect();
        let mut want: Vec<(u64, u64, u64)> = planted.iter().map(|&(s, e)| (1, s, e)).collect();
        want.push((2, 13, 29));
        assert_eq!(got.len(), want.len(), "each value once");
        let diff: Vec<_> = got.iter().zip(&want).filter(|(g, w)| g != w).take(5).collect();
        assert!(diff.is_empty(), "every value whole, at its offset in its line: {diff:?}");
    }

    #[test]
    fn a_directory_scanned_on_several_threads_prints_what_one_thread_prints() {
        // Forty files of different sizes (one past a chunk, some empty, one binary, one in a
        // subdirectory): the table and the JSON Lines are byte for byte those of one thread.
        // (Structured files are classified on the threads too, but their records carry ages
        // in seconds, which may tick between two runs.)
        let dir = tempfile::tempdir().unwrap();
        for f in 0..40u64 {
            let mut text = String::new();
            let lines = if f == 3 { 120_000 } else { f * 37 % 500 };
            for i in 0..lines {
                text += &format!("{f}-{i} user{i}.{f}@example.org called +33 6 12 34 {:02} {:02} at 12:{:02}\n", i % 100, f % 100, i % 60);
            }
            std::fs::write(dir.path().join(format!("f{f:02}.log")), text).unwrap();
        }
        std::fs::write(dir.path().join("binary.bin"), b"\0\0 user@example.org").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/last.log"), "last@example.org\n").unwrap();
        let engine = Engine::with_default_packs().unwrap();
        let locations = vec![dir.path().to_string_lossy().into_owned()];
        for json in [true, false] {
            let run = |threads| {
                let mut out = Vec::new();
                let opts = ScanOptions { json, threads, ..ScanOptions::default() };
                let summary = scan_locations(&engine, &locations, 100, &opts, &mut out).unwrap();
                (out, summary.files, summary.findings, summary.bytes)
            };
            let one = run(1);
            assert!(one.2 > 240_000, "{} findings", one.2);
            for threads in [2, 4] {
                let many = run(threads);
                assert_eq!((many.1, many.2, many.3), (one.1, one.2, one.3), "totals with {threads} threads");
                assert!(many.0 == one.0, "output with {threads} threads differs from one thread's (json: {json})");
            }
        }
    }
}
