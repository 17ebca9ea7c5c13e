//! Enrolment and revocation of agents.
//!
//! `custos-collector enroll --agent-id ID` stores the SHA-256 of a random one-time token bound to
//! that agent id, with an expiry, and prints the token once. The agent sends it with a CSR
//! (`custos-agent enroll`); the collector checks that the token exists, is not expired and was
//! never used — marking it used in the same statement, so two concurrent uses cannot both win —
//! and signs a client certificate whose Common Name is the bound agent id (whatever the CSR
//! asked for). `custos-collector revoke ID` records a revocation; the ingest service refuses a
//! revoked agent when it opens a stream and on every batch of a stream already open.

use crate::pki::CertificateAuthority;
use crate::secret;
use crate::store::{Store, StoreError};
use custos_proto::v1 as pb;
use custos_proto::v1::enrollment_server::Enrollment;
use crate::store::db::args;
use std::sync::{Arc, Mutex};
use tonic::{Request, Response, Status};

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

/// Checks an agent id, the Common Name its certificate will carry; the error says what is
/// accepted.
pub fn check_agent_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
        return Err(format!("agent id `{id}` must be 1-128 letters, digits, '-', '_' or '.'"));
    }
    Ok(())
}

impl Store {
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
        let n = self.exec("INSERT INTO revocations (agent_id, revoked_at, reason) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", args![agent_id, now_ms, reason])?;
        Ok(n == 1)
    }

    /// Whether an agent id is revoked.
    pub fn is_revoked(&self, agent_id: &str) -> Result<bool, StoreError> {
        Ok(self.int("SELECT CASE WHEN EXISTS (SELECT 1 FROM revocations WHERE agent_id = $1) THEN 1 ELSE 0 END", args![agent_id])? != 0)
    }
}

/// The gRPC enrolment service.
pub struct EnrollmentService {
    store: Arc<crate::ingest::Collector>,
    ca: Arc<Mutex<CertificateAuthority>>,
}

impl EnrollmentService {
    /// A service signing with `ca`.
    pub fn new(collector: Arc<crate::ingest::Collector>, ca: CertificateAuthority) -> Self {
        EnrollmentService { store: collector, ca: Arc::new(Mutex::new(ca)) }
    }
}

#[tonic::async_trait]
impl Enrollment for EnrollmentService {
    async fn enroll(&self, req: Request<pb::EnrollRequest>) -> Result<Response<pb::EnrollResponse>, Status> {
        let req = req.into_inner();
        if req.token.len() > 256 || req.csr_pem.len() > 64 * 1024 {
            return Err(Status::invalid_argument("token or CSR too large"));
        }
        let collector = self.store.clone();
        let ca = self.ca.clone();
        tokio::task::spawn_blocking(move || {
            let now = custos_agent::finding::now_ms();
            let agent_id = match collector.with_store(|s| s.redeem_enrollment_token(&req.token, now)) {
                Ok(Ok(id)) => id,
                Ok(Err(e)) => {
                    tracing::warn!(reason = %e, "enrolment refused");
                    return Err(Status::permission_denied(e.to_string()));
                }
                Err(e) => {
                    tracing::error!(error = %e, "enrolment: database error");
                    return Err(Status::unavailable("the collector cannot enrol agents right now"));
                }
            };
            let ca = ca.lock().unwrap_or_else(|p| p.into_inner());
            let cert = ca.sign_agent_csr(&agent_id, &req.csr_pem).map_err(|e| Status::invalid_argument(format!("bad certificate signing request: {e}")))?;
            tracing::info!(agent = %agent_id, "agent enrolled");
            Ok(Response::new(pb::EnrollResponse { agent_id, certificate_pem: cert, ca_pem: ca.cert_pem.clone() }))
        })
        .await
        .map_err(|_| Status::internal("enrolment task failed"))?
    }
}
