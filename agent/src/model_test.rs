//! Model-based test of the tailer, the reader and the spool (issue #17): exactly once under
//! every rotation.
//!
//! A seeded state machine writes real files in a temporary directory and drives the real
//! [`Reader`] and [`Spool`] in process, one step at a time: appends (lines with a unique e-mail
//! address, and lines without personal data), rename rotation (to a name the globs match and to
//! one they do not), copytruncate, deletion, new short files, polls, checkpoints, kills (the
//! reader and the spool dropped between any two steps: nothing more is saved) and restarts, the
//! checkpoint file moved away, the collector going down and up, lost acknowledgements, and a
//! byte of the spool flipped. The "collector" is a map from finding id to fingerprint, as the
//! store keeps it (an id is stored once).
//!
//! The property, checked at the end of every case once everything is drained: every written
//! line carrying personal data is stored exactly once. The only allowed losses are the lines
//! of a file destroyed (deleted, truncated, renamed out of the globs) while the agent was down
//! before it could read them, and the findings the spool counted as unrecoverable (corrupt) or
//! dropped (`drop_oldest`); a line is never stored twice.
//!
//! `CUSTOS_MODEL_CASES` (default 100) and `CUSTOS_MODEL_STEPS` (default 120 per case) set the
//! size of a run; `CUSTOS_MODEL_SEED` replays one case (its seed is printed when it fails).

use crate::anomaly::{AnomalyConfig, SizeHints};
use crate::config::{LogSource, ReadFrom, TailConfig};
use crate::finding::FindingFactory;
use crate::metrics::Metrics;
use crate::mode::RunMode;
use crate::reader::{Reader, ReaderContext};
use crate::spool::{FsyncPolicy, FullPolicy, Position, Spool, SpoolConfig};
use custos_proto::v1 as pb;
use custos_rules::{Engine, FingerprintKey};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

fn engine() -> Arc<Engine> {
    static ENGINE: OnceLock<Arc<Engine>> = OnceLock::new();
    ENGINE.get_or_init(|| Arc::new(crate::run::load_engine(None, None, None).unwrap())).clone()
}

fn key() -> FingerprintKey {
    FingerprintKey::new(vec![7u8; 32]).unwrap()
}

/// How a written line may end at the collector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Exactly once.
    Once,
    /// At most once: its file was destroyed while the agent was down.
    AtMostOnce,
}

struct Running {
    reader: Reader,
    spool: Spool,
    metrics: Arc<Metrics>,
    /// The transport's read position (reset to the acked one on reconnect).
    sent: Position,
    _shutdown: tokio::sync::watch::Sender<bool>,
}

struct World {
    rng: StdRng,
    _tmp: tempfile::TempDir,
    logs: PathBuf,
    data: PathBuf,
    spool_cfg: SpoolConfig,
    agent: Option<Running>,
    collector_up: bool,
    /// The collector's store: finding id → (fingerprint, where: path, identity and offset).
    store: HashMap<String, ([u8; 32], String)>,
    /// Personal lines written: fingerprint → (line number, expectation).
    lines: HashMap<[u8; 32], (u64, Expect)>,
    /// Lines (by fingerprint) in each file, by the file's current name.
    files: BTreeMap<String, Vec<[u8; 32]>>,
    next_line: u64,
    next_name: u64,
    /// Findings the spool said it dropped (`drop_oldest`), summed over runs.
    counted_dropped: u64,
    /// Records the spool found corrupt, summed over runs (a bad record still there at a
    /// restart is counted again).
    counted_corrupt: u64,
    corruptions: u64,
    /// What went wrong on the way (the spool unreadable...).
    errors: Vec<String>,
    /// Kinds of steps left out (`CUSTOS_MODEL_WITHOUT=corrupt,moved`).
    without: Vec<String>,
    log: Vec<String>,
}

const NAMES: [&str; 3] = ["a.log", "b.log", "c.log"];

