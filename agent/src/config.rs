//! Agent configuration (`agent.toml`), parsed strictly.
//!
//! Unknown fields are errors and every error names the file, line, column and field, because a
//! typo in a monitoring agent's config is a blind spot nobody notices.
//!
//! ```toml
//! agent_id = "web-01"
//! data_dir = "/var/lib/custos-agent"
//!
//! [collector]
//! url = "https://collector.example:7443"
//! failover = ["https://collector-2.example:7443"]   # optional, tried in turn
//! ca = "/etc/custos/ca.pem"
//! cert = "/etc/custos/agent.pem"
//! key = "/etc/custos/agent.key"
//!
//! [fingerprint]
//! key_file = "/etc/custos/fingerprint.key"
//!
//! [[log]]
//! paths = ["/var/log/nginx/*.log"]
//! read_from = "end"
//! detect = ["access_log"]             # export-anomaly heuristics, see crate::anomaly
//!
//! [[syslog]]                          # a syslog receiver, see crate::syslog
//! listen = "udp://0.0.0.0:5514"
//!
//! [[scan]]                            # scheduled data-store scans, see crate::datastore
//! location = "sqlite:///var/lib/app/crm.db"
//! interval_s = 3600
//!
//! [anomaly]                           # thresholds, all optional
//! sensitivity = 6.0
//! ```
//! Relative paths are resolved against the directory of the config file.

pub use custos_rules::toml_file::{ConfigError, parse_toml, parse_toml_file};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Rows sampled per database table when nothing else is said.
pub const DEFAULT_SAMPLE_ROWS: u64 = 1000;

/// One `[[scan]]` job.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanJob {
    /// A file or directory, `sqlite://PATH`, or `postgres://user:password@host:port/db[?schema=S]`.
    pub location: String,
    /// Seconds between runs.
    #[serde(default = "default_interval")]
    pub interval_s: u64,
    /// Rows sampled per database table.
    #[serde(default = "default_sample_rows")]
    pub sample_rows: u64,
}

fn default_interval() -> u64 {
    86_400
}
fn default_sample_rows() -> u64 {
    DEFAULT_SAMPLE_ROWS
}

/// Thresholds of the export-anomaly heuristics (`[anomaly]` in the agent config).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnomalyConfig {
    /// Length of a counting window (request rate, finding rate), seconds.
    pub window_s: u64,
    /// Observations a baseline needs before relative heuristics fire.
    pub warmup: usize,
    /// Observations a baseline remembers.
    pub history: usize,
    /// How many scaled MADs above the median count as "far above".
    pub sensitivity: f64,
    /// A read must return at least this many rows to be a bulk read.
    pub bulk_rows_min: u64,
    /// A read returning this many rows is a bulk read even without a baseline.
    pub bulk_rows_absolute: u64,
    /// A response must be at least this large (bytes) to be a download anomaly.
    pub download_bytes_min: u64,
    /// A 2xx response from an export endpoint at least this large is reported.
    pub export_bytes_min: u64,
    /// Path fragments of export/download endpoints (case-insensitive).
    pub export_paths: Vec<String>,
    /// An actor must make at least this many requests in a window to be a rate anomaly.
    pub request_rate_min: u64,
    /// A source must produce at least this many findings in a window to be a rate anomaly.
    pub finding_rate_min: u64,
    /// A new or grown file must hold at least this many distinct personal values (after
    /// the place's weight) to be reported.
    pub file_min_distinct: u64,
    /// Weight of places where exports hide (tmp, home, web roots, shares).
    pub exposed_place_weight: f64,
    /// The site's exposed places as `kind=glob` (kinds `tmp`, `home`, `web_root`, `share`),
    /// replacing the built-in path fragments (see [`crate::place`]).
    pub exposed_places: Option<Vec<String>>,
    /// Lines may arrive this many seconds out of event-time order: a window closes only once a
    /// line this much later than its end was seen.
    pub reorder_tolerance_s: u64,
    /// Windows a client's own request rate needs before it is judged against itself (a steady
    /// integration is learned after that many windows).
    pub actor_warmup: usize,
    /// Service accounts and integrations (user names or client addresses, `*` globs allowed)
    /// that never fire `request_rate`.
    pub known_actors: Vec<String>,
    /// An export event (a scrape, a dump session) ends after this many seconds of event time
    /// without a request or statement of it.
    pub event_gap_s: u64,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        AnomalyConfig {
            window_s: 60,
            warmup: 10,
            history: 200,
            sensitivity: 6.0,
            bulk_rows_min: 10_000,
            bulk_rows_absolute: 1_000_000,
            download_bytes_min: 5_000_000,
            export_bytes_min: 100_000,
            export_paths: ["/export", "/download", "/dump", "/backup", ".csv", ".xlsx", ".sql", ".ndjson"].map(String::from).to_vec(),
            request_rate_min: 300,
            finding_rate_min: 50,
            file_min_distinct: 1000,
            exposed_place_weight: 4.0,
            exposed_places: None,
            reorder_tolerance_s: 10,
            actor_warmup: 3,
            known_actors: Vec::new(),
            event_gap_s: 300,
        }
    }
}

