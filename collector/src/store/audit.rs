//! The audit trail: who did what, when — logins, evidence views, report downloads, status
//! changes, mutes, users, agents. [`Store::record_audit`] is its one writer.

use super::Store;
use super::db::args;
use super::error::StoreError;

/// One audit-trail entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// When (ms).
    pub at_ms: i64,
    /// Who.
    pub actor: String,
    /// What (`mute`, `unmute`, `incident_status`, `login` …).
    pub action: String,
    /// On what.
    pub subject: String,
    /// Why, or details.
    pub detail: String,
}

impl Store {
    /// Records an entry of the audit trail (joins the caller's transaction, if any).
    pub fn record_audit(&self, actor: &str, action: &str, subject: &str, detail: &str, now_ms: i64) -> Result<(), StoreError> {
        self.exec("INSERT INTO audit (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)", args![now_ms, actor, action, subject, detail])?;
        Ok(())
    }

    /// The audit trail, oldest first.
    pub fn audit(&self) -> Result<Vec<AuditRecord>, StoreError> {
        self.rows("SELECT at, actor, action, subject, detail FROM audit ORDER BY id", &[])?
            .iter()
            .map(|r| Ok(AuditRecord { at_ms: r.int(0)?, actor: r.text(1)?, action: r.text(2)?, subject: r.text(3)?, detail: r.text(4)? }))
            .collect()
    }
}
