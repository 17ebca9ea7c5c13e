//! Collector configuration (`collector.toml`), parsed strictly.
//!
//! ```toml
//! listen = "0.0.0.0:7443"
//! data_dir = "/var/lib/custos"
//! register = "/etc/custos/register.toml"   # .toml, .yaml, .csv or .xlsx
//! register_poll_seconds = 5                # reload when the file changes (also on SIGHUP)
//! incident_window_hours = 24               # findings of one (rule, system) within this window share an incident
//! silent_agent_hours = 24                  # the weekly digest lists agents silent for longer
//! # store = "postgres://custos:PASSWORD@db.internal:5432/custos"   # optional: PostgreSQL instead
//! #                                          # of SQLite in data_dir; several collectors may share it
//! #   add ?sslmode=verify-full&sslrootcert=/etc/custos/db-ca.pem for TLS to the database
//! store_pool_size = 4                      # PostgreSQL connections of this collector
//! ingest_rate_per_agent = 20000            # findings/s each agent may store (0: no limit)
//! agent_certificate_days = 365             # validity of certificates signed at enrolment/renewal
//!
//! [tls]
//! ca = "/var/lib/custos/pki/ca.pem"
//! cert = "/var/lib/custos/pki/collector.pem"
//! key = "/var/lib/custos/pki/collector.key"
//! ca_key = "/var/lib/custos/pki/ca.key"    # optional: enables enrolment
//!
//! # Rules are all on by default, with the severities shown in `custos-collector rules`.
//! [rules.retention_exceeded]
//! severity = "high"
//! [rules.undeclared_system]
//! enabled = false
//!
//! # Where hosts are (the wire carries no location): agent ids or host globs → country code.
//! [locations]
//! agents = { "web-eu-1" = "FR" }
//! hosts = { "us-*" = "US" }
//!
//! [notifications]
//! reminders_hours = [48, 24, 6]
//! digest_weekday = "monday"                # weekly digest, at digest_hour UTC
//! digest_hour = 8
//! [notifications.webhook]
//! url = "https://hooks.example/custos"
//! secret_file = "/etc/custos/webhook.secret"   # HMAC-SHA256 key for X-Custos-Signature
//! [notifications.email]
//! server = "smtp.example.fr"
//! port = 587                                # STARTTLS is required
//! from = "custos@example.fr"
//! to = ["dpo@example.fr", "soc@example.fr"]
//! username = "custos"                       # optional, with password_file
//! password_file = "/etc/custos/smtp.password"
//! ca_file = "/etc/custos/smtp-ca.pem"       # optional extra trusted root
//! ```
//! Relative paths are resolved against the config file's directory.

use crate::correlation::{Locations, Rule, RuleSetting, Severity};
use custos_rules::toml_file::{ConfigError, parse_toml_file};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// TLS material of the gRPC endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// CA whose signature agents' certificates must carry.
    pub ca: PathBuf,
    /// Server certificate (PEM).
    pub cert: PathBuf,
    /// Server key (PEM).
    pub key: PathBuf,
    /// CA private key (PEM): enables agent enrolment (`custos-collector enroll`). Without it the
    /// collector only accepts agents whose certificates were issued elsewhere.
    #[serde(default)]
    pub ca_key: Option<PathBuf>,
}

/// Parses a weekday name (`monday` … `sunday`, any case).
pub fn weekday(s: &str) -> Option<time::Weekday> {
    use time::Weekday::*;
    [Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday].into_iter().find(|d| d.to_string().eq_ignore_ascii_case(s.trim()))
}

/// Webhook channel.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where to POST.
    pub url: String,
    /// File holding the HMAC-SHA256 key.
    pub secret_file: PathBuf,
}

/// E-mail channel (SMTP with STARTTLS).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// SMTP server host name (also the TLS name checked).
    pub server: String,
    /// Port (submission: 587).
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    /// Sender.
    pub from: String,
    /// Recipients (DPO, security team).
    pub to: Vec<String>,
    /// SMTP user.
    #[serde(default)]
    pub username: Option<String>,
    /// File holding the SMTP password.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Extra trusted root certificate (PEM), e.g. an internal CA.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

fn default_smtp_port() -> u16 {
    587
}

fn default_reminders() -> Vec<u32> {
    vec![48, 24, 6]
}

fn default_weekday() -> String {
    "monday".into()
}

fn default_digest_hour() -> u8 {
    8
}

/// Notification settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationConfig {
    /// Webhook channel.
    #[serde(default)]
    pub webhook: Option<WebhookConfig>,
    /// E-mail channel.
    #[serde(default)]
    pub email: Option<EmailConfig>,
    /// Reminders sent while an incident is not assessed, in hours left before the deadline.
    #[serde(default = "default_reminders")]
    pub reminders_hours: Vec<u32>,
    /// Day of the weekly digest.
    #[serde(default = "default_weekday")]
    pub digest_weekday: String,
    /// Hour (UTC) of the weekly digest.
    #[serde(default = "default_digest_hour")]
    pub digest_hour: u8,
    /// Delivery attempts before a notification is marked failed.
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
}

