//! The collector's store: findings stored once by id, incidents with their clock — in SQLite
//! (one collector, a file in its data directory) or PostgreSQL (one or more collectors sharing
//! a database).
//!
//! Ingestion is idempotent: the finding id is the primary key and a resent finding is counted
//! as a duplicate, not stored again — at-least-once delivery becomes exactly-once storage, also
//! when the resend reaches another collector. A whole batch is one transaction, acknowledged
//! only after it commits. The store never holds a raw personal value: only previews and keyed
//! fingerprints.
//!
//! **One set of methods, two engines.** Every method of [`Store`] is written once, in the SQL
//! both engines share, against the small [`db::Backend`] seam ([`sqlite`], [`postgres`]); the
//! schema is one migration list per engine ([`schema`]). A method added later works on both.
//!
//! **Several collectors on one PostgreSQL database** stay consistent because every decision is
//! taken in the database, never in one collector's memory:
//! - a finding is inserted with `ON CONFLICT DO NOTHING` on its id, so two collectors receiving
//!   the same finding store it once (and only the one that stored it correlates it);
//! - the incident a verdict joins is chosen while holding a transaction-scoped advisory lock on
//!   its grouping key (rule, system), so findings of one incident arriving at two collectors at
//!   once open one incident, whose awareness time (the start of the Art. 33 72-hour clock) is
//!   that of the first commit; locks are taken in key order, so two batches cannot deadlock on
//!   them, and a batch that still meets a deadlock or serialisation failure is retried;
//! - the notifier claims timeline events and due notifications in the database (see
//!   [`Store::notifier_cursor_locked`] and [`Store::claim_due_notifications`]), so each event
//!   is notified once across collectors.
//!
//! Affected data subjects are counted exactly, as rows of `incident_subjects` (one per incident
//! and keyed fingerprint, unique): rows written by different collectors merge by construction,
//! and a count of 1M fingerprints takes 76 ms (measured on SQLite, index-only). A HyperLogLog
//! sketch would be smaller, but its ±1–2 % error would land in the figure the DPO reports to the
//! supervisory authority, and sketches kept per collector would need merging; exact is cheap
//! enough at the scale of one organisation's incidents.

pub mod db;
pub mod postgres;
pub mod schema;
pub mod sqlite;

use crate::correlation::{self, FindingFacts, Kind, Policy, Severity};
use crate::incident::Status;
use crate::register::Register;
use custos_agent::finding::category_from_wire;
use custos_proto::v1 as pb;
use custos_rules::Category;
use db::{Backend, Dialect, Row, Value, args};
use serde::Serialize;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// The Art. 33 clock: 72 hours from awareness.
pub const NOTIFICATION_DELAY_MS: i64 = 72 * 3600 * 1000;

/// Store errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed.
    #[error("PostgreSQL store: {}", pg_message(.0))]
    Postgres(#[from] ::postgres::Error),
    /// The database is newer than this collector.
    #[error("database schema version {0} is newer than this collector understands ({1}); upgrade custos-collector")]
    TooNew(i64, i64),
    /// The store location is wrong or unreachable.
    #[error("{0}")]
    Config(String),
    /// A value did not have the type the store expected (a bug, or a database altered by hand).
    #[error("database value: {0}")]
    Type(String),
}

fn pg_message(e: &::postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({}){}", db.message(), db.code().code(), db.detail().map(|d| format!(": {d}")).unwrap_or_default()),
        None => e.to_string(),
    }
}

impl StoreError {
    /// Whether retrying the whole transaction may succeed: PostgreSQL aborted it to break a
    /// deadlock or a serialisation conflict with another collector.
    pub fn is_retryable(&self) -> bool {
        use ::postgres::error::SqlState;
        matches!(self, StoreError::Postgres(e) if e.code().is_some_and(|c| *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE))
    }
}

/// Where the store lives: the `store` setting of the collector configuration.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A SQLite file (the default: `custos.db` in the data directory).
    Sqlite(PathBuf),
    /// A PostgreSQL URL (`postgres://user:password@host:port/database`).
    Postgres(String),
}

impl StoreLocation {
    /// The store of a collector: `store` when set (it must be a `postgres://` or
    /// `postgresql://` URL), else `custos.db` in `data_dir`.
    pub fn from_setting(store: Option<&str>, data_dir: &Path) -> Result<StoreLocation, String> {
        match store.map(str::trim) {
            None | Some("") => Ok(StoreLocation::Sqlite(data_dir.join("custos.db"))),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                url.parse::<::postgres::Config>().map_err(|e| format!("not a valid PostgreSQL URL: {e}"))?;
                Ok(StoreLocation::Postgres(url.to_string()))
            }
            Some(_) => Err("must be a PostgreSQL URL (`postgres://user:password@host:5432/database`); leave it out to use SQLite in data_dir".into()),
        }
    }
}

/// Shows the location without the password a PostgreSQL URL may carry.
impl std::fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreLocation::Sqlite(p) => write!(f, "{}", p.display()),
            StoreLocation::Postgres(url) => f.write_str(&redact_url(url)),
        }
    }
}

impl std::fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StoreLocation({self})")
    }
}

/// `postgres://user:***@host/db`: a URL fit for logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let (auth, host) = match rest.rsplit_once('@') {
        Some((auth, host)) => (Some(auth), host),
        None => (None, rest),
    };
    let host = host.split_once('?').map_or(host, |(h, _)| h);
    match auth.map(|a| a.split_once(':').map_or(a, |(user, _)| user)) {
        Some(user) => format!("{scheme}://{user}:***@{host}"),
        None => format!("{scheme}://{host}"),
    }
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

/// Where in its source a finding is — `line N` for text, `table.column` for a table — from the
/// `line, tbl, col` columns of a row, starting at column `first`.
pub(crate) fn position(r: &Row, first: usize) -> Result<String, StoreError> {
    Ok(match (r.opt_int(first)?, r.opt_text(first + 1)?, r.opt_text(first + 2)?) {
        (Some(l), _, _) => format!("line {l}"),
        (None, Some(t), Some(c)) => format!("{t}.{c}"),
        _ => String::new(),
    })
}

/// The name of a stored finding kind: `personal_data` or `export_anomaly`.
pub fn kind_name(kind: i64) -> &'static str {
    if kind == pb::FindingKind::ExportAnomaly as i64 { "export_anomaly" } else { "personal_data" }
}

/// RFC 3339 form of a millisecond timestamp.
pub fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| ms.to_string())
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


/// The store: one connection to SQLite or PostgreSQL, and the methods the collector, the CLI
/// and the console call. Not `Sync`: share it behind a `Mutex`.
pub struct Store {
    db: RefCell<Box<dyn Backend>>,
    dialect: Dialect,
    /// Open [`Store::atomically`] levels: only the outermost begins and commits.
    depth: u32,
}

