//! EU VAT identification numbers: the country prefix and, for every member state, that
//! country's format and check digits (old formats included: Belgian 9-digit, Greek 8-digit,
//! Irish letter-second numbers).

use super::checksum::{all_digits, compact_upper, is_date, iso7064_mod11_10, luhn, mod_decimal, number, weighted_sum};
use super::national_id;

/// The check digit that makes `digits` followed by it Luhn-valid.
fn luhn_digit(digits: &[u8]) -> Option<u8> {
    let mut t = digits.to_vec();
    t.push(b'0');
    (0..10u8).find(|&c| {
        *t.last_mut().unwrap_or(&mut 0) = b'0' + c;
        luhn(&t)
    })
}

/// `Σ w·d mod m` with the weights of the digits.
fn wmod(body: &[u8], weights: &[u32], m: u32) -> Option<u32> {
    weighted_sum(body, weights).map(|s| s % m)
}

fn digit(c: u8) -> u32 {
    u32::from(c.wrapping_sub(b'0'))
}

fn at(b: &[u8]) -> bool {
    b.len() == 9 && b[0] == b'U' && all_digits(&b[1..]) && {
        let b = &b[1..];
        let mut sum = 0u32;
        for (i, c) in b[..7].iter().enumerate() {
            let v = digit(*c);
            sum += if i % 2 == 1 { (v * 2) / 10 + (v * 2) % 10 } else { v };
        }
        (10 - (sum + 4) % 10) % 10 == digit(b[7])
    }
}

fn be(b: &[u8]) -> bool {
    // The old format had 9 digits: a leading 0 was added in 2005.
    let mut t = smallvec::SmallVec::<[u8; 10]>::new();
    if b.len() == 9 {
        t.push(b'0');
    }
    t.extend_from_slice(b);
    t.len() == 10 && all_digits(&t) && matches!(t[0], b'0' | b'1') && number(&t[..8]).zip(number(&t[8..])).is_some_and(|(n, c)| n > 0 && (n + c) % 97 == 0)
}

fn bg(b: &[u8]) -> bool {
    if !all_digits(b) {
        return false;
    }
    match b.len() {
        9 => {
            let s: u32 = b[..8].iter().enumerate().map(|(i, c)| (i as u32 + 1) * digit(*c)).sum::<u32>() % 11;
            let s = if s == 10 { b[..8].iter().enumerate().map(|(i, c)| (i as u32 + 3) * digit(*c)).sum::<u32>() % 11 } else { s };
            s % 10 == digit(b[8])
        }
        10 => {
            // A person's EGN, a foreigner's PNF, or another body's number.
            let (yy, mm, dd) = (digit(b[0]) * 10 + digit(b[1]), digit(b[2]) * 10 + digit(b[3]), digit(b[4]) * 10 + digit(b[5]));
            let born = match mm {
                1..=12 => is_date(1900 + yy, mm, dd),
                21..=32 => is_date(1800 + yy, mm - 20, dd),
                41..=52 => is_date(2000 + yy, mm - 40, dd),
                _ => false,
            };
            let egn = born && wmod(&b[..9], &[2, 4, 8, 5, 10, 9, 7, 3, 6], 11).is_some_and(|r| r % 10 == digit(b[9]));
            let pnf = wmod(&b[..9], &[21, 19, 17, 13, 11, 9, 7, 3, 1], 10) == Some(digit(b[9]));
            let other = weighted_sum(&b[..9], &[4, 3, 2, 7, 6, 5, 4, 3, 2]).is_some_and(|s| (11 - s % 11) % 11 == digit(b[9]));
            egn || pnf || other
        }
        _ => false,
    }
}

fn cy(b: &[u8]) -> bool {
    const T: [u32; 10] = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21];
    b.len() == 9 && all_digits(&b[..8]) && !b.starts_with(b"12") && {
        let s: u32 = b[..8].iter().enumerate().map(|(i, c)| if i % 2 == 0 { T[digit(*c) as usize] } else { digit(*c) }).sum();
        b[8] == b'A' + (s % 26) as u8
    }
}

