//! Log tailing: discover files by glob, read what is appended, hand out complete lines.
//!
//! Each file is followed by identity (device + inode), not by name: when the name points at a
//! new inode (rename-and-create rotation) the new file is read from its start; when a file
//! shrinks below the read offset (copytruncate) reading restarts at 0. Lines are bytes — invalid
//! UTF-8 is kept as is — and a line longer than `max_line_bytes` is handed out in pieces so
//! memory stays bounded whatever is written.

use crate::config::{LogSource, ReadFrom};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// One line (or one piece of an overlong line) read from a file.
#[derive(Debug)]
pub struct LogLine<'a> {
    /// The file's path.
    pub path: &'a Path,
    /// The file's identity (`dev:inode`).
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

#[derive(Debug)]
struct Followed {
    identity: String,
    /// Offset of the first byte not yet consumed into `partial` or a line.
    offset: u64,
    /// Lines completed so far.
    lines: u64,
    /// Bytes of the current, unterminated line.
    partial: Vec<u8>,
    /// File offset where `partial` starts.
    partial_offset: u64,
    /// Pieces already emitted for the current line.
    pieces: u32,
    max_line: usize,
}

/// Follows the files matched by the configured globs.
#[derive(Debug)]
pub struct Tailer {
    sources: Vec<LogSource>,
    files: HashMap<PathBuf, Followed>,
    /// Files that could not be read, reported once each until readable again.
    reported: HashMap<PathBuf, String>,
    started: bool,
}

/// Identity of a file: device and inode.
pub fn identity_of(meta: &std::fs::Metadata) -> String {
    format!("{}:{}", meta.dev(), meta.ino())
}

impl Tailer {
    /// A tailer over these sources. Nothing is read until [`Tailer::poll`].
    pub fn new(sources: Vec<LogSource>) -> Self {
        Tailer { sources, files: HashMap::new(), reported: HashMap::new(), started: false }
    }

    /// Paths currently matched by the globs, with their source settings.
    fn discover(&self) -> Vec<(PathBuf, ReadFrom, usize)> {
        let mut out = Vec::new();
        for s in &self.sources {
            for pattern in &s.paths {
                let Ok(paths) = glob::glob(pattern) else { continue };
                for p in paths.flatten() {
                    // Dangling links are kept so that the failure to open them is reported.
                    let wanted = p.is_file() || (p.is_symlink() && !p.is_dir());
                    if wanted && !out.iter().any(|(q, _, _)| *q == p) {
                        out.push((p, s.read_from, s.max_line_bytes));
                    }
                }
            }
        }
        out
    }