/// Advisory-lock keys (PostgreSQL) of the whole store. Grouping keys are 64-bit hashes and may
/// in principle equal one of these (odds about 2^-63 per key); that would only serialise more,
/// never let two transactions through at once.
const MIGRATION_LOCK: i64 = 0x6375_7374_6f73_0001;
/// Held shared by every transaction that may add `detected`/`worsened` timeline events, and
/// exclusively by the notifier while it reads past its cursor: identity values are handed out
/// before commit, so without it an event committed late behind a higher id would be skipped.
const TIMELINE_LOCK: i64 = 0x6375_7374_6f73_0002;

/// Largest number of findings in one multi-row INSERT (25 columns: 6,400 parameters, under the
/// limits of both engines). Smaller remainders are split in powers of two so that at most nine
/// statement shapes are ever prepared.
const INSERT_CHUNK: usize = 256;
const FINDING_COLUMNS: &str = "id, agent_id, host, source_kind, locator, identity, line, start, end_, line_offset, tbl, col, row_key, detector, category, special, confidence, preview, fingerprint, kind, evidence, observed_at, received_at, records, subjects";
const FINDING_COLUMN_COUNT: usize = 25;

/// A stored finding as correlation needs it.
#[derive(Debug, Clone)]
struct Stored {
    id: String,
    agent_id: String,
    host: String,
    locator: String,
    detector: String,
    category: String,
    kind: i64,
    evidence: BTreeMap<String, String>,
    fingerprint: Option<Vec<u8>>,
}

/// The evidence figures incidents add up, from a finding's evidence: (records, subjects).
/// Records: a table finding says how many rows hold the data; a log line is one record.
/// Subjects: a table or file classification is one finding for many people; its evidence counts
/// the distinct values in the sample, extrapolated to the table's estimated rows when only a
/// sample was read.
fn evidence_figures(evidence: &std::collections::HashMap<String, String>) -> (i64, Option<i64>) {
    let num = |k: &str| evidence.get(k).and_then(|v| v.trim().parse::<i64>().ok());
    let (distinct, sampled, estimated, matched) = (num("distinct_fingerprints"), num("sampled_rows"), num("estimated_rows"), num("matched_rows"));
    let records = estimated.or(matched).unwrap_or(1);
    let subjects = distinct.map(|d| match (sampled, estimated) {
        (Some(s), Some(r)) if s > 0 && r > s => (d as f64 / s as f64 * r as f64) as i64,
        _ => d,
    });
    (records, subjects)
}

/// The advisory-lock key of an incident grouping (rule, system).
fn group_key(rule: &str, system: &str) -> i64 {
    use sha2::Digest;
    let h = sha2::Sha256::new().chain_update(rule.as_bytes()).chain_update([0u8]).chain_update(system.as_bytes()).finalize();
    i64::from_be_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]])
}