fn cz(b: &[u8]) -> bool {
    if !all_digits(b) {
        return false;
    }
    let w = |p: &[u8]| p.iter().enumerate().map(|(i, c)| (8 - i as u32) * digit(*c)).sum::<u32>();
    match b.len() {
        8 => {
            b[0] != b'9' && {
                let check = (11 - w(&b[..7]) % 11) % 11;
                (if check == 0 { 1 } else { check }) % 10 == digit(b[7])
            }
        }
        9 if b[0] == b'6' => {
            // python-stdnum's `(8 - (10 - check) % 11) % 10`, whose `%` never goes negative.
            let check = (w(&b[1..8]) % 11) as i32;
            (8 - (10 - check) % 11).rem_euclid(10) as u32 == digit(b[8])
        }
        9 | 10 => national_id::cz_birth_number(b).is_some(),
        _ => false,
    }
}

fn de(b: &[u8]) -> bool {
    b.len() == 9 && all_digits(b) && b[0] != b'0' && iso7064_mod11_10(&b[..8]) == Some(b[8] - b'0')
}

fn ee(b: &[u8]) -> bool {
    b.len() == 9 && all_digits(b) && wmod(b, &[3, 7, 1, 3, 7, 1, 3, 7, 1], 10) == Some(0)
}

fn el(b: &[u8]) -> bool {
    let mut t = smallvec::SmallVec::<[u8; 9]>::new();
    if b.len() == 8 {
        t.push(b'0'); // the old format had 8 digits
    }
    t.extend_from_slice(b);
    t.len() == 9 && all_digits(&t) && {
        let s = t[..8].iter().fold(0u64, |s, c| s * 2 + u64::from(c - b'0'));
        (s * 2 % 11 % 10) as u32 == digit(t[8])
    }
}

fn es(b: &[u8]) -> bool {
    if b.len() != 9 || !all_digits(&b[1..8]) {
        return false;
    }
    match b[0] {
        b'0'..=b'9' => national_id::es_dni(b).is_some(),
        b'X' | b'Y' | b'Z' => national_id::es_nie(b).is_some(),
        b'K' | b'L' | b'M' => {
            let mut t = b[1..8].to_vec();
            t.insert(0, b'0');
            t.push(b[8]);
            national_id::es_dni(&t).is_some()
        }
        b'A'..=b'H' | b'J' | b'N' | b'P' | b'Q' | b'R' | b'S' | b'U' | b'V' | b'W' => {
            // CIF: a Luhn digit over the 7 digits, written as the digit or as a letter.
            luhn_digit(&b[1..8]).is_some_and(|c| b[8] == b'0' + c || b[8] == b"JABCDEFGHI"[c as usize])
        }
        _ => false,
    }
}

fn fi(b: &[u8]) -> bool {
    b.len() == 8 && all_digits(b) && {
        let r = wmod(&b[..7], &[7, 9, 10, 5, 8, 4, 2], 11).unwrap_or(1);
        r != 1 && (if r == 0 { 0 } else { 11 - r }) == digit(b[7])
    }
}

fn fr(b: &[u8]) -> bool {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    if b.len() != 11 || !all_digits(&b[2..]) {
        return false;
    }
    let (Some(k0), Some(k1)) = (ALPHABET.iter().position(|c| *c == b[0]), ALPHABET.iter().position(|c| *c == b[1])) else { return false };
    let siren = &b[2..];
    if &siren[..3] != b"000" && !luhn(siren) {
        return false;
    }
    if all_digits(&b[..2]) {
        return mod_decimal(siren, 97).is_some_and(|r| number(&b[..2]) == Some((r * 100 + 12) % 97));
    }
    let check = if b[0].is_ascii_digit() { k0 * 24 + k1 - 10 } else { k0 * 34 + k1 - 100 } as u64;
    number(siren).is_some_and(|n| (n + 1 + check / 11) % 11 == check % 11)
}

fn hu(b: &[u8]) -> bool {
    b.len() == 8 && all_digits(b) && wmod(b, &[9, 7, 3, 1, 9, 7, 3, 1], 10) == Some(0)
}

