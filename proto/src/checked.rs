//! A wire finding decoded once, at the edge, into a typed and checked value.
//!
//! The collector receives [`v1::FindingBatch`]es from agents it authenticated by certificate.
//! [`CheckedBatch::from_wire`] checks every finding against the contract (ids, sizes, a
//! category for personal data, a 32-byte fingerprint, a confidence in [0, 1], the agent id of
//! the certificate) and turns the valid ones into [`CheckedFinding`]s whose fields have their
//! domain types. What is refused is listed with its reason — never with a value — so that the
//! batch can still be stored and acknowledged without the bad findings.

use crate::v1;
use custos_rules::Category;
use std::collections::BTreeMap;

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FindingKind {
    /// A personal-data value was seen.
    PersonalData,
    /// An anomalous export (dump, bulk read, volume spike).
    ExportAnomaly,
}

impl FindingKind {
    /// The number stored and sent on the wire (`FINDING_KIND_*`).
    pub fn code(self) -> i64 {
        match self {
            FindingKind::PersonalData => v1::FindingKind::PersonalData as i64,
            FindingKind::ExportAnomaly => v1::FindingKind::ExportAnomaly as i64,
        }
    }

    /// The kind of a stored or wire number; anything but an export anomaly is personal data
    /// (the contract's default, `UNSPECIFIED`, included).
    pub fn from_code(code: i64) -> FindingKind {
        if code == v1::FindingKind::ExportAnomaly as i64 { FindingKind::ExportAnomaly } else { FindingKind::PersonalData }
    }

    /// `personal_data` or `export_anomaly`.
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::PersonalData => "personal_data",
            FindingKind::ExportAnomaly => "export_anomaly",
        }
    }
}

/// Where in its source a finding is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A span of a line in a text source.
    Text {
        /// 1-based line number.
        line: u64,
        /// Byte offset of the match in the line.
        start: u64,
        /// End of the match in the line (exclusive).
        end: u64,
        /// Byte offset of the line in the file.
        line_offset: u64,
    },
    /// A cell or a whole column of a table.
    Table {
        /// Table (or file) name.
        table: String,
        /// Column (or field path).
        column: String,
        /// Row key; empty for a column-level finding.
        row_key: String,
    },
    /// No position (a window-level anomaly).
    Nowhere,
}

/// A finding that passed the contract's checks, with domain types.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedFinding {
    /// Deterministic id (ASCII letters, digits, `-_.:`; at most 64 bytes).
    pub id: String,
    /// The agent that made it (equal to the authenticated agent).
    pub agent_id: String,
    /// Host of the agent.
    pub host: String,
    /// `SOURCE_KIND_*` number of the source.
    pub source_kind: i32,
    /// Path of the file, or `scheme://database/table`.
    pub locator: String,
    /// Identity of the concrete object behind the locator.
    pub identity: String,
    /// Position in the source.
    pub place: Place,
    /// Detector (or anomaly heuristic) id.
    pub detector: String,
    /// Data category; always present for personal data.
    pub category: Option<Category>,
    /// Art. 9 / Art. 10 data.
    pub special: bool,
    /// Score in [0, 1].
    pub confidence: f32,
    /// Masked preview.
    pub preview: String,
    /// Keyed fingerprint of the value, when there is one.
    pub fingerprint: Option<[u8; 32]>,
    /// When the agent saw it (ms since the epoch).
    pub observed_at_ms: i64,
    /// Personal data or export anomaly.
    pub kind: FindingKind,
    /// Figures (counts, ages, heuristics); never values.
    pub evidence: BTreeMap<String, String>,
}

impl CheckedFinding {
    /// The category's name, `unspecified` when there is none (export anomalies).
    pub fn category_name(&self) -> &'static str {
        self.category.map_or("unspecified", Category::as_str)
    }
}