    /// Reads everything appended since the last poll and calls `emit` for each complete line.
    /// Returns the number of bytes read. Unreadable files are reported through `warn` once.
    pub fn poll(&mut self, emit: &mut dyn FnMut(LogLine<'_>), warn: &mut dyn FnMut(&Path, &str)) -> u64 {
        let first_poll = !self.started;
        self.started = true;
        let mut total = 0;
        for (path, read_from, max_line) in self.discover() {
            match self.poll_file(&path, read_from, max_line, first_poll, emit) {
                Ok(n) => {
                    total += n;
                    self.reported.remove(&path);
                }
                Err(e) => {
                    let msg = e.to_string();
                    if self.reported.get(&path) != Some(&msg) {
                        warn(&path, &msg);
                        self.reported.insert(path.clone(), msg);
                    }
                }
            }
        }
        total
    }

    fn poll_file(&mut self, path: &Path, read_from: ReadFrom, max_line: usize, first_poll: bool, emit: &mut dyn FnMut(LogLine<'_>)) -> io::Result<u64> {
        let mut file = File::open(path)?;
        let meta = file.metadata()?;
        let identity = identity_of(&meta);
        let size = meta.len();
        let state = self.files.entry(path.to_path_buf()).or_insert_with(|| {
            // Files present at start honour read_from; files appearing later are new: read all.
            let offset = if first_poll && read_from == ReadFrom::End { size } else { 0 };
            Followed { identity: identity.clone(), offset, lines: 0, partial: Vec::new(), partial_offset: offset, pieces: 0, max_line }
        });
        if state.identity != identity || size < state.offset {
            // Rotated (new inode at this path) or truncated: start over on what is there now.
            *state = Followed { identity: identity.clone(), offset: 0, lines: 0, partial: Vec::new(), partial_offset: 0, pieces: 0, max_line };
        }
        if size == state.offset {
            return Ok(0);
        }
        file.seek(SeekFrom::Start(state.offset))?;
        let mut buf = vec![0u8; 256 * 1024];
        let mut read = 0u64;
        loop {
            let n = match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            read += n as u64;
            state.consume(path, &buf[..n], emit);
        }
        Ok(read)
    }

    /// Hands out the unterminated last line of every file (used when a one-shot run ends).
    pub fn flush_partial_lines(&mut self, emit: &mut dyn FnMut(LogLine<'_>)) {
        for (path, st) in &mut self.files {
            if !st.partial.is_empty() {
                st.lines += 1;
                let piece = st.pieces > 0;
                emit(LogLine { path, identity: &st.identity, line: st.lines, offset: st.partial_offset, bytes: &st.partial, piece });
                st.partial_offset += st.partial.len() as u64;
                st.partial.clear();
                st.pieces = 0;
            }
        }
    }
}

impl Followed {
    fn consume(&mut self, path: &Path, mut data: &[u8], emit: &mut dyn FnMut(LogLine<'_>)) {
        while !data.is_empty() {
            match memchr::memchr(b'\n', data) {
                Some(i) => {
                    let mut line = &data[..i];
                    let next_offset = self.offset + i as u64 + 1;
                    let n = self.lines + 1;
                    if self.partial.is_empty() {
                        // Fast path: the whole line is in this buffer.
                        if line.ends_with(b"\r") {
                            line = &line[..line.len() - 1];
                        }
                        self.emit_bounded(path, n, self.offset, line, emit);
                    } else {
                        self.partial.extend_from_slice(line);
                        if self.partial.ends_with(b"\r") {
                            self.partial.pop();
                        }
                        let partial = std::mem::take(&mut self.partial);
                        let start = self.partial_offset;
                        self.emit_bounded(path, n, start, &partial, emit);
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
                        let piece: Vec<u8> = self.partial.drain(..self.max_line).collect();
                        emit(LogLine { path, identity: &self.identity, line: self.lines + 1, offset: self.partial_offset, bytes: &piece, piece: true });
                        self.partial_offset += piece.len() as u64;
                        self.pieces += 1;
                    }
                    data = &[];
                }
            }
        }
    }

    fn emit_bounded(&self, path: &Path, line: u64, mut offset: u64, bytes: &[u8], emit: &mut dyn FnMut(LogLine<'_>)) {
        let piece = self.pieces > 0 || bytes.len() > self.max_line;
        for chunk in bytes.chunks(self.max_line.max(1)) {
            emit(LogLine { path, identity: &self.identity, line, offset, bytes: chunk, piece });
            offset += chunk.len() as u64;
        }
        if bytes.is_empty() && !piece {
            // Empty lines still count; nothing to scan.
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn source(dir: &Path, read_from: ReadFrom, max_line: usize) -> LogSource {
        LogSource { paths: vec![format!("{}/*.log", dir.display())], read_from, max_line_bytes: max_line }
    }

    fn collect(t: &mut Tailer) -> Vec<(u64, String)> {
        let mut out = Vec::new();
        t.poll(&mut |l| out.push((l.line, String::from_utf8_lossy(l.bytes).into_owned())), &mut |_, _| {});
        out
    }

    #[test]
    fn appended_lines_are_read_once_and_partial_lines_wait() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.log");
        std::fs::write(&p, "old\n").unwrap();
        let mut t = Tailer::new(vec![source(dir.path(), ReadFrom::End, 1024)]);
        assert!(collect(&mut t).is_empty(), "read_from=end skips existing content");
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"one\ntw").unwrap();
        assert_eq!(collect(&mut t), vec![(1, "one".to_string())]);
        f.write_all(b"o\n").unwrap();
        assert_eq!(collect(&mut t), vec![(2, "two".to_string())]);
        assert!(collect(&mut t).is_empty());
    }

    #[test]
    fn rotation_by_rename_starts_the_new_file_from_its_beginning() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.log");
        std::fs::write(&p, "first\n").unwrap();
        let mut t = Tailer::new(vec![source(dir.path(), ReadFrom::Beginning, 1024)]);
        assert_eq!(collect(&mut t).len(), 1);
        std::fs::rename(&p, dir.path().join("a.log.1")).unwrap();
        std::fs::write(&p, "second\n").unwrap();
        let got = collect(&mut t);
        assert!(got.contains(&(1, "second".to_string())), "{got:?}");
    }

    #[test]
    fn truncation_restarts_at_zero() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.log");
        std::fs::write(&p, "aaaaaaaa\nbbbbbbbb\n").unwrap();
        let mut t = Tailer::new(vec![source(dir.path(), ReadFrom::Beginning, 1024)]);
        assert_eq!(collect(&mut t).len(), 2);
        std::fs::write(&p, "c\n").unwrap();
        assert_eq!(collect(&mut t), vec![(1, "c".to_string())]);
    }

    #[test]
    fn overlong_lines_come_in_pieces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.log");
        std::fs::write(&p, format!("{}\nshort\n", "x".repeat(1000))).unwrap();
        let mut t = Tailer::new(vec![source(dir.path(), ReadFrom::Beginning, 300)]);
        let got = collect(&mut t);
        assert_eq!(got.iter().filter(|(l, _)| *l == 1).count(), 4);
        assert_eq!(got.last().unwrap(), &(2, "short".to_string()));
    }

    #[test]
    fn invalid_utf8_is_kept_as_bytes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.log"), b"\xff\xfe ok\n").unwrap();
        let mut t = Tailer::new(vec![source(dir.path(), ReadFrom::Beginning, 1024)]);
        let mut lens = Vec::new();
        t.poll(&mut |l| lens.push(l.bytes.to_vec()), &mut |_, _| {});
        assert_eq!(lens, vec![b"\xff\xfe ok".to_vec()]);
    }
}
