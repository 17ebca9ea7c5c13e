//! Register coverage: how the record of processing activities (Art. 30) and what agents see
//! line up.
//!
//! Three lists, each a question for the DPO:
//! - the declared activities and their systems, each marked *seen* when an agent reported
//!   personal data from it;
//! - **undeclared stores**: places where agents found personal data that no activity covers —
//!   each comes with a draft register entry (TOML) to complete, so declaring it is one step;
//! - **declared systems never seen**: a register entry no agent watches, or a stale one.

use crate::register::{Register, split_table_locator};
use crate::store::findings::SeenPlace as Place;
use crate::store::{Store, StoreError};
use custos_rules::Category;
use serde::Serialize;

/// One declared system and whether an agent reported data from it.
#[derive(Debug, Clone, Serialize)]
pub struct SystemCoverage {
    /// The system as written in the register (`hosts web-* · paths …`).
    pub system: String,
    /// Whether an agent reported personal data from a place it covers.
    pub seen: bool,
}

/// One activity of the register with its systems.
#[derive(Debug, Clone, Serialize)]
pub struct ActivityCoverage {
    /// Activity id.
    pub id: String,
    /// Activity name.
    pub name: String,
    /// Declared categories.
    pub categories: Vec<String>,
    /// Declared systems.
    pub systems: Vec<SystemCoverage>,
}

/// A place holding personal data that no activity covers.
#[derive(Debug, Clone, Serialize)]
pub struct UndeclaredStore {
    /// Agent that reported it.
    pub agent_id: String,
    /// Host.
    pub host: String,
    /// Path or table locator.
    pub locator: String,
    /// Categories found there.
    pub categories: Vec<String>,
    /// A register entry (TOML) declaring it, with TODOs for what only the DPO can say.
    pub draft_entry: String,
}

/// The coverage report.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    /// Where the register was loaded from.
    pub register: String,
    /// Activities and their systems.
    pub activities: Vec<ActivityCoverage>,
    /// Personal data no activity covers.
    pub undeclared_stores: Vec<UndeclaredStore>,
    /// Declared systems no agent reported data from: `«activity» (id): system`.
    pub unseen_systems: Vec<String>,
    /// Declared systems in total.
    pub systems_declared: u64,
    /// Declared systems an agent reported data from.
    pub systems_seen: u64,
}

impl Coverage {
    /// Builds the report from the stored findings and the register in force.
    pub fn build(store: &Store, register: &Register) -> Result<Coverage, StoreError> {
        let places = store.places()?;
        let triples: Vec<(String, String, String)> = places.iter().map(|p| (p.agent_id.clone(), p.host.clone(), p.locator.clone())).collect();
        let seen = register.systems_seen(&triples);
        let activities = register
            .activities
            .iter()
            .map(|a| ActivityCoverage {
                id: a.id.clone(),
                name: a.name.clone(),
                categories: a.categories().iter().map(|c| c.as_str().to_string()).collect(),
                systems: seen.iter().filter(|(act, _, _)| act.id == a.id).map(|(_, s, seen)| SystemCoverage { system: s.describe(), seen: *seen }).collect(),
            })
            .collect();
        let undeclared_stores = places
            .iter()
            .filter(|p| register.covering(&p.agent_id, &p.host, &p.locator).is_empty())
            .map(|p| UndeclaredStore {
                agent_id: p.agent_id.clone(),
                host: p.host.clone(),
                locator: p.locator.clone(),
                categories: p.categories.clone(),
                draft_entry: draft_entry(p),
            })
            .collect();
        let unseen_systems = seen.iter().filter(|(_, _, s)| !s).map(|(a, s, _)| format!("«{}» ({}): {}", a.name, a.id, s.describe())).collect();
        Ok(Coverage {
            register: register.source.clone(),
            activities,
            undeclared_stores,
            unseen_systems,
            systems_declared: seen.len() as u64,
            systems_seen: seen.iter().filter(|(_, _, s)| *s).count() as u64,
        })
    }
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn toml_list(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|s| toml_string(s)).collect::<Vec<_>>().join(", "))
}

