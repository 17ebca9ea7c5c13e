//! Log tailing: discover files by glob, follow each *file* (not name) to its end, hand out
//! complete lines.
//!
//! # Identity
//! A followed file is identified by device + inode **plus** a hash of its first bytes (up to
//! 256, fixed when first seen), so an inode number reused by a new file is not mistaken for the
//! old one. The identity is part of every finding id.
//!
//! # Rotation
//! Files are followed through an open handle. After rename-and-create rotation the old handle
//! still reads the renamed file, so it is read to its end (and for a grace period while the
//! application may still be writing to it) before it is left; the new file at the path is a new
//! identity, read from its beginning. A file that shrinks below the read offset was truncated
//! (copytruncate): what is there now is new content with a new identity, read from 0.
//! Compressed rotated files (`*.gz`) are ignored unless the source sets `include_compressed`,
//! in which case each is read once, decompressed.
//!
//! # Bounded memory
//! Lines are bytes (invalid UTF-8 kept as is); a line longer than `max_line_bytes` is handed
//! out in pieces (counted as overlong, never dropped). Each file gets a read budget per poll so
//! one huge file cannot starve the others.

use crate::checkpoint::{Checkpoint, Checkpoints};
use crate::config::{LogSource, ReadFrom};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Bytes of a file's head used in its identity.
const HEAD_BYTES: u64 = 256;
/// Bytes read from one file per poll at most.
const READ_BUDGET: u64 = 32 << 20;

/// One line (or one piece of an overlong line) read from a file.
#[derive(Debug)]
pub struct LogLine<'a> {
    /// The file's current path.
    pub path: &'a Path,
    /// The file's identity (`dev:inode:headhash`).
    pub identity: &'a str,
    /// 1-based line number in this file.
    pub line: u64,
    /// Byte offset of the line (or piece) in the file.
    pub offset: u64,
    /// The bytes, without the newline.
    pub bytes: &'a [u8],
    /// True when this is a piece of a line longer than the configured maximum.
    pub piece: bool,
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
    key: String,
    dev: u64,
    ino: u64,
    head_len: u64,
    head_hash: String,
    /// Next byte to read.
    offset: u64,
    /// Complete lines so far.
    lines: u64,
    partial: Vec<u8>,
    partial_offset: u64,
    pieces: u32,
    max_line: usize,
    /// The path still points at this file.
    present: bool,
    last_growth: Instant,
    compressed: bool,
}

/// Follows the files matched by the configured globs.
pub struct Tailer {
    sources: Vec<LogSource>,
    followed: Vec<Followed>,
    saved: Option<Checkpoints>,
    started: bool,
    reported: HashMap<PathBuf, String>,
    orphan_grace: Duration,
}

