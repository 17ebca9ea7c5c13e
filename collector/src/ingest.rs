//! The gRPC `Ingest` service: authenticated agents in, acknowledgements out.
//!
//! Each agent is identified by the Common Name of the client certificate it presented during
//! the mutual-TLS handshake; a batch claiming another agent id is refused. A batch is
//! acknowledged only once its transaction has committed, so an ack means "durably stored".

use crate::config::TlsFiles;
use crate::register::Register;
use crate::store::{CorrelationSettings, Store};
use custos_proto::v1 as pb;
use custos_proto::v1::ingest_server::{Ingest, IngestServer};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status, Streaming};

/// Shared collector state: the store, the current register and policy, and incident events.
pub struct Collector {
    store: Mutex<Store>,
    register: RwLock<Arc<Register>>,
    settings: CorrelationSettings,
    events: broadcast::Sender<i64>,
}

impl Collector {
    /// State over an opened store and a loaded register, with the default policy.
    pub fn new(store: Store, register: Register) -> Arc<Collector> {
        Collector::with_settings(store, register, CorrelationSettings { window_ms: 24 * 3_600_000, ..Default::default() })
    }

    /// State with an explicit correlation policy.
    pub fn with_settings(store: Store, register: Register, settings: CorrelationSettings) -> Arc<Collector> {
        let (events, _) = broadcast::channel(1024);
        Arc::new(Collector { store: Mutex::new(store), register: RwLock::new(Arc::new(register)), settings, events })
    }

    /// The store behind its lock (for the notifier, which must not hold it while sending).
    pub fn store(&self) -> &Mutex<Store> {
        &self.store
    }

    /// Replaces the register in force and re-correlates every stored finding against it
    /// (blocking). Returns the incidents opened by the new register.
    pub fn replace_register(&self, register: Register) -> Result<Vec<i64>, crate::store::StoreError> {
        let register = Arc::new(register);
        *self.register.write().unwrap_or_else(|p| p.into_inner()) = register.clone();
        let opened = self.with_store(|s| s.recorrelate(&register, &self.settings, custos_agent::finding::now_ms()))?;
        for id in &opened {
            let _ = self.events.send(*id);
        }
        Ok(opened)
    }

    /// Ids of incidents as they are opened.
    pub fn subscribe(&self) -> broadcast::Receiver<i64> {
        self.events.subscribe()
    }

    /// Runs `f` with the store (blocking; call from a blocking context).
    pub fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        let mut guard = lock_store(&self.store);
        f(&mut guard)
    }

    /// The register in force.
    pub fn register(&self) -> Arc<Register> {
        self.register.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Whether the agent is revoked (checked at stream start and on every batch).
    pub fn revoked(&self, agent_id: &str) -> Result<bool, Status> {
        self.with_store(|s| s.is_revoked(agent_id)).map_err(|e| {
            tracing::error!(error = %e, "cannot check revocations");
            Status::unavailable("the collector cannot check revocations right now; retry later")
        })
    }

    fn ingest(&self, batch: &pb::FindingBatch, agent_id: &str) -> Result<pb::BatchAck, Status> {
        let register = self.register();
        let now = custos_agent::finding::now_ms();
        let outcome = self.with_store(|s| s.ingest(batch, agent_id, &register, &self.settings, now)).map_err(|e| {
            tracing::error!(error = %e, "cannot store a batch");
            Status::unavailable("the collector cannot store findings right now; retry later")
        })?;
        for id in &outcome.opened {
            let _ = self.events.send(*id);
        }
        tracing::debug!(agent = agent_id, seq = batch.seq, stored = outcome.stored, duplicates = outcome.duplicates, "batch stored");
        Ok(pb::BatchAck { seq: batch.seq, stored: outcome.stored, duplicates: outcome.duplicates, rejected: outcome.rejected })
    }
}

/// Locks the store; after a panic in another holder, rolls back the transaction it left open.
pub fn lock_store(store: &Mutex<Store>) -> std::sync::MutexGuard<'_, Store> {
    store.lock().unwrap_or_else(|p| {
        let mut guard = p.into_inner();
        guard.recover();
        guard
    })
}

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

/// Reads the TLS files and builds the server TLS config. A client certificate that is
/// presented must chain to the CA (else the handshake fails); one may be absent only for
/// enrolment — `StreamFindings` refuses any caller without one.
pub fn server_tls(files: &TlsFiles) -> anyhow::Result<ServerTlsConfig> {
    let read = |p: &std::path::Path| std::fs::read(p).map_err(|e| anyhow::anyhow!("{}: cannot read TLS file: {e}", p.display()));
    Ok(ServerTlsConfig::new()
        .identity(Identity::from_pem(read(&files.cert)?, read(&files.key)?))
        .client_ca_root(Certificate::from_pem(read(&files.ca)?))
        .client_auth_optional(true))
}

/// Serves `Ingest` (and `Enrollment` when a CA key is available) on `listener` until
/// `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    tls: ServerTlsConfig,
    collector: Arc<Collector>,
    ca: Option<crate::pki::CertificateAuthority>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let service = IngestServer::new(IngestService { collector: collector.clone() }).max_decoding_message_size(64 << 20);
    let enrollment = ca.map(|ca| custos_proto::v1::enrollment_server::EnrollmentServer::new(crate::enrollment::EnrollmentService::new(collector, ca)));
    Server::builder()
        .tls_config(tls)?
        .add_service(service)
        .add_optional_service(enrollment)
        .serve_with_incoming_shutdown(tokio_stream::wrappers::TcpListenerStream::new(listener), shutdown)
        .await?;
    Ok(())
}