/// Text from an agent (a file name, a host) made safe inside a TOML comment: a newline there
/// would end the comment and let the rest be read as the register's own entries.
fn comment_text(s: &str) -> String {
    s.chars().flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] }).collect()
}

/// A register entry declaring `place`: valid TOML that loads as is (so the DPO can try it with
/// `register check`), with every choice only the DPO can make marked TODO.
///
/// Every value from the place (host, path, table — names an agent reported) is a TOML string
/// or escaped inside a comment, and the draft is parsed back before it is shown: it must hold
/// exactly one activity with one system naming exactly this place. A DPO pasting it declares
/// that place and nothing else.
pub fn draft_entry(place: &Place) -> String {
    let draft = unchecked_draft(place);
    match declares_only(&draft, place) {
        Ok(()) => draft,
        Err(why) => {
            tracing::warn!(host = %place.host, why, "a draft register entry did not parse back as written; not shown");
            format!("# Custos could not draft an entry for this place ({why}): declare it by hand.\n")
        }
    }
}

/// Whether `draft` parses as one activity with one system declaring exactly `place`.
fn declares_only(draft: &str, place: &Place) -> Result<(), &'static str> {
    let value: toml::Table = toml::from_str(draft).map_err(|_| "not valid TOML")?;
    if value.len() != 1 {
        return Err("more than the activity");
    }
    let activities = value.get("activity").and_then(|a| a.as_array()).ok_or("no activity")?;
    let [activity] = activities.as_slice() else { return Err("more than one activity") };
    let systems = activity.get("system").and_then(|s| s.as_array()).ok_or("no system")?;
    let [system] = systems.as_slice() else { return Err("more than one system") };
    let strings = |key: &str| -> Option<Vec<String>> { system.get(key)?.as_array()?.iter().map(|v| v.as_str().map(str::to_string)).collect() };
    if strings("hosts") != Some(vec![globset_escape(&place.host)]) {
        return Err("another host");
    }
    let expected = match split_table_locator(&place.locator) {
        Some((db, table)) => strings("databases") == Some(vec![globset_escape(db)]) && strings("tables") == Some(vec![globset_escape(table)]),
        None => strings("paths") == Some(vec![globset_escape(&place.locator)]),
    };
    if !expected { Err("another place") } else { Ok(()) }
}

fn unchecked_draft(place: &Place) -> String {
    let slug: String = place
        .locator
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("store")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect();
    let (ordinary, special): (Vec<String>, Vec<String>) =
        place.categories.iter().filter(|c| !c.is_empty()).cloned().partition(|c| !c.parse::<Category>().is_ok_and(Category::is_special));
    let mut s = format!(
        "# Draft by Custos: personal data ({}) found by agent {} on {} at {}.\n",
        comment_text(&place.categories.join(", ")),
        comment_text(&place.agent_id),
        comment_text(&place.host),
        comment_text(&place.locator)
    );
    s += "# Complete every TODO, then add this entry to the register.\n[[activity]]\n";
    s += &format!("id = {}\n", toml_string(&format!("todo-{}", slug.trim_matches('-'))));
    s += "name = \"TODO: name of the processing\"\npurpose = \"TODO: why this data is kept here\"\n";
    s += "legal_basis = \"legitimate_interest\"  # TODO: consent | contract | legal_obligation | vital_interest | public_task | legitimate_interest\n";
    s += "data_subjects = [\"TODO\"]\n";
    s += &format!("data_categories = {}\n", toml_list(&ordinary));
    if !special.is_empty() {
        s += &format!("special_categories = {}  # Art. 9: needs an Art. 9(2) condition\n", toml_list(&special));
    }
    s += "retention = \"1y\"  # TODO: how long this data may be kept\n\n[[activity.system]]\n";
    s += &format!("hosts = {}\n", toml_list(&[globset_escape(&place.host)]));
    match split_table_locator(&place.locator) {
        Some((db, table)) => s += &format!("databases = {}\ntables = {}\n", toml_list(&[globset_escape(db)]), toml_list(&[globset_escape(table)])),
        None => s += &format!("paths = {}\n", toml_list(&[globset_escape(&place.locator)])),
    }
    s
}

