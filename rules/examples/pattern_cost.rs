//! Which detector costs the most scanning time: scans a file with every detector, then with
//! each one left out in turn, and prints the difference.
//!
//! `cargo run --release -p custos-rules --example pattern_cost -- FILE`

use custos_rules::{Engine, EngineOptions, RuleSet};
use std::time::Instant;

fn time(engine: &Engine, data: &[u8]) -> f64 {
    let mut out = Vec::new();
    let t = Instant::now();
    engine.scan(data, &mut out);
    t.elapsed().as_secs_f64()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: pattern_cost FILE")?;
    let data = std::fs::read(path)?;
    let all = RuleSet::default_packs()?;
    let engine = Engine::new(all.clone(), EngineOptions::default())?;
    time(&engine, &data);
    let base = time(&engine, &data).min(time(&engine, &data));
    println!("all detectors: {:.0} MB/s", data.len() as f64 / base / 1e6);
    for d in &all.detectors {
        let mut set = all.clone();
        set.detectors.retain(|x| x.id != d.id);
        let e = Engine::new(set, EngineOptions::default())?;
        time(&e, &data);
        let t = time(&e, &data).min(time(&e, &data));
        println!("without {:<20} {:>6.0} MB/s ({:+.0}%)", d.id, data.len() as f64 / t / 1e6, (base - t) / base * 100.0);
    }
    Ok(())
}
