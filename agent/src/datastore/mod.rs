//! Data stores at rest: files, SQLite and PostgreSQL databases, classified per column.
//!
//! Logs are half of the picture: personal data also sits in tables, exports and forgotten files.
//! This module answers, for each place, *which columns hold which kind of personal data, how
//! much of it, about how many people, and since when* — one finding per (table, column,
//! detector), never one per row:
//!
//! - [`files`] streams text, CSV/TSV, JSON and NDJSON files (gzip transparently);
//! - [`sqlite`] and [`postgres`] list tables and text-like columns, sample `sample_rows` rows
//!   per table and estimate the row count;
//! - [`classify`] is the shared core: values in, [`ColumnVerdict`]s out; [`table`] the one
//!   classification path of database tables, over the [`table::TableSource`] each engine
//!   implements;
//! - [`schedule`] runs the `[[scan]]` jobs of the agent config, skipping unchanged files.
//!
//! Retention evidence rides along: the age distribution of the records holding personal data,
//! from their best date column ([`retention`]), and the age of the oldest such record (else
//! the file's modification time). Records are rows: every column finding of a table or file
//! carries the same `records`, and the number of distinct people in it (`distinct_subjects`,
//! one subject key per record, [`crate::subject`]).
//!
//! Locations are written like on the command line: a path (file or directory),
//! `sqlite://PATH`, or `postgres://user:password@host:port/db[?schema=NAME]`.

pub mod classify;
pub mod files;
pub mod postgres;
pub mod retention;
pub mod schedule;
pub mod sqlite;
pub mod table;

pub use classify::ColumnVerdict;
pub use table::TableReport;

use custos_proto::v1 as pb;
use custos_rules::{Engine, FingerprintKey};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where a data store is.
#[derive(Debug, Clone)]
pub enum Location {
    /// A file or a directory (walked recursively).
    Path(PathBuf),
    /// A SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL database.
    Postgres(postgres::PostgresLocation),
}

impl Location {
    /// Parses a location as written on the command line or in `[[scan]] location`.
    pub fn parse(text: &str) -> Location {
        if let Some(p) = text.strip_prefix("sqlite://") {
            Location::Sqlite(PathBuf::from(p))
        } else if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Location::Postgres(postgres::PostgresLocation::parse(text))
        } else {
            Location::Path(PathBuf::from(text))
        }
    }

    /// The database's name as server logs write it: the last part of a `postgres://` URL, a
    /// SQLite file's stem, a path as is.
    pub fn database_name(&self) -> String {
        match self {
            Location::Postgres(l) => l.display.rsplit('/').next().unwrap_or_default().to_string(),
            Location::Sqlite(p) => p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
            Location::Path(p) => p.display().to_string(),
        }
    }

    /// How the location is named in findings and messages (no password).
    pub fn display(&self) -> String {
        match self {
            Location::Path(p) => p.display().to_string(),
            Location::Sqlite(p) => format!("sqlite://{}", p.display()),
            Location::Postgres(l) => l.display.clone(),
        }
    }
}

/// Whether a column finding is about a file or a database table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreKind {
    /// A file at rest.
    File,
    /// A database table.
    DatabaseTable,
}

/// One (place, column, detector) verdict with everything the evidence contract asks for.
#[derive(Debug, Clone)]
pub struct ColumnFinding {
    /// File or table.
    pub kind: StoreKind,
    /// File path, or `sqlite://PATH/table`, `postgres://host:port/db/schema.table`.
    pub locator: String,
    /// Identity of the object (a file's content hash; empty for tables).
    pub identity: String,
    /// Table name, or the file path.
    pub table: String,
    /// The verdict.
    pub verdict: ColumnVerdict,
    /// Estimated rows of the table (records read, for a file).
    pub estimated_rows: u64,
    /// Age in seconds of the oldest record holding personal data.
    pub oldest_record_age_s: Option<u64>,
    /// Where that age comes from: `column:NAME` or `mtime`.
    pub oldest_record_source: Option<String>,
    /// Records of the table or file (its estimated rows; the same for all its columns).
    pub records: u64,
    /// Records sampled (read, for a file), personal or not, and how many held personal data.
    pub sampled_records: (u64, u64),
    /// Distinct people in the sampled records (one subject key per record).
    pub distinct_subjects: Option<u64>,
    /// Age distribution of the records holding personal data.
    pub age: Option<retention::AgeDistribution>,
    /// The kind of exposed place a file is in (`web_root`, `share`, `tmp`, `home`).
    pub kind_of_place: Option<&'static str>,
}

