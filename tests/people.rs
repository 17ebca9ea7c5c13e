//! Made-up people for the scenario tests, written the way real records hold them: French
//! names, e-mail addresses, mobile numbers, IBANs with valid RIB keys and check digits, and
//! social security numbers (NIR) with their keys. Deterministic: person `i` is always the same.

/// One person.
#[derive(Debug, Clone)]
pub struct Person {
    /// Given name.
    pub first: &'static str,
    /// Family name.
    pub last: &'static str,
    /// E-mail address, unique per person.
    pub email: String,
    /// Mobile number in the international form (`+33 6 12 34 56 78`).
    pub phone: String,
    /// French IBAN, electronic form.
    pub iban: String,
    /// Social security number (NIR), 15 digits with its key.
    pub nir: String,
    /// Date of birth, `YYYY-MM-DD`.
    pub birth: String,
}

const FIRST: [&str; 24] = [
    "Marie", "Jean", "Camille", "Louis", "Chloé", "Lucas", "Inès", "Hugo", "Léa", "Nathan", "Manon", "Théo", "Emma", "Paul", "Sarah", "Arthur", "Julie",
    "Antoine", "Zoé", "Maxime", "Clara", "Nicolas", "Alice", "Karim",
];
const LAST: [&str; 24] = [
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia",
    "David", "Bertrand", "Roux", "Vincent", "Fournier", "Morel", "Girard", "Andre", "Mercier",
];

/// The mod-97 remainder of a long decimal string.
fn mod97(digits: &str) -> u64 {
    digits.bytes().fold(0u64, |r, b| (r * 10 + u64::from(b - b'0')) % 97)
}

/// A French IBAN for bank `bank`, branch `branch` and account number `account`: RIB key, then
/// the ISO 7064 check digits.
pub fn french_iban(bank: u32, branch: u32, account: u64) -> String {
    let rib = 97 - (89 * u64::from(bank) + 15 * u64::from(branch) + 3 * (account % 97)) % 97;
    let bban = format!("{bank:05}{branch:05}{account:011}{rib:02}");
    // FR00 moved to the end, letters as numbers (F = 15, R = 27).
    let check = 98 - mod97(&format!("{bban}152700"));
    format!("FR{check:02}{bban}")
}

/// A NIR: sex, year and month of birth, department, commune, order number, then its key.
pub fn nir(sex: u8, year: u32, month: u32, department: u32, commune: u32, order: u32) -> String {
    let body = format!("{sex}{:02}{month:02}{department:02}{commune:03}{order:03}", year % 100);
    format!("{body}{:02}", 97 - mod97(&body))
}

/// Person number `i` (any `u64`; distinct numbers give distinct e-mails, phones, IBANs and NIRs).
pub fn person(i: u64) -> Person {
    let first = FIRST[(i % 24) as usize];
    let last = LAST[((i / 24) % 24) as usize];
    let year = 1940 + (i * 7 % 66) as u32;
    let month = 1 + (i % 12) as u32;
    let day = 1 + (i % 28) as u32;
    let ascii = |s: &str| s.to_lowercase().replace(['é', 'è'], "e").replace('ï', "i");
    Person {
        first,
        last,
        email: format!("{}.{}{}@exemple.fr", ascii(first), ascii(last), i),
        phone: format!("+33 6 {:02} {:02} {:02} {:02}", 10 + i / 1_000_000 % 90, i / 10_000 % 100, i / 100 % 100, i % 100),
        iban: french_iban(30004 + (i % 7) as u32 * 1000, 100 + (i % 900) as u32, 10_000_000 + i),
        nir: nir(1 + (i % 2) as u8, year, month, 1 + (i % 95) as u32, 1 + (i % 899) as u32, 1 + (i / 899 % 999) as u32),
        birth: format!("{year}-{month:02}-{day:02}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_numbers_carry_valid_check_digits() {
        // The example IBAN of the French banking federation.
        assert_eq!(french_iban(30006, 1, 12345678901), "FR7630006000011234567890189");
        // 1 84 12 76 451 089 46: the example NIR of the French administration.
        assert_eq!(nir(1, 1984, 12, 76, 451, 89), "184127645108946");
        for i in [0, 4711, 19_999] {
            let p = person(i);
            let rearranged = format!("{}1527{}", &p.iban[4..], &p.iban[2..4]);
            assert_eq!(mod97(&rearranged), 1, "{}", p.iban);
            assert_eq!(97 - mod97(&p.nir[..13]), p.nir[13..].parse::<u64>().unwrap());
        }
    }
}
