//! The scanning engine: one pass over the bytes for every detector, validators on candidates.
//!
//! # How a match is decided
//! 1. All patterns of all detectors form one leftmost-first multi-pattern regex
//!    (`regex_automata::meta`), ordered by detector priority, compiled in ASCII mode so the lazy
//!    DFA never gives up on non-ASCII text and bytes that are not UTF-8 are simply bytes.
//! 2. **Structure**: a candidate inside a longer token is not a match: the bytes just before and
//!    after it must not continue an alphanumeric run (`ID12345…` is not a phone number). Such a
//!    candidate costs one comparison: the search resumes after the token.
//! 3. The detector's validator must accept it (checksum, structure). When it refuses, the other
//!    patterns that match *at the same start* are tried in priority order (a second automaton,
//!    built for overlapping matches, names them in one anchored pass). When none is valid the
//!    search resumes at the next token, so a detector whose shape overlaps a refused one still
//!    gets its chance — except after an *opaque* detector (IBAN, card, Steuer-ID, NIR): a refused
//!    IBAN-shaped token hides what is inside it, which is how a Luhn-valid run inside an invalid
//!    IBAN stays unreported.
//! 4. **Collisions**: a valid candidate with no positive context word is compared with the other
//!    detectors valid on the same span; one with a context word wins (`pesel: 44051401359` is a
//!    PESEL even where it is also a valid Steuer-ID), else priority decides.
//! 5. **Context**: words in a window around the candidate (same line) raise or lower the
//!    confidence; a detector that requires context — or a candidate from one of its
//!    `context_patterns` — is dropped without one.
//! 6. Allowlists drop test accounts and company domains; a threshold drops weak candidates.

use crate::category::Category;
use crate::pack::{Allowlist, DetectorSpec, RuleSet};
use aho_corasick::AhoCorasick;
use regex_automata::hybrid::dfa::{self as lazy, OverlappingState};
use regex_automata::meta::{self, Regex};
use regex_automata::nfa::thompson::{self, WhichCaptures};
use regex_automata::util::pool::Pool;
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input, Match, MatchError, MatchKind, PatternID, PatternSet};

/// Engine settings.
#[derive(Debug, Clone, Copy)]
pub struct EngineOptions {
    /// Detections below this confidence are dropped.
    pub min_confidence: f32,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions { min_confidence: 0.5 }
    }
}

/// An engine that could not be built (patterns too large together, bad allowlist regex).
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot build the detection engine: {0}")]
pub struct EngineError(String);

/// One personal-data value found in a haystack.
///
/// It holds the normalised raw value: it must not leave the agent. Turn it into a
/// [`preview`](crate::mask::preview) and a [`Fingerprint`](crate::Fingerprint) first.
#[derive(Clone, PartialEq)]
pub struct Detection {
    /// Index of the detector in [`Engine::detectors`].
    pub detector: usize,
    /// Byte offset of the match in the haystack.
    pub start: usize,
    /// End (exclusive).
    pub end: usize,
    /// Score in [0, 1].
    pub confidence: f32,
    /// The normalised value, as fingerprinted.
    pub normalized: Vec<u8>,
}

impl std::fmt::Debug for Detection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the value itself.
        f.debug_struct("Detection")
            .field("detector", &self.detector)
            .field("start", &self.start)
            .field("end", &self.end)
            .field("confidence", &self.confidence)
            .finish_non_exhaustive()
    }
}

struct Compiled {
    spec: DetectorSpec,
    /// Positive then negative context words in one automaton (one pass per window).
    context: Option<ContextWords>,
    prefilter: Option<AhoCorasick>,
    allow: CompiledAllowlist,
}

impl Compiled {
    /// Whether a context word can ever make a candidate of this detector positive.
    fn has_positive_words(&self) -> bool {
        self.context.as_ref().is_some_and(|w| w.positive > 0)
    }
}

#[derive(Default)]
struct CompiledAllowlist {
    values: Vec<Vec<u8>>,
    patterns: Option<regex::bytes::RegexSet>,
    email_domains: Vec<Vec<u8>>,
}

impl CompiledAllowlist {
    fn new(a: &Allowlist) -> Result<Self, EngineError> {
        let patterns = if a.patterns.is_empty() {
            None
        } else {
            let anchored: Vec<String> = a.patterns.iter().map(|p| format!("^(?:{p})$")).collect();
            Some(
                regex::bytes::RegexSetBuilder::new(anchored)
                    .unicode(false)
                    .build()
                    .map_err(|e| EngineError(format!("allowlist pattern: {e}")))?,
            )
        };
        Ok(CompiledAllowlist {
            values: a.values.iter().map(|v| v.as_bytes().to_ascii_lowercase()).collect(),
            patterns,
            email_domains: a.email_domains.iter().map(|d| d.as_bytes().to_vec()).collect(),
        })
    }

    fn is_empty(&self) -> bool {
        self.values.is_empty() && self.patterns.is_none() && self.email_domains.is_empty()
    }