impl Store {
    /// Opens (creating if needed) a SQLite database file and applies migrations.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let mut store = Store::over(Box::new(sqlite::SqliteDb::open(path)?));
        store.migrate()?;
        Ok(store)
    }

    /// Opens an existing SQLite database read-only (for CLI listings while a collector runs).
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        let db = sqlite::SqliteDb::open_read_only(path)?;
        if db.user_version()? < schema::SQLITE.len() as i64 {
            // A database from an older collector: upgrade it first (what the collector would do
            // at its next start), so listings see the current schema.
            drop(db);
            return Store::open(path);
        }
        Ok(Store::over(Box::new(db)))
    }

    /// Connects to a PostgreSQL database (`postgres://user:password@host:port/database`) and
    /// applies migrations; safe when several collectors start at once.
    pub fn open_postgres(url: &str) -> Result<Store, StoreError> {
        let mut store = Store::over(Box::new(postgres::PostgresDb::connect(url)?));
        store.migrate()?;
        Ok(store)
    }

    /// Opens the store at `location` (creating a SQLite file if needed).
    pub fn open_location(location: &StoreLocation) -> Result<Store, StoreError> {
        match location {
            StoreLocation::Sqlite(path) => Store::open(path),
            StoreLocation::Postgres(url) => Store::open_postgres(url),
        }
    }

    fn over(db: Box<dyn Backend>) -> Store {
        let dialect = db.dialect();
        Store { db: RefCell::new(db), dialect, depth: 0 }
    }

    /// The engine behind this store.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    // ------------------------------------------------------------ statements and transactions

    /// Runs a statement (`$1, $2…` placeholders); returns the rows changed.
    pub(crate) fn exec(&self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        self.db.borrow_mut().execute(sql, params)
    }

    /// Runs a query; returns every row.
    pub(crate) fn rows(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        self.db.borrow_mut().query(sql, params)
    }

    /// Runs a query; returns its first row, if any.
    pub(crate) fn row(&self, sql: &str, params: &[Value]) -> Result<Option<Row>, StoreError> {
        Ok(self.rows(sql, params)?.into_iter().next())
    }

    /// Runs a query returning one integer (a count, `EXISTS`).
    pub(crate) fn int(&self, sql: &str, params: &[Value]) -> Result<i64, StoreError> {
        match self.row(sql, params)? {
            Some(r) => r.int(0),
            None => Err(StoreError::Type(format!("no row from `{sql}`"))),
        }
    }

    /// Runs `f` in one transaction: committed if it returns `Ok`, rolled back otherwise. Calls
    /// nest: store methods that are transactions themselves join the outermost one.
    pub fn atomically<T>(&mut self, f: impl FnOnce(&mut Store) -> Result<T, StoreError>) -> Result<T, StoreError> {
        if self.depth > 0 {
            self.depth += 1;
            let r = f(self);
            self.depth -= 1;
            return r;
        }
        self.db.get_mut().begin()?;
        self.depth = 1;
        let r = f(self);
        self.depth = 0;
        match r {
            Ok(v) => match self.db.get_mut().commit() {
                Ok(()) => Ok(v),
                Err(e) => {
                    self.db.get_mut().rollback();
                    Err(e)
                }
            },
            Err(e) => {
                self.db.get_mut().rollback();
                Err(e)
            }
        }
    }

    /// Puts the store back in a usable state after a panic interrupted one of its
    /// transactions (the collector recovers a poisoned store lock with this).
    pub fn recover(&mut self) {
        if self.depth > 0 {
            self.depth = 0;
            self.db.get_mut().rollback();
        }
    }

    /// On PostgreSQL, takes a transaction-scoped advisory lock (shared or exclusive); a no-op on
    /// SQLite, where the write transaction already excludes every other writer.
    fn advisory_lock(&self, key: i64, shared: bool) -> Result<(), StoreError> {
        if self.dialect == Dialect::Postgres {
            self.exec(if shared { "SELECT pg_advisory_xact_lock_shared($1)" } else { "SELECT pg_advisory_xact_lock($1)" }, args![key])?;
        }
        Ok(())
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        match self.dialect {
            Dialect::Sqlite => {
                let latest = schema::SQLITE.len() as i64;
                let version = self.int("PRAGMA user_version", &[])?;
                if version > latest {
                    return Err(StoreError::TooNew(version, latest));
                }
                for (i, sql) in schema::SQLITE.iter().enumerate().skip(version as usize) {
                    self.atomically(|s| {
                        s.db.get_mut().batch(sql)?;
                        s.exec(&format!("PRAGMA user_version = {}", i + 1), &[])?;
                        Ok(())
                    })?;
                }
                Ok(())
            }
            Dialect::Postgres => self.atomically(|s| {
                // Collectors starting together: one migrates, the others wait and find it done.
                s.advisory_lock(MIGRATION_LOCK, false)?;
                // Not the "already exists, skipping" notice at every start (it reaches the log).
                s.db.get_mut().batch("SET LOCAL client_min_messages = warning; CREATE TABLE IF NOT EXISTS custos_schema (version BIGINT NOT NULL)")?;
                let version = match s.row("SELECT version FROM custos_schema", &[])? {
                    Some(r) => r.int(0)?,
                    None => {
                        s.exec("INSERT INTO custos_schema (version) VALUES (0)", &[])?;
                        0
                    }
                };
                let latest = schema::POSTGRES.len() as i64;
                if version > latest {
                    return Err(StoreError::TooNew(version, latest));
                }
                for sql in schema::POSTGRES.iter().skip(version as usize) {
                    s.db.get_mut().batch(sql)?;
                }
                s.exec("UPDATE custos_schema SET version = $1", args![latest])?;
                Ok(())
            }),
        }
    }

    // ------------------------------------------------------------ ingestion and correlation

    /// The collector's own retention: findings received before `before_ms` that no correlation
    /// rule flagged (no verdict, so they are nobody's evidence) are folded into daily counts per
    /// agent, host, detector, category and kind (`finding_counts`) and deleted, so the database
    /// does not grow without bound. Findings behind a verdict stay as long as their incident does.
    /// Returns the number of findings purged.
    pub fn purge_findings(&mut self, before_ms: i64) -> Result<u64, StoreError> {
        const UNFLAGGED: &str = "received_at < $1 AND NOT EXISTS (SELECT 1 FROM verdicts v WHERE v.finding_id = findings.id)
             AND NOT EXISTS (SELECT 1 FROM incident_findings i WHERE i.finding_id = findings.id)";
        self.atomically(|s| {
            s.exec(
                &format!(
                    "INSERT INTO finding_counts (day, agent_id, host, detector, category, kind, count)
                     SELECT received_at / 86400000, agent_id, host, detector, category, kind, COUNT(*) FROM findings WHERE {UNFLAGGED}
                     GROUP BY 1, 2, 3, 4, 5, 6
                     ON CONFLICT (day, agent_id, host, detector, category, kind) DO UPDATE SET count = finding_counts.count + excluded.count"
                ),
                args![before_ms],
            )?;
            s.exec(&format!("DELETE FROM findings WHERE {UNFLAGGED}"), args![before_ms])
        })
    }

    /// Findings per day (days since the epoch), stored and purged together, oldest first.
    pub fn findings_per_day(&self) -> Result<Vec<(i64, u64)>, StoreError> {
        self.rows(
            "SELECT day, CAST(SUM(n) AS BIGINT) FROM (SELECT received_at / 86400000 AS day, COUNT(*) AS n FROM findings GROUP BY 1
                                                   UNION ALL SELECT day, SUM(count) FROM finding_counts GROUP BY 1) AS t GROUP BY day ORDER BY day",
            &[],
        )?
        .iter()
        .map(|r| Ok((r.int(0)?, r.int(1)?.max(0) as u64)))
        .collect()
    }

    /// Stores a batch from an authenticated agent, correlates new findings and opens or
    /// extends incidents — all in one transaction (retried when PostgreSQL aborts it to break a
    /// deadlock with another collector).
    pub fn ingest(&mut self, batch: &pb::FindingBatch, agent_id: &str, register: &Register, policy: &CorrelationSettings, now_ms: i64) -> Result<IngestOutcome, StoreError> {
        let mut attempt = 0;
        loop {
            match self.atomically(|s| s.ingest_once(batch, agent_id, register, policy, now_ms)) {
                Err(e) if e.is_retryable() && attempt < 8 && self.depth == 0 => {
                    attempt += 1;
                    tracing::debug!(error = %e, attempt, "batch transaction aborted by the database; retrying");
                    std::thread::sleep(std::time::Duration::from_millis(5 << attempt.min(6)));
                }
                r => return r,
            }
        }
    }

    fn ingest_once(&mut self, batch: &pb::FindingBatch, agent_id: &str, register: &Register, policy: &CorrelationSettings, now_ms: i64) -> Result<IngestOutcome, StoreError> {
        let mut out = IngestOutcome::default();
        self.exec(
            "INSERT INTO agents (agent_id, host, version, first_seen, last_seen, spool_depth) VALUES ($1, $2, $3, $4, $4, $5)
             ON CONFLICT (agent_id) DO UPDATE SET host = excluded.host, version = excluded.version, last_seen = excluded.last_seen, spool_depth = excluded.spool_depth",
            args![agent_id, &batch.host, &batch.agent_version, now_ms, batch.spool_depth.min(i64::MAX as u64) as i64],
        )?;
        let mut valid: Vec<&pb::Finding> = Vec::with_capacity(batch.findings.len());
        for f in &batch.findings {
            match check_finding(f, agent_id) {
                Ok(()) => valid.push(f),
                Err(reason) => {
                    tracing::warn!(agent = agent_id, finding = %f.id.chars().take(64).collect::<String>(), reason, "finding refused");
                    out.rejected += 1;
                }
            }
        }
        // Inserted in id order: two collectors inserting overlapping batches take the rows'
        // locks in the same order, so they wait for each other instead of deadlocking.
        let mut sorted = valid.clone();
        sorted.sort_by(|a, b| a.id.cmp(&b.id));
        sorted.dedup_by(|a, b| a.id == b.id);
        let mut inserted: HashSet<String> = HashSet::with_capacity(sorted.len());
        let mut rest = &sorted[..];
        while !rest.is_empty() {
            let n = if rest.len() >= INSERT_CHUNK { INSERT_CHUNK } else { 1 << rest.len().ilog2() };
            let (chunk, tail) = rest.split_at(n);
            rest = tail;
            let mut params = Vec::with_capacity(n * FINDING_COLUMN_COUNT);
            for f in chunk {
                finding_values(f, agent_id, now_ms, &mut params);
            }
            for r in self.rows(insert_findings_sql(n), &params)? {
                inserted.insert(r.text(0)?);
            }
        }
        // Counted and correlated in the batch's order; a finding another collector (or an
        // earlier batch) stored is a duplicate here and correlated there.
        let mut stored = Vec::new();
        for f in valid {
            if inserted.remove(&f.id) {
                out.stored += 1;
                stored.push(Stored {
                    id: f.id.clone(),
                    agent_id: agent_id.to_string(),
                    host: f.host.clone(),
                    locator: f.source.as_ref().map(|s| s.locator.clone()).unwrap_or_default(),
                    detector: f.detector.clone(),
                    category: category_from_wire(f.category).map(|c| c.as_str()).unwrap_or("unspecified").to_string(),
                    kind: i64::from(f.kind),
                    evidence: f.evidence.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                    fingerprint: (!f.fingerprint.is_empty()).then(|| f.fingerprint.clone()),
                });
            } else {
                out.duplicates += 1;
            }
        }
        let pending = self.verdicts_of(&stored, register, policy, true)?;
        self.settle(pending, policy, now_ms, &mut out.opened)?;
        Ok(out)
    }

    /// Re-correlates every stored finding against a (new) register: (finding, rule) pairs that
    /// already have a verdict are kept as they are; new ones open or extend incidents. Returns
    /// the incidents opened.
    pub fn recorrelate(&mut self, register: &Register, policy: &CorrelationSettings, now_ms: i64) -> Result<Vec<i64>, StoreError> {
        let mut attempt = 0;
        loop {
            match self.atomically(|s| s.recorrelate_once(register, policy, now_ms)) {
                Err(e) if e.is_retryable() && attempt < 8 && self.depth == 0 => {
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(5 << attempt.min(6)));
                }
                r => return r,
            }
        }
    }

    fn recorrelate_once(&mut self, register: &Register, policy: &CorrelationSettings, now_ms: i64) -> Result<Vec<i64>, StoreError> {
        // Personal data first (kind 1 < 2), so an export anomaly's verdicts follow those of the
        // data it exposes. Pages keep memory flat on a large store.
        let mut pending = Vec::new();
        let mut after: Option<(i64, i64, String)> = None;
        loop {
            let page = match &after {
                None => self.rows(&format!("{STORED_SELECT} ORDER BY kind, received_at, id LIMIT 5000"), &[])?,
                Some((k, t, id)) => self.rows(
                    &format!("{STORED_SELECT} WHERE kind > $1 OR (kind = $1 AND received_at > $2) OR (kind = $1 AND received_at = $2 AND id > $3) ORDER BY kind, received_at, id LIMIT 5000"),
                    args![*k, *t, id],
                )?,
            };
            let Some(last) = page.last() else { break };
            after = Some((last.int(5)?, last.int(9)?, last.text(0)?));
            let found: Vec<Stored> = page.iter().map(stored_row).collect::<Result<_, _>>()?;
            pending.extend(self.verdicts_of(&found, register, policy, false)?);
        }
        let mut opened = Vec::new();
        self.settle(pending, policy, now_ms, &mut opened)?;
        Ok(opened)
    }

    /// Phase 1 of correlation: the verdicts of stored findings (reads only). `fresh`: the
    /// findings were inserted by this transaction, so they cannot have verdicts yet.
    fn verdicts_of(&self, found: &[Stored], register: &Register, settings: &CorrelationSettings, fresh: bool) -> Result<Vec<(Stored, correlation::Verdict)>, StoreError> {
        let mut host_categories: HashMap<String, Vec<Category>> = HashMap::new();
        let mut out = Vec::new();
        for f in found {
            let kind = if f.kind == pb::FindingKind::ExportAnomaly as i64 { Kind::ExportAnomaly } else { Kind::PersonalData };
            if kind == Kind::ExportAnomaly && !host_categories.contains_key(&f.host) {
                let cats = self
                    .rows("SELECT DISTINCT category FROM findings WHERE host = $1 AND kind = 1", args![&f.host])?
                    .iter()
                    .filter_map(|r| r.text(0).ok()?.parse().ok())
                    .collect();
                host_categories.insert(f.host.clone(), cats);
            }
            let facts = FindingFacts {
                id: &f.id,
                agent_id: &f.agent_id,
                host: &f.host,
                locator: &f.locator,
                detector: &f.detector,
                kind,
                category: f.category.parse().ok(),
                evidence: &f.evidence,
                host_categories: host_categories.get(&f.host).map_or(&[], Vec::as_slice),
            };
            for v in correlation::correlate(&facts, register, &settings.policy) {
                if !fresh && self.verdict_known(&f.id, v.rule.id())? {
                    continue;
                }
                out.push((f.clone(), v));
            }
        }
        Ok(out)
    }

    fn verdict_known(&self, finding_id: &str, rule: &str) -> Result<bool, StoreError> {
        Ok(self.int("SELECT CASE WHEN EXISTS (SELECT 1 FROM verdicts WHERE finding_id = $1 AND rule = $2) THEN 1 ELSE 0 END", args![finding_id, rule])? != 0)
    }

    /// Phase 2 of correlation: under the grouping keys' locks (taken in key order), records each
    /// verdict and attaches it to the open incident of its (rule, system), opening one if needed.
    fn settle(&self, pending: Vec<(Stored, correlation::Verdict)>, settings: &CorrelationSettings, now_ms: i64, opened: &mut Vec<i64>) -> Result<(), StoreError> {
        if pending.is_empty() {
            return Ok(());
        }
        self.advisory_lock(TIMELINE_LOCK, true)?;
        let mut keys: Vec<i64> = pending.iter().map(|(_, v)| group_key(v.rule.id(), &v.system)).collect();
        keys.sort_unstable();
        keys.dedup();
        for k in keys {
            self.advisory_lock(k, false)?;
        }
        let mutes: HashSet<(String, String)> = self.rows("SELECT rule, system FROM mutes", &[])?.iter().map(|r| Ok((r.text(0)?, r.text(1)?))).collect::<Result<_, StoreError>>()?;
        for (f, v) in pending {
            // Another collector may have settled the same verdict while we waited for the lock.
            if self.dialect == Dialect::Postgres && self.verdict_known(&f.id, v.rule.id())? {
                continue;
            }
            let muted = mutes.contains(&(v.rule.id().to_string(), v.system.clone()));
            let incident = if muted { None } else { Some(self.attach(&v, &f.id, f.fingerprint.as_deref(), settings.window_ms, now_ms, opened)?) };
            if let (Some(id), correlation::Rule::ExportAnomaly) = (incident, v.rule) {
                // An export carries no values; the subjects at stake are those whose data the
                // agents saw on the host.
                self.exec(
                    "INSERT INTO incident_subjects (incident_id, fingerprint) SELECT CAST($1 AS BIGINT), fingerprint FROM findings WHERE host = $2 AND kind = 1 AND fingerprint IS NOT NULL
                     ON CONFLICT DO NOTHING",
                    args![id, &f.host],
                )?;
            }
            self.exec(
                "INSERT INTO verdicts (finding_id, rule, incident_id, muted, severity, at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                args![&f.id, v.rule.id(), incident, muted, v.severity.as_str(), now_ms],
            )?;
        }
        Ok(())
    }

    /// Attaches a verdict to the open incident of its (rule, system) within the window, opening
    /// one if needed. A new category or a higher severity is recorded as `worsened` in the
    /// timeline. The caller holds the grouping key's lock.
    fn attach(&self, v: &correlation::Verdict, finding_id: &str, fingerprint: Option<&[u8]>, window_ms: i64, now_ms: i64, opened: &mut Vec<i64>) -> Result<i64, StoreError> {
        let existing = self.row(
            "SELECT id, severity FROM incidents WHERE rule = $1 AND system = $2 AND status IN ('new', 'triaged', 'assessed') AND detected_at >= $3 ORDER BY id DESC LIMIT 1",
            args![v.rule.id(), &v.system, now_ms - window_ms],
        )?;
        let id = match existing {
            Some(r) => {
                let (id, severity) = (r.int(0)?, r.text(1)?);
                let known: HashSet<String> = self.rows("SELECT category FROM incident_categories WHERE incident_id = $1", args![id])?.iter().map(|r| r.text(0)).collect::<Result<_, _>>()?;
                let new_categories: Vec<&str> = v.categories.iter().map(|c| c.as_str()).filter(|c| !known.contains(*c)).collect();
                let worse = Severity::parse(&severity).is_none_or(|s| v.severity > s);
                if !new_categories.is_empty() || worse {
                    self.exec(
                        "UPDATE incidents SET explanation = explanation || $2, updated_at = $3, severity = $4 WHERE id = $1",
                        args![id, format!("\n{}", v.explanation), now_ms, if worse { v.severity.as_str() } else { severity.as_str() }],
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
                        self.exec("INSERT INTO incident_timeline (incident_id, at, kind, actor, note) VALUES ($1, $2, 'worsened', 'custos', $3)", args![id, now_ms, note.join("; ")])?;
                    }
                }
                id
            }
            None => {
                let id = self.int(
                    "INSERT INTO incidents (rule, system, severity, status, detected_at, deadline, updated_at, explanation, activities)
                     VALUES ($1, $2, $3, 'new', $4, $5, $4, $6, $7) RETURNING id",
                    args![v.rule.id(), &v.system, v.severity.as_str(), now_ms, now_ms + NOTIFICATION_DELAY_MS, &v.explanation, v.activities.join(",")],
                )?;
                self.exec("INSERT INTO incident_timeline (incident_id, at, kind, actor, note) VALUES ($1, $2, 'detected', 'custos', $3)", args![id, now_ms, v.rule.title()])?;
                opened.push(id);
                id
            }
        };
        self.exec("INSERT INTO incident_findings (incident_id, finding_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", args![id, finding_id])?;
        for c in &v.categories {
            self.exec("INSERT INTO incident_categories (incident_id, category) VALUES ($1, $2) ON CONFLICT DO NOTHING", args![id, c.as_str()])?;
        }
        if let Some(fp) = fingerprint {
            self.exec("INSERT INTO incident_subjects (incident_id, fingerprint) VALUES ($1, $2) ON CONFLICT DO NOTHING", args![id, fp])?;
        }
        Ok(id)
    }

    // ------------------------------------------------------------ incidents

    /// All incidents, newest first.
    pub fn incidents(&self) -> Result<Vec<IncidentView>, StoreError> {
        let ids: Vec<i64> = self.rows("SELECT id FROM incidents ORDER BY id DESC", &[])?.iter().map(|r| r.int(0)).collect::<Result<_, _>>()?;
        ids.into_iter().filter_map(|id| self.incident(id).transpose()).collect()
    }

    /// One incident.
    pub fn incident(&self, id: i64) -> Result<Option<IncidentView>, StoreError> {
        let Some(r) = self.row("SELECT id, rule, severity, status, system, detected_at, deadline, explanation, activities, justification FROM incidents WHERE id = $1", args![id])? else {
            return Ok(None);
        };
        let mut v = IncidentView {
            id: r.int(0)?,
            rule: r.text(1)?,
            severity: r.text(2)?,
            status: r.text(3)?,
            system: r.text(4)?,
            detected_at_ms: r.int(5)?,
            deadline_ms: r.int(6)?,
            explanation: r.text(7)?,
            activities: r.text(8)?.split(',').filter(|s| !s.is_empty()).map(String::from).collect(),
            justification: r.text(9)?,
            categories: Vec::new(),
            findings: 0,
            distinct_subjects: 0,
            records: 0,
            detected_at: String::new(),
            deadline: String::new(),
        };
        v.categories = self.rows("SELECT category FROM incident_categories WHERE incident_id = $1 ORDER BY category", args![id])?.iter().map(|r| r.text(0)).collect::<Result<_, _>>()?;
        v.findings = self.int("SELECT COUNT(*) FROM incident_findings WHERE incident_id = $1", args![id])?.max(0) as u64;
        // Exact distinct count (see the module documentation): incident_subjects has one row per
        // (incident, fingerprint), so this is an index-only count.
        let exact = self.int("SELECT COUNT(*) FROM incident_subjects WHERE incident_id = $1", args![id])?;
        // One pass over the incident's findings for both evidence figures (extracted at
        // ingestion, see `evidence_figures`). Columns of one table hold the same people, so the
        // largest subject estimate counts, not their sum.
        let figures = self.row(
            "SELECT CAST(COALESCE(SUM(f.records), 0) AS BIGINT), CAST(COALESCE(MAX(f.subjects), 0) AS BIGINT)
             FROM incident_findings i JOIN findings f ON f.id = i.finding_id WHERE i.incident_id = $1",
            args![id],
        )?;
        let (records, classified) = match figures {
            Some(r) => (r.int(0)?, r.int(1)?),
            None => (0, 0),
        };
        v.distinct_subjects = exact.max(classified).max(0) as u64;
        v.records = records.max(0) as u64;
        v.detected_at = rfc3339(v.detected_at_ms);
        v.deadline = rfc3339(v.deadline_ms);
        Ok(Some(v))
    }

    /// The evidence of an incident: its findings, with masked previews (never values).
    pub fn evidence(&self, id: i64) -> Result<Vec<EvidenceView>, StoreError> {
        self.rows(
            "SELECT f.id, f.agent_id, f.host, f.locator, f.line, f.tbl, f.col, f.detector, f.category, f.preview, f.kind, f.evidence, f.observed_at
             FROM incident_findings i JOIN findings f ON f.id = i.finding_id WHERE i.incident_id = $1 ORDER BY f.observed_at LIMIT 1000",
            args![id],
        )?
        .iter()
        .map(|r| {
            Ok(EvidenceView {
                finding_id: r.text(0)?,
                agent_id: r.text(1)?,
                host: r.text(2)?,
                locator: r.text(3)?,
                at: position(r, 4)?,
                detector: r.text(7)?,
                category: r.text(8)?,
                preview: r.text(9)?,
                kind: kind_name(r.int(10)?).into(),
                evidence: serde_json::from_str(&r.text(11)?).unwrap_or_default(),
                observed_at: rfc3339(r.int(12)?),
            })
        })
        .collect()
    }

    /// The timeline of an incident, oldest first.
    pub fn timeline(&self, id: i64) -> Result<Vec<TimelineEntry>, StoreError> {
        self.rows("SELECT id, incident_id, at, kind, actor, note FROM incident_timeline WHERE incident_id = $1 ORDER BY id", args![id])?.iter().map(timeline_row).collect()
    }

    /// Timeline entries after `after` (the notifier's cursor), oldest first.
    pub fn timeline_since(&self, after: i64) -> Result<Vec<TimelineEntry>, StoreError> {
        self.rows("SELECT id, incident_id, at, kind, actor, note FROM incident_timeline WHERE id > $1 ORDER BY id LIMIT 1000", args![after])?.iter().map(timeline_row).collect()
    }

    /// Adds a timeline entry (e.g. `draft` when the Art. 33 draft is produced).
    pub fn add_timeline(&mut self, id: i64, kind: &str, actor: &str, note: &str, now_ms: i64) -> Result<(), StoreError> {
        self.exec("INSERT INTO incident_timeline (incident_id, at, kind, actor, note) VALUES ($1, $2, $3, $4, $5)", args![id, now_ms, kind, actor, note])?;
        Ok(())
    }

    /// Moves an incident along the workflow, recording who, when and why in the timeline and the
    /// audit trail.
    pub fn set_status(&mut self, id: i64, to: Status, by: &str, note: &str, now_ms: i64) -> Result<Result<(), String>, StoreError> {
        self.atomically(|s| {
            // FOR UPDATE would be PostgreSQL-only; the UPDATE below re-checks the status read.
            let Some(r) = s.row("SELECT status FROM incidents WHERE id = $1", args![id])? else {
                return Ok(Err(format!("no incident #{id}")));
            };
            let from_text = r.text(0)?;
            let from = Status::parse(&from_text).unwrap_or(Status::New);
            if let Err(e) = from.check_transition(to, note, by) {
                return Ok(Err(e));
            }
            let justification = if to == Status::NotNotifiable { note } else { "" };
            let n = s.exec(
                "UPDATE incidents SET status = $2, updated_at = $3, justification = CASE WHEN $4 = '' THEN justification ELSE $4 END WHERE id = $1 AND status = $5",
                args![id, to.as_str(), now_ms, justification, &from_text],
            )?;
            if n == 0 {
                return Ok(Err(format!("incident #{id} changed status meanwhile; look again and retry")));
            }
            s.exec("INSERT INTO incident_timeline (incident_id, at, kind, actor, note) VALUES ($1, $2, $3, $4, $5)", args![id, now_ms, to.as_str(), by, note])?;
            s.exec(
                "INSERT INTO audit (at, actor, action, subject, detail) VALUES ($1, $2, 'incident_status', $3, $4)",
                args![now_ms, by, format!("incident #{id}"), format!("{} → {}: {note}", from.as_str(), to.as_str())],
            )?;
            Ok(Ok(()))
        })
    }

    /// Mutes a rule for a system (`host:locator`): its verdicts are kept, flagged muted, and open
    /// no incident. The reason goes to the audit trail.
    pub fn mute(&mut self, rule: &str, system: &str, reason: &str, by: &str, now_ms: i64) -> Result<(), StoreError> {
        self.atomically(|s| {
            s.exec(
                "INSERT INTO mutes (rule, system, reason, muted_by, at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (rule, system) DO UPDATE SET reason = excluded.reason, muted_by = excluded.muted_by, at = excluded.at",
                args![rule, system, reason, by, now_ms],
            )?;
            s.exec("INSERT INTO audit (at, actor, action, subject, detail) VALUES ($1, $2, 'mute', $3, $4)", args![now_ms, by, format!("{rule} on {system}"), reason])?;
            Ok(())
        })
    }

    /// Lifts a mute; returns whether there was one.
    pub fn unmute(&mut self, rule: &str, system: &str, reason: &str, by: &str, now_ms: i64) -> Result<bool, StoreError> {
        self.atomically(|s| {
            let n = s.exec("DELETE FROM mutes WHERE rule = $1 AND system = $2", args![rule, system])?;
            if n > 0 {
                s.exec("INSERT INTO audit (at, actor, action, subject, detail) VALUES ($1, $2, 'unmute', $3, $4)", args![now_ms, by, format!("{rule} on {system}"), reason])?;
            }
            Ok(n > 0)
        })
    }

    /// Mutes in force, by rule and system.
    pub fn mutes(&self) -> Result<Vec<MuteEntry>, StoreError> {
        self.rows("SELECT rule, system, reason, muted_by, at FROM mutes ORDER BY rule, system", &[])?
            .iter()
            .map(|r| Ok(MuteEntry { rule: r.text(0)?, system: r.text(1)?, reason: r.text(2)?, muted_by: r.text(3)?, at: rfc3339(r.int(4)?) }))
            .collect()
    }

    /// The audit trail, oldest first.
    pub fn audit(&self) -> Result<Vec<AuditEntry>, StoreError> {
        self.rows("SELECT at, actor, action, subject, detail FROM audit ORDER BY id", &[])?
            .iter()
            .map(|r| Ok(AuditEntry { at: rfc3339(r.int(0)?), actor: r.text(1)?, action: r.text(2)?, subject: r.text(3)?, detail: r.text(4)? }))
            .collect()
    }

    /// Places where personal data was seen, with the categories seen there.
    pub fn places(&self) -> Result<Vec<Place>, StoreError> {
        let mut out: Vec<Place> = Vec::new();
        for r in self.rows("SELECT DISTINCT host, locator, agent_id, category FROM findings WHERE kind = 1 ORDER BY host, locator, agent_id, category", &[])? {
            let (host, locator, agent_id, category) = (r.text(0)?, r.text(1)?, r.text(2)?, r.text(3)?);
            match out.last_mut() {
                Some(p) if p.host == host && p.locator == locator && p.agent_id == agent_id => p.categories.push(category),
                _ => out.push(Place { agent_id, host, locator, categories: vec![category] }),
            }
        }
        Ok(out)
    }

    /// Agents and when each was last heard of.
    pub fn agents(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
        self.rows("SELECT agent_id, host, last_seen FROM agents ORDER BY agent_id", &[])?.iter().map(|r| Ok((r.text(0)?, r.text(1)?, r.int(2)?))).collect()
    }

    // ------------------------------------------------------------ notifications

    /// Queues a notification once: a second call with the same key does nothing (send-once
    /// claim, unique `dedup_key`, whichever collector calls). Returns whether it was queued.
    pub fn enqueue_notification(&mut self, key: &str, incident_id: Option<i64>, event: &str, channel: &str, payload: &str, now_ms: i64) -> Result<bool, StoreError> {
        let n = self.exec(
            "INSERT INTO notifications (dedup_key, incident_id, event, channel, payload, status, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6)
             ON CONFLICT DO NOTHING",
            args![key, incident_id, event, channel, payload, now_ms],
        )?;
        Ok(n > 0)
    }

    /// Whether a notification was ever queued under this key (any channel suffix included).
    pub fn notification_queued(&self, key_prefix: &str) -> Result<bool, StoreError> {
        let n = self.int(
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM notifications WHERE substr(dedup_key, 1, $2) = $1) THEN 1 ELSE 0 END",
            args![key_prefix, key_prefix.chars().count() as i64],
        )?;
        Ok(n != 0)
    }

    /// Incidents whose deadline is still ahead and that nobody assessed yet (reminder candidates).
    pub fn unassessed_incidents(&self, now_ms: i64) -> Result<Vec<IncidentView>, StoreError> {
        let ids: Vec<i64> = self.rows("SELECT id FROM incidents WHERE status IN ('new', 'triaged') AND deadline > $1 ORDER BY id", args![now_ms])?.iter().map(|r| r.int(0)).collect::<Result<_, _>>()?;
        ids.into_iter().filter_map(|id| self.incident(id).transpose()).collect()
    }

    /// Pending notifications whose next attempt is due (claimed or not).
    pub fn due_notifications(&self, now_ms: i64) -> Result<Vec<NotificationView>, StoreError> {
        self.rows(&format!("{NOTIFICATION_SELECT} WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY id LIMIT 100"), args![now_ms])?.iter().map(notification_row).collect()
    }

    /// Claims up to `limit` due notifications for `owner` until `now_ms + lease_ms` and returns
    /// them, oldest first: a notification claimed by one collector is not handed to another
    /// until it is delivered, given up, or the lease expires (its collector died mid-send).
    pub fn claim_due_notifications(&mut self, owner: &str, now_ms: i64, lease_ms: i64, limit: i64) -> Result<Vec<NotificationView>, StoreError> {
        const DUE: &str = "status = 'pending' AND next_attempt_at <= $3 AND (claimed_until IS NULL OR claimed_until < $3)";
        // The outer condition is re-checked on the latest row version when the row was locked
        // by a concurrent claim, so without SKIP LOCKED (SQLite) a row is still claimed once.
        let skip_locked = if self.dialect == Dialect::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
        let sql = format!(
            "UPDATE notifications SET claimed_by = $1, claimed_until = $2 WHERE {DUE} AND id IN (SELECT id FROM notifications WHERE {DUE} ORDER BY id LIMIT $4{skip_locked})
             RETURNING id, incident_id, event, channel, status, attempts, last_error, created_at, sent_at, payload"
        );
        let mut list: Vec<NotificationView> = self.rows(&sql, args![owner, now_ms + lease_ms, now_ms, limit])?.iter().map(notification_row).collect::<Result<_, _>>()?;
        list.sort_by_key(|n| n.id);
        Ok(list)
    }

    /// Every notification, newest first.
    pub fn notifications(&self) -> Result<Vec<NotificationView>, StoreError> {
        self.rows(&format!("{NOTIFICATION_SELECT} ORDER BY id DESC"), &[])?.iter().map(notification_row).collect()
    }

    /// Records a delivery attempt: sent, or failed with the error and the next attempt (None =
    /// give up: status `failed`). Releases the claim.
    pub fn record_delivery(&mut self, id: i64, result: Result<(), String>, next_attempt_ms: Option<i64>, now_ms: i64) -> Result<(), StoreError> {
        match (result, next_attempt_ms) {
            (Ok(()), _) => self.exec(
                "UPDATE notifications SET status = 'sent', attempts = attempts + 1, sent_at = $2, last_error = '', claimed_by = NULL, claimed_until = NULL WHERE id = $1",
                args![id, now_ms],
            )?,
            (Err(e), Some(next)) => self.exec(
                "UPDATE notifications SET status = 'pending', attempts = attempts + 1, last_error = $2, next_attempt_at = $3, claimed_by = NULL, claimed_until = NULL WHERE id = $1",
                args![id, e, next],
            )?,
            (Err(e), None) => self.exec(
                "UPDATE notifications SET status = 'failed', attempts = attempts + 1, last_error = $2, claimed_by = NULL, claimed_until = NULL WHERE id = $1",
                args![id, e],
            )?,
        };
        Ok(())
    }

    /// The notifier's position in the timeline.
    pub fn notifier_cursor(&self) -> Result<i64, StoreError> {
        Ok(self.row("SELECT timeline_id FROM notifier_cursor WHERE id = 1", &[])?.map(|r| r.int(0)).transpose()?.unwrap_or(0))
    }

    /// The notifier's position, with the timeline closed to new detections until the enclosing
    /// [`Store::atomically`] transaction ends — call it there, read [`Store::timeline_since`],
    /// queue, move the cursor, commit. On PostgreSQL this waits for the transactions of other
    /// collectors that are adding events (whose ids may be lower than ones already committed)
    /// and keeps a second notifier out until the cursor has moved, so every event is read once;
    /// on SQLite the write transaction gives the same guarantee.
    pub fn notifier_cursor_locked(&mut self) -> Result<i64, StoreError> {
        self.advisory_lock(TIMELINE_LOCK, false)?;
        self.notifier_cursor()
    }

    /// Moves the notifier's cursor forward (never back: a slower collector cannot rewind it).
    pub fn set_notifier_cursor(&mut self, to: i64) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO notifier_cursor (id, timeline_id) VALUES (1, $1)
             ON CONFLICT (id) DO UPDATE SET timeline_id = excluded.timeline_id WHERE notifier_cursor.timeline_id < excluded.timeline_id",
            args![to],
        )?;
        Ok(())
    }

    /// Number of stored findings.
    pub fn finding_count(&self) -> Result<u64, StoreError> {
        Ok(self.int("SELECT COUNT(*) FROM findings", &[])?.max(0) as u64)
    }
}

