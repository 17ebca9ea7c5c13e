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
//!    IBAN stays unreported. A `trim` detector's refused candidate is tried again without its
//!    last groups first; a refused `+…` number hides its digits.
//! 4. **Collisions**: a valid candidate with no positive context word is compared with the other
//!    detectors valid on the same span; one with a context word wins (`pesel: 44051401359` is a
//!    PESEL even where it is also a valid Steuer-ID), else priority decides.
//! 5. **Context**: words in a window around the candidate (same line) raise or lower the
//!    confidence; a detector that requires context — or a candidate from one of its
//!    `context_patterns`, or a phone number that only has its plan's length — is dropped without
//!    one. A digit run next to a hex id or a UUID has negative context.
//! 6. Allowlists drop test accounts and company domains; a threshold drops weak candidates.

use crate::category::Category;
use crate::pack::{DetectorSpec, RuleSet};
use crate::validate::Validator;
use crate::validate::name::person_name_value;
use crate::validate::phone::{Fit, PhoneRegions, phone_in, phone_judged};
use aho_corasick::AhoCorasick;
use allowlist::CompiledAllowlist;
use automata::{Automata, Caches, CachesFn, Fallback};
use context::{Context, ContextWords};
use regex_automata::hybrid::dfa::OverlappingState;
use regex_automata::util::pool::Pool;
use regex_automata::{Anchored, Input, Match, MatchError, PatternID};

mod allowlist;
mod automata;
mod context;
mod error;

pub use error::EngineError;

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Detections below this confidence are dropped.
    pub min_confidence: f32,
    /// The regions whose national phone formats are recognised (international forms are
    /// recognised for every region).
    pub phone_regions: PhoneRegions,
    /// The candidate prefilter (on by default): a candidate that needs a context word it does
    /// not have is not validated unless its validity could change where the search resumes.
    /// Off, every candidate is validated (the single-pass engine, kept to check the prefilter
    /// against: the findings are the same, byte for byte).
    pub prefilter: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions { min_confidence: 0.5, phone_regions: PhoneRegions::default(), prefilter: true }
    }
}

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

fn words(list: &[String]) -> Result<Option<AhoCorasick>, EngineError> {
    if list.is_empty() {
        return Ok(None);
    }
    AhoCorasick::builder().ascii_case_insensitive(true).build(list).map(Some).map_err(|e| EngineError(e.to_string()))
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

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("detectors", &self.detectors.len()).finish_non_exhaustive()
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
    /// Needs a positive context word it does not have, and was not validated (the prefilter):
    /// silenced if its validator accepts it, refused otherwise — which only matters for where
    /// the search resumes (see [`Engine::settle`]).
    Unchecked,
}

