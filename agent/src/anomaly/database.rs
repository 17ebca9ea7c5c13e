//! Database server logs (PostgreSQL, MySQL/MariaDB): export statements, dump sessions, bulk reads.
//!
//! What the logs say, and what is recognised:
//! - `COPY … TO STDOUT|'file'|PROGRAM` (PostgreSQL with `log_statement = 'all'` or `'mod'`):
//!   `db_export_statement`. `COPY … FROM` (an import) is not an export.
//! - `SELECT … INTO OUTFILE|DUMPFILE` (MySQL general log): `db_export_statement`.
//! - A `pg_dump` or `mysqldump` session — the application name in PostgreSQL's
//!   `log_line_prefix` (`%a`), the tool's name in MySQL's general log, or mysqldump's tell-tale
//!   `SELECT /*!40001 SQL_NO_CACHE */`: `dump_command`, once per actor per window (a dump is
//!   thousands of statements, one event).
//! - Row counts: MySQL's slow log `Rows_sent: N`, PostgreSQL `auto_explain` plans
//!   (`rows=N` of the top node): `bulk_read` when N is far above the actor's baseline of
//!   returned rows and at least `bulk_rows_min`, or at least `bulk_rows_absolute` regardless.
//!
//! The actor comes from `user=NAME` (`log_line_prefix` with `user=%u`) or MySQL's
//! `# User@Host: NAME[…]` header — never from the statement text, which may hold personal values.

use super::baseline::Baseline;
use super::signal::Anomaly;
use crate::config::AnomalyConfig;
use regex::bytes::Regex;
use std::collections::HashMap;
use std::sync::LazyLock;

static COPY_TO: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i-u)\bcopy\s+(?:\(|[a-z_\x22][\w.\x22]*).{0,4000}?\bto\s+(stdout|'|program\b|e')").expect("static regex"));
static INTO_OUTFILE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i-u)\binto\s+(outfile|dumpfile)\b").expect("static regex"));
static DUMP_TOOL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i-u)\b(pg_dump(?:all)?|mysqldump|mariadb-dump)\b|SELECT /\*!40001 SQL_NO_CACHE \*/").expect("static regex"));
static ROWS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i-u)\b(?:rows_sent:\s*|rows_sent=|rows=|rows:\s*)(\d{1,15})").expect("static regex"));
static ACTOR: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i-u)(?:\buser=|User@Host:\s*)([A-Za-z0-9_.\-]{1,64})").expect("static regex"));

/// Watches one database log.
pub struct DbLogWatch {
    config: AnomalyConfig,
    rows: HashMap<String, Baseline>,
    /// Last actor named (MySQL's slow log names it on a header line before the figures).
    last_actor: Option<String>,
    /// (heuristic, actor) → time last reported, to report a session once per window.
    reported: HashMap<(&'static str, String), i64>,
}

impl DbLogWatch {
    /// A watch with these thresholds.
    pub fn new(config: AnomalyConfig) -> Self {
        DbLogWatch { config, rows: HashMap::new(), last_actor: None, reported: HashMap::new() }
    }

    fn once_per_window(&mut self, heuristic: &'static str, actor: &Option<String>, now_s: i64) -> bool {
        let key = (heuristic, actor.clone().unwrap_or_default());
        let window = self.config.window_s as i64;
        match self.reported.get(&key) {
            Some(&t) if now_s - t < window => false,
            _ => {
                if self.reported.len() > 10_000 {
                    self.reported.retain(|_, t| now_s - *t < window);
                }
                self.reported.insert(key, now_s);
                true
            }
        }
    }