/// A batch whose findings were checked: the valid ones, and the reasons of the others.
#[derive(Debug, Clone, Default)]
pub struct CheckedBatch {
    /// The authenticated agent.
    pub agent_id: String,
    /// Host name the agent reports.
    pub host: String,
    /// Agent software version.
    pub agent_version: String,
    /// Findings not yet acknowledged in the agent's spool.
    pub spool_depth: u64,
    /// Findings that passed, in the batch's order.
    pub findings: Vec<CheckedFinding>,
    /// Findings refused: their (truncated) id and why. Never a value.
    pub refused: Vec<(String, &'static str)>,
}

impl CheckedBatch {
    /// Checks every finding of a batch sent by `agent_id` (the identity of its certificate).
    pub fn from_wire(batch: &v1::FindingBatch, agent_id: &str) -> CheckedBatch {
        let mut out = CheckedBatch {
            agent_id: agent_id.to_string(),
            host: batch.host.clone(),
            agent_version: batch.agent_version.clone(),
            spool_depth: batch.spool_depth,
            findings: Vec::with_capacity(batch.findings.len()),
            refused: Vec::new(),
        };
        for f in &batch.findings {
            match check(f, agent_id) {
                Ok(c) => out.findings.push(c),
                Err(reason) => out.refused.push((f.id.chars().take(64).collect(), reason)),
            }
        }
        out
    }
}

/// Evidence entries one finding may carry.
pub const MAX_EVIDENCE_ENTRIES: usize = 64;

fn valid_id(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// Checks one wire finding; the error says why it is refused (never includes a value).
pub fn check(f: &v1::Finding, agent_id: &str) -> Result<CheckedFinding, &'static str> {
    if !valid_id(&f.id, 64) {
        return Err("bad finding id");
    }
    if f.agent_id != agent_id {
        return Err("finding agent_id differs from the authenticated agent");
    }
    if !valid_id(&f.detector, 64) {
        return Err("bad detector id");
    }
    let kind = FindingKind::from_code(i64::from(f.kind));
    let category = crate::category::from_wire(f.category);
    if f.kind == v1::FindingKind::PersonalData as i32 && category.is_none() {
        return Err("personal-data finding without a valid category");
    }
    if f.preview.chars().count() > 256 || f.host.len() > 255 {
        return Err("preview or host too long");
    }
    let fingerprint = match f.fingerprint.len() {
        0 => None,
        32 => {
            let mut fp = [0u8; 32];
            fp.copy_from_slice(&f.fingerprint);
            Some(fp)
        }
        _ => return Err("fingerprint must be 32 bytes"),
    };
    if !f.confidence.is_finite() || !(0.0..=1.0).contains(&f.confidence) {
        return Err("confidence outside [0, 1]");
    }
    if f.evidence.len() > MAX_EVIDENCE_ENTRIES || f.evidence.iter().any(|(k, v)| k.len() > 256 || v.len() > 4096) {
        return Err("too much evidence (at most 64 entries of 256-byte keys and 4 KiB values)");
    }
    let source = match &f.source {
        Some(s) if !s.locator.is_empty() && s.locator.len() <= 4096 && s.identity.len() <= 256 => s,
        _ => return Err("missing or oversized source"),
    };
    let place = match f.position.as_ref().and_then(|p| p.at.as_ref()) {
        Some(v1::position::At::Text(t)) => Place::Text { line: t.line, start: t.start, end: t.end, line_offset: t.line_offset },
        Some(v1::position::At::Table(t)) => Place::Table { table: t.table.clone(), column: t.column.clone(), row_key: t.row_key.clone() },
        None => Place::Nowhere,
    };
    if let Place::Table { table, column, row_key } = &place
        && (table.len() > 4096 || column.len() > 4096 || row_key.len() > 4096)
    {
        return Err("table position too long");
    }
    // PostgreSQL cannot store a NUL character in text (SQLite can): one such finding would make
    // its whole batch fail, and the agent resend it forever. It is refused alone instead.
    let texts = [f.host.as_str(), f.preview.as_str(), source.locator.as_str(), source.identity.as_str()];
    let place_texts = match &place {
        Place::Table { table, column, row_key } => [table.as_str(), column.as_str(), row_key.as_str()],
        _ => ["", "", ""],
    };
    let evidence = f.evidence.iter().flat_map(|(k, v)| [k.as_str(), v.as_str()]);
    if texts.into_iter().chain(place_texts).chain(evidence).any(|t| t.contains('\0')) {
        return Err("a text field holds a NUL character, which the store cannot keep");
    }
    Ok(CheckedFinding {
        id: f.id.clone(),
        agent_id: f.agent_id.clone(),
        host: f.host.clone(),
        source_kind: source.kind,
        locator: source.locator.clone(),
        identity: source.identity.clone(),
        place,
        detector: f.detector.clone(),
        category,
        special: f.special_category,
        confidence: f.confidence,
        preview: f.preview.clone(),
        fingerprint,
        observed_at_ms: f.observed_at_ms,
        kind,
        evidence: f.evidence.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding() -> v1::Finding {
        v1::Finding {
            id: "f-1".into(),
            agent_id: "a".into(),
            host: "h".into(),
            source: Some(v1::Source { kind: 1, locator: "/var/log/x.log".into(), identity: "1:2".into() }),
            position: Some(v1::Position { at: Some(v1::position::At::Text(v1::TextPosition { line: 3, start: 1, end: 5, line_offset: 40 })) }),
            detector: "email".into(),
            category: v1::Category::Contact as i32,
            confidence: 0.9,
            preview: "j***@e***.fr".into(),
            fingerprint: vec![7; 32],
            kind: v1::FindingKind::PersonalData as i32,
            ..Default::default()
        }
    }

    #[test]
    fn a_valid_finding_gets_its_domain_types() {
        let c = check(&finding(), "a").unwrap();
        assert_eq!(c.category, Some(Category::Contact));
        assert_eq!(c.kind, FindingKind::PersonalData);
        assert_eq!(c.place, Place::Text { line: 3, start: 1, end: 5, line_offset: 40 });
        assert_eq!(c.fingerprint, Some([7; 32]));
    }

    #[test]
    fn broken_contracts_are_refused_with_a_reason_and_the_rest_of_the_batch_kept() {
        let mut other_agent = finding();
        other_agent.agent_id = "b".into();
        let mut no_category = finding();
        no_category.category = 0;
        let mut short_fp = finding();
        short_fp.fingerprint = vec![1; 5];
        let mut bad_id = finding();
        bad_id.id = "a b".into();
        let batch = v1::FindingBatch { findings: vec![finding(), other_agent, no_category, short_fp, bad_id], ..Default::default() };
        let checked = CheckedBatch::from_wire(&batch, "a");
        assert_eq!(checked.findings.len(), 1);
        let reasons: Vec<&str> = checked.refused.iter().map(|(_, r)| *r).collect();
        assert_eq!(
            reasons,
            [
                "finding agent_id differs from the authenticated agent",
                "personal-data finding without a valid category",
                "fingerprint must be 32 bytes",
                "bad finding id"
            ]
        );
    }

    #[test]
    fn a_nul_character_anywhere_refuses_that_finding_alone() {
        let mut in_evidence_key = finding();
        in_evidence_key.evidence.insert("user\u{0}name".into(), "3".into());
        let mut in_locator = finding();
        in_locator.source.as_mut().unwrap().locator = "/var/log/a\u{0}.log".into();
        let mut in_column = finding();
        in_column.position =
            Some(v1::Position { at: Some(v1::position::At::Table(v1::TablePosition { table: "t".into(), column: "c\u{0}".into(), row_key: String::new() })) });
        let mut fine = finding();
        fine.id = "f-2".into();
        let batch = v1::FindingBatch { findings: vec![in_evidence_key, in_locator, fine, in_column], ..Default::default() };
        let checked = CheckedBatch::from_wire(&batch, "a");
        assert_eq!(checked.findings.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(), ["f-2"]);
        assert_eq!(checked.refused.len(), 3);
        assert!(checked.refused.iter().all(|(_, r)| r.contains("NUL")), "{:?}", checked.refused);
    }
}
