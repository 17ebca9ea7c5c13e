//! `/api/v1`: everything the console pages show and do, as JSON.
//!
//! Each handler names the [`Permission`] it needs before touching the store; lists take
//! `offset` and `limit` (at most 500) and answer `{items, total, offset, limit}`. Errors are
//! `{"error": "…"}` with a status code that says whose problem it is (401 log in, 403 not your
//! role or CSRF, 404 no such thing, 409 not allowed by the workflow, 422 bad input).

use super::auth::{self, Caller};
use super::context::{ApiError, Web, blocking};
use super::present::{incident_json, permission_for};
use crate::accounts::Permission;
use crate::coverage::Coverage;
use crate::incident::Status;
use crate::kpi::Kpis;
use crate::store::explorer::{Facets, FindingFilter, Page};

use crate::views::{AgentEntry, AuditEntry, DayCount, FindingView, IncidentView, MuteEntry, TimelineEntry, rfc3339};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;

/// The OpenAPI 3.1 description of `/api/v1`.
pub const OPENAPI_JSON: &str = include_str!("assets/openapi.json");

/// Every route of the API: (method, path, what it is), as documented in the OpenAPI file.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/session"),
    ("POST", "/session"),
    ("DELETE", "/session"),
    ("POST", "/session/password"),
    ("GET", "/incidents"),
    ("GET", "/incidents/{id}"),
    ("GET", "/incidents/{id}/evidence"),
    ("GET", "/incidents/{id}/timeline"),
    ("POST", "/incidents/{id}/status"),
    ("POST", "/incidents/{id}/kind"),
    ("POST", "/incidents/{id}/estimate"),
    ("GET", "/incidents/{id}/notes"),
    ("POST", "/incidents/{id}/notes"),
    ("POST", "/incidents/{id}/art34"),
    ("GET", "/incidents/{id}/report"),
    ("GET", "/findings"),
    ("GET", "/findings/counts"),
    ("GET", "/findings/facets"),
    ("GET", "/coverage"),
    ("GET", "/datamap"),
    ("POST", "/subjects/lookup"),
    ("POST", "/subjects/erasure"),
    ("GET", "/agents"),
    ("POST", "/agents/{id}/revoke"),
    ("POST", "/enrollments"),
    ("GET", "/mutes"),
    ("POST", "/mutes"),
    ("DELETE", "/mutes"),
    ("GET", "/kpis"),
    ("GET", "/audit"),
    ("GET", "/audit.csv"),
    ("GET", "/openapi.json"),
];

/// The API router (nested under `/api/v1`).
pub fn routes() -> Router<Arc<Web>> {
    Router::new()
        .route("/session", get(auth::whoami).post(auth::login).delete(auth::logout))
        .route("/session/password", post(auth::change_password))
        .route("/incidents", get(incidents))
        .route("/incidents/{id}", get(incident))
        .route("/incidents/{id}/evidence", get(evidence))
        .route("/incidents/{id}/timeline", get(timeline))
        .route("/incidents/{id}/status", post(set_status))
        .route("/incidents/{id}/kind", post(super::decisions::change_kind))
        .route("/incidents/{id}/estimate", post(super::decisions::estimate))
        .route("/incidents/{id}/notes", get(super::decisions::notes).post(super::decisions::add_note))
        .route("/incidents/{id}/art34", post(super::decisions::art34))
        .route("/incidents/{id}/report", get(report))
        .route("/findings", get(findings))
        .route("/findings/counts", get(finding_counts))
        .route("/findings/facets", get(finding_facets))
        .route("/coverage", get(coverage))
        .route("/datamap", get(datamap))
        .route("/subjects/lookup", post(super::subjects::lookup))
        .route("/subjects/erasure", post(super::subjects::erasure))
        .route("/agents", get(agents))
        .route("/agents/{id}/revoke", post(revoke))
        .route("/enrollments", post(enroll))
        .route("/mutes", get(mutes).post(mute).delete(unmute))
        .route("/kpis", get(kpis))
        .route("/audit", get(audit))
        .route("/audit.csv", get(audit_csv))
        .route("/openapi.json", get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON) }))
}

