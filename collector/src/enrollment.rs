//! Enrolment and revocation of agents.
//!
//! `custos-collector enroll --agent-id ID` stores the SHA-256 of a random one-time token bound to
//! that agent id, with an expiry, and prints the token once. The agent sends it with a CSR
//! (`custos-agent enroll`); the collector checks that the token exists, is not expired and was
//! never used — marking it used in the same statement, so two concurrent uses cannot both win —
//! and signs a client certificate whose Common Name is the bound agent id (whatever the CSR
//! asked for). `custos-collector revoke ID` records a revocation; the ingest service refuses a
//! revoked agent when it opens a stream and on every batch of a stream already open.
//!
//! The CSR is parsed and its signature verified *before* the token is redeemed: a malformed
//! request is refused without using the token up. Certificates are valid for
//! `agent_certificate_days` (one year by default); before that, `custos-agent renew` calls
//! `Renew` over the mutual-TLS channel its current certificate opens, and gets a certificate for
//! a new key with the same agent id — never another — unless the agent is revoked.

use crate::pki::{AgentCsr, CertificateAuthority};
pub use crate::store::agents::TokenError;
use custos_proto::v1 as pb;
use custos_proto::v1::enrollment_server::Enrollment;
use std::sync::{Arc, Mutex};
use tonic::{Request, Response, Status};

/// Checks an agent id, the Common Name its certificate will carry; the error says what is
/// accepted.
pub fn check_agent_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
        return Err(format!("agent id `{id}` must be 1-128 letters, digits, '-', '_' or '.'"));
    }
    Ok(())
}

/// The gRPC enrolment service.
pub struct EnrollmentService {
    store: Arc<crate::state::Collector>,
    ca: Arc<Mutex<CertificateAuthority>>,
    days: u32,
}

impl EnrollmentService {
    /// A service signing with `ca` certificates valid for `days`.
    pub fn new(collector: Arc<crate::state::Collector>, ca: CertificateAuthority, days: u32) -> Self {
        EnrollmentService { store: collector, ca: Arc::new(Mutex::new(ca)), days }
    }
}

fn parse_csr(pem: &str) -> Result<AgentCsr, Status> {
    if pem.len() > 64 * 1024 {
        return Err(Status::invalid_argument("CSR too large"));
    }
    AgentCsr::parse(pem).map_err(|e| Status::invalid_argument(format!("bad certificate signing request: {e}")))
}

#[tonic::async_trait]
impl Enrollment for EnrollmentService {
    async fn enroll(&self, req: Request<pb::EnrollRequest>) -> Result<Response<pb::EnrollResponse>, Status> {
        let req = req.into_inner();
        if req.token.len() > 256 {
            return Err(Status::invalid_argument("token too large"));
        }
        // Before the token is redeemed: a malformed request must not use it up.
        let csr = parse_csr(&req.csr_pem)?;
        let collector = self.store.clone();
        let (ca, days) = (self.ca.clone(), self.days);
        tokio::task::spawn_blocking(move || {
            let now = custos_proto::time::now_ms();
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
            let cert = ca.sign_agent_csr(&agent_id, &csr, days).map_err(|e| Status::internal(format!("cannot sign the certificate: {e}")))?;
            tracing::info!(agent = %agent_id, days, "agent enrolled");
            Ok(Response::new(pb::EnrollResponse { agent_id, certificate_pem: cert, ca_pem: ca.cert_pem.clone() }))
        })
        .await
        .map_err(|_| Status::internal("enrolment task failed"))?
    }

    async fn renew(&self, req: Request<pb::RenewRequest>) -> Result<Response<pb::EnrollResponse>, Status> {
        let agent_id = crate::ingest::authenticated_agent(&req)?;
        let csr = parse_csr(&req.into_inner().csr_pem)?;
        let collector = self.store.clone();
        let (ca, days) = (self.ca.clone(), self.days);
        tokio::task::spawn_blocking(move || {
            let now = custos_proto::time::now_ms();
            if collector.revoked(&agent_id)? {
                tracing::warn!(agent = %agent_id, "renewal refused: revoked");
                return Err(Status::permission_denied(format!("agent `{agent_id}` is revoked")));
            }
            let ca = ca.lock().unwrap_or_else(|p| p.into_inner());
            let cert = ca.sign_agent_csr(&agent_id, &csr, days).map_err(|e| Status::internal(format!("cannot sign the certificate: {e}")))?;
            if let Err(e) = collector.with_store(|s| s.record_audit(&agent_id, "renew_certificate", &agent_id, &format!("valid {days} days"), now)) {
                tracing::error!(error = %e, "renewal: cannot write the audit trail");
                return Err(Status::unavailable("the collector cannot renew certificates right now"));
            }
            tracing::info!(agent = %agent_id, days, "agent certificate renewed");
            Ok(Response::new(pb::EnrollResponse { agent_id, certificate_pem: cert, ca_pem: ca.cert_pem.clone() }))
        })
        .await
        .map_err(|_| Status::internal("renewal task failed"))?
    }
}
