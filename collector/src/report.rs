//! The Art. 33 notification draft and the Art. 33(5) breach register.
//!
//! [`Art33Draft`] fills what the evidence can tell for each point of Art. 33(3) — nature of the
//! breach, categories and approximate numbers of data subjects and records, DPO contact, likely
//! consequences (by category), measures (from the timeline) — and marks with `TODO(DPO)` what
//! only the DPO can write. The breach register lists every incident, notified or not, with the
//! justification for not notifying.

use crate::incident::Status;
use crate::register::Register;
use crate::store::{Store, StoreError};
use crate::views::{IncidentView, TimelineEntry};
use custos_rules::Category;
use serde::Serialize;

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

/// The Art. 33(3) content of one incident.
#[derive(Debug, Clone, Serialize)]
pub struct Art33Draft {
    /// Incident id.
    pub incident_id: i64,
    /// Controller.
    pub controller: String,
    /// (b) DPO name and contact.
    pub dpo: String,
    /// Awareness time.
    pub awareness: String,
    /// Deadline (awareness + 72 h).
    pub deadline: String,
    /// Whether the deadline has passed (then Art. 33(1) asks for the reasons of the delay).
    pub late: bool,
    /// (a) Nature of the breach.
    pub nature: String,
    /// (a) Categories of personal data.
    pub data_categories: Vec<String>,
    /// (a) Categories of data subjects (from the register activities concerned).
    pub subject_categories: Vec<String>,
    /// (a) Approximate number of data subjects (distinct fingerprints).
    pub approx_subjects: u64,
    /// (a) Approximate number of records.
    pub approx_records: u64,
    /// (c) Likely consequences.
    pub likely_consequences: Vec<String>,
    /// (d) Measures taken (from the timeline) and proposed.
    pub measures: Vec<String>,
    /// Systems concerned.
    pub systems: Vec<String>,
    /// Security measures the register declares for the activities concerned.
    pub declared_security_measures: Vec<String>,
    /// What the DPO must still write.
    pub todo: Vec<String>,
    /// Timeline.
    pub timeline: Vec<TimelineEntry>,
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
        Ok(Some(Art33Draft::build(&v, store.timeline(id)?.into_iter().map(TimelineEntry::from).collect(), register, now_ms)))
    }

    /// Builds the draft from an incident, its timeline and the register.
    pub fn build(v: &IncidentView, timeline: Vec<TimelineEntry>, register: &Register, now_ms: i64) -> Art33Draft {
        let acts: Vec<_> = register.activities.iter().filter(|a| v.activities.contains(&a.id)).collect();
        let mut subject_categories: Vec<String> = acts.iter().flat_map(|a| a.data_subjects.clone()).collect();
        subject_categories.sort();
        subject_categories.dedup();
        let mut declared_security_measures: Vec<String> = acts.iter().flat_map(|a| a.security_measures.clone()).collect();
        declared_security_measures.sort();
        declared_security_measures.dedup();
        let cats: Vec<Category> = v.categories.iter().filter_map(|c| c.parse().ok()).collect();
        let likely_consequences = cats.iter().map(|c| format!("{c}: {}", consequences(*c))).collect();
        let nature = match v.rule.as_str() {
            "export_anomaly" => "Possible unauthorised disclosure of or access to personal data (confidentiality breach): an anomalous export was detected",
            "undeclared_system" => "Personal data found on a system outside any declared processing activity (possible unauthorised disclosure)",
            "undeclared_category" => "Personal data of undeclared categories found on a system of a declared activity",
            "retention_exceeded" => "Personal data kept beyond the declared retention period",
            "unallowed_location" => "Personal data stored in a country the processing does not allow (unauthorised transfer)",
            _ => "Possible personal-data breach",
        };
        let measures: Vec<String> = timeline
            .iter()
            .filter(|e| !e.note.is_empty() && matches!(e.kind.as_str(), "triaged" | "assessed" | "notified" | "not_notifiable" | "measure"))
            .map(|e| format!("{} ({}, {}): {}", e.kind, e.actor, e.at, e.note))
            .collect();
        let late = now_ms > v.deadline_ms && v.status != Status::Notified.as_str();
        let mut todo = vec![
            format!("{TODO}: confirm the nature of the breach (confidentiality / integrity / availability) and how it happened"),
            format!("{TODO}: confirm the approximate numbers of data subjects and records"),
            format!("{TODO}: assess the likely consequences for the data subjects in this case"),
            format!("{TODO}: describe the measures taken and proposed to address the breach and mitigate its effects"),
            format!("{TODO}: decide whether data subjects must be informed (Art. 34: high risk)"),
        ];
        if late {
            todo.push(format!("{TODO}: the 72-hour deadline has passed: give the reasons for the delay (Art. 33(1))"));
        }
        if register.controller.dpo.email.is_empty() {
            todo.push(format!("{TODO}: the register has no DPO contact; add it"));
        }
        Art33Draft {
            incident_id: v.id,
            controller: register.controller.name.clone(),
            dpo: format!("{} <{}> {}", register.controller.dpo.name, register.controller.dpo.email, register.controller.dpo.phone).trim().to_string(),
            awareness: v.detected_at.clone(),
            deadline: v.deadline.clone(),
            late,
            nature: format!("{nature}. {}", rule_sentence(&v.rule)),
            data_categories: v
                .categories
                .iter()
                .map(|c| if c.parse::<Category>().is_ok_and(|c| c.is_special()) { format!("{c} (special category, Art. 9/10)") } else { c.clone() })
                .collect(),
            subject_categories,
            approx_subjects: v.distinct_subjects,
            approx_records: v.records,
            likely_consequences,
            measures,
            systems: vec![v.system.clone()],
            declared_security_measures,
            todo,
            timeline,
        }
    }

    /// Markdown rendering.
    pub fn markdown(&self) -> String {
        let list = |l: &[String], empty: &str| if l.is_empty() { format!("- {empty}\n") } else { l.iter().map(|x| format!("- {x}\n")).collect() };
        let mut s = format!("# Personal-data breach notification (GDPR Art. 33) — draft for incident #{}\n\n", self.incident_id);
        s += &format!(
            "Controller: {}  \nAwareness: {}  \nDeadline (72 h): {}{}\n\n",
            self.controller,
            self.awareness,
            self.deadline,
            if self.late { " — **passed**" } else { "" }
        );
        s += &format!("## (a) Nature of the breach\n\n{}\n\nSystems: {}\n\n", self.nature, self.systems.join(", "));
        s += &format!("Categories of personal data:\n{}\n", list(&self.data_categories, TODO));
        s += &format!("Categories of data subjects:\n{}\n", list(&self.subject_categories, &format!("{TODO}: no activity of the register covers this system")));
        s += &format!(
            "Approximate number of data subjects: {} (distinct keyed fingerprints)  \nApproximate number of records: {}\n\n",
            self.approx_subjects, self.approx_records
        );
        s += &format!("## (b) DPO contact\n\n{}\n\n", if self.dpo.is_empty() { TODO.to_string() } else { self.dpo.clone() });
        s += &format!("## (c) Likely consequences\n\n{}\n", list(&self.likely_consequences, TODO));
        s += &format!(
            "## (d) Measures taken or proposed\n\n{}\nSecurity measures declared in the register:\n{}\n",
            list(&self.measures, TODO),
            list(&self.declared_security_measures, "none declared")
        );
        s += "## Timeline\n\n";
        for e in &self.timeline {
            s += &format!("- {} {} ({}){}\n", e.at, e.kind, e.actor, if e.note.is_empty() { String::new() } else { format!(": {}", e.note) });
        }
        s += &format!("\n## To complete by the DPO\n\n{}", list(&self.todo, "nothing"));
        s
    }
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
    /// Distinct data subjects (estimate).
    pub approx_subjects: u64,
    /// Records (estimate).
    pub approx_records: u64,
    /// When notified, if it was.
    pub notified_at: String,
    /// Why not notified, if it was not.
    pub justification: String,
    /// Remedial actions from the timeline.
    pub remedial_actions: String,
}

