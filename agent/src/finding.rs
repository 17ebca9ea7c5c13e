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

/// Evidence keys whose values are figures or keys we compute (never names): they are cleaned
/// but not run through the detector.
const FIGURES: &[&str] = &[
    "subject",
    "records",
    "age_quantiles_days",
    "age_sampled",
    "sampled_rows",
    "matched_rows",
    "match_share",
    "distinct_fingerprints",
    "distinct_subjects",
    "sampled_records",
    "personal_sampled_records",
    "estimated_rows",
    "oldest_record_age_s",
    "observed",
    "baseline",
    "threshold",
    "pages",
    "bytes",
    "event_start_ms",
    "event_end_ms",
    "affected_records_estimate",
    "affected_records_method",
    "aggregate",
    "anomaly",
    "kind_of_place",
];

/// Longest evidence value sent (characters); longer names are cut.
const MAX_VALUE_CHARS: usize = 1024;

/// Masked locators of text sources, by raw locator (bounded).
type NameCache = std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, (String, String)>>>;

/// Builds findings for one agent.
#[derive(Debug, Clone)]
pub struct FindingFactory {
    agent_id: String,
    host: String,
    key: FingerprintKey,
    names: NameCache,
}

impl FindingFactory {
    /// A factory for `agent_id` on `host`, fingerprinting under `key`.
    pub fn new(agent_id: String, host: String, key: FingerprintKey) -> Self {
        FindingFactory { agent_id: clean(&agent_id), host: clean(&host), key, names: NameCache::default() }
    }

    /// The source as sent (its locator masked, see [`redact_locator`]) and the source its
    /// finding ids are made from: the same, with a keyed hash of the raw locator when masking
    /// changed it (two files whose names mask alike keep different ids, and an id reveals
    /// nothing that could be tested against a guess).
    fn sources(&self, engine: &Engine, source: &pb::Source) -> (pb::Source, pb::Source) {
        let cached = self.names.lock().ok().and_then(|names| names.get(&source.locator).cloned());
        let (sent, id_locator) = cached.unwrap_or_else(|| {
            let sent = redact_locator(engine, &source.locator);
            let id_locator = self.disambiguated(&source.locator, &sent);
            if let Ok(mut names) = self.names.lock() {
                if names.len() >= 4096 {
                    names.clear();
                }
                names.insert(source.locator.clone(), (sent.clone(), id_locator.clone()));
            }
            (sent, id_locator)
        });
        let identity = clean(&source.identity);
        (pb::Source { kind: source.kind, locator: sent, identity: identity.clone() }, pb::Source { kind: source.kind, locator: id_locator, identity })
    }

    /// `sent` (the masked form of `raw`), followed by `#` and a keyed hash of `raw` when
    /// masking changed it: as stable as `raw`, as distinct as `raw`, and as unreadable as `sent`.
    pub fn disambiguated(&self, raw: &str, sent: &str) -> String {
        if raw == sent {
            return sent.to_string();
        }
        let fp = self.key.fingerprint("custos:name", raw.as_bytes());
        format!("{sent}#{}", &fp.to_hex()[..12])
    }

    /// A finding for a detection in a line of a text source whose only detection it is (its
    /// subject is its own fingerprint). See [`FindingFactory::line_findings`].
    pub fn text_finding(&self, engine: &Engine, source: &pb::Source, line: u64, line_offset: u64, d: &Detection, raw: &[u8]) -> pb::Finding {
        let (sent, id_source) = self.sources(engine, source);
        let fingerprint = self.key.fingerprint(&engine.detector(d.detector).id, &d.normalized).0;
        self.text_finding_of(engine, &sent, &id_source, line, line_offset, d, raw, fingerprint, &fingerprint)
    }

