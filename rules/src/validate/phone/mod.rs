//! Phone numbers, validated against libphonenumber's metadata (the `phonenumber` crate): the
//! number plan of every region, not hand-written national rules.
//!
//! - International forms (`+CC…`, `00CC…`, E.164, with spaces, dots, dashes, brackets, a
//!   `(0)` trunk written in brackets) are valid for **any** region whose plan accepts them.
//! - National forms (no country code) are tried against the configured regions only
//!   ([`PhoneRegions`], `[detection] phone_regions` in the agent's configuration; by default
//!   FR, DE, ES, IT, NL, BE, PL, GB, US). A region whose plan dials a trunk `0` needs it written:
//!   `612 34 56 78` is a Spanish mobile, `30 901820` is not a Berlin number.
//! - An extension (`x123`, `ext. 12`) is not part of the normalised value, which is E.164.
//!
//! The plans are read from a copy of the crate's metadata kept in step with it by a test
//! (`phone/table.rs`): loading the crate's own database cost every process 0.13 s.

use super::checksum::{Compact, digits};
use phonenumber::country::Id;
use table::{Desc, Region, Table};

mod table;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

/// The regions whose national forms (without country code) are recognised, with their plans
/// (compiled on first use, once for every clone).
#[derive(Clone)]
pub struct PhoneRegions {
    ids: Vec<Id>,
    plans: Arc<OnceLock<Vec<RegionPlan>>>,
}

/// A configured region's plan, with what a national form needs.
struct RegionPlan {
    code: Vec<u8>,
    prefix: Option<String>,
    plan: Arc<Plan>,
}

impl std::fmt::Debug for PhoneRegions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PhoneRegions").field(&self.ids).finish()
    }
}

impl PartialEq for PhoneRegions {
    fn eq(&self, other: &Self) -> bool {
        self.ids == other.ids
    }
}

impl Eq for PhoneRegions {}

/// The regions recognised when none are configured.
pub const DEFAULT_PHONE_REGIONS: [&str; 9] = ["FR", "DE", "ES", "IT", "NL", "BE", "PL", "GB", "US"];

impl PhoneRegions {
    /// Regions by their ISO 3166 alpha-2 codes (`"FR"`, any case); an unknown code is an error
    /// naming it.
    pub fn new<S: AsRef<str>>(codes: &[S]) -> Result<PhoneRegions, String> {
        let mut ids = Vec::with_capacity(codes.len());
        for c in codes {
            let c = c.as_ref().trim().to_ascii_uppercase();
            let id = Id::from_str(&c).map_err(|_| format!("unknown phone region `{c}` (an ISO 3166 alpha-2 code such as FR, DE, US)"))?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        Ok(PhoneRegions { ids, plans: Arc::new(OnceLock::new()) })
    }

    fn plans(&self) -> &[RegionPlan] {
        self.plans.get_or_init(|| {
            self.ids
                .iter()
                .filter_map(|id| {
                    let region = Table::get().by_id(id.as_ref())?;
                    Some(RegionPlan { code: region.code.to_string().into_bytes(), prefix: region.prefix.map(str::to_string), plan: plan(region)? })
                })
                .collect()
        })
    }
}

impl Default for PhoneRegions {
    fn default() -> Self {
        PhoneRegions::new(&DEFAULT_PHONE_REGIONS).expect("the default regions are known")
    }
}

fn default_regions() -> &'static PhoneRegions {
    static DEFAULT: std::sync::OnceLock<PhoneRegions> = std::sync::OnceLock::new();
    DEFAULT.get_or_init(PhoneRegions::default)
}

/// [`phone_in`] with the default regions.
pub fn phone(raw: &[u8]) -> Option<Vec<u8>> {
    phone_in(raw, default_regions())
}

/// The number without its extension (`x123`, `ext 12`, `#12`).
fn without_extension(raw: &[u8]) -> &[u8] {
    match raw.iter().position(|&b| matches!(b, b'x' | b'X' | b'e' | b'E' | b'#')) {
        Some(x) => &raw[..x],
        None => raw,
    }
}

