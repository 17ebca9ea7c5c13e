//! Person names, where the structure says a name follows: a key such as `name=`,
//! `customer_name`, `Nachname:`, a column named like a name (the data-store scans write each
//! value as `column: value`), the patient name of an HL7 PID segment (PID-5, `DOE^JOHN^A`).
//!
//! A name has no check digit: the pattern carries the key, and this validator checks that the
//! value looks like a name (one to four words of letters, apostrophes, dashes, each starting
//! with a capital or a non-ASCII letter), is not a placeholder (`Default`, `Unknown`, `Admin`),
//! and tells the engine where the value starts ([`person_name_value`]), so the finding covers
//! the name and not its key.

/// Words that stand where a name would, and are not one.
const PLACEHOLDERS: &[&[u8]] = &[
    b"default",
    b"none",
    b"null",
    b"nil",
    b"unknown",
    b"admin",
    b"administrator",
    b"root",
    b"system",
    b"test",
    b"true",
    b"false",
    b"guest",
    b"anonymous",
    b"user",
    b"customer",
    b"patient",
    b"name",
    b"localhost",
    b"undefined",
    b"empty",
    b"sample",
    b"example",
    b"service",
    b"server",
    b"client",
    b"main",
    b"master",
    b"prod",
    b"production",
    b"staging",
    b"dev",
    b"development",
    b"string",
    b"value",
    b"yes",
    b"no",
    b"ok",
    b"error",
];

/// Lower-case particles between the words of a name (`van der`, `de la`, `von`).
const PARTICLES: &[&[u8]] = &[
    b"von", b"van", b"de", b"da", b"di", b"del", b"della", b"der", b"den", b"du", b"le", b"la", b"y", b"zu", b"ten", b"ter", b"dos", b"das", b"do", b"af",
    b"al", b"el", b"bin", b"ibn",
];

/// Where the value starts in a candidate: after the last `|` (HL7), else after the key's `=`
/// or `:` and any blanks and quotes.
fn value_start(raw: &[u8]) -> Option<usize> {
    if raw.starts_with(b"PID|") {
        return raw.iter().rposition(|&b| b == b'|').map(|i| i + 1);
    }
    let sep = raw.iter().position(|&b| b == b'=' || b == b':')?;
    let skip = raw[sep + 1..].iter().position(|&b| !matches!(b, b' ' | b'"' | b'\'' | b'\t'))?;
    Some(sep + 1 + skip)
}

/// True when `word` is a word of a name: a letter first (capital ASCII or non-ASCII), then
/// letters, apostrophes, dashes, dots (an initial).
fn name_word(word: &[u8]) -> bool {
    let Some(&first) = word.first() else { return false };
    (first.is_ascii_uppercase() || first >= 0x80) && word.iter().all(|&b| b.is_ascii_alphabetic() || b >= 0x80 || matches!(b, b'\'' | b'-' | b'.'))
}

/// The offset of the name in `raw` and its normalised form (lower case, one space between
/// words; HL7 `FAMILY^GIVEN^MIDDLE` components become words).
pub fn person_name_value(raw: &[u8]) -> Option<(usize, Vec<u8>)> {
    let start = value_start(raw)?;
    let value = &raw[start..];
    let words: Vec<&[u8]> = value.split(|&b| b == b' ' || b == b'^').filter(|w| !w.is_empty()).collect();
    let (first, last) = (words.first()?, words.last()?);
    let particle = |w: &[u8]| PARTICLES.contains(&w);
    let names = words.iter().filter(|w| !particle(w)).count();
    if names > 4 || !name_word(first) || !name_word(last) || !words.iter().all(|w| name_word(w) || particle(w)) {
        return None;
    }
    if words.len() == 1 && (words[0].len() < 2 || PLACEHOLDERS.iter().any(|p| p.eq_ignore_ascii_case(words[0]))) {
        return None;
    }
    if words.iter().all(|w| PLACEHOLDERS.iter().any(|p| p.eq_ignore_ascii_case(w))) {
        return None;
    }
    Some((start, words.join(&b' ').to_ascii_lowercase()))
}

/// The validator form of [`person_name_value`] (the engine uses the offset too).
pub fn person_name(raw: &[u8]) -> Option<Vec<u8>> {
    person_name_value(raw).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_after_their_key() {
        assert_eq!(person_name_value(b"customer_name=Jean Dupont").unwrap(), (14, b"jean dupont".to_vec()));
        assert_eq!(person_name_value(b"\"nom\": \"M\xc3\xbcller\"").map(|v| v.0), None, "the closing quote is not part of a candidate");
        assert_eq!(person_name_value(b"\"nom\": \"M\xc3\xbcller").unwrap().1, "m\u{fc}ller".as_bytes());
        assert_eq!(person_name_value(b"PID|1||12345^^^MRN||DOE^JOHN^A").unwrap(), (20, b"doe john a".to_vec()));
        assert!(person_name(b"name=Default").is_none());
        assert!(person_name(b"name=nginx").is_none(), "lower case");
        assert!(person_name(b"name=R2D2").is_none());
    }
}
