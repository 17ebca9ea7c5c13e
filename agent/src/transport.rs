//! Transport: findings to the collector over one mutual-TLS gRPC stream, at least once.
//!
//! Findings are read from the on-disk [spool](crate::spool) and sent in batches with a sequence
//! number. A batch stays *in flight* until the collector acknowledges it; only then does the
//! spool let go of its findings. When the stream breaks, the agent reconnects with exponential
//! backoff and jitter and resends everything after the spool's acknowledged position. Because
//! finding ids are deterministic and the collector ingests idempotently, a resend never creates
//! a duplicate. At most `max_in_flight` batches are in flight, so memory stays bounded however
//! slow the collector is: the backlog waits on disk.
//!
//! With several collectors configured (`url` then `failover`), a connection or stream failure
//! moves the agent to the next one in turn; the resend from the acknowledged position and
//! idempotent ingestion make the move safe.

use crate::config::{BatchConfig, CollectorEndpoint};
use crate::metrics::Metrics;
use crate::spool::{Position, Spool};
use custos_proto::v1 as pb;
use custos_proto::v1::ingest_client::IngestClient;
use rand::Rng;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// A batch sent and not yet acknowledged.
struct InFlight {
    seq: u64,
    /// Spool position after its last finding.
    end: Position,
    findings: u64,
    sent_at: Instant,
}
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

/// Transport failures that need the operator.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// TLS material could not be read.
    #[error("{path}: cannot read TLS material: {source}")]
    Tls {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The collector URL is not usable.
    #[error("collector url `{0}` is invalid: {1}")]
    Url(String, String),
    /// The certificate is not the configured agent's: the collector would close every stream.
    #[error("{cert}: this certificate is agent `{cert_id}`'s, but `agent_id` is `{agent_id}`; set agent_id = \"{cert_id}\" or enrol `{agent_id}`")]
    Identity {
        /// The certificate file.
        cert: String,
        /// Its Common Name.
        cert_id: String,
        /// The configured agent id.
        agent_id: String,
    },
    /// The certificate cannot be read as one.
    #[error("{0}: not a PEM certificate with a Common Name")]
    Certificate(String),
}

/// The Common Name (agent id) and expiry (seconds since the epoch) of a PEM certificate.
pub fn certificate_identity(pem: &[u8]) -> Option<(String, i64)> {
    let (_, der) = x509_parser::pem::parse_x509_pem(pem).ok()?;
    let cert = der.parse_x509().ok()?;
    let cn = cert.subject().iter_common_name().next()?.as_str().ok()?.to_string();
    Some((cn, cert.validity().not_after.timestamp()))
}

/// Progress, observable by the embedding process (quickstart, tests).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Findings acknowledged by the collector.
    pub acked_findings: u64,
    /// Batches acknowledged.
    pub acked_batches: u64,
    /// Findings sent but not yet acknowledged, or waiting to be batched.
    pub pending_findings: u64,
    /// Successful connections so far.
    pub connections: u64,
    /// Last connection or stream error, if the latest attempt failed.
    pub last_error: Option<String>,
}

/// Exponential backoff with full jitter, 200 ms to 30 s.
#[derive(Debug)]
struct Backoff {
    attempt: u32,
}