/// A phone number in an international form valid for its region's plan, or in a national form
/// valid for one of `regions`; normalised to E.164 (`+33612345678`).
pub fn phone_in(raw: &[u8], regions: &PhoneRegions) -> Option<Vec<u8>> {
    phone_judged(raw, regions).and_then(|(n, fit)| (fit == Fit::Valid).then_some(n))
}

/// How well a number fits its plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// A number of the plan (its pattern for a number type).
    Valid,
    /// Only the length of the plan, in a national form written with its trunk 0 or in the NANP
    /// shape: test data (made-up area codes) and numbers of ranges opened after the metadata
    /// was written look like this; the engine reports them when written as phone numbers are
    /// (brackets, groups), and a bare run of digits only next to a phone context word. An
    /// international number is valid or refused.
    Possible,
}

/// [`phone_in`], with numbers that only have the length of their plan ([`Fit::Possible`]).
pub fn phone_judged(raw: &[u8], regions: &PhoneRegions) -> Option<(Vec<u8>, Fit)> {
    let body = without_extension(raw);
    let first = *body.first()?;
    let mut d = digits(body);
    if !(5..=17).contains(&d.len()) {
        return None;
    }
    // A trunk zero in brackets after the country code is not dialled: `+33 (0)6 …`.
    let drop_bracket_zero = |d: &mut Compact, skip: usize| {
        if let Some(p) = body.windows(3).position(|w| w == b"(0)") {
            let before = digits(&body[..p]).len().saturating_sub(skip);
            if d.get(before) == Some(&b'0') {
                d.remove(before);
            }
        }
    };
    // An international number must be valid: its country is known, and so is its plan.
    let valid = |r: Option<(Vec<u8>, Fit)>| r.filter(|(_, fit)| *fit == Fit::Valid);
    if first == b'+' {
        drop_bracket_zero(&mut d, 0);
        return valid(international(&d));
    }
    if d.starts_with(b"00") && d.get(2).is_some_and(|b| *b != b'0') {
        d.drain(..2);
        drop_bracket_zero(&mut d, 2);
        // A refused `00…` is not read again as a national number.
        return valid(international(&d));
    }
    national(body, &d, regions)
}

/// A region's number plan as compiled regexes: the general pattern and one per number type
/// (fixed line, mobile, toll free, premium rate, shared cost, personal, VoIP, pager, UAN,
/// voicemail), each with its possible lengths. The `phonenumber` crate's own parser compiles
/// the metadata's regexes through a cache of 100, which thrashes when numbers of many regions
/// are checked (a scan fell to 0.3 MB/s): these are compiled once per region and kept.
struct Plan {
    general: (Regex, Vec<u16>),
    types: Vec<(Regex, Vec<u16>)>,
    /// The lengths of the plan's numbers (the general ones, else those of every type).
    lengths: Vec<u16>,
}

type Regex = regex_automata::meta::Regex;

/// A national-number pattern of the metadata, whole-string (`^…$`), in `(?x)` mode as the
/// metadata writes them. Without the full DFA `regex` builds for a small pattern: candidates
/// are short and few, and building those DFAs for the nine default regions was 40 ms of every
/// process that met a phone candidate.
fn compile(pattern: &str) -> Option<Regex> {
    Regex::builder()
        .syntax(regex_automata::util::syntax::Config::new().unicode(false).utf8(false).ignore_whitespace(true))
        .configure(Regex::config().dfa(false))
        .build(&format!("^(?:{pattern})$"))
        .ok()
}

impl Plan {
    fn new(region: &Region) -> Option<Plan> {
        let compile = |d: &Desc| -> Option<(Regex, Vec<u16>)> {
            let re = compile(d.pattern)?;
            Some((re, d.lengths.clone()))
        };
        let general = compile(&region.general)?;
        let types: Vec<(Regex, Vec<u16>)> = region.types.iter().filter_map(compile).collect();
        let mut lengths = general.1.clone();
        if lengths.is_empty() {
            lengths = types.iter().flat_map(|t| t.1.iter().copied()).collect();
            lengths.sort_unstable();
            lengths.dedup();
        }
        Some(Plan { general, types, lengths })
    }

