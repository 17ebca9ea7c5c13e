//! National identification numbers: one function per country scheme, each checking the
//! structure (lengths, date parts, ranges) and the check digit(s) the issuing authority defines.
//!
//! Digit-only schemes with a weak check (one digit in ten or eleven) find many random numbers
//! valid; the packs therefore ask for context words for the ones that have no distinctive
//! shape (see `rules/README.md`). The validators themselves are context-free.

use super::checksum::{Compact, all_digits, compact_upper, digits, is_date, iso7064_mod11_10, luhn, mod_decimal, number, two, weighted_sum};

/// French NIR: sex (1, 2, or 7/8 for temporary numbers), year, month (01–12, 20–42 and 50–99
/// are issued for unknown months), department (2A/2B for Corsica count as 19/18), commune,
/// order, key = 97 − (n mod 97).
pub fn fr_nir(raw: &[u8]) -> Option<Vec<u8>> {
    let s = compact_upper(raw);
    if s.len() != 15 || !matches!(s[0], b'1' | b'2' | b'7' | b'8') {
        return None;
    }
    let month = two(&s[3..])?;
    if !((1..=12).contains(&month) || (20..=42).contains(&month) || (50..=99).contains(&month)) {
        return None;
    }
    let mut body = Compact::from_slice(&s[..13]);
    match &body[5..7] {
        b"2A" => body[5..7].copy_from_slice(b"19"),
        b"2B" => body[5..7].copy_from_slice(b"18"),
        _ => {}
    }
    let key = number(&s[13..])?;
    (97 - mod_decimal(&body, 97)? == key && all_digits(&body)).then(|| s.to_vec())
}

/// German tax identification number (Steuer-ID): 11 digits, no leading zero; among the first
/// ten exactly one digit occurs twice or three times (three times not in a row), the others at
/// most once; check digit ISO 7064 MOD 11,10.
pub fn de_tax_id(raw: &[u8]) -> Option<Vec<u8>> {
    let d = digits(raw);
    if d.len() != 11 || d[0] == b'0' || d.len() != raw.iter().filter(|b| !b.is_ascii_whitespace()).count() {
        return None;
    }
    let mut counts = [0u8; 10];
    for &c in &d[..10] {
        counts[usize::from(c - b'0')] += 1;
    }
    let multi: Vec<usize> = (0..10).filter(|&i| counts[i] > 1).collect();
    if multi.len() != 1 || counts[multi[0]] > 3 {
        return None;
    }
    if counts[multi[0]] == 3 {
        let c = b'0' + multi[0] as u8;
        if d[..10].windows(3).any(|w| w == [c, c, c]) {
            return None;
        }
    }
    (iso7064_mod11_10(&d[..10])? == d[10] - b'0').then(|| d.to_vec())
}

/// German pension insurance number (Rentenversicherungsnummer): area (2 digits), birth date
/// DDMMYY, initial of the birth name, serial (2 digits), check digit over the 12 positions
/// (letter as its two-digit alphabet number) with weights 2,1,2,5,7,1,2,1,2,1,2,1.
pub fn de_pension_number(raw: &[u8]) -> Option<Vec<u8>> {
    let s = compact_upper(raw);
    if s.len() != 12 || !all_digits(&s[..8]) || !s[8].is_ascii_uppercase() || !all_digits(&s[9..]) {
        return None;
    }
    let (day, month) = (two(&s[2..])?, two(&s[4..])?);
    if !is_date(2000, month, day % 50) {
        return None;
    }
    let letter = u32::from(s[8] - b'A' + 1);
    let mut values: Vec<u32> = s[..8].iter().map(|c| u32::from(c - b'0')).collect();
    values.push(letter / 10);
    values.push(letter % 10);
    values.extend(s[9..11].iter().map(|c| u32::from(c - b'0')));
    let sum: u32 = values
        .iter()
        .zip([2, 1, 2, 5, 7, 1, 2, 1, 2, 1, 2, 1])
        .map(|(v, w)| {
            let p = v * w;
            p / 10 + p % 10
        })
        .sum();
    (sum % 10 == u32::from(s[11] - b'0')).then(|| s.to_vec())
}

