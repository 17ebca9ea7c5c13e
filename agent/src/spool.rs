//! The on-disk spool: every finding is written here before it is sent, and leaves only when
//! the collector has acknowledged it.
//!
//! # Layout
//! `DIR/NNNNNNNNNNNNNNNNNNNN.seg` are append-only segments of records
//! `[len: u32 LE][crc32: u32 LE][protobuf Finding]`; a segment is closed at `segment_bytes`.
//! `DIR/acked` holds the position (segment, offset) before which everything is acknowledged;
//! it is replaced atomically (write, fsync, rename). Segments entirely before it are deleted.
//!
//! # Crash safety
//! On open, every segment is checked record by record; a torn or corrupt tail (a crash in the
//! middle of an append) is cut off at the last good record. Everything after `acked` is sent
//! again — the collector stores each finding id once, so this never duplicates.
//!
//! # When the spool is full
//! `max_bytes` caps the unacknowledged bytes. `when_full = "block"` (default) makes the readers
//! wait — the logs themselves keep the data — while `"drop_oldest"` deletes the oldest segment
//! and counts the findings lost in a metric.

use crate::metrics::Metrics;
use custos_proto::v1 as pb;
use prost::Message;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// When appended data is forced to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FsyncPolicy {
    /// After every append (safest, slowest).
    Always,
    /// At most every `fsync_interval_ms` (default).
    #[default]
    Interval,
    /// Leave it to the OS.
    Never,
}

/// What to do when the spool reaches `max_bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FullPolicy {
    /// Stop reading sources until the collector acknowledges (nothing lost while the logs keep it).
    #[default]
    Block,
    /// Delete the oldest unacknowledged segment (its findings are lost, and counted).
    DropOldest,
}

/// Spool settings (`[spool]` in the agent config).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpoolConfig {
    /// Cap on unacknowledged bytes.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
    /// Segment size.
    #[serde(default = "default_segment_bytes")]
    pub segment_bytes: u64,
    /// fsync policy.
    #[serde(default)]
    pub fsync: FsyncPolicy,
    /// Interval for [`FsyncPolicy::Interval`].
    #[serde(default = "default_fsync_interval")]
    pub fsync_interval_ms: u64,
    /// Policy when full.
    #[serde(default)]
    pub when_full: FullPolicy,
}

fn default_max_bytes() -> u64 {
    1 << 30
}
fn default_segment_bytes() -> u64 {
    8 << 20
}
fn default_fsync_interval() -> u64 {
    200
}

impl Default for SpoolConfig {
    fn default() -> Self {
        SpoolConfig {
            max_bytes: default_max_bytes(),
            segment_bytes: default_segment_bytes(),
            fsync: FsyncPolicy::default(),
            fsync_interval_ms: default_fsync_interval(),
            when_full: FullPolicy::default(),
        }
    }
}

/// A place in the spool: segment id and byte offset in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    /// Segment id.
    pub segment: u64,
    /// Offset in the segment.
    pub offset: u64,
}

#[derive(Debug, Clone, Copy)]
struct Segment {
    bytes: u64,
    records: u64,
}

struct Inner {
    dir: PathBuf,
    cfg: SpoolConfig,
    segments: BTreeMap<u64, Segment>,
    writer: BufWriter<File>,
    write_segment: u64,
    acked: Position,
    /// Records before `acked` in the first segment (to count depth correctly).
    acked_records_in_first: u64,
    last_sync: Instant,
    dirty: bool,
    last_ack_persist: Instant,
    ack_dirty: bool,
}

/// The spool, shared by the readers (append) and the transport (read, ack).
#[derive(Clone)]
pub struct Spool {
    inner: Arc<Mutex<Inner>>,
    space: Arc<Condvar>,
    /// Woken when records are appended.
    pub appended: Arc<tokio::sync::Notify>,
    metrics: Arc<Metrics>,
}

const HEADER: u64 = 8;
const MAX_RECORD: u32 = 16 << 20;

fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:020}.seg"))
}