/// The breach register: every incident, notified or not.
pub fn breach_register(store: &Store) -> Result<Vec<BreachRecord>, StoreError> {
    let mut out = Vec::new();
    for v in store.incidents()?.into_iter().rev().map(IncidentView::from) {
        let timeline: Vec<TimelineEntry> = store.timeline(v.id)?.into_iter().map(TimelineEntry::from).collect();
        let notified_at = timeline.iter().find(|e| e.kind == "notified").map_or(String::new(), |e| e.at.clone());
        let remedial = timeline
            .iter()
            .filter(|e| matches!(e.kind.as_str(), "triaged" | "assessed" | "measure") && !e.note.is_empty())
            .map(|e| e.note.clone())
            .collect::<Vec<_>>()
            .join(" | ");
        out.push(BreachRecord {
            incident_id: v.id,
            awareness: v.detected_at,
            deadline: v.deadline,
            rule: v.rule,
            severity: v.severity,
            status: v.status,
            system: v.system,
            categories: v.categories.join(";"),
            approx_subjects: v.distinct_subjects,
            approx_records: v.records,
            notified_at,
            justification: v.justification,
            remedial_actions: remedial,
        });
    }
    Ok(out)
}

/// CSV rendering of the breach register.
pub fn breach_register_csv(rows: &[BreachRecord]) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r)?;
    }
    if rows.is_empty() {
        w.write_record([
            "incident_id",
            "awareness",
            "deadline",
            "rule",
            "severity",
            "status",
            "system",
            "categories",
            "approx_subjects",
            "approx_records",
            "notified_at",
            "justification",
            "remedial_actions",
        ])?;
    }
    let bytes = w.into_inner().map_err(|e| csv::Error::from(e.into_error()))?;
    // Notes and justifications are typed by people: no cell may run as a spreadsheet formula.
    Ok(String::from_utf8_lossy(&crate::csv_cell::neutralise_document(&bytes)?).into_owned())
}
