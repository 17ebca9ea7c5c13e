//! Ingest-with-correlation and re-correlation throughput of the SQLite store.
//!
//! `cargo run --release -p custos-collector --example correlation_bench [N]` stores N findings
//! (default 100,000) in batches of 1,000 on 1,000 systems — a tenth of them undeclared — then
//! re-correlates them all against a changed register, as a register reload does, and prints the
//! rates. Figures only; nothing is asserted.

use custos_collector::correlation::CorrelationSettings;
use custos_collector::register::Register;
use custos_collector::store::Store;
use custos_proto::v1 as pb;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let reg = |cats: &str| -> anyhow::Result<Register> {
        let p = dir.path().join("r.toml");
        std::fs::write(
            &p,
            format!(
                "[controller]\nname='X'\n[[activity]]\nid='a'\nname='A'\nlegal_basis='contract'\ndata_categories=[{cats}]\nretention='30d'\n[[activity.system]]\npaths=['/var/log/app/**']\n"
            ),
        )?;
        Ok(Register::load(&p)?)
    };
    let before = reg("'contact', 'financial'")?;
    let after = reg("'contact'")?;
    let mut store = Store::open(&dir.path().join("custos.db"))?;
    let settings = CorrelationSettings { window_ms: 24 * 3_600_000, ..Default::default() };
    let now = 1_790_121_600_000;
    let start = Instant::now();
    let mut opened = 0;
    for b in 0..n.div_ceil(1000) {
        let findings = (0..1000.min(n - b * 1000))
            .map(|i| {
                let k = b * 1000 + i;
                let dir = if k % 10 == 0 { "/srv/exports" } else { "/var/log/app" };
                pb::Finding {
                    id: format!("{k:032x}"),
                    agent_id: "a".into(),
                    host: "web-01".into(),
                    source: Some(pb::Source { kind: 1, locator: format!("{dir}/f{}.log", k % 1000), identity: "i".into() }),
                    position: None,
                    detector: "iban".into(),
                    category: if k % 2 == 0 { pb::Category::Contact } else { pb::Category::Financial } as i32,
                    special_category: false,
                    confidence: 0.9,
                    preview: "x***".into(),
                    fingerprint: (k as u64 % 50_000).to_le_bytes().repeat(4),
                    observed_at_ms: now,
                    kind: 1,
                    evidence: Default::default(),
                }
            })
            .collect();
        let batch = pb::FindingBatch { seq: b as u64, agent_id: "a".into(), findings, agent_version: "b".into(), host: "web-01".into(), ..Default::default() };
        opened += store.ingest(&custos_proto::checked::CheckedBatch::from_wire(&batch, "a"), &before, &settings, now)?.opened.len();
    }
    let ingest = start.elapsed();
    let start = Instant::now();
    let reopened = store.recorrelate(&after, &settings, now + 1)?.len();
    let recorrelate = start.elapsed();
    let start = Instant::now();
    let incidents = store.incidents()?;
    let list = start.elapsed();
    println!("findings: {n}");
    println!("ingest + correlation: {:.2} s, {:.0} findings/s, {opened} incidents opened", ingest.as_secs_f64(), n as f64 / ingest.as_secs_f64());
    println!(
        "re-correlation after a register change: {:.2} s, {:.0} findings/s, {reopened} incidents opened",
        recorrelate.as_secs_f64(),
        n as f64 / recorrelate.as_secs_f64()
    );
    println!("listing {} incidents with counts: {:.0} ms", incidents.len(), list.as_secs_f64() * 1000.0);
    Ok(())
}
