//! The union of every pattern as lazy DFAs, driven by hand, and the `meta` fallback for when a
//! lazy DFA gives up.

use super::error::EngineError;
use regex_automata::hybrid::dfa as lazy;
use regex_automata::meta::{self, Regex};
use regex_automata::nfa::thompson::{self, WhichCaptures};
use regex_automata::util::syntax;
use regex_automata::{MatchKind, PatternID, PatternSet};

/// Lazy-DFA capacity of each automaton: large enough that the union's states are never thrown
/// away on real logs (about 28 MB are used on the 57 MB bench corpus).
const DFA_CACHE: usize = 256 << 20;

/// The union's lazy DFAs, driven directly rather than through `meta::Regex`: one cache for
/// all three is taken once per [`Engine::scan`] (not once per search), and the overlapping
/// pass reports where each pattern ends, which `meta` does not (it names the patterns only,
/// and each rival then cost a search of its own).
pub(super) struct Automata {
    /// Leftmost-first union, forward: the end of the next candidate.
    pub(super) forward: lazy::DFA,
    /// The union reversed (all matches), anchored at a candidate's end: its start.
    pub(super) reverse: lazy::DFA,
    /// The union with every match reported, forward: the patterns matching at a start, and
    /// where each of them ends.
    pub(super) overlap: lazy::DFA,
    /// Per pattern: its length when every match of it has the same length (`\b[0-9]{11}\b`).
    /// Such a match starts that many bytes before its end, without a reverse search.
    pub(super) fixed_len: Vec<Option<usize>>,
    /// Per pattern: a shape whose start is found by scanning back from the end (see
    /// [`Shape`]), without a reverse search.
    pub(super) shape: Vec<Option<Shape>>,
}

/// A variable-length pattern, recognised by its exact source, whose leftmost start for a given
/// end is computed by a byte loop. These two are the commonest candidates in logs (about half
/// of the findings on the bench corpus), and each used to cost a reverse lazy-DFA search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// [`Shape::EMAIL`]: `local@domain`, the local part a run of one class.
    Email,
    /// [`Shape::IPV4`]: four dotted groups of one to three digits.
    Ipv4,
}

/// ASCII `\b`'s word bytes (the union is compiled without Unicode).
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl Shape {
    /// The default e-mail pattern (`packs/contact.toml`).
    const EMAIL: &'static str =
        r"\b[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9][A-Za-z0-9-]*(?:\.[A-Za-z0-9-]+)*\.(?:[Xx][Nn]--[A-Za-z0-9-]*[A-Za-z0-9]|[A-Za-z][A-Za-z]+)\b";
    /// The default IPv4 pattern (`packs/network.toml`).
    const IPV4: &'static str = r"\b[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\b";

    /// The shape of a pattern written exactly as one of the above (anything else, even an
    /// equivalent pattern, keeps the reverse search).
    fn of(pattern: &str) -> Option<Shape> {
        match pattern {
            Shape::EMAIL => Some(Shape::Email),
            Shape::IPV4 => Some(Shape::Ipv4),
            _ => None,
        }
    }

    /// The leftmost `s >= pos` such that this pattern matches exactly `hay[s..end]`, given
    /// that it matches some `hay[s'..end]` with `s' >= pos`. That is the start the reverse
    /// search finds for a leftmost-first match of this pattern ending at `end`: a match of the
    /// pattern starting further left, at or after `pos`, would be a match of the union starting
    /// further left, and the forward search found the leftmost. Both patterns are a part that
    /// depends on the start (a run before a delimiter) followed by a part that is the same for
    /// every start (after the delimiter, up to `end` and its `\b`), so only the first part is
    /// checked. `None` (not expected) sends the caller to the reverse search.
    pub(super) fn start(self, hay: &[u8], pos: usize, end: usize) -> Option<usize> {
        match self {
            Shape::Email => {
                // Neither the local part's class nor the domain's holds `@`: the match's only
                // `@` is the last one before `end`.
                let at = pos + memchr::memrchr(b'@', &hay[pos..end])?;
                let local = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-');
                let mut run = at;
                while run > pos && local(hay[run - 1]) {
                    run -= 1;
                }
                // `[A-Za-z0-9][A-Za-z0-9._%+-]*` from `s` to the `@`, and `\b` before `s`
                // (`s` is alphanumeric, so the byte before must not be a word byte).
                (run..at).find(|&s| hay[s].is_ascii_alphanumeric() && (s == 0 || !is_word(hay[s - 1])))
            }
            Shape::Ipv4 => {
                // A match holds exactly three dots, none of them in the first group: its first
                // dot is the third one back from `end`.
                let dot = pos + memchr::memrchr_iter(b'.', &hay[pos..end]).nth(2)?;
                let lo = dot.saturating_sub(3).max(pos);
                // One to three digits up to that dot, and `\b` before them.
                (lo..dot).find(|&s| hay[s..dot].iter().all(u8::is_ascii_digit) && (s == 0 || !is_word(hay[s - 1])))
            }
        }
    }
}