/// Reads one record at the reader's position. `Ok(None)` at a clean end.
fn read_record(r: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut header = [0u8; 8];
    match r.read_exact(&mut header) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if len > MAX_RECORD {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "record length out of range"));
    }
    let mut payload = vec![0u8; len as usize];
    match r.read_exact(&mut payload) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    if crc32fast::hash(&payload) != crc {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "record checksum mismatch"));
    }
    Ok(Some(payload))
}

/// Scans a segment: (valid bytes, records). Stops at the first torn or corrupt record.
fn scan_segment(path: &Path) -> io::Result<(u64, u64)> {
    let mut r = io::BufReader::new(File::open(path)?);
    let (mut bytes, mut records) = (0u64, 0u64);
    loop {
        match read_record(&mut r) {
            Ok(Some(p)) => {
                bytes += HEADER + p.len() as u64;
                records += 1;
            }
            Ok(None) | Err(_) => return Ok((bytes, records)),
        }
    }
}

fn count_records(path: &Path, upto: u64) -> io::Result<u64> {
    let mut r = io::BufReader::new(File::open(path)?);
    let (mut at, mut n) = (0u64, 0u64);
    while at < upto {
        match read_record(&mut r)? {
            Some(p) => {
                at += HEADER + p.len() as u64;
                n += 1;
            }
            None => break,
        }
    }
    Ok(n)
}

fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = crate::private::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

