//! The prefilter changes how much work a scan does, never what it finds: on any text, the
//! engine with its prefilter on (the default) reports exactly the detections — detector, span,
//! confidence, normalised value — of the single-pass engine, which validates every candidate
//! (`EngineOptions { prefilter: false, .. }`).
//!
//! The texts mix lines of both bench corpora (`data/corpus_lines.txt`: dense lines with many
//! personal values, quiet production lines with timestamps, UUIDs, hex ids, epochs and order
//! numbers), those lines with a few bytes changed (near misses: a digit more or less, a
//! separator moved, a context word cut), runs of digits and separators, and random bytes
//! (invalid UTF-8, NUL, newlines in the middle of a value).

use custos_rules::{Detection, Engine, EngineOptions, RuleSet};
use proptest::prelude::*;
use std::sync::OnceLock;

const LINES: &[u8] = include_bytes!("data/corpus_lines.txt");

fn lines() -> &'static Vec<&'static [u8]> {
    static LINES_: OnceLock<Vec<&'static [u8]>> = OnceLock::new();
    LINES_.get_or_init(|| LINES.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect())
}

/// The prefiltered engine and the single-pass one.
fn engines() -> &'static (Engine, Engine) {
    static ENGINES: OnceLock<(Engine, Engine)> = OnceLock::new();
    ENGINES.get_or_init(|| {
        let build = |prefilter| Engine::new(RuleSet::default_packs().unwrap(), EngineOptions { prefilter, ..EngineOptions::default() }).unwrap();
        (build(true), build(false))
    })
}

fn scan(engine: &Engine, text: &[u8]) -> Vec<Detection> {
    let mut out = Vec::new();
    engine.scan(text, &mut out);
    out
}

/// Asserts both engines agree on `text`, showing the first difference by position and
/// detector only (the values are test data, but the habit is kept).
fn assert_same(text: &[u8]) {
    let (pre, single) = engines();
    let (a, b) = (scan(pre, text), scan(single, text));
    if a != b {
        let first = a.iter().zip(&b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
        panic!("prefiltered {} detections, single-pass {}; first difference at #{first}: {:?} vs {:?}", a.len(), b.len(), a.get(first), b.get(first));
    }
}

/// Bytes near-misses are made of: digits, the separators values are written with, letters of
/// country prefixes and context words, and a few hostile bytes.
const NEAR: &[u8] = b"0123456789012345678901234567890 -./()+:@_=,\"'\nABCDEFRNLITESxyzdeftelorphone\xff\x00\xc3";

fn piece() -> impl Strategy<Value = Vec<u8>> {
    let n = lines().len();
    prop_oneof![
        // A corpus line as it is.
        (0..n).prop_map(|i| lines()[i].to_vec()),
        // A corpus line with a few bytes replaced, inserted or removed.
        ((0..n), prop::collection::vec((any::<prop::sample::Index>(), 0..3u8, prop::sample::select(NEAR)), 1..6)).prop_map(|(i, edits)| {
            let mut l = lines()[i].to_vec();
            for (at, op, b) in edits {
                if l.is_empty() {
                    break;
                }
                let at = at.index(l.len());
                match op {
                    0 => l[at] = b,
                    1 => l.insert(at, b),
                    _ => {
                        l.remove(at);
                    }
                }
            }
            l
        }),
        // Digits and separators: the shapes of phone numbers, ids, dates and cards.
        prop::collection::vec(prop::sample::select(&b"0123456789012345678901234567 -./+"[..]), 1..40),
        // Groups of digits with one separator between them (dates, grouped phone and national
        // numbers), some of them valid values of a detector that needs a context word.
        prop::collection::vec((prop::collection::vec(prop::sample::select(&b"0123456789"[..]), 1..7), prop::sample::select(&b" -./"[..])), 1..6).prop_map(
            |groups| groups
                .into_iter()
                .flat_map(|(mut g, sep)| {
                    g.push(sep);
                    g
                })
                .collect()
        ),
        // Anything.
        prop::collection::vec(prop::sample::select(NEAR), 0..60),
        prop::collection::vec(any::<u8>(), 0..30),
    ]
}

fn text() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec((piece(), prop::sample::select(vec![&b"\n"[..], b" ", b"", b"\r\n", b", tel: ", b" order "])), 1..12).prop_map(|parts| {
        let mut t = Vec::new();
        for (p, sep) in parts {
            t.extend_from_slice(&p);
            t.extend_from_slice(sep);
        }
        t
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn the_prefilter_finds_what_the_single_pass_engine_finds(t in text()) {
        assert_same(&t);
    }
}

#[test]
fn the_corpus_sample_is_scanned_alike_whole_and_line_by_line() {
    assert_same(LINES);
    for l in lines() {
        assert_same(l);
    }
    // The sample holds personal values of most detectors: the comparison is not vacuous.
    let found = scan(&engines().0, LINES);
    let detectors: std::collections::BTreeSet<usize> = found.iter().map(|d| d.detector).collect();
    assert!(found.len() > 250 && detectors.len() >= 12, "{} detections of {} detectors", found.len(), detectors.len());
}
