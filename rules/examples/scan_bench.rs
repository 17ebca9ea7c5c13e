//! Engine-only scan speed of the default packs over files (no output, no I/O in the timing):
//! the figure to compare engine versions with, and the run to profile
//! (`valgrind --tool=callgrind target/release/examples/scan_bench FILE...`: instruction counts
//! are repeatable on a busy machine, wall times are not).
//!
//! `cargo run --release -p custos-rules --example scan_bench -- [--rounds N] [--no-prefilter] [--phonenumber-db] FILE...`
//!
//! Prints, per round, the time of one pass over all files (each file scanned whole, as one
//! haystack) and the number of detections; with `--no-prefilter`, of the single-pass engine.
//! `--phonenumber-db` then times the loading of the `phonenumber` crate's own database, which
//! the engine no longer needs (its plans are a table of their own).

use custos_rules::{Engine, EngineOptions, RuleSet};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut rounds = 1;
    if args.first().map(String::as_str) == Some("--rounds") {
        rounds = args.get(1).ok_or("--rounds N")?.parse()?;
        args.drain(..2);
    }
    let prefilter = !args.iter().any(|a| a == "--no-prefilter");
    let phonenumber_db = args.iter().any(|a| a == "--phonenumber-db");
    args.retain(|a| a != "--no-prefilter" && a != "--phonenumber-db");
    let files = args.iter().map(std::fs::read).collect::<Result<Vec<_>, _>>()?;
    let bytes: usize = files.iter().map(Vec::len).sum();
    let t = Instant::now();
    let engine = Engine::new(RuleSet::default_packs()?, EngineOptions { prefilter, ..EngineOptions::default() })?;
    println!("engine built in {:.3} s", t.elapsed().as_secs_f64());
    let mut out = Vec::new();
    for round in 0..rounds {
        let t = Instant::now();
        let mut n = 0;
        for data in &files {
            out.clear();
            engine.scan(data, &mut out);
            n += out.len();
        }
        let s = t.elapsed().as_secs_f64();
        println!("round {round}: {:.3} s, {:.0} MB/s, {n} detections", s, bytes as f64 / s / 1e6);
    }
    if phonenumber_db {
        let t = Instant::now();
        let loaded = phonenumber::metadata::DATABASE.by_id("FR").is_some();
        println!("phonenumber crate database loaded in {:.3} s ({loaded})", t.elapsed().as_secs_f64());
    }
    Ok(())
}
