//! Property tests: every checksum validator agrees with a straightforward reference
//! implementation, written here independently from the textbook definition (string arithmetic,
//! big integers, no shared helpers), on random and on constructed-valid inputs.

use custos_rules::validate::Validator;
use proptest::prelude::*;

fn ok(v: Validator, s: &str) -> bool {
    v.check(s.as_bytes()).is_some()
}

fn digits_of(s: &str) -> Vec<u32> {
    s.chars().filter_map(|c| c.to_digit(10)).collect()
}

fn ref_luhn(s: &str) -> bool {
    let d = digits_of(s);
    let mut sum = 0;
    for (i, x) in d.iter().rev().enumerate() {
        let mut x = *x;
        if i % 2 == 1 {
            x *= 2;
            if x > 9 {
                x -= 9;
            }
        }
        sum += x;
    }
    !d.is_empty() && sum % 10 == 0
}

/// Mod 97 of a decimal string, digit by digit as written on paper.
fn ref_mod97(s: &str) -> u64 {
    s.chars().fold(0, |r, c| (r * 10 + c.to_digit(10).unwrap() as u64) % 97)
}

fn ref_iban_ok(s: &str) -> bool {
    let rearranged: String =
        s[4..].chars().chain(s[..4].chars()).map(|c| if c.is_ascii_digit() { c.to_string() } else { (c as u64 - 'A' as u64 + 10).to_string() }).collect();
    ref_mod97(&rearranged) == 1
}

fn ref_iso7064(s: &str) -> u32 {
    let mut p = 10;
    for d in digits_of(s) {
        let mut t = (d + p) % 10;
        if t == 0 {
            t = 10;
        }
        p = (t * 2) % 11;
    }
    (11 - p) % 10
}

fn ref_bsn_ok(s: &str) -> bool {
    let d = digits_of(s);
    let sum: i64 = (0..8).map(|i| d[i] as i64 * (9 - i as i64)).sum::<i64>() - d[8] as i64;
    sum % 11 == 0 && s != "000000000"
}

fn ref_pesel_check(s: &str) -> u32 {
    let w = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3];
    let d = digits_of(s);
    (10 - (0..10).map(|i| d[i] * w[i]).sum::<u32>() % 10) % 10
}

fn ref_nhs_check(s: &str) -> Option<u32> {
    let d = digits_of(s);
    let r = (0..9).map(|i| d[i] * (10 - i as u32)).sum::<u32>() % 11;
    match 11 - r {
        11 => Some(0),
        10 => None,
        c => Some(c),
    }
}

fn ref_dni_letter(n: u64) -> char {
    "TRWAGMYFPDXBNJZSQVHLCKE".chars().nth((n % 23) as usize).unwrap()
}

