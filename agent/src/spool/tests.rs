//! Tests of the spool: reopen, torn tails, corrupt records, the cap, the older format.

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

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "seg")).collect();
    v.sort();
    v
}

#[test]
fn a_corrupt_record_is_skipped_counted_once_and_its_neighbours_kept() {
    for running in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let metrics = Arc::new(Metrics::default());
        let s = Spool::open(dir.path(), SpoolConfig::default(), metrics.clone()).unwrap();
        s.append(&(0..10).map(finding).collect::<Vec<_>>(), &|| false).unwrap();
        let seg = &segments(dir.path())[0];
        let mut bytes = std::fs::read(seg).unwrap();
        let record = bytes.len() / 10;
        bytes[4 * record + record / 2] ^= 0x40; // in the middle of the fifth record
        std::fs::write(seg, bytes).unwrap();
        let s = if running { s } else { Spool::open(dir.path(), SpoolConfig::default(), metrics.clone()).unwrap() };
        let (all, end) = s.read(s.acked(), 100).unwrap();
        assert_eq!(ids(&all), ["f0", "f1", "f2", "f3", "f5", "f6", "f7", "f8", "f9"], "running={running}");
        s.read(s.acked(), 100).unwrap();
        assert_eq!(metrics.spool_corrupt.get(), 1, "counted once (running={running})");
        s.ack(end, all.len() as u64).unwrap();
        assert_eq!(s.depth(), 0);
    }
}

#[test]
fn drop_oldest_keeps_the_cap_by_records_even_with_large_segments_and_the_gauge_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = Arc::new(Metrics::default());
    let cfg = SpoolConfig { max_bytes: 2000, when_full: FullPolicy::DropOldest, ..Default::default() };
    let s = Spool::open(dir.path(), cfg, metrics.clone()).unwrap();
    for i in 0..100 {
        s.append(&[finding(i)], &|| false).unwrap();
        assert!(metrics.spool_bytes.get() <= 2000, "{} unacknowledged bytes", metrics.spool_bytes.get());
    }
    assert_eq!(metrics.spool_full.get(), 1, "full while dropping");
    let (all, end) = s.read(s.acked(), 1000).unwrap();
    assert_eq!(ids(&all).last().unwrap(), "f99", "newest kept");
    assert_eq!(metrics.spool_dropped.get() + all.len() as u64, 100);
    let on_disk: u64 = segments(dir.path()).iter().map(|p| std::fs::metadata(p).unwrap().len()).sum();
    assert!(on_disk <= 2000 + 4096 + 200, "{on_disk} bytes on disk");
    s.ack(end, all.len() as u64).unwrap();
    assert_eq!((metrics.spool_full.get(), metrics.spool_depth.get(), metrics.spool_bytes.get()), (0, 0, 0), "drained");
}

#[test]
fn segments_of_the_older_format_are_converted_and_the_acked_offset_follows() {
    let dir = tempfile::tempdir().unwrap();
    let mut old = Vec::new();
    let mut offsets = Vec::new();
    for i in 0..3 {
        offsets.push(old.len());
        let p = finding(i).encode_to_vec();
        old.extend_from_slice(&(p.len() as u32).to_le_bytes());
        old.extend_from_slice(&crc32fast::hash(&p).to_le_bytes());
        old.extend_from_slice(&p);
    }
    std::fs::write(segment_path(dir.path(), 1), &old).unwrap();
    std::fs::write(dir.path().join("acked"), format!("1 {}\n", offsets[1])).unwrap();
    let s = spool(dir.path(), SpoolConfig::default());
    assert_eq!(s.depth(), 2);
    let (rest, _) = s.read(s.acked(), 100).unwrap();
    assert_eq!(ids(&rest), ["f1", "f2"]);
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
