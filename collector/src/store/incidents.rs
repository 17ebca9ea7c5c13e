//! Incidents as stored: opened or joined as [`crate::incident::group`] decides, read back with
//! their figures ([`crate::estimate`]), moved along the workflow, promoted or demoted, and
//! annotated by the DPO (own estimate, notes, the Art. 34 decision).

use super::Store;
use super::db::{Row, args};
use super::error::StoreError;
use super::findings::{FINDING_SELECT, StoredFinding, finding_row};
use crate::correlation::{CorrelationSettings, IncidentKind, Severity, Verdict};
use crate::estimate::{self, Evidence, ExportFigures, Figures, Scanned, TableFigures};
use crate::incident::{self, Grouping, NOTIFICATION_DELAY_MS, OpenIncident, Status, group};
use custos_rules::Category;
use std::collections::{BTreeMap, HashSet};

/// An incident with its figures, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentRecord {
    /// Id.
    pub id: i64,
    /// Breach or compliance.
    pub kind: IncidentKind,
    /// Rule id.
    pub rule: String,
    /// Severity, as stored (`low` … `critical`).
    pub severity: String,
    /// Workflow status, as stored.
    pub status: String,
    /// What the incident is about (`host:locator`, an activity, a place).
    pub system: String,
    /// The places its findings were seen (`host:locator`), at most 100.
    pub systems: Vec<String>,
    /// Data categories involved.
    pub categories: Vec<String>,
    /// Findings attached.
    pub findings: u64,
    /// Subjects and records, with their method and range.
    pub figures: Figures,
    /// First detection (ms since epoch).
    pub detected_at_ms: i64,
    /// Awareness (ms): the first detection, or the promotion of a compliance item.
    pub awareness_at_ms: i64,
    /// Art. 33 deadline of a breach, due date of a compliance item (ms since epoch).
    pub deadline_ms: i64,
    /// When a finding last joined it (ms).
    pub last_seen_ms: i64,
    /// Register activities considered.
    pub activities: Vec<String>,
    /// Why it was opened.
    pub explanation: String,
    /// Why it was not notified (Art. 33(5)), when it was not.
    pub justification: String,
    /// The DPO's own estimate of subjects, records, and why.
    pub dpo_estimate: Option<DpoEstimate>,
    /// The supervisory authority's reference of the notification.
    pub authority_reference: String,
    /// The Art. 34 decision (`communicate`, `not_required`, `public_communication`), and why.
    pub art34: Option<(String, String)>,
}

/// The DPO's own estimate of an incident's figures, shown beside Custos' own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpoEstimate {
    /// Data subjects.
    pub subjects: Option<u64>,
    /// Records.
    pub records: Option<u64>,
    /// Why, or how they were counted.
    pub note: String,
}

/// A note of the DPO or the security team on an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteRecord {
    /// When (ms).
    pub at_ms: i64,
    /// What it is about: `facts`, `effects`, `remedial`, `measures`, `consequences`,
    /// `discovery`, `cross_border`, `follow_up`, `late_reason`, `art34_how`.
    pub kind: String,
    /// Who.
    pub actor: String,
    /// The note.
    pub text: String,
    /// The authority's reference (follow-ups).
    pub reference: String,
}

/// The kinds of note an incident takes, each a field of the Art. 33 draft or a column of the
/// breach register.
pub const NOTE_KINDS: [&str; 10] =
    ["facts", "effects", "remedial", "measures", "consequences", "discovery", "cross_border", "follow_up", "late_reason", "art34_how"];

/// The Art. 34 decisions.
pub const ART34_DECISIONS: [&str; 3] = ["communicate", "not_required", "public_communication"];

const INCIDENT_SELECT: &str =
    "SELECT id, kind, rule, severity, status, system, detected_at, awareness_at, deadline, last_seen_at, explanation, activities, justification,
        dpo_subjects, dpo_records, dpo_note, authority_reference, art34_decision, art34_reason FROM incidents";

/// The subject key of a finding: the agent's `subject` (the keyed fingerprint of its record's
/// strongest identifier), else its own fingerprint.
fn subject_key(f: &StoredFinding) -> Option<Vec<u8>> {
    f.evidence.get("subject").and_then(|h| hex::decode(h.trim()).ok()).filter(|k| k.len() == 32).or_else(|| f.fingerprint.clone())
}

