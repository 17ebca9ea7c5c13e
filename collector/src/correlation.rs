//! Correlation: a finding checked against the register becomes zero or more verdicts, each with
//! its reasons.
//!
//! Five rules, each answering one question a DPO asks about a place where personal data was seen:
//!
//! | rule | question | default severity |
//! |---|---|---|
//! | `undeclared_system` | does any activity of the register cover this system? | medium (high for Art. 9/10 data) |
//! | `undeclared_category` | does the covering activity declare this category? | medium (high for Art. 9/10 data) |
//! | `retention_exceeded` | is the oldest record older than the declared retention? | high |
//! | `unallowed_location` | is the host in a country the activity allows? | high |
//! | `export_anomaly` | was data exported in bulk from a system holding personal data? | critical |
//!
//! Every verdict carries a human-readable explanation naming the finding, the system, the
//! category and the register entries considered, because the DPO has to justify each decision
//! to a supervisory authority. Explanations never carry a preview or any other fragment of a
//! value: they go into notifications.
//!
//! Correlation is pure: what it needs from the store (which categories of personal data were
//! already seen on the host) comes in [`FindingFacts`].

use crate::register::{Activity, Register};
use custos_rules::Category;
use globset::{Glob, GlobMatcher};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// How serious a verdict is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth a look.
    Low,
    /// A register gap to fix.
    Medium,
    /// Likely a breach or special-category data out of place.
    High,
    /// Possible breach in progress.
    Critical,
}

impl Severity {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
    /// Parses [`Severity::as_str`] forms.
    pub fn parse(s: &str) -> Option<Severity> {
        [Severity::Low, Severity::Medium, Severity::High, Severity::Critical].into_iter().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The correlation rules. Their ids are stored with incidents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// Personal data on a system no activity covers: an undeclared processing.
    UndeclaredSystem,
    /// Personal data of a category the covering activities do not declare.
    UndeclaredCategory,
    /// Records older than the retention the register declares for their category.
    RetentionExceeded,
    /// Personal data on a host whose country the activity does not allow (a transfer).
    UnallowedLocation,
    /// An export anomaly on a host holding personal data: a possible breach in progress.
    ExportAnomaly,
}

impl Rule {
    /// Every rule.
    pub const ALL: [Rule; 5] = [Rule::UndeclaredSystem, Rule::UndeclaredCategory, Rule::RetentionExceeded, Rule::UnallowedLocation, Rule::ExportAnomaly];

    /// Stable id.
    pub fn id(self) -> &'static str {
        match self {
            Rule::UndeclaredSystem => "undeclared_system",
            Rule::UndeclaredCategory => "undeclared_category",
            Rule::RetentionExceeded => "retention_exceeded",
            Rule::UnallowedLocation => "unallowed_location",
            Rule::ExportAnomaly => "export_anomaly",
        }
    }

    /// Parses [`Rule::id`].
    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.id() == id)
    }

    /// Title shown to humans.
    pub fn title(self) -> &'static str {
        match self {
            Rule::UndeclaredSystem => "Personal data on a system no processing activity covers",
            Rule::UndeclaredCategory => "Undeclared category of personal data",
            Rule::RetentionExceeded => "Retention period exceeded",
            Rule::UnallowedLocation => "Personal data in a country the activity does not allow",
            Rule::ExportAnomaly => "Anomalous export from a system holding personal data",
        }
    }

    /// Default severity.
    pub fn default_severity(self) -> Severity {
        match self {
            Rule::UndeclaredSystem | Rule::UndeclaredCategory => Severity::Medium,
            Rule::RetentionExceeded | Rule::UnallowedLocation => Severity::High,
            Rule::ExportAnomaly => Severity::Critical,
        }
    }
}

/// The collector's correlation policy: which rules run at which severity, and where hosts are.
#[derive(Debug, Clone)]
pub struct Policy {
    rules: HashMap<Rule, (bool, Severity)>,
    agent_locations: BTreeMap<String, String>,
    host_locations: Vec<(GlobMatcher, String)>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { rules: Rule::ALL.iter().map(|r| (*r, (true, r.default_severity()))).collect(), agent_locations: BTreeMap::new(), host_locations: Vec::new() }
    }
}

