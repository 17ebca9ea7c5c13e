//! The weekly digest: the agenda of the DPO / CISO incident check-in, and register coverage.
//!
//! It lists the week's new incidents, the open incidents with their Art. 33 deadlines, the
//! *undeclared stores* (places where agents found personal data that no activity of the
//! register covers), the *declared systems never seen* by any agent (a register entry with no
//! agent watching it, or a stale entry), and agents silent for too long.
//! `custos-collector digest` prints it; the running collector sends it weekly
//! (`notifications.digest_weekday` / `digest_hour`, UTC) on the configured channels.

use crate::config::NotificationConfig;
use crate::incident::{Status, hours_left};
use crate::message::Message;
use crate::register::Register;
use crate::store::{Store, StoreError};
use crate::views::{IncidentView, rfc3339};
use serde::Serialize;

const WEEK_MS: i64 = 7 * 24 * 3_600_000;

/// The ISO week (`2026-W48`) whose digest is due at `now`, if it is digest time.
pub fn due_week(cfg: &NotificationConfig, now_ms: i64) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp(now_ms.div_euclid(1000)).ok()?;
    let day = crate::config::weekday(&cfg.digest_weekday)?;
    (t.weekday() == day && t.hour() >= cfg.digest_hour).then(|| format!("{}-W{:02}", t.year(), t.iso_week()))
}

/// One line about an incident.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentLine {
    /// Id.
    pub id: i64,
    /// Rule.
    pub rule: String,
    /// Severity.
    pub severity: String,
    /// Status.
    pub status: String,
    /// System.
    pub system: String,
    /// `breach` or `compliance`.
    pub kind: String,
    /// The Art. 33 deadline of a breach, the due date of a compliance item.
    pub deadline: String,
    /// Hours left (negative when past).
    pub hours_left: i64,
}

/// The digest.
#[derive(Debug, Clone, Serialize)]
pub struct Digest {
    /// Generated at.
    pub at: String,
    /// Incidents detected in the last 7 days.
    pub new_incidents: Vec<IncidentLine>,
    /// Open breaches (new, triaged, assessed), nearest Art. 33 deadline first.
    pub open_deadlines: Vec<IncidentLine>,
    /// Open compliance items (register gaps, retention overdue), nearest due date first.
    pub compliance_queue: Vec<IncidentLine>,
    /// `host:locator [categories]` of personal data no activity covers.
    pub undeclared_stores: Vec<String>,
    /// Declared systems no agent has reported personal data from: `activity: system`.
    pub unseen_systems: Vec<String>,
    /// `agent (host), last seen`.
    pub silent_agents: Vec<String>,
    /// Systems of the data map first seen this week: `categories on host:locator (activity)`.
    pub new_on_map: Vec<String>,
}

impl Digest {
    /// Builds the digest from the store and the register in force.
    pub fn build(store: &Store, register: &Register, silent_agent_hours: u32, now_ms: i64) -> Result<Digest, StoreError> {
        let incidents: Vec<IncidentView> = store.incidents()?.into_iter().map(IncidentView::from).collect();
        let line = |v: &IncidentView| IncidentLine {
            id: v.id,
            rule: v.rule.clone(),
            severity: v.severity.clone(),
            status: v.status.clone(),
            system: v.system.clone(),
            kind: v.kind.clone(),
            deadline: v.due_or_deadline(),
            hours_left: hours_left(v.due_or_deadline_ms(), now_ms),
        };
        let new_incidents = incidents.iter().filter(|v| v.detected_at_ms >= now_ms - WEEK_MS).map(line).collect();
        let mut open: Vec<_> = incidents.iter().filter(|v| Status::parse(&v.status).is_some_and(Status::is_open)).collect();
        open.sort_by_key(|v| v.due_or_deadline_ms());
        let (breaches, compliance): (Vec<&IncidentView>, Vec<&IncidentView>) = open.into_iter().partition(|v| v.is_breach());
        let open_deadlines = breaches.into_iter().map(line).collect();
        let compliance_queue = compliance.into_iter().map(line).collect();
        let coverage = crate::coverage::Coverage::build(store, register)?;
        let undeclared_stores = coverage.undeclared_stores.iter().map(|u| format!("{}:{} [{}]", u.host, u.locator, u.categories.join(", "))).collect();
        let unseen_systems = coverage.unseen_systems;
        let silent_ms = i64::from(silent_agent_hours) * 3_600_000;
        let silent_agents = store
            .agents()?
            .into_iter()
            .filter(|(_, _, last)| *last < now_ms - silent_ms)
            .map(|(a, h, last)| format!("{a} ({h}), last seen {}", rfc3339(last)))
            .collect();
        let new_on_map = crate::datamap::build(store, register, &crate::correlation::Policy::default(), Some(now_ms - WEEK_MS))?
            .into_iter()
            .filter(|r| r.change == "new")
            .map(|r| format!("{} data on {} ({})", r.categories.join(", "), r.system, r.activity))
            .collect();
        Ok(Digest { at: rfc3339(now_ms), new_incidents, open_deadlines, compliance_queue, undeclared_stores, unseen_systems, silent_agents, new_on_map })
    }

    /// Plain-text rendering.
    pub fn text(&self) -> String {
        let mut s = format!("Custos weekly digest — {}\n", self.at);
        let inc = |l: &IncidentLine| {
            let when = if l.kind == "breach" { format!("Art. 33 deadline {}", l.deadline) } else { l.deadline.clone() };
            format!("  #{} [{}] [{}] {} on {} — {} — {when} ({} h left)\n", l.id, l.kind, l.severity, l.rule, l.system, l.status, l.hours_left)
        };
        s += &format!("\nNew incidents this week ({}):\n", self.new_incidents.len());
        self.new_incidents.iter().for_each(|l| s += &inc(l));
        s += &format!("\nOpen possible breaches and their Art. 33 deadlines ({}):\n", self.open_deadlines.len());
        self.open_deadlines.iter().for_each(|l| s += &inc(l));
        s += &format!("\nCompliance queue — register gaps and retention overdue, no clock ({}):\n", self.compliance_queue.len());
        self.compliance_queue.iter().for_each(|l| s += &inc(l));
        for (title, list) in [
            ("Undeclared stores (personal data no activity covers)", &self.undeclared_stores),
            ("Declared systems never seen by an agent", &self.unseen_systems),
            ("Silent agents", &self.silent_agents),
            ("New on the data map this week", &self.new_on_map),
        ] {
            s += &format!("\n{title} ({}):\n", list.len());
            list.iter().for_each(|l| s += &format!("  {l}\n"));
        }
        s
    }

    /// As a notification.
    pub fn message(&self) -> Message {
        Message {
            event: "digest".into(),
            subject: format!(
                "[Custos] Weekly digest: {} new, {} open possible breaches, {} compliance items, {} undeclared stores",
                self.new_incidents.len(),
                self.open_deadlines.len(),
                self.compliance_queue.len(),
                self.undeclared_stores.len()
            ),
            text: self.text(),
            data: serde_json::json!({ "event": "digest", "digest": self }),
        }
    }
}
