//! Database server logs (PostgreSQL, MySQL/MariaDB): export statements, dump sessions, bulk reads.
//!
//! What the logs say, and what is recognised:
//! - `COPY … TO STDOUT|'file'|PROGRAM` (PostgreSQL with `log_statement = 'all'` or `'mod'`, or
//!   the `Query Text:` of an auto_explain plan) and `SELECT … INTO OUTFILE|DUMPFILE` (MySQL):
//!   `db_export_statement`, naming the statement kind, the table and the destination
//!   ([`super::statement`]). `COPY … FROM` (an import) is not an export, nor is a harmless
//!   aggregate (`COPY (SELECT count(*) FROM customers) TO STDOUT`): that one is not reported.
//! - A `pg_dump` or `mysqldump` session — the application name in PostgreSQL's
//!   `log_line_prefix` (`%a`), the tool's name in MySQL's general log, or mysqldump's tell-tale
//!   `SELECT /*!40001 SQL_NO_CACHE */`: `dump_command`, at the session's first statement and at
//!   its end (`event_gap_s` without a statement) with the tables it copied — a dump is thousands
//!   of statements, one event.
//! - Row counts: MySQL's slow log `Rows_sent: N`, PostgreSQL `auto_explain` plans (the actual
//!   `rows=N` of the top node): `bulk_read` when N is far above the actor's baseline of returned
//!   rows and at least `bulk_rows_min`, or at least `bulk_rows_absolute` regardless.
//!
//! Each export is sized: the `COPY n` line that reports its result, else the rows of its
//! auto_explain plan, else MySQL's `Rows_sent`, else the rows of the exported file or of the
//! table when this agent scanned them ([`SizeHints`]). An export statement is therefore reported
//! when its result is known: at the `COPY n` or plan line, at the session's next statement, a
//! window after it, or at the end of the log.
//!
//! The actor comes from `user=NAME` (`log_line_prefix` with `user=%u`), `%u@%d` before the
//! message, or MySQL's `# User@Host: NAME[…]` header; the database from `db=`/`database=`,
//! `user@db`, or MySQL's `Connect … on DB` / `Init DB` / `use DB;` — never from the statement
//! text, which may hold personal values.

use super::baseline::Baseline;
use super::signal::{Anomaly, ExportEvent, Origin, SizeMethod};
use super::sizes::SizeHints;
use super::statement::{self, Export};
use crate::config::AnomalyConfig;
use regex::bytes::Regex;
use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

