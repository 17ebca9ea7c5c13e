//! Agents as stored: the inventory (last batch, version, spool depth), one-time enrolment
//! tokens (stored hashed) and revocations.

use super::Store;
use super::db::args;
use super::error::StoreError;
use crate::secret;

/// Why an enrolment token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Never issued (or mistyped).
    #[error("unknown enrolment token")]
    Unknown,
    /// Past its expiry.
    #[error("enrolment token expired; issue a new one with `custos-collector enroll`")]
    Expired,
    /// Already exchanged for a certificate.
    #[error("enrolment token already used; issue a new one with `custos-collector enroll`")]
    AlreadyUsed,
    /// The agent id was revoked.
    #[error("agent `{0}` is revoked; enrol it under a new id")]
    Revoked(String),
}

/// An agent as the inventory shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRecord {
    /// Agent id (the certificate's Common Name).
    pub agent_id: String,
    /// Host it reported from last.
    pub host: String,
    /// Agent version.
    pub version: String,
    /// First batch received (ms).
    pub first_seen_ms: i64,
    /// Last batch received (ms).
    pub last_seen_ms: i64,
    /// Unacknowledged findings in its spool when it last sent.
    pub spool_depth: u64,
    /// Findings of its batches refused at the edge (malformed, or text the store cannot keep),
    /// since it first sent: acknowledged, never stored.
    pub refused_findings: u64,
    /// Whether it is revoked.
    pub revoked: bool,
    /// Why, when revoked.
    pub revocation_reason: String,
}

impl Store {
    /// Records that an agent sent a batch (its host, version and spool depth now, and how many
    /// of the batch's findings were refused).
    pub(super) fn touch_agent(&self, agent_id: &str, host: &str, version: &str, spool_depth: u64, refused: u32, now_ms: i64) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO agents (agent_id, host, version, first_seen, last_seen, spool_depth, refused_findings) VALUES ($1, $2, $3, $4, $4, $5, $6)
             ON CONFLICT (agent_id) DO UPDATE SET host = excluded.host, version = excluded.version, last_seen = excluded.last_seen, spool_depth = excluded.spool_depth,
                                                 refused_findings = agents.refused_findings + excluded.refused_findings",
            args![agent_id, host, version, now_ms, spool_depth.min(i64::MAX as u64) as i64, refused],
        )?;
        Ok(())
    }

    /// Agents and when each was last heard of: (agent id, host, last seen ms).
    pub fn agents(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
        self.rows("SELECT agent_id, host, last_seen FROM agents ORDER BY agent_id", &[])?.iter().map(|r| Ok((r.text(0)?, r.text(1)?, r.int(2)?))).collect()
    }

    /// Every agent that ever sent a batch, with its revocation state.
    pub fn agent_inventory(&self) -> Result<Vec<AgentRecord>, StoreError> {
        self.rows(
            "SELECT a.agent_id, a.host, a.version, a.first_seen, a.last_seen, a.spool_depth, CASE WHEN r.agent_id IS NULL THEN 0 ELSE 1 END, COALESCE(r.reason, ''),
                    a.refused_findings
             FROM agents a LEFT JOIN revocations r ON r.agent_id = a.agent_id ORDER BY a.agent_id",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok(AgentRecord {
                agent_id: r.text(0)?,
                host: r.text(1)?,
                version: r.text(2)?,
                first_seen_ms: r.int(3)?,
                last_seen_ms: r.int(4)?,
                spool_depth: r.int(5)?.max(0) as u64,
                revoked: r.bool(6)?,
                revocation_reason: r.text(7)?,
                refused_findings: r.int(8)?.max(0) as u64,
            })
        })
        .collect()
    }

    /// Issues a one-time token for `agent_id`, valid `ttl_ms`. Only its hash is stored.
    pub fn issue_enrollment_token(&mut self, agent_id: &str, now_ms: i64, ttl_ms: i64) -> Result<String, StoreError> {
        let token = secret::new();
        self.exec(
            "INSERT INTO enrollment_tokens (token_hash, agent_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            args![secret::hash(&token), agent_id, now_ms, now_ms + ttl_ms],
        )?;
        Ok(token)
    }

    /// Consumes a token: returns its agent id, or why it is refused.
    pub fn redeem_enrollment_token(&mut self, token: &str, now_ms: i64) -> Result<Result<String, TokenError>, StoreError> {
        let hash = secret::hash(token);
        let Some(row) = self.row("SELECT agent_id, expires_at, used_at FROM enrollment_tokens WHERE token_hash = $1", args![&hash])? else {
            return Ok(Err(TokenError::Unknown));
        };
        let (agent_id, expires_at, used_at) = (row.text(0)?, row.int(1)?, row.opt_int(2)?);
        if used_at.is_some() {
            return Ok(Err(TokenError::AlreadyUsed));
        }
        if now_ms > expires_at {
            return Ok(Err(TokenError::Expired));
        }
        if self.is_revoked(&agent_id)? {
            return Ok(Err(TokenError::Revoked(agent_id)));
        }
        // The claim: of two concurrent redemptions (even on two collectors), one updates the row.
        let n = self.exec("UPDATE enrollment_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL", args![hash, now_ms])?;
        if n != 1 {
            return Ok(Err(TokenError::AlreadyUsed));
        }
        Ok(Ok(agent_id))
    }

    /// Revokes an agent id.
    pub fn revoke_agent(&mut self, agent_id: &str, reason: &str, now_ms: i64) -> Result<bool, StoreError> {
        let n =
            self.exec("INSERT INTO revocations (agent_id, revoked_at, reason) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", args![agent_id, now_ms, reason])?;
        Ok(n == 1)
    }

    /// Whether an agent id is revoked.
    pub fn is_revoked(&self, agent_id: &str) -> Result<bool, StoreError> {
        Ok(self.int("SELECT CASE WHEN EXISTS (SELECT 1 FROM revocations WHERE agent_id = $1) THEN 1 ELSE 0 END", args![agent_id])? != 0)
    }
}
