//! IBANs: the ISO 13616 registry (country, length, BBAN structure) and the national check
//! digits some countries put inside the BBAN.

use super::checksum::{Compact, compact_upper, mod_decimal, weighted_sum};

/// The IBAN registry (release 101): country, IBAN length, BBAN structure (`n` digit, `a` upper-case
/// letter, `c` letter or digit), one character of the structure per BBAN position.
pub const IBAN_REGISTRY: &[(&str, usize, &str)] = &[
    ("AD", 24, "4!n4!n12!c"),
    ("AE", 23, "3!n16!n"),
    ("AL", 28, "8!n16!c"),
    ("AT", 20, "5!n11!n"),
    ("AZ", 28, "4!a20!c"),
    ("BA", 20, "3!n3!n8!n2!n"),
    ("BE", 16, "3!n7!n2!n"),
    ("BG", 22, "4!a4!n2!n8!c"),
    ("BH", 22, "4!a14!c"),
    ("BI", 27, "5!n5!n11!n2!n"),
    ("BR", 29, "8!n5!n10!n1!a1!c"),
    ("BY", 28, "4!c4!n16!c"),
    ("CH", 21, "5!n12!c"),
    ("CR", 22, "4!n14!n"),
    ("CY", 28, "3!n5!n16!c"),
    ("CZ", 24, "4!n16!n"),
    ("DE", 22, "8!n10!n"),
    ("DJ", 27, "5!n5!n11!n2!n"),
    ("DK", 18, "4!n9!n1!n"),
    ("DO", 28, "4!c20!n"),
    ("EE", 20, "2!n14!n"),
    ("EG", 29, "4!n4!n17!n"),
    ("ES", 24, "4!n4!n1!n1!n10!n"),
    ("FI", 18, "3!n11!n"),
    ("FK", 18, "2!a12!n"),
    ("FO", 18, "4!n9!n1!n"),
    ("FR", 27, "5!n5!n11!c2!n"),
    ("GB", 22, "4!a6!n8!n"),
    ("GE", 22, "2!a16!n"),
    ("GI", 23, "4!a15!c"),
    ("GL", 18, "4!n9!n1!n"),
    ("GR", 27, "3!n4!n16!c"),
    ("GT", 28, "4!c20!c"),
    ("HN", 28, "4!a20!n"),
    ("HR", 21, "7!n10!n"),
    ("HU", 28, "3!n4!n1!n15!n1!n"),
    ("IE", 22, "4!a6!n8!n"),
    ("IL", 23, "3!n3!n13!n"),
    ("IQ", 23, "4!a3!n12!n"),
    ("IS", 26, "4!n2!n6!n10!n"),
    ("IT", 27, "1!a5!n5!n12!c"),
    ("JO", 30, "4!a4!n18!c"),
    ("KW", 30, "4!a22!c"),
    ("KZ", 20, "3!n13!c"),
    ("LB", 28, "4!n20!c"),
    ("LC", 32, "4!a24!c"),
    ("LI", 21, "5!n12!c"),
    ("LT", 20, "5!n11!n"),
    ("LU", 20, "3!n13!c"),
    ("LV", 21, "4!a13!c"),
    ("LY", 25, "3!n3!n15!n"),
    ("MC", 27, "5!n5!n11!c2!n"),
    ("MD", 24, "2!c18!c"),
    ("ME", 22, "3!n13!n2!n"),
    ("MK", 19, "3!n10!c2!n"),
    ("MN", 20, "4!n12!n"),
    ("MR", 27, "5!n5!n11!n2!n"),
    ("MT", 31, "4!a5!n18!c"),
    ("MU", 30, "4!a2!n2!n12!n3!n3!a"),
    ("NI", 28, "4!a20!n"),
    ("NL", 18, "4!a10!n"),
    ("NO", 15, "4!n6!n1!n"),
    ("OM", 23, "3!n16!c"),
    ("PK", 24, "4!a16!c"),
    ("PL", 28, "8!n16!n"),
    ("PS", 29, "4!a21!c"),
    ("PT", 25, "4!n4!n11!n2!n"),
    ("QA", 29, "4!a21!c"),
    ("RO", 24, "4!a16!c"),
    ("RS", 22, "3!n13!n2!n"),
    ("RU", 33, "9!n5!n15!c"),
    ("SA", 24, "2!n18!c"),
    ("SC", 31, "4!a2!n2!n16!n3!a"),
    ("SD", 18, "2!n12!n"),
    ("SE", 24, "3!n16!n1!n"),
    ("SI", 19, "5!n8!n2!n"),
    ("SK", 24, "4!n6!n10!n"),
    ("SM", 27, "1!a5!n5!n12!c"),
    ("SO", 23, "4!n3!n12!n"),
    ("ST", 25, "4!n4!n11!n2!n"),
    ("SV", 28, "4!a20!n"),
    ("TL", 23, "3!n14!n2!n"),
    ("TN", 24, "2!n3!n13!n2!n"),
    ("TR", 26, "5!n1!n16!c"),
    ("UA", 29, "6!n19!c"),
    ("VA", 22, "3!n15!n"),
    ("VG", 24, "4!a16!n"),
    ("XK", 20, "4!n10!n2!n"),
    ("YE", 30, "4!a4!n18!c"),
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

/// True when `bban` follows the registry's structure (`4!n4!n12!c`: counts and kinds).
fn bban_matches(structure: &str, bban: &[u8]) -> bool {
    let mut pos = 0;
    for part in structure.split_inclusive(|c: char| c.is_ascii_lowercase()) {
        let Some((count, kind)) = part.split_once('!') else { return false };
        let Ok(count) = count.parse::<usize>() else { return false };
        let Some(field) = bban.get(pos..pos + count) else { return false };
        let ok = match kind {
            "n" => field.iter().all(u8::is_ascii_digit),
            "a" => field.iter().all(u8::is_ascii_uppercase),
            _ => field.iter().all(u8::is_ascii_alphanumeric),
        };
        if !ok {
            return false;
        }
        pos += count;
    }
    pos == bban.len()
}

/// The Belgian bank codes in use (the first three digits of the BBAN), as ranges: the National
/// Bank of Belgium's grouped list of 01/01/2026 (as python-stdnum ships it, `be/banks.dat`),
/// adjacent ranges merged. An account under a code no bank holds is not a real account, however
/// its check digits add up. A new bank's code needs an update here.
const BE_BANK_CODES: &[(u16, u16)] = &[
    (0, 111),
    (113, 116),
    (119, 127),
    (129, 134),
    (137, 137),
    (140, 150),
    (171, 171),
    (175, 176),
    (185, 185),
    (189, 214),
    (220, 499),
    (501, 501),
    (504, 504),
    (507, 510),
    (512, 515),
    (521, 525),
    (538, 538),
    (541, 541),
    (546, 546),
    (548, 560),
    (562, 579),
    (581, 581),
    (583, 583),
    (585, 588),
    (590, 601),
    (603, 605),
    (607, 607),
    (610, 613),
    (624, 625),
    (630, 631),
    (634, 636),
    (638, 638),
    (640, 640),
    (642, 654),
    (657, 658),
    (663, 664),
    (666, 680),
    (682, 689),
    (693, 696),
    (699, 709),
    (719, 719),
    (722, 722),
    (725, 765),
    (772, 806),
    (817, 817),
    (823, 826),
    (828, 828),
    (830, 840),
    (845, 845),
    (850, 853),
    (859, 860),
    (862, 863),
    (865, 866),
    (868, 868),
    (871, 871),
    (873, 873),
    (876, 881),
    (883, 884),
    (887, 888),
    (890, 899),
    (903, 908),
    (910, 911),
    (913, 917),
    (920, 920),
    (922, 924),
    (926, 926),
    (929, 931),
    (934, 934),
    (936, 936),
    (939, 943),
    (945, 945),
    (948, 961),
    (963, 964),
    (967, 969),
    (971, 971),
    (973, 984),
    (989, 999),
];

/// The national check digits inside the BBAN, for the countries that define them (the same
/// ones python-stdnum checks: BE, ES, ME, NO; for BE also the bank code). France's RIB key is not checked: account numbers
/// made up by test-data generators rarely carry a right one, and the mod-97 of the IBAN
/// already catches a mistyped digit.
fn national_check(cc: &[u8], bban: &[u8]) -> bool {
    match cc {
        // Belgian account number: the last two digits are the first ten mod 97 (97 for 0).
        b"BE" => match (mod_decimal(&bban[..10], 97), mod_decimal(&bban[10..], 100), mod_decimal(&bban[..3], 1000)) {
            (Some(r), Some(check), Some(bank)) => {
                (if r == 0 { 97 } else { r }) == check && BE_BANK_CODES.iter().any(|&(lo, hi)| (lo..=hi).contains(&(bank as u16)))
            }
            _ => false,
        },
        // Spanish CCC: bank+branch and account each have a mod-11 digit (weights 2^i).
        b"ES" => {
            let digit = |part: &[u8]| -> Option<u8> {
                let sum: u32 = part.iter().enumerate().map(|(i, d)| u32::from(d - b'0') * (1 << i) % 11).sum::<u32>() % 11;
                Some(if sum < 2 { sum as u8 } else { (11 - sum) as u8 })
            };
            let mut first = Compact::from_slice(b"00");
            first.extend_from_slice(&bban[..8]);
            digit(&first) == Some(bban[8] - b'0') && digit(&bban[10..]) == Some(bban[9] - b'0')
        }
        // Montenegro: the BBAN itself is mod 97 = 1.
        b"ME" => mod_decimal(bban, 97) == Some(1),
        // Norway: an 11-digit kontonummer, weights 6,7,8,9,4,5,6,7,8,9 mod 11 (the remainder,
        // not its complement, as the check digit).
        b"NO" => weighted_sum(&bban[..10], &[6, 7, 8, 9, 4, 5, 6, 7, 8, 9]).is_some_and(|s| s % 11 == u32::from(bban[10] - b'0')),
        _ => true,
    }
}

/// IBAN: a country of the registry, its length and BBAN structure, two check digits, mod-97 = 1,
/// and the national check digits where the country defines them. Separators (spaces, dashes,
/// dots) and case are ignored; the normalised form is compact and upper case.
pub fn iban(raw: &[u8]) -> Option<Vec<u8>> {
    let s = compact_upper(raw);
    let country = s.get(..2)?;
    let i = IBAN_REGISTRY.binary_search_by(|(cc, _, _)| cc.as_bytes().cmp(country)).ok()?;
    let (_, len, structure) = IBAN_REGISTRY[i];
    if s.len() != len || !s[2..4].iter().all(u8::is_ascii_digit) || !bban_matches(structure, &s[4..]) {
        return None;
    }
    (iban_mod97(&s)? == 1 && national_check(country, &s[4..])).then(|| s.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_is_sorted_and_its_lengths_add_up() {
        assert!(IBAN_REGISTRY.windows(2).all(|w| w[0].0 < w[1].0));
        for (cc, len, structure) in IBAN_REGISTRY {
            let total: usize =
                structure.split_inclusive(|c: char| c.is_ascii_lowercase()).map(|p| p.split_once('!').unwrap().0.parse::<usize>().unwrap()).sum();
            assert_eq!(total + 4, *len, "{cc}");
        }
    }

    #[test]
    fn iban_checks_country_length_structure_and_mod97() {
        assert!(iban(b"FR76 3000 6000 0112 3456 7890 189").is_some());
        assert!(iban(b"DE89370400440532013000").is_some());
        assert!(iban(b"GB82WEST12345698765432").is_some());
        assert!(iban(b"BE 05 0013 6299 3375").is_some(), "space after the country code");
        assert!(iban(b"AL47-2121-1009-0000-0002-3569-8741").is_some(), "dashes");
        assert!(iban(b"LY83002048000020100120361").is_some(), "Libya joined in 2021");
        assert!(iban(b"FR76 3000 6000 0112 3456 7890 188").is_none(), "bad check");
        assert!(iban(b"DE8937040044053201300").is_none(), "too short for DE");
        assert!(iban(b"QQ89370400440532013000").is_none(), "unknown country");
        assert!(iban(b"NL56 3003 0A17 1643 00").is_none(), "letter where NL wants digits");
        assert!(iban(b"BE41091811735141").is_none(), "Belgian account check");
        assert!(iban(b"BE83138811735115").is_none(), "Belgian bank code 138 is no bank's");
        assert!(iban(b"BE68539007547034").is_none(), "bank code 539 is no bank's either");
        assert!(iban(b"BE31538007547055").is_some(), "bank code 538 is a bank's");
        assert!(iban(b"ES2121000418450200051331").is_none(), "Spanish CCC check");
        assert_eq!(iban(b"de89 3704 0044 0532 0130 00").unwrap(), b"DE89370400440532013000");
    }
}