fn ie(b: &[u8]) -> bool {
    const ALPHABET: &[u8] = b"WABCDEFGHIJKLMNOPQRSTUV";
    if !(b.len() == 8 || b.len() == 9) || !b[7..].iter().all(|c| ALPHABET.contains(c)) {
        return false;
    }
    let check = |seven: &[u8], extra: Option<u8>| -> u8 {
        let s: u32 = seven.iter().enumerate().map(|(i, c)| (8 - i as u32) * digit(*c)).sum();
        let x = extra.and_then(|e| ALPHABET.iter().position(|a| *a == e)).unwrap_or(0) as u32;
        ALPHABET[((s + 9 * x) % 23) as usize]
    };
    if all_digits(&b[..7]) {
        b[7] == check(&b[..7], b.get(8).copied())
    } else if b.len() == 8 && b[0].is_ascii_digit() && all_digits(&b[2..7]) && (b[1].is_ascii_uppercase() || matches!(b[1], b'+' | b'*')) {
        // The old format: digit, letter, five digits, check letter.
        let mut seven = [b'0'; 7];
        seven[1..6].copy_from_slice(&b[2..7]);
        seven[6] = b[0];
        b[7] == check(&seven, None)
    } else {
        false
    }
}

fn it(b: &[u8]) -> bool {
    b.len() == 11 && all_digits(b) && luhn(b)
}

fn lt(b: &[u8]) -> bool {
    let ok_len = (b.len() == 9 && b[7] == b'1') || (b.len() == 12 && b[10] == b'1');
    ok_len && all_digits(b) && {
        let body = &b[..b.len() - 1];
        let s = |shift: usize| body.iter().enumerate().map(|(i, c)| (1 + (i + shift) as u32 % 9) * digit(*c)).sum::<u32>();
        let mut c = s(0) % 11;
        if c == 10 {
            c = s(2) % 11;
        }
        c % 10 == digit(b[b.len() - 1])
    }
}

fn lu(b: &[u8]) -> bool {
    b.len() == 8 && all_digits(b) && number(&b[..6]).zip(number(&b[6..])).is_some_and(|(n, c)| n % 89 == c)
}

fn lv(b: &[u8]) -> bool {
    b.len() == 11 && all_digits(b) && {
        if b[0] > b'3' {
            wmod(b, &[9, 1, 4, 8, 3, 10, 2, 5, 7, 6, 1], 11) == Some(3)
        } else {
            let s = 1 + weighted_sum(&b[..10], &[10, 5, 8, 4, 2, 1, 6, 3, 7, 9]).unwrap_or(0);
            s % 11 % 10 == digit(b[10])
        }
    }
}

fn mt(b: &[u8]) -> bool {
    b.len() == 8 && all_digits(b) && b[0] != b'0' && wmod(b, &[3, 4, 6, 7, 8, 9, 10, 1], 37) == Some(0)
}

fn nl(b: &[u8]) -> bool {
    b.len() == 12 && all_digits(&b[..9]) && b[9] == b'B' && all_digits(&b[10..]) && &b[10..] != b"00" && {
        let w = weighted_sum(&b[..8], &[9, 8, 7, 6, 5, 4, 3, 2]).unwrap_or(0);
        w % 11 == digit(b[8]) || {
            // Since 2020 the mod-97 form of the "btw-id" is also valid.
            let mut r = 0u64;
            for &c in b"2321".iter().chain(b) {
                let v = if c.is_ascii_digit() { u64::from(c - b'0') } else { u64::from(c - b'A') + 10 };
                r = if v >= 10 { (r * 100 + v) % 97 } else { (r * 10 + v) % 97 };
            }
            r == 1
        }
    }
}

fn pl(b: &[u8]) -> bool {
    b.len() == 10 && all_digits(b) && wmod(&b[..9], &[6, 5, 7, 2, 3, 4, 5, 6, 7], 11).is_some_and(|r| r != 10 && r == digit(b[9]))
}

