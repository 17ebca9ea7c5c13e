//! Several collectors on one PostgreSQL store: what one collector decides, the others see, and
//! nothing is stored, grouped, counted or notified twice because two collectors received the
//! same data at the same time. These tests need `CUSTOS_TEST_POSTGRES` (scripts/test.sh sets
//! it); without it they return at once, and they fail if it is set but the database is down.

use custos_collector::correlation::CorrelationSettings;
use custos_collector::register::Register;
use custos_collector::state::Collector;
use custos_collector::store::Store;
use custos_proto::v1 as pb;
use custos_tests::*;
use std::collections::HashSet;
use std::sync::{Arc, Barrier};

const HOUR: i64 = 3_600_000;
/// Wednesday 2026-09-23 00:00 UTC: no weekly digest is due, only incident notifications.
const T0: i64 = 1_790_121_600_000;

/// Health data is declared nowhere, and the files below are in a web root: every finding opens
/// or joins a breach (`exposed_place`) on its file, and the one compliance item
/// (`undeclared_category`) of the activity.
fn register_fixture() -> RegisterFixture {
    RegisterFixture::new("Exemple SAS")
        .dpo("DPO", "dpo@exemple.fr")
        .activity("accounts", "Customer accounts", &["contact"])
        .system(r#"paths = ["/var/www/html/*.log"]"#)
}

fn register(dir: &std::path::Path) -> Register {
    register_fixture().load(dir)
}

fn settings() -> CorrelationSettings {
    CorrelationSettings::default()
}

/// Finding `n` of a log file: subject `n % 50` (so subjects repeat), one of four files.
fn finding(n: u32) -> pb::Finding {
    let mut fingerprint = vec![0u8; 32];
    fingerprint[..4].copy_from_slice(&(n % 50).to_be_bytes());
    pb::Finding {
        id: format!("f-{n:05}"),
        agent_id: "agent-1".into(),
        host: "web-01".into(),
        source: Some(pb::Source { kind: pb::SourceKind::LogFile as i32, locator: format!("/var/www/html/{}.log", n % 4), identity: "i".into() }),
        position: None,
        detector: "health_term".into(),
        category: pb::Category::Health as i32,
        special_category: true,
        confidence: 0.9,
        preview: "d*****s".into(),
        fingerprint,
        observed_at_ms: T0,
        kind: pb::FindingKind::PersonalData as i32,
        evidence: Default::default(),
    }
}

fn batch(range: impl Iterator<Item = u32>) -> pb::FindingBatch {
    pb::FindingBatch {
        seq: 1,
        agent_id: "agent-1".into(),
        findings: range.map(finding).collect(),
        agent_version: "t".into(),
        host: "web-01".into(),
        ..Default::default()
    }
}

#[test]
fn two_collectors_ingesting_overlapping_batches_at_once_store_each_finding_once_in_one_incident_per_system() {
    let dir = tempfile::tempdir().unwrap();
    let Some((t, a)) = TestStore::new(Engine::Postgres, dir.path()) else { return };
    let b = t.open();
    let reg = Arc::new(register(dir.path()));
    // Collector A gets findings 0..600, B gets 300..900, both in batches of 100, at once; B's
    // batches go in reverse order so the overlap is inserted in opposite orders.
    let start = Arc::new(Barrier::new(2));
    let run = |mut store: Store, batches: Vec<pb::FindingBatch>| {
        let (reg, start) = (reg.clone(), start.clone());
        std::thread::spawn(move || {
            start.wait();
            let (mut stored, mut duplicates, mut opened) = (0, 0, Vec::new());
            for b in &batches {
                let out = store.ingest(&custos_proto::checked::CheckedBatch::from_wire(b, "agent-1"), &reg, &settings(), T0).unwrap();
                stored += out.stored;
                duplicates += out.duplicates;
                opened.extend(out.opened);
            }
            (stored, duplicates, opened)
        })
    };
    let a = run(a, (0..6).map(|i| batch(i * 100..(i + 1) * 100)).collect());
    let b = run(b, (3..9).rev().map(|i| batch(i * 100..(i + 1) * 100)).collect());
    let (a, b) = (a.join().unwrap(), b.join().unwrap());

    assert_eq!(a.0 + b.0, 900, "each finding stored by exactly one collector");
    assert_eq!(a.1 + b.1, 300, "the overlap is a duplicate for the other one");
    assert_eq!(t.count("SELECT COUNT(*) FROM findings"), 900);
    assert_eq!(t.count("SELECT COUNT(*) FROM incidents"), 5, "one breach per file and one compliance item, not one per collector");
    let opened: HashSet<i64> = a.2.iter().chain(&b.2).copied().collect();
    assert_eq!(opened.len(), 5, "each incident reported opened once: {a:?} {b:?}");
    assert_eq!(t.count("SELECT COUNT(*) FROM incident_findings"), 1800, "every finding is evidence of its file's breach and of the compliance item");
    assert_eq!(t.count("SELECT COUNT(*) FROM verdicts"), 1800, "one verdict per finding and rule");
    // Subjects n % 50 on file n % 4: each file sees the 25 subjects of its parity — exactly.
    let store = t.open();
    for v in store.incidents().unwrap() {
        if v.kind.as_str() == "compliance" {
            assert_eq!((v.figures.subjects.value, v.findings), (50, 900), "{}", v.system);
            continue;
        }
        assert_eq!(v.figures.subjects.value, 25, "{}", v.system);
        assert_eq!(v.findings, 225, "{}", v.system);
        assert_eq!(v.deadline_ms - v.detected_at_ms, 72 * HOUR, "the Art. 33 clock");
    }
    assert_eq!(t.count("SELECT COUNT(*) FROM incident_timeline WHERE kind = 'detected'"), 5, "one detection event each, so one notification");
}

#[test]
fn a_due_notification_is_claimed_by_one_collector_only() {
    let dir = tempfile::tempdir().unwrap();
    let Some((t, mut a)) = TestStore::new(Engine::Postgres, dir.path()) else { return };
    let mut b = t.open();
    for i in 0..40 {
        assert!(a.enqueue_notification(&format!("k{i}:webhook"), None, "digest", "webhook", "{}", T0).unwrap());
        assert!(!b.enqueue_notification(&format!("k{i}:webhook"), None, "digest", "webhook", "{}", T0).unwrap(), "the key is unique across collectors");
    }
    let start = Arc::new(Barrier::new(2));
    let claim = |mut s: Store, owner: &'static str| {
        let start = start.clone();
        std::thread::spawn(move || {
            start.wait();
            let mut ids = Vec::new();
            loop {
                let got = s.claim_due_notifications(owner, T0, 600_000, 3).unwrap();
                if got.is_empty() {
                    break ids;
                }
                ids.extend(got.iter().map(|n| n.id));
            }
        })
    };
    let (ia, ib) = (claim(a, "a"), claim(b, "b"));
    let (ia, ib) = (ia.join().unwrap(), ib.join().unwrap());
    let all: HashSet<i64> = ia.iter().chain(&ib).copied().collect();
    assert_eq!(ia.len() + ib.len(), 40, "no notification handed out twice: {ia:?} {ib:?}");
    assert_eq!(all.len(), 40);
    // A claim whose collector died is handed out again once its lease has passed.
    let mut c = t.open();
    assert!(c.claim_due_notifications("c", T0 + 1_000, 600_000, 100).unwrap().is_empty());
    assert_eq!(c.claim_due_notifications("c", T0 + 600_001, 600_000, 100).unwrap().len(), 40);
}

