//! Incidents: how verdicts group into them, their kind and clock, and their workflow.
//!
//! # Two kinds
//! A **breach** (possible personal-data breach: an export, an exposure) runs the Art. 33
//! clock from awareness; a **compliance** item (a register gap, retention overdue) has a due
//! date and no clock (see [`IncidentKind`]). The DPO promotes a compliance item to a breach —
//! awareness is then the promotion, and the clock starts — or demotes a breach to compliance
//! with a justification; both go to the timeline and the audit trail.
//!
//! # Grouping
//! An incident gathers the verdicts of one group (see [`crate::correlation`]): one export
//! event, one exposed place, one compliance item of an activity. [`group`] decides, for one
//! verdict and the open incident of its group if any, whether it opens an incident or joins
//! that one — and, when it joins, what it adds (a worse severity, new categories). A breach
//! event that went quiet for longer than the quiet gap, or whose incident is older than the
//! window, is a new event: it opens its own incident and is notified, rather than being
//! absorbed by an incident someone may already have dismissed. A compliance item gathers its
//! verdicts for as long as it is open. It is a pure function; the store applies its decision in
//! the transaction that stored the finding, under the group's lock.
//!
//! # The clock
//! A breach's clock starts at awareness — the first detection, or the promotion — and the
//! Art. 33 deadline is [`NOTIFICATION_DELAY_MS`] (72 hours) later. It never moves afterwards.
//!
//! # Workflow
//! The workflow mirrors who decides what:
//!
//! ```text
//! breach:      new ──► triaged ──► assessed ──► notified ──► (follow-ups, Art. 33(4))
//!              (security)           (DPO)   └─► not_notifiable  (justification, Art. 33(5))
//! compliance:  new ──► triaged ──► resolved   (or resolved at once; a register update that
//!                   └────────────► resolved    makes its rule stop firing resolves it)
//! ```
//!
//! Each step is recorded in the incident's timeline with who did it and why.

pub use crate::correlation::IncidentKind;
use crate::correlation::{CorrelationSettings, Severity, Verdict};
use custos_rules::Category;
use std::fmt;

/// The Art. 33 clock: 72 hours from awareness.
pub const NOTIFICATION_DELAY_MS: i64 = 72 * 3600 * 1000;

/// An open incident a verdict may join: what grouping needs to know of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenIncident {
    /// Id.
    pub id: i64,
    /// Breach or compliance (a promoted or demoted incident keeps gathering its group).
    pub kind: IncidentKind,
    /// Severity as stored (`None` when the stored text is not a severity: any verdict is worse).
    pub severity: Option<Severity>,
    /// Categories already recorded.
    pub categories: Vec<Category>,
    /// Whether the incident was opened by the batch being settled (its first verdicts are part
    /// of its detection, not news).
    pub opened_now: bool,
    /// When it was first detected (ms).
    pub detected_at_ms: i64,
    /// When a verdict last joined it (ms).
    pub last_seen_ms: i64,
}

/// What a verdict does to the incidents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grouping {
    /// Opens an incident now.
    Open {
        /// Breach or compliance.
        kind: IncidentKind,
        /// The Art. 33 deadline of a breach, or the due date of a compliance item (ms).
        deadline_ms: i64,
    },
    /// Joins an open incident.
    Join {
        /// The incident.
        id: i64,
        /// What the verdict adds, when it adds anything.
        worsened: Option<Worsening>,
    },
}

/// What a joining verdict adds to an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Worsening {
    /// The severity the incident now has (the old one when it did not rise).
    pub severity: Severity,
    /// The severity rose from the stored text (shown as "severity medium → high").
    pub raised_from: Option<String>,
    /// Categories not yet recorded.
    pub new_categories: Vec<Category>,
    /// A `worsened` timeline entry (and thus a notification): `None` when the incident was
    /// opened by the same batch.
    pub timeline_note: Option<String>,
}

