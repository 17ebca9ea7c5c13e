//! What the API answers about an incident: its view, its clock, and what the caller may do
//! with it now (status changes and the DPO's decisions).

use super::auth::Caller;
use crate::accounts::Permission;
use crate::correlation::IncidentKind;
use crate::incident::Status;
use crate::views::IncidentView;
use serde_json::{Value, json};

/// An incident with its clock; `actions` (the status changes this caller may make now) when a
/// caller is given.
pub fn incident_json(v: &IncidentView, now: i64, caller: Option<&Caller>) -> Value {
    let mut j = serde_json::to_value(v).unwrap_or_default();
    let open = Status::parse(&v.status).is_some_and(Status::is_open);
    j["open"] = json!(open);
    // A breach's Art. 33 clock, or a compliance item's due date.
    let due = v.due_or_deadline_ms();
    j["overdue"] = json!(open && due < now);
    j["seconds_left"] = json!((due - now) / 1000);
    if let Some(c) = caller {
        j["actions"] = json!(allowed_actions(v, c));
        j["decisions"] = json!(allowed_decisions(v, c));
    }
    j
}

/// The permission a status change needs.
pub fn permission_for(to: Status) -> Permission {
    match to {
        Status::Triaged => Permission::Triage,
        Status::Assessed => Permission::Assess,
        _ => Permission::Decide,
    }
}

fn allowed_actions(v: &IncidentView, caller: &Caller) -> Vec<&'static str> {
    let Some(from) = Status::parse(&v.status) else { return Vec::new() };
    let kind = crate::correlation::IncidentKind::parse(&v.kind).unwrap_or(crate::correlation::IncidentKind::Breach);
    Status::ALL
        .into_iter()
        .filter(|to| from.check_transition(kind, *to, "a justification long enough", "someone").is_ok() && caller.user.role.may(permission_for(*to)))
        .map(Status::as_str)
        .collect()
}

/// The DPO's decisions the caller may take on this incident now: `promote` (compliance →
/// breach), `demote`, `estimate`, `art34`, and `note` (security and DPO).
pub fn allowed_decisions(v: &IncidentView, caller: &Caller) -> Vec<&'static str> {
    let open = Status::parse(&v.status).is_some_and(Status::is_open);
    let dpo = caller.user.role.may(Permission::Decide);
    let mut out = Vec::new();
    if dpo && open {
        out.push(if v.kind == IncidentKind::Breach.as_str() { "demote" } else { "promote" });
    }
    if dpo {
        out.push("estimate");
        if v.kind == IncidentKind::Breach.as_str() {
            out.push("art34");
        }
    }
    if caller.user.role.may(Permission::Triage) || dpo {
        out.push("note");
    }
    out
}
