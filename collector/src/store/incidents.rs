//! Incidents as stored: opened or joined as [`crate::incident::group`] decides, read back with
//! their figures, moved along the workflow.

use super::Store;
use super::db::args;
use super::error::StoreError;
use super::findings::{FINDING_SELECT, StoredFinding, finding_row};
use crate::correlation::{Severity, Verdict};
use crate::incident::{Grouping, OpenIncident, Status, group};
use custos_rules::Category;

/// An incident with its figures, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentRecord {
    /// Id.
    pub id: i64,
    /// Rule id.
    pub rule: String,
    /// Severity, as stored (`low` … `critical`).
    pub severity: String,
    /// Workflow status, as stored.
    pub status: String,
    /// `host:locator`.
    pub system: String,
    /// Data categories involved.
    pub categories: Vec<String>,
    /// Findings attached.
    pub findings: u64,
    /// Estimate of affected data subjects: distinct fingerprints of the value findings, or the
    /// largest distinct-value estimate of a table or file classification when that is larger.
    pub distinct_subjects: u64,
    /// Awareness time (ms since epoch).
    pub detected_at_ms: i64,
    /// Art. 33 deadline (ms since epoch).
    pub deadline_ms: i64,
    /// Register activities considered.
    pub activities: Vec<String>,
    /// Why it was opened.
    pub explanation: String,
    /// Estimated records concerned (rows for tables, lines for logs).
    pub records: u64,
    /// Why it was not notified (Art. 33(5)), when it was not.
    pub justification: String,
}

impl Store {
    /// Attaches a verdict to the open incident of its (rule, system) within the window, opening
    /// one if needed, as [`group`] decides. The caller holds the grouping key's lock.
    pub(super) fn attach(
        &self,
        v: &Verdict,
        finding_id: &str,
        fingerprint: Option<&[u8]>,
        window_ms: i64,
        now_ms: i64,
        opened: &mut Vec<i64>,
    ) -> Result<i64, StoreError> {
        let existing = self.row(
            "SELECT id, severity FROM incidents WHERE rule = $1 AND system = $2 AND status IN ('new', 'triaged', 'assessed') AND detected_at >= $3 ORDER BY id DESC LIMIT 1",
            args![v.rule.id(), &v.system, now_ms - window_ms],
        )?;
        let (open, stored_severity) = match existing {
            Some(r) => {
                let (id, severity) = (r.int(0)?, r.text(1)?);
                let categories: Vec<Category> = self
                    .rows("SELECT category FROM incident_categories WHERE incident_id = $1", args![id])?
                    .iter()
                    .filter_map(|r| r.text(0).ok()?.parse().ok())
                    .collect();
                (Some(OpenIncident { id, severity: Severity::parse(&severity), categories, opened_now: opened.contains(&id) }), severity)
            }
            None => (None, String::new()),
        };
        let id = match group(v, open.as_ref(), &stored_severity, now_ms) {
            Grouping::Open { deadline_ms } => {
                let id = self.int(
                    "INSERT INTO incidents (rule, system, severity, status, detected_at, deadline, updated_at, explanation, activities)
                     VALUES ($1, $2, $3, 'new', $4, $5, $4, $6, $7) RETURNING id",
                    args![v.rule.id(), &v.system, v.severity.as_str(), now_ms, deadline_ms, &v.explanation, v.activities.join(",")],
                )?;
                self.add_timeline_entry(id, "detected", "custos", v.rule.title(), now_ms)?;
                opened.push(id);
                id
            }
            Grouping::Join { id, worsened: None } => id,
            Grouping::Join { id, worsened: Some(w) } => {
                self.exec(
                    "UPDATE incidents SET explanation = explanation || $2, updated_at = $3, severity = $4 WHERE id = $1",
                    args![id, format!("\n{}", v.explanation), now_ms, w.severity.as_str()],
                )?;
                if let Some(note) = &w.timeline_note {
                    self.add_timeline_entry(id, "worsened", "custos", note, now_ms)?;
                }
                id
            }
        };
        self.exec("INSERT INTO incident_findings (incident_id, finding_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", args![id, finding_id])?;
        for c in &v.categories {
            self.exec("INSERT INTO incident_categories (incident_id, category) VALUES ($1, $2) ON CONFLICT DO NOTHING", args![id, c.as_str()])?;
        }
        if let Some(fp) = fingerprint {
            self.exec("INSERT INTO incident_subjects (incident_id, fingerprint) VALUES ($1, $2) ON CONFLICT DO NOTHING", args![id, fp])?;
        }
        Ok(id)
    }

