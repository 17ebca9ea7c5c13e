//! Findings: stored once by id, in one transaction per batch, then correlated.
//!
//! A batch arrives already checked ([`CheckedBatch`]: the gRPC edge decoded and checked every
//! finding against the contract). Its findings are inserted with `ON CONFLICT DO NOTHING`, so a
//! resend — to this collector or another one sharing the database — is a duplicate, not a second
//! row; only the findings this transaction inserted are correlated (see [`super::correlate`]).
//! On PostgreSQL a batch is one statement, `INSERT … SELECT FROM unnest(…)` with one array
//! parameter per column; SQLite takes multi-row `VALUES` in chunks.

use super::Store;
use super::db::{Row, Value, args};
use super::error::StoreError;
use crate::correlation::CorrelationSettings;
use crate::register::Register;
use custos_proto::checked::{CheckedBatch, CheckedFinding, FindingKind, Place};
use custos_rules::Category;
use std::collections::{BTreeMap, HashSet};

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

/// A finding as stored: what the agent sent (masked preview, keyed fingerprint, never a value)
/// and when the collector received it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFinding {
    /// Deterministic id.
    pub id: String,
    /// Agent that sent it.
    pub agent_id: String,
    /// Host of the agent.
    pub host: String,
    /// Path or table locator.
    pub locator: String,
    /// `SOURCE_KIND_*` of its source.
    pub source_kind: i32,
    /// Position in the source.
    pub place: Place,
    /// Detector or anomaly heuristic.
    pub detector: String,
    /// Data category (none for export anomalies).
    pub category: Option<Category>,
    /// Art. 9 / Art. 10 data.
    pub special: bool,
    /// Detector confidence in [0, 1].
    pub confidence: f64,
    /// Masked preview.
    pub preview: String,
    /// Keyed fingerprint, when the finding has one.
    pub fingerprint: Option<Vec<u8>>,
    /// Personal data or export anomaly.
    pub kind: FindingKind,
    /// Figures (counts, ages, heuristics).
    pub evidence: BTreeMap<String, String>,
    /// When the agent saw it (ms).
    pub observed_at_ms: i64,
    /// When the collector stored it (ms).
    pub received_at_ms: i64,
}

impl StoredFinding {
    /// Whether it was found in a file or table at rest (a scan), not in a log being written.
    pub fn at_rest(&self) -> bool {
        self.source_kind == custos_proto::v1::SourceKind::File as i32 || self.source_kind == custos_proto::v1::SourceKind::DatabaseTable as i32
    }

    /// A checked finding as this transaction stores it.
    fn received(f: &CheckedFinding, now_ms: i64) -> StoredFinding {
        StoredFinding {
            id: f.id.clone(),
            agent_id: f.agent_id.clone(),
            host: f.host.clone(),
            locator: f.locator.clone(),
            source_kind: f.source_kind,
            place: f.place.clone(),
            detector: f.detector.clone(),
            category: f.category,
            special: f.special,
            confidence: f64::from(f.confidence),
            preview: f.preview.clone(),
            fingerprint: f.fingerprint.map(|fp| fp.to_vec()),
            kind: f.kind,
            evidence: f.evidence.clone(),
            observed_at_ms: f.observed_at_ms,
            received_at_ms: now_ms,
        }
    }
}

/// The columns every read of stored findings selects, in the order [`finding_row`] reads them.
pub(super) const FINDING_SELECT: &str = "SELECT id, agent_id, host, locator, line, start, end_, line_offset, tbl, col, row_key, detector, category, special, confidence, preview, fingerprint, kind, evidence, observed_at, received_at, source_kind FROM findings";