    /// Looks at one line.
    pub fn line(&mut self, line: &[u8], now_s: i64, out: &mut Vec<Anomaly>) {
        if let Some(c) = ACTOR.captures(line)
            && let Some(m) = c.get(1)
        {
            self.last_actor = Some(String::from_utf8_lossy(m.as_bytes()).into_owned());
        }
        let actor = self.last_actor.clone();
        if let Some(m) = DUMP_TOOL.find(line) {
            let tool = String::from_utf8_lossy(m.as_bytes()).to_ascii_lowercase();
            let tool = if tool.starts_with("select") { "mysqldump".to_string() } else { tool };
            if self.once_per_window("dump_command", &actor, now_s) {
                out.push(Anomaly {
                    heuristic: "dump_command",
                    observed: 1,
                    baseline: None,
                    threshold: 1.0,
                    actor,
                    detail: format!("{tool} session"),
                    confidence: 0.9,
                });
            }
            return; // the statements of a dump session are the dump, not separate exports
        }
        if let Some(c) = COPY_TO.captures(line) {
            let target = c.get(1).map(|m| String::from_utf8_lossy(m.as_bytes()).to_ascii_lowercase()).unwrap_or_default();
            let detail = match target.as_str() {
                "stdout" => "COPY TO STDOUT",
                "program" => "COPY TO PROGRAM",
                _ => "COPY TO file",
            };
            out.push(Anomaly { heuristic: "db_export_statement", observed: 1, baseline: None, threshold: 1.0, actor, detail: detail.into(), confidence: 0.8 });
            return;
        }
        if let Some(c) = INTO_OUTFILE.captures(line) {
            let kind = String::from_utf8_lossy(&c[1]).to_ascii_uppercase();
            out.push(Anomaly {
                heuristic: "db_export_statement",
                observed: 1,
                baseline: None,
                threshold: 1.0,
                actor,
                detail: format!("SELECT INTO {kind}"),
                confidence: 0.85,
            });
            return;
        }
        if let Some(c) = ROWS.captures(line) {
            let Some(n) = std::str::from_utf8(&c[1]).ok().and_then(|s| s.parse::<u64>().ok()) else { return };
            let key = actor.clone().unwrap_or_default();
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
            if fire {
                let (baseline, threshold) = match verdict {
                    Some((m, t)) => (Some(m), t.max(cfg.bulk_rows_min as f64).min(cfg.bulk_rows_absolute as f64)),
                    None => (None, cfg.bulk_rows_absolute as f64),
                };
                out.push(Anomaly {
                    heuristic: "bulk_read",
                    observed: n,
                    baseline,
                    threshold,
                    actor,
                    detail: "rows returned by one statement".into(),
                    confidence: 0.7,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lines: &[&str]) -> Vec<Anomaly> {
        let mut w = DbLogWatch::new(AnomalyConfig::default());
        let mut out = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            w.line(l.as_bytes(), i as i64, &mut out);
        }
        out
    }

    const ORDINARY: &[&str] = &[
        "2026-11-20 10:00:01 UTC [311] user=app@shop LOG:  statement: SELECT id, email FROM customers WHERE id = 42",
        "2026-11-20 10:00:02 UTC [311] user=app@shop LOG:  statement: UPDATE orders SET status = 'paid' WHERE id = 7",
        "2026-11-20 10:00:03 UTC [312] user=etl@shop LOG:  statement: COPY staging_orders FROM STDIN WITH (FORMAT csv)",
        "2026-11-20 10:00:04 UTC [313] user=app@shop LOG:  statement: SELECT 'copy to clipboard' AS label",
    ];

    #[test]
    fn ordinary_statements_and_imports_are_quiet() {
        assert_eq!(run(ORDINARY), vec![]);
    }

    #[test]
    fn copy_to_a_file_or_stdout_is_an_export_statement_with_its_actor() {
        let out = run(&[
            ORDINARY[0],
            "2026-11-20 23:41:07 UTC [902] user=jdoe@shop LOG:  statement: COPY (SELECT * FROM customers) TO '/tmp/c.csv' WITH CSV HEADER",
            "2026-11-20 23:42:00 UTC [903] user=jdoe@shop LOG:  statement: copy public.customers to stdout",
        ]);
        assert_eq!(out.len(), 2, "{out:?}");
        assert_eq!(out[0].heuristic, "db_export_statement");
        assert_eq!(out[0].detail, "COPY TO file");
        assert_eq!(out[0].actor.as_deref(), Some("jdoe"));
        assert_eq!(out[1].detail, "COPY TO STDOUT");
    }

    #[test]
    fn mysql_into_outfile_is_an_export_statement() {
        let out = run(&["2026-11-20T23:41:07.123456Z    42 Query\tSELECT * FROM customers INTO OUTFILE '/var/lib/mysql-files/c.csv'"]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].detail, "SELECT INTO OUTFILE");
    }

    #[test]
    fn a_dump_session_is_reported_once_not_per_statement() {
        let out = run(&[
            "2026-11-20 02:00:00 UTC [77] user=backup@shop app=pg_dump LOG:  statement: SET search_path = ''",
            "2026-11-20 02:00:00 UTC [77] user=backup@shop app=pg_dump LOG:  statement: COPY public.customers (id, email) TO stdout;",
            "2026-11-20 02:00:01 UTC [77] user=backup@shop app=pg_dump LOG:  statement: COPY public.orders (id) TO stdout;",
        ]);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!((out[0].heuristic, out[0].actor.as_deref(), out[0].detail.as_str()), ("dump_command", Some("backup"), "pg_dump session"));
        let my = run(&["2026-11-20T02:00:00Z   9 Query\tSELECT /*!40001 SQL_NO_CACHE */ * FROM `customers`"]);
        assert_eq!(my[0].detail, "mysqldump session");
    }

    #[test]
    fn a_read_far_above_the_actors_usual_row_count_is_a_bulk_read() {
        let mut lines = Vec::new();
        for i in 0..40 {
            lines.push("# User@Host: crm[crm] @ app1 [10.0.0.5]".to_string());
            lines.push(format!("# Query_time: 0.01  Lock_time: 0.00 Rows_sent: {}  Rows_examined: 900", 20 + i % 30));
        }
        let ordinary: Vec<&str> = lines.iter().map(String::as_str).collect();
        assert_eq!(run(&ordinary), vec![], "usual reads are quiet");
        let mut with_bulk = ordinary.clone();
        with_bulk.push("# User@Host: crm[crm] @ app1 [10.0.0.5]");
        with_bulk.push("# Query_time: 9.81  Lock_time: 0.00 Rows_sent: 480000  Rows_examined: 480000");
        let out = run(&with_bulk);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!((out[0].heuristic, out[0].observed, out[0].actor.as_deref()), ("bulk_read", 480_000, Some("crm")));
        assert!(out[0].baseline.is_some_and(|b| b < 60.0));
    }
}
