//! Tests of the tailer.
use super::*;
use std::io::Write;

fn source(dir: &Path, read_from: ReadFrom, max_line: usize) -> LogSource {
    LogSource {
        paths: vec![format!("{}/*.log", dir.display())],
        read_from,
        max_line_bytes: max_line,
        include_compressed: false,
        detect: Vec::new(),
        format: Default::default(),
    }
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

fn identities(t: &mut Tailer) -> Vec<String> {
    let mut out = Vec::new();
    t.poll(true, &mut |l| out.push(l.identity.to_string()), &mut |_, _| {});
    out
}

#[test]
fn truncation_is_the_next_generation_read_from_zero_once_durable() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    std::fs::write(&p, "aaaaaaaa\nbbbbbbbb\n").unwrap();
    let mut t = Tailer::new(vec![source(dir.path(), ReadFrom::Beginning, 1024)], None);
    let before = identities(&mut t);
    assert_eq!(before.len(), 2);
    assert!(before[0].contains(":0:"), "{before:?}");
    t.saved(t.checkpoints());
    std::fs::OpenOptions::new().write(true).open(&p).unwrap().set_len(0).unwrap();
    std::fs::OpenOptions::new().append(true).open(&p).unwrap().write_all(b"c\n").unwrap();
    assert!(collect(&mut t).is_empty(), "nothing of the new generation before it is durable");
    assert!(t.needs_checkpoint());
    let cp = t.checkpoints();
    let saved = cp.files.values().next().unwrap().clone();
    assert_eq!((saved.generation, saved.offset, saved.head_len), (1, 0, 0));
    t.saved(cp.clone());
    let after = identities(&mut t);
    assert_eq!(after.len(), 1);
    assert!(after[0].contains(":1:"), "{after:?}");
    // A restart from that checkpoint computes the same identity.
    let mut again = Tailer::new(vec![source(dir.path(), ReadFrom::End, 1024)], Some(cp));
    assert_eq!(identities(&mut again), after);
}

#[test]
fn a_line_keeps_its_identity_however_long_the_file_grows_and_whatever_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    std::fs::write(&p, "short\n").unwrap();
    let mut t = Tailer::new(vec![source(dir.path(), ReadFrom::Beginning, 1024)], None);
    let first = identities(&mut t);
    // Killed before any checkpoint; the file grows past the head and is renamed.
    drop(t);
    std::fs::OpenOptions::new().append(true).open(&p).unwrap().write_all(format!("{}\n", "x".repeat(400)).as_bytes()).unwrap();
    std::fs::rename(&p, dir.path().join("b.log")).unwrap();
    let mut t = Tailer::new(vec![source(dir.path(), ReadFrom::Beginning, 1024)], None);
    let again = identities(&mut t);
    assert_eq!(again[0], first[0]);
    assert_ne!(again[1], first[0], "past the head, the fixed head");
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
    assert!(collect(&mut t).is_empty(), "the next generation waits for a durable checkpoint");
    t.saved(t.checkpoints());
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
