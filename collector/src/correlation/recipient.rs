//! Flows to recipients: personal data an agent saw sent to a host (`destination_host`
//! evidence of an outbound request in an egress log), checked against the register's
//! recipients and processors.
//!
//! - No recipient of any activity names the host: `undeclared_recipient` — the register does
//!   not say the data goes there (Art. 30(1)(d)), or it should not go there at all.
//! - The recipients naming it are all in a third country (outside the EU/EEA) and none has a
//!   safeguard, neither its own `safeguard` nor a `transfers` entry of its activity for that
//!   country: `transfer_without_safeguard` (Chapter V).
//!
//! Both are compliance items grouped by (sending system, destination host): a tracking pixel
//! called a million times is one item naming the host, its categories and its count.

use super::rule::Rule;
use crate::register::{Activity, Recipient, Register};
use std::collections::BTreeMap;

/// A verdict about a flow, before the policy.
pub(super) struct Flow<'r> {
    pub rule: Rule,
    pub group: (String, String),
    pub explanation: String,
    pub activities: Vec<&'r Activity>,
}

/// The destination host of a finding (from its evidence), when an agent saw it sent somewhere.
pub fn destination(evidence: &BTreeMap<String, String>) -> Option<String> {
    crate::register::recipient::destination_host(evidence)
}

fn describe(a: &Activity, r: &Recipient) -> String {
    let r = &r.0;
    format!(
        "{} «{}» of «{}» ({}){}{}",
        r.role.as_str(),
        r.name,
        a.name,
        a.id,
        r.country.as_deref().map_or(String::new(), |c| format!(", country {c}")),
        r.safeguard.map_or(String::new(), |s| format!(", safeguard {s:?}"))
    )
}

/// The verdict about the flow of a finding on `system` with `evidence` (already described by
/// `seen`), if any.
pub(super) fn check<'r>(system: &str, evidence: &BTreeMap<String, String>, seen: &str, register: &'r Register) -> Option<Flow<'r>> {
    let host = destination(evidence)?;
    let group = |rule: Rule| (format!("{}|{system}|{host}", rule.id()), format!("{system} → {host}"));
    let declared = register.recipients_of_host(&host);
    if declared.is_empty() {
        let named: Vec<String> = register
            .activities
            .iter()
            .flat_map(|a| a.recipients.iter().filter(|r| !r.0.hosts.is_empty()).map(move |r| format!("«{}» of {} [{}]", r.0.name, a.id, r.0.hosts.join(", "))))
            .collect();
        let explanation = format!(
            "{seen} It was sent to `{host}` in an outbound request, and no recipient or processor of the register ({}) names that host{}. Declare the recipient (its hosts, country and safeguard) in the activity whose data it receives, or stop the flow.",
            register.source,
            if named.is_empty() { " (no recipient declares hosts at all)".to_string() } else { format!("; recipients with hosts: {}", named.join("; ")) }
        );
        return Some(Flow { rule: Rule::UndeclaredRecipient, group: group(Rule::UndeclaredRecipient), explanation, activities: Vec::new() });
    }
    let safe = |(a, r): &(&Activity, &Recipient)| match r.third_country() {
        None => true,
        Some(country) => r.0.safeguard.is_some() || a.transfer_to(country).is_some(),
    };
    if declared.iter().any(safe) {
        return None;
    }
    let who: Vec<String> = declared.iter().map(|(a, r)| describe(a, r)).collect();
    let explanation = format!(
        "{seen} It was sent to `{host}`, which the register declares as {}: a country outside the EU/EEA, and neither the recipient nor its activity declares a safeguard for it (adequacy decision, standard contractual clauses, binding corporate rules or a derogation). Declare the safeguard (`safeguard` of the recipient, or `transfers` of the activity), or stop the transfer (Chapter V).",
        who.join("; ")
    );
    let mut activities: Vec<&Activity> = declared.iter().map(|(a, _)| *a).collect();
    activities.dedup_by(|x, y| x.id == y.id);
    Some(Flow { rule: Rule::TransferWithoutSafeguard, group: group(Rule::TransferWithoutSafeguard), explanation, activities })
}