    /// How `national` (the national significant number) fits this plan.
    fn fit(&self, national: &[u8]) -> Option<Fit> {
        // Most candidates have no length of the plan: no regex is run for them.
        if !self.lengths.is_empty() && !self.lengths.contains(&(national.len() as u16)) {
            return None;
        }
        let length = |lengths: &Vec<u16>| lengths.is_empty() || lengths.contains(&(national.len() as u16));
        let fits = |(re, lengths): &(Regex, Vec<u16>)| length(lengths) && re.is_match(national);
        if fits(&self.general) && self.types.iter().any(fits) {
            Some(Fit::Valid)
        } else if !self.lengths.is_empty() && self.lengths.contains(&(national.len() as u16)) {
            Some(Fit::Possible)
        } else {
            None
        }
    }
}

/// The compiled plan of a region, compiled on first use, kept by its index in the table.
fn plan(region: &Region) -> Option<Arc<Plan>> {
    static PLANS: OnceLock<Vec<OnceLock<Option<Arc<Plan>>>>> = OnceLock::new();
    let plans = PLANS.get_or_init(|| Table::get().regions.iter().map(|_| OnceLock::new()).collect());
    plans.get(region.index)?.get_or_init(|| Plan::new(region).map(Arc::new)).clone()
}

/// The plans of the regions sharing a country code.
type Plans = Arc<Vec<Arc<Plan>>>;

/// The plans of the regions of country code `code` (`None`: no such code), kept once looked up
/// (by code, without a lock or a hash: every international candidate asks).
fn plans_of_code(code: u16) -> Option<Plans> {
    static CODES: [OnceLock<Option<Plans>>; 1000] = [const { OnceLock::new() }; 1000];
    CODES.get(usize::from(code))?.get_or_init(|| Table::get().by_code(code).map(|regions| Arc::new(regions.filter_map(plan).collect::<Vec<_>>()))).clone()
}

/// `+`, the country code and the national number.
fn e164(code: &[u8], national: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(code.len() + national.len() + 1);
    out.push(b'+');
    out.extend_from_slice(code);
    out.extend_from_slice(national);
    out
}

/// Country code and national number (digits, without `+`), and how it fits the plan of a
/// region of that code (the best fit among the regions sharing the code).
fn international(d: &[u8]) -> Option<(Vec<u8>, Fit)> {
    if d.len() > 15 || d.first() == Some(&b'0') {
        return None;
    }
    // Country codes are a prefix code: at most one of the first three prefixes is one.
    for len in 1..=3.min(d.len() - 1) {
        let code = std::str::from_utf8(&d[..len]).ok()?.parse::<u16>().ok()?;
        let Some(plans) = plans_of_code(code) else { continue };
        let national = &d[len..];
        // A national significant number does not start with a trunk 0 (Italy's do, and
        // its plan says so: they are valid, not merely possible).
        let fit = plans.iter().filter_map(|p| p.fit(national)).min_by_key(|f| *f != Fit::Valid)?;
        if fit == Fit::Possible && national.first() == Some(&b'0') {
            return None;
        }
        return Some((e164(&d[..len], national), fit));
    }
    None
}

/// Digits grouped as NANP numbers are written: `(AAA) EEE-NNNN`, `AAA.EEE.NNNN`, `1-AAA-…`
/// (a Swedish `670919-9530` is not one).
fn nanp_groups(body: &[u8]) -> bool {
    let groups: Vec<usize> = body.split(|b| !b.is_ascii_digit()).filter(|g| !g.is_empty()).map(<[u8]>::len).collect();
    matches!(groups.as_slice(), [3, 3, 4] | [1, 3, 3, 4] | [3, 7])
}

/// Digits grouped as a US Social Security number (3-2-4) are not a phone number in any plan
/// written that way.
fn ssn_shaped(body: &[u8]) -> bool {
    let groups: Vec<usize> = body.split(|b| !b.is_ascii_digit()).filter(|g| !g.is_empty()).map(<[u8]>::len).collect();
    groups == [3, 2, 4]
}

