//! How many people and records an incident concerns, with how each figure was counted.
//!
//! A DPO reports both numbers to the supervisory authority as estimates with their method
//! (Art. 33(3)(a)), and "records" and "data subjects" differ: one person appears in many records,
//! one record holds several identifiers of one person. The figures come from different kinds of
//! evidence, each counted the way it can be:
//!
//! - **log lines and text files**: a record is a line that holds personal data; a subject is a
//!   distinct subject key — the keyed fingerprint of each record's strongest identifier, so the
//!   NIR and the phone number of one patient on one line count once;
//! - **tables and structured files** (one finding per column): a table's records are its rows,
//!   once however many of its columns hold personal data; its subjects are the distinct values
//!   of a sample, extrapolated to the table — a range, from what the sample saw to the
//!   extrapolation; retention items count the rows past the retention, from the age
//!   distribution the agent sent;
//! - **exports**: the rows the agent sized for each export event (the `COPY` result, the
//!   table's estimate, pages × records per page …), once per event.
//!
//! Never records = findings. The DPO may set their own estimate; it is shown beside this one,
//! never instead of it.

use serde::Serialize;

/// One table or structured file behind an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableFigures {
    /// Its locator.
    pub locator: String,
    /// Its rows (records), as the agent estimated them.
    pub records: u64,
    /// Distinct subjects extrapolated from the sample to the whole table (the largest column).
    pub subjects: Option<u64>,
    /// Rows the incident's rule counted itself (rows past retention), when it did.
    pub concerned: Option<u64>,
    /// How the rule counted them.
    pub concerned_method: Option<String>,
}

/// One export event behind an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportFigures {
    /// The event's signature.
    pub event: String,
    /// Rows exported, as the agent sized them.
    pub records: Option<u64>,
    /// How (`copy_result_rows`, `table_estimated_rows`, `pages_x_records_per_page` …).
    pub method: String,
    /// The people of what was exported, when an agent scanned it (see [`Scanned`]).
    pub table: Option<Scanned>,
}

/// What an agent's scan says of the people of an export's source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scanned {
    /// One table: its distinct subjects, extrapolated to the table, and its rows. An export of
    /// part of it takes its share.
    Table {
        /// People.
        subjects: u64,
        /// Rows.
        rows: u64,
    },
    /// A whole database (a dump): the people of its largest personal table — the other tables
    /// mostly hold the same people (their orders, their addresses).
    Database {
        /// People.
        subjects: u64,
    },
}

impl ExportFigures {
    /// The file of a new-file event (`file|path=/tmp/x.csv`).
    fn file_event(&self) -> Option<&str> {
        self.event.strip_prefix("file|path=")
    }

    /// The file the export wrote, from its event signature (`…|to=/tmp/x.csv|…`).
    fn destination(&self) -> Option<&str> {
        self.event.split('|').find_map(|part| part.strip_prefix("to=")).filter(|p| p.starts_with('/'))
    }

    /// The people this export takes: the exported share of the table's people when the table
    /// was scanned, else at most one person per exported record.
    fn people(&self) -> Option<(u64, &'static str)> {
        match (self.table, self.records) {
            (Some(Scanned::Table { subjects, rows }), Some(n)) if rows > 0 => {
                Some(((subjects as f64 * (n.min(rows) as f64 / rows as f64)).round() as u64, "table"))
            }
            (Some(Scanned::Table { subjects, .. }), _) => Some((subjects, "table")),
            (Some(Scanned::Database { subjects }), _) => Some((subjects, "database")),
            (None, Some(n)) => Some((n, "records")),
            (None, None) => None,
        }
    }
}

/// What the store knows of an incident's evidence, summarised for counting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    /// Distinct subject keys (or fingerprints) of the incident's findings, exactly.
    pub distinct_subjects: u64,
    /// Whether the subjects were taken from the host's data (exports carry no values).
    pub subjects_from_host: bool,
    /// Distinct lines of text sources holding personal data.
    pub text_records: u64,
    /// Tables and structured files.
    pub tables: Vec<TableFigures>,
    /// Export events.
    pub exports: Vec<ExportFigures>,
}

/// One figure: the best estimate, its range, and how it was counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Estimate {
    /// The best estimate.
    pub value: u64,
    /// Lowest plausible value.
    pub low: u64,
    /// Highest plausible value.
    pub high: u64,
    /// How it was counted, in words.
    pub method: String,
}

