//! The Art. 33 notification draft and the Art. 33(5) breach register.
//!
//! [`Art33Draft`] fills, from the register and the evidence, what a supervisory authority's form
//! asks (Art. 33(3), and the CNIL's online form): the controller and its DPO; the nature of the
//! breach with who, what, where and when (actor, statement or endpoint, files, systems); its
//! start, end or that it is ongoing (from event times); how and when it was discovered; the
//! categories and approximate numbers of subjects and records, each with its method and the
//! DPO's own estimate beside it; the categories of subjects; likely consequences; measures taken
//! and proposed; whether it is cross-border and the lead authority; the processors involved; the
//! Art. 34 decision; whether this is the initial notification or a follow-up (Art. 33(4)), with
//! the authority's references; and the reason for the delay when late. What only the DPO can
//! say is marked `TODO(DPO)`, never invented.
//!
//! The breach register lists every breach — notified or not, with the justification for not
//! notifying — with the DPO's notes each in its column (facts, effects, remedial action).
//! Compliance items are not breaches and are not in it (unless the DPO promoted them).

use crate::correlation::IncidentKind;
use crate::incident::Status;
use crate::register::{EU_EEA, Register};
use crate::store::incidents::NoteRecord;
use crate::store::{Store, StoreError};
use crate::views::{IncidentView, NoteView, TimelineEntry, rfc3339};
use custos_rules::Category;
use serde::Serialize;
use std::collections::BTreeSet;

/// Marker of what the DPO must still write.
pub const TODO: &str = "TODO(DPO)";

/// Likely consequences for data subjects, by category (Art. 33(3)(c) starting points).
pub fn consequences(c: Category) -> &'static str {
    match c {
        Category::Contact => "phishing and spam targeting the data subjects, social engineering",
        Category::Identity => "identity theft when combined with other data",
        Category::NationalId => "identity theft, fraudulent account opening",
        Category::Financial => "financial fraud, unauthorised payments",
        Category::OnlineIdentifier => "tracking and profiling, account takeover attempts",
        Category::Location => "tracking of movements, risk to physical safety",
        Category::Health => "discrimination, loss of confidentiality of medical information, distress",
        Category::Biometric => "irreversible identity theft (biometrics cannot be changed)",
        Category::Genetic => "discrimination, disclosure about relatives",
        Category::EthnicOrigin | Category::PoliticalOpinion | Category::ReligiousBelief | Category::TradeUnion | Category::SexLife => {
            "discrimination, exclusion, reputational damage and distress"
        }
        Category::Criminal => "reputational damage, exclusion from employment",
    }
}

/// The controller, as the register names it.
#[derive(Debug, Clone, Serialize)]
pub struct ControllerPart {
    /// Legal name.
    pub name: String,
    /// Postal address (or a `TODO(DPO)`).
    pub address: String,
    /// Country of the main establishment.
    pub country: String,
}

/// When the breach happened, from the event times of its evidence.
#[derive(Debug, Clone, Serialize)]
pub struct BreachPeriod {
    /// The earliest event time of its evidence.
    pub start: Option<String>,
    /// The latest event time, when the breach is over.
    pub end: Option<String>,
    /// Whether it is still going on: open, with evidence within the last hour.
    pub ongoing: bool,
    /// How these were determined.
    pub basis: String,
}

/// Whether the processing is cross-border (one-stop shop, Art. 56) and which authority leads.
#[derive(Debug, Clone, Serialize)]
pub struct CrossBorder {
    /// Cross-border: the activities' data may be in, or go to, more than one country.
    pub cross_border: bool,
    /// The countries involved (transfers and allowed locations of the activities).
    pub countries: Vec<String>,
    /// The lead supervisory authority (register), or a `TODO(DPO)`.
    pub lead_authority: String,
}

/// The Art. 34 decision: communicate the breach to the people, or not.
#[derive(Debug, Clone, Serialize)]
pub struct Art34 {
    /// `communicate`, `not_required`, `public_communication`, or a `TODO(DPO)`.
    pub decision: String,
    /// Why.
    pub reason: String,
    /// How the people are (or will be) told.
    pub how: String,
}

/// A follow-up notification (Art. 33(4)).
#[derive(Debug, Clone, Serialize)]
pub struct FollowUp {
    /// When.
    pub at: String,
    /// Who recorded it.
    pub by: String,
    /// The authority's reference.
    pub reference: String,
    /// What it adds.
    pub text: String,
}

