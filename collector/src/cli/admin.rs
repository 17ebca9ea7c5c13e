//! Administration on the command line: console users, agents (enrolment, revocation), mutes,
//! the register (import), the digest and coverage, the collector's own purge, the audit trail
//! and the notification outbox.

use super::args::UserAction;
use custos_collector::config::CollectorConfig;
use custos_collector::data_dir::{load_register, open_store, store_location};
use custos_collector::notify::Notifier;
use custos_collector::register::Register;
use custos_collector::store::Store;
use custos_collector::store::location::StoreLocation;
use custos_collector::views::{AuditEntry, NotificationView};
use std::path::PathBuf;

fn read_password(file: Option<PathBuf>) -> anyhow::Result<String> {
    use std::io::IsTerminal;
    let line = match file {
        Some(f) => std::fs::read_to_string(&f)
            .map_err(|e| anyhow::anyhow!("{}: cannot read the password file: {e}", f.display()))?
            .lines()
            .next()
            .unwrap_or("")
            .to_string(),
        None if std::io::stdin().is_terminal() => {
            let first = rpassword::prompt_password("password: ")?;
            if rpassword::prompt_password("again: ")? != first {
                anyhow::bail!("the two passwords differ");
            }
            first
        }
        None => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    Ok(line)
}

/// `user …`: console users and their API tokens.
pub(super) fn user(action: UserAction) -> anyhow::Result<()> {
    let by = "cli";
    match action {
        UserAction::Add { name, role, password_file, data_dir } => {
            let role = custos_collector::accounts::Role::parse(&role).ok_or_else(|| anyhow::anyhow!("--role `{role}`: use dpo, security or viewer"))?;
            custos_collector::accounts::check_user_name(&name).map_err(anyhow::Error::msg)?;
            let password = read_password(password_file)?;
            custos_collector::data_dir::create(&data_dir)?;
            let mut store = Store::open_location(&store_location(&data_dir)?)?;
            store.add_user(&name, role, &password, by, custos_proto::time::now_ms())?.map_err(anyhow::Error::msg)?;
            println!("user `{name}` added with role {}", role.as_str());
        }
        UserAction::List { data_dir } => {
            for u in open_store(&data_dir, false)?.users()? {
                println!("{:<24} {:<9} since {}", u.name, u.role, custos_collector::views::rfc3339(u.created_at_ms));
            }
        }
        UserAction::Passwd { name, password_file, data_dir } => {
            let password = read_password(password_file)?;
            open_store(&data_dir, true)?.set_password(&name, &password, by, custos_proto::time::now_ms())?.map_err(anyhow::Error::msg)?;
            println!("password of `{name}` changed; their sessions are ended");
        }
        UserAction::Remove { name, data_dir } => {
            if open_store(&data_dir, true)?.remove_user(&name, by, custos_proto::time::now_ms())? {
                println!("user `{name}` removed");
            } else {
                anyhow::bail!("no user `{name}`");
            }
        }
        UserAction::Token { name, label, data_dir } => {
            let token = open_store(&data_dir, true)?.issue_api_token(&name, &label, by, custos_proto::time::now_ms())?.map_err(anyhow::Error::msg)?;
            eprintln!("API token for `{name}` ({label}), shown once; send it as `Authorization: Bearer <token>`:");
            println!("{token}");
        }
    }
    Ok(())
}

fn valid_agent_id(id: &str) -> anyhow::Result<()> {
    custos_collector::enrollment::check_agent_id(id).map_err(anyhow::Error::msg)
}

/// `enroll`: a one-time enrolment token for an agent.
pub(super) fn enroll(agent_id: String, data_dir: PathBuf, ttl_seconds: i64) -> anyhow::Result<()> {
    valid_agent_id(&agent_id)?;
    if ttl_seconds <= 0 {
        anyhow::bail!("--ttl-seconds must be positive");
    }
    custos_collector::data_dir::create(&data_dir)?;
    let mut store = Store::open_location(&store_location(&data_dir)?)?;
    let token = store.issue_enrollment_token(&agent_id, custos_proto::time::now_ms(), ttl_seconds.saturating_mul(1000))?;
    store.record_audit("cli", "enroll_agent", &agent_id, &format!("token valid {ttl_seconds} s"), custos_proto::time::now_ms())?;
    eprintln!("one-time token for agent `{agent_id}`, valid {ttl_seconds} s; on the agent host run:");
    eprintln!("  custos-agent enroll --collector https://COLLECTOR:PORT --token <token> --ca ca.pem");
    println!("{token}");
    Ok(())
}

/// `revoke`: refuse an agent from now on.
pub(super) fn revoke(agent_id: String, data_dir: PathBuf, reason: String) -> anyhow::Result<()> {
    valid_agent_id(&agent_id)?;
    let mut store = match store_location(&data_dir)? {
        StoreLocation::Sqlite(db) if !db.is_file() => anyhow::bail!("{}: no database; pass the collector's --data-dir", db.display()),
        location => Store::open_location(&location)?,
    };
    let newly = store.revoke_agent(&agent_id, &reason, custos_proto::time::now_ms())?;
    store.record_audit("cli", "revoke_agent", &agent_id, &reason, custos_proto::time::now_ms())?;
    if newly {
        println!("agent `{agent_id}` revoked");
    } else {
        println!("agent `{agent_id}` was already revoked");
    }
    Ok(())
}

/// `register import`: a register (typically XLSX or CSV) as native TOML.
pub(super) fn register_import(file: &std::path::Path, output: &std::path::Path) -> anyhow::Result<()> {
    let model = custos_collector::register::check_file(file)?;
    let text = custos_collector::register::table::to_toml(&model).map_err(|e| anyhow::anyhow!("cannot render TOML: {e}"))?;
    std::fs::write(output, text).map_err(|e| anyhow::anyhow!("{}: {e}", output.display()))?;
    // What we wrote must load back.
    Register::load(output)?;
    println!("{} processing activities written to {}", model.activities.len(), output.display());
    Ok(())
}

/// `register suggest`: TOML for the undeclared stores (parsed back before it is printed) and
/// hints about declared systems never seen.
pub(super) fn register_suggest(data_dir: PathBuf, register: Option<PathBuf>) -> anyhow::Result<()> {
    let register = load_register(&data_dir, register)?;
    let store = open_store(&data_dir, false)?;
    let s = custos_collector::suggest::suggest(&store, &register)?;
    if s.stores == 0 {
        println!("# no undeclared store: every place agents found personal data in is covered by {}", register.source);
    } else {
        println!("# {} undeclared store(s): complete the TODOs and add these entries to {}\n", s.stores, register.source);
        print!("{}", s.toml);
    }
    for h in &s.hints {
        println!("# {h}");
    }
    for r in &s.recipients {
        println!("# {r}");
    }
    Ok(())
}

/// `digest`: the weekly digest, printed and optionally sent.
pub(super) fn digest(data_dir: PathBuf, register: Option<PathBuf>, silent_hours: u32, json: bool, send: Option<PathBuf>) -> anyhow::Result<()> {
    let register = load_register(&data_dir, register)?;
    let store = open_store(&data_dir, send.is_some())?;
    let d = custos_collector::digest::Digest::build(&store, &register, silent_hours, custos_proto::time::now_ms())?;
    if json {
        println!("{}", serde_json::to_string(&d)?);
    } else {
        print!("{}", d.text());
    }
    if let Some(cfg) = send {
        let cfg = CollectorConfig::load(&cfg)?;
        let notifier = Notifier::new(cfg.notifications)?;
        let msg = d.message();
        let mut failures = 0;
        for ch in notifier.channels() {
            match notifier.send(ch, &msg) {
                Ok(()) => eprintln!("digest sent by {ch}"),
                Err(e) => {
                    eprintln!("digest not sent by {ch}: {e}");
                    failures += 1;
                }
            }
        }
        if failures > 0 {
            anyhow::bail!("{failures} channel(s) failed");
        }
    }
    Ok(())
}

/// `notifications`: the outbox.
pub(super) fn notifications(data_dir: PathBuf, json: bool) -> anyhow::Result<()> {
    let store = open_store(&data_dir, false)?;
    let list: Vec<NotificationView> = store.notifications()?.into_iter().map(NotificationView::from).collect();
    if json {
        for n in &list {
            println!("{}", serde_json::to_string(n)?);
        }
        return Ok(());
    }
    if list.is_empty() {
        println!("no notifications");
    }
    for n in &list {
        let inc = n.incident_id.map_or("-".to_string(), |i| format!("#{i}"));
        println!("{:>5} {:<8} {:<7} {:<14} {:<5} {:<8} attempts {} {}", n.id, n.status, n.channel, n.event, inc, n.created_at, n.attempts, n.last_error);
    }
    Ok(())
}

/// `mute` / `unmute`.
pub(super) fn mute(rule: String, system: String, reason: String, by: Option<String>, data_dir: PathBuf, on: bool) -> anyhow::Result<()> {
    if custos_collector::correlation::Rule::from_id(&rule).is_none() {
        anyhow::bail!("unknown rule `{rule}`; see `custos-collector rules`");
    }
    if on && reason.trim().is_empty() {
        anyhow::bail!("--reason is required: mutes are kept in the audit trail");
    }
    let mut store = open_store(&data_dir, true)?;
    let by = super::actor::actor(&store, by.as_deref(), custos_collector::accounts::Permission::EditMutes)?.name;
    if on {
        store.mute(&rule, &system, &reason, &by, custos_proto::time::now_ms())?;
        println!("{rule} muted on {system}");
    } else if store.unmute(&rule, &system, &reason, &by, custos_proto::time::now_ms())? {
        println!("{rule} unmuted on {system}");
    } else {
        println!("{rule} was not muted on {system}");
    }
    Ok(())
}

/// `purge`: the collector's own retention, now.
pub(super) fn purge(data_dir: PathBuf, older_than_days: u32) -> anyhow::Result<()> {
    let mut store = open_store(&data_dir, true)?;
    let n = store.purge_findings(custos_proto::time::now_ms() - i64::from(older_than_days) * 86_400_000)?;
    println!("{n} findings older than {older_than_days} days and flagged by no rule folded into daily counts and deleted");
    Ok(())
}

/// `audit`: the audit trail.
pub(super) fn audit(data_dir: PathBuf) -> anyhow::Result<()> {
    let store = open_store(&data_dir, false)?;
    for a in store.audit()?.into_iter().map(AuditEntry::from) {
        println!("{} {:<10} {:<15} {}: {}", a.at, a.actor, a.action, a.subject, a.detail);
    }
    Ok(())
}

/// `coverage`: undeclared stores and declared systems never seen.
pub(super) fn coverage(data_dir: PathBuf, register: Option<PathBuf>) -> anyhow::Result<()> {
    let register = load_register(&data_dir, register)?;
    let store = open_store(&data_dir, false)?;
    let d = custos_collector::digest::Digest::build(&store, &register, u32::MAX, custos_proto::time::now_ms())?;
    println!("Undeclared stores — personal data no activity of {} covers ({}):", register.source, d.undeclared_stores.len());
    d.undeclared_stores.iter().for_each(|s| println!("  {s}"));
    println!("Declared systems never seen by an agent ({}):", d.unseen_systems.len());
    d.unseen_systems.iter().for_each(|s| println!("  {s}"));
    Ok(())
}