/// Register systems are globs: a literal place must not be read as a pattern.
fn globset_escape(s: &str) -> String {
    globset::escape(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(locator: &str, categories: &[&str]) -> Place {
        Place { agent_id: "agent-1".into(), host: "crm-01".into(), locator: locator.into(), categories: categories.iter().map(|c| c.to_string()).collect() }
    }

    fn loads_and_covers(p: &Place) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("register.toml");
        std::fs::write(&file, format!("[controller]\nname = \"Acme\"\n\n{}", draft_entry(p))).unwrap();
        let register = Register::load(&file).unwrap_or_else(|e| panic!("draft does not load: {e}\n{}", draft_entry(p)));
        assert_eq!(register.covering(&p.agent_id, &p.host, &p.locator).len(), 1, "{}", draft_entry(p));
    }

    #[test]
    fn a_draft_entry_for_a_file_loads_and_covers_exactly_that_file() {
        let p = place("/var/log/legacy/crm-sync[1].log", &["contact", "financial"]);
        loads_and_covers(&p);
        let draft = draft_entry(&p);
        assert!(draft.contains("data_categories = [\"contact\", \"financial\"]"), "{draft}");
        assert!(draft.contains("TODO"));
    }

    #[test]
    fn a_file_name_with_newlines_cannot_add_an_activity_to_the_draft() {
        let evil = "/srv/x.log\n[[activity]]\nid = \"all\"\nname = \"x\"\npurpose = \"x\"\nlegal_basis = \"consent\"\ndata_subjects = [\"x\"]\ndata_categories = [\"contact\", \"financial\", \"national_id\"]\nretention = \"1y\"\n[[activity.system]]\nhosts = [\"**\"]\npaths = [\"**\"]\n#";
        let p = place(evil, &["contact"]);
        let draft = draft_entry(&p);
        assert_eq!(draft.lines().filter(|l| l.starts_with("[[activity]]")).count(), 1, "{draft}");
        assert!(!draft.lines().any(|l| l.starts_with("paths = [\"**\"]")), "{draft}");
        loads_and_covers(&p);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("register.toml");
        std::fs::write(&file, format!("[controller]\nname = \"Acme\"\n\n{draft}")).unwrap();
        let register = Register::load(&file).unwrap();
        assert!(register.covering("agent-1", "crm-01", "/srv/other.log").is_empty(), "the draft covers nothing else");
    }

    #[test]
    fn a_draft_that_does_not_parse_back_as_written_is_not_shown() {
        let p = place("/var/log/a.log", &["contact"]);
        assert!(declares_only(&unchecked_draft(&p), &p).is_ok());
        let other = place("/var/log/b.log", &["contact"]);
        assert_eq!(declares_only(&unchecked_draft(&p), &other), Err("another place"));
        assert_eq!(declares_only(&format!("{}\n[[activity]]\nid = \"x\"\n", unchecked_draft(&p)), &p), Err("more than one activity"));
    }

    #[test]
    fn a_draft_entry_for_a_table_declares_its_database_and_table_and_special_categories_apart() {
        let p = place("postgres://db-01/shop/public.patients", &["health", "identity"]);
        loads_and_covers(&p);
        let draft = draft_entry(&p);
        assert!(draft.contains("special_categories = [\"health\"]"), "{draft}");
        assert!(draft.contains("tables = [\"public.patients\"]"), "{draft}");
    }
}
