//! The `custos-collector` command line.

use crate::config::CollectorConfig;
use crate::ingest::{self, Collector};
use crate::register::Register;
use crate::store::Store;
use clap::{Parser, Subcommand};
use custos_agent::cli::{LogFormat, init_logging};
use std::path::PathBuf;
use std::process::ExitCode;

/// Custos collector: stores findings from agents, checks them against the GDPR register and flags possible breaches.
#[derive(Debug, Parser)]
#[command(name = "custos-collector", version)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve agents (gRPC over mutual TLS) with the given configuration.
    Run {
        /// Collector configuration (TOML).
        #[arg(long)]
        config: PathBuf,
    },
    /// Collector and agent in one process on the bundled examples.
    Quickstart {
        /// Scan what is there, wait for every acknowledgement, print incidents and exit.
        #[arg(long)]
        once: bool,
        /// State directory.
        #[arg(long, default_value = "./custos-data")]
        data_dir: PathBuf,
        /// Examples directory (sample logs and register.toml).
        #[arg(long, default_value = "examples")]
        examples: PathBuf,
    },
    /// Issue a one-time enrolment token for an agent (printed once, stored hashed).
    Enroll {
        /// The agent id the certificate will carry.
        #[arg(long)]
        agent_id: String,
        /// State directory of the collector.
        #[arg(long, default_value = "./custos-data")]
        data_dir: PathBuf,
        /// Validity of the token, in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl_seconds: i64,
    },
    /// Revoke an agent: refused at its next stream (and on its next batch if connected).
    Revoke {
        /// The agent id.
        agent_id: String,
        /// State directory of the collector.
        #[arg(long, default_value = "./custos-data")]
        data_dir: PathBuf,
        /// Why (kept with the revocation).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// List incidents (possible breaches).
    Incidents {
        /// State directory of the collector.
        #[arg(long, default_value = "./custos-data")]
        data_dir: PathBuf,
        /// JSON Lines, one incident per line.
        #[arg(long)]
        json: bool,
    },
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // The quickstart prints its own story on stdout; keep stderr for problems.
    let level = if matches!(cli.command, Command::Quickstart { .. }) { "warn" } else { "info" };
    init_logging(cli.log_format, level);
    let result = match cli.command {
        Command::Run { config } => runtime().and_then(|rt| rt.block_on(run(config))),
        Command::Quickstart { once, data_dir, examples } => {
            runtime().and_then(|rt| rt.block_on(crate::quickstart::run(crate::quickstart::QuickstartOptions { data_dir, examples, once })))
        }
        Command::Incidents { data_dir, json } => incidents(data_dir, json),
        Command::Enroll { agent_id, data_dir, ttl_seconds } => enroll(agent_id, data_dir, ttl_seconds),
        Command::Revoke { agent_id, data_dir, reason } => revoke(agent_id, data_dir, reason),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("custos-collector: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

async fn run(config: PathBuf) -> anyhow::Result<()> {
    let cfg = CollectorConfig::load(&config)?;
    let register = Register::load(&cfg.register)?;
    std::fs::create_dir_all(&cfg.data_dir).map_err(|e| anyhow::anyhow!("{}: cannot create data dir: {e}", cfg.data_dir.display()))?;
    let store = Store::open(&cfg.data_dir.join("custos.db"))?;
    let collector = Collector::new(store, register);
    let tls = ingest::server_tls(&cfg.tls)?;
    let ca = match &cfg.tls.ca_key {
        Some(key) => {
            let read = |p: &std::path::Path| std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()));
            Some(crate::pki::CertificateAuthority::load(&read(&cfg.tls.ca)?, &read(key)?).map_err(|e| anyhow::anyhow!("{}: cannot load the CA: {e}", key.display()))?)
        }
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(cfg.listen).await.map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", cfg.listen))?;
    tracing::info!(listen = %listener.local_addr()?, register = %cfg.register.display(), "collector ready");
    let shutdown = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
        }
        tracing::info!("shutting down");
    };
    ingest::serve(listener, tls, collector, ca, shutdown).await
}

fn valid_agent_id(id: &str) -> anyhow::Result<()> {
    if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
        anyhow::bail!("agent id `{id}` must be 1-128 letters, digits, '-', '_' or '.'");
    }
    Ok(())
}

fn enroll(agent_id: String, data_dir: PathBuf, ttl_seconds: i64) -> anyhow::Result<()> {
    valid_agent_id(&agent_id)?;
    if ttl_seconds <= 0 {
        anyhow::bail!("--ttl-seconds must be positive");
    }
    std::fs::create_dir_all(&data_dir)?;
    let mut store = Store::open(&data_dir.join("custos.db"))?;
    let token = store.issue_enrollment_token(&agent_id, custos_agent::finding::now_ms(), ttl_seconds.saturating_mul(1000))?;
    eprintln!("one-time token for agent `{agent_id}`, valid {ttl_seconds} s; on the agent host run:");
    eprintln!("  custos-agent enroll --collector https://COLLECTOR:PORT --token <token> --ca ca.pem");
    println!("{token}");
    Ok(())
}

fn revoke(agent_id: String, data_dir: PathBuf, reason: String) -> anyhow::Result<()> {
    valid_agent_id(&agent_id)?;
    let db = data_dir.join("custos.db");
    if !db.is_file() {
        anyhow::bail!("{}: no database; pass the collector's --data-dir", db.display());
    }
    let mut store = Store::open(&db)?;
    if store.revoke_agent(&agent_id, &reason, custos_agent::finding::now_ms())? {
        println!("agent `{agent_id}` revoked");
    } else {
        println!("agent `{agent_id}` was already revoked");
    }
    Ok(())
}

fn incidents(data_dir: PathBuf, json: bool) -> anyhow::Result<()> {
    let db = data_dir.join("custos.db");
    if !db.is_file() {
        anyhow::bail!("{}: no database; start the collector (or the quickstart) with this --data-dir first", db.display());
    }
    let store = Store::open_read_only(&db)?;
    let list = store.incidents()?;
    if json {
        for v in &list {
            println!("{}", serde_json::to_string(v)?);
        }
    } else {
        crate::print_incident_table(&list);
    }
    Ok(())
}
