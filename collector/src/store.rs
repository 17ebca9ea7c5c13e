//! The collector's store (SQLite, WAL): findings stored once by id, incidents with their clock.
//!
//! Ingestion is idempotent: the finding id is the primary key and a resent finding is counted
//! as a duplicate, not stored again — at-least-once delivery becomes exactly-once storage.
//! A whole batch is one transaction, acknowledged only after it commits.
//! The store never holds a raw personal value: only previews and keyed fingerprints.

use crate::correlation::{self, FindingFacts, Severity};
use crate::register::Register;
use custos_agent::finding::category_from_wire;
use custos_proto::v1 as pb;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use std::path::Path;

/// The Art. 33 clock: 72 hours from awareness.
pub const NOTIFICATION_DELAY_MS: i64 = 72 * 3600 * 1000;

const SCHEMA: &[&str] = &[
    // v1
    "CREATE TABLE findings (
        id TEXT PRIMARY KEY,
        agent_id TEXT NOT NULL,
        host TEXT NOT NULL,
        source_kind INTEGER NOT NULL,
        locator TEXT NOT NULL,
        identity TEXT NOT NULL,
        line INTEGER, start INTEGER, end_ INTEGER, line_offset INTEGER,
        tbl TEXT, col TEXT, row_key TEXT,
        detector TEXT NOT NULL,
        category TEXT NOT NULL,
        special INTEGER NOT NULL,
        confidence REAL NOT NULL,
        preview TEXT NOT NULL,
        fingerprint BLOB,
        kind INTEGER NOT NULL,
        evidence TEXT NOT NULL,
        observed_at INTEGER NOT NULL,
        received_at INTEGER NOT NULL
     );
     CREATE INDEX findings_received ON findings(received_at);
     CREATE TABLE agents (
        agent_id TEXT PRIMARY KEY,
        host TEXT NOT NULL,
        version TEXT NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL
     );
     CREATE TABLE incidents (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        rule TEXT NOT NULL,
        system TEXT NOT NULL,
        severity TEXT NOT NULL,
        status TEXT NOT NULL,
        detected_at INTEGER NOT NULL,
        deadline INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        explanation TEXT NOT NULL,
        activities TEXT NOT NULL
     );
     CREATE INDEX incidents_open ON incidents(rule, system, status);
     CREATE TABLE incident_findings (
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        finding_id TEXT NOT NULL REFERENCES findings(id),
        PRIMARY KEY (incident_id, finding_id)
     ) WITHOUT ROWID;
     CREATE TABLE incident_categories (
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        category TEXT NOT NULL,
        PRIMARY KEY (incident_id, category)
     ) WITHOUT ROWID;
     CREATE TABLE incident_subjects (
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        fingerprint BLOB NOT NULL,
        PRIMARY KEY (incident_id, fingerprint)
     ) WITHOUT ROWID;",
    // v2: enrolment and revocation
    "CREATE TABLE enrollment_tokens (
        token_hash TEXT PRIMARY KEY,
        agent_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER
     );
     CREATE TABLE revocations (
        agent_id TEXT PRIMARY KEY,
        revoked_at INTEGER NOT NULL,
        reason TEXT NOT NULL
     );",
];

/// Store errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database file is newer than this collector.
    #[error("database schema version {0} is newer than this collector understands ({1}); upgrade custos-collector")]
    TooNew(i64, i64),
}

/// What happened to one batch.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IngestOutcome {
    /// Findings stored for the first time.
    pub stored: u32,
    /// Findings already stored (resends).
    pub duplicates: u32,
    /// Malformed findings refused.
    pub rejected: u32,
    /// Incidents opened by this batch.
    pub opened: Vec<i64>,
}

/// An incident as listed by `custos-collector incidents`.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentView {
    /// Id.
    pub id: i64,
    /// Rule id.
    pub rule: String,
    /// Severity.
    pub severity: String,
    /// Workflow status.
    pub status: String,
    /// `host:locator`.
    pub system: String,
    /// Data categories involved.
    pub categories: Vec<String>,
    /// Findings attached.
    pub findings: u64,
    /// Distinct fingerprints: the estimate of affected data subjects.
    pub distinct_subjects: u64,
    /// Awareness time (ms since epoch).
    pub detected_at_ms: i64,
    /// Art. 33 deadline (ms since epoch).
    pub deadline_ms: i64,
    /// Awareness time, RFC 3339.
    pub detected_at: String,
    /// Deadline, RFC 3339.
    pub deadline: String,
    /// Register activities considered.
    pub activities: Vec<String>,
    /// Why it was opened.
    pub explanation: String,
}

/// RFC 3339 form of a millisecond timestamp.
pub fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| ms.to_string())
}

/// The SQLite store.
pub struct Store {
    conn: Connection,
}