const DNI_LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";

/// Spanish DNI: 8 digits and the letter `TRWAGMYFPDXBNJZSQVHLCKE`[n mod 23].
pub fn es_dni(raw: &[u8]) -> Option<Vec<u8>> {
    let s = compact_upper(raw);
    if s.len() != 9 || !all_digits(&s[..8]) {
        return None;
    }
    (DNI_LETTERS[(number(&s[..8])? % 23) as usize] == s[8]).then(|| s.to_vec())
}

/// Spanish NIE (foreigners): X/Y/Z (worth 0/1/2), 7 digits, the DNI letter of the 8-digit number.
pub fn es_nie(raw: &[u8]) -> Option<Vec<u8>> {
    let s = compact_upper(raw);
    if s.len() != 9 || !all_digits(&s[1..8]) {
        return None;
    }
    let lead = match s[0] {
        b'X' => 0,
        b'Y' => 1,
        b'Z' => 2,
        _ => return None,
    };
    let n = lead * 10_000_000 + number(&s[1..8])?;
    (DNI_LETTERS[(n % 23) as usize] == s[8]).then(|| s.to_vec())
}

/// Italian codice fiscale: 6 letters, year, month letter, day (+40 for women), municipality,
/// check letter; digits may be replaced by `LMNPQRSTUV` (omocodia, when two people would get
/// the same code).
pub fn it_fiscal_code(raw: &[u8]) -> Option<Vec<u8>> {
    const ODD: [u32; 36] = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];
    const OMOCODIA: &[u8] = b"LMNPQRSTUV";
    let s = raw.to_ascii_uppercase();
    if s.len() != 16 {
        return None;
    }
    let numeric = [6, 7, 9, 10, 12, 13, 14];
    let mut plain = s.clone();
    for (i, c) in s.iter().enumerate() {
        let letter_pos = !numeric.contains(&i);
        if letter_pos {
            if !c.is_ascii_uppercase() {
                return None;
            }
        } else if !c.is_ascii_digit() {
            let k = OMOCODIA.iter().position(|o| o == c)?;
            plain[i] = b'0' + k as u8;
        }
    }
    if !b"ABCDEHLMPRST".contains(&s[8]) {
        return None;
    }
    let day = two(&plain[9..])?;
    if !((1..=31).contains(&day) || (41..=71).contains(&day)) {
        return None;
    }
    let value = |c: u8| -> usize { if c.is_ascii_digit() { usize::from(c - b'0') } else { usize::from(c - b'A') + 10 } };
    // Even positions are worth 0–9 for digits and 0–25 for letters.
    let sum_even_fixed: u32 = s[..15]
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            if i % 2 == 0 {
                ODD[value(c)]
            } else if c.is_ascii_digit() {
                u32::from(c - b'0')
            } else {
                u32::from(c - b'A')
            }
        })
        .sum();
    (b'A' + (sum_even_fixed % 26) as u8 == s[15]).then(|| s.to_vec())
}

/// Dutch BSN: 9 digits, 11-test (9·d1 + 8·d2 + … + 2·d8 − d9 ≡ 0 mod 11), not all zeros.
pub fn nl_bsn(raw: &[u8]) -> Option<Vec<u8>> {
    let d = digits(raw);
    if d.len() != 9 || d.iter().all(|&c| c == b'0') {
        return None;
    }
    let s = weighted_sum(&d[..8], &[9, 8, 7, 6, 5, 4, 3, 2])? as i64 - i64::from(d[8] - b'0');
    (s % 11 == 0).then(|| d.to_vec())
}