    /// All incidents, newest first.
    pub fn incidents(&self) -> Result<Vec<IncidentRecord>, StoreError> {
        let ids: Vec<i64> = self.rows("SELECT id FROM incidents ORDER BY id DESC", &[])?.iter().map(|r| r.int(0)).collect::<Result<_, _>>()?;
        ids.into_iter().filter_map(|id| self.incident(id).transpose()).collect()
    }

    /// Incidents whose deadline is still ahead and that nobody assessed yet (reminder candidates).
    pub fn unassessed_incidents(&self, now_ms: i64) -> Result<Vec<IncidentRecord>, StoreError> {
        let ids: Vec<i64> = self
            .rows("SELECT id FROM incidents WHERE status IN ('new', 'triaged') AND deadline > $1 ORDER BY id", args![now_ms])?
            .iter()
            .map(|r| r.int(0))
            .collect::<Result<_, _>>()?;
        ids.into_iter().filter_map(|id| self.incident(id).transpose()).collect()
    }

    /// One incident.
    pub fn incident(&self, id: i64) -> Result<Option<IncidentRecord>, StoreError> {
        let Some(r) = self.row(
            "SELECT id, rule, severity, status, system, detected_at, deadline, explanation, activities, justification FROM incidents WHERE id = $1",
            args![id],
        )?
        else {
            return Ok(None);
        };
        let mut v = IncidentRecord {
            id: r.int(0)?,
            rule: r.text(1)?,
            severity: r.text(2)?,
            status: r.text(3)?,
            system: r.text(4)?,
            detected_at_ms: r.int(5)?,
            deadline_ms: r.int(6)?,
            explanation: r.text(7)?,
            activities: r.text(8)?.split(',').filter(|s| !s.is_empty()).map(String::from).collect(),
            justification: r.text(9)?,
            categories: Vec::new(),
            findings: 0,
            distinct_subjects: 0,
            records: 0,
        };
        v.categories = self
            .rows("SELECT category FROM incident_categories WHERE incident_id = $1 ORDER BY category", args![id])?
            .iter()
            .map(|r| r.text(0))
            .collect::<Result<_, _>>()?;
        v.findings = self.int("SELECT COUNT(*) FROM incident_findings WHERE incident_id = $1", args![id])?.max(0) as u64;
        // Exact distinct count (see the module documentation of `store`): incident_subjects has
        // one row per (incident, fingerprint), so this is an index-only count.
        let exact = self.int("SELECT COUNT(*) FROM incident_subjects WHERE incident_id = $1", args![id])?;
        // One pass over the incident's findings for both evidence figures (extracted at
        // ingestion). Columns of one table hold the same people, so the largest subject
        // estimate counts, not their sum.
        let figures = self.row(
            "SELECT CAST(COALESCE(SUM(f.records), 0) AS BIGINT), CAST(COALESCE(MAX(f.subjects), 0) AS BIGINT)
             FROM incident_findings i JOIN findings f ON f.id = i.finding_id WHERE i.incident_id = $1",
            args![id],
        )?;
        let (records, classified) = match figures {
            Some(r) => (r.int(0)?, r.int(1)?),
            None => (0, 0),
        };
        v.distinct_subjects = exact.max(classified).max(0) as u64;
        v.records = records.max(0) as u64;
        Ok(Some(v))
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
    /// audit trail.
    pub fn set_status(&mut self, id: i64, to: Status, by: &str, note: &str, now_ms: i64) -> Result<Result<(), String>, StoreError> {
        self.atomically(|s| {
            // FOR UPDATE would be PostgreSQL-only; the UPDATE below re-checks the status read.
            let Some(r) = s.row("SELECT status FROM incidents WHERE id = $1", args![id])? else {
                return Ok(Err(format!("no incident #{id}")));
            };
            let from_text = r.text(0)?;
            let from = Status::parse(&from_text).unwrap_or(Status::New);
            if let Err(e) = from.check_transition(to, note, by) {
                return Ok(Err(e));
            }
            let justification = if to == Status::NotNotifiable { note } else { "" };
            let n = s.exec(
                "UPDATE incidents SET status = $2, updated_at = $3, justification = CASE WHEN $4 = '' THEN justification ELSE $4 END WHERE id = $1 AND status = $5",
                args![id, to.as_str(), now_ms, justification, &from_text],
            )?;
            if n == 0 {
                return Ok(Err(format!("incident #{id} changed status meanwhile; look again and retry")));
            }
            s.add_timeline_entry(id, to.as_str(), by, note, now_ms)?;
            s.record_audit(by, "incident_status", &format!("incident #{id}"), &format!("{} → {}: {note}", from.as_str(), to.as_str()), now_ms)?;
            Ok(Ok(()))
        })
    }
}
