//! Column classification: many values in, one verdict per (column, detector) out.
//!
//! A data store is not a log: a table of a million customers holds a million e-mail addresses,
//! and what a DPO needs is "column `email` of table `customers` holds e-mail addresses: 998 of
//! 1,000 sampled rows, 998 distinct people, about 1.2 M rows", not a million findings.
//!
//! The [`Classifier`] receives rows as (column, value) pairs. Values are batched into one buffer
//! — each written as `column: value` on its own line, so the column name is the detector's
//! context (a `phone` header makes a bare number more credible) and context never crosses into
//! another value — and the [`Engine`] makes one pass per batch. Each detection is mapped back to
//! its value by binary search. Memory is bounded: the batch buffer is flushed at a fixed size,
//! distinct fingerprints are counted exactly up to [`DISTINCT_CAP`] per (column, detector), and
//! at most [`MAX_COLUMNS`] columns are told apart (JSON keys and CSV fields come from the data).
//!
//! Records, not values, are what a DPO counts: the classifier also knows which rows held
//! personal data, each such row's subject key (its strongest identifier, [`crate::subject`]),
//! and the dates of those rows per date column ([`Classifier::row_date`]), from which the
//! retention evidence (the age distribution of the records) is made.

use custos_rules::{Detection, Engine, FingerprintKey, mask};
use std::collections::{HashMap, HashSet};

/// Distinct fingerprints are counted exactly up to this many per (column, detector); beyond,
/// the count stops growing and the report says it is a lower bound.
pub const DISTINCT_CAP: usize = 100_000;

/// Batch buffer size before a scan pass.
const BATCH_BYTES: usize = 1 << 20;

/// Columns told apart at most; the values of further columns are classified together under
/// [`OTHER_COLUMNS`].
pub const MAX_COLUMNS: usize = 4096;

/// Column names are cut to this many characters.
const MAX_NAME_CHARS: usize = 256;

/// The name of the column that gathers the values of columns beyond [`MAX_COLUMNS`].
pub const OTHER_COLUMNS: &str = "(other columns)";

/// Date columns followed at most per classifier.
const MAX_DATE_COLUMNS: usize = 32;

/// Dates kept per date column (a uniform sample of them beyond).
const DATE_SAMPLE_CAP: usize = 100_000;

/// The dates of one date column in the rows that held personal data.
#[derive(Debug, Clone, Default)]
pub struct DateSample {
    /// Column name (or field path).
    pub column: String,
    /// Unix seconds: all of them, or a uniform sample of [`DATE_SAMPLE_CAP`] when there were
    /// more.
    pub times: Vec<i64>,
    /// Rows holding personal data that had this date.
    pub seen: u64,
}

/// Everything a classification found: per-column verdicts and the per-record figures.
#[derive(Debug, Clone, Default)]
pub struct Classified {
    /// One verdict per (column, detector), columns in first-seen order.
    pub verdicts: Vec<ColumnVerdict>,
    /// Oldest timestamp among rows that held personal data.
    pub oldest_personal: Option<i64>,
    /// Rows that held personal data.
    pub personal_rows: u64,
    /// Distinct subject keys of those rows (a lower bound when `subjects_capped`).
    pub distinct_subjects: u64,
    /// True when the subject count reached [`DISTINCT_CAP`].
    pub subjects_capped: bool,
    /// The dates of the rows holding personal data, per date column.
    pub dates: Vec<DateSample>,
}

/// What is known of a row of the current batch: whether it held personal data, its strongest
/// identifier, its dates.
#[derive(Debug, Clone, Default)]
struct RowState {
    personal: bool,
    strongest: crate::subject::Strongest,
    dates: Vec<(usize, i64)>,
}

/// What one (column, detector) pair came to.
#[derive(Debug, Clone)]
pub struct ColumnVerdict {
    /// Column name (CSV header, JSON field path, SQL column; empty for a whole text file).
    pub column: String,
    /// Index of the detector in the engine.
    pub detector: usize,
    /// Rows (records) in which the column was present and examined.
    pub sampled_rows: u64,
    /// Rows in which the detector matched the column at least once.
    pub matched_rows: u64,
    /// Distinct fingerprints of the matched values (a lower bound when `distinct_capped`).
    pub distinct_fingerprints: u64,
    /// True when the distinct count reached [`DISTINCT_CAP`].
    pub distinct_capped: bool,
    /// Mean confidence of the detections.
    pub confidence: f32,
    /// Masked preview of the first matched value.
    pub preview: String,
    /// Fingerprint of the first matched value.
    pub fingerprint: [u8; 32],
}

