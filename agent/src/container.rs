//! Container logs: the CRI and Docker `json-file` wrappers around each line, taken off before
//! the line is scanned, and the lines a runtime split (`P`artial) put back together.
//!
//! A container runtime does not write what the application printed; it wraps it:
//!
//! | format | a line on disk |
//! |---|---|
//! | CRI (containerd, CRI-O; `/var/log/pods/NS_POD_UID/CONTAINER/N.log`) | `2024-01-01T00:00:00.123456789Z stdout F message` |
//! | Docker `json-file` (`/var/lib/docker/containers/ID/ID-json.log`) | `{"log":"message\n","stream":"stdout","time":"2024-01-01T00:00:00.1Z"}` |
//!
//! The tailer (`tail.rs`) still reads the file and owns its identity, positions and checkpoints;
//! this module turns its lines into **messages**: the wrapper is taken off (the JSON string
//! decoded), and a message the runtime split into several lines — CRI `P` lines up to the
//! closing `F`, Docker `log` values without their final `\n` — is put back together, per stream
//! (`stdout` and `stderr` interleave), so a value across the split is seen whole. A reassembled
//! message is capped at `max_line_bytes`: past that it is handed out as it stands and a new one
//! begins (counted as overlong).
//!
//! # Positions
//! A message's findings point at the **wrapper line it starts on**: `line` and `line_offset`
//! are that line's number and byte offset in the file; `start`/`end` are byte offsets within
//! the decoded message (not within the wrapper line). The file's path is in the finding's
//! evidence (`file`, masked like any name); the locator is the container (see
//! [`system_name`]), which is what a register names.
//!
//! # Restart
//! While a message is unfinished, the checkpoint of its file is held back to its first line
//! ([`Reassembler::hold_back`]): after a kill the lines are read again from there and the
//! message is put together again, under the same identity and position, so its findings keep
//! their ids (stored once) and none is lost.
//!
//! # Hostile lines
//! A line that does not decode (not CRI, invalid JSON, no `log` field, invalid UTF-8 in the
//! JSON) is scanned as it is — the data in it is still found — and counted
//! (`custos_agent_container_lines_malformed_total`); logs say which file, never what the line
//! held. A wrapper line longer than `max_line_bytes` is scanned in pieces as plain text
//! (wrapper included), like any overlong line.

use crate::checkpoint::Checkpoints;
use crate::config::LogFormat;
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Which of a container's output streams a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// One wrapper line, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// The stream it was written to.
    pub stream: Stream,
    /// The runtime's time stamp of the line, ms since the epoch.
    pub time_ms: Option<i64>,
    /// True when more of the same message follows (CRI `P`, Docker without a final `\n`).
    pub partial: bool,
    /// What the application wrote (without the newline).
    pub message: Cow<'a, [u8]>,
}

/// Why a wrapper line could not be decoded (never quotes the line).
pub type DecodeError = &'static str;

fn stream_of(name: &[u8]) -> Option<Stream> {
    match name {
        b"stdout" => Some(Stream::Stdout),
        b"stderr" => Some(Stream::Stderr),
        _ => None,
    }
}

/// The time of an RFC 3339 stamp, ms since the epoch.
fn stamp_ms(stamp: &[u8]) -> Option<i64> {
    crate::anomaly::event_time::line_time_ms(stamp, custos_proto::time::now_ms())
}

/// Decodes a CRI line: `TIME STREAM TAGS MESSAGE`, TAGS `F` or `P` (more tags may follow
/// after `:`).
pub fn decode_cri(line: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    let mut parts = line.splitn(4, |b| *b == b' ');
    let (Some(time), Some(stream), Some(tags)) = (parts.next(), parts.next(), parts.next()) else {
        return Err("not a CRI log line (TIME STREAM TAG MESSAGE)");
    };
    let message = parts.next().unwrap_or_default();
    let stream = stream_of(stream).ok_or("not a CRI log line: the stream is neither stdout nor stderr")?;
    let partial = match tags.split(|b| *b == b':').next() {
        Some(b"P") => true,
        Some(b"F") => false,
        _ => return Err("not a CRI log line: the tag is neither F nor P"),
    };
    let time_ms = stamp_ms(time);
    if time_ms.is_none() {
        return Err("not a CRI log line: no RFC 3339 time stamp");
    }
    Ok(Decoded { stream, time_ms, partial, message: Cow::Borrowed(message) })
}

/// A Docker `json-file` line.
#[derive(serde::Deserialize)]
struct DockerLine {
    log: Option<String>,
    stream: Option<String>,
    time: Option<String>,
}

