//! Validators: the checks that turn a regex candidate into a finding.
//!
//! A pattern only says "this looks like an IBAN"; the validator says "this *is* one" (mod-97,
//! Luhn, a national check key). Each validator also *normalises* the value (strips separators,
//! folds case) so that the fingerprint of `FR76 3000…` and `fr763000…` is the same.
//!
//! Validators are named in rule packs (`validator = "iban"`); the names are the `FromStr` forms
//! of [`Validator`].

use std::str::FromStr;

/// A named check applied to candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validator {
    /// Syntax of an e-mail address: one `@`, a dotted domain with a plausible TLD.
    Email,
    /// Phone numbers: E.164 (`+` and 8–15 digits with a known country code) or a French
    /// national number (`0` + 9 digits).
    Phone,
    /// IBAN: known country, that country's length, mod-97 = 1.
    Iban,
    /// Payment card: known IIN range, length for the scheme, Luhn.
    PaymentCard,
    /// French NIR (social security number): structure and key = 97 − (n mod 97), Corsica 2A/2B.
    FrNir,
}

impl Validator {
    /// Every validator with its pack name.
    pub const ALL: [(&'static str, Validator); 5] = [
        ("email", Validator::Email),
        ("phone", Validator::Phone),
        ("iban", Validator::Iban),
        ("payment_card", Validator::PaymentCard),
        ("fr_nir", Validator::FrNir),
    ];

    /// Checks a candidate. Returns its normalised form when valid.
    pub fn check(self, raw: &[u8]) -> Option<Vec<u8>> {
        match self {
            Validator::Email => email(raw),
            Validator::Phone => phone(raw),
            Validator::Iban => iban(raw),
            Validator::PaymentCard => payment_card(raw),
            Validator::FrNir => fr_nir(raw),
        }
    }
}

impl FromStr for Validator {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Validator::ALL.iter().find(|(n, _)| *n == s).map(|(_, v)| *v).ok_or_else(|| {
            let names: Vec<&str> = Validator::ALL.iter().map(|(n, _)| *n).collect();
            format!("unknown validator `{s}` (known: {})", names.join(", "))
        })
    }
}

/// The ASCII alphanumerics of `raw`, upper-cased (separators dropped).
pub fn compact_upper(raw: &[u8]) -> Vec<u8> {
    raw.iter().filter(|b| b.is_ascii_alphanumeric()).map(|b| b.to_ascii_uppercase()).collect()
}

/// The ASCII digits of `raw`.
pub fn digits(raw: &[u8]) -> Vec<u8> {
    raw.iter().filter(|b| b.is_ascii_digit()).copied().collect()
}

/// Luhn checksum over ASCII digits (true when valid).
pub fn luhn(digits: &[u8]) -> bool {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(d - b'0');
            if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
        })
        .sum();
    sum % 10 == 0
}

/// `n mod m` for a decimal number given as ASCII digits of any length.
pub fn mod_decimal(digits: &[u8], m: u64) -> Option<u64> {
    let mut r = 0u64;
    for d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        r = (r * 10 + u64::from(d - b'0')) % m;
    }
    Some(r)
}

fn email(raw: &[u8]) -> Option<Vec<u8>> {
    let at = raw.iter().position(|&b| b == b'@')?;
    if raw[at + 1..].contains(&b'@') || at == 0 || at > 64 {
        return None;
    }
    let (local, domain) = (&raw[..at], &raw[at + 1..]);
    if local.starts_with(b".") || local.ends_with(b".") || local.windows(2).any(|w| w == b"..") {
        return None;
    }
    let labels: Vec<&[u8]> = domain.split(|&b| b == b'.').collect();
    if labels.len() < 2 || labels.iter().any(|l| l.is_empty() || l.len() > 63 || l.starts_with(b"-") || l.ends_with(b"-")) {
        return None;
    }
    let tld = labels[labels.len() - 1];
    if tld.len() < 2 || !tld.iter().all(u8::is_ascii_alphabetic) {
        return None;
    }
    Some(raw.to_ascii_lowercase())
}

/// E.164 country calling codes (1–3 digits) accepted after a `+`.
const COUNTRY_CODES: &[&str] = &[
    "1", "7", "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47", "48",
    "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65", "66", "81", "82", "84",
    "86", "90", "91", "92", "93", "94", "95", "98", "212", "213", "216", "218", "221", "225", "234", "254", "351",
    "352", "353", "354", "355", "356", "357", "358", "359", "370", "371", "372", "373", "374", "375", "376", "377",
    "378", "380", "381", "382", "385", "386", "387", "389", "420", "421", "423", "852", "886", "961", "962", "965",
    "966", "971", "972", "974",
];

