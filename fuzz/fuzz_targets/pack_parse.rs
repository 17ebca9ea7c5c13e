//! The rule-pack loader on arbitrary text: never panics; an error always names the file, and
//! its line (when given) exists in the text; an accepted pack always compiles into an engine
//! together with the default packs, or is refused by the engine with an error (never a panic).
#![no_main]

use custos_rules::{Engine, EngineOptions, RulePack, RuleSet};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match RulePack::parse(Path::new("fuzz.toml"), text) {
        Err(e) => {
            assert_eq!(e.file, Path::new("fuzz.toml"));
            assert!(e.line <= text.lines().count().max(1) + 1, "line {} beyond the text", e.line);
        }
        Ok(pack) => {
            let mut set = RuleSet::default();
            if set.add(pack).is_ok() {
                let _ = Engine::new(set, EngineOptions::default());
            }
        }
    }
});
