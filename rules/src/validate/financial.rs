//! Bank accounts, payment cards and VAT numbers.

use super::checksum::{compact_upper, digits, iso7064_mod11_10, luhn, mod_decimal, number, weighted_sum};

/// IBAN length per country (ISO 13616 registry).
pub const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NL", 18),
    ("NO", 15),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("SA", 24),
    ("SC", 31),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
];

/// IBAN remainder mod 97 after moving the first four characters to the end (letters = 10..35).
pub fn iban_mod97(s: &[u8]) -> Option<u64> {
    if s.len() < 4 {
        return None;
    }
    let mut r = 0u64;
    for &c in s[4..].iter().chain(&s[..4]) {
        let v = match c {
            b'0'..=b'9' => u64::from(c - b'0'),
            b'A'..=b'Z' => u64::from(c - b'A') + 10,
            _ => return None,
        };
        r = if v >= 10 { r * 100 + v } else { r * 10 + v };
        // One division every dozen digits instead of one per digit: r stays far below
        // u64::MAX / 100 between reductions.
        if r >= 1 << 48 {
            r %= 97;
        }
    }
    Some(r % 97)
}

/// IBAN: known country, that country's length, two check digits, mod-97 = 1.
pub fn iban(raw: &[u8]) -> Option<Vec<u8>> {
    let s = compact_upper(raw);
    // A binary search of the sorted table (a `starts_with` per country called memcmp up to 80
    // times for every IBAN-shaped candidate).
    let country = s.get(..2)?;
    let i = IBAN_LENGTHS.binary_search_by(|(cc, _)| cc.as_bytes().cmp(country)).ok()?;
    let len = &IBAN_LENGTHS[i].1;
    if s.len() != *len || !s[2..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    (iban_mod97(&s)? == 1).then(|| s.to_vec())
}

/// Payment card: a scheme's IIN range and length (Visa, Mastercard, Amex, Discover, JCB, Diners,
/// UnionPay), then Luhn.
pub fn payment_card(raw: &[u8]) -> Option<Vec<u8>> {
    let d = digits(raw);
    let n = d.len();
    let prefix = |k: usize| -> u64 { number(&d[..k.min(n)]).unwrap_or(0) };
    let scheme_ok = match d.first()? {
        b'4' => matches!(n, 13 | 16 | 19),
        b'5' => (51..=55).contains(&prefix(2)) && n == 16,
        b'2' => (2221..=2720).contains(&prefix(4)) && n == 16,
        b'3' => {
            (matches!(prefix(2), 34 | 37) && n == 15)
                || ((3500..=3599).contains(&prefix(4)) && (16..=19).contains(&n))
                || (((300..=305).contains(&prefix(3)) || prefix(2) == 36 || prefix(2) == 38 || prefix(3) == 309) && (14..=19).contains(&n))
        }
        b'6' => (prefix(4) == 6011 || (644..=649).contains(&prefix(3)) || prefix(2) == 65 || prefix(2) == 62) && (16..=19).contains(&n),
        _ => false,
    };
    (scheme_ok && luhn(&d)).then(|| d.to_vec())
}

/// EU VAT identification numbers (VIES formats): the country prefix and that country's format;
/// check digits are verified for AT, BE, DE, DK, FI, FR, IT, LU, NL, PL, PT and SE.
pub fn eu_vat_number(raw: &[u8]) -> Option<Vec<u8>> {
    let s = compact_upper(raw);
    if s.len() < 4 {
        return None;
    }
    let (cc, body) = s.split_at(2);
    let d = |b: &[u8]| super::checksum::all_digits(b);
    let ok = match cc {
        b"AT" => {
            body.len() == 9 && body[0] == b'U' && d(&body[1..]) && {
                let b = &body[1..];
                let mut sum = 0u32;
                for (i, c) in b[..7].iter().enumerate() {
                    let v = u32::from(c - b'0');
                    sum += if i % 2 == 1 {
                        let p = v * 2;
                        p / 10 + p % 10
                    } else {
                        v
                    };
                }
                (10 - (sum + 4) % 10) % 10 == u32::from(b[7] - b'0')
            }
        }
        b"BE" => {
            body.len() == 10 && d(body) && matches!(body[0], b'0' | b'1') && {
                let n = number(&body[..8])?;
                97 - n % 97 == number(&body[8..])?
            }
        }
        b"DE" => {
            body.len() == 9 && d(body) && body[0] != b'0' && {
                let mut p = 10u32;
                for c in &body[..8] {
                    let mut s = (u32::from(c - b'0') + p) % 10;
                    if s == 0 {
                        s = 10;
                    }
                    p = (2 * s) % 11;
                }
                let check = (11 - p) % 10;
                check == u32::from(body[8] - b'0')
            }
        }
        b"DK" => body.len() == 8 && d(body) && weighted_sum(body, &[2, 7, 6, 5, 4, 3, 2, 1])? % 11 == 0,
        b"FI" => {
            body.len() == 8 && d(body) && {
                let r = weighted_sum(&body[..7], &[7, 9, 10, 5, 8, 4, 2])? % 11;
                r != 1 && (if r == 0 { 0 } else { 11 - r }) == u32::from(body[7] - b'0')
            }
        }
        b"FR" => {
            body.len() == 11 && d(&body[2..]) && {
                if d(&body[..2]) {
                    let siren = mod_decimal(&body[2..], 97)?;
                    number(&body[..2])? == (12 + 3 * siren) % 97
                } else {
                    body[..2].iter().all(|c| c.is_ascii_alphanumeric() && !matches!(c, b'I' | b'O'))
                }
            }
        }
        b"IT" => body.len() == 11 && d(body) && luhn(body),
        b"LU" => body.len() == 8 && d(body) && number(&body[..6])? % 89 == number(&body[6..])?,
        b"NL" => {
            body.len() == 12 && d(&body[..9]) && body[9] == b'B' && d(&body[10..]) && {
                let w = weighted_sum(&body[..8], &[9, 8, 7, 6, 5, 4, 3, 2])?;
                w % 11 == u32::from(body[8] - b'0') || {
                    // Since 2020 the mod-97 form of the "btw-id" is also valid.
                    let mut t = b"2321".to_vec();
                    t.extend_from_slice(body);
                    let mut r = 0u64;
                    for &c in &t {
                        let v = if c.is_ascii_digit() { u64::from(c - b'0') } else { u64::from(c - b'A') + 10 };
                        r = if v >= 10 { (r * 100 + v) % 97 } else { (r * 10 + v) % 97 };
                    }
                    r == 1
                }
            }
        }
        b"PL" => {
            body.len() == 10 && d(body) && {
                let r = weighted_sum(&body[..9], &[6, 5, 7, 2, 3, 4, 5, 6, 7])? % 11;
                r != 10 && r == u32::from(body[9] - b'0')
            }
        }
        b"PT" => body.len() == 9 && d(body) && super::national_id::pt_nif(body).is_some(),
        b"SE" => body.len() == 12 && d(body) && body.ends_with(b"01") && luhn(&body[..10]),
        b"HR" => body.len() == 11 && d(body) && iso7064_mod11_10(&body[..10]) == Some(body[10] - b'0'),
        b"ES" => body.len() == 9 && body[0].is_ascii_alphanumeric() && d(&body[1..8]) && body[8].is_ascii_alphanumeric() && !(d(&body[..1]) && d(&body[8..])),
        b"IE" => (body.len() == 8 || body.len() == 9) && d(&body[..7]) && body[7].is_ascii_uppercase(),
        b"CZ" => (8..=10).contains(&body.len()) && d(body),
        b"SK" => body.len() == 10 && d(body) && number(body)? % 11 == 0,
        b"SI" => body.len() == 8 && d(body),
        b"HU" => body.len() == 8 && d(body),
        b"RO" => (2..=10).contains(&body.len()) && d(body),
        b"BG" => (9..=10).contains(&body.len()) && d(body),
        b"EL" => body.len() == 9 && d(body),
        b"EE" => body.len() == 9 && d(body) && body.starts_with(b"10"),
        b"LT" => (body.len() == 9 || body.len() == 12) && d(body),
        b"LV" => body.len() == 11 && d(body),
        b"MT" => body.len() == 8 && d(body),
        b"CY" => body.len() == 9 && d(&body[..8]) && body[8].is_ascii_uppercase(),
        _ => false,
    };
    ok.then(|| s.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_iban_table_is_sorted_for_its_binary_search() {
        assert!(IBAN_LENGTHS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(IBAN_LENGTHS.iter().all(|(cc, _)| cc.len() == 2));
    }

    #[test]
    fn payment_cards_need_a_scheme_and_luhn() {
        assert!(payment_card(b"4111 1111 1111 1111").is_some());
        assert!(payment_card(b"5500-0000-0000-0004").is_some());
        assert!(payment_card(b"378282246310005").is_some());
        assert!(payment_card(b"2223003122003222").is_some());
        assert!(payment_card(b"30569309025904").is_some(), "Diners 14 digits");
        assert!(payment_card(b"4111 1111 1111 1112").is_none(), "bad Luhn");
        assert!(payment_card(b"9111111111111111").is_none(), "no scheme starts with 9");
        assert!(payment_card(b"0000000000000000").is_none());
    }

    #[test]
    fn iban_checks_country_length_and_mod97() {
        assert!(iban(b"FR76 3000 6000 0112 3456 7890 189").is_some());
        assert!(iban(b"DE89370400440532013000").is_some());
        assert!(iban(b"GB82WEST12345698765432").is_some());
        assert!(iban(b"FR76 3000 6000 0112 3456 7890 188").is_none(), "bad check");
        assert!(iban(b"DE8937040044053201300").is_none(), "too short for DE");
        assert!(iban(b"QQ89370400440532013000").is_none(), "unknown country");
        assert_eq!(iban(b"de89 3704 0044 0532 0130 00").unwrap(), b"DE89370400440532013000");
    }

    #[test]
    fn vat_numbers_with_check_digits() {
        for v in [
            "ATU13585627",
            "BE0776091951",
            "DE136695976",
            "DK13585628",
            "FI20774740",
            "FRK7399859412",
            "FR40303265045",
            "IT00743110157",
            "LU26375245",
            "NL004495445B01",
            "PL5260001246",
            "SE556188840401",
            "HR33392005961",
            "ESA28015865",
        ] {
            assert!(eu_vat_number(v.as_bytes()).is_some(), "{v}");
        }
        for v in ["DE136695977", "FR41303265045", "IT00743110158", "PL5260001247", "XX123456789", "BE0776091952"] {
            assert!(eu_vat_number(v.as_bytes()).is_none(), "{v}");
        }
    }
}
