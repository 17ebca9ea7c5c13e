//! The embedded engine: one SQLite file (WAL) in the collector's data directory.
//!
//! One collector owns the file; a write transaction takes SQLite's write lock at `BEGIN
//! IMMEDIATE`, which serialises writers (the CLI included) without the lock-upgrade deadlock of
//! deferred transactions. Statements are cached by their text.

use super::db::{Backend, Dialect, Row, Value};
use super::error::StoreError;
use rusqlite::Connection;
use rusqlite::types::ValueRef;
use std::collections::HashMap;
use std::path::Path;

/// A SQLite connection.
pub struct SqliteDb {
    conn: Connection,
    read_only: bool,
    /// For each statement text, the value index of each SQLite parameter. Looking a name up is
    /// a linear scan inside SQLite, quadratic on a multi-row INSERT of thousands of parameters;
    /// done once per statement text instead.
    params: HashMap<String, Vec<usize>>,
}

impl SqliteDb {
    /// Opens (creating if needed, mode 0600) the database file for reading and writing. An
    /// existing file of zero bytes is refused: SQLite would take it for a new, empty store —
    /// and a truncated `custos.db` silently replaced by an empty one loses the incidents, the
    /// accounts and the audit trail.
    pub fn open(path: &Path) -> Result<SqliteDb, StoreError> {
        use std::os::unix::fs::OpenOptionsExt;
        match std::fs::metadata(path) {
            Ok(m) if m.is_file() && m.len() == 0 => return Err(StoreError::EmptyFile(path.display().to_string())),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Created here, private, so that SQLite (which gives its WAL and shared-memory
                // files the database's mode) never makes a world-readable one.
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                    .map_err(|e| StoreError::Config(format!("{}: cannot create the database: {e}", path.display())))?;
                let conn = Connection::open(path)?;
                return SqliteDb::configure(conn);
            }
            Err(_) => {}
        }
        let conn = Connection::open(path)?;
        SqliteDb::configure(conn)
    }

    fn configure(conn: Connection) -> Result<SqliteDb, StoreError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(SqliteDb { conn, read_only: false, params: HashMap::new() })
    }

    /// Opens an existing database file read-only.
    pub fn open_read_only(path: &Path) -> Result<SqliteDb, StoreError> {
        if std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == 0) {
            return Err(StoreError::EmptyFile(path.display().to_string()));
        }
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        Ok(SqliteDb { conn, read_only: true, params: HashMap::new() })
    }

    /// `PRAGMA user_version`: the schema version of a SQLite file.
    pub fn user_version(&self) -> Result<i64, StoreError> {
        Ok(self.conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// The value index of each parameter of `stmt`: `$N` is bound to value N - 1, whatever order
    /// the numbers appear in.
    fn parameter_map(stmt: &rusqlite::CachedStatement<'_>) -> Result<Vec<usize>, StoreError> {
        (1..=stmt.parameter_count())
            .map(|i| {
                let name = stmt.parameter_name(i).unwrap_or("");
                match name.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()) {
                    Some(n) if n >= 1 => Ok(n - 1),
                    _ => Err(StoreError::Type(format!("parameter `{name}`: write parameters as $1, $2, …"))),
                }
            })
            .collect()
    }
}

fn prepare<'c>(conn: &'c Connection, map: &mut HashMap<String, Vec<usize>>, sql: &str, params: &[Value]) -> Result<rusqlite::CachedStatement<'c>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    if !map.contains_key(sql) {
        map.insert(sql.to_string(), SqliteDb::parameter_map(&stmt)?);
    }
    for (i, &n) in map[sql].iter().enumerate() {
        let v = params.get(n).ok_or_else(|| StoreError::Type(format!("parameter ${} has no value ({} given)", n + 1, params.len())))?;
        let i = i + 1;
        match v {
            Value::Null => stmt.raw_bind_parameter(i, rusqlite::types::Null)?,
            Value::Int(x) => stmt.raw_bind_parameter(i, x)?,
            Value::Real(x) => stmt.raw_bind_parameter(i, x)?,
            Value::Text(x) => stmt.raw_bind_parameter(i, x)?,
            Value::Blob(x) => stmt.raw_bind_parameter(i, x)?,
            Value::Array(_) => return Err(StoreError::Type("an array parameter is PostgreSQL-only".into())),
        }
    }
    Ok(stmt)
}

fn value(v: ValueRef<'_>) -> Result<Value, StoreError> {
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => Value::Text(std::str::from_utf8(t).map_err(|e| StoreError::Type(format!("text column is not UTF-8: {e}")))?.to_string()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    })
}

impl Backend for SqliteDb {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        let mut stmt = prepare(&self.conn, &mut self.params, sql, params)?;
        Ok(stmt.raw_execute()? as u64)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let mut stmt = prepare(&self.conn, &mut self.params, sql, params)?;
        let n = stmt.column_count();
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(Row((0..n).map(|i| value(r.get_ref(i)?)).collect::<Result<_, _>>()?));
        }
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        Ok(self.conn.execute_batch(sql)?)
    }

    fn begin(&mut self) -> Result<(), StoreError> {
        Ok(self.conn.execute_batch(if self.read_only { "BEGIN" } else { "BEGIN IMMEDIATE" })?)
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        Ok(self.conn.execute_batch("COMMIT")?)
    }

    fn rollback(&mut self) {
        let _ = self.conn.execute_batch("ROLLBACK");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::db::args;

    #[test]
    fn dollar_parameters_bind_by_their_number_in_any_order_and_repeated() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = SqliteDb::open(&dir.path().join("t.db")).unwrap();
        // SQLite numbers `$N` parameters by first appearance: `$2` here is its parameter 1.
        let rows = db.query("SELECT $2, $1, $2 || $1", args!["a", "b"]).unwrap();
        assert_eq!(rows, vec![Row(vec![Value::Text("b".into()), Value::Text("a".into()), Value::Text("ba".into())])]);
        let err = db.query("SELECT ?", args![1i64]).unwrap_err().to_string();
        assert!(err.contains("$1, $2"), "{err}");
    }
}