impl ColumnVerdict {
    /// Share of sampled rows that matched, in [0, 1].
    pub fn match_share(&self) -> f64 {
        if self.sampled_rows == 0 { 0.0 } else { self.matched_rows as f64 / self.sampled_rows as f64 }
    }
}

struct DetectorTally {
    matched_rows: u64,
    last_row: u64,
    distinct: HashSet<[u8; 32]>,
    capped: bool,
    confidence_sum: f64,
    detections: u64,
    preview: String,
    fingerprint: [u8; 32],
}

struct ColumnTally {
    name: String,
    sampled_rows: u64,
    last_row: u64,
    detectors: HashMap<usize, DetectorTally>,
}

/// One value in the batch buffer: where it ends, its column and its row.
#[derive(Clone, Copy)]
struct Span {
    value_start: usize,
    value_end: usize,
    column: usize,
    row: u64,
}

/// Accumulates rows and classifies their values per column.
pub struct Classifier<'a> {
    engine: &'a Engine,
    key: &'a FingerprintKey,
    columns: Vec<ColumnTally>,
    index: HashMap<String, usize>,
    buf: Vec<u8>,
    spans: Vec<Span>,
    detections: Vec<Detection>,
    /// Current row number (1-based; 0 before the first row).
    row: u64,
    /// Timestamps of rows of the current batch, by row number, for retention.
    row_times: HashMap<u64, i64>,
    /// Oldest timestamp of a row that held personal data.
    oldest_personal: Option<i64>,
    /// Total rows.
    rows: u64,
    /// Date columns and their samples.
    dates: Vec<DateSample>,
    date_index: HashMap<String, usize>,
    /// Rows of the current batch from `batch_first_row` on (the current row may go on in the
    /// next batch, so it is carried over).
    batch_rows: Vec<RowState>,
    batch_first_row: u64,
    personal_rows: u64,
    subjects: HashSet<[u8; 32]>,
    subjects_capped: bool,
    /// State of the generator choosing which dates a full sample keeps.
    sample_state: u64,
}

impl<'a> Classifier<'a> {
    /// A classifier scanning with `engine` and fingerprinting under `key`.
    pub fn new(engine: &'a Engine, key: &'a FingerprintKey) -> Self {
        Classifier {
            engine,
            key,
            columns: Vec::new(),
            index: HashMap::new(),
            buf: Vec::with_capacity(BATCH_BYTES + 4096),
            spans: Vec::new(),
            detections: Vec::new(),
            row: 0,
            row_times: HashMap::new(),
            oldest_personal: None,
            rows: 0,
            dates: Vec::new(),
            date_index: HashMap::new(),
            batch_rows: Vec::new(),
            batch_first_row: 1,
            personal_rows: 0,
            subjects: HashSet::new(),
            subjects_capped: false,
            sample_state: 0x9e37_79b9_7f4a_7c15,
        }
    }

    /// The index of column `name`, created on first use.
    pub fn column(&mut self, name: &str) -> usize {
        // Names come from the data (CSV headers, JSON keys): a long one is cut.
        let name = match name.char_indices().nth(MAX_NAME_CHARS) {
            Some((at, _)) => &name[..at],
            None => name,
        };
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        if self.columns.len() >= MAX_COLUMNS && name != OTHER_COLUMNS {
            return self.column(OTHER_COLUMNS);
        }
        let i = self.columns.len();
        self.columns.push(ColumnTally { name: name.to_string(), sampled_rows: 0, last_row: 0, detectors: HashMap::new() });
        self.index.insert(name.to_string(), i);
        i
    }

    /// Starts a new row (record).
    pub fn begin_row(&mut self) {
        self.row += 1;
        self.rows += 1;
    }

    /// Notes the row's timestamp (Unix seconds) for retention evidence.
    pub fn row_time(&mut self, unix_s: i64) {
        let e = self.row_times.entry(self.row).or_insert(unix_s);
        *e = (*e).min(unix_s);
    }

