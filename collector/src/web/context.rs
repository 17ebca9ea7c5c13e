//! What the console's handlers share: the collector's state, the caller's address, the error
//! every handler answers with, and the way to reach the (synchronous) store from async code.

use crate::state::Collector;
use crate::store::{Store, StoreError};
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;

/// What the handlers share.
pub struct Web {
    /// Store, register and incident events.
    pub collector: Arc<Collector>,
    /// Whether the console is served over HTTPS (then cookies are also marked Secure for the
    /// browser's sake; on loopback HTTP, browsers accept Secure cookies from `localhost` only).
    pub https: bool,
    /// The threads that run Argon2: as many as the budget (`[web] argon2_budget_mib`) allows,
    /// so their memory stays within it however many logins arrive together.
    pub passwords: crate::accounts::PasswordWorkers,
}

impl Web {
    /// The console's shared state, with `argon2_budget_mib` of memory for password checks.
    pub fn new(collector: Arc<Collector>, https: bool, argon2_budget_mib: u32) -> Web {
        Web { collector, https, passwords: crate::accounts::PasswordWorkers::new(crate::accounts::argon2_permits(argon2_budget_mib)) }
    }
}

/// The client's address, for login rate limiting and the audit trail.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// An API error: a status and a message for the user (never a personal value).
#[derive(Debug)]
pub struct ApiError {
    pub(super) status: StatusCode,
    pub(super) message: String,
}

impl ApiError {
    /// An error with a status and a message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError { status, message: message.into() }
    }

    /// A 500 whose details went to the log.
    pub fn internal(what: &str) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("{what}; see the collector log"))
    }

    pub(super) fn not_found(what: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, what)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        if e.is_bad_text() {
            return ApiError::new(StatusCode::BAD_REQUEST, "text with a NUL character is not accepted");
        }
        tracing::error!(error = %e, "web console: store error");
        ApiError::internal("the store failed")
    }
}

/// Runs `f` on the store on a blocking thread (the store is synchronous and behind a lock
/// that ingestion also takes).
pub async fn blocking<T: Send + 'static>(web: &Arc<Web>, f: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static) -> Result<T, ApiError> {
    let collector = web.collector.clone();
    tokio::task::spawn_blocking(move || collector.with_store(f)).await.map_err(|_| ApiError::internal("a store task failed"))?.map_err(ApiError::from)
}
