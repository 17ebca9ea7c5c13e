//! One person, one subject: which identifier of a record stands for the person.
//!
//! A line of a lab's HL7 trace may hold a patient's social-security number and phone number:
//! two values, one person. Each record (a log line, a CSV row, a JSON record) gets one subject
//! key, the keyed fingerprint of its strongest identifier, so the collector counts people
//! rather than values. Strongest first: national identifiers, e-mail addresses, bank accounts
//! and cards, phone numbers, other contact and identity data, then everything else (online
//! identifiers, locations, special categories); between equals, the first in the record.

use custos_rules::Category;

/// How well a detector's values single out a person: 0 is the strongest.
pub fn strength(detector: &str, category: Category) -> u8 {
    match (category, detector) {
        (Category::NationalId, _) => 0,
        (_, "email") => 1,
        (Category::Financial, _) => 2,
        (_, "phone") => 3,
        (Category::Contact | Category::Identity, _) => 4,
        _ => 5,
    }
}

/// The strongest identifier of a record seen so far (fed in record order).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Strongest(Option<(u8, [u8; 32])>);

impl Strongest {
    /// Offers an identifier of `strength` whose fingerprint is `fingerprint`; the first of
    /// equal strength stays.
    pub fn offer(&mut self, strength: u8, fingerprint: [u8; 32]) {
        if self.0.is_none_or(|(s, _)| strength < s) {
            self.0 = Some((strength, fingerprint));
        }
    }

    /// The subject key: the fingerprint of the strongest identifier, if any was offered.
    pub fn key(&self) -> Option<[u8; 32]> {
        self.0.map(|(_, fp)| fp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_national_id_outranks_an_email_which_outranks_a_phone_and_ties_keep_the_first() {
        let mut s = Strongest::default();
        s.offer(strength("phone", Category::Contact), [3; 32]);
        s.offer(strength("email", Category::Contact), [1; 32]);
        s.offer(strength("ipv4", Category::OnlineIdentifier), [5; 32]);
        assert_eq!(s.key(), Some([1; 32]));
        s.offer(strength("fr_nir", Category::NationalId), [0; 32]);
        s.offer(strength("es_dni", Category::NationalId), [9; 32]);
        assert_eq!(s.key(), Some([0; 32]), "the first national id stays");
        assert!(strength("iban", Category::Financial) < strength("phone", Category::Contact));
        assert!(strength("date_of_birth", Category::Identity) < strength("gps_coordinates", Category::Location));
        assert_eq!(Strongest::default().key(), None);
    }
}
