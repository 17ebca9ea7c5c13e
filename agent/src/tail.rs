//! Log tailing: discover files by glob, follow each *file* (not name) to its end, hand out
//! complete lines.
//!
//! # Identity: the rules
//! Finding ids are made from a line's identity and its position (byte offset) in its file,
//! never from the file's name, so that a line read again — after a kill, under another name —
//! gets the id it had, and the collector stores it once. The identity of a line is
//! `dev:inode:generation:head`, where:
//! - **dev, inode**: the file's, while it is followed (through an open handle) and in its
//!   checkpoint;
//! - **generation**: 0 for a file first seen without a checkpoint; one more each time the file
//!   is found truncated or rewritten in place (copytruncate: it shrank below what was read or
//!   known of it, or its first bytes changed). It is persisted in the checkpoint, and the new
//!   generation is made durable (a checkpoint saying "generation g+1, offset 0") **before** any
//!   line of it is read, so a restart computes the same number (no wall clock involved). At a
//!   (re)start, a file whose checkpoint no longer matches it (shrunk, or other first bytes) is
//!   generation checkpoint+1 by the same rule; a file without a checkpoint is generation 0.
//! - **head**: a hash of the file's first `min(HEAD_BYTES, end of the line)` bytes. Once a file
//!   has [`HEAD_BYTES`] bytes its head is fixed: every later line shares it. A line in the first
//!   `HEAD_BYTES` of a file hashes the bytes up to its own end, which never change while the
//!   file is only appended to: a restart recomputes the same value however long the file has
//!   grown since (no "head length at first sight" to remember). The head tells a reused inode
//!   from the file that had it.
//!
//! A checkpoint (`checkpoint.rs`) is keyed by `dev:inode` and holds the offset, the generation
//! and the hash of the head bytes known when it was taken (`head_len` ≤ `HEAD_BYTES`): a
//! restart resumes a file when its first `head_len` bytes still hash alike and it is not shorter
//! than the offset. A checkpointed file renamed out of the globs while the agent was down is
//! looked for by `dev:inode` in the directory it was last seen in, and read to its end, when
//! its whole head (`HEAD_BYTES`) still matches.
//!
//! What these rules cannot tell apart (the only ways to lose or duplicate): a file truncated and
//! rewritten, while the agent was down or between two polls, with the same first bytes and at
//! least as long as the read offset is taken for the same file (its rewritten part before the
//! offset is not read); lines byte-identical, at the same offset, in the same inode and
//! generation are the same line.
//!
//! # Rotation
//! Files are followed through an open handle. After rename-and-create rotation the old handle
//! still reads the renamed file, so it is read to its end (and for a grace period while the
//! application may still be writing to it) before it is left; the new file at the path is a new
//! identity, read from its beginning. A file truncated in place (copytruncate) is the same
//! file in its next generation, read again from 0.
//! Compressed rotated files (`*.gz`) are ignored unless the source sets `include_compressed`,
//! in which case each is read once, decompressed (its head is that of the compressed bytes).
//!
//! # Bounded memory
//! Lines are bytes (invalid UTF-8 kept as is); a line longer than `max_line_bytes` is handed
//! out in pieces (counted as overlong, never dropped). Each file gets a read budget per poll so
//! one huge file cannot starve the others.

use crate::checkpoint::{Checkpoint, Checkpoints};
use crate::config::{LogSource, ReadFrom};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Bytes of a file's head in its identity, once it has that many.
pub const HEAD_BYTES: u64 = 256;
/// Bytes read from one file per poll at most.
const READ_BUDGET: u64 = 32 << 20;

/// One line (or one piece of an overlong line) read from a file.
#[derive(Debug)]
pub struct LogLine<'a> {
    /// The file's current path.
    pub path: &'a Path,
    /// The line's identity (`dev:inode:generation:head`, see the module documentation).
    pub identity: &'a str,
    /// 1-based line number in this file.
    pub line: u64,
    /// Byte offset of the line (or piece) in the file.
    pub offset: u64,
    /// The bytes, without the newline.
    pub bytes: &'a [u8],
    /// True when this is a piece of a line longer than the configured maximum.
    pub piece: bool,
    /// Report only matches starting before this byte of `bytes`: the rest of a piece that more
    /// pieces of its line follow is given again, whole, at the start of the next piece, so a
    /// value across the boundary is seen whole (see [`piece_cut`]).
    pub report_before: usize,
    /// Index of the `[[log]]` source the file was found by (its format, its watches).
    pub source: usize,
}