/// An incident's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Figures {
    /// Data subjects (people).
    pub subjects: Estimate,
    /// Records.
    pub records: Estimate,
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Counts an incident's subjects and records from its evidence (see the module documentation).
pub fn figures(e: &Evidence) -> Figures {
    // A new file's anomaly (`file|path=P`) is the same data as the scan of P, which says more
    // (people per record, columns): the scan counts it.
    let scanned = |p: &str| e.tables.iter().any(|t| t.locator == p);
    let exports: Vec<&ExportFigures> = e.exports.iter().filter(|x| !x.file_event().is_some_and(scanned)).collect();
    let mut records = Estimate::default();
    let mut parts = Vec::new();
    if e.text_records > 0 {
        records.value += e.text_records;
        parts.push(format!("{} lines holding personal data", thousands(e.text_records)));
    }
    // The file an export wrote (`to=PATH` in its event), when it was scanned too, is that
    // export's rows: counted once, by the export.
    let written: Vec<&str> = exports.iter().filter(|x| x.records.is_some()).filter_map(|x| x.destination()).collect();
    for t in &e.tables {
        if written.contains(&t.locator.as_str()) {
            parts.push(format!("{} (the file the export wrote: its rows counted once, with the export)", t.locator));
            continue;
        }
        match (t.concerned, &t.concerned_method) {
            (Some(n), Some(how)) => {
                records.value += n;
                parts.push(format!("{} rows of {} ({how})", thousands(n), t.locator));
            }
            _ => {
                records.value += t.records;
                parts.push(format!("{} rows of {} (the agent's estimate of the table; each row once, whatever its columns)", thousands(t.records), t.locator));
            }
        }
    }
    let mut unsized_exports = 0;
    for x in &exports {
        match x.records {
            Some(n) => {
                records.value += n;
                parts.push(format!("{} rows exported ({}, {})", thousands(n), x.event, x.method.replace('_', " ")));
            }
            None => unsized_exports += 1,
        }
    }
    if unsized_exports > 0 {
        parts.push(format!("{unsized_exports} export event(s) the agent could not size"));
    }
    records.low = records.value;
    records.high = records.value;
    records.method = if parts.is_empty() { "no records in the evidence".into() } else { parts.join("; ") };

    // Subjects: the exact count of subject keys, and for tables the sample's distinct values
    // extrapolated — the same people may be in several tables (the largest is the floor) or
    // not (the sum is the ceiling).
    // At most one person per row concerned.
    let table_subjects: Vec<u64> = e.tables.iter().filter_map(|t| t.subjects.map(|s| s.min(t.concerned.unwrap_or(t.records)))).collect();
    let largest = table_subjects.iter().copied().max().unwrap_or(0);
    // The file an export wrote holds that export's people: not added again to the ceiling.
    let sum: u64 =
        e.tables.iter().filter(|t| !written.contains(&t.locator.as_str())).filter_map(|t| t.subjects.map(|s| s.min(t.concerned.unwrap_or(t.records)))).sum();
    let exported: Vec<(u64, &'static str, &str)> = exports.iter().filter_map(|x| x.people().map(|(n, basis)| (n, basis, x.event.as_str()))).collect();
    let most_exported = exported.iter().map(|(n, _, _)| *n).max().unwrap_or(0);
    let all_exported: u64 = exported.iter().map(|(n, _, _)| *n).sum();
    let floor = e.distinct_subjects.max(largest).max(most_exported);
    let mut subjects = Estimate { value: floor, low: floor, high: e.distinct_subjects + sum + all_exported, method: String::new() };
    let mut how = Vec::new();
    if e.distinct_subjects > 0 {
        how.push(if e.subjects_from_host {
            format!(
                "{} distinct people whose data agents saw on the host (keyed fingerprints of each record's strongest identifier)",
                thousands(e.distinct_subjects)
            )
        } else {
            format!("{} distinct people in the evidence (keyed fingerprints of each record's strongest identifier)", thousands(e.distinct_subjects))
        });
    }
    if !table_subjects.is_empty() {
        how.push(format!(
            "distinct values in sampled rows extrapolated to the tables: {} in the largest table{}",
            thousands(largest),
            if table_subjects.len() > 1 { format!(", {} if the tables hold different people", thousands(sum)) } else { String::new() }
        ));
    }
    for (n, basis, event) in &exported {
        how.push(match *basis {
            "table" => {
                format!("{} people in the export {event}: the distinct values of the exported table, extrapolated from the agent's sample", thousands(*n))
            }
            "database" => format!(
                "{} people in the export {event}: the people of the dumped database's largest personal table, extrapolated from the agent's sample",
                thousands(*n)
            ),
            _ => format!("at most {} people in the export {event}: one per exported record (the table was not scanned)", thousands(*n)),
        });
    }
    if subjects.high < subjects.low {
        subjects.high = subjects.low;
    }
    subjects.method = if how.is_empty() { "no identifiers in the evidence".into() } else { how.join("; ") };
    Figures { subjects, records }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_with_two_identifiers_of_one_person_is_one_record_and_one_subject() {
        let f = figures(&Evidence { distinct_subjects: 724, text_records: 724, ..Default::default() });
        assert_eq!((f.subjects.value, f.records.value), (724, 724));
        assert!(f.records.method.contains("724 lines"), "{}", f.records.method);
    }

    #[test]
    fn the_file_an_export_wrote_counts_once_with_the_export() {
        let file = TableFigures { locator: "/tmp/customers.csv".into(), records: 20_000, subjects: Some(20_000), concerned: None, concerned_method: None };
        let x = ExportFigures {
            event: "copy|db=shop|table=shop.customers|to=/tmp/customers.csv|actor=alice".into(),
            records: Some(20_000),
            method: "copy_result_rows".into(),
            table: None,
        };
        let f = figures(&Evidence { tables: vec![file], exports: vec![x], ..Default::default() });
        assert_eq!((f.records.value, f.subjects.value, f.subjects.high), (20_000, 20_000, 20_000));
        assert!(f.records.method.contains("counted once"), "{}", f.records.method);
    }

    #[test]
    fn a_new_file_is_counted_by_its_scan_not_twice() {
        let file = TableFigures { locator: "/var/www/p.csv".into(), records: 50_000, subjects: Some(50_000), concerned: None, concerned_method: None };
        let x = ExportFigures { event: "file|path=/var/www/p.csv".into(), records: Some(50_000), method: "file_rows".into(), table: None };
        let f = figures(&Evidence { tables: vec![file], exports: vec![x], ..Default::default() });
        assert_eq!((f.records.value, f.subjects.value, f.subjects.high), (50_000, 50_000, 50_000));
        assert!(!f.subjects.method.contains("at most"), "{}", f.subjects.method);
    }

    #[test]
    fn a_table_counts_its_rows_once_whatever_its_personal_columns() {
        let table =
            TableFigures { locator: "postgres://db/shop.customers".into(), records: 20_000, subjects: Some(19_800), concerned: None, concerned_method: None };
        let f = figures(&Evidence { tables: vec![table], ..Default::default() });
        assert_eq!(f.records.value, 20_000);
        assert_eq!(f.subjects.value, 19_800);
        assert!(f.records.method.contains("20,000 rows"), "{}", f.records.method);
    }

    #[test]
    fn a_retention_item_counts_the_rows_past_retention_not_the_table() {
        let table = TableFigures {
            locator: "sqlite:///srv/chat.db/accounts".into(),
            records: 20_000,
            subjects: Some(20_000),
            concerned: Some(6_055),
            concerned_method: Some("30.3 % of 20000 rows older than 1095 days by `last_login`".into()),
        };
        let f = figures(&Evidence { tables: vec![table], ..Default::default() });
        assert_eq!(f.records.value, 6_055);
        assert_eq!(f.subjects.value, 6_055, "people whose records are past retention, at most one per row");
    }

    #[test]
    fn exports_count_once_per_event_and_people_in_different_tables_give_a_range() {
        let t = |l: &str, s| TableFigures { locator: l.into(), records: 1000, subjects: Some(s), concerned: None, concerned_method: None };
        let x = ExportFigures { event: "copy|table=shop.customers".into(), records: Some(1000), method: "copy_result_rows".into(), table: None };
        let f = figures(&Evidence { tables: vec![t("a", 800), t("b", 600)], exports: vec![x], ..Default::default() });
        assert_eq!(f.records.value, 3000);
        assert_eq!((f.subjects.value, f.subjects.low, f.subjects.high), (1000, 1000, 2400), "at most one person per exported record");
        assert!(f.records.method.contains("copy result rows"), "{}", f.records.method);
    }

    #[test]
    fn an_export_of_a_scanned_table_takes_its_share_of_the_tables_people() {
        let x = ExportFigures {
            event: "copy|table=shop.customers".into(),
            records: Some(10_000),
            method: "copy_result_rows".into(),
            table: Some(Scanned::Table { subjects: 18_000, rows: 20_000 }),
        };
        let f = figures(&Evidence { distinct_subjects: 3, subjects_from_host: true, exports: vec![x], ..Default::default() });
        assert_eq!((f.records.value, f.subjects.value), (10_000, 9_000));
        assert!(f.subjects.method.contains("exported table"), "{}", f.subjects.method);
    }

    #[test]
    fn a_dump_takes_the_people_of_the_databases_largest_table() {
        let x = ExportFigures {
            event: "dump|db=shop|actor=mallory".into(),
            records: Some(25_000),
            method: "table_estimated_rows".into(),
            table: Some(Scanned::Database { subjects: 20_000 }),
        };
        let f = figures(&Evidence { exports: vec![x], ..Default::default() });
        assert_eq!((f.records.value, f.subjects.value), (25_000, 20_000), "orders belong to the same customers");
        assert!(f.subjects.method.contains("dumped database"), "{}", f.subjects.method);
    }
}
