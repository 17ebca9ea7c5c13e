//! The systemd journal as a source: `[[journald]]`, read through `journalctl`.
//!
//! Each source runs `journalctl --output=json --all --merge --follow` (with `--directory` when
//! the source names one, `--unit`/`--identifier` for its filters) as a child process on its own
//! thread, and scans each entry's `MESSAGE` like a log line. `--merge` matters: without it
//! `--follow` (systemd 252) reads the current boot only, and a cursor of an earlier boot resumes
//! nowhere after a reboot. `journalctl` prints a field that is
//! not valid UTF-8 as an array of byte values; both forms are read.
//!
//! # Names, positions, time
//! The locator of a finding is `journald/UNIT` (the entry's `_SYSTEMD_UNIT`, or its
//! `SYSLOG_IDENTIFIER` when it has none, or its `_COMM`); with the finding's host, that is the
//! system `host:journald/UNIT` a register names (`paths = ["journald/nginx.service"]`). The
//! identity is a hash of the entry's `__CURSOR`, the line its sequence number (`i=` of the
//! cursor), `start`/`end` byte offsets within the message. `__REALTIME_TIMESTAMP` is the
//! observation time.
//!
//! # Exactly once
//! The cursor of the last entry read is the checkpoint: it is saved (`journald/KEY.json` in the
//! data directory, replaced atomically) only after the findings of every entry up to it are in
//! the spool and the spool is synced — the order `reader.rs` keeps for files. A restart runs
//! `journalctl --after-cursor` with it: an entry read after the last save is read again and
//! makes the same finding ids, which the collector stores once. With no cursor yet, `read_from`
//! says where to start (`end`: new entries only; `beginning`: the whole journal).
//!
//! Entries are ordered by `journalctl`; a cursor resumes after its entry in that order, so an
//! entry added later with an *earlier* time (journal files copied in after the fact) is not
//! read by a running source.
//!
//! # Failures
//! A `journalctl` that cannot be started or exits (in `run`) is restarted with a back-off (1 s,
//! doubling, at most a minute), each restart counted (`custos_agent_journal_restarts_total`)
//! and logged with its exit status and what it said. An entry that is not JSON, has no cursor,
//! or is longer than `max_entry_bytes` is skipped and counted
//! (`custos_agent_journal_entries_malformed_total`); nothing of its content is logged. Fields
//! other than `MESSAGE` are not scanned.

use crate::config::{JournaldSource, ReadFrom};
use crate::finding::FindingFactory;
use crate::metrics::Metrics;
use crate::mode::RunMode;
use crate::spool::Spool;
use custos_proto::v1 as pb;
use custos_rules::{Detection, Engine};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::{self, BufRead, Read as _, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// One journal entry, as far as the agent needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `__CURSOR`: where the entry is in the journal.
    pub cursor: String,
    /// `_SYSTEMD_UNIT`, else `SYSLOG_IDENTIFIER`, else `_COMM`, else `unknown`.
    pub name: String,
    /// `_SYSTEMD_UNIT`, if any.
    pub unit: Option<String>,
    /// `SYSLOG_IDENTIFIER`, if any.
    pub identifier: Option<String>,
    /// `__REALTIME_TIMESTAMP` in ms since the epoch.
    pub time_ms: Option<i64>,
    /// `MESSAGE` as bytes (several values joined by newlines); `None` when it has none.
    pub message: Option<Vec<u8>>,
}

/// A field's value as bytes: a string, an array of byte values (not UTF-8), or several values
/// of either (joined by newlines). `None` for anything else (`null`: a field too large).
fn field_bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Array(items) if items.iter().all(Value::is_number) => items.iter().map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok())).collect(),
        Value::Array(items) => {
            let values: Vec<Vec<u8>> = items.iter().filter_map(field_bytes).collect();
            (!values.is_empty()).then(|| values.join(&b'\n'))
        }
        _ => None,
    }
}

fn field_text(v: Option<&Value>) -> Option<String> {
    field_bytes(v?).map(|b| String::from_utf8_lossy(&b).into_owned()).filter(|s| !s.is_empty())
}

