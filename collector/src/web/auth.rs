//! Who is calling: a session cookie (browsers) or an API token (scripts), and the checks that
//! go with each.
//!
//! - **Session cookie** `custos_session`: HttpOnly, SameSite=Strict, Secure, Path=/. Every
//!   state-changing request (anything but GET/HEAD) must also carry the session's CSRF token
//!   in `X-CSRF-Token`, and, when the browser sends an `Origin`, come from the console's own
//!   origin. A cross-site page can neither read the token nor make the browser send the cookie.
//! - **API token** `Authorization: Bearer custos_…`: not sent automatically by a browser, so no
//!   CSRF token is needed.
//! - **Login** is rate limited per (user name, client address) and per client address (see
//!   [`crate::accounts`]): the attempt is reserved atomically *before* the password is
//!   checked, and the Argon2 checks running at once are bounded by a memory budget; the check
//!   runs outside the store lock.

use super::context::{ApiError, PeerAddr, Web, blocking};
use crate::accounts::{self, LoginReservation, Permission, Session, User};
use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "custos_session";
/// The header carrying the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// An authenticated request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who.
    pub user: User,
    /// The session cookie's value, when authenticated by one (for logout).
    pub session_token: Option<String>,
    /// The session's CSRF token, when authenticated by a session.
    pub csrf: Option<String>,
}

impl Caller {
    /// Refuses with 403 unless the caller's role grants `p`.
    pub fn require(&self, p: Permission) -> Result<(), ApiError> {
        if self.user.role.may(p) {
            Ok(())
        } else {
            Err(ApiError::new(StatusCode::FORBIDDEN, format!("the {} role may not do this ({p:?})", self.user.role.as_str())))
        }
    }
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find_map(|(k, v)| (k == name).then_some(v))
}

/// Constant-time comparison, so the CSRF check leaks nothing through timing.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether a browser's `Origin` (when it sent one) is the console's own.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    origin.split_once("://").is_some_and(|(_, rest)| rest == host)
}

impl FromRequestParts<Arc<Web>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, web: &Arc<Web>) -> Result<Caller, ApiError> {
        let now = custos_proto::time::now_ms();
        if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
            let token = auth.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).map(str::trim).unwrap_or("").to_string();
            if token.is_empty() {
                return Err(ApiError::new(StatusCode::UNAUTHORIZED, "Authorization must be `Bearer <API token>`"));
            }
            let user = blocking(web, move |s| s.api_token_user(&token, now)).await?;
            return match user {
                Some(user) => Ok(Caller { user, session_token: None, csrf: None }),
                None => Err(ApiError::new(StatusCode::UNAUTHORIZED, "unknown API token")),
            };
        }
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE).map(str::to_string) else {
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, "log in first"));
        };
        let lookup = token.clone();
        let session: Option<Session> = blocking(web, move |s| s.session(&lookup, now)).await?;
        let Some(session) = session else {
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, "the session is unknown or expired; log in again"));
        };
        if !matches!(parts.method, Method::GET | Method::HEAD) {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
            if !same_secret(sent, &session.csrf) {
                return Err(ApiError::new(StatusCode::FORBIDDEN, "CSRF token missing or wrong: send the session's token in X-CSRF-Token"));
            }
            if !same_origin(&parts.headers) {
                return Err(ApiError::new(StatusCode::FORBIDDEN, "cross-origin request refused"));
            }
        }
        Ok(Caller { user: session.user, session_token: Some(token), csrf: Some(session.csrf) })
    }
}

/// Login form.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// User name.
    pub name: String,
    /// Password.
    pub password: String,
}

/// Password change form.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The password in use.
    pub current: String,
    /// The new one (the policy of `user add` applies).
    pub new: String,
}

/// The current session, as the pages need it.
#[derive(Debug, Serialize)]
pub struct SessionView {
    /// User name.
    pub user: String,
    /// Role.
    pub role: String,
    /// Token to echo in `X-CSRF-Token` (absent for API tokens).
    pub csrf: Option<String>,
}

/// What checking a user's password gave.
enum PasswordCheck {
    /// Too many failed logins for this user name from this client, or from this client: the
    /// answer to send (429).
    Blocked(Response),
    /// The reserved attempt's id, and the user when the password is theirs (`None` otherwise,
    /// or no such user).
    Checked(i64, Option<User>),
}

/// Checks `password` for `name` as a login does, for the login itself and for a password
/// change. First the attempt is reserved (checked against the limits and counted as a failure,
/// in one transaction), so concurrent attempts cannot race past the limit; then Argon2 (slow
/// and memory-hungry on purpose) runs on the console's fixed password workers, outside the
/// store lock and within the Argon2 memory budget; an unknown user is checked against a decoy hash so that timing
/// does not tell which names exist. Marking a success is the caller's part.
async fn check_password(web: &Arc<Web>, name: &str, client: &str, password: String, now: i64) -> Result<PasswordCheck, ApiError> {
    let (n, c) = (name.to_string(), client.to_string());
    let attempt = match blocking(web, move |s| s.reserve_login(&n, &c, now)).await? {
        LoginReservation::Blocked { retry_after_s } => {
            let mut res = ApiError::new(StatusCode::TOO_MANY_REQUESTS, format!("too many failed logins; try again in {retry_after_s} s")).into_response();
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s));
            return Ok(PasswordCheck::Blocked(res));
        }
        LoginReservation::Reserved(id) => id,
    };
    let n = name.to_string();
    let credentials = blocking(web, move |s| s.credentials(&n)).await?;
    let user = web
        .passwords
        .run(move || match credentials {
            Some((user, hash)) => accounts::verify_password(&hash, &password).then_some(user),
            None => {
                accounts::verify_password(accounts::decoy_hash(), &password);
                None
            }
        })
        .await
        .ok_or_else(|| ApiError::internal("password check failed"))?;
    Ok(PasswordCheck::Checked(attempt, user))
}