/// The Art. 33(3) content of one incident.
#[derive(Debug, Clone, Serialize)]
pub struct Art33Draft {
    /// Incident id.
    pub incident_id: i64,
    /// `breach` or `compliance` (a compliance item has no Art. 33 clock; its draft says so).
    pub kind: String,
    /// The controller.
    pub controller: ControllerPart,
    /// (b) DPO name and contact.
    pub dpo: String,
    /// `initial` before the authority was notified, `follow_up` after (Art. 33(4)).
    pub notification: String,
    /// The authority's reference of the initial notification.
    pub authority_reference: String,
    /// Awareness time.
    pub awareness: String,
    /// Deadline (awareness + 72 h); none for a compliance item.
    pub deadline: Option<String>,
    /// Whether the deadline has passed unnotified (then Art. 33(1) asks for the reasons).
    pub late: bool,
    /// Why it was late, as the DPO recorded it (or a `TODO(DPO)` when late).
    pub late_reason: Option<String>,
    /// (a) Nature of the breach: who, what, where, when.
    pub nature: String,
    /// Start, end or ongoing.
    pub breach: BreachPeriod,
    /// How and when it was discovered.
    pub discovery: String,
    /// (a) Categories of personal data.
    pub data_categories: Vec<String>,
    /// (a) Categories of data subjects (from the register activities concerned).
    pub subject_categories: Vec<String>,
    /// (a) Approximate number of data subjects.
    pub approx_subjects: u64,
    /// (a) Approximate number of records.
    pub approx_records: u64,
    /// The subjects figure with its range and method.
    pub subjects: crate::estimate::Estimate,
    /// The records figure with its range and method.
    pub records: crate::estimate::Estimate,
    /// The DPO's own estimate, beside Custos' figures.
    pub dpo_estimate: Option<crate::views::DpoEstimateView>,
    /// (c) Likely consequences.
    pub likely_consequences: Vec<String>,
    /// (d) Measures taken (from the timeline and notes) and proposed.
    pub measures: Vec<String>,
    /// Systems concerned.
    pub systems: Vec<String>,
    /// Cross-border processing and the lead authority.
    pub cross_border: CrossBorder,
    /// Processors and recipients involved (register recipients of the activities).
    pub processors: Vec<String>,
    /// Security measures the register declares for the activities concerned.
    pub declared_security_measures: Vec<String>,
    /// The Art. 34 decision.
    pub art34: Art34,
    /// Follow-up notifications (Art. 33(4)).
    pub follow_ups: Vec<FollowUp>,
    /// The DPO's notes.
    pub notes: Vec<NoteView>,
    /// What the DPO must still write.
    pub todo: Vec<String>,
    /// Timeline.
    pub timeline: Vec<TimelineEntry>,
}

/// What the store knows beyond the incident view that the draft needs.
#[derive(Debug, Clone, Default)]
pub struct DraftFacts {
    /// Event times of the evidence: (first, last) ms.
    pub event_span: Option<(i64, i64)>,
    /// Who, what, where of the evidence: `actor`, `statement`, `table`, `destination`,
    /// `endpoint`, `detail` of export anomalies (masked by the agent).
    pub what: Vec<(String, String)>,
    /// Agents that saw the evidence.
    pub agents: Vec<String>,
    /// The DPO's notes.
    pub notes: Vec<NoteRecord>,
}

impl Art33Draft {
    /// Produces the draft of incident `id` for `by`: the first time, a `draft` entry goes to the
    /// incident's timeline (the draft's own timeline shows it). `None` when there is no such
    /// incident.
    pub fn produce(store: &mut Store, id: i64, register: &Register, by: &str, now_ms: i64) -> Result<Option<Art33Draft>, StoreError> {
        let Some(v) = store.incident(id)?.map(IncidentView::from) else { return Ok(None) };
        if !store.timeline(id)?.iter().any(|t| t.kind == "draft") {
            store.add_timeline(id, "draft", by, "Art. 33 notification draft produced", now_ms)?;
        }
        let evidence = store.evidence(id)?;
        let mut facts = DraftFacts { notes: store.notes(id)?, ..DraftFacts::default() };
        let mut agents = BTreeSet::new();
        let mut what = BTreeSet::new();
        for f in &evidence {
            agents.insert(f.agent_id.clone());
            let num = |k: &str| f.evidence.get(k).and_then(|v| v.parse::<i64>().ok());
            let (from, to) = (num("event_start_ms").unwrap_or(f.observed_at_ms), num("event_end_ms").unwrap_or(f.observed_at_ms));
            facts.event_span = Some(facts.event_span.map_or((from, to), |(a, b)| (a.min(from), b.max(to))));
            for k in ["actor", "statement", "table", "destination", "endpoint", "database", "detail"] {
                if let Some(x) = f.evidence.get(k).filter(|x| !x.is_empty()) {
                    what.insert((k.to_string(), x.clone()));
                }
            }
        }
        facts.agents = agents.into_iter().collect();
        facts.what = what.into_iter().collect();
        let timeline = store.timeline(id)?.into_iter().map(TimelineEntry::from).collect();
        Ok(Some(Art33Draft::build(&v, timeline, &facts, register, now_ms)))
    }

