//! The `custos-agent` command line: `run`, `scan`, `enroll`, `renew` — the argument grammar and what
//! each command prints, over the `custos_agent` library.
//!
//! This is the binary's, not the library's: `src/main.rs` (and the test package's copy of the
//! binary) include it with `mod cli;`.

use clap::{Parser, Subcommand, ValueEnum};
use custos_agent::config::AgentConfig;
use custos_agent::{Agent, RunMode};
use std::path::PathBuf;
use std::process::ExitCode;

/// Custos agent: finds personal data in logs and data stores and reports it, masked, to the collector.
#[derive(Debug, Parser)]
#[command(name = "custos-agent", version)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// Log output format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Tail the configured logs and stream findings to the collector.
    Run {
        /// Agent configuration file (TOML).
        #[arg(long)]
        config: PathBuf,
        /// Read what is there, deliver it, and exit.
        #[arg(long)]
        once: bool,
    },
    /// Obtain this agent's certificate from the collector with a one-time token.
    Enroll {
        /// Collector URL, `https://host:port`.
        #[arg(long)]
        collector: String,
        /// Token printed by `custos-collector enroll --agent-id ID`.
        #[arg(long)]
        token: String,
        /// CA certificate of the collector (PEM).
        #[arg(long)]
        ca: PathBuf,
        /// Name expected in the collector's certificate (default: the URL's host).
        #[arg(long)]
        server_name: Option<String>,
        /// Where to write agent.pem, agent.key and ca.pem.
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
    /// Renew this agent's certificate before it expires, over the mutual-TLS channel the
    /// current one opens; the new certificate and key replace the configured files.
    Renew {
        /// Agent configuration file (TOML): its [collector] section names the files.
        #[arg(long)]
        config: PathBuf,
    },
    /// Print the keyed fingerprint of one value, as findings carry it, for a subject request
    /// (`custos-collector subject FINGERPRINT`): the value never leaves this host.
    Fingerprint {
        /// The detector that finds such values (`email`, `phone`, `iban`, `fr_nir` …).
        #[arg(long)]
        detector: String,
        /// The organisation's fingerprint key file.
        #[arg(long, conflicts_with = "config")]
        key_file: Option<PathBuf>,
        /// Agent configuration whose [fingerprint] key_file to use.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The value; read from standard input when not given (so it stays out of the shell's
        /// history and the process list).
        value: Option<String>,
    },
    /// Scan files, directories and databases once and print findings (exit 0: none, 1: found, 2: error).
    Scan {
        /// Files or directories, `sqlite://PATH`, `postgres://user:password@host:port/db[?schema=S]`.
        #[arg(required = true)]
        locations: Vec<String>,
        /// Rows sampled per database table.
        #[arg(long, default_value_t = custos_agent::config::DEFAULT_SAMPLE_ROWS)]
        sample_rows: u64,
        /// JSON Lines output, one object per finding.
        #[arg(long)]
        json: bool,
        /// Directory of extra rule packs (*.toml).
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Print raw values (they are masked otherwise).
        #[arg(long)]
        show_values: bool,
        /// List every match with its line and byte span in CSV, TSV, JSON and NDJSON files too
        /// (like plain text), instead of one summary per column or field path.
        #[arg(long)]
        matches: bool,
        /// Minimum confidence to report.
        #[arg(long)]
        min_confidence: Option<f32>,
        /// Regions whose national phone formats are recognised, comma-separated ISO 3166 codes
        /// (default: FR,DE,ES,IT,NL,BE,PL,GB,US); international forms are always recognised.
        #[arg(long, value_name = "LIST")]
        phone_regions: Option<String>,
        /// Also look for export anomalies in the logs, as a running agent would have, by each
        /// line's own time: `postgres,mysql,access_log,finding_rate` (any of them), or `auto`
        /// to recognise each log's format; `egress` prints, per destination host of a proxy or
        /// egress log, the personal values its requests sent there.
        #[arg(long, value_name = "LIST")]
        detect: Option<String>,
        /// Agent configuration whose `[anomaly]` thresholds `--detect` uses (default: the
        /// defaults), so a forensic scan judges as the running agent does.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Files scanned at once, each by one thread (default: one per core). The output is the
        /// same whatever the number: files in the order of the walk, each file's findings whole.
        #[arg(long, value_name = "N", default_value_t = 0)]
        threads: usize,
        /// Validate every candidate (the single-pass engine) instead of leaving unvalidated
        /// those that lack the context word they need: the same findings, more slowly; for
        /// checking the prefilter on one's own data.
        #[arg(long)]
        no_prefilter: bool,
    },
}

