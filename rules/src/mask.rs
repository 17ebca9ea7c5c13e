//! Masked previews: enough for a human to recognise the *kind* of value, never the value.
//!
//! `john.doe@example.com` → `j***@e***.com`; `FR76 3000 6000 0112 3456 7890 189` →
//! `FR** **** **** **** **** ***0 189`-style (first two and last three significant characters).
//! Separators are kept so the shape stays readable; every other letter or digit becomes `*`.

/// Masks a raw value for display. `detector` selects the e-mail form; everything else uses the
/// generic form. The result is always valid UTF-8 (ASCII), whatever the input bytes.
pub fn preview(detector: &str, raw: &[u8]) -> String {
    let mut out = Vec::with_capacity(raw.len() + 8);
    preview_into(&mut out, Form::of(detector), raw);
    // Every byte written is ASCII (see `preview_into`): the lossy conversion never replaces one.
    String::from_utf8_lossy(&out).into_owned()
}

/// [`preview`] appended to `out` as ASCII bytes, for callers that reuse one buffer across many
/// values (the agent writes a preview per finding); `form` is the detector's ([`Form::of`]). Bytes rather than a `String`: pushing `char`s one by one was a
/// noticeable share of a scan.
pub fn preview_into(out: &mut Vec<u8>, form: Form, raw: &[u8]) {
    if form == Form::Email
        && let Some(at) = raw.iter().rposition(|&b| b == b'@')
    {
        return mask_email(out, &raw[..at], &raw[at + 1..]);
    }
    // A name's head and tail are most of it: one letter only.
    let (head, tail) = if form == Form::Name { (1, 0) } else { (2, 3) };
    mask_generic(out, raw, head, tail)
}

/// How a detector's values are masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// First two and last three significant characters kept.
    Generic,
    /// `j***@e***.com`.
    Email,
    /// First letter only (`person_name`).
    Name,
}

impl Form {
    /// The form of detector `id`'s values.
    pub fn of(id: &str) -> Form {
        match id {
            "email" => Form::Email,
            "person_name" => Form::Name,
            _ => Form::Generic,
        }
    }
}

fn first_byte(b: &[u8]) -> u8 {
    b.first().map_or(b'*', |&c| if c.is_ascii_alphanumeric() { c } else { b'*' })
}

fn mask_email(out: &mut Vec<u8>, local: &[u8], domain: &[u8]) {
    let tld = domain.iter().rposition(|&b| b == b'.').map(|i| &domain[i..]).unwrap_or(b"");
    out.push(first_byte(local));
    out.extend_from_slice(b"***@");
    out.push(first_byte(domain));
    out.extend_from_slice(b"***");
    out.extend(tld.iter().map(|&b| if b.is_ascii_alphanumeric() || b == b'.' { b } else { b'*' }));
}

/// How [`mask_generic`] treats each byte: kept when it is an alphanumeric at either end, hidden
/// otherwise; separators (ASCII punctuation and space) kept; anything else hidden. A table:
/// this runs on every finding, and two range tests per byte showed in profiles.
const OTHER: u8 = 0;
const ALNUM: u8 = 1;
const SEPARATOR: u8 = 2;
static CLASS: [u8; 256] = {
    let mut t = [OTHER; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if c.is_ascii_alphanumeric() {
            ALNUM
        } else if c.is_ascii_punctuation() || c == b' ' {
            SEPARATOR
        } else {
            OTHER
        };
        b += 1;
    }
    t
};

/// Keeps the first `head` and last `tail` alphanumeric characters when the value has at least
/// `head + tail + 4` of them (so at least four are hidden), otherwise only the last one.
fn mask_generic(out: &mut Vec<u8>, raw: &[u8], head: usize, tail: usize) {
    let significant = raw.iter().filter(|&&b| CLASS[usize::from(b)] == ALNUM).count();
    let (head, tail) = if significant >= head + tail + 4 { (head, tail) } else { (0, 1.min(significant / 4)) };
    let (keep_until, keep_from) = (head, significant - tail);
    let mut seen = 0;
    out.reserve(raw.len());
    for &b in raw {
        out.push(match CLASS[usize::from(b)] {
            ALNUM => {
                seen += 1;
                if seen <= keep_until || seen > keep_from { b } else { b'*' }
            }
            SEPARATOR => b,
            _ => b'*',
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_keeps_first_letters_and_tld() {
        assert_eq!(preview("email", b"john.doe@example.com"), "j***@e***.com");
    }

    #[test]
    fn iban_keeps_country_and_last_three() {
        let p = preview("iban", b"FR7630006000011234567890189");
        assert_eq!(p, "FR**********************189");
    }

    #[test]
    fn short_values_reveal_almost_nothing() {
        assert_eq!(preview("x", b"12345"), "****5");
        assert_eq!(preview("x", b"123"), "***");
    }

    #[test]
    fn the_preview_is_ascii_whatever_the_input() {
        let mut out = Vec::new();
        preview_into(&mut out, Form::Generic, "é ü 1234567 \u{1F600}".as_bytes());
        preview_into(&mut out, Form::Email, &[0xff, b'@', 0xc3, b'.', 0xa9]);
        assert!(out.is_ascii(), "{out:?}");
    }

    #[test]
    fn binary_input_gives_valid_text() {
        let p = preview("x", &[0xff, 0x00, b'1', b'2', 0xc3]);
        assert!(!p.contains('\u{0}'));
    }
}
