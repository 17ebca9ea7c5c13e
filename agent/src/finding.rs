//! From a [`Detection`] to a wire [`Finding`]: where raw values are left behind.
//!
//! This is the privacy boundary of Custos. A detection carries the raw value; the finding built
//! here carries only the masked preview and the keyed fingerprint. Every finding gets a
//! deterministic id from (agent, source, position, detector), so a finding resent after a
//! crash or a lost ack is recognised by the collector and stored once.

use custos_proto::v1 as pb;
use custos_rules::{Detection, Engine, FingerprintKey, mask};
use sha2::{Digest, Sha256};

/// The deterministic id of a finding: SHA-256 over its identifying parts, 128 bits in hex.
pub fn finding_id(agent_id: &str, source: &pb::Source, position: &str, detector: &str) -> String {
    let mut h = Sha256::new();
    for part in [agent_id, &source.kind.to_string(), &source.locator, &source.identity, position, detector] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    hex::encode(&h.finalize()[..16])
}

/// Builds findings for one agent.
#[derive(Debug, Clone)]
pub struct FindingFactory {
    agent_id: String,
    host: String,
    key: FingerprintKey,
}

impl FindingFactory {
    /// A factory for `agent_id` on `host`, fingerprinting under `key`.
    pub fn new(agent_id: String, host: String, key: FingerprintKey) -> Self {
        FindingFactory { agent_id, host, key }
    }

    /// A finding for a detection in a line of a text source.
    ///
    /// `line` is 1-based; `line_offset` is the byte offset of the line in the file; `raw` is the
    /// matched bytes (used only for the preview, never copied into the finding).
    pub fn text_finding(&self, engine: &Engine, source: &pb::Source, line: u64, line_offset: u64, d: &Detection, raw: &[u8]) -> pb::Finding {
        let spec = engine.detector(d.detector);
        let position = pb::TextPosition { line, start: d.start as u64, end: d.end as u64, line_offset };
        let pos_key = format!("{}:{}:{}", line_offset, d.start, d.end);
        pb::Finding {
            id: finding_id(&self.agent_id, source, &pos_key, &spec.id),
            agent_id: self.agent_id.clone(),
            host: self.host.clone(),
            source: Some(source.clone()),
            position: Some(pb::Position { at: Some(pb::position::At::Text(position)) }),
            detector: spec.id.clone(),
            category: custos_proto::category::to_wire(spec.category) as i32,
            special_category: spec.special,
            confidence: d.confidence,
            preview: mask::preview(&spec.id, raw),
            fingerprint: self.key.fingerprint(&spec.id, &d.normalized).0.to_vec(),
            observed_at_ms: custos_proto::time::now_ms(),
            kind: pb::FindingKind::PersonalData as i32,
            evidence: Default::default(),
        }
    }
}

impl FindingFactory {
    /// The fingerprint key (data-store classification fingerprints values under it).
    pub fn key(&self) -> &FingerprintKey {
        &self.key
    }

    /// A column-level finding of a data store (one per table/file, column and detector).
    ///
    /// Its id covers the figures that matter (matched and sampled rows, distinct values): a
    /// rescan that finds the same is a resend, one that finds more is a new observation.
    pub fn column_finding(&self, engine: &Engine, cf: &crate::datastore::ColumnFinding) -> pb::Finding {
        let spec = engine.detector(cf.verdict.detector);
        let source = cf.source();
        let v = &cf.verdict;
        let pos_key = format!("{}:{}:{}:{}:{}", cf.table, v.column, v.matched_rows, v.sampled_rows, v.distinct_fingerprints);
        pb::Finding {
            id: finding_id(&self.agent_id, &source, &pos_key, &spec.id),
            agent_id: self.agent_id.clone(),
            host: self.host.clone(),
            source: Some(source),
            position: Some(pb::Position {
                at: Some(pb::position::At::Table(pb::TablePosition { table: cf.table.clone(), column: v.column.clone(), row_key: String::new() })),
            }),
            detector: spec.id.clone(),
            category: custos_proto::category::to_wire(spec.category) as i32,
            special_category: spec.special,
            confidence: v.confidence.clamp(0.0, 1.0),
            preview: v.preview.clone(),
            fingerprint: v.fingerprint.to_vec(),
            observed_at_ms: custos_proto::time::now_ms(),
            kind: pb::FindingKind::PersonalData as i32,
            evidence: cf.evidence().into_iter().collect(),
        }
    }

