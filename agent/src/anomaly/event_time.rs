//! Event time: when a log line says it happened.
//!
//! Anomaly windows count lines by their own time, not by when the agent read them: the same
//! access log read a week after a scrape must show the scrape. Recognised, at the start of a
//! line (JSON keys anywhere in its first 4 KiB):
//!
//! | format | example |
//! |---|---|
//! | nginx / Apache combined and common | `[20/Nov/2026:10:00:00 +0100]` |
//! | PostgreSQL `log_line_prefix` `%t`, `%m` | `2026-11-20 10:00:01 UTC`, `2026-11-20 10:00:01.123 CET` |
//! | MySQL general and slow logs | `2026-11-20T23:41:07.123456Z`, `201120 23:41:07`, `# Time: …`, `SET timestamp=1795218067;` |
//! | syslog RFC 5424 / RFC 3164 | `<34>1 2026-11-20T23:41:07.003Z …`, `Nov 20 23:41:07 host …` (year: the latest not in the future) |
//! | ISO 8601 | `2026-11-20T10:00:00+01:00`, `2026-11-20 10:00:00,123` |
//! | JSON | `"time"`, `"@timestamp"`, `"ts"`, `"timestamp"`: ISO text, or epoch seconds or milliseconds |
//!
//! A time without a zone is UTC; time-zone abbreviations that are not known are taken as UTC.

use regex::bytes::{Captures, Regex};
use std::sync::LazyLock;

static ISO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u)(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(?: ?(Z|[+-]\d{2}(?::?\d{2})?|[A-Z]{3,5})\b)?").expect("static regex")
});
static CLF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u)\[(\d{2})/([A-Za-z]{3})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-]\d{2})(\d{2})\]").expect("static regex"));
static SYSLOG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u)^(?:<\d{1,3}>)?([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2})\b").expect("static regex"));
static MYSQL_OLD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u)^(?:# Time: )?(\d{2})(\d{2})(\d{2}) {1,2}(\d{1,2}):(\d{2}):(\d{2})\b").expect("static regex"));
static SET_TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?-u)^SET timestamp=(\d{9,11});").expect("static regex"));
static JSON_TIME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?-u)"(?:@timestamp|time|ts|timestamp)"\s*:\s*(?:"([^"]{1,64})"|(\d{9,16}(?:\.\d{1,9})?))"#).expect("static regex"));

/// How far into a line a timestamp is looked for (JSON keys: [`JSON_HEAD`]).
const HEAD: usize = 96;
/// How far into a JSON line its time keys are looked for.
const JSON_HEAD: usize = 4096;

const MONTHS: [&[u8]; 12] = [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];

/// The time `line` says it was written, ms since the epoch, if it says one. `now_ms` gives the
/// year to formats without one (syslog RFC 3164).
pub fn line_time_ms(line: &[u8], now_ms: i64) -> Option<i64> {
    let start = line.iter().take(HEAD).position(|b| !b.is_ascii_whitespace())?;
    let line = &line[start..];
    if line[0] == b'{' {
        return json_time(&line[..line.len().min(JSON_HEAD)]);
    }
    let head = &line[..line.len().min(HEAD)];
    if let Some(c) = SET_TIMESTAMP.captures(head) {
        return Some(num(&c[1])? * 1000);
    }
    if let Some(c) = CLF.captures(head) {
        let month = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(&c[2]))? as i64 + 1;
        let offset_min = {
            let h = num(&c[7])?;
            let m = num(&c[8])?;
            if h < 0 { h * 60 - m } else { h * 60 + m }
        };
        return at(num(&c[3])?, month, num(&c[1])?, num(&c[4])?, num(&c[5])?, num(&c[6])?, 0, offset_min);
    }
    if let Some(c) = ISO.captures(head) {
        return iso(&c);
    }
    if let Some(c) = MYSQL_OLD.captures(head) {
        return at(2000 + num(&c[1])?, num(&c[2])?, num(&c[3])?, num(&c[4])?, num(&c[5])?, num(&c[6])?, 0, 0);
    }
    if let Some(c) = SYSLOG.captures(head) {
        let month = MONTHS.iter().position(|m| *m == &c[1])? as i64 + 1;
        let (d, h, mi, s) = (num(&c[2])?, num(&c[3])?, num(&c[4])?, num(&c[5])?);
        let year = 1970 + now_ms.div_euclid(86_400_000 * 1461 / 4) + 1; // at most a year ahead
        // The latest year in which the date is not more than a day in the future.
        return (year - 2..=year).rev().filter_map(|y| at(y, month, d, h, mi, s, 0, 0)).find(|&t| t <= now_ms + 86_400_000);
    }
    None
}

