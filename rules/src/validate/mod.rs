//! Validators: the checks that turn a regex candidate into a finding.
//!
//! A pattern only says "this looks like an IBAN"; the validator says "this *is* one" (mod-97,
//! Luhn, a national check key). Each validator also *normalises* the value (strips separators,
//! folds case) so that the fingerprint of `FR76 3000…` and `fr763000…` is the same.
//!
//! Validators are named in rule packs (`validator = "iban"`); the names are the `FromStr` forms
//! of [`Validator`] and are listed in [`Validator::ALL`]. One module per family:
//! [`checksum`] (the arithmetic), [`contact`], [`phone`], [`financial`], [`iban`], [`vat`],
//! [`network`], [`identity`], [`national_id`], [`health`].

pub mod checksum;
pub mod contact;
pub mod financial;
pub mod health;
pub mod iban;
pub mod identity;
pub mod name;
pub mod national_id;
pub mod network;
pub mod phone;
pub mod vat;

use std::str::FromStr;

pub use checksum::{Compact, compact_upper, digits, luhn, mod_decimal};

/// Signature of every validator: the raw candidate in, its normalised form out when valid.
pub type ValidateFn = fn(&[u8]) -> Option<Vec<u8>>;

macro_rules! validators {
    ($($(#[$doc:meta])* $variant:ident = $name:literal => $f:path,)*) => {
        /// A named check applied to candidates (see the family modules for what each checks).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Validator {
            $($(#[$doc])* $variant,)*
        }

        impl Validator {
            /// Every validator with its pack name.
            pub const ALL: &'static [(&'static str, Validator)] = &[$(($name, Validator::$variant),)*];

            /// The name used in packs.
            pub fn name(self) -> &'static str {
                match self { $(Validator::$variant => $name,)* }
            }

            /// The function behind this validator.
            pub fn function(self) -> ValidateFn {
                match self { $(Validator::$variant => $f,)* }
            }
        }
    };
}

validators! {
    /// [`contact::email`]
    Email = "email" => contact::email,
    /// [`phone::phone`] (the engine calls [`phone::phone_in`] with its configured regions)
    Phone = "phone" => phone::phone,
    /// [`iban::iban`]
    Iban = "iban" => iban::iban,
    /// [`financial::payment_card`]
    PaymentCard = "payment_card" => financial::payment_card,
    /// [`vat::eu_vat_number`]
    EuVatNumber = "eu_vat_number" => vat::eu_vat_number,
    /// [`network::ipv4`]
    Ipv4 = "ipv4" => network::ipv4,
    /// [`network::ipv6`]
    Ipv6 = "ipv6" => network::ipv6,
    /// [`network::mac_address`]
    MacAddress = "mac_address" => network::mac_address,
    /// [`network::gps_coordinates`]
    GpsCoordinates = "gps_coordinates" => network::gps_coordinates,
    /// [`identity::date_of_birth`]
    DateOfBirth = "date_of_birth" => identity::date_of_birth,
    /// [`identity::fr_passport`]
    FrPassport = "fr_passport" => identity::fr_passport,
    /// [`identity::de_id_card`]
    DeIdCard = "de_id_card" => identity::de_id_card,
    /// [`name::person_name`] (the engine uses [`name::person_name_value`] to start the finding at the name)
    PersonName = "person_name" => name::person_name,
    /// [`identity::passport_mrz`]
    PassportMrz = "passport_mrz" => identity::passport_mrz,
    /// [`national_id::fr_nir`]
    FrNir = "fr_nir" => national_id::fr_nir,
    /// [`national_id::de_tax_id`]
    DeTaxId = "de_tax_id" => national_id::de_tax_id,
    /// [`national_id::de_pension_number`]
    DePensionNumber = "de_pension_number" => national_id::de_pension_number,
    /// [`national_id::es_dni`]
    EsDni = "es_dni" => national_id::es_dni,
    /// [`national_id::es_nie`]
    EsNie = "es_nie" => national_id::es_nie,
    /// [`national_id::it_fiscal_code`]
    ItFiscalCode = "it_fiscal_code" => national_id::it_fiscal_code,
    /// [`national_id::nl_bsn`]
    NlBsn = "nl_bsn" => national_id::nl_bsn,
    /// [`national_id::be_national_number`]
    BeNationalNumber = "be_national_number" => national_id::be_national_number,
    /// [`national_id::pl_pesel`]
    PlPesel = "pl_pesel" => national_id::pl_pesel,
    /// [`national_id::pt_nif`]
    PtNif = "pt_nif" => national_id::pt_nif,
    /// [`national_id::se_personnummer`]
    SePersonnummer = "se_personnummer" => national_id::se_personnummer,
    /// [`national_id::dk_cpr`]
    DkCpr = "dk_cpr" => national_id::dk_cpr,
    /// [`national_id::fi_hetu`]
    FiHetu = "fi_hetu" => national_id::fi_hetu,
    /// [`national_id::at_svnr`]
    AtSvnr = "at_svnr" => national_id::at_svnr,
    /// [`national_id::ie_ppsn`]
    IePpsn = "ie_ppsn" => national_id::ie_ppsn,
    /// [`national_id::gb_nino`]
    GbNino = "gb_nino" => national_id::gb_nino,
    /// [`national_id::gb_nhs_number`]
    GbNhsNumber = "gb_nhs_number" => national_id::gb_nhs_number,
    /// [`national_id::us_ssn`]
    UsSsn = "us_ssn" => national_id::us_ssn,
    /// [`national_id::ro_cnp`]
    RoCnp = "ro_cnp" => national_id::ro_cnp,
    /// [`national_id::hr_oib`]
    HrOib = "hr_oib" => national_id::hr_oib,
    /// [`national_id::cz_birth_number`]
    CzBirthNumber = "cz_birth_number" => national_id::cz_birth_number,
    /// [`national_id::ee_personal_code`]
    EePersonalCode = "ee_personal_code" => national_id::ee_personal_code,
    /// [`health::health_term`]
    HealthTerm = "health_term" => health::health_term,
}

impl Validator {
    /// Checks a candidate. Returns its normalised form when valid.
    pub fn check(self, raw: &[u8]) -> Option<Vec<u8>> {
        (self.function())(raw)
    }
}

impl FromStr for Validator {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Validator::ALL.iter().find(|(n, _)| *n == s).map(|(_, v)| *v).ok_or_else(|| {
            let names: Vec<&str> = Validator::ALL.iter().map(|(n, _)| *n).collect();
            format!("unknown validator `{s}` (known: {})", names.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validator_names_parse_and_round_trip() {
        assert_eq!("iban".parse::<Validator>().unwrap(), Validator::Iban);
        assert!("lunh".parse::<Validator>().unwrap_err().contains("known:"));
        for (name, v) in Validator::ALL {
            assert_eq!(v.name(), *name);
            assert_eq!(name.parse::<Validator>().unwrap(), *v);
        }
    }

    #[test]
    fn no_validator_panics_on_junk() {
        let junk: [&[u8]; 8] = [b"", b"\xff\xfe", b"+", b"00", b"(0)", b"x", b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", b"2A2B2A2B2A2B2A2"];
        for (_, v) in Validator::ALL {
            for j in junk {
                let _ = v.check(j);
            }
        }
    }
}
