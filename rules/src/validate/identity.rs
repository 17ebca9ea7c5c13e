//! Identity documents and dates of birth: passports (machine-readable zone, French passport
//! numbers), German identity cards.

use super::checksum::{all_digits, icao_check, is_date, two};

/// A calendar date written `DD.MM.YYYY`, `DD/MM/YYYY`, `DD-MM-YYYY` or ISO `YYYY-MM-DD`, with a
/// year from 1900 to 2099. The pack requires a birth context word: a date alone is not a
/// date of birth. Normalised to `YYYY-MM-DD`.
pub fn date_of_birth(raw: &[u8]) -> Option<Vec<u8>> {
    // No collected parts and no `format!`: every date-shaped token of a log comes here.
    let mut parts = raw.split(|b| matches!(b, b'.' | b'/' | b'-'));
    let (Some(a), Some(b), Some(c), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else { return None };
    let num = |s: &[u8]| -> Option<u32> { super::checksum::number(s).map(|n| n as u32) };
    let (y, m, d) = if a.len() == 4 {
        (num(a)?, num(b)?, num(c)?)
    } else if c.len() == 4 {
        (num(c)?, num(b)?, num(a)?)
    } else {
        return None;
    };
    if !(1900..=2099).contains(&y) || !is_date(y, m, d) {
        return None;
    }
    // y has four digits, m and d at most two (is_date).
    let digit = |n: u32| b'0' + (n % 10) as u8;
    Some(vec![digit(y / 1000), digit(y / 100), digit(y / 10), digit(y), b'-', digit(m / 10), digit(m), b'-', digit(d / 10), digit(d)])
}

/// French passport number: two digits, two letters, five digits (no check digit exists; the
/// pack requires a context word).
pub fn fr_passport(raw: &[u8]) -> Option<Vec<u8>> {
    let s = super::checksum::compact_upper(raw);
    (s.len() == 9 && all_digits(&s[..2]) && s[2..4].iter().all(u8::is_ascii_uppercase) && all_digits(&s[4..])).then(|| s.to_vec())
}

/// German identity card (Personalausweis) serial number: nine characters from
/// `CFGHJKLMNPRTVWXYZ0-9` then the ICAO 7-3-1 check digit.
pub fn de_id_card(raw: &[u8]) -> Option<Vec<u8>> {
    let s = super::checksum::compact_upper(raw);
    let s = if s.len() == 11 && s.ends_with(b"D") { super::checksum::Compact::from_slice(&s[..10]) } else { s };
    if s.len() != 10 || !s[..9].iter().all(|c| c.is_ascii_digit() || b"CFGHJKLMNPRTVWXYZ".contains(c)) {
        return None;
    }
    (s[9].is_ascii_digit() && icao_check(&s[..9])? == s[9] - b'0').then(|| s.to_vec())
}

/// Second line of a passport's machine-readable zone (ICAO 9303 TD3, 44 characters): check
/// digits of the document number, birth date and expiry date, and the composite check digit.
/// Normalised to the document number and birth date (the rest identifies nobody further).
pub fn passport_mrz(raw: &[u8]) -> Option<Vec<u8>> {
    if raw.len() != 44 {
        return None;
    }
    let digit = |i: usize| -> Option<u8> { raw[i].is_ascii_digit().then(|| raw[i] - b'0') };
    let check = |field: &[u8], at: usize| -> Option<bool> { Some(icao_check(field)? == digit(at)?) };
    let (doc, dob, exp) = (&raw[0..9], &raw[13..19], &raw[21..27]);
    if !raw[10..13].iter().all(|c| c.is_ascii_uppercase() || *c == b'<') || !matches!(raw[20], b'M' | b'F' | b'X' | b'<') {
        return None;
    }
    if !check(doc, 9)? || !check(dob, 19)? || !check(exp, 27)? {
        return None;
    }
    let (m, d) = (two(&dob[2..])?, two(&dob[4..])?);
    if !is_date(2000, m, d) {
        return None;
    }
    // Personal number check may be `<` when the field is empty.
    if raw[42] != b'<' && !check(&raw[28..42], 42)? {
        return None;
    }
    let mut composite = Vec::with_capacity(39);
    composite.extend_from_slice(&raw[0..10]);
    composite.extend_from_slice(&raw[13..20]);
    composite.extend_from_slice(&raw[21..43]);
    if !check(&composite, 43)? {
        return None;
    }
    let mut out = doc.to_vec();
    out.push(b'|');
    out.extend_from_slice(dob);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_of_birth() {
        assert_eq!(date_of_birth(b"29.02.1988").unwrap(), b"1988-02-29");
        assert_eq!(date_of_birth(b"1975-12-01").unwrap(), b"1975-12-01");
        assert!(date_of_birth(b"29.02.1989").is_none());
        assert!(date_of_birth(b"01/01/1850").is_none());
    }

    #[test]
    fn mrz_specimen() {
        // ICAO 9303 part 4 specimen (Utopia, Anna Maria Eriksson).
        assert!(passport_mrz(b"L898902C36UTO7408122F1204159ZE184226B<<<<<10").is_some());
        assert!(passport_mrz(b"L898902C36UTO7408122F1204159ZE184226B<<<<<11").is_none());
        assert!(passport_mrz(b"L898902C37UTO7408122F1204159ZE184226B<<<<<10").is_none());
    }

    #[test]
    fn id_documents() {
        assert!(de_id_card(b"T220001293").is_some());
        assert!(de_id_card(b"T220001294").is_none());
        assert!(de_id_card(b"A220001293").is_none(), "A is not in the alphabet");
        assert!(fr_passport(b"15AB12345").is_some());
        assert!(fr_passport(b"15A112345").is_none());
    }
}
