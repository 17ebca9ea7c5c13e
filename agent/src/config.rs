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
//! [[scan]]                            # scheduled data-store scans, see crate::datastore
//! location = "sqlite:///var/lib/app/crm.db"
//! interval_s = 3600
//!
//! [anomaly]                           # thresholds, all optional
//! sensitivity = 6.0
//! ```
//! Relative paths are resolved against the directory of the config file.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::path::{Path, PathBuf};

/// A configuration file that cannot be used: where and why.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, 0 when the error concerns the whole file.
    pub line: usize,
    /// 1-based column, 0 when unknown.
    pub column: usize,
    /// Dotted field path, when known (`collector.url`).
    pub field: Option<String>,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
            if self.column > 0 {
                write!(f, ":{}", self.column)?;
            }
        }
        write!(f, ": ")?;
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        write!(f, "{}", self.reason)
    }
}

impl ConfigError {
    /// An error about the file as a whole (missing, unreadable).
    pub fn file(file: &Path, reason: impl Into<String>) -> Self {
        ConfigError { file: file.to_path_buf(), line: 0, column: 0, field: None, reason: reason.into() }
    }

    /// An error about one field, located by searching its key in the text.
    pub fn field(file: &Path, text: &str, field: &str, reason: impl Into<String>) -> Self {
        let key = field.rsplit('.').next().unwrap_or(field);
        let line = text
            .lines()
            .position(|l| l.trim_start().strip_prefix(key).is_some_and(|r| r.trim_start().starts_with('=')))
            .map_or(0, |i| i + 1);
        ConfigError { file: file.to_path_buf(), line, column: 0, field: Some(field.to_string()), reason: reason.into() }
    }
}

/// Reads and parses a TOML file into `T`, turning every failure into a [`ConfigError`] that
/// names the file, line, column and (dotted) field.
pub fn parse_toml_file<T: DeserializeOwned>(path: &Path) -> Result<(T, String), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::file(path, format!("cannot read: {e}")))?;
    let value = parse_toml(path, &text)?;
    Ok((value, text))
}

/// Parses TOML text into `T`; `path` is only used in errors.
pub fn parse_toml<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map(|s| custos_rules::pack::line_col(text, s.start)).unwrap_or((0, 0));
        let field = (line > 0).then(|| field_at(text, line)).flatten();
        let mut reason = e.message().to_string();
        // A missing field is reported on the table that lacks it; say which field.
        if let Some(rest) = reason.strip_prefix("missing field `")
            && let Some(name) = rest.split('`').next() {
                reason = format!("missing field `{name}`; add it");
            }
        ConfigError { file: path.to_path_buf(), line, column, field, reason }
    })
}

/// The dotted path of the key on `line` (1-based): the enclosing `[table]` plus the key.
fn field_at(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let here = lines.get(line - 1)?.trim();
    let table = lines[..line - 1].iter().rev().find_map(|l| {
        let l = l.trim();
        l.starts_with('[').then(|| l.trim_matches(|c| c == '[' || c == ']').trim().to_string())
    });
    if here.starts_with('[') {
        return Some(here.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    }
    let key = here.split('=').next()?.trim();
    if key.is_empty() || key.contains(' ') {
        return table;
    }
    Some(match table {
        Some(t) => format!("{t}.{key}"),
        None => key.to_string(),
    })
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
    /// How often files are read and globs rescanned.
    #[serde(default)]
    pub tail: TailConfig,
    /// The on-disk spool.
    #[serde(default)]
    pub spool: crate::spool::SpoolConfig,
    /// Prometheus metrics endpoint (off when absent).
    #[serde(default)]
    pub metrics: Option<MetricsConfig>,
    /// Scheduled data-store scans (files, SQLite, PostgreSQL).
    #[serde(default, rename = "scan")]
    pub scans: Vec<crate::datastore::schedule::ScanJob>,
    /// Thresholds of the export-anomaly heuristics.
    #[serde(default)]
    pub anomaly: crate::anomaly::AnomalyConfig,
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
        TailConfig { poll_interval_ms: default_poll_ms(), rescan_interval_ms: default_rescan_ms(), orphan_grace_ms: default_orphan_ms(), checkpoint_interval_ms: default_checkpoint_ms() }
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
    pub detect: Vec<crate::anomaly::LogDetect>,
}

fn default_max_line() -> usize {
    1 << 20
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
                && p.is_relative() {
                    let scheme = if job.location.starts_with("sqlite://") { "sqlite://" } else { "" };
                    job.location = format!("{scheme}{}", base.join(p).display());
                }
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
        for (field, p) in [("collector.ca", &self.collector.ca), ("collector.cert", &self.collector.cert), ("collector.key", &self.collector.key), ("fingerprint.key_file", &self.fingerprint.key_file)] {
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
        if let Some(c) = self.detection.min_confidence
            && !(0.0..=1.0).contains(&c) {
                return Err(ConfigError::field(path, text, "detection.min_confidence", "must be within [0, 1]"));
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
        assert_eq!(cfg.logs[0].detect, vec![crate::anomaly::LogDetect::Postgres, crate::anomaly::LogDetect::FindingRate]);
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
    fn missing_file_is_reported() {
        let e = AgentConfig::load(Path::new("/nonexistent/agent.toml")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/agent.toml"));
    }
}