#[test]
fn two_notifiers_planning_at_once_queue_each_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let Some((t, mut a)) = TestStore::new(Engine::Postgres, dir.path()) else { return };
    let reg = register(dir.path());
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "s").unwrap();
    let cfg = custos_collector::config::NotificationConfig {
        webhook: Some(custos_collector::config::WebhookConfig { url: "http://127.0.0.1:9/".into(), secret_file: secret }),
        ..Default::default()
    };
    a.ingest(&custos_proto::checked::CheckedBatch::from_wire(&batch(0..4), "agent-1"), &reg, &settings(), T0).unwrap();
    let b = t.open();
    let start = Arc::new(Barrier::new(2));
    let plan = |mut s: Store| {
        let (start, cfg, reg_file) = (start.clone(), cfg.clone(), dir.path().join("register.toml"));
        std::thread::spawn(move || {
            let reg = Register::load(&reg_file);
            let n = custos_collector::notify::Notifier::new(cfg);
            start.wait();
            let (reg, n) = (reg.unwrap(), n.unwrap());
            n.plan(&mut s, &reg, 24, T0).unwrap()
        })
    };
    let (qa, qb) = (plan(a), plan(b));
    let (qa, qb) = (qa.join().unwrap(), qb.join().unwrap());
    assert_eq!(qa + qb, 4, "four breaches opened, four notifications queued in all ({qa} + {qb}); the compliance item waits for the digest");
    assert_eq!(t.count("SELECT COUNT(*) FROM notifications WHERE event = 'opened'"), 4);
    assert_eq!(t.count("SELECT timeline_id FROM notifier_cursor"), t.count("SELECT MAX(id) FROM incident_timeline"));
}

/// The synchronous PostgreSQL client runs its own runtime; the collector calls the store from
/// its tokio runtime threads (e.g. the revocation check at stream start, the start-up
/// re-correlation in `run`), where that would panic unless the store steps out of the runtime.
#[test]
fn the_postgresql_store_can_be_used_from_a_multi_thread_runtime_worker() {
    let dir = tempfile::tempdir().unwrap();
    let Some((t, store)) = TestStore::new(Engine::Postgres, dir.path()) else { return };
    let collector = Collector::with_settings(store, register(dir.path()), settings());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        // On a worker thread, as the gRPC service calls it.
        let c = collector.clone();
        tokio::spawn(async move {
            assert!(!c.revoked("agent-1").unwrap());
            c.with_store(|s| s.revoke_agent("agent-1", "lost laptop", T0)).unwrap();
            assert!(c.revoked("agent-1").unwrap());
        })
        .await
        .unwrap();
        // On the thread that blocks on the runtime, as `custos-collector run` opens the store.
        let url = t.url().unwrap().to_string();
        let other = Store::open_postgres(&url).unwrap();
        assert!(other.is_revoked("agent-1").unwrap());
        drop(other);
    });
    drop(collector);
}

#[test]
fn the_postgresql_store_can_be_used_from_a_current_thread_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_t, store)) = TestStore::new(Engine::Postgres, dir.path()) else { return };
    let reg = register(dir.path());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let collector = Collector::with_settings(store, register(dir.path()), settings());
        let out = collector.with_store(|s| s.ingest(&custos_proto::checked::CheckedBatch::from_wire(&batch(0..10), "agent-1"), &reg, &settings(), T0)).unwrap();
        assert_eq!(out.stored, 10);
        assert_eq!(collector.with_store(|s| s.incidents()).unwrap().len(), 5);
        // Dropped inside the runtime: closing the connection blocks too.
        drop(collector);
    });
}
