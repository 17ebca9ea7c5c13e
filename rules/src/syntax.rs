//! The one regex syntax configuration of Custos: how the engine compiles the union of every
//! pattern and how the pack loader checks a pattern before accepting it. Both must agree, or a
//! pack could be accepted and then fail to compile (or the other way round).

use regex_automata::util::syntax;

/// How every pattern is parsed, by the engine and by the pack loader's check: ASCII classes and
/// `\b` (Unicode ones make the lazy DFA give up on non-ASCII text), and matches on bytes, so
/// text that is not UTF-8 is still scanned.
pub fn union_syntax() -> syntax::Config {
    syntax::Config::new().unicode(false).utf8(false)
}