/// Parses one line of `journalctl --output=json`. The error says why, never what the entry held.
pub fn parse_entry(line: &[u8]) -> Result<Entry, &'static str> {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(line) else {
        return Err("not a JSON object");
    };
    let cursor = match map.get("__CURSOR") {
        Some(Value::String(c)) if !c.is_empty() && c.len() <= 1024 => c.clone(),
        _ => return Err("no __CURSOR"),
    };
    let unit = field_text(map.get("_SYSTEMD_UNIT"));
    let identifier = field_text(map.get("SYSLOG_IDENTIFIER"));
    let name = unit.clone().or_else(|| identifier.clone()).or_else(|| field_text(map.get("_COMM"))).unwrap_or_else(|| "unknown".into());
    let time_ms = field_text(map.get("__REALTIME_TIMESTAMP")).and_then(|t| t.parse::<i64>().ok()).map(|us| us / 1000);
    let message = map.get("MESSAGE").and_then(field_bytes);
    Ok(Entry { cursor, name, unit, identifier, time_ms, message })
}

/// The sequence number in a cursor (`i=HEX`), 1 when there is none.
fn seqnum(cursor: &str) -> u64 {
    cursor.split(';').find_map(|p| p.strip_prefix("i=")).and_then(|h| u64::from_str_radix(h, 16).ok()).unwrap_or(1)
}

/// The identity of an entry in finding ids: a hash of its cursor.
fn identity(cursor: &str) -> String {
    format!("journal:{}", hex::encode(&Sha256::digest(cursor.as_bytes())[..12]))
}

/// What one line of `journalctl`'s output was.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadLine {
    /// A line (without its newline).
    Line(Vec<u8>),
    /// A line longer than the limit, skipped to its end.
    Overlong,
}

/// Reads one line of at most `max` bytes; `None` at the end. A longer line is read to its end
/// and dropped (memory stays bounded by `max`).
pub fn read_bounded(r: &mut impl BufRead, max: usize) -> io::Result<Option<ReadLine>> {
    let mut line = Vec::new();
    let mut overlong = false;
    loop {
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok(match (line.is_empty() && !overlong, overlong) {
                (true, _) => None,
                (false, true) => Some(ReadLine::Overlong),
                (false, false) => Some(ReadLine::Line(line)),
            });
        }
        let (chunk, done) = match memchr::memchr(b'\n', buf) {
            Some(i) => (&buf[..i], i + 1),
            None => (buf, buf.len()),
        };
        if !overlong && line.len() + chunk.len() > max {
            overlong = true;
            line = Vec::new();
        }
        if !overlong {
            line.extend_from_slice(chunk);
        }
        let ended = done > chunk.len();
        r.consume(done);
        if ended {
            return Ok(Some(if overlong { ReadLine::Overlong } else { ReadLine::Line(line) }));
        }
    }
}

/// Where a source's cursor is saved: one file per source, named by what the source reads.
pub fn cursor_path(data_dir: &Path, source: &JournaldSource) -> PathBuf {
    let key = format!("{:?}|{:?}|{:?}", source.directory, source.units, source.identifiers);
    data_dir.join("journald").join(format!("{}.json", &hex::encode(Sha256::digest(key.as_bytes()))[..16]))
}

/// The saved cursor of a source.
#[derive(serde::Serialize, serde::Deserialize)]
struct SavedCursor {
    cursor: String,
}