fn now() -> i64 {
    custos_proto::time::now_ms()
}

/// Pagination of lists.
#[derive(Debug, Deserialize, Default)]
pub struct Paging {
    /// First item (default 0).
    pub offset: Option<u64>,
    /// Items per page (default 50, at most 500).
    pub limit: Option<u64>,
}

impl Paging {
    fn bounds(&self) -> (u64, u64) {
        (self.offset.unwrap_or(0), self.limit.unwrap_or(50).clamp(1, 500))
    }

    fn page<T>(&self, all: Vec<T>) -> Page<T> {
        let (offset, limit) = self.bounds();
        let total = all.len() as u64;
        let items = all.into_iter().skip(offset.min(usize::MAX as u64) as usize).take(limit as usize).collect();
        Page { items, total, offset, limit }
    }
}

/// Filters of the incident list.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct IncidentQuery {
    /// `breach` or `compliance`.
    pub kind: Option<String>,
    /// Workflow status, or `open` for new + triaged + assessed.
    pub status: Option<String>,
    /// Severity.
    pub severity: Option<String>,
    /// Rule id.
    pub rule: Option<String>,
    /// Category involved.
    pub category: Option<String>,
    /// Substring of the system.
    pub system: Option<String>,
    /// Paging.
    pub offset: Option<u64>,
    /// Paging.
    pub limit: Option<u64>,
}

async fn incidents(State(web): State<Arc<Web>>, caller: Caller, Query(q): Query<IncidentQuery>) -> Result<Json<Page<Value>>, ApiError> {
    caller.require(Permission::Read)?;
    let all: Vec<IncidentView> = blocking(&web, |s| s.incidents()).await?.into_iter().map(IncidentView::from).collect();
    let given = |o: &Option<String>| o.as_deref().filter(|s| !s.is_empty()).map(str::to_string);
    let (status, severity, rule, category, system) = (given(&q.status), given(&q.severity), given(&q.rule), given(&q.category), given(&q.system));
    let kind = given(&q.kind);
    let now = now();
    let list: Vec<_> = all
        .into_iter()
        .filter(|v| match status.as_deref() {
            None => true,
            Some("open") => Status::parse(&v.status).is_some_and(Status::is_open),
            Some(s) => v.status == s,
        })
        .filter(|v| kind.as_ref().is_none_or(|k| &v.kind == k))
        .filter(|v| severity.as_ref().is_none_or(|s| &v.severity == s))
        .filter(|v| rule.as_ref().is_none_or(|r| &v.rule == r))
        .filter(|v| category.as_ref().is_none_or(|c| v.categories.contains(c)))
        .filter(|v| system.as_ref().is_none_or(|s| v.system.contains(s.as_str())))
        .collect();
    // Only the page's incidents are turned into JSON.
    let page = Paging { offset: q.offset, limit: q.limit }.page(list);
    Ok(Json(Page { items: page.items.iter().map(|v| incident_json(v, now, None)).collect(), total: page.total, offset: page.offset, limit: page.limit }))
}

async fn incident(State(web): State<Arc<Web>>, caller: Caller, Path(id): Path<i64>) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::Read)?;
    let v = IncidentView::from(blocking(&web, move |s| s.incident(id)).await?.ok_or_else(|| ApiError::not_found(format!("no incident #{id}")))?);
    let mut j = incident_json(&v, now(), Some(&caller));
    let register = web.collector.register();
    let entries: Vec<&crate::register::Activity> = register.activities.iter().filter(|a| v.activities.contains(&a.id)).collect();
    j["register_entries"] = serde_json::to_value(entries).unwrap_or_default();
    Ok(Json(j))
}

