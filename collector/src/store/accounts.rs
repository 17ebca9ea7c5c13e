//! Console accounts as stored: users (Argon2id hashes), sessions and API tokens (stored as
//! hashes only), login attempts (the rate limit, counted in the database so it holds across
//! restarts and collectors). The policy — roles, password rules, hashing — is
//! [`crate::accounts`]'s.

use super::Store;
use super::db::{Value, args};
use super::error::StoreError;
use crate::accounts::{
    LOGIN_WINDOW_MS, LoginReservation, MAX_CLIENT_FAILURES, MAX_LOGIN_FAILURES, NewSession, Role, SESSION_TTL_MS, Session, User, UserEntry, check_user_name,
    checked_hash,
};
use crate::secret;

impl Store {
    /// Creates a user; the error says why it is refused (bad name, weak password, exists).
    pub fn add_user(&mut self, name: &str, role: Role, password: &str, by: &str, now_ms: i64) -> Result<Result<(), String>, StoreError> {
        let hash = match check_user_name(name).and_then(|()| checked_hash(password)) {
            Ok(h) => h,
            Err(e) => return Ok(Err(e)),
        };
        self.atomically(|s| {
            let n = s.exec(
                "INSERT INTO users (name, role, password_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
                args![name, role.as_str(), hash.as_str(), now_ms],
            )?;
            if n == 0 {
                return Ok(Err(format!("user `{name}` already exists")));
            }
            s.record_audit(by, "user_add", name, &format!("role {}", role.as_str()), now_ms)?;
            Ok(Ok(()))
        })
    }

    /// Sets a new password for a user and ends their console sessions (a reset after a
    /// suspected compromise must log the old holder out); API tokens are kept. The error says
    /// why it is refused (weak password, no such user).
    pub fn set_password(&mut self, name: &str, password: &str, by: &str, now_ms: i64) -> Result<Result<(), String>, StoreError> {
        match checked_hash(password) {
            Ok(hash) => self.set_password_hash(name, &hash, by, now_ms),
            Err(e) => Ok(Err(e)),
        }
    }

    /// [`Store::set_password`] with the hash already made by [`checked_hash`] (the console
    /// hashes outside the store lock: Argon2 is slow on purpose).
    pub fn set_password_hash(&mut self, name: &str, hash: &str, by: &str, now_ms: i64) -> Result<Result<(), String>, StoreError> {
        self.atomically(|s| {
            if s.exec("UPDATE users SET password_hash = $1 WHERE name = $2", args![hash, name])? == 0 {
                return Ok(Err(format!("no user `{name}`")));
            }
            let ended = s.exec("DELETE FROM sessions WHERE user_name = $1", args![name])?;
            s.record_audit(by, "user_password", name, &format!("{ended} session(s) ended"), now_ms)?;
            Ok(Ok(()))
        })
    }

    /// Removes a user with their sessions and API tokens; returns whether there was one.
    pub fn remove_user(&mut self, name: &str, by: &str, now_ms: i64) -> Result<bool, StoreError> {
        self.atomically(|s| {
            s.exec("DELETE FROM sessions WHERE user_name = $1", args![name])?;
            s.exec("DELETE FROM api_tokens WHERE user_name = $1", args![name])?;
            let n = s.exec("DELETE FROM users WHERE name = $1", args![name])?;
            if n > 0 {
                s.record_audit(by, "user_remove", name, "", now_ms)?;
            }
            Ok(n > 0)
        })
    }

    /// Every user, by name.
    pub fn users(&self) -> Result<Vec<UserEntry>, StoreError> {
        self.rows("SELECT name, role, created_at FROM users ORDER BY name", &[])?
            .iter()
            .map(|r| Ok(UserEntry { name: r.text(0)?, role: r.text(1)?, created_at_ms: r.int(2)? }))
            .collect()
    }

    /// A user and their password hash, for a login check done outside the store lock.
    pub fn credentials(&self, name: &str) -> Result<Option<(User, String)>, StoreError> {
        let Some(r) = self.row("SELECT role, password_hash FROM users WHERE name = $1 AND disabled = 0", args![name])? else { return Ok(None) };
        let (role, hash) = (r.text(0)?, r.text(1)?);
        Ok(Role::parse(&role).map(|role| (User { name: name.to_string(), role }, hash)))
    }

    /// When failed logins within the window reached a limit — [`MAX_LOGIN_FAILURES`] for this
    /// user name *from this client*, or [`MAX_CLIENT_FAILURES`] from this client for any name —
    /// the seconds until the oldest of them leaves the window. A reserved attempt not yet
    /// known to have succeeded counts as a failure.
    pub fn login_blocked(&self, name: &str, client: &str, now_ms: i64) -> Result<Option<i64>, StoreError> {
        let since = now_ms - LOGIN_WINDOW_MS;
        let mut blocked = None;
        let pair = ("user_name = $1 AND client = $2 AND ok = 0 AND at > $3 ORDER BY at DESC LIMIT $4", vec![name.into(), client.into(), since.into()]);
        let any_name = ("client = $1 AND ok = 0 AND at > $2 ORDER BY at DESC LIMIT $3", vec![client.into(), since.into()]);
        for ((cond, mut params), limit) in [(pair, MAX_LOGIN_FAILURES), (any_name, MAX_CLIENT_FAILURES)] {
            params.push(Value::Int(limit));
            let Some(r) = self.row(&format!("SELECT COUNT(*), MIN(at) FROM (SELECT at FROM login_attempts WHERE {cond}) recent"), &params)? else {
                continue;
            };
            if r.int(0)? >= limit {
                let wait = (r.opt_int(1)?.unwrap_or(now_ms) + LOGIN_WINDOW_MS - now_ms).div_euclid(1000).max(1);
                blocked = Some(blocked.map_or(wait, |w: i64| w.max(wait)));
            }
        }
        Ok(blocked)
    }