/// A national form of one of `regions`: the first region it is valid in, else the first
/// whose lengths it has.
fn national(body: &[u8], d: &[u8], regions: &PhoneRegions) -> Option<(Vec<u8>, Fit)> {
    // A run of three zeros is a zero-padded counter, not a dialling prefix; fewer than nine
    // digits are times (`02.183000`), versions and counters more often than short landlines.
    if d.len() < 9 || d.len() > 13 || d.starts_with(b"000") || ssn_shaped(body) {
        return None;
    }
    let mut possible = None;
    for region in regions.plans() {
        // Where the plan has a trunk prefix, a national number is written with it (NANP's
        // `1` may be left out).
        let (national, trunk) = match region.prefix.as_deref() {
            Some(prefix) if d.starts_with(prefix.as_bytes()) => (&d[prefix.len()..], prefix.starts_with('0')),
            Some(prefix) if prefix.starts_with('0') => continue,
            _ => (d, false),
        };
        // Only the length is not enough where nothing else says "phone": a trunk 0 written, or
        // the NANP shape (area code and exchange starting with 2-9). `302 1131371` (an HTTP
        // status and a size) has the length of an Italian number, `1793491200` (an epoch)
        // that of a NANP one.
        let nanp = region.code == b"1" && national.len() == 10 && matches!(national[0], b'2'..=b'9') && matches!(national[3], b'2'..=b'9') && nanp_groups(body);
        match region.plan.fit(national) {
            Some(Fit::Valid) => return Some((e164(&region.code, national), Fit::Valid)),
            Some(Fit::Possible) if possible.is_none() && (trunk || nanp) => possible = Some((e164(&region.code, national), Fit::Possible)),
            _ => {}
        }
    }
    possible
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_in_international_formats() {
        assert_eq!(phone(b"+33 6 12 34 56 78").unwrap(), b"+33612345678");
        assert_eq!(phone(b"+33 (0)6 12 34 56 78").unwrap(), b"+33612345678");
        assert_eq!(phone(b"0033 6 12 34 56 78").unwrap(), b"+33612345678");
        assert_eq!(phone(b"001-428-835-0057x46285").unwrap(), b"+14288350057");
        assert!(phone(b"+49 30 901820").is_some());
        assert!(phone(b"+39 06 698 81234").is_some(), "Italian landlines keep their 0");
        assert!(phone(b"+590690001234").is_some(), "Guadeloupe");
        assert!(phone(b"+2348021234567").is_some(), "Nigeria");
        assert!(phone(b"+800 1234 5678").is_some(), "non-geographic toll free");
        assert!(phone(b"+33 6 12 34 56").is_none(), "French numbers have 9 digits after +33");
        assert!(phone(b"+999 1234 5678").is_none(), "no such country code");
        assert!(phone(b"+3312345678").is_none());
    }

    #[test]
    fn phones_in_national_formats_of_the_configured_regions() {
        assert_eq!(phone(b"06 12 34 56 78").unwrap(), b"+33612345678");
        assert_eq!(phone(b"612 34 56 78").unwrap(), b"+34612345678", "Spain has no trunk 0");
        assert!(phone(b"(301) 865-6779").is_some());
        assert!(phone(b"512 345 678").is_some(), "Polish mobile");
        assert!(phone(b"078 05 1123").is_none(), "SSN-shaped");
        assert!(phone(b"0612").is_none());
        assert!(phone(b"0000012345").is_none(), "zero-padded counter");
        assert!(phone(b"123-456-7890").is_none(), "area code 1xx does not exist");
        let ch = PhoneRegions::new(&["ch"]).unwrap();
        assert!(phone_in(b"021 234 56 78", &ch).is_some());
        assert!(phone_in(b"612 34 56 78", &ch).is_none(), "Swiss numbers are written with their trunk 0");
        assert!(PhoneRegions::new(&["XX"]).unwrap_err().contains("XX"));
    }
}
