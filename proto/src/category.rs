//! GDPR data categories on the wire: [`v1::Category`] ↔ [`custos_rules::Category`].
//!
//! The rules crate owns the categories (which exist, which are special under Art. 9/10); the
//! wire carries them as a protobuf enum whose numbers never change. An unknown or unspecified
//! number decodes to `None`, never to a guess.

use crate::v1;
use custos_rules::Category;

/// Maps a rules category to its wire enum.
pub fn to_wire(c: Category) -> v1::Category {
    match c {
        Category::Contact => v1::Category::Contact,
        Category::Identity => v1::Category::Identity,
        Category::NationalId => v1::Category::NationalId,
        Category::Financial => v1::Category::Financial,
        Category::OnlineIdentifier => v1::Category::OnlineIdentifier,
        Category::Location => v1::Category::Location,
        Category::Health => v1::Category::Health,
        Category::Biometric => v1::Category::Biometric,
        Category::Genetic => v1::Category::Genetic,
        Category::EthnicOrigin => v1::Category::EthnicOrigin,
        Category::PoliticalOpinion => v1::Category::PoliticalOpinion,
        Category::ReligiousBelief => v1::Category::ReligiousBelief,
        Category::TradeUnion => v1::Category::TradeUnion,
        Category::SexLife => v1::Category::SexLife,
        Category::Criminal => v1::Category::Criminal,
    }
}

/// Maps a wire category number back; `None` for `UNSPECIFIED` or an unknown number.
pub fn from_wire(v: i32) -> Option<Category> {
    Some(match v1::Category::try_from(v).ok()? {
        v1::Category::Unspecified => return None,
        v1::Category::Contact => Category::Contact,
        v1::Category::Identity => Category::Identity,
        v1::Category::NationalId => Category::NationalId,
        v1::Category::Financial => Category::Financial,
        v1::Category::OnlineIdentifier => Category::OnlineIdentifier,
        v1::Category::Location => Category::Location,
        v1::Category::Health => Category::Health,
        v1::Category::Biometric => Category::Biometric,
        v1::Category::Genetic => Category::Genetic,
        v1::Category::EthnicOrigin => Category::EthnicOrigin,
        v1::Category::PoliticalOpinion => Category::PoliticalOpinion,
        v1::Category::ReligiousBelief => Category::ReligiousBelief,
        v1::Category::TradeUnion => Category::TradeUnion,
        v1::Category::SexLife => Category::SexLife,
        v1::Category::Criminal => Category::Criminal,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_category_survives_the_wire() {
        for c in Category::ALL {
            assert_eq!(from_wire(to_wire(c) as i32), Some(c));
        }
        assert_eq!(from_wire(0), None, "unspecified is no category");
        assert_eq!(from_wire(999), None, "an unknown number is no category");
    }
}
