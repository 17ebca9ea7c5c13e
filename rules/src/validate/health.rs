//! Data concerning health (GDPR Art. 9): ICD-10 codes and diagnosis terms.
//!
//! The pack only reports these next to a patient or medical context word: an `E11` alone is a
//! grid reference or a part number as often as it is type 2 diabetes.

/// An ICD-10 code (`A00`–`Z99`, optional `.x` subdivision; `U` is reserved and refused) or a
/// diagnosis term from the pack's list (accepted as is). Normalised to upper case.
pub fn health_term(raw: &[u8]) -> Option<Vec<u8>> {
    let s = raw.to_ascii_uppercase();
    let code_like = s.len() >= 3 && s[0].is_ascii_uppercase() && s[1].is_ascii_digit() && s[2].is_ascii_digit();
    if code_like {
        if s[0] == b'U' {
            return None;
        }
        let rest = &s[3..];
        let ok = rest.is_empty() || (rest[0] == b'.' && (2..=5).contains(&rest.len()) && rest[1..].iter().all(u8::is_ascii_alphanumeric));
        return ok.then_some(s);
    }
    (s.len() >= 3 && s.iter().all(|b| b.is_ascii_alphabetic() || *b == b' ' || *b == b'-' || *b == b'\'')).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icd10_codes_and_terms() {
        assert_eq!(health_term(b"e11.9").unwrap(), b"E11.9");
        assert!(health_term(b"J45").is_some());
        assert!(health_term(b"U07.1").is_none(), "U codes are reserved");
        assert!(health_term(b"diabetes").is_some());
        assert!(health_term(b"E11.").is_none());
    }
}