    /// An export-anomaly finding: detector = heuristic name, no category, no fingerprint.
    /// `position_key` makes its id (e.g. the line offset, or the window that fired).
    ///
    /// The actor and the detail come from log text (a user name may be an e-mail address, an
    /// endpoint may hold one): any personal value the engine finds in them is masked.
    pub fn anomaly_finding(
        &self,
        engine: &Engine,
        source: &pb::Source,
        position: Option<pb::Position>,
        position_key: &str,
        a: &crate::anomaly::Anomaly,
    ) -> pb::Finding {
        let mut a = a.clone();
        a.detail = redact(engine, &a.detail);
        a.actor = a.actor.map(|actor| redact(engine, &actor));
        let a = &a;
        pb::Finding {
            id: finding_id(&self.agent_id, source, position_key, a.heuristic),
            agent_id: self.agent_id.clone(),
            host: self.host.clone(),
            source: Some(source.clone()),
            position,
            detector: a.heuristic.to_string(),
            category: pb::Category::Unspecified as i32,
            special_category: false,
            confidence: a.confidence,
            preview: a.detail.chars().take(200).collect(),
            fingerprint: Vec::new(),
            observed_at_ms: custos_proto::time::now_ms(),
            kind: pb::FindingKind::ExportAnomaly as i32,
            evidence: a.evidence().into_iter().collect(),
        }
    }
}

/// `text` with every personal value the engine finds replaced by its masked preview.
pub fn redact(engine: &Engine, text: &str) -> String {
    let mut detections = Vec::new();
    engine.scan(text.as_bytes(), &mut detections);
    if detections.is_empty() {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for d in &detections {
        out.push_str(&String::from_utf8_lossy(&bytes[at..d.start]));
        out.push_str(&mask::preview(&engine.detector(d.detector).id, &bytes[d.start..d.end]));
        at = d.end;
    }
    out.push_str(&String::from_utf8_lossy(&bytes[at..]));
    out
}

/// Reads the fingerprint key file: 64+ hex characters, or at least 16 raw bytes.
pub fn load_fingerprint_key(path: &std::path::Path) -> Result<FingerprintKey, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: cannot read fingerprint key: {e}", path.display()))?;
    let trimmed = String::from_utf8_lossy(&bytes).trim().to_string();
    let key = if trimmed.len() >= 32 && trimmed.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(&trimmed).map_err(|e| format!("{}: bad hex key: {e}", path.display()))?
    } else {
        bytes
    };
    FingerprintKey::new(key).ok_or_else(|| format!("{}: fingerprint key must be at least {} bytes", path.display(), FingerprintKey::MIN_LEN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_is_deterministic_and_position_sensitive() {
        let s = pb::Source { kind: 1, locator: "/var/log/a.log".into(), identity: "1:2".into() };
        assert_eq!(finding_id("a", &s, "0:1:5", "email"), finding_id("a", &s, "0:1:5", "email"));
        assert_ne!(finding_id("a", &s, "0:1:5", "email"), finding_id("a", &s, "0:1:6", "email"));
        assert_ne!(finding_id("a", &s, "0:1:5", "email"), finding_id("b", &s, "0:1:5", "email"));
    }

    #[test]
    fn anomaly_actor_and_detail_are_masked() {
        let engine = Engine::with_default_packs().unwrap();
        let f = FindingFactory::new("a".into(), "h".into(), FingerprintKey::new(vec![9; 32]).unwrap());
        let a = crate::anomaly::Anomaly {
            heuristic: "download_volume",
            observed: 1,
            baseline: None,
            threshold: 1.0,
            actor: Some("jean.dupont@example.fr".into()),
            detail: "export endpoint /users/jean.dupont@example.fr/export".into(),
            confidence: 0.7,
        };
        let s = pb::Source { kind: 1, locator: "x".into(), identity: "i".into() };
        let finding = f.anomaly_finding(&engine, &s, None, "0", &a);
        let wire = prost::Message::encode_to_vec(&finding);
        assert!(!wire.windows(11).any(|w| w == b"jean.dupont"));
        assert_eq!(finding.evidence["actor"], "j***@e***.fr");
        assert_eq!(finding.evidence["detail"], "export endpoint /users/j***@e***.fr/export");
    }

    #[test]
    fn finding_carries_no_raw_value() {
        let engine = Engine::with_default_packs().unwrap();
        let f = FindingFactory::new("a".into(), "h".into(), FingerprintKey::new(vec![9; 32]).unwrap());
        let line = b"contact jean.dupont@example.fr";
        let mut ds = Vec::new();
        engine.scan(line, &mut ds);
        let s = pb::Source { kind: 1, locator: "x".into(), identity: "i".into() };
        let finding = f.text_finding(&engine, &s, 1, 0, &ds[0], &line[ds[0].start..ds[0].end]);
        let wire = prost::Message::encode_to_vec(&finding);
        assert!(!wire.windows(11).any(|w| w == b"jean.dupont"));
        assert_eq!(finding.preview, "j***@e***.fr");
    }
}
