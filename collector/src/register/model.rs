//! The register's model: what a register file says, in every format — the controller, the
//! processing activities with their categories, retention and locations, and the systems each
//! covers — and the problems a file can have.

use super::recipient::{EU_EEA, Recipient, Safeguard};
use custos_rules::Category;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The data controller and its DPO.
#[derive(Debug, Clone, Deserialize, Serialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Controller {
    /// Legal name.
    pub name: String,
    /// Postal address.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub address: String,
    /// Country of the main establishment (ISO alpha-2), for cross-border processing.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub country: String,
    /// The lead supervisory authority (one-stop shop, Art. 56), e.g. `CNIL`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub lead_authority: String,
    /// Data Protection Officer.
    #[serde(default)]
    pub dpo: Contact,
}

/// A person to contact.
#[derive(Debug, Clone, Deserialize, Serialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// E-mail.
    #[serde(default)]
    pub email: String,
    /// Phone.
    #[serde(default, skip_serializing_if = "String::is_empty")]
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

impl LegalBasis {
    /// Every basis with its snake_case name.
    pub const ALL: [(LegalBasis, &'static str); 6] = [
        (LegalBasis::Consent, "consent"),
        (LegalBasis::Contract, "contract"),
        (LegalBasis::LegalObligation, "legal_obligation"),
        (LegalBasis::VitalInterest, "vital_interest"),
        (LegalBasis::PublicTask, "public_task"),
        (LegalBasis::LegitimateInterest, "legitimate_interest"),
    ];

    /// Parses the snake_case name, or the words of the CNIL template ("Legal obligation").
    pub fn parse(s: &str) -> Option<LegalBasis> {
        let norm = s.trim().to_lowercase().replace([' ', '-'], "_");
        Self::ALL.iter().find(|(_, n)| *n == norm || norm.trim_end_matches('s') == *n).map(|(b, _)| *b)
    }
}

/// A transfer of the activity's data to a third country.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// ISO 3166 alpha-2 country code of the recipient.
    pub country: String,
    /// The safeguard relied on.
    pub safeguard: Safeguard,
}

/// Which systems an activity covers. Every non-empty list must match; empty lists match all.
/// `paths` match file locators; `databases` match the `scheme://database` part of a table
/// locator and `tables` its table name.
#[derive(Debug, Clone, Deserialize, Serialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SystemSpec {
    /// Agent ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agents: Vec<String>,
    /// Host name globs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    /// Path globs (`**` crosses directories).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    /// Database globs, e.g. `postgres://shop`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub databases: Vec<String>,
    /// Table name globs, e.g. `customers` or `public.*`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<String>,
}

impl SystemSpec {
    /// A short human description, e.g. `hosts web-* · paths /var/log/app/*.log`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (label, list) in
            [("agents", &self.agents), ("hosts", &self.hosts), ("paths", &self.paths), ("databases", &self.databases), ("tables", &self.tables)]
        {
            if !list.is_empty() {
                parts.push(format!("{label} {}", list.join(",")));
            }
        }
        if parts.is_empty() { "every system".into() } else { parts.join(" · ") }
    }
}

/// One processing activity.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
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
    #[serde(default)]
    pub data_categories: Vec<Category>,
    /// Special categories (Art. 9) and criminal-offence data (Art. 10) it may hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub special_categories: Vec<Category>,
    /// Recipients and processors: names, or tables with their hosts, country and safeguard
    /// (see [`super::recipient`]).
    #[serde(default)]
    pub recipients: Vec<Recipient>,
    /// Transfers outside the EU/EEA.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transfers: Vec<Transfer>,
    /// Default retention period (`30d`, `6m`, `3y`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<String>,
    /// Retention per category, overriding `retention`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub retention_by_category: BTreeMap<Category, String>,
    /// Security measures (Art. 32).
    #[serde(default)]
    pub security_measures: Vec<String>,
    /// Countries (ISO alpha-2, or `EU` for the EU/EEA) where its data may be; empty = anywhere.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_locations: Vec<String>,
    /// Systems covered.
    #[serde(default, rename = "system")]
    pub systems: Vec<SystemSpec>,
}

impl Activity {
    /// Whether the activity declares the category (ordinary or special).
    pub fn declares(&self, c: Category) -> bool {
        self.data_categories.contains(&c) || self.special_categories.contains(&c)
    }

    /// All declared categories.
    pub fn categories(&self) -> Vec<Category> {
        self.data_categories.iter().chain(&self.special_categories).copied().collect()
    }

    /// The declared retention for a category, in days, with its text.
    pub fn retention_for(&self, c: Category) -> Option<(u32, &str)> {
        let text = self.retention_by_category.get(&c).or(self.retention.as_ref())?;
        parse_retention_days(text).map(|d| (d, text.as_str()))
    }

    /// Whether a recipient in `country` is covered by a transfer the activity declares.
    pub fn transfer_to(&self, country: &str) -> Option<&Transfer> {
        self.transfers.iter().find(|t| t.country.eq_ignore_ascii_case(country))
    }

    /// Whether a country code is allowed for this activity's data (`EU` expands to the EU/EEA).
    pub fn allows_location(&self, country: &str) -> bool {
        let country = country.to_ascii_uppercase();
        self.allowed_locations.is_empty()
            || self.allowed_locations.iter().any(|a| {
                let a = a.to_ascii_uppercase();
                a == country || ((a == "EU" || a == "EEA") && EU_EEA.contains(&country.as_str()))
            })
    }
}

/// The register as written in a file (all formats deserialize to it).
#[derive(Debug, Clone, Deserialize, Serialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RegisterFile {
    /// Controller and DPO.
    pub controller: Controller,
    /// Processing activities.
    #[serde(default, rename = "activity")]
    pub activities: Vec<Activity>,
}

/// One problem found in a register file: where (line or row), which field, what to do.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// `line 12`, `row 4`, or empty for the whole file.
    pub at: String,
    /// Field (dotted path or column name).
    pub field: String,
    /// What is wrong and what to do.
    pub reason: String,
}

impl Problem {
    /// `file:LINE: field: reason` (compiler style) for text files, `file: row N: field: reason`
    /// for tables.
    pub fn render(&self, file: &str) -> String {
        match self.at.strip_prefix("line ") {
            Some(n) => {
                let rest = Problem { at: String::new(), ..self.clone() };
                format!("{file}:{n}: {rest}")
            }
            None => format!("{file}: {self}"),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.at.is_empty(), self.field.is_empty()) {
            (false, false) => write!(f, "{}: {}: {}", self.at, self.field, self.reason),
            (false, true) => write!(f, "{}: {}", self.at, self.reason),
            (true, false) => write!(f, "{}: {}", self.field, self.reason),
            (true, true) => f.write_str(&self.reason),
        }
    }
}

/// Every problem of a register file, which cannot be loaded while there is one.
#[derive(Debug, thiserror::Error)]
#[error("{} problem(s) in the register:\n{}", problems.len(), problems.iter().map(|p| p.render(file)).collect::<Vec<_>>().join("\n"))]
pub struct RegisterError {
    /// The file.
    pub file: String,
    /// The problems, in file order.
    pub problems: Vec<Problem>,
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

/// The register formats, chosen by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.toml`
    Toml,
    /// `.yaml` / `.yml`
    Yaml,
    /// `.csv` (CNIL-like table)
    Csv,
    /// `.xlsx` (CNIL-like table)
    Xlsx,
}

impl Format {
    /// The format of a path, from its extension.
    pub fn of(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "toml" => Some(Format::Toml),
            "yaml" | "yml" => Some(Format::Yaml),
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            _ => None,
        }
    }
}