async fn evidence(State(web): State<Arc<Web>>, caller: Caller, Path(id): Path<i64>) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::Read)?;
    let user = caller.user.name.clone();
    let evidence = blocking(&web, move |s| {
        if s.incident(id)?.is_none() {
            return Ok(None);
        }
        // Who looked at the evidence of a possible breach, and when, is part of the record.
        s.record_audit(&user, "view_evidence", &format!("incident #{id}"), "", now())?;
        Ok(Some(s.evidence(id)?.into_iter().map(FindingView::from).collect::<Vec<_>>()))
    })
    .await?
    .ok_or_else(|| ApiError::not_found(format!("no incident #{id}")))?;
    Ok(Json(json!({ "items": evidence })))
}

async fn timeline(State(web): State<Arc<Web>>, caller: Caller, Path(id): Path<i64>) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::Read)?;
    let (exists, items) =
        blocking(&web, move |s| Ok((s.incident(id)?.is_some(), s.timeline(id)?.into_iter().map(TimelineEntry::from).collect::<Vec<_>>()))).await?;
    if !exists {
        return Err(ApiError::not_found(format!("no incident #{id}")));
    }
    Ok(Json(json!({ "items": items })))
}

/// A status change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// `triaged`, `assessed`, `notified` or `not_notifiable`.
    pub status: String,
    /// Why (required for `not_notifiable` and `resolved`).
    #[serde(default)]
    pub note: String,
    /// The supervisory authority's reference, for `notified`.
    #[serde(default)]
    pub reference: String,
}

async fn set_status(State(web): State<Arc<Web>>, caller: Caller, Path(id): Path<i64>, Json(change): Json<StatusChange>) -> Result<Json<Value>, ApiError> {
    let to = Status::parse(&change.status).filter(|s| *s != Status::New).ok_or_else(|| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("status `{}`: use triaged, assessed, notified or not_notifiable", change.status))
    })?;
    caller.require(permission_for(to))?;
    if change.note.len() > 4000 || change.reference.len() > 200 {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "note: at most 4000 bytes"));
    }
    let user = caller.user.name.clone();
    let result = blocking(&web, move |s| {
        if s.incident(id)?.is_none() {
            return Ok(None);
        }
        Ok(Some(s.set_status_with_reference(id, to, &user, &change.note, &change.reference, now())?))
    })
    .await?
    .ok_or_else(|| ApiError::not_found(format!("no incident #{id}")))?;
    result.map_err(|e| ApiError::new(StatusCode::CONFLICT, e))?;
    let v = IncidentView::from(blocking(&web, move |s| s.incident(id)).await?.ok_or_else(|| ApiError::not_found(format!("no incident #{id}")))?);
    Ok(Json(incident_json(&v, now(), Some(&caller))))
}

/// Format of the Art. 33 draft.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// `md` (default) or `json`.
    pub format: Option<String>,
}

async fn report(State(web): State<Arc<Web>>, caller: Caller, Path(id): Path<i64>, Query(q): Query<ReportQuery>) -> Result<Response, ApiError> {
    caller.require(Permission::Read)?;
    let format = q.format.unwrap_or_else(|| "md".into());
    if format != "md" && format != "json" {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("format `{format}`: use md or json")));
    }
    let register = web.collector.register();
    let user = caller.user.name.clone();
    let draft = blocking(&web, move |s| {
        let Some(draft) = crate::report::Art33Draft::produce(s, id, &register, &user, now())? else { return Ok(None) };
        s.record_audit(&user, "download_report", &format!("incident #{id}"), "", now())?;
        Ok(Some(draft))
    })
    .await?
    .ok_or_else(|| ApiError::not_found(format!("no incident #{id}")))?;
    let (body, content_type, ext) = if format == "md" {
        (draft.markdown(), "text/markdown; charset=utf-8", "md")
    } else {
        (serde_json::to_string_pretty(&draft).map_err(|_| ApiError::internal("cannot render the draft"))?, "application/json", "json")
    };
    let disposition = format!("attachment; filename=\"custos-incident-{id}-art33.{ext}\"");
    Ok(([(header::CONTENT_TYPE, content_type.to_string()), (header::CONTENT_DISPOSITION, disposition)], body).into_response())
}

