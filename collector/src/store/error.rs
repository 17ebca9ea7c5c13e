//! What can go wrong in the store, and whether retrying helps.

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
    /// The database file exists but is empty: not taken for a new store.
    #[error("{0} is an empty file, not a Custos database (was it truncated?); restore it from a backup, or delete it to start a new store")]
    EmptyFile(String),
}

fn pg_message(e: &::postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({}){}", db.message(), db.code().code(), db.detail().map(|d| format!(": {d}")).unwrap_or_default()),
        None => e.to_string(),
    }
}

impl StoreError {
    /// Whether the database refused a text value it cannot hold (PostgreSQL: a NUL character,
    /// SQLSTATE 22021): the caller's input was wrong, not the store.
    pub fn is_bad_text(&self) -> bool {
        matches!(self, StoreError::Postgres(e) if e.code().is_some_and(|c| *c == ::postgres::error::SqlState::CHARACTER_NOT_IN_REPERTOIRE))
    }

    /// Whether retrying the whole transaction may succeed: PostgreSQL aborted it to break a
    /// deadlock or a serialisation conflict with another collector.
    pub fn is_retryable(&self) -> bool {
        use ::postgres::error::SqlState;
        matches!(self, StoreError::Postgres(e) if e.code().is_some_and(|c| *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE))
    }
}
