//! E-mail addresses (phone numbers are in [`super::phone`]).

/// Syntax of an e-mail address: one `@`, a local part without empty dot-atoms, a dotted domain
/// whose labels are 1–63 bytes and do not start or end with `-`, an alphabetic TLD. Normalised
/// to lower case.
pub fn email(raw: &[u8]) -> Option<Vec<u8>> {
    let at = raw.iter().position(|&b| b == b'@')?;
    if raw[at + 1..].contains(&b'@') || at == 0 || at > 64 {
        return None;
    }
    let (local, domain) = (&raw[..at], &raw[at + 1..]);
    // RFC 1035: a domain name is at most 253 characters written out (255 octets on the wire);
    // RFC 5321 (with its erratum 1690): an address is at most 254.
    if domain.len() > 253 || raw.len() > 254 {
        return None;
    }
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
    // An alphabetic top-level domain, or an internationalised one in punycode (`xn--…`).
    let punycode = tld.len() > 4 && tld[..4].eq_ignore_ascii_case(b"xn--") && tld[4..].iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-');
    if tld.len() < 2 || !(punycode || tld.iter().all(u8::is_ascii_alphabetic)) {
        return None;
    }
    Some(raw.to_ascii_lowercase())
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
        let long_domain = format!("me@{}.com", vec!["a".repeat(63); 4].join("."));
        assert!(email(long_domain.as_bytes()).is_none(), "a domain of more than 253 characters");
        let too_long = format!("me@{}.{}.com", vec!["a".repeat(63); 3].join("."), "b".repeat(57));
        assert!(email(too_long.as_bytes()).is_none(), "an address of 256 characters");
        let longest = format!("m@{}.{}.com", vec!["a".repeat(63); 3].join("."), "b".repeat(56));
        assert!(email(longest.as_bytes()).is_some(), "an address of 254 characters");
        assert_eq!(email(b"John@Example.COM").unwrap(), b"john@example.com");
        assert!(email(b"test@xn--hxajbheg2az3al.xn--jxalpdlp").is_some(), "punycode TLD");
    }
}
