//! The on-disk spool: every finding is written here before it is sent, and leaves only when
//! the collector has acknowledged it.
//!
//! # Layout
//! `DIR/NNNNNNNNNNNNNNNNNNNN.seg` are append-only segments of records
//! `[sync marker: 4 bytes][len: u32 LE][crc32 of len and payload: u32 LE][protobuf Finding]`;
//! a segment is closed at `segment_bytes` (or an eighth of `max_bytes` if smaller, so that the
//! cap can be kept close). `DIR/acked` holds the position (segment, offset) before which
//! everything is acknowledged; it is replaced atomically (write, fsync, rename). Segments
//! entirely before it are deleted. Segments of the older format (no marker) are converted when
//! the spool is opened.
//!
//! # Crash safety and corruption
//! On open, every segment is checked record by record. A record that does not check out (bad
//! marker, length or CRC) is skipped: reading resynchronises on the next sync marker that starts
//! a valid record, so a good record is never lost because a neighbour is bad. What could not be
//! recovered is counted (`custos_agent_spool_corrupt_records_total`, one per marker in the bad
//! stretch, at least one) and logged, once per place. An incomplete record at the end of a
//! segment is cut off, and counted too: it is what a crash in the middle of an append leaves
//! (its line comes after the last checkpoint and is read again, so the count is then an upper
//! bound), but also what a damaged length field looks like. Everything after `acked` is sent again — the collector stores each
//! finding id once, so this never duplicates.
//!
//! # When the spool is full
//! `max_bytes` caps the unacknowledged bytes. `when_full = "block"` (default) makes the readers
//! wait — the logs themselves keep the data — while `"drop_oldest"` drops the oldest
//! unacknowledged records, one by one, until the new ones fit (counted in a metric). The
//! `spool_full` gauge is 1 while an append waits, and after an append had to drop until the
//! spool has room again (an append that fits without dropping, or acknowledgements bringing it
//! under 90 % of the cap).

use crate::metrics::Metrics;
use custos_proto::v1 as pb;
use prost::Message;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
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
    /// Bad stretches already counted.
    corrupt_seen: HashSet<Position>,
    /// What the `spool_full` gauge says (see the module documentation).
    full: bool,
    /// The records before `acked` in its segment must be counted again at the next ack.
    recount: bool,
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

/// Marks the start of every record (resynchronisation after a bad one looks for it).
const MAGIC: [u8; 4] = [0xC5, 0x5F, 0x0C, 0x1E];
const HEADER: u64 = 12;
const LEGACY_HEADER: u64 = 8;
const MAX_RECORD: u32 = 16 << 20;

fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:020}.seg"))
}

fn record_crc(len: &[u8], payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(len);
    h.update(payload);
    h.finalize()
}

/// What is at a place of a segment.
enum Rec {
    /// A good record of this payload length.
    Good(u32),
    /// Not a record (bad marker, length or CRC).
    Bad,
    /// The segment ends inside the record (a torn append, or the end).
    End,
}

/// Parses the record at `buf[0..]` (in memory).
fn parse(buf: &[u8]) -> Rec {
    if buf.len() < HEADER as usize {
        return Rec::End;
    }
    if buf[..4] != MAGIC {
        return Rec::Bad;
    }
    let len = u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]);
    if len > MAX_RECORD {
        return Rec::Bad;
    }
    let crc = u32::from_le_bytes([buf[8], buf[9], buf[10], buf[11]]);
    let Some(payload) = buf.get(HEADER as usize..HEADER as usize + len as usize) else { return Rec::End };
    if record_crc(&buf[4..8], payload) != crc { Rec::Bad } else { Rec::Good(len) }
}

/// The next place at or after `from` where a good record starts, and the sync markers passed
/// on the way (records that could not be recovered).
fn resync(buf: &[u8], from: usize) -> (Option<usize>, u64) {
    let mut markers = 0;
    let mut at = from;
    while let Some(i) = memchr::memmem::find(&buf[at.min(buf.len())..], &MAGIC) {
        let p = at + i;
        if let Rec::Good(_) = parse(&buf[p..]) {
            return (Some(p), markers);
        }
        markers += 1;
        at = p + 1;
    }
    (None, markers)
}