fn local_part(mut n: u64) -> String {
    let mut s = String::from("u");
    for _ in 0..6 {
        s.push((b'a' + (n % 26) as u8) as char);
        n /= 26;
    }
    s
}

impl World {
    fn new(seed: u64) -> World {
        let mut rng = StdRng::seed_from_u64(seed);
        let tmp = tempfile::tempdir().unwrap();
        let logs = tmp.path().join("logs");
        let data = tmp.path().join("data");
        std::fs::create_dir_all(&logs).unwrap();
        std::fs::create_dir_all(&data).unwrap();
        let drop_oldest = rng.random_bool(0.2);
        let spool_cfg = SpoolConfig {
            max_bytes: if drop_oldest { rng.random_range(2_000..20_000) } else { 1 << 30 },
            segment_bytes: [512, 4096, 8 << 20][rng.random_range(0..3)],
            fsync: FsyncPolicy::Never,
            fsync_interval_ms: 200,
            when_full: if drop_oldest { FullPolicy::DropOldest } else { FullPolicy::Block },
        };
        let mut w = World {
            rng,
            _tmp: tmp,
            logs,
            data,
            spool_cfg,
            agent: None,
            collector_up: true,
            store: HashMap::new(),
            lines: HashMap::new(),
            files: BTreeMap::new(),
            next_line: 0,
            next_name: 0,
            counted_dropped: 0,
            counted_corrupt: 0,
            corruptions: 0,
            errors: Vec::new(),
            without: std::env::var("CUSTOS_MODEL_WITHOUT").unwrap_or_default().split(',').map(str::to_string).collect(),
            log: Vec::new(),
        };
        w.log.push(format!("spool: {:?}", w.spool_cfg));
        w.start();
        w
    }

    fn start(&mut self) {
        assert!(self.agent.is_none());
        let metrics = Arc::new(Metrics::default());
        let resume = crate::checkpoint::resume(&self.data).unwrap();
        let spool = Spool::open(&self.data.join("spool"), self.spool_cfg.clone(), metrics.clone()).unwrap();
        let (tx, rx) = tokio::sync::watch::channel(false);
        let source = LogSource {
            paths: vec![format!("{}/*.log", self.logs.display()), format!("{}/*.log.1", self.logs.display())],
            read_from: ReadFrom::End,
            max_line_bytes: 1 << 20,
            include_compressed: false,
            detect: Vec::new(),
            format: Default::default(),
        };
        let ctx = ReaderContext {
            engine: engine(),
            factory: FindingFactory::new("model".into(), "host".into(), key()),
            sources: vec![source],
            tail: TailConfig { poll_interval_ms: 0, rescan_interval_ms: 0, orphan_grace_ms: 0, checkpoint_interval_ms: 0 },
            spool: spool.clone(),
            metrics: metrics.clone(),
            checkpoints_path: self.data.join("checkpoints.json"),
            checkpoints_copy: crate::checkpoint::copy_path(&self.data),
            saved: resume.saved,
            read_whole: resume.read_whole,
            mode: RunMode::Follow,
            shutdown: rx,
            anomaly: AnomalyConfig::default(),
            sizes: SizeHints::default(),
        };
        let sent = spool.acked();
        self.agent = Some(Running { reader: Reader::new(ctx), spool, metrics, sent, _shutdown: tx });
        // The reader's first poll comes at once (what is there then is "present at start").
        self.poll(true);
    }