fn default_attempts() -> u32 {
    8
}

impl Default for NotificationConfig {
    fn default() -> Self {
        NotificationConfig {
            webhook: None,
            email: None,
            reminders_hours: default_reminders(),
            digest_weekday: default_weekday(),
            digest_hour: default_digest_hour(),
            max_attempts: default_attempts(),
        }
    }
}

fn default_poll() -> u64 {
    5
}
fn default_window() -> u32 {
    24
}

/// The collector configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectorConfig {
    /// gRPC listen address.
    pub listen: SocketAddr,
    /// State directory (database, PKI).
    pub data_dir: PathBuf,
    /// The Art. 30 register.
    pub register: PathBuf,
    /// The store: a PostgreSQL URL (`postgres://user:password@host:5432/database`), which
    /// several collectors may share; absent, a SQLite file `custos.db` in `data_dir`.
    #[serde(default)]
    pub store: Option<String>,
    /// Seconds between checks of the register file's modification time.
    #[serde(default = "default_poll")]
    pub register_poll_seconds: u64,
    /// Findings of one (rule, system) within this many hours of an open incident join it.
    #[serde(default = "default_window")]
    pub incident_window_hours: u32,
    /// Agents silent for longer are listed by the digest.
    #[serde(default = "default_window")]
    pub silent_agent_hours: u32,
    /// A breach event quiet for longer than this that starts again is a new event, and a new
    /// incident (minutes).
    #[serde(default = "default_quiet_gap")]
    pub breach_quiet_gap_minutes: u32,
    /// Days the DPO has to fix a compliance item (register gap, retention overdue).
    #[serde(default = "default_compliance_due")]
    pub compliance_due_days: u32,
    /// Places where personal data is exposed (`web root=GLOB`, `share=GLOB`, `temporary
    /// directory=GLOB`; a bare glob is a web root); absent: the defaults (web roots, shares,
    /// files directly in /tmp, /var/tmp and /dev/shm).
    #[serde(default)]
    pub exposed_places: Option<Vec<String>>,
    /// TLS files.
    pub tls: TlsFiles,
    /// Per-rule settings, by rule id.
    #[serde(default)]
    pub rules: BTreeMap<String, RuleSetting>,
    /// Host locations.
    #[serde(default)]
    pub locations: Locations,
    /// Notifications.
    #[serde(default)]
    pub notifications: NotificationConfig,
    /// Findings older than this many days that no rule flagged are folded into daily counts and
    /// deleted (0 keeps them forever). Flagged findings stay: they are incident evidence.
    #[serde(default = "default_findings_retention")]
    pub findings_retention_days: u32,
    /// The web console and JSON API; absent = no console.
    #[serde(default)]
    pub web: Option<WebConfig>,
    /// Connections to a PostgreSQL store this collector keeps open (ingestion, console and
    /// notifier share them); SQLite always has one.
    #[serde(default = "default_pool_size")]
    pub store_pool_size: u32,
    /// Findings per second each agent may store on average (bursts of one second's worth);
    /// an agent over it has its batches delayed, not refused. 0: no limit.
    #[serde(default = "default_ingest_rate")]
    pub ingest_rate_per_agent: u32,
    /// Validity, in days, of the agent certificates this collector signs (enrolment and
    /// `custos-agent renew`).
    #[serde(default = "default_certificate_days")]
    pub agent_certificate_days: u32,
}

fn default_pool_size() -> u32 {
    crate::store::pool::DEFAULT_POOL_SIZE
}

fn default_ingest_rate() -> u32 {
    crate::rate::DEFAULT_FINDINGS_PER_SECOND
}

fn default_certificate_days() -> u32 {
    crate::pki::DEFAULT_AGENT_CERTIFICATE_DAYS
}

/// The web console (`[web]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// Listen address. On a loopback address the console speaks plain HTTP (reach it through
    /// an SSH tunnel or a local reverse proxy); on any other address it speaks HTTPS with the
    /// collector's certificate (`[tls] cert` and `key`).
    #[serde(default = "default_web_listen")]
    pub listen: SocketAddr,
    /// The console's address as people reach it (`https://custos.example.org`), for the links
    /// in notifications.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Memory (MiB) the password checks running at once may take together: each Argon2id
    /// check takes 19 MiB, so the default 64 lets three run at once and queues the others.
    #[serde(default = "default_argon2_budget")]
    pub argon2_budget_mib: u32,
}

fn default_argon2_budget() -> u32 {
    crate::accounts::DEFAULT_ARGON2_BUDGET_MIB
}

fn default_web_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8443))
}

