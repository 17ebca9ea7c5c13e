//! The DPO's decisions on an incident, as API routes: promote a compliance item to a breach or
//! demote a breach (with a justification), set their own estimate of the people and records
//! concerned, record notes for the Art. 33 draft and the breach register (facts, effects,
//! remedial action, follow-ups with the authority's reference …), and the Art. 34 decision.
//! Each is audited and goes to the incident's timeline.

use super::auth::Caller;
use super::context::{ApiError, Web, blocking};
use super::present::incident_json;
use crate::accounts::Permission;
use crate::correlation::IncidentKind;
use crate::store::incidents::NOTE_KINDS;
use crate::views::{IncidentView, NoteView};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

fn now() -> i64 {
    custos_proto::time::now_ms()
}

/// A change of kind.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindChange {
    /// `breach` (promote) or `compliance` (demote).
    pub kind: String,
    /// Why (required to demote).
    #[serde(default)]
    pub note: String,
}

/// The incident after a decision, as the incident route answers it.
async fn answer(web: &Arc<Web>, id: i64, caller: &Caller, result: Result<(), String>) -> Result<Json<Value>, ApiError> {
    result.map_err(|e| if e.starts_with("no incident") { ApiError::new(StatusCode::NOT_FOUND, e) } else { ApiError::new(StatusCode::CONFLICT, e) })?;
    let v =
        IncidentView::from(blocking(web, move |s| s.incident(id)).await?.ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no incident #{id}")))?);
    Ok(Json(incident_json(&v, now(), Some(caller))))
}

fn bounded(field: &str, text: &str, max: usize) -> Result<(), ApiError> {
    if text.len() > max {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("{field}: at most {max} bytes")));
    }
    Ok(())
}

/// `POST /incidents/{id}/kind`: promote to a breach (the clock starts now) or demote to
/// compliance (DPO).
pub async fn change_kind(State(web): State<Arc<Web>>, caller: Caller, Path(id): Path<i64>, Json(c): Json<KindChange>) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::Decide)?;
    let to =
        IncidentKind::parse(&c.kind).ok_or_else(|| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("kind `{}`: use breach or compliance", c.kind)))?;
    bounded("note", &c.note, 4000)?;
    let user = caller.user.name.clone();
    let due = web.collector.settings().compliance_due_ms;
    let result = blocking(&web, move |s| s.change_kind(id, to, &user, &c.note, due, now())).await?;
    answer(&web, id, &caller, result).await
}

/// The DPO's own estimate.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EstimateChange {
    /// Data subjects.
    pub subjects: Option<u64>,
    /// Records.
    pub records: Option<u64>,
    /// How it was counted.
    pub note: String,
}

/// `POST /incidents/{id}/estimate`: the DPO's own estimate of subjects and records (DPO).
pub async fn estimate(State(web): State<Arc<Web>>, caller: Caller, Path(id): Path<i64>, Json(e): Json<EstimateChange>) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::Decide)?;
    bounded("note", &e.note, 4000)?;
    let user = caller.user.name.clone();
    let result = blocking(&web, move |s| s.set_dpo_estimate(id, e.subjects, e.records, &e.note, &user, now())).await?;
    if let Err(msg) = &result
        && !msg.starts_with("no incident")
    {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, msg.clone()));
    }
    answer(&web, id, &caller, result).await
}

/// A note.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteInput {
    /// One of `facts`, `effects`, `remedial`, `measures`, `consequences`, `discovery`,
    /// `cross_border`, `follow_up`, `late_reason`, `art34_how`.
    pub kind: String,
    /// The note.
    pub text: String,
    /// The supervisory authority's reference (follow-ups).
    #[serde(default)]
    pub reference: String,
}

/// `GET /incidents/{id}/notes`: the notes of an incident, oldest first.
pub async fn notes(State(web): State<Arc<Web>>, caller: Caller, Path(id): Path<i64>) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::Read)?;
    let (exists, items) = blocking(&web, move |s| Ok((s.incident(id)?.is_some(), s.notes(id)?.into_iter().map(NoteView::from).collect::<Vec<_>>()))).await?;
    if !exists {
        return Err(ApiError::new(StatusCode::NOT_FOUND, format!("no incident #{id}")));
    }
    Ok(Json(json!({ "items": items, "kinds": NOTE_KINDS })))
}

/// `POST /incidents/{id}/notes`: adds a note (security and DPO).
pub async fn add_note(State(web): State<Arc<Web>>, caller: Caller, Path(id): Path<i64>, Json(n): Json<NoteInput>) -> Result<Json<Value>, ApiError> {
    if !(caller.user.role.may(Permission::Triage) || caller.user.role.may(Permission::Decide)) {
        caller.require(Permission::Decide)?;
    }
    if !NOTE_KINDS.contains(&n.kind.as_str()) {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("kind `{}`: use one of {}", n.kind, NOTE_KINDS.join(", "))));
    }
    if n.text.trim().is_empty() {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "text: write the note"));
    }
    bounded("text", &n.text, 8000)?;
    bounded("reference", &n.reference, 200)?;
    let user = caller.user.name.clone();
    let result = blocking(&web, move |s| s.add_note(id, &n.kind, &n.text, &n.reference, &user, now())).await?;
    answer(&web, id, &caller, result).await
}

/// The Art. 34 decision.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Art34Input {
    /// `communicate`, `not_required` or `public_communication`.
    pub decision: String,
    /// Why.
    pub reason: String,
}

/// `POST /incidents/{id}/art34`: whether the people are told (DPO).
pub async fn art34(State(web): State<Arc<Web>>, caller: Caller, Path(id): Path<i64>, Json(a): Json<Art34Input>) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::Decide)?;
    bounded("reason", &a.reason, 4000)?;
    let user = caller.user.name.clone();
    let result = blocking(&web, move |s| s.set_art34(id, &a.decision, &a.reason, &user, now())).await?;
    if let Err(msg) = &result
        && !msg.starts_with("no incident")
    {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, msg.clone()));
    }
    answer(&web, id, &caller, result).await
}
