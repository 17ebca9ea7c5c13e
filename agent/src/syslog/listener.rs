//! The listeners: UDP, TCP and TLS sockets that cut what senders write into messages and
//! queue them for the scanner thread, in bounded memory whatever the senders do.
//!
//! The queue between the listeners and the scanner is bounded ([`QUEUE_MESSAGES`]). When it is
//! full (the scanner is behind, or the spool is full and blocks it):
//! - a **TCP/TLS** connection waits to queue its message and reads nothing meanwhile: the
//!   kernel's receive buffer fills, TCP flow control stops the sender (back-pressure, nothing
//!   lost);
//! - a **UDP** datagram cannot be held back: it is dropped and counted
//!   (`custos_agent_syslog_dropped_total{reason="queue_full"}`).
//!
//! A connection holds at most `max_message_bytes` plus one read ([`super::frame`]); at most
//! `max_connections` are open per listener (one more is closed at once, counted); one silent
//! for `idle_timeout_s` is closed; a TLS handshake has [`HANDSHAKE_TIMEOUT`]. So the memory of
//! the receiver is bounded by `(QUEUE_MESSAGES + Σ max_connections + 1) × max_message_bytes`.

use super::config::{SyslogSource, Transport};
use super::counters::SyslogMetrics;
use super::frame::{Frame, Framer};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Semaphore, mpsc, watch};

/// Messages queued for the scanner at most.
pub const QUEUE_MESSAGES: usize = 512;
/// A TLS handshake not done in this time is given up.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes read from a connection at once.
const READ_CHUNK: usize = 16 << 10;

/// A message as received, before it is read.
#[derive(Debug)]
pub struct Received {
    /// The message (at most `max_message_bytes`), without framing.
    pub bytes: Vec<u8>,
    /// The sender's address (its host name when the message gives none).
    pub peer: IpAddr,
}

/// A listener bound to its socket, not serving yet.
pub struct Bound {
    source: Arc<SyslogSource>,
    transport: Transport,
    socket: Socket,
}

enum Socket {
    Udp(tokio::net::UdpSocket),
    Stream(tokio::net::TcpListener, Option<tokio_rustls::TlsAcceptor>),
}

impl Bound {
    /// Binds the socket of `source` (and loads its TLS material): errors name the listener and
    /// say what to do.
    pub async fn bind(source: &SyslogSource) -> anyhow::Result<Bound> {
        let (transport, addr) = source.endpoint().map_err(anyhow::Error::msg)?;
        let cannot = |e: std::io::Error| {
            anyhow::anyhow!("syslog listener {}: cannot listen on {addr}: {e} (is the port taken, or below 1024 without the right?)", source.listen)
        };
        let socket = match transport {
            Transport::Udp => Socket::Udp(tokio::net::UdpSocket::bind(addr).await.map_err(cannot)?),
            Transport::Tcp => Socket::Stream(tokio::net::TcpListener::bind(addr).await.map_err(cannot)?, None),
            Transport::Tls => {
                let acceptor = tls_acceptor(source)?;
                Socket::Stream(tokio::net::TcpListener::bind(addr).await.map_err(cannot)?, Some(acceptor))
            }
        };
        Ok(Bound { source: Arc::new(source.clone()), transport, socket })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        match &self.socket {
            Socket::Udp(s) => s.local_addr(),
            Socket::Stream(l, _) => l.local_addr(),
        }
    }

    /// Serves until `shutdown` turns true; queues messages on `tx`.
    pub async fn serve(self, tx: mpsc::Sender<Received>, metrics: SyslogMetrics, shutdown: watch::Receiver<bool>) {
        let local = self.local_addr().map(|a| a.to_string()).unwrap_or_default();
        tracing::info!(listen = %self.source.listen, %local, "syslog listener ready");
        match self.socket {
            Socket::Udp(socket) => serve_udp(socket, &self.source, tx, metrics, shutdown).await,
            Socket::Stream(listener, tls) => serve_streams(listener, tls, self.source, self.transport, tx, metrics, shutdown).await,
        }
    }
}

