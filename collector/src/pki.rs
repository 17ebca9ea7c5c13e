//! The collector's small certificate authority.
//!
//! Agents and collector authenticate each other with certificates signed by one CA that the
//! security team controls. The quickstart (and a first `run` with no TLS material) creates it
//! in the data directory; the agent id is the certificate's Common Name, which is how the
//! collector knows who is talking.
//!
//! Agent certificates are valid for a bounded time — [`DEFAULT_AGENT_CERTIFICATE_DAYS`] unless
//! `agent_certificate_days` says otherwise — from five minutes before signing (clock skew). An
//! agent renews its certificate before it expires over the mutual-TLS channel the current one
//! opens (`custos-agent renew`, the `Renew` call of [`crate::enrollment`]).

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType};
use std::path::{Path, PathBuf};

/// Validity of an agent certificate unless the collector is configured otherwise.
pub const DEFAULT_AGENT_CERTIFICATE_DAYS: u32 = 365;

/// A certificate signing request whose signature was verified: only its public key is used.
pub struct AgentCsr(rcgen::CertificateSigningRequestParams);

impl AgentCsr {
    /// Parses a PEM CSR and verifies its signature (the requester holds the key).
    pub fn parse(pem: &str) -> Result<AgentCsr, rcgen::Error> {
        rcgen::CertificateSigningRequestParams::from_pem(pem).map(AgentCsr)
    }
}

/// Paths of the PKI files in a data directory.
#[derive(Debug, Clone)]
pub struct PkiPaths {
    /// Directory holding them.
    pub dir: PathBuf,
}

impl PkiPaths {
    /// The PKI under `data_dir/pki`.
    pub fn in_data_dir(data_dir: &Path) -> Self {
        PkiPaths { dir: data_dir.join("pki") }
    }
    /// CA certificate (PEM).
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
    /// CA private key (PEM); never leaves the collector host.
    pub fn ca_key(&self) -> PathBuf {
        self.dir.join("ca.key")
    }
    /// Collector server certificate.
    pub fn server_cert(&self) -> PathBuf {
        self.dir.join("collector.pem")
    }
    /// Collector server key.
    pub fn server_key(&self) -> PathBuf {
        self.dir.join("collector.key")
    }
    /// Certificate of agent `id`.
    pub fn agent_cert(&self, id: &str) -> PathBuf {
        self.dir.join("agents").join(format!("{id}.pem"))
    }
    /// Key of agent `id`.
    pub fn agent_key(&self, id: &str) -> PathBuf {
        self.dir.join("agents").join(format!("{id}.key"))
    }
}

/// A loaded CA able to sign certificates.
pub struct CertificateAuthority {
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate in PEM.
    pub cert_pem: String,
}

/// A certificate and its private key, both PEM.
#[derive(Debug, Clone)]
pub struct IssuedCert {
    /// Certificate (PEM).
    pub cert_pem: String,
    /// Private key (PEM).
    pub key_pem: String,
}

impl CertificateAuthority {
    /// Creates a new self-signed CA.
    pub fn generate(name: &str) -> Result<Self, rcgen::Error> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.distinguished_name.push(DnType::OrganizationName, "Custos");
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        Ok(CertificateAuthority { cert_pem: cert.pem(), issuer: Issuer::new(params, key) })
    }

    /// Loads a CA from its certificate and key (PEM).
    pub fn load(cert_pem: &str, key_pem: &str) -> Result<Self, rcgen::Error> {
        let key = KeyPair::from_pem(key_pem)?;
        Ok(CertificateAuthority { issuer: Issuer::from_ca_cert_pem(cert_pem, key)?, cert_pem: cert_pem.to_string() })
    }

    /// The CA key in PEM.
    pub fn key_pem(&self) -> String {
        self.issuer.key().serialize_pem()
    }

    /// Issues a server certificate for these DNS names / IP addresses.
    pub fn issue_server(&self, names: &[&str]) -> Result<IssuedCert, rcgen::Error> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        for n in names {
            params.subject_alt_names.push(match n.parse::<std::net::IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName((*n).try_into()?),
            });
        }
        params.distinguished_name.push(DnType::CommonName, names.first().copied().unwrap_or("custos-collector"));
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(IssuedCert { cert_pem: cert.pem(), key_pem: key.serialize_pem() })
    }

    /// Issues a client certificate whose Common Name is the agent id, valid for the default
    /// [`DEFAULT_AGENT_CERTIFICATE_DAYS`].
    pub fn issue_agent(&self, agent_id: &str) -> Result<IssuedCert, rcgen::Error> {
        let key = KeyPair::generate()?;
        let cert = self.agent_params(agent_id, DEFAULT_AGENT_CERTIFICATE_DAYS)?.signed_by(&key, &self.issuer)?;
        Ok(IssuedCert { cert_pem: cert.pem(), key_pem: key.serialize_pem() })
    }

    /// Signs an agent's CSR for `days`. The subject is set to `agent_id`, whatever the CSR
    /// asked for; only the CSR's public key is used.
    pub fn sign_agent_csr(&self, agent_id: &str, csr: &AgentCsr, days: u32) -> Result<String, rcgen::Error> {
        Ok(self.agent_params(agent_id, days)?.signed_by(&csr.0.public_key, &self.issuer)?.pem())
    }

    fn agent_params(&self, agent_id: &str, days: u32) -> Result<CertificateParams, rcgen::Error> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::minutes(5);
        params.not_after = now + time::Duration::days(i64::from(days.max(1)));
        params.distinguished_name.push(DnType::CommonName, agent_id);
        params.distinguished_name.push(DnType::OrganizationalUnitName, "custos-agent");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        Ok(params)
    }
}