impl AnomalyConfig {
    /// The exposed places (already checked by [`AnomalyConfig::check`]; the built-in fragments
    /// otherwise).
    pub fn places(&self) -> crate::place::Places {
        crate::place::Places::new(self.exposed_places.as_deref()).unwrap_or_default()
    }

    /// Checks ranges; returns the offending field and why.
    pub fn check(&self) -> Result<(), (&'static str, &'static str)> {
        if self.window_s == 0 {
            return Err(("anomaly.window_s", "must be at least 1"));
        }
        if self.history < 3 || self.warmup > self.history {
            return Err(("anomaly.history", "must be at least 3 and not below anomaly.warmup"));
        }
        if !(self.sensitivity.is_finite() && self.sensitivity > 0.0) {
            return Err(("anomaly.sensitivity", "must be a positive number"));
        }
        if !(self.exposed_place_weight.is_finite() && self.exposed_place_weight >= 1.0) {
            return Err(("anomaly.exposed_place_weight", "must be at least 1"));
        }
        if self.actor_warmup == 0 || self.actor_warmup > 50 {
            return Err(("anomaly.actor_warmup", "must be between 1 and 50"));
        }
        if self.event_gap_s == 0 {
            return Err(("anomaly.event_gap_s", "must be at least 1"));
        }
        if crate::place::Places::new(self.exposed_places.as_deref()).is_err() {
            return Err(("anomaly.exposed_places", "each entry must be KIND=GLOB, KIND one of tmp, home, web_root, share"));
        }
        if self.known_actors.iter().any(|a| glob::Pattern::new(a).is_err()) {
            return Err(("anomaly.known_actors", "each entry must be a name or a valid glob"));
        }
        Ok(())
    }
}

/// What a `[[log]]` source is watched for (`detect = [...]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogDetect {
    /// PostgreSQL server log: `COPY … TO`, pg_dump sessions, bulk reads (auto_explain rows).
    Postgres,
    /// MySQL/MariaDB general or slow log: `INTO OUTFILE`, mysqldump, `Rows_sent`.
    Mysql,
    /// Web access log (common/combined format): export endpoints, download size, request rate.
    AccessLog,
    /// Rate of personal-data findings in this log against its baseline.
    FindingRate,
    /// Outbound requests (forward proxy, egress gateway, HTTP-client log): personal data in a
    /// request's URL is reported with its destination host ([`crate::egress`]).
    Egress,
}

impl LogDetect {
    /// The name in `detect = [...]` and `scan --detect`.
    pub fn as_str(self) -> &'static str {
        match self {
            LogDetect::Postgres => "postgres",
            LogDetect::Mysql => "mysql",
            LogDetect::AccessLog => "access_log",
            LogDetect::FindingRate => "finding_rate",
            LogDetect::Egress => "egress",
        }
    }

    /// Parses a name of [`LogDetect::as_str`].
    pub fn parse(name: &str) -> Option<LogDetect> {
        [LogDetect::Postgres, LogDetect::Mysql, LogDetect::AccessLog, LogDetect::FindingRate, LogDetect::Egress].into_iter().find(|d| d.as_str() == name)
    }
}

/// How the lines of a `[[log]]` source are wrapped (`format = …`, see [`crate::container`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Each line is what the application wrote.
    #[default]
    Plain,
    /// CRI container logs (containerd, CRI-O): `TIME STREAM F|P MESSAGE`.
    Cri,
    /// Docker `json-file` logs: `{"log":…,"stream":…,"time":…}`.
    Docker,
    /// CRI or Docker, told apart line by line (a line starting with `{` is Docker's).
    Auto,
}

