//! The gRPC `Ingest` service: authenticated agents in, acknowledgements out.
//!
//! Each agent is identified by the Common Name of the client certificate it presented during
//! the mutual-TLS handshake; a batch claiming another agent id is refused. A batch is
//! acknowledged only once its transaction has committed, so an ack means "durably stored".
//!
//! What an agent sends is bounded before it costs memory: the codec refuses a batch of more
//! than [`custos_proto::codec::MAX_FINDINGS_PER_BATCH`] findings on its wire bytes, before
//! decoding it, and the stream then ends with that error status (never a clean close, which
//! the agent would take for a restart); each agent's findings per second are limited by a
//! token bucket ([`crate::rate`]) that delays its acknowledgements when it goes over.

use crate::rate::RateLimit;
use crate::state::Collector;
use custos_proto::v1 as pb;
use custos_proto::v1::ingest_server::Ingest;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

/// The agent id carried by the client certificate of a request (its chain was verified
/// against the collector's CA during the handshake).
pub(crate) fn authenticated_agent<T>(req: &Request<T>) -> Result<String, Status> {
    let certs = req.peer_certs().ok_or_else(|| Status::unauthenticated("a client certificate signed by the collector's CA is required"))?;
    let leaf = certs.first().ok_or_else(|| Status::unauthenticated("a client certificate signed by the collector's CA is required"))?;
    crate::pki::common_name(leaf.as_ref()).ok_or_else(|| Status::unauthenticated("the client certificate has no Common Name (agent id)"))
}

/// Whether a stream error is the decoding of a batch refused (over the codec's limits, over
/// the message size, malformed) rather than the agent going away.
fn refused_by_decoding(status: &Status) -> bool {
    use tonic::Code::*;
    matches!(status.code(), ResourceExhausted | InvalidArgument | OutOfRange | Internal)
}

/// The tonic service.
#[derive(Clone)]
pub struct IngestService {
    collector: Arc<Collector>,
    rate: Arc<RateLimit>,
}

impl IngestService {
    /// The service over a collector's state, with the default per-agent rate limit.
    pub fn new(collector: Arc<Collector>) -> IngestService {
        IngestService::with_rate_limit(collector, crate::rate::DEFAULT_FINDINGS_PER_SECOND)
    }

    /// The service with a limit of `per_second` findings per agent (0: none).
    pub fn with_rate_limit(collector: Arc<Collector>, per_second: u32) -> IngestService {
        IngestService { collector, rate: Arc::new(RateLimit::new(per_second)) }
    }
}

#[tonic::async_trait]
impl Ingest for IngestService {
    type StreamFindingsStream = ReceiverStream<Result<pb::BatchAck, Status>>;

    async fn stream_findings(&self, req: Request<Streaming<pb::FindingBatch>>) -> Result<Response<Self::StreamFindingsStream>, Status> {
        let agent_id = authenticated_agent(&req)?;
        if self.collector.revoked(&agent_id)? {
            tracing::warn!(agent = %agent_id, "revoked agent refused");
            return Err(Status::permission_denied(format!("agent `{agent_id}` is revoked")));
        }
        tracing::info!(agent = %agent_id, "agent connected");
        let mut inbound = req.into_inner();
        let (tx, rx) = mpsc::channel(64);
        let collector = self.collector.clone();
        let rate = self.rate.clone();
        tokio::spawn(async move {
            loop {
                let batch = match inbound.message().await {
                    Ok(Some(b)) => b,
                    Ok(None) => break,
                    Err(status) if !refused_by_decoding(&status) => {
                        tracing::info!(agent = %agent_id, error = %status.message(), "agent stream ended");
                        break;
                    }
                    Err(status) => {
                        // A batch refused by the codec (over the limits) or undecodable: one
                        // line, and the stream ends with that status so the agent knows why.
                        tracing::warn!(agent = %agent_id, code = ?status.code(), error = %status.message(), "batch refused before decoding; closing the stream");
                        let _ = tx.send(Err(status)).await;
                        break;
                    }
                };
                match collector.revoked(&agent_id) {
                    Ok(false) => {}
                    Ok(true) => {
                        tracing::warn!(agent = %agent_id, "agent revoked; closing its stream");
                        let _ = tx.send(Err(Status::permission_denied(format!("agent `{agent_id}` is revoked")))).await;
                        break;
                    }
                    Err(status) => {
                        let _ = tx.send(Err(status)).await;
                        break;
                    }
                }
                if batch.agent_id != agent_id {
                    tracing::warn!(agent = %agent_id, claimed = %batch.agent_id, "agent claimed another id; closing its stream");
                    let _ = tx.send(Err(Status::permission_denied(format!("this certificate belongs to agent `{agent_id}`, not `{}`", batch.agent_id)))).await;
                    break;
                }
                let wait = rate.delay(&agent_id, batch.findings.len(), std::time::Instant::now());
                if !wait.is_zero() {
                    tracing::debug!(agent = %agent_id, wait_ms = wait.as_millis() as u64, "agent over its rate; delaying its batch");
                    tokio::time::sleep(wait).await;
                }
                let c = collector.clone();
                let id = agent_id.clone();
                let ack = match tokio::task::spawn_blocking(move || c.ingest(&batch, &id)).await {
                    Ok(r) => r,
                    Err(_) => Err(Status::internal("ingestion task failed")),
                };
                let failed = ack.is_err();
                if tx.send(ack).await.is_err() || failed {
                    break;
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}
