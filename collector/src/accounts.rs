//! Console accounts: local users with a role, login sessions, API tokens, login rate limiting.
//!
//! Users are created on the collector host (`custos-collector user add NAME --role ROLE`);
//! their passwords are hashed with Argon2id (PHC string, per-user salt). A login creates a
//! session: a random 256-bit token sent to the browser as a cookie and stored only as its
//! SHA-256, with its own CSRF token that every state-changing request must echo. Scripts use
//! API tokens (`custos-collector user token NAME`), also stored hashed and shown once.
//!
//! Failed logins are counted in the database over a window, so the limits hold across restarts
//! and across collectors sharing one database: [`MAX_LOGIN_FAILURES`] per (user name, client
//! address) pair — so that failures from elsewhere cannot lock the real user out — and
//! [`MAX_CLIENT_FAILURES`] per client address for any names (password spraying). An attempt is
//! *reserved* (counted as a failure) atomically before its password is checked, so concurrent
//! attempts cannot race past the limit; and the Argon2 checks running at once are bounded by a
//! memory budget ([`argon2_permits`]), so a burst of logins cannot take the collector's memory.
//!
//! Roles follow who decides what under the GDPR (see [`crate::incident`]):
//!
//! | permission            | dpo | security | viewer |
//! |-----------------------|-----|----------|--------|
//! | read incidents, findings, coverage, agents, KPIs | ✓ | ✓ | ✓ |
//! | triage an incident    |     | ✓        |        |
//! | assess, notify / not notifiable | ✓ |   |        |
//! | edit mutes            | ✓   |          |        |
//! | enrol / revoke agents |     | ✓        |        |
//! | read and export the audit trail | ✓ |   |        |

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use rand::RngCore;
use serde::Serialize;

/// How long a console session lasts (absolute, from login).
pub const SESSION_TTL_MS: i64 = 12 * 3_600_000;
/// The window over which failed logins are counted.
pub const LOGIN_WINDOW_MS: i64 = 15 * 60_000;
/// Failed logins allowed per (user name, client address) within the window.
pub const MAX_LOGIN_FAILURES: i64 = 5;
/// Failed logins allowed per client address, whatever the names, within the window.
pub const MAX_CLIENT_FAILURES: i64 = 20;
/// Memory one Argon2id check takes (KiB): the `argon2` crate's default parameters (m = 19 MiB,
/// t = 2, p = 1), which the stored hashes use.
pub const ARGON2_MEMORY_KIB: u32 = argon2::Params::DEFAULT_M_COST;
/// Memory the console's concurrent Argon2 checks may take together, by default (MiB).
pub const DEFAULT_ARGON2_BUDGET_MIB: u32 = 64;

/// How many Argon2 checks may run at once within `budget_mib` (at least one).
pub fn argon2_permits(budget_mib: u32) -> usize {
    ((u64::from(budget_mib) * 1024 / u64::from(ARGON2_MEMORY_KIB)) as usize).max(1)
}

/// The threads that run Argon2 (password checks and hashes), a fixed number of them.
///
/// Bounding how many checks run *at once* is not enough to bound memory: the allocator keeps
/// each thread's freed 19 MiB for that thread, so checks spread over the many threads of a
/// blocking pool leave 19 MiB resident on each (48 checks took 900 MiB, never given back). A
/// fixed set of threads, each reusing its own buffer, keeps the console's Argon2 memory at
/// threads × 19 MiB; checks beyond wait in the queue.
pub struct PasswordWorkers {
    jobs: std::sync::mpsc::Sender<Box<dyn FnOnce() + Send>>,
}

impl PasswordWorkers {
    /// Starts `threads` worker threads (at least one); they end when this is dropped.
    pub fn new(threads: usize) -> PasswordWorkers {
        let (jobs, queue) = std::sync::mpsc::channel::<Box<dyn FnOnce() + Send>>();
        let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
        for i in 0..threads.max(1) {
            let queue = queue.clone();
            let worker = move || {
                loop {
                    let job = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            };
            if let Err(e) = std::thread::Builder::new().name(format!("custos-argon2-{i}")).spawn(worker) {
                tracing::error!(error = %e, "cannot start a password-check thread");
            }
        }
        PasswordWorkers { jobs }
    }

    /// Runs `f` on a worker and waits for its result (`None` if no worker could run it).
    pub async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let (done, result) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = done.send(f());
            }))
            .ok()?;
        result.await.ok()
    }
}