/// Decodes a Docker `json-file` line: `{"log":"…\n","stream":"stdout","time":"…"}`.
pub fn decode_docker(line: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    let d: DockerLine = serde_json::from_slice(line).map_err(|_| "not a Docker json-file line: invalid JSON")?;
    let mut log = d.log.ok_or("Docker json-file line without a `log` field")?;
    let stream = match d.stream.as_deref() {
        Some(s) => stream_of(s.as_bytes()).ok_or("Docker json-file line: the stream is neither stdout nor stderr")?,
        None => Stream::Stdout,
    };
    let partial = !log.ends_with('\n');
    if !partial {
        log.pop();
        if log.ends_with('\r') {
            log.pop();
        }
    }
    let time_ms = d.time.as_deref().and_then(|t| stamp_ms(t.as_bytes()));
    Ok(Decoded { stream, time_ms, partial, message: Cow::Owned(log.into_bytes()) })
}

/// Decodes a line of a source in `format` (`auto`: a line starting with `{` is Docker's, any
/// other CRI). `Plain` never fails.
pub fn decode(format: LogFormat, line: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    match format {
        LogFormat::Plain => Ok(Decoded { stream: Stream::Stdout, time_ms: None, partial: false, message: Cow::Borrowed(line) }),
        LogFormat::Cri => decode_cri(line),
        LogFormat::Docker => decode_docker(line),
        LogFormat::Auto if line.first() == Some(&b'{') => decode_docker(line),
        LogFormat::Auto => decode_cri(line),
    }
}

/// The container a log file belongs to, from its path alone (no API server): the finding's
/// locator, which is what a register's `paths` name.
///
/// - `/var/log/pods/NS_POD_UID/CONTAINER/N.log` → `k8s/NS/POD/CONTAINER`
/// - `/var/log/containers/POD_NS_CONTAINER-ID.log` → `k8s/NS/POD/CONTAINER`
/// - `/var/lib/docker/containers/ID/ID-json.log` → `docker/ID` (the 12-character short id)
///
/// `None` for any other path (the path is then the locator, as for a plain log).
pub fn system_name(path: &Path) -> Option<String> {
    let name = |i: usize| path.iter().rev().nth(i).and_then(|s| s.to_str());
    let (file, parent, grandparent) = (name(0)?, name(1)?, name(2));
    // /var/log/pods/NS_POD_UID/CONTAINER/N.log (and its rotated N.log.DATE).
    if let Some(pod_dir) = grandparent
        && name(3) == Some("pods")
    {
        let mut it = pod_dir.split('_');
        if let (Some(ns), Some(pod), Some(_uid), None) = (it.next(), it.next(), it.next(), it.next()) {
            return Some(format!("k8s/{ns}/{pod}/{parent}"));
        }
    }
    // /var/log/containers/POD_NS_CONTAINER-ID.log
    if parent == "containers" && grandparent == Some("log") {
        let stem = file.strip_suffix(".log")?;
        let mut it = stem.splitn(3, '_');
        let (pod, ns, rest) = (it.next()?, it.next()?, it.next()?);
        let container = match rest.rsplit_once('-') {
            Some((c, id)) if id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()) => c,
            _ => rest,
        };
        return Some(format!("k8s/{ns}/{pod}/{container}"));
    }
    // /var/lib/docker/containers/ID/ID-json.log (and ID-json.log.1 …).
    if grandparent == Some("containers") && file.starts_with(parent) && file[parent.len()..].starts_with("-json.log") {
        return Some(format!("docker/{}", &parent[..parent.len().min(12)]));
    }
    None
}

/// A complete message, ready to be scanned.
#[derive(Debug)]
pub struct Message<'a> {
    /// The file's path.
    pub path: &'a Path,
    /// The identity of the wrapper line it starts on (as the tailer gave it).
    pub identity: &'a str,
    /// Number of the wrapper line it starts on.
    pub line: u64,
    /// Byte offset of the wrapper line it starts on.
    pub offset: u64,
    /// The runtime's time of its first line.
    pub time_ms: Option<i64>,
    /// What the application wrote.
    pub bytes: &'a [u8],
}

/// An unfinished message of one stream.
#[derive(Debug)]
struct Pending {
    path: PathBuf,
    identity: String,
    line: u64,
    offset: u64,
    time_ms: Option<i64>,
    bytes: Vec<u8>,
}

impl Pending {
    /// What has been gathered, as a message starting where its first line did.
    fn message(&self) -> Message<'_> {
        Message { path: &self.path, identity: &self.identity, line: self.line, offset: self.offset, time_ms: self.time_ms, bytes: &self.bytes }
    }
}

