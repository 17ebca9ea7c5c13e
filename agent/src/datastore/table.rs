//! Database tables classified per column, the same way whatever the engine.
//!
//! Classifying a table is always the same four steps: estimate its rows, sample some of them
//! (spread across the table, not only its first rows), classify the sampled values per column
//! ([`Classifier`]), and date the records that hold personal data (retention evidence: the age
//! distribution of the sampled ones, [`super::retention`], and the oldest over the whole table).
//! Only the SQL differs between engines, so an engine implements [`TableSource`] — list,
//! count, sample, date — and [`classify_tables`] does the rest once for all of them.

use super::classify::{Classifier, ColumnVerdict, parse_timestamp};
use super::retention::{AgeDistribution, age_of_records, is_unrelated_date};
use custos_rules::{Engine, FingerprintKey};

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
    /// Sampled rows that held personal data.
    pub personal_rows: u64,
    /// Distinct subject keys of those rows (one per person).
    pub distinct_subjects: u64,
    /// Age distribution of the sampled rows holding personal data, by the best date column.
    pub age: Option<AgeDistribution>,
}

impl TableReport {
    /// SQL condition true for the rows that hold personal data: one of the columns with a
    /// verdict is set. Used to date the oldest such row (retention evidence).
    pub fn personal_rows_condition(&self) -> String {
        let mut personal: Vec<String> = self.verdicts.iter().map(|v| format!("{} IS NOT NULL", quote_identifier(&v.column))).collect();
        personal.dedup();
        personal.join(" OR ")
    }
}

/// Quotes a table or column name for SQL (SQLite and PostgreSQL alike): names come from the
/// database being scanned, so they are never pasted in bare.
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A table as its database lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSchema {
    /// The name findings use (`table`, or `schema.table`).
    pub name: String,
    /// The schema (namespace) holding the table, where the engine has them.
    pub namespace: Option<String>,
    /// The table's own name.
    pub table: String,
    /// Columns whose values are classified (text-like).
    pub text_columns: Vec<String>,
    /// Columns that date a row (retention evidence).
    pub date_columns: Vec<String>,
}

/// Where sampled values go: the sampler says where each row starts and hands over the values
/// of the text columns (by index in [`TableSchema::text_columns`]); NULLs are simply not given.
pub struct Sample<'c, 'e> {
    classifier: &'c mut Classifier<'e>,
    columns: Vec<usize>,
    /// Classifier date columns of the table's date columns (`None`: not a record date).
    dates: Vec<Option<usize>>,
}

impl Sample<'_, '_> {
    /// A new row begins.
    pub fn row(&mut self) {
        self.classifier.begin_row();
    }

    /// The value of text column `i` in the current row.
    pub fn value(&mut self, i: usize, value: &[u8]) {
        self.classifier.value(self.columns[i], value);
    }

    /// The value of date column `j` (by index in [`TableSchema::date_columns`]) in the current
    /// row, as text (`2019-03-01`, `2019-03-01 10:00:00+00`, epoch seconds or milliseconds).
    pub fn date(&mut self, j: usize, value: &[u8]) {
        if let (Some(Some(d)), Some(ts)) = (self.dates.get(j), parse_timestamp(value)) {
            self.classifier.row_date(*d, ts);
        }
    }
}

/// What differs between database engines when classifying their tables.
pub trait TableSource {
    /// Why the engine failed (it names the table; never a password).
    type Error: std::fmt::Display;

    /// The tables to classify, in a stable order.
    fn tables(&mut self) -> Result<Vec<TableSchema>, Self::Error>;

    /// The table's row count, estimated cheaply.
    fn estimated_rows(&mut self, table: &TableSchema) -> Result<u64, Self::Error>;

    /// Streams at most `limit` rows of the text columns and the date columns into `sample`
    /// ([`Sample::value`], [`Sample::date`]), spread across the table when it is larger than
    /// that (`estimated_rows` says how large it is).
    fn sample(&mut self, table: &TableSchema, estimated_rows: u64, limit: u64, sample: &mut Sample<'_, '_>) -> Result<(), Self::Error>;

    /// The oldest value of the date column `column` (Unix seconds) among the rows where the SQL
    /// condition `personal` holds.
    fn oldest(&mut self, table: &TableSchema, column: &str, personal: &str) -> Result<Option<i64>, Self::Error>;
}

/// Classifies every table of `source`, sampling `sample_rows` rows each; `progress` hears each
/// table's name first. An error names its table.
pub fn classify_tables<S: TableSource>(
    source: &mut S,
    engine: &Engine,
    key: &FingerprintKey,
    sample_rows: u64,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<TableReport>, TableError<S::Error>> {
    let tables = source.tables().map_err(|error| TableError { table: None, error })?;
    let mut out = Vec::with_capacity(tables.len());
    for t in &tables {
        progress(&t.name);
        out.push(classify_table(source, engine, key, t, sample_rows).map_err(|error| TableError { table: Some(t.name.clone()), error })?);
    }
    Ok(out)
}

/// An engine error, and the table it happened on (none while listing tables).
#[derive(Debug)]
pub struct TableError<E> {
    /// The table, when the error concerns one.
    pub table: Option<String>,
    /// What went wrong.
    pub error: E,
}

impl<E: std::fmt::Display> std::fmt::Display for TableError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.table {
            Some(t) => write!(f, "table {t}: {}", self.error),
            None => write!(f, "{}", self.error),
        }
    }
}

/// Classifies one table: count, sample, classify, date.
fn classify_table<S: TableSource>(source: &mut S, engine: &Engine, key: &FingerprintKey, t: &TableSchema, sample_rows: u64) -> Result<TableReport, S::Error> {
    let estimated_rows = source.estimated_rows(t)?;
    let mut report = TableReport {
        table: t.name.clone(),
        estimated_rows,
        sampled_rows: 0,
        verdicts: Vec::new(),
        oldest_personal: None,
        personal_rows: 0,
        distinct_subjects: 0,
        age: None,
    };
    if t.text_columns.is_empty() {
        return Ok(report);
    }
    let mut classifier = Classifier::new(engine, key);
    let columns = t.text_columns.iter().map(|n| classifier.column(n)).collect();
    let dates = t.date_columns.iter().map(|n| if is_unrelated_date(n) { None } else { classifier.date_column(n) }).collect();
    let mut sample = Sample { classifier: &mut classifier, columns, dates };
    source.sample(t, estimated_rows, sample_rows, &mut sample)?;
    report.sampled_rows = classifier.rows();
    let found = classifier.finish_all();
    report.verdicts = found.verdicts;
    report.personal_rows = found.personal_rows;
    report.distinct_subjects = found.distinct_subjects;
    report.age = age_of_records(&found.dates, custos_proto::time::now_ms() / 1000);
    // Retention: the oldest row holding personal data, over the whole table.
    if !report.verdicts.is_empty() {
        let personal = report.personal_rows_condition();
        for d in t.date_columns.iter().filter(|d| !is_unrelated_date(d)) {
            if let Some(ts) = source.oldest(t, d, &personal)?
                && report.oldest_personal.as_ref().is_none_or(|(o, _)| ts < *o)
            {
                report.oldest_personal = Some((ts, d.clone()));
            }
        }
    }
    Ok(report)
}