/// What reserving a login attempt gave ([`crate::store::Store::reserve_login`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginReservation {
    /// A limit is reached: no password check; retry after this many seconds.
    Blocked {
        /// Seconds until the oldest counted failure leaves the window.
        retry_after_s: i64,
    },
    /// The attempt is recorded (as a failure until it succeeds) under this id.
    Reserved(i64),
}
/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// A console role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The Data Protection Officer: assesses incidents, decides on notification, edits mutes,
    /// reads the audit trail.
    Dpo,
    /// The security team: triages incidents, manages agents.
    Security,
    /// Reads everything the console shows except the audit trail; changes nothing.
    Viewer,
}

/// Something a role may or may not do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read incidents, evidence, findings, coverage, agents and KPIs.
    Read,
    /// Move a new incident to `triaged`.
    Triage,
    /// Move a triaged incident to `assessed`.
    Assess,
    /// Close an assessed incident as `notified` or `not_notifiable`.
    Decide,
    /// Mute or unmute a rule for a system.
    EditMutes,
    /// Issue enrolment tokens and revoke agents.
    ManageAgents,
    /// Read and export the audit trail.
    ReadAudit,
    /// Look a person up by fingerprint and record erasures (subject requests, Art. 15 and 17).
    SubjectRequests,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 3] = [Role::Dpo, Role::Security, Role::Viewer];

    /// Name as stored and typed.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Dpo => "dpo",
            Role::Security => "security",
            Role::Viewer => "viewer",
        }
    }

    /// Parses [`Role::as_str`].
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether the role grants the permission (the table in the module docs).
    pub fn may(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Dpo => matches!(p, Read | Assess | Decide | EditMutes | ReadAudit | SubjectRequests),
            Role::Security => matches!(p, Read | Triage | ManageAgents),
            Role::Viewer => matches!(p, Read),
        }
    }
}

/// An authenticated console user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Login name.
    pub name: String,
    /// Role.
    pub role: Role,
}

/// A user as `custos-collector user list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct UserEntry {
    /// Login name.
    pub name: String,
    /// Role.
    pub role: String,
    /// Created at (ms).
    pub created_at_ms: i64,
}

/// A session just opened by a login.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The cookie value (never stored; only its hash is).
    pub token: String,
    /// The CSRF token the browser must echo in `X-CSRF-Token`.
    pub csrf: String,
    /// Expiry (ms).
    pub expires_at_ms: i64,
}

/// A live session.
#[derive(Debug, Clone)]
pub struct Session {
    /// Whose.
    pub user: User,
    /// Its CSRF token.
    pub csrf: String,
}

/// Why a user name or password is refused (the message says what is accepted).
pub fn check_user_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 64 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b)) {
        return Err(format!("user name `{name}`: use 1-64 letters, digits, '-', '_', '.' or '@'"));
    }
    Ok(())
}

/// Checks the password policy.
pub fn check_password(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!("the password must have at least {MIN_PASSWORD_CHARS} characters"));
    }
    Ok(())
}

/// The Argon2id hash of a password that meets the policy; the error says why it is refused.
pub fn checked_hash(password: &str) -> Result<String, String> {
    check_password(password)?;
    hash_password(password)
}

/// Argon2id hash (PHC string) of a password, with a fresh salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| format!("cannot make a salt: {e}"))?;
    argon2::Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| format!("cannot hash the password: {e}"))
}

