//! Reading one syslog message: RFC 5424, RFC 3164 (BSD), or neither.
//!
//! The parser is lenient (real senders bend both RFCs) and total: any bytes give a
//! [`Parsed`], never a panic, and nothing is allocated. What it cannot read as a header is left
//! in the text, which is scanned whole, so a malformed message still has its personal data
//! found.
//!
//! - **RFC 5424**: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD…] MSG`, each header field
//!   possibly the NILVALUE `-`; the structured data is part of the scanned text (its parameter
//!   values are where applications put user names and addresses); a UTF-8 BOM before MSG is
//!   dropped.
//! - **RFC 3164**: `<PRI>Mmm dd hh:mm:ss HOSTNAME TAG[PID]: MSG`, with or without the hostname
//!   (a local `logger` leaves it out): the token after the time is the tag when it ends with `:`
//!   or holds `[`. The time has no year and no zone: it is read as UTC in the current year, or
//!   the previous one when that would put it more than a day ahead (a December message read in
//!   January).
//!   rsyslog's forwarding format, the same with an RFC 3339 time, is read alike.
//! - Anything else (no `<PRI>`): the whole message is text, sender and application unknown.

/// Which grammar a message was read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// RFC 5424.
    Rfc5424,
    /// RFC 3164 (BSD syslog).
    Rfc3164,
    /// No syslog header: the whole message is text.
    Unknown,
}

/// A message's parts, borrowed from its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed<'a> {
    /// The grammar that matched.
    pub format: Format,
    /// The sender's host name as the message gives it (`None` when absent or NILVALUE).
    pub hostname: Option<&'a [u8]>,
    /// The application (RFC 5424 APP-NAME, RFC 3164 TAG), `None` when absent or NILVALUE.
    pub app: Option<&'a [u8]>,
    /// The message's own time, milliseconds since the epoch (`None` when absent or unreadable).
    pub timestamp_ms: Option<i64>,
    /// What is scanned: structured data and message (RFC 5424), message (RFC 3164), or all of
    /// it (no header).
    pub text: &'a [u8],
}

/// Longest host name kept (RFC 5424 allows 255).
const MAX_HOSTNAME: usize = 255;
/// Longest application name kept (RFC 5424 allows 48; RFC 3164 tags are shorter).
const MAX_APP: usize = 48;

/// Reads `msg` (one frame, without its framing). `now_ms` dates RFC 3164 timestamps, which
/// have no year.
pub fn parse(msg: &[u8], now_ms: i64) -> Parsed<'_> {
    let unknown = Parsed { format: Format::Unknown, hostname: None, app: None, timestamp_ms: None, text: msg };
    let Some(rest) = skip_pri(msg) else { return unknown };
    if let Some(p) = rfc5424(rest) {
        return p;
    }
    rfc3164(rest, now_ms).unwrap_or(Parsed { text: rest, ..unknown })
}

/// The bytes after a `<PRI>` of 1 to 3 digits (value ≤ 191), or `None`.
fn skip_pri(msg: &[u8]) -> Option<&[u8]> {
    let rest = msg.strip_prefix(b"<")?;
    let close = rest.iter().take(4).position(|&b| b == b'>')?;
    let digits = &rest[..close];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) || number(digits)? > 191 {
        return None;
    }
    Some(&rest[close + 1..])
}

/// The next space-delimited token and what follows the space (empty when none).
fn token(s: &[u8]) -> (&[u8], &[u8]) {
    match memchr::memchr(b' ', s) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, &[]),
    }
}

/// A header field: `None` for the NILVALUE, or when it is not printable ASCII or too long.
fn field(t: &[u8], max: usize) -> Option<&[u8]> {
    (t != b"-" && !t.is_empty() && t.len() <= max && t.iter().all(|b| b.is_ascii_graphic())).then_some(t)
}

fn rfc5424(s: &[u8]) -> Option<Parsed<'_>> {
    let (version, rest) = token(s);
    if version != b"1" {
        return None;
    }
    let (ts, rest) = token(rest);
    let (host, rest) = token(rest);
    let (app, rest) = token(rest);
    let (_procid, rest) = token(rest);
    let (_msgid, rest) = token(rest);
    let text = if let Some(after) = rest.strip_prefix(b"-") {
        // No structured data: the message follows the space.
        strip_bom(after.strip_prefix(b" ").unwrap_or(after))
    } else if rest.first() == Some(&b'[') {
        // Structured data is scanned with the message, as one borrowed slice: a BOM between
        // them stays (it is no word character, so it cannot join two values).
        rest
    } else {
        strip_bom(rest)
    };
    Some(Parsed { format: Format::Rfc5424, hostname: field(host, MAX_HOSTNAME), app: field(app, MAX_APP), timestamp_ms: rfc3339_ms(ts), text })
}