/// The one row mapper of stored findings (see [`FINDING_SELECT`]).
pub(super) fn finding_row(r: &Row) -> Result<StoredFinding, StoreError> {
    let place = match (r.opt_int(4)?, r.opt_text(8)?) {
        (Some(line), _) => Place::Text {
            line: line.max(0) as u64,
            start: r.opt_int(5)?.unwrap_or(0).max(0) as u64,
            end: r.opt_int(6)?.unwrap_or(0).max(0) as u64,
            line_offset: r.opt_int(7)?.unwrap_or(0).max(0) as u64,
        },
        (None, Some(table)) => Place::Table { table, column: r.opt_text(9)?.unwrap_or_default(), row_key: r.opt_text(10)?.unwrap_or_default() },
        (None, None) => Place::Nowhere,
    };
    Ok(StoredFinding {
        id: r.text(0)?,
        agent_id: r.text(1)?,
        host: r.text(2)?,
        locator: r.text(3)?,
        source_kind: r.int(21)? as i32,
        place,
        detector: r.text(11)?,
        category: r.text(12)?.parse().ok(),
        special: r.bool(13)?,
        confidence: r.real(14)?,
        preview: r.text(15)?,
        fingerprint: r.opt_blob(16)?,
        kind: FindingKind::from_code(r.int(17)?),
        evidence: serde_json::from_str(&r.text(18)?).unwrap_or_default(),
        observed_at_ms: r.int(19)?,
        received_at_ms: r.int(20)?,
    })
}

/// Largest number of findings in one multi-row INSERT (25 columns: 6,400 parameters, under the
/// limits of both engines). Smaller remainders are split in powers of two so that at most nine
/// statement shapes are ever prepared.
const INSERT_CHUNK: usize = 256;
const FINDING_COLUMNS: &str = "id, agent_id, host, source_kind, locator, identity, line, start, end_, line_offset, tbl, col, row_key, detector, category, special, confidence, preview, fingerprint, kind, evidence, observed_at, received_at, records, subjects, destination";
const FINDING_COLUMN_COUNT: usize = 26;

/// The evidence figures incidents add up, from a finding's evidence: (records, subjects).
/// Records: a table finding says how many rows hold the data; a log line is one record.
/// Subjects: a table or file classification is one finding for many people; its evidence counts
/// the distinct values in the sample, extrapolated to the table's estimated rows when only a
/// sample was read.
fn evidence_figures(evidence: &BTreeMap<String, String>) -> (i64, Option<i64>) {
    let num = |k: &str| evidence.get(k).and_then(|v| v.trim().parse::<i64>().ok());
    let records = num("records").or(num("estimated_rows")).or(num("matched_rows")).unwrap_or(1);
    // People per table (every column of one table says the same), else per column.
    let (distinct, sampled) = match (num("distinct_subjects"), num("sampled_records")) {
        (Some(d), s) => (Some(d), s),
        (None, _) => (num("distinct_fingerprints"), num("sampled_rows")),
    };
    let subjects = distinct.map(|d| match sampled {
        Some(s) if s > 0 && records > s => (d as f64 / s as f64 * records as f64) as i64,
        _ => d,
    });
    (records, subjects)
}

/// A place where agents found personal data.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SeenPlace {
    /// Agent.
    pub agent_id: String,
    /// Host.
    pub host: String,
    /// Path or table locator.
    pub locator: String,
    /// Categories seen there.
    pub categories: Vec<String>,
}

impl Store {
    /// Stores a checked batch from an authenticated agent, correlates the new findings and opens
    /// or extends incidents — all in one transaction (retried when PostgreSQL aborts it to break
    /// a deadlock with another collector).
    pub fn ingest(&mut self, batch: &CheckedBatch, register: &Register, settings: &CorrelationSettings, now_ms: i64) -> Result<IngestOutcome, StoreError> {
        self.retrying(|s| s.ingest_once(batch, register, settings, now_ms))
    }