    fn kill(&mut self) {
        if let Some(a) = self.agent.take() {
            let (dropped, corrupt) = (a.metrics.spool_dropped.get(), a.metrics.spool_corrupt.get());
            if dropped + corrupt > 0 {
                self.log.push(format!("  (this run's spool dropped {dropped} and found {corrupt} corrupt)"));
            }
            self.counted_dropped += dropped;
            self.counted_corrupt += corrupt;
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.logs.join(name)
    }

    fn append(&mut self, name: &str, n: usize) {
        let mut text = String::new();
        let mut fps = Vec::new();
        for _ in 0..n {
            if self.rng.random_bool(0.15) {
                text.push_str("heartbeat ok\n");
                continue;
            }
            let pad = " lorem".repeat(self.rng.random_range(0..40));
            let line = format!("user {}@example.org logged in{pad}", local_part(self.next_line));
            self.next_line += 1;
            let fp = fingerprint_of(&line);
            self.lines.insert(fp, (self.next_line, Expect::Once));
            fps.push(fp);
            text.push_str(&line);
            text.push('\n');
        }
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(self.path(name)).unwrap();
        f.write_all(text.as_bytes()).unwrap();
        self.files.entry(name.to_string()).or_default().extend(fps);
    }

    /// Before destroying a file: a running agent has it open and read; lines of a file
    /// destroyed while the agent is down may be lost.
    fn before_destroying(&mut self, name: &str) {
        if self.agent.is_some() {
            self.poll(true);
        } else if let Some(fps) = self.files.get(name) {
            for fp in fps {
                if let Some(l) = self.lines.get_mut(fp) {
                    l.1 = Expect::AtMostOnce;
                }
            }
        }
    }

    fn poll(&mut self, rescan: bool) {
        if let Some(a) = &mut self.agent {
            a.reader.poll(rescan).unwrap();
        }
    }

    fn deliver(&mut self, max: usize, lose_ack: bool) {
        let (Some(a), true) = (&mut self.agent, self.collector_up) else { return };
        let (batch, end) = match a.spool.read(a.sent, max) {
            Ok(r) => r,
            Err(e) => {
                self.errors.push(format!("the spool cannot be read: {e}"));
                return;
            }
        };
        for f in &batch {
            let fp: [u8; 32] = f.fingerprint.as_slice().try_into().expect("a personal-data finding has a fingerprint");
            let src = f.source.clone().unwrap_or_default();
            let offset = match f.position.as_ref().and_then(|p| p.at.clone()) {
                Some(pb::position::At::Text(t)) => t.line_offset,
                _ => 0,
            };
            self.store.entry(f.id.clone()).or_insert((fp, format!("{} {} @{offset}", src.locator, src.identity)));
        }
        if lose_ack {
            a.sent = a.spool.acked(); // the transport reconnects and resends
        } else {
            a.spool.ack(end, batch.len() as u64).unwrap();
            a.sent = end;
        }
    }

    fn corrupt(&mut self) {
        let dir = self.data.join("spool");
        let mut segs: Vec<PathBuf> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "seg")).collect();
        segs.sort();
        segs.retain(|p| std::fs::metadata(p).map(|m| m.len() > 0).unwrap_or(false));
        if segs.is_empty() {
            return;
        }
        let p = &segs[self.rng.random_range(0..segs.len())];
        let mut bytes = std::fs::read(p).unwrap();
        let at = self.rng.random_range(0..bytes.len());
        bytes[at] ^= 1 << self.rng.random_range(0..8);
        std::fs::write(p, bytes).unwrap();
        self.corruptions += 1;
        self.log.push(format!("  corrupted byte {at} of {}", p.display()));
    }

    fn step(&mut self) {
        let roll = self.rng.random_range(0..100);
        let kind = match roll {
            0..=29 => "append",
            30..=44 => "poll",
            45..=51 => "checkpoint",
            52..=59 => "deliver",
            60..=71 => "kill",
            72..=76 => "rename",
            77..=80 => "copytruncate",
            81..=83 => "delete",
            84..=86 => "short",
            87..=90 => "collector",
            91..=93 => "corrupt",
            94..=95 => "moved",
            _ => "kill",
        };
        if self.without.iter().any(|w| w == kind) {
            return;
        }
        let name = NAMES[self.rng.random_range(0..NAMES.len())].to_string();
        let running = self.agent.is_some();
        let op = match roll {
            0..=29 => {
                let n = self.rng.random_range(1..6);
                let first = self.next_line + 1;
                self.append(&name, n);
                format!("append {n} to {name} (personal lines {first}..={})", self.next_line)
            }
            30..=44 => {
                let rescan = self.rng.random_bool(0.7);
                self.poll(rescan);
                format!("poll rescan={rescan}")
            }
            45..=51 => {
                if let Some(a) = &mut self.agent {
                    a.reader.checkpoint().unwrap();
                }
                "checkpoint".into()
            }
            52..=59 => {
                let lose = self.rng.random_bool(0.2);
                let max = self.rng.random_range(1..50);
                self.deliver(max, lose);
                format!("deliver {max} lose_ack={lose}")
            }
            60..=64 => {
                self.kill();
                "kill".into()
            }
            65..=71 => {
                if !running {
                    self.start();
                }
                "restart".into()
            }
            72..=76 => {
                if !self.path(&name).exists() {
                    return;
                }
                // Rename rotation: to a name the globs match (.1) or not (.old).
                let to = if self.rng.random_bool(0.5) { format!("{name}.1") } else { format!("{name}.old") };
                if self.files.contains_key(&to) {
                    self.before_destroying(&to.clone());
                }
                if to.ends_with(".old") {
                    // Out of the globs: a running agent follows the open file, one down finds
                    // it again only through its checkpoint (if it has one).
                    self.before_destroying(&name);
                }
                std::fs::rename(self.path(&name), self.path(&to)).unwrap();
                let fps = self.files.remove(&name).unwrap_or_default();
                self.files.insert(to.clone(), fps);
                format!("rename {name} -> {to}")
            }
            77..=80 => {
                if !self.path(&name).exists() {
                    return;
                }
                self.before_destroying(&name);
                self.next_name += 1;
                let copy = format!("{name}-c{}", self.next_name);
                std::fs::copy(self.path(&name), self.path(&copy)).unwrap();
                std::fs::OpenOptions::new().write(true).open(self.path(&name)).unwrap().set_len(0).unwrap();
                self.files.insert(name.clone(), Vec::new());
                format!("copytruncate {name}")
            }
            81..=83 => {
                let victims: Vec<String> = self.files.keys().filter(|k| self.path(k).exists()).cloned().collect();
                if victims.is_empty() {
                    return;
                }
                let v = victims[self.rng.random_range(0..victims.len())].clone();
                self.before_destroying(&v);
                std::fs::remove_file(self.path(&v)).unwrap();
                self.files.remove(&v);
                format!("delete {v}")
            }
            84..=86 => {
                // A new short file (under the head length).
                self.next_name += 1;
                let n = format!("s{}.log", self.next_name);
                self.append(&n, 1);
                format!("short file {n}")
            }
            87..=90 => {
                self.collector_up = !self.collector_up;
                if let Some(a) = &mut self.agent {
                    a.sent = a.spool.acked();
                }
                format!("collector up={}", self.collector_up)
            }
            91..=93 => {
                self.corrupt();
                "corrupt spool byte".into()
            }
            94..=95 => {
                if running {
                    return;
                }
                let _ = std::fs::rename(self.data.join("checkpoints.json"), self.data.join("checkpoints.json.moved"));
                "checkpoint file moved away".into()
            }
            _ => {
                // Kill right after a poll, before any checkpoint.
                self.poll(true);
                self.kill();
                "poll then kill".into()
            }
        };
        self.log.push(op);
    }

    /// Restart if down, collector up, and drain everything.
    fn settle(&mut self) {
        if self.agent.is_none() {
            self.start();
        }
        self.collector_up = true;
        for _ in 0..3 {
            self.poll(true);
            self.agent.as_mut().unwrap().reader.checkpoint().unwrap();
            for _ in 0..1000 {
                self.deliver(500, false);
                if self.agent.as_ref().unwrap().spool.depth() == 0 || !self.errors.is_empty() {
                    break;
                }
            }
        }
        self.kill();
    }

    /// The property. Returns what is wrong.
    fn check(&self) -> Result<(), String> {
        let mut stored: HashMap<[u8; 32], u64> = HashMap::new();
        let mut places: HashMap<[u8; 32], Vec<&str>> = HashMap::new();
        for (fp, place) in self.store.values() {
            *stored.entry(*fp).or_default() += 1;
            places.entry(*fp).or_default().push(place);
        }
        let mut problems: Vec<String> = self.errors.iter().take(1).cloned().collect();
        let mut missing = 0u64;
        let mut lines: Vec<_> = self.lines.iter().collect();
        lines.sort_by_key(|(_, (n, _))| *n);
        for (fp, (n, expect)) in lines {
            let got = stored.get(fp).copied().unwrap_or(0);
            if got > 1 {
                problems.push(format!("line {n} stored {got} times ({})", places[fp].join(", ")));
            } else if got == 0 && *expect == Expect::Once {
                missing += 1;
                if missing <= 12 {
                    problems.push(format!("line {n} missing"));
                }
            }
        }
        for fp in stored.keys() {
            if !self.lines.contains_key(fp) {
                problems.push("a stored finding matches no written line".into());
            }
        }
        let duplicates = problems.iter().filter(|p| p.contains("times")).count();
        // A flipped byte spoils one record (one finding), which must have been counted.
        let allowed = self.counted_dropped + self.counted_corrupt.min(self.corruptions);
        if duplicates == 0 && missing <= allowed && self.errors.is_empty() {
            return Ok(());
        }
        let tags = [(duplicates > 0, "[duplicates]"), (missing > allowed, "[uncounted losses]"), (!self.errors.is_empty(), "[unreadable spool]")];
        let tags: Vec<&str> = tags.iter().filter(|(on, _)| *on).map(|(_, t)| *t).collect();
        Err(format!(
            "{} {duplicates} duplicated, {missing} missing (the spool counted {} dropped, {} corrupt; {} corruptions injected): {}",
            tags.join(""),
            self.counted_dropped,
            self.counted_corrupt,
            self.corruptions,
            problems.iter().take(8).cloned().collect::<Vec<_>>().join("; ")
        ))
    }
}