impl Policy {
    /// The policy of a configuration (already validated by [`crate::config::CollectorConfig::load`]).
    pub fn new(rules: &BTreeMap<String, RuleSetting>, locations: &Locations) -> Policy {
        let mut p = Policy::default();
        for (id, s) in rules {
            if let Some(rule) = Rule::from_id(id) {
                let entry = p.rules.entry(rule).or_insert((true, rule.default_severity()));
                if let Some(e) = s.enabled {
                    entry.0 = e;
                }
                if let Some(sev) = s.severity.as_deref().and_then(Severity::parse) {
                    entry.1 = sev;
                }
            }
        }
        p.agent_locations = locations.agents.iter().map(|(k, v)| (k.clone(), v.to_ascii_uppercase())).collect();
        p.host_locations = locations.hosts.iter().filter_map(|(g, c)| Some((Glob::new(g).ok()?.compile_matcher(), c.to_ascii_uppercase()))).collect();
        p
    }

    /// Whether a rule runs, and at which severity.
    pub fn rule(&self, r: Rule) -> (bool, Severity) {
        self.rules.get(&r).copied().unwrap_or((true, r.default_severity()))
    }

    /// The country of a host, if the configuration says.
    pub fn location(&self, agent_id: &str, host: &str) -> Option<&str> {
        self.agent_locations.get(agent_id).map(String::as_str).or_else(|| self.host_locations.iter().find(|(g, _)| g.is_match(host)).map(|(_, c)| c.as_str()))
    }
}

/// Settings of one correlation rule.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RuleSetting {
    /// Off disables the rule.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Overrides the rule's default severity (`low`, `medium`, `high`, `critical`).
    #[serde(default)]
    pub severity: Option<String>,
}

/// Where hosts are: the collector-side mapping to country codes.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Locations {
    /// Agent id → ISO alpha-2 country.
    #[serde(default)]
    pub agents: BTreeMap<String, String>,
    /// Host glob → ISO alpha-2 country (first match in key order).
    #[serde(default)]
    pub hosts: BTreeMap<String, String>,
}

/// What correlation needs besides the register: the policy, and how long an open incident
/// gathers the verdicts of its rule and system.
#[derive(Debug, Clone, Default)]
pub struct CorrelationSettings {
    /// Rules, severities and host locations.
    pub policy: Policy,
    /// Findings of one (rule, system) within this window of an open incident join it.
    pub window_ms: i64,
}

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A personal-data value was seen.
    PersonalData,
    /// An anomalous export.
    ExportAnomaly,
}

/// What correlation needs to know about a finding (never a raw value, nor its preview).
#[derive(Debug, Clone)]
pub struct FindingFacts<'a> {
    /// Finding id.
    pub id: &'a str,
    /// Agent that saw it.
    pub agent_id: &'a str,
    /// Host.
    pub host: &'a str,
    /// Path or table locator.
    pub locator: &'a str,
    /// Detector id.
    pub detector: &'a str,
    /// What it is about.
    pub kind: Kind,
    /// Data category (personal-data findings).
    pub category: Option<Category>,
    /// Evidence (counts, ages; never values).
    pub evidence: &'a BTreeMap<String, String>,
    /// Categories of personal data already seen on this host (for export anomalies).
    pub host_categories: &'a [Category],
}

impl FindingFacts<'_> {
    /// The system as incidents name it: `host:locator`.
    pub fn system(&self) -> String {
        format!("{}:{}", self.host, self.locator)
    }
}

/// The outcome of one rule on one finding.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// Rule that fired.
    pub rule: Rule,
    /// Severity.
    pub severity: Severity,
    /// `host:locator`.
    pub system: String,
    /// Categories at stake.
    pub categories: Vec<Category>,
    /// Why, in words, naming the finding and the register entries considered.
    pub explanation: String,
    /// Ids of the activities considered (those covering the system).
    pub activities: Vec<String>,
}

fn names(acts: &[&Activity]) -> String {
    acts.iter().map(|a| format!("«{}» ({})", a.name, a.id)).collect::<Vec<_>>().join(", ")
}