fn valid_id(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// Why a finding from the wire is refused (never includes a value).
fn check_finding(f: &pb::Finding, agent_id: &str) -> Result<(), &'static str> {
    if !valid_id(&f.id, 64) {
        return Err("bad finding id");
    }
    if f.agent_id != agent_id {
        return Err("finding agent_id differs from the authenticated agent");
    }
    if !valid_id(&f.detector, 64) {
        return Err("bad detector id");
    }
    if f.kind == pb::FindingKind::PersonalData as i32 && category_from_wire(f.category).is_none() {
        return Err("personal-data finding without a valid category");
    }
    if f.preview.chars().count() > 256 || f.host.len() > 255 {
        return Err("preview or host too long");
    }
    if !(f.fingerprint.is_empty() || f.fingerprint.len() == 32) {
        return Err("fingerprint must be 32 bytes");
    }
    if !f.confidence.is_finite() || !(0.0..=1.0).contains(&f.confidence) {
        return Err("confidence outside [0, 1]");
    }
    match &f.source {
        Some(s) if !s.locator.is_empty() && s.locator.len() <= 4096 && s.identity.len() <= 256 => Ok(()),
        _ => Err("missing or oversized source"),
    }
}

impl Store {
    /// Opens (creating if needed) the database and applies migrations.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let mut store = Store { conn };
        store.migrate()?;
        Ok(store)
    }

    /// Opens an existing database read-only (for CLI listings while a collector runs).
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        Ok(Store { conn })
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let version: i64 = self.conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let latest = SCHEMA.len() as i64;
        if version > latest {
            return Err(StoreError::TooNew(version, latest));
        }
        for (i, sql) in SCHEMA.iter().enumerate().skip(version as usize) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// Stores a batch from an authenticated agent, correlates new findings and opens or
    /// extends incidents — all in one transaction.
    pub fn ingest(&mut self, batch: &pb::FindingBatch, agent_id: &str, register: &Register, now_ms: i64) -> Result<IngestOutcome, StoreError> {
        let mut out = IngestOutcome::default();
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO agents (agent_id, host, version, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?4)
             ON CONFLICT(agent_id) DO UPDATE SET host = excluded.host, version = excluded.version, last_seen = excluded.last_seen",
            params![agent_id, batch.host, batch.agent_version, now_ms],
        )?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO findings (id, agent_id, host, source_kind, locator, identity, line, start, end_, line_offset,
                    tbl, col, row_key, detector, category, special, confidence, preview, fingerprint, kind, evidence, observed_at, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
            )?;
            for f in &batch.findings {
                if let Err(reason) = check_finding(f, agent_id) {
                    tracing::warn!(agent = agent_id, finding = %f.id.chars().take(64).collect::<String>(), reason, "finding refused");
                    out.rejected += 1;
                    continue;
                }
                let source = f.source.clone().unwrap_or_default();
                let (line, start, end, line_offset, tbl, col, row_key) = match f.position.as_ref().and_then(|p| p.at.clone()) {
                    Some(pb::position::At::Text(t)) => (Some(t.line as i64), Some(t.start as i64), Some(t.end as i64), Some(t.line_offset as i64), None, None, None),
                    Some(pb::position::At::Table(t)) => (None, None, None, None, Some(t.table), Some(t.column), Some(t.row_key)),
                    None => (None, None, None, None, None, None, None),
                };
                let category = category_from_wire(f.category).map(|c| c.as_str()).unwrap_or("unspecified");
                let evidence = serde_json::to_string(&f.evidence).unwrap_or_else(|_| "{}".into());
                let fingerprint = (!f.fingerprint.is_empty()).then_some(&f.fingerprint);
                let n = insert.execute(params![
                    f.id, agent_id, f.host, source.kind, source.locator, source.identity, line, start, end, line_offset, tbl, col, row_key,
                    f.detector, category, f.special_category, f.confidence, f.preview, fingerprint, f.kind, evidence, f.observed_at_ms, now_ms
                ])?;
                if n == 0 {
                    out.duplicates += 1;
                    continue;
                }
                out.stored += 1;
                let Some(category) = category_from_wire(f.category) else { continue };
                let facts = FindingFacts {
                    id: &f.id,
                    agent_id,
                    host: &f.host,
                    locator: &source.locator,
                    detector: &f.detector,
                    category,
                    special: f.special_category,
                    preview: &f.preview,
                };
                if let Some(v) = correlation::correlate(&facts, register) {
                    if let Some(opened) = attach(&tx, &v, &f.id, fingerprint.map(|v| v.as_slice()), now_ms)? {
                        out.opened.push(opened);
                    }
                }
            }
        }
        tx.commit()?;
        Ok(out)
    }

    /// All incidents, newest first.
    pub fn incidents(&self) -> Result<Vec<IncidentView>, StoreError> {
        let ids: Vec<i64> = self.conn.prepare("SELECT id FROM incidents ORDER BY id DESC")?.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
        ids.into_iter().filter_map(|id| self.incident(id).transpose()).collect()
    }

    /// One incident.
    pub fn incident(&self, id: i64) -> Result<Option<IncidentView>, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT id, rule, severity, status, system, detected_at, deadline, explanation, activities FROM incidents WHERE id = ?1",
                [id],
                |r| {
                    Ok(IncidentView {
                        id: r.get(0)?,
                        rule: r.get(1)?,
                        severity: r.get(2)?,
                        status: r.get(3)?,
                        system: r.get(4)?,
                        detected_at_ms: r.get(5)?,
                        deadline_ms: r.get(6)?,
                        explanation: r.get(7)?,
                        activities: r.get::<_, String>(8)?.split(',').filter(|s| !s.is_empty()).map(String::from).collect(),
                        categories: Vec::new(),
                        findings: 0,
                        distinct_subjects: 0,
                        detected_at: String::new(),
                        deadline: String::new(),
                    })
                },
            )
            .optional()?;
        let Some(mut v) = row else { return Ok(None) };
        v.categories = self
            .conn
            .prepare_cached("SELECT category FROM incident_categories WHERE incident_id = ?1 ORDER BY category")?
            .query_map([id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        v.findings = self.conn.query_row("SELECT COUNT(*) FROM incident_findings WHERE incident_id = ?1", [id], |r| r.get::<_, i64>(0))? as u64;
        v.distinct_subjects = self.conn.query_row("SELECT COUNT(*) FROM incident_subjects WHERE incident_id = ?1", [id], |r| r.get::<_, i64>(0))? as u64;
        v.detected_at = rfc3339(v.detected_at_ms);
        v.deadline = rfc3339(v.deadline_ms);
        Ok(Some(v))
    }

    /// The connection, for modules that own their tables (enrolment).
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Number of stored findings.
    pub fn finding_count(&self) -> Result<u64, StoreError> {
        Ok(self.conn.query_row("SELECT COUNT(*) FROM findings", [], |r| r.get::<_, i64>(0))? as u64)
    }
}