/// Belgian national register number: YYMMDD, serial (odd men, even women), check =
/// 97 − (first nine digits mod 97), or with a leading 2 for people born from 2000. Month may be
/// 00 (unknown) or +20/+40 for BIS numbers.
pub fn be_national_number(raw: &[u8]) -> Option<Vec<u8>> {
    let d = digits(raw);
    if d.len() != 11 {
        return None;
    }
    let (month, day) = (two(&d[2..])?, two(&d[4..])?);
    if month % 20 > 12 || month > 52 || day > 31 {
        return None;
    }
    let n = number(&d[..9])?;
    let check = number(&d[9..])?;
    (97 - n % 97 == check || 97 - (2_000_000_000 + n) % 97 == check).then(|| d.to_vec())
}

/// Polish PESEL: YYMMDD with the century in the month (+80 1800s, +0 1900s, +20 2000s, +40,
/// +60), a real date, check (10 − Σ dᵢ·[1,3,7,9,1,3,7,9,1,3] mod 10) mod 10.
pub fn pl_pesel(raw: &[u8]) -> Option<Vec<u8>> {
    let d = digits(raw);
    if d.len() != 11 || d.len() != raw.len() {
        return None;
    }
    let check = (10 - weighted_sum(&d[..10], &[1, 3, 7, 9, 1, 3, 7, 9, 1, 3])? % 10) % 10;
    if check != u32::from(d[10] - b'0') {
        return None;
    }
    let (yy, mm, dd) = (two(&d)?, two(&d[2..])?, two(&d[4..])?);
    let century = match mm / 20 {
        0 => 1900,
        1 => 2000,
        2 => 2100,
        3 => 2200,
        4 => 1800,
        _ => return None,
    };
    is_date(century + yy, mm % 20, dd).then(|| d.to_vec())
}

/// Portuguese NIF: 9 digits with a valid first digit (1–3 people, 5–9 entities), check =
/// 11 − (Σ dᵢ·(9 − i) mod 11), 10 and 11 meaning 0.
pub fn pt_nif(raw: &[u8]) -> Option<Vec<u8>> {
    let d = digits(raw);
    if d.len() != 9 || !matches!(d[0], b'1' | b'2' | b'3' | b'5' | b'6' | b'7' | b'8' | b'9') {
        return None;
    }
    let r = weighted_sum(&d[..8], &[9, 8, 7, 6, 5, 4, 3, 2])? % 11;
    let check = if r < 2 { 0 } else { 11 - r };
    (check == u32::from(d[8] - b'0')).then(|| d.to_vec())
}

/// Swedish personnummer / samordningsnummer: (YY)YYMMDD, `-` or `+` (over 100), NNN and a
/// Luhn check digit over the ten-digit form; day + 60 for coordination numbers.
pub fn se_personnummer(raw: &[u8]) -> Option<Vec<u8>> {
    let d = digits(raw);
    let ten = match d.len() {
        10 => &d[..],
        12 if matches!(&d[..2], b"18" | b"19" | b"20") => &d[2..],
        _ => return None,
    };
    let (mm, dd) = (two(&ten[2..])?, two(&ten[4..])?);
    if !is_date(2000, mm, if dd > 60 { dd - 60 } else { dd }) {
        return None;
    }
    luhn(ten).then(|| ten.to_vec())
}

/// Danish CPR number: DDMMYY-SSSS with a real birth date, its century told by the first digit
/// of the serial (CPR-kontoret's table, as python-stdnum reads it), and not in the future. The
/// modulus-11 check was dropped in 2007, so there is no check digit: the pack requires context.
pub fn dk_cpr(raw: &[u8]) -> Option<Vec<u8>> {
    let d = digits(raw);
    if d.len() != 10 {
        return None;
    }
    let (day, month, yy) = (two(&d)?, two(&d[2..])?, two(&d[4..])?);
    let year = match d[6] {
        b'5'..=b'8' if yy >= 58 => 1800 + yy,
        b'0'..=b'3' => 1900 + yy,
        b'4' | b'9' if yy >= 37 => 1900 + yy,
        _ => 2000 + yy,
    };
    (is_date(year, month, day) && (year, month, day) <= today()).then(|| d.to_vec())
}