/// Checks a finding against the register: one verdict per rule that fires.
pub fn correlate(f: &FindingFacts<'_>, register: &Register, policy: &Policy) -> Vec<Verdict> {
    let mut out = Vec::new();
    let system = f.system();
    let mut push = |rule: Rule, severity_floor: Option<Severity>, categories: Vec<Category>, explanation: String, activities: &[&Activity]| {
        let (enabled, severity) = policy.rule(rule);
        if enabled {
            out.push(Verdict {
                rule,
                severity: severity_floor.map_or(severity, |s| s.max(severity)),
                system: system.clone(),
                categories,
                explanation,
                activities: activities.iter().map(|a| a.id.clone()).collect(),
            });
        }
    };
    match f.kind {
        Kind::ExportAnomaly => {
            let declared: Vec<&Activity> = register.covering_host(f.agent_id, f.host);
            let mut cats: Vec<Category> = f.host_categories.to_vec();
            for a in &declared {
                cats.extend(a.categories());
            }
            cats.sort();
            cats.dedup();
            if cats.is_empty() {
                return out; // no personal data known there: a security matter, not a personal-data breach
            }
            let anomaly = f.evidence.get("anomaly").map_or(f.detector, String::as_str);
            let mut figures = Vec::new();
            for k in ["observed", "baseline", "threshold", "actor", "detail"] {
                if let Some(v) = f.evidence.get(k) {
                    figures.push(format!("{k} {v}"));
                }
            }
            let why = format!(
                "Export anomaly `{anomaly}` on {system} seen by agent `{}` (finding {}; {}). The host holds personal data of categories [{}]{}. An unauthorised export of personal data is a personal-data breach (Art. 4(12)): assess it now, the Art. 33 clock runs from awareness.",
                f.agent_id,
                f.id,
                if figures.is_empty() { "no figures".into() } else { figures.join(", ") },
                cats.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", "),
                if declared.is_empty() {
                    " (seen by agents; no activity of the register covers the host)".to_string()
                } else {
                    format!(" (register: {})", names(&declared))
                }
            );
            push(Rule::ExportAnomaly, None, cats, why, &declared);
        }
        Kind::PersonalData => {
            let Some(category) = f.category else { return out };
            let special = category.is_special();
            let floor = special.then_some(Severity::High);
            let special_txt = if special { " — a special category (Art. 9/10)" } else { "" };
            let seen = format!(
                "Personal data of category `{category}`{special_txt} was found on {system} by agent `{}` (detector `{}`, finding {}).",
                f.agent_id, f.detector, f.id
            );
            let covering = register.covering(f.agent_id, f.host, f.locator);
            if covering.is_empty() {
                let why = if register.activities.is_empty() {
                    format!(" The register ({}) declares no processing activity at all.", register.source)
                } else {
                    let all: Vec<&Activity> = register.activities.iter().collect();
                    format!(
                        " No processing activity of the register ({}) covers this system; activities considered: {}. Either the register misses an activity for this system, or the data should not be there.",
                        register.source,
                        names(&all)
                    )
                };
                push(Rule::UndeclaredSystem, floor, vec![category], seen.clone() + &why, &[]);
                return out;
            }
            let declaring: Vec<&Activity> = covering.iter().copied().filter(|a| a.declares(category)).collect();
            if declaring.is_empty() {
                let declared: Vec<String> = covering
                    .iter()
                    .map(|a| format!("«{}» ({}) declares [{}]", a.name, a.id, a.categories().iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")))
                    .collect();
                let why = format!(
                    " Activities covering this system: {}; none declares `{category}`. Declare it in the register if this processing is legitimate, otherwise remove the data.",
                    declared.join("; ")
                );
                push(Rule::UndeclaredCategory, floor, vec![category], seen.clone() + &why, &covering);
            }
            if let Some(age_s) = f.evidence.get("oldest_record_age_s").and_then(|v| v.trim().parse::<u64>().ok()) {
                // The longest retention any declaring activity allows is the one that binds.
                let allowed = declaring.iter().filter_map(|a| a.retention_for(category).map(|(d, t)| (d, t, *a))).max_by_key(|(d, _, _)| *d);
                if let Some((days, text, act)) = allowed
                    && age_s > u64::from(days) * 86_400
                {
                    let source = match f.evidence.get("oldest_record_source").map(String::as_str) {
                        None => String::new(),
                        Some("mtime") => " (from the file's modification time)".to_string(),
                        Some("column") => " (from a date column)".to_string(),
                        Some(s) => match s.strip_prefix("column:") {
                            Some(c) => format!(" (from column `{c}`)"),
                            None => format!(" (from {s})"),
                        },
                    };
                    let why = format!(
                        "{seen} Its oldest record is {} days old{source}, longer than the {text} ({days} days) that «{}» ({}) declares for `{category}`. Delete or anonymise records past their retention (Art. 5(1)(e)).",
                        age_s / 86_400,
                        act.name,
                        act.id
                    );
                    push(Rule::RetentionExceeded, None, vec![category], why, &[act]);
                }
            }
            if let Some(country) = policy.location(f.agent_id, f.host) {
                let refusing: Vec<&Activity> = covering.iter().copied().filter(|a| !a.allows_location(country)).collect();
                if !refusing.is_empty() && refusing.len() == covering.len() {
                    let allowed: Vec<String> =
                        refusing.iter().map(|a| format!("«{}» ({}) allows [{}]", a.name, a.id, a.allowed_locations.join(", "))).collect();
                    let transfer = refusing.iter().flat_map(|a| &a.transfers).find(|t| t.country.eq_ignore_ascii_case(country));
                    let why = format!(
                        "{seen} The host `{}` is located in {country} (collector configuration), but {}.{} Data there is a transfer the register does not allow (Chapter V).",
                        f.host,
                        allowed.join("; "),
                        transfer.map_or(String::new(), |t| format!(
                            " A transfer to {} under {:?} is declared, but the location is not allowed.",
                            t.country, t.safeguard
                        ))
                    );
                    push(Rule::UnallowedLocation, floor, vec![category], why, &refusing);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn register() -> Register {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.toml");
        std::fs::write(
            &p,
            "[controller]\nname='X'\ndpo={name='D', email='d@x.fr'}\n[[activity]]\nid='accounts'\nname='Customer accounts'\npurpose='p'\nlegal_basis='contract'\ndata_categories=['contact']\nretention='30d'\nallowed_locations=['EU']\n[[activity.system]]\npaths=['/var/log/app/*.log']\n",
        )
        .unwrap();
        Register::load(&p).unwrap()
    }

    fn verdicts(locator: &str, category: Category, evidence: &[(&str, &str)], policy: &Policy) -> Vec<Verdict> {
        let ev: BTreeMap<String, String> = evidence.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let f = FindingFacts {
            id: "f1",
            agent_id: "a",
            host: "web-01",
            locator,
            detector: "x",
            kind: Kind::PersonalData,
            category: Some(category),
            evidence: &ev,
            host_categories: &[],
        };
        correlate(&f, &register(), policy)
    }

    #[test]
    fn declared_category_on_covered_system_is_quiet() {
        assert!(verdicts("/var/log/app/a.log", Category::Contact, &[], &Policy::default()).is_empty());
    }

    #[test]
    fn undeclared_category_names_the_covering_activity() {
        let v = &verdicts("/var/log/app/a.log", Category::Financial, &[], &Policy::default())[0];
        assert_eq!(v.rule, Rule::UndeclaredCategory);
        assert!(v.explanation.contains("Customer accounts") && v.explanation.contains("financial"), "{}", v.explanation);
        assert_eq!(v.activities, vec!["accounts".to_string()]);
    }

    #[test]
    fn special_category_is_high_severity_even_when_configured_lower() {
        let rules = [("undeclared_category".to_string(), RuleSetting { enabled: None, severity: Some("low".into()) })].into_iter().collect();
        let p = Policy::new(&rules, &Locations::default());
        assert_eq!(verdicts("/var/log/app/a.log", Category::Health, &[], &p)[0].severity, Severity::High);
        assert_eq!(verdicts("/var/log/app/a.log", Category::Financial, &[], &p)[0].severity, Severity::Low);
    }

    #[test]
    fn disabled_rule_does_not_fire() {
        let rules = [("undeclared_system".to_string(), RuleSetting { enabled: Some(false), severity: None })].into_iter().collect();
        assert!(verdicts("/srv/x.csv", Category::Contact, &[], &Policy::new(&rules, &Locations::default())).is_empty());
        assert_eq!(verdicts("/srv/x.csv", Category::Contact, &[], &Policy::default())[0].rule, Rule::UndeclaredSystem);
    }

    #[test]
    fn retention_fires_only_past_the_declared_period() {
        let v = verdicts("/var/log/app/a.log", Category::Contact, &[("oldest_record_age_s", &(31 * 86_400).to_string())], &Policy::default());
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].rule, Rule::RetentionExceeded);
        assert!(v[0].explanation.contains("31 days") && v[0].explanation.contains("30d"), "{}", v[0].explanation);
        assert!(verdicts("/var/log/app/a.log", Category::Contact, &[("oldest_record_age_s", &(29 * 86_400).to_string())], &Policy::default()).is_empty());
    }

    #[test]
    fn location_outside_allowed_countries_fires() {
        let loc = Locations { agents: [("a".to_string(), "US".to_string())].into_iter().collect(), hosts: BTreeMap::new() };
        let v = verdicts("/var/log/app/a.log", Category::Contact, &[], &Policy::new(&BTreeMap::new(), &loc));
        assert_eq!(v[0].rule, Rule::UnallowedLocation);
        let loc = Locations { agents: BTreeMap::new(), hosts: [("web-*".to_string(), "FR".to_string())].into_iter().collect() };
        assert!(verdicts("/var/log/app/a.log", Category::Contact, &[], &Policy::new(&BTreeMap::new(), &loc)).is_empty());
    }
}