/// Where to start reading a log file seen for the first time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ReadFrom {
    /// Read the existing content, then follow.
    Beginning,
    /// Only lines appended after the agent first sees the file.
    #[default]
    End,
}

/// The complete agent configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// This agent's id; must match the CN of its client certificate.
    pub agent_id: String,
    /// Host name reported with findings (default: the machine's).
    #[serde(default)]
    pub host: Option<String>,
    /// Where the agent keeps its state.
    pub data_dir: PathBuf,
    /// The collector and the TLS material to reach it.
    pub collector: CollectorEndpoint,
    /// The fingerprint key shared by the organisation's agents.
    pub fingerprint: FingerprintConfig,
    /// Detection settings.
    #[serde(default)]
    pub detection: DetectionConfig,
    /// Batching settings.
    #[serde(default)]
    pub batch: BatchConfig,
    /// Log files to tail.
    #[serde(default, rename = "log")]
    pub logs: Vec<LogSource>,
    /// The systemd journal, read through `journalctl` (see [`crate::journald`]).
    #[serde(default, rename = "journald")]
    pub journald: Vec<JournaldSource>,
    /// How often files are read and globs rescanned.
    #[serde(default)]
    pub tail: TailConfig,
    /// Syslog listeners (UDP, TCP, TLS), see [`crate::syslog`].
    #[serde(default, rename = "syslog")]
    pub syslogs: Vec<crate::syslog::config::SyslogSource>,
    /// The on-disk spool.
    #[serde(default)]
    pub spool: crate::spool::SpoolConfig,
    /// Prometheus metrics endpoint (off when absent).
    #[serde(default)]
    pub metrics: Option<MetricsConfig>,
    /// Scheduled data-store scans (files, SQLite, PostgreSQL).
    #[serde(default, rename = "scan")]
    pub scans: Vec<ScanJob>,
    /// Thresholds of the export-anomaly heuristics.
    #[serde(default)]
    pub anomaly: AnomalyConfig,
}

/// Tailing cadence.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TailConfig {
    /// Followed files are read at least this often (file-system events wake the reader sooner).
    #[serde(default = "default_poll_ms")]
    pub poll_interval_ms: u64,
    /// Globs are re-evaluated at least this often, to find new files where events are unreliable.
    #[serde(default = "default_rescan_ms")]
    pub rescan_interval_ms: u64,
    /// A rotated-away or deleted file is still read until it has been quiet this long.
    #[serde(default = "default_orphan_ms")]
    pub orphan_grace_ms: u64,
    /// Checkpoints are persisted at most this often.
    #[serde(default = "default_checkpoint_ms")]
    pub checkpoint_interval_ms: u64,
}

fn default_poll_ms() -> u64 {
    250
}
fn default_rescan_ms() -> u64 {
    1000
}
fn default_orphan_ms() -> u64 {
    2000
}
fn default_checkpoint_ms() -> u64 {
    1000
}

impl Default for TailConfig {
    fn default() -> Self {
        TailConfig {
            poll_interval_ms: default_poll_ms(),
            rescan_interval_ms: default_rescan_ms(),
            orphan_grace_ms: default_orphan_ms(),
            checkpoint_interval_ms: default_checkpoint_ms(),
        }
    }
}

/// Where `/metrics` is served.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Listen address, e.g. `127.0.0.1:9477`.
    pub listen: std::net::SocketAddr,
}

/// How to reach the collector.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectorEndpoint {
    /// `https://host:port`.
    pub url: String,
    /// Further collectors (`https://host:port` each) that serve the same deployment. When the
    /// current one cannot be reached or drops the stream, the agent moves to the next one in
    /// turn and resends everything not yet acknowledged; collectors store idempotently.
    #[serde(default)]
    pub failover: Vec<String>,
    /// Name expected in the collector's certificate (default: the URL's host).
    #[serde(default)]
    pub server_name: Option<String>,
    /// CA certificate (PEM) that signed the collector's certificate.
    pub ca: PathBuf,
    /// This agent's certificate (PEM).
    pub cert: PathBuf,
    /// This agent's private key (PEM).
    pub key: PathBuf,
}

/// Where the fingerprint key lives.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FingerprintConfig {
    /// File holding the key (at least 16 bytes; hex or raw).
    pub key_file: PathBuf,
}

