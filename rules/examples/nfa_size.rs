use custos_rules::RuleSet;
use regex_automata::nfa::thompson::{self, WhichCaptures};
use regex_automata::util::syntax;
fn main() {
    let set = RuleSet::default_packs().unwrap();
    let mut total = 0;
    let mut all = Vec::new();
    for d in &set.detectors {
        for p in d.patterns.iter().chain(&d.context_patterns) {
            let nfa = thompson::Compiler::new()
                .syntax(syntax::Config::new().unicode(false).utf8(false))
                .configure(thompson::Config::new().utf8(false).which_captures(WhichCaptures::None))
                .build(p)
                .unwrap();
            total += nfa.states().len();
            all.push(p.clone());
            println!("{:5} {:20} {}", nfa.states().len(), d.id, &p[..p.len().min(90)]);
        }
    }
    let nfa = thompson::Compiler::new()
        .syntax(syntax::Config::new().unicode(false).utf8(false))
        .configure(thompson::Config::new().utf8(false).which_captures(WhichCaptures::None))
        .build_many(&all)
        .unwrap();
    println!("sum {total}, union {}", nfa.states().len());
}
