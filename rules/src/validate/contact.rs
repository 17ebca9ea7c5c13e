//! E-mail addresses and phone numbers.

use super::checksum::{Compact, digits};

/// Syntax of an e-mail address: one `@`, a local part without empty dot-atoms, a dotted domain
/// whose labels are 1–63 bytes and do not start or end with `-`, an alphabetic TLD. Normalised
/// to lower case.
pub fn email(raw: &[u8]) -> Option<Vec<u8>> {
    let at = raw.iter().position(|&b| b == b'@')?;
    if raw[at + 1..].contains(&b'@') || at == 0 || at > 64 {
        return None;
    }
    let (local, domain) = (&raw[..at], &raw[at + 1..]);
    if local.starts_with(b".") || local.ends_with(b".") || local.windows(2).any(|w| w == b"..") {
        return None;
    }
    // Labels are checked as they are split, not collected: this runs on every address of a log.
    let (mut labels, mut tld): (usize, &[u8]) = (0, &[]);
    for l in domain.split(|&b| b == b'.') {
        if l.is_empty() || l.len() > 63 || l.starts_with(b"-") || l.ends_with(b"-") {
            return None;
        }
        labels += 1;
        tld = l;
    }
    if labels < 2 {
        return None;
    }
    if tld.len() < 2 || !tld.iter().all(u8::is_ascii_alphabetic) {
        return None;
    }
    Some(raw.to_ascii_lowercase())
}

/// E.164 country calling codes (1–3 digits) accepted after a `+` or `00`, with the lengths of
/// the national significant number (min, max) where the plan is known.
const COUNTRY_CODES: &[(&str, usize, usize)] = &[
    ("1", 10, 10),
    ("7", 10, 10),
    ("20", 8, 10),
    ("27", 9, 9),
    ("30", 10, 10),
    ("31", 9, 9),
    ("32", 8, 9),
    ("33", 9, 9),
    ("34", 9, 9),
    ("36", 8, 9),
    ("39", 6, 11),
    ("40", 9, 9),
    ("41", 9, 9),
    ("43", 4, 13),
    ("44", 9, 10),
    ("45", 8, 8),
    ("46", 7, 9),
    ("47", 8, 8),
    ("48", 9, 9),
    ("49", 6, 13),
    ("51", 8, 9),
    ("52", 10, 10),
    ("53", 8, 8),
    ("54", 10, 10),
    ("55", 10, 11),
    ("56", 9, 9),
    ("57", 10, 10),
    ("58", 10, 10),
    ("60", 8, 10),
    ("61", 9, 9),
    ("62", 8, 12),
    ("63", 8, 10),
    ("64", 8, 10),
    ("65", 8, 8),
    ("66", 8, 9),
    ("81", 9, 10),
    ("82", 8, 10),
    ("84", 9, 10),
    ("86", 10, 11),
    ("90", 10, 10),
    ("91", 10, 10),
    ("92", 9, 10),
    ("212", 9, 9),
    ("213", 9, 9),
    ("216", 8, 8),
    ("351", 9, 9),
    ("352", 6, 11),
    ("353", 7, 9),
    ("354", 7, 7),
    ("356", 8, 8),
    ("357", 8, 8),
    ("358", 6, 10),
    ("359", 8, 9),
    ("370", 8, 8),
    ("371", 8, 8),
    ("372", 7, 8),
    ("380", 9, 9),
    ("385", 8, 9),
    ("386", 8, 8),
    ("420", 9, 9),
    ("421", 9, 9),
    ("423", 7, 9),
    ("852", 8, 8),
    ("971", 8, 9),
    ("972", 8, 9),
];

/// Phone numbers in the formats written in European and US logs:
/// - international: `+` or `00`, a known country code and a national number of that plan's
///   length (`+33 (0)6 …`: a trunk zero in brackets is not dialled; Italian numbers keep their
///   leading 0);
/// - national with a trunk `0` (FR, DE, ES landlines, IT, NL, BE, GB…): 9 to 12 digits in all;
/// - NANP `(AAA) EEE-NNNN` / `AAA-EEE-NNNN`: 10 digits, area code 2–9;
/// - Polish and Italian mobile numbers without a prefix (9 or 10 digits, first digit 3–8).
///
/// An extension `x123` is allowed and not part of the normalised value, which is `+CC…` when the
/// country is known and the national digits otherwise.
pub fn phone(raw: &[u8]) -> Option<Vec<u8>> {
    let body = match raw.iter().position(|&b| b == b'x' || b == b'X') {
        Some(x) => &raw[..x],
        None => raw,
    };
    let first = *body.first()?;
    let d = digits(body);
    if first == b'+' || (body.starts_with(b"00") && body.get(2).is_some_and(|b| matches!(b, b'1'..=b'9'))) {
        if let Some(v) = international(body, d.clone()) {
            return Some(v);
        }
        if first == b'+' {
            return None;
        }
    }
    national(d)
}