/// An ISO 8601 timestamp written alone (a JSON value), ms since the epoch.
pub fn iso_ms(text: &[u8]) -> Option<i64> {
    let c = ISO.captures(text)?;
    (c.get(0)?.start() == 0).then_some(())?;
    iso(&c)
}

fn json_time(line: &[u8]) -> Option<i64> {
    let c = JSON_TIME.captures(line)?;
    if let Some(text) = c.get(1) {
        let text = text.as_bytes();
        return iso_ms(text).or_else(|| epoch(std::str::from_utf8(text).ok()?));
    }
    epoch(std::str::from_utf8(c.get(2)?.as_bytes()).ok()?)
}

/// Epoch seconds (with a fraction) or milliseconds, between 2001 and 2100.
fn epoch(text: &str) -> Option<i64> {
    let x: f64 = text.parse().ok()?;
    const LOW: f64 = 978_307_200.0;
    const HIGH: f64 = 4_102_444_800.0;
    if (LOW..HIGH).contains(&x) {
        Some((x * 1000.0).round() as i64)
    } else if (LOW * 1000.0..HIGH * 1000.0).contains(&x) {
        Some(x.round() as i64)
    } else {
        None
    }
}

fn iso(c: &Captures<'_>) -> Option<i64> {
    let ms = c.get(7).map_or(Some(0), |f| {
        let digits = &f.as_bytes()[..f.as_bytes().len().min(3)];
        num(digits).map(|n| n * 10_i64.pow(3 - digits.len() as u32))
    })?;
    let offset_min = match c.get(8).map(|z| z.as_bytes()) {
        None | Some(b"Z") => 0,
        Some(z) if z[0] == b'+' || z[0] == b'-' => {
            let digits: Vec<u8> = z[1..].iter().copied().filter(u8::is_ascii_digit).collect();
            let h = num(&digits[..2])?;
            let m = if digits.len() >= 4 { num(&digits[2..4])? } else { 0 };
            let total = h * 60 + m;
            if z[0] == b'-' { -total } else { total }
        }
        Some(abbreviation) => zone_minutes(abbreviation),
    };
    at(num(&c[1])?, num(&c[2])?, num(&c[3])?, num(&c[4])?, num(&c[5])?, num(&c[6])?, ms, offset_min)
}

/// Offsets of common time-zone abbreviations (PostgreSQL writes `log_timezone`'s); unknown
/// ones are UTC.
fn zone_minutes(abbreviation: &[u8]) -> i64 {
    let hours = match abbreviation {
        b"CET" | b"WEST" | b"BST" => 1,
        b"CEST" | b"EET" | b"SAST" => 2,
        b"EEST" | b"MSK" => 3,
        b"EST" | b"CDT" => -5,
        b"EDT" => -4,
        b"CST" | b"MDT" => -6,
        b"MST" | b"PDT" => -7,
        b"PST" => -8,
        b"JST" | b"KST" => 9,
        _ => 0,
    };
    hours * 60
}

fn num(b: &[u8]) -> Option<i64> {
    std::str::from_utf8(b).ok()?.trim().parse().ok()
}