fn load_cursor(path: &Path) -> io::Result<Option<String>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice::<SavedCursor>(&bytes)
            .map(|c| Some(c.cursor))
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{}: corrupt journal cursor ({e}); move it away to start over", path.display()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Saves atomically (temp file, fsync, rename, fsync of the directory).
fn save_cursor(path: &Path, cursor: &str) -> io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    {
        let mut f = crate::private::create(&tmp)?;
        f.write_all(&serde_json::to_vec(&SavedCursor { cursor: cursor.to_string() }).map_err(io::Error::other)?)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// The `journalctl` arguments for a source resuming after `cursor`.
pub fn arguments(source: &JournaldSource, cursor: Option<&str>, read_whole: bool, mode: RunMode) -> Vec<String> {
    // --merge: without it, `--follow` (systemd 252) reads the current boot only, and a cursor
    // of an earlier boot resumes nowhere.
    let mut args: Vec<String> = ["--output=json", "--all", "--merge", "--no-pager", "--quiet"].map(String::from).to_vec();
    if mode == RunMode::Follow {
        args.push("--follow".into());
    }
    if let Some(d) = &source.directory {
        args.push(format!("--directory={}", d.display()));
    }
    match cursor {
        Some("") => args.push("--no-tail".into()), // the journal was empty: from its beginning
        Some(c) => {
            args.push(format!("--after-cursor={c}"));
            args.push("--no-tail".into());
        }
        None if read_whole || source.read_from == ReadFrom::Beginning => args.push("--no-tail".into()),
        None => args.push("--lines=0".into()),
    }
    // journalctl ANDs matches of different fields: with both lists the agent filters itself.
    match (source.units.is_empty(), source.identifiers.is_empty()) {
        (false, true) => args.extend(source.units.iter().map(|u| format!("--unit={u}"))),
        (true, false) => args.extend(source.identifiers.iter().map(|i| format!("--identifier={i}"))),
        _ => {}
    }
    args
}

/// The cursor of the last entry of the source's journal, `None` when it has none.
fn last_cursor(source: &JournaldSource) -> io::Result<Option<String>> {
    let mut args = arguments(source, None, false, RunMode::Once);
    args.retain(|a| a != "--lines=0");
    args.push("--lines=1".into());
    let out = Command::new(&source.journalctl).args(&args).stdin(Stdio::null()).stderr(Stdio::null()).output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!("journalctl --lines=1 failed ({})", out.status)));
    }
    Ok(out.stdout.split(|b| *b == b'\n').filter_map(|l| parse_entry(l).ok()).map(|e| e.cursor).next_back())
}

/// True when the entry passes the source's filters (`units` or `identifiers`).
fn wanted(source: &JournaldSource, e: &Entry) -> bool {
    if source.units.is_empty() || source.identifiers.is_empty() {
        return true; // journalctl filtered already (or there is no filter)
    }
    let unit = |u: &String| e.unit.as_ref().is_some_and(|x| glob::Pattern::new(u).map_or(u == x, |p| p.matches(x)));
    source.units.iter().any(unit) || e.identifier.as_ref().is_some_and(|i| source.identifiers.contains(i))
}

/// What a journald thread needs.
pub struct JournalContext {
    /// The detector.
    pub engine: Arc<Engine>,
    /// Where findings are made.
    pub factory: FindingFactory,
    /// The source.
    pub source: JournaldSource,
    /// The spool.
    pub spool: Spool,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Where its cursor is saved.
    pub cursor_path: PathBuf,
    /// The agent ran before but lost its checkpoints: without a cursor, read the whole journal.
    pub read_whole: bool,
    /// Follow, or read to the end once.
    pub mode: RunMode,
    /// Set to true to stop.
    pub shutdown: watch::Receiver<bool>,
    /// The cursor is saved at most this often.
    pub checkpoint_interval: Duration,
}

/// What the pump thread hands over.
enum Out {
    Read(ReadLine),
    End(io::Result<()>),
}