/// Reads one record at the reader's position (the hot path).
fn read_record(r: &mut impl Read) -> io::Result<Result<Vec<u8>, Rec>> {
    let mut header = [0u8; HEADER as usize];
    match r.read_exact(&mut header) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(Err(Rec::End)),
        Err(e) => return Err(e),
    }
    let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if header[..4] != MAGIC || len > MAX_RECORD {
        return Ok(Err(Rec::Bad));
    }
    let crc = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
    let mut payload = vec![0u8; len as usize];
    match r.read_exact(&mut payload) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(Err(Rec::End)),
        Err(e) => return Err(e),
    }
    if record_crc(&header[4..8], &payload) != crc {
        return Ok(Err(Rec::Bad));
    }
    Ok(Ok(payload))
}

/// What the check of a segment at open found.
struct Scanned {
    /// Where the good data ends (an incomplete last record is cut there).
    valid: u64,
    /// Good records.
    records: u64,
    /// Good records before `count_upto`.
    records_before: u64,
    /// Bad stretches: (offset, records that could not be recovered).
    corrupt: Vec<(u64, u64)>,
}

/// Checks a segment record by record from `start` (a record boundary: 0, or the acknowledged
/// offset, before which nothing matters any more); see the module documentation.
fn scan_segment(path: &Path, start: u64, count_upto: u64) -> io::Result<Scanned> {
    let buf = std::fs::read(path)?;
    let mut out = Scanned { valid: start.min(buf.len() as u64), records: 0, records_before: 0, corrupt: Vec::new() };
    let mut at = start as usize;
    while at < buf.len() {
        match parse(&buf[at..]) {
            Rec::Good(len) => {
                if (at as u64) < count_upto {
                    out.records_before += 1;
                }
                out.records += 1;
                at += HEADER as usize + len as usize;
                out.valid = at as u64;
            }
            // A record running past the end is a torn tail only if nothing good follows (a
            // corrupt length looks the same).
            Rec::End | Rec::Bad => match resync(&buf, at + 1) {
                (Some(next), markers) => {
                    out.corrupt.push((at as u64, 1 + markers));
                    at = next;
                }
                (None, markers) => {
                    // Nothing good after it: a bad last record, or a torn one.
                    let complete = buf.len() >= at + HEADER as usize && {
                        let len = u32::from_le_bytes([buf[at + 4], buf[at + 5], buf[at + 6], buf[at + 7]]) as usize;
                        buf[at..at + 4] == MAGIC && at + HEADER as usize + len <= buf.len()
                    };
                    // An incomplete last record is what a crash in the middle of an append
                    // leaves (its line, after the last checkpoint, is read again), but also
                    // what a damaged length looks like: counted either way.
                    out.corrupt.push((at as u64, (complete as u64 + markers).max(1)));
                    break;
                }
            },
        }
    }
    Ok(out)
}

/// A segment of the older format: no marker, and its first record checks out as one of that
/// format (a new segment whose first marker is damaged is not one).
fn is_legacy(path: &Path) -> io::Result<bool> {
    let mut f = File::open(path)?;
    let mut header = [0u8; LEGACY_HEADER as usize];
    if f.read_exact(&mut header).is_err() || header[..4] == MAGIC {
        return Ok(false);
    }
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if len > MAX_RECORD {
        return Ok(false);
    }
    let mut payload = vec![0u8; len as usize];
    Ok(f.read_exact(&mut payload).is_ok() && crc32fast::hash(&payload) == crc)
}

