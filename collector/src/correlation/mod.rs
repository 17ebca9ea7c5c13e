//! Correlation: a finding checked against the register becomes zero or more verdicts, each with
//! its reasons, its kind of incident and its group.
//!
//! Nine rules, each answering one question a DPO asks about a place where personal data was seen
//! (or where it was sent):
//!
//! | rule | question | kind | default severity |
//! |---|---|---|---|
//! | `undeclared_system` | does any activity of the register cover this system? | compliance | medium (high for Art. 9/10 data) |
//! | `undeclared_category` | does the covering activity declare this category? | compliance | medium (high for Art. 9/10 data) |
//! | `retention_exceeded` | are records older than the declared retention? | compliance | high |
//! | `unallowed_location` | is the host in a country the activity allows? | compliance | high |
//! | `export_anomaly` | was data exported in bulk from a system holding personal data? | breach | critical |
//! | `exposed_place` | is personal data in a web root, a share or a temporary directory? | breach | high |
//! | `erased_subject_seen` | is this the data of a person whose erasure was recorded? | breach | high |
//! | `undeclared_recipient` | does the register declare the host this data was sent to? ([`recipient`]) | compliance | high |
//! | `transfer_without_safeguard` | is a recipient outside the EU/EEA covered by a safeguard? ([`recipient`]) | compliance | high |
//!
//! **Breach or compliance.** Only a possible breach starts the Art. 33 clock (see
//! [`IncidentKind`]); register gaps are compliance items with a due date. A DPO drowning in
//! clocks misses the breach, so the rule decides the kind, and the DPO can promote or demote.
//!
//! **Groups.** A verdict names the group of verdicts its incident gathers:
//! - an export event — its `event` signature (actor, statement or endpoint, object) on its host:
//!   a new actor, statement or endpoint is a new event, and a new incident, even on a system a
//!   false alarm already flagged;
//! - an exposed place — the file or table;
//! - a flow to a recipient — the sending system and the destination host;
//! - a compliance item — the rule and the register activity (five old archive files of one
//!   activity are one retention item listing five files); without an activity, the rule and
//!   the place (the directory of a file, the database of a table) on its host.
//!
//! Every verdict carries a human-readable explanation naming the finding, the system, the
//! category and the register entries considered, because the DPO has to justify each decision
//! to a supervisory authority. Explanations never carry a preview or any other fragment of a
//! value: they go into notifications.
//!
//! Correlation is pure: what it needs from the store (which categories of personal data were
//! already seen on the host) comes in [`FindingFacts`].

pub mod policy;
pub mod recipient;
pub mod retention;
pub mod rule;

pub use policy::{CorrelationSettings, Locations, Policy, RuleSetting, check_exposed_places};
pub use rule::{IncidentKind, Rule, Severity};

use crate::register::{Activity, Register};
use custos_rules::Category;
use std::collections::BTreeMap;

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
    /// A file or table at rest (scanned), not a log being written.
    pub at_rest: bool,
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
    /// The reference of the erasure request of the person this data belongs to, when the DPO
    /// recorded their erasure before the finding was observed.
    pub erased: Option<&'a str>,
}

impl FindingFacts<'_> {
    /// The system as incidents name it: `host:locator`.
    pub fn system(&self) -> String {
        format!("{}:{}", self.host, self.locator)
    }

    /// The place a compliance item without an activity is grouped by: the directory of a file,
    /// the database of a table (`scheme://database`), on its host.
    fn place(&self) -> String {
        let root = match crate::register::split_table_locator(self.locator) {
            Some((db, _)) if self.locator.contains("://") => db.to_string(),
            _ => match self.locator.rfind('/') {
                Some(0) => "/".to_string(),
                Some(i) => self.locator[..=i].to_string(),
                None => self.locator.to_string(),
            },
        };
        format!("{}:{root}", self.host)
    }

    /// The export event an anomaly belongs to: the agent's `event` signature, or what the
    /// anomaly says of itself when the agent is older.
    fn event(&self) -> String {
        match self.evidence.get("event") {
            Some(e) if !e.is_empty() => e.clone(),
            _ => {
                let get = |k: &str| self.evidence.get(k).map_or("", String::as_str);
                format!("{}|actor={}|{}", get("anomaly").trim(), get("actor"), get("detail"))
            }
        }
    }
}

/// The outcome of one rule on one finding.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// Rule that fired.
    pub rule: Rule,
    /// The kind of incident it belongs to.
    pub kind: IncidentKind,
    /// Severity.
    pub severity: Severity,
    /// `host:locator` of the finding (what mutes name).
    pub system: String,
    /// The group of verdicts an incident gathers (see the module documentation).
    pub group: String,
    /// What the incident is about, as the DPO reads it in a list.
    pub label: String,
    /// Categories at stake.
    pub categories: Vec<Category>,
    /// Why, in words, naming the finding and the register entries considered.
    pub explanation: String,
    /// Ids of the activities considered (those covering the system).
    pub activities: Vec<String>,
    /// Records this verdict concerns when the rule counts them itself (records past
    /// retention), with how they were counted.
    pub records: Option<(u64, String)>,
}

