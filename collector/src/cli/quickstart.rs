//! `custos-collector quickstart`: a collector and an agent in one process, on the bundled
//! examples, so a newcomer sees the whole flow with one command.
//!
//! It creates a CA, a server certificate and an agent certificate in the data directory,
//! starts the collector on a loopback port, and runs an agent (over real mutual TLS) that reads
//! `examples/logs/` and the web proxy's log `examples/egress/` (outbound requests: flows to
//! recipients). Incidents are printed as they open.

use super::incidents::{print_incident, print_incident_table};
use custos_agent::config::{AgentConfig, BatchConfig, CollectorEndpoint, DetectionConfig, FingerprintConfig, LogSource, ReadFrom};
use custos_agent::{Agent, Delivery, RunMode};
use custos_collector::register::Register;
use custos_collector::serve;
use custos_collector::state::Collector;
use custos_collector::store::Store;
use custos_collector::views::IncidentView;
use custos_collector::{data_dir as dirs, pki};
use std::path::{Path, PathBuf};
use tokio::sync::watch;

/// Agent id of the embedded agent.
const QUICKSTART_AGENT: &str = "quickstart-agent";

/// Quickstart settings.
#[derive(Debug, Clone)]
pub(super) struct QuickstartOptions {
    /// State directory.
    pub(super) data_dir: PathBuf,
    /// The examples directory (logs and `register.toml`).
    pub(super) examples: PathBuf,
    /// Scan what is there, wait for every acknowledgement, print incidents and exit.
    pub(super) once: bool,
}

/// Creates the shared fingerprint key if the data directory has none.
fn ensure_fingerprint_key(path: &Path) -> anyhow::Result<()> {
    if !path.is_file() {
        pki::write_private(path, &custos_collector::secret::new())?;
    }
    Ok(())
}