/// Bytes a piece of an overlong line shares with the next one: longer than any value.
const OVERLAP: usize = 4096;

/// Where the next piece of an overlong line starts within `window` (a piece of at most
/// `max_line_bytes`): after the last separator at least [`OVERLAP`] bytes before its end, so the
/// next piece starts at a token boundary and a value across the boundary is in one piece whole.
/// A window too short to overlap is not overlapped.
fn piece_cut(window: &[u8]) -> usize {
    if window.len() <= 2 * OVERLAP {
        return window.len();
    }
    let limit = window.len() - OVERLAP;
    window[..limit]
        .iter()
        .rposition(|b| matches!(b, b' ' | b'\t' | b',' | b';' | b'"' | b'\'' | b'|' | b'&' | b'<' | b'>' | b'^' | b'~'))
        .map_or(limit, |i| i + 1)
}

/// What a poll did.
#[derive(Debug, Default, Clone, Copy)]
pub struct PollStats {
    /// Bytes read.
    pub bytes: u64,
    /// Complete lines (or pieces) handed out.
    pub lines: u64,
    /// Lines longer than the maximum.
    pub overlong: u64,
}

struct Followed {
    file: File,
    path: PathBuf,
    dev: u64,
    ino: u64,
    generation: u64,
    /// The file's first bytes as far as known (at most `HEAD_BYTES`).
    head: Vec<u8>,
    /// The identity of lines ending past the head, once the head is complete.
    fixed: Option<String>,
    /// A new generation not yet in a durable checkpoint: nothing is read until it is.
    hold: bool,
    /// Next byte to read.
    offset: u64,
    /// Complete lines so far.
    lines: u64,
    partial: Vec<u8>,
    partial_offset: u64,
    pieces: u32,
    max_line: usize,
    /// Index of the source that found it.
    src: usize,
    /// The path still points at this file.
    present: bool,
    last_growth: Instant,
    compressed: bool,
}

/// Follows the files matched by the configured globs.
pub struct Tailer {
    sources: Vec<LogSource>,
    followed: Vec<Followed>,
    /// The last durable checkpoints (from disk at start, then each [`Tailer::saved`]).
    saved: Option<Checkpoints>,
    started: bool,
    /// Files present at start are read whole even with `read_from = "end"`.
    read_whole: bool,
    reported: HashMap<PathBuf, String>,
    orphan_grace: Duration,
}

fn hash_hex(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..8])
}

fn read_head(file: &File, len: u64) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len as usize];
    file.read_exact_at(&mut buf, 0)?;
    Ok(buf)
}

