//! Keyed fingerprints: how the collector counts distinct data subjects without seeing them.
//!
//! A fingerprint is HMAC-SHA256 of the *normalised* value (see [`crate::validate`]) under a key
//! that every agent of an organisation shares and the collector never needs. The same e-mail
//! address written `John@Example.com` and `john@example.com` gives the same fingerprint on every
//! agent, so the collector can count subjects and link systems; without the key, nobody can test
//! a guess against it (a plain hash of a phone number is reversible by enumeration).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

/// The agents' shared secret. Its `Debug` never prints the key.
#[derive(Clone)]
pub struct FingerprintKey(Vec<u8>);

impl FingerprintKey {
    /// Minimum key length in bytes (128 bits).
    pub const MIN_LEN: usize = 16;

    /// Wraps key bytes.
    ///
    /// Returns `None` when the key is shorter than [`Self::MIN_LEN`] bytes.
    pub fn new(key: impl Into<Vec<u8>>) -> Option<Self> {
        let key = key.into();
        (key.len() >= Self::MIN_LEN).then_some(FingerprintKey(key))
    }

    /// Fingerprints a normalised value found by `detector`.
    ///
    /// The detector id is part of the message, so a nine-digit number that is a BSN and the same
    /// digits as a phone number are different subjects' identifiers, not one.
    pub fn fingerprint(&self, detector: &str, normalized: &[u8]) -> Fingerprint {
        // HMAC accepts keys of any length; new_from_slice cannot fail for Hmac<Sha256>.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC-SHA256 accepts keys of any length");
        mac.update(detector.as_bytes());
        mac.update(&[0]);
        mac.update(normalized);
        Fingerprint(mac.finalize().into_bytes().into())
    }
}

impl fmt::Debug for FingerprintKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FingerprintKey(<{} bytes redacted>)", self.0.len())
    }
}

/// A keyed fingerprint (32 bytes). Safe to store and transmit: it reveals nothing without the key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// Lower-case hex form, as stored by the collector.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({}…)", &self.to_hex()[..12])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_are_refused() {
        assert!(FingerprintKey::new(b"short".to_vec()).is_none());
        assert!(FingerprintKey::new(vec![7u8; 16]).is_some());
    }

    #[test]
    fn same_value_same_fingerprint_other_key_other_fingerprint() {
        let a = FingerprintKey::new(vec![1u8; 32]).unwrap();
        let b = FingerprintKey::new(vec![2u8; 32]).unwrap();
        assert_eq!(a.fingerprint("email", b"x@y.fr"), a.fingerprint("email", b"x@y.fr"));
        assert_ne!(a.fingerprint("email", b"x@y.fr"), b.fingerprint("email", b"x@y.fr"));
        assert_ne!(a.fingerprint("email", b"x@y.fr"), a.fingerprint("phone", b"x@y.fr"));
    }

    #[test]
    fn debug_never_prints_the_key() {
        let k = FingerprintKey::new(b"supersecretkey-0123456789".to_vec()).unwrap();
        assert!(!format!("{k:?}").contains("supersecret"));
    }
}