    /// The index of date column `name`, created on first use; `None` beyond the number of
    /// date columns followed.
    pub fn date_column(&mut self, name: &str) -> Option<usize> {
        if let Some(&i) = self.date_index.get(name) {
            return Some(i);
        }
        if self.dates.len() >= MAX_DATE_COLUMNS {
            return None;
        }
        self.dates.push(DateSample { column: name.to_string(), ..DateSample::default() });
        self.date_index.insert(name.to_string(), self.dates.len() - 1);
        Some(self.dates.len() - 1)
    }

    /// Notes the current row's date in date column `column` (Unix seconds): the row's age
    /// counts in that column's distribution if the row holds personal data. It also dates the
    /// row for [`Classifier::row_time`].
    pub fn row_date(&mut self, column: usize, unix_s: i64) {
        self.row_time(unix_s);
        self.row_state().dates.push((column, unix_s));
        if self.batch_rows.len() >= 1 << 16 {
            self.flush(); // rows with dates and few values: bounded all the same
        }
    }

    /// The state of the current row in the batch.
    fn row_state(&mut self) -> &mut RowState {
        let i = self.row.saturating_sub(self.batch_first_row) as usize;
        if self.batch_rows.len() <= i {
            self.batch_rows.resize_with(i + 1, RowState::default);
        }
        &mut self.batch_rows[i]
    }

    /// Folds the finished rows of the batch (all but the current one, unless `all`) into the
    /// per-record figures.
    fn settle_rows(&mut self, all: bool) {
        let current = (self.row.saturating_sub(self.batch_first_row) as usize).min(self.batch_rows.len());
        let done = if all { self.batch_rows.len() } else { current };
        let rows: Vec<RowState> = self.batch_rows.drain(..done).collect();
        for r in rows {
            if !r.personal {
                continue;
            }
            self.personal_rows += 1;
            if let Some(key) = r.strongest.key() {
                if self.subjects.len() < DISTINCT_CAP {
                    self.subjects.insert(key);
                } else if !self.subjects.contains(&key) {
                    self.subjects_capped = true;
                }
            }
            for (column, t) in r.dates {
                self.sample_date(column, t);
            }
        }
        self.batch_first_row = if all { self.row + 1 } else { self.row.max(self.batch_first_row) };
    }

    /// Keeps `t` in the sample of date column `column` (a uniform reservoir beyond the cap).
    fn sample_date(&mut self, column: usize, t: i64) {
        let Some(d) = self.dates.get_mut(column) else { return };
        d.seen += 1;
        if d.times.len() < DATE_SAMPLE_CAP {
            d.times.push(t);
            return;
        }
        // xorshift64*: deterministic, so a rescan of the same data gives the same evidence.
        self.sample_state ^= self.sample_state >> 12;
        self.sample_state ^= self.sample_state << 25;
        self.sample_state ^= self.sample_state >> 27;
        let r = self.sample_state.wrapping_mul(0x2545_f491_4f6c_dd1d) % d.seen;
        if (r as usize) < DATE_SAMPLE_CAP {
            d.times[r as usize] = t;
        }
    }

    /// Adds a value of `column` to the current row. Empty values count as absent.
    pub fn value(&mut self, column: usize, value: &[u8]) {
        let value = value.trim_ascii();
        if value.is_empty() {
            return;
        }
        let c = &mut self.columns[column];
        if c.last_row != self.row {
            c.last_row = self.row;
            c.sampled_rows += 1;
        }
        self.buf.extend_from_slice(c.name.as_bytes());
        self.buf.extend_from_slice(b": ");
        let value_start = self.buf.len();
        // A value spanning lines is flattened so that context stays within it.
        self.buf.extend(value.iter().map(|&b| if b == b'\n' || b == b'\r' { b' ' } else { b }));
        let value_end = self.buf.len();
        self.buf.push(b'\n');
        self.spans.push(Span { value_start, value_end, column, row: self.row });
        if self.buf.len() >= BATCH_BYTES {
            self.flush();
        }
    }