fn ro(b: &[u8]) -> bool {
    if b.len() == 13 {
        return national_id::ro_cnp(b).is_some();
    }
    (2..=10).contains(&b.len()) && all_digits(b) && b[0] != b'0' && {
        let body = &b[..b.len() - 1];
        let weights = [7u32, 5, 3, 2, 1, 7, 5, 3, 2];
        let s: u32 = body.iter().rev().zip(weights.iter().rev()).map(|(c, w)| digit(*c) * w).sum();
        (10 * s) % 11 % 10 == digit(b[b.len() - 1])
    }
}

fn se(b: &[u8]) -> bool {
    b.len() == 12 && all_digits(b) && b.ends_with(b"01") && luhn(&b[..10])
}

fn si(b: &[u8]) -> bool {
    b.len() == 8 && all_digits(b) && b[0] != b'0' && {
        let s: u32 = b[..7].iter().enumerate().map(|(i, c)| (8 - i as u32) * digit(*c)).sum();
        let check = 11 - s % 11;
        (if check == 10 { 0 } else { check }) == digit(b[7])
    }
}

fn sk(b: &[u8]) -> bool {
    b.len() == 10
        && all_digits(b)
        && (national_id::cz_birth_number(b).is_some()
            || (b[0] != b'0' && matches!(b[2], b'2' | b'3' | b'4' | b'7' | b'8' | b'9') && mod_decimal(b, 11) == Some(0)))
}

/// EU VAT identification numbers (VIES formats) of the 27 member states, each with its check
/// digits. Separators (spaces, dots, dashes, `:` or `/` after the prefix, a Belgian `(0)`) and
/// case are ignored; the normalised form is the compact upper-case number with its prefix.
pub fn eu_vat_number(raw: &[u8]) -> Option<Vec<u8>> {
    // `compact_upper` keeps alphanumerics only, so `+`/`*` of old Irish numbers are lost: those
    // are rare enough to be left out.
    let s = compact_upper(raw);
    if s.len() < 4 {
        return None;
    }
    let (cc, b) = s.split_at(2);
    let ok = match cc {
        b"AT" => at(b),
        b"BE" => be(b),
        b"BG" => bg(b),
        b"CY" => cy(b),
        b"CZ" => cz(b),
        b"DE" => de(b),
        b"DK" => b.len() == 8 && all_digits(b) && wmod(b, &[2, 7, 6, 5, 4, 3, 2, 1], 11) == Some(0),
        b"EE" => ee(b),
        b"EL" => el(b),
        b"ES" => es(b),
        b"FI" => fi(b),
        b"FR" => fr(b),
        b"HR" => b.len() == 11 && all_digits(b) && iso7064_mod11_10(&b[..10]) == Some(b[10] - b'0'),
        b"HU" => hu(b),
        b"IE" => ie(b),
        b"IT" => it(b),
        b"LT" => lt(b),
        b"LU" => lu(b),
        b"LV" => lv(b),
        b"MT" => mt(b),
        b"NL" => nl(b),
        b"PL" => pl(b),
        b"PT" => b.len() == 9 && all_digits(b) && national_id::pt_nif(b).is_some(),
        b"RO" => ro(b),
        b"SE" => se(b),
        b"SI" => si(b),
        b"SK" => sk(b),
        _ => false,
    };
    ok.then(|| s.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vat_numbers_of_every_member_state() {
        for v in [
            "ATU13585627",
            "BE0776091951",
            "BE 0202.239.951",
            "BE413562567",
            "DE136695976",
            "DE 136 695 976",
            "de136695976",
            "DK13585628",
            "FI20774740",
            "FRK7399859412",
            "FR40303265045",
            "Fr 40 303 265 045",
            "IT00743110157",
            "LU26375245",
            "NL004495445B01",
            "PL5260001246",
            "SE556188840401",
            "HR33392005961",
            "ESA28015865",
            "ATU 15159209",
        ] {
            assert!(eu_vat_number(v.as_bytes()).is_some(), "{v}");
        }
        // CZ640913926: a special 9-digit number whose check once overflowed (a panic in debug builds).
        for v in ["DE136695977", "FR41303265045", "IT00743110158", "PL5260001247", "XX123456789", "BE0776091952", "CZ640913926"] {
            assert!(eu_vat_number(v.as_bytes()).is_none(), "{v}");
        }
    }
}
