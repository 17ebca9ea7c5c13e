//! Incidents (possible personal-data breaches): how verdicts group into them, and their workflow.
//!
//! # Grouping
//! An incident groups the verdicts of one rule on one system within a time window.
//! [`group`] decides, for one verdict and the open incident of its (rule, system) if any,
//! whether it opens an incident or joins that one — and, when it joins, what it adds (a worse
//! severity, new categories). It is a pure function; the store applies its decision in the
//! transaction that stored the finding, under the grouping key's lock.
//!
//! # The clock
//! An incident's clock starts at awareness — the first detection — and the Art. 33 deadline is
//! [`NOTIFICATION_DELAY_MS`] (72 hours) later. It never moves afterwards.
//!
//! # Workflow
//! The workflow mirrors who decides what:
//!
//! ```text
//! new ──► triaged ──► assessed ──► notified
//!  (security)          (DPO)   └─► not_notifiable  (justification required, Art. 33(5))
//! ```
//!
//! Each step is recorded in the incident's timeline with who did it and why.

use crate::correlation::{Severity, Verdict};
use custos_rules::Category;
use std::fmt;

/// The Art. 33 clock: 72 hours from awareness.
pub const NOTIFICATION_DELAY_MS: i64 = 72 * 3600 * 1000;

/// An open incident a verdict may join: what grouping needs to know of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenIncident {
    /// Id.
    pub id: i64,
    /// Severity as stored (`None` when the stored text is not a severity: any verdict is worse).
    pub severity: Option<Severity>,
    /// Categories already recorded.
    pub categories: Vec<Category>,
    /// Whether the incident was opened by the batch being settled (its first verdicts are part
    /// of its detection, not news).
    pub opened_now: bool,
}

/// What a verdict does to the incidents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grouping {
    /// Opens an incident: awareness now, deadline 72 hours later.
    Open {
        /// The Art. 33 deadline (ms).
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

/// Decides what one verdict does: open an incident, or join `open` (the open incident of its
/// rule and system within the window, if any). `stored_severity` is the open incident's
/// severity as stored.
pub fn group(verdict: &Verdict, open: Option<&OpenIncident>, stored_severity: &str, now_ms: i64) -> Grouping {
    let Some(open) = open else {
        return Grouping::Open { deadline_ms: now_ms + NOTIFICATION_DELAY_MS };
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
    /// The DPO assessed the personal-data impact and risk.
    Assessed,
    /// The supervisory authority was notified.
    Notified,
    /// Not notified: unlikely to result in a risk (the justification is kept).
    NotNotifiable,
}

impl Status {
    /// Every status.
    pub const ALL: [Status; 5] = [Status::New, Status::Triaged, Status::Assessed, Status::Notified, Status::NotNotifiable];

    /// snake_case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Triaged => "triaged",
            Status::Assessed => "assessed",
            Status::Notified => "notified",
            Status::NotNotifiable => "not_notifiable",
        }
    }

    /// Parses [`Status::as_str`].
    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether the incident is still open (its clock matters).
    pub fn is_open(self) -> bool {
        matches!(self, Status::New | Status::Triaged | Status::Assessed)
    }

    /// Checks a move along the workflow; the error says what is allowed instead.
    pub fn check_transition(self, to: Status, note: &str, by: &str) -> Result<(), String> {
        if by.trim().is_empty() {
            return Err("say who makes the change (--by NAME): it goes to the audit trail".into());
        }
        let allowed: &[Status] = match self {
            Status::New => &[Status::Triaged],
            Status::Triaged => &[Status::Assessed],
            Status::Assessed => &[Status::Notified, Status::NotNotifiable],
            Status::Notified | Status::NotNotifiable => &[],
        };
        if !allowed.contains(&to) {
            let next = if allowed.is_empty() {
                "none: the incident is closed".to_string()
            } else {
                allowed.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" or ")
            };
            return Err(format!("an incident that is {} cannot become {}; next step: {next}", self.as_str(), to.as_str()));
        }
        if to == Status::NotNotifiable && note.trim().len() < 10 {
            return Err(
                "not_notifiable needs a justification (--note): why the breach is unlikely to result in a risk (Art. 33(1), documented under Art. 33(5))"
                    .into(),
            );
        }
        Ok(())
    }
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
            severity,
            system: "h:/x".into(),
            categories: categories.to_vec(),
            explanation: "why".into(),
            activities: vec![],
        }
    }

    fn open(severity: Severity, categories: &[Category], opened_now: bool) -> OpenIncident {
        OpenIncident { id: 7, severity: Some(severity), categories: categories.to_vec(), opened_now }
    }

    #[test]
    fn a_verdict_without_an_open_incident_opens_one_with_a_72_hour_clock() {
        assert_eq!(group(&verdict(Severity::Medium, &[Category::Contact]), None, "", 1_000), Grouping::Open { deadline_ms: 1_000 + 72 * 3_600_000 });
    }

    #[test]
    fn a_verdict_that_adds_nothing_joins_quietly() {
        let g = group(&verdict(Severity::Medium, &[Category::Contact]), Some(&open(Severity::High, &[Category::Contact], false)), "high", 5);
        assert_eq!(g, Grouping::Join { id: 7, worsened: None });
    }

    #[test]
    fn a_worse_severity_or_a_new_category_worsens_the_incident_with_a_timeline_note() {
        let g = group(&verdict(Severity::High, &[Category::Financial]), Some(&open(Severity::Medium, &[Category::Contact], false)), "medium", 5);
        let Grouping::Join { id: 7, worsened: Some(w) } = g else { panic!("{g:?}") };
        assert_eq!(w.severity, Severity::High);
        assert_eq!(w.new_categories, vec![Category::Financial]);
        assert_eq!(w.timeline_note.as_deref(), Some("severity medium → high; new categories: financial"));
    }

    #[test]
    fn worse_news_in_the_batch_that_opened_the_incident_is_not_a_second_alert() {
        let g = group(&verdict(Severity::High, &[Category::Health]), Some(&open(Severity::Medium, &[Category::Contact], true)), "medium", 5);
        let Grouping::Join { worsened: Some(w), .. } = g else { panic!("{g:?}") };
        assert_eq!(w.timeline_note, None);
        assert_eq!(w.new_categories, vec![Category::Health]);
    }

    #[test]
    fn workflow_goes_forward_only() {
        assert!(Status::New.check_transition(Status::Triaged, "", "alice").is_ok());
        assert!(Status::New.check_transition(Status::Notified, "", "alice").unwrap_err().contains("next step: triaged"));
        assert!(Status::Notified.check_transition(Status::Assessed, "", "alice").is_err());
    }

    #[test]
    fn not_notifiable_needs_a_justification_and_an_author() {
        assert!(Status::Assessed.check_transition(Status::NotNotifiable, "", "dpo").is_err());
        assert!(Status::Assessed.check_transition(Status::NotNotifiable, "encrypted at rest, key not exposed", "").is_err());
        assert!(Status::Assessed.check_transition(Status::NotNotifiable, "encrypted at rest, key not exposed", "dpo").is_ok());
    }
}
