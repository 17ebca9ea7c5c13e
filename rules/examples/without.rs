//! Scan time of the default packs with some detectors left out, cold (states built during the
//! scan) and warm (built by a first pass): which detectors make the union's lazy DFA large.
//!
//! `cargo run --release -p custos-rules --example without -- FILE [DETECTOR...]`

use custos_rules::{Engine, EngineOptions, RuleSet};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let data = std::fs::read(args.next().expect("FILE")).expect("readable FILE");
    let drop: Vec<String> = args.collect();
    let mut set = RuleSet::default_packs().expect("default packs");
    set.detectors.retain(|d| !drop.contains(&d.id));
    let engine = Engine::new(set, EngineOptions::default()).expect("engine");
    for round in ["cold", "warm"] {
        let mut out = Vec::new();
        let t = Instant::now();
        engine.scan(&data, &mut out);
        println!("{round}: {:.3} s, {} findings (without {:?})", t.elapsed().as_secs_f64(), out.len(), drop);
    }
}
