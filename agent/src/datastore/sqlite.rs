//! SQLite databases (`sqlite://PATH`), opened read-only.
//!
//! Tables come from `sqlite_master`, columns from `pragma table_info`. Text-like columns
//! (declared `TEXT`, `CHAR`, `CLOB`, or untyped — SQLite stores anything anywhere) are sampled;
//! date-like columns (declared `DATE`/`TIME`, or named like `created_at`) give retention
//! evidence. The row count is `max(rowid)` (instant, an upper bound after deletions), or
//! `count(*)` for tables without row ids. A table larger than the sample is sampled across its
//! rowid range (every step-th row id), so rows added late are seen too; the sampled rows' dates
//! come along for the age distribution of the records.

use super::classify::{is_date_column_name, parse_timestamp};
use super::table::{Sample, TableReport, TableSchema, TableSource, classify_tables, quote_identifier};
use custos_rules::{Engine, FingerprintKey};
use rusqlite::{Connection, OpenFlags, types::ValueRef};
use std::collections::HashSet;
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
pub fn classify_database(
    engine: &Engine,
    key: &FingerprintKey,
    path: &Path,
    sample_rows: u64,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<TableReport>, SqliteError> {
    let err = |e: rusqlite::Error| SqliteError { path: path.display().to_string(), reason: e.to_string() };
    if !path.is_file() {
        return Err(SqliteError { path: path.display().to_string(), reason: "no such file".into() });
    }
    let db = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX).map_err(err)?;
    db.busy_timeout(std::time::Duration::from_secs(10)).map_err(err)?;
    let mut source = SqliteSource { db, without_rowid: HashSet::new() };
    classify_tables(&mut source, engine, key, sample_rows, progress).map_err(|e| SqliteError { path: path.display().to_string(), reason: e.to_string() })
}

/// An open SQLite database as a [`TableSource`].
struct SqliteSource {
    db: Connection,
    /// Tables found to have no row id (counted with `count(*)`, sampled from their start).
    without_rowid: HashSet<String>,
}

impl TableSource for SqliteSource {
    type Error = rusqlite::Error;

    fn tables(&mut self) -> rusqlite::Result<Vec<TableSchema>> {
        let names: Vec<String> = {
            let mut st = self.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")?;
            st.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?
        };
        names.into_iter().map(|name| self.schema(name)).collect()
    }

    fn estimated_rows(&mut self, t: &TableSchema) -> rusqlite::Result<u64> {
        let q = quote_identifier(&t.name);
        match self.db.query_row(&format!("SELECT max(rowid) FROM {q}"), [], |r| r.get::<_, Option<i64>>(0)) {
            Ok(n) => Ok(n.unwrap_or(0).max(0) as u64),
            Err(_) => {
                self.without_rowid.insert(t.name.clone());
                Ok(self.db.query_row(&format!("SELECT count(*) FROM {q}"), [], |r| r.get::<_, i64>(0))?.max(0) as u64)
            }
        }
    }

    fn sample(&mut self, t: &TableSchema, estimated_rows: u64, limit: u64, sample: &mut Sample<'_, '_>) -> rusqlite::Result<()> {
        let q = quote_identifier(&t.name);
        let list: Vec<String> = t.text_columns.iter().chain(&t.date_columns).map(|n| quote_identifier(n)).collect();
        // A large table is sampled across its whole rowid range (every step-th row id), not only
        // in its first rows, which hold the oldest accounts and would miss columns filled in later.
        let has_rowid = !self.without_rowid.contains(&t.name);
        let step = if has_rowid && limit > 0 { estimated_rows / limit } else { 0 };
        let spread = if step >= 2 { format!(" WHERE rowid % {step} = 0") } else { String::new() };
        let mut st = self.db.prepare(&format!("SELECT {} FROM {q}{spread} LIMIT ?1", list.join(", ")))?;
        let mut rows = st.query([limit as i64])?;
        while let Some(r) = rows.next()? {
            sample.row();
            for i in 0..t.text_columns.len() {
                match r.get_ref(i)? {
                    ValueRef::Text(v) => sample.value(i, v),
                    ValueRef::Integer(n) => sample.value(i, n.to_string().as_bytes()),
                    _ => {}
                }
            }
            for j in 0..t.date_columns.len() {
                match r.get_ref(t.text_columns.len() + j)? {
                    ValueRef::Text(v) => sample.date(j, v),
                    ValueRef::Integer(n) => sample.date(j, n.to_string().as_bytes()),
                    ValueRef::Real(f) => sample.date(j, (f as i64).to_string().as_bytes()),
                    _ => {}
                }
            }
        }
        Ok(())
    }

    fn oldest(&mut self, t: &TableSchema, column: &str, personal: &str) -> rusqlite::Result<Option<i64>> {
        let sql = format!("SELECT min({dq}) FROM {q} WHERE {dq} IS NOT NULL AND ({personal})", dq = quote_identifier(column), q = quote_identifier(&t.name));
        self.db.query_row(&sql, [], |r| {
            Ok(match r.get_ref(0)? {
                ValueRef::Text(v) => parse_timestamp(v),
                ValueRef::Integer(n) => parse_timestamp(n.to_string().as_bytes()),
                ValueRef::Real(f) => parse_timestamp((f as i64).to_string().as_bytes()),
                _ => None,
            })
        })
    }
}

impl SqliteSource {
    /// A table's text-like columns (declared `TEXT`, `CHAR`, `CLOB`, `JSON`, or untyped) and
    /// date-like ones (declared `DATE`/`TIME`, or named like `created_at`).
    fn schema(&self, name: String) -> rusqlite::Result<TableSchema> {
        let mut t = TableSchema { text_columns: Vec::new(), date_columns: Vec::new(), namespace: None, table: name.clone(), name };
        let mut st = self.db.prepare(&format!("PRAGMA table_info({})", quote_identifier(&t.name)))?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let column: String = r.get(1)?;
            let ty: String = r.get::<_, Option<String>>(2)?.unwrap_or_default().to_ascii_uppercase();
            if ty.contains("DATE") || ty.contains("TIME") || is_date_column_name(&column) {
                t.date_columns.push(column);
            } else if ty.is_empty() || ty.contains("CHAR") || ty.contains("TEXT") || ty.contains("CLOB") || ty.contains("JSON") {
                t.text_columns.push(column);
            }
        }
        Ok(t)
    }
}
