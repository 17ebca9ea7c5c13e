//! Rule packs: detectors as data.
//!
//! A pack is a TOML file with a `[pack]` header, any number of `[[detector]]` tables and an
//! optional `[allowlist]`. Parsing is strict — an unknown field, a bad regex or an unknown
//! validator is refused with the file, line and column, because a silently ignored typo in a
//! pack is a detector that silently finds nothing.
//!
//! ```toml
//! [pack]
//! name = "contact"
//!
//! [[detector]]
//! id = "email"
//! category = "contact"
//! patterns = ['[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}']
//! validator = "email"
//! confidence = 0.9
//! context = { positive = ["mail"], window = 32 }
//! ```

use crate::category::Category;
use crate::toml_file::line_col;
use crate::validate::Validator;
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The default packs shipped in `rules/packs/`, compiled into the binary.
pub const DEFAULT_PACKS: &[(&str, &str)] = &[
    ("rules/packs/contact.toml", include_str!("../packs/contact.toml")),
    ("rules/packs/financial.toml", include_str!("../packs/financial.toml")),
    ("rules/packs/network.toml", include_str!("../packs/network.toml")),
    ("rules/packs/identity.toml", include_str!("../packs/identity.toml")),
    ("rules/packs/national_id_west.toml", include_str!("../packs/national_id_west.toml")),
    ("rules/packs/national_id_north_east.toml", include_str!("../packs/national_id_north_east.toml")),
    ("rules/packs/health.toml", include_str!("../packs/health.toml")),
];

/// A pack that could not be loaded: where, and why.
#[derive(Debug, Clone, thiserror::Error)]
pub struct PackError {
    /// The pack file.
    pub file: PathBuf,
    /// 1-based line (0 when the error is about the file as a whole).
    pub line: usize,
    /// 1-based column (0 when unknown).
    pub column: usize,
    /// What is wrong and, where possible, what to do.
    pub reason: String,
}