    fn ingest_once(&mut self, batch: &CheckedBatch, register: &Register, settings: &CorrelationSettings, now_ms: i64) -> Result<IngestOutcome, StoreError> {
        let mut out = IngestOutcome { rejected: batch.refused.len() as u32, ..IngestOutcome::default() };
        self.touch_agent(&batch.agent_id, &batch.host, &batch.agent_version, batch.spool_depth, out.rejected, now_ms)?;
        // Inserted in id order: two collectors inserting overlapping batches take the rows'
        // locks in the same order, so they wait for each other instead of deadlocking.
        let mut sorted: Vec<&CheckedFinding> = batch.findings.iter().collect();
        sorted.sort_by(|a, b| a.id.cmp(&b.id));
        sorted.dedup_by(|a, b| a.id == b.id);
        let mut inserted: HashSet<String> = HashSet::with_capacity(sorted.len());
        if self.dialect == super::db::Dialect::Postgres && !sorted.is_empty() {
            // One statement for the whole batch: each column is one array parameter, and
            // `unnest` turns the arrays back into rows (parsed and planned once per connection,
            // 25 parameters whatever the batch size).
            let mut columns: Vec<Vec<Value>> = (0..FINDING_COLUMN_COUNT).map(|_| Vec::with_capacity(sorted.len())).collect();
            let mut row = Vec::with_capacity(FINDING_COLUMN_COUNT);
            for f in &sorted {
                row.clear();
                finding_values(f, now_ms, &mut row);
                for (column, value) in columns.iter_mut().zip(row.drain(..)) {
                    column.push(value);
                }
            }
            let params: Vec<Value> = columns.into_iter().map(Value::Array).collect();
            for r in self.rows(unnest_insert_sql(), &params)? {
                inserted.insert(r.text(0)?);
            }
        }
        let mut rest: &[&CheckedFinding] = if self.dialect == super::db::Dialect::Postgres { &[] } else { &sorted[..] };
        while !rest.is_empty() {
            let n = if rest.len() >= INSERT_CHUNK { INSERT_CHUNK } else { 1 << rest.len().ilog2() };
            let (chunk, tail) = rest.split_at(n);
            rest = tail;
            let mut params = Vec::with_capacity(n * FINDING_COLUMN_COUNT);
            for f in chunk {
                finding_values(f, now_ms, &mut params);
            }
            for r in self.rows(insert_findings_sql(n), &params)? {
                inserted.insert(r.text(0)?);
            }
        }
        // Counted and correlated in the batch's order; a finding another collector (or an
        // earlier batch) stored is a duplicate here and correlated there.
        let mut stored = Vec::new();
        for f in &batch.findings {
            if inserted.remove(&f.id) {
                out.stored += 1;
                stored.push(StoredFinding::received(f, now_ms));
            } else {
                out.duplicates += 1;
            }
        }
        let pending = self.verdicts_of(&stored, register, settings, true, &mut HashSet::new())?;
        self.settle(pending, settings, now_ms, &mut out.opened)?;
        Ok(out)
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

    /// Places where personal data was seen, with the categories seen there.
    pub fn places(&self) -> Result<Vec<SeenPlace>, StoreError> {
        let mut out: Vec<SeenPlace> = Vec::new();
        for r in self.rows("SELECT DISTINCT host, locator, agent_id, category FROM findings WHERE kind = 1 ORDER BY host, locator, agent_id, category", &[])? {
            let (host, locator, agent_id, category) = (r.text(0)?, r.text(1)?, r.text(2)?, r.text(3)?);
            match out.last_mut() {
                Some(p) if p.host == host && p.locator == locator && p.agent_id == agent_id => p.categories.push(category),
                _ => out.push(SeenPlace { agent_id, host, locator, categories: vec![category] }),
            }
        }
        Ok(out)
    }

    /// Number of stored findings.
    pub fn finding_count(&self) -> Result<u64, StoreError> {
        Ok(self.int("SELECT COUNT(*) FROM findings", &[])?.max(0) as u64)
    }

    /// Categories of personal data seen on a host.
    pub(super) fn host_categories(&self, host: &str) -> Result<Vec<Category>, StoreError> {
        Ok(self
            .rows("SELECT DISTINCT category FROM findings WHERE host = $1 AND kind = 1", args![host])?
            .iter()
            .filter_map(|r| r.text(0).ok()?.parse().ok())
            .collect())
    }
}

/// PostgreSQL's type of each of the [`FINDING_COLUMNS`], for the arrays of [`unnest_insert_sql`].
const FINDING_PG_TYPES: [&str; FINDING_COLUMN_COUNT] = [
    "text", "text", "text", "bigint", "text", "text", "bigint", "bigint", "bigint", "bigint", "text", "text", "text", "text", "text", "bigint", "float8",
    "text", "bytea", "bigint", "text", "bigint", "bigint", "bigint", "bigint", "text",
];

/// The PostgreSQL INSERT of any number of findings: one array parameter per column.
fn unnest_insert_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let arrays: Vec<String> = FINDING_PG_TYPES.iter().enumerate().map(|(i, t)| format!("${}::{t}[]", i + 1)).collect();
        format!("INSERT INTO findings ({FINDING_COLUMNS}) SELECT * FROM unnest({}) ON CONFLICT (id) DO NOTHING RETURNING id", arrays.join(", "))
    })
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

