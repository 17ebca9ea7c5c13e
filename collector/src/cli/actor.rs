//! Who makes a change from the command line: a console user, so that the timeline and the audit
//! trail name a person whose role allows the change, as in the console.

use custos_collector::accounts::{Permission, User};
use custos_collector::store::Store;

/// The console user `--by` names, or the OS user when it is not given; an error says how to
/// add one when there is none, or which role the change needs.
pub(super) fn actor(store: &Store, by: Option<&str>, needs: Permission) -> anyhow::Result<User> {
    let name = match by.map(str::trim).filter(|b| !b.is_empty()) {
        Some(b) => b.to_string(),
        None => std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_default(),
    };
    if name.is_empty() {
        anyhow::bail!("say who makes the change with --by NAME (a console user): it goes to the audit trail");
    }
    let Some((user, _)) = store.credentials(&name)? else {
        anyhow::bail!(
            "`{name}` is not a console user: changes are attributed to console users; add one with `custos-collector user add {name} --role dpo|security|viewer`, or pass --by NAME"
        );
    };
    if !user.role.may(needs) {
        anyhow::bail!("`{name}` has the role {}, which may not make this change", user.role.as_str());
    }
    Ok(user)
}
