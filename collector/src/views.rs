//! What the CLI and the console show: stored records with their times as RFC 3339 text and
//! their positions in words.
//!
//! The store keeps milliseconds and typed values; this module alone turns them into the text
//! that `--json` output, the console's API and the notifications carry, so a time or a position
//! is written the same way everywhere. Each view is built from one record (`From`).

use crate::correlation::IncidentKind;
use crate::estimate::Estimate;
use crate::store::agents::AgentRecord;
use crate::store::audit::AuditRecord;
use crate::store::findings::StoredFinding;
use crate::store::incidents::{IncidentRecord, NoteRecord};
use crate::store::mutes::MuteRecord;
use crate::store::outbox::NotificationRecord;
use crate::store::timeline::TimelineRecord;
use custos_proto::checked::Place;
use serde::Serialize;

/// RFC 3339 form of a millisecond timestamp (the number itself when out of range).
pub fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| ms.to_string())
}

/// `YYYY-MM-DD` (UTC) of a day number (days since the epoch).
pub fn day(day: i64) -> String {
    rfc3339(day * 86_400_000).get(..10).unwrap_or_default().to_string()
}

/// Where in its source a finding is, in words: `line N`, `table.column`, or nothing.
pub fn position(place: &Place) -> String {
    match place {
        Place::Text { line, .. } => format!("line {line}"),
        Place::Table { table, column, .. } => format!("{table}.{column}"),
        Place::Nowhere => String::new(),
    }
}

/// An incident as listed by `custos-collector incidents` and the console.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentView {
    /// Id.
    pub id: i64,
    /// `breach` (possible personal-data breach, Art. 33 clock) or `compliance` (register gap,
    /// due date, no clock).
    pub kind: String,
    /// Rule id.
    pub rule: String,
    /// Severity.
    pub severity: String,
    /// Workflow status.
    pub status: String,
    /// What it is about (`host:locator`, an activity, a place).
    pub system: String,
    /// The places its findings were seen (`host:locator`).
    pub systems: Vec<String>,
    /// Data categories involved.
    pub categories: Vec<String>,
    /// Findings attached.
    pub findings: u64,
    /// Estimate of affected data subjects (the value of `subjects`).
    pub distinct_subjects: u64,
    /// Data subjects: value, range and method.
    pub subjects: Estimate,
    /// Estimated records concerned (the value of `records_estimate`).
    pub records: u64,
    /// Records: value, range and method.
    pub records_estimate: Estimate,
    /// The DPO's own estimate, shown beside Custos' figures.
    pub dpo_estimate: Option<DpoEstimateView>,
    /// First detection (ms since epoch).
    pub detected_at_ms: i64,
    /// First detection, RFC 3339.
    pub detected_at: String,
    /// Awareness — first detection, or promotion to a breach (ms).
    pub awareness_at_ms: i64,
    /// Awareness, RFC 3339.
    pub awareness_at: String,
    /// Art. 33 deadline (ms since epoch); null for a compliance item.
    pub deadline_ms: Option<i64>,
    /// Art. 33 deadline, RFC 3339; null for a compliance item.
    pub deadline: Option<String>,
    /// Due date of a compliance item (ms); null for a breach.
    pub due_ms: Option<i64>,
    /// Due date of a compliance item, RFC 3339; null for a breach.
    pub due: Option<String>,
    /// When a finding last joined it, RFC 3339.
    pub last_seen_at: String,
    /// Register activities considered.
    pub activities: Vec<String>,
    /// Why it was opened.
    pub explanation: String,
    /// Why it was not notified (Art. 33(5)), when it was not.
    pub justification: String,
    /// The supervisory authority's reference of the notification.
    pub authority_reference: String,
    /// The Art. 34 decision and its reason.
    pub art34: Option<Art34View>,
}

/// The DPO's own estimate.
#[derive(Debug, Clone, Serialize)]
pub struct DpoEstimateView {
    /// Data subjects.
    pub subjects: Option<u64>,
    /// Records.
    pub records: Option<u64>,
    /// How the DPO counted.
    pub note: String,
}

/// The Art. 34 decision.
#[derive(Debug, Clone, Serialize)]
pub struct Art34View {
    /// `communicate`, `not_required` or `public_communication`.
    pub decision: String,
    /// Why.
    pub reason: String,
}

impl IncidentView {
    /// Whether it is a breach (the Art. 33 clock runs).
    pub fn is_breach(&self) -> bool {
        self.kind == IncidentKind::Breach.as_str()
    }

    /// Its Art. 33 deadline or due date (ms), whichever it has.
    pub fn due_or_deadline_ms(&self) -> i64 {
        self.deadline_ms.or(self.due_ms).unwrap_or(i64::MAX)
    }

