//! Random secrets: the quickstart's fingerprint key, and tokens handed out once (enrolment
//! tokens, session cookies, API tokens) that the database keeps only as their SHA-256, so a
//! copy of it cannot be replayed.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// 256 bits from a cryptographically secure generator (the thread-local ChaCha generator
/// seeded by the OS), hex.
pub fn new() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the database keeps of a secret: the hex SHA-256 of its trimmed text.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.trim().as_bytes()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_are_fresh_and_hashed_regardless_of_surrounding_blanks() {
        let (a, b) = (super::new(), super::new());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(super::hash(&a), super::hash(&format!(" {a}\n")));
        assert_ne!(super::hash(&a), a);
    }
}
