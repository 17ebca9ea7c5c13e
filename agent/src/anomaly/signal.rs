//! What a heuristic reports: one anomaly — what, who, how much, against what — and, for an
//! export, the event it belongs to: what was taken, where to, by whom, when, and how many
//! records.
//!
//! Everything here is raw (an actor may be an e-mail address, a destination may name a
//! person): [`crate::finding`] masks it on the way out, and so does the scan output.

use std::collections::BTreeMap;

/// One anomaly: what, who, how much, against what.
#[derive(Debug, Clone, PartialEq)]
pub struct Anomaly {
    /// Heuristic name (the finding's detector id).
    pub heuristic: &'static str,
    /// Observed figure (rows, bytes, requests, findings, distinct values; 1 for a statement).
    pub observed: u64,
    /// Baseline the figure was compared with, when there is one.
    pub baseline: Option<f64>,
    /// Threshold that was crossed.
    pub threshold: f64,
    /// User or client address, when the log says.
    pub actor: Option<String>,
    /// What happened, in words: statement kind, table and destination, endpoint and size.
    pub detail: String,
    /// Confidence in [0, 1].
    pub confidence: f32,
    /// The export event this anomaly is (part of), when the heuristic knows one.
    pub event: Option<ExportEvent>,
    /// What caused it, which also makes its finding's id.
    pub origin: Origin,
}

/// What caused an anomaly: a line, a counting window, the end of an event, or nothing the
/// heuristic can point at (a file found by a scan).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Origin {
    /// A line of a log: 1-based number and byte offset.
    Line {
        /// 1-based line number.
        number: u64,
        /// Byte offset of the line in the file.
        offset: u64,
    },
    /// A counting window that closed, by its start (event time, Unix seconds).
    Window {
        /// Start of the window, Unix seconds.
        start_s: i64,
    },
    /// The close of an event reported before (its final figures), by the event's start.
    EventEnd {
        /// Start of the event, ms since the epoch.
        start_ms: i64,
    },
    /// A file found by a scan, by its size (a file that grows is a new observation).
    File {
        /// Size in bytes.
        size: u64,
    },
    /// Nothing more precise.
    #[default]
    None,
}

impl Origin {
    /// The part of a finding id that tells this anomaly from another of the same source and
    /// heuristic (`actor` separates windows of different clients).
    pub fn key(&self, actor: Option<&str>) -> String {
        let actor = actor.unwrap_or("");
        match self {
            Origin::Line { offset, .. } => format!("line:{offset}"),
            Origin::Window { start_s } => format!("window:{start_s}:{actor}"),
            Origin::EventEnd { start_ms } => format!("end:{start_ms}:{actor}"),
            Origin::File { size } => format!("file:{size}"),
            Origin::None => "0".to_string(),
        }
    }
}

/// How the number of records of an export was estimated (`affected_records_method`), from the
/// most to the least direct.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SizeMethod {
    /// The `COPY n` command tag that followed the statement.
    CopyResultRows,
    /// The `rows=` of the top node of an auto_explain plan of the statement.
    AutoExplainRows,
    /// MySQL's slow log `Rows_sent` of the statement.
    SlowLogRows,
    /// Rows of the exported file, found by a scan of this agent.
    FileRows,
    /// The table's estimated rows, from a scan of that database by this agent.
    TableEstimatedRows,
    /// Distinct pages requested × records per page (an API paged through).
    PagesTimesRecordsPerPage,
}

impl SizeMethod {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            SizeMethod::CopyResultRows => "copy_result_rows",
            SizeMethod::AutoExplainRows => "auto_explain_rows",
            SizeMethod::SlowLogRows => "slow_log_rows",
            SizeMethod::FileRows => "file_rows",
            SizeMethod::TableEstimatedRows => "table_estimated_rows",
            SizeMethod::PagesTimesRecordsPerPage => "pages_x_records_per_page",
        }
    }
}

/// One export event: its kind, its object and destination, its size and its event time.
///
/// Two anomalies of one event have the same [`signature`](ExportEvent::signature); a later
/// anomaly of an event carries its figures so far (pages, bytes, records, end), so the last
/// one says all.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExportEvent {
    /// `copy`, `outfile`, `dump`, `read`, `download`, `scrape`, `file`, `finding_rate`.
    pub kind: &'static str,
    /// The statement kind: `COPY … TO`, `SELECT … INTO OUTFILE`, `pg_dump`, `GET` …
    pub statement: Option<String>,
    /// The database, when the log names it.
    pub database: Option<String>,
    /// The table taken (`shop.customers`), when the statement names one.
    pub table: Option<String>,
    /// Where it went: a file path, `STDOUT`, `PROGRAM …`.
    pub destination: Option<String>,
    /// The endpoint as a path template (`/api/customers/{id}`).
    pub endpoint: Option<String>,
    /// The file or log the event is about (files found by scans, finding bursts).
    pub path: Option<String>,
    /// Distinct pages (offsets, ids) requested.
    pub pages: Option<u64>,
    /// Bytes sent.
    pub bytes: Option<u64>,
    /// Event time of the start, ms since the epoch.
    pub start_ms: i64,
    /// Event time of the end (the last line seen of it), ms since the epoch.
    pub end_ms: i64,
    /// Estimated records taken, and how.
    pub records: Option<(u64, SizeMethod)>,
    /// `Some(false)` for a statement checked not to be a harmless aggregate.
    pub aggregate: Option<bool>,
    /// The kind of exposed place a file is in (`web_root`, `share`, `tmp`, `home`).
    pub place: Option<&'static str>,
}