    /// Builds the draft from an incident, its timeline, what its evidence says and the register.
    pub fn build(v: &IncidentView, timeline: Vec<TimelineEntry>, facts: &DraftFacts, register: &Register, now_ms: i64) -> Art33Draft {
        let acts: Vec<_> = register.activities.iter().filter(|a| v.activities.contains(&a.id)).collect();
        let sorted = |mut l: Vec<String>| {
            l.sort();
            l.dedup();
            l
        };
        let subject_categories = sorted(acts.iter().flat_map(|a| a.data_subjects.clone()).collect());
        let declared_security_measures = sorted(acts.iter().flat_map(|a| a.security_measures.clone()).collect());
        let processors = sorted(acts.iter().flat_map(|a| a.recipients.iter().map(|r| r.describe())).collect());
        let notes = |kind: &str| facts.notes.iter().filter(|n| n.kind == kind).map(|n| n.text.clone()).collect::<Vec<_>>();
        let cats: Vec<Category> = v.categories.iter().filter_map(|c| c.parse().ok()).collect();
        let mut likely_consequences: Vec<String> = cats.iter().map(|c| format!("{c}: {}", consequences(*c))).collect();
        likely_consequences.extend(notes("consequences").into_iter().map(|n| format!("assessed by the DPO: {n}")));
        let breach = v.kind == IncidentKind::Breach.as_str();
        let kind_text = match v.rule.as_str() {
            "export_anomaly" => "Possible unauthorised disclosure of or access to personal data (confidentiality breach): an anomalous export was detected",
            "exposed_place" => {
                "Possible unauthorised disclosure of personal data (confidentiality breach): personal data was found in a place others can reach"
            }
            "undeclared_system" => "Register gap: personal data found on a system outside any declared processing activity",
            "undeclared_category" => "Register gap: personal data of undeclared categories found on a system of a declared activity",
            "retention_exceeded" => "Retention overdue: personal data kept beyond the declared retention period",
            "unallowed_location" => "Register gap: personal data stored in a country the processing does not allow",
            _ => "Possible personal-data breach",
        };
        let who_what: Vec<String> = facts.what.iter().map(|(k, x)| format!("{k}: {x}")).collect();
        let mut nature = format!("{kind_text}. {}", rule_sentence(&v.rule));
        if !who_what.is_empty() {
            nature += &format!(" What the evidence says — {}.", who_what.join("; "));
        }
        nature += &format!(" Where: {}.", if v.systems.is_empty() { v.system.clone() } else { v.systems.join(", ") });
        if !breach {
            nature += " This is a compliance item (a gap between the register and reality, Art. 5 and 30), not a breach: it has no Art. 33 clock. Promote it if personal data was exposed or accessed without authority.";
        }
        let mut measures: Vec<String> = timeline
            .iter()
            .filter(|e| !e.note.is_empty() && matches!(e.kind.as_str(), "triaged" | "assessed" | "notified" | "not_notifiable" | "resolved"))
            .map(|e| format!("{} ({}, {}): {}", e.kind, e.actor, e.at, e.note))
            .collect();
        measures.extend(
            facts
                .notes
                .iter()
                .filter(|n| n.kind == "measures" || n.kind == "remedial")
                .map(|n| format!("{} ({}, {}): {}", n.kind, n.actor, rfc3339(n.at_ms), n.text)),
        );
        let notified = v.status == Status::Notified.as_str();
        let late = breach && v.deadline_ms.is_some_and(|d| now_ms > d) && !notified || notified && late_notified(&timeline, v);
        let late_reasons = notes("late_reason");
        let late_reason = if late {
            Some(if late_reasons.is_empty() {
                format!("{TODO}: the 72-hour deadline has passed: give the reasons for the delay (Art. 33(1))")
            } else {
                late_reasons.join(" ")
            })
        } else {
            None
        };
        let breach_period = period(facts.event_span, v, now_ms);
        let discovery_notes = notes("discovery");
        let discovery = format!(
            "Detected on {} by Custos (agents {} on the systems concerned; rule `{}`), which alerted the DPO and the security team{}.{}",
            v.detected_at,
            if facts.agents.is_empty() { "-".to_string() } else { facts.agents.join(", ") },
            v.rule,
            if v.awareness_at != v.detected_at { format!("; the DPO became aware of it as a breach on {}", v.awareness_at) } else { String::new() },
            if discovery_notes.is_empty() { String::new() } else { format!(" {}", discovery_notes.join(" ")) }
        );
        let cross_border = cross_border(&acts, register, &notes("cross_border"));
        let art34 = match &v.art34 {
            Some(a) => Art34 { decision: a.decision.clone(), reason: a.reason.clone(), how: notes("art34_how").join(" ") },
            None => Art34 {
                decision: format!("{TODO}: decide whether the people must be told (Art. 34: likely high risk)"),
                reason: String::new(),
                how: String::new(),
            },
        };
        let follow_ups: Vec<FollowUp> = facts
            .notes
            .iter()
            .filter(|n| n.kind == "follow_up")
            .map(|n| FollowUp { at: rfc3339(n.at_ms), by: n.actor.clone(), reference: n.reference.clone(), text: n.text.clone() })
            .collect();
        let mut todo = Vec::new();
        if notes("facts").is_empty() {
            todo.push(format!("{TODO}: confirm the nature of the breach (confidentiality / integrity / availability) and how it happened"));
        }
        if v.dpo_estimate.is_none() {
            todo.push(format!("{TODO}: confirm the approximate numbers of data subjects and records (Custos' figures and their methods above)"));
        }
        if notes("consequences").is_empty() {
            todo.push(format!("{TODO}: assess the likely consequences for the data subjects in this case"));
        }
        if notes("measures").is_empty() && notes("remedial").is_empty() {
            todo.push(format!("{TODO}: describe the measures taken and proposed to address the breach and mitigate its effects"));
        }
        if v.art34.is_none() {
            todo.push(format!("{TODO}: decide whether data subjects must be informed (Art. 34: high risk)"));
        }
        if late && late_reasons.is_empty() {
            todo.push(format!("{TODO}: the 72-hour deadline has passed: give the reasons for the delay (Art. 33(1))"));
        }
        if register.controller.address.is_empty() {
            todo.push(format!("{TODO}: the register has no controller address; add `address` under [controller]"));
        }
        if register.controller.dpo.email.is_empty() {
            todo.push(format!("{TODO}: the register has no DPO contact; add it"));
        }
        if cross_border.cross_border && register.controller.lead_authority.is_empty() {
            todo.push(format!("{TODO}: cross-border processing: name the lead supervisory authority (`lead_authority` under [controller])"));
        }
        Art33Draft {
            incident_id: v.id,
            kind: v.kind.clone(),
            controller: ControllerPart {
                name: register.controller.name.clone(),
                address: if register.controller.address.is_empty() { format!("{TODO}: the controller's address") } else { register.controller.address.clone() },
                country: register.controller.country.clone(),
            },
            dpo: format!("{} <{}> {}", register.controller.dpo.name, register.controller.dpo.email, register.controller.dpo.phone).trim().to_string(),
            notification: if notified || !v.authority_reference.is_empty() { "follow_up".into() } else { "initial".into() },
            authority_reference: v.authority_reference.clone(),
            awareness: v.awareness_at.clone(),
            deadline: v.deadline.clone(),
            late,
            late_reason,
            nature,
            breach: breach_period,
            discovery,
            data_categories: v
                .categories
                .iter()
                .map(|c| if c.parse::<Category>().is_ok_and(|c| c.is_special()) { format!("{c} (special category, Art. 9/10)") } else { c.clone() })
                .collect(),
            subject_categories,
            approx_subjects: v.subjects.value,
            approx_records: v.records_estimate.value,
            subjects: v.subjects.clone(),
            records: v.records_estimate.clone(),
            dpo_estimate: v.dpo_estimate.clone(),
            likely_consequences,
            measures,
            systems: if v.systems.is_empty() { vec![v.system.clone()] } else { v.systems.clone() },
            cross_border,
            processors,
            declared_security_measures,
            art34,
            follow_ups,
            notes: facts.notes.iter().cloned().map(NoteView::from).collect(),
            todo,
            timeline,
        }
    }