/// Detection settings.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DetectionConfig {
    /// Extra rule packs (`*.toml`) to load next to the defaults.
    #[serde(default)]
    pub rules: Option<PathBuf>,
    /// Minimum confidence of a finding sent to the collector.
    #[serde(default)]
    pub min_confidence: Option<f32>,
    /// Regions (ISO 3166 alpha-2) whose national phone formats are recognised; international
    /// forms are recognised for every region. Default: FR, DE, ES, IT, NL, BE, PL, GB, US.
    #[serde(default)]
    pub phone_regions: Option<Vec<String>>,
}

/// Batching of findings on the wire.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchConfig {
    /// Findings per batch at most.
    #[serde(default = "default_max_findings")]
    pub max_findings: usize,
    /// A partial batch is sent after this many milliseconds.
    #[serde(default = "default_linger_ms")]
    pub linger_ms: u64,
    /// Batches sent but not acknowledged at most (backpressure beyond).
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: usize,
}

fn default_max_findings() -> usize {
    500
}
fn default_linger_ms() -> u64 {
    100
}
fn default_max_in_flight() -> usize {
    64
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig { max_findings: default_max_findings(), linger_ms: default_linger_ms(), max_in_flight: default_max_in_flight() }
    }
}

/// A group of log files to tail.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSource {
    /// Glob patterns (`/var/log/app/*.log`).
    pub paths: Vec<String>,
    /// Where to start in files seen for the first time.
    #[serde(default)]
    pub read_from: ReadFrom,
    /// Longest line kept whole; longer lines are scanned in pieces of this size.
    #[serde(default = "default_max_line")]
    pub max_line_bytes: usize,
    /// Also read compressed rotated files (`*.gz`) matched by the globs, once each.
    #[serde(default)]
    pub include_compressed: bool,
    /// Export-anomaly heuristics to run on these logs (`postgres`, `mysql`, `access_log`,
    /// `finding_rate`); none by default.
    #[serde(default)]
    pub detect: Vec<LogDetect>,
    /// How lines are wrapped: `plain` (default), `cri`, `docker` or `auto` (container logs).
    #[serde(default)]
    pub format: LogFormat,
}

fn default_max_line() -> usize {
    1 << 20
}

/// A `[[journald]]` source: entries of the systemd journal, read through
/// `journalctl --output=json --follow` with a persisted cursor (see [`crate::journald`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournaldSource {
    /// Only entries of these systemd units (`_SYSTEMD_UNIT`, e.g. `nginx.service`); all when
    /// empty.
    #[serde(default)]
    pub units: Vec<String>,
    /// Only entries with these syslog identifiers (`SYSLOG_IDENTIFIER`); with `units`, an entry
    /// matching either is read.
    #[serde(default)]
    pub identifiers: Vec<String>,
    /// A journal directory to read instead of the system's (a host journal mounted into a
    /// container, journal files copied for analysis).
    #[serde(default)]
    pub directory: Option<PathBuf>,
    /// Where to start on the very first run (no cursor saved yet): `end` (default) reads only
    /// new entries, `beginning` the whole journal.
    #[serde(default)]
    pub read_from: ReadFrom,
    /// The `journalctl` to run (default: `journalctl` on the `PATH`).
    #[serde(default = "default_journalctl")]
    pub journalctl: PathBuf,
    /// Longest journal entry (its JSON) read; a longer one is skipped and counted.
    #[serde(default = "default_max_entry")]
    pub max_entry_bytes: usize,
}

fn default_journalctl() -> PathBuf {
    PathBuf::from("journalctl")
}
fn default_max_entry() -> usize {
    4 << 20
}

impl AgentConfig {
    /// Loads and checks a config file; relative paths become relative to its directory.
    pub fn load(path: &Path) -> Result<AgentConfig, ConfigError> {
        let (mut cfg, text): (AgentConfig, String) = parse_toml_file(path)?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        cfg.resolve(&base);
        cfg.check(path, &text)?;
        Ok(cfg)
    }

    /// The `[anomaly]` section of the config file at `path`, checked (what `scan --config`
    /// uses, so that a forensic scan judges with the thresholds of the running agent; the rest
    /// of the file is parsed strictly but not checked).
    pub fn load_anomaly(path: &Path) -> Result<AnomalyConfig, ConfigError> {
        let (cfg, text): (AgentConfig, String) = parse_toml_file(path)?;
        if let Err((field, reason)) = cfg.anomaly.check() {
            return Err(ConfigError::field(path, &text, field, reason));
        }
        Ok(cfg.anomaly)
    }