fn phone(raw: &[u8]) -> Option<Vec<u8>> {
    let d = digits(raw);
    let plus = raw.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'+');
    if plus {
        // "+33 (0)6 …": the trunk zero in brackets is not dialled.
        let mut d = d;
        if let Some(p) = raw.windows(3).position(|w| w == b"(0)") {
            let zeros_before = digits(&raw[..p]).len();
            if zeros_before < d.len() && d[zeros_before] == b'0' {
                d.remove(zeros_before);
            }
        }
        if !(8..=15).contains(&d.len()) {
            return None;
        }
        let cc = COUNTRY_CODES.iter().find(|cc| d.starts_with(cc.as_bytes()))?;
        let national = &d[cc.len()..];
        if national.first() == Some(&b'0') {
            return None;
        }
        if *cc == "33" && national.len() != 9 {
            return None;
        }
        let mut out = b"+".to_vec();
        out.extend_from_slice(&d);
        return Some(out);
    }
    // French national format: 0 then a non-zero digit, 10 digits in all.
    if d.len() == 10 && d[0] == b'0' && d[1] != b'0' {
        let mut out = b"+33".to_vec();
        out.extend_from_slice(&d[1..]);
        return Some(out);
    }
    None
}

/// IBAN length per country (ISO 13616 registry).
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24), ("AE", 23), ("AL", 28), ("AT", 20), ("AZ", 28), ("BA", 20), ("BE", 16), ("BG", 22), ("BH", 22),
    ("BR", 29), ("BY", 28), ("CH", 21), ("CR", 22), ("CY", 28), ("CZ", 24), ("DE", 22), ("DK", 18), ("DO", 28),
    ("EE", 20), ("EG", 29), ("ES", 24), ("FI", 18), ("FO", 18), ("FR", 27), ("GB", 22), ("GE", 22), ("GI", 23),
    ("GL", 18), ("GR", 27), ("GT", 28), ("HR", 21), ("HU", 28), ("IE", 22), ("IL", 23), ("IQ", 23), ("IS", 26),
    ("IT", 27), ("JO", 30), ("KW", 30), ("KZ", 20), ("LB", 28), ("LC", 32), ("LI", 21), ("LT", 20), ("LU", 20),
    ("LV", 21), ("MC", 27), ("MD", 24), ("ME", 22), ("MK", 19), ("MR", 27), ("MT", 31), ("MU", 30), ("NL", 18),
    ("NO", 15), ("PK", 24), ("PL", 28), ("PS", 29), ("PT", 25), ("QA", 29), ("RO", 24), ("RS", 22), ("SA", 24),
    ("SC", 31), ("SE", 24), ("SI", 19), ("SK", 24), ("SM", 27), ("ST", 25), ("SV", 28), ("TL", 23), ("TN", 24),
    ("TR", 26), ("UA", 29), ("VA", 22), ("VG", 24), ("XK", 20),
];

