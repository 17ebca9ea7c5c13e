//! The `custos-collector` argument grammar (clap).

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Custos collector: stores findings from agents, checks them against the GDPR register and flags possible breaches.
#[derive(Debug, Parser)]
#[command(name = "custos-collector", version)]
pub(super) struct Cli {
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub(super) log_format: LogFormat,
    #[command(subcommand)]
    pub(super) command: Command,
}

#[derive(Debug, Subcommand)]
pub(super) enum Command {
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
        /// New status: triaged, assessed, notified or not_notifiable (breaches); triaged or
        /// resolved (compliance items).
        #[arg(long)]
        set_status: Option<String>,
        /// Promote a compliance item to a possible breach: awareness, and the Art. 33 clock,
        /// start now.
        #[arg(long, conflicts_with_all = ["set_status", "demote"])]
        promote: bool,
        /// Demote a breach to a compliance item (needs --note: why no personal data was exposed).
        #[arg(long, conflicts_with_all = ["set_status", "promote"])]
        demote: bool,
        /// The DPO's own estimate of the data subjects concerned (with --note: how).
        #[arg(long)]
        dpo_subjects: Option<u64>,
        /// The DPO's own estimate of the records concerned (with --note: how).
        #[arg(long)]
        dpo_records: Option<u64>,
        /// Add a note of this kind (facts, effects, remedial, measures, consequences, discovery,
        /// cross_border, follow_up, late_reason, art34_how); the text is --note.
        #[arg(long)]
        add_note: Option<String>,
        /// The Art. 34 decision: communicate, not_required or public_communication (the reason
        /// is --note).
        #[arg(long)]
        art34: Option<String>,
        /// The supervisory authority's reference (with --set-status notified, or a follow_up note).
        #[arg(long, default_value = "")]
        reference: String,
        /// Who makes the change: a console user (default: the OS user); kept in the timeline and
        /// the audit trail, and their role must allow the change.
        #[arg(long)]
        by: Option<String>,
        /// Why; for not_notifiable, the justification Art. 33(5) asks to document.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// The data map: every system where agents saw personal data, by register activity, with
    /// categories, people, records, retention, country, first and last seen (for a DPIA).
    Datamap {
        /// md, csv, json (one object per line) or fideslang (systems in the Fides taxonomy).
        #[arg(long, default_value = "md")]
        format: String,
        /// With `--format csv`: the flows to recipients (one row per system and destination
        /// host) instead of the systems.
        #[arg(long)]
        flows: bool,
        /// Mark what appeared (`new`) or went quiet since this time (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        /// State directory of the collector.
        #[arg(long, default_value = "./custos-data")]
        data_dir: PathBuf,
        /// The register (default: the one the collector last loaded).
        #[arg(long)]
        register: Option<PathBuf>,
        /// The collector configuration, for the countries of hosts (`[locations]`).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Where a person's data has been seen, by the keyed fingerprint of one of their
    /// identifiers (`custos-agent fingerprint` on an agent's host); with --erased-at, records
    /// their erasure: data of theirs seen later opens a breach. DPO role only; audited.
    Subject {
        /// Fingerprints (64 hex digits each), of the same person.
        #[arg(required = true)]
        fingerprints: Vec<String>,
        /// State directory of the collector.
        #[arg(long, default_value = "./custos-data")]
        data_dir: PathBuf,
        /// JSON Lines: one sighting per line.
        #[arg(long)]
        json: bool,
        /// Record the erasure done at this time (RFC 3339, e.g. 2026-12-01T10:00:00Z, or `now`).
        #[arg(long, requires = "request")]
        erased_at: Option<String>,
        /// The erasure request's reference (the DPO's case number).
        #[arg(long, requires = "erased_at")]
        request: Option<String>,
        /// Who asks: a console user with the DPO role (default: the OS user); audited.
        #[arg(long)]
        by: Option<String>,
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
    /// The Art. 33(5) breach register: every breach, notified or not (compliance items are
    /// not breaches).
    BreachRegister {
        /// csv or json (JSON Lines).
        #[arg(long, default_value = "csv")]
        format: String,
        /// State directory of the collector.
        #[arg(long, default_value = "./custos-data")]
        data_dir: PathBuf,
        /// The register (default: the one the collector last loaded).
        #[arg(long)]
        register: Option<PathBuf>,
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
        /// Who: a DPO console user (default: the OS user).
        #[arg(long)]
        by: Option<String>,
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
        /// Who: a DPO console user (default: the OS user).
        #[arg(long)]
        by: Option<String>,
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
pub(super) enum UserAction {
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
pub(super) enum RegisterAction {
    /// Print every problem of a register file, with its line or row and field (exit 1 if any).
    Check {
        /// The register file.
        file: PathBuf,
    },
    /// Suggest register entries (TOML) for the stores agents found personal data in that no
    /// activity covers, and say which declared systems were never seen, with "did you mean".
    Suggest {
        /// State directory of the collector.
        #[arg(long, default_value = "./custos-data")]
        data_dir: PathBuf,
        /// The register (default: the one the collector last loaded).
        #[arg(long)]
        register: Option<PathBuf>,
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

/// Log output format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}
