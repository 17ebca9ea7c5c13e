//! What this agent knows of the size of tables and files, to size the exports it sees.
//!
//! A `COPY shop.customers TO …` line says which table left but not always how many rows. When
//! the same agent scans that database (`[[scan]]` or `custos-agent scan postgres://…`), the
//! table's estimated rows are recorded here; when it scans the exported file, its rows too. The
//! log watches look them up ([`SizeMethod::TableEstimatedRows`](super::signal::SizeMethod),
//! [`SizeMethod::FileRows`](super::signal::SizeMethod)). Shared between the scan thread and the
//! reader thread; bounded.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Tables and files remembered at most (each).
const MAX_ENTRIES: usize = 100_000;

/// Sizes of tables (by database) and files, as last scanned.
#[derive(Debug, Clone, Default)]
pub struct SizeHints(Arc<Mutex<Sizes>>);

#[derive(Debug, Default)]
struct Sizes {
    /// database → table (`schema.table` or `table`, lower case, unquoted) → estimated rows.
    tables: HashMap<String, HashMap<String, u64>>,
    table_count: usize,
    files: HashMap<PathBuf, u64>,
}

/// A table name as logs and scans write it, compared: unquoted, lower case.
fn normal(name: &str) -> String {
    name.trim().replace(['"', '`'], "").to_ascii_lowercase()
}

impl SizeHints {
    /// Remembers that `table` of `database` has about `rows` rows.
    pub fn record_table(&self, database: &str, table: &str, rows: u64) {
        let Ok(mut s) = self.0.lock() else { return };
        let known = s.tables.get(&normal(database)).is_some_and(|t| t.contains_key(&normal(table)));
        if !known && s.table_count >= MAX_ENTRIES {
            return;
        }
        s.table_count += usize::from(!known);
        s.tables.entry(normal(database)).or_default().insert(normal(table), rows);
    }

    /// Remembers that the file at `path` holds `rows` records.
    pub fn record_file(&self, path: &Path, rows: u64) {
        let Ok(mut s) = self.0.lock() else { return };
        if s.files.len() < MAX_ENTRIES || s.files.contains_key(path) {
            s.files.insert(path.to_path_buf(), rows);
        }
    }

    /// The estimated rows of `table` (`schema.table` or `table`) in `database` (any database
    /// when the log does not say): an exact name first, then `public.table`, then the one table
    /// of that name in any schema.
    pub fn table_rows(&self, database: Option<&str>, table: &str) -> Option<u64> {
        let s = self.0.lock().ok()?;
        let table = normal(table);
        let dbs: Vec<&HashMap<String, u64>> = match database {
            Some(db) => s.tables.get(&normal(db)).into_iter().collect(),
            None => s.tables.values().collect(),
        };
        let exact: Vec<u64> = dbs.iter().filter_map(|t| t.get(&table).or_else(|| t.get(&format!("public.{table}"))).copied()).collect();
        match exact.as_slice() {
            [n] => return Some(*n),
            [_, _, ..] => return None, // the same name in several databases: no guess
            [] if table.contains('.') => return None,
            [] => {}
        }
        let suffix = format!(".{table}");
        let mut matches = dbs.iter().flat_map(|t| t.iter()).filter(|(name, _)| name.ends_with(&suffix));
        match (matches.next(), matches.next()) {
            (Some((_, &n)), None) => Some(n),
            _ => None,
        }
    }

    /// The estimated rows of all tables of `database` (what a dump of it takes), if scanned.
    pub fn database_rows(&self, database: &str) -> Option<u64> {
        let s = self.0.lock().ok()?;
        s.tables.get(&normal(database)).map(|t| t.values().sum())
    }

    /// The records of the file at `path`, if scanned.
    pub fn file_rows(&self, path: &str) -> Option<u64> {
        self.0.lock().ok()?.files.get(Path::new(path)).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_found_by_the_names_logs_give_them() {
        let h = SizeHints::default();
        h.record_table("shop", "shop.customers", 20_000);
        h.record_table("shop", "public.orders", 900);
        h.record_table("crm", "public.orders", 5);
        assert_eq!(h.table_rows(Some("shop"), "shop.customers"), Some(20_000));
        assert_eq!(h.table_rows(Some("SHOP"), "\"shop\".\"customers\""), Some(20_000));
        assert_eq!(h.table_rows(Some("shop"), "customers"), Some(20_000), "the one table of that name");
        assert_eq!(h.table_rows(Some("shop"), "orders"), Some(900), "public first");
        assert_eq!(h.table_rows(None, "shop.customers"), Some(20_000));
        assert_eq!(h.table_rows(None, "orders"), None, "two databases have one: no guess");
        assert_eq!(h.table_rows(Some("shop"), "invoices"), None);
        assert_eq!(h.database_rows("shop"), Some(20_900));
        h.record_file(Path::new("/tmp/customers.csv"), 20_000);
        assert_eq!(h.file_rows("/tmp/customers.csv"), Some(20_000));
    }
}