fn strip_bom(s: &[u8]) -> &[u8] {
    s.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(s)
}

const MONTHS: [&[u8; 3]; 12] = [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];

/// The BSD time `Mmm dd hh:mm:ss ` (the day space-padded: `Dec  7`) at the start of `s`, dated
/// by [`bsd_time`], and what follows it.
fn bsd_prefix(s: &[u8], now_ms: i64) -> Option<(Option<i64>, &[u8])> {
    let month = MONTHS.iter().position(|m| s.get(..3) == Some(&m[..]))? as u8 + 1;
    if s.get(3) != Some(&b' ') {
        return None;
    }
    let day = number(trim_ascii(s.get(4..6)?))?;
    let time = s.get(7..15)?;
    if s.get(6) != Some(&b' ') || time[2] != b':' || time[5] != b':' {
        return None;
    }
    let (h, m, sec) = (number(&time[..2])?, number(&time[3..5])?, number(&time[6..8])?);
    let rest = s.get(15..).unwrap_or_default();
    Some((bsd_time(now_ms, month, day, h, m, sec), rest.strip_prefix(b" ").unwrap_or(rest)))
}

fn rfc3164(s: &[u8], now_ms: i64) -> Option<Parsed<'_>> {
    // rsyslog's high-precision forwarding template (`RSYSLOG_ForwardFormat`) writes the BSD
    // layout with an RFC 3339 time: `<PRI>2026-12-07T03:00:00.123+01:00 HOST TAG: msg`.
    let (timestamp_ms, rest) = match token(s) {
        (first, rest) if first.first().is_some_and(u8::is_ascii_digit) => (Some(rfc3339_ms(first)?), rest),
        _ => bsd_prefix(s, now_ms)?,
    };
    // With a host name: `HOST TAG: msg`; without: `TAG: msg` or `TAG[PID]: msg`.
    let (first, after) = token(rest);
    let is_tag = |t: &[u8]| t.ends_with(b":") || t.contains(&b'[');
    let (hostname, tagged) = if is_tag(first) { (None, rest) } else { (field(first, MAX_HOSTNAME), after) };
    let (tag_token, msg) = token(tagged);
    let (app, text) = if is_tag(tag_token) {
        let name_end = tag_token.iter().position(|&b| b == b'[' || b == b':').unwrap_or(tag_token.len());
        (field(&tag_token[..name_end], MAX_APP), msg)
    } else {
        // No tag: the message starts right after the host name.
        (None, tagged)
    };
    Some(Parsed { format: Format::Rfc3164, hostname, app, timestamp_ms, text })
}

fn trim_ascii(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|b| *b != b' ').unwrap_or(s.len());
    &s[start..]
}

/// A decimal of at most 9 digits.
fn number(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 9 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')))
}

/// An RFC 3164 time (UTC, no year) dated in the year of `now_ms`, or the one before when it
/// would be more than a day ahead.
fn bsd_time(now_ms: i64, month: u8, day: u32, h: u32, m: u32, s: u32) -> Option<i64> {
    let now = time::OffsetDateTime::from_unix_timestamp(now_ms.div_euclid(1000)).ok()?;
    let at = |year: i32| -> Option<i64> {
        let date = time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, u8::try_from(day).ok()?).ok()?;
        let t = time::Time::from_hms(u8::try_from(h).ok()?, u8::try_from(m).ok()?, u8::try_from(s).ok()?).ok()?;
        Some(date.with_time(t).assume_utc().unix_timestamp() * 1000)
    };
    let this_year = at(now.year());
    match this_year {
        Some(t) if t <= now_ms + 86_400_000 => Some(t),
        _ => at(now.year() - 1).or(this_year),
    }
}