    /// Its Art. 33 deadline or due date as text, whichever it has.
    pub fn due_or_deadline(&self) -> String {
        match (&self.deadline, &self.due) {
            (Some(d), _) => d.clone(),
            (None, Some(d)) => format!("due {d}"),
            (None, None) => String::new(),
        }
    }
}

impl From<IncidentRecord> for IncidentView {
    fn from(r: IncidentRecord) -> IncidentView {
        let breach = r.kind == IncidentKind::Breach;
        IncidentView {
            detected_at: rfc3339(r.detected_at_ms),
            awareness_at: rfc3339(r.awareness_at_ms),
            deadline_ms: breach.then_some(r.deadline_ms),
            deadline: breach.then(|| rfc3339(r.deadline_ms)),
            due_ms: (!breach).then_some(r.deadline_ms),
            due: (!breach).then(|| rfc3339(r.deadline_ms)),
            last_seen_at: rfc3339(r.last_seen_ms),
            id: r.id,
            kind: r.kind.as_str().to_string(),
            rule: r.rule,
            severity: r.severity,
            status: r.status,
            system: r.system,
            systems: r.systems,
            categories: r.categories,
            findings: r.findings,
            distinct_subjects: r.figures.subjects.value,
            subjects: r.figures.subjects,
            records: r.figures.records.value,
            records_estimate: r.figures.records,
            dpo_estimate: r.dpo_estimate.map(|d| DpoEstimateView { subjects: d.subjects, records: d.records, note: d.note }),
            detected_at_ms: r.detected_at_ms,
            awareness_at_ms: r.awareness_at_ms,
            activities: r.activities,
            explanation: r.explanation,
            justification: r.justification,
            authority_reference: r.authority_reference,
            art34: r.art34.map(|(decision, reason)| Art34View { decision, reason }),
        }
    }
}

/// A note on an incident.
#[derive(Debug, Clone, Serialize)]
pub struct NoteView {
    /// When, RFC 3339.
    pub at: String,
    /// What it is about (`facts`, `effects`, `remedial`, `follow_up` …).
    pub kind: String,
    /// Who.
    pub actor: String,
    /// The note.
    pub text: String,
    /// The authority's reference (follow-ups).
    pub reference: String,
}

impl From<NoteRecord> for NoteView {
    fn from(n: NoteRecord) -> NoteView {
        NoteView { at: rfc3339(n.at_ms), kind: n.kind, actor: n.actor, text: n.text, reference: n.reference }
    }
}

/// One stored finding, as the explorer lists it and as an incident's evidence shows it (a
/// masked preview, never a value).
#[derive(Debug, Clone, Serialize)]
pub struct FindingView {
    /// Finding id.
    pub id: String,
    /// The same id, under the name incident evidence has always used.
    pub finding_id: String,
    /// Agent.
    pub agent_id: String,
    /// Host.
    pub host: String,
    /// Path or table locator.
    pub locator: String,
    /// `line N` or `table.column`.
    pub at: String,
    /// Detector.
    pub detector: String,
    /// GDPR category (`unspecified` for export anomalies).
    pub category: String,
    /// Special category (Art. 9).
    pub special: bool,
    /// Detector confidence in [0, 1].
    pub confidence: f64,
    /// Masked preview.
    pub preview: String,
    /// `personal_data` or `export_anomaly`.
    pub kind: String,
    /// Counts, ages, heuristics.
    pub evidence: std::collections::BTreeMap<String, String>,
    /// When the agent saw it.
    pub observed_at: String,
    /// When the collector stored it.
    pub received_at: String,
}

impl From<StoredFinding> for FindingView {
    fn from(f: StoredFinding) -> FindingView {
        FindingView {
            finding_id: f.id.clone(),
            at: position(&f.place),
            category: f.category.map_or("unspecified", |c| c.as_str()).to_string(),
            kind: f.kind.name().to_string(),
            observed_at: rfc3339(f.observed_at_ms),
            received_at: rfc3339(f.received_at_ms),
            id: f.id,
            agent_id: f.agent_id,
            host: f.host,
            locator: f.locator,
            detector: f.detector,
            special: f.special,
            confidence: f.confidence,
            preview: f.preview,
            evidence: f.evidence,
        }
    }
}

/// One entry of an incident's timeline.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    /// Sequence.
    pub id: i64,
    /// Incident.
    pub incident_id: i64,
    /// When (ms).
    pub at_ms: i64,
    /// When, RFC 3339.
    pub at: String,
    /// `detected`, `worsened`, `triaged`, `assessed`, `draft`, `notified`, `not_notifiable`, `alert_sent`.
    pub kind: String,
    /// Who (`custos` for the collector itself).
    pub actor: String,
    /// Free text.
    pub note: String,
}