impl Spool {
    /// Opens (or creates) the spool in `dir`, repairing a torn tail.
    pub fn open(dir: &Path, cfg: SpoolConfig, metrics: Arc<Metrics>) -> io::Result<Spool> {
        crate::private::create_dir(dir)?;
        let mut segments = BTreeMap::new();
        for e in std::fs::read_dir(dir)? {
            let p = e?.path();
            if p.extension().is_some_and(|x| x == "seg")
                && let Some(id) = p.file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse::<u64>().ok())
            {
                let (bytes, records) = scan_segment(&p)?;
                let len = std::fs::metadata(&p)?.len();
                if len != bytes {
                    tracing::warn!(segment = %p.display(), kept = bytes, cut = len - bytes, "spool segment had a torn or corrupt tail; cut at the last good record");
                    OpenOptions::new().write(true).open(&p)?.set_len(bytes)?;
                }
                segments.insert(id, Segment { bytes, records });
            }
        }
        let mut acked = match std::fs::read_to_string(dir.join("acked")) {
            Ok(s) => {
                let mut it = s.split_whitespace().map(|x| x.parse::<u64>());
                match (it.next(), it.next()) {
                    (Some(Ok(segment)), Some(Ok(offset))) => Position { segment, offset },
                    _ => Position::default(),
                }
            }
            Err(_) => Position::default(),
        };
        // Segments wholly before the acked position are gone for good.
        let stale: Vec<u64> = segments.range(..acked.segment).map(|(id, _)| *id).collect();
        for id in stale {
            let _ = std::fs::remove_file(segment_path(dir, id));
            segments.remove(&id);
        }
        if let Some((&first, _)) = segments.iter().next()
            && acked.segment < first
        {
            acked = Position { segment: first, offset: 0 };
        }
        let write_segment = segments.keys().next_back().copied().unwrap_or(acked.segment.max(1));
        segments.entry(write_segment).or_insert(Segment { bytes: 0, records: 0 });
        if acked.segment == 0 {
            acked = Position { segment: *segments.keys().next().unwrap_or(&write_segment), offset: 0 };
        }
        let acked_records_in_first = match segments.get(&acked.segment) {
            Some(_) if acked.offset > 0 => count_records(&segment_path(dir, acked.segment), acked.offset)?,
            _ => 0,
        };
        let file = crate::private::options().create(true).append(true).open(segment_path(dir, write_segment))?;
        let inner = Inner {
            dir: dir.to_path_buf(),
            cfg,
            segments,
            writer: BufWriter::with_capacity(256 * 1024, file),
            write_segment,
            acked,
            acked_records_in_first,
            last_sync: Instant::now(),
            dirty: false,
            last_ack_persist: Instant::now(),
            ack_dirty: false,
        };
        let spool = Spool { inner: Arc::new(Mutex::new(inner)), space: Arc::new(Condvar::new()), appended: Arc::new(tokio::sync::Notify::new()), metrics };
        spool.update_metrics();
        Ok(spool)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends findings (blocking while the spool is full under the `block` policy, unless
    /// `stop` turns true). They are durable per the fsync policy when this returns.
    pub fn append(&self, findings: &[pb::Finding], stop: &dyn Fn() -> bool) -> io::Result<()> {
        if findings.is_empty() {
            return Ok(());
        }
        let mut g = self.lock();
        let incoming: u64 = findings.iter().map(|f| HEADER + f.encoded_len() as u64).sum();
        loop {
            let used = g.unacked_bytes();
            if used == 0 || used + incoming <= g.cfg.max_bytes {
                self.metrics.spool_full.set(0);
                break;
            }
            self.metrics.spool_full.set(1);
            match g.cfg.when_full {
                FullPolicy::Block => {
                    if stop() {
                        return Err(io::Error::new(io::ErrorKind::Interrupted, "stopping while the spool is full"));
                    }
                    g = self.space.wait_timeout(g, Duration::from_millis(200)).unwrap_or_else(|p| p.into_inner()).0;
                }
                FullPolicy::DropOldest => {
                    if !g.drop_oldest(&self.metrics)? {
                        break; // only the segment being written is left: accept the overshoot
                    }
                }
            }
        }
        let mut buf = Vec::with_capacity(256);
        for f in findings {
            buf.clear();
            f.encode(&mut buf).map_err(io::Error::other)?;
            let seg = g.write_segment;
            g.writer.write_all(&(buf.len() as u32).to_le_bytes())?;
            g.writer.write_all(&crc32fast::hash(&buf).to_le_bytes())?;
            g.writer.write_all(&buf)?;
            let s = g.segments.entry(seg).or_insert(Segment { bytes: 0, records: 0 });
            s.bytes += HEADER + buf.len() as u64;
            s.records += 1;
            if s.bytes >= g.cfg.segment_bytes {
                g.roll()?;
            }
        }
        g.writer.flush()?;
        g.dirty = true;
        g.maybe_sync(false)?;
        drop(g);
        self.update_metrics();
        self.appended.notify_one();
        Ok(())
    }

    /// Forces appended data and the acked position to disk (on shutdown).
    pub fn sync(&self) -> io::Result<()> {
        let mut g = self.lock();
        g.maybe_sync(true)?;
        g.persist_ack(true)
    }

    /// The acknowledged position: where a (re)connected transport starts reading.
    pub fn acked(&self) -> Position {
        self.lock().acked
    }

    /// Reads up to `max` findings from `from`; returns them and the position after the last.
    /// Positions before the acked one (dropped segments) are skipped.
    pub fn read(&self, from: Position, max: usize) -> io::Result<(Vec<pb::Finding>, Position)> {
        let g = self.lock();
        let mut pos = from.max(g.acked);
        let mut out = Vec::new();
        while out.len() < max {
            let Some(seg) = g.segments.get(&pos.segment).copied() else {
                match g.segments.range(pos.segment + 1..).next() {
                    Some((&next, _)) => {
                        pos = Position { segment: next, offset: 0 };
                        continue;
                    }
                    None => break,
                }
            };
            if pos.offset >= seg.bytes {
                match g.segments.range(pos.segment + 1..).next() {
                    Some((&next, _)) => {
                        pos = Position { segment: next, offset: 0 };
                        continue;
                    }
                    None => break,
                }
            }
            let mut f = File::open(segment_path(&g.dir, pos.segment))?;
            f.seek(SeekFrom::Start(pos.offset))?;
            let mut r = io::BufReader::new(f.take(seg.bytes - pos.offset));
            while out.len() < max {
                match read_record(&mut r)? {
                    Some(p) => {
                        pos.offset += HEADER + p.len() as u64;
                        match pb::Finding::decode(p.as_slice()) {
                            Ok(f) => out.push(f),
                            Err(e) => tracing::error!(error = %e, "undecodable record in the spool; skipped"),
                        }
                    }
                    None => break,
                }
            }
        }
        Ok((out, pos))
    }

    /// Marks everything before `upto` as acknowledged; deletes segments no longer needed.
    pub fn ack(&self, upto: Position, records: u64) -> io::Result<()> {
        let mut g = self.lock();
        if upto <= g.acked {
            return Ok(());
        }
        let dir = g.dir.clone();
        let done: Vec<u64> = g.segments.range(..upto.segment).map(|(id, _)| *id).collect();
        for id in done {
            if id != g.write_segment {
                let _ = std::fs::remove_file(segment_path(&dir, id));
                g.segments.remove(&id);
            }
        }
        if g.acked.segment == upto.segment {
            g.acked_records_in_first += records;
        } else {
            g.acked_records_in_first = count_records(&segment_path(&dir, upto.segment), upto.offset).unwrap_or(0);
        }
        g.acked = upto;
        g.ack_dirty = true;
        g.persist_ack(false)?;
        drop(g);
        self.space.notify_all();
        self.update_metrics();
        Ok(())
    }

    /// Unacknowledged findings.
    pub fn depth(&self) -> u64 {
        self.lock().depth()
    }

    fn update_metrics(&self) {
        let g = self.lock();
        self.metrics.spool_depth.set(g.depth() as i64);
        self.metrics.spool_bytes.set(g.unacked_bytes() as i64);
    }
}

impl Inner {
    fn unacked_bytes(&self) -> u64 {
        self.segments
            .iter()
            .filter(|(id, _)| **id >= self.acked.segment)
            .map(|(id, s)| if *id == self.acked.segment { s.bytes.saturating_sub(self.acked.offset) } else { s.bytes })
            .sum()
    }