/// Whether a verdict may still join `open`: a compliance item gathers its group while it is
/// open; a breach only while its event is active — not after a quiet gap, nor past the window.
pub fn joinable(open: &OpenIncident, settings: &CorrelationSettings, now_ms: i64) -> bool {
    match open.kind {
        IncidentKind::Compliance => true,
        IncidentKind::Breach => now_ms - open.last_seen_ms <= settings.quiet_gap_ms && now_ms - open.detected_at_ms <= settings.window_ms,
    }
}

/// Decides what one verdict does: open an incident, or join `open` (the open incident of its
/// group, if any, that it may still join — see [`joinable`]). `stored_severity` is the open
/// incident's severity as stored.
pub fn group(verdict: &Verdict, open: Option<&OpenIncident>, stored_severity: &str, settings: &CorrelationSettings, now_ms: i64) -> Grouping {
    let Some(open) = open.filter(|o| joinable(o, settings, now_ms)) else {
        let deadline_ms = match verdict.kind {
            IncidentKind::Breach => now_ms + NOTIFICATION_DELAY_MS,
            IncidentKind::Compliance => now_ms + settings.compliance_due_ms,
        };
        return Grouping::Open { kind: verdict.kind, deadline_ms };
    };
    let new_categories: Vec<Category> = verdict.categories.iter().copied().filter(|c| !open.categories.contains(c)).collect();
    let worse = open.severity.is_none_or(|s| verdict.severity > s);
    if new_categories.is_empty() && !worse {
        return Grouping::Join { id: open.id, worsened: None };
    }
    let mut note = Vec::new();
    if worse {
        note.push(format!("severity {stored_severity} → {}", verdict.severity));
    }
    if !new_categories.is_empty() {
        note.push(format!("new categories: {}", new_categories.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")));
    }
    Grouping::Join {
        id: open.id,
        worsened: Some(Worsening {
            severity: if worse { verdict.severity } else { open.severity.unwrap_or(verdict.severity) },
            raised_from: worse.then(|| stored_severity.to_string()),
            new_categories,
            // Worse news in the batch that opened the incident is part of its detection, not a
            // second alert.
            timeline_note: (!open.opened_now).then(|| note.join("; ")),
        }),
    }
}

/// Where an incident stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Detected, nobody looked yet.
    New,
    /// The security team confirmed what happened.
    Triaged,
    /// The DPO assessed the personal-data impact and risk (breaches).
    Assessed,
    /// The supervisory authority was notified (breaches; follow-ups may come after).
    Notified,
    /// Not notified: unlikely to result in a risk (the justification is kept; breaches).
    NotNotifiable,
    /// The register gap was fixed or the data removed (compliance items).
    Resolved,
}

impl Status {
    /// Every status.
    pub const ALL: [Status; 6] = [Status::New, Status::Triaged, Status::Assessed, Status::Notified, Status::NotNotifiable, Status::Resolved];

    /// snake_case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Triaged => "triaged",
            Status::Assessed => "assessed",
            Status::Notified => "notified",
            Status::NotNotifiable => "not_notifiable",
            Status::Resolved => "resolved",
        }
    }

    /// Parses [`Status::as_str`].
    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether the incident is still open (its clock or due date matters).
    pub fn is_open(self) -> bool {
        matches!(self, Status::New | Status::Triaged | Status::Assessed)
    }

    /// Checks a move along the workflow of an incident of `kind`; the error says what is
    /// allowed instead.
    pub fn check_transition(self, kind: IncidentKind, to: Status, note: &str, by: &str) -> Result<(), String> {
        if by.trim().is_empty() {
            return Err("say who makes the change (--by NAME): it goes to the audit trail".into());
        }
        let allowed: &[Status] = match (kind, self) {
            (IncidentKind::Breach, Status::New) => &[Status::Triaged],
            (IncidentKind::Breach, Status::Triaged) => &[Status::Assessed],
            (IncidentKind::Breach, Status::Assessed) => &[Status::Notified, Status::NotNotifiable],
            (IncidentKind::Compliance, Status::New) => &[Status::Triaged, Status::Resolved],
            (IncidentKind::Compliance, Status::Triaged | Status::Assessed) => &[Status::Resolved],
            (_, Status::Notified | Status::NotNotifiable | Status::Resolved) => &[],
        };
        if !allowed.contains(&to) {
            let next = if allowed.is_empty() {
                "none: the incident is closed".to_string()
            } else {
                allowed.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" or ")
            };
            return Err(format!("a {kind} incident that is {} cannot become {}; next step: {next}", self.as_str(), to.as_str()));
        }
        if to == Status::NotNotifiable && note.trim().len() < 10 {
            return Err(
                "not_notifiable needs a justification (--note): why the breach is unlikely to result in a risk (Art. 33(1), documented under Art. 33(5))"
                    .into(),
            );
        }
        if to == Status::Resolved && note.trim().len() < 10 {
            return Err("resolved needs a note (--note): what was fixed (register updated, data deleted …)".into());
        }
        Ok(())
    }
}