    /// The findings of one line of a text source (`bytes`, 1-based number `line`, at byte
    /// `line_offset` of the file), one per detection, appended to `out`. They share the line's
    /// subject key: the fingerprint of its strongest identifier ([`crate::subject`]).
    #[allow(clippy::too_many_arguments)]
    pub fn line_findings(
        &self,
        engine: &Engine,
        source: &pb::Source,
        line: u64,
        line_offset: u64,
        detections: &[Detection],
        bytes: &[u8],
        out: &mut Vec<pb::Finding>,
    ) {
        if detections.is_empty() {
            return;
        }
        let (sent, mut id_source) = self.sources(engine, source);
        if !id_source.identity.is_empty() {
            // A line's id is its file's identity and its position, never the file's name: a
            // file renamed while the agent was down gives the lines read again their old ids.
            id_source.locator.clear();
        }
        let mut strongest = crate::subject::Strongest::default();
        let fingerprints: Vec<[u8; 32]> = detections
            .iter()
            .map(|d| {
                let spec = engine.detector(d.detector);
                let fp = self.key.fingerprint(&spec.id, &d.normalized).0;
                strongest.offer(crate::subject::strength(&spec.id, spec.category), fp);
                fp
            })
            .collect();
        let subject = strongest.key().unwrap_or(fingerprints[0]);
        for (d, fp) in detections.iter().zip(fingerprints) {
            let raw = bytes.get(d.start..d.end).unwrap_or_default();
            out.push(self.text_finding_of(engine, &sent, &id_source, line, line_offset, d, raw, fp, &subject));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn text_finding_of(
        &self,
        engine: &Engine,
        sent: &pb::Source,
        id_source: &pb::Source,
        line: u64,
        line_offset: u64,
        d: &Detection,
        raw: &[u8],
        fingerprint: [u8; 32],
        subject: &[u8; 32],
    ) -> pb::Finding {
        let spec = engine.detector(d.detector);
        let position = pb::TextPosition { line, start: d.start as u64, end: d.end as u64, line_offset };
        let pos_key = format!("{}:{}:{}", line_offset, d.start, d.end);
        pb::Finding {
            id: finding_id(&self.agent_id, id_source, &pos_key, &spec.id),
            agent_id: self.agent_id.clone(),
            host: self.host.clone(),
            source: Some(sent.clone()),
            position: Some(pb::Position { at: Some(pb::position::At::Text(position)) }),
            detector: spec.id.clone(),
            category: custos_proto::category::to_wire(spec.category) as i32,
            special_category: spec.special,
            confidence: d.confidence,
            preview: mask::preview(&spec.id, raw),
            fingerprint: fingerprint.to_vec(),
            observed_at_ms: custos_proto::time::now_ms(),
            kind: pb::FindingKind::PersonalData as i32,
            evidence: [("subject".to_string(), hex::encode(subject))].into_iter().collect(),
        }
    }
}

impl FindingFactory {
    /// Completes the findings of a container log message (whose locator is the container):
    /// the file they were read in goes in the evidence (`file`, masked like any name), and the
    /// runtime's time of the message, when known, is their observation time.
    pub fn place_in_file(&self, engine: &Engine, findings: &mut [pb::Finding], file: &std::path::Path, event_ms: Option<i64>) {
        let file = redact_locator(engine, &file.to_string_lossy());
        for f in findings {
            f.evidence.insert("file".to_string(), file.clone());
            if let Some(t) = event_ms {
                f.observed_at_ms = t;
            }
        }
    }

    /// The fingerprint key (data-store classification fingerprints values under it).
    pub fn key(&self) -> &FingerprintKey {
        &self.key
    }

    /// A column-level finding of a data store (one per table/file, column and detector).
    ///
    /// Its id covers the figures that matter (matched and sampled rows, distinct values): a
    /// rescan that finds the same is a resend, one that finds more is a new observation. The
    /// locator, table and column names come from the data (a file named after a person, a
    /// headerless CSV's first row, a JSON key): they are masked like values.
    pub fn column_finding(&self, engine: &Engine, cf: &crate::datastore::ColumnFinding) -> pb::Finding {
        let spec = engine.detector(cf.verdict.detector);
        let (source, id_source) = self.sources(engine, &cf.source());
        let v = &cf.verdict;
        let (table, column) = (redact(engine, &cf.table), redact(engine, &v.column));
        let pos_key = format!("{}:{}:{}:{}:{}", cf.table, v.column, v.matched_rows, v.sampled_rows, v.distinct_fingerprints);
        let pos_key = self.disambiguated(&pos_key, &format!("{table}:{column}:{}:{}:{}", v.matched_rows, v.sampled_rows, v.distinct_fingerprints));
        pb::Finding {
            id: finding_id(&self.agent_id, &id_source, &pos_key, &spec.id),
            agent_id: self.agent_id.clone(),
            host: self.host.clone(),
            source: Some(source),
            position: Some(pb::Position { at: Some(pb::position::At::Table(pb::TablePosition { table, column, row_key: String::new() })) }),
            detector: spec.id.clone(),
            category: custos_proto::category::to_wire(spec.category) as i32,
            special_category: spec.special,
            confidence: v.confidence.clamp(0.0, 1.0),
            preview: clean(&v.preview),
            fingerprint: v.fingerprint.to_vec(),
            observed_at_ms: custos_proto::time::now_ms(),
            kind: pb::FindingKind::PersonalData as i32,
            evidence: redact_evidence(engine, cf.evidence(), None).into_iter().collect(),
        }
    }

    /// An export-anomaly finding: detector = heuristic name, no category, no fingerprint. Its
    /// position and id come from the anomaly's [`Origin`](crate::anomaly::signal::Origin); its
    /// time is the event time when the anomaly has an event.
    ///
    /// The actor, the detail and the event's names come from log text (a user name may be an
    /// e-mail address, an endpoint may hold one): any personal value the engine finds in them
    /// is masked, and the event signature keeps a keyed hash of its raw form when masking
    /// changed it, so two events stay two.
    pub fn anomaly_finding(&self, engine: &Engine, source: &pb::Source, a: &crate::anomaly::Anomaly) -> pb::Finding {
        use crate::anomaly::signal::Origin;
        let (sent, id_source) = self.sources(engine, source);
        let position = match a.origin {
            Origin::Line { number, offset } => {
                Some(pb::Position { at: Some(pb::position::At::Text(pb::TextPosition { line: number, start: 0, end: 0, line_offset: offset })) })
            }
            _ => None,
        };
        let raw_key = a.origin.key(a.actor.as_deref());
        let position_key = self.disambiguated(&raw_key, &redact(engine, &raw_key));
        let detail = redact(engine, &a.detail);
        pb::Finding {
            id: finding_id(&self.agent_id, &id_source, &position_key, a.heuristic),
            agent_id: self.agent_id.clone(),
            host: self.host.clone(),
            source: Some(sent),
            position,
            detector: a.heuristic.to_string(),
            category: pb::Category::Unspecified as i32,
            special_category: false,
            confidence: a.confidence.clamp(0.0, 1.0),
            preview: detail.chars().take(200).collect(),
            fingerprint: Vec::new(),
            observed_at_ms: a.event_time_ms().unwrap_or_else(custos_proto::time::now_ms),
            kind: pb::FindingKind::ExportAnomaly as i32,
            evidence: redact_evidence(engine, a.evidence(), Some(self)).into_iter().collect(),
        }
    }
}

/// `text` with every personal value the engine finds replaced by its masked preview, and
/// without control characters (see [`clean`]).
pub fn redact(engine: &Engine, text: &str) -> String {
    let mut detections = Vec::new();
    engine.scan(text.as_bytes(), &mut detections);
    if detections.is_empty() {
        return clean(text);
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for d in &detections {
        if d.start < at {
            continue;
        }
        out.push_str(&String::from_utf8_lossy(&bytes[at..d.start]));
        out.push_str(&mask::preview(&engine.detector(d.detector).id, &bytes[d.start..d.end]));
        at = d.end;
    }
    out.push_str(&String::from_utf8_lossy(&bytes[at..]));
    clean(&out)
}

/// A locator as sent: a URL (`postgres://host:port/db/schema.table`) keeps its scheme and
/// host, and the rest — database, table, path — is masked by [`redact`]; a file path is masked
/// whole (a directory or a file may be named after a person).
pub fn redact_locator(engine: &Engine, locator: &str) -> String {
    if let Some((scheme, rest)) = locator.split_once("://")
        && !scheme.is_empty()
        && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+')
    {
        if scheme == "sqlite" {
            return format!("sqlite://{}", redact(engine, rest));
        }
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        return format!("{}://{}{}", clean(scheme), clean(authority), redact(engine, path));
    }
    redact(engine, locator)
}

/// Adds the destination of an outbound request to the findings of its line (`findings`) that
/// lie in the request's target: the `destination_host` evidence, masked like any name from the
/// data (a host can be named after a person), and stripped of control characters.
pub fn with_destination(engine: &Engine, outbound: &crate::egress::Outbound, findings: &mut [pb::Finding]) {
    let host = redact(engine, &outbound.host);
    for f in findings {
        let inside = match f.position.as_ref().and_then(|p| p.at.as_ref()) {
            Some(pb::position::At::Text(t)) => outbound.carries(t.start as usize..t.end as usize),
            _ => false,
        };
        if inside {
            f.evidence.insert("destination_host".to_string(), host.clone());
        }
    }
}

/// `text` without control characters: NUL, newlines, escapes and the C1 controls each become
/// U+FFFD, so that every string that leaves the agent can be stored, logged and shown as is.
/// (A Rust string is valid UTF-8 already.)
pub fn clean(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars().map(|c| if c.is_control() { '\u{fffd}' } else { c }).collect()
}

/// An evidence map as sent: names masked ([`redact`]), figures cleaned, every value at most
/// [`MAX_VALUE_CHARS`] long. With a `factory`, the `event` signature keeps a keyed hash of its
/// raw form when masking changed it.
pub fn redact_evidence(
    engine: &Engine,
    evidence: std::collections::BTreeMap<String, String>,
    factory: Option<&FindingFactory>,
) -> std::collections::BTreeMap<String, String> {
    evidence
        .into_iter()
        .map(|(k, v)| {
            let sent = if FIGURES.contains(&k.as_str()) {
                clean(&v)
            } else if k == "event" {
                let masked = redact(engine, &v);
                match factory {
                    Some(f) => f.disambiguated(&v, &masked),
                    None => masked,
                }
            } else {
                redact(engine, &v)
            };
            (clean(&k), sent.chars().take(MAX_VALUE_CHARS).collect())
        })
        .collect()
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

    fn setup() -> (Engine, FindingFactory) {
        (Engine::with_default_packs().unwrap(), FindingFactory::new("a".into(), "h".into(), FingerprintKey::new(vec![9; 32]).unwrap()))
    }

    fn wire_has(f: &pb::Finding, raw: &str) -> bool {
        let wire = prost::Message::encode_to_vec(f);
        wire.windows(raw.len()).any(|w| w == raw.as_bytes())
    }

    #[test]
    fn anomaly_actor_detail_and_event_are_masked_and_events_stay_apart() {
        let (engine, f) = setup();
        let event = |actor: &str| {
            let mut e = crate::anomaly::signal::ExportEvent::new("download", 1_700_000_000_000);
            e.endpoint = Some("/users/{id}/export".into());
            crate::anomaly::Anomaly::new(
                "download_volume",
                1,
                None,
                1.0,
                Some(actor.into()),
                "export endpoint /users/jean.dupont@example.fr/export".into(),
                0.7,
            )
            .with_event(e)
            .at(crate::anomaly::signal::Origin::Window { start_s: 1_700_000_000 })
        };
        let s = pb::Source { kind: 1, locator: "x".into(), identity: "i".into() };
        let finding = f.anomaly_finding(&engine, &s, &event("jean.dupont@example.fr"));
        assert!(!wire_has(&finding, "jean.dupont"));
        assert_eq!(finding.evidence["actor"], "j***@e***.fr");
        assert_eq!(finding.evidence["detail"], "export endpoint /users/j***@e***.fr/export");
        assert_eq!(finding.observed_at_ms, 1_700_000_000_000, "the event time");
        let sig = &finding.evidence["event"];
        assert!(sig.starts_with("download|endpoint=/users/{id}/export|actor=j***@e***.fr#"), "{sig}");
        // Another person masks alike but is another event.
        let other = f.anomaly_finding(&engine, &s, &event("jane.dupont@example.fr"));
        assert_eq!(other.evidence["actor"], finding.evidence["actor"]);
        assert_ne!(other.evidence["event"], finding.evidence["event"]);
        assert_ne!(other.id, finding.id);
        // A clean signature is sent as is.
        let plain = f.anomaly_finding(&engine, &s, &event("mdupont"));
        assert_eq!(plain.evidence["event"], "download|endpoint=/users/{id}/export|actor=mdupont");
    }

    #[test]
    fn a_line_is_one_subject_its_strongest_identifier() {
        let (engine, f) = setup();
        let line = b"PID|1|269054958815780 patient tel 06 12 34 56 78 mail jean.dupont@example.fr";
        let mut ds = Vec::new();
        engine.scan(line, &mut ds);
        assert!(ds.len() >= 2, "{ds:?}");
        let s = pb::Source { kind: 1, locator: "/var/log/lab/hl7.log".into(), identity: "1:2".into() };
        let mut out = Vec::new();
        f.line_findings(&engine, &s, 7, 100, &ds, line, &mut out);
        assert_eq!(out.len(), ds.len());
        let subjects: std::collections::HashSet<&String> = out.iter().map(|x| &x.evidence["subject"]).collect();
        assert_eq!(subjects.len(), 1, "one person, one subject");
        let nir = out.iter().find(|x| x.detector == "fr_nir");
        let email = out.iter().find(|x| x.detector == "email").unwrap();
        let expected = nir.unwrap_or(email);
        assert_eq!(subjects.into_iter().next().unwrap(), &hex::encode(&expected.fingerprint));
        // A line with one detection: its own fingerprint.
        let one = f.text_finding(&engine, &s, 1, 0, &ds[0], &line[ds[0].start..ds[0].end]);
        assert_eq!(one.evidence["subject"], hex::encode(&one.fingerprint));
    }

    #[test]
    fn values_sent_in_a_request_carry_its_masked_destination_and_the_others_none() {
        let (engine, f) = setup();
        let line = b"1795168801.000 45 10.0.0.5 TCP_MISS/200 43 GET http://jean.dupont-example.fr.track.example/c?e=ann.lee@example.org ops@corp.example HIER_DIRECT/- -";
        let mut ds = Vec::new();
        engine.scan(line, &mut ds);
        let s = pb::Source { kind: 1, locator: "/var/log/squid/access.log".into(), identity: "1:2".into() };
        let mut out = Vec::new();
        f.line_findings(&engine, &s, 1, 0, &ds, line, &mut out);
        let outbound = crate::egress::outbound(line).unwrap();
        with_destination(&engine, &outbound, &mut out);
        let sent: Vec<&pb::Finding> = out.iter().filter(|x| x.evidence.contains_key("destination_host")).collect();
        assert!(sent.iter().any(|x| x.preview.starts_with('a')), "the e-mail in the URL is sent: {out:#?}");
        assert!(out.iter().any(|x| x.preview.starts_with('o') && !x.evidence.contains_key("destination_host")), "the proxy user is not: {out:#?}");
        for x in &sent {
            assert_eq!(x.evidence["destination_host"], redact(&engine, "jean.dupont-example.fr.track.example"));
            assert!(!wire_has(x, "ann.lee"));
        }
    }

    #[test]
    fn names_from_the_data_are_masked_and_stripped_of_control_characters() {
        let (engine, f) = setup();
        let line = b"mail jean.dupont@example.fr";
        let mut ds = Vec::new();
        engine.scan(line, &mut ds);
        let s = pb::Source { kind: 1, locator: "/srv/exports/jean.dupont@example.fr/na\0me\u{1b}[31m.log".into(), identity: "1:2".into() };
        let mut out = Vec::new();
        f.line_findings(&engine, &s, 1, 0, &ds, line, &mut out);
        let locator = &out[0].source.as_ref().unwrap().locator;
        assert!(!wire_has(&out[0], "jean.dupont"), "{locator}");
        assert!(!locator.chars().any(char::is_control), "{locator:?}");
        assert_eq!(redact_locator(&engine, "postgres://db.internal:5432/shop/crm.ann@example.fr"), "postgres://db.internal:5432/shop/c***@e***.fr");
        assert_eq!(clean("a\0b\nc\u{9f}d"), "a\u{fffd}b\u{fffd}c\u{fffd}d");
        // A line's id is its file's identity and position, not the file's name (a rename)...
        let renamed = pb::Source { locator: "/srv/exports/other-name.log".into(), ..s.clone() };
        let mut again = Vec::new();
        f.line_findings(&engine, &renamed, 1, 0, &ds, line, &mut again);
        assert_eq!(out[0].id, again[0].id);
        // ...and without an identity, two files whose names mask alike keep different ids.
        let (s1, s2) = (
            pb::Source { identity: String::new(), ..s.clone() },
            pb::Source { locator: "/srv/exports/jane.dupont@example.fr/name.log".into(), identity: String::new(), ..s.clone() },
        );
        let (mut out1, mut out2) = (Vec::new(), Vec::new());
        f.line_findings(&engine, &s1, 1, 0, &ds, line, &mut out1);
        f.line_findings(&engine, &s2, 1, 0, &ds, line, &mut out2);
        assert_ne!(out1[0].id, out2[0].id);
    }

    #[test]
    fn finding_carries_no_raw_value() {
        let (engine, f) = setup();
        let line = b"contact jean.dupont@example.fr";
        let mut ds = Vec::new();
        engine.scan(line, &mut ds);
        let s = pb::Source { kind: 1, locator: "x".into(), identity: "i".into() };
        let finding = f.text_finding(&engine, &s, 1, 0, &ds[0], &line[ds[0].start..ds[0].end]);
        assert!(!wire_has(&finding, "jean.dupont"));
        assert_eq!(finding.preview, "j***@e***.fr");
    }
}
