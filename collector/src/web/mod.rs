//! The DPO and security console: a JSON API under `/api/v1` and the pages that use it, served
//! by the collector itself (axum), with everything embedded — no CDN, no web fonts — so it
//! works on an isolated network.
//!
//! Requests flow through three layers, each in its own module, over what they share
//! ([`context`]: the state, the caller's address, the error type, the store on a blocking
//! thread):
//! - [`auth`] turns a request into a [`auth::Caller`] (session cookie + CSRF token, or an API
//!   token) or refuses it; every handler then asks for the [`Permission`] it needs, so the
//!   server enforces roles on every endpoint, not only the pages;
//! - [`api`] reads and changes the store through the same methods as the command line, and
//!   writes every login, evidence view and change to the audit trail;
//! - this module wires the routes, the security headers, the static pages and the listener
//!   (plain HTTP on loopback, HTTPS with the collector's certificate elsewhere).
//!
//! The OpenAPI document (`/api/v1/openapi.json`) is written by `scripts/openapi.py`; a test
//! checks that it lists exactly the routes served.
//!
//! [`Permission`]: crate::accounts::Permission

pub mod api;
pub mod auth;
pub mod context;
pub mod decisions;
pub mod present;
pub mod subjects;

use crate::config::TlsFiles;
use crate::state::Collector;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use context::{PeerAddr, Web};
use std::net::SocketAddr;
use std::sync::Arc;

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

/// The whole console: pages, assets and API, with security headers on every response.
pub fn router(web: Arc<Web>) -> Router {
    let https = web.https;
    let api = api::routes().layer(axum::middleware::map_response(json_errors)).layer(axum::middleware::from_fn(refuse_nul));
    Router::new()
        .route("/", get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }))
        .route("/app.js", get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }))
        .route("/app.css", get(|| async { asset("text/css; charset=utf-8", APP_CSS) }))
        .nest("/api/v1", api)
        .with_state(web)
        .layer(axum::middleware::map_response(move |res: Response| security_headers(res, https)))
}

/// A NUL character in a path or a query parameter is refused with 400 before any handler:
/// PostgreSQL cannot compare text holding one (it answered 500), and no name, id or filter
/// of the console contains one.
async fn refuse_nul(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let target = req.uri().path_and_query().map_or("", |p| p.as_str());
    if target.to_ascii_lowercase().contains("%00") {
        return context::ApiError::new(axum::http::StatusCode::BAD_REQUEST, "a NUL character is not allowed in a path or a query").into_response();
    }
    next.run(req).await
}

/// Errors that axum's extractors answer in plain text (a malformed query or path: 400; a body
/// that is not JSON: 415; JSON of the wrong shape: 422; a method not served: 405) become the
/// API's documented `{"error": "…"}`, like every other error.
async fn json_errors(res: Response) -> Response {
    let plain = res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("text/plain"));
    if !(res.status().is_client_error() && plain) {
        return res;
    }
    let (parts, body) = res.into_parts();
    let text = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(_) => parts.status.canonical_reason().unwrap_or("bad request").to_string(),
    };
    let mut json = context::ApiError::new(parts.status, text).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            json.headers_mut().insert(name, value.clone());
        }
    }
    json
}

async fn security_headers(mut res: Response, https: bool) -> Response {
    let h = res.headers_mut();
    if https {
        // Browsers that reached the console over HTTPS once never try plain HTTP again.
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    // Scripts and styles come only from the console itself: an injected string cannot run.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    res
}

/// Serves the console on `listen` until `shutdown` resolves: plain HTTP on a loopback address,
/// HTTPS with the collector's certificate anywhere else.
pub async fn serve(
    listen: SocketAddr,
    tls: TlsFiles,
    collector: Arc<Collector>,
    argon2_budget_mib: u32,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let tcp = tokio::net::TcpListener::bind(listen).await.map_err(|e| anyhow::anyhow!("web console: cannot listen on {listen}: {e}"))?;
    let local = tcp.local_addr()?;
    let https = !listen.ip().is_loopback();
    let app = router(Arc::new(Web::new(collector, https, argon2_budget_mib))).into_make_service_with_connect_info::<PeerAddr>();
    if https {
        let acceptor = tls_acceptor(&tls)?;
        tracing::info!(url = %format!("https://{local}/"), "web console ready (HTTPS)");
        axum::serve(TlsListener::new(tcp, acceptor), app).with_graceful_shutdown(shutdown).await?;
    } else {
        tracing::info!(url = %format!("http://{local}/"), "web console ready (loopback HTTP)");
        axum::serve(tcp, app).with_graceful_shutdown(shutdown).await?;
    }
    Ok(())
}

fn tls_acceptor(files: &TlsFiles) -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    let read = |p: &std::path::Path| std::fs::read(p).map_err(|e| anyhow::anyhow!("{}: cannot read TLS file for the web console: {e}", p.display()));
    let certs = rustls_pemfile::certs(&mut read(&files.cert)?.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("{}: bad certificate PEM: {e}", files.cert.display()))?;
    let key = rustls_pemfile::private_key(&mut read(&files.key)?.as_slice())
        .map_err(|e| anyhow::anyhow!("{}: bad key PEM: {e}", files.key.display()))?
        .ok_or_else(|| anyhow::anyhow!("{}: no private key found", files.key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| anyhow::anyhow!("{}: certificate and key do not match: {e}", files.cert.display()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, tokio::net::TcpListener>> for PeerAddr {
    fn connect_info(stream: axum::serve::IncomingStream<'_, tokio::net::TcpListener>) -> PeerAddr {
        PeerAddr(*stream.remote_addr())
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TlsListener>> for PeerAddr {
    fn connect_info(stream: axum::serve::IncomingStream<'_, TlsListener>) -> PeerAddr {
        PeerAddr(*stream.remote_addr())
    }
}

/// A listener that yields TLS streams whose handshake is done. Handshakes run in their own
/// tasks with a deadline, so a slow or silent client cannot hold up the others.
pub struct TlsListener {
    ready: tokio::sync::mpsc::Receiver<(tokio_rustls::server::TlsStream<tokio::net::TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    fn new(tcp: tokio::net::TcpListener, acceptor: tokio_rustls::TlsAcceptor) -> TlsListener {
        let local = tcp.local_addr().unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let (tx, ready) = tokio::sync::mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let (stream, peer) = match tcp.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "web console: accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "web console: TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "web console: TLS handshake timed out"),
                    }
                });
            }
        });
        TlsListener { ready, local }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The accept task ended: nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