/// One source's reading loop: runs `journalctl`, restarts it when it fails. Returns on shutdown
/// (or, in [`RunMode::Once`], when `journalctl` reached the end).
pub fn journal_loop(ctx: JournalContext) -> anyhow::Result<()> {
    if let Some(dir) = ctx.cursor_path.parent() {
        crate::private::create_dir(dir).map_err(|e| anyhow::anyhow!("{}: cannot create: {e}", dir.display()))?;
    }
    let mut cursor = load_cursor(&ctx.cursor_path)?;
    let mut backoff = Duration::from_secs(1);
    let stopping = || *ctx.shutdown.borrow();
    while !stopping() {
        if cursor.is_none() && !ctx.read_whole && ctx.source.read_from == ReadFrom::End {
            // A first start from the end: the end is made durable at once, so that entries
            // written while the agent is down before its first save are not skipped by a
            // second "end".
            match last_cursor(&ctx.source) {
                Ok(last) => {
                    let at = last.unwrap_or_default();
                    save_cursor(&ctx.cursor_path, &at).map_err(|e| anyhow::anyhow!("{}: cannot save the journal cursor: {e}", ctx.cursor_path.display()))?;
                    cursor = Some(at);
                }
                Err(e) => {
                    cannot_run(&ctx, &e, &mut backoff)?;
                    continue;
                }
            }
        }
        let args = arguments(&ctx.source, cursor.as_deref(), ctx.read_whole, ctx.mode);
        let started = Instant::now();
        let mut child = match Command::new(&ctx.source.journalctl).args(&args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn() {
            Ok(c) => c,
            Err(e) => {
                cannot_run(&ctx, &e, &mut backoff)?;
                continue;
            }
        };
        let (tx, rx) = std::sync::mpsc::sync_channel(256);
        let stdout = child.stdout.take().expect("stdout is piped");
        let max = ctx.source.max_entry_bytes;
        let pump = std::thread::Builder::new().name("custos-journal-pipe".into()).spawn(move || pump(stdout, max, tx))?;
        let mut reader =
            EntryReader { ctx: &ctx, cursor: &mut cursor, pending: Vec::new(), detections: Vec::new(), unsaved: false, last_save: Instant::now(), entries: 0 };
        let ended = reader.run(&rx);
        // In `once`, journalctl ends by itself; otherwise stop it. Then commit what was read.
        if ctx.mode == RunMode::Follow || stopping() || ended.is_err() {
            let _ = child.kill();
        }
        let status = child.wait();
        drop(rx);
        let _ = pump.join();
        match reader.commit() {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(e) => return Err(anyhow::anyhow!("journald: cannot commit read entries: {e}")),
        }
        let read_any = reader.entries > 0;
        if stopping() {
            return Ok(());
        }
        let said = stderr_of(&mut child);
        match (ctx.mode, ended) {
            (RunMode::Once, Ok(())) if status.as_ref().is_ok_and(|s| s.success()) => return Ok(()),
            (RunMode::Once, _) => anyhow::bail!("journalctl failed ({status:?}): {said}"),
            (RunMode::Follow, _) => {
                ctx.metrics.journal_restarts.inc();
                if read_any || started.elapsed() > Duration::from_secs(30) {
                    backoff = Duration::from_secs(1);
                }
                let status = status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                tracing::warn!(status, said, retry_in_s = backoff.as_secs(), "journalctl exited; restarting it after the last saved entry");
                sleep_unless_stopped(&ctx.shutdown, backoff);
                backoff = (backoff * 2).min(Duration::from_secs(60));
            }
        }
    }
    Ok(())
}

/// What `journalctl` wrote on its error stream (its last 1 KiB, control characters escaped).
fn stderr_of(child: &mut Child) -> String {
    let mut said = Vec::new();
    if let Some(e) = child.stderr.as_mut() {
        let _ = e.take(64 * 1024).read_to_end(&mut said);
    }
    let said = String::from_utf8_lossy(&said[said.len().saturating_sub(1024)..]).trim().to_string();
    said.escape_debug().to_string()
}

/// journalctl could not be run: counted and logged; a one-shot run fails, a running agent
/// waits out the back-off (doubled, at most a minute) before the caller tries again.
fn cannot_run(ctx: &JournalContext, e: &io::Error, backoff: &mut Duration) -> anyhow::Result<()> {
    ctx.metrics.journal_restarts.inc();
    tracing::error!(journalctl = %ctx.source.journalctl.display(), error = %e, retry_in_s = backoff.as_secs(), "cannot run journalctl: install systemd's journalctl or set `journalctl` in [[journald]]");
    if ctx.mode == RunMode::Once {
        anyhow::bail!("cannot run {}: {e}", ctx.source.journalctl.display());
    }
    sleep_unless_stopped(&ctx.shutdown, *backoff);
    *backoff = (*backoff * 2).min(Duration::from_secs(60));
    Ok(())
}

fn sleep_unless_stopped(shutdown: &watch::Receiver<bool>, d: Duration) {
    let until = Instant::now() + d;
    while Instant::now() < until && !*shutdown.borrow() {
        std::thread::sleep(Duration::from_millis(50).min(until.saturating_duration_since(Instant::now())));
    }
}

/// Reads `journalctl`'s output into the channel until it ends or the receiver is gone.
fn pump(stdout: std::process::ChildStdout, max: usize, tx: SyncSender<Out>) {
    let mut r = io::BufReader::with_capacity(256 * 1024, stdout);
    loop {
        match read_bounded(&mut r, max) {
            Ok(Some(read)) => {
                if tx.send(Out::Read(read)).is_err() {
                    return;
                }
            }
            Ok(None) => {
                let _ = tx.send(Out::End(Ok(())));
                return;
            }
            Err(e) => {
                let _ = tx.send(Out::End(Err(e)));
                return;
            }
        }
    }
}

/// Entries to findings to the spool, then the cursor.
struct EntryReader<'a> {
    ctx: &'a JournalContext,
    cursor: &'a mut Option<String>,
    pending: Vec<pb::Finding>,
    detections: Vec<Detection>,
    /// The cursor moved since it was saved.
    unsaved: bool,
    last_save: Instant,
    /// Entries read from this journalctl.
    entries: u64,
}