    /// Markdown rendering, one section per point of the form.
    pub fn markdown(&self) -> String {
        let list = |l: &[String], empty: &str| if l.is_empty() { format!("- {empty}\n") } else { l.iter().map(|x| format!("- {x}\n")).collect() };
        let title = if self.kind == "breach" { "Personal-data breach notification (GDPR Art. 33)" } else { "Compliance item (register gap; no Art. 33 clock)" };
        let mut s = format!("# {title} — draft for incident #{}\n\n", self.incident_id);
        s += &format!(
            "Notification: **{}**{}  \nAwareness: {}  \nDeadline (72 h): {}{}\n\n",
            self.notification.replace('_', "-"),
            if self.authority_reference.is_empty() { String::new() } else { format!(" (authority reference {})", self.authority_reference) },
            self.awareness,
            self.deadline.as_deref().unwrap_or("none (compliance item)"),
            if self.late { " — **passed**" } else { "" }
        );
        s += &format!("## Controller\n\n{}  \n{}  \n{}\n\n", self.controller.name, self.controller.address, self.controller.country);
        s += &format!("## DPO contact (b)\n\n{}\n\n", if self.dpo.is_empty() { TODO.to_string() } else { self.dpo.clone() });
        s += &format!("## Nature of the breach (a)\n\n{}\n\nSystems: {}\n\n", self.nature, self.systems.join(", "));
        s += &format!(
            "## When\n\nStart: {}  \nEnd: {}  \nOngoing: {}  \n({})\n\n",
            self.breach.start.as_deref().unwrap_or(TODO),
            self.breach.end.as_deref().unwrap_or(if self.breach.ongoing { "ongoing" } else { TODO }),
            if self.breach.ongoing { "yes" } else { "no" },
            self.breach.basis
        );
        s += &format!("## How it was discovered\n\n{}\n\n", self.discovery);
        s += &format!("## Data and people concerned (a)\n\nCategories of personal data:\n{}\n", list(&self.data_categories, TODO));
        s += &format!("Categories of data subjects:\n{}\n", list(&self.subject_categories, &format!("{TODO}: no activity of the register covers this system")));
        s += &format!(
            "Approximate number of data subjects: {} (range {}–{}; {})  \nApproximate number of records: {} ({})\n",
            self.subjects.value, self.subjects.low, self.subjects.high, self.subjects.method, self.records.value, self.records.method
        );
        if let Some(d) = &self.dpo_estimate {
            s += &format!(
                "DPO estimate: {} subjects, {} records — {}\n",
                d.subjects.map_or("-".to_string(), |n| n.to_string()),
                d.records.map_or("-".to_string(), |n| n.to_string()),
                d.note
            );
        }
        s += &format!("\n## Likely consequences (c)\n\n{}\n", list(&self.likely_consequences, TODO));
        s += &format!(
            "## Measures taken or proposed (d)\n\n{}\nSecurity measures declared in the register:\n{}\n",
            list(&self.measures, TODO),
            list(&self.declared_security_measures, "none declared")
        );
        s += &format!(
            "## Cross-border processing\n\nCross-border: {}  \nCountries: {}  \nLead authority: {}\n\n",
            if self.cross_border.cross_border { "yes" } else { "no" },
            if self.cross_border.countries.is_empty() { "-".to_string() } else { self.cross_border.countries.join(", ") },
            self.cross_border.lead_authority
        );
        s += &format!("## Processors and recipients involved\n\n{}\n", list(&self.processors, "none declared in the register"));
        s += &format!(
            "## Communication to the data subjects (Art. 34)\n\nDecision: {}  \nReason: {}  \nHow: {}\n\n",
            self.art34.decision,
            if self.art34.reason.is_empty() { "-" } else { &self.art34.reason },
            if self.art34.how.is_empty() { "-" } else { &self.art34.how }
        );
        s += "## Follow-up notifications (Art. 33(4))\n\n";
        if self.follow_ups.is_empty() {
            s += "- none yet\n";
        }
        for f in &self.follow_ups {
            s += &format!("- {} ({}), reference {}: {}\n", f.at, f.by, if f.reference.is_empty() { "-" } else { &f.reference }, f.text);
        }
        if let Some(r) = &self.late_reason {
            s += &format!("\n## Reasons for the delay (Art. 33(1))\n\n{r}\n");
        }
        s += "\n## Timeline\n\n";
        for e in &self.timeline {
            s += &format!("- {} {} ({}){}\n", e.at, e.kind, e.actor, if e.note.is_empty() { String::new() } else { format!(": {}", e.note) });
        }
        s += &format!("\n## To complete by the DPO\n\n{}", list(&self.todo, "nothing"));
        s
    }
}

