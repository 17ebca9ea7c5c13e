//! The keyed fingerprint of one value, as findings carry it: how a DPO looks a person up in the
//! collector (`custos-collector subject`) for an access or erasure request without the value
//! ever leaving this host.
//!
//! The value is normalised by its detector's validator exactly as a finding's would be
//! (`John@Example.com` and `john@example.com`, an IBAN with or without spaces, give one
//! fingerprint), then fingerprinted with the organisation's key. A value its detector refuses
//! (bad check digits, wrong form) has no fingerprint: no finding could carry one.

use custos_rules::{Engine, FingerprintKey};

/// The fingerprint (hex) of `value` as detector `detector` would report it.
pub fn fingerprint_of(engine: &Engine, key: &FingerprintKey, detector: &str, value: &str) -> Result<String, String> {
    let Some(spec) = engine.detectors().find(|d| d.id == detector) else {
        let mut ids: Vec<&str> = engine.detectors().map(|d| d.id.as_str()).collect();
        ids.sort_unstable();
        return Err(format!("no detector `{detector}`; one of: {}", ids.join(", ")));
    };
    let raw = value.trim().as_bytes();
    if raw.is_empty() {
        return Err("no value given (as an argument or on standard input)".into());
    }
    let normalized = match spec.validator {
        Some(v) => v.check(raw).ok_or_else(|| format!("the value is not a valid `{detector}` (its form or check digits fail): no finding can carry it"))?,
        None => raw.to_vec(),
    };
    Ok(key.fingerprint(&spec.id, &normalized).to_hex())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> FingerprintKey {
        FingerprintKey::new(b"0123456789abcdef0123".to_vec()).unwrap()
    }

    #[test]
    fn the_fingerprint_is_the_one_a_finding_of_the_value_carries() {
        let engine = Engine::with_default_packs().unwrap();
        let mut found = Vec::new();
        engine.scan(b"refund to jane.doe@example.org today", &mut found);
        let d = found.iter().find(|d| engine.detector(d.detector).id == "email").expect("an e-mail");
        let expected = key().fingerprint("email", &d.normalized).to_hex();
        assert_eq!(fingerprint_of(&engine, &key(), "email", "jane.doe@example.org").unwrap(), expected);
    }

    #[test]
    fn a_value_its_detector_refuses_has_no_fingerprint_and_the_error_never_repeats_it() {
        let engine = Engine::with_default_packs().unwrap();
        let e = fingerprint_of(&engine, &key(), "iban", "FR7630006000011234567890188").unwrap_err();
        assert!(e.contains("not a valid `iban`") && !e.contains("FR76"), "{e}");
        assert!(fingerprint_of(&engine, &key(), "no_such", "x").unwrap_err().contains("email"));
    }
}
