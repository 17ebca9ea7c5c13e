//! Check-digit arithmetic shared by several families: Luhn, decimal mod-n, ISO 7064 MOD 11,10,
//! weighted sums and the ICAO 9303 7-3-1 scheme.
//!
//! These work on ASCII digits and return `false`/`None` instead of panicking on anything else,
//! so a validator can feed them any slice of a candidate.

/// A candidate's significant characters, held on the stack up to 64 bytes. Validators refuse
/// most of what they see (card-shaped runs failing Luhn, every rival of a digit run): a refusal
/// should not cost an allocation, so the normalised `Vec` is made only for a valid value.
pub type Compact = smallvec::SmallVec<[u8; 64]>;

/// The ASCII alphanumerics of `raw`, upper-cased (separators dropped).
pub fn compact_upper(raw: &[u8]) -> Compact {
    raw.iter().filter(|b| b.is_ascii_alphanumeric()).map(|b| b.to_ascii_uppercase()).collect()
}

/// The ASCII digits of `raw`.
pub fn digits(raw: &[u8]) -> Compact {
    raw.iter().filter(|b| b.is_ascii_digit()).copied().collect()
}

/// True when every byte is an ASCII digit (and there is at least one).
pub fn all_digits(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(u8::is_ascii_digit)
}

/// The number written by ASCII digits (`None` for a non-digit or overflow).
pub fn number(s: &[u8]) -> Option<u64> {
    if !all_digits(s) || s.len() > 19 {
        return None;
    }
    Some(s.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0')))
}

/// Luhn checksum over ASCII digits (true when valid).
pub fn luhn(digits: &[u8]) -> bool {
    if !all_digits(digits) {
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
    sum.is_multiple_of(10)
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

/// ISO 7064 MOD 11,10 check digit of a digit string (German Steuer-ID, Croatian OIB).
pub fn iso7064_mod11_10(digits: &[u8]) -> Option<u8> {
    let mut product = 10u32;
    for d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        let mut sum = (u32::from(d - b'0') + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    let check = (11 - product) % 10;
    Some(check as u8)
}

/// Σ digit × weight over the common prefix of `digits` and `weights`.
pub fn weighted_sum(digits: &[u8], weights: &[u32]) -> Option<u32> {
    let mut s = 0u32;
    for (d, w) in digits.iter().zip(weights) {
        if !d.is_ascii_digit() {
            return None;
        }
        s += u32::from(d - b'0') * w;
    }
    Some(s)
}

/// ICAO 9303 check digit (weights 7, 3, 1; `<` = 0, A = 10 … Z = 35).
pub fn icao_check(field: &[u8]) -> Option<u8> {
    let mut s = 0u32;
    for (i, &c) in field.iter().enumerate() {
        let v = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            b'<' => 0,
            _ => return None,
        };
        s += v * [7, 3, 1][i % 3];
    }
    Some((s % 10) as u8)
}

/// True when (year, month, day) is a date of the Gregorian calendar.
pub fn is_date(year: u32, month: u32, day: u32) -> bool {
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// Two ASCII digits as a number.
pub fn two(s: &[u8]) -> Option<u32> {
    number(s.get(..2)?).map(|n| n as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_known_numbers() {
        assert!(luhn(b"4111111111111111"));
        assert!(luhn(b"79927398713"));
        assert!(!luhn(b"4111111111111112"));
        assert!(!luhn(b""));
    }

    #[test]
    fn iso7064_known_values() {
        // Croatian OIB 69435151530 and German test Steuer-ID 86095742719.
        assert_eq!(iso7064_mod11_10(b"6943515153"), Some(0));
        assert_eq!(iso7064_mod11_10(b"8609574271"), Some(9));
    }

    #[test]
    fn icao_specimen() {
        // ICAO 9303 specimen: document number L898902C3, check digit 6.
        assert_eq!(icao_check(b"L898902C3"), Some(6));
        assert_eq!(icao_check(b"740812"), Some(2));
    }

    #[test]
    fn calendar() {
        assert!(is_date(2000, 2, 29));
        assert!(!is_date(1900, 2, 29));
        assert!(!is_date(2021, 4, 31));
        assert!(!is_date(2021, 13, 1));
    }
}