/// `fingerprint`: the key from `--key-file` or the configuration, the value from the argument
/// or the first line of standard input.
fn fingerprint(detector: &str, key_file: Option<PathBuf>, config: Option<PathBuf>, value: Option<String>) -> Result<String, String> {
    // With the configuration, its rule packs and phone regions normalise as the agent does.
    let config = config.map(|c| AgentConfig::load(&c).map_err(|e| e.to_string())).transpose()?;
    let key_file = match (key_file, &config) {
        (Some(k), _) => k,
        (None, Some(c)) => c.fingerprint.key_file.clone(),
        (None, None) => return Err("say where the organisation's key is: --key-file FILE or --config agent.toml".into()),
    };
    let key = custos_agent::finding::load_fingerprint_key(&key_file)?;
    let value = match value {
        Some(v) => v,
        None => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map_err(|e| format!("standard input: {e}"))?;
            line
        }
    };
    let detection = config.map(|c| c.detection).unwrap_or_default();
    let engine = custos_agent::load_engine(detection.rules.as_deref(), None, detection.phone_regions.as_deref()).map_err(|e| format!("{e:#}"))?;
    custos_agent::lookup::fingerprint_of(&engine, &key, detector, &value)
}

/// Sets up `tracing` on stderr in the chosen format; `RUST_LOG` filters, else `default_level`.
pub fn init_logging(format: LogFormat, default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    // Control characters in logged values (ids chosen by agents or users) are escaped, so no
    // value can start a forged line; ANSI colours would be escaped too, so there are none.
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(false).with_writer(|| custos_proto::log::Escaping(std::io::stderr()));
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format, "info");
    match cli.command {
        Command::Run { config, once } => match run(config, once) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("custos-agent: {e:#}");
                ExitCode::from(2)
            }
        },
        Command::Enroll { collector, token, ca, server_name, out } => {
            let result = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(anyhow::Error::from)
                .and_then(|rt| rt.block_on(custos_agent::enrollment::enroll(&collector, &token, &ca, server_name.as_deref(), &out)));
            match result {
                Ok(e) => {
                    println!("enrolled as `{}`", e.agent_id);
                    println!("[collector]\nurl = \"{collector}\"\nca = \"{}\"\ncert = \"{}\"\nkey = \"{}\"", e.ca.display(), e.cert.display(), e.key.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("custos-agent: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Renew { config } => {
            let result = AgentConfig::load(&config)
                .map_err(anyhow::Error::from)
                .and_then(|cfg| tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(custos_agent::enrollment::renew(&cfg.collector)));
            match result {
                Ok(r) => {
                    let until = time::OffsetDateTime::from_unix_timestamp(r.not_after).map(|t| t.date().to_string()).unwrap_or_default();
                    println!("renewed the certificate of `{}`, valid until {until}; restart the agent to use it", r.agent_id);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("custos-agent: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Fingerprint { detector, key_file, config, value } => match fingerprint(&detector, key_file, config, value) {
            Ok(hex) => {
                println!("{hex}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("custos-agent fingerprint: {e}");
                ExitCode::from(2)
            }
        },
        Command::Scan { locations, sample_rows, json, rules, show_values, matches, min_confidence, phone_regions, detect, config, threads, no_prefilter } => {
            let anomaly = match config.as_deref().map(AgentConfig::load_anomaly).transpose() {
                Ok(a) => a.unwrap_or_default(),
                Err(e) => {
                    eprintln!("custos-agent: {e}");
                    return ExitCode::from(2);
                }
            };
            let detect = match detect.as_deref().map(custos_agent::scan::forensic::Detect::parse).transpose() {
                Ok(d) => d.unwrap_or_default(),
                Err(e) => {
                    eprintln!("custos-agent: --detect: {e}");
                    return ExitCode::from(2);
                }
            };
            let regions: Option<Vec<String>> = phone_regions.map(|l| l.split(',').map(str::to_string).collect());
            let engine = match custos_agent::load_engine_with(rules.as_deref(), min_confidence, regions.as_deref(), !no_prefilter) {
                Ok(e) => e,
                Err(e) => {
                    eprintln!("custos-agent: {e:#}");
                    return ExitCode::from(2);
                }
            };
            // Not `stdout().lock()`: the lock cannot move to the threads of `--threads`.
            let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout());
            let opts = custos_agent::scan::ScanOptions { json, show_values, matches, detect, anomaly, threads };
            match custos_agent::scan::scan_locations(&engine, &locations, sample_rows, &opts, &mut out) {
                Ok(s) => {
                    if std::io::Write::flush(&mut out).is_err() {
                        return ExitCode::from(2);
                    }
                    if s.errors > 0 {
                        ExitCode::from(2)
                    } else if s.findings > 0 {
                        ExitCode::from(1)
                    } else {
                        ExitCode::SUCCESS
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::from(1),
                Err(e) => {
                    eprintln!("custos-agent: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

fn run(config: PathBuf, once: bool) -> anyhow::Result<()> {
    let config = AgentConfig::load(&config)?;
    let agent = Agent::new(config)?;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async move {
        let (progress, _) = tokio::sync::watch::channel(custos_agent::Delivery::default());
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
            }
            tracing::info!("shutting down");
            let _ = stop_tx.send(true);
        });
        agent.run(if once { RunMode::Once } else { RunMode::Follow }, progress, stop_rx).await
    })
}