/// The multi-row INSERT of `n` findings (a power of two up to [`INSERT_CHUNK`]), built once.
fn insert_findings_sql(n: usize) -> &'static str {
    static SQL: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let all = SQL.get_or_init(|| (0..=INSERT_CHUNK.ilog2()).map(|k| build_insert_findings_sql(1 << k)).collect());
    &all[n.ilog2() as usize]
}

/// The multi-row INSERT of `n` findings, returning the ids actually inserted (not resends).
fn build_insert_findings_sql(n: usize) -> String {
    let mut sql = format!("INSERT INTO findings ({FINDING_COLUMNS}) VALUES ");
    for row in 0..n {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for col in 0..FINDING_COLUMN_COUNT {
            if col > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", row * FINDING_COLUMN_COUNT + col + 1));
        }
        sql.push(')');
    }
    sql.push_str(" ON CONFLICT (id) DO NOTHING RETURNING id");
    sql
}

/// Appends the 25 column values of one finding, in [`FINDING_COLUMNS`] order.
fn finding_values(f: &pb::Finding, agent_id: &str, now_ms: i64, out: &mut Vec<Value>) {
    let source = f.source.clone().unwrap_or_default();
    let (line, start, end, line_offset, tbl, col, row_key) = match f.position.as_ref().and_then(|p| p.at.clone()) {
        Some(pb::position::At::Text(t)) => (Some(t.line as i64), Some(t.start as i64), Some(t.end as i64), Some(t.line_offset as i64), None, None, None),
        Some(pb::position::At::Table(t)) => (None, None, None, None, Some(t.table), Some(t.column), Some(t.row_key)),
        None => (None, None, None, None, None, None, None),
    };
    let category = category_from_wire(f.category).map(|c| c.as_str()).unwrap_or("unspecified");
    let evidence = serde_json::to_string(&f.evidence).unwrap_or_else(|_| "{}".into());
    let (records, subjects) = evidence_figures(&f.evidence);
    out.extend([
        Value::from(&f.id),
        agent_id.into(),
        (&f.host).into(),
        source.kind.into(),
        source.locator.into(),
        source.identity.into(),
        line.into(),
        start.into(),
        end.into(),
        line_offset.into(),
        tbl.into(),
        col.into(),
        row_key.into(),
        (&f.detector).into(),
        category.into(),
        f.special_category.into(),
        f.confidence.into(),
        (&f.preview).into(),
        (!f.fingerprint.is_empty()).then(|| f.fingerprint.clone()).into(),
        f.kind.into(),
        evidence.into(),
        f.observed_at_ms.into(),
        now_ms.into(),
        records.into(),
        subjects.into(),
    ]);
}