/// Runs the quickstart.
pub(super) async fn run(opts: QuickstartOptions) -> anyhow::Result<()> {
    let register_path = opts.examples.join("register.toml");
    if !register_path.is_file() {
        anyhow::bail!("{}: not found; run the quickstart from the repository root or pass --examples DIR", register_path.display());
    }
    custos_collector::data_dir::create(&opts.data_dir).map_err(|e| anyhow::anyhow!("{}: cannot create data dir: {e}", opts.data_dir.display()))?;
    let data_dir = std::fs::canonicalize(&opts.data_dir)?;
    let examples = std::fs::canonicalize(&opts.examples)?;
    let pki = pki::ensure(&data_dir, &[QUICKSTART_AGENT])?;
    let key_file = data_dir.join("fingerprint.key");
    ensure_fingerprint_key(&key_file)?;

    let register = Register::load(&register_path)?;
    dirs::remember_register(&data_dir, &register_path);
    let store = Store::open(&data_dir.join("custos.db"))?;
    let collector = Collector::new(store, register);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let tls = serve::server_tls(&custos_collector::config::TlsFiles {
        ca: pki.ca_cert(),
        cert: pki.server_cert(),
        key: pki.server_key(),
        ca_key: Some(pki.ca_key()),
    })?;
    let ca = pki::CertificateAuthority::load(&std::fs::read_to_string(pki.ca_cert())?, &std::fs::read_to_string(pki.ca_key())?)?;
    let (stop_server_tx, mut stop_server_rx) = watch::channel(false);
    let server = tokio::spawn(serve::grpc(listener, tls, collector.clone(), Some(ca), async move {
        let _ = stop_server_rx.wait_for(|s| *s).await;
    }));
    println!("Custos quickstart: collector on https://{addr} (mutual TLS), data in {}", data_dir.display());
    println!("register: {}  ({} processing activities)", register_path.display(), collector.register().activities.len());

    // Print incidents as they open.
    let mut events = collector.subscribe();
    let printer_collector = collector.clone();
    let printer = tokio::spawn(async move {
        while let Ok(id) = events.recv().await {
            let c = printer_collector.clone();
            if let Ok(Ok(Some(v))) = tokio::task::spawn_blocking(move || c.with_store(|s| s.incident(id))).await {
                let v = IncidentView::from(v);
                println!(
                    "{}",
                    if v.is_breach() {
                        "\n⚑ possible personal-data breach flagged for the DPO (Art. 33 clock running):"
                    } else {
                        "\n• compliance item for the DPO (register gap, no clock):"
                    }
                );
                print_incident(&v);
            }
        }
    });

    let logs = examples.join("logs");
    let exports = examples.join("exports");
    let egress = examples.join("egress");
    println!(
        "agent `{QUICKSTART_AGENT}` reading {}/**/*.log, the proxy log {}/*.log (egress) and scanning {}",
        logs.display(),
        egress.display(),
        exports.display()
    );
    let config = AgentConfig {
        agent_id: QUICKSTART_AGENT.to_string(),
        host: None,
        data_dir: data_dir.join("agent"),
        collector: CollectorEndpoint {
            url: format!("https://{addr}"),
            failover: Vec::new(),
            server_name: Some("localhost".into()),
            ca: pki.ca_cert(),
            cert: pki.agent_cert(QUICKSTART_AGENT),
            key: pki.agent_key(QUICKSTART_AGENT),
        },
        fingerprint: FingerprintConfig { key_file },
        detection: DetectionConfig::default(),
        batch: BatchConfig::default(),
        logs: vec![
            LogSource {
                paths: vec![format!("{}/**/*.log", logs.display())],
                read_from: ReadFrom::Beginning,
                max_line_bytes: 1 << 20,
                include_compressed: false,
                detect: Vec::new(),
                format: Default::default(),
            },
            // A web proxy's log: personal data in outbound requests, with their destination.
            LogSource {
                paths: vec![format!("{}/*.log", egress.display())],
                read_from: ReadFrom::Beginning,
                max_line_bytes: 1 << 20,
                include_compressed: false,
                detect: vec![custos_agent::config::LogDetect::Egress],
                format: Default::default(),
            },
        ],
        journald: Vec::new(),
        tail: Default::default(),
        syslogs: Vec::new(),
        spool: Default::default(),
        metrics: None,
        // One scheduled data-store scan over the bundled export, so the quickstart also shows
        // per-column findings with retention evidence.
        scans: vec![custos_agent::datastore::schedule::ScanJob {
            location: exports.display().to_string(),
            interval_s: 86_400,
            sample_rows: custos_agent::config::DEFAULT_SAMPLE_ROWS,
        }],
        anomaly: Default::default(),
    };
    let agent = Agent::new(config)?;
    let (progress_tx, progress_rx) = watch::channel(Delivery::default());
    let (stop_agent_tx, stop_agent_rx) = watch::channel(false);
    let mode = if opts.once { RunMode::Once } else { RunMode::Follow };
    let agent_task = tokio::spawn(agent.run(mode, progress_tx, stop_agent_rx));
    if opts.once {
        agent_task.await??;
    } else {
        // The console on loopback, as a deployed collector would serve it with `[web]`.
        let web_addr = std::net::SocketAddr::from(([127, 0, 0, 1], 8443));
        let web_tls = custos_collector::config::TlsFiles { ca: pki.ca_cert(), cert: pki.server_cert(), key: pki.server_key(), ca_key: None };
        let (web_collector, mut web_stop) = (collector.clone(), stop_server_tx.subscribe());
        tokio::spawn(async move {
            let stopped = async move {
                let _ = web_stop.wait_for(|s| *s).await;
            };
            if let Err(e) = custos_collector::web::serve(web_addr, web_tls, web_collector, custos_collector::accounts::DEFAULT_ARGON2_BUDGET_MIB, stopped).await
            {
                eprintln!("web console not started: {e:#}");
            }
        });
        println!("web console: http://localhost:8443/ — add a user first (in another terminal):");
        println!("  custos-collector user add alice --role dpo --data-dir {}", data_dir.display());
        println!("following the example logs; append lines to them to see new findings. Ctrl-C to stop.");
        tokio::signal::ctrl_c().await?;
        let _ = stop_agent_tx.send(true);
        let _ = agent_task.await;
    }
    let delivered = progress_rx.borrow().clone();
    let _ = stop_server_tx.send(true);
    let _ = server.await;
    // Let the printer drain the last events.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    printer.abort();
    let (count, incidents) = {
        let c = collector.clone();
        tokio::task::spawn_blocking(move || c.with_store(|s| Ok::<_, custos_collector::store::error::StoreError>((s.finding_count()?, s.incidents()?))))
            .await??
    };
    println!(
        "\n{} findings acknowledged by the collector in this run; {} findings and {} incidents in {}",
        delivered.acked_findings,
        count,
        incidents.len(),
        data_dir.join("custos.db").display()
    );
    let incidents: Vec<IncidentView> = incidents.into_iter().map(IncidentView::from).collect();
    print_incident_table(&incidents);
    if let Some(first) = incidents.last() {
        let dir = data_dir.display();
        println!("\nNext, as the DPO would (changes are made as a console user):");
        println!("  custos-collector user add dpo --role dpo --data-dir {dir}");
        println!("  custos-collector incident {} --data-dir {dir}              # evidence (masked), figures and their method, timeline", first.id);
        println!(
            "  custos-collector incident {} --data-dir {dir} --promote --by dpo --note \"...\"   # if data was exposed: a breach, the clock starts",
            first.id
        );
        println!("  custos-collector incident {} --data-dir {dir} --set-status resolved --by dpo --note \"register updated\"", first.id);
        println!("  custos-collector report {} --format md --data-dir {dir}    # the draft (Art. 33 form for a breach)", first.id);
        println!("  custos-collector register suggest --data-dir {dir}          # TOML for the undeclared stores");
        println!("  custos-collector breach-register --format csv --data-dir {dir}");
    }
    Ok(())
}
