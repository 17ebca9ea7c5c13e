//! Which heuristics suit a log, from its first lines (`custos-agent scan --detect auto`).
//!
//! A security team handed a directory of old logs after a suspected breach should not have to
//! say which file is which: web access logs (common or combined format), PostgreSQL server
//! logs (`LOG:  statement:`, `duration:`, `plan:` after a `log_line_prefix`), and MySQL general
//! and slow logs (`Query`, `Connect`, `# User@Host:`) are recognised when at least a fifth of
//! the sample's lines look like one; `finding_rate` is added for any log whose lines carry a
//! time ([`super::event_time`]).

use super::access::is_access_line;
use super::event_time::line_time_ms;
use crate::config::LogDetect;

fn contains(line: &[u8], needle: &[u8]) -> bool {
    line.windows(needle.len()).any(|w| w == needle)
}

fn is_postgres(line: &[u8]) -> bool {
    [&b"LOG:  "[..], b"STATEMENT:  ", b"ERROR:  ", b"FATAL:  ", b"DETAIL:  "].iter().any(|m| contains(line, m))
}

fn is_mysql(line: &[u8]) -> bool {
    [&b"\tQuery\t"[..], b" Query\t", b"\tConnect\t", b" Connect\t", b"# User@Host:", b"# Query_time:", b"Init DB\t"].iter().any(|m| contains(line, m))
}

/// The heuristics that suit a log whose first lines are `sample` (empty: none does).
pub fn recognise(sample: &[&[u8]], now_ms: i64) -> Vec<LogDetect> {
    let lines: Vec<&[u8]> = sample.iter().copied().filter(|l| !l.trim_ascii().is_empty()).take(200).collect();
    if lines.is_empty() {
        return Vec::new();
    }
    let enough = |n: usize| n > 0 && n * 5 >= lines.len();
    let count = |f: fn(&[u8]) -> bool| lines.iter().filter(|l| f(l)).count();
    let mut out = Vec::new();
    if enough(count(is_access_line)) {
        out.push(LogDetect::AccessLog);
    }
    if enough(count(is_postgres)) {
        out.push(LogDetect::Postgres);
    } else if enough(count(is_mysql)) {
        out.push(LogDetect::Mysql);
    }
    if lines.iter().any(|l| line_time_ms(l, now_ms).is_some()) {
        out.push(LogDetect::FindingRate);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_database_and_plain_logs_are_told_apart() {
        let now = 1_796_000_000_000;
        let access: &[u8] = b"203.0.113.9 - - [20/Nov/2026:10:00:01 +0000] \"GET /api/customers?page=1 HTTP/1.1\" 200 61000 \"-\" \"curl/8\"";
        assert_eq!(recognise(&[access, access], now), vec![LogDetect::AccessLog, LogDetect::FindingRate]);
        let pg: &[u8] = b"2026-11-20 23:41:07 UTC [902] user=jdoe@shop LOG:  statement: COPY customers TO '/tmp/x.csv'";
        assert_eq!(recognise(&[pg, b"\tQuery Text: x"], now), vec![LogDetect::Postgres, LogDetect::FindingRate]);
        let my: &[u8] = b"2026-11-20T23:41:07.123456Z    42 Query\tSELECT 1";
        assert_eq!(recognise(&[my], now), vec![LogDetect::Mysql, LogDetect::FindingRate]);
        assert_eq!(recognise(&[&b"just some text"[..], b"and more"], now), vec![]);
        assert_eq!(recognise(&[], now), vec![]);
    }
}
