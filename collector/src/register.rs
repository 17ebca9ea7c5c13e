//! The record of processing activities (GDPR Art. 30), and which systems each activity covers.
//!
//! The register is the DPO's statement of what personal data *should* be where. Custos links it
//! to reality with `[[activity.system]]` entries (agent ids, host globs, path globs), so that a
//! finding can be checked against it: is this system covered, and does the covering activity
//! declare this category of data?
//!
//! ```toml
//! [controller]
//! name = "Exemple SAS"
//! dpo = { name = "Claire Martin", email = "dpo@exemple.fr" }
//!
//! [[activity]]
//! id = "customer-accounts"
//! name = "Customer accounts"
//! purpose = "Manage customer accounts and orders"
//! legal_basis = "contract"
//! data_subjects = ["customers"]
//! data_categories = ["contact", "identity"]
//! retention = "3y"
//!
//! [[activity.system]]
//! hosts = ["web-*"]
//! paths = ["/var/log/app/*.log"]
//! ```

use custos_agent::config::{ConfigError, parse_toml_file};
use custos_rules::Category;
use globset::{Glob, GlobMatcher};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The data controller and its DPO.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Controller {
    /// Legal name.
    pub name: String,
    /// Postal address.
    #[serde(default)]
    pub address: String,
    /// Data Protection Officer.
    #[serde(default)]
    pub dpo: Contact,
}

/// A person to contact.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// E-mail.
    #[serde(default)]
    pub email: String,
    /// Phone.
    #[serde(default)]
    pub phone: String,
}

/// Legal basis of a processing (Art. 6(1)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalBasis {
    /// (a) consent.
    Consent,
    /// (b) performance of a contract.
    Contract,
    /// (c) legal obligation.
    LegalObligation,
    /// (d) vital interests.
    VitalInterest,
    /// (e) public task.
    PublicTask,
    /// (f) legitimate interests.
    LegitimateInterest,
}

/// Which systems an activity covers. Every non-empty list must match; empty lists match all.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SystemSpec {
    /// Agent ids.
    #[serde(default)]
    pub agents: Vec<String>,
    /// Host name globs.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Path globs (`**` crosses directories).
    #[serde(default)]
    pub paths: Vec<String>,
}

/// One processing activity.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Activity {
    /// Short stable id.
    pub id: String,
    /// Name as the DPO knows it.
    pub name: String,
    /// Purpose(s).
    #[serde(default)]
    pub purpose: String,
    /// Legal basis.
    pub legal_basis: LegalBasis,
    /// Categories of data subjects.
    #[serde(default)]
    pub data_subjects: Vec<String>,
    /// Categories of personal data this activity may hold.
    pub data_categories: Vec<Category>,
    /// Recipients.
    #[serde(default)]
    pub recipients: Vec<String>,
    /// Retention period (`30d`, `6m`, `3y`).
    #[serde(default)]
    pub retention: Option<String>,
    /// Security measures (Art. 32).
    #[serde(default)]
    pub security_measures: Vec<String>,
    /// Systems covered.
    #[serde(default, rename = "system")]
    pub systems: Vec<SystemSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterFile {
    controller: Controller,
    #[serde(default, rename = "activity")]
    activities: Vec<Activity>,
}

struct CompiledSystem {
    agents: Vec<String>,
    hosts: Vec<GlobMatcher>,
    paths: Vec<GlobMatcher>,
}

impl CompiledSystem {
    fn covers(&self, agent_id: &str, host: &str, locator: &str) -> bool {
        (self.agents.is_empty() || self.agents.iter().any(|a| a == agent_id))
            && (self.hosts.is_empty() || self.hosts.iter().any(|g| g.is_match(host)))
            && (self.paths.is_empty() || self.paths.iter().any(|g| g.is_match(locator)))
    }
}

/// A loaded, checked register.
pub struct Register {
    /// Controller and DPO.
    pub controller: Controller,
    /// Activities, in file order.
    pub activities: Vec<Activity>,
    systems: Vec<Vec<CompiledSystem>>,
    /// Where it was loaded from.
    pub source: String,
}

impl std::fmt::Debug for Register {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Register").field("source", &self.source).field("activities", &self.activities.len()).finish()
    }
}

