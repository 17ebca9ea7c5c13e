//! Specifications of the engine's behaviour.

use super::automata::Shape;
use super::*;
use crate::pack::RulePack;
use regex_automata::PatternSet;
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
    set.add(RulePack::parse(Path::new("allow.toml"), "[pack]\nname='a'\n[allowlist]\nemail_domains=['corp.example']\nvalues=['test@example.com']\n").unwrap())
        .unwrap();
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
    assert_eq!(
        found(&e, "from x-y+z%w@mail.example.org at 192.168.1.1"),
        [("email".to_string(), "x-y+z%w@mail.example.org".to_string()), ("ipv4".to_string(), "192.168.1.1".to_string())]
    );
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
fn default_packs_hold_37_detectors_with_a_category_each() {
    let e = engine();
    assert_eq!(e.detectors().len(), 37);
    assert!(e.detectors().any(|d| d.id == "health_term" && d.special));
    assert!(e.detectors().all(|d| !d.description.is_empty()));
}

#[test]
fn values_as_people_write_them() {
    let e = engine();
    let one = |text: &str, id: &str, value: &str| {
        let got = found(&e, text);
        assert_eq!(got, [(id.to_string(), value.to_string())], "{text}");
    };
    one("iban BE 05 0013 6299 3375 status=ok", "iban", "BE 05 0013 6299 3375");
    one("iban=ES15-0049-1806-9121-1186-9374", "iban", "ES15-0049-1806-9121-1186-9374");
    one("iban=es1500491806912111869374", "iban", "es1500491806912111869374");
    one("vat DE 136 695 976 ok", "eu_vat_number", "DE 136 695 976");
    one("Customer BE 0202.239.951 called", "eu_vat_number", "BE 0202.239.951");
    one("Customer 078 05 1123 called", "us_ssn", "078 05 1123");
    one("processed 85.07.30-033 28", "be_national_number", "85.07.30-033 28");
    one("nie x-2482300w", "es_nie", "x-2482300w");
    one("mail test@xn--hxajbheg2az3al.xn--jxalpdlp", "email", "test@xn--hxajbheg2az3al.xn--jxalpdlp");
    one("from 2001:db8::192.168.1.1", "ipv6", "2001:db8::192.168.1.1");
    one("call at 06 12 34 56 78", "phone", "06 12 34 56 78");
}

#[test]
fn refused_values_leave_nothing_behind() {
    let e = engine();
    assert!(found(&e, "ssn 078-05-1120").is_empty(), "specimen card number");
    assert_eq!(found(&e, "phone +3312345678"), [], "no national number after a refused +");
    assert!(found(&e, "phone +1 268460123").is_empty(), "nor after a refused + and a space");
    assert!(found(&e, "iban NL56 3003 0A17 1643 00").is_empty(), "letter where NL wants digits");
}

#[test]
fn identifiers_are_not_personal_data() {
    let e = engine();
    assert!(found(&e, "session=4176743314928 ok").is_empty());
    assert!(found(&e, "GET /static/js/runtime.1427050f.chunk.js").is_empty(), "part of a file name");
    assert!(found(&e, "span=4111111111111111 ok").is_empty(), "`span` holds `pan` but is an identifier");
    assert!(found(&e, "trace_id=4111111111111111").is_empty());
    assert!(found(&e, "ref 4bf92f3577b34da6a3ce929d0e0e4736 4111111111111111").is_empty(), "hex neighbour");
    assert!(found(&e, "id 550e8400-e29b-41d4-a716-446655440000/0612345678").is_empty(), "UUID neighbour");
    assert_eq!(found(&e, "card 4111111111111111").len(), 1);
}

#[test]
fn names_where_the_structure_says_so() {
    let e = engine();
    assert_eq!(found(&e, "customer_name=Jean Dupont status=ok"), [("person_name".to_string(), "Jean Dupont".to_string())]);
    assert_eq!(found(&e, "{\"Nachname\":\"Müller\",\"x\":1}"), [("person_name".to_string(), "Müller".to_string())]);
    assert_eq!(found(&e, "PID|1||12345^^^MRN||DOE^JOHN^A||19800101|M"), [("person_name".to_string(), "DOE^JOHN^A".to_string())]);
    assert_eq!(found(&e, "first_name: Anne-Marie van der Berg"), [("person_name".to_string(), "Anne-Marie van der Berg".to_string())]);
    assert!(found(&e, "name=Default service_name=Payments").is_empty());
    assert!(found(&e, "Jean Dupont called").is_empty(), "no key, no name");
}

#[test]
fn the_identifiers_between_a_key_and_its_name_are_found_too() {
    // HL7 PID: the NIR in PID-3 comes before the patient's name in PID-5.
    let e = Engine::with_default_packs().unwrap();
    let line = b"PID|1||PAT000001^^^BIOLAB^PI~185057800608491^^^INS-NIR^NH||DUPONT^MARIE||19850507|F";
    let mut found = Vec::new();
    e.scan(line, &mut found);
    let ids: Vec<&str> = found.iter().map(|d| e.detector(d.detector).id.as_str()).collect();
    assert!(ids.contains(&"fr_nir") && ids.contains(&"person_name"), "{ids:?}");
    assert!(found.windows(2).all(|w| w[0].start < w[1].start), "in order");
}

/// A pack of two detectors where a silenced candidate hides a shorter one inside it: `pair`
/// (`P12 34`, needs the word `pair`) and `two` (any two digits).
fn hiding_pack(prefilter: bool) -> Engine {
    let toml = r#"
[pack]
name = "hiding"
[[detector]]
id = "pair"
category = "identity"
patterns = ['\bP[0-9]{2} [0-9]{2}\b']
confidence = 0.9
priority = 20
context = { positive = ["pair"], required = true, window = 16 }
[[detector]]
id = "two"
category = "identity"
patterns = ['\b[0-9]{2}\b']
confidence = 0.9
priority = 10
"#;
    let mut set = RuleSet::default();
    set.add(RulePack::parse(Path::new("hiding.toml"), toml).unwrap()).unwrap();
    Engine::new(set, EngineOptions { prefilter, ..EngineOptions::default() }).unwrap()
}

#[test]
fn a_value_silenced_for_want_of_its_word_still_hides_what_is_inside_it_with_the_prefilter() {
    for prefilter in [false, true] {
        let e = hiding_pack(prefilter);
        // `P12 34` is a pair without its word: not reported, and `34` inside it is not a value.
        assert!(found(&e, "code P12 34").is_empty(), "prefilter {prefilter}");
        assert_eq!(found(&e, "pair P12 34"), [("pair".to_string(), "P12 34".to_string())]);
        assert_eq!(found(&e, "code 12 3"), [("two".to_string(), "12".to_string())]);
    }
}
