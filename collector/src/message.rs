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

/// Builds the message about an incident; `console` is the console's public address, for a link
/// to the incident.
pub fn incident_message(event: &str, v: &IncidentView, now_ms: i64, console: Option<&str>) -> Message {
    let breach = v.is_breach();
    let left = hours_left(v.due_or_deadline_ms(), now_ms);
    let what = match (event, breach) {
        ("opened", true) => "Possible personal-data breach".to_string(),
        ("opened", false) => format!("Compliance item ({})", if v.rule == "retention_exceeded" { "retention overdue" } else { "register gap" }),
        ("worsened", _) => format!("{} worsened", if breach { "Possible breach" } else { "Compliance item" }),
        ("promoted", _) => "Compliance item promoted to a possible personal-data breach: the Art. 33 clock runs".to_string(),
        (e, true) if e.starts_with("reminder_") => format!("Art. 33 deadline in {left} h, incident not assessed"),
        (e, _) => e.to_string(),
    };
    let kind = if breach { "breach" } else { "compliance" };
    let subject = format!("[Custos] [{kind}] {what}: #{} {} ({}) on {}", v.id, v.rule, v.severity, v.system);
    let clock = if breach {
        format!("Awareness: {}\nArt. 33 deadline: {} ({left} h left)", v.awareness_at, v.deadline.as_deref().unwrap_or("-"))
    } else {
        format!("No Art. 33 clock (a register gap, not a breach). Due: {} ({left} h left)", v.due.as_deref().unwrap_or("-"))
    };
    let link = console.map(|c| format!("{c}/#/incidents/{}", v.id));
    let text = format!(
        "{what}\n\nIncident #{id} ({kind})  rule {rule}  severity {sev}  status {status}\nSystem: {system}\nCategories: {cats}\nFindings: {findings}\nData subjects (estimate): {subjects} ({subjects_how})\nRecords (estimate): {records} ({records_how})\n{clock}\n\nWhy:\n{why}\n\n{details}Details: custos-collector incident {id}\nDraft notification: custos-collector report {id} --format md\n",
        id = v.id,
        rule = v.rule,
        sev = v.severity,
        status = v.status,
        system = v.system,
        cats = v.categories.join(", "),
        findings = v.findings,
        subjects = v.subjects.value,
        subjects_how = v.subjects.method,
        records = v.records_estimate.value,
        records_how = v.records_estimate.method,
        why = v.explanation,
        details = link.as_ref().map_or(String::new(), |l| format!("In the console: {l}\n")),
    );
    let data = serde_json::json!({
        "event": event,
        "kind": kind,
        "hours_left": left,
        "url": link,
        "incident": {
            "id": v.id, "kind": kind, "rule": v.rule, "severity": v.severity, "status": v.status, "system": v.system,
            "categories": v.categories, "findings": v.findings, "distinct_subjects": v.distinct_subjects, "records": v.records,
            "detected_at": v.detected_at, "awareness_at": v.awareness_at, "deadline": v.deadline, "due": v.due,
            "activities": v.activities, "explanation": v.explanation,
        }
    });
    Message { event: event.to_string(), subject, text, data }
}