/// Filters of the findings explorer.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FindingQuery {
    /// Detector id.
    pub detector: Option<String>,
    /// Category.
    pub category: Option<String>,
    /// Host.
    pub host: Option<String>,
    /// Agent id.
    pub agent: Option<String>,
    /// Part of `host:locator`.
    pub system: Option<String>,
    /// `personal_data` or `export_anomaly`.
    pub kind: Option<String>,
    /// Received at or after (RFC 3339 or ms since the epoch).
    pub since: Option<String>,
    /// Received before (RFC 3339 or ms since the epoch).
    pub until: Option<String>,
    /// Paging.
    pub offset: Option<u64>,
    /// Paging.
    pub limit: Option<u64>,
}

fn parse_time(field: &str, s: &Option<String>) -> Result<Option<i64>, ApiError> {
    let Some(s) = s.as_deref().map(str::trim).filter(|s| !s.is_empty()) else { return Ok(None) };
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(Some(ms));
    }
    let parsed =
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64).or_else(|_| {
            time::Date::parse(s, &time::macros::format_description!("[year]-[month]-[day]")).map(|d| d.midnight().assume_utc().unix_timestamp() * 1000)
        });
    parsed
        .map(Some)
        .map_err(|_| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("{field}: `{s}` is not a date (YYYY-MM-DD), an RFC 3339 time or milliseconds")))
}

impl FindingQuery {
    fn filter(&self) -> Result<FindingFilter, ApiError> {
        if let Some(k) = self.kind.as_deref().filter(|k| !k.is_empty())
            && k != "personal_data"
            && k != "export_anomaly"
        {
            return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("kind `{k}`: use personal_data or export_anomaly")));
        }
        Ok(FindingFilter {
            detector: self.detector.clone(),
            category: self.category.clone(),
            host: self.host.clone(),
            agent: self.agent.clone(),
            system: self.system.clone(),
            kind: self.kind.clone().filter(|k| !k.is_empty()),
            since_ms: parse_time("since", &self.since)?,
            until_ms: parse_time("until", &self.until)?,
        })
    }
}

async fn findings(State(web): State<Arc<Web>>, caller: Caller, Query(q): Query<FindingQuery>) -> Result<Json<Page<FindingView>>, ApiError> {
    caller.require(Permission::Read)?;
    let filter = q.filter()?;
    let (offset, limit) = Paging { offset: q.offset, limit: q.limit }.bounds();
    Ok(Json(blocking(&web, move |s| s.findings_page(&filter, offset, limit)).await?.map(FindingView::from)))
}

async fn finding_counts(State(web): State<Arc<Web>>, caller: Caller, Query(q): Query<FindingQuery>) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::Read)?;
    let filter = q.filter()?;
    let days: Vec<DayCount> = blocking(&web, move |s| s.finding_counts_by_day(&filter)).await?.into_iter().map(DayCount::from).collect();
    Ok(Json(json!({ "items": days })))
}

async fn finding_facets(State(web): State<Arc<Web>>, caller: Caller) -> Result<Json<Facets>, ApiError> {
    caller.require(Permission::Read)?;
    Ok(Json(blocking(&web, |s| s.finding_facets()).await?))
}

async fn coverage(State(web): State<Arc<Web>>, caller: Caller) -> Result<Json<Coverage>, ApiError> {
    caller.require(Permission::Read)?;
    let register = web.collector.register();
    Ok(Json(blocking(&web, move |s| Coverage::build(s, &register)).await?))
}