impl From<TimelineRecord> for TimelineEntry {
    fn from(t: TimelineRecord) -> TimelineEntry {
        TimelineEntry { id: t.id, incident_id: t.incident_id, at_ms: t.at_ms, at: rfc3339(t.at_ms), kind: t.kind, actor: t.actor, note: t.note }
    }
}

/// One queued or delivered notification.
#[derive(Debug, Clone, Serialize)]
pub struct NotificationView {
    /// Id.
    pub id: i64,
    /// Incident, if about one.
    pub incident_id: Option<i64>,
    /// `opened`, `worsened`, `reminder_48h`, `digest`, …
    pub event: String,
    /// `webhook` or `email`.
    pub channel: String,
    /// `pending`, `sent` or `failed`.
    pub status: String,
    /// Delivery attempts so far.
    pub attempts: i64,
    /// Last delivery error.
    pub last_error: String,
    /// Queued at.
    pub created_at: String,
    /// Delivered at.
    pub sent_at: Option<String>,
}

impl From<NotificationRecord> for NotificationView {
    fn from(n: NotificationRecord) -> NotificationView {
        NotificationView {
            id: n.id,
            incident_id: n.incident_id,
            event: n.event,
            channel: n.channel,
            status: n.status,
            attempts: n.attempts,
            last_error: n.last_error,
            created_at: rfc3339(n.created_at_ms),
            sent_at: n.sent_at_ms.map(rfc3339),
        }
    }
}

/// A rule muted for a system.
#[derive(Debug, Clone, Serialize)]
pub struct MuteEntry {
    /// Rule id.
    pub rule: String,
    /// System (`host:locator`).
    pub system: String,
    /// Why.
    pub reason: String,
    /// Who.
    pub muted_by: String,
    /// When.
    pub at: String,
}

impl From<MuteRecord> for MuteEntry {
    fn from(m: MuteRecord) -> MuteEntry {
        MuteEntry { at: rfc3339(m.at_ms), rule: m.rule, system: m.system, reason: m.reason, muted_by: m.muted_by }
    }
}

/// One audit-trail entry.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    /// When.
    pub at: String,
    /// Who.
    pub actor: String,
    /// What (`mute`, `unmute`, `incident_status`, `login` …).
    pub action: String,
    /// On what.
    pub subject: String,
    /// Why.
    pub detail: String,
}

impl From<AuditRecord> for AuditEntry {
    fn from(a: AuditRecord) -> AuditEntry {
        AuditEntry { at: rfc3339(a.at_ms), actor: a.actor, action: a.action, subject: a.subject, detail: a.detail }
    }
}

/// An agent as the inventory shows it.
#[derive(Debug, Clone, Serialize)]
pub struct AgentEntry {
    /// Agent id (the certificate's Common Name).
    pub agent_id: String,
    /// Host it reported from last.
    pub host: String,
    /// Agent version.
    pub version: String,
    /// First batch received.
    pub first_seen: String,
    /// Last batch received.
    pub last_seen: String,
    /// Last batch received (ms), for "silent for" displays.
    pub last_seen_ms: i64,
    /// Unacknowledged findings in its spool when it last sent.
    pub spool_depth: u64,
    /// Findings refused at the edge since it first sent (acknowledged, never stored).
    pub refused_findings: u64,
    /// Whether it is revoked.
    pub revoked: bool,
    /// Why, when revoked.
    pub revocation_reason: String,
}

impl From<AgentRecord> for AgentEntry {
    fn from(a: AgentRecord) -> AgentEntry {
        AgentEntry {
            first_seen: rfc3339(a.first_seen_ms),
            last_seen: rfc3339(a.last_seen_ms),
            agent_id: a.agent_id,
            host: a.host,
            version: a.version,
            last_seen_ms: a.last_seen_ms,
            spool_depth: a.spool_depth,
            refused_findings: a.refused_findings,
            revoked: a.revoked,
            revocation_reason: a.revocation_reason,
        }
    }
}

/// Findings received on one day.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DayCount {
    /// The day, `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Findings received that day (stored or already purged into counts).
    pub count: u64,
}

impl From<(i64, u64)> for DayCount {
    fn from((d, count): (i64, u64)) -> DayCount {
        DayCount { day: day(d), count }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_strings_are_utc_dates() {
        assert_eq!(day(0), "1970-01-01");
        assert_eq!(day(20_000), "2024-10-04");
    }

    #[test]
    fn positions_are_said_in_words() {
        assert_eq!(position(&Place::Text { line: 4, start: 1, end: 2, line_offset: 9 }), "line 4");
        assert_eq!(position(&Place::Table { table: "shop.customers".into(), column: "email".into(), row_key: String::new() }), "shop.customers.email");
        assert_eq!(position(&Place::Nowhere), "");
    }
}