impl Store {
    /// Attaches a verdict to the open incident of its group, opening one if needed, as
    /// [`group`] decides. The caller holds the group's lock.
    pub(super) fn attach(&self, v: &Verdict, f: &StoredFinding, settings: &CorrelationSettings, now_ms: i64, opened: &mut Vec<i64>) -> Result<i64, StoreError> {
        let existing = self.row(
            "SELECT id, severity, kind, detected_at, last_seen_at FROM incidents WHERE group_key = $1 AND status IN ('new', 'triaged', 'assessed') ORDER BY id DESC LIMIT 1",
            args![&v.group],
        )?;
        let (open, stored_severity) = match existing {
            Some(r) => {
                let (id, severity) = (r.int(0)?, r.text(1)?);
                let categories: Vec<Category> = self
                    .rows("SELECT category FROM incident_categories WHERE incident_id = $1", args![id])?
                    .iter()
                    .filter_map(|r| r.text(0).ok()?.parse().ok())
                    .collect();
                let open = OpenIncident {
                    id,
                    kind: IncidentKind::parse(&r.text(2)?).unwrap_or(v.kind),
                    severity: Severity::parse(&severity),
                    categories,
                    opened_now: opened.contains(&id),
                    detected_at_ms: r.int(3)?,
                    last_seen_ms: r.int(4)?,
                };
                (Some(open), severity)
            }
            None => (None, String::new()),
        };
        let id = match group(v, open.as_ref(), &stored_severity, settings, now_ms) {
            Grouping::Open { kind, deadline_ms } => {
                let id = self.int(
                    "INSERT INTO incidents (kind, rule, system, group_key, severity, status, detected_at, awareness_at, deadline, updated_at, last_seen_at, explanation, activities)
                     VALUES ($1, $2, $3, $4, $5, 'new', $6, $6, $7, $6, $6, $8, $9) RETURNING id",
                    args![kind.as_str(), v.rule.id(), &v.label, &v.group, v.severity.as_str(), now_ms, deadline_ms, &v.explanation, v.activities.join(",")],
                )?;
                self.add_timeline_entry(id, "detected", "custos", v.rule.title(), now_ms)?;
                opened.push(id);
                id
            }
            Grouping::Join { id, worsened: None } => {
                self.exec("UPDATE incidents SET last_seen_at = $2 WHERE id = $1", args![id, now_ms])?;
                id
            }
            Grouping::Join { id, worsened: Some(w) } => {
                self.exec(
                    "UPDATE incidents SET explanation = explanation || $2, updated_at = $3, last_seen_at = $3, severity = $4 WHERE id = $1",
                    args![id, format!("\n{}", v.explanation), now_ms, w.severity.as_str()],
                )?;
                if let Some(note) = &w.timeline_note {
                    self.add_timeline_entry(id, "worsened", "custos", note, now_ms)?;
                }
                id
            }
        };
        self.exec(
            "INSERT INTO incident_findings (incident_id, finding_id, records) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            args![id, &f.id, v.records.as_ref().map(|(n, _)| (*n).min(i64::MAX as u64) as i64)],
        )?;
        for c in &v.categories {
            self.exec("INSERT INTO incident_categories (incident_id, category) VALUES ($1, $2) ON CONFLICT DO NOTHING", args![id, c.as_str()])?;
        }
        if let Some(key) = subject_key(f) {
            self.exec("INSERT INTO incident_subjects (incident_id, fingerprint) VALUES ($1, $2) ON CONFLICT DO NOTHING", args![id, key])?;
        }
        Ok(id)
    }

    /// All incidents, newest first.
    pub fn incidents(&self) -> Result<Vec<IncidentRecord>, StoreError> {
        let ids: Vec<i64> = self.rows("SELECT id FROM incidents ORDER BY id DESC", &[])?.iter().map(|r| r.int(0)).collect::<Result<_, _>>()?;
        ids.into_iter().filter_map(|id| self.incident(id).transpose()).collect()
    }

    /// Breaches whose Art. 33 deadline is still ahead and that nobody assessed yet (reminder
    /// candidates). Compliance items have no clock, hence no reminders.
    pub fn unassessed_incidents(&self, now_ms: i64) -> Result<Vec<IncidentRecord>, StoreError> {
        let ids: Vec<i64> = self
            .rows("SELECT id FROM incidents WHERE kind = 'breach' AND status IN ('new', 'triaged') AND deadline > $1 ORDER BY id", args![now_ms])?
            .iter()
            .map(|r| r.int(0))
            .collect::<Result<_, _>>()?;
        ids.into_iter().filter_map(|id| self.incident(id).transpose()).collect()
    }

