//! The data map's flows: personal data sent from a system to a recipient's host, as agents saw
//! it in outbound requests (the `egress` watch), beside what the register declares.
//!
//! One flow per (sending system, destination host): the recipient or processor whose hosts
//! include it (or `undeclared`), its role, country and safeguard, whether it is a transfer
//! outside the EU/EEA and whether the transfer is covered, the categories sent, how many
//! findings and distinct values (at least one per person). `datamap` lists them after the
//! systems (Markdown, JSON lines with `"kind":"flow"`, `--format csv --flows`), fideslang as
//! each system's `egress`, and the console's Data map page draws them.

use crate::datamap::{MapRow, fides_category};
use crate::register::{Register, normalise_host};
use crate::store::datamap::FlowSeen;
use crate::store::{Store, StoreError};
use crate::views::rfc3339;
use custos_rules::Category;
use serde::Serialize;

/// One flow of the map.
#[derive(Debug, Clone, Serialize)]
pub struct FlowRow {
    /// `flow` (JSON lines mix systems and flows).
    pub kind: &'static str,
    /// The sending system, `host:locator`.
    pub system: String,
    /// Its host.
    pub host: String,
    /// The log the requests were seen in.
    pub locator: String,
    /// The host the data was sent to.
    pub destination: String,
    /// The recipients naming the host (`name (activity id)`), or `undeclared`.
    pub recipient: String,
    /// `recipient`, `processor`, or empty when undeclared.
    pub role: String,
    /// The recipient's country, when declared.
    pub country: String,
    /// The recipient's safeguard, or the activity's transfer to that country, when declared.
    pub safeguard: String,
    /// `declared`, `undeclared`, or `transfer without safeguard`.
    pub status: String,
    /// Categories sent (special categories end with `*`).
    pub categories: Vec<String>,
    /// The same in fideslang.
    pub fides_categories: Vec<String>,
    /// Personal-data findings in requests to the host.
    pub findings: u64,
    /// Estimated people: distinct values sent (keyed fingerprints).
    pub subjects: u64,
    /// First seen (RFC 3339).
    pub first_seen: String,
    /// Last seen (RFC 3339).
    pub last_seen: String,
    /// Agents that saw it.
    pub agents: Vec<String>,
}

/// The flows, from the store and the register.
pub fn flows(store: &Store, register: &Register) -> Result<Vec<FlowRow>, StoreError> {
    Ok(store.flows_seen()?.into_iter().map(|f| row(f, register)).collect())
}

fn row(f: FlowSeen, register: &Register) -> FlowRow {
    let destination = normalise_host(&f.destination);
    let declared = register.recipients_of_host(&destination);
    let mut categories: Vec<Category> = f.kinds.iter().filter_map(|(c, _)| c.parse().ok()).collect();
    categories.sort();
    categories.dedup();
    let mut fides: Vec<String> = f.kinds.iter().filter_map(|(c, d)| Some(fides_category(d, c.parse().ok()?).to_string())).collect();
    fides.sort();
    fides.dedup();
    let join = |v: Vec<String>| {
        let mut v = v;
        v.sort();
        v.dedup();
        v.join("; ")
    };
    let covered = |a: &crate::register::Activity, r: &crate::register::Recipient| match r.third_country() {
        None => true,
        Some(c) => r.0.safeguard.is_some() || a.transfer_to(c).is_some(),
    };
    let status = if declared.is_empty() {
        "undeclared"
    } else if declared.iter().any(|(a, r)| covered(a, r)) {
        "declared"
    } else {
        "transfer without safeguard"
    };
    FlowRow {
        kind: "flow",
        system: format!("{}:{}", f.host, f.locator),
        host: f.host,
        locator: f.locator,
        recipient: if declared.is_empty() { "undeclared".into() } else { join(declared.iter().map(|(a, r)| format!("{} ({})", r.0.name, a.id)).collect()) },
        role: join(declared.iter().map(|(_, r)| r.0.role.as_str().to_string()).collect()),
        country: join(declared.iter().filter_map(|(_, r)| r.0.country.clone()).map(|c| c.to_ascii_uppercase()).collect()),
        safeguard: join(
            declared
                .iter()
                .filter_map(|(a, r)| {
                    let by_transfer = || r.third_country().and_then(|c| a.transfer_to(c)).map(|t| t.safeguard);
                    r.0.safeguard.or_else(by_transfer).map(|s| format!("{s:?}").to_lowercase())
                })
                .collect(),
        ),
        status: status.into(),
        destination,
        categories: categories.iter().map(|c| if c.is_special() { format!("{}*", c.as_str()) } else { c.as_str().to_string() }).collect(),
        fides_categories: fides,
        findings: f.findings,
        subjects: f.distinct_values.min(f.findings),
        first_seen: rfc3339(f.first_seen_ms),
        last_seen: rfc3339(f.last_seen_ms),
        agents: f.agents,
    }
}