/// Today's (year, month, day), UTC: a birth date after it is not one.
fn today() -> (u32, u32, u32) {
    let days = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() / 86_400) as i64;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year as u32, month as u32, day as u32)
}

/// Finnish henkilötunnus: DDMMYY, century sign (`+` 1800s, `-`/`U`–`Y` 1900s, `A`–`F` 2000s),
/// individual number (002–899), check character `0123456789ABCDEFHJKLMNPRSTUVWXY`[DDMMYYNNN mod 31].
pub fn fi_hetu(raw: &[u8]) -> Option<Vec<u8>> {
    const CHECK: &[u8; 31] = b"0123456789ABCDEFHJKLMNPRSTUVWXY";
    let s = raw.to_ascii_uppercase();
    if s.len() != 11 || !all_digits(&s[..6]) || !all_digits(&s[7..10]) {
        return None;
    }
    let century = match s[6] {
        b'+' => 1800,
        b'-' | b'U'..=b'Y' => 1900,
        b'A'..=b'F' => 2000,
        _ => return None,
    };
    if !is_date(century + two(&s[4..])?, two(&s[2..])?, two(&s)?) {
        return None;
    }
    // Individual numbers 002-899; 900-999 are temporary numbers.
    if !(2..=899).contains(&number(&s[7..10])?) {
        return None;
    }
    let mut n = Compact::from_slice(&s[..6]);
    n.extend_from_slice(&s[7..10]);
    (CHECK[mod_decimal(&n, 31)? as usize] == s[10]).then(|| s.to_vec())
}

/// Austrian social insurance number (SVNR): serial (3 digits, no leading 0), check digit, then
/// the birth date DDMMYY; check = Σ dᵢ·[3,7,9,·,5,8,4,2,1,6] mod 11 (10 is never issued).
pub fn at_svnr(raw: &[u8]) -> Option<Vec<u8>> {
    let d = digits(raw);
    if d.len() != 10 || d[0] == b'0' {
        return None;
    }
    let sum = weighted_sum(&d[..3], &[3, 7, 9])? + weighted_sum(&d[4..], &[5, 8, 4, 2, 1, 6])?;
    let (day, month) = (two(&d[4..])?, two(&d[6..])?);
    if !(1..=31).contains(&day) || !(1..=14).contains(&month) {
        return None;
    }
    (sum % 11 != 10 && sum % 11 == u32::from(d[3] - b'0')).then(|| d.to_vec())
}

/// Irish PPS number: 7 digits, a check letter and optionally a second letter. Since 2013 the
/// second letter `A`, `B` or `H` enters the check: (Σ dᵢ·(8 − i) + 9·value(second letter)) mod
/// 23 → `WABCDEFGHIJKLMNOPQRSTUV`; the older `W`, `T` and `X` suffixes do not.
pub fn ie_ppsn(raw: &[u8]) -> Option<Vec<u8>> {
    const LETTERS: &[u8; 23] = b"WABCDEFGHIJKLMNOPQRSTUV";
    let s = compact_upper(raw);
    if !(8..=9).contains(&s.len()) || !all_digits(&s[..7]) || !matches!(s[7], b'A'..=b'W') {
        return None;
    }
    let mut sum = weighted_sum(&s[..7], &[8, 7, 6, 5, 4, 3, 2])?;
    if let Some(&second) = s.get(8) {
        match second {
            b'A' | b'B' | b'H' => sum += 9 * u32::from(second - b'A' + 1),
            b'W' | b'T' | b'X' => {}
            _ => return None,
        }
    }
    (LETTERS[(sum % 23) as usize] == s[7]).then(|| s.to_vec())
}

