//! `custos-collector register suggest`: what to add to the register, and what in it looks wrong.
//!
//! Two lists for the DPO:
//! - **TOML entries** for every undeclared store (personal data no activity covers), ready to
//!   complete and paste: every value is escaped, and the whole output is parsed back as a
//!   register — and must cover each store — before it is printed, so a hostile file name
//!   cannot smuggle an activity into it;
//! - **hints** for declared systems no agent ever reported data from: the places agents do see
//!   that look like what was meant (same file or table name, a close path), as "did you mean …";
//! - **recipients** to declare: each destination host agents saw personal data sent to that no
//!   recipient of the register names, with a draft `recipients` entry (the host TOML-escaped).

use crate::coverage::{Coverage, draft_entry};
use crate::register::{Locator, Register, RegisterFile, check_model, table_locator_forms};
use crate::store::findings::SeenPlace;
use crate::store::{Store, StoreError};
use std::collections::HashSet;

/// What `register suggest` prints.
#[derive(Debug, Clone)]
pub struct Suggestions {
    /// TOML activities declaring the undeclared stores (parsed back: it loads and covers them).
    pub toml: String,
    /// How many stores the TOML declares.
    pub stores: usize,
    /// `declared … never seen; did you mean …` lines.
    pub hints: Vec<String>,
    /// `personal data sent to HOST …; declare it: { name = …, hosts = […] … }` lines.
    pub recipients: Vec<String>,
}

/// Why suggestions could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SuggestError {
    /// The store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The entries did not parse back (a bug: nothing is printed rather than something wrong).
    #[error("the suggested entries do not load back as a register ({0}); nothing printed")]
    Check(String),
}

/// Builds the suggestions from what agents reported and the register in force.
pub fn suggest(store: &Store, register: &Register) -> Result<Suggestions, SuggestError> {
    let coverage = Coverage::build(store, register)?;
    let places = store.places()?;
    let mut toml = String::new();
    let mut ids = HashSet::new();
    let mut stores = Vec::new();
    for u in &coverage.undeclared_stores {
        let place = SeenPlace { agent_id: u.agent_id.clone(), host: u.host.clone(), locator: u.locator.clone(), categories: u.categories.clone() };
        let mut entry = draft_entry(&place);
        // Two stores of the same name get distinct ids.
        if let Some(id_line) = entry.lines().find(|l| l.starts_with("id = ")).map(str::to_string) {
            let mut id = id_line.clone();
            let mut n = 2;
            while !ids.insert(id.clone()) {
                id = format!("{}-{n}\"", id_line.trim_end_matches('"'));
                n += 1;
            }
            entry = entry.replacen(&id_line, &id, 1);
        }
        toml += &entry;
        toml += "\n";
        stores.push(place);
    }
    check(&toml, &stores)?;
    let hints = hints(register, &coverage, &places);
    let recipients = crate::flows::flows(store, register)?
        .into_iter()
        .filter(|f| f.status == "undeclared")
        .map(|f| {
            format!(
                "personal data ({}) sent to {} from {}: declare its recipient in the activity whose data it receives, e.g. recipients = [{{ name = \"TODO\", hosts = [{}], country = \"TODO\", safeguard = \"TODO if outside the EU/EEA\" }}]",
                f.categories.join(", "),
                f.destination,
                f.system,
                toml::Value::String(f.destination.clone())
            )
        })
        .collect();
    Ok(Suggestions { toml, stores: stores.len(), hints, recipients })
}

/// Parses the entries back as a register and checks each store is covered by it.
fn check(toml: &str, stores: &[SeenPlace]) -> Result<(), SuggestError> {
    if stores.is_empty() {
        return Ok(());
    }
    let text = format!("[controller]\nname = \"check\"\n\n{toml}");
    let file: RegisterFile =
        custos_rules::toml_file::parse_toml(std::path::Path::new("suggested.toml"), &text).map_err(|e| SuggestError::Check(e.to_string()))?;
    let problems = check_model(&file, &Locator::Text(text.clone()));
    if let Some(p) = problems.first() {
        return Err(SuggestError::Check(p.to_string()));
    }
    let register = Register::from_model(file, "suggested.toml".into()).map_err(SuggestError::Check)?;
    if register.activities.len() != stores.len() {
        return Err(SuggestError::Check(format!("{} activities for {} stores", register.activities.len(), stores.len())));
    }
    for s in stores {
        if register.covering(&s.agent_id, &s.host, &s.locator).is_empty() {
            return Err(SuggestError::Check(format!("a suggested entry does not cover the store on {}", s.host)));
        }
    }
    Ok(())
}

/// The last part of a locator: a file name, or a table name without its schema.
fn leaf(locator: &str) -> String {
    match table_locator_forms(locator) {
        Some((_, tables)) => tables.get(1).or(tables.first()).cloned().unwrap_or_default(),
        None => locator.rsplit('/').next().unwrap_or(locator).to_string(),
    }
}

/// Levenshtein distance (small inputs: paths and names).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(row[j + 1] + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// For each declared system never seen, the seen places that look like what was meant.
fn hints(register: &Register, coverage: &Coverage, places: &[SeenPlace]) -> Vec<String> {
    let mut out = Vec::new();
    for a in &register.activities {
        for s in &a.systems {
            let described = s.describe();
            let unseen = coverage.activities.iter().filter(|c| c.id == a.id).flat_map(|c| &c.systems).any(|c| c.system == described && !c.seen);
            if !unseen {
                continue;
            }
            let wanted: Vec<String> =
                s.paths.iter().chain(&s.tables).chain(&s.databases).map(|g| g.rsplit('/').next().unwrap_or(g).trim_matches('*').to_string()).collect();
            let mut close: Vec<(usize, &SeenPlace)> = places
                .iter()
                .filter_map(|p| {
                    let l = leaf(&p.locator);
                    let d = wanted
                        .iter()
                        .filter(|w| !w.is_empty())
                        .map(|w| if l.contains(w.as_str()) || w.contains(l.as_str()) { 0 } else { distance(w, &l) })
                        .min()?;
                    (d <= 3).then_some((d, p))
                })
                .collect();
            close.sort_by_key(|(d, p)| (*d, p.locator.clone()));
            close.dedup_by(|x, y| x.1.locator == y.1.locator);
            let mean: Vec<String> = close.iter().take(3).map(|(_, p)| format!("{} on {}", p.locator, p.host)).collect();
            out.push(if mean.is_empty() {
                format!("«{}» ({}): {described} — declared but never seen by an agent", a.name, a.id)
            } else {
                format!("«{}» ({}): {described} — declared but never seen; did you mean {}?", a.name, a.id, mean.join(" or "))
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names_are_close() {
        assert_eq!(distance("customers", "customer"), 1);
        assert_eq!(distance("crm-sync.log", "crm_sync.log"), 1);
        assert!(distance("orders", "customers") > 3);
        assert_eq!(leaf("postgres://127.0.0.1:5432/shop/sales.customers"), "customers");
        assert_eq!(leaf("/var/log/legacy/crm-sync.log"), "crm-sync.log");
    }
}
