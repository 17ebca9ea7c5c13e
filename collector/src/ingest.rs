//! The gRPC `Ingest` service: authenticated agents in, acknowledgements out.
//!
//! Each agent is identified by the Common Name of the client certificate it presented during
//! the mutual-TLS handshake; a batch claiming another agent id is refused. A batch is
//! acknowledged only once its transaction has committed, so an ack means "durably stored".

use crate::state::Collector;
use custos_proto::v1 as pb;
use custos_proto::v1::ingest_server::Ingest;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

/// The agent id carried by the client certificate of a request.
fn authenticated_agent<T>(req: &Request<T>) -> Result<String, Status> {
    let certs = req.peer_certs().ok_or_else(|| Status::unauthenticated("a client certificate signed by the collector's CA is required"))?;
    let leaf = certs.first().ok_or_else(|| Status::unauthenticated("a client certificate signed by the collector's CA is required"))?;
    crate::pki::common_name(leaf.as_ref()).ok_or_else(|| Status::unauthenticated("the client certificate has no Common Name (agent id)"))
}

/// The tonic service.
#[derive(Clone)]
pub struct IngestService {
    collector: Arc<Collector>,
}

impl IngestService {
    /// The service over a collector's state.
    pub fn new(collector: Arc<Collector>) -> IngestService {
        IngestService { collector }
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
        tokio::spawn(async move {
            loop {
                let batch = match inbound.message().await {
                    Ok(Some(b)) => b,
                    Ok(None) => break,
                    Err(e) => {
                        tracing::info!(agent = %agent_id, error = %e, "agent stream ended");
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