    /// Reserves a login attempt *before* the password is checked: in one transaction, checks
    /// the limits and records the attempt as a failure, so that of any number of concurrent
    /// attempts only as many as the limit allows get to the (slow, memory-hungry) hash check.
    /// [`Store::login_succeeded`] turns the reservation into a success afterwards. On
    /// PostgreSQL the transaction holds an advisory lock, so collectors sharing the database
    /// reserve one at a time too (SQLite's write transaction already does).
    pub fn reserve_login(&mut self, name: &str, client: &str, now_ms: i64) -> Result<LoginReservation, StoreError> {
        self.atomically(|s| {
            s.advisory_lock(super::LOGIN_LOCK, false)?;
            s.exec("DELETE FROM login_attempts WHERE at < $1", args![now_ms - LOGIN_WINDOW_MS])?;
            if let Some(retry_after_s) = s.login_blocked(name, client, now_ms)? {
                return Ok(LoginReservation::Blocked { retry_after_s });
            }
            let id = s.int("INSERT INTO login_attempts (at, user_name, client, ok) VALUES ($1, $2, $3, 0) RETURNING id", args![now_ms, name, client])?;
            Ok(LoginReservation::Reserved(id))
        })
    }

    /// Marks a reserved attempt as a success (it no longer counts towards the limits).
    pub fn login_succeeded(&mut self, attempt: i64) -> Result<(), StoreError> {
        self.exec("UPDATE login_attempts SET ok = 1 WHERE id = $1", args![attempt])?;
        Ok(())
    }

    /// Ends a reserved login attempt: a failure stays counted; a success is marked, recorded in
    /// the audit trail and opens a session (expired sessions are pruned on the way).
    pub fn finish_login(&mut self, attempt: i64, client: &str, user: Option<&User>, now_ms: i64) -> Result<Option<NewSession>, StoreError> {
        let Some(u) = user else { return Ok(None) };
        self.atomically(|s| {
            s.login_succeeded(attempt)?;
            s.exec("DELETE FROM sessions WHERE expires_at < $1", args![now_ms])?;
            let new = NewSession { token: secret::new(), csrf: secret::new(), expires_at_ms: now_ms + SESSION_TTL_MS };
            s.exec(
                "INSERT INTO sessions (token_hash, user_name, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                args![secret::hash(&new.token), u.name.as_str(), new.csrf.as_str(), now_ms, new.expires_at_ms],
            )?;
            s.record_audit(&u.name, "login", &u.name, &format!("from {client}"), now_ms)?;
            Ok(Some(new))
        })
    }

    /// The live session behind a cookie value.
    pub fn session(&self, token: &str, now_ms: i64) -> Result<Option<Session>, StoreError> {
        let Some(r) = self.row(
            "SELECT u.name, u.role, s.csrf FROM sessions s JOIN users u ON u.name = s.user_name WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = 0",
            args![secret::hash(token), now_ms],
        )?
        else {
            return Ok(None);
        };
        let (name, role, csrf) = (r.text(0)?, r.text(1)?, r.text(2)?);
        Ok(Role::parse(&role).map(|role| Session { user: User { name, role }, csrf }))
    }

    /// Ends a session.
    pub fn logout(&mut self, token: &str, user: &str, now_ms: i64) -> Result<(), StoreError> {
        self.atomically(|s| {
            s.exec("DELETE FROM sessions WHERE token_hash = $1", args![secret::hash(token)])?;
            s.record_audit(user, "logout", user, "", now_ms)?;
            Ok(())
        })
    }

    /// Issues an API token for a user (printed once, stored hashed).
    pub fn issue_api_token(&mut self, user: &str, label: &str, by: &str, now_ms: i64) -> Result<Result<String, String>, StoreError> {
        if self.credentials(user)?.is_none() {
            return Ok(Err(format!("no user `{user}`; add it first with `custos-collector user add`")));
        }
        let token = format!("custos_{}", secret::new());
        self.atomically(|s| {
            s.exec(
                "INSERT INTO api_tokens (token_hash, user_name, label, created_at) VALUES ($1, $2, $3, $4)",
                args![secret::hash(&token), user, label, now_ms],
            )?;
            s.record_audit(by, "token_add", user, label, now_ms)?;
            Ok(())
        })?;
        Ok(Ok(token))
    }

    /// The user an API token belongs to (and notes its use).
    pub fn api_token_user(&mut self, token: &str, now_ms: i64) -> Result<Option<User>, StoreError> {
        let hash = secret::hash(token);
        let Some(r) = self.row(
            "SELECT u.name, u.role FROM api_tokens t JOIN users u ON u.name = t.user_name WHERE t.token_hash = $1 AND u.disabled = 0",
            args![hash.as_str()],
        )?
        else {
            return Ok(None);
        };
        self.exec("UPDATE api_tokens SET last_used = $2 WHERE token_hash = $1", args![hash.as_str(), now_ms])?;
        let (name, role) = (r.text(0)?, r.text(1)?);
        Ok(Role::parse(&role).map(|role| User { name, role }))
    }
}