/// Appends the 26 column values of one finding, in [`FINDING_COLUMNS`] order.
fn finding_values(f: &CheckedFinding, now_ms: i64, out: &mut Vec<Value>) {
    let (line, start, end, line_offset, tbl, col, row_key) = match &f.place {
        Place::Text { line, start, end, line_offset } => {
            (Some(*line as i64), Some(*start as i64), Some(*end as i64), Some(*line_offset as i64), None, None, None)
        }
        Place::Table { table, column, row_key } => (None, None, None, None, Some(table.clone()), Some(column.clone()), Some(row_key.clone())),
        Place::Nowhere => (None, None, None, None, None, None, None),
    };
    let evidence = serde_json::to_string(&f.evidence).unwrap_or_else(|_| "{}".into());
    let (records, subjects) = evidence_figures(&f.evidence);
    out.extend([
        Value::from(&f.id),
        (&f.agent_id).into(),
        (&f.host).into(),
        f.source_kind.into(),
        (&f.locator).into(),
        (&f.identity).into(),
        line.into(),
        start.into(),
        end.into(),
        line_offset.into(),
        tbl.into(),
        col.into(),
        row_key.into(),
        (&f.detector).into(),
        f.category_name().into(),
        f.special.into(),
        f.confidence.into(),
        (&f.preview).into(),
        f.fingerprint.map(|fp| fp.to_vec()).into(),
        f.kind.code().into(),
        evidence.into(),
        f.observed_at_ms.into(),
        now_ms.into(),
        records.into(),
        subjects.into(),
        destination(&f.evidence).into(),
    ]);
}

/// The host personal data was sent to (the agent's `destination_host` evidence of an outbound
/// request), as flows are grouped by: lower-case, without a trailing dot.
fn destination(evidence: &BTreeMap<String, String>) -> Option<String> {
    crate::register::recipient::destination_host(evidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_v4_sqlite_file_is_upgraded_with_its_evidence_figures_extracted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("custos.db");
        {
            let c = rusqlite::Connection::open(&path).unwrap();
            for sql in &super::super::schema::SQLITE[..4] {
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
        assert_eq!(store.int("PRAGMA user_version", &[]).unwrap(), super::super::schema::SQLITE.len() as i64);
    }

    #[test]
    fn evidence_figures_take_the_tables_people_when_the_agent_counts_them_per_record() {
        let ev = |kv: &[(&str, &str)]| kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>();
        let per_record =
            ev(&[("records", "20000"), ("distinct_subjects", "950"), ("sampled_records", "1000"), ("distinct_fingerprints", "400"), ("sampled_rows", "1000")]);
        assert_eq!(evidence_figures(&per_record), (20000, Some(19000)), "people of the table, not of one column");
    }

    #[test]
    fn evidence_figures_extrapolate_a_sample_to_the_table() {
        let ev = |kv: &[(&str, &str)]| kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>();
        assert_eq!(evidence_figures(&ev(&[])), (1, None), "a log line is one record");
        assert_eq!(evidence_figures(&ev(&[("distinct_fingerprints", "40"), ("sampled_rows", "100"), ("estimated_rows", "1000")])), (1000, Some(400)));
        assert_eq!(evidence_figures(&ev(&[("distinct_fingerprints", "40"), ("matched_rows", "70")])), (70, Some(40)));
        assert_eq!(evidence_figures(&ev(&[("distinct_fingerprints", "many")])), (1, None), "not a number: no estimate");
    }
}