/// Days from 1970-01-01 to the date (proleptic Gregorian), after Howard Hinnant's algorithm.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The instant of a local time at `offset_min` minutes east of UTC, ms since the epoch, if the
/// fields make a date and a time.
#[allow(clippy::too_many_arguments)]
fn at(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64, ms: i64, offset_min: i64) -> Option<i64> {
    if !(1970..=2200).contains(&y) || !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    if days_from_civil(y, mo, 1) + 31 < days || (mo < 12 && days >= days_from_civil(y, mo + 1, 1)) {
        return None; // 31 November
    }
    Some(((days * 86_400 + h * 3600 + mi * 60 + s) - offset_min * 60) * 1000 + ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_000_000_000; // 2026-11-30
    const T: i64 = 1_795_168_801_000; // 2026-11-20T10:00:01Z

    #[test]
    fn the_formats_of_web_database_and_system_logs_give_the_same_instant() {
        for line in [
            &b"10.0.0.4 - - [20/Nov/2026:11:00:01 +0100] \"GET /products/3 HTTP/1.1\" 200 5120"[..],
            b"203.0.113.9 - - [20/Nov/2026:10:00:01 +0000] \"GET / HTTP/1.0\" 200 1",
            b"2026-11-20 10:00:01 UTC [311] user=app@shop LOG:  statement: SELECT 1",
            b"2026-11-20 11:00:01.000 CET [311] app@shop LOG:  statement: SELECT 1",
            b"2026-11-20T10:00:01.000000Z    42 Query\tSELECT 1",
            b"# Time: 261120 10:00:01",
            b"261120 10:00:01\t   42 Query\tSELECT 1",
            b"SET timestamp=1795168801;",
            b"<34>1 2026-11-20T12:00:01.000+02:00 host app - - - msg",
            b"Nov 20 10:00:01 host sshd[12]: Accepted",
            b"<13>Nov 20 10:00:01 host app: x",
            b"2026-11-20 05:00:01,000 INFO [main] started",
            b"{\"level\":\"info\",\"time\":\"2026-11-20T10:00:01Z\",\"msg\":\"x\"}",
            b"{\"@timestamp\":\"2026-11-20T11:00:01.000+01:00\"}",
            b"{\"ts\":1795168801.0,\"msg\":\"x\"}",
            b"  {\"msg\":\"x\",\"timestamp\":1795168801000}",
        ] {
            let got = line_time_ms(line, NOW);
            let want = if line.starts_with(b"2026-11-20 05:00:01,000") { Some(T - 5 * 3_600_000) } else { Some(T) };
            assert_eq!(got, want, "{}", String::from_utf8_lossy(line));
        }
        assert_eq!(line_time_ms(b"# Time: 2026-11-20T10:00:01.123456Z", NOW), Some(T + 123), "microseconds are cut to milliseconds");
        assert_eq!(line_time_ms(b"2026-11-20T10:00:01.25Z x", NOW), Some(T + 250));
    }

    #[test]
    fn lines_without_a_time_say_none_and_junk_never_panics() {
        for line in [
            &b""[..],
            b"   ",
            b"\tSeq Scan on customers  (cost=0.00..431.00 rows=20000 width=80)",
            b"2026-11-20 INFO login user=ann@example.fr",
            b"# User@Host: crm[crm] @ app1 [10.0.0.5]",
            b"{\"msg\":\"no time\"}",
            b"{\"time\":\"yesterday\"}",
            b"2026-13-45 99:99:99 UTC",
            b"2026-11-31 10:00:00 UTC",
            b"\xff\xfe\x00[99/Xyz/2026:10:00:00 +0100]",
        ] {
            assert_eq!(line_time_ms(line, NOW), None, "{}", String::from_utf8_lossy(line));
        }
        let mut junk = vec![0u8; 10_000];
        for (i, b) in junk.iter_mut().enumerate() {
            *b = (i * 7919 % 251) as u8;
        }
        let _ = line_time_ms(&junk, NOW);
    }

    #[test]
    fn a_syslog_date_without_a_year_is_never_in_the_future() {
        let jan_2027 = 1_798_848_000_000; // 2027-01-02
        let dec = line_time_ms(b"Dec 31 23:00:00 host x", jan_2027).unwrap();
        assert!(dec < jan_2027 && jan_2027 - dec < 3 * 86_400_000, "read in January, a December line is last year's");
        assert!(line_time_ms(b"Jan  1 23:00:00 host x", jan_2027).unwrap() < jan_2027);
    }
}
