//! SQLite databases (`sqlite://PATH`), opened read-only.
//!
//! Tables come from `sqlite_master`, columns from `pragma table_info`. Text-like columns
//! (declared `TEXT`, `CHAR`, `CLOB`, or untyped — SQLite stores anything anywhere) are sampled;
//! date-like columns (declared `DATE`/`TIME`, or named like `created_at`) give retention
//! evidence. The row count is `max(rowid)` (instant, an upper bound after deletions), or
//! `count(*)` for tables without row ids. A table larger than the sample is sampled across its
//! rowid range (every step-th row id), so rows added late are seen too.

use super::TableReport;
use super::quote_identifier;
use super::classify::{Classifier, is_date_column_name, parse_timestamp};
use custos_rules::{Engine, FingerprintKey};
use rusqlite::{Connection, OpenFlags, types::ValueRef};
use std::path::Path;

/// A database that cannot be scanned, with the reason.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct SqliteError {
    /// The database file.
    pub path: String,
    /// What went wrong.
    pub reason: String,
}

/// Classifies every table of the SQLite database at `path`, sampling `sample_rows` rows each.
pub fn classify_database(engine: &Engine, key: &FingerprintKey, path: &Path, sample_rows: u64, progress: &mut dyn FnMut(&str)) -> Result<Vec<TableReport>, SqliteError> {
    let err = |e: rusqlite::Error| SqliteError { path: path.display().to_string(), reason: e.to_string() };
    if !path.is_file() {
        return Err(SqliteError { path: path.display().to_string(), reason: "no such file".into() });
    }
    let db = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX).map_err(err)?;
    db.busy_timeout(std::time::Duration::from_secs(10)).map_err(err)?;
    let tables: Vec<String> = {
        let mut st = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").map_err(err)?;
        st.query_map([], |r| r.get(0)).map_err(err)?.collect::<Result<_, _>>().map_err(err)?
    };
    let mut out = Vec::new();
    for table in tables {
        progress(&table);
        out.push(classify_table(engine, key, &db, &table, sample_rows).map_err(|e| SqliteError { path: path.display().to_string(), reason: format!("table {table}: {e}") })?);
    }
    Ok(out)
}

fn classify_table(engine: &Engine, key: &FingerprintKey, db: &Connection, table: &str, sample_rows: u64) -> rusqlite::Result<TableReport> {
    let q = quote_identifier(table);
    let mut text_cols = Vec::new();
    let mut date_cols = Vec::new();
    {
        let mut st = db.prepare(&format!("PRAGMA table_info({q})"))?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let name: String = r.get(1)?;
            let ty: String = r.get::<_, Option<String>>(2)?.unwrap_or_default().to_ascii_uppercase();
            if ty.contains("DATE") || ty.contains("TIME") || is_date_column_name(&name) {
                date_cols.push(name);
            } else if ty.is_empty() || ty.contains("CHAR") || ty.contains("TEXT") || ty.contains("CLOB") || ty.contains("JSON") {
                text_cols.push(name);
            }
        }
    }
    let (estimated_rows, has_rowid): (u64, bool) = match db.query_row(&format!("SELECT max(rowid) FROM {q}"), [], |r| r.get::<_, Option<i64>>(0)) {
        Ok(n) => (n.unwrap_or(0).max(0) as u64, true),
        Err(_) => (db.query_row(&format!("SELECT count(*) FROM {q}"), [], |r| r.get::<_, i64>(0))?.max(0) as u64, false),
    };
    let mut report = TableReport { table: table.to_string(), estimated_rows, sampled_rows: 0, verdicts: Vec::new(), oldest_personal: None };
    if text_cols.is_empty() {
        return Ok(report);
    }
    let mut c = Classifier::new(engine, key);
    let cols: Vec<usize> = text_cols.iter().map(|n| c.column(n)).collect();
    let list: Vec<String> = text_cols.iter().map(|n| quote_identifier(n)).collect();
    // A large table is sampled across its whole rowid range (every step-th row id), not only in
    // its first rows, which hold the oldest accounts and would miss columns filled in later.
    let step = if has_rowid && sample_rows > 0 { estimated_rows / sample_rows } else { 0 };
    let spread = if step >= 2 { format!(" WHERE rowid % {step} = 0") } else { String::new() };
    let mut st = db.prepare(&format!("SELECT {} FROM {q}{spread} LIMIT ?1", list.join(", ")))?;
    let mut rows = st.query([sample_rows as i64])?;
    while let Some(r) = rows.next()? {
        c.begin_row();
        for (i, &col) in cols.iter().enumerate() {
            match r.get_ref(i)? {
                ValueRef::Text(t) => c.value(col, t),
                ValueRef::Integer(n) => c.value(col, n.to_string().as_bytes()),
                _ => {}
            }
        }
    }
    report.sampled_rows = c.rows();
    let (verdicts, _) = c.finish();
    report.verdicts = verdicts;
    // Retention: the oldest row holding personal data, over the whole table (one scan).
    if !report.verdicts.is_empty() {
        let personal = report.personal_rows_condition();
        for d in &date_cols {
            let sql = format!("SELECT min({dq}) FROM {q} WHERE {dq} IS NOT NULL AND ({personal})", dq = quote_identifier(d));
            let oldest = db.query_row(&sql, [], |r| {
                Ok(match r.get_ref(0)? {
                    ValueRef::Text(t) => parse_timestamp(t),
                    ValueRef::Integer(n) => parse_timestamp(n.to_string().as_bytes()),
                    ValueRef::Real(f) => parse_timestamp((f as i64).to_string().as_bytes()),
                    _ => None,
                })
            })?;
            if let Some(ts) = oldest
                && report.oldest_personal.as_ref().is_none_or(|(o, _)| ts < *o) {
                    report.oldest_personal = Some((ts, d.clone()));
                }
        }
    }
    Ok(report)
}