/// `dev:inode` out of a checkpoint key (`dev:inode`, or the older `dev:inode:hash[:t…]`).
fn key_dev_ino(key: &str) -> Option<(u64, u64)> {
    let mut it = key.split(':');
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// Lines before `upto`, so that line numbers stay true when reading starts at the end of a
/// file. Files larger than [`COUNT_LINES_LIMIT`] are not counted (numbers are then relative
/// to where reading started).
fn count_lines(file: &File, upto: u64) -> u64 {
    if upto > COUNT_LINES_LIMIT {
        return 0;
    }
    let mut buf = vec![0u8; 1 << 20];
    let (mut at, mut n) = (0u64, 0u64);
    while at < upto {
        let want = buf.len().min((upto - at) as usize);
        match file.read_at(&mut buf[..want], at) {
            Ok(0) | Err(_) => break,
            Ok(k) => {
                n += memchr::memchr_iter(b'\n', &buf[..k]).count() as u64;
                at += k as u64;
            }
        }
    }
    n
}

/// See [`count_lines`].
const COUNT_LINES_LIMIT: u64 = 256 << 20;

fn is_compressed(p: &Path) -> bool {
    p.extension().is_some_and(|x| x == "gz")
}

/// Where a file starts being read.
struct Start {
    generation: u64,
    offset: u64,
    lines: u64,
    hold: bool,
}

impl Tailer {
    /// A tailer over these sources, resuming from `saved` checkpoints (`None` on a first start:
    /// then files present at start honour `read_from`).
    pub fn new(sources: Vec<LogSource>, saved: Option<Checkpoints>) -> Self {
        Tailer { sources, followed: Vec::new(), saved, started: false, read_whole: false, reported: HashMap::new(), orphan_grace: Duration::from_secs(2) }
    }

    /// Files present at start are read from their beginning whatever `read_from` says (the
    /// agent ran before but its checkpoints are gone: their end would skip what was written
    /// while it was down).
    pub fn read_whole_files(&mut self) {
        self.read_whole = true;
    }

    /// How long a rotated-away or deleted file is still read after its last growth.
    pub fn set_orphan_grace(&mut self, d: Duration) {
        self.orphan_grace = d;
    }

    /// Number of files followed.
    pub fn followed(&self) -> usize {
        self.followed.len()
    }

    /// True when a checkpoint must be saved before reading on: a first start (files skipped
    /// by `read_from = "end"` must stay skipped after a kill), or a new generation waiting.
    pub fn needs_checkpoint(&self) -> bool {
        (self.started && self.saved.is_none()) || self.followed.iter().any(|f| f.hold)
    }

    /// Tells the tailer that `c` (taken by [`Tailer::checkpoints`], nothing polled since) is
    /// durable: new generations in it can be read.
    pub fn saved(&mut self, c: Checkpoints) {
        for f in &mut self.followed {
            f.hold = false;
        }
        self.saved = Some(c);
    }

    /// Paths currently matched by the globs, with their source.
    fn discover(&self) -> Vec<(PathBuf, usize)> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for (i, s) in self.sources.iter().enumerate() {
            for pattern in &s.paths {
                let Ok(paths) = glob::glob(pattern) else { continue };
                for p in paths.flatten() {
                    // Dangling links are kept so that the failure to open them is reported.
                    let wanted = p.is_file() || (p.is_symlink() && !p.is_dir());
                    if wanted && (!is_compressed(&p) || s.include_compressed) && seen.insert(p.clone()) {
                        out.push((p, i));
                    }
                }
            }
        }
        out
    }

    /// Looks for new files when `rescan` (or on the first poll), then reads everything appended
    /// to every followed file and calls `emit` for each complete line. Unreadable files are
    /// reported through `warn` once (until they become readable again).
    pub fn poll(&mut self, rescan: bool, emit: &mut dyn FnMut(LogLine<'_>), warn: &mut dyn FnMut(&Path, &str)) -> PollStats {
        let first = !self.started;
        self.started = true;
        let mut stats = PollStats::default();
        if rescan || first {
            for f in &mut self.followed {
                f.present = false;
            }
            for (path, src) in self.discover() {
                if let Err(e) = self.track(&path, src, first, emit, &mut stats) {
                    let msg = e.to_string();
                    if self.reported.get(&path) != Some(&msg) {
                        warn(&path, &msg);
                        self.reported.insert(path.clone(), msg);
                    }
                } else {
                    self.reported.remove(&path);
                }
            }
            if first {
                self.find_moved(emit, &mut stats);
            }
        }
        let grace = self.orphan_grace;
        let mut i = 0;
        while i < self.followed.len() {
            let f = &mut self.followed[i];
            match f.read_new(emit, &mut stats) {
                Ok(_) => {}
                Err(e) => warn(&f.path, &e.to_string()),
            }
            if !f.present && !f.hold && f.last_growth.elapsed() >= grace {
                // Rotated away or deleted, read to its end, quiet for a while: leave it.
                f.flush_partial(emit, &mut stats);
                tracing::debug!(path = %f.path.display(), "left a rotated or deleted file after reading it to its end");
                self.followed.swap_remove(i);
                continue;
            }
            i += 1;
        }
        stats
    }

    /// At start: checkpointed files no glob matches any more (renamed out of them while the
    /// agent was down) are looked for by `dev:inode` where they were last seen, and read to
    /// their end.
    fn find_moved(&mut self, emit: &mut dyn FnMut(LogLine<'_>), stats: &mut PollStats) {
        let Some(saved) = &self.saved else { return };
        let mut missing: Vec<(u64, u64, Checkpoint)> = Vec::new();
        for (key, cp) in &saved.files {
            // Only a file identified by its whole head: an inode freed and reused elsewhere in
            // the directory (a copytruncate copy of a file with the same first line) is not the
            // file we followed.
            if let Some((dev, ino)) = key_dev_ino(key)
                && cp.head_len == HEAD_BYTES
                && !self.followed.iter().any(|f| f.dev == dev && f.ino == ino)
            {
                missing.push((dev, ino, cp.clone()));
            }
        }
        let mut listed: HashMap<PathBuf, Vec<(PathBuf, u64, u64)>> = HashMap::new();
        for (dev, ino, cp) in missing {
            let last = cp.path.clone();
            let Some(dir) = last.parent() else { continue };
            let entries = listed.entry(dir.to_path_buf()).or_insert_with(|| {
                std::fs::read_dir(dir)
                    .map(|rd| rd.flatten().filter_map(|e| e.metadata().ok().filter(|m| m.is_file()).map(|m| (e.path(), m.dev(), m.ino()))).collect())
                    .unwrap_or_default()
            });
            let Some((path, _, _)) = entries.iter().find(|(_, d, i)| *d == dev && *i == ino).cloned() else { continue };
            let same = File::open(&path).and_then(|f| {
                let size = f.metadata()?.len();
                Ok(size >= cp.offset.max(cp.head_len) && hash_hex(&read_head(&f, cp.head_len)?) == cp.head_hash)
            });
            if !matches!(same, Ok(true)) {
                continue;
            }
            let src = self.sources.iter().position(|s| s.paths.iter().any(|g| glob::Pattern::new(g).is_ok_and(|g| g.matches_path(&last)))).unwrap_or(0);
            if self.sources.is_empty() {
                return;
            }
            match self.track(&path, src, false, emit, stats) {
                Ok(()) => {
                    if let Some(f) = self.followed.iter_mut().find(|f| f.dev == dev && f.ino == ino) {
                        f.present = false; // read to its end, then left
                        tracing::info!(path = %path.display(), was = %last.display(), "a followed file was renamed out of the globs while the agent was down: reading it to its end");
                    }
                }
                Err(e) => tracing::warn!(path = %path.display(), error = %e, "cannot read a file renamed while the agent was down"),
            }
        }
    }

    /// Where reading of a newly tracked file starts, from its durable checkpoint if any.
    fn start_of(&self, file: &File, dev: u64, ino: u64, size: u64, may_skip: bool) -> io::Result<Start> {
        let cp = self.saved.as_ref().and_then(|s| s.files.iter().find(|(k, _)| key_dev_ino(k) == Some((dev, ino))).map(|(_, cp)| cp));
        if let Some(cp) = cp {
            let same = cp.head_len <= size.min(HEAD_BYTES) && cp.offset <= size && hash_hex(&read_head(file, cp.head_len)?) == cp.head_hash;
            if same {
                return Ok(Start { generation: cp.generation, offset: cp.offset, lines: cp.lines, hold: false });
            }
            // Truncated or rewritten while we were away (or a reused inode): the next
            // generation, made durable before it is read.
            return Ok(Start { generation: cp.generation + 1, offset: 0, lines: 0, hold: true });
        }
        // Files present at the very first start honour read_from; later ones are new.
        let at_end = may_skip && self.saved.is_none() && !self.read_whole;
        let offset = if at_end { size } else { 0 };
        let lines = if offset > 0 { count_lines(file, offset) } else { 0 };
        Ok(Start { generation: 0, offset, lines, hold: false })
    }

    /// Starts following `path` if it is a file not followed yet.
    fn track(&mut self, path: &Path, src: usize, first: bool, emit: &mut dyn FnMut(LogLine<'_>), stats: &mut PollStats) -> io::Result<()> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        let (dev, ino, size) = (meta.dev(), meta.ino(), meta.len());
        if let Some(f) = self.followed.iter_mut().find(|f| f.dev == dev && f.ino == ino) {
            f.present = true;
            if f.path != path {
                f.path = path.to_path_buf();
            }
            return Ok(());
        }
        let source = &self.sources[src];
        let compressed = is_compressed(path);
        let may_skip = first && source.read_from == ReadFrom::End && !compressed;
        let start = self.start_of(&file, dev, ino, size, may_skip)?;
        let head = if start.hold { Vec::new() } else { read_head(&file, size.min(HEAD_BYTES))? };
        let mut f = Followed {
            file,
            path: path.to_path_buf(),
            dev,
            ino,
            generation: start.generation,
            head,
            fixed: None,
            hold: start.hold,
            offset: start.offset,
            lines: start.lines,
            partial: Vec::new(),
            partial_offset: start.offset,
            pieces: 0,
            max_line: source.max_line_bytes.max(1),
            src,
            present: true,
            last_growth: Instant::now(),
            compressed,
        };
        if start.hold {
            tracing::info!(path = %f.path.display(), generation = f.generation, "file truncated or rewritten while the agent was down: reading it again from the start");
        }
        f.fix_head();
        if compressed {
            if f.offset < size {
                f.read_compressed(emit, stats)?;
            }
            f.offset = size;
        }
        self.followed.push(f);
        Ok(())
    }

    /// Hands out the unterminated last line of every file (when a one-shot run ends).
    pub fn flush_partial_lines(&mut self, emit: &mut dyn FnMut(LogLine<'_>)) {
        let mut stats = PollStats::default();
        for f in &mut self.followed {
            f.flush_partial(emit, &mut stats);
        }
    }

    /// The checkpoints of every followed file (offsets of fully consumed lines).
    pub fn checkpoints(&self) -> Checkpoints {
        let mut c = Checkpoints::default();
        for f in &self.followed {
            c.files.insert(
                format!("{}:{}", f.dev, f.ino),
                Checkpoint {
                    path: f.path.clone(),
                    offset: f.partial_offset,
                    lines: f.lines,
                    head_len: f.head.len() as u64,
                    head_hash: hash_hex(&f.head),
                    generation: f.generation,
                },
            );
        }
        c
    }
}

impl Followed {
    /// Fixes the identity of lines past the head once the head is complete.
    fn fix_head(&mut self) {
        if self.fixed.is_none() && (self.head.len() as u64 >= HEAD_BYTES || self.compressed) {
            self.fixed = Some(format!("{}:{}:{}:{}", self.dev, self.ino, self.generation, hash_hex(&self.head)));
        }
    }

    /// The identity of a line (or piece) whose bytes end at `end` (see the module doc).
    fn identity(&self, end: u64) -> Cow<'_, str> {
        match &self.fixed {
            Some(id) if end >= HEAD_BYTES || self.compressed => Cow::Borrowed(id.as_str()),
            _ => {
                let upto = (end.min(HEAD_BYTES) as usize).min(self.head.len());
                Cow::Owned(format!("{}:{}:{}:{}", self.dev, self.ino, self.generation, hash_hex(&self.head[..upto])))
            }
        }
    }

    /// The file shrank below what we know of it, or its first bytes changed.
    fn truncated(&self, size: u64) -> io::Result<bool> {
        let known = self.head.len() as u64;
        if size < self.offset.max(known) {
            return Ok(true);
        }
        Ok(known > 0 && read_head(&self.file, known)? != self.head)
    }

    fn read_new(&mut self, emit: &mut dyn FnMut(LogLine<'_>), stats: &mut PollStats) -> io::Result<()> {
        if self.compressed || self.hold {
            return Ok(());
        }
        let size = self.file.metadata()?.len();
        if self.truncated(size)? {
            // Truncated in place (copytruncate): the next generation, read from 0 once it is
            // in a durable checkpoint.
            self.flush_partial(emit, stats);
            self.generation += 1;
            self.head.clear();
            self.fixed = None;
            self.offset = 0;
            self.partial_offset = 0;
            self.lines = 0;
            self.hold = true;
            tracing::info!(path = %self.path.display(), generation = self.generation, "file truncated (copytruncate?): reading it again from the start");
            return Ok(());
        }
        if size == self.offset {
            return Ok(());
        }
        self.file.seek(SeekFrom::Start(self.offset))?;
        let mut budget = READ_BUDGET;
        let mut buf = vec![0u8; 256 * 1024];
        while budget > 0 {
            let want = buf.len().min(budget as usize);
            let n = match self.file.read(&mut buf[..want]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            budget -= n as u64;
            stats.bytes += n as u64;
            self.last_growth = Instant::now();
            self.consume(&buf[..n], emit, stats);
        }
        Ok(())
    }

    fn read_compressed(&mut self, emit: &mut dyn FnMut(LogLine<'_>), stats: &mut PollStats) -> io::Result<()> {
        let mut handle = self.file.try_clone()?;
        handle.seek(SeekFrom::Start(0))?;
        let mut gz = flate2::read::MultiGzDecoder::new(handle);
        let mut buf = vec![0u8; 256 * 1024];
        // Offsets of a compressed file count decompressed bytes.
        self.offset = 0;
        self.partial_offset = 0;
        loop {
            let n = match gz.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            stats.bytes += n as u64;
            self.consume(&buf[..n], emit, stats);
        }
        self.flush_partial(emit, stats);
        Ok(())
    }

    fn consume(&mut self, mut data: &[u8], emit: &mut dyn FnMut(LogLine<'_>), stats: &mut PollStats) {
        // The head as far as known: these bytes are the file's from `offset`.
        let known = self.head.len() as u64;
        if !self.compressed && known < HEAD_BYTES && self.offset <= known && known < self.offset + data.len() as u64 {
            let from = (known - self.offset) as usize;
            let take = (HEAD_BYTES - known) as usize;
            self.head.extend_from_slice(&data[from..data.len().min(from + take)]);
            self.fix_head();
        }
        while !data.is_empty() {
            match memchr::memchr(b'\n', data) {
                Some(i) => {
                    let next_offset = self.offset + i as u64 + 1;
                    let n = self.lines + 1;
                    if self.partial.is_empty() {
                        let mut line = &data[..i];
                        if line.ends_with(b"\r") {
                            line = &line[..line.len() - 1];
                        }
                        self.emit_bounded(n, self.offset, line, emit, stats);
                    } else {
                        self.partial.extend_from_slice(&data[..i]);
                        if self.partial.ends_with(b"\r") {
                            self.partial.pop();
                        }
                        let partial = std::mem::take(&mut self.partial);
                        self.emit_bounded(n, self.partial_offset, &partial, emit, stats);
                        self.partial = partial;
                        self.partial.clear();
                    }
                    self.lines = n;
                    self.pieces = 0;
                    self.offset = next_offset;
                    self.partial_offset = next_offset;
                    data = &data[i + 1..];
                }
                None => {
                    self.partial.extend_from_slice(data);
                    self.offset += data.len() as u64;
                    // An overlong unterminated line: hand out full pieces now, keep the rest.
                    while self.partial.len() >= self.max_line {
                        if self.pieces == 0 {
                            stats.overlong += 1;
                        }
                        let window = &self.partial[..self.max_line];
                        let cut = piece_cut(window);
                        let identity = self.identity(self.partial_offset + window.len() as u64);
                        emit(LogLine {
                            path: &self.path,
                            identity: &identity,
                            line: self.lines + 1,
                            offset: self.partial_offset,
                            bytes: window,
                            piece: true,
                            report_before: cut,
                            source: self.src,
                        });
                        stats.lines += 1;
                        drop(identity);
                        self.partial.drain(..cut);
                        self.partial_offset += cut as u64;
                        self.pieces += 1;
                    }
                    data = &[];
                }
            }
        }
    }

    fn emit_bounded(&self, line: u64, mut offset: u64, bytes: &[u8], emit: &mut dyn FnMut(LogLine<'_>), stats: &mut PollStats) {
        let piece = self.pieces > 0 || bytes.len() > self.max_line;
        if bytes.len() > self.max_line && self.pieces == 0 {
            stats.overlong += 1;
        }
        let mut rest = bytes;
        loop {
            let (window, cut) = if rest.len() > self.max_line {
                let window = &rest[..self.max_line];
                (window, piece_cut(window))
            } else {
                (rest, rest.len())
            };
            let identity = self.identity(offset + window.len() as u64);
            let report_before = if window.len() == rest.len() { usize::MAX } else { cut };
            emit(LogLine { path: &self.path, identity: &identity, line, offset, bytes: window, piece, report_before, source: self.src });
            stats.lines += 1;
            if window.len() == rest.len() {
                break;
            }
            rest = &rest[cut..];
            offset += cut as u64;
        }
    }

    fn flush_partial(&mut self, emit: &mut dyn FnMut(LogLine<'_>), stats: &mut PollStats) {
        if self.partial.is_empty() {
            return;
        }
        self.lines += 1;
        let partial = std::mem::take(&mut self.partial);
        let piece = self.pieces > 0;
        let identity = self.identity(self.partial_offset + partial.len() as u64);
        emit(LogLine {
            path: &self.path,
            identity: &identity,
            line: self.lines,
            offset: self.partial_offset,
            bytes: &partial,
            piece,
            report_before: usize::MAX,
            source: self.src,
        });
        drop(identity);
        stats.lines += 1;
        self.partial_offset += partial.len() as u64;
        self.pieces = 0;
    }
}

#[cfg(test)]
mod tests;