/// Converts a segment of the older format (`[len][crc][payload]`, no marker) in place;
/// returns the new offset of `old_offset`.
fn convert_legacy(path: &Path, old_offset: u64) -> io::Result<u64> {
    let buf = std::fs::read(path)?;
    let (mut at, mut new_offset, mut out) = (0usize, 0u64, Vec::with_capacity(buf.len() + buf.len() / 8));
    let mut mapped = old_offset == 0;
    while at + LEGACY_HEADER as usize <= buf.len() {
        let len = u32::from_le_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]) as usize;
        let crc = u32::from_le_bytes([buf[at + 4], buf[at + 5], buf[at + 6], buf[at + 7]]);
        let Some(payload) = buf.get(at + LEGACY_HEADER as usize..at + LEGACY_HEADER as usize + len) else { break };
        if len as u32 > MAX_RECORD || crc32fast::hash(payload) != crc {
            break;
        }
        if !mapped && at as u64 >= old_offset {
            new_offset = out.len() as u64;
            mapped = true;
        }
        encode_record(&mut out, payload);
        at += LEGACY_HEADER as usize + len;
    }
    if !mapped {
        new_offset = out.len() as u64;
    }
    write_atomic(path, &out)?;
    tracing::info!(segment = %path.display(), "spool segment converted to the framed format (sync marker, length, CRC)");
    Ok(new_offset)
}