impl Backoff {
    fn next(&mut self) -> Duration {
        let cap = 200u64.saturating_mul(1u64 << self.attempt.min(8)).min(30_000);
        self.attempt += 1;
        Duration::from_millis(rand::rng().random_range(cap / 2..=cap))
    }
    fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// The agent's side of the `Ingest` stream.
pub struct Transport {
    /// The configured collectors, in failover order (the first is `url`).
    collectors: Vec<Collector>,
    /// Index (modulo the list) of the collector in use.
    current: AtomicUsize,
    batch: BatchConfig,
    agent_id: String,
    host: String,
    /// Where refused findings are recorded.
    dead_letter: Option<crate::dead_letter::DeadLetter>,
}

/// One collector address with its TLS settings.
struct Collector {
    url: String,
    tls: ClientTlsConfig,
    address: tonic::transport::Endpoint,
}

impl Transport {
    /// Reads the TLS material and prepares the connection settings.
    pub fn new(endpoint: CollectorEndpoint, batch: BatchConfig, agent_id: String, host: String) -> Result<Self, TransportError> {
        let read = |p: &std::path::Path| std::fs::read(p).map_err(|source| TransportError::Tls { path: p.display().to_string(), source });
        let ca = read(&endpoint.ca)?;
        let cert = read(&endpoint.cert)?;
        let key = read(&endpoint.key)?;
        // Checked here, at start-up: with another agent's certificate the collector refuses
        // every batch, and findings spooled under the wrong id would never be delivered.
        let (cert_id, not_after) = certificate_identity(&cert).ok_or_else(|| TransportError::Certificate(endpoint.cert.display().to_string()))?;
        if cert_id != agent_id {
            return Err(TransportError::Identity { cert: endpoint.cert.display().to_string(), cert_id, agent_id });
        }
        let days_left = (not_after - custos_proto::time::now_ms() / 1000) / 86_400;
        if days_left < 30 {
            tracing::warn!(cert = %endpoint.cert.display(), days_left, "the agent certificate expires soon: run `custos-agent renew`");
        }
        let tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca)).identity(Identity::from_pem(cert, key));
        let mut collectors = Vec::new();
        for url in std::iter::once(&endpoint.url).chain(&endpoint.failover) {
            let server_name = match &endpoint.server_name {
                Some(n) => n.clone(),
                None => url
                    .parse::<tonic::codegen::http::Uri>()
                    .map_err(|e| TransportError::Url(url.clone(), e.to_string()))?
                    .host()
                    .unwrap_or("localhost")
                    .to_string(),
            };
            let address = Channel::from_shared(url.clone()).map_err(|e| TransportError::Url(url.clone(), e.to_string()))?;
            collectors.push(Collector { url: url.clone(), tls: tls.clone().domain_name(server_name), address });
        }
        Ok(Transport { collectors, current: AtomicUsize::new(0), batch, agent_id, host, dead_letter: None })
    }

    /// Records the findings the collector refuses in `dead_letter`.
    pub fn with_dead_letter(mut self, dead_letter: crate::dead_letter::DeadLetter) -> Transport {
        self.dead_letter = Some(dead_letter);
        self
    }

    /// The collector currently in use.
    fn collector(&self) -> &Collector {
        &self.collectors[self.current.load(Ordering::Relaxed) % self.collectors.len()]
    }

    /// Moves to the next collector of the list (a no-op with a single collector).
    fn fail_over(&self) {
        if self.collectors.len() > 1 {
            let next = (self.current.fetch_add(1, Ordering::Relaxed) + 1) % self.collectors.len();
            tracing::warn!(collector = %self.collectors[next].url, "failing over to the next collector");
        }
    }

    async fn connect(&self) -> Result<Channel, String> {
        let c = self.collector();
        c.address
            .clone()
            .tls_config(c.tls.clone())
            .map_err(|e| e.to_string())?
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .map_err(|e| describe_error(&e))
    }

    /// Sends what the spool holds, batch by batch, and acknowledges it in the spool as the
    /// collector acknowledges it. Returns when `shutdown` turns true, or — once `input_done`
    /// is true — when the spool is empty (everything acknowledged).
    pub async fn run(
        self,
        spool: Spool,
        metrics: Arc<Metrics>,
        progress: watch::Sender<Delivery>,
        mut shutdown: watch::Receiver<bool>,
        input_done: watch::Receiver<bool>,
    ) {
        let mut backoff = Backoff { attempt: 0 };
        let mut seq: u64 = 0;
        let finished = |spool: &Spool| *input_done.borrow() && spool.depth() == 0;

        'connection: loop {
            if *shutdown.borrow() || finished(&spool) {
                return;
            }
            let channel = match self.connect().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(collector = %self.collector().url, error = %e, "cannot reach the collector; retrying");
                    self.fail_over();
                    progress.send_modify(|p| p.last_error = Some(e));
                    let wait = backoff.next();
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = shutdown.changed() => {}
                    }
                    continue;
                }
            };
            let (tx, rx) = mpsc::channel::<pb::FindingBatch>(self.batch.max_in_flight + 2);
            let mut client = IngestClient::new(channel).max_decoding_message_size(16 << 20).max_encoding_message_size(64 << 20);
            let mut acks = match client.stream_findings(tokio_stream::wrappers::ReceiverStream::new(rx)).await {
                Ok(r) => r.into_inner(),
                Err(status) => {
                    let e = describe_status(&status);
                    tracing::warn!(collector = %self.collector().url, error = %e, "collector refused the stream; retrying");
                    self.fail_over();
                    progress.send_modify(|p| p.last_error = Some(e));
                    let wait = backoff.next();
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = shutdown.changed() => {}
                    }
                    continue;
                }
            };
            let connections = progress.borrow().connections;
            if connections > 0 {
                metrics.reconnects.inc();
            }
            tracing::info!(collector = %self.collector().url, unacknowledged = spool.depth(), "connected to the collector");
            progress.send_modify(|p| {
                p.connections += 1;
                p.last_error = None;
            });
            // Everything not acknowledged is (re)sent on this stream, oldest first.
            let mut sent = spool.acked();
            let mut pending: VecDeque<InFlight> = VecDeque::new();
            loop {
                if finished(&spool) {
                    return;
                }
                while pending.len() < self.batch.max_in_flight {
                    // Never more than the collector accepts in one batch.
                    let (findings, end) = match spool.read(sent, self.batch.max_findings.clamp(1, custos_proto::codec::MAX_FINDINGS_PER_BATCH)) {
                        Ok(r) => r,
                        Err(e) => {
                            tracing::error!(error = %e, "cannot read the spool");
                            break;
                        }
                    };
                    if findings.is_empty() {
                        break;
                    }
                    seq += 1;
                    let n = findings.len() as u64;
                    pending.push_back(InFlight { seq, end, findings: n, sent_at: Instant::now() });
                    sent = end;
                    metrics.batches_sent.inc();
                    if tx.send(self.make_batch(seq, findings, spool.depth())).await.is_err() {
                        continue 'connection;
                    }
                }
                progress.send_modify(|p| p.pending_findings = spool.depth());
                tokio::select! {
                    biased;
                    _ = shutdown.changed() => {
                        if *shutdown.borrow() { return; }
                    }
                    ack = acks.message() => match ack {
                        Ok(Some(ack)) => {
                            while pending.front().is_some_and(|f| f.seq <= ack.seq) {
                                let Some(done) = pending.pop_front() else { break };
                                if let Err(e) = spool.ack(done.end, done.findings) {
                                    tracing::error!(error = %e, "cannot record an acknowledgement in the spool");
                                }
                                metrics.batches_acked.inc();
                                metrics.send_latency.observe(done.sent_at.elapsed().as_secs_f64());
                                backoff.reset();
                                progress.send_modify(|p| { p.acked_findings += done.findings; p.acked_batches += 1; });
                            }
                            if ack.rejected > 0 {
                                metrics.findings_refused.inc_by(u64::from(ack.rejected));
                                let refused: Vec<(String, String)> = ack.refused.into_iter().map(|r| (r.id, r.reason)).collect();
                                let first = refused.first().map_or("", |(_, r)| r.as_str());
                                tracing::warn!(rejected = ack.rejected, seq = ack.seq, first_reason = first, "the collector refused findings; they are acknowledged and kept in the dead-letter record");
                                if let Some(d) = &self.dead_letter
                                    && let Err(e) = d.record(ack.seq, &refused, custos_proto::time::now_ms())
                                {
                                    tracing::error!(path = %d.path().display(), error = %e, "cannot write the dead-letter record");
                                }
                            }
                        }
                        Ok(None) => {
                            tracing::warn!(collector = %self.collector().url, "collector closed the stream; reconnecting");
                            self.fail_over();
                            continue 'connection;
                        }
                        Err(status) => {
                            let e = describe_status(&status);
                            tracing::warn!(collector = %self.collector().url, error = %e, "stream to the collector failed; reconnecting");
                            progress.send_modify(|p| p.last_error = Some(e));
                            self.fail_over();
                            tokio::time::sleep(backoff.next()).await;
                            continue 'connection;
                        }
                    },
                    _ = spool.appended.notified(), if pending.len() < self.batch.max_in_flight => {}
                    _ = tokio::time::sleep(Duration::from_millis(self.batch.linger_ms.max(10))) => {}
                }
            }
        }
    }

    fn make_batch(&self, seq: u64, findings: Vec<pb::Finding>, spool_depth: u64) -> pb::FindingBatch {
        pb::FindingBatch {
            seq,
            agent_id: self.agent_id.clone(),
            findings,
            agent_version: env!("CARGO_PKG_VERSION").to_string(),
            host: self.host.clone(),
            spool_depth,
        }
    }
}

/// A transport error with its causes, so a TLS refusal says why.
fn describe_error(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

fn describe_status(s: &tonic::Status) -> String {
    let mut msg = format!("{:?}: {}", s.code(), s.message());
    if let Some(src) = std::error::Error::source(s) {
        msg.push_str(": ");
        msg.push_str(&describe_error(src));
    }
    if matches!(s.code(), tonic::Code::Unknown | tonic::Code::Unavailable) && msg.to_lowercase().contains("certificate") {
        msg.push_str(" (TLS authentication failed: check that the agent certificate is signed by the collector's CA)");
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let mut b = Backoff { attempt: 0 };
        let first = b.next();
        assert!(first <= Duration::from_millis(200));
        for _ in 0..20 {
            assert!(b.next() <= Duration::from_secs(30));
        }
        b.reset();
        assert!(b.next() <= Duration::from_millis(200));
    }
}
