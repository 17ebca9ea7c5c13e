//! What Custos tells the DPO and the security team, ready for any channel: a subject, a plain
//! text and structured data — naming incidents, rules, systems, categories and counts, never a
//! value or a preview.

use crate::incident::hours_left;
use crate::views::IncidentView;

/// A message ready for any channel.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Message {
    /// `opened`, `worsened`, `reminder_24h`, `digest`.
    pub event: String,
    /// E-mail subject.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// Structured content for the webhook.
    pub data: serde_json::Value,
}

/// Builds the message about an incident.
pub fn incident_message(event: &str, v: &IncidentView, now_ms: i64) -> Message {
    let left = hours_left(v.deadline_ms, now_ms);
    let what = match event {
        "opened" => "Possible personal-data breach".to_string(),
        "worsened" => "Incident worsened".to_string(),
        e if e.starts_with("reminder_") => format!("Art. 33 deadline in {left} h, incident not assessed"),
        e => e.to_string(),
    };
    let subject = format!("[Custos] {what}: #{} {} ({}) on {}", v.id, v.rule, v.severity, v.system);
    let text = format!(
        "{what}\n\nIncident #{id}  rule {rule}  severity {sev}  status {status}\nSystem: {system}\nCategories: {cats}\nFindings: {findings}  distinct data subjects (estimate): {subjects}\nAwareness: {detected}\nArt. 33 deadline: {deadline} ({left} h left)\n\nWhy:\n{why}\n\nDetails: custos-collector incident {id}\nDraft notification: custos-collector report {id} --format md\n",
        id = v.id,
        rule = v.rule,
        sev = v.severity,
        status = v.status,
        system = v.system,
        cats = v.categories.join(", "),
        findings = v.findings,
        subjects = v.distinct_subjects,
        detected = v.detected_at,
        deadline = v.deadline,
        why = v.explanation,
    );
    let data = serde_json::json!({
        "event": event,
        "hours_left": left,
        "incident": {
            "id": v.id, "rule": v.rule, "severity": v.severity, "status": v.status, "system": v.system,
            "categories": v.categories, "findings": v.findings, "distinct_subjects": v.distinct_subjects,
            "detected_at": v.detected_at, "deadline": v.deadline, "activities": v.activities, "explanation": v.explanation,
        }
    });
    Message { event: event.to_string(), subject, text, data }
}