    fn allows(&self, raw: &[u8], normalized: &[u8]) -> bool {
        if self.is_empty() {
            return false;
        }
        let norm_lower = normalized.to_ascii_lowercase();
        if self.values.iter().any(|v| *v == norm_lower || *v == raw.to_ascii_lowercase()) {
            return true;
        }
        if self.patterns.as_ref().is_some_and(|p| p.is_match(raw)) {
            return true;
        }
        if !self.email_domains.is_empty()
            && let Some(at) = norm_lower.iter().rposition(|&b| b == b'@')
        {
            let domain = &norm_lower[at + 1..];
            return self.email_domains.iter().any(|d| {
                domain == d.as_slice() || (domain.len() > d.len() && domain.ends_with(d) && domain[domain.len() - d.len() - 1] == b'.')
            });
        }
        false
    }
}

fn words(list: &[String]) -> Result<Option<AhoCorasick>, EngineError> {
    if list.is_empty() {
        return Ok(None);
    }
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(list)
        .map(Some)
        .map_err(|e| EngineError(e.to_string()))
}

/// Lazy-DFA capacity of each automaton: large enough that the union's states are never thrown
/// away on real logs (about 28 MB are used on the 57 MB bench corpus).
const DFA_CACHE: usize = 256 << 20;

/// The union's lazy DFAs, driven directly rather than through `meta::Regex`: one cache for
/// all three is taken once per [`Engine::scan`] (not once per search), and the overlapping
/// pass reports where each pattern ends, which `meta` does not (it names the patterns only,
/// and each rival then cost a search of its own).
struct Automata {
    /// Leftmost-first union, forward: the end of the next candidate.
    forward: lazy::DFA,
    /// The union reversed (all matches), anchored at a candidate's end: its start.
    reverse: lazy::DFA,
    /// The union with every match reported, forward: the patterns matching at a start, and
    /// where each of them ends.
    overlap: lazy::DFA,
    /// Per pattern: its length when every match of it has the same length (`\b[0-9]{11}\b`).
    /// Such a match starts that many bytes before its end, without a reverse search.
    fixed_len: Vec<Option<usize>>,
    /// Per pattern: a shape whose start is found by scanning back from the end (see
    /// [`Shape`]), without a reverse search.
    shape: Vec<Option<Shape>>,
}

/// A variable-length pattern, recognised by its exact source, whose leftmost start for a given
/// end is computed by a byte loop. These two are the commonest candidates in logs (about half
/// of the findings on the bench corpus), and each used to cost a reverse lazy-DFA search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// [`Shape::EMAIL`]: `local@domain`, the local part a run of one class.
    Email,
    /// [`Shape::IPV4`]: four dotted groups of one to three digits.
    Ipv4,
}

/// How every pattern is parsed, by the engine and by the pack loader's check: ASCII classes and
/// `\b` (Unicode ones make the lazy DFA give up on non-ASCII text), and matches on bytes, so
/// text that is not UTF-8 is still scanned.
pub(crate) fn union_syntax() -> syntax::Config {
    syntax::Config::new().unicode(false).utf8(false)
}

