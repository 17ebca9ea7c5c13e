//! GDPR data categories, as the register (Art. 30) and Art. 9 / Art. 10 name them.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The category of personal data a detector finds.
///
/// The names are the ones used in rule packs and in the register (`snake_case`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// E-mail addresses, phone numbers, postal addresses.
    Contact,
    /// Names, dates of birth, civil status.
    Identity,
    /// National identification numbers (NIR, DNI, BSN, PESEL, SSN, passports…).
    NationalId,
    /// Bank accounts, payment cards, tax numbers.
    Financial,
    /// IP and MAC addresses, device and account identifiers.
    OnlineIdentifier,
    /// GPS coordinates and other location data.
    Location,
    /// Art. 9: data concerning health.
    Health,
    /// Art. 9: biometric data.
    Biometric,
    /// Art. 9: genetic data.
    Genetic,
    /// Art. 9: racial or ethnic origin.
    EthnicOrigin,
    /// Art. 9: political opinions.
    PoliticalOpinion,
    /// Art. 9: religious or philosophical beliefs.
    ReligiousBelief,
    /// Art. 9: trade-union membership.
    TradeUnion,
    /// Art. 9: sex life or sexual orientation.
    SexLife,
    /// Art. 10: criminal convictions and offences.
    Criminal,
}

impl Category {
    /// Every category, in declaration order.
    pub const ALL: [Category; 15] = [
        Category::Contact,
        Category::Identity,
        Category::NationalId,
        Category::Financial,
        Category::OnlineIdentifier,
        Category::Location,
        Category::Health,
        Category::Biometric,
        Category::Genetic,
        Category::EthnicOrigin,
        Category::PoliticalOpinion,
        Category::ReligiousBelief,
        Category::TradeUnion,
        Category::SexLife,
        Category::Criminal,
    ];

    /// True for the special categories of Art. 9 and for Art. 10 (criminal) data, which need a
    /// specific legal basis and raise the severity of any incident.
    pub fn is_special(self) -> bool {
        !matches!(self, Category::Contact | Category::Identity | Category::NationalId | Category::Financial | Category::OnlineIdentifier | Category::Location)
    }

    /// The `snake_case` name used in packs, registers and JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Contact => "contact",
            Category::Identity => "identity",
            Category::NationalId => "national_id",
            Category::Financial => "financial",
            Category::OnlineIdentifier => "online_identifier",
            Category::Location => "location",
            Category::Health => "health",
            Category::Biometric => "biometric",
            Category::Genetic => "genetic",
            Category::EthnicOrigin => "ethnic_origin",
            Category::PoliticalOpinion => "political_opinion",
            Category::ReligiousBelief => "religious_belief",
            Category::TradeUnion => "trade_union",
            Category::SexLife => "sex_life",
            Category::Criminal => "criminal",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for a category name that is not one of [`Category::ALL`].
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "unknown data category `{0}` (expected one of: contact, identity, national_id, financial, online_identifier, location, health, biometric, genetic, ethnic_origin, political_opinion, religious_belief, trade_union, sex_life, criminal)"
)]
pub struct UnknownCategory(pub String);

impl FromStr for Category {
    type Err = UnknownCategory;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| UnknownCategory(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in Category::ALL {
            assert_eq!(c.as_str().parse::<Category>().unwrap(), c);
        }
        assert!("contacts".parse::<Category>().is_err());
    }

    #[test]
    fn health_is_special_and_contact_is_not() {
        assert!(Category::Health.is_special());
        assert!(Category::Criminal.is_special());
        assert!(!Category::Contact.is_special());
        assert!(!Category::NationalId.is_special());
    }
}