/// UK National Insurance number: two prefix letters (not D, F, I, Q, U, V; second not O; not
/// BG, GB, KN, NK, NT, TN, ZZ), six digits, suffix A–D.
pub fn gb_nino(raw: &[u8]) -> Option<Vec<u8>> {
    let s = compact_upper(raw);
    if s.len() != 9 || !all_digits(&s[2..8]) || !matches!(s[8], b'A'..=b'D') {
        return None;
    }
    let (a, b) = (s[0], s[1]);
    if !a.is_ascii_uppercase() || !b.is_ascii_uppercase() || b"DFIQUV".contains(&a) || b"DFIQUVO".contains(&b) {
        return None;
    }
    if [b"BG", b"GB", b"KN", b"NK", b"NT", b"TN", b"ZZ"].iter().any(|p| p[..] == s[..2]) {
        return None;
    }
    Some(s.to_vec())
}

/// NHS number (England, Wales, Isle of Man): 10 digits, check = 11 − (Σ dᵢ·(10 − i) mod 11),
/// 11 meaning 0 and 10 never issued.
pub fn gb_nhs_number(raw: &[u8]) -> Option<Vec<u8>> {
    let d = digits(raw);
    if d.len() != 10 {
        return None;
    }
    let r = weighted_sum(&d[..9], &[10, 9, 8, 7, 6, 5, 4, 3, 2])? % 11;
    let check = (11 - r) % 11;
    (check != 10 && check == u32::from(d[9] - b'0')).then(|| d.to_vec())
}

/// US Social Security number AAA-GG-SSSS: area not 000, 666 or 900–999, group not 00, serial
/// not 0000 (randomised issuance since 2011 kept these rules), and not one of the numbers known
/// from specimen cards and examples (`078-05-1120`…).
pub fn us_ssn(raw: &[u8]) -> Option<Vec<u8>> {
    let d = digits(raw);
    if d.len() != 9 {
        return None;
    }
    let (area, group, serial) = (&d[..3], &d[3..5], &d[5..]);
    if area == b"000" || area == b"666" || area[0] == b'9' || group == b"00" || serial == b"0000" {
        return None;
    }
    // Numbers made public on a specimen card or in advertising.
    if [b"078051120", b"457555462", b"219099999"].iter().any(|n| n[..] == d[..]) {
        return None;
    }
    Some(d.to_vec())
}

/// Romanian CNP: sex/century digit 1–8, YYMMDD, county 01–52, serial, check =
/// Σ dᵢ·279146358279 mod 11 (10 meaning 1).
pub fn ro_cnp(raw: &[u8]) -> Option<Vec<u8>> {
    let d = digits(raw);
    if d.len() != 13 || !matches!(d[0], b'1'..=b'8') {
        return None;
    }
    let century = match d[0] {
        b'1' | b'2' => 1900,
        b'3' | b'4' => 1800,
        b'5' | b'6' => 2000,
        _ => 1900,
    };
    if !is_date(century + two(&d[1..])?, two(&d[3..])?, two(&d[5..])?) || !(1..=52).contains(&two(&d[7..])?) {
        return None;
    }
    let r = weighted_sum(&d[..12], &[2, 7, 9, 1, 4, 6, 3, 5, 8, 2, 7, 9])? % 11;
    ((if r == 10 { 1 } else { r }) == u32::from(d[12] - b'0')).then(|| d.to_vec())
}

/// Croatian OIB: 11 digits, ISO 7064 MOD 11,10 check digit.
pub fn hr_oib(raw: &[u8]) -> Option<Vec<u8>> {
    let d = digits(raw);
    (d.len() == 11 && iso7064_mod11_10(&d[..10])? == d[10] - b'0').then(|| d.to_vec())
}

/// Czech/Slovak birth number (rodné číslo), ten-digit form: YYMMDD (+50 to the month for women,
/// +20 since 2004), `/`, serial; the whole number is divisible by 11 (or the first nine give
/// remainder 10 and the last digit is 0).
pub fn cz_birth_number(raw: &[u8]) -> Option<Vec<u8>> {
    let d = digits(raw);
    if d.len() != 10 {
        return None;
    }
    let month = two(&d[2..])? % 50;
    let month = if month > 20 { month - 20 } else { month };
    if !is_date(2000, month, two(&d[4..])?) {
        return None;
    }
    let ok = number(&d)? % 11 == 0 || (number(&d[..9])? % 11 == 10 && d[9] == b'0');
    ok.then(|| d.to_vec())
}

