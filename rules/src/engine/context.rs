//! Context words: what the words around a candidate say about it (`tel`, `iban`, `patient` …
//! raise its confidence; `order`, `ticket` … lower it).

use super::error::EngineError;

/// A detector's context words, positive then negative, as one ASCII-case-insensitive
/// Aho-Corasick DFA walked byte by byte. A window is 24 to 40 bytes and there is one or two per
/// candidate: `AhoCorasick::find_iter`'s set-up per call (input, prefilter, iterator) cost more
/// than the walk itself. Matches are those of `find_iter` with the standard match kind: a word
/// is reported where it ends, and the search goes on after it.
pub(super) struct ContextWords {
    dfa: aho_corasick::dfa::DFA,
    start: aho_corasick::automaton::StateID,
    /// The bytes the walk must look at from the start state: those that move the automaton out
    /// of it (a word's first byte, either case) and the newline (a window ends at a line's
    /// end). Any other byte leaves it in the start state, and is skipped without a transition:
    /// that is most of a window.
    stops: [bool; 256],
    /// Pattern ids below this are positive words.
    pub(super) positive: usize,
}

impl ContextWords {
    /// `None` when there are no words. Empty words are left out (they would match everywhere;
    /// the pack loader refuses them).
    pub(super) fn new(positive: &[String], negative: &[String]) -> Result<Option<ContextWords>, EngineError> {
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
pub(super) enum Context {
    Positive,
    Negative,
    Neutral,
}

impl Context {
    /// The word closest to the candidate decides, looking first before it (logs write the key
    /// before the value: `tel 0612345678 ticket 123456789` — the ticket number is closer to
    /// `ticket` than to `tel`), then after it.
    pub(super) fn around(words: Option<&ContextWords>, before: &[u8], after: &[u8]) -> Context {
        let Some(words) = words else { return Context::Neutral };
        words.last(before).or_else(|| words.first(after)).unwrap_or(Context::Neutral)
    }
}