/// What [`Reassembler::line`] counted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DecodeStats {
    /// Wrapper lines that did not decode (scanned as they are).
    pub malformed: u64,
    /// Reassembled messages cut at `max_line_bytes`.
    pub overlong: u64,
}

/// `dev:inode:generation` of a tailer identity (`dev:inode:generation:head`).
fn file_key(identity: &str) -> &str {
    match identity.match_indices(':').nth(2) {
        Some((i, _)) => &identity[..i],
        None => identity,
    }
}

/// Puts split messages back together, per file and stream (see the module documentation).
#[derive(Debug, Default)]
pub struct Reassembler {
    /// File key → unfinished message of stdout, of stderr.
    pending: HashMap<String, [Option<Pending>; 2]>,
}

impl Reassembler {
    /// True when no message is unfinished.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Takes one wrapper line (`path`, `identity`, `line`, `offset` as the tailer gave them) of a source
    /// in `format`, and hands out the messages it completes. A line that does not decode is
    /// handed out whole, counted in `stats`, and `on_malformed` says why.
    #[allow(clippy::too_many_arguments)]
    pub fn line(
        &mut self,
        format: LogFormat,
        path: &Path,
        identity: &str,
        line: u64,
        offset: u64,
        bytes: &[u8],
        max_bytes: usize,
        stats: &mut DecodeStats,
        on_malformed: &mut dyn FnMut(DecodeError),
        out: &mut dyn FnMut(Message<'_>),
    ) {
        let d = match decode(format, bytes) {
            Ok(d) => d,
            Err(why) => {
                stats.malformed += 1;
                on_malformed(why);
                out(Message { path, identity, line, offset, time_ms: None, bytes });
                return;
            }
        };
        let slot = d.stream as usize;
        let key = file_key(identity);
        let mut pending = match self.pending.get_mut(key).and_then(|p| p[slot].take()) {
            Some(p) => p,
            None if !d.partial => {
                // The common case: a whole message on one line, handed out without a copy.
                out(Message { path, identity, line, offset, time_ms: d.time_ms, bytes: &d.message });
                return;
            }
            None => Pending { path: path.to_path_buf(), identity: identity.to_string(), line, offset, time_ms: d.time_ms, bytes: Vec::new() },
        };
        let mut message: &[u8] = &d.message;
        // Bounded: past max_bytes, what was gathered goes out as it stands.
        while pending.bytes.len() + message.len() > max_bytes {
            let room = max_bytes.saturating_sub(pending.bytes.len());
            pending.bytes.extend_from_slice(&message[..room]);
            message = &message[room..];
            stats.overlong += 1;
            out(pending.message());
            pending = Pending { path: path.to_path_buf(), identity: identity.to_string(), line, offset, time_ms: d.time_ms, bytes: Vec::new() };
        }
        pending.bytes.extend_from_slice(message);
        if d.partial {
            self.pending.entry(key.to_string()).or_default()[slot] = Some(pending);
        } else {
            out(pending.message());
        }
        if self.pending.get(key).is_some_and(|p| p.iter().all(Option::is_none)) {
            self.pending.remove(key);
        }
    }

    /// Holds the checkpoint of every file with an unfinished message back to the first line
    /// of that message, so that a restart reads it again whole.
    pub fn hold_back(&self, c: &mut Checkpoints) {
        for (key, cp) in c.files.iter_mut() {
            let Some(pending) = self.pending.get(&format!("{key}:{}", cp.generation)) else { continue };
            for p in pending.iter().flatten() {
                if p.offset < cp.offset {
                    cp.offset = p.offset;
                    cp.lines = cp.lines.min(p.line.saturating_sub(1));
                }
            }
        }
    }

    /// Hands out every unfinished message of the files `followed` no longer holds (a file
    /// left for good: nothing will finish them), or of every file when `followed` is `None`
    /// (a one-shot run at its end).
    pub fn flush(&mut self, followed: Option<&Checkpoints>, out: &mut dyn FnMut(Message<'_>)) {
        let gone: Vec<String> = self
            .pending
            .keys()
            .filter(|k| followed.is_none_or(|c| !c.files.iter().any(|(dev_ino, cp)| **k == format!("{dev_ino}:{}", cp.generation))))
            .cloned()
            .collect();
        for key in gone {
            let Some(streams) = self.pending.remove(&key) else { continue };
            for p in streams.into_iter().flatten() {
                out(p.message());
            }
        }
    }
}

#[cfg(test)]
mod tests;