fn fingerprint_of(line: &str) -> [u8; 32] {
    let engine = engine();
    let mut d = Vec::new();
    engine.scan(line.as_bytes(), &mut d);
    assert_eq!(d.len(), 1, "one detection in {line:?}: {d:?}");
    key().fingerprint(&engine.detector(d[0].detector).id, &d[0].normalized).0
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Runs one case; the error holds the seed and the steps.
fn run_case(seed: u64, steps: u64) -> Result<(), String> {
    let mut w = World::new(seed);
    for _ in 0..steps {
        w.step();
    }
    w.settle();
    w.check().map_err(|e| format!("seed {seed}: {e}\nsteps:\n{}", w.log.join("\n")))
}

#[test]
fn every_line_with_personal_data_is_stored_exactly_once() {
    let steps = env("CUSTOS_MODEL_STEPS", 120);
    if let Ok(seed) = std::env::var("CUSTOS_MODEL_SEED") {
        run_case(seed.parse().unwrap(), steps).unwrap();
        return;
    }
    let cases = env("CUSTOS_MODEL_CASES", 100);
    let started = std::time::Instant::now();
    let mut failures = Vec::new();
    for seed in 0..cases {
        if let Err(e) = run_case(seed, steps) {
            failures.push(e);
        }
    }
    let with = |what: &str| failures.iter().filter(|f| f.lines().next().is_some_and(|l| l.contains(what))).count();
    eprintln!(
        "model: {cases} cases x {steps} steps = {} steps in {:.1?}, {} failed ({} with duplicates, {} with uncounted losses, {} with an unreadable spool)",
        cases * steps,
        started.elapsed(),
        failures.len(),
        with("[duplicates]"),
        with("[uncounted losses]"),
        with("[unreadable spool]")
    );
    if let Some(first) = failures.iter().min_by_key(|f| f.len()) {
        let seeds: Vec<&str> = failures.iter().filter_map(|f| f.split(':').next()).collect();
        panic!("{} of {cases} cases failed ({}); the shortest:\n{first}", failures.len(), seeds.join(", "));
    }
}
