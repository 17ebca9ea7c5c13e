//! The one seam between [`super::Store`] and a database engine.
//!
//! [`Backend`] is deliberately small — run a statement, run a query returning rows of neutral
//! [`Value`]s, begin/commit/roll back — so that every `Store` method is written once, in the SQL
//! subset SQLite and PostgreSQL share, and works on both engines. Placeholders are `$1, $2, …`
//! on both: PostgreSQL's native form, and for SQLite a *named* parameter `$N` that the SQLite
//! backend binds by its number (not by position), so a statement may use `$2` before `$1` or use
//! `$1` twice.
//!
//! The shared subset, as used in this crate: `INSERT … ON CONFLICT … DO NOTHING / DO UPDATE`,
//! `RETURNING`, `CAST(x AS BIGINT)`, `||`, `COALESCE`, `CASE`, `EXISTS`; integers are 64-bit
//! everywhere (`BIGINT` columns on PostgreSQL). What differs (DDL, row locks, advisory locks)
//! goes through [`Dialect`].

use super::error::StoreError;

/// Which engine a statement runs on, for the few places where the SQL must differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Embedded SQLite (one collector per database file).
    Sqlite,
    /// PostgreSQL (one or more collectors sharing the database).
    Postgres,
}

/// A value going into or coming out of a statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// Any integer (booleans are 0/1).
    Int(i64),
    /// A floating-point number.
    Real(f64),
    /// Text.
    Text(String),
    /// Bytes (`BLOB` / `BYTEA`).
    Blob(Vec<u8>),
    /// One column's values for many rows, bound as one PostgreSQL array (`$1::text[]`) for
    /// bulk insertion with `unnest`; PostgreSQL only (SQLite has no arrays).
    Array(Vec<Value>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Value {
        Value::Int(i64::from(v))
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Value {
        Value::Int(i64::from(v))
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Int(i64::from(v))
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Real(v)
    }
}
impl From<f32> for Value {
    fn from(v: f32) -> Value {
        Value::Real(f64::from(v))
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::Text(v.clone())
    }
}
impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Value {
        Value::Blob(v.to_vec())
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Value {
        Value::Blob(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

/// Builds a `&[Value]` parameter list: `args![id, name, now]`.
macro_rules! args {
    ($($v:expr),* $(,)?) => { &[$($crate::store::db::Value::from($v)),*][..] };
}
pub(crate) use args;

/// One result row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub Vec<Value>);

impl Row {
    fn at(&self, i: usize) -> Result<&Value, StoreError> {
        self.0.get(i).ok_or_else(|| StoreError::Type(format!("column {i} missing from a result row of {} columns", self.0.len())))
    }

    fn mismatch(&self, i: usize, want: &str) -> StoreError {
        StoreError::Type(format!("column {i}: expected {want}, found {:?}", self.0.get(i).map(std::mem::discriminant)))
    }

    /// An integer column (NULL is an error).
    pub fn int(&self, i: usize) -> Result<i64, StoreError> {
        self.opt_int(i)?.ok_or_else(|| self.mismatch(i, "an integer"))
    }

    /// A nullable integer column.
    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        match self.at(i)? {
            Value::Null => Ok(None),
            Value::Int(v) => Ok(Some(*v)),
            // SQLite may hand back an integral REAL from arithmetic.
            Value::Real(v) if v.fract() == 0.0 => Ok(Some(*v as i64)),
            _ => Err(self.mismatch(i, "an integer")),
        }
    }

    /// A boolean column (0/1 on SQLite, `bool` on PostgreSQL).
    pub fn bool(&self, i: usize) -> Result<bool, StoreError> {
        Ok(self.int(i)? != 0)
    }

    /// A floating-point column (an integer is widened; NULL is an error).
    pub fn real(&self, i: usize) -> Result<f64, StoreError> {
        match self.at(i)? {
            Value::Real(v) => Ok(*v),
            Value::Int(v) => Ok(*v as f64),
            _ => Err(self.mismatch(i, "a number")),
        }
    }

    /// A text column (NULL is an error).
    pub fn text(&self, i: usize) -> Result<String, StoreError> {
        self.opt_text(i)?.ok_or_else(|| self.mismatch(i, "text"))
    }

    /// A nullable text column.
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        match self.at(i)? {
            Value::Null => Ok(None),
            Value::Text(v) => Ok(Some(v.clone())),
            _ => Err(self.mismatch(i, "text")),
        }
    }

    /// A nullable bytes column.
    pub fn opt_blob(&self, i: usize) -> Result<Option<Vec<u8>>, StoreError> {
        match self.at(i)? {
            Value::Null => Ok(None),
            Value::Blob(v) => Ok(Some(v.clone())),
            _ => Err(self.mismatch(i, "bytes")),
        }
    }
}

/// A database connection the store can run its SQL on.
///
/// Methods take `&mut self` because the PostgreSQL client needs it; [`super::Store`] keeps the
/// backend in a `RefCell` and never holds a borrow across two calls.
pub trait Backend: Send {
    /// The engine, for the few statements that differ.
    fn dialect(&self) -> Dialect;
    /// Runs one statement; returns the number of rows changed.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError>;
    /// Runs one query (or a statement with `RETURNING`) and returns all its rows.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError>;
    /// Runs several `;`-separated statements without parameters (migrations).
    fn batch(&mut self, sql: &str) -> Result<(), StoreError>;
    /// Starts a transaction.
    fn begin(&mut self) -> Result<(), StoreError>;
    /// Commits the transaction.
    fn commit(&mut self) -> Result<(), StoreError>;
    /// Rolls the transaction back (best effort: a broken connection has nothing to roll back).
    fn rollback(&mut self);
    /// Whether the database closed the connection (it must be replaced to be used again).
    fn is_broken(&self) -> bool {
        false
    }
}