const STORED_SELECT: &str = "SELECT id, agent_id, host, locator, detector, kind, category, evidence, fingerprint, received_at FROM findings";

fn stored_row(r: &Row) -> Result<Stored, StoreError> {
    Ok(Stored {
        id: r.text(0)?,
        agent_id: r.text(1)?,
        host: r.text(2)?,
        locator: r.text(3)?,
        detector: r.text(4)?,
        kind: r.int(5)?,
        category: r.text(6)?,
        evidence: serde_json::from_str(&r.text(7)?).unwrap_or_default(),
        fingerprint: r.opt_blob(8)?,
    })
}

const NOTIFICATION_SELECT: &str = "SELECT id, incident_id, event, channel, status, attempts, last_error, created_at, sent_at, payload FROM notifications";

fn notification_row(r: &Row) -> Result<NotificationView, StoreError> {
    Ok(NotificationView {
        id: r.int(0)?,
        incident_id: r.opt_int(1)?,
        event: r.text(2)?,
        channel: r.text(3)?,
        status: r.text(4)?,
        attempts: r.int(5)?,
        last_error: r.text(6)?,
        created_at: rfc3339(r.int(7)?),
        sent_at: r.opt_int(8)?.map(rfc3339),
        payload: r.text(9)?,
    })
}

