//! Mutes: a rule silenced for one system, with the reason kept in the audit trail. Muted
//! verdicts are still stored, flagged muted; they open no incident.

use super::Store;
use super::db::args;
use super::error::StoreError;
use std::collections::HashSet;

/// A rule muted for a system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MuteRecord {
    /// Rule id.
    pub rule: String,
    /// System (`host:locator`).
    pub system: String,
    /// Why.
    pub reason: String,
    /// Who.
    pub muted_by: String,
    /// When (ms).
    pub at_ms: i64,
}

impl Store {
    /// Mutes a rule for a system (`host:locator`): its verdicts are kept, flagged muted, and open
    /// no incident. The reason goes to the audit trail.
    pub fn mute(&mut self, rule: &str, system: &str, reason: &str, by: &str, now_ms: i64) -> Result<(), StoreError> {
        self.atomically(|s| {
            s.exec(
                "INSERT INTO mutes (rule, system, reason, muted_by, at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (rule, system) DO UPDATE SET reason = excluded.reason, muted_by = excluded.muted_by, at = excluded.at",
                args![rule, system, reason, by, now_ms],
            )?;
            s.record_audit(by, "mute", &format!("{rule} on {system}"), reason, now_ms)
        })
    }

    /// Lifts a mute; returns whether there was one.
    pub fn unmute(&mut self, rule: &str, system: &str, reason: &str, by: &str, now_ms: i64) -> Result<bool, StoreError> {
        self.atomically(|s| {
            let n = s.exec("DELETE FROM mutes WHERE rule = $1 AND system = $2", args![rule, system])?;
            if n > 0 {
                s.record_audit(by, "unmute", &format!("{rule} on {system}"), reason, now_ms)?;
            }
            Ok(n > 0)
        })
    }

    /// Mutes in force, by rule and system.
    pub fn mutes(&self) -> Result<Vec<MuteRecord>, StoreError> {
        self.rows("SELECT rule, system, reason, muted_by, at FROM mutes ORDER BY rule, system", &[])?
            .iter()
            .map(|r| Ok(MuteRecord { rule: r.text(0)?, system: r.text(1)?, reason: r.text(2)?, muted_by: r.text(3)?, at_ms: r.int(4)? }))
            .collect()
    }

    /// The (rule, system) pairs muted, for settling verdicts.
    pub(super) fn muted_pairs(&self) -> Result<HashSet<(String, String)>, StoreError> {
        self.rows("SELECT rule, system FROM mutes", &[])?.iter().map(|r| Ok((r.text(0)?, r.text(1)?))).collect()
    }
}