fn default_quiet_gap() -> u32 {
    60
}

fn default_compliance_due() -> u32 {
    30
}

fn default_findings_retention() -> u32 {
    365
}

impl CollectorConfig {
    /// The correlation settings of this configuration.
    pub fn correlation(&self) -> crate::correlation::CorrelationSettings {
        let policy = crate::correlation::Policy::new(&self.rules, &self.locations);
        crate::correlation::CorrelationSettings {
            policy: match &self.exposed_places {
                Some(globs) => policy.with_exposed_places(globs),
                None => policy,
            },
            window_ms: i64::from(self.incident_window_hours) * 3_600_000,
            quiet_gap_ms: i64::from(self.breach_quiet_gap_minutes) * 60_000,
            compliance_due_ms: i64::from(self.compliance_due_days) * 86_400_000,
        }
    }

    /// The console's public address, for links in notifications.
    pub fn public_url(&self) -> Option<String> {
        self.web.as_ref().and_then(|w| w.public_url.clone()).map(|u| u.trim_end_matches('/').to_string())
    }

    /// Where the store is: `store`, or SQLite in `data_dir`.
    pub fn store_location(&self) -> Result<crate::store::StoreLocation, String> {
        crate::store::StoreLocation::from_setting(self.store.as_deref(), &self.data_dir)
    }

    /// Loads and checks a config file.
    pub fn load(path: &Path) -> Result<CollectorConfig, ConfigError> {
        let (mut cfg, text): (CollectorConfig, String) = parse_toml_file(path)?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let webhook_secret = cfg.notifications.webhook.as_mut().map(|w| &mut w.secret_file);
        let email = cfg.notifications.email.as_mut();
        let (pw, ca_file) = match email {
            Some(e) => (e.password_file.as_mut(), e.ca_file.as_mut()),
            None => (None, None),
        };
        for p in [&mut cfg.data_dir, &mut cfg.register, &mut cfg.tls.ca, &mut cfg.tls.cert, &mut cfg.tls.key]
            .into_iter()
            .chain(cfg.tls.ca_key.as_mut())
            .chain(webhook_secret)
            .chain(pw)
            .chain(ca_file)
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        if let Some(k) = &cfg.tls.ca_key
            && !k.is_file()
        {
            return Err(ConfigError::field(path, &text, "tls.ca_key", format!("file {} does not exist", k.display())));
        }
        for (field, p) in [("register", &cfg.register), ("tls.ca", &cfg.tls.ca), ("tls.cert", &cfg.tls.cert), ("tls.key", &cfg.tls.key)] {
            if !p.is_file() {
                return Err(ConfigError::field(path, &text, field, format!("file {} does not exist", p.display())));
            }
        }
        if let Err(e) = cfg.store_location() {
            return Err(ConfigError::field(path, &text, "store", e));
        }
        for (id, s) in &cfg.rules {
            if Rule::from_id(id).is_none() {
                return Err(ConfigError::field(path, &text, "rules", format!("unknown rule `{id}`; rules are {}", Rule::ALL.map(|r| r.id()).join(", "))));
            }
            if let Some(sev) = &s.severity
                && Severity::parse(sev).is_none()
            {
                return Err(ConfigError::field(path, &text, "severity", format!("rules.{id}.severity `{sev}` must be low, medium, high or critical")));
            }
        }
        for (glob, country) in cfg.locations.hosts.iter().chain(&cfg.locations.agents) {
            if country.len() != 2 {
                return Err(ConfigError::field(path, &text, "locations", format!("`{glob}` → `{country}`: use a two-letter country code")));
            }
            globset::Glob::new(glob).map_err(|e| ConfigError::field(path, &text, "locations", format!("bad host glob `{glob}`: {e}")))?;
        }
        if let Some(globs) = &cfg.exposed_places {
            crate::correlation::check_exposed_places(globs).map_err(|e| ConfigError::field(path, &text, "exposed_places", e))?;
        }
        if let Some(u) = cfg.web.as_ref().and_then(|w| w.public_url.as_deref())
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            return Err(ConfigError::field(path, &text, "web.public_url", format!("`{u}` must start with https:// (or http://)")));
        }
        if !(1..=64).contains(&cfg.store_pool_size) {
            return Err(ConfigError::field(path, &text, "store_pool_size", "store_pool_size must be 1-64"));
        }
        if !(1..=3650).contains(&cfg.agent_certificate_days) {
            return Err(ConfigError::field(path, &text, "agent_certificate_days", "agent_certificate_days must be 1-3650"));
        }
        if weekday(&cfg.notifications.digest_weekday).is_none() || cfg.notifications.digest_hour > 23 {
            return Err(ConfigError::field(path, &text, "digest_weekday", "digest_weekday must be a day name (monday…sunday) and digest_hour 0-23"));
        }
        Ok(cfg)
    }
}