/// Whether a notified breach was notified after its deadline.
fn late_notified(timeline: &[TimelineEntry], v: &IncidentView) -> bool {
    timeline.iter().find(|e| e.kind == "notified").is_some_and(|e| v.deadline_ms.is_some_and(|d| e.at_ms > d))
}

/// Start, end or ongoing, from the evidence's event times.
fn period(span: Option<(i64, i64)>, v: &IncidentView, now_ms: i64) -> BreachPeriod {
    let open = Status::parse(&v.status).is_some_and(Status::is_open);
    match span {
        Some((start, end)) => {
            let ongoing = open && now_ms - end < 3_600_000;
            BreachPeriod {
                start: Some(rfc3339(start)),
                end: (!ongoing).then(|| rfc3339(end)),
                ongoing,
                basis: "event times of the evidence (the logs' own timestamps where the agent read them); ongoing while the incident is open and evidence is less than an hour old".into(),
            }
        }
        None => BreachPeriod { start: None, end: None, ongoing: open, basis: format!("{TODO}: no event times in the evidence") },
    }
}

/// Cross-border: the activities' transfers and allowed locations name more than one country.
fn cross_border(acts: &[&crate::register::Activity], register: &Register, notes: &[String]) -> CrossBorder {
    let mut countries: BTreeSet<String> = BTreeSet::new();
    if !register.controller.country.is_empty() {
        countries.insert(register.controller.country.to_ascii_uppercase());
    }
    for a in acts {
        countries.extend(a.transfers.iter().map(|t| t.country.to_ascii_uppercase()));
        for l in &a.allowed_locations {
            if l.eq_ignore_ascii_case("EU") {
                countries.insert("EU/EEA".into());
            } else {
                countries.insert(l.to_ascii_uppercase());
            }
        }
    }
    let outside_eu = countries.iter().any(|c| c != "EU/EEA" && !EU_EEA.contains(&c.as_str()));
    let cross = countries.len() > 1 || countries.contains("EU/EEA") || outside_eu;
    let mut lead = if register.controller.lead_authority.is_empty() {
        format!("{TODO}: the lead supervisory authority")
    } else {
        register.controller.lead_authority.clone()
    };
    if !notes.is_empty() {
        lead += &format!(" ({})", notes.join(" "));
    }
    CrossBorder { cross_border: cross, countries: countries.into_iter().collect(), lead_authority: lead }
}