static DUMP_TOOL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i-u)\b(pg_dump(?:all)?|mysqldump|mariadb-dump)\b|SELECT /\*!40001 SQL_NO_CACHE \*/").expect("static regex"));
static ROWS_SENT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i-u)\brows_sent:\s*(\d{1,15})").expect("static regex"));
static PLAN_ACTUAL_ROWS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i-u)actual[^)]*?\brows=(\d{1,15})|"Actual Rows":\s*(\d{1,15})"#).expect("static regex"));
static PLAN_ROWS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"(?i-u)\brows=(\d{1,15})|"Plan Rows":\s*(\d{1,15})"#).expect("static regex"));
static ACTOR: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i-u)(?:\buser=|User@Host:\s*)([A-Za-z0-9_.\-]{1,64})").expect("static regex"));
static USER_AT_DB: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u)(?:\buser=|\] )([A-Za-z0-9_.\-]{1,64})@([A-Za-z0-9_.\-]{1,64})(?:[ ,]|$)").expect("static regex"));
static DB: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i-u)(?:\b(?:db|database)=|\bConnect\s+\S+\s+on\s+|\bInit DB\s+|^use\s+`?)([A-Za-z0-9_.\-$]{1,64})").expect("static regex"));
static SESSION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u)\[(\d{1,10})(?:-\d{1,10})?\]|\s(\d{1,10}) (?:Query|Connect|Init DB|Quit|Execute|Prepare)\b|\bId:\s*(\d{1,10})").expect("static regex")
});

/// Sessions (server processes, threads) remembered at most.
const MAX_SESSIONS: usize = 10_000;
/// Exports waiting for their result at most.
const MAX_PENDING: usize = 1_000;
/// Dump sessions followed at once at most.
const MAX_DUMPS: usize = 100;
/// Tables remembered per dump session at most.
const MAX_DUMP_TABLES: usize = 10_000;

/// Who and where a session is.
#[derive(Debug, Clone, Default)]
struct SessionInfo {
    actor: Option<String>,
    database: Option<String>,
}

/// An export statement waiting for its result.
#[derive(Debug)]
struct Pending {
    session: String,
    anomaly: Anomaly,
    deadline_ms: i64,
}

/// A dump tool's session.
#[derive(Debug)]
struct DumpSession {
    tool: String,
    database: Option<String>,
    start_ms: i64,
    end_ms: i64,
    tables: BTreeSet<String>,
}

/// A MySQL slow-log entry whose statement has not been read yet.
#[derive(Debug)]
struct SlowEntry {
    rows: u64,
    t_ms: i64,
    origin: Origin,
}

/// Watches one database log.
pub struct DbLogWatch {
    config: AnomalyConfig,
    sizes: SizeHints,
    rows: HashMap<String, Baseline>,
    sessions: HashMap<String, SessionInfo>,
    /// The session of the last line that named one (continuation lines are its).
    current: String,
    pending: Vec<Pending>,
    dumps: HashMap<(String, String), DumpSession>,
    /// An auto_explain plan is being read: its table (from `Query Text:`) and whether its top
    /// node's rows are still to come.
    plan: Option<(Option<String>, bool)>,
    slow: Option<SlowEntry>,
    now_ms: i64,
}

impl DbLogWatch {
    /// A watch with these thresholds, sizing exports with what scans know (`sizes`).
    pub fn new(config: AnomalyConfig, sizes: SizeHints) -> Self {
        DbLogWatch {
            config,
            sizes,
            rows: HashMap::new(),
            sessions: HashMap::new(),
            current: String::new(),
            pending: Vec::new(),
            dumps: HashMap::new(),
            plan: None,
            slow: None,
            now_ms: i64::MIN,
        }
    }

    fn info(&self) -> SessionInfo {
        self.sessions.get(&self.current).cloned().unwrap_or_default()
    }

    /// Reads who, where and which session a line names.
    fn note_session(&mut self, line: &[u8]) {
        let head = &line[..line.len().min(512)];
        if let Some(c) = SESSION.captures(head) {
            let id = c.get(1).or(c.get(2)).or(c.get(3)).map(|m| String::from_utf8_lossy(m.as_bytes()).into_owned()).unwrap_or_default();
            self.current = id;
        }
        let (mut actor, mut database) = (None, None);
        if let Some(c) = USER_AT_DB.captures(head) {
            actor = Some(String::from_utf8_lossy(&c[1]).into_owned());
            database = Some(String::from_utf8_lossy(&c[2]).into_owned());
        } else if let Some(c) = ACTOR.captures(head) {
            actor = Some(String::from_utf8_lossy(&c[1]).into_owned());
        }
        if let Some(c) = DB.captures(head) {
            database = Some(String::from_utf8_lossy(&c[1]).trim_end_matches([';', '`']).to_string());
        }
        if actor.is_none() && database.is_none() && self.sessions.contains_key(&self.current) {
            return;
        }
        if self.sessions.len() >= MAX_SESSIONS && !self.sessions.contains_key(&self.current) {
            self.sessions.clear(); // bounded memory: forget everyone rather than grow forever
        }
        let s = self.sessions.entry(self.current.clone()).or_default();
        if actor.is_some() {
            s.actor = actor;
        }
        if database.is_some() {
            s.database = database;
        }
    }

    /// Looks at one line at event time `t_ms` (`origin`: the line itself).
    pub fn line(&mut self, line: &[u8], t_ms: i64, origin: Origin, out: &mut Vec<Anomaly>) {
        self.advance(t_ms, out);
        let continuation = line.first().is_some_and(|b| *b == b' ' || *b == b'\t');
        let trimmed = line.trim_ascii_start();
        if trimmed.starts_with(b"# ") {
            // MySQL slow-log header: a new entry begins; the last one had no statement line.
            if trimmed.starts_with(b"# Time:") || trimmed.starts_with(b"# User@Host:") {
                self.finish_slow(None, out);
            }
            if !trimmed.starts_with(b"# Time:") {
                self.note_session(line);
            }
            if let Some(c) = ROWS_SENT.captures(trimmed)
                && let Some(n) = std::str::from_utf8(&c[1]).ok().and_then(|s| s.parse().ok())
            {
                self.slow = Some(SlowEntry { rows: n, t_ms, origin });
            }
            return;
        }
        if !continuation {
            self.note_session(line);
        }
        if trimmed.starts_with(b"SET timestamp=") || trimmed.starts_with(b"use ") {
            return;
        }
        if let Some(m) = DUMP_TOOL.find(line) {
            let tool = String::from_utf8_lossy(m.as_bytes()).to_ascii_lowercase();
            let tool = if tool.starts_with("select") { "mysqldump".to_string() } else { tool };
            // The tables it copies: pg_dump's `COPY … TO stdout`, mysqldump's `SELECT … FROM`.
            let table = match statement::copy_to(line) {
                Some(e) => e.table,
                None if tool == "mysqldump" => statement::from_table(&String::from_utf8_lossy(&line[m.start()..line.len().min(m.start() + 4096)])),
                None => None,
            };
            self.dump(tool, table, t_ms, origin, out);
            self.slow = None;
            return; // the statements of a dump session are the dump, not separate exports
        }
        if let Some(n) = statement::copy_tag(line) {
            self.result(SizeMethod::CopyResultRows, n, t_ms, out);
            return;
        }
        if !continuation && line.windows(5).any(|w| w.eq_ignore_ascii_case(b"plan:")) {
            self.plan = Some((None, true));
            return;
        }
        if continuation
            && let Some(at) = find(trimmed, b"Query Text:")
            && let Some((table, _)) = &mut self.plan
        {
            *table = statement::from_table(&String::from_utf8_lossy(&trimmed[at + 11..]));
        }
        if let Some((table, awaiting)) = self.plan.as_mut()
            && *awaiting
            && let Some(n) = plan_rows(trimmed)
        {
            *awaiting = false;
            let table = table.clone();
            if self.pending.iter().any(|p| p.session == self.current) {
                self.result(SizeMethod::AutoExplainRows, n, t_ms, out);
            } else {
                self.bulk_read(n, table, SizeMethod::AutoExplainRows, t_ms, origin, out);
            }
            return;
        }
        if let Some(e) = statement::copy_to(line).or_else(|| statement::into_outfile(line)) {
            if e.aggregate {
                return; // one row of figures: not reported
            }
            self.export(e, t_ms, origin, out);
            return;
        }
        if continuation {
            return;
        }
        if let Some(slow) = self.slow.take() {
            // The statement of a slow-log entry.
            let table = statement::from_table(&String::from_utf8_lossy(&trimmed[..trimmed.len().min(4096)]));
            self.slow = Some(slow);
            self.finish_slow(table, out);
            return;
        }
        // Any other statement of the session: its pending export is done.
        if is_statement(line) {
            self.complete(|p, current| p.session == current, out);
        }
    }

    /// A `COPY … TO` or `INTO OUTFILE` statement: reported once its result is known.
    fn export(&mut self, e: Export, t_ms: i64, origin: Origin, out: &mut Vec<Anomaly>) {
        let info = self.info();
        let mut event = ExportEvent::new(e.kind, t_ms);
        event.statement = Some(e.statement.to_string());
        event.database = info.database.clone();
        event.table = e.table.clone();
        event.destination = Some(e.destination.clone());
        event.aggregate = Some(false);
        let what = match (&e.table, e.kind) {
            (Some(t), "copy") => format!("COPY {t} TO {}", shown(&e.destination)),
            (None, "copy") => format!("COPY (query) TO {}", shown(&e.destination)),
            (t, _) => format!("{} {} FROM {}", e.statement.replace(" …", ""), shown(&e.destination), t.as_deref().unwrap_or("(query)")),
        };
        let detail = match &info.database {
            Some(db) => format!("{what} in database {db}"),
            None => what,
        };
        // The same statement again (the Query Text of its plan): already waiting.
        if self
            .pending
            .iter()
            .any(|p| p.session == self.current && p.anomaly.event.as_ref().is_some_and(|x| x.table == event.table && x.destination == event.destination))
        {
            return;
        }
        self.complete(|p, current| p.session == current, out);
        let confidence = if e.kind == "copy" { 0.8 } else { 0.85 };
        let a = Anomaly::new("db_export_statement", 1, None, 1.0, info.actor, detail, confidence).with_event(event).at(origin);
        if e.kind == "outfile"
            && let Some(slow) = self.slow.take()
        {
            let mut a = a;
            if let Some(ev) = a.event.as_mut() {
                ev.size(slow.rows, SizeMethod::SlowLogRows);
            }
            self.emit(a, out);
            return;
        }
        if self.pending.len() >= MAX_PENDING {
            self.complete(|_, _| true, out);
        }
        self.pending.push(Pending { session: self.current.clone(), anomaly: a, deadline_ms: t_ms + (self.config.window_s * 1000) as i64 });
    }

    /// A result (`COPY n`, a plan's rows) for the current session's pending export (or the
    /// latest one when the line names no session).
    fn result(&mut self, method: SizeMethod, n: u64, t_ms: i64, out: &mut Vec<Anomaly>) {
        let i = self.pending.iter().rposition(|p| p.session == self.current).or_else(|| self.pending.len().checked_sub(1));
        let Some(i) = i else { return };
        let mut p = self.pending.remove(i);
        if let Some(ev) = p.anomaly.event.as_mut() {
            ev.size(n, method);
            ev.end_ms = ev.end_ms.max(t_ms);
        }
        self.emit(p.anomaly, out);
    }

    /// Reports the pending exports `done` selects (given the current session).
    fn complete(&mut self, done: impl Fn(&Pending, &str) -> bool, out: &mut Vec<Anomaly>) {
        let current = self.current.clone();
        let (finished, kept): (Vec<Pending>, Vec<Pending>) = std::mem::take(&mut self.pending).into_iter().partition(|p| done(p, &current));
        self.pending = kept;
        for p in finished {
            self.emit(p.anomaly, out);
        }
    }

    /// Sizes an export from what scans know when its log did not say, and reports it.
    fn emit(&self, mut a: Anomaly, out: &mut Vec<Anomaly>) {
        if let Some(ev) = a.event.as_mut() {
            if let Some(n) = ev.destination.as_deref().and_then(|d| self.sizes.file_rows(d)) {
                ev.size(n, SizeMethod::FileRows);
            }
            if let Some(n) = ev.table.as_deref().and_then(|t| self.sizes.table_rows(ev.database.as_deref(), t)) {
                ev.size(n, SizeMethod::TableEstimatedRows);
            }
            if let Some((n, method)) = ev.records {
                a.detail = format!("{}: {n} rows ({})", a.detail, method.as_str());
            }
        }
        out.push(a);
    }

    /// A statement of a dump tool's session: the first one is reported at once (a dump of a
    /// large database takes long; the DPO should not wait for its end), the end with what it
    /// copied.
    fn dump(&mut self, tool: String, table: Option<String>, t_ms: i64, origin: Origin, out: &mut Vec<Anomaly>) {
        let info = self.info();
        let key = (info.actor.clone().unwrap_or_default(), tool.clone());
        if !self.dumps.contains_key(&key) {
            if self.dumps.len() >= MAX_DUMPS {
                return;
            }
            let d = DumpSession { tool, database: info.database.clone(), start_ms: t_ms, end_ms: t_ms, tables: BTreeSet::new() };
            out.push(self.dump_anomaly(&d, info.actor.clone(), origin));
            self.dumps.insert(key.clone(), d);
        }
        let Some(d) = self.dumps.get_mut(&key) else { return };
        d.end_ms = d.end_ms.max(t_ms);
        if d.database.is_none() {
            d.database = info.database;
        }
        if let Some(t) = table
            && d.tables.len() < MAX_DUMP_TABLES
        {
            d.tables.insert(t);
        }
    }

    /// The anomaly of a dump session as far as it went.
    fn dump_anomaly(&self, d: &DumpSession, actor: Option<String>, origin: Origin) -> Anomaly {
        let mut event = ExportEvent::new("dump", d.start_ms);
        event.end_ms = d.end_ms;
        event.statement = Some(d.tool.clone());
        event.database = d.database.clone();
        let known: Vec<u64> = d.tables.iter().filter_map(|t| self.sizes.table_rows(d.database.as_deref(), t)).collect();
        if !known.is_empty() {
            event.size(known.iter().sum(), SizeMethod::TableEstimatedRows);
        } else if d.tables.is_empty()
            && let Some(n) = d.database.as_deref().and_then(|db| self.sizes.database_rows(db))
        {
            event.size(n, SizeMethod::TableEstimatedRows);
        }
        let mut detail = match &d.database {
            Some(db) => format!("{} {db}", d.tool),
            None => format!("{} session", d.tool),
        };
        if !d.tables.is_empty() {
            detail.push_str(&format!(": {} tables", d.tables.len()));
        }
        if let Some((n, _)) = event.records {
            detail.push_str(&format!(", about {n} rows"));
        }
        Anomaly::new("dump_command", 1, None, 1.0, actor, detail, 0.9).with_event(event).at(origin)
    }

    /// Ends the dump sessions `done` selects, reporting the end of those that went on after
    /// their first statement.
    fn end_dumps(&mut self, done: impl Fn(&DumpSession) -> bool, out: &mut Vec<Anomaly>) {
        let mut ended: Vec<(String, String)> = self.dumps.iter().filter(|(_, d)| done(d)).map(|(k, _)| k.clone()).collect();
        ended.sort();
        for key in ended {
            let Some(d) = self.dumps.remove(&key) else { continue };
            if d.tables.is_empty() && d.end_ms == d.start_ms {
                continue; // nothing more than its first report said
            }
            let actor = (!key.0.is_empty()).then_some(key.0);
            out.push(self.dump_anomaly(&d, actor, Origin::EventEnd { start_ms: d.start_ms }));
        }
    }

    /// Judges the slow-log entry read last, now that its statement is known (or not).
    fn finish_slow(&mut self, table: Option<String>, out: &mut Vec<Anomaly>) {
        if let Some(s) = self.slow.take() {
            self.bulk_read(s.rows, table, SizeMethod::SlowLogRows, s.t_ms, s.origin, out);
        }
    }

    /// A statement returned `n` rows: a bulk read when far above the actor's usual.
    fn bulk_read(&mut self, n: u64, table: Option<String>, method: SizeMethod, t_ms: i64, origin: Origin, out: &mut Vec<Anomaly>) {
        let info = self.info();
        let key = info.actor.clone().unwrap_or_default();
        if self.rows.len() > 10_000 && !self.rows.contains_key(&key) {
            self.rows.clear(); // bounded memory: forget everyone rather than grow forever
        }
        let cfg = &self.config;
        let b = self.rows.entry(key).or_insert_with(|| Baseline::new(cfg.history, cfg.warmup));
        let verdict = b.threshold(cfg.sensitivity);
        let fire = match verdict {
            _ if n >= cfg.bulk_rows_absolute => true,
            Some((_, t)) => n as f64 > t && n >= cfg.bulk_rows_min,
            None => false,
        };
        b.push(n as f64);
        if !fire {
            return;
        }
        let (baseline, threshold) = match verdict {
            Some((m, t)) => (Some(m), t.max(cfg.bulk_rows_min as f64).min(cfg.bulk_rows_absolute as f64)),
            None => (None, cfg.bulk_rows_absolute as f64),
        };
        let mut event = ExportEvent::new("read", t_ms);
        event.statement = Some("SELECT".into());
        event.database = info.database;
        event.table = table;
        event.size(n, method);
        let detail = format!("{n} rows returned by one statement{}", event.table.as_deref().map(|t| format!(" on {t}")).unwrap_or_default());
        out.push(Anomaly::new("bulk_read", n, baseline, threshold, info.actor, detail, 0.7).with_event(event).at(origin));
    }

    /// Moves the clock to `t_ms`: exports waiting longer than a window are reported as they
    /// are, dump sessions quiet for `event_gap_s` end.
    pub fn advance(&mut self, t_ms: i64, out: &mut Vec<Anomaly>) {
        self.now_ms = self.now_ms.max(t_ms);
        let now = self.now_ms;
        if self.pending.iter().any(|p| p.deadline_ms < now) {
            self.complete(|p, _| p.deadline_ms < now, out);
        }
        let gap = (self.config.event_gap_s * 1000) as i64;
        if self.dumps.values().any(|d| d.end_ms + gap < now) {
            self.end_dumps(|d| d.end_ms + gap < now, out);
        }
    }

    /// Reports everything still open (end of a scan, a quiet live log).
    pub fn flush(&mut self, out: &mut Vec<Anomaly>) {
        self.finish_slow(None, out);
        self.complete(|_, _| true, out);
        self.end_dumps(|_| true, out);
        self.plan = None;
    }
}

