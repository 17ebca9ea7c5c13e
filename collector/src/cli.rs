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
    ingest::serve(listener, tls, collector, shutdown).await
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
