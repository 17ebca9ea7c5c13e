//! The scanning engine: one pass over the bytes for every detector, validators on candidates.
//!
//! # How a match is decided
//! 1. All patterns of all detectors form one leftmost-first multi-pattern regex
//!    (`regex_automata::meta`), ordered by detector priority, compiled in ASCII mode so the lazy
//!    DFA never gives up on non-ASCII text and bytes that are not UTF-8 are simply bytes.
//! 2. A candidate inside a longer token is not a match: the bytes just before and after it must
//!    not continue an alphanumeric run (`ID12345…` is not a phone number).
//! 3. The detector's validator must accept it (checksum, structure). When it refuses, the other
//!    patterns are tried *anchored at the same start* in priority order, so a failed IBAN does not
//!    hide a valid card number starting at the same byte — but nothing is searched *inside* a
//!    refused candidate, which is how a Luhn-valid run inside an invalid IBAN stays unreported.
//! 4. Context words in a window around the candidate (same line) raise or lower the
//!    confidence; a detector that requires context drops candidates without it.
//! 5. Allowlists drop test accounts and company domains; a threshold drops weak candidates.

use crate::category::Category;
use crate::pack::{Allowlist, DetectorSpec, RuleSet};
use aho_corasick::AhoCorasick;
use regex_automata::meta::{self, Regex};
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input, MatchKind, PatternID};

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
    positive: Option<AhoCorasick>,
    negative: Option<AhoCorasick>,
    prefilter: Option<AhoCorasick>,
    allow: CompiledAllowlist,
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

    fn allows(&self, raw: &[u8], normalized: &[u8]) -> bool {
        let norm_lower = normalized.to_ascii_lowercase();
        if self.values.iter().any(|v| *v == norm_lower || *v == raw.to_ascii_lowercase()) {
            return true;
        }
        if self.patterns.as_ref().is_some_and(|p| p.is_match(raw)) {
            return true;
        }
        if !self.email_domains.is_empty() {
            if let Some(at) = norm_lower.iter().rposition(|&b| b == b'@') {
                let domain = &norm_lower[at + 1..];
                return self.email_domains.iter().any(|d| {
                    domain == d.as_slice() || (domain.len() > d.len() && domain.ends_with(d) && domain[domain.len() - d.len() - 1] == b'.')
                });
            }
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

/// The compiled detectors of a [`RuleSet`].
pub struct Engine {
    detectors: Vec<Compiled>,
    regex: Regex,
    /// Pattern id → detector index.
    owner: Vec<usize>,
    /// Pattern ids in priority order, for anchored retries.
    by_priority: Vec<PatternID>,
    global_allow: CompiledAllowlist,
    options: EngineOptions,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("detectors", &self.detectors.len()).finish_non_exhaustive()
    }
}

impl Engine {
    /// Compiles a rule set.
    pub fn new(rules: RuleSet, options: EngineOptions) -> Result<Engine, EngineError> {
        let mut specs = rules.detectors;
        // Stable sort: higher priority first, load order among equals.
        specs.sort_by_key(|d| std::cmp::Reverse(d.priority));
        let mut patterns = Vec::new();
        let mut owner = Vec::new();
        let mut detectors = Vec::with_capacity(specs.len());
        for (i, spec) in specs.into_iter().enumerate() {
            for p in &spec.patterns {
                patterns.push(p.clone());
                owner.push(i);
            }
            detectors.push(Compiled {
                positive: words(&spec.context.positive)?,
                negative: words(&spec.context.negative)?,
                prefilter: words(&spec.prefilter)?,
                allow: CompiledAllowlist::new(&spec.allowlist)?,
                spec,
            });
        }
        let regex = Regex::builder()
            .syntax(syntax::Config::new().unicode(false).utf8(false))
            .configure(
                meta::Config::new()
                    .match_kind(MatchKind::LeftmostFirst)
                    .utf8_empty(false)
                    .nfa_size_limit(Some(64 << 20))
                    .hybrid_cache_capacity(32 << 20),
            )
            .build_many(&patterns)
            .map_err(|e| EngineError(e.to_string()))?;
        let by_priority = (0..patterns.len()).map(PatternID::must).collect();
        Ok(Engine {
            detectors,
            regex,
            owner,
            by_priority,
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
    /// Context windows never cross a newline.
    pub fn scan(&self, hay: &[u8], out: &mut Vec<Detection>) {
        let mut pos = 0;
        while pos < hay.len() {
            let Some(m) = self.regex.search(&Input::new(hay).range(pos..)) else { break };
            let (start, end) = (m.start(), m.end());
            if end == start {
                pos = end + 1;
                continue;
            }
            match self.confirm(hay, start, end, m.pattern()) {
                Some(d) => {
                    pos = d.end;
                    out.push(d);
                }
                None => match self.retry_at(hay, start, m.pattern()) {
                    Some(d) => {
                        pos = d.end;
                        out.push(d);
                    }
                    None => pos = end,
                },
            }
        }
    }

    /// Other patterns anchored at `start`, in priority order, after `failed` refused.
    fn retry_at(&self, hay: &[u8], start: usize, failed: PatternID) -> Option<Detection> {
        let failed_det = self.owner[failed.as_usize()];
        for &pid in &self.by_priority {
            if pid == failed || self.owner[pid.as_usize()] == failed_det && pid < failed {
                continue;
            }
            let input = Input::new(hay).range(start..).anchored(Anchored::Pattern(pid));
            if let Some(m) = self.regex.search(&input) {
                if m.end() > m.start() {
                    if let Some(d) = self.confirm(hay, m.start(), m.end(), pid) {
                        return Some(d);
                    }
                }
            }
        }
        None
    }

    fn confirm(&self, hay: &[u8], start: usize, end: usize, pid: PatternID) -> Option<Detection> {
        let di = self.owner[pid.as_usize()];
        let det = &self.detectors[di];
        let raw = &hay[start..end];
        if raw.contains(&b'\n') {
            return None;
        }
        // Inside a longer token: not a match.
        let joins = |a: u8, b: u8| a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric();
        if start > 0 && joins(hay[start - 1], hay[start]) {
            return None;
        }
        if end < hay.len() && joins(hay[end - 1], hay[end]) {
            return None;
        }
        let line_start = hay[..start].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let line_end = hay[end..].iter().position(|&b| b == b'\n').map_or(hay.len(), |i| end + i);
        if let Some(pf) = &det.prefilter {
            if !pf.is_match(&hay[line_start..line_end]) {
                return None;
            }
        }
        let normalized = match det.spec.validator {
            Some(v) => v.check(raw)?,
            None => raw.to_vec(),
        };
        let ctx = &det.spec.context;
        let before = &hay[start.saturating_sub(ctx.window).max(line_start)..start];
        let after = &hay[end..(end + ctx.window).min(line_end)];
        let has = |ac: &Option<AhoCorasick>| ac.as_ref().is_some_and(|ac| ac.is_match(before) || ac.is_match(after));
        let positive = has(&det.positive);
        if ctx.required && !positive {
            return None;
        }
        let mut confidence = det.spec.confidence;
        if positive {
            confidence += ctx.boost;
        }
        if has(&det.negative) {
            confidence -= ctx.penalty;
        }
        let confidence = confidence.clamp(0.0, 1.0);
        if confidence < self.options.min_confidence {
            return None;
        }
        if det.allow.allows(raw, &normalized) || self.global_allow.allows(raw, &normalized) {
            return None;
        }
        Some(Detection { detector: di, start, end, confidence, normalized })
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
}