async fn datamap(State(web): State<Arc<Web>>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::Read)?;
    let register = web.collector.register();
    let policy = web.collector.settings().policy.clone();
    let (rows, flows) = blocking(&web, move |s| Ok((crate::datamap::build(s, &register, &policy, None)?, crate::flows::flows(s, &register)?))).await?;
    Ok(Json(json!({ "items": rows, "flows": flows })))
}

async fn agents(State(web): State<Arc<Web>>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::Read)?;
    let list: Vec<AgentEntry> = blocking(&web, |s| s.agent_inventory()).await?.into_iter().map(AgentEntry::from).collect();
    Ok(Json(json!({ "items": list, "can_manage": caller.user.role.may(Permission::ManageAgents) })))
}

/// A revocation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    /// Why.
    pub reason: String,
}

fn valid_agent_id(id: &str) -> Result<(), ApiError> {
    crate::enrollment::check_agent_id(id).map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e))
}

async fn revoke(State(web): State<Arc<Web>>, caller: Caller, Path(id): Path<String>, Json(r): Json<Revocation>) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ManageAgents)?;
    valid_agent_id(&id)?;
    if r.reason.trim().is_empty() {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "reason: say why the agent is revoked"));
    }
    let user = caller.user.name.clone();
    let agent = id.clone();
    let newly = blocking(&web, move |s| {
        let newly = s.revoke_agent(&agent, &r.reason, now())?;
        s.record_audit(&user, "revoke_agent", &agent, &r.reason, now())?;
        Ok(newly)
    })
    .await?;
    Ok(Json(json!({ "agent_id": id, "revoked": true, "already_revoked": !newly })))
}

/// An enrolment token request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollmentRequest {
    /// The agent id the certificate will carry.
    pub agent_id: String,
    /// Validity in seconds (default 3600, at most 7 days).
    pub ttl_seconds: Option<i64>,
}

async fn enroll(State(web): State<Arc<Web>>, caller: Caller, Json(req): Json<EnrollmentRequest>) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ManageAgents)?;
    valid_agent_id(&req.agent_id)?;
    let ttl = req.ttl_seconds.unwrap_or(3600);
    if !(1..=7 * 86_400).contains(&ttl) {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "ttl_seconds: between 1 and 604800"));
    }
    let user = caller.user.name.clone();
    let agent = req.agent_id.clone();
    let token = blocking(&web, move |s| {
        let token = s.issue_enrollment_token(&agent, now(), ttl * 1000)?;
        s.record_audit(&user, "enroll_agent", &agent, &format!("token valid {ttl} s"), now())?;
        Ok(token)
    })
    .await?;
    Ok(Json(json!({ "agent_id": req.agent_id, "token": token, "expires_at": rfc3339(now() + ttl * 1000) })))
}

async fn mutes(State(web): State<Arc<Web>>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::Read)?;
    let list: Vec<MuteEntry> = blocking(&web, |s| s.mutes()).await?.into_iter().map(MuteEntry::from).collect();
    Ok(Json(json!({ "items": list, "can_edit": caller.user.role.may(Permission::EditMutes) })))
}

/// A mute to add or lift.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MuteChange {
    /// Rule id.
    pub rule: String,
    /// System (`host:locator`).
    pub system: String,
    /// Why.
    #[serde(default)]
    pub reason: String,
}

impl MuteChange {
    fn check(&self, need_reason: bool) -> Result<(), ApiError> {
        if !crate::correlation::Rule::ALL.iter().any(|r| r.id() == self.rule) {
            return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("rule `{}` does not exist", self.rule)));
        }
        if self.system.trim().is_empty() || self.system.len() > 4096 {
            return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "system: `host:locator`, as incidents name it"));
        }
        if need_reason && self.reason.trim().is_empty() {
            return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "reason: say why this rule is muted for this system"));
        }
        Ok(())
    }
}