/// Parses a retention period: a number followed by `d`, `w`, `m` (30 days) or `y` (365 days).
pub fn parse_retention_days(s: &str) -> Option<u32> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: u32 = num.parse().ok()?;
    let per = match unit.trim() {
        "d" | "day" | "days" => 1,
        "w" | "week" | "weeks" => 7,
        "m" | "month" | "months" => 30,
        "y" | "year" | "years" => 365,
        _ => return None,
    };
    n.checked_mul(per)
}

impl Register {
    /// Loads and checks a register file (TOML).
    pub fn load(path: &Path) -> Result<Register, ConfigError> {
        let (file, text): (RegisterFile, String) = parse_toml_file(path)?;
        let mut systems = Vec::new();
        let mut ids = std::collections::HashSet::new();
        for a in &file.activities {
            if !ids.insert(a.id.clone()) {
                return Err(ConfigError::field(path, &text, "activity.id", format!("activity id `{}` is used twice", a.id)));
            }
            if let Some(r) = &a.retention {
                if parse_retention_days(r).is_none() {
                    return Err(ConfigError::field(path, &text, "activity.retention", format!("`{r}` is not a period like 30d, 6m or 3y")));
                }
            }
            let mut compiled = Vec::new();
            for s in &a.systems {
                let glob = |g: &String, field: &str| {
                    Glob::new(g).map(|g| g.compile_matcher()).map_err(|e| ConfigError::field(path, &text, field, format!("bad glob `{g}`: {e}")))
                };
                compiled.push(CompiledSystem {
                    agents: s.agents.clone(),
                    hosts: s.hosts.iter().map(|g| glob(g, "activity.system.hosts")).collect::<Result<_, _>>()?,
                    paths: s.paths.iter().map(|g| glob(g, "activity.system.paths")).collect::<Result<_, _>>()?,
                });
            }
            systems.push(compiled);
        }
        Ok(Register { controller: file.controller, activities: file.activities, systems, source: path.display().to_string() })
    }

    /// An empty register: nothing is declared, so every finding is undeclared.
    pub fn empty() -> Register {
        Register { controller: Controller::default(), activities: Vec::new(), systems: Vec::new(), source: "(no register)".into() }
    }

    /// Activities whose systems cover this place.
    pub fn covering(&self, agent_id: &str, host: &str, locator: &str) -> Vec<&Activity> {
        self.activities
            .iter()
            .zip(&self.systems)
            .filter(|(_, systems)| systems.iter().any(|s| s.covers(agent_id, host, locator)))
            .map(|(a, _)| a)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Register, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("register.toml");
        std::fs::write(&p, text).unwrap();
        Register::load(&p)
    }

    const GOOD: &str = r#"
[controller]
name = "Exemple SAS"
dpo = { name = "C. Martin", email = "dpo@exemple.fr" }

[[activity]]
id = "accounts"
name = "Customer accounts"
legal_basis = "contract"
data_categories = ["contact"]
retention = "3y"
[[activity.system]]
hosts = ["web-*"]
paths = ["/var/log/app/**"]
"#;

    #[test]
    fn covering_matches_host_and_path_globs() {
        let r = load(GOOD).unwrap();
        assert_eq!(r.covering("a1", "web-01", "/var/log/app/x/access.log").len(), 1);
        assert!(r.covering("a1", "db-01", "/var/log/app/access.log").is_empty());
        assert!(r.covering("a1", "web-01", "/srv/export.csv").is_empty());
    }

    #[test]
    fn unknown_category_names_line_and_field() {
        let e = load(&GOOD.replace("[\"contact\"]", "[\"contacts\"]")).unwrap_err();
        assert_eq!(e.line, 10, "{e}");
        assert_eq!(e.field.as_deref(), Some("activity.data_categories"), "{e}");
        assert!(e.reason.contains("contacts"), "{e}");
    }

    #[test]
    fn typo_in_field_name_is_refused() {
        let e = load(&GOOD.replace("legal_basis", "legal_bassis")).unwrap_err();
        assert!(e.reason.contains("legal_bassis"), "{e}");
        assert_eq!(e.line, 9, "{e}");
    }

    #[test]
    fn bad_retention_is_refused() {
        let e = load(&GOOD.replace("\"3y\"", "\"three years\"")).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("activity.retention"), "{e}");
    }

    #[test]
    fn retention_periods() {
        assert_eq!(parse_retention_days("30d"), Some(30));
        assert_eq!(parse_retention_days("3y"), Some(1095));
        assert_eq!(parse_retention_days("6 months"), Some(180));
        assert_eq!(parse_retention_days("y"), None);
    }
}