impl ExportEvent {
    /// An event of `kind` that started and ended at `at_ms`.
    pub fn new(kind: &'static str, at_ms: i64) -> ExportEvent {
        ExportEvent { kind, start_ms: at_ms, end_ms: at_ms, ..ExportEvent::default() }
    }

    /// Sets the size when `method` is more direct than the one known (or none is).
    pub fn size(&mut self, rows: u64, method: SizeMethod) {
        if self.records.is_none_or(|(_, m)| method < m) {
            self.records = Some((rows, method));
        }
    }

    /// The stable signature of the event: kind, object and actor, e.g.
    /// `copy|db=shop|table=shop.customers|to=/tmp/customers.csv|actor=alice`.
    pub fn signature(&self, actor: Option<&str>) -> String {
        let mut s = self.kind.to_string();
        for (k, v) in [
            ("db", self.database.as_deref()),
            ("table", self.table.as_deref()),
            ("to", self.destination.as_deref()),
            ("endpoint", self.endpoint.as_deref()),
            ("path", self.path.as_deref()),
            ("actor", actor),
        ] {
            if let Some(v) = v {
                s.push('|');
                s.push_str(k);
                s.push('=');
                s.push_str(v);
            }
        }
        s
    }
}

impl Anomaly {
    /// An anomaly without event or origin (the heuristic adds them when it knows them).
    pub fn new(
        heuristic: &'static str,
        observed: u64,
        baseline: Option<f64>,
        threshold: f64,
        actor: Option<String>,
        detail: String,
        confidence: f32,
    ) -> Anomaly {
        Anomaly { heuristic, observed, baseline, threshold, actor, detail, confidence, event: None, origin: Origin::None }
    }

    /// The same anomaly, part of `event`.
    pub fn with_event(mut self, event: ExportEvent) -> Anomaly {
        self.event = Some(event);
        self
    }

    /// The same anomaly, caused by `origin`.
    pub fn at(mut self, origin: Origin) -> Anomaly {
        self.origin = origin;
        self
    }

    /// Event time of the anomaly (ms since the epoch): the end of its event so far, when it has
    /// one.
    pub fn event_time_ms(&self) -> Option<i64> {
        self.event.as_ref().map(|e| e.end_ms)
    }

    /// The evidence map, with the keys of the finding evidence contract (raw: the finding
    /// factory and the scan output mask the names in it).
    pub fn evidence(&self) -> BTreeMap<String, String> {
        let mut e = BTreeMap::new();
        e.insert("anomaly".into(), self.heuristic.to_string());
        e.insert("observed".into(), self.observed.to_string());
        if let Some(b) = self.baseline {
            e.insert("baseline".into(), format!("{b:.1}"));
        }
        e.insert("threshold".into(), format!("{:.1}", self.threshold));
        if let Some(a) = &self.actor {
            e.insert("actor".into(), a.clone());
        }
        e.insert("detail".into(), self.detail.clone());
        if let Some(ev) = &self.event {
            e.insert("event".into(), ev.signature(self.actor.as_deref()));
            for (k, v) in [
                ("statement", &ev.statement),
                ("database", &ev.database),
                ("table", &ev.table),
                ("destination", &ev.destination),
                ("endpoint", &ev.endpoint),
                ("path", &ev.path),
            ] {
                if let Some(v) = v {
                    e.insert(k.into(), v.clone());
                }
            }
            for (k, v) in [("pages", ev.pages), ("bytes", ev.bytes)] {
                if let Some(v) = v {
                    e.insert(k.into(), v.to_string());
                }
            }
            e.insert("event_start_ms".into(), ev.start_ms.to_string());
            e.insert("event_end_ms".into(), ev.end_ms.to_string());
            match ev.records {
                Some((n, m)) => {
                    e.insert("affected_records_estimate".into(), n.to_string());
                    e.insert("affected_records_method".into(), m.as_str().into());
                }
                None => {
                    e.insert("affected_records_method".into(), "unknown".into());
                }
            }
            if let Some(a) = ev.aggregate {
                e.insert("aggregate".into(), a.to_string());
            }
            if let Some(p) = ev.place {
                e.insert("kind_of_place".into(), p.into());
            }
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_names_kind_object_and_actor_in_a_fixed_order() {
        let mut e = ExportEvent::new("copy", 1000);
        e.database = Some("shop".into());
        e.table = Some("shop.customers".into());
        e.destination = Some("/tmp/customers.csv".into());
        assert_eq!(e.signature(Some("alice")), "copy|db=shop|table=shop.customers|to=/tmp/customers.csv|actor=alice");
        let mut d = ExportEvent::new("dump", 0);
        d.database = Some("shop".into());
        assert_eq!(d.signature(Some("backup")), "dump|db=shop|actor=backup");
    }

    #[test]
    fn the_most_direct_size_wins_whatever_the_order() {
        let mut e = ExportEvent::new("copy", 0);
        e.size(20_000, SizeMethod::TableEstimatedRows);
        e.size(19_874, SizeMethod::CopyResultRows);
        e.size(20_100, SizeMethod::AutoExplainRows);
        assert_eq!(e.records, Some((19_874, SizeMethod::CopyResultRows)));
        let a = Anomaly::new("db_export_statement", 1, None, 1.0, None, "x".into(), 0.8).with_event(e);
        let ev = a.evidence();
        assert_eq!((ev["affected_records_estimate"].as_str(), ev["affected_records_method"].as_str()), ("19874", "copy_result_rows"));
        let unknown = Anomaly::new("dump_command", 1, None, 1.0, None, "x".into(), 0.8).with_event(ExportEvent::new("dump", 0)).evidence();
        assert_eq!(unknown["affected_records_method"], "unknown");
        assert!(!unknown.contains_key("affected_records_estimate"), "no figure rather than a made-up one");
    }
}