async fn mute(State(web): State<Arc<Web>>, caller: Caller, Json(m): Json<MuteChange>) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::EditMutes)?;
    m.check(true)?;
    let user = caller.user.name.clone();
    blocking(&web, move |s| s.mute(&m.rule, &m.system, &m.reason, &user, now())).await?;
    Ok(Json(json!({ "muted": true })))
}

async fn unmute(State(web): State<Arc<Web>>, caller: Caller, Json(m): Json<MuteChange>) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::EditMutes)?;
    m.check(false)?;
    let user = caller.user.name.clone();
    let was = blocking(&web, move |s| s.unmute(&m.rule, &m.system, &m.reason, &user, now())).await?;
    if !was {
        return Err(ApiError::not_found("no such mute"));
    }
    Ok(Json(json!({ "muted": false })))
}

async fn kpis(State(web): State<Arc<Web>>, caller: Caller) -> Result<Json<Kpis>, ApiError> {
    caller.require(Permission::Read)?;
    let register = web.collector.register();
    Ok(Json(blocking(&web, move |s| Kpis::compute(s, &register, now())).await?))
}

async fn audit(State(web): State<Arc<Web>>, caller: Caller, Query(p): Query<Paging>) -> Result<Json<Page<AuditEntry>>, ApiError> {
    caller.require(Permission::ReadAudit)?;
    let mut all: Vec<AuditEntry> = blocking(&web, |s| s.audit()).await?.into_iter().map(AuditEntry::from).collect();
    all.reverse();
    Ok(Json(p.page(all)))
}

#[derive(Serialize)]
struct AuditRow<'a> {
    at: &'a str,
    actor: &'a str,
    action: &'a str,
    subject: &'a str,
    detail: &'a str,
}

async fn audit_csv(State(web): State<Arc<Web>>, caller: Caller) -> Result<Response, ApiError> {
    caller.require(Permission::ReadAudit)?;
    let user = caller.user.name.clone();
    let all = blocking(&web, move |s| {
        s.record_audit(&user, "export_audit", "audit trail", "", now())?;
        s.audit()
    })
    .await?
    .into_iter()
    .map(AuditEntry::from)
    .collect::<Vec<_>>();
    let mut w = csv::Writer::from_writer(Vec::new());
    for e in &all {
        w.serialize(AuditRow { at: &e.at, actor: &e.actor, action: &e.action, subject: &e.subject, detail: &e.detail })
            .map_err(|_| ApiError::internal("cannot write CSV"))?;
    }
    let body = w.into_inner().map_err(|_| ApiError::internal("cannot write CSV"))?;
    // Reasons and details are typed by people: no cell may run as a spreadsheet formula.
    let body = crate::csv_cell::neutralise_document(&body).map_err(|_| ApiError::internal("cannot write CSV"))?;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8"), (header::CONTENT_DISPOSITION, "attachment; filename=\"custos-audit.csv\"")], body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_document_lists_exactly_the_routes_served() {
        let doc: Value = serde_json::from_str(OPENAPI_JSON).expect("openapi.json is JSON");
        let mut documented: Vec<(String, String)> = Vec::new();
        for (path, ops) in doc["paths"].as_object().expect("paths") {
            for method in ops.as_object().expect("operations").keys() {
                documented.push((method.to_uppercase(), path.clone()));
            }
        }
        documented.sort();
        let mut served: Vec<(String, String)> = ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
        served.sort();
        assert_eq!(documented, served);
    }

    #[test]
    fn times_parse_as_dates_rfc3339_or_milliseconds() {
        assert_eq!(parse_time("since", &Some("1000".into())).unwrap(), Some(1000));
        assert_eq!(parse_time("since", &Some("1970-01-02".into())).unwrap(), Some(86_400_000));
        assert_eq!(parse_time("since", &Some("1970-01-01T00:00:01Z".into())).unwrap(), Some(1000));
        assert!(parse_time("since", &Some("yesterday".into())).unwrap_err().message.contains("since"));
        assert_eq!(parse_time("since", &None).unwrap(), None);
    }
}