    /// One incident.
    pub fn incident(&self, id: i64) -> Result<Option<IncidentRecord>, StoreError> {
        let Some(r) = self.row(&format!("{INCIDENT_SELECT} WHERE id = $1"), args![id])? else {
            return Ok(None);
        };
        let mut v = incident_row(&r)?;
        v.categories = self
            .rows("SELECT category FROM incident_categories WHERE incident_id = $1 ORDER BY category", args![id])?
            .iter()
            .map(|r| r.text(0))
            .collect::<Result<_, _>>()?;
        v.findings = self.int("SELECT COUNT(*) FROM incident_findings WHERE incident_id = $1", args![id])?.max(0) as u64;
        v.systems = self
            .rows(
                "SELECT DISTINCT f.host || ':' || f.locator FROM incident_findings i JOIN findings f ON f.id = i.finding_id WHERE i.incident_id = $1 ORDER BY 1 LIMIT 100",
                args![id],
            )?
            .iter()
            .map(|r| r.text(0))
            .collect::<Result<_, _>>()?;
        v.figures = estimate::figures(&self.evidence_summary(id, &v.rule)?);
        Ok(Some(v))
    }

    /// What the figures of an incident are counted from (see [`crate::estimate`]).
    fn evidence_summary(&self, id: i64, rule: &str) -> Result<Evidence, StoreError> {
        // Exact distinct count: incident_subjects has one row per (incident, subject key), so
        // this is an index-only count.
        let distinct = self.int("SELECT COUNT(*) FROM incident_subjects WHERE incident_id = $1", args![id])?.max(0) as u64;
        let text_records = self.int(
            "SELECT COUNT(DISTINCT f.locator || ':' || f.identity || ':' || CAST(f.line_offset AS TEXT)) FROM incident_findings i JOIN findings f ON f.id = i.finding_id
             WHERE i.incident_id = $1 AND f.kind = 1 AND f.line IS NOT NULL",
            args![id],
        )?;
        let mut tables = Vec::new();
        for r in self.rows(
            "SELECT f.locator, CAST(MAX(f.records) AS BIGINT), CAST(MAX(f.subjects) AS BIGINT), CAST(MAX(i.records) AS BIGINT) FROM incident_findings i JOIN findings f ON f.id = i.finding_id
             WHERE i.incident_id = $1 AND f.kind = 1 AND f.line IS NULL GROUP BY f.locator ORDER BY f.locator",
            args![id],
        )? {
            let concerned = r.opt_int(3)?.map(|n| n.max(0) as u64);
            tables.push(TableFigures {
                locator: r.text(0)?,
                records: r.opt_int(1)?.unwrap_or(0).max(0) as u64,
                subjects: r.opt_int(2)?.map(|n| n.max(0) as u64),
                concerned,
                concerned_method: concerned.map(|_| "rows past retention, from the age distribution the agent sampled".to_string()),
            });
        }
        let mut exports: BTreeMap<String, ExportFigures> = BTreeMap::new();
        {
            for r in self.rows(
                "SELECT f.evidence, f.host FROM incident_findings i JOIN findings f ON f.id = i.finding_id WHERE i.incident_id = $1 AND f.kind = 2",
                args![id],
            )? {
                let ev: BTreeMap<String, String> = serde_json::from_str(&r.text(0)?).unwrap_or_default();
                let event = ev.get("event").or_else(|| ev.get("detail")).cloned().unwrap_or_default();
                let records = ev.get("affected_records_estimate").and_then(|n| n.trim().parse::<u64>().ok());
                let method = ev.get("affected_records_method").cloned().unwrap_or_else(|| "unknown".into());
                let host = r.text(1)?;
                let table = match (ev.get("table").filter(|t| !t.is_empty()), ev.get("database").filter(|d| !d.is_empty())) {
                    (Some(t), _) => self.scanned_table(&host, t)?,
                    (None, Some(db)) if event.starts_with("dump|") => self.scanned_database(&host, db)?,
                    _ => None,
                };
                let e = exports.entry(event.clone()).or_insert(ExportFigures { event, records: None, method: method.clone(), table });
                if records > e.records {
                    e.records = records;
                    e.method = method;
                }
            }
        }
        Ok(Evidence {
            distinct_subjects: distinct,
            subjects_from_host: rule == "export_anomaly",
            text_records: text_records.max(0) as u64,
            tables,
            exports: exports.into_values().collect(),
        })
    }