    /// Scans the batch and folds its detections into the tallies.
    fn flush(&mut self) {
        if self.spans.is_empty() {
            self.buf.clear();
            self.row_times.retain(|&row, _| row == self.row);
            self.settle_rows(false);
            return;
        }
        self.detections.clear();
        self.engine.scan(&self.buf, &mut self.detections);
        for d in &self.detections {
            let i = self.spans.partition_point(|s| s.value_end < d.end);
            let Some(span) = self.spans.get(i) else { continue };
            if d.start < span.value_start || d.end > span.value_end {
                continue; // in the column name, or across values
            }
            let spec = self.engine.detector(d.detector);
            let fp = self.key.fingerprint(&spec.id, &d.normalized).0;
            let col = &mut self.columns[span.column];
            let t = col.detectors.entry(d.detector).or_insert_with(|| DetectorTally {
                matched_rows: 0,
                last_row: 0,
                distinct: HashSet::new(),
                capped: false,
                confidence_sum: 0.0,
                detections: 0,
                preview: mask::preview(&spec.id, &self.buf[d.start..d.end]),
                fingerprint: fp,
            });
            if t.last_row != span.row {
                t.last_row = span.row;
                t.matched_rows += 1;
            }
            t.confidence_sum += d.confidence as f64;
            t.detections += 1;
            if t.distinct.len() < DISTINCT_CAP {
                t.distinct.insert(fp);
            } else if !t.distinct.contains(&fp) {
                t.capped = true;
            }
            if let Some(&ts) = self.row_times.get(&span.row) {
                self.oldest_personal = Some(self.oldest_personal.map_or(ts, |o| o.min(ts)));
            }
            let strength = crate::subject::strength(&spec.id, spec.category);
            if let Some(r) = span.row.checked_sub(self.batch_first_row) {
                let r = r as usize;
                if self.batch_rows.len() <= r {
                    self.batch_rows.resize_with(r + 1, RowState::default);
                }
                self.batch_rows[r].personal = true;
                self.batch_rows[r].strongest.offer(strength, fp);
            }
        }
        self.settle_rows(false);
        self.buf.clear();
        self.spans.clear();
        // Keep the current row's time: its values may continue in the next batch.
        let current = self.row_times.get(&self.row).copied();
        self.row_times.clear();
        if let Some(ts) = current {
            self.row_times.insert(self.row, ts);
        }
    }

    /// Rows seen so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Flushes and returns the verdicts (columns in first-seen order, detectors by index) and
    /// the oldest timestamp among rows that held personal data.
    pub fn finish(self) -> (Vec<ColumnVerdict>, Option<i64>) {
        let c = self.finish_all();
        (c.verdicts, c.oldest_personal)
    }

    /// Flushes and returns everything found: the verdicts and the per-record figures.
    pub fn finish_all(mut self) -> Classified {
        self.flush();
        self.settle_rows(true);
        let (personal_rows, distinct_subjects, subjects_capped) = (self.personal_rows, self.subjects.len() as u64, self.subjects_capped);
        let dates = std::mem::take(&mut self.dates);
        let mut out = Vec::new();
        for c in self.columns {
            let mut dets: Vec<_> = c.detectors.into_iter().collect();
            dets.sort_by_key(|(d, _)| *d);
            for (detector, t) in dets {
                out.push(ColumnVerdict {
                    column: c.name.clone(),
                    detector,
                    sampled_rows: c.sampled_rows,
                    matched_rows: t.matched_rows,
                    distinct_fingerprints: t.distinct.len() as u64,
                    distinct_capped: t.capped,
                    confidence: (t.confidence_sum / t.detections.max(1) as f64) as f32,
                    preview: t.preview,
                    fingerprint: t.fingerprint,
                });
            }
        }
        Classified { verdicts: out, oldest_personal: self.oldest_personal, personal_rows, distinct_subjects, subjects_capped, dates }
    }
}