fn iban(raw: &[u8]) -> Option<Vec<u8>> {
    let s = compact_upper(raw);
    let (_, len) = IBAN_LENGTHS.iter().find(|(cc, _)| s.starts_with(cc.as_bytes()))?;
    if s.len() != *len || !s[2..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    // Move the first four characters to the end, letters become 10..35, then mod 97 == 1.
    let mut r = 0u64;
    for &c in s[4..].iter().chain(&s[..4]) {
        let v = if c.is_ascii_digit() { u64::from(c - b'0') } else { u64::from(c - b'A') + 10 };
        r = if v >= 10 { (r * 100 + v) % 97 } else { (r * 10 + v) % 97 };
    }
    (r == 1).then_some(s)
}

fn payment_card(raw: &[u8]) -> Option<Vec<u8>> {
    let d = digits(raw);
    let n = d.len();
    let prefix = |k: usize| -> u32 { std::str::from_utf8(&d[..k.min(n)]).ok().and_then(|s| s.parse().ok()).unwrap_or(0) };
    let scheme_ok = match d.first()? {
        b'4' => matches!(n, 13 | 16 | 19),                                            // Visa
        b'5' => (51..=55).contains(&prefix(2)) && n == 16,                             // Mastercard
        b'2' => (2221..=2720).contains(&prefix(4)) && n == 16,                         // Mastercard 2-series
        b'3' => (matches!(prefix(2), 34 | 37) && n == 15)                              // Amex
            || ((3528..=3589).contains(&prefix(4)) && (16..=19).contains(&n))          // JCB
            || ((300..=305).contains(&prefix(3)) || prefix(2) == 36 || prefix(2) == 38) && (14..=19).contains(&n), // Diners
        b'6' => (prefix(4) == 6011 || (644..=649).contains(&prefix(3)) || prefix(2) == 65) && (16..=19).contains(&n) // Discover
            || (prefix(2) == 62 && (16..=19).contains(&n)),                            // UnionPay
        _ => false,
    };
    (scheme_ok && luhn(&d)).then_some(d)
}

fn fr_nir(raw: &[u8]) -> Option<Vec<u8>> {
    let s = compact_upper(raw);
    if s.len() != 15 {
        return None;
    }
    let (body, key) = s.split_at(13);
    if !matches!(body[0], b'1' | b'2' | b'3' | b'4' | b'7' | b'8') {
        return None;
    }
    let month: u32 = std::str::from_utf8(&body[3..5]).ok()?.parse().ok()?;
    if !((1..=12).contains(&month) || (20..=42).contains(&month) || (50..=99).contains(&month)) {
        return None;
    }
    // Corsica: department 2A / 2B count as 19 / 18 subtracted from the number.
    let mut number = body.to_vec();
    let corsica = match &body[5..7] {
        b"2A" => 1_000_000,
        b"2B" => 2_000_000,
        _ => 0,
    };
    if corsica != 0 {
        number[5] = b'1';
        number[6] = b'9';
    }
    if !number.iter().all(u8::is_ascii_digit) || !key.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: u64 = std::str::from_utf8(&number).ok()?.parse().ok()?;
    let n = n - corsica;
    let key: u64 = std::str::from_utf8(key).ok()?.parse().ok()?;
    (key == 97 - n % 97).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(v: Validator, s: &str) -> bool {
        v.check(s.as_bytes()).is_some()
    }

    #[test]
    fn luhn_known_numbers() {
        assert!(luhn(b"4111111111111111"));
        assert!(luhn(b"79927398713"));
        assert!(!luhn(b"4111111111111112"));
        assert!(!luhn(b""));
    }

    #[test]
    fn payment_cards_need_a_scheme_and_luhn() {
        assert!(ok(Validator::PaymentCard, "4111 1111 1111 1111"));
        assert!(ok(Validator::PaymentCard, "5500-0000-0000-0004"));
        assert!(ok(Validator::PaymentCard, "378282246310005"));
        assert!(ok(Validator::PaymentCard, "2223003122003222"));
        assert!(!ok(Validator::PaymentCard, "4111 1111 1111 1112"), "bad Luhn");
        assert!(!ok(Validator::PaymentCard, "9111111111111111"), "no scheme starts with 9");
        assert!(!ok(Validator::PaymentCard, "0000000000000000"));
    }

    #[test]
    fn iban_checks_country_length_and_mod97() {
        assert!(ok(Validator::Iban, "FR76 3000 6000 0112 3456 7890 189"));
        assert!(ok(Validator::Iban, "DE89370400440532013000"));
        assert!(ok(Validator::Iban, "GB82WEST12345698765432"));
        assert!(!ok(Validator::Iban, "FR76 3000 6000 0112 3456 7890 188"), "bad check");
        assert!(!ok(Validator::Iban, "DE8937040044053201300"), "too short for DE");
        assert!(!ok(Validator::Iban, "QQ89370400440532013000"), "unknown country");
        assert_eq!(Validator::Iban.check(b"de89 3704 0044 0532 0130 00").unwrap(), b"DE89370400440532013000");
    }

    #[test]
    fn fr_nir_key_and_corsica() {
        // 1 84 12 76 451 089 key 46 (computed: 97 - 1841276451089 % 97).
        let n: u64 = 1841276451089;
        let key = 97 - n % 97;
        assert!(ok(Validator::FrNir, &format!("1 84 12 76 451 089 {key:02}")));
        assert!(!ok(Validator::FrNir, &format!("1 84 12 76 451 089 {:02}", (key % 97) + 1)));
        // Corsica 2A: number with 19 in place of 2A, minus 1,000,000.
        let c: u64 = 2_900_319_123_456 - 1_000_000; // "2 90 03 19 123 456" with 2A
        let ck = 97 - c % 97;
        assert!(ok(Validator::FrNir, &format!("2 90 03 2A 123 456 {ck:02}")));
        assert!(!ok(Validator::FrNir, "5 84 12 76 451 089 46"), "sex digit 5 does not exist");
    }

    #[test]
    fn email_syntax() {
        assert!(ok(Validator::Email, "jean.dupont@example.fr"));
        assert!(!ok(Validator::Email, "a@b"));
        assert!(!ok(Validator::Email, "a..b@example.com"));
        assert!(!ok(Validator::Email, "a@example.c0m"));
        assert_eq!(Validator::Email.check(b"John@Example.COM").unwrap(), b"john@example.com");
    }

    #[test]
    fn phones_e164_and_french() {
        assert_eq!(Validator::Phone.check(b"06 12 34 56 78").unwrap(), b"+33612345678");
        assert_eq!(Validator::Phone.check(b"+33 6 12 34 56 78").unwrap(), b"+33612345678");
        assert_eq!(Validator::Phone.check(b"+33 (0)6 12 34 56 78").unwrap(), b"+33612345678");
        assert!(ok(Validator::Phone, "+49 30 901820"));
        assert!(!ok(Validator::Phone, "+33 6 12 34 56"), "French numbers have 9 digits after +33");
        assert!(!ok(Validator::Phone, "00 12 34 56 78"));
        assert!(!ok(Validator::Phone, "+999 1234 5678"), "no such country code");
    }

    #[test]
    fn validator_names_parse() {
        assert_eq!("iban".parse::<Validator>().unwrap(), Validator::Iban);
        assert!("lunh".parse::<Validator>().unwrap_err().contains("known:"));
    }
}