    /// The people and rows of a table an agent scanned on `host`, by the name an export gives it
    /// (`shop.customers`, or `customers` alone).
    fn scanned_table(&self, host: &str, table: &str) -> Result<Option<Scanned>, StoreError> {
        let r = self.row(
            "SELECT CAST(MAX(subjects) AS BIGINT), CAST(MAX(records) AS BIGINT) FROM findings WHERE host = $1 AND kind = 1 AND tbl IS NOT NULL AND (tbl = $2 OR tbl LIKE $3)",
            args![host, table, format!("%.{}", table.replace('%', "_"))],
        )?;
        Ok(match r {
            Some(r) => match (r.opt_int(0)?, r.opt_int(1)?) {
                (Some(s), Some(n)) if s > 0 => Some(Scanned::Table { subjects: s as u64, rows: n.max(0) as u64 }),
                _ => None,
            },
            None => None,
        })
    }

    /// The people of a database an agent scanned on `host` (by the name a dump gives it): those
    /// of its largest personal table.
    fn scanned_database(&self, host: &str, database: &str) -> Result<Option<Scanned>, StoreError> {
        let r = self.row(
            "SELECT CAST(MAX(subjects) AS BIGINT) FROM findings WHERE host = $1 AND kind = 1 AND tbl IS NOT NULL AND locator LIKE $2",
            args![host, format!("%/{}/%", database.replace('%', "_"))],
        )?;
        Ok(match r {
            Some(r) => r.opt_int(0)?.filter(|s| *s > 0).map(|s| Scanned::Database { subjects: s as u64 }),
            None => None,
        })
    }

    /// The evidence of an incident: its findings (masked previews, never values), oldest first,
    /// at most 1,000.
    pub fn evidence(&self, id: i64) -> Result<Vec<StoredFinding>, StoreError> {
        self.rows(
            &format!("{FINDING_SELECT} WHERE id IN (SELECT finding_id FROM incident_findings WHERE incident_id = $1) ORDER BY observed_at LIMIT 1000"),
            args![id],
        )?
        .iter()
        .map(finding_row)
        .collect()
    }

    /// Moves an incident along the workflow, recording who, when and why in the timeline and the
    /// audit trail. `reference`: the authority's reference, when it is `notified`.
    pub fn set_status(&mut self, id: i64, to: Status, by: &str, note: &str, now_ms: i64) -> Result<Result<(), String>, StoreError> {
        self.set_status_with_reference(id, to, by, note, "", now_ms)
    }

    /// [`Store::set_status`] with the supervisory authority's reference of the notification.
    pub fn set_status_with_reference(
        &mut self,
        id: i64,
        to: Status,
        by: &str,
        note: &str,
        reference: &str,
        now_ms: i64,
    ) -> Result<Result<(), String>, StoreError> {
        self.atomically(|s| {
            // FOR UPDATE would be PostgreSQL-only; the UPDATE below re-checks the status read.
            let Some(r) = s.row("SELECT status, kind FROM incidents WHERE id = $1", args![id])? else {
                return Ok(Err(format!("no incident #{id}")));
            };
            let from_text = r.text(0)?;
            let kind = IncidentKind::parse(&r.text(1)?).unwrap_or(IncidentKind::Breach);
            let from = Status::parse(&from_text).unwrap_or(Status::New);
            if let Err(e) = from.check_transition(kind, to, note, by) {
                return Ok(Err(e));
            }
            let justification = if to == Status::NotNotifiable { note } else { "" };
            let reference = if to == Status::Notified { reference } else { "" };
            let n = s.exec(
                "UPDATE incidents SET status = $2, updated_at = $3, justification = CASE WHEN $4 = '' THEN justification ELSE $4 END,
                        authority_reference = CASE WHEN $6 = '' THEN authority_reference ELSE $6 END WHERE id = $1 AND status = $5",
                args![id, to.as_str(), now_ms, justification, &from_text, reference],
            )?;
            if n == 0 {
                return Ok(Err(format!("incident #{id} changed status meanwhile; look again and retry")));
            }
            s.add_timeline_entry(id, to.as_str(), by, note, now_ms)?;
            s.record_audit(by, "incident_status", &format!("incident #{id}"), &format!("{} → {}: {note}", from.as_str(), to.as_str()), now_ms)?;
            Ok(Ok(()))
        })
    }