/// Checks a change of kind: promoting an open compliance item to a breach (its clock starts
/// now), or demoting an open breach that was not notified to compliance, with a justification.
pub fn check_kind_change(from: IncidentKind, to: IncidentKind, status: Status, note: &str, by: &str) -> Result<(), String> {
    if by.trim().is_empty() {
        return Err("say who makes the change (--by NAME): it goes to the audit trail".into());
    }
    if from == to {
        return Err(format!("the incident is already a {to} incident"));
    }
    if !status.is_open() {
        return Err(format!("the incident is {}: reopen questions go in a new incident or a follow-up", status.as_str()));
    }
    if to == IncidentKind::Compliance && note.trim().len() < 10 {
        return Err("demoting a breach needs a justification (--note): why no personal data was exposed or accessed without authority".into());
    }
    Ok(())
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Hours left before a deadline (negative when past), rounded down.
pub fn hours_left(deadline_ms: i64, now_ms: i64) -> i64 {
    (deadline_ms - now_ms).div_euclid(3_600_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlation::Rule;

    fn verdict(severity: Severity, categories: &[Category]) -> Verdict {
        Verdict {
            rule: Rule::UndeclaredCategory,
            kind: IncidentKind::Compliance,
            severity,
            system: "h:/x".into(),
            group: "g".into(),
            label: "l".into(),
            categories: categories.to_vec(),
            explanation: "why".into(),
            activities: vec![],
            records: None,
        }
    }

    fn open(severity: Severity, categories: &[Category], opened_now: bool) -> OpenIncident {
        OpenIncident {
            id: 7,
            kind: IncidentKind::Compliance,
            severity: Some(severity),
            categories: categories.to_vec(),
            opened_now,
            detected_at_ms: 0,
            last_seen_ms: 0,
        }
    }

    fn settings() -> CorrelationSettings {
        CorrelationSettings::default()
    }

    #[test]
    fn a_compliance_verdict_without_an_open_item_opens_one_due_in_30_days() {
        assert_eq!(
            group(&verdict(Severity::Medium, &[Category::Contact]), None, "", &settings(), 1_000),
            Grouping::Open { kind: IncidentKind::Compliance, deadline_ms: 1_000 + 30 * 86_400_000 }
        );
    }

    #[test]
    fn a_verdict_that_adds_nothing_joins_quietly() {
        let g = group(&verdict(Severity::Medium, &[Category::Contact]), Some(&open(Severity::High, &[Category::Contact], false)), "high", &settings(), 5);
        assert_eq!(g, Grouping::Join { id: 7, worsened: None });
    }

    #[test]
    fn a_worse_severity_or_a_new_category_worsens_the_incident_with_a_timeline_note() {
        let g = group(&verdict(Severity::High, &[Category::Financial]), Some(&open(Severity::Medium, &[Category::Contact], false)), "medium", &settings(), 5);
        let Grouping::Join { id: 7, worsened: Some(w) } = g else { panic!("{g:?}") };
        assert_eq!(w.severity, Severity::High);
        assert_eq!(w.new_categories, vec![Category::Financial]);
        assert_eq!(w.timeline_note.as_deref(), Some("severity medium → high; new categories: financial"));
    }

    #[test]
    fn worse_news_in_the_batch_that_opened_the_incident_is_not_a_second_alert() {
        let g = group(&verdict(Severity::High, &[Category::Health]), Some(&open(Severity::Medium, &[Category::Contact], true)), "medium", &settings(), 5);
        let Grouping::Join { worsened: Some(w), .. } = g else { panic!("{g:?}") };
        assert_eq!(w.timeline_note, None);
        assert_eq!(w.new_categories, vec![Category::Health]);
    }

    #[test]
    fn workflow_goes_forward_only() {
        assert!(Status::New.check_transition(IncidentKind::Breach, Status::Triaged, "", "alice").is_ok());
        assert!(Status::New.check_transition(IncidentKind::Breach, Status::Notified, "", "alice").unwrap_err().contains("next step: triaged"));
        assert!(Status::Notified.check_transition(IncidentKind::Breach, Status::Assessed, "", "alice").is_err());
    }

    #[test]
    fn not_notifiable_needs_a_justification_and_an_author() {
        assert!(Status::Assessed.check_transition(IncidentKind::Breach, Status::NotNotifiable, "", "dpo").is_err());
        assert!(Status::Assessed.check_transition(IncidentKind::Breach, Status::NotNotifiable, "encrypted at rest, key not exposed", "").is_err());
        assert!(Status::Assessed.check_transition(IncidentKind::Breach, Status::NotNotifiable, "encrypted at rest, key not exposed", "dpo").is_ok());
    }

    #[test]
    fn a_breach_event_that_went_quiet_is_a_new_incident() {
        let v = Verdict { kind: IncidentKind::Breach, ..verdict(Severity::Critical, &[Category::Contact]) };
        let mut o = open(Severity::Critical, &[Category::Contact], false);
        o.kind = IncidentKind::Breach;
        o.last_seen_ms = 1_000;
        assert_eq!(group(&v, Some(&o), "critical", &settings(), 1_000 + 10 * 60_000), Grouping::Join { id: 7, worsened: None }, "still active");
        assert_eq!(
            group(&v, Some(&o), "critical", &settings(), 1_000 + 2 * 3_600_000),
            Grouping::Open { kind: IncidentKind::Breach, deadline_ms: 1_000 + 2 * 3_600_000 + NOTIFICATION_DELAY_MS }
        );
    }

    #[test]
    fn a_compliance_item_gathers_its_group_for_as_long_as_it_is_open() {
        let o = open(Severity::Medium, &[Category::Contact], false);
        assert_eq!(
            group(&verdict(Severity::Medium, &[Category::Contact]), Some(&o), "medium", &settings(), 400 * 86_400_000),
            Grouping::Join { id: 7, worsened: None }
        );
    }

    #[test]
    fn compliance_items_are_resolved_with_a_note_and_cannot_be_notified() {
        assert!(Status::New.check_transition(IncidentKind::Compliance, Status::Resolved, "register updated: crm-sync declared", "dpo").is_ok());
        assert!(Status::New.check_transition(IncidentKind::Compliance, Status::Resolved, "", "dpo").is_err());
        assert!(Status::Triaged.check_transition(IncidentKind::Compliance, Status::Notified, "x", "dpo").unwrap_err().contains("next step: resolved"));
        assert!(Status::Triaged.check_transition(IncidentKind::Breach, Status::Resolved, "a long enough note", "dpo").is_err());
    }

    #[test]
    fn promotion_needs_an_open_item_and_demotion_a_justification() {
        assert!(check_kind_change(IncidentKind::Compliance, IncidentKind::Breach, Status::New, "", "dpo").is_ok());
        assert!(check_kind_change(IncidentKind::Breach, IncidentKind::Compliance, Status::Triaged, "", "dpo").unwrap_err().contains("justification"));
        assert!(check_kind_change(IncidentKind::Breach, IncidentKind::Compliance, Status::Triaged, "test data, no real person", "dpo").is_ok());
        assert!(check_kind_change(IncidentKind::Breach, IncidentKind::Compliance, Status::Notified, "test data, no real person", "dpo").is_err());
    }
}