fn names(acts: &[&Activity]) -> String {
    acts.iter().map(|a| format!("«{}» ({})", a.name, a.id)).collect::<Vec<_>>().join(", ")
}

/// The group and label of a compliance item about `acts` (or, without one, `place`).
fn compliance_group(rule: Rule, acts: &[&Activity], place: &str) -> (String, String) {
    if acts.is_empty() {
        return (format!("{}|{place}", rule.id()), place.to_string());
    }
    let mut ids: Vec<&str> = acts.iter().map(|a| a.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    (format!("{}|activity={}", rule.id(), ids.join(",")), format!("activity {}", names(acts)))
}

/// What a verdict is before the policy decides whether it runs and at which severity.
struct Draft<'a> {
    rule: Rule,
    floor: Option<Severity>,
    group: (String, String),
    categories: Vec<Category>,
    explanation: String,
    activities: &'a [&'a Activity],
    records: Option<(u64, String)>,
}

/// Checks a finding against the register: one verdict per rule that fires.
pub fn correlate(f: &FindingFacts<'_>, register: &Register, policy: &Policy) -> Vec<Verdict> {
    let system = f.system();
    // The activities verdicts name live as long as the drafts that borrow them.
    let declared_host: Vec<&Activity>;
    let covering: Vec<&Activity>;
    let declaring: Vec<&Activity>;
    let refusing: Vec<&Activity>;
    let retaining: Vec<&Activity>;
    let receiving: Vec<&Activity>;
    let mut drafts: Vec<Draft<'_>> = Vec::new();
    match f.kind {
        Kind::ExportAnomaly => {
            declared_host = register.covering_host(f.agent_id, f.host);
            let mut cats: Vec<Category> = f.host_categories.to_vec();
            for a in &declared_host {
                cats.extend(a.categories());
            }
            cats.sort();
            cats.dedup();
            if cats.is_empty() {
                return Vec::new(); // no personal data known there: a security matter, not a personal-data breach
            }
            let anomaly = f.evidence.get("anomaly").map_or(f.detector, String::as_str);
            let mut figures = Vec::new();
            for k in ["observed", "baseline", "threshold", "actor", "detail", "affected_records_estimate"] {
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
                if declared_host.is_empty() {
                    " (seen by agents; no activity of the register covers the host)".to_string()
                } else {
                    format!(" (register: {})", names(&declared_host))
                }
            );
            // A new file of many people in an exposed place is the exposure itself: one
            // incident with the place's personal-data findings, not two alarms for one file.
            // Likewise an export written to a file in an exposed place (`COPY … TO '/tmp/x.csv'`)
            // and the exposure of that file, once scanned, are one event.
            let destination = f.evidence.get("destination").filter(|d| d.starts_with('/') && policy.exposed_place(d, true).is_some());
            let group = if f.detector == "personal_data_file" && policy.exposed_place(f.locator, true).is_some() {
                (format!("{}|{system}", Rule::ExposedPlace.id()), system.clone())
            } else if let Some(dest) = destination {
                let place = format!("{}:{dest}", f.host);
                (format!("{}|{place}", Rule::ExposedPlace.id()), place)
            } else {
                (format!("{}|{}|{}", Rule::ExportAnomaly.id(), f.host, f.event()), system.clone())
            };
            drafts.push(Draft { rule: Rule::ExportAnomaly, floor: None, group, categories: cats, explanation: why, activities: &declared_host, records: None });
        }
        Kind::PersonalData => {
            let Some(category) = f.category else { return Vec::new() };
            let special = category.is_special();
            let floor = special.then_some(Severity::High);
            let special_txt = if special { " — a special category (Art. 9/10)" } else { "" };
            let seen = format!(
                "Personal data of category `{category}`{special_txt} was found on {system} by agent `{}` (detector `{}`, finding {}).",
                f.agent_id, f.detector, f.id
            );
            covering = register.covering(f.agent_id, f.host, f.locator);
            if let Some(request) = f.erased {
                let why = format!(
                    "{seen} It belongs to a person whose erasure was recorded (request {request}) before it was observed: the deletion did not reach this system, or the data came back (a restored backup, a copy). Data that should no longer exist is processed without a legal basis; find where it came from and erase it, the Art. 33 clock runs from awareness."
                );
                drafts.push(Draft {
                    rule: Rule::ErasedSubjectSeen,
                    floor,
                    group: (format!("{}|{request}|{system}", Rule::ErasedSubjectSeen.id()), system.clone()),
                    categories: vec![category],
                    explanation: why,
                    activities: &covering,
                    records: None,
                });
            }
            if let Some(flow) = recipient::check(&system, f.evidence, &seen, register) {
                receiving = flow.activities;
                drafts.push(Draft {
                    rule: flow.rule,
                    floor,
                    group: flow.group,
                    categories: vec![category],
                    explanation: flow.explanation,
                    activities: &receiving,
                    records: None,
                });
            }
            let at_rest = f.at_rest || f.evidence.contains_key("kind_of_place");
            if let Some(place) = policy.exposed_place(f.locator, at_rest) {
                let why = format!(
                    "{seen} The place is a {place}, where people other than the processing's staff can reach it: an exposure of personal data is a personal-data breach (Art. 4(12)) until shown otherwise. Remove the data, find out who could reach it and since when; the Art. 33 clock runs from awareness."
                );
                drafts.push(Draft {
                    rule: Rule::ExposedPlace,
                    floor: special.then_some(Severity::Critical),
                    group: (format!("{}|{system}", Rule::ExposedPlace.id()), system.clone()),
                    categories: vec![category],
                    explanation: why,
                    activities: &covering,
                    records: None,
                });
            }
            // An undeclared exposed place is removed, not declared: the breach is its one
            // incident, not a register gap beside it. Gaps of a declared system (a category
            // or a retention it does not declare) stay: moving the data does not fix them.
            let exposure = drafts.iter().any(|d| d.rule == Rule::ExposedPlace) && policy.rule(Rule::ExposedPlace).0;
            if covering.is_empty() && exposure {
                return finish(drafts, policy, &system);
            }
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
                let group = compliance_group(Rule::UndeclaredSystem, &[], &f.place());
                drafts.push(Draft {
                    rule: Rule::UndeclaredSystem,
                    floor,
                    group,
                    categories: vec![category],
                    explanation: seen.clone() + &why,
                    activities: &[],
                    records: None,
                });
                return finish(drafts, policy, &system);
            }
            declaring = covering.iter().copied().filter(|a| a.declares(category)).collect();
            if declaring.is_empty() {
                let declared: Vec<String> = covering
                    .iter()
                    .map(|a| format!("«{}» ({}) declares [{}]", a.name, a.id, a.categories().iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")))
                    .collect();
                let why = format!(
                    " Activities covering this system: {}; none declares `{category}`. Declare it in the register if this processing is legitimate, otherwise remove the data.",
                    declared.join("; ")
                );
                let group = compliance_group(Rule::UndeclaredCategory, &covering, &f.place());
                drafts.push(Draft {
                    rule: Rule::UndeclaredCategory,
                    floor,
                    group,
                    categories: vec![category],
                    explanation: seen.clone() + &why,
                    activities: &covering,
                    records: None,
                });
            }
            if let Some(age_s) = f.evidence.get("oldest_record_age_s").and_then(|v| v.trim().parse::<u64>().ok()) {
                // The longest retention any declaring activity allows is the one that binds.
                let allowed = declaring.iter().filter_map(|a| a.retention_for(category).map(|(d, t)| (d, t, *a))).max_by_key(|(d, _, _)| *d);
                if let Some((days, text, act)) = allowed
                    && age_s > u64::from(days) * 86_400
                {
                    let counted = retention::records_past(f.evidence, days);
                    let source = match f.evidence.get("oldest_record_source").map(String::as_str) {
                        None => String::new(),
                        Some("mtime") => " (from the file's modification time)".to_string(),
                        Some("column") => " (from a date column)".to_string(),
                        Some(s) => match s.strip_prefix("column:") {
                            Some(c) => format!(" (from column `{c}`)"),
                            None => format!(" (from {s})"),
                        },
                    };
                    let records = counted.as_ref().map_or(String::new(), |(n, how)| format!(" About {n} records are past it ({how})."));
                    let why = format!(
                        "{seen} Its oldest record is {} days old{source}, longer than the {text} ({days} days) that «{}» ({}) declares for `{category}`.{records} Delete or anonymise records past their retention (Art. 5(1)(e)).",
                        age_s / 86_400,
                        act.name,
                        act.id
                    );
                    retaining = vec![act];
                    let group = compliance_group(Rule::RetentionExceeded, &retaining, &f.place());
                    drafts.push(Draft {
                        rule: Rule::RetentionExceeded,
                        floor: None,
                        group,
                        categories: vec![category],
                        explanation: why,
                        activities: &retaining,
                        records: counted,
                    });
                }
            }
            if let Some(country) = policy.location(f.agent_id, f.host) {
                refusing = covering.iter().copied().filter(|a| !a.allows_location(country)).collect();
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
                    let group = compliance_group(Rule::UnallowedLocation, &refusing, &f.place());
                    drafts.push(Draft {
                        rule: Rule::UnallowedLocation,
                        floor,
                        group,
                        categories: vec![category],
                        explanation: why,
                        activities: &refusing,
                        records: None,
                    });
                }
            }
        }
    }
    finish(drafts, policy, &system)
}

/// The verdicts of the rules the policy runs, at their severities.
fn finish(drafts: Vec<Draft<'_>>, policy: &Policy, system: &str) -> Vec<Verdict> {
    drafts
        .into_iter()
        .filter_map(|d| {
            let (enabled, severity) = policy.rule(d.rule);
            enabled.then(|| Verdict {
                rule: d.rule,
                kind: d.rule.kind(),
                severity: d.floor.map_or(severity, |s| s.max(severity)),
                system: system.to_string(),
                group: d.group.0,
                label: d.group.1,
                categories: d.categories,
                explanation: d.explanation,
                activities: d.activities.iter().map(|a| a.id.clone()).collect(),
                records: d.records,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