fn head_hash(file: &File, len: u64) -> io::Result<String> {
    let mut buf = vec![0u8; len as usize];
    file.read_exact_at(&mut buf, 0)?;
    Ok(hex::encode(&Sha256::digest(&buf)[..8]))
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

impl Tailer {
    /// A tailer over these sources, resuming from `saved` checkpoints (`None` on a first start:
    /// then files present at start honour `read_from`).
    pub fn new(sources: Vec<LogSource>, saved: Option<Checkpoints>) -> Self {
        Tailer { sources, followed: Vec::new(), saved, started: false, reported: HashMap::new(), orphan_grace: Duration::from_secs(2) }
    }

    /// How long a rotated-away or deleted file is still read after its last growth.
    pub fn set_orphan_grace(&mut self, d: Duration) {
        self.orphan_grace = d;
    }

    /// Number of files followed.
    pub fn followed(&self) -> usize {
        self.followed.len()
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
        }
        let grace = self.orphan_grace;
        let mut i = 0;
        while i < self.followed.len() {
            let f = &mut self.followed[i];
            match f.read_new(emit, &mut stats) {
                Ok(_) => {}
                Err(e) => warn(&f.path, &e.to_string()),
            }
            if !f.present && f.last_growth.elapsed() >= grace {
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
        if size == 0 {
            return Ok(()); // nothing to identify or read yet
        }
        let source = &self.sources[src];
        // A checkpoint for this inode whose head still matches: same file, resume.
        let prefix = format!("{dev}:{ino}:");
        let resumed = self.saved.as_ref().and_then(|s| {
            s.files
                .iter()
                .find(|(k, cp)| k.starts_with(&prefix) && cp.head_len <= size && head_hash(&file, cp.head_len).ok().as_deref() == Some(cp.head_hash.as_str()))
        });
        let compressed = is_compressed(path);
        let mut f = match resumed {
            Some((key, cp)) => Followed::new(
                file,
                path,
                key.clone(),
                dev,
                ino,
                cp.head_len,
                cp.head_hash.clone(),
                cp.offset.min(size),
                cp.lines,
                source.max_line_bytes,
                compressed,
            ),
            None => {
                let head_len = size.min(HEAD_BYTES);
                let hash = head_hash(&file, head_len)?;
                let key = format!("{dev}:{ino}:{hash}");
                // Files present at the very first start honour read_from; later ones are new.
                let offset = if first && self.saved.is_none() && source.read_from == ReadFrom::End && !compressed { size } else { 0 };
                let lines = if offset > 0 { count_lines(&file, offset) } else { 0 };
                Followed::new(file, path, key, dev, ino, head_len, hash, offset, lines, source.max_line_bytes, compressed)
            }
        };
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

    /// The checkpoints of every followed file (offsets of fully consumed lines), plus those
    /// restored from disk for files not seen yet in this run.
    pub fn checkpoints(&self) -> Checkpoints {
        let mut c = Checkpoints::default();
        for f in &self.followed {
            c.files.insert(
                f.key.clone(),
                Checkpoint { path: f.path.clone(), offset: f.partial_offset, lines: f.lines, head_len: f.head_len, head_hash: f.head_hash.clone() },
            );
        }
        c
    }
}

impl Followed {
    #[allow(clippy::too_many_arguments)]
    fn new(
        file: File,
        path: &Path,
        key: String,
        dev: u64,
        ino: u64,
        head_len: u64,
        head_hash: String,
        offset: u64,
        lines: u64,
        max_line: usize,
        compressed: bool,
    ) -> Self {
        Followed {
            file,
            path: path.to_path_buf(),
            key,
            dev,
            ino,
            head_len,
            head_hash,
            offset,
            lines,
            partial: Vec::new(),
            partial_offset: offset,
            pieces: 0,
            max_line: max_line.max(1),
            present: true,
            last_growth: Instant::now(),
            compressed,
        }
    }

    fn read_new(&mut self, emit: &mut dyn FnMut(LogLine<'_>), stats: &mut PollStats) -> io::Result<()> {
        if self.compressed {
            return Ok(());
        }
        let size = self.file.metadata()?.len();
        // Shrunk, or rewritten from the start (truncated then refilled past our offset between
        // two polls): the head no longer matches.
        let rewritten = size >= self.head_len && self.head_len > 0 && head_hash(&self.file, self.head_len)? != self.head_hash;
        if size < self.offset || rewritten {
            // Truncated in place (copytruncate): new content, new identity.
            self.flush_partial(emit, stats);
            let head_len = size.min(HEAD_BYTES);
            if head_len > 0 {
                self.head_hash = head_hash(&self.file, head_len)?;
            }
            self.head_len = head_len;
            self.key = format!("{}:{}:{}:t{}", self.dev, self.ino, self.head_hash, custos_proto::time::now_ms());
            self.offset = 0;
            self.partial_offset = 0;
            self.lines = 0;
            tracing::info!(path = %self.path.display(), "file truncated (copytruncate?): reading it again from the start");
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
                        let piece: Vec<u8> = self.partial.drain(..self.max_line).collect();
                        emit(LogLine { path: &self.path, identity: &self.key, line: self.lines + 1, offset: self.partial_offset, bytes: &piece, piece: true });
                        stats.lines += 1;
                        self.partial_offset += piece.len() as u64;
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
        for chunk in bytes.chunks(self.max_line) {
            emit(LogLine { path: &self.path, identity: &self.key, line, offset, bytes: chunk, piece });
            stats.lines += 1;
            offset += chunk.len() as u64;
        }
    }

    fn flush_partial(&mut self, emit: &mut dyn FnMut(LogLine<'_>), stats: &mut PollStats) {
        if self.partial.is_empty() {
            return;
        }
        self.lines += 1;
        let partial = std::mem::take(&mut self.partial);
        let piece = self.pieces > 0;
        emit(LogLine { path: &self.path, identity: &self.key, line: self.lines, offset: self.partial_offset, bytes: &partial, piece });
        stats.lines += 1;
        self.partial_offset += partial.len() as u64;
        self.pieces = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn source(dir: &Path, read_from: ReadFrom, max_line: usize) -> LogSource {
        LogSource { paths: vec![format!("{}/*.log", dir.display())], read_from, max_line_bytes: max_line, include_compressed: false, detect: Vec::new() }
    }

    fn collect(t: &mut Tailer) -> Vec<(u64, String)> {
        let mut out = Vec::new();
        t.poll(true, &mut |l| out.push((l.line, String::from_utf8_lossy(l.bytes).into_owned())), &mut |_, _| {});
        out
    }

    fn texts(v: &[(u64, String)]) -> Vec<&str> {
        v.iter().map(|(_, s)| s.as_str()).collect()
    }

    #[test]
    fn appended_lines_are_read_once_and_partial_lines_wait() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.log");
        std::fs::write(&p, "old\n").unwrap();
        let mut t = Tailer::new(vec![source(dir.path(), ReadFrom::End, 1024)], None);
        assert!(collect(&mut t).is_empty(), "read_from=end skips existing content");
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"one\ntw").unwrap();
        assert_eq!(texts(&collect(&mut t)), ["one"]);
        f.write_all(b"o\n").unwrap();
        assert_eq!(collect(&mut t), vec![(3, "two".to_string())]);
        assert!(collect(&mut t).is_empty());
    }

    #[test]
    fn rotated_file_is_read_to_its_end_and_the_new_file_from_its_beginning() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.log");
        std::fs::write(&p, "first\n").unwrap();
        let mut t = Tailer::new(vec![source(dir.path(), ReadFrom::Beginning, 1024)], None);
        t.set_orphan_grace(Duration::from_millis(0));
        assert_eq!(texts(&collect(&mut t)), ["first"]);
        // The application writes a last line to the old file after it was renamed.
        let mut old = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        std::fs::rename(&p, dir.path().join("a.log.1")).unwrap();
        old.write_all(b"late line in the rotated file\n").unwrap();
        std::fs::write(&p, "second\n").unwrap();
        let got = collect(&mut t);
        assert!(got.contains(&(2, "late line in the rotated file".to_string())), "{got:?}");
        assert!(got.contains(&(1, "second".to_string())), "{got:?}");
        assert_eq!(t.followed(), 1, "the rotated file is left once read");
    }

    #[test]
    fn truncation_restarts_at_zero_with_a_new_identity() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.log");
        std::fs::write(&p, "aaaaaaaa\nbbbbbbbb\n").unwrap();
        let mut t = Tailer::new(vec![source(dir.path(), ReadFrom::Beginning, 1024)], None);
        assert_eq!(collect(&mut t).len(), 2);
        let before = t.checkpoints().files.keys().next().unwrap().clone();
        std::fs::OpenOptions::new().write(true).open(&p).unwrap().set_len(0).unwrap();
        std::fs::OpenOptions::new().append(true).open(&p).unwrap().write_all(b"c\n").unwrap();
        assert_eq!(collect(&mut t), vec![(1, "c".to_string())]);
        assert_ne!(t.checkpoints().files.keys().next().unwrap(), &before);
    }

    #[test]
    fn restart_from_checkpoints_neither_rereads_nor_skips() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.log");
        std::fs::write(&p, "1\n2\n3-part").unwrap();
        let mut t = Tailer::new(vec![source(dir.path(), ReadFrom::Beginning, 1024)], None);
        assert_eq!(texts(&collect(&mut t)), ["1", "2"]);
        let saved = t.checkpoints();
        drop(t);
        std::fs::OpenOptions::new().append(true).open(&p).unwrap().write_all(b"ial\n4\n").unwrap();
        let mut t = Tailer::new(vec![source(dir.path(), ReadFrom::End, 1024)], Some(saved));
        assert_eq!(collect(&mut t), vec![(3, "3-partial".to_string()), (4, "4".to_string())]);
    }

    #[test]
    fn a_reused_inode_with_other_content_is_a_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.log");
        std::fs::write(&p, "original content\n").unwrap();
        let mut t = Tailer::new(vec![source(dir.path(), ReadFrom::Beginning, 1024)], None);
        collect(&mut t);
        let mut saved = t.checkpoints();
        // Same inode (rewritten in place while the agent was down), different head.
        drop(t);
        std::fs::write(&p, "totally different first line\n").unwrap();
        for cp in saved.files.values_mut() {
            cp.offset = 17; // where the old file ended
        }
        let mut t = Tailer::new(vec![source(dir.path(), ReadFrom::End, 1024)], Some(saved));
        assert_eq!(texts(&collect(&mut t)), ["totally different first line"]);
    }

    #[test]
    fn overlong_lines_come_in_pieces() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.log"), format!("{}\nshort\n", "x".repeat(1000))).unwrap();
        let mut t = Tailer::new(vec![source(dir.path(), ReadFrom::Beginning, 300)], None);
        let mut got = Vec::new();
        let stats = t.poll(true, &mut |l| got.push((l.line, l.bytes.len(), l.piece)), &mut |_, _| {});
        assert_eq!(got.iter().filter(|(l, _, p)| *l == 1 && *p).count(), 4);
        assert_eq!(got.last().unwrap(), &(2, 5, false));
        assert_eq!(stats.overlong, 1);
    }

    #[test]
    fn invalid_utf8_is_kept_as_bytes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.log"), b"\xff\xfe ok\n").unwrap();
        let mut t = Tailer::new(vec![source(dir.path(), ReadFrom::Beginning, 1024)], None);
        let mut lens = Vec::new();
        t.poll(true, &mut |l| lens.push(l.bytes.to_vec()), &mut |_, _| {});
        assert_eq!(lens, vec![b"\xff\xfe ok".to_vec()]);
    }

    #[test]
    fn gzip_rotated_files_are_ignored_unless_configured() {
        let dir = tempfile::tempdir().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"compressed line\n").unwrap();
        std::fs::write(dir.path().join("a.log.gz"), gz.finish().unwrap()).unwrap();
        let mut s = source(dir.path(), ReadFrom::Beginning, 1024);
        s.paths = vec![format!("{}/*.log*", dir.path().display())];
        let mut t = Tailer::new(vec![s.clone()], None);
        assert!(collect(&mut t).is_empty());
        s.include_compressed = true;
        let mut t = Tailer::new(vec![s], None);
        assert_eq!(texts(&collect(&mut t)), ["compressed line"]);
        assert!(collect(&mut t).is_empty(), "read once");
    }
}