/// Writes a file readable by its owner only (private keys).
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()
}

/// Writes a public file (certificates).
pub fn write_public(path: &Path, contents: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, contents)
}

/// Makes sure the data directory has a CA, a server certificate for loopback, and a certificate
/// for each agent id in `agents`. Existing files are kept.
pub fn ensure(data_dir: &Path, agents: &[&str]) -> anyhow::Result<PkiPaths> {
    let paths = PkiPaths::in_data_dir(data_dir);
    let ca = if paths.ca_cert().is_file() && paths.ca_key().is_file() {
        let cert = std::fs::read_to_string(paths.ca_cert())?;
        let key = std::fs::read_to_string(paths.ca_key())?;
        CertificateAuthority::load(&cert, &key).map_err(|e| anyhow::anyhow!("{}: cannot load the CA: {e}", paths.ca_cert().display()))?
    } else {
        let ca = CertificateAuthority::generate("Custos CA")?;
        write_private(&paths.ca_key(), &ca.key_pem())?;
        write_public(&paths.ca_cert(), &ca.cert_pem)?;
        ca
    };
    if !paths.server_cert().is_file() || !paths.server_key().is_file() {
        let s = ca.issue_server(&["localhost", "127.0.0.1", "::1"])?;
        write_private(&paths.server_key(), &s.key_pem)?;
        write_public(&paths.server_cert(), &s.cert_pem)?;
    }
    for id in agents {
        if !paths.agent_cert(id).is_file() || !paths.agent_key(id).is_file() {
            let a = ca.issue_agent(id)?;
            write_private(&paths.agent_key(id), &a.key_pem)?;
            write_public(&paths.agent_cert(id), &a.cert_pem)?;
        }
    }
    Ok(paths)
}

/// The Common Name of a DER certificate (the agent id for agent certificates).
pub fn common_name(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let cn = cert.subject().iter_common_name().next()?.as_str().ok()?.to_string();
    Some(cn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_certificate_carries_the_agent_id() {
        let ca = CertificateAuthority::generate("test").unwrap();
        let a = ca.issue_agent("web-01").unwrap();
        let der = rustls_pemfile_der(&a.cert_pem);
        assert_eq!(common_name(&der).as_deref(), Some("web-01"));
        let reloaded = CertificateAuthority::load(&ca.cert_pem, &ca.key_pem()).unwrap();
        assert!(reloaded.issue_agent("x").is_ok());
    }

    #[test]
    fn agent_certificates_are_valid_for_the_configured_days_not_until_4096() {
        let ca = CertificateAuthority::generate("test").unwrap();
        let key = KeyPair::generate().unwrap();
        let csr = CertificateParams::new(Vec::<String>::new()).unwrap().serialize_request(&key).unwrap().pem().unwrap();
        let pem = ca.sign_agent_csr("web-01", &AgentCsr::parse(&csr).unwrap(), 30).unwrap();
        let der = rustls_pemfile_der(&pem);
        let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
        let days = (cert.validity().not_after.timestamp() - time::OffsetDateTime::now_utc().unix_timestamp()) / 86_400;
        assert!((29..=30).contains(&days), "{days} days");
        let issued = rustls_pemfile_der(&ca.issue_agent("web-02").unwrap().cert_pem);
        let (_, cert) = x509_parser::parse_x509_certificate(&issued).unwrap();
        assert!(cert.validity().not_after.timestamp() < time::OffsetDateTime::now_utc().unix_timestamp() + 366 * 86_400);
        assert!(AgentCsr::parse("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n").is_err());
    }

    fn rustls_pemfile_der(pem: &str) -> Vec<u8> {
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        x509_parser::pem::parse_x509_pem(pem.as_bytes()).map(|(_, p)| p.contents).unwrap_or_else(|_| b64.into_bytes())
    }
}