/// Whether `password` matches the PHC `hash`. A malformed hash never matches.
///
/// The Argon2 memory (19 MiB with the default parameters) is the calling thread's own buffer,
/// allocated at its first check and reused by the next ones: the console checks passwords on a
/// fixed set of threads ([`PasswordWorkers`]), so this memory is allocated once per thread.
/// Allocating it afresh for each check (what `Argon2::verify_password` does) left each freed
/// buffer resident: RSS grew by 19 MiB per login and was never given back.
pub fn verify_password(hash: &str, password: &str) -> bool {
    thread_local! {
        static MEMORY: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let Ok(h) = PasswordHash::new(hash) else { return false };
    let (Some(salt), Some(expected)) = (h.salt, h.hash) else { return false };
    let Ok(algorithm) = argon2::Algorithm::try_from(h.algorithm) else { return false };
    let version = match h.version.map(argon2::Version::try_from) {
        None => argon2::Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = argon2::Params::try_from(&h) else { return false };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else { return false };
    let mut out = vec![0u8; expected.len()];
    let blocks = params.block_count();
    let hashed = MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        if memory.len() < blocks {
            memory.resize(blocks, argon2::Block::default());
        }
        argon2::Argon2::new(algorithm, version, params).hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut memory[..blocks]).is_ok()
    });
    // Compared whole, in constant time.
    hashed && out.len() == expected.len() && out.iter().zip(expected.as_bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// A hash to verify against when the user does not exist, so that an unknown name takes as
/// long to refuse as a wrong password (no user enumeration by timing).
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("custos-decoy-password").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("c.db")).unwrap();
        (dir, s)
    }

    #[test]
    fn roles_grant_what_the_gdpr_workflow_assigns_them() {
        assert!(Role::Security.may(Permission::Triage) && !Role::Dpo.may(Permission::Triage));
        assert!(Role::Dpo.may(Permission::Assess) && !Role::Security.may(Permission::Assess));
        assert!(Role::Dpo.may(Permission::ReadAudit) && !Role::Security.may(Permission::ReadAudit));
        assert!(Role::Security.may(Permission::ManageAgents) && !Role::Dpo.may(Permission::ManageAgents));
        for p in [Permission::Triage, Permission::Assess, Permission::Decide, Permission::EditMutes, Permission::ManageAgents, Permission::ReadAudit] {
            assert!(!Role::Viewer.may(p), "viewer may not {p:?}");
        }
        assert!(Role::ALL.iter().all(|r| r.may(Permission::Read)));
    }

    #[test]
    fn passwords_are_stored_as_argon2id_hashes_and_verified() {
        let (_d, mut s) = store();
        s.add_user("alice", Role::Dpo, "correct horse battery", "cli", 0).unwrap().unwrap();
        let (user, hash) = s.credentials("alice").unwrap().unwrap();
        assert_eq!(user.role, Role::Dpo);
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains("correct horse"));
        assert!(verify_password(&hash, "correct horse battery"));
        assert!(!verify_password(&hash, "correct horse batterY"));
        assert!(!verify_password("not a hash", "x"));
    }

    #[test]
    fn weak_passwords_bad_names_and_duplicates_are_refused_with_a_reason() {
        let (_d, mut s) = store();
        assert!(s.add_user("bob", Role::Viewer, "short", "cli", 0).unwrap().unwrap_err().contains("at least 12"));
        assert!(s.add_user("bob smith", Role::Viewer, "long enough password", "cli", 0).unwrap().unwrap_err().contains("user name"));
        s.add_user("bob", Role::Viewer, "long enough password", "cli", 0).unwrap().unwrap();
        assert!(s.add_user("bob", Role::Dpo, "long enough password", "cli", 0).unwrap().unwrap_err().contains("already exists"));
    }

    fn reserve(s: &mut Store, name: &str, client: &str, now: i64) -> Option<i64> {
        match s.reserve_login(name, client, now).unwrap() {
            LoginReservation::Reserved(id) => Some(id),
            LoginReservation::Blocked { .. } => None,
        }
    }

    #[test]
    fn sessions_expire_and_end_at_logout() {
        let (_d, mut s) = store();
        s.add_user("carol", Role::Security, "long enough password", "cli", 0).unwrap().unwrap();
        let user = s.credentials("carol").unwrap().unwrap().0;
        let attempt = reserve(&mut s, "carol", "127.0.0.1", 1_000).unwrap();
        let new = s.finish_login(attempt, "127.0.0.1", Some(&user), 1_000).unwrap().unwrap();
        let live = s.session(&new.token, 2_000).unwrap().unwrap();
        assert_eq!(live.user, user);
        assert_eq!(live.csrf, new.csrf);
        assert!(s.session(&new.token, 1_000 + SESSION_TTL_MS + 1).unwrap().is_none(), "expired");
        assert!(s.session("forged", 2_000).unwrap().is_none());
        s.logout(&new.token, "carol", 3_000).unwrap();
        assert!(s.session(&new.token, 3_001).unwrap().is_none(), "logged out");
    }

    #[test]
    fn failures_block_the_name_from_that_client_only_and_the_client_for_any_name() {
        let (_d, mut s) = store();
        for i in 0..MAX_LOGIN_FAILURES {
            assert!(reserve(&mut s, "dave", "10.0.0.1", 1_000 + i).is_some(), "attempt {i}");
        }
        assert!(reserve(&mut s, "dave", "10.0.0.1", 2_000).is_none(), "the pair is blocked");
        assert!(reserve(&mut s, "dave", "10.0.0.9", 2_000).is_some(), "failures from elsewhere do not lock the real user out");
        for i in 0..MAX_CLIENT_FAILURES {
            reserve(&mut s, &format!("user{i}"), "10.0.0.66", 3_000 + i);
        }
        assert!(reserve(&mut s, "erin", "10.0.0.66", 4_000).is_none(), "a spraying client is blocked for any name");
        assert!(reserve(&mut s, "dave", "10.0.0.1", 1_005 + LOGIN_WINDOW_MS).is_some(), "the window passed");
    }

    #[test]
    fn a_reserved_attempt_counts_as_a_failure_until_it_succeeds() {
        let (_d, mut s) = store();
        s.add_user("frank", Role::Viewer, "long enough password", "cli", 0).unwrap().unwrap();
        let user = s.credentials("frank").unwrap().unwrap().0;
        // Reservations made before any password check: the limit holds however many race.
        let ids: Vec<i64> = (0..MAX_LOGIN_FAILURES).map(|i| reserve(&mut s, "frank", "10.0.0.2", 1_000 + i).unwrap()).collect();
        assert!(reserve(&mut s, "frank", "10.0.0.2", 1_010).is_none());
        // One of them was the right password: it no longer counts, and one more may try.
        s.finish_login(ids[0], "10.0.0.2", Some(&user), 1_011).unwrap().unwrap();
        assert!(reserve(&mut s, "frank", "10.0.0.2", 1_012).is_some());
    }

    #[tokio::test]
    async fn password_work_runs_on_the_fixed_workers() {
        let workers = PasswordWorkers::new(2);
        let names: Vec<String> = futures_join(&workers).await;
        assert!(names.iter().all(|n| n.starts_with("custos-argon2-")), "{names:?}");
    }

    async fn futures_join(workers: &PasswordWorkers) -> Vec<String> {
        let mut out = Vec::new();
        for _ in 0..4 {
            out.push(workers.run(|| std::thread::current().name().unwrap_or("").to_string()).await.unwrap());
        }
        out
    }

    #[test]
    fn the_argon2_budget_bounds_concurrent_checks() {
        assert_eq!(ARGON2_MEMORY_KIB, 19 * 1024);
        assert_eq!(argon2_permits(64), 3);
        assert_eq!(argon2_permits(1), 1, "always one");
    }

    #[test]
    fn api_tokens_authenticate_their_user_until_the_user_is_removed() {
        let (_d, mut s) = store();
        s.add_user("ci", Role::Viewer, "long enough password", "cli", 0).unwrap().unwrap();
        assert!(s.issue_api_token("nobody", "x", "cli", 0).unwrap().is_err());
        let token = s.issue_api_token("ci", "nightly export", "cli", 0).unwrap().unwrap();
        assert_eq!(s.api_token_user(&token, 1).unwrap().unwrap().name, "ci");
        assert!(s.api_token_user("custos_bad", 1).unwrap().is_none());
        assert!(s.remove_user("ci", "cli", 2).unwrap());
        assert!(s.api_token_user(&token, 3).unwrap().is_none());
    }
}