    /// Promotes a compliance item to a breach (awareness — and the Art. 33 clock — start now)
    /// or demotes a breach to compliance (due in `due_ms`), with who and why in the timeline and
    /// the audit trail.
    pub fn change_kind(&mut self, id: i64, to: IncidentKind, by: &str, note: &str, due_ms: i64, now_ms: i64) -> Result<Result<(), String>, StoreError> {
        self.atomically(|s| {
            let Some(r) = s.row("SELECT status, kind FROM incidents WHERE id = $1", args![id])? else {
                return Ok(Err(format!("no incident #{id}")));
            };
            let status = Status::parse(&r.text(0)?).unwrap_or(Status::New);
            let from = IncidentKind::parse(&r.text(1)?).unwrap_or(IncidentKind::Breach);
            if let Err(e) = incident::check_kind_change(from, to, status, note, by) {
                return Ok(Err(e));
            }
            let (what, deadline) = match to {
                IncidentKind::Breach => ("promoted", now_ms + NOTIFICATION_DELAY_MS),
                IncidentKind::Compliance => ("demoted", now_ms + due_ms),
            };
            if to == IncidentKind::Breach {
                s.exec(
                    "UPDATE incidents SET kind = $2, awareness_at = $3, deadline = $4, updated_at = $3 WHERE id = $1",
                    args![id, to.as_str(), now_ms, deadline],
                )?;
            } else {
                s.exec("UPDATE incidents SET kind = $2, deadline = $4, updated_at = $3 WHERE id = $1", args![id, to.as_str(), now_ms, deadline])?;
            }
            let text = format!("{from} → {to}{}", if note.is_empty() { String::new() } else { format!(": {note}") });
            s.add_timeline_entry(id, what, by, &text, now_ms)?;
            s.record_audit(by, &format!("incident_{what}"), &format!("incident #{id}"), &text, now_ms)?;
            Ok(Ok(()))
        })
    }

    /// Records the DPO's own estimate of an incident's subjects and records (audited).
    pub fn set_dpo_estimate(
        &mut self,
        id: i64,
        subjects: Option<u64>,
        records: Option<u64>,
        note: &str,
        by: &str,
        now_ms: i64,
    ) -> Result<Result<(), String>, StoreError> {
        if subjects.is_none() && records.is_none() {
            return Ok(Err("give the number of subjects, of records, or both".into()));
        }
        if note.trim().len() < 5 {
            return Ok(Err("say how the DPO estimate was made (--note): it goes into the notification".into()));
        }
        let clamp = |n: Option<u64>| n.map(|n| n.min(i64::MAX as u64) as i64);
        self.atomically(|s| {
            if s.exec(
                "UPDATE incidents SET dpo_subjects = $2, dpo_records = $3, dpo_note = $4, updated_at = $5 WHERE id = $1",
                args![id, clamp(subjects), clamp(records), note, now_ms],
            )? == 0
            {
                return Ok(Err(format!("no incident #{id}")));
            }
            let text = format!(
                "DPO estimate: {} subjects, {} records — {note}",
                subjects.map_or("-".to_string(), |n| n.to_string()),
                records.map_or("-".to_string(), |n| n.to_string())
            );
            s.add_timeline_entry(id, "dpo_estimate", by, &text, now_ms)?;
            s.record_audit(by, "incident_estimate", &format!("incident #{id}"), &text, now_ms)?;
            Ok(Ok(()))
        })
    }

    /// Adds a note of one of the [`NOTE_KINDS`] (facts, effects, remedial action, a follow-up
    /// with the authority's reference …), to the timeline and the audit trail too.
    pub fn add_note(&mut self, id: i64, kind: &str, text: &str, reference: &str, by: &str, now_ms: i64) -> Result<Result<(), String>, StoreError> {
        if !NOTE_KINDS.contains(&kind) {
            return Ok(Err(format!("note kind `{kind}`: use one of {}", NOTE_KINDS.join(", "))));
        }
        if text.trim().is_empty() || by.trim().is_empty() {
            return Ok(Err("a note needs a text and an author (--by)".into()));
        }
        self.atomically(|s| {
            if s.incident(id)?.is_none() {
                return Ok(Err(format!("no incident #{id}")));
            }
            s.exec(
                "INSERT INTO incident_notes (incident_id, at, kind, actor, text, reference) VALUES ($1, $2, $3, $4, $5, $6)",
                args![id, now_ms, kind, by, text, reference],
            )?;
            let line = if reference.is_empty() { text.to_string() } else { format!("{text} (reference {reference})") };
            s.add_timeline_entry(id, kind, by, &line, now_ms)?;
            s.record_audit(by, "incident_note", &format!("incident #{id}"), &format!("{kind}: {line}"), now_ms)?;
            Ok(Ok(()))
        })
    }