/// Parses a timestamp as written in data stores, to Unix seconds: ISO dates (`2019-03-01`,
/// `2019-03-01 10:00:00`, `2019-03-01T10:00:00Z`, fractional seconds and offsets ignored) and
/// Unix epoch seconds or milliseconds (between 2001 and 2100).
pub fn parse_timestamp(text: &[u8]) -> Option<i64> {
    let t = text.trim_ascii();
    if t.len() >= 10 && t[4] == b'-' && t[7] == b'-' {
        let num = |s: &[u8]| std::str::from_utf8(s).ok()?.parse::<i64>().ok();
        let (y, m, d) = (num(&t[0..4])?, num(&t[5..7])?, num(&t[8..10])?);
        let month = time::Month::try_from(u8::try_from(m).ok()?).ok()?;
        let date = time::Date::from_calendar_date(i32::try_from(y).ok()?, month, u8::try_from(d).ok()?).ok()?;
        let mut secs = date.midnight().assume_utc().unix_timestamp();
        if t.len() >= 19 && (t[10] == b' ' || t[10] == b'T') && t[13] == b':' && t[16] == b':' {
            let (h, mi, s) = (num(&t[11..13])?, num(&t[14..16])?, num(&t[17..19])?);
            if h < 24 && mi < 60 && s < 61 {
                secs += h * 3600 + mi * 60 + s;
            }
        }
        return Some(secs);
    }
    if !t.is_empty() && t.len() <= 13 && t.iter().all(u8::is_ascii_digit) {
        let n: i64 = std::str::from_utf8(t).ok()?.parse().ok()?;
        const LOW: i64 = 978_307_200; // 2001-01-01
        const HIGH: i64 = 4_102_444_800; // 2100-01-01
        if (LOW..HIGH).contains(&n) {
            return Some(n);
        }
        if (LOW * 1000..HIGH * 1000).contains(&n) {
            return Some(n / 1000);
        }
    }
    None
}

/// True for column names that usually hold a record's date (`created_at`, `signup_date`,
/// `timestamp`, `last_login`, `last_seen`, `last_activity` …).
pub fn is_date_column_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.ends_with("_at")
        || n.ends_with("date")
        || n.ends_with("_on")
        || n.contains("time")
        || n == "created"
        || n == "updated"
        || n.contains("login")
        || n.ends_with("_seen")
        || n.starts_with("last_activ")
        || n == "ts"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> FingerprintKey {
        FingerprintKey::new(vec![7; 32]).unwrap()
    }

    #[test]
    fn one_verdict_per_column_and_detector_with_shares_and_distinct_counts() {
        let engine = Engine::with_default_packs().unwrap();
        let key = key();
        let mut c = Classifier::new(&engine, &key);
        let (email, note) = (c.column("email"), c.column("note"));
        for i in 0..10 {
            c.begin_row();
            // Rows 0..8 hold an address; two rows repeat the same person.
            if i < 8 {
                c.value(email, format!("user{}@example.org", i.min(6)).as_bytes());
            } else {
                c.value(email, b"unknown");
            }
            c.value(note, b"called back");
        }
        let (verdicts, _) = c.finish();
        let v: Vec<_> = verdicts.iter().filter(|v| v.column == "email").collect();
        assert_eq!(v.len(), 1, "{verdicts:?}");
        assert_eq!(engine.detector(v[0].detector).id, "email");
        assert_eq!((v[0].sampled_rows, v[0].matched_rows, v[0].distinct_fingerprints), (10, 8, 7));
        assert!((v[0].match_share() - 0.8).abs() < 1e-9);
        assert!(!v[0].preview.contains("user0"), "preview is masked: {}", v[0].preview);
        assert!(verdicts.iter().all(|v| v.column != "note"));
    }

    #[test]
    fn retention_takes_the_oldest_row_holding_personal_data_only() {
        let engine = Engine::with_default_packs().unwrap();
        let key = key();
        let mut c = Classifier::new(&engine, &key);
        let email = c.column("email");
        c.begin_row();
        c.row_time(parse_timestamp(b"2012-01-01").unwrap());
        c.value(email, b"none"); // the oldest row holds nothing personal
        c.begin_row();
        c.row_time(parse_timestamp(b"2015-06-30 12:00:00").unwrap());
        c.value(email, b"ann@example.org");
        c.begin_row();
        c.row_time(parse_timestamp(b"2020-01-01").unwrap());
        c.value(email, b"bob@example.org");
        let (_, oldest) = c.finish();
        assert_eq!(oldest, parse_timestamp(b"2015-06-30T12:00:00Z"));
    }

    #[test]
    fn timestamps_in_common_forms() {
        assert_eq!(parse_timestamp(b"1970-01-02"), Some(86400));
        assert_eq!(parse_timestamp(b"2001-09-09 01:46:40"), Some(1_000_000_000));
        assert_eq!(parse_timestamp(b"1000000000"), Some(1_000_000_000));
        assert_eq!(parse_timestamp(b"1000000000000"), Some(1_000_000_000));
        assert_eq!(parse_timestamp(b"42"), None);
        assert_eq!(parse_timestamp(b"2019-13-01"), None);
    }
}
