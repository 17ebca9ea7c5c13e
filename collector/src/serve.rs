//! A running collector, wired: the gRPC services (ingest and enrolment) over mutual TLS, the
//! console, and the background loops (register watch, notifier, purge) around one shared
//! [`Collector`] state. `custos-collector run` calls [`run`]; the quickstart uses [`grpc`] and
//! [`server_tls`] for its embedded collector.

use crate::config::{CollectorConfig, TlsFiles};

use crate::data_dir;
use crate::ingest::IngestService;
use crate::notify::Notifier;
use crate::register::Register;
use crate::state::Collector;
use crate::store::Store;
use custos_proto::v1::ingest_server::IngestServer;
use std::path::Path;
use std::sync::Arc;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

/// Runs a collector with the configuration file `config` until SIGINT or SIGTERM: loads the
/// register, opens (and migrates) the store, re-correlates what is stored against the register
/// in force, then serves agents over gRPC and, with `[web]`, the console, while the register
/// watch, the notifier and the purge run beside them.
pub async fn run(config: &Path) -> anyhow::Result<()> {
    let cfg = CollectorConfig::load(config)?;
    let register = Register::load(&cfg.register)?;
    data_dir::create(&cfg.data_dir).map_err(|e| anyhow::anyhow!("{}: cannot create data dir: {e}", cfg.data_dir.display()))?;
    data_dir::remember_register(&cfg.data_dir, &cfg.register);
    let location = cfg.store_location().map_err(|e| anyhow::anyhow!("{}: store: {e}", config.display()))?;
    data_dir::remember_store(&cfg.data_dir, &location)?;
    let mut store = Store::open_location(&location).map_err(|e| anyhow::anyhow!("store {location}: {e}"))?;
    let settings = cfg.correlation();
    // Findings stored under an older register or policy are checked against the current one.
    store.recorrelate(&register, &settings, custos_proto::time::now_ms())?;
    let pool = crate::store::pool::StorePool::new(store, location.clone(), cfg.store_pool_size);
    let collector = Collector::with_pool(pool, register, settings);
    let notifier = Arc::new(Notifier::new(cfg.notifications.clone())?.with_console(cfg.public_url()));
    tokio::spawn(crate::watch::watch_register(collector.clone(), cfg.register.clone(), std::time::Duration::from_secs(cfg.register_poll_seconds.max(1))));
    tokio::spawn(crate::watch::notify_loop(collector.clone(), notifier, cfg.silent_agent_hours));
    tokio::spawn(crate::watch::purge_loop(collector.clone(), cfg.findings_retention_days));
    let tls = server_tls(&cfg.tls)?;
    let ca = match &cfg.tls.ca_key {
        Some(key) => {
            let read = |p: &std::path::Path| std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()));
            Some(
                crate::pki::CertificateAuthority::load(&read(&cfg.tls.ca)?, &read(key)?)
                    .map_err(|e| anyhow::anyhow!("{}: cannot load the CA: {e}", key.display()))?,
            )
        }
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(cfg.listen).await.map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", cfg.listen))?;
    tracing::info!(listen = %listener.local_addr()?, register = %cfg.register.display(), store = %location, "collector ready");
    let (stop, _) = tokio::sync::broadcast::channel::<()>(1);
    let web = match &cfg.web {
        Some(w) => {
            let mut stopped = stop.subscribe();
            Some(tokio::spawn(crate::web::serve(w.listen, cfg.tls.clone(), collector.clone(), w.argon2_budget_mib, async move {
                let _ = stopped.recv().await;
            })))
        }
        None => None,
    };
    let mut stopped = stop.subscribe();
    let limits = GrpcLimits { ingest_rate_per_agent: cfg.ingest_rate_per_agent, agent_certificate_days: cfg.agent_certificate_days };
    let grpc = grpc_with(listener, tls, collector, ca, limits, async move {
        let _ = stopped.recv().await;
    });
    let shutdown = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
        }
        tracing::info!("shutting down");
    };
    tokio::pin!(grpc);
    let web_failed = async {
        match web {
            Some(task) => match task.await {
                Ok(Err(e)) => e,
                Ok(Ok(())) => std::future::pending().await,
                Err(e) => anyhow::anyhow!("web console task failed: {e}"),
            },
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        r = &mut grpc => r,
        e = web_failed => {
            let _ = stop.send(());
            Err(e)
        }
        () = shutdown => {
            let _ = stop.send(());
            grpc.await
        }
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

/// The limits of the gRPC services (`collector.toml`'s `ingest_rate_per_agent` and
/// `agent_certificate_days`).
#[derive(Debug, Clone, Copy)]
pub struct GrpcLimits {
    /// Findings per second per agent (0: no limit).
    pub ingest_rate_per_agent: u32,
    /// Validity of the agent certificates signed at enrolment and renewal.
    pub agent_certificate_days: u32,
}

impl Default for GrpcLimits {
    fn default() -> Self {
        GrpcLimits { ingest_rate_per_agent: crate::rate::DEFAULT_FINDINGS_PER_SECOND, agent_certificate_days: crate::pki::DEFAULT_AGENT_CERTIFICATE_DAYS }
    }
}

/// Serves `Ingest` (and `Enrollment` when a CA key is available) on `listener` until
/// `shutdown` resolves, with the default limits.
pub async fn grpc(
    listener: tokio::net::TcpListener,
    tls: ServerTlsConfig,
    collector: Arc<Collector>,
    ca: Option<crate::pki::CertificateAuthority>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    grpc_with(listener, tls, collector, ca, GrpcLimits::default(), shutdown).await
}

/// Largest gRPC message the collector decodes. A batch at the contract's cap of findings, each
/// at its size limits, fits; the codec refuses a batch of too many findings before decoding it.
pub const MAX_MESSAGE_BYTES: usize = 32 << 20;

/// [`grpc`] with explicit limits.
pub async fn grpc_with(
    listener: tokio::net::TcpListener,
    tls: ServerTlsConfig,
    collector: Arc<Collector>,
    ca: Option<crate::pki::CertificateAuthority>,
    limits: GrpcLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let service =
        IngestServer::new(IngestService::with_rate_limit(collector.clone(), limits.ingest_rate_per_agent)).max_decoding_message_size(MAX_MESSAGE_BYTES);
    let enrollment = ca.map(|ca| {
        custos_proto::v1::enrollment_server::EnrollmentServer::new(crate::enrollment::EnrollmentService::new(collector, ca, limits.agent_certificate_days))
            .max_decoding_message_size(1 << 20)
    });
    Server::builder()
        .tls_config(tls)?
        .add_service(service)
        .add_optional_service(enrollment)
        .serve_with_incoming_shutdown(tokio_stream::wrappers::TcpListenerStream::new(listener), shutdown)
        .await?;
    Ok(())
}
