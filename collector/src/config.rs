//! Collector configuration (`collector.toml`), parsed strictly.
//!
//! ```toml
//! listen = "0.0.0.0:7443"
//! data_dir = "/var/lib/custos"
//! register = "/etc/custos/register.toml"
//!
//! [tls]
//! ca = "/var/lib/custos/pki/ca.pem"
//! cert = "/var/lib/custos/pki/collector.pem"
//! key = "/var/lib/custos/pki/collector.key"
//! ca_key = "/var/lib/custos/pki/ca.key"    # optional: enables enrolment
//! ```
//! Relative paths are resolved against the config file's directory.

use custos_agent::config::{ConfigError, parse_toml_file};
use serde::Deserialize;
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
    /// TLS files.
    pub tls: TlsFiles,
}

impl CollectorConfig {
    /// Loads and checks a config file.
    pub fn load(path: &Path) -> Result<CollectorConfig, ConfigError> {
        let (mut cfg, text): (CollectorConfig, String) = parse_toml_file(path)?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        for p in [&mut cfg.data_dir, &mut cfg.register, &mut cfg.tls.ca, &mut cfg.tls.cert, &mut cfg.tls.key].into_iter().chain(cfg.tls.ca_key.as_mut()) {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        if let Some(k) = &cfg.tls.ca_key {
            if !k.is_file() {
                return Err(ConfigError::field(path, &text, "tls.ca_key", format!("file {} does not exist", k.display())));
            }
        }
        for (field, p) in [("register", &cfg.register), ("tls.ca", &cfg.tls.ca), ("tls.cert", &cfg.tls.cert), ("tls.key", &cfg.tls.key)] {
            if !p.is_file() {
                return Err(ConfigError::field(path, &text, field, format!("file {} does not exist", p.display())));
            }
        }
        Ok(cfg)
    }
}
