//! The collector's store (SQLite, WAL): findings stored once by id, incidents with their clock.
//!
//! Ingestion is idempotent: the finding id is the primary key and a resent finding is counted
//! as a duplicate, not stored again — at-least-once delivery becomes exactly-once storage.
//! A whole batch is one transaction, acknowledged only after it commits.
//! The store never holds a raw personal value: only previews and keyed fingerprints.
//!
//! All SQL lives in this module, behind [`Store`]'s methods, so that a second backend
//! (PostgreSQL) can implement the same methods later without touching correlation, incidents,
//! notifications or reports.

use crate::correlation::{self, FindingFacts, Kind, Policy, Severity};
use crate::incident::Status;
use custos_rules::Category;
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
    // v3: verdicts (one per finding and rule), incident workflow and timeline, mutes and their
    // audit trail, the notification outbox with send-once keys.
    "ALTER TABLE incidents ADD COLUMN justification TEXT NOT NULL DEFAULT '';
     CREATE TABLE verdicts (
        finding_id TEXT NOT NULL REFERENCES findings(id),
        rule TEXT NOT NULL,
        incident_id INTEGER REFERENCES incidents(id),
        muted INTEGER NOT NULL,
        severity TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (finding_id, rule)
     ) WITHOUT ROWID;
     INSERT OR IGNORE INTO verdicts (finding_id, rule, incident_id, muted, severity, at)
        SELECT f.finding_id, i.rule, i.id, 0, i.severity, i.detected_at FROM incident_findings f JOIN incidents i ON i.id = f.incident_id;
     CREATE TABLE incident_timeline (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        at INTEGER NOT NULL,
        kind TEXT NOT NULL,
        actor TEXT NOT NULL,
        note TEXT NOT NULL
     );
     INSERT INTO incident_timeline (incident_id, at, kind, actor, note) SELECT id, detected_at, 'detected', 'custos', '' FROM incidents;
     CREATE INDEX timeline_incident ON incident_timeline(incident_id);
     CREATE TABLE mutes (
        rule TEXT NOT NULL,
        system TEXT NOT NULL,
        reason TEXT NOT NULL,
        muted_by TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (rule, system)
     ) WITHOUT ROWID;
     CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        detail TEXT NOT NULL
     );
     CREATE TABLE notifications (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        dedup_key TEXT NOT NULL UNIQUE,
        incident_id INTEGER,
        event TEXT NOT NULL,
        channel TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL,
        sent_at INTEGER
     );
     CREATE INDEX notifications_due ON notifications(status, next_attempt_at);
     CREATE TABLE notifier_cursor (id INTEGER PRIMARY KEY CHECK (id = 1), timeline_id INTEGER NOT NULL);
     INSERT INTO notifier_cursor (id, timeline_id) SELECT 1, COALESCE(MAX(id), 0) FROM incident_timeline;",
    // v4: daily counts that outlive purged findings (the collector's own retention).
    "CREATE TABLE finding_counts (
        day INTEGER NOT NULL,
        agent_id TEXT NOT NULL,
        host TEXT NOT NULL,
        detector TEXT NOT NULL,
        category TEXT NOT NULL,
        kind INTEGER NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (day, agent_id, host, detector, category, kind)
     ) WITHOUT ROWID;",
    // v5: the web console — users, sessions, API tokens, login attempts (rate limiting) and
    // each agent's spool depth for the agent inventory.
    "CREATE TABLE users (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0
     );
     CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        user_name TEXT NOT NULL REFERENCES users(name),
        csrf TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
     );
     CREATE TABLE api_tokens (
        token_hash TEXT PRIMARY KEY,
        user_name TEXT NOT NULL REFERENCES users(name),
        label TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_used INTEGER
     );
     CREATE TABLE login_attempts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        user_name TEXT NOT NULL,
        client TEXT NOT NULL,
        ok INTEGER NOT NULL
     );
     CREATE INDEX login_attempts_at ON login_attempts(at);
     ALTER TABLE agents ADD COLUMN spool_depth INTEGER NOT NULL DEFAULT 0;",
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
    /// Estimate of affected data subjects: distinct fingerprints of the value findings, or the
    /// largest distinct-value estimate of a table or file classification when that is larger.
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
    /// Estimated records concerned (rows for tables, lines for logs).
    pub records: u64,
    /// Why it was not notified (Art. 33(5)), when it was not.
    pub justification: String,
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
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version < SCHEMA.len() as i64 {
            // A database from an older collector: upgrade it first (what the collector would do
            // at its next start), so listings see the current schema.
            drop(conn);
            return Store::open(path);
        }
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


    /// The collector's own retention: findings received before `before_ms` that no correlation
    /// rule flagged (no verdict, so they are nobody's evidence) are folded into daily counts per
    /// agent, host, detector, category and kind (`finding_counts`) and deleted, so the database
    /// does not grow without bound. Findings behind a verdict stay as long as their incident does.
    /// Returns the number of findings purged.
    pub fn purge_findings(&mut self, before_ms: i64) -> Result<u64, StoreError> {
        const UNFLAGGED: &str = "received_at < ?1 AND NOT EXISTS (SELECT 1 FROM verdicts v WHERE v.finding_id = findings.id)
             AND NOT EXISTS (SELECT 1 FROM incident_findings i WHERE i.finding_id = findings.id)";
        let tx = self.conn.transaction()?;
        tx.execute(
            &format!(
                "INSERT INTO finding_counts (day, agent_id, host, detector, category, kind, count)
                 SELECT received_at / 86400000, agent_id, host, detector, category, kind, COUNT(*) FROM findings WHERE {UNFLAGGED}
                 GROUP BY 1, 2, 3, 4, 5, 6
                 ON CONFLICT (day, agent_id, host, detector, category, kind) DO UPDATE SET count = count + excluded.count"
            ),
            [before_ms],
        )?;
        let purged = tx.execute(&format!("DELETE FROM findings WHERE {UNFLAGGED}"), [before_ms])?;
        tx.commit()?;
        Ok(purged as u64)
    }

    /// Findings per day (days since the epoch), stored and purged together, oldest first.
    pub fn findings_per_day(&self) -> Result<Vec<(i64, u64)>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT day, SUM(n) FROM (SELECT received_at / 86400000 AS day, COUNT(*) AS n FROM findings GROUP BY 1
                                      UNION ALL SELECT day, SUM(count) FROM finding_counts GROUP BY 1) GROUP BY day ORDER BY day",
        )?;
        let rows = st.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?.max(0) as u64)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Stores a batch from an authenticated agent, correlates new findings and opens or
    /// extends incidents — all in one transaction.
    pub fn ingest(&mut self, batch: &pb::FindingBatch, agent_id: &str, register: &Register, policy: &CorrelationSettings, now_ms: i64) -> Result<IngestOutcome, StoreError> {
        let mut out = IngestOutcome::default();
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO agents (agent_id, host, version, first_seen, last_seen, spool_depth) VALUES (?1, ?2, ?3, ?4, ?4, ?5)
             ON CONFLICT(agent_id) DO UPDATE SET host = excluded.host, version = excluded.version, last_seen = excluded.last_seen, spool_depth = excluded.spool_depth",
            params![agent_id, batch.host, batch.agent_version, now_ms, batch.spool_depth.min(i64::MAX as u64) as i64],
        )?;
        let mut stored = Vec::new();
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
                } else {
                    out.stored += 1;
                    stored.push(f.id.clone());
                }
            }
        }
        // Personal data first, so an export anomaly in the same batch sees the host's categories.
        for id in &stored {
            correlate_stored(&tx, id, register, policy, now_ms, &mut out.opened)?;
        }
        tx.commit()?;
        Ok(out)
    }

    /// Re-correlates every stored finding against a (new) register: (finding, rule) pairs that
    /// already have a verdict are kept as they are; new ones open or extend incidents. Returns
    /// the incidents opened.
    pub fn recorrelate(&mut self, register: &Register, policy: &CorrelationSettings, now_ms: i64) -> Result<Vec<i64>, StoreError> {
        let tx = self.conn.transaction()?;
        let ids: Vec<String> = tx.prepare("SELECT id FROM findings ORDER BY kind, received_at")?.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
        let mut opened = Vec::new();
        for id in &ids {
            correlate_stored(&tx, id, register, policy, now_ms, &mut opened)?;
        }
        tx.commit()?;
        Ok(opened)
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
                "SELECT id, rule, severity, status, system, detected_at, deadline, explanation, activities, justification FROM incidents WHERE id = ?1",
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
                        justification: r.get(9)?,
                        categories: Vec::new(),
                        findings: 0,
                        distinct_subjects: 0,
                        records: 0,
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
        // Distinct count: incident_subjects has one row per (incident, fingerprint), so this
        // is an index-only count; an incident holding millions of subjects still counts in well
        // under a second, and an exact figure is what the DPO writes in the notification.
        let exact = self.conn.query_row("SELECT COUNT(*) FROM incident_subjects WHERE incident_id = ?1", [id], |r| r.get::<_, i64>(0))?;
        // One pass over the incident's findings for both evidence figures.
        // Records: table findings say how many rows hold the data; a log line is one record.
        // Subjects: a table or file classification is one finding for many people; its evidence
        // counts the distinct values in the sample, extrapolated to the table's estimated rows
        // when only a sample was read. Columns of one table hold the same people, so the largest
        // estimate counts, not their sum.
        let (records, classified): (i64, i64) = self.conn.query_row(
            "SELECT COALESCE(SUM(COALESCE(r, m, 1)), 0),
                    COALESCE(MAX(CASE WHEN d IS NULL THEN NULL WHEN s > 0 AND r > s THEN CAST(d * 1.0 / s * r AS INTEGER) ELSE d END), 0)
             FROM (SELECT CAST(json_extract(f.evidence, '$.distinct_fingerprints') AS INTEGER) AS d,
                          CAST(json_extract(f.evidence, '$.sampled_rows') AS INTEGER) AS s,
                          CAST(json_extract(f.evidence, '$.estimated_rows') AS INTEGER) AS r,
                          CAST(json_extract(f.evidence, '$.matched_rows') AS INTEGER) AS m
                   FROM incident_findings i JOIN findings f ON f.id = i.finding_id WHERE i.incident_id = ?1)",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        v.distinct_subjects = exact.max(classified).max(0) as u64;
        v.records = records.max(0) as u64;
        v.detected_at = rfc3339(v.detected_at_ms);
        v.deadline = rfc3339(v.deadline_ms);
        Ok(Some(v))
    }

    /// The evidence of an incident: its findings, with masked previews (never values).
    pub fn evidence(&self, id: i64) -> Result<Vec<EvidenceView>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT f.id, f.agent_id, f.host, f.locator, f.line, f.tbl, f.col, f.detector, f.category, f.preview, f.kind, f.evidence, f.observed_at
             FROM incident_findings i JOIN findings f ON f.id = i.finding_id WHERE i.incident_id = ?1 ORDER BY f.observed_at LIMIT 1000",
        )?;
        let rows = st.query_map([id], |r| {
            let line: Option<i64> = r.get(4)?;
            let tbl: Option<String> = r.get(5)?;
            let col: Option<String> = r.get(6)?;
            let at = match (line, tbl, col) {
                (Some(l), _, _) => format!("line {l}"),
                (None, Some(t), Some(c)) => format!("{t}.{c}"),
                _ => String::new(),
            };
            let kind: i64 = r.get(10)?;
            Ok(EvidenceView {
                finding_id: r.get(0)?,
                agent_id: r.get(1)?,
                host: r.get(2)?,
                locator: r.get(3)?,
                at,
                detector: r.get(7)?,
                category: r.get(8)?,
                preview: r.get(9)?,
                kind: if kind == pb::FindingKind::ExportAnomaly as i64 { "export_anomaly".into() } else { "personal_data".into() },
                evidence: serde_json::from_str(&r.get::<_, String>(11)?).unwrap_or_default(),
                observed_at: rfc3339(r.get(12)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The timeline of an incident, oldest first.
    pub fn timeline(&self, id: i64) -> Result<Vec<TimelineEntry>, StoreError> {
        let mut st = self.conn.prepare_cached("SELECT id, incident_id, at, kind, actor, note FROM incident_timeline WHERE incident_id = ?1 ORDER BY id")?;
        let rows = st.query_map([id], timeline_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Timeline entries after `after` (the notifier's cursor), oldest first.
    pub fn timeline_since(&self, after: i64) -> Result<Vec<TimelineEntry>, StoreError> {
        let mut st = self.conn.prepare_cached("SELECT id, incident_id, at, kind, actor, note FROM incident_timeline WHERE id > ?1 ORDER BY id LIMIT 1000")?;
        let rows = st.query_map([after], timeline_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Adds a timeline entry (e.g. `draft` when the Art. 33 draft is produced).
    pub fn add_timeline(&mut self, id: i64, kind: &str, actor: &str, note: &str, now_ms: i64) -> Result<(), StoreError> {
        self.conn.execute("INSERT INTO incident_timeline (incident_id, at, kind, actor, note) VALUES (?1, ?2, ?3, ?4, ?5)", params![id, now_ms, kind, actor, note])?;
        Ok(())
    }

    /// Moves an incident along the workflow, recording who, when and why in the timeline and the
    /// audit trail.
    pub fn set_status(&mut self, id: i64, to: Status, by: &str, note: &str, now_ms: i64) -> Result<Result<(), String>, StoreError> {
        let tx = self.conn.transaction()?;
        let Some(from) = tx.query_row("SELECT status FROM incidents WHERE id = ?1", [id], |r| r.get::<_, String>(0)).optional()? else {
            return Ok(Err(format!("no incident #{id}")));
        };
        let from = Status::parse(&from).unwrap_or(Status::New);
        if let Err(e) = from.check_transition(to, note, by) {
            return Ok(Err(e));
        }
        let justification = if to == Status::NotNotifiable { note } else { "" };
        tx.execute(
            "UPDATE incidents SET status = ?2, updated_at = ?3, justification = CASE WHEN ?4 = '' THEN justification ELSE ?4 END WHERE id = ?1",
            params![id, to.as_str(), now_ms, justification],
        )?;
        tx.execute("INSERT INTO incident_timeline (incident_id, at, kind, actor, note) VALUES (?1, ?2, ?3, ?4, ?5)", params![id, now_ms, to.as_str(), by, note])?;
        tx.execute(
            "INSERT INTO audit (at, actor, action, subject, detail) VALUES (?1, ?2, 'incident_status', ?3, ?4)",
            params![now_ms, by, format!("incident #{id}"), format!("{} → {}: {note}", from.as_str(), to.as_str())],
        )?;
        tx.commit()?;
        Ok(Ok(()))
    }

    /// Mutes a rule for a system (`host:locator`): its verdicts are kept, flagged muted, and open
    /// no incident. The reason goes to the audit trail.
    pub fn mute(&mut self, rule: &str, system: &str, reason: &str, by: &str, now_ms: i64) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO mutes (rule, system, reason, muted_by, at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(rule, system) DO UPDATE SET reason = excluded.reason, muted_by = excluded.muted_by, at = excluded.at",
            params![rule, system, reason, by, now_ms],
        )?;
        tx.execute("INSERT INTO audit (at, actor, action, subject, detail) VALUES (?1, ?2, 'mute', ?3, ?4)", params![now_ms, by, format!("{rule} on {system}"), reason])?;
        tx.commit()?;
        Ok(())
    }

    /// Lifts a mute; returns whether there was one.
    pub fn unmute(&mut self, rule: &str, system: &str, reason: &str, by: &str, now_ms: i64) -> Result<bool, StoreError> {
        let tx = self.conn.transaction()?;
        let n = tx.execute("DELETE FROM mutes WHERE rule = ?1 AND system = ?2", params![rule, system])?;
        if n > 0 {
            tx.execute("INSERT INTO audit (at, actor, action, subject, detail) VALUES (?1, ?2, 'unmute', ?3, ?4)", params![now_ms, by, format!("{rule} on {system}"), reason])?;
        }
        tx.commit()?;
        Ok(n > 0)
    }

    /// Mutes in force, by rule and system.
    pub fn mutes(&self) -> Result<Vec<MuteEntry>, StoreError> {
        let mut st = self.conn.prepare("SELECT rule, system, reason, muted_by, at FROM mutes ORDER BY rule, system")?;
        let rows = st.query_map([], |r| Ok(MuteEntry { rule: r.get(0)?, system: r.get(1)?, reason: r.get(2)?, muted_by: r.get(3)?, at: rfc3339(r.get(4)?) }))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The audit trail, oldest first.
    pub fn audit(&self) -> Result<Vec<AuditEntry>, StoreError> {
        let mut st = self.conn.prepare("SELECT at, actor, action, subject, detail FROM audit ORDER BY id")?;
        let rows = st.query_map([], |r| Ok(AuditEntry { at: rfc3339(r.get(0)?), actor: r.get(1)?, action: r.get(2)?, subject: r.get(3)?, detail: r.get(4)? }))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Places where personal data was seen, with the categories seen there.
    pub fn places(&self) -> Result<Vec<Place>, StoreError> {
        let mut st = self.conn.prepare("SELECT agent_id, host, locator, group_concat(DISTINCT category) FROM findings WHERE kind = 1 GROUP BY agent_id, host, locator ORDER BY host, locator")?;
        let rows = st.query_map([], |r| {
            Ok(Place {
                agent_id: r.get(0)?,
                host: r.get(1)?,
                locator: r.get(2)?,
                categories: r.get::<_, Option<String>>(3)?.unwrap_or_default().split(',').map(String::from).collect(),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Agents and when each was last heard of.
    pub fn agents(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
        let mut st = self.conn.prepare("SELECT agent_id, host, last_seen FROM agents ORDER BY agent_id")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Queues a notification once: a second call with the same key does nothing (send-once
    /// claim). Returns whether it was queued.
    pub fn enqueue_notification(&mut self, key: &str, incident_id: Option<i64>, event: &str, channel: &str, payload: &str, now_ms: i64) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "INSERT OR IGNORE INTO notifications (dedup_key, incident_id, event, channel, payload, status, next_attempt_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?6)",
            params![key, incident_id, event, channel, payload, now_ms],
        )?;
        Ok(n > 0)
    }

    /// Whether a notification was ever queued under this key (any channel suffix included).
    pub fn notification_queued(&self, key_prefix: &str) -> Result<bool, StoreError> {
        Ok(self.conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM notifications WHERE dedup_key >= ?1 AND dedup_key < ?1 || x'ff')")?.query_row([key_prefix], |r| r.get(0))?)
    }

    /// Incidents whose deadline is still ahead and that nobody assessed yet (reminder candidates).
    pub fn unassessed_incidents(&self, now_ms: i64) -> Result<Vec<IncidentView>, StoreError> {
        let ids: Vec<i64> = self
            .conn
            .prepare_cached("SELECT id FROM incidents WHERE status IN ('new', 'triaged') AND deadline > ?1 ORDER BY id")?
            .query_map([now_ms], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        ids.into_iter().filter_map(|id| self.incident(id).transpose()).collect()
    }

    /// Pending notifications whose next attempt is due.
    pub fn due_notifications(&self, now_ms: i64) -> Result<Vec<NotificationView>, StoreError> {
        let mut st = self.conn.prepare_cached(&format!("{NOTIFICATION_SELECT} WHERE status = 'pending' AND next_attempt_at <= ?1 ORDER BY id LIMIT 100"))?;
        let rows = st.query_map([now_ms], notification_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every notification, newest first.
    pub fn notifications(&self) -> Result<Vec<NotificationView>, StoreError> {
        let mut st = self.conn.prepare(&format!("{NOTIFICATION_SELECT} ORDER BY id DESC"))?;
        let rows = st.query_map([], notification_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records a delivery attempt: sent, or failed with the error and the next attempt (None =
    /// give up: status `failed`).
    pub fn record_delivery(&mut self, id: i64, result: Result<(), String>, next_attempt_ms: Option<i64>, now_ms: i64) -> Result<(), StoreError> {
        match result {
            Ok(()) => self.conn.execute("UPDATE notifications SET status = 'sent', attempts = attempts + 1, sent_at = ?2, last_error = '' WHERE id = ?1", params![id, now_ms])?,
            Err(e) => self.conn.execute(
                "UPDATE notifications SET status = CASE WHEN ?3 IS NULL THEN 'failed' ELSE 'pending' END, attempts = attempts + 1, last_error = ?2, next_attempt_at = COALESCE(?3, next_attempt_at) WHERE id = ?1",
                params![id, e, next_attempt_ms],
            )?,
        };
        Ok(())
    }

    /// The notifier's position in the timeline.
    pub fn notifier_cursor(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row("SELECT timeline_id FROM notifier_cursor WHERE id = 1", [], |r| r.get(0)).optional()?.unwrap_or(0))
    }

    /// Moves the notifier's cursor.
    pub fn set_notifier_cursor(&mut self, to: i64) -> Result<(), StoreError> {
        self.conn.execute("INSERT INTO notifier_cursor (id, timeline_id) VALUES (1, ?1) ON CONFLICT(id) DO UPDATE SET timeline_id = excluded.timeline_id", [to])?;
        Ok(())
    }

    /// The connection, for modules that own their tables (enrolment, accounts).
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The connection, for modules that own their tables and need transactions.
    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Number of stored findings.
    pub fn finding_count(&self) -> Result<u64, StoreError> {
        Ok(self.conn.query_row("SELECT COUNT(*) FROM findings", [], |r| r.get::<_, i64>(0))? as u64)
    }
}

const NOTIFICATION_SELECT: &str = "SELECT id, incident_id, event, channel, status, attempts, last_error, created_at, sent_at, payload FROM notifications";

fn notification_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<NotificationView> {
    Ok(NotificationView {
        id: r.get(0)?,
        incident_id: r.get(1)?,
        event: r.get(2)?,
        channel: r.get(3)?,
        status: r.get(4)?,
        attempts: r.get(5)?,
        last_error: r.get(6)?,
        created_at: rfc3339(r.get(7)?),
        sent_at: r.get::<_, Option<i64>>(8)?.map(rfc3339),
        payload: r.get(9)?,
    })
}

fn timeline_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TimelineEntry> {
    let at: i64 = r.get(2)?;
    Ok(TimelineEntry { id: r.get(0)?, incident_id: r.get(1)?, at_ms: at, at: rfc3339(at), kind: r.get(3)?, actor: r.get(4)?, note: r.get(5)? })
}

/// A place where agents found personal data.
#[derive(Debug, Clone, Serialize)]
pub struct Place {
    /// Agent.
    pub agent_id: String,
    /// Host.
    pub host: String,
    /// Path or table locator.
    pub locator: String,
    /// Categories seen there.
    pub categories: Vec<String>,
}

/// One finding behind an incident, as `custos-collector incident ID` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceView {
    /// Finding id.
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
    /// Category.
    pub category: String,
    /// Masked preview (never the value).
    pub preview: String,
    /// `personal_data` or `export_anomaly`.
    pub kind: String,
    /// Counts, ages, heuristics.
    pub evidence: std::collections::BTreeMap<String, String>,
    /// When the agent saw it.
    pub observed_at: String,
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

/// One audit-trail entry.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    /// When.
    pub at: String,
    /// Who.
    pub actor: String,
    /// What (`mute`, `unmute`, `incident_status`).
    pub action: String,
    /// On what.
    pub subject: String,
    /// Why.
    pub detail: String,
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
    /// The message (JSON), without any personal value.
    #[serde(skip)]
    pub payload: String,
}

/// What correlation needs besides the register.
#[derive(Debug, Clone, Default)]
pub struct CorrelationSettings {
    /// Rules, severities and host locations.
    pub policy: Policy,
    /// Findings of one (rule, system) within this window of an open incident join it.
    pub window_ms: i64,
}

/// Correlates one stored finding and attaches each new verdict to an incident.
fn correlate_stored(tx: &rusqlite::Transaction<'_>, finding_id: &str, register: &Register, settings: &CorrelationSettings, now_ms: i64, opened: &mut Vec<i64>) -> Result<(), StoreError> {
    let row = tx
        .prepare_cached("SELECT agent_id, host, locator, detector, category, kind, evidence, fingerprint FROM findings WHERE id = ?1")?
        .query_row([finding_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, Option<Vec<u8>>>(7)?,
            ))
        })
        .optional()?;
    let Some((agent_id, host, locator, detector, category, kind, evidence, fingerprint)) = row else { return Ok(()) };
    let kind = if kind == pb::FindingKind::ExportAnomaly as i64 { Kind::ExportAnomaly } else { Kind::PersonalData };
    let evidence: std::collections::BTreeMap<String, String> = serde_json::from_str(&evidence).unwrap_or_default();
    let host_categories: Vec<Category> = if kind == Kind::ExportAnomaly {
        tx.prepare_cached("SELECT DISTINCT category FROM findings WHERE host = ?1 AND kind = 1")?
            .query_map([&host], |r| r.get::<_, String>(0))?
            .filter_map(|c| c.ok()?.parse().ok())
            .collect()
    } else {
        Vec::new()
    };
    let facts = FindingFacts {
        id: finding_id,
        agent_id: &agent_id,
        host: &host,
        locator: &locator,
        detector: &detector,
        kind,
        category: category.parse().ok(),
        evidence: &evidence,
        host_categories: &host_categories,
    };
    for v in correlation::correlate(&facts, register, &settings.policy) {
        let known: bool = tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM verdicts WHERE finding_id = ?1 AND rule = ?2)")?.query_row(params![finding_id, v.rule.id()], |r| r.get(0))?;
        if known {
            continue;
        }
        let muted: bool = tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM mutes WHERE rule = ?1 AND system = ?2)")?.query_row(params![v.rule.id(), v.system], |r| r.get(0))?;
        let incident = if muted { None } else { Some(attach(tx, &v, finding_id, fingerprint.as_deref(), settings.window_ms, now_ms, opened)?) };
        if let (Some(id), correlation::Rule::ExportAnomaly) = (incident, v.rule) {
            // An export carries no values; the subjects at stake are those whose data the
            // agents saw on the host.
            tx.prepare_cached("INSERT OR IGNORE INTO incident_subjects (incident_id, fingerprint) SELECT ?1, fingerprint FROM findings WHERE host = ?2 AND kind = 1 AND fingerprint IS NOT NULL")?
                .execute(params![id, host])?;
        }
        tx.prepare_cached("INSERT INTO verdicts (finding_id, rule, incident_id, muted, severity, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
            .execute(params![finding_id, v.rule.id(), incident, muted, v.severity.as_str(), now_ms])?;
    }
    Ok(())
}

/// Attaches a verdict to the open incident of its (rule, system) within the window, opening one
/// if needed. A new category or a higher severity is recorded as `worsened` in the timeline.
fn attach(tx: &rusqlite::Transaction<'_>, v: &correlation::Verdict, finding_id: &str, fingerprint: Option<&[u8]>, window_ms: i64, now_ms: i64, opened: &mut Vec<i64>) -> Result<i64, StoreError> {
    let existing: Option<(i64, String)> = tx
        .prepare_cached(
            "SELECT id, severity FROM incidents WHERE rule = ?1 AND system = ?2 AND status IN ('new', 'triaged', 'assessed') AND detected_at >= ?3 ORDER BY id DESC LIMIT 1",
        )?
        .query_row(params![v.rule.id(), v.system, now_ms - window_ms], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let id = match existing {
        Some((id, severity)) => {
            let mut new_categories = Vec::new();
            for c in &v.categories {
                let new: bool = tx
                    .prepare_cached("SELECT NOT EXISTS (SELECT 1 FROM incident_categories WHERE incident_id = ?1 AND category = ?2)")?
                    .query_row(params![id, c.as_str()], |r| r.get(0))?;
                if new {
                    new_categories.push(c.as_str());
                }
            }
            let worse = Severity::parse(&severity).is_none_or(|s| v.severity > s);
            if !new_categories.is_empty() || worse {
                tx.execute(
                    "UPDATE incidents SET explanation = explanation || char(10) || ?2, updated_at = ?3, severity = CASE WHEN ?4 THEN ?5 ELSE severity END WHERE id = ?1",
                    params![id, v.explanation, now_ms, worse, v.severity.as_str()],
                )?;
                let mut note = Vec::new();
                if worse {
                    note.push(format!("severity {severity} → {}", v.severity));
                }
                if !new_categories.is_empty() {
                    note.push(format!("new categories: {}", new_categories.join(", ")));
                }
                // Worse news in the batch that opened the incident is part of its detection, not a
                // second alert.
                if !opened.contains(&id) {
                    tx.execute("INSERT INTO incident_timeline (incident_id, at, kind, actor, note) VALUES (?1, ?2, 'worsened', 'custos', ?3)", params![id, now_ms, note.join("; ")])?;
                }
            }
            id
        }
        None => {
            tx.execute(
                "INSERT INTO incidents (rule, system, severity, status, detected_at, deadline, updated_at, explanation, activities)
                 VALUES (?1, ?2, ?3, 'new', ?4, ?5, ?4, ?6, ?7)",
                params![v.rule.id(), v.system, v.severity.as_str(), now_ms, now_ms + NOTIFICATION_DELAY_MS, v.explanation, v.activities.join(",")],
            )?;
            let id = tx.last_insert_rowid();
            tx.execute("INSERT INTO incident_timeline (incident_id, at, kind, actor, note) VALUES (?1, ?2, 'detected', 'custos', ?3)", params![id, now_ms, v.rule.title()])?;
            opened.push(id);
            id
        }
    };
    tx.prepare_cached("INSERT OR IGNORE INTO incident_findings (incident_id, finding_id) VALUES (?1, ?2)")?.execute(params![id, finding_id])?;
    for c in &v.categories {
        tx.prepare_cached("INSERT OR IGNORE INTO incident_categories (incident_id, category) VALUES (?1, ?2)")?.execute(params![id, c.as_str()])?;
    }
    if let Some(fp) = fingerprint {
        tx.prepare_cached("INSERT OR IGNORE INTO incident_subjects (incident_id, fingerprint) VALUES (?1, ?2)")?.execute(params![id, fp])?;
    }
    Ok(id)
}