/// A destination as the detail shows it: a path quoted, `STDOUT` and programs as they are.
fn shown(destination: &str) -> String {
    if destination == "STDOUT" || destination.starts_with("PROGRAM ") { destination.to_string() } else { format!("'{destination}'") }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The rows of a plan line: the actual rows when the plan was analysed, else the estimate.
fn plan_rows(line: &[u8]) -> Option<u64> {
    let c = PLAN_ACTUAL_ROWS.captures(line).or_else(|| PLAN_ROWS.captures(line))?;
    std::str::from_utf8(c.get(1).or(c.get(2))?.as_bytes()).ok()?.parse().ok()
}

/// True for a line that logs a statement (PostgreSQL `statement:`/`execute`, MySQL `Query`).
fn is_statement(line: &[u8]) -> bool {
    let head = &line[..line.len().min(512)];
    find(head, b"statement: ").is_some() || find(head, b"execute ").is_some() || find(head, b" Query\t").is_some() || find(head, b"\tQuery\t").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lines: &[&str]) -> Vec<Anomaly> {
        run_with(lines, SizeHints::default())
    }

    fn run_with(lines: &[&str], sizes: SizeHints) -> Vec<Anomaly> {
        let mut w = DbLogWatch::new(AnomalyConfig::default(), sizes);
        let mut clock = super::super::clock::LineClock::default();
        let mut out = Vec::new();
        let mut offset = 0;
        for (i, l) in lines.iter().enumerate() {
            let t = clock.time(l.as_bytes(), 1_000 * i as i64);
            w.line(l.as_bytes(), t, Origin::Line { number: i as u64 + 1, offset }, &mut out);
            offset += l.len() as u64 + 1;
        }
        w.flush(&mut out);
        out
    }

    const ORDINARY: &[&str] = &[
        "2026-11-20 10:00:01 UTC [311] user=app@shop LOG:  statement: SELECT id, email FROM customers WHERE id = 42",
        "2026-11-20 10:00:02 UTC [311] user=app@shop LOG:  statement: UPDATE orders SET status = 'paid' WHERE id = 7",
        "2026-11-20 10:00:03 UTC [312] user=etl@shop LOG:  statement: COPY staging_orders FROM STDIN WITH (FORMAT csv)",
        "2026-11-20 10:00:04 UTC [313] user=app@shop LOG:  statement: SELECT 'copy to clipboard' AS label",
        "2026-11-20 10:00:05 UTC [314] user=report@shop LOG:  statement: COPY (SELECT count(*) FROM customers) TO STDOUT",
    ];

    #[test]
    fn ordinary_statements_imports_and_aggregates_are_quiet() {
        assert_eq!(run(ORDINARY), vec![]);
    }

    #[test]
    fn a_copy_names_its_table_destination_database_actor_and_event_time() {
        let out = run(&[
            ORDINARY[0],
            "2026-11-20 23:41:07 UTC [902] user=jdoe@shop LOG:  statement: COPY (SELECT * FROM shop.customers) TO '/tmp/c.csv' WITH CSV HEADER",
            "2026-11-20 23:42:00.250 UTC [903] jdoe@shop LOG:  statement: copy public.customers to stdout",
        ]);
        assert_eq!(out.len(), 2, "{out:?}");
        assert_eq!(out[0].heuristic, "db_export_statement");
        assert_eq!(out[0].detail, "COPY shop.customers TO '/tmp/c.csv' in database shop");
        assert_eq!(out[0].actor.as_deref(), Some("jdoe"));
        assert_eq!(out[0].origin, Origin::Line { number: 2, offset: ORDINARY[0].len() as u64 + 1 });
        let e = out[0].event.as_ref().unwrap();
        assert_eq!(e.signature(out[0].actor.as_deref()), "copy|db=shop|table=shop.customers|to=/tmp/c.csv|actor=jdoe");
        assert_eq!((e.start_ms, e.statement.as_deref(), e.records, e.aggregate), (1_795_218_067_000, Some("COPY … TO"), None, Some(false)));
        assert_eq!(out[1].detail, "COPY public.customers TO STDOUT in database shop");
        assert_eq!(out[1].event.as_ref().unwrap().start_ms, 1_795_218_120_250);
    }

    #[test]
    fn an_export_is_sized_by_its_result_its_plan_or_what_scans_know() {
        let tag = run(&[
            "2026-11-20 23:41:07 UTC [902] user=jdoe@shop LOG:  statement: COPY shop.customers TO '/tmp/customers.csv' CSV",
            "2026-11-20 23:41:08 UTC [902] user=jdoe@shop LOG:  COPY 19874",
        ]);
        assert_eq!(tag.len(), 1, "{tag:?}");
        let e = tag[0].event.as_ref().unwrap();
        assert_eq!((e.records, e.end_ms - e.start_ms), (Some((19_874, SizeMethod::CopyResultRows)), 1000));
        let plan = run(&[
            "2026-11-20 23:41:07 UTC [902] user=jdoe@shop LOG:  statement: COPY (SELECT * FROM customers) TO STDOUT",
            "2026-11-20 23:41:08 UTC [902] user=jdoe@shop LOG:  duration: 52.110 ms  plan:",
            "\tQuery Text: COPY (SELECT * FROM customers) TO STDOUT",
            "\tSeq Scan on customers  (cost=0.00..431.00 rows=20000 width=80) (actual time=0.010..5.320 rows=19990 loops=1)",
        ]);
        assert_eq!(plan.len(), 1, "{plan:?}");
        assert_eq!(plan[0].event.as_ref().unwrap().records, Some((19_990, SizeMethod::AutoExplainRows)));
        let sizes = SizeHints::default();
        sizes.record_table("shop", "shop.customers", 20_000);
        let scanned = run_with(&["2026-11-20 23:41:07 UTC [902] user=jdoe@shop LOG:  statement: COPY customers TO '/tmp/x.csv'"], sizes.clone());
        assert_eq!(scanned[0].event.as_ref().unwrap().records, Some((20_000, SizeMethod::TableEstimatedRows)));
        sizes.record_file(std::path::Path::new("/tmp/x.csv"), 19_999);
        let file = run_with(&["2026-11-20 23:41:07 UTC [902] user=jdoe@shop LOG:  statement: COPY customers TO '/tmp/x.csv'"], sizes);
        assert_eq!(file[0].event.as_ref().unwrap().records, Some((19_999, SizeMethod::FileRows)));
        assert!(file[0].detail.ends_with(": 19999 rows (file_rows)"), "{}", file[0].detail);
    }

    #[test]
    fn mysql_into_outfile_is_an_export_statement_sized_by_its_slow_log_entry() {
        let out = run(&["2026-11-20T23:41:07.123456Z    42 Query\tSELECT * FROM customers INTO OUTFILE '/var/lib/mysql-files/c.csv'"]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].detail, "SELECT INTO OUTFILE '/var/lib/mysql-files/c.csv' FROM customers");
        let slow = run(&[
            "# Time: 2026-11-20T23:41:07.123456Z",
            "# User@Host: crm[crm] @ app1 [10.0.0.5]  Id: 12",
            "# Query_time: 2.1  Lock_time: 0.00 Rows_sent: 48000  Rows_examined: 48000",
            "use shop;",
            "SET timestamp=1795218067;",
            "SELECT * FROM customers INTO OUTFILE '/tmp/c.csv';",
        ]);
        let exports: Vec<_> = slow.iter().filter(|a| a.heuristic == "db_export_statement").collect();
        assert_eq!(exports.len(), 1, "{slow:?}");
        let e = exports[0].event.as_ref().unwrap();
        assert_eq!((e.records, e.database.as_deref(), exports[0].actor.as_deref()), (Some((48_000, SizeMethod::SlowLogRows)), Some("shop"), Some("crm")));
    }

    #[test]
    fn a_dump_session_is_reported_at_its_start_and_at_its_end_with_its_tables_not_per_statement() {
        let sizes = SizeHints::default();
        sizes.record_table("shop", "public.customers", 20_000);
        sizes.record_table("shop", "public.orders", 50_000);
        sizes.record_table("shop", "public.audit", 1);
        let out = run_with(
            &[
                "2026-11-20 02:00:00 UTC [77] user=backup@shop app=pg_dump LOG:  statement: SET search_path = ''",
                "2026-11-20 02:00:00 UTC [77] user=backup@shop app=pg_dump LOG:  statement: COPY public.customers (id, email) TO stdout;",
                "2026-11-20 02:00:01 UTC [77] user=backup@shop app=pg_dump LOG:  statement: COPY public.orders (id) TO stdout;",
            ],
            sizes,
        );
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(out.iter().all(|a| a.heuristic == "dump_command" && a.actor.as_deref() == Some("backup")));
        assert_eq!(out[0].detail, "pg_dump shop, about 70001 rows", "at once: the database as scanned");
        assert_eq!(out[0].origin, Origin::Line { number: 1, offset: 0 });
        assert_eq!(out[1].detail, "pg_dump shop: 2 tables, about 70000 rows", "at its end: what it copied");
        let e = out[1].event.as_ref().unwrap();
        assert_eq!(e.signature(out[1].actor.as_deref()), out[0].event.as_ref().unwrap().signature(out[0].actor.as_deref()), "one event");
        assert_eq!(e.signature(out[1].actor.as_deref()), "dump|db=shop|actor=backup");
        assert_eq!((e.records, e.end_ms - e.start_ms), (Some((70_000, SizeMethod::TableEstimatedRows)), 1000));
        let my = run(&["2026-11-20T02:00:00Z   9 Query\tSELECT /*!40001 SQL_NO_CACHE */ * FROM `customers`"]);
        assert_eq!(my.iter().map(|a| a.detail.as_str()).collect::<Vec<_>>(), vec!["mysqldump session", "mysqldump session: 1 tables"]);
    }

    #[test]
    fn a_read_far_above_the_actors_usual_row_count_is_a_bulk_read() {
        let mut lines = Vec::new();
        for i in 0..40 {
            lines.push("# User@Host: crm[crm] @ app1 [10.0.0.5]".to_string());
            lines.push(format!("# Query_time: 0.01  Lock_time: 0.00 Rows_sent: {}  Rows_examined: 900", 20 + i % 30));
            lines.push("SELECT * FROM orders WHERE customer_id = 7;".to_string());
        }
        let ordinary: Vec<&str> = lines.iter().map(String::as_str).collect();
        assert_eq!(run(&ordinary), vec![], "usual reads are quiet");
        let mut with_bulk = ordinary.clone();
        with_bulk.push("# User@Host: crm[crm] @ app1 [10.0.0.5]");
        with_bulk.push("# Query_time: 9.81  Lock_time: 0.00 Rows_sent: 480000  Rows_examined: 480000");
        with_bulk.push("SELECT * FROM customers;");
        let out = run(&with_bulk);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!((out[0].heuristic, out[0].observed, out[0].actor.as_deref()), ("bulk_read", 480_000, Some("crm")));
        assert!(out[0].baseline.is_some_and(|b| b < 60.0));
        let e = out[0].event.as_ref().unwrap();
        assert_eq!((e.table.as_deref(), e.records), (Some("customers"), Some((480_000, SizeMethod::SlowLogRows))));
    }
}