/// Attaches a finding to the open incident of its (rule, system), opening one if needed.
/// Returns the id of a newly opened incident.
fn attach(tx: &rusqlite::Transaction<'_>, v: &correlation::Verdict, finding_id: &str, fingerprint: Option<&[u8]>, now_ms: i64) -> Result<Option<i64>, StoreError> {
    let existing: Option<(i64, String)> = tx
        .prepare_cached("SELECT id, severity FROM incidents WHERE rule = ?1 AND system = ?2 AND status NOT IN ('notified', 'not_notifiable', 'closed') ORDER BY id DESC LIMIT 1")?
        .query_row(params![v.rule.id(), v.system], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (id, opened) = match existing {
        Some((id, severity)) => {
            let new_category: bool = tx
                .prepare_cached("SELECT NOT EXISTS (SELECT 1 FROM incident_categories WHERE incident_id = ?1 AND category = ?2)")?
                .query_row(params![id, v.category.as_str()], |r| r.get(0))?;
            if new_category {
                let worse = Severity::parse(&severity).is_none_or(|s| v.severity > s);
                tx.execute(
                    "UPDATE incidents SET explanation = explanation || char(10) || ?2, updated_at = ?3, severity = CASE WHEN ?4 THEN ?5 ELSE severity END WHERE id = ?1",
                    params![id, v.explanation, now_ms, worse, v.severity.as_str()],
                )?;
            }
            (id, false)
        }
        None => {
            tx.execute(
                "INSERT INTO incidents (rule, system, severity, status, detected_at, deadline, updated_at, explanation, activities)
                 VALUES (?1, ?2, ?3, 'new', ?4, ?5, ?4, ?6, ?7)",
                params![v.rule.id(), v.system, v.severity.as_str(), now_ms, now_ms + NOTIFICATION_DELAY_MS, v.explanation, v.activities.join(",")],
            )?;
            (tx.last_insert_rowid(), true)
        }
    };
    tx.prepare_cached("INSERT OR IGNORE INTO incident_findings (incident_id, finding_id) VALUES (?1, ?2)")?.execute(params![id, finding_id])?;
    tx.prepare_cached("INSERT OR IGNORE INTO incident_categories (incident_id, category) VALUES (?1, ?2)")?.execute(params![id, v.category.as_str()])?;
    if let Some(fp) = fingerprint {
        tx.prepare_cached("INSERT OR IGNORE INTO incident_subjects (incident_id, fingerprint) VALUES (?1, ?2)")?.execute(params![id, fp])?;
    }
    Ok(opened.then_some(id))
}
