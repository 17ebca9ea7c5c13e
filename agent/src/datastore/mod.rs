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
//! - [`classify`] is the shared core: values in, [`ColumnVerdict`]s out;
//! - [`schedule`] runs the `[[scan]]` jobs of the agent config, skipping unchanged files.
//!
//! Retention evidence rides along: the age of the oldest record holding personal data, from a
//! date-like column when there is one, else the file's modification time.
//!
//! Locations are written like on the command line: a path (file or directory),
//! `sqlite://PATH`, or `postgres://user:password@host:port/db[?schema=NAME]`.

pub mod classify;
pub mod files;
pub mod postgres;
pub mod schedule;
pub mod sqlite;

pub use classify::ColumnVerdict;

use custos_proto::v1 as pb;
use custos_rules::{Engine, FingerprintKey};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Rows sampled per table when nothing else is said.
pub const DEFAULT_SAMPLE_ROWS: u64 = 1000;

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

    /// How the location is named in findings and messages (no password).
    pub fn display(&self) -> String {
        match self {
            Location::Path(p) => p.display().to_string(),
            Location::Sqlite(p) => format!("sqlite://{}", p.display()),
            Location::Postgres(l) => l.display.clone(),
        }
    }
}

/// One table's classification.
#[derive(Debug, Clone)]
pub struct TableReport {
    /// Table name (`schema.table` for PostgreSQL).
    pub table: String,
    /// Estimated row count.
    pub estimated_rows: u64,
    /// Rows sampled.
    pub sampled_rows: u64,
    /// One verdict per (column, detector).
    pub verdicts: Vec<ColumnVerdict>,
    /// Oldest timestamp (Unix seconds) of a row holding personal data, and its column.
    pub oldest_personal: Option<(i64, String)>,
}

impl TableReport {
    /// SQL condition true for the rows that hold personal data: one of the columns with a
    /// verdict is set. Used to date the oldest such row (retention evidence).
    fn personal_rows_condition(&self) -> String {
        let mut personal: Vec<String> = self.verdicts.iter().map(|v| format!("{} IS NOT NULL", quote_identifier(&v.column))).collect();
        personal.dedup();
        personal.join(" OR ")
    }
}

/// Quotes a table or column name for SQL (SQLite and PostgreSQL alike): names come from the
/// database being scanned, so they are never pasted in bare.
pub(crate) fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
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
    crate::finding::now_ms() / 1000
}

fn age(oldest: i64) -> u64 {
    (now_s() - oldest).max(0) as u64
}

/// Column findings of one table of the database at `location`.
pub fn table_findings(location: &Location, report: &TableReport) -> Vec<ColumnFinding> {
    let locator = format!("{}/{}", location.display(), report.table);
    report
        .verdicts
        .iter()
        .map(|v| ColumnFinding {
            kind: StoreKind::DatabaseTable,
            locator: locator.clone(),
            identity: String::new(),
            table: report.table.clone(),
            verdict: v.clone(),
            estimated_rows: report.estimated_rows.max(report.sampled_rows),
            oldest_record_age_s: report.oldest_personal.as_ref().map(|(t, _)| age(*t)),
            oldest_record_source: report.oldest_personal.as_ref().map(|(_, c)| format!("column:{c}")),
        })
        .collect()
}

/// Column findings of one classified file; retention falls back to the file's mtime.
pub fn file_findings(path: &Path, report: &files::FileReport, mtime_s: Option<i64>) -> Vec<ColumnFinding> {
    let (oldest, source) = match (report.oldest_personal, mtime_s) {
        (Some(t), _) => (Some(t), Some("column".to_string())),
        (None, Some(m)) => (Some(m), Some("mtime".to_string())),
        (None, None) => (None, None),
    };
    let locator = path.display().to_string();
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
        })
        .collect()
}

/// Modification time of a file, Unix seconds.
pub fn mtime_s(meta: &std::fs::Metadata) -> Option<i64> {
    meta.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok().map(|d| d.as_secs() as i64)
}

/// Classifies one database location.
pub fn classify_database(engine: &Engine, key: &FingerprintKey, location: &Location, sample_rows: u64, progress: &mut dyn FnMut(&str)) -> Result<Vec<TableReport>, String> {
    match location {
        Location::Sqlite(p) => sqlite::classify_database(engine, key, p, sample_rows, progress).map_err(|e| e.to_string()),
        Location::Postgres(l) => postgres::classify_database(engine, key, l, sample_rows, progress).map_err(|e| e.to_string()),
        Location::Path(p) => Err(format!("{}: not a database location", p.display())),
    }
}

/// What `custos-agent scan` prints for one column finding (`--json`: one object per line).
#[derive(Debug, Serialize)]
pub struct ColumnRecord<'a> {
    /// `file` or `database_table`.
    pub kind: StoreKind,
    /// File path or `scheme://database/table`.
    pub location: &'a str,
    /// Column, CSV header or JSON field path (`""`: the whole text).
    pub column: &'a str,
    /// Detector id.
    pub detector: &'a str,
    /// GDPR data category.
    pub category: &'a str,
    /// Art. 9/10 special category.
    pub special: bool,
    /// Mean confidence.
    pub confidence: f32,
    /// Rows examined.
    pub sampled_rows: u64,
    /// Rows that matched.
    pub matched_rows: u64,
    /// matched / sampled.
    pub match_share: f64,
    /// Distinct values (people), by fingerprint.
    pub distinct_fingerprints: u64,
    /// Estimated rows of the table or records of the file.
    pub estimated_rows: u64,
    /// Age of the oldest record holding personal data, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldest_record_age_s: Option<u64>,
    /// `column:NAME`, `column` or `mtime`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldest_record_source: Option<&'a str>,
    /// Masked example.
    pub preview: &'a str,
}