/// Estonian isikukood (also Lithuanian asmens kodas): sex/century digit 1–6, YYMMDD, serial,
/// check with weights 1..9,1 mod 11, retried with 3..9,1,2,3 when 10, 0 when 10 again.
pub fn ee_personal_code(raw: &[u8]) -> Option<Vec<u8>> {
    let d = digits(raw);
    if d.len() != 11 || !matches!(d[0], b'1'..=b'6') {
        return None;
    }
    let century = 1800 + 100 * u32::from((d[0] - b'1') / 2);
    if !is_date(century + two(&d[1..])?, two(&d[3..])?, two(&d[5..])?) {
        return None;
    }
    let mut r = weighted_sum(&d[..10], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 1])? % 11;
    if r == 10 {
        r = weighted_sum(&d[..10], &[3, 4, 5, 6, 7, 8, 9, 1, 2, 3])? % 11;
        if r == 10 {
            r = 0;
        }
    }
    (r == u32::from(d[10] - b'0')).then(|| d.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(f: fn(&[u8]) -> Option<Vec<u8>>, s: &str) -> bool {
        f(s.as_bytes()).is_some()
    }

    #[test]
    fn fr_nir_key_and_corsica() {
        let n: u64 = 1841276451089;
        let key = 97 - n % 97;
        assert!(ok(fr_nir, &format!("1 84 12 76 451 089 {key:02}")));
        assert!(!ok(fr_nir, &format!("1 84 12 76 451 089 {:02}", (key % 97) + 1)));
        // Corsica: 2A counts as 19 for the key.
        let c: u64 = 2_900_319_123_456;
        let ck = 97 - c % 97;
        assert!(ok(fr_nir, &format!("2 90 03 2A 123 456 {ck:02}")));
        let c: u64 = 2_900_318_123_456;
        let ck = 97 - c % 97;
        assert!(ok(fr_nir, &format!("290032B123456{ck:02}")));
        assert!(!ok(fr_nir, "5 84 12 76 451 089 46"), "sex digit 5 does not exist");
    }

    #[test]
    fn de_tax_id_digit_rule_and_check() {
        assert!(ok(de_tax_id, "86095742719"));
        assert!(ok(de_tax_id, "86 095 742 719"));
        assert!(!ok(de_tax_id, "86095742718"), "bad check digit");
        assert!(!ok(de_tax_id, "12345678903"), "no repeated digit");
        assert!(!ok(de_tax_id, "01234567890"), "leading zero");
    }

    #[test]
    fn de_pension_number_reference() {
        assert!(ok(de_pension_number, "65170839J003"));
        assert!(!ok(de_pension_number, "65170839J004"));
    }

    #[test]
    fn spanish_dni_and_nie() {
        assert!(ok(es_dni, "12345678Z"));
        assert!(ok(es_dni, "12345678-Z"));
        assert!(!ok(es_dni, "12345678A"));
        assert!(ok(es_nie, "X1234567L"));
        assert!(ok(es_nie, "Y-1234567-X"));
        assert!(!ok(es_nie, "X1234567A"));
    }

    #[test]
    fn italian_codice_fiscale_with_omocodia() {
        assert!(ok(it_fiscal_code, "RSSMRA85T10A562S"));
        assert!(ok(it_fiscal_code, "RSSMRA85T10A56NH"), "omocodia: last digit of the municipality as N");
        assert!(!ok(it_fiscal_code, "RSSMRA85T10A562T"));
        assert!(!ok(it_fiscal_code, "RSSMRA85Z10A562S"), "Z is not a month letter");
    }

    #[test]
    fn danish_cpr_century_from_the_serial_and_no_birth_in_the_future() {
        assert!(ok(dk_cpr, "211062-5629"), "serial 5xxx, year 62: born in 1862");
        assert!(ok(dk_cpr, "010190-1234"), "serial 1xxx: the 1900s");
        assert!(ok(dk_cpr, "0101104000"), "serial 4xxx, year 10: 2010");
        assert!(!ok(dk_cpr, "211052-5629"), "serial 5xxx, year 52: 2052, not born yet");
        assert!(!ok(dk_cpr, "300290-1234"), "no 30 February");
        let (year, month, day) = today();
        assert!(year >= 2026 && (1..=12).contains(&month) && (1..=31).contains(&day));
    }

    #[test]
    fn dutch_bsn_eleven_test() {
        assert!(ok(nl_bsn, "111222333"));
        assert!(ok(nl_bsn, "123456782"));
        assert!(!ok(nl_bsn, "123456789"));
        assert!(!ok(nl_bsn, "000000000"));
    }

    #[test]
    fn belgian_number_both_centuries() {
        assert!(ok(be_national_number, "85.07.30-033.28"));
        assert!(ok(be_national_number, "17073003384"), "born in 2017");
        assert!(!ok(be_national_number, "85073003329"));
    }

    #[test]
    fn polish_pesel() {
        assert!(ok(pl_pesel, "44051401359"));
        assert!(ok(pl_pesel, "02270803624"), "born in 2002 (month + 20)");
        assert!(!ok(pl_pesel, "44051401358"));
        assert!(!ok(pl_pesel, "44023101357"), "31 February");
    }

    #[test]
    fn portuguese_nif() {
        assert!(ok(pt_nif, "123456789"));
        assert!(ok(pt_nif, "501964843"));
        assert!(!ok(pt_nif, "123456788"));
        assert!(!ok(pt_nif, "423456789"), "4 is not a valid first digit");
    }

    #[test]
    fn nordic_numbers() {
        assert!(ok(se_personnummer, "811228-9874"));
        assert!(ok(se_personnummer, "19811228-9874"));
        assert!(!ok(se_personnummer, "811228-9875"));
        assert!(ok(dk_cpr, "070761-4285"));
        assert!(!ok(dk_cpr, "320761-4285"));
        assert!(ok(fi_hetu, "131052-308T"));
        assert!(ok(fi_hetu, "010101A123N") == fi_hetu(b"010101A123N").is_some());
        assert!(!ok(fi_hetu, "131052-308U"));
    }

    #[test]
    fn austrian_irish_and_british_numbers() {
        assert!(ok(at_svnr, "1237 010180"));
        assert!(!ok(at_svnr, "1238 010180"));
        assert!(ok(ie_ppsn, "1234567T"));
        assert!(ok(ie_ppsn, "1234567FA"));
        assert!(!ok(ie_ppsn, "1234567A"));
        assert!(ok(gb_nino, "AB 12 34 56 C"));
        assert!(!ok(gb_nino, "GB123456A"));
        assert!(!ok(gb_nino, "AO123456A"));
        assert!(ok(gb_nhs_number, "943 476 5919"));
        assert!(!ok(gb_nhs_number, "943 476 5918"));
        assert!(ok(us_ssn, "536-22-1234"));
        assert!(!ok(us_ssn, "666-22-1234"));
        assert!(!ok(us_ssn, "936-22-1234"));
        assert!(!ok(us_ssn, "536-00-1234"));
    }

    #[test]
    fn central_and_eastern_european_numbers() {
        assert!(ok(ro_cnp, "1800101221144"));
        assert!(!ok(ro_cnp, "1800101221145"));
        assert!(ok(hr_oib, "69435151530"));
        assert!(!ok(hr_oib, "69435151531"));
        assert!(ok(cz_birth_number, "736028/5163"));
        assert!(!ok(cz_birth_number, "736028/5164"));
        assert!(ok(ee_personal_code, "37605030299"));
        assert!(!ok(ee_personal_code, "37605030298"));
    }
}
