//! The data map: what personal data the organisation really holds, where, about how many
//! people — from evidence, not from declarations (the map behind a DPIA, Art. 35, and behind
//! the register itself).
//!
//! One row per system (host and file or table), grouped by the register activity that covers
//! it (or *undeclared*), with its categories (special categories marked), its figures and how
//! they were counted, whether a retention verdict fired on it, the host's country (from the
//! collector's `[locations]`), first and last seen, and the agents that saw it. `since` marks
//! what appeared or went quiet after a date, for the weekly check-in.
//!
//! Categories are also given in fideslang, the open privacy taxonomy of Fides and IAB Tech Lab
//! (`user.contact.email`, `user.financial.bank_account` …), so the map can feed a privacy
//! platform the DPO already uses.

use crate::correlation::Policy;
use crate::register::Register;
use crate::store::datamap::SystemSeen;
use crate::store::{Store, StoreError};
use crate::views::rfc3339;
use custos_rules::Category;
use serde::Serialize;

/// One system of the map.
#[derive(Debug, Clone, Serialize)]
pub struct MapRow {
    /// `system` (JSON lines mix systems and flows, see [`crate::flows`]).
    pub kind: &'static str,
    /// Register activities covering it, or `undeclared`.
    pub activity: String,
    /// `host:locator`.
    pub system: String,
    /// Host.
    pub host: String,
    /// File path or table locator.
    pub locator: String,
    /// Categories seen (special categories end with `*`).
    pub categories: Vec<String>,
    /// The same in fideslang.
    pub fides_categories: Vec<String>,
    /// Categories seen that no covering activity declares.
    pub undeclared_categories: Vec<String>,
    /// Estimated people.
    pub subjects: u64,
    /// Estimated records.
    pub records: u64,
    /// How both were counted.
    pub method: String,
    /// `past retention` when a retention verdict fired, else `within`.
    pub retention: String,
    /// The host's country, when the collector's `[locations]` says.
    pub country: String,
    /// First seen (RFC 3339).
    pub first_seen: String,
    /// Last seen (RFC 3339).
    pub last_seen: String,
    /// Agents that saw it.
    pub agents: Vec<String>,
    /// With `since`: `new` (first seen after it), `quiet` (not seen since), else empty.
    pub change: String,
}

/// The fideslang data category of what `detector` finds (else of its category).
pub fn fides_category(detector: &str, category: Category) -> &'static str {
    match detector {
        "email" => "user.contact.email",
        "phone" => "user.contact.phone_number",
        "iban" => "user.financial.bank_account",
        "payment_card" => "user.financial.credit_card",
        "date_of_birth" => "user.demographic.date_of_birth",
        "passport_mrz" | "fr_passport" => "user.government_id.passport_number",
        "ipv4" | "ipv6" => "user.device.ip_address",
        "mac_address" => "user.device.device_id",
        "gps_coordinates" => "user.location.precise",
        "person_name" => "user.name",
        _ => match category {
            Category::Contact => "user.contact",
            Category::Identity => "user.name",
            Category::NationalId => "user.government_id.national_identification_number",
            Category::Financial => "user.financial",
            Category::OnlineIdentifier => "user.device",
            Category::Location => "user.location",
            Category::Health => "user.health_and_medical",
            Category::Biometric => "user.biometric",
            Category::Genetic => "user.genetic",
            Category::EthnicOrigin => "user.demographic.race_ethnicity",
            Category::PoliticalOpinion => "user.demographic.political_opinion",
            Category::ReligiousBelief => "user.demographic.religious_belief",
            Category::TradeUnion => "user.demographic",
            Category::SexLife => "user.demographic.sexual_orientation",
            Category::Criminal => "user.criminal_history",
            #[allow(unreachable_patterns)]
            _ => "user",
        },
    }
}

/// The map, from the store, the register and where hosts are.
pub fn build(store: &Store, register: &Register, policy: &Policy, since_ms: Option<i64>) -> Result<Vec<MapRow>, StoreError> {
    let mut rows: Vec<MapRow> = store.systems_seen()?.into_iter().map(|s| row(s, register, policy, since_ms)).collect();
    rows.sort_by(|a, b| (a.activity == "undeclared", &a.activity, &a.system).cmp(&(b.activity == "undeclared", &b.activity, &b.system)));
    Ok(rows)
}