    /// The notes of an incident, oldest first.
    pub fn notes(&self, id: i64) -> Result<Vec<NoteRecord>, StoreError> {
        self.rows("SELECT at, kind, actor, text, reference FROM incident_notes WHERE incident_id = $1 ORDER BY id", args![id])?
            .iter()
            .map(|r| Ok(NoteRecord { at_ms: r.int(0)?, kind: r.text(1)?, actor: r.text(2)?, text: r.text(3)?, reference: r.text(4)? }))
            .collect()
    }

    /// Records the Art. 34 decision: communicate the breach to the people, or not (and why).
    pub fn set_art34(&mut self, id: i64, decision: &str, reason: &str, by: &str, now_ms: i64) -> Result<Result<(), String>, StoreError> {
        if !ART34_DECISIONS.contains(&decision) {
            return Ok(Err(format!("Art. 34 decision `{decision}`: use one of {}", ART34_DECISIONS.join(", "))));
        }
        if reason.trim().len() < 10 {
            return Ok(Err("the Art. 34 decision needs its reason (--note): it goes into the breach register".into()));
        }
        self.atomically(|s| {
            if s.exec("UPDATE incidents SET art34_decision = $2, art34_reason = $3, updated_at = $4 WHERE id = $1", args![id, decision, reason, now_ms])? == 0 {
                return Ok(Err(format!("no incident #{id}")));
            }
            let text = format!("Art. 34: {decision} — {reason}");
            s.add_timeline_entry(id, "art34", by, &text, now_ms)?;
            s.record_audit(by, "incident_art34", &format!("incident #{id}"), &text, now_ms)?;
            Ok(Ok(()))
        })
    }

    /// Resolves the open compliance items whose group no rule fires for any more (after a
    /// register change), with a `register updated` timeline entry. Breaches stay for the DPO.
    /// Returns the incidents resolved.
    pub(super) fn resolve_stale_compliance(&self, firing: &HashSet<String>, now_ms: i64) -> Result<Vec<i64>, StoreError> {
        let mut resolved = Vec::new();
        for r in self.rows("SELECT id, group_key FROM incidents WHERE kind = 'compliance' AND status IN ('new', 'triaged', 'assessed') ORDER BY id", &[])? {
            let (id, key) = (r.int(0)?, r.text(1)?);
            if firing.contains(&key) {
                continue;
            }
            self.exec("UPDATE incidents SET status = 'resolved', updated_at = $2 WHERE id = $1", args![id, now_ms])?;
            self.add_timeline_entry(id, "resolved", "custos", "register updated: the rule no longer fires for any finding of this item", now_ms)?;
            resolved.push(id);
        }
        Ok(resolved)
    }
}

fn incident_row(r: &Row) -> Result<IncidentRecord, StoreError> {
    let detected = r.int(6)?;
    let awareness = r.int(7)?;
    let dpo = (r.opt_int(13)?, r.opt_int(14)?, r.text(15)?);
    let art34 = (r.text(17)?, r.text(18)?);
    Ok(IncidentRecord {
        id: r.int(0)?,
        kind: IncidentKind::parse(&r.text(1)?).unwrap_or(IncidentKind::Breach),
        rule: r.text(2)?,
        severity: r.text(3)?,
        status: r.text(4)?,
        system: r.text(5)?,
        systems: Vec::new(),
        categories: Vec::new(),
        findings: 0,
        figures: Figures::default(),
        detected_at_ms: detected,
        awareness_at_ms: if awareness > 0 { awareness } else { detected },
        deadline_ms: r.int(8)?,
        last_seen_ms: r.int(9)?,
        explanation: r.text(10)?,
        activities: r.text(11)?.split(',').filter(|s| !s.is_empty()).map(String::from).collect(),
        justification: r.text(12)?,
        dpo_estimate: (dpo.0.is_some() || dpo.1.is_some()).then(|| DpoEstimate {
            subjects: dpo.0.map(|n| n.max(0) as u64),
            records: dpo.1.map(|n| n.max(0) as u64),
            note: dpo.2,
        }),
        authority_reference: r.text(16)?,
        art34: (!art34.0.is_empty()).then_some(art34),
    })
}