/// `Set-Cookie` value that removes the session cookie from the browser.
const CLEARED_SESSION_COOKIE: &str = "custos_session=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0";

/// `POST /session`: checks the password and opens a session (sets the cookie).
pub async fn login(
    State(web): State<Arc<Web>>,
    ConnectInfo(PeerAddr(peer)): ConnectInfo<PeerAddr>,
    headers: HeaderMap,
    Json(form): Json<Login>,
) -> Result<Response, ApiError> {
    if !same_origin(&headers) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "cross-origin login refused"));
    }
    let now = custos_proto::time::now_ms();
    let client = peer.ip().to_string();
    let name = form.name.trim().to_string();
    if accounts::check_user_name(&name).is_err() {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "wrong user name or password"));
    }
    let (attempt, user) = match check_password(&web, &name, &client, form.password, now).await? {
        PasswordCheck::Blocked(res) => return Ok(res),
        PasswordCheck::Checked(attempt, user) => (attempt, user),
    };
    let (c, u) = (client.clone(), user.clone());
    let session = blocking(&web, move |s| s.finish_login(attempt, &c, u.as_ref(), now)).await?;
    let (Some(user), Some(session)) = (user, session) else {
        tracing::info!(client = %client, "console login refused");
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "wrong user name or password"));
    };
    tracing::info!(user = %user.name, client = %client, "console login");
    let cookie = format!("{SESSION_COOKIE}={}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}", session.token, accounts::SESSION_TTL_MS / 1000);
    let body = SessionView { user: user.name, role: user.role.as_str().into(), csrf: Some(session.csrf) };
    let mut res = Json(body).into_response();
    res.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(|_| ApiError::internal("bad cookie"))?);
    Ok(res)
}

/// `POST /session/password`: the caller changes their own password. The current one is checked
/// like a login (a wrong one counts towards the login rate limit); on success every session of
/// the user ends, this one included, and the cookie is cleared. Only from a console session:
/// an API token is not the password's holder.
pub async fn change_password(
    State(web): State<Arc<Web>>,
    ConnectInfo(PeerAddr(peer)): ConnectInfo<PeerAddr>,
    caller: Caller,
    Json(form): Json<PasswordChange>,
) -> Result<Response, ApiError> {
    if caller.session_token.is_none() {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "change a password from a console session, not with an API token"));
    }
    let now = custos_proto::time::now_ms();
    let client = peer.ip().to_string();
    let name = caller.user.name.clone();
    let (attempt, ok) = match check_password(&web, &name, &client, form.current, now).await? {
        PasswordCheck::Blocked(res) => return Ok(res),
        PasswordCheck::Checked(attempt, user) => (attempt, user.is_some()),
    };
    if !ok {
        // The reserved attempt stays counted as a failure.
        return Err(ApiError::new(StatusCode::FORBIDDEN, "the current password is wrong"));
    }
    blocking(&web, move |s| s.login_succeeded(attempt)).await?;
    // Hashed on the password workers and outside the store lock, like the check above.
    let new = form.new;
    let hash = web
        .passwords
        .run(move || accounts::checked_hash(&new))
        .await
        .ok_or_else(|| ApiError::internal("password hashing failed"))?
        .map_err(|reason| ApiError::new(StatusCode::BAD_REQUEST, reason))?;
    let n = name.clone();
    blocking(&web, move |s| s.set_password_hash(&n, &hash, &n, now)).await?.map_err(|reason| ApiError::new(StatusCode::BAD_REQUEST, reason))?;
    tracing::info!(user = %name, client = %client, "console password changed");
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_static(CLEARED_SESSION_COOKIE));
    Ok(res)
}

/// `GET /session`: who is logged in (the pages call it at start).
pub async fn whoami(caller: Caller) -> Json<SessionView> {
    Json(SessionView { user: caller.user.name, role: caller.user.role.as_str().into(), csrf: caller.csrf })
}

/// `DELETE /session`: ends the session and clears the cookie.
pub async fn logout(State(web): State<Arc<Web>>, caller: Caller) -> Result<Response, ApiError> {
    if let Some(token) = caller.session_token.clone() {
        let user = caller.user.name.clone();
        blocking(&web, move |s| s.logout(&token, &user, custos_proto::time::now_ms())).await?;
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_static(CLEARED_SESSION_COOKIE));
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; custos_session=abc; b=2"));
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
    }

    #[test]
    fn origins_must_match_the_host_when_sent() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8443"));
        assert!(same_origin(&h), "no Origin: not a cross-site browser request");
        h.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8443"));
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&h));
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd") && !same_secret("abc", "ab") && !same_secret("", "a"));
    }
}
