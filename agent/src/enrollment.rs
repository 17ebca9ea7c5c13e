//! `custos-agent enroll`: obtain a client certificate with a one-time token.
//!
//! The key pair is generated here and never leaves the host; only a certificate signing
//! request is sent, over TLS verified against the collector's CA (the agent has no client
//! certificate yet, which the collector accepts for this call only).
//!
//! `custos-agent renew` replaces the certificate before it expires (one year by default): a new
//! key pair, a CSR sent over the mutual-TLS channel the current certificate opens, and the new
//! certificate and key written in place of the old ones (each through a temporary file and a
//! rename, so a crash leaves one pair or the other, and the key is never readable by others).

use custos_proto::v1 as pb;
use custos_proto::v1::enrollment_client::EnrollmentClient;
use std::path::{Path, PathBuf};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

/// What enrolment produced.
#[derive(Debug, Clone)]
pub struct Enrolled {
    /// The agent id in the certificate.
    pub agent_id: String,
    /// Certificate file.
    pub cert: PathBuf,
    /// Private key file (mode 0600).
    pub key: PathBuf,
    /// CA certificate file.
    pub ca: PathBuf,
}

fn write(path: &Path, data: &str, private: bool) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(if private { 0o600 } else { 0o644 })
        .open(path)
        .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", path.display()))?;
    f.write_all(data.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

/// Enrols with the collector at `url` and writes `agent.pem`, `agent.key` and `ca.pem` to `out`.
pub async fn enroll(url: &str, token: &str, ca_pem_path: &Path, server_name: Option<&str>, out: &Path) -> anyhow::Result<Enrolled> {
    let ca_pem = std::fs::read_to_string(ca_pem_path).map_err(|e| anyhow::anyhow!("{}: cannot read CA certificate: {e}", ca_pem_path.display()))?;
    let uri: tonic::codegen::http::Uri = url.parse().map_err(|e| anyhow::anyhow!("collector url `{url}` is invalid: {e}"))?;
    let name = server_name.map(str::to_string).unwrap_or_else(|| uri.host().unwrap_or("localhost").to_string());
    let key = rcgen::KeyPair::generate()?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(rcgen::DnType::CommonName, "custos-agent (set by the collector)");
    let csr = params.serialize_request(&key)?.pem()?;
    let tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&ca_pem)).domain_name(name);
    let channel =
        Channel::from_shared(url.to_string())?.tls_config(tls)?.connect().await.map_err(|e| anyhow::anyhow!("cannot reach the collector at {url}: {e}"))?;
    let resp = EnrollmentClient::new(channel)
        .enroll(pb::EnrollRequest { token: token.trim().to_string(), csr_pem: csr })
        .await
        .map_err(|s| anyhow::anyhow!("enrolment refused: {}", s.message()))?
        .into_inner();
    std::fs::create_dir_all(out)?;
    let e = Enrolled { agent_id: resp.agent_id, cert: out.join("agent.pem"), key: out.join("agent.key"), ca: out.join("ca.pem") };
    write(&e.key, &key.serialize_pem(), true)?;
    write(&e.cert, &resp.certificate_pem, false)?;
    write(&e.ca, &resp.ca_pem, false)?;
    Ok(e)
}

/// What renewal produced.
#[derive(Debug, Clone)]
pub struct Renewed {
    /// The agent id in the new certificate (that of the old one).
    pub agent_id: String,
    /// Expiry of the new certificate (seconds since the epoch).
    pub not_after: i64,
}

/// Writes `data` to `path` through a temporary file and a rename.
fn replace(path: &Path, data: &str, private: bool) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".new");
    let tmp = PathBuf::from(tmp);
    write(&tmp, data, private)?;
    std::fs::rename(&tmp, path).map_err(|e| anyhow::anyhow!("{}: cannot replace: {e}", path.display()))
}

/// Renews the agent's certificate with the collector of `endpoint`, authenticated by the
/// current certificate, and writes the new certificate and key over the configured files.
pub async fn renew(endpoint: &crate::config::CollectorEndpoint) -> anyhow::Result<Renewed> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", p.display()));
    let (ca, cert, key) = (read(&endpoint.ca)?, read(&endpoint.cert)?, read(&endpoint.key)?);
    let url = &endpoint.url;
    let uri: tonic::codegen::http::Uri = url.parse().map_err(|e| anyhow::anyhow!("collector url `{url}` is invalid: {e}"))?;
    let name = endpoint.server_name.clone().unwrap_or_else(|| uri.host().unwrap_or("localhost").to_string());
    let tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca)).identity(Identity::from_pem(cert, key)).domain_name(name);
    let channel =
        Channel::from_shared(url.to_string())?.tls_config(tls)?.connect().await.map_err(|e| anyhow::anyhow!("cannot reach the collector at {url}: {e}"))?;
    let new_key = rcgen::KeyPair::generate()?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(rcgen::DnType::CommonName, "custos-agent (set by the collector)");
    let csr = params.serialize_request(&new_key)?.pem()?;
    let resp = EnrollmentClient::new(channel)
        .renew(pb::RenewRequest { csr_pem: csr })
        .await
        .map_err(|s| anyhow::anyhow!("renewal refused: {}", s.message()))?
        .into_inner();
    let (agent_id, not_after) = crate::transport::certificate_identity(resp.certificate_pem.as_bytes())
        .ok_or_else(|| anyhow::anyhow!("the collector sent back something that is not a certificate"))?;
    // The key first: a crash between the two renames leaves a new key with the old certificate,
    // which the agent refuses at start-up with a clear error rather than using half a pair.
    replace(&endpoint.key, &new_key.serialize_pem(), true)?;
    replace(&endpoint.cert, &resp.certificate_pem, false)?;
    Ok(Renewed { agent_id, not_after })
}
