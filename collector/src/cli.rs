//! The `custos-collector` command line.

use crate::config::CollectorConfig;
use crate::ingest::{self, Collector};
use crate::register::Register;
use crate::correlation::Policy;
use crate::incident::Status;
use crate::notify::Notifier;
use crate::store::{CorrelationSettings, Store, StoreLocation};
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
    /// Show one incident with its evidence (masked previews) and timeline, or change its status.
    Incident {
        /// Incident id.
        id: i64,
        /// State directory of the collector.
        #[arg(long, default_value = "./custos-data")]
        data_dir: PathBuf,
        /// One JSON object.
        #[arg(long)]
        json: bool,
        /// New status: triaged, assessed, notified or not_notifiable.
        #[arg(long)]
        set_status: Option<String>,
        /// Who makes the change (kept in the timeline and audit trail).
        #[arg(long, default_value = "")]
        by: String,
        /// Why; for not_notifiable, the justification Art. 33(5) asks to document.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// The Art. 33 notification draft of an incident.
    Report {
        /// Incident id.
        id: i64,
        /// md or json.
        #[arg(long, default_value = "md")]
        format: String,
        /// State directory of the collector.
        #[arg(long, default_value = "./custos-data")]
        data_dir: PathBuf,
        /// The register (default: the one the collector last loaded).
        #[arg(long)]
        register: Option<PathBuf>,
    },
    /// The Art. 33(5) breach register: every incident, notified or not.
    BreachRegister {
        /// csv or json (JSON Lines).
        #[arg(long, default_value = "csv")]
        format: String,
        /// State directory of the collector.
        #[arg(long, default_value = "./custos-data")]
        data_dir: PathBuf,
    },
    /// Check or import a register (TOML, YAML, CSV or XLSX).
    Register {
        #[command(subcommand)]
        action: RegisterAction,
    },
    /// The weekly digest: new incidents, open deadlines, undeclared stores, silent agents.
    Digest {
        /// State directory of the collector.
        #[arg(long, default_value = "./custos-data")]
        data_dir: PathBuf,
        /// The register (default: the one the collector last loaded).
        #[arg(long)]
        register: Option<PathBuf>,
        /// Agents silent for longer are listed.
        #[arg(long, default_value_t = 24)]
        silent_hours: u32,
        /// One JSON object.
        #[arg(long)]
        json: bool,
        /// Also send it on the channels of this collector configuration.
        #[arg(long)]
        send: Option<PathBuf>,
    },
    /// Notifications queued, sent and failed.
    Notifications {
        /// State directory of the collector.
        #[arg(long, default_value = "./custos-data")]
        data_dir: PathBuf,
        /// JSON Lines.
        #[arg(long)]
        json: bool,
    },
    /// Mute a rule for a system (`host:locator`); the reason goes to the audit trail.
    Mute {
        /// Rule id.
        rule: String,
        /// System, as incidents name it (`host:locator`).
        system: String,
        /// Why.
        #[arg(long)]
        reason: String,
        /// Who.
        #[arg(long)]
        by: String,
        /// State directory of the collector.
        #[arg(long, default_value = "./custos-data")]
        data_dir: PathBuf,
    },
    /// Lift a mute.
    Unmute {
        /// Rule id.
        rule: String,
        /// System.
        system: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
        /// Who.
        #[arg(long)]
        by: String,
        /// State directory of the collector.
        #[arg(long, default_value = "./custos-data")]
        data_dir: PathBuf,
    },
    /// Fold findings older than N days that no rule flagged into daily counts and delete them
    /// (the running collector does this hourly with `findings_retention_days`).
    Purge {
        /// Age in days.
        #[arg(long)]
        older_than_days: u32,
        /// State directory of the collector.
        #[arg(long, default_value = "./custos-data")]
        data_dir: PathBuf,
    },
    /// The audit trail: logins, evidence views, status changes, mutes, users, agents.
    Audit {
        /// State directory of the collector.
        #[arg(long, default_value = "./custos-data")]
        data_dir: PathBuf,
    },
    /// Register coverage: undeclared stores, and declared systems never seen by an agent.
    Coverage {
        /// State directory of the collector.
        #[arg(long, default_value = "./custos-data")]
        data_dir: PathBuf,
        /// The register (default: the one the collector last loaded).
        #[arg(long)]
        register: Option<PathBuf>,
    },
    /// The correlation rules and their default severities.
    Rules,
    /// Console users: add, list, remove, and API tokens for scripts.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
}