impl ColumnFinding {
    /// The evidence map, with the keys of the finding evidence contract.
    pub fn evidence(&self) -> BTreeMap<String, String> {
        let v = &self.verdict;
        let mut e = BTreeMap::new();
        e.insert("sampled_rows".into(), v.sampled_rows.to_string());
        e.insert("matched_rows".into(), v.matched_rows.to_string());
        e.insert("match_share".into(), format!("{:.4}", v.match_share()));
        e.insert("distinct_fingerprints".into(), v.distinct_fingerprints.to_string());
        e.insert("estimated_rows".into(), self.estimated_rows.to_string());
        e.insert("column".into(), v.column.clone());
        if let Some(age) = self.oldest_record_age_s {
            e.insert("oldest_record_age_s".into(), age.to_string());
        }
        if let Some(s) = &self.oldest_record_source {
            e.insert("oldest_record_source".into(), s.clone());
        }
        e.insert("records".into(), self.records.to_string());
        if let Some(n) = self.distinct_subjects {
            e.insert("distinct_subjects".into(), n.to_string());
            e.insert("sampled_records".into(), self.sampled_records.0.to_string());
            e.insert("personal_sampled_records".into(), self.sampled_records.1.to_string());
        }
        if let Some(a) = &self.age {
            e.insert("age_column".into(), a.column.clone());
            e.insert("age_quantiles_days".into(), a.quantiles_text());
            e.insert("age_sampled".into(), a.sampled.to_string());
        }
        if let Some(p) = self.kind_of_place {
            e.insert("kind_of_place".into(), p.into());
        }
        e
    }

    /// The wire source of this finding.
    pub fn source(&self) -> pb::Source {
        let kind = match self.kind {
            StoreKind::File => pb::SourceKind::File,
            StoreKind::DatabaseTable => pb::SourceKind::DatabaseTable,
        };
        pb::Source { kind: kind as i32, locator: self.locator.clone(), identity: self.identity.clone() }
    }
}

fn now_s() -> i64 {
    custos_proto::time::now_ms() / 1000
}

fn age(oldest: i64) -> u64 {
    (now_s() - oldest).max(0) as u64
}

/// Column findings of one table of the database at `location`.
pub fn table_findings(location: &Location, report: &TableReport) -> Vec<ColumnFinding> {
    let locator = format!("{}/{}", location.display(), report.table);
    let records = report.estimated_rows.max(report.sampled_rows);
    report
        .verdicts
        .iter()
        .map(|v| ColumnFinding {
            kind: StoreKind::DatabaseTable,
            locator: locator.clone(),
            identity: String::new(),
            table: report.table.clone(),
            verdict: v.clone(),
            estimated_rows: records,
            oldest_record_age_s: report.oldest_personal.as_ref().map(|(t, _)| age(*t)),
            oldest_record_source: report.oldest_personal.as_ref().map(|(_, c)| format!("column:{c}")),
            records,
            sampled_records: (report.sampled_rows, report.personal_rows),
            distinct_subjects: Some(report.distinct_subjects),
            age: report.age.clone(),
            kind_of_place: None,
        })
        .collect()
}

/// Column findings of one classified file in the exposed place of kind `place` if any;
/// retention falls back to the file's mtime.
pub fn file_findings(path: &Path, place: Option<&'static str>, report: &files::FileReport, mtime_s: Option<i64>) -> Vec<ColumnFinding> {
    let (oldest, source) = match (report.oldest_personal, mtime_s) {
        (Some(t), _) => (Some(t), Some("column".to_string())),
        (None, Some(m)) => (Some(m), Some("mtime".to_string())),
        (None, None) => (None, None),
    };
    let locator = path.display().to_string();
    let age_of_records = retention::age_of_records(&report.dates, now_s());
    let kind_of_place = place;
    report
        .verdicts
        .iter()
        .map(|v| ColumnFinding {
            kind: StoreKind::File,
            locator: locator.clone(),
            identity: hex::encode(&report.content_hash[..16]),
            table: locator.clone(),
            verdict: v.clone(),
            estimated_rows: report.rows,
            oldest_record_age_s: oldest.map(age),
            oldest_record_source: source.clone(),
            records: report.rows,
            sampled_records: (report.rows, report.personal_rows),
            distinct_subjects: Some(report.distinct_subjects),
            age: age_of_records.clone(),
            kind_of_place,
        })
        .collect()
}

/// Modification time of a file, Unix seconds.
pub fn mtime_s(meta: &std::fs::Metadata) -> Option<i64> {
    meta.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok().map(|d| d.as_secs() as i64)
}

/// Classifies one database location.
pub fn classify_database(
    engine: &Engine,
    key: &FingerprintKey,
    location: &Location,
    sample_rows: u64,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<TableReport>, String> {
    match location {
        Location::Sqlite(p) => sqlite::classify_database(engine, key, p, sample_rows, progress).map_err(|e| e.to_string()),
        Location::Postgres(l) => postgres::classify_database(engine, key, l, sample_rows, progress).map_err(|e| e.to_string()),
        Location::Path(p) => Err(format!("{}: not a database location", p.display())),
    }
}
