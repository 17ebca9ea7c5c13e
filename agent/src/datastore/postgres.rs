//! PostgreSQL databases (`postgres://user:pass@host:port/db`), with a read-only role.
//!
//! Tables and columns come from `information_schema` (so the role only sees what it may read);
//! text-like columns (`text`, `character varying`, `character`, `json`, `jsonb`, `citext`) are
//! sampled (`TABLESAMPLE SYSTEM` across the pages of a large table, then `LIMIT n`) and cast to text, date-like ones (`date`, `timestamp…`) give retention
//! evidence with one `min()` per table holding personal data. The row count is the planner's
//! estimate (`pg_class.reltuples`), or `count(*)` when the table was never analysed.
//!
//! An optional `schema=NAME` query parameter (not a libpq parameter; removed before connecting)
//! limits the scan to one schema. Passwords never appear in locators or errors. The connection
//! uses TLS when the URL asks for it (`sslmode=require|verify-ca|verify-full`, with
//! `sslrootcert=CA.pem`; see [`custos_pg`]).

use super::classify::parse_timestamp;
use super::table::{Sample, TableReport, TableSchema, TableSource, classify_tables, quote_identifier};
use custos_rules::{Engine, FingerprintKey};

/// A database that cannot be scanned, with the reason (the password is never included).
#[derive(Debug, thiserror::Error)]
#[error("{location}: {reason}")]
pub struct PostgresError {
    /// The location without its password.
    pub location: String,
    /// What went wrong.
    pub reason: String,
}

/// A parsed `postgres://` location. Its `Debug` never shows the password.
#[derive(Clone)]
pub struct PostgresLocation {
    /// Connection string handed to the driver.
    conninfo: String,
    /// Only this schema, when set.
    pub schema: Option<String>,
    /// `postgres://host:port/db`: what findings and messages name.
    pub display: String,
}

impl PostgresLocation {
    /// Parses `postgres://…` or `postgresql://…`, taking out the `schema=` parameter.
    pub fn parse(url: &str) -> PostgresLocation {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut schema = None;
        let kept: Vec<&str> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .filter(|p| match p.strip_prefix("schema=") {
                Some(s) => {
                    schema = Some(s.to_string());
                    false
                }
                None => true,
            })
            .collect();
        let conninfo = if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) };
        // Drop user info from what is displayed.
        let rest = base.split_once("://").map_or(base, |(_, r)| r);
        let host_db = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
        PostgresLocation { conninfo, schema, display: format!("postgres://{host_db}") }
    }
}

impl std::fmt::Debug for PostgresLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresLocation").field("display", &self.display).field("schema", &self.schema).finish_non_exhaustive()
    }
}