fn rule_sentence(rule: &str) -> String {
    crate::correlation::Rule::from_id(rule).map_or(String::new(), |r| format!("Detected by rule `{}` ({}).", r.id(), r.title()))
}

/// One row of the Art. 33(5) breach register.
#[derive(Debug, Clone, Serialize)]
pub struct BreachRecord {
    /// Incident id.
    pub incident_id: i64,
    /// Awareness.
    pub awareness: String,
    /// Deadline.
    pub deadline: String,
    /// Rule.
    pub rule: String,
    /// Severity.
    pub severity: String,
    /// Status.
    pub status: String,
    /// System.
    pub system: String,
    /// Categories, `;`-separated.
    pub categories: String,
    /// Categories of data subjects, `;`-separated.
    pub subject_categories: String,
    /// Distinct data subjects (estimate).
    pub approx_subjects: u64,
    /// How the subjects were counted.
    pub subjects_method: String,
    /// Records (estimate).
    pub approx_records: u64,
    /// How the records were counted.
    pub records_method: String,
    /// The DPO's estimate, when set: `subjects / records — note`.
    pub dpo_estimate: String,
    /// The facts of the breach (DPO notes).
    pub facts: String,
    /// Its effects (DPO notes).
    pub effects: String,
    /// Remedial action taken (DPO notes and timeline).
    pub remedial_action: String,
    /// When notified, if it was.
    pub notified_at: String,
    /// The supervisory authority's reference.
    pub notification_reference: String,
    /// Why not notified, if it was not.
    pub justification: String,
    /// The Art. 34 decision and its reason.
    pub art34: String,
    /// Follow-ups with their references.
    pub follow_ups: String,
}