proptest! {
    #[test]
    fn payment_card_luhn_agrees(body in "4[0-9]{14}", last in 0u32..10) {
        let s = format!("{body}{last}");
        prop_assert_eq!(ok(Validator::PaymentCard, &s), ref_luhn(&s));
    }

    #[test]
    fn iban_agrees_with_string_arithmetic(check in 0u32..100, bban in "[0-9]{18}") {
        let s = format!("DE{check:02}{bban}");
        prop_assert_eq!(ok(Validator::Iban, &s), ref_iban_ok(&s));
    }

    #[test]
    fn iban_with_letters_agrees(check in 0u32..100, bank in "[A-Z]{4}", rest in "[0-9]{14}") {
        let s = format!("GB{check:02}{bank}{rest}");
        prop_assert_eq!(ok(Validator::Iban, &s), ref_iban_ok(&s));
    }

    #[test]
    fn fr_nir_key_agrees(sex in prop::sample::select(vec!['1', '2']), yy in 0u32..100, mm in 1u32..13, dep in prop::sample::select(vec!["75", "2A", "2B", "13"]), rest in "[0-9]{6}", key in 0u32..100) {
        let s = format!("{sex}{yy:02}{mm:02}{dep}{rest}{key:02}");
        let body = s[..13].replace("2A", "19").replace("2B", "18");
        let expected = 97 - ref_mod97(&body) == key as u64;
        prop_assert_eq!(ok(Validator::FrNir, &s), expected);
    }

    #[test]
    fn de_tax_id_check_digit_agrees(first in 1u32..10, rest in "[0-9]{9}", check in 0u32..10) {
        let s = format!("{first}{rest}{check}");
        let ten = &s[..10];
        let mut counts = [0; 10];
        for d in digits_of(ten) { counts[d as usize] += 1; }
        let multi: Vec<usize> = (0..10).filter(|&i| counts[i] > 1).collect();
        let rule = multi.len() == 1 && counts[multi[0]] <= 3
            && !(counts[multi[0]] == 3 && ten.contains(&multi[0].to_string().repeat(3)));
        prop_assert_eq!(ok(Validator::DeTaxId, &s), rule && ref_iso7064(ten) == check);
    }

    #[test]
    fn hr_oib_agrees(body in "[0-9]{10}", check in 0u32..10) {
        let s = format!("{body}{check}");
        prop_assert_eq!(ok(Validator::HrOib, &s), ref_iso7064(&body) == check);
    }

    #[test]
    fn nl_bsn_agrees(s in "[0-9]{9}") {
        prop_assert_eq!(ok(Validator::NlBsn, &s), ref_bsn_ok(&s));
    }

    #[test]
    fn pl_pesel_check_agrees_on_valid_dates(yy in 0u32..100, mm in 1u32..13, dd in 1u32..29, serial in "[0-9]{4}", check in 0u32..10) {
        let s = format!("{yy:02}{mm:02}{dd:02}{serial}{check}");
        prop_assert_eq!(ok(Validator::PlPesel, &s), ref_pesel_check(&s) == check);
    }

    #[test]
    fn es_dni_and_nie_letters_agree(n in 0u64..100_000_000, letter in "[A-Z]", lead in 0u64..3) {
        let dni = format!("{n:08}{letter}");
        prop_assert_eq!(ok(Validator::EsDni, &dni), ref_dni_letter(n).to_string() == letter);
        let seven = n % 10_000_000;
        let nie = format!("{}{seven:07}{letter}", ["X", "Y", "Z"][lead as usize]);
        prop_assert_eq!(ok(Validator::EsNie, &nie), ref_dni_letter(lead * 10_000_000 + seven).to_string() == letter);
    }

    #[test]
    fn gb_nhs_number_agrees(s in "[0-9]{10}") {
        let expected = ref_nhs_check(&s) == Some(digits_of(&s)[9]);
        prop_assert_eq!(ok(Validator::GbNhsNumber, &s), expected);
    }

    #[test]
    fn be_national_number_agrees(yy in 0u32..100, mm in 1u32..13, dd in 1u32..29, serial in 1u32..999, check in 0u32..100) {
        let s = format!("{yy:02}{mm:02}{dd:02}{serial:03}{check:02}");
        let n9 = &s[..9];
        let expected = 97 - ref_mod97(n9) == check as u64 || 97 - ref_mod97(&format!("2{n9}")) == check as u64;
        prop_assert_eq!(ok(Validator::BeNationalNumber, &s), expected);
    }

    #[test]
    fn se_personnummer_luhn_agrees(yy in 0u32..100, mm in 1u32..13, dd in 1u32..29, serial in "[0-9]{4}") {
        let s = format!("{yy:02}{mm:02}{dd:02}-{serial}");
        prop_assert_eq!(ok(Validator::SePersonnummer, &s), ref_luhn(&s));
    }

    #[test]
    fn validators_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        for (_, v) in Validator::ALL {
            let _ = v.check(&bytes);
        }
    }
}

/// Number shapes reach the arithmetic random bytes rarely do (a CZ special VAT number once
/// overflowed there): every country prefix of the VAT and IBAN validators, with and without a
/// separator, before digit strings of every length up to 16 and every leading digit.
#[test]
fn validators_never_panic_on_number_shapes() {
    let prefixes = [
        "", "AT", "ATU", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "GB", "HR", "HU", "IE", "IT", "LT", "LU", "LV", "MT", "NL", "NO",
        "PL", "PT", "RO", "SE", "SI", "SK", "XI", "EU", "ME", "LY",
    ];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut digit = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        b'0' + (seed % 10) as u8
    };
    for prefix in prefixes {
        for sep in ["", " "] {
            for len in 1..=16 {
                for first in b'0'..=b'9' {
                    for _ in 0..4 {
                        let mut s = format!("{prefix}{sep}").into_bytes();
                        s.push(first);
                        s.extend((1..len).map(|_| digit()));
                        for (_, v) in Validator::ALL {
                            let _ = v.check(&s);
                        }
                    }
                }
            }
        }
    }
}