/// `+CC…` or `00CC…`.
fn international(body: &[u8], mut d: Compact) -> Option<Vec<u8>> {
    let first = body[0];
    {
        // International: "+" or an "00" prefix written apart from the rest ("001-428-…").
        if first == b'0' {
            d.drain(..2);
        }
        if let Some(p) = body.windows(3).position(|w| w == b"(0)") {
            let before = digits(&body[..p]).len() - if first == b'0' { 2 } else { 0 };
            if d.get(before) == Some(&b'0') {
                d.remove(before);
            }
        }
        let &(cc, min, max) = COUNTRY_CODES.iter().find(|(cc, _, _)| d.starts_with(cc.as_bytes()))?;
        let national = &d[cc.len()..];
        if !(min..=max).contains(&national.len()) || d.len() > 15 {
            return None;
        }
        if national.first() == Some(&b'0') && cc != "39" {
            return None;
        }
        if cc == "1" && !matches!(national[0], b'2'..=b'9') {
            return None;
        }
        let mut out = Vec::with_capacity(d.len() + 1);
        out.push(b'+');
        out.extend_from_slice(&d);
        Some(out)
    }
}

/// National forms, without country code.
fn national(d: Compact) -> Option<Vec<u8>> {
    let n = d.len();
    if d.first() == Some(&b'0') {
        // National format with a trunk prefix.
        // A run of three zeros is a zero-padded counter, not a dialling prefix.
        return ((9..=12).contains(&n) && !d.starts_with(b"000")).then(|| d.to_vec());
    }
    match n {
        // NANP: area code and exchange written with separators (the pattern insists on them).
        10 if matches!(d[0], b'2'..=b'9') => Some(d.to_vec()),
        // Mobile numbers without trunk prefix: Polish 9 digits, Italian 3xx 9–11 digits.
        9 if matches!(d[0], b'1'..=b'8') => Some(d.to_vec()),
        11 if d[0] == b'3' => Some(d.to_vec()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_syntax() {
        assert!(email(b"jean.dupont@example.fr").is_some());
        assert!(email(b"a@b").is_none());
        assert!(email(b"a..b@example.com").is_none());
        assert!(email(b"a@example.c0m").is_none());
        assert!(email(b"a@-x.com").is_none());
        assert_eq!(email(b"John@Example.COM").unwrap(), b"john@example.com");
    }

    #[test]
    fn phones_in_international_formats() {
        assert_eq!(phone(b"+33 6 12 34 56 78").unwrap(), b"+33612345678");
        assert_eq!(phone(b"+33 (0)6 12 34 56 78").unwrap(), b"+33612345678");
        assert_eq!(phone(b"+44(0)1144960208").unwrap(), b"+441144960208");
        assert_eq!(phone(b"001-428-835-0057x46285").unwrap(), b"+14288350057");
        assert!(phone(b"+49 30 901820").is_some());
        assert!(phone(b"+39 09635813501").is_some(), "Italian landlines keep their 0");
        assert!(phone(b"+33 6 12 34 56").is_none(), "French numbers have 9 digits after +33");
        assert!(phone(b"+999 1234 5678").is_none(), "no such country code");
        assert!(phone(b"+1-123-602-7362").is_none(), "NANP area codes start with 2-9");
    }

    #[test]
    fn phones_in_national_formats() {
        assert_eq!(phone(b"06 12 34 56 78").unwrap(), b"0612345678");
        assert!(phone(b"(057) 6447058").is_some());
        assert!(phone(b"01562289109").is_some());
        assert!(phone(b"(301)865-6779x58619").is_some());
        assert!(phone(b"423.602.7362").is_some());
        assert!(phone(b"512 345 678").is_some());
        assert!(phone(b"0612").is_none());
        assert!(phone(b"0012345").is_none());
        assert!(phone(b"0000012345").is_none(), "zero-padded counter");
        assert!(phone(b"123-456-7890").is_none(), "area code 1xx does not exist");
    }
}
