//! Incident timelines: every step of an incident (detected, worsened, triaged, assessed, draft,
//! notified …) with who and when, and the notifier's cursor over them.

use super::db::{Row, args};
use super::error::StoreError;
use super::{Store, TIMELINE_LOCK};

/// One entry of an incident's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineRecord {
    /// Sequence (increasing across incidents).
    pub id: i64,
    /// Incident.
    pub incident_id: i64,
    /// When (ms).
    pub at_ms: i64,
    /// `detected`, `worsened`, `triaged`, `assessed`, `draft`, `notified`, `not_notifiable`, `alert_sent`.
    pub kind: String,
    /// Who (`custos` for the collector itself).
    pub actor: String,
    /// Free text.
    pub note: String,
}

const TIMELINE_SELECT: &str = "SELECT id, incident_id, at, kind, actor, note FROM incident_timeline";

fn timeline_row(r: &Row) -> Result<TimelineRecord, StoreError> {
    Ok(TimelineRecord { id: r.int(0)?, incident_id: r.int(1)?, at_ms: r.int(2)?, kind: r.text(3)?, actor: r.text(4)?, note: r.text(5)? })
}

impl Store {
    /// The timeline of an incident, oldest first.
    pub fn timeline(&self, id: i64) -> Result<Vec<TimelineRecord>, StoreError> {
        self.rows(&format!("{TIMELINE_SELECT} WHERE incident_id = $1 ORDER BY id"), args![id])?.iter().map(timeline_row).collect()
    }

    /// Timeline entries after `after` (the notifier's cursor), oldest first.
    pub fn timeline_since(&self, after: i64) -> Result<Vec<TimelineRecord>, StoreError> {
        self.rows(&format!("{TIMELINE_SELECT} WHERE id > $1 ORDER BY id LIMIT 1000"), args![after])?.iter().map(timeline_row).collect()
    }

    /// Adds a timeline entry (e.g. `draft` when the Art. 33 draft is produced).
    pub fn add_timeline(&mut self, id: i64, kind: &str, actor: &str, note: &str, now_ms: i64) -> Result<(), StoreError> {
        self.add_timeline_entry(id, kind, actor, note, now_ms)
    }

    /// The one writer of timeline entries (inside the caller's transaction).
    pub(super) fn add_timeline_entry(&self, id: i64, kind: &str, actor: &str, note: &str, now_ms: i64) -> Result<(), StoreError> {
        self.exec("INSERT INTO incident_timeline (incident_id, at, kind, actor, note) VALUES ($1, $2, $3, $4, $5)", args![id, now_ms, kind, actor, note])?;
        Ok(())
    }

    /// The notifier's position in the timeline.
    pub fn notifier_cursor(&self) -> Result<i64, StoreError> {
        Ok(self.row("SELECT timeline_id FROM notifier_cursor WHERE id = 1", &[])?.map(|r| r.int(0)).transpose()?.unwrap_or(0))
    }

    /// The notifier's position, with the timeline closed to new detections until the enclosing
    /// [`Store::atomically`] transaction ends — call it there, read [`Store::timeline_since`],
    /// queue, move the cursor, commit. On PostgreSQL this waits for the transactions of other
    /// collectors that are adding events (whose ids may be lower than ones already committed)
    /// and keeps a second notifier out until the cursor has moved, so every event is read once;
    /// on SQLite the write transaction gives the same guarantee.
    pub fn notifier_cursor_locked(&mut self) -> Result<i64, StoreError> {
        self.advisory_lock(TIMELINE_LOCK, false)?;
        self.notifier_cursor()
    }

    /// Moves the notifier's cursor forward (never back: a slower collector cannot rewind it).
    pub fn set_notifier_cursor(&mut self, to: i64) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO notifier_cursor (id, timeline_id) VALUES (1, $1)
             ON CONFLICT (id) DO UPDATE SET timeline_id = excluded.timeline_id WHERE notifier_cursor.timeline_id < excluded.timeline_id",
            args![to],
        )?;
        Ok(())
    }
}
