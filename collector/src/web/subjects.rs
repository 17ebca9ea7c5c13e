//! Subject requests in the console (Art. 15 access, Art. 17 erasure), DPO role only: where the
//! person with a fingerprint was seen, and the record of their erasure — the same store
//! functions as `custos-collector subject`, audited the same way (knowing that a person is in a
//! system is itself personal data, so every lookup goes to the audit trail).
//!
//! Fingerprints travel in request bodies (`POST`), never in URLs: URLs end up in proxy and
//! access logs. A fingerprint is 64 hex digits from `custos-agent fingerprint`; the collector
//! never sees the value and answers only what it already stored.

use super::auth::Caller;
use super::context::{ApiError, Web, blocking};
use crate::accounts::Permission;
use crate::store::subjects::{Erasure, Sighting, parse_fingerprint};
use crate::views::rfc3339;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// Fingerprints one lookup may ask about (a request names one person, by a few identifiers).
const MAX_FINGERPRINTS: usize = 20;

fn now() -> i64 {
    custos_proto::time::now_ms()
}

/// A lookup.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    /// Fingerprints (64 hex digits each).
    pub fingerprints: Vec<String>,
}

/// An erasure to record.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErasureRecord {
    /// The erased identifier's fingerprint.
    pub fingerprint: String,
    /// When the data was erased: RFC 3339 or `now`.
    pub erased_at: String,
    /// The request's reference (the DPO's case number).
    pub request: String,
}

fn unprocessable(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
}

fn fingerprints(list: &[String]) -> Result<Vec<Vec<u8>>, ApiError> {
    if list.is_empty() || list.len() > MAX_FINGERPRINTS {
        return Err(unprocessable(format!("fingerprints: give 1 to {MAX_FINGERPRINTS} fingerprints")));
    }
    list.iter().map(|f| parse_fingerprint(f).map_err(unprocessable)).collect()
}

fn sighting_json(s: &Sighting) -> Value {
    json!({
        "host": s.host, "locator": s.locator, "system": format!("{}:{}", s.host, s.locator), "detector": s.detector,
        "category": s.category, "findings": s.findings, "first_seen": rfc3339(s.first_seen_ms), "last_seen": rfc3339(s.last_seen_ms),
    })
}

fn erasure_json(e: &Erasure) -> Value {
    json!({ "erased_at": rfc3339(e.erased_at_ms), "erased_at_ms": e.erased_at_ms, "request": e.request, "recorded_by": e.recorded_by })
}

/// Looks each fingerprint up (audited), as `{items: [{fingerprint, sightings, erasure}]}`.
async fn answer(web: &Arc<Web>, user: String, fps: Vec<Vec<u8>>, erasure: Option<(i64, String)>) -> Result<Json<Value>, ApiError> {
    let items = blocking(web, move |s| {
        let now = now();
        let mut items = Vec::new();
        for fp in &fps {
            let hex = hex::encode(fp);
            let sightings = s.sightings(fp)?;
            s.record_audit(&user, "subject_lookup", &hex, &format!("{} places (console)", sightings.len()), now)?;
            if let Some((at, request)) = &erasure {
                s.record_erasure(fp, *at, request, &user, now)?;
            }
            let erased = s.erasure(fp)?;
            items.push(json!({
                "fingerprint": hex,
                "sightings": sightings.iter().map(sighting_json).collect::<Vec<_>>(),
                "erasure": erased.as_ref().map(erasure_json),
            }));
        }
        Ok(items)
    })
    .await?;
    Ok(Json(json!({ "items": items })))
}

/// `POST /subjects/lookup`: where each person was seen, and their erasure if recorded (DPO).
pub async fn lookup(State(web): State<Arc<Web>>, caller: Caller, Json(l): Json<Lookup>) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::SubjectRequests)?;
    let fps = fingerprints(&l.fingerprints)?;
    answer(&web, caller.user.name.clone(), fps, None).await
}

/// `POST /subjects/erasure`: records an erasure (audited); any data of theirs observed after
/// `erased_at` opens an `erased_subject_seen` breach (DPO).
pub async fn erasure(State(web): State<Arc<Web>>, caller: Caller, Json(e): Json<ErasureRecord>) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::SubjectRequests)?;
    let fps = fingerprints(std::slice::from_ref(&e.fingerprint))?;
    let request = e.request.trim();
    if request.is_empty() || request.len() > 200 || request.chars().any(char::is_control) {
        return Err(unprocessable("request: the request's reference (1 to 200 characters, e.g. DSR-2026-17)"));
    }
    let at = if e.erased_at.trim() == "now" {
        now()
    } else {
        let t = time::OffsetDateTime::parse(e.erased_at.trim(), &time::format_description::well_known::Rfc3339)
            .map_err(|_| unprocessable("erased_at: RFC 3339 (e.g. 2026-12-01T10:00:00Z) or `now`"))?;
        (t.unix_timestamp_nanos() / 1_000_000) as i64
    };
    if at > now() + 60_000 {
        return Err(unprocessable("erased_at: an erasure cannot be recorded in the future"));
    }
    answer(&web, caller.user.name.clone(), fps, Some((at, request.to_string()))).await
}