fn timeline_row(r: &Row) -> Result<TimelineEntry, StoreError> {
    let at = r.int(2)?;
    Ok(TimelineEntry { id: r.int(0)?, incident_id: r.int(1)?, at_ms: at, at: rfc3339(at), kind: r.text(3)?, actor: r.text(4)?, note: r.text(5)? })
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


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_location_never_shows_the_database_password() {
        let loc = StoreLocation::from_setting(Some("postgres://custos:s3cret@db:5432/custos?password=x"), Path::new("/d")).unwrap();
        assert_eq!(loc.to_string(), "postgres://custos:***@db:5432/custos");
        assert!(!format!("{loc:?}").contains("s3cret"));
        assert_eq!(StoreLocation::from_setting(None, Path::new("/d")).unwrap(), StoreLocation::Sqlite(PathBuf::from("/d/custos.db")));
        assert!(StoreLocation::from_setting(Some("mysql://x"), Path::new("/d")).unwrap_err().contains("PostgreSQL URL"));
    }

    #[test]
    fn a_v4_sqlite_file_is_upgraded_with_its_evidence_figures_extracted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("custos.db");
        {
            let c = rusqlite::Connection::open(&path).unwrap();
            for sql in &schema::SQLITE[..4] {
                c.execute_batch(sql).unwrap();
            }
            c.pragma_update(None, "user_version", 4).unwrap();
            c.execute(
                "INSERT INTO findings (id, agent_id, host, source_kind, locator, identity, detector, category, special, confidence, preview, kind, evidence, observed_at, received_at)
                 VALUES ('t', 'a', 'h', 3, 'db://shop/customers', 'i', 'email', 'contact', 0, 0.9, 'j***', 1, '{\"distinct_fingerprints\":\"40\",\"sampled_rows\":\"100\",\"estimated_rows\":\"1000\"}', 1, 1)",
                [],
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let r = store.row("SELECT records, subjects FROM findings WHERE id = 't'", &[]).unwrap().unwrap();
        assert_eq!((r.int(0).unwrap(), r.opt_int(1).unwrap()), (1000, Some(400)));
        assert_eq!(store.int("PRAGMA user_version", &[]).unwrap(), schema::SQLITE.len() as i64);
    }

    #[test]
    fn evidence_figures_extrapolate_a_sample_to_the_table() {
        let ev = |kv: &[(&str, &str)]| kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<HashMap<_, _>>();
        assert_eq!(evidence_figures(&ev(&[])), (1, None), "a log line is one record");
        assert_eq!(evidence_figures(&ev(&[("distinct_fingerprints", "40"), ("sampled_rows", "100"), ("estimated_rows", "1000")])), (1000, Some(400)));
        assert_eq!(evidence_figures(&ev(&[("distinct_fingerprints", "40"), ("matched_rows", "70")])), (70, Some(40)));
        assert_eq!(evidence_figures(&ev(&[("distinct_fingerprints", "many")])), (1, None), "not a number: no estimate");
    }
}