impl Outcome {
    /// The candidate when found; records the end of a silenced one, and the pattern and end of
    /// an unchecked one.
    fn found(self, silenced: &mut Option<usize>, unchecked: &mut Vec<(PatternID, usize)>, pid: PatternID, end: usize) -> Option<Candidate> {
        match self {
            Outcome::Found(c) => Some(c),
            Outcome::Silenced => {
                *silenced = Some(silenced.map_or(end, |e: usize| e.max(end)));
                None
            }
            Outcome::Unchecked => {
                unchecked.push((pid, end));
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
///
/// Digits just after a `+` continue it too: they are the rest of an international number that
/// was refused, not a national number of their own; and digits after `digit:` are the seconds
/// of a time (`00:00:02.183000`).
fn continues_before(hay: &[u8], start: usize) -> bool {
    start > 0
        && hay[start].is_ascii_alphanumeric()
        && (hay[start - 1].is_ascii_alphanumeric()
            || (start > 1 && hay[start - 1] == b'-' && hay[start - 2].is_ascii_alphanumeric())
            || (hay[start - 1] == b'+' && hay[start].is_ascii_digit())
            || (start > 1 && hay[start - 1] == b':' && hay[start - 2].is_ascii_digit() && hay[start].is_ascii_digit()))
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

/// True when `token` looks like a hex identifier or a UUID: at least eight lower-case hex
/// digits and dashes, with both a letter a–f and a digit (`DE4374…`, an upper-case IBAN, is
/// not one).
fn is_hex_id(token: &[u8]) -> bool {
    token.len() >= 8 && token.iter().any(u8::is_ascii_digit) && token.iter().any(|b| matches!(b, b'a'..=b'f'))
}

/// Lower-case hex digits and the dashes of a UUID.
fn is_hex_part(b: u8) -> bool {
    b.is_ascii_digit() || matches!(b, b'a'..=b'f' | b'-')
}

/// Whether the token just before `start` (one separator away) is a hex id or a UUID.
fn hex_before(hay: &[u8], start: usize) -> bool {
    let Some(sep) = start.checked_sub(1) else { return false };
    if !matches!(hay[sep], b' ' | b'-' | b':' | b'/' | b'_' | b'.') {
        return false;
    }
    let from = hay[..sep].iter().rposition(|b| !is_hex_part(*b)).map_or(0, |i| i + 1);
    // The token must start there: `abc123def` is hex, `xabc123def` is not.
    (from == 0 || !hay[from - 1].is_ascii_alphanumeric()) && is_hex_id(&hay[from..sep])
}

/// Whether the token just after `end` (one separator away) is a hex id or a UUID.
fn hex_after(hay: &[u8], end: usize) -> bool {
    if end + 1 >= hay.len() || !matches!(hay[end], b' ' | b'-' | b':' | b'/' | b'_' | b'.') {
        return false;
    }
    let to = hay[end + 1..].iter().position(|b| !is_hex_part(*b)).map_or(hay.len(), |i| end + 1 + i);
    // The token must end there: `abc123def` is hex, `deadline` is a word.
    (to == hay.len() || !hay[to].is_ascii_alphanumeric()) && is_hex_id(&hay[end + 1..to])
}

/// The longest shorter candidate the validator accepts, cut just before one of the last
/// separators of `hay[start..end]` (at most eight tries): a pattern that tolerates separators
/// may run into the words or numbers that follow the value.
fn trimmed(v: Validator, hay: &[u8], start: usize, end: usize) -> Option<(usize, Vec<u8>)> {
    let mut cut = end;
    for _ in 0..8 {
        let sep = hay[start..cut].iter().rposition(|b| !b.is_ascii_alphanumeric())?;
        cut = start + hay[start..start + sep].iter().rposition(u8::is_ascii_alphanumeric)? + 1;
        if let Some(n) = v.check(&hay[start..cut]) {
            return Some((cut, n));
        }
    }
    None
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
        self.scan_span(&mut caches, hay, 0, hay.len(), out);
    }

    /// Scans the matches of `hay` that start at `pos` or later and end by `limit`, in order.
    fn scan_span(&self, c: &mut Caches, hay: &[u8], mut pos: usize, limit: usize, out: &mut Vec<Detection>) {
        while pos < limit {
            let Some(m) = self.find(c, hay, pos) else { break };
            let (start, end) = (m.start(), m.end());
            if start >= limit || end > limit {
                break;
            }
            if end == start {
                pos = end + 1;
                continue;
            }
            if continues_before(hay, start) {
                pos = next_token(hay, start);
                continue;
            }
            let mut silenced = None;
            c.unchecked.clear();
            let first = self.confirm(hay, start, end, m.pattern(), false).found(&mut silenced, &mut c.unchecked, m.pattern(), end);
            let best = match first {
                // Collisions are between digit runs (a BSN that is also a phone number, a
                // Steuer-ID that is also a PESEL); a value with letters or `@` has no rival.
                Some(c) if c.positive || !is_digit_run(&hay[c.detection.start..c.detection.end]) => Some(c),
                first => self.best_at(c, hay, start, m.pattern(), first, &mut silenced),
            };
            if best.is_none() && !c.unchecked.is_empty() {
                let fallback = if self.hides_inside(m.pattern(), &hay[start..end]) { end } else { next_token(hay, start) };
                silenced = self.settle(hay, start, silenced, &mut c.unchecked, fallback);
            }
            match (best, silenced) {
                (Some(found), _) => {
                    // A value found after its key (a name after `name=`, or PID-5 after the
                    // identifiers of PID-3): what lies between is scanned too, so the patient's
                    // NIR in an HL7 PID segment is not hidden by the name that follows it.
                    if found.detection.start > start + 1 {
                        self.scan_span(c, hay, start + 1, found.detection.start, out);
                    }
                    pos = found.detection.end;
                    out.push(found.detection);
                }
                // A recognised value that is not reported (allowlisted, below the threshold,
                // without its required context) is still that value: nothing inside it is.
                (None, Some(silenced_end)) => pos = silenced_end,
                // A refused token of an opaque detector hides what is inside it, unless the
                // detector's pattern tolerates separators: then it may be several values
                // (`at 06 12 34 56 78` is not an Austrian IBAN, but holds a phone number).
                (None, None) if self.hides_inside(m.pattern(), &hay[start..end]) => pos = end,
                (None, None) => pos = next_token(hay, start),
            }
        }
    }

    /// Whether a refused candidate of pattern `pid` hides what is inside it (see
    /// [`DetectorSpec::opaque`]). For a detector whose pattern tolerates separators and case
    /// ([`DetectorSpec::trim`]), only a token that starts like one of its values in upper case
    /// does: `FR76 4111 1111 1111 1111 0000 000` hides its Luhn-valid run, `at 06 12 34 56 78`
    /// is a word and a phone number.
    ///
    /// A refused international number (`+1 268460123`) hides its digits too: they are not a
    /// national number of their own.
    fn hides_inside(&self, pid: PatternID, raw: &[u8]) -> bool {
        let spec = &self.detectors[self.owner[pid.as_usize()]].spec;
        raw.first() == Some(&b'+')
            || (spec.opaque && (!spec.trim || raw.iter().take(2).all(u8::is_ascii_uppercase) || raw.iter().all(u8::is_ascii_alphanumeric)))
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
    fn best_at(&self, c: &mut Caches, hay: &[u8], start: usize, tried: PatternID, first: Option<Candidate>, silenced: &mut Option<usize>) -> Option<Candidate> {
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
            if let Some(found) = self.confirm(hay, start, end, pid, best.is_some()).found(silenced, &mut c.unchecked, pid, end) {
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

    /// The validator `v` on `raw`, with this engine's settings (the phone regions).
    fn check(&self, v: Validator, raw: &[u8]) -> Option<Vec<u8>> {
        match v {
            Validator::Phone => phone_in(raw, &self.options.phone_regions),
            v => v.check(raw),
        }
    }

    /// See [`Engine::judge`]; with the prefilter, a candidate that needs a positive context
    /// word and has none is [`Outcome::Unchecked`], its validator not run.
    fn confirm(&self, hay: &[u8], start: usize, end: usize, pid: PatternID, only_positive: bool) -> Outcome {
        if self.options.prefilter && !only_positive && self.lacks_its_word(hay, start, end, pid) {
            return Outcome::Unchecked;
        }
        match self.judge(hay, start, end, pid, only_positive) {
            Some(Ok(c)) => Outcome::Found(c),
            Some(Err(())) => Outcome::Silenced,
            None => Outcome::Refused,
        }
    }

    /// Whether pattern `pid`'s candidate needs a positive context word (its detector requires
    /// one, or the pattern is one of its `context_patterns`) and has none: then it cannot be
    /// reported, whatever its validator says. The window is [`Engine::judge`]'s.
    fn lacks_its_word(&self, hay: &[u8], start: usize, end: usize, pid: PatternID) -> bool {
        let det = &self.detectors[self.owner[pid.as_usize()]];
        let ctx = &det.spec.context;
        if !(ctx.required || self.needs_context[pid.as_usize()]) {
            return false;
        }
        let before = &hay[start.saturating_sub(ctx.window)..start];
        let after = &hay[end..(end + ctx.window).min(hay.len())];
        Context::around(det.context.as_ref(), before, after) != Context::Positive
    }

    /// Where the search resumes after a start where nothing was found (the prefilter's
    /// bookkeeping): after the furthest silenced candidate, else at `fallback`. `silenced` is
    /// what the validated candidates said; an unchecked candidate is validated only when its
    /// validity could move that place, furthest end first, until one is valid. A bare digit
    /// run without its context word, the commonest case, ends where `fallback` is anyway.
    fn settle(&self, hay: &[u8], start: usize, silenced: Option<usize>, unchecked: &mut [(PatternID, usize)], fallback: usize) -> Option<usize> {
        if silenced.is_none() && unchecked.iter().all(|u| u.1 == fallback) {
            return silenced;
        }
        unchecked.sort_unstable_by_key(|u| std::cmp::Reverse(u.1));
        for &(pid, end) in unchecked.iter() {
            if silenced.is_some_and(|s| end <= s) {
                break;
            }
            // Without a positive word it cannot be found: valid means silenced.
            if self.judge(hay, start, end, pid, false).is_some() {
                return Some(end);
            }
        }
        silenced
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
        // A lower-case candidate between dots of a longer token is part of a file or host name
        // (`runtime.1427050f.chunk.js`).
        if raw.iter().any(u8::is_ascii_lowercase)
            && ((start > 1 && hay[start - 1] == b'.' && hay[start - 2].is_ascii_alphanumeric())
                || (end + 1 < hay.len() && hay[end] == b'.' && hay[end + 1].is_ascii_alphanumeric()))
        {
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
        let mut weak = false;
        let (start, end, normalized) = match det.spec.validator {
            // A name's candidate starts with its key: the finding starts at the name.
            Some(Validator::PersonName) => {
                let (offset, n) = person_name_value(raw)?;
                (start + offset, end, n)
            }
            // A number that only has its plan's length needs a phone word (see `Fit`), unless
            // it is written as people write phone numbers (`+`, brackets, groups).
            Some(Validator::Phone) => {
                let (n, fit) = phone_judged(raw, &self.options.phone_regions)?;
                weak = fit == Fit::Possible && raw.iter().all(u8::is_ascii_digit);
                (start, end, n)
            }
            Some(v) => match self.check(v, raw) {
                Some(n) => (start, end, n),
                None if det.spec.trim => {
                    let (end, n) = trimmed(v, hay, start, end)?;
                    (start, end, n)
                }
                None => return None,
            },
            None => (start, end, raw.to_vec()),
        };
        let raw = &hay[start..end];
        let mut context = early.unwrap_or_else(context);
        // A digit run next to a hex id or a UUID is one more part of an identifier.
        if context == Context::Neutral && is_digit_run(raw) && (hex_before(hay, start) || hex_after(hay, end)) {
            context = Context::Negative;
        }
        let positive = context == Context::Positive;
        if (ctx.required || self.needs_context[pid.as_usize()] || weak) && !positive {
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
mod tests;