#[derive(Debug, Subcommand)]
enum UserAction {
    /// Add a console user. The password is read from --password-file, or typed at the prompt
    /// (or read as the first line of standard input when it is not a terminal).
    Add {
        /// Login name.
        name: String,
        /// dpo (assesses, decides on notification, mutes, audit), security (triages, manages
        /// agents) or viewer (reads).
        #[arg(long)]
        role: String,
        /// File whose first line is the password.
        #[arg(long)]
        password_file: Option<PathBuf>,
        /// State directory of the collector.
        #[arg(long, default_value = "./custos-data")]
        data_dir: PathBuf,
    },
    /// List console users.
    List {
        /// State directory of the collector.
        #[arg(long, default_value = "./custos-data")]
        data_dir: PathBuf,
    },
    /// Set a new password for a console user (prompted, or read from a file) and end their
    /// sessions; their API tokens stay valid.
    Passwd {
        /// Login name.
        name: String,
        /// File whose first line is the password.
        #[arg(long)]
        password_file: Option<PathBuf>,
        /// State directory of the collector.
        #[arg(long, default_value = "./custos-data")]
        data_dir: PathBuf,
    },
    /// Remove a console user, their sessions and API tokens.
    Remove {
        /// Login name.
        name: String,
        /// State directory of the collector.
        #[arg(long, default_value = "./custos-data")]
        data_dir: PathBuf,
    },
    /// Issue an API token for a user (printed once; send it as `Authorization: Bearer TOKEN`).
    Token {
        /// Login name.
        name: String,
        /// What the token is for.
        #[arg(long, default_value = "api")]
        label: String,
        /// State directory of the collector.
        #[arg(long, default_value = "./custos-data")]
        data_dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum RegisterAction {
    /// Print every problem of a register file, with its line or row and field (exit 1 if any).
    Check {
        /// The register file.
        file: PathBuf,
    },
    /// Convert a register (typically the DPO's CSV or XLSX) to native TOML.
    Import {
        /// The register file.
        file: PathBuf,
        /// Where to write the TOML.
        #[arg(short, long)]
        output: PathBuf,
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
        Command::Incident { id, data_dir, json, set_status, by, note } => incident(id, data_dir, json, set_status, by, note),
        Command::Report { id, format, data_dir, register } => report(id, &format, data_dir, register),
        Command::BreachRegister { format, data_dir } => breach_register(&format, data_dir),
        Command::Register { action: RegisterAction::Check { file } } => match crate::register::check_file(&file) {
            Ok(r) => {
                println!("{}: OK — {} processing activities", file.display(), r.activities.len());
                Ok(())
            }
            Err(e) => {
                for p in &e.problems {
                    println!("{}", p.render(&file.display().to_string()));
                }
                eprintln!("{} problem(s)", e.problems.len());
                return ExitCode::from(1);
            }
        },
        Command::Register { action: RegisterAction::Import { file, output } } => register_import(&file, &output),
        Command::Digest { data_dir, register, silent_hours, json, send } => digest(data_dir, register, silent_hours, json, send),
        Command::Notifications { data_dir, json } => notifications(data_dir, json),
        Command::Mute { rule, system, reason, by, data_dir } => mute(rule, system, reason, by, data_dir, true),
        Command::Unmute { rule, system, reason, by, data_dir } => mute(rule, system, reason, by, data_dir, false),
        Command::Audit { data_dir } => audit(data_dir),
        Command::Purge { older_than_days, data_dir } => purge(data_dir, older_than_days),
        Command::Coverage { data_dir, register } => coverage(data_dir, register),
        Command::Rules => {
            for r in crate::correlation::Rule::ALL {
                println!("{:<20} {:<8} {}", r.id(), r.default_severity(), r.title());
            }
            Ok(())
        }
        Command::User { action } => user(action),
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
    remember_register(&cfg.data_dir, &cfg.register);
    let location = cfg.store_location().map_err(|e| anyhow::anyhow!("{}: store: {e}", config.display()))?;
    remember_store(&cfg.data_dir, &location)?;
    let mut store = Store::open_location(&location).map_err(|e| anyhow::anyhow!("store {location}: {e}"))?;
    let settings = CorrelationSettings { policy: Policy::new(&cfg.rules, &cfg.locations), window_ms: i64::from(cfg.incident_window_hours) * 3_600_000 };
    // Findings stored under an older register or policy are checked against the current one.
    store.recorrelate(&register, &settings, custos_agent::finding::now_ms())?;
    let collector = Collector::with_settings(store, register, settings);
    let notifier = std::sync::Arc::new(Notifier::new(cfg.notifications.clone())?);
    tokio::spawn(crate::watch::watch_register(collector.clone(), cfg.register.clone(), std::time::Duration::from_secs(cfg.register_poll_seconds.max(1))));
    tokio::spawn(crate::watch::notify_loop(collector.clone(), notifier, cfg.silent_agent_hours));
    tokio::spawn(crate::watch::purge_loop(collector.clone(), cfg.findings_retention_days));
    let tls = ingest::server_tls(&cfg.tls)?;
    let ca = match &cfg.tls.ca_key {
        Some(key) => {
            let read = |p: &std::path::Path| std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()));
            Some(crate::pki::CertificateAuthority::load(&read(&cfg.tls.ca)?, &read(key)?).map_err(|e| anyhow::anyhow!("{}: cannot load the CA: {e}", key.display()))?)
        }
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(cfg.listen).await.map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", cfg.listen))?;
    tracing::info!(listen = %listener.local_addr()?, register = %cfg.register.display(), store = %location, "collector ready");
    let (stop, _) = tokio::sync::broadcast::channel::<()>(1);
    let web = match &cfg.web {
        Some(w) => {
            let mut stopped = stop.subscribe();
            Some(tokio::spawn(crate::web::serve(w.listen, cfg.tls.clone(), collector.clone(), async move {
                let _ = stopped.recv().await;
            })))
        }
        None => None,
    };
    let mut stopped = stop.subscribe();
    let grpc = ingest::serve(listener, tls, collector, ca, async move {
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

fn read_password(file: Option<PathBuf>) -> anyhow::Result<String> {
    use std::io::IsTerminal;
    let line = match file {
        Some(f) => std::fs::read_to_string(&f).map_err(|e| anyhow::anyhow!("{}: cannot read the password file: {e}", f.display()))?.lines().next().unwrap_or("").to_string(),
        None if std::io::stdin().is_terminal() => {
            let first = rpassword::prompt_password("password: ")?;
            if rpassword::prompt_password("again: ")? != first {
                anyhow::bail!("the two passwords differ");
            }
            first
        }
        None => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    Ok(line)
}

fn user(action: UserAction) -> anyhow::Result<()> {
    let by = "cli";
    match action {
        UserAction::Add { name, role, password_file, data_dir } => {
            let role = crate::accounts::Role::parse(&role).ok_or_else(|| anyhow::anyhow!("--role `{role}`: use dpo, security or viewer"))?;
            crate::accounts::check_user_name(&name).map_err(anyhow::Error::msg)?;
            let password = read_password(password_file)?;
            std::fs::create_dir_all(&data_dir)?;
            let mut store = Store::open_location(&store_location(&data_dir)?)?;
            store.add_user(&name, role, &password, by, now())?.map_err(anyhow::Error::msg)?;
            println!("user `{name}` added with role {}", role.as_str());
        }
        UserAction::List { data_dir } => {
            for u in open_db(&data_dir, false)?.users()? {
                println!("{:<24} {:<9} since {}", u.name, u.role, crate::store::rfc3339(u.created_at_ms));
            }
        }
        UserAction::Passwd { name, password_file, data_dir } => {
            let password = read_password(password_file)?;
            open_db(&data_dir, true)?.set_password(&name, &password, by, now())?.map_err(anyhow::Error::msg)?;
            println!("password of `{name}` changed; their sessions are ended");
        }
        UserAction::Remove { name, data_dir } => {
            if open_db(&data_dir, true)?.remove_user(&name, by, now())? {
                println!("user `{name}` removed");
            } else {
                anyhow::bail!("no user `{name}`");
            }
        }
        UserAction::Token { name, label, data_dir } => {
            let token = open_db(&data_dir, true)?.issue_api_token(&name, &label, by, now())?.map_err(anyhow::Error::msg)?;
            eprintln!("API token for `{name}` ({label}), shown once; send it as `Authorization: Bearer <token>`:");
            println!("{token}");
        }
    }
    Ok(())
}

fn valid_agent_id(id: &str) -> anyhow::Result<()> {
    crate::enrollment::check_agent_id(id).map_err(anyhow::Error::msg)
}

fn enroll(agent_id: String, data_dir: PathBuf, ttl_seconds: i64) -> anyhow::Result<()> {
    valid_agent_id(&agent_id)?;
    if ttl_seconds <= 0 {
        anyhow::bail!("--ttl-seconds must be positive");
    }
    std::fs::create_dir_all(&data_dir)?;
    let mut store = Store::open_location(&store_location(&data_dir)?)?;
    let token = store.issue_enrollment_token(&agent_id, custos_agent::finding::now_ms(), ttl_seconds.saturating_mul(1000))?;
    store.record_audit("cli", "enroll_agent", &agent_id, &format!("token valid {ttl_seconds} s"), now())?;
    eprintln!("one-time token for agent `{agent_id}`, valid {ttl_seconds} s; on the agent host run:");
    eprintln!("  custos-agent enroll --collector https://COLLECTOR:PORT --token <token> --ca ca.pem");
    println!("{token}");
    Ok(())
}

fn revoke(agent_id: String, data_dir: PathBuf, reason: String) -> anyhow::Result<()> {
    valid_agent_id(&agent_id)?;
    let mut store = match store_location(&data_dir)? {
        StoreLocation::Sqlite(db) if !db.is_file() => anyhow::bail!("{}: no database; pass the collector's --data-dir", db.display()),
        location => Store::open_location(&location)?,
    };
    let newly = store.revoke_agent(&agent_id, &reason, custos_agent::finding::now_ms())?;
    store.record_audit("cli", "revoke_agent", &agent_id, &reason, now())?;
    if newly {
        println!("agent `{agent_id}` revoked");
    } else {
        println!("agent `{agent_id}` was already revoked");
    }
    Ok(())
}

fn incidents(data_dir: PathBuf, json: bool) -> anyhow::Result<()> {
    let store = open_db(&data_dir, false)?;
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

fn open_db(data_dir: &std::path::Path, write: bool) -> anyhow::Result<Store> {
    match store_location(data_dir)? {
        StoreLocation::Sqlite(db) => {
            if !db.is_file() {
                anyhow::bail!("{}: no database; start the collector (or the quickstart) with this --data-dir first", db.display());
            }
            Ok(if write { Store::open(&db)? } else { Store::open_read_only(&db)? })
        }
        location => Store::open_location(&location).map_err(|e| anyhow::anyhow!("store {location}: {e}")),
    }
}

/// The file in the data directory naming the collector's PostgreSQL store, so that the
/// commands given only `--data-dir` (incidents, report, revoke…) use the same store.
const STORE_FILE: &str = "store.url";

/// Records where the collector's store is: writes `store.url` (owner-only: the URL may carry
/// the database password, like the config it comes from) for PostgreSQL, removes it for SQLite.
pub fn remember_store(data_dir: &std::path::Path, location: &StoreLocation) -> anyhow::Result<()> {
    let path = data_dir.join(STORE_FILE);
    match location {
        StoreLocation::Postgres(url) => {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&path).map_err(|e| anyhow::anyhow!("{}: cannot record the store location: {e}", path.display()))?;
            f.write_all(url.as_bytes()).map_err(|e| anyhow::anyhow!("{}: cannot record the store location: {e}", path.display()))?;
        }
        StoreLocation::Sqlite(_) => match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => anyhow::bail!("{}: cannot remove the old store location: {e}", path.display()),
        },
    }
    Ok(())
}

/// The store of the collector whose data directory is `data_dir`: the PostgreSQL database its
/// `run` recorded, else its SQLite file.
fn store_location(data_dir: &std::path::Path) -> anyhow::Result<StoreLocation> {
    match std::fs::read_to_string(data_dir.join(STORE_FILE)) {
        Ok(url) => StoreLocation::from_setting(Some(url.trim()), data_dir).map_err(|e| anyhow::anyhow!("{}: {e}", data_dir.join(STORE_FILE).display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StoreLocation::Sqlite(data_dir.join("custos.db"))),
        Err(e) => anyhow::bail!("{}: {e}", data_dir.join(STORE_FILE).display()),
    }
}

/// Records which register the collector loaded, so `report` and `digest` find it.
pub fn remember_register(data_dir: &std::path::Path, register: &std::path::Path) {
    let abs = std::fs::canonicalize(register).unwrap_or_else(|_| register.to_path_buf());
    if let Err(e) = std::fs::write(data_dir.join("register.path"), abs.display().to_string()) {
        tracing::warn!(error = %e, "cannot record the register path in the data directory");
    }
}

fn load_register(data_dir: &std::path::Path, given: Option<PathBuf>) -> anyhow::Result<Register> {
    let path = match given {
        Some(p) => p,
        None => match std::fs::read_to_string(data_dir.join("register.path")) {
            Ok(p) => PathBuf::from(p.trim()),
            Err(_) => anyhow::bail!("no register known for {}; pass --register FILE", data_dir.display()),
        },
    };
    Ok(Register::load(&path)?)
}

fn now() -> i64 {
    custos_agent::finding::now_ms()
}

fn incident(id: i64, data_dir: PathBuf, json: bool, set_status: Option<String>, by: String, note: String) -> anyhow::Result<()> {
    if let Some(s) = set_status {
        let to = Status::parse(&s).ok_or_else(|| anyhow::anyhow!("--set-status `{s}`: use triaged, assessed, notified or not_notifiable"))?;
        let mut store = open_db(&data_dir, true)?;
        store.set_status(id, to, &by, &note, now())?.map_err(|e| anyhow::anyhow!("incident #{id}: {e}"))?;
        println!("incident #{id} is now {to}");
        return Ok(());
    }
    let store = open_db(&data_dir, false)?;
    let v = store.incident(id)?.ok_or_else(|| anyhow::anyhow!("no incident #{id}; list them with `custos-collector incidents`"))?;
    let evidence = store.evidence(id)?;
    let timeline = store.timeline(id)?;
    if json {
        println!("{}", serde_json::json!({ "incident": v, "evidence": evidence, "timeline": timeline }));
        return Ok(());
    }
    crate::print_incident(&v);
    println!("     status: {}  records (estimate): {}  hours left: {}", v.status, v.records, crate::incident::hours_left(v.deadline_ms, now()));
    if !v.justification.is_empty() {
        println!("     not notified because: {}", v.justification);
    }
    println!("\nEvidence ({} findings; masked previews only):", evidence.len());
    for e in &evidence {
        let ev: Vec<String> = e.evidence.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("  {} {} {}:{} {} {} `{}` {}", e.observed_at, e.kind, e.host, e.locator, e.at, e.detector, e.preview, ev.join(" "));
    }
    println!("\nTimeline:");
    for t in &timeline {
        println!("  {} {:<15} {:<10} {}", t.at, t.kind, t.actor, t.note);
    }
    Ok(())
}

fn report(id: i64, format: &str, data_dir: PathBuf, register: Option<PathBuf>) -> anyhow::Result<()> {
    let register = load_register(&data_dir, register)?;
    let mut store = open_db(&data_dir, true)?;
    let draft = crate::report::Art33Draft::produce(&mut store, id, &register, "custos", now())?.ok_or_else(|| anyhow::anyhow!("no incident #{id}"))?;
    match format {
        "md" => print!("{}", draft.markdown()),
        "json" => println!("{}", serde_json::to_string_pretty(&draft)?),
        other => anyhow::bail!("--format {other}: use md or json"),
    }
    Ok(())
}

fn breach_register(format: &str, data_dir: PathBuf) -> anyhow::Result<()> {
    let store = open_db(&data_dir, false)?;
    let rows = crate::report::breach_register(&store)?;
    match format {
        "csv" => print!("{}", crate::report::breach_register_csv(&rows)?),
        "json" => {
            for r in &rows {
                println!("{}", serde_json::to_string(r)?);
            }
        }
        other => anyhow::bail!("--format {other}: use csv or json"),
    }
    Ok(())
}

fn register_import(file: &std::path::Path, output: &std::path::Path) -> anyhow::Result<()> {
    let model = crate::register::check_file(file)?;
    let text = crate::register_table::to_toml(&model).map_err(|e| anyhow::anyhow!("cannot render TOML: {e}"))?;
    std::fs::write(output, text).map_err(|e| anyhow::anyhow!("{}: {e}", output.display()))?;
    // What we wrote must load back.
    Register::load(output)?;
    println!("{} processing activities written to {}", model.activities.len(), output.display());
    Ok(())
}

fn digest(data_dir: PathBuf, register: Option<PathBuf>, silent_hours: u32, json: bool, send: Option<PathBuf>) -> anyhow::Result<()> {
    let register = load_register(&data_dir, register)?;
    let store = open_db(&data_dir, send.is_some())?;
    let d = crate::digest::Digest::build(&store, &register, silent_hours, now())?;
    if json {
        println!("{}", serde_json::to_string(&d)?);
    } else {
        print!("{}", d.text());
    }
    if let Some(cfg) = send {
        let cfg = CollectorConfig::load(&cfg)?;
        let notifier = Notifier::new(cfg.notifications)?;
        let msg = d.message();
        let mut failures = 0;
        for ch in notifier.channels() {
            match notifier.send(ch, &msg) {
                Ok(()) => eprintln!("digest sent by {ch}"),
                Err(e) => {
                    eprintln!("digest not sent by {ch}: {e}");
                    failures += 1;
                }
            }
        }
        if failures > 0 {
            anyhow::bail!("{failures} channel(s) failed");
        }
    }
    Ok(())
}

fn notifications(data_dir: PathBuf, json: bool) -> anyhow::Result<()> {
    let store = open_db(&data_dir, false)?;
    let list = store.notifications()?;
    if json {
        for n in &list {
            println!("{}", serde_json::to_string(n)?);
        }
        return Ok(());
    }
    if list.is_empty() {
        println!("no notifications");
    }
    for n in &list {
        let inc = n.incident_id.map_or("-".to_string(), |i| format!("#{i}"));
        println!("{:>5} {:<8} {:<7} {:<14} {:<5} {:<8} attempts {} {}", n.id, n.status, n.channel, n.event, inc, n.created_at, n.attempts, n.last_error);
    }
    Ok(())
}

fn mute(rule: String, system: String, reason: String, by: String, data_dir: PathBuf, on: bool) -> anyhow::Result<()> {
    if crate::correlation::Rule::from_id(&rule).is_none() {
        anyhow::bail!("unknown rule `{rule}`; see `custos-collector rules`");
    }
    if by.trim().is_empty() || (on && reason.trim().is_empty()) {
        anyhow::bail!("--by and --reason are required: mutes are kept in the audit trail");
    }
    let mut store = open_db(&data_dir, true)?;
    if on {
        store.mute(&rule, &system, &reason, &by, now())?;
        println!("{rule} muted on {system}");
    } else if store.unmute(&rule, &system, &reason, &by, now())? {
        println!("{rule} unmuted on {system}");
    } else {
        println!("{rule} was not muted on {system}");
    }
    Ok(())
}

fn purge(data_dir: PathBuf, older_than_days: u32) -> anyhow::Result<()> {
    let mut store = open_db(&data_dir, true)?;
    let n = store.purge_findings(now() - i64::from(older_than_days) * 86_400_000)?;
    println!("{n} findings older than {older_than_days} days and flagged by no rule folded into daily counts and deleted");
    Ok(())
}

fn audit(data_dir: PathBuf) -> anyhow::Result<()> {
    let store = open_db(&data_dir, false)?;
    for a in store.audit()? {
        println!("{} {:<10} {:<15} {}: {}", a.at, a.actor, a.action, a.subject, a.detail);
    }
    Ok(())
}

fn coverage(data_dir: PathBuf, register: Option<PathBuf>) -> anyhow::Result<()> {
    let register = load_register(&data_dir, register)?;
    let store = open_db(&data_dir, false)?;
    let d = crate::digest::Digest::build(&store, &register, u32::MAX, now())?;
    println!("Undeclared stores — personal data no activity of {} covers ({}):", register.source, d.undeclared_stores.len());
    d.undeclared_stores.iter().for_each(|s| println!("  {s}"));
    println!("Declared systems never seen by an agent ({}):", d.unseen_systems.len());
    d.unseen_systems.iter().for_each(|s| println!("  {s}"));
    Ok(())
}