fn row(s: SystemSeen, register: &Register, policy: &Policy, since_ms: Option<i64>) -> MapRow {
    let agent = s.agents.first().map_or("", String::as_str);
    let covering = register.covering(agent, &s.host, &s.locator);
    let mut categories: Vec<Category> = s.kinds.iter().filter_map(|(c, _)| c.parse().ok()).collect();
    categories.sort();
    categories.dedup();
    let mut fides: Vec<String> = s.kinds.iter().filter_map(|(c, d)| Some(fides_category(d, c.parse().ok()?).to_string())).collect();
    fides.sort();
    fides.dedup();
    let undeclared: Vec<String> = if covering.is_empty() {
        Vec::new()
    } else {
        categories.iter().filter(|c| !covering.iter().any(|a| a.declares(**c))).map(|c| c.as_str().to_string()).collect()
    };
    let (subjects, records, method) = if s.rows > 0 {
        (
            s.scanned_people.max(s.distinct_values).min(s.rows.max(s.lines)),
            s.rows + s.lines,
            "rows the scan estimated; people: distinct values of the sample extrapolated to the rows".to_string(),
        )
    } else {
        (
            s.distinct_values.min(s.lines),
            s.lines,
            "lines holding personal data; people: distinct values (keyed fingerprints), at most one person per line".to_string(),
        )
    };
    let change = match since_ms {
        Some(t) if s.first_seen_ms >= t => "new",
        Some(t) if s.last_seen_ms < t => "quiet",
        _ => "",
    };
    MapRow {
        kind: "system",
        activity: if covering.is_empty() {
            "undeclared".into()
        } else {
            covering.iter().map(|a| format!("{} ({})", a.name, a.id)).collect::<Vec<_>>().join("; ")
        },
        system: format!("{}:{}", s.host, s.locator),
        host: s.host.clone(),
        locator: s.locator.clone(),
        categories: categories.iter().map(|c| if c.is_special() { format!("{}*", c.as_str()) } else { c.as_str().to_string() }).collect(),
        fides_categories: fides,
        undeclared_categories: undeclared,
        subjects,
        records,
        method,
        retention: if s.past_retention { "past retention" } else { "within" }.into(),
        country: policy.location(agent, &s.host).unwrap_or("").to_string(),
        first_seen: rfc3339(s.first_seen_ms),
        last_seen: rfc3339(s.last_seen_ms),
        agents: s.agents,
        change: change.into(),
    }
}

/// The map as Markdown, one table per activity.
pub fn markdown(rows: &[MapRow]) -> String {
    let mut out =
        String::from("# Data map\n\nFrom what agents saw (`*`: special category, Art. 9/10). People and records are estimates; the method column says how.\n");
    let mut current: Option<&str> = None;
    for r in rows {
        if current != Some(r.activity.as_str()) {
            current = Some(r.activity.as_str());
            out.push_str(&format!(
                "\n## {}\n\n| system | categories | people | records | retention | country | first seen | last seen | agents | change | method |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
                md(&r.activity)
            ));
        }
        let cats = if r.undeclared_categories.is_empty() {
            r.categories.join(", ")
        } else {
            format!("{} (undeclared: {})", r.categories.join(", "), r.undeclared_categories.join(", "))
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            md(&r.system),
            md(&cats),
            r.subjects,
            r.records,
            r.retention,
            md(&r.country),
            r.first_seen,
            r.last_seen,
            md(&r.agents.join(", ")),
            r.change,
            md(&r.method)
        ));
    }
    out
}

/// Escapes a Markdown table cell.
fn md(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// The map as CSV (cells that could start a formula are neutralised).
pub fn csv(rows: &[MapRow]) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "activity",
        "system",
        "categories",
        "fides_categories",
        "undeclared_categories",
        "subjects",
        "records",
        "method",
        "retention",
        "country",
        "first_seen",
        "last_seen",
        "agents",
        "change",
    ])?;
    for r in rows {
        let cells = [
            r.activity.clone(),
            r.system.clone(),
            r.categories.join(";"),
            r.fides_categories.join(";"),
            r.undeclared_categories.join(";"),
            r.subjects.to_string(),
            r.records.to_string(),
            r.method.clone(),
            r.retention.clone(),
            r.country.clone(),
            r.first_seen.clone(),
            r.last_seen.clone(),
            r.agents.join(";"),
            r.change.clone(),
        ];
        w.write_record(cells.iter().map(|c| crate::csv_cell::neutralise(c).into_owned()))?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The map as fideslang `system` resources: one per system, one privacy declaration per
/// covering activity (or `undeclared`), with its data categories.
pub fn fideslang(rows: &[MapRow]) -> serde_json::Value {
    let systems: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let key: String = r.system.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
            serde_json::json!({
                "fides_key": key,
                "name": r.system,
                "description": format!("Seen by Custos agents {}; {} people, {} records (estimates).", r.agents.join(", "), r.subjects, r.records),
                "system_type": "Service",
                "privacy_declarations": [{
                    "name": r.activity,
                    "data_categories": r.fides_categories,
                    "data_use": "essential",
                    "data_subjects": ["customer"],
                }],
            })
        })
        .collect();
    serde_json::json!({ "system": systems })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_category_and_known_detector_has_a_fideslang_name() {
        assert_eq!(fides_category("email", Category::Contact), "user.contact.email");
        assert_eq!(fides_category("fr_nir", Category::NationalId), "user.government_id.national_identification_number");
        assert_eq!(fides_category("health_term", Category::Health), "user.health_and_medical");
        assert!(fides_category("anything", Category::Criminal).starts_with("user."));
    }
}