impl fmt::Display for PackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (0, _) => write!(f, "{}: {}", self.file.display(), self.reason),
            (l, 0) => write!(f, "{}:{}: {}", self.file.display(), l, self.reason),
            (l, c) => write!(f, "{}:{}:{}: {}", self.file.display(), l, c, self.reason),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PackFile {
    pack: PackHeader,
    #[serde(default, rename = "detector")]
    detectors: Vec<Spanned<DetectorToml>>,
    #[serde(default)]
    allowlist: Option<AllowlistToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PackHeader {
    name: String,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DetectorToml {
    id: Spanned<String>,
    category: Spanned<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    special: Option<bool>,
    #[serde(default)]
    patterns: Vec<Spanned<String>>,
    #[serde(default)]
    context_patterns: Vec<Spanned<String>>,
    #[serde(default)]
    opaque: bool,
    #[serde(default)]
    trim: bool,
    #[serde(default)]
    prefilter: Vec<String>,
    #[serde(default)]
    validator: Option<Spanned<String>>,
    confidence: Spanned<f32>,
    #[serde(default)]
    priority: i32,
    #[serde(default)]
    context: ContextToml,
    #[serde(default)]
    allowlist: AllowlistToml,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ContextToml {
    #[serde(default)]
    positive: Vec<String>,
    #[serde(default)]
    negative: Vec<String>,
    #[serde(default)]
    window: Option<usize>,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    boost: Option<f32>,
    #[serde(default)]
    penalty: Option<f32>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct AllowlistToml {
    #[serde(default)]
    values: Vec<String>,
    #[serde(default)]
    patterns: Vec<Spanned<String>>,
    #[serde(default)]
    email_domains: Vec<String>,
}

/// Context words around a candidate and what they do to its confidence.
#[derive(Debug, Clone)]
pub struct ContextSpec {
    /// Words that make the candidate more likely (case-insensitive).
    pub positive: Vec<String>,
    /// Words that make it less likely (e.g. `order`, `invoice` near a digit run).
    pub negative: Vec<String>,
    /// Bytes looked at before and after the candidate, within its line.
    pub window: usize,
    /// When true, a candidate without a positive word is dropped (e.g. `date_of_birth`).
    pub required: bool,
    /// Added to the confidence when a positive word is present.
    pub boost: f32,
    /// Subtracted when a negative word is present.
    pub penalty: f32,
}

/// Values never to report.
#[derive(Debug, Clone, Default)]
pub struct Allowlist {
    /// Exact values (compared after normalisation, case-insensitively).
    pub values: Vec<String>,
    /// Regexes matched against the whole raw value.
    pub patterns: Vec<String>,
    /// E-mail domains (e.g. the company's own) whose addresses are not reported.
    pub email_domains: Vec<String>,
}

impl Allowlist {
    fn extend(&mut self, other: Allowlist) {
        self.values.extend(other.values);
        self.patterns.extend(other.patterns);
        self.email_domains.extend(other.email_domains);
    }
}

/// One detector, checked and ready for the engine.
#[derive(Debug, Clone)]
pub struct DetectorSpec {
    /// Stable id, part of the interface (`email`, `iban`, `fr_nir` …).
    pub id: String,
    /// GDPR data category.
    pub category: Category,
    /// Special category (Art. 9/10)? Defaults to the category's own.
    pub special: bool,
    /// What it finds and what it cannot.
    pub description: String,
    /// Regexes (ASCII mode, bytes). A match is a candidate.
    pub patterns: Vec<String>,
    /// Regexes whose candidates are reported only with a positive context word (shapes too
    /// common to stand alone, e.g. a bare ten-digit number as a phone number).
    pub context_patterns: Vec<String>,
    /// When a candidate of this detector is refused, nothing inside its span is searched again
    /// (an IBAN-shaped token with a bad check does not become a card number). Otherwise the
    /// search resumes at the next token.
    pub opaque: bool,
    /// When a candidate written with separators is refused, it is tried again without its last
    /// groups (`DE 136 695 976 12` → `DE 136 695 976`): for patterns that tolerate separators
    /// and so may run into what follows the value.
    pub trim: bool,
    /// Literals one of which must appear in the candidate's line (case-insensitive); empty: none.
    pub prefilter: Vec<String>,
    /// Validator applied to candidates.
    pub validator: Option<Validator>,
    /// Confidence of a validated candidate with no context either way.
    pub confidence: f32,
    /// Higher wins when two detectors match at the same place.
    pub priority: i32,
    /// Context scoring.
    pub context: ContextSpec,
    /// Per-detector allowlist.
    pub allowlist: Allowlist,
    /// The pack file it came from.
    pub origin: PathBuf,
}

/// A parsed pack.
#[derive(Debug, Clone)]
pub struct RulePack {
    /// Pack name from its header.
    pub name: String,
    /// Pack description.
    pub description: String,
    /// Its detectors.
    pub detectors: Vec<DetectorSpec>,
    /// Allowlist applying to every detector.
    pub allowlist: Allowlist,
    /// The file it was read from.
    pub origin: PathBuf,
}

impl RulePack {
    /// Parses a pack from its text; `file` is used in error messages.
    pub fn parse(file: &Path, text: &str) -> Result<RulePack, PackError> {
        let err = |span: Option<Range<usize>>, reason: String| {
            let (line, column) = span.map(|s| line_col(text, s.start)).unwrap_or((0, 0));
            PackError { file: file.to_path_buf(), line, column, reason }
        };
        let parsed: PackFile = toml::from_str(text).map_err(|e| err(e.span(), e.message().to_string()))?;
        let mut detectors = Vec::with_capacity(parsed.detectors.len());
        let mut seen: HashMap<String, usize> = HashMap::new();
        for d in parsed.detectors {
            let d = d.into_inner();
            let id = d.id.get_ref().clone();
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
                return Err(err(Some(d.id.span()), format!("field `id`: `{id}` must be lower_snake_case")));
            }
            if let Some(prev) = seen.insert(id.clone(), line_col(text, d.id.span().start).0) {
                return Err(err(Some(d.id.span()), format!("field `id`: detector `{id}` is already defined at line {prev}")));
            }
            let category: Category =
                d.category.get_ref().parse().map_err(|e: crate::category::UnknownCategory| err(Some(d.category.span()), format!("field `category`: {e}")))?;
            if d.patterns.is_empty() && d.context_patterns.is_empty() {
                return Err(err(Some(d.id.span()), format!("detector `{id}`: field `patterns` (or `context_patterns`) must hold at least one regex")));
            }
            if !d.context_patterns.is_empty() && d.context.positive.is_empty() {
                return Err(err(Some(d.context_patterns[0].span()), format!("detector `{id}`: field `context_patterns` needs `context.positive` words")));
            }
            if d.context.positive.iter().chain(&d.context.negative).any(|w| w.trim().is_empty()) {
                return Err(err(Some(d.id.span()), format!("detector `{id}`: field `context`: a context word is empty (it would be found everywhere)")));
            }
            for p in d.patterns.iter().chain(&d.context_patterns) {
                check_regex(p.get_ref()).map_err(|e| err(Some(p.span()), format!("detector `{id}`: field `patterns`: bad regex: {e}")))?;
            }
            let validator = match &d.validator {
                None => None,
                Some(v) => Some(v.get_ref().parse::<Validator>().map_err(|e| err(Some(v.span()), format!("detector `{id}`: field `validator`: {e}")))?),
            };
            let confidence = *d.confidence.get_ref();
            if !(0.0..=1.0).contains(&confidence) {
                return Err(err(Some(d.confidence.span()), format!("detector `{id}`: field `confidence`: {confidence} is not in [0, 1]")));
            }
            let allowlist = allowlist_from(d.allowlist, &|span, reason| err(Some(span), format!("detector `{id}`: {reason}")))?;
            detectors.push(DetectorSpec {
                special: d.special.unwrap_or(category.is_special()),
                id,
                category,
                description: d.description,
                patterns: d.patterns.into_iter().map(|p| p.into_inner()).collect(),
                context_patterns: d.context_patterns.into_iter().map(|p| p.into_inner()).collect(),
                opaque: d.opaque,
                trim: d.trim,
                prefilter: d.prefilter,
                validator,
                confidence,
                priority: d.priority,
                context: ContextSpec {
                    positive: d.context.positive,
                    negative: d.context.negative,
                    window: d.context.window.unwrap_or(40),
                    required: d.context.required,
                    boost: d.context.boost.unwrap_or(0.1),
                    penalty: d.context.penalty.unwrap_or(0.4),
                },
                allowlist,
                origin: file.to_path_buf(),
            });
        }
        let allowlist = match parsed.allowlist {
            Some(a) => allowlist_from(a, &|span, reason| err(Some(span), reason))?,
            None => Allowlist::default(),
        };
        Ok(RulePack { name: parsed.pack.name, description: parsed.pack.description, detectors, allowlist, origin: file.to_path_buf() })
    }

    /// Reads and parses a pack file.
    pub fn load(path: &Path) -> Result<RulePack, PackError> {
        let text = std::fs::read_to_string(path).map_err(|e| PackError {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
            reason: format!("cannot read rule pack: {e}"),
        })?;
        RulePack::parse(path, &text)
    }
}

fn allowlist_from(a: AllowlistToml, err: &dyn Fn(Range<usize>, String) -> PackError) -> Result<Allowlist, PackError> {
    for p in &a.patterns {
        check_regex(p.get_ref()).map_err(|e| err(p.span(), format!("field `allowlist.patterns`: bad regex: {e}")))?;
    }
    Ok(Allowlist {
        values: a.values,
        patterns: a.patterns.into_iter().map(|p| p.into_inner()).collect(),
        email_domains: a.email_domains.into_iter().map(|d| d.to_ascii_lowercase()).collect(),
    })
}

/// Compiles a pattern the way the engine will (ASCII, bytes) to report errors at load time.
fn check_regex(pattern: &str) -> Result<(), String> {
    // Parsing and compiling to an NFA is what can fail (syntax, size), and all a check needs:
    // building a full `regex::Regex` per pattern (prefilters, a one-pass DFA) was most of the
    // agent's start-up time.
    use regex_automata::nfa::thompson;
    thompson::Compiler::new()
        .syntax(crate::syntax::union_syntax())
        .configure(thompson::Config::new().utf8(false).nfa_size_limit(Some(16 << 20)))
        .build(pattern)
        .map(|_| ())
        .map_err(|e| {
            // A syntax error's message ends with its reason; the lines before it draw the pattern.
            let text = match std::error::Error::source(&e) {
                Some(inner) => inner.to_string(),
                None => e.to_string(),
            };
            text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("invalid regex").trim().to_string()
        })
}

/// Every detector the engine will run: the default packs plus the user's, and the global allowlist.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    /// Detectors, in load order.
    pub detectors: Vec<DetectorSpec>,
    /// Allowlist applying to every detector.
    pub allowlist: Allowlist,
}

impl RuleSet {
    /// The default packs shipped with Custos.
    pub fn default_packs() -> Result<RuleSet, PackError> {
        let mut set = RuleSet::default();
        for (name, text) in DEFAULT_PACKS {
            set.add(RulePack::parse(Path::new(name), text)?)?;
        }
        Ok(set)
    }

    /// Adds every `*.toml` pack of a directory, in file-name order.
    pub fn add_dir(&mut self, dir: &Path) -> Result<(), PackError> {
        let io = |e: std::io::Error| PackError { file: dir.to_path_buf(), line: 0, column: 0, reason: format!("cannot read rule directory: {e}") };
        let mut files: Vec<PathBuf> =
            std::fs::read_dir(dir).map_err(io)?.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "toml")).collect();
        files.sort();
        for f in files {
            self.add(RulePack::load(&f)?)?;
        }
        Ok(())
    }

    /// Adds one pack. A detector id already defined by another pack is an error naming both files.
    pub fn add(&mut self, pack: RulePack) -> Result<(), PackError> {
        for d in &pack.detectors {
            if let Some(prev) = self.detectors.iter().find(|p| p.id == d.id) {
                return Err(PackError {
                    file: pack.origin.clone(),
                    line: 0,
                    column: 0,
                    reason: format!("detector `{}` is already defined in {}; choose another id", d.id, prev.origin.display()),
                });
            }
        }
        self.detectors.extend(pack.detectors);
        self.allowlist.extend(pack.allowlist);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RulePack, PackError> {
        RulePack::parse(Path::new("my.toml"), text)
    }

    #[test]
    fn default_packs_load() {
        let set = RuleSet::default_packs().unwrap();
        for id in ["email", "phone", "iban", "payment_card", "fr_nir"] {
            assert!(set.detectors.iter().any(|d| d.id == id), "missing {id}");
        }
    }

    #[test]
    fn unknown_field_is_refused_with_line() {
        let e = parse("[pack]\nname = \"x\"\n\n[[detector]]\nid = \"a\"\ncategory = \"contact\"\npaterns = ['a']\nconfidence = 0.5\n").unwrap_err();
        assert_eq!(e.line, 7, "{e}");
        assert!(e.to_string().starts_with("my.toml:7:"), "{e}");
        assert!(e.reason.contains("paterns"), "{e}");
    }

    #[test]
    fn bad_regex_is_refused_with_line() {
        let e =
            parse("[pack]\nname = \"x\"\n[[detector]]\nid = \"a\"\ncategory = \"contact\"\npatterns = ['ok', '(unclosed']\nconfidence = 0.5\n").unwrap_err();
        assert_eq!(e.line, 6, "{e}");
        assert!(e.reason.contains("bad regex"), "{e}");
    }

    #[test]
    fn unknown_validator_is_refused() {
        let e = parse("[pack]\nname = \"x\"\n[[detector]]\nid = \"a\"\ncategory = \"contact\"\npatterns = ['a']\nvalidator = \"lunh\"\nconfidence = 0.5\n")
            .unwrap_err();
        assert_eq!(e.line, 7, "{e}");
        assert!(e.reason.contains("lunh"), "{e}");
    }

    #[test]
    fn unknown_category_is_refused() {
        let e = parse("[pack]\nname = \"x\"\n[[detector]]\nid = \"a\"\ncategory = \"contacts\"\npatterns = ['a']\nconfidence = 0.5\n").unwrap_err();
        assert_eq!(e.line, 5, "{e}");
    }

    #[test]
    fn duplicate_id_across_packs_is_refused() {
        let mut set = RuleSet::default_packs().unwrap();
        let p = parse("[pack]\nname = \"x\"\n[[detector]]\nid = \"email\"\ncategory = \"contact\"\npatterns = ['a']\nconfidence = 0.5\n").unwrap();
        assert!(set.add(p).unwrap_err().reason.contains("already defined"));
    }
}