/// An RFC 3339 timestamp (RFC 5424's form, fractions and offset allowed) in milliseconds.
fn rfc3339_ms(t: &[u8]) -> Option<i64> {
    if t == b"-" || t.len() > 40 {
        return None;
    }
    let s = std::str::from_utf8(t).ok()?;
    let dt = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(dt.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-07T04:00:00Z.
    const NOW: i64 = 1_796_616_000_000;

    #[test]
    fn rfc5424_with_structured_data_gives_host_app_time_and_scans_sd_and_message() {
        let m = br#"<165>1 2026-12-07T03:14:15.003Z mail-01.example.com shop 8710 ID47 [exampleSDID@32473 user="ann@example.com" note="a \"quoted\] value"] order paid"#;
        let p = parse(m, NOW);
        assert_eq!(p.format, Format::Rfc5424);
        assert_eq!(p.hostname, Some(&b"mail-01.example.com"[..]));
        assert_eq!(p.app, Some(&b"shop"[..]));
        assert_eq!(p.timestamp_ms, Some(1_796_613_255_003));
        assert!(p.text.starts_with(b"[exampleSDID") && p.text.ends_with(b"order paid"), "{:?}", String::from_utf8_lossy(p.text));
    }

    #[test]
    fn rfc5424_nilvalues_and_bom() {
        let p = parse(b"<13>1 - - - - - - \xEF\xBB\xBFhello bob@example.org", NOW);
        assert_eq!((p.format, p.hostname, p.app, p.timestamp_ms), (Format::Rfc5424, None, None, None));
        assert_eq!(p.text, b"hello bob@example.org");
        let p = parse(b"<13>1 2026-12-07T05:00:00+01:00 h app - - -", NOW);
        assert_eq!(p.timestamp_ms, Some(NOW));
        assert_eq!(p.text, b"");
    }

    #[test]
    fn rfc3164_with_and_without_hostname_and_pid() {
        let p = parse(b"<34>Dec  7 03:59:59 web-01 sshd[4242]: Failed password for ann@example.com", NOW);
        assert_eq!(p.format, Format::Rfc3164);
        assert_eq!(p.hostname, Some(&b"web-01"[..]));
        assert_eq!(p.app, Some(&b"sshd"[..]));
        assert_eq!(p.timestamp_ms, Some(NOW - 1000));
        assert_eq!(p.text, b"Failed password for ann@example.com");
        let p = parse(b"<13>Dec 07 03:59:59 cron: job for bob@example.org", NOW);
        assert_eq!((p.hostname, p.app), (None, Some(&b"cron"[..])));
        assert_eq!(p.text, b"job for bob@example.org");
        let p = parse(b"<13>Dec  7 03:59:59 app[1]: x", NOW);
        assert_eq!((p.hostname, p.app, p.text), (None, Some(&b"app"[..]), &b"x"[..]));
    }

    #[test]
    fn rsyslogs_forwarding_format_is_bsd_with_an_rfc3339_time() {
        let p = parse(b"<30>2026-12-07T05:00:00.250+01:00 mail-01 postfix/smtp[311]: to=<ann@example.com>, status=sent", NOW);
        assert_eq!(p.format, Format::Rfc3164);
        assert_eq!((p.hostname, p.app), (Some(&b"mail-01"[..]), Some(&b"postfix/smtp"[..])));
        assert_eq!(p.timestamp_ms, Some(NOW + 250));
        assert_eq!(p.text, b"to=<ann@example.com>, status=sent");
    }

    #[test]
    fn a_bsd_time_ahead_of_now_is_last_year() {
        let p = parse(b"<13>Dec 31 23:00:00 h app: x", 1_767_225_600_000 /* 2026-01-01 */);
        assert_eq!(p.timestamp_ms, Some(1_767_222_000_000), "2025-12-31T23:00:00Z");
    }

    #[test]
    fn no_header_is_all_text() {
        let p = parse(b"plain text carol@example.net", NOW);
        assert_eq!((p.format, p.hostname, p.app, p.timestamp_ms), (Format::Unknown, None, None, None));
        assert_eq!(p.text, b"plain text carol@example.net");
        // A PRI but neither grammar: the rest is text.
        let p = parse(b"<13>what is this", NOW);
        assert_eq!((p.format, p.text), (Format::Unknown, &b"what is this"[..]));
    }

    #[test]
    fn hostile_headers_never_panic_and_bad_fields_are_dropped() {
        let host_with_controls = b"<13>1 - ho\x1bst app - - - m";
        assert_eq!(parse(host_with_controls, NOW).hostname, None);
        let long_app = format!("<13>1 - h {} - - - m", "a".repeat(200));
        assert_eq!(parse(long_app.as_bytes(), NOW).app, None);
        for m in [
            &b""[..],
            b"<",
            b"<>",
            b"<999>1 x",
            b"<1",
            b"<13>1",
            b"<13>1 ",
            b"<13>Dec",
            b"<13>Dec 99 99:99:99 h a: x",
            b"<13>Feb 30 00:00:00 h a: x",
            b"<13>1 - - - - - [unterminated \"sd",
            b"<13>1 - - - - - [a x=\"\\",
            b"\xff\xfe\x00\x01<13>",
            b"<13>1 9999-99-99T99:99:99Z h a - - - m",
        ] {
            let p = parse(m, NOW);
            assert!(p.text.len() <= m.len());
        }
        // Every prefix of a valid message parses.
        let full = br#"<165>1 2026-12-07T03:14:15.003Z h app 1 ID [x@1 a="b\"]"] msg"#;
        for n in 0..full.len() {
            let _ = parse(&full[..n], NOW);
        }
    }
}