/// The mutable states of [`Automata`]'s lazy DFAs.
pub(super) struct Caches {
    pub(super) forward: lazy::Cache,
    pub(super) reverse: lazy::Cache,
    pub(super) overlap: lazy::Cache,
    /// (pattern, end) of the overlapping pass, reused between candidates.
    pub(super) ends: Vec<(PatternID, usize)>,
    /// The patterns of `ends`, in priority order, with their end when it is known.
    pub(super) rivals: Vec<(PatternID, Option<usize>)>,
    /// The patterns matching at a start, when `meta` names them (fallback).
    pub(super) set: PatternSet,
    /// (pattern, end) of the candidates at a start left unvalidated by the prefilter.
    pub(super) unchecked: Vec<(PatternID, usize)>,
}

/// Builds the caches of a pool (a boxed closure: the pool is a field of [`Engine`]).
pub(super) type CachesFn = Box<dyn Fn() -> Caches + Send + Sync + std::panic::UnwindSafe + std::panic::RefUnwindSafe>;

impl Automata {
    /// The settings `meta` uses for its own lazy DFAs (so a search gives up, and falls back to
    /// `meta`, exactly where `meta`'s lazy DFA would fall back to its slower engines).
    pub(super) fn new(patterns: &[String]) -> Result<Automata, EngineError> {
        let nfa = |reverse: bool| {
            thompson::Compiler::new()
                .syntax(crate::syntax::union_syntax())
                .configure(thompson::Config::new().utf8(false).reverse(reverse).which_captures(WhichCaptures::None).nfa_size_limit(Some(64 << 20)))
                .build_many(patterns)
                .map_err(|e| EngineError(e.to_string()))
        };
        let build = |nfa: thompson::NFA, kind: MatchKind, reverse: bool| {
            lazy::Builder::new()
                .configure(
                    lazy::Config::new()
                        .match_kind(kind)
                        .starts_for_each_pattern(!reverse)
                        .unicode_word_boundary(true)
                        .cache_capacity(DFA_CACHE)
                        .minimum_cache_clear_count(Some(3))
                        .minimum_bytes_per_state(Some(10)),
                )
                .build_from_nfa(nfa)
                .map_err(|e| EngineError(e.to_string()))
        };
        // The forward and overlapping automata share one NFA (compiling it was most of the
        // engine's start-up); `NFA` clones are reference counts.
        let forward = nfa(false)?;
        let syntax = crate::syntax::union_syntax();
        let fixed_len = patterns
            .iter()
            .map(|p| {
                let hir = syntax::parse_with(p, &syntax).map_err(|e| EngineError(e.to_string()))?;
                let props = hir.properties();
                Ok(props.minimum_len().filter(|&min| min > 0 && props.maximum_len() == Some(min)))
            })
            .collect::<Result<_, EngineError>>()?;
        Ok(Automata {
            fixed_len,
            shape: patterns.iter().map(|p| Shape::of(p)).collect(),
            forward: build(forward.clone(), MatchKind::LeftmostFirst, false)?,
            reverse: build(nfa(true)?, MatchKind::All, true)?,
            overlap: build(forward, MatchKind::All, false)?,
        })
    }

    pub(super) fn caches(&self) -> Caches {
        Caches {
            forward: self.forward.create_cache(),
            reverse: self.reverse.create_cache(),
            overlap: self.overlap.create_cache(),
            ends: Vec::new(),
            rivals: Vec::new(),
            set: PatternSet::new(self.forward.pattern_len()),
            unchecked: Vec::new(),
        }
    }
}

/// The union of every pattern as `meta` regexes: the fallback when a lazy DFA gives up (a
/// Unicode word boundary in a user pattern before a non-ASCII byte, or a cache thrashed by
/// adversarial input), as `meta` would fall back itself. Built on first use: ordinary logs never
/// need them, and building both was a third of a one-shot scan's start-up.
pub(super) struct Fallback {
    pub(super) patterns: Vec<String>,
    /// Leftmost-first, in priority order.
    pub(super) leftmost: std::sync::OnceLock<Option<Regex>>,
    /// Every match (fallback of [`Automata::overlap`]).
    pub(super) overlapping: std::sync::OnceLock<Option<Regex>>,
}

impl Fallback {
    fn build(patterns: &[String], kind: MatchKind) -> Result<Regex, EngineError> {
        Regex::builder()
            .syntax(crate::syntax::union_syntax())
            .configure(meta::Config::new().match_kind(kind).utf8_empty(false).nfa_size_limit(Some(64 << 20)).hybrid_cache_capacity(256 << 20))
            .build_many(patterns)
            .map_err(|e| EngineError(e.to_string()))
    }

    /// `None` only if `meta` refuses patterns the lazy DFAs were built from (same syntax and
    /// size limit, so not expected); the search then reports nothing there.
    fn get<'a>(&self, cell: &'a std::sync::OnceLock<Option<Regex>>, kind: MatchKind) -> Option<&'a Regex> {
        cell.get_or_init(|| Fallback::build(&self.patterns, kind).ok()).as_ref()
    }

    pub(super) fn leftmost(&self) -> Option<&Regex> {
        self.get(&self.leftmost, MatchKind::LeftmostFirst)
    }

    pub(super) fn overlapping(&self) -> Option<&Regex> {
        self.get(&self.overlapping, MatchKind::All)
    }
}