    fn depth(&self) -> u64 {
        self.segments
            .iter()
            .filter(|(id, _)| **id >= self.acked.segment)
            .map(|(id, s)| if *id == self.acked.segment { s.records.saturating_sub(self.acked_records_in_first) } else { s.records })
            .sum()
    }

    fn roll(&mut self) -> io::Result<()> {
        self.writer.flush()?;
        self.writer.get_ref().sync_data()?;
        let next = self.write_segment + 1;
        let file = crate::private::options().create(true).append(true).open(segment_path(&self.dir, next))?;
        self.writer = BufWriter::with_capacity(256 * 1024, file);
        self.write_segment = next;
        self.segments.insert(next, Segment { bytes: 0, records: 0 });
        Ok(())
    }

    fn maybe_sync(&mut self, force: bool) -> io::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let due = match self.cfg.fsync {
            FsyncPolicy::Always => true,
            FsyncPolicy::Interval => self.last_sync.elapsed() >= Duration::from_millis(self.cfg.fsync_interval_ms),
            FsyncPolicy::Never => false,
        };
        if due || (force && self.cfg.fsync != FsyncPolicy::Never) {
            self.writer.get_ref().sync_data()?;
            self.last_sync = Instant::now();
            self.dirty = false;
        }
        Ok(())
    }

    fn persist_ack(&mut self, force: bool) -> io::Result<()> {
        if self.ack_dirty && (force || self.last_ack_persist.elapsed() >= Duration::from_millis(100)) {
            write_atomic(&self.dir.join("acked"), format!("{} {}\n", self.acked.segment, self.acked.offset).as_bytes())?;
            self.last_ack_persist = Instant::now();
            self.ack_dirty = false;
        }
        Ok(())
    }