impl EntryReader<'_> {
    /// Until `journalctl`'s output ends, or shutdown. `Err` when reading it failed.
    fn run(&mut self, rx: &Receiver<Out>) -> io::Result<()> {
        loop {
            if *self.ctx.shutdown.borrow() {
                return Ok(());
            }
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(Out::Read(ReadLine::Line(line))) => self.entry(&line),
                Ok(Out::Read(ReadLine::Overlong)) => {
                    self.ctx.metrics.journal_entries_malformed.inc();
                    tracing::warn!(max_entry_bytes = self.ctx.source.max_entry_bytes, "a journal entry longer than max_entry_bytes was skipped");
                }
                Ok(Out::End(r)) => return r,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            }
            let due = self.unsaved && self.last_save.elapsed() >= self.ctx.checkpoint_interval;
            if self.pending.len() >= 1024 || due {
                match self.commit() {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
        }
    }

    fn entry(&mut self, line: &[u8]) {
        if line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        let e = match parse_entry(line) {
            Ok(e) => e,
            Err(why) => {
                self.ctx.metrics.journal_entries_malformed.inc();
                tracing::warn!(reason = why, "a journal entry could not be read; skipped");
                return;
            }
        };
        self.ctx.metrics.journal_entries.inc();
        self.entries += 1;
        self.ctx.metrics.lines_read.inc();
        if wanted(&self.ctx.source, &e)
            && let Some(message) = &e.message
        {
            self.ctx.metrics.bytes_read.inc_by(message.len() as u64);
            self.detections.clear();
            self.ctx.engine.scan(message, &mut self.detections);
            if !self.detections.is_empty() {
                let source = pb::Source { kind: pb::SourceKind::LogFile as i32, locator: format!("journald/{}", e.name), identity: identity(&e.cursor) };
                let before = self.pending.len();
                self.ctx.factory.line_findings(&self.ctx.engine, &source, seqnum(&e.cursor), 0, &self.detections, message, &mut self.pending);
                if let Some(t) = e.time_ms {
                    self.pending[before..].iter_mut().for_each(|f| f.observed_at_ms = t);
                }
            }
        }
        *self.cursor = Some(e.cursor);
        self.unsaved = true;
    }

    /// Findings into the spool, the spool synced, then the cursor saved.
    fn commit(&mut self) -> io::Result<()> {
        let stop = || *self.ctx.shutdown.borrow();
        if !self.pending.is_empty() {
            self.ctx.spool.append(&self.pending, &stop)?;
            self.ctx.metrics.findings.inc_by(self.pending.len() as u64);
            self.pending.clear();
        }
        if self.unsaved
            && let Some(c) = self.cursor.as_deref()
        {
            self.ctx.spool.sync()?;
            save_cursor(&self.ctx.cursor_path, c)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: cannot save the journal cursor: {e}", self.ctx.cursor_path.display())))?;
            self.unsaved = false;
        }
        self.last_save = Instant::now();
        Ok(())
    }
}

#[cfg(test)]
mod tests;