fn encode_record(out: &mut Vec<u8>, payload: &[u8]) {
    let len = (payload.len() as u32).to_le_bytes();
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&len);
    out.extend_from_slice(&record_crc(&len, payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// Good records from `from` to `upto` in a segment.
fn count_records(path: &Path, from: u64, upto: u64) -> io::Result<u64> {
    Ok(scan_segment(path, from, upto)?.records_before)
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
    /// Opens (or creates) the spool in `dir`, repairing a torn tail and skipping corrupt
    /// records (counted).
    pub fn open(dir: &Path, cfg: SpoolConfig, metrics: Arc<Metrics>) -> io::Result<Spool> {
        crate::private::create_dir(dir)?;
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
        let mut ids = Vec::new();
        for e in std::fs::read_dir(dir)? {
            let p = e?.path();
            if p.extension().is_some_and(|x| x == "seg")
                && let Some(id) = p.file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse::<u64>().ok())
            {
                ids.push(id);
            }
        }
        ids.sort_unstable();
        let mut segments = BTreeMap::new();
        let mut corrupt_seen = HashSet::new();
        let mut converted_ack = false;
        for id in ids {
            let p = segment_path(dir, id);
            if id < acked.segment {
                // Wholly before the acked position: gone for good.
                let _ = std::fs::remove_file(&p);
                continue;
            }
            if is_legacy(&p)? {
                let at = if id == acked.segment { acked.offset } else { 0 };
                let new_at = convert_legacy(&p, at)?;
                if id == acked.segment {
                    acked.offset = new_at;
                    converted_ack = true;
                }
            }
            // The acknowledged part of the first segment is not looked at (nor cut, nor counted).
            let start = if id == acked.segment { acked.offset } else { 0 };
            let scanned = scan_segment(&p, start, 0)?;
            let len = std::fs::metadata(&p)?.len();
            for &(offset, lost) in &scanned.corrupt {
                metrics.spool_corrupt.inc_by(lost);
                corrupt_seen.insert(Position { segment: id, offset });
                tracing::error!(segment = %p.display(), offset, lost, "corrupt records in the spool: skipped, their findings are lost (custos_agent_spool_corrupt_records_total)");
            }
            if len > scanned.valid {
                tracing::warn!(segment = %p.display(), kept = scanned.valid, cut = len - scanned.valid, "spool segment had a torn tail; cut after the last good record");
                OpenOptions::new().write(true).open(&p)?.set_len(scanned.valid)?;
            }
            // Records of the first segment are counted from the acknowledged offset on.
            segments.insert(id, Segment { bytes: scanned.valid.max(start), records: scanned.records });
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
        let file = crate::private::options().create(true).append(true).open(segment_path(dir, write_segment))?;
        let inner = Inner {
            dir: dir.to_path_buf(),
            cfg,
            segments,
            writer: BufWriter::with_capacity(256 * 1024, file),
            write_segment,
            acked,
            acked_records_in_first: 0,
            last_sync: Instant::now(),
            dirty: false,
            last_ack_persist: Instant::now(),
            ack_dirty: converted_ack,
            corrupt_seen,
            full: false,
            recount: false,
        };
        let spool = Spool { inner: Arc::new(Mutex::new(inner)), space: Arc::new(Condvar::new()), appended: Arc::new(tokio::sync::Notify::new()), metrics };
        spool.lock().persist_ack(true)?;
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
        let mut dropped = false;
        loop {
            let used = g.unacked_bytes();
            if used == 0 || used + incoming <= g.cfg.max_bytes {
                break;
            }
            g.full = true;
            self.metrics.spool_full.set(1);
            match g.cfg.when_full {
                FullPolicy::Block => {
                    if stop() {
                        return Err(io::Error::new(io::ErrorKind::Interrupted, "stopping while the spool is full"));
                    }
                    g = self.space.wait_timeout(g, Duration::from_millis(200)).unwrap_or_else(|p| p.into_inner()).0;
                }
                FullPolicy::DropOldest => {
                    let excess = used + incoming - g.cfg.max_bytes;
                    g.drop_oldest(excess, &self.metrics)?;
                    dropped = true;
                    break;
                }
            }
        }
        // Full while appends have to drop; an append that fits (at once, or after waiting)
        // means there is room again.
        g.full = dropped;
        let mut buf = Vec::with_capacity(256);
        let mut payload = Vec::with_capacity(256);
        let segment_bytes = g.segment_bytes();
        for f in findings {
            payload.clear();
            f.encode(&mut payload).map_err(io::Error::other)?;
            buf.clear();
            encode_record(&mut buf, &payload);
            let seg = g.write_segment;
            g.writer.write_all(&buf)?;
            let s = g.segments.entry(seg).or_insert(Segment { bytes: 0, records: 0 });
            s.bytes += buf.len() as u64;
            s.records += 1;
            if s.bytes >= segment_bytes {
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
    /// Positions before the acked one (dropped records) are skipped, and so are corrupt
    /// records (counted once).
    pub fn read(&self, from: Position, max: usize) -> io::Result<(Vec<pb::Finding>, Position)> {
        let mut g = self.lock();
        let start = from.max(g.acked);
        let (payloads, pos) = g.read_raw(start, max, &self.metrics)?;
        drop(g);
        let mut out = Vec::with_capacity(payloads.len());
        for p in payloads {
            match pb::Finding::decode(p.as_slice()) {
                Ok(f) => out.push(f),
                Err(e) => tracing::error!(error = %e, "undecodable record in the spool; skipped"),
            }
        }
        Ok((out, pos))
    }

    /// Marks everything before `upto` as acknowledged (`records` findings since the last
    /// acknowledged position); deletes segments no longer needed.
    pub fn ack(&self, upto: Position, records: u64) -> io::Result<()> {
        let mut g = self.lock();
        if upto <= g.acked {
            return Ok(());
        }
        g.advance(upto, Some(records))?;
        g.persist_ack(false)?;
        if g.full && g.unacked_bytes() * 10 < g.cfg.max_bytes * 9 {
            g.full = false;
        }
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
        self.metrics.spool_full.set(i64::from(g.full));
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

    /// Segments close at `segment_bytes`, or at an eighth of the cap when that is smaller, so
    /// that the bytes on disk stay close to the cap.
    fn segment_bytes(&self) -> u64 {
        self.cfg.segment_bytes.min((self.cfg.max_bytes / 8).max(4096))
    }

    /// Raw records from `pos` (at most `max`), skipping bad stretches (counted once each).
    fn read_raw(&mut self, mut pos: Position, max: usize, metrics: &Metrics) -> io::Result<(Vec<Vec<u8>>, Position)> {
        let mut out = Vec::new();
        while out.len() < max {
            let seg = match self.segments.get(&pos.segment).copied() {
                Some(seg) if pos.offset < seg.bytes => seg,
                _ => match self.segments.range(pos.segment + 1..).next() {
                    Some((&next, _)) => {
                        pos = Position { segment: next, offset: 0 };
                        continue;
                    }
                    None => break,
                },
            };
            let path = segment_path(&self.dir, pos.segment);
            let mut f = File::open(&path)?;
            f.seek(SeekFrom::Start(pos.offset))?;
            let mut r = io::BufReader::new(f.take(seg.bytes - pos.offset));
            while out.len() < max && pos.offset < seg.bytes {
                match read_record(&mut r)? {
                    Ok(p) => {
                        pos.offset += HEADER + p.len() as u64;
                        out.push(p);
                    }
                    Err(_) => {
                        // Bad (or cut short inside what was written): resynchronise.
                        let mut rest = vec![0u8; (seg.bytes - pos.offset) as usize];
                        let mut f = File::open(&path)?;
                        f.seek(SeekFrom::Start(pos.offset))?;
                        f.read_exact(&mut rest)?;
                        let (next, markers) = resync(&rest, 1);
                        let bad_at = pos;
                        pos.offset = next.map_or(seg.bytes, |n| pos.offset + n as u64);
                        if self.corrupt_seen.insert(bad_at) {
                            let lost = 1 + markers;
                            metrics.spool_corrupt.inc_by(lost);
                            if let Some(s) = self.segments.get_mut(&bad_at.segment) {
                                s.records = s.records.saturating_sub(lost);
                            }
                            tracing::error!(segment = %path.display(), offset = bad_at.offset, lost, "corrupt records in the spool: skipped, their findings are lost (custos_agent_spool_corrupt_records_total)");
                        }
                        break;
                    }
                }
            }
        }
        Ok((out, pos))
    }

    /// Moves the acknowledged position to `upto`, deleting the segments before it. `records`:
    /// how many records lie between the old and the new position, when known.
    fn advance(&mut self, upto: Position, records: Option<u64>) -> io::Result<()> {
        let dir = self.dir.clone();
        let done: Vec<u64> = self.segments.range(..upto.segment).map(|(id, _)| *id).collect();
        for id in done {
            if id != self.write_segment {
                let _ = std::fs::remove_file(segment_path(&dir, id));
                self.segments.remove(&id);
            }
        }
        let path = segment_path(&dir, upto.segment);
        match records {
            Some(n) if self.acked.segment == upto.segment && !self.recount => self.acked_records_in_first += n,
            _ if self.acked.segment == upto.segment => {
                self.acked_records_in_first += count_records(&path, self.acked.offset, upto.offset).unwrap_or(0);
                self.recount = false;
            }
            _ => {
                self.acked_records_in_first = if upto.offset == 0 { 0 } else { count_records(&path, 0, upto.offset).unwrap_or(0) };
                self.recount = false;
            }
        }
        self.acked = upto;
        self.ack_dirty = true;
        Ok(())
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

    /// Drops the oldest unacknowledged records, one by one, until `excess` bytes are freed
    /// (or nothing is left); counts them.
    fn drop_oldest(&mut self, excess: u64, metrics: &Metrics) -> io::Result<()> {
        let before = self.unacked_bytes();
        let mut lost = 0u64;
        while before - self.unacked_bytes() < excess && self.unacked_bytes() > 0 {
            let (records, to) = self.read_raw(self.acked, 1, metrics)?;
            if to <= self.acked {
                break;
            }
            self.recount = true;
            self.advance(to, None)?;
            lost += records.len() as u64;
        }
        self.persist_ack(true)?;
        self.recount = true; // an in-flight batch may have covered dropped records
        metrics.spool_dropped.inc_by(lost);
        tracing::error!(lost, "spool full: dropped the oldest unacknowledged findings (when_full = \"drop_oldest\")");
        Ok(())
    }
}

#[cfg(test)]
mod tests;