    /// Drops the oldest segment that is not being written. Returns false when there is none.
    fn drop_oldest(&mut self, metrics: &Metrics) -> io::Result<bool> {
        let Some((&oldest, seg)) = self.segments.iter().find(|(id, _)| **id != self.write_segment) else {
            return Ok(false);
        };
        let lost = if oldest == self.acked.segment { seg.records.saturating_sub(self.acked_records_in_first) } else { seg.records };
        let _ = std::fs::remove_file(segment_path(&self.dir, oldest));
        self.segments.remove(&oldest);
        let next = self.segments.keys().next().copied().unwrap_or(self.write_segment);
        self.acked = Position { segment: next, offset: 0 };
        self.acked_records_in_first = 0;
        self.ack_dirty = true;
        self.persist_ack(true)?;
        metrics.spool_dropped.inc_by(lost);
        tracing::error!(lost, "spool full: dropped the oldest unacknowledged segment (when_full = \"drop_oldest\")");
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(i: u64) -> pb::Finding {
        pb::Finding { id: format!("f{i}"), detector: "email".into(), preview: "x".repeat(50), ..Default::default() }
    }

    fn spool(dir: &Path, cfg: SpoolConfig) -> Spool {
        Spool::open(dir, cfg, Arc::new(Metrics::default())).unwrap()
    }

    fn ids(v: &[pb::Finding]) -> Vec<String> {
        v.iter().map(|f| f.id.clone()).collect()
    }

    #[test]
    fn unacked_findings_survive_a_reopen_and_acked_ones_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = SpoolConfig { segment_bytes: 300, ..Default::default() };
        let s = spool(dir.path(), cfg.clone());
        s.append(&(0..10).map(finding).collect::<Vec<_>>(), &|| false).unwrap();
        let (first, pos) = s.read(s.acked(), 4).unwrap();
        assert_eq!(ids(&first), ["f0", "f1", "f2", "f3"]);
        s.ack(pos, 4).unwrap();
        s.sync().unwrap();
        drop(s);
        let s = spool(dir.path(), cfg);
        assert_eq!(s.depth(), 6);
        let (rest, _) = s.read(s.acked(), 100).unwrap();
        assert_eq!(ids(&rest), ["f4", "f5", "f6", "f7", "f8", "f9"]);
    }

    #[test]
    fn a_torn_tail_is_cut_at_the_last_good_record() {
        let dir = tempfile::tempdir().unwrap();
        let s = spool(dir.path(), SpoolConfig::default());
        s.append(&[finding(1), finding(2)], &|| false).unwrap();
        drop(s);
        let seg = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).find(|p| p.extension().is_some_and(|x| x == "seg")).unwrap();
        let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
        f.write_all(&[200, 0, 0, 0, 1, 2, 3, 4, 9, 9]).unwrap(); // header promising 200 bytes, then EOF
        drop(f);
        let s = spool(dir.path(), SpoolConfig::default());
        let (all, _) = s.read(s.acked(), 100).unwrap();
        assert_eq!(ids(&all), ["f1", "f2"]);
        s.append(&[finding(3)], &|| false).unwrap();
        let (all, _) = s.read(s.acked(), 100).unwrap();
        assert_eq!(ids(&all), ["f1", "f2", "f3"]);
    }

    #[test]
    fn drop_oldest_policy_bounds_the_spool_and_counts_losses() {
        let dir = tempfile::tempdir().unwrap();
        let metrics = Arc::new(Metrics::default());
        let cfg = SpoolConfig { segment_bytes: 200, max_bytes: 600, when_full: FullPolicy::DropOldest, ..Default::default() };
        let s = Spool::open(dir.path(), cfg, metrics.clone()).unwrap();
        for i in 0..40 {
            s.append(&[finding(i)], &|| false).unwrap();
        }
        let (all, _) = s.read(s.acked(), 1000).unwrap();
        assert!(all.len() < 40 && !all.is_empty());
        assert_eq!(ids(&all).last().unwrap(), "f39", "newest kept");
        assert_eq!(metrics.spool_dropped.get() + all.len() as u64, 40);
    }

    #[test]
    fn block_policy_waits_for_an_ack() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = SpoolConfig { segment_bytes: 200, max_bytes: 300, ..Default::default() };
        let s = spool(dir.path(), cfg);
        s.append(&(0..4).map(finding).collect::<Vec<_>>(), &|| false).unwrap();
        let s2 = s.clone();
        let t = std::thread::spawn(move || s2.append(&[finding(99)], &|| false));
        std::thread::sleep(Duration::from_millis(300));
        assert!(!t.is_finished(), "append must wait while full");
        let (got, pos) = s.read(s.acked(), 100).unwrap();
        s.ack(pos, got.len() as u64).unwrap();
        t.join().unwrap().unwrap();
        let (rest, _) = s.read(s.acked(), 100).unwrap();
        assert_eq!(ids(&rest), ["f99"]);
    }
}