/// The flows as a Markdown section (empty when there is none).
pub fn markdown(flows: &[FlowRow]) -> String {
    if flows.is_empty() {
        return String::new();
    }
    let md = |s: &str| s.replace('|', "\\|").replace(['\n', '\r'], " ");
    let mut out = String::from(
        "\n## Flows to recipients\n\nPersonal data agents saw sent in outbound requests (egress logs). People: distinct values sent.\n\n| system | destination | recipient | role | country | safeguard | status | categories | findings | people | first seen | last seen |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for f in flows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            md(&f.system),
            md(&f.destination),
            md(&f.recipient),
            f.role,
            md(&f.country),
            f.safeguard,
            f.status,
            md(&f.categories.join(", ")),
            f.findings,
            f.subjects,
            f.first_seen,
            f.last_seen
        ));
    }
    out
}

/// The flows as CSV (cells that could start a formula are neutralised).
pub fn csv(flows: &[FlowRow]) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "system",
        "destination",
        "recipient",
        "role",
        "country",
        "safeguard",
        "status",
        "categories",
        "fides_categories",
        "findings",
        "subjects",
        "first_seen",
        "last_seen",
        "agents",
    ])?;
    for f in flows {
        let cells = [
            f.system.clone(),
            f.destination.clone(),
            f.recipient.clone(),
            f.role.clone(),
            f.country.clone(),
            f.safeguard.clone(),
            f.status.clone(),
            f.categories.join(";"),
            f.fides_categories.join(";"),
            f.findings.to_string(),
            f.subjects.to_string(),
            f.first_seen.clone(),
            f.last_seen.clone(),
            f.agents.join(";"),
        ];
        w.write_record(cells.iter().map(|c| crate::csv_cell::neutralise(c).into_owned()))?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The fideslang systems of the map with each one's flows as its `egress` (data flows to the
/// destination hosts, with the categories sent).
pub fn fideslang(rows: &[MapRow], flows: &[FlowRow]) -> serde_json::Value {
    let mut doc = crate::datamap::fideslang(rows);
    let key = |s: &str| -> String { s.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect() };
    if let Some(systems) = doc.get_mut("system").and_then(|s| s.as_array_mut()) {
        for system in systems.iter_mut() {
            let name = system.get("name").and_then(|n| n.as_str()).unwrap_or_default().to_string();
            let egress: Vec<serde_json::Value> = flows
                .iter()
                .filter(|f| f.system == name)
                .map(|f| serde_json::json!({ "fides_key": key(&f.destination), "type": "system", "data_categories": f.fides_categories }))
                .collect();
            if !egress.is_empty() {
                system["egress"] = serde_json::Value::Array(egress);
            }
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::register::{Activity, LegalBasis, Recipient, RecipientSpec, RegisterFile, Safeguard, Transfer};

    fn register(recipients: Vec<Recipient>, transfers: Vec<Transfer>) -> Register {
        let activity = Activity {
            id: "marketing".into(),
            name: "Marketing".into(),
            purpose: String::new(),
            legal_basis: LegalBasis::Consent,
            data_subjects: vec![],
            data_categories: vec![Category::Contact],
            special_categories: vec![],
            recipients,
            transfers,
            retention: None,
            retention_by_category: Default::default(),
            security_measures: vec![],
            allowed_locations: vec![],
            systems: vec![],
        };
        Register::from_model(RegisterFile { controller: Default::default(), activities: vec![activity] }, "register.toml".into()).unwrap()
    }

    fn seen(destination: &str) -> FlowSeen {
        FlowSeen {
            host: "proxy-1".into(),
            locator: "/var/log/squid/access.log".into(),
            destination: destination.into(),
            agents: vec!["a1".into()],
            kinds: vec![("contact".into(), "email".into())],
            findings: 12,
            distinct_values: 5,
            first_seen_ms: 0,
            last_seen_ms: 1,
        }
    }

    fn vendor(country: &str, safeguard: Option<Safeguard>) -> Recipient {
        Recipient(RecipientSpec { name: "Vendor".into(), hosts: vec!["vendor.example".into()], country: Some(country.into()), safeguard, ..Default::default() })
    }

    #[test]
    fn a_flow_says_whether_its_recipient_is_declared_and_its_transfer_covered() {
        let undeclared = row(seen("pixel.tracker.example"), &register(vec![Recipient::named("support")], vec![]));
        assert_eq!((undeclared.status.as_str(), undeclared.recipient.as_str()), ("undeclared", "undeclared"));
        assert_eq!((undeclared.findings, undeclared.subjects), (12, 5));
        assert_eq!(undeclared.fides_categories, vec!["user.contact.email"]);
        let eea = row(seen("api.vendor.example"), &register(vec![vendor("FR", None)], vec![]));
        assert_eq!((eea.status.as_str(), eea.recipient.as_str(), eea.country.as_str()), ("declared", "Vendor (marketing)", "FR"));
        let unsafe_us = row(seen("vendor.example"), &register(vec![vendor("US", None)], vec![]));
        assert_eq!(unsafe_us.status, "transfer without safeguard");
        let scc = row(seen("vendor.example"), &register(vec![vendor("US", Some(Safeguard::Scc))], vec![]));
        assert_eq!((scc.status.as_str(), scc.safeguard.as_str()), ("declared", "scc"));
        let by_activity = row(seen("vendor.example"), &register(vec![vendor("US", None)], vec![Transfer { country: "US".into(), safeguard: Safeguard::Bcr }]));
        assert_eq!((by_activity.status.as_str(), by_activity.safeguard.as_str()), ("declared", "bcr"));
    }
}