/// ASCII `\b`'s word bytes (the union is compiled without Unicode).
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl Shape {
    /// The default e-mail pattern (`packs/contact.toml`).
    const EMAIL: &'static str = r"\b[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9][A-Za-z0-9-]*(?:\.[A-Za-z0-9-]+)*\.[A-Za-z][A-Za-z]+\b";
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
    fn start(self, hay: &[u8], pos: usize, end: usize) -> Option<usize> {
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
struct Caches {
    forward: lazy::Cache,
    reverse: lazy::Cache,
    overlap: lazy::Cache,
    /// (pattern, end) of the overlapping pass, reused between candidates.
    ends: Vec<(PatternID, usize)>,
    /// The patterns of `ends`, in priority order, with their end when it is known.
    rivals: Vec<(PatternID, Option<usize>)>,
    /// The patterns matching at a start, when `meta` names them (fallback).
    set: PatternSet,
}

/// Builds the caches of a pool (a boxed closure: the pool is a field of [`Engine`]).
type CachesFn = Box<dyn Fn() -> Caches + Send + Sync + std::panic::UnwindSafe + std::panic::RefUnwindSafe>;

impl Automata {
    /// The settings `meta` uses for its own lazy DFAs (so a search gives up, and falls back to
    /// `meta`, exactly where `meta`'s lazy DFA would fall back to its slower engines).
    fn new(patterns: &[String]) -> Result<Automata, EngineError> {
        let nfa = |reverse: bool| {
            thompson::Compiler::new()
                .syntax(union_syntax())
                .configure(
                    thompson::Config::new()
                        .utf8(false)
                        .reverse(reverse)
                        .which_captures(WhichCaptures::None)
                        .nfa_size_limit(Some(64 << 20)),
                )
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
        let syntax = union_syntax();
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

    fn caches(&self) -> Caches {
        Caches { forward: self.forward.create_cache(), reverse: self.reverse.create_cache(), overlap: self.overlap.create_cache(), ends: Vec::new(), rivals: Vec::new(), set: PatternSet::new(self.forward.pattern_len()) }
    }
}

/// The compiled detectors of a [`RuleSet`].
pub struct Engine {
    detectors: Vec<Compiled>,
    /// The union of every pattern, in priority order, as lazy DFAs.
    automata: std::sync::Arc<Automata>,
    /// Their caches, one per thread scanning at the same time.
    caches: Pool<Caches, CachesFn>,
    /// `meta` regexes over the same patterns, for when a lazy DFA gives up.
    fallback: Fallback,
    /// Pattern id → detector index.
    owner: Vec<usize>,
    /// Pattern id → the pattern comes from `context_patterns`.
    needs_context: Vec<bool>,
    global_allow: CompiledAllowlist,
    options: EngineOptions,
}

/// The union of every pattern as `meta` regexes: the fallback when a lazy DFA gives up (a
/// Unicode word boundary in a user pattern before a non-ASCII byte, or a cache thrashed by
/// adversarial input), as `meta` would fall back itself. Built on first use: ordinary logs never
/// need them, and building both was a third of a one-shot scan's start-up.
struct Fallback {
    patterns: Vec<String>,
    /// Leftmost-first, in priority order.
    leftmost: std::sync::OnceLock<Option<Regex>>,
    /// Every match (fallback of [`Automata::overlap`]).
    overlapping: std::sync::OnceLock<Option<Regex>>,
}

impl Fallback {
    fn build(patterns: &[String], kind: MatchKind) -> Result<Regex, EngineError> {
        Regex::builder()
            .syntax(union_syntax())
            .configure(meta::Config::new().match_kind(kind).utf8_empty(false).nfa_size_limit(Some(64 << 20)).hybrid_cache_capacity(256 << 20))
            .build_many(patterns)
            .map_err(|e| EngineError(e.to_string()))
    }

    /// `None` only if `meta` refuses patterns the lazy DFAs were built from (same syntax and
    /// size limit, so not expected); the search then reports nothing there.
    fn get<'a>(&self, cell: &'a std::sync::OnceLock<Option<Regex>>, kind: MatchKind) -> Option<&'a Regex> {
        cell.get_or_init(|| Fallback::build(&self.patterns, kind).ok()).as_ref()
    }

    fn leftmost(&self) -> Option<&Regex> {
        self.get(&self.leftmost, MatchKind::LeftmostFirst)
    }

    fn overlapping(&self) -> Option<&Regex> {
        self.get(&self.overlapping, MatchKind::All)
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("detectors", &self.detectors.len()).finish_non_exhaustive()
    }
}

/// A detector's context words, positive then negative, as one ASCII-case-insensitive
/// Aho-Corasick DFA walked byte by byte. A window is 24 to 40 bytes and there is one or two per
/// candidate: `AhoCorasick::find_iter`'s set-up per call (input, prefilter, iterator) cost more
/// than the walk itself. Matches are those of `find_iter` with the standard match kind: a word
/// is reported where it ends, and the search goes on after it.
struct ContextWords {
    dfa: aho_corasick::dfa::DFA,
    start: aho_corasick::automaton::StateID,
    /// The bytes the walk must look at from the start state: those that move the automaton out
    /// of it (a word's first byte, either case) and the newline (a window ends at a line's
    /// end). Any other byte leaves it in the start state, and is skipped without a transition:
    /// that is most of a window.
    stops: [bool; 256],
    /// Pattern ids below this are positive words.
    positive: usize,
}

impl ContextWords {
    /// `None` when there are no words. Empty words are left out (they would match everywhere;
    /// the pack loader refuses them).
    fn new(positive: &[String], negative: &[String]) -> Result<Option<ContextWords>, EngineError> {
        use aho_corasick::automaton::Automaton;
        let keep = |w: &&String| !w.is_empty();
        let words: Vec<&String> = positive.iter().filter(keep).chain(negative.iter().filter(keep)).collect();
        if words.is_empty() {
            return Ok(None);
        }
        let dfa = aho_corasick::dfa::DFA::builder()
            .ascii_case_insensitive(true)
            .prefilter(false)
            .start_kind(aho_corasick::StartKind::Unanchored)
            .build(&words)
            .map_err(|e| EngineError(e.to_string()))?;
        let start = dfa.start_state(aho_corasick::Anchored::No).map_err(|e| EngineError(e.to_string()))?;
        let mut stops = [false; 256];
        for (b, stop) in stops.iter_mut().enumerate() {
            // `b` < 256: the cast is exact.
            *stop = b == usize::from(b'\n') || dfa.next_state(aho_corasick::Anchored::No, start, b as u8) != start;
        }
        Ok(Some(ContextWords { dfa, start, stops, positive: positive.iter().filter(keep).count() }))
    }

    /// What a word says.
    fn kind(&self, pid: aho_corasick::PatternID) -> Context {
        if pid.as_usize() < self.positive { Context::Positive } else { Context::Negative }
    }

    /// The words of `hay` in order, by pattern; `f` returns false to stop. A newline is
    /// reported as `None` (words never hold one), and ends the walk when `f` returns false.
    fn each(&self, hay: &[u8], mut f: impl FnMut(Option<aho_corasick::PatternID>) -> bool) {
        use aho_corasick::automaton::Automaton;
        let mut sid = self.start;
        let mut i = 0;
        while i < hay.len() {
            if sid == self.start {
                match hay[i..].iter().position(|&b| self.stops[usize::from(b)]) {
                    Some(k) => i += k,
                    None => return,
                }
            }
            let b = hay[i];
            i += 1;
            if b == b'\n' {
                if !f(None) {
                    return;
                }
                sid = self.start;
                continue;
            }
            sid = self.dfa.next_state(aho_corasick::Anchored::No, sid, b);
            if self.dfa.is_special(sid) {
                if self.dfa.is_dead(sid) {
                    return;
                }
                if self.dfa.is_match(sid) {
                    if !f(Some(self.dfa.match_pattern(sid, 0))) {
                        return;
                    }
                    // Non-overlapping, as `find_iter`: the next word starts after this one.
                    sid = self.start;
                }
            }
        }
    }

    /// The last word of `hay` after its last newline.
    fn last(&self, hay: &[u8]) -> Option<Context> {
        let mut last = None;
        self.each(hay, |pid| {
            // A newline forgets the words before it.
            last = pid;
            true
        });
        last.map(|pid| self.kind(pid))
    }

    /// The first word of `hay` before its first newline.
    fn first(&self, hay: &[u8]) -> Option<Context> {
        let mut first = None;
        self.each(hay, |pid| {
            first = pid;
            false
        });
        first.map(|pid| self.kind(pid))
    }
}

/// What the context words around a candidate say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    Positive,
    Negative,
    Neutral,
}

impl Context {
    /// The word closest to the candidate decides, looking first before it (logs write the key
    /// before the value: `tel 0612345678 ticket 123456789` — the ticket number is closer to
    /// `ticket` than to `tel`), then after it.
    fn around(words: Option<&ContextWords>, before: &[u8], after: &[u8]) -> Context {
        let Some(words) = words else { return Context::Neutral };
        words.last(before).or_else(|| words.first(after)).unwrap_or(Context::Neutral)
    }
}

/// What became of one candidate.
enum Outcome {
    /// Valid and to be reported.
    Found(Candidate),
    /// Valid, but allowlisted, below the threshold or without its required context.
    Silenced,
    /// Not a value of this detector.
    Refused,
}

impl Outcome {
    /// The candidate when found; records the end of a silenced one.
    fn found(self, silenced: &mut Option<usize>, end: usize) -> Option<Candidate> {
        match self {
            Outcome::Found(c) => Some(c),
            Outcome::Silenced => {
                *silenced = Some(silenced.map_or(end, |e: usize| e.max(end)));
                None
            }
            Outcome::Refused => None,
        }
    }
}

/// A validated candidate and whether a positive context word was seen.
struct Candidate {
    detection: Detection,
    positive: bool,
}

/// True when the candidate starting at `start` continues the token before it: `ab12`, or a
/// hyphenated token such as the last group of a UUID (`…-4ff1-039663603791`) or an order
/// number (`ORD-2025-46082646`).
fn continues_before(hay: &[u8], start: usize) -> bool {
    start > 0
        && hay[start].is_ascii_alphanumeric()
        && (hay[start - 1].is_ascii_alphanumeric() || (start > 1 && hay[start - 1] == b'-' && hay[start - 2].is_ascii_alphanumeric()))
}

/// True when the candidate ending at `end` is continued by the token after it (see
/// [`continues_before`]).
fn continues_after(hay: &[u8], end: usize) -> bool {
    end < hay.len()
        && hay[end - 1].is_ascii_alphanumeric()
        && (hay[end].is_ascii_alphanumeric() || (end + 1 < hay.len() && hay[end] == b'-' && hay[end + 1].is_ascii_alphanumeric()))
}

/// Digits and the separators written between them (space, dot, dash, slash, brackets, `+`).
fn is_digit_run(raw: &[u8]) -> bool {
    raw.iter().all(|b| b.is_ascii_digit() || matches!(b, b' ' | b'-' | b'/' | b'(' | b')' | b'+'))
}

/// Where the search resumes after a refused candidate starting at `start`: after the token.
fn next_token(hay: &[u8], start: usize) -> usize {
    if !hay[start].is_ascii_alphanumeric() {
        return start + 1;
    }
    hay[start..].iter().position(|b| !b.is_ascii_alphanumeric()).map_or(hay.len(), |i| start + i)
}

impl Engine {
    /// Compiles a rule set.
    pub fn new(rules: RuleSet, options: EngineOptions) -> Result<Engine, EngineError> {
        let mut specs = rules.detectors;
        // Stable sort: higher priority first, load order among equals.
        specs.sort_by_key(|d| std::cmp::Reverse(d.priority));
        let mut patterns = Vec::new();
        let mut owner = Vec::new();
        let mut needs_context = Vec::new();
        let mut detectors = Vec::with_capacity(specs.len());
        for (i, spec) in specs.into_iter().enumerate() {
            for (p, ctx) in spec.patterns.iter().map(|p| (p, false)).chain(spec.context_patterns.iter().map(|p| (p, true))) {
                patterns.push(p.clone());
                owner.push(i);
                needs_context.push(ctx);
            }
            detectors.push(Compiled {
                context: ContextWords::new(&spec.context.positive, &spec.context.negative)?,
                prefilter: words(&spec.prefilter)?,
                allow: CompiledAllowlist::new(&spec.allowlist)?,
                spec,
            });
        }
        let automata = std::sync::Arc::new(Automata::new(&patterns)?);
        let for_pool = std::sync::Arc::clone(&automata);
        let caches: Pool<Caches, CachesFn> = Pool::new(Box::new(move || for_pool.caches()));
        Ok(Engine {
            detectors,
            automata,
            caches,
            fallback: Fallback { patterns, leftmost: std::sync::OnceLock::new(), overlapping: std::sync::OnceLock::new() },
            owner,
            needs_context,
            global_allow: CompiledAllowlist::new(&rules.allowlist)?,
            options,
        })
    }

    /// The engine with only the default packs.
    pub fn with_default_packs() -> Result<Engine, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Engine::new(RuleSet::default_packs()?, EngineOptions::default())?)
    }

    /// The detectors, indexed by [`Detection::detector`].
    pub fn detectors(&self) -> impl ExactSizeIterator<Item = &DetectorSpec> {
        self.detectors.iter().map(|c| &c.spec)
    }

    /// The spec of detector `i`.
    ///
    /// # Panics
    /// When `i` is not an index returned in a [`Detection`] of this engine.
    pub fn detector(&self, i: usize) -> &DetectorSpec {
        &self.detectors[i].spec
    }

    /// Category of detector `i` (see [`Engine::detector`]).
    pub fn category(&self, i: usize) -> Category {
        self.detectors[i].spec.category
    }

    /// Scans `hay` (one line or many) and appends detections to `out`, in order of position.
    /// Context windows never cross a newline. Memory use does not depend on the input: nothing
    /// is copied but the normalised values of the detections.
    pub fn scan(&self, hay: &[u8], out: &mut Vec<Detection>) {
        let mut caches = self.caches.get();
        let c: &mut Caches = &mut caches;
        let mut pos = 0;
        while pos < hay.len() {
            let Some(m) = self.find(c, hay, pos) else { break };
            let (start, end) = (m.start(), m.end());
            if end == start {
                pos = end + 1;
                continue;
            }
            if continues_before(hay, start) {
                pos = next_token(hay, start);
                continue;
            }
            let mut silenced = None;
            let first = self.confirm(hay, start, end, m.pattern(), false).found(&mut silenced, end);
            let best = match first {
                // Collisions are between digit runs (a BSN that is also a phone number, a
                // Steuer-ID that is also a PESEL); a value with letters or `@` has no rival.
                Some(c) if c.positive || !is_digit_run(&hay[c.detection.start..c.detection.end]) => Some(c),
                first => self.best_at(c, hay, start, m.pattern(), first, &mut silenced),
            };
            match (best, silenced) {
                (Some(c), _) => {
                    pos = c.detection.end;
                    out.push(c.detection);
                }
                // A recognised value that is not reported (allowlisted, below the threshold,
                // without its required context) is still that value: nothing inside it is.
                (None, Some(silenced_end)) => pos = silenced_end,
                (None, None) if self.detectors[self.owner[m.pattern().as_usize()]].spec.opaque => pos = end,
                (None, None) => pos = next_token(hay, start),
            }
        }
    }

    /// The next leftmost-first match of the union in `hay[pos..]`: the forward lazy DFA finds
    /// its end and pattern, the reverse one (anchored at that end) its start, as `meta` does.
    fn find(&self, c: &mut Caches, hay: &[u8], pos: usize) -> Option<Match> {
        let input = Input::new(hay).range(pos..);
        let a = &self.automata;
        let found = a.forward.try_search_fwd(&mut c.forward, &input).and_then(|end| {
            let Some(end) = end else { return Ok(None) };
            if end.offset() == pos {
                return Ok(Some(Match::new(end.pattern(), pos..pos)));
            }
            // The match found is the one starting leftmost, and it is a match of `end.pattern()`:
            // when that pattern has one length, the start is known.
            if let Some(len) = a.fixed_len[end.pattern().as_usize()]
                && end.offset() >= pos + len
            {
                return Ok(Some(Match::new(end.pattern(), end.offset() - len..end.offset())));
            }
            let back = input.clone().span(pos..end.offset()).anchored(Anchored::Yes).earliest(false);
            if let Some(shape) = a.shape[end.pattern().as_usize()]
                && let Some(start) = shape.start(hay, pos, end.offset())
            {
                // Tests run with debug assertions: there every shortcut is checked against the
                // reverse search it replaces.
                #[cfg(debug_assertions)]
                if let Ok(Some(rev)) = a.reverse.try_search_rev(&mut c.reverse, &back) {
                    assert_eq!(rev.offset(), start, "{shape:?} start before {}", end.offset());
                }
                return Ok(Some(Match::new(end.pattern(), start..end.offset())));
            }
            match a.reverse.try_search_rev(&mut c.reverse, &back)? {
                Some(start) => Ok(Some(Match::new(end.pattern(), start.offset()..end.offset()))),
                // A forward match always has a start; should that ever fail, `meta` decides.
                None => Err(MatchError::gave_up(end.offset())),
            }
        });
        found.unwrap_or_else(|_| self.fallback.leftmost().and_then(|r| r.search(&input)))
    }

    /// The patterns matching at `start` (anchored) into `c.rivals`, in priority order, each with
    /// its end when the overlapping pass saw it end at one place only (then that is also where
    /// its leftmost-first match ends), `None` when it must be searched for.
    fn rivals_at(&self, c: &mut Caches, hay: &[u8], start: usize) {
        c.rivals.clear();
        let input = Input::new(hay).range(start..).anchored(Anchored::Yes);
        let mut state = OverlappingState::start();
        let complete = loop {
            match self.automata.overlap.try_search_overlapping_fwd(&mut c.overlap, &input, &mut state) {
                Ok(()) => match state.get_match() {
                    Some(m) => c.ends.push((m.pattern(), m.offset())),
                    None => break true,
                },
                Err(_) => break false,
            }
        };
        if complete {
            c.ends.sort_unstable();
            c.ends.dedup();
            for (i, &(pid, end)) in c.ends.iter().enumerate() {
                let alone = c.ends.get(i + 1).is_none_or(|n| n.0 != pid) && (i == 0 || c.ends[i - 1].0 != pid);
                if alone {
                    c.rivals.push((pid, Some(end)));
                } else if c.rivals.last().is_none_or(|r| r.0 != pid) {
                    c.rivals.push((pid, None));
                }
            }
        } else {
            c.set.clear();
            if let Some(r) = self.fallback.overlapping() {
                r.which_overlapping_matches(&input, &mut c.set);
            }
            c.rivals.extend(c.set.iter().map(|pid| (pid, None)));
        }
        c.ends.clear();
    }

    /// End of the leftmost-first match of pattern `pid` anchored at `start`.
    fn end_of(&self, c: &mut Caches, hay: &[u8], start: usize, pid: PatternID) -> Option<usize> {
        let input = Input::new(hay).range(start..).anchored(Anchored::Pattern(pid));
        match self.automata.forward.try_search_fwd(&mut c.forward, &input) {
            Ok(end) => end.map(|e| e.offset()),
            Err(_) => self.fallback.leftmost().and_then(|r| r.search(&input)).map(|m| m.end()),
        }
    }

    /// The other patterns matching at `start`, in priority order: the first valid one when
    /// `first` was refused, or one with a positive context word when `first` had none.
    fn best_at(
        &self,
        c: &mut Caches,
        hay: &[u8],
        start: usize,
        tried: PatternID,
        first: Option<Candidate>,
        silenced: &mut Option<usize>,
    ) -> Option<Candidate> {
        self.rivals_at(c, hay, start);
        let mut best = first;
        for i in 0..c.rivals.len() {
            let (pid, end) = c.rivals[i];
            if pid == tried {
                continue;
            }
            let di = self.owner[pid.as_usize()];
            if best.as_ref().is_some_and(|b| b.detection.detector == di || !self.detectors[di].has_positive_words()) {
                continue;
            }
            let Some(end) = end.or_else(|| self.end_of(c, hay, start, pid)) else { continue };
            if end == start {
                continue;
            }
            // Once there is a valid candidate, only a rival with a positive word replaces it, and
            // what is silenced no longer matters: a rival without one is skipped unvalidated.
            if let Some(found) = self.confirm(hay, start, end, pid, best.is_some()).found(silenced, end) {
                match &best {
                    None => {
                        if found.positive {
                            return Some(found);
                        }
                        best = Some(found);
                    }
                    Some(_) if found.positive => return Some(found),
                    Some(_) => {}
                }
            }
        }
        best
    }

    /// See [`Engine::judge`].
    fn confirm(&self, hay: &[u8], start: usize, end: usize, pid: PatternID, only_positive: bool) -> Outcome {
        match self.judge(hay, start, end, pid, only_positive) {
            Some(Ok(c)) => Outcome::Found(c),
            Some(Err(())) => Outcome::Silenced,
            None => Outcome::Refused,
        }
    }

    /// `None`: not this detector's value; `Some(Err(()))`: its value, but not to be reported.
    /// With `only_positive`, a candidate without a positive context word is `None` whatever it
    /// is (for a rival that could only win with one).
    fn judge(&self, hay: &[u8], start: usize, end: usize, pid: PatternID, only_positive: bool) -> Option<Result<Candidate, ()>> {
        let di = self.owner[pid.as_usize()];
        let det = &self.detectors[di];
        let raw = &hay[start..end];
        if continues_after(hay, end) {
            return None;
        }
        if memchr::memchr(b'\n', raw).is_some() {
            return None;
        }
        if let Some(pf) = &det.prefilter {
            let line_start = memchr::memrchr(b'\n', &hay[..start]).map_or(0, |i| i + 1);
            let line_end = memchr::memchr(b'\n', &hay[end..]).map_or(hay.len(), |i| end + i);
            if !pf.is_match(&hay[line_start..line_end]) {
                return None;
            }
        }
        let ctx = &det.spec.context;
        // The windows stop at the line's ends: `ContextWords` sees the newlines itself.
        let context = || {
            let before = &hay[start.saturating_sub(ctx.window)..start];
            let after = &hay[end..(end + ctx.window).min(hay.len())];
            Context::around(det.context.as_ref(), before, after)
        };
        // A rival that can only matter with a positive word is not validated without one
        // (nor is one whose detector has no positive word at all).
        let early = if only_positive {
            if !det.has_positive_words() {
                return None;
            }
            let c = context();
            if c != Context::Positive {
                return None;
            }
            Some(c)
        } else {
            None
        };
        let normalized = match det.spec.validator {
            Some(v) => v.check(raw)?,
            None => raw.to_vec(),
        };
        let context = early.unwrap_or_else(context);
        let positive = context == Context::Positive;
        if (ctx.required || self.needs_context[pid.as_usize()]) && !positive {
            return Some(Err(()));
        }
        let confidence = match context {
            Context::Positive => det.spec.confidence + ctx.boost,
            Context::Negative => det.spec.confidence - ctx.penalty,
            Context::Neutral => det.spec.confidence,
        };
        let confidence = confidence.clamp(0.0, 1.0);
        if confidence < self.options.min_confidence {
            return Some(Err(()));
        }
        if det.allow.allows(raw, &normalized) || self.global_allow.allows(raw, &normalized) {
            return Some(Err(()));
        }
        Some(Ok(Candidate { detection: Detection { detector: di, start, end, confidence, normalized }, positive }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::RulePack;
    use std::path::Path;

    fn engine() -> Engine {
        Engine::with_default_packs().unwrap()
    }

    fn found(e: &Engine, text: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        e.scan(text.as_bytes(), &mut out);
        out.iter().map(|d| (e.detector(d.detector).id.clone(), text[d.start..d.end].to_string())).collect()
    }

    #[test]
    fn finds_each_default_detector() {
        let e = engine();
        let got = found(&e, "user=jean.dupont@example.fr tel=+33 6 12 34 56 78 iban=FR76 3000 6000 0112 3456 7890 189 card 4111 1111 1111 1111");
        let ids: Vec<&str> = got.iter().map(|(d, _)| d.as_str()).collect();
        assert_eq!(ids, ["email", "phone", "iban", "payment_card"], "{got:?}");
        assert_eq!(got[2].1, "FR76 3000 6000 0112 3456 7890 189");
    }

    #[test]
    fn invalid_checksums_are_not_reported() {
        let e = engine();
        assert!(found(&e, "card 4111 1111 1111 1112 iban FR76 3000 6000 0112 3456 7890 188").is_empty());
    }

    #[test]
    fn luhn_valid_run_inside_an_invalid_iban_is_not_a_card() {
        let e = engine();
        // 4111111111111111 is Luhn-valid; embedded in an IBAN-shaped token with a bad check.
        assert!(found(&e, "iban FR76 4111 1111 1111 1111 0000 000").is_empty());
    }

    #[test]
    fn match_inside_longer_token_is_ignored() {
        let e = engine();
        assert!(found(&e, "ref=X4111111111111111Z").is_empty());
    }

    #[test]
    fn binary_and_invalid_utf8_never_panic() {
        let e = engine();
        let mut junk: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        junk.extend_from_slice(b" mail: a@b.co \xff\xfe 4111111111111111 \xc3");
        let mut out = Vec::new();
        e.scan(&junk, &mut out);
        assert!(out.iter().any(|d| e.detector(d.detector).id == "payment_card"));
    }

    #[test]
    fn allowlisted_domain_is_not_reported() {
        let mut set = RuleSet::default_packs().unwrap();
        set.add(RulePack::parse(Path::new("allow.toml"), "[pack]\nname='a'\n[allowlist]\nemail_domains=['corp.example']\nvalues=['test@example.com']\n").unwrap()).unwrap();
        let e = Engine::new(set, EngineOptions::default()).unwrap();
        assert!(found(&e, "from bob@mail.corp.example and test@example.com").is_empty());
        assert_eq!(found(&e, "from bob@other.example").len(), 1);
    }

    #[test]
    fn context_words_change_confidence() {
        let e = engine();
        let mut a = Vec::new();
        e.scan(b"phone: 06 12 34 56 78", &mut a);
        let mut b = Vec::new();
        e.scan(b"order 06 12 34 56 78", &mut b);
        assert_eq!(a.len(), 1);
        assert!(b.is_empty() || b[0].confidence < a[0].confidence);
    }

    #[test]
    fn a_context_word_decides_a_collision_else_priority() {
        let e = engine();
        // 32081652946 is a valid PESEL and a valid Steuer-ID.
        assert_eq!(found(&e, "pesel 32081652946"), [("pl_pesel".to_string(), "32081652946".to_string())]);
        assert_eq!(found(&e, "steuer-id 32081652946"), [("de_tax_id".to_string(), "32081652946".to_string())]);
        assert_eq!(found(&e, "x 32081652946"), [("de_tax_id".to_string(), "32081652946".to_string())]);
    }

    #[test]
    fn context_words_on_another_line_do_not_count() {
        let e = engine();
        // A bare ten-digit number is a phone number only next to a phone word on its line.
        assert_eq!(found(&e, "x phone\n4155552671"), []);
        assert_eq!(found(&e, "4155552671\nphone x"), []);
        assert_eq!(found(&e, "phone\nphone 4155552671 order\n"), [("phone".to_string(), "4155552671".to_string())]);
        assert_eq!(found(&e, "ticket\n4155552671 phone\norder"), [("phone".to_string(), "4155552671".to_string())]);
    }

    #[test]
    fn the_context_word_closest_to_the_value_decides() {
        let e = engine();
        let got = found(&e, "tel 0612345678 order 0698765432");
        assert_eq!(got, [("phone".to_string(), "0612345678".to_string())]);
    }

    #[test]
    fn hyphenated_tokens_are_one_token() {
        let e = engine();
        assert!(found(&e, "req_id=c6166971-15a6-4ff1-9e37-039663603791 ORD-2025-0612345678").is_empty());
    }

    #[test]
    fn detectors_that_need_context_stay_silent_without_it() {
        let e = engine();
        assert_eq!(found(&e, "born 12.03.1985"), [("date_of_birth".to_string(), "12.03.1985".to_string())]);
        assert!(found(&e, "deployed 12.03.1985").is_empty());
        assert_eq!(found(&e, "patient diagnosis E11.9"), [("health_term".to_string(), "E11.9".to_string())]);
        assert!(found(&e, "grid E11.9").is_empty());
        // A bare ten-digit number is a phone number only next to a phone word.
        assert_eq!(found(&e, "phone 4155552671"), [("phone".to_string(), "4155552671".to_string())]);
        assert!(found(&e, "count 4155552671").is_empty());
    }

    #[test]
    fn identity_documents_and_special_shapes() {
        let e = engine();
        assert_eq!(found(&e, "P<UTO ... L898902C36UTO7408122F1204159ZE184226B<<<<<10")[0].0, "passport_mrz");
        assert_eq!(found(&e, "hetu 131052-308T")[0].0, "fi_hetu");
        assert_eq!(found(&e, "AB 12 34 56 C")[0].0, "gb_nino");
        assert_eq!(found(&e, "mac 00:1a:2b:3c:4d:5e")[0].0, "mac_address");
        assert_eq!(found(&e, "at 48.85837, 2.294481")[0].0, "gps_coordinates");
        assert_eq!(found(&e, "vat DE136695976")[0].0, "eu_vat_number");
    }

    #[test]
    fn shape_starts_agree_with_the_reverse_search() {
        // `find` asserts (debug builds) that each start computed by `Shape` is the reverse
        // search's; these are the edges of the two loops: runs cut by the search position, word
        // bytes before the run, separators inside the local part, too many digits in a group.
        let e = engine();
        let texts = [
            "a..b@x.com _a@b.co -x@y.org x-y+z%w@mail.example.org .a@b.cd a@b@c.de __@x.io 1@2.ab é@x.fr",
            "mail:a@b.co,b@c.de;c.d@e.fg (x@y.zz) x_y@z.com a-@b.cd a.@b.cd _-.a@b.cd",
            "1234.1.2.3 01.2.3.4.5 a.1.2.3.4 v1.2.3.4 10.0.0.1.2.3.4 192.168.1.1 1.2.3.4.5.6.7 _1.2.3.4 9999.9.9.9",
            "1.2.3.4.5@x.com 10.0.0.1@a.bc a@10.0.0.1 x10.0.0.1 10.0.0.1x 1.1.1.1a 255.255.255.254,8.8.4.4;12.34.56.78",
        ];
        for t in texts {
            let mut out = Vec::new();
            e.scan(t.as_bytes(), &mut out);
            // And each line scanned from every position (the search start cuts the runs).
            for i in 0..t.len() {
                out.clear();
                e.scan(&t.as_bytes()[i..], &mut out);
            }
        }
        assert_eq!(found(&e, "from x-y+z%w@mail.example.org at 192.168.1.1"), [
            ("email".to_string(), "x-y+z%w@mail.example.org".to_string()),
            ("ipv4".to_string(), "192.168.1.1".to_string())
        ]);
    }

    #[test]
    fn the_default_email_and_ipv4_patterns_are_shapes() {
        // The shortcut keys on the packs' exact text: an edit of either pattern would silently
        // bring the reverse search back.
        let e = engine();
        let shapes: Vec<Shape> = e.automata.shape.iter().flatten().copied().collect();
        assert_eq!(shapes, [Shape::Email, Shape::Ipv4]);
    }

    #[test]
    fn the_fallback_regexes_agree_with_the_lazy_dfas() {
        // They are built only when a lazy DFA gives up, which ordinary text never makes it do:
        // check here that, built, they find the same candidates.
        let e = engine();
        let text = b"mail a.b@example.org tel +33 6 12 34 56 78 at 10.1.2.3 card 4111 1111 1111 1111";
        let leftmost = e.fallback.leftmost().expect("fallback builds");
        let mut c = e.automata.caches();
        let mut pos = 0;
        while let Some(m) = e.find(&mut c, text, pos) {
            let f = leftmost.search(&Input::new(text).range(pos..)).expect("fallback finds it");
            assert_eq!((f.pattern(), f.range()), (m.pattern(), m.range()));
            let mut set = PatternSet::new(leftmost.pattern_len());
            e.fallback.overlapping().expect("fallback builds").which_overlapping_matches(&Input::new(text).range(m.start()..).anchored(Anchored::Yes), &mut set);
            assert!(set.contains(m.pattern()));
            pos = m.end().max(pos + 1);
        }
        assert!(pos > 60, "the text holds candidates up to its end");
    }

    #[test]
    fn default_packs_hold_36_detectors_with_a_category_each() {
        let e = engine();
        assert_eq!(e.detectors().len(), 36);
        assert!(e.detectors().any(|d| d.id == "health_term" && d.special));
        assert!(e.detectors().all(|d| !d.description.is_empty()));
    }
}
