//! Subject requests: where one person's data has been seen (Art. 15 access), and the erasures
//! the DPO recorded (Art. 17), whose fingerprints seen again are a breach.
//!
//! A person is looked up by the keyed fingerprint of one of their identifiers, computed on an
//! agent's host with the organisation's key (`custos-agent fingerprint`): the collector never
//! sees the value and learns nothing it did not already store. A finding belongs to the person
//! when its own fingerprint is theirs, or when its line's subject key (the fingerprint of the
//! line's strongest identifier, `subject` in its evidence) is — so the phone number on the line
//! of an erased e-mail address is that person's data too.

use super::Store;
use super::db::args;
use super::error::StoreError;
use serde::Serialize;

/// Where a person's data was seen: one row per (host, source, detector).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sighting {
    /// The fingerprint looked up (hex).
    pub fingerprint: String,
    /// Host.
    pub host: String,
    /// File path or table locator.
    pub locator: String,
    /// Detector that found the data.
    pub detector: String,
    /// Data category.
    pub category: String,
    /// Findings there.
    pub findings: u64,
    /// First observed (ms).
    pub first_seen_ms: i64,
    /// Last observed (ms).
    pub last_seen_ms: i64,
}

/// An erasure the DPO recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Erasure {
    /// The erased identifier's fingerprint (hex).
    pub fingerprint: String,
    /// When the data was erased (ms): a sighting observed later is data that came back.
    pub erased_at_ms: i64,
    /// The request's reference (the DPO's case number).
    pub request: String,
    /// The console user who recorded it.
    pub recorded_by: String,
}

/// Parses a fingerprint as `custos-agent fingerprint` prints it (64 hex digits).
pub fn parse_fingerprint(text: &str) -> Result<Vec<u8>, String> {
    let t = text.trim();
    match hex::decode(t) {
        Ok(b) if b.len() == 32 => Ok(b),
        _ => Err(format!("`{}` is not a fingerprint: give the 64 hex digits `custos-agent fingerprint` prints", t.chars().take(80).collect::<String>())),
    }
}

/// The `LIKE` pattern of findings whose line's subject key is `hex`.
fn subject_pattern(hex: &str) -> String {
    format!("%\"subject\":\"{hex}\"%")
}

impl Store {
    /// Where the person with this fingerprint was seen, by (host, source, detector).
    pub fn sightings(&self, fingerprint: &[u8]) -> Result<Vec<Sighting>, StoreError> {
        let hex = hex::encode(fingerprint);
        self.rows(
            "SELECT host, locator, detector, category, COUNT(*), MIN(observed_at), MAX(observed_at) FROM findings
             WHERE kind = 1 AND (fingerprint = $1 OR evidence LIKE $2)
             GROUP BY host, locator, detector, category ORDER BY host, locator, detector",
            args![fingerprint, subject_pattern(&hex)],
        )?
        .iter()
        .map(|r| {
            Ok(Sighting {
                fingerprint: hex.clone(),
                host: r.text(0)?,
                locator: r.text(1)?,
                detector: r.text(2)?,
                category: r.text(3)?,
                findings: r.int(4)?.max(0) as u64,
                first_seen_ms: r.int(5)?,
                last_seen_ms: r.int(6)?,
            })
        })
        .collect()
    }

    /// Records an erasure (audited). Recording it again updates its time and reference.
    pub fn record_erasure(&self, fingerprint: &[u8], erased_at_ms: i64, request: &str, by: &str, now_ms: i64) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO erasures (fingerprint, erased_at, request, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (fingerprint) DO UPDATE SET erased_at = excluded.erased_at, request = excluded.request, recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at",
            args![fingerprint, erased_at_ms, request, by, now_ms],
        )?;
        self.record_audit(by, "erasure_recorded", &hex::encode(fingerprint), &format!("request {request}, erased at {erased_at_ms}"), now_ms)
    }

    /// The erasure of this fingerprint, if one was recorded.
    pub fn erasure(&self, fingerprint: &[u8]) -> Result<Option<Erasure>, StoreError> {
        self.row("SELECT erased_at, request, recorded_by FROM erasures WHERE fingerprint = $1", args![fingerprint])?
            .map(|r| Ok(Erasure { fingerprint: hex::encode(fingerprint), erased_at_ms: r.int(0)?, request: r.text(1)?, recorded_by: r.text(2)? }))
            .transpose()
    }

    /// Whether any erasure was recorded (ingestion looks findings up only then).
    pub(super) fn any_erasure(&self) -> Result<bool, StoreError> {
        Ok(self.int("SELECT CASE WHEN EXISTS (SELECT 1 FROM erasures) THEN 1 ELSE 0 END", &[])? != 0)
    }
}