fn tls_acceptor(source: &SyslogSource) -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    use tokio_rustls::rustls;
    let read = |p: &std::path::Path| std::fs::read(p).map_err(|e| anyhow::anyhow!("syslog listener {}: cannot read {}: {e}", source.listen, p.display()));
    let (Some(cert), Some(key)) = (&source.cert, &source.key) else {
        anyhow::bail!("syslog listener {}: a tls:// listener needs `cert` and `key`", source.listen)
    };
    let certs = rustls_pemfile::certs(&mut read(cert)?.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("{}: bad certificate PEM: {e}", cert.display()))?;
    if certs.is_empty() {
        anyhow::bail!("{}: no certificate found (expected PEM `BEGIN CERTIFICATE`)", cert.display());
    }
    let key_der = rustls_pemfile::private_key(&mut read(key)?.as_slice())
        .map_err(|e| anyhow::anyhow!("{}: bad key PEM: {e}", key.display()))?
        .ok_or_else(|| anyhow::anyhow!("{}: no private key found", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions()?;
    let builder = match &source.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in rustls_pemfile::certs(&mut read(ca)?.as_slice()) {
                let c = c.map_err(|e| anyhow::anyhow!("{}: bad CA PEM: {e}", ca.display()))?;
                roots.add(c).map_err(|e| anyhow::anyhow!("{}: unusable CA certificate: {e}", ca.display()))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| anyhow::anyhow!("{}: cannot verify clients with it: {e}", ca.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder.with_single_cert(certs, key_der).map_err(|e| anyhow::anyhow!("{}: certificate and key do not match: {e}", cert.display()))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// `true` once `shutdown` says so (or its sender is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}

async fn serve_udp(
    socket: tokio::net::UdpSocket,
    source: &SyslogSource,
    tx: mpsc::Sender<Received>,
    metrics: SyslogMetrics,
    mut shutdown: watch::Receiver<bool>,
) {
    // A datagram is at most 65,535 bytes; what is beyond `max_message_bytes` is cut.
    let mut buf = vec![0u8; 65_536];
    loop {
        let (n, peer) = tokio::select! {
            r = socket.recv_from(&mut buf) => match r {
                Ok(r) => r,
                Err(e) => {
                    // ICMP errors and the like: the socket still works.
                    tracing::debug!(error = %e, "syslog UDP receive error");
                    continue;
                }
            },
            _ = stopped(&mut shutdown) => return,
        };
        SyslogMetrics::inc(&metrics.received, "transport", "udp");
        let mut msg = &buf[..n];
        while let [rest @ .., b'\n' | b'\r' | 0] = msg {
            msg = rest;
        }
        if msg.len() > source.max_message_bytes {
            metrics.truncated.inc();
            msg = &msg[..source.max_message_bytes];
        }
        if msg.is_empty() {
            continue;
        }
        match tx.try_send(Received { bytes: msg.to_vec(), peer: peer.ip().to_canonical() }) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => SyslogMetrics::inc(&metrics.dropped, "reason", "queue_full"),
            Err(mpsc::error::TrySendError::Closed(_)) => return,
        }
    }
}

async fn serve_streams(
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    source: Arc<SyslogSource>,
    transport: Transport,
    tx: mpsc::Sender<Received>,
    metrics: SyslogMetrics,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(source.max_connections));
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(r) => r,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(listen = %source.listen, error = %e, "syslog listener cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stopped(&mut shutdown) => return,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            SyslogMetrics::inc(&metrics.connections_closed, "reason", "limit");
            drop(stream);
            continue;
        };
        let (tls, source, tx, metrics, shutdown) = (tls.clone(), source.clone(), tx.clone(), metrics.clone(), shutdown.clone());
        tokio::spawn(async move {
            metrics.connections.inc();
            let peer = peer.ip().to_canonical();
            match tls {
                None => read_stream(stream, peer, &source, transport, &tx, &metrics, shutdown).await,
                Some(acceptor) => match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(s)) => read_stream(s, peer, &source, transport, &tx, &metrics, shutdown).await,
                    Ok(Err(e)) => {
                        SyslogMetrics::inc(&metrics.connections_closed, "reason", "tls");
                        tracing::debug!(error = %e, "syslog TLS handshake failed");
                    }
                    Err(_) => SyslogMetrics::inc(&metrics.connections_closed, "reason", "tls"),
                },
            }
            metrics.connections.dec();
            drop(slot);
        });
    }
}

/// Reads one connection to its end: frames, queues (waiting while the queue is full, which is
/// the back-pressure), closes it when idle.
async fn read_stream<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    peer: IpAddr,
    source: &SyslogSource,
    transport: Transport,
    tx: &mpsc::Sender<Received>,
    metrics: &SyslogMetrics,
    mut shutdown: watch::Receiver<bool>,
) {
    let idle = Duration::from_secs(source.idle_timeout_s);
    let mut framer = Framer::new(source.max_message_bytes);
    let mut buf = vec![0u8; READ_CHUNK];
    let mut frames: Vec<Frame> = Vec::new();
    loop {
        let read = tokio::select! {
            r = tokio::time::timeout(idle, stream.read(&mut buf)) => r,
            _ = stopped(&mut shutdown) => return,
        };
        let end = match read {
            Err(_) => {
                SyslogMetrics::inc(&metrics.connections_closed, "reason", "idle");
                return;
            }
            Ok(Err(_)) => {
                SyslogMetrics::inc(&metrics.connections_closed, "reason", "error");
                true
            }
            Ok(Ok(0)) => true,
            Ok(Ok(n)) => {
                framer.push(&buf[..n], &mut frames);
                false
            }
        };
        if end {
            framer.finish(&mut frames);
        }
        for f in frames.drain(..) {
            SyslogMetrics::inc(&metrics.received, "transport", transport.as_str());
            if f.truncated {
                metrics.truncated.inc();
            }
            if f.bytes.is_empty() {
                continue;
            }
            // Waits while the queue is full: this connection is not read meanwhile.
            if tx.send(Received { bytes: f.bytes, peer }).await.is_err() {
                return;
            }
        }
        if end {
            // A clean close (TLS: the close_notify the sender waits for).
            let _ = stream.shutdown().await;
            return;
        }
    }
}