/// Classifies every table visible at `location`, sampling `sample_rows` rows each.
pub fn classify_database(
    engine: &Engine,
    key: &FingerprintKey,
    location: &PostgresLocation,
    sample_rows: u64,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<TableReport>, PostgresError> {
    let err = |e: postgres::Error| PostgresError { location: location.display.clone(), reason: e.to_string() };
    let target = custos_pg::Target::parse(&location.conninfo).map_err(|reason| PostgresError { location: location.display.clone(), reason })?;
    let mut db = target.connect().map_err(|e| PostgresError {
        location: location.display.clone(),
        reason: format!("cannot connect: {e}; check the host, port, user, password and sslmode (a read-only role is enough)"),
    })?;
    // Sampling must never hold up the application: no long waits on locks.
    db.batch_execute("SET lock_timeout = '5s'; SET statement_timeout = '300s'").map_err(err)?;
    let mut source = PostgresSource { db, schema: location.schema.clone() };
    classify_tables(&mut source, engine, key, sample_rows, progress).map_err(|e| PostgresError { location: location.display.clone(), reason: e.to_string() })
}

/// A connected PostgreSQL database as a [`TableSource`].
struct PostgresSource {
    db: postgres::Client,
    /// Only this schema, when set.
    schema: Option<String>,
}

impl PostgresSource {
    /// `"schema"."table"` of a table named `schema.table`.
    fn quoted(t: &TableSchema) -> String {
        match &t.namespace {
            Some(schema) => format!("{}.{}", quote_identifier(schema), quote_identifier(&t.table)),
            None => quote_identifier(&t.table),
        }
    }
}

impl TableSource for PostgresSource {
    type Error = postgres::Error;

    fn tables(&mut self) -> Result<Vec<TableSchema>, postgres::Error> {
        let rows = self.db.query(
            "SELECT c.table_schema::text, c.table_name::text, c.column_name::text, c.data_type::text, c.udt_name::text
             FROM information_schema.columns c
             JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
             WHERE t.table_type = 'BASE TABLE'
               AND c.table_schema NOT IN ('pg_catalog', 'information_schema') AND c.table_schema NOT LIKE 'pg_toast%'
               AND ($1::text IS NULL OR c.table_schema = $1)
             ORDER BY c.table_schema, c.table_name, c.ordinal_position",
            &[&self.schema],
        )?;
        let mut tables: Vec<TableSchema> = Vec::new();
        for r in rows {
            let (schema, table, column, ty, udt): (String, String, String, String, String) = (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
            let name = format!("{schema}.{table}");
            if tables.last().is_none_or(|t| t.namespace.as_deref() != Some(schema.as_str()) || t.table != table) {
                tables.push(TableSchema { name, namespace: Some(schema), table, text_columns: Vec::new(), date_columns: Vec::new() });
            }
            let Some(last) = tables.last_mut() else { continue };
            let ty = ty.as_str();
            if ty == "date" || ty.starts_with("timestamp") {
                last.date_columns.push(column);
            } else if matches!(ty, "text" | "character varying" | "character" | "json" | "jsonb") || udt == "citext" {
                last.text_columns.push(column);
            }
        }
        Ok(tables)
    }

    fn estimated_rows(&mut self, t: &TableSchema) -> Result<u64, postgres::Error> {
        let (schema, table) = (t.namespace.as_deref().unwrap_or("public"), t.table.as_str());
        let reltuples: f32 = self
            .db
            .query_one("SELECT coalesce((SELECT c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2), -1)::real", &[&schema, &table])?
            .get(0);
        Ok(if reltuples >= 0.0 {
            reltuples as u64
        } else {
            self.db.query_one(&format!("SELECT count(*) FROM {}", Self::quoted(t)), &[])?.get::<_, i64>(0).max(0) as u64
        })
    }

    fn sample(&mut self, t: &TableSchema, estimated_rows: u64, limit: u64, sample: &mut Sample<'_, '_>) -> Result<(), postgres::Error> {
        let list: Vec<String> = t.text_columns.iter().chain(&t.date_columns).map(|n| format!("{}::text", quote_identifier(n))).collect();
        // A large table is sampled across its pages (TABLESAMPLE SYSTEM, three times the share
        // needed, so that block sampling still yields enough rows), not just its first rows.
        let sampling = if estimated_rows > limit.saturating_mul(10) {
            let percent = (300.0 * limit as f64 / estimated_rows as f64).clamp(0.001, 100.0);
            format!(" TABLESAMPLE SYSTEM ({percent:.4})")
        } else {
            String::new()
        };
        let sql = format!("SELECT {} FROM {}{sampling} LIMIT {limit}", list.join(", "), Self::quoted(t));
        // Streamed, so a large sample never sits in memory at once.
        let mut it = self.db.query_raw(&sql, std::iter::empty::<&(dyn postgres::types::ToSql + Sync)>())?;
        use postgres::fallible_iterator::FallibleIterator;
        while let Some(row) = it.next()? {
            sample.row();
            for i in 0..t.text_columns.len() {
                if let Some(v) = row.get::<_, Option<&str>>(i) {
                    sample.value(i, v.as_bytes());
                }
            }
            for j in 0..t.date_columns.len() {
                if let Some(v) = row.get::<_, Option<&str>>(t.text_columns.len() + j) {
                    sample.date(j, v.as_bytes());
                }
            }
        }
        Ok(())
    }

    fn oldest(&mut self, t: &TableSchema, column: &str, personal: &str) -> Result<Option<i64>, postgres::Error> {
        let sql = format!("SELECT min({dq})::text FROM {} WHERE {personal}", Self::quoted(t), dq = quote_identifier(column));
        let oldest: Option<String> = self.db.query_one(&sql, &[])?.get(0);
        Ok(oldest.and_then(|t| parse_timestamp(t.as_bytes())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_parameter_is_taken_out_and_password_never_displayed() {
        let l = PostgresLocation::parse("postgres://ro:s3cret@db.internal:5432/shop?schema=crm&sslmode=disable");
        assert_eq!(l.schema.as_deref(), Some("crm"));
        assert_eq!(l.conninfo, "postgres://ro:s3cret@db.internal:5432/shop?sslmode=disable");
        assert_eq!(l.display, "postgres://db.internal:5432/shop");
        assert!(!format!("{l:?}").contains("s3cret"));
    }
}
