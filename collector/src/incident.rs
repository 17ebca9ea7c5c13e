//! Incidents (possible personal-data breaches) and their workflow.
//!
//! An incident groups the verdicts of one rule on one system within a time window (see
//! [`crate::store`]). Its clock starts at awareness — the first detection — and the Art. 33
//! deadline is 72 hours later. The workflow mirrors who decides what:
//!
//! ```text
//! new ──► triaged ──► assessed ──► notified
//!  (security)          (DPO)   └─► not_notifiable  (justification required, Art. 33(5))
//! ```
//!
//! Each step is recorded in the incident's timeline with who did it and why.

use std::fmt;

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
            let next = if allowed.is_empty() { "none: the incident is closed".to_string() } else { allowed.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" or ") };
            return Err(format!("an incident that is {} cannot become {}; next step: {next}", self.as_str(), to.as_str()));
        }
        if to == Status::NotNotifiable && note.trim().len() < 10 {
            return Err("not_notifiable needs a justification (--note): why the breach is unlikely to result in a risk (Art. 33(1), documented under Art. 33(5))".into());
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