    /// Makes relative paths relative to `base`.
    pub fn resolve(&mut self, base: &Path) {
        let abs = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        abs(&mut self.data_dir);
        abs(&mut self.collector.ca);
        abs(&mut self.collector.cert);
        abs(&mut self.collector.key);
        abs(&mut self.fingerprint.key_file);
        if let Some(r) = &mut self.detection.rules {
            abs(r);
        }
        for job in &mut self.scans {
            if let crate::datastore::Location::Path(p) | crate::datastore::Location::Sqlite(p) = crate::datastore::Location::parse(&job.location)
                && p.is_relative()
            {
                let scheme = if job.location.starts_with("sqlite://") { "sqlite://" } else { "" };
                job.location = format!("{scheme}{}", base.join(p).display());
            }
        }
        for j in &mut self.journald {
            if let Some(d) = &mut j.directory {
                abs(d);
            }
        }
        for s in &mut self.syslogs {
            s.resolve(base);
        }
        for log in &mut self.logs {
            for p in &mut log.paths {
                if Path::new(p.as_str()).is_relative() {
                    *p = base.join(&*p).to_string_lossy().into_owned();
                }
            }
        }
    }

    fn check(&self, path: &Path, text: &str) -> Result<(), ConfigError> {
        if self.agent_id.is_empty() || !self.agent_id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
            return Err(ConfigError::field(path, text, "agent_id", "must be non-empty and use only letters, digits, '-', '_' and '.'"));
        }
        if !self.collector.url.starts_with("https://") {
            return Err(ConfigError::field(path, text, "collector.url", "must start with https:// (the agent only talks mutual TLS)"));
        }
        for (field, p) in [
            ("collector.ca", &self.collector.ca),
            ("collector.cert", &self.collector.cert),
            ("collector.key", &self.collector.key),
            ("fingerprint.key_file", &self.fingerprint.key_file),
        ] {
            if !p.is_file() {
                return Err(ConfigError::field(path, text, field, format!("file {} does not exist", p.display())));
            }
        }
        for log in &self.logs {
            for g in &log.paths {
                glob::Pattern::new(g).map_err(|e| ConfigError::field(path, text, "paths", format!("bad glob `{g}`: {e}")))?;
            }
            if log.max_line_bytes < 256 {
                return Err(ConfigError::field(path, text, "max_line_bytes", "must be at least 256"));
            }
        }
        for j in &self.journald {
            if j.max_entry_bytes < 4096 {
                return Err(ConfigError::field(path, text, "journald.max_entry_bytes", "must be at least 4096"));
            }
            if let Some(d) = &j.directory
                && !d.is_dir()
            {
                return Err(ConfigError::field(
                    path,
                    text,
                    "journald.directory",
                    format!("{} is not a directory; give the directory holding the *.journal files", d.display()),
                ));
            }
            for (field, names) in [("journald.units", &j.units), ("journald.identifiers", &j.identifiers)] {
                // Each name becomes one journalctl argument: no option smuggled in.
                if names.iter().any(|n| n.is_empty() || n.starts_with('-') || n.chars().any(char::is_control)) {
                    return Err(ConfigError::field(path, text, field, "names must be non-empty, not start with '-', and hold no control character"));
                }
            }
        }
        if let Some(c) = self.detection.min_confidence
            && !(0.0..=1.0).contains(&c)
        {
            return Err(ConfigError::field(path, text, "detection.min_confidence", "must be within [0, 1]"));
        }
        if let Some(regions) = &self.detection.phone_regions
            && let Err(e) = custos_rules::PhoneRegions::new(regions)
        {
            return Err(ConfigError::field(path, text, "detection.phone_regions", &e));
        }
        for job in &self.scans {
            if job.location.is_empty() {
                return Err(ConfigError::field(path, text, "scan.location", "must not be empty"));
            }
            if job.interval_s == 0 {
                return Err(ConfigError::field(path, text, "scan.interval_s", "must be at least 1"));
            }
            if job.sample_rows == 0 {
                return Err(ConfigError::field(path, text, "scan.sample_rows", "must be at least 1"));
            }
        }
        if let Err((field, reason)) = self.anomaly.check() {
            return Err(ConfigError::field(path, text, field, reason));
        }
        if let Err((field, reason)) = crate::syslog::config::check_all(&self.syslogs) {
            return Err(ConfigError::field(path, text, field, reason));
        }
        if self.batch.max_findings == 0 || self.batch.max_in_flight == 0 {
            return Err(ConfigError::field(path, text, "batch", "max_findings and max_in_flight must be at least 1"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typo_names_file_line_and_field() {
        let text = "agent_id = \"a\"\ndata_dir = \"x\"\n[collector]\nurl = \"https://x\"\nca = \"a\"\ncert = \"b\"\nkey = \"c\"\nservr_name = \"z\"\n";
        let e = parse_toml::<AgentConfig>(Path::new("agent.toml"), text).unwrap_err();
        assert_eq!(e.line, 8, "{e}");
        assert_eq!(e.field.as_deref(), Some("collector.servr_name"), "{e}");
        assert!(e.to_string().starts_with("agent.toml:8:"), "{e}");
    }

    #[test]
    fn wrong_type_names_the_field() {
        let text = "agent_id = \"a\"\ndata_dir = \"x\"\n[batch]\nmax_findings = \"many\"\n";
        let e = parse_toml::<AgentConfig>(Path::new("agent.toml"), text).unwrap_err();
        assert_eq!(e.line, 4, "{e}");
        assert_eq!(e.field.as_deref(), Some("batch.max_findings"), "{e}");
    }

    #[test]
    fn scan_jobs_anomaly_section_and_detect_lists_parse_strictly() {
        let text = "agent_id = \"a\"\ndata_dir = \"x\"\n[collector]\nurl = \"https://x\"\nca = \"a\"\ncert = \"b\"\nkey = \"c\"\n[fingerprint]\nkey_file = \"k\"\n\n[[log]]\npaths = [\"/var/log/postgresql/*.log\"]\ndetect = [\"postgres\", \"finding_rate\"]\n\n[[scan]]\nlocation = \"sqlite://crm.db\"\ninterval_s = 600\n\n[anomaly]\nsensitivity = 4.5\n";
        let cfg = parse_toml::<AgentConfig>(Path::new("agent.toml"), text).unwrap();
        assert_eq!(cfg.logs[0].detect, vec![LogDetect::Postgres, LogDetect::FindingRate]);
        assert_eq!((cfg.scans[0].interval_s, cfg.scans[0].sample_rows), (600, 1000));
        assert_eq!(cfg.anomaly.sensitivity, 4.5);
        let typo = text.replace("detect = [\"postgres\"", "detect = [\"postgress\"");
        let e = parse_toml::<AgentConfig>(Path::new("agent.toml"), &typo).unwrap_err();
        assert_eq!(e.line, 13, "{e}");
        let unknown = text.replace("interval_s = 600", "intervall_s = 600");
        let e = parse_toml::<AgentConfig>(Path::new("agent.toml"), &unknown).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("scan.intervall_s"), "{e}");
    }

    #[test]
    fn container_formats_and_journald_sources_parse_strictly() {
        let base =
            "agent_id = \"a\"\ndata_dir = \"x\"\n[collector]\nurl = \"https://x\"\nca = \"a\"\ncert = \"b\"\nkey = \"c\"\n[fingerprint]\nkey_file = \"k\"\n";
        let text = format!("{base}[[log]]\npaths = [\"/var/log/pods/*/*/*.log\"]\nformat = \"cri\"\n\n[[journald]]\nunits = [\"nginx.service\"]\n");
        let cfg = parse_toml::<AgentConfig>(Path::new("agent.toml"), &text).unwrap();
        assert_eq!(cfg.logs[0].format, LogFormat::Cri);
        assert_eq!((cfg.journald[0].units.len(), cfg.journald[0].read_from, cfg.journald[0].directory.is_none()), (1, ReadFrom::End, true));
        let e = parse_toml::<AgentConfig>(Path::new("agent.toml"), &text.replace("\"cri\"", "\"crio\"")).unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (12, Some("log.format")), "{e}");
        let e = parse_toml::<AgentConfig>(Path::new("agent.toml"), &text.replace("units =", "unit =")).unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (15, Some("journald.unit")), "{e}");
    }

    #[test]
    fn missing_file_is_reported() {
        let e = AgentConfig::load(Path::new("/nonexistent/agent.toml")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/agent.toml"));
    }
}