fn print(engine: &Engine, f: &ColumnFinding, json: bool, spacer: bool, header: &mut bool, out: &mut dyn Write) -> io::Result<()> {
    let spec = engine.detector(f.verdict.detector);
    let v = &f.verdict;
    let rec = ColumnRecord {
        kind: f.kind,
        location: &f.locator,
        column: &v.column,
        detector: &spec.id,
        category: spec.category.as_str(),
        special: spec.special,
        confidence: (v.confidence * 1000.0).round() / 1000.0,
        sampled_rows: v.sampled_rows,
        matched_rows: v.matched_rows,
        match_share: (v.match_share() * 10000.0).round() / 10000.0,
        distinct_fingerprints: v.distinct_fingerprints,
        estimated_rows: f.estimated_rows,
        oldest_record_age_s: f.oldest_record_age_s,
        oldest_record_source: f.oldest_record_source.as_deref(),
        preview: &v.preview,
    };
    if json {
        serde_json::to_writer(&mut *out, &rec).map_err(io::Error::other)?;
        return out.write_all(b"\n");
    }
    if !*header {
        *header = true;
        if spacer {
            writeln!(out)?;
        }
        writeln!(out, "{:<48} {:<20} {:<16} {:<18} {:>16} {:>9} {:>10} {:>9}  PREVIEW", "LOCATION", "COLUMN", "DETECTOR", "CATEGORY", "MATCHED/SAMPLED", "DISTINCT", "ROWS", "OLDEST_D")?;
    }
    let oldest = rec.oldest_record_age_s.map_or("-".to_string(), |s| (s / 86400).to_string());
    writeln!(
        out,
        "{:<48} {:<20} {:<16} {:<18} {:>16} {:>9} {:>10} {:>9}  {}",
        rec.location,
        rec.column,
        rec.detector,
        rec.category,
        format!("{}/{}", rec.matched_rows, rec.sampled_rows),
        rec.distinct_fingerprints,
        rec.estimated_rows,
        oldest,
        rec.preview
    )
}

/// One-shot scan of the command line's locations: plain text files are listed match by match
/// (like ripgrep, see [`crate::scan`]); structured and compressed files and database tables are
/// reported per column.
pub fn scan_locations(engine: &Engine, locations: &[String], sample_rows: u64, opts: &crate::scan::ScanOptions, out: &mut dyn Write) -> io::Result<crate::scan::ScanSummary> {
    // Fingerprints only count distinct values here; a key made for this run is enough.
    let key = FingerprintKey::new(rand::random::<[u8; 32]>().to_vec()).ok_or_else(|| io::Error::other("fingerprint key"))?;
    let mut summary = crate::scan::ScanSummary::default();
    let mut paths = Vec::new();
    let mut databases = Vec::new();
    for l in locations {
        match Location::parse(l) {
            Location::Path(p) => paths.push(p),
            db => databases.push(db),
        }
    }
    let mut walk_errors = 0;
    let files = crate::scan::walk(&paths, &mut |p, e| {
        walk_errors += 1;
        eprintln!("custos-agent: {}: {e}", p.display());
    });
    summary.errors += walk_errors;
    let (text, structured): (Vec<PathBuf>, Vec<PathBuf>) = files.into_iter().partition(|f| match files::Format::of(f) {
        (files::Format::Text, false) => true,
        // Match listings read plain bytes; compressed files keep their per-file summary.
        (_, gz) => opts.matches && !gz,
    });
    if !text.is_empty() {
        let s = crate::scan::scan_paths(engine, &text, opts, out)?;
        summary.files += s.files;
        summary.bytes += s.bytes;
        summary.findings += s.findings;
        summary.errors += s.errors;
    }
    // The column table follows the match table, if any, after a blank line.
    let mut header = false;
    let spacer = !text.is_empty();
    let terminal = io::stderr().is_terminal();
    for (i, f) in structured.iter().enumerate() {
        if terminal {
            eprint!("\rscanning file {}/{}: {}   ", i + 1, structured.len(), f.display());
        }
        let report = std::fs::metadata(f).and_then(|m| Ok((files::classify_file(engine, &key, f)?, mtime_s(&m))));
        match report {
            Ok((r, _)) if r.binary => {}
            Ok((r, mtime)) => {
                summary.files += 1;
                summary.bytes += r.bytes;
                for cf in file_findings(f, &r, mtime) {
                    summary.findings += 1;
                    print(engine, &cf, opts.json, spacer, &mut header, out)?;
                }
            }
            Err(e) => {
                summary.errors += 1;
                eprintln!("custos-agent: {}: {e}", f.display());
            }
        }
    }
    if terminal && !structured.is_empty() {
        eprintln!();
    }
    for db in &databases {
        let mut progress = |table: &str| {
            if terminal {
                eprint!("\rclassifying {}/{table}          ", db.display());
            }
        };
        match classify_database(engine, &key, db, sample_rows, &mut progress) {
            Ok(tables) => {
                if terminal {
                    eprintln!();
                }
                for t in &tables {
                    for cf in table_findings(db, t) {
                        summary.findings += 1;
                        print(engine, &cf, opts.json, spacer, &mut header, out)?;
                    }
                }
            }
            Err(e) => {
                summary.errors += 1;
                eprintln!("custos-agent: {e}");
            }
        }
    }
    Ok(summary)
}