/// The breach register: every breach, notified or not (compliance items are not breaches).
pub fn breach_register(store: &Store, register: &Register) -> Result<Vec<BreachRecord>, StoreError> {
    let mut out = Vec::new();
    for v in store.incidents()?.into_iter().rev().map(IncidentView::from).filter(IncidentView::is_breach) {
        let timeline: Vec<TimelineEntry> = store.timeline(v.id)?.into_iter().map(TimelineEntry::from).collect();
        let notes = store.notes(v.id)?;
        let of = |kind: &str| notes.iter().filter(|n| n.kind == kind).map(|n| n.text.clone()).collect::<Vec<_>>();
        let notified_at = timeline.iter().find(|e| e.kind == "notified").map_or(String::new(), |e| e.at.clone());
        let mut remedial = of("remedial");
        remedial.extend(of("measures"));
        remedial.extend(timeline.iter().filter(|e| matches!(e.kind.as_str(), "triaged" | "assessed") && !e.note.is_empty()).map(|e| e.note.clone()));
        let mut subjects: Vec<String> = register.activities.iter().filter(|a| v.activities.contains(&a.id)).flat_map(|a| a.data_subjects.clone()).collect();
        subjects.sort();
        subjects.dedup();
        out.push(BreachRecord {
            incident_id: v.id,
            awareness: v.awareness_at.clone(),
            deadline: v.deadline.clone().unwrap_or_default(),
            rule: v.rule.clone(),
            severity: v.severity.clone(),
            status: v.status.clone(),
            system: v.system.clone(),
            categories: v.categories.join(";"),
            subject_categories: subjects.join(";"),
            approx_subjects: v.subjects.value,
            subjects_method: v.subjects.method.clone(),
            approx_records: v.records_estimate.value,
            records_method: v.records_estimate.method.clone(),
            dpo_estimate: v.dpo_estimate.as_ref().map_or(String::new(), |d| {
                format!("{} / {} — {}", d.subjects.map_or("-".into(), |n| n.to_string()), d.records.map_or("-".into(), |n| n.to_string()), d.note)
            }),
            facts: of("facts").join(" | "),
            effects: of("effects").join(" | "),
            remedial_action: remedial.join(" | "),
            notified_at,
            notification_reference: v.authority_reference.clone(),
            justification: v.justification.clone(),
            art34: v.art34.as_ref().map_or(String::new(), |a| format!("{}: {}", a.decision, a.reason)),
            follow_ups: notes
                .iter()
                .filter(|n| n.kind == "follow_up")
                .map(|n| format!("{} {}: {}", rfc3339(n.at_ms), if n.reference.is_empty() { "-" } else { &n.reference }, n.text))
                .collect::<Vec<_>>()
                .join(" | "),
        });
    }
    Ok(out)
}

/// The columns of the breach register, in order.
pub const BREACH_REGISTER_COLUMNS: [&str; 22] = [
    "incident_id",
    "awareness",
    "deadline",
    "rule",
    "severity",
    "status",
    "system",
    "categories",
    "subject_categories",
    "approx_subjects",
    "subjects_method",
    "approx_records",
    "records_method",
    "dpo_estimate",
    "facts",
    "effects",
    "remedial_action",
    "notified_at",
    "notification_reference",
    "justification",
    "art34",
    "follow_ups",
];

/// CSV rendering of the breach register.
pub fn breach_register_csv(rows: &[BreachRecord]) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r)?;
    }
    if rows.is_empty() {
        w.write_record(BREACH_REGISTER_COLUMNS)?;
    }
    let bytes = w.into_inner().map_err(|e| csv::Error::from(e.into_error()))?;
    // Notes and justifications are typed by people: no cell may run as a spreadsheet formula.
    Ok(String::from_utf8_lossy(&crate::csv_cell::neutralise_document(&bytes)?).into_owned())
}
