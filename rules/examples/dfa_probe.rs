//! Candidates per detector: runs the union automaton of the default packs over a file the way
//! the engine does (from each match end) and prints the 15 detectors proposing the most
//! candidates, with a few examples — the patterns to tighten when the scan slows down.
//!
//! `cargo run --release -p custos-rules --example dfa_probe -- FILE`

use custos_rules::RuleSet;
use regex_automata::meta::{self, Regex};
use regex_automata::util::syntax;
use regex_automata::{Input, MatchKind};
use std::collections::HashMap;
fn main() {
    let data = std::fs::read(std::env::args().nth(1).unwrap()).unwrap();
    let set = RuleSet::default_packs().unwrap();
    let mut pats = Vec::new();
    let mut names = Vec::new();
    let mut d = set.detectors.clone();
    d.sort_by_key(|d| std::cmp::Reverse(d.priority));
    for x in &d {
        for p in x.patterns.iter().chain(&x.context_patterns) {
            pats.push(p.clone());
            names.push(x.id.clone());
        }
    }
    let re = Regex::builder()
        .syntax(syntax::Config::new().unicode(false).utf8(false))
        .configure(meta::Config::new().match_kind(MatchKind::LeftmostFirst).utf8_empty(false).hybrid_cache_capacity(256 << 20))
        .build_many(&pats)
        .unwrap();
    let mut count: HashMap<usize, (usize, Vec<String>)> = HashMap::new();
    let mut pos = 0;
    while let Some(m) = re.search(&Input::new(&data).range(pos..)) {
        let e = count.entry(m.pattern().as_usize()).or_default();
        e.0 += 1;
        if e.1.len() < 4 && e.0 % 97 == 1 {
            e.1.push(String::from_utf8_lossy(&data[m.start()..m.end()]).into_owned());
        }
        pos = m.end().max(m.start() + 1);
    }
    let mut v: Vec<_> = count.into_iter().collect();
    v.sort_by_key(|(_, (n, _))| std::cmp::Reverse(*n));
    for (pid, (n, ex)) in v.iter().take(15) {
        println!("{n:>7} {:<18} {:?}", names[*pid], ex);
    }
}
