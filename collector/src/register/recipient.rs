//! Recipients and processors (Art. 30(1)(d) and (e), Art. 28), and the hosts that are theirs.
//!
//! An activity's `recipients` were names only (`recipients = ["customer support"]`), which is
//! what Art. 30 asks for but nothing a machine can check. A recipient may now also say where
//! its data goes and under which safeguard, so that the destinations agents see in outbound
//! requests (`destination_host` evidence, see the agent's `egress` watch) can be matched:
//!
//! ```toml
//! recipients = [
//!   "customer support",                                                  # a name, as before
//!   { name = "Mailjet", role = "processor", hosts = ["mailjet.com"], country = "FR" },
//!   { name = "Analytics Inc", hosts = ["*.analytics.example"], country = "US", safeguard = "scc" },
//! ]
//! ```
//!
//! A host `vendor.example` matches the host itself and every subdomain (`pixel.vendor.example`);
//! a glob (`*.vendor.example`, `api-?.vendor.example`) matches as a glob. Case and a trailing
//! dot do not matter. In CSV/XLSX registers a recipient cell reads
//! `Analytics Inc [*.analytics.example cdn.example | US | scc]` (hosts, country, safeguard and
//! optionally `processor`: `Mailer [mailer.example | FR | | processor]`; see
//! [`Recipient::parse_cell`]).
//!
//! A recipient in a country outside the EU/EEA needs a safeguard (Chapter V): its own
//! `safeguard`, or a transfer of the activity to that country (`transfers`).

use serde::{Deserialize, Serialize};

/// Safeguard for a transfer outside the EU/EEA (Art. 45–49).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Safeguard {
    /// Art. 45 adequacy decision.
    Adequacy,
    /// Art. 46(2)(c) standard contractual clauses.
    Scc,
    /// Art. 47 binding corporate rules.
    Bcr,
    /// Art. 49 derogation for specific situations.
    Derogation,
}

impl Safeguard {
    /// Parses `adequacy`, `scc`, `bcr` or `derogation`.
    pub fn parse(s: &str) -> Option<Safeguard> {
        match s.trim().to_lowercase().as_str() {
            "adequacy" => Some(Safeguard::Adequacy),
            "scc" => Some(Safeguard::Scc),
            "bcr" => Some(Safeguard::Bcr),
            "derogation" => Some(Safeguard::Derogation),
            _ => None,
        }
    }
}

/// The EU and EEA member states (ISO alpha-2).
pub const EU_EEA: &[&str] = &[
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES",
    "SE", "IS", "LI", "NO",
];

/// What a recipient is to the controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RecipientRole {
    /// A third party the data is disclosed to (Art. 4(9)).
    #[default]
    Recipient,
    /// A processor acting on the controller's behalf (Art. 4(8), Art. 28).
    Processor,
}

impl RecipientRole {
    /// `recipient` or `processor`.
    pub fn as_str(self) -> &'static str {
        match self {
            RecipientRole::Recipient => "recipient",
            RecipientRole::Processor => "processor",
        }
    }
}

/// A recipient or processor of an activity's data, as the register declares it.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct RecipientSpec {
    /// Name as the DPO knows it.
    pub name: String,
    /// Recipient or processor.
    #[serde(default)]
    pub role: RecipientRole,
    /// Host names (each also covers its subdomains) or globs its data is sent to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    /// Country where it processes the data (ISO alpha-2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// The safeguard of a transfer outside the EU/EEA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safeguard: Option<Safeguard>,
}

/// An entry of `recipients`: a name alone (what registers said before) or a table.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipient(pub RecipientSpec);

impl Recipient {
    /// A recipient known by its name only.
    pub fn named(name: impl Into<String>) -> Recipient {
        Recipient(RecipientSpec { name: name.into(), ..Default::default() })
    }

    /// Whether a destination host is this recipient's (the host or a subdomain of a declared
    /// name, or a match of a declared glob). A loaded register keeps the patterns compiled
    /// ([`super::Register::recipients_of_host`]); this compiles them each time.
    pub fn matches_host(&self, host: &str) -> bool {
        let host = normalise_host(host);
        self.patterns().iter().any(|p| p.matches(&host))
    }

    /// Its host patterns, compiled (a pattern that is not a valid glob matches nothing; the
    /// register check refuses it).
    pub fn patterns(&self) -> Vec<HostPattern> {
        self.0.hosts.iter().filter_map(|h| HostPattern::new(h)).collect()
    }

    /// The recipient as the Art. 33 draft names it: `Name`, or `Name (processor, US, scc)`.
    pub fn describe(&self) -> String {
        let r = &self.0;
        let mut facts = Vec::new();
        if r.role == RecipientRole::Processor {
            facts.push("processor".to_string());
        }
        facts.extend(r.country.clone());
        facts.extend(r.safeguard.map(|s| format!("{s:?}").to_lowercase()));
        if facts.is_empty() { r.name.clone() } else { format!("{} ({})", r.name, facts.join(", ")) }
    }

    /// Whether its country is outside the EU/EEA (unknown countries are not judged).
    pub fn third_country(&self) -> Option<&str> {
        let c = self.0.country.as_deref()?;
        (!EU_EEA.contains(&c.to_ascii_uppercase().as_str())).then_some(c)
    }

    /// Parses a table cell: `Name`, or `Name [host host | CC | safeguard | role]` (each part
    /// optional, hosts separated by spaces or commas).
    pub fn parse_cell(cell: &str) -> Result<Recipient, String> {
        let cell = cell.trim();
        let Some((name, rest)) = cell.split_once('[') else { return Ok(Recipient::named(cell)) };
        let Some(inside) = rest.trim_end().strip_suffix(']') else {
            return Err(format!("`{cell}` must read NAME [HOSTS | COUNTRY | SAFEGUARD], with the closing `]`"));
        };
        let mut parts = inside.split('|').map(str::trim);
        let hosts = parts.next().unwrap_or("").split([' ', ',']).filter(|h| !h.is_empty()).map(str::to_string).collect();
        let country = parts.next().filter(|c| !c.is_empty()).map(str::to_uppercase);
        let safeguard = match parts.next().filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(Safeguard::parse(s).ok_or_else(|| format!("`{s}` is not a safeguard; use adequacy, scc, bcr or derogation"))?),
        };
        let role = match parts.next().map(|r| r.to_ascii_lowercase()).as_deref() {
            None | Some("") | Some("recipient") => RecipientRole::Recipient,
            Some("processor") => RecipientRole::Processor,
            Some(other) => return Err(format!("`{other}` is not a role; use recipient or processor")),
        };
        if parts.next().is_some() {
            return Err(format!("`{cell}` has more than four parts in brackets: HOSTS | COUNTRY | SAFEGUARD | ROLE"));
        }
        Ok(Recipient(RecipientSpec { name: name.trim().to_string(), role, hosts, country, safeguard }))
    }

    /// The problems of this entry: `(field, reason)`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let r = &self.0;
        if r.name.trim().is_empty() {
            out.push(("name", "every recipient needs a name".to_string()));
        }
        for h in &r.hosts {
            let n = normalise_host(h);
            let plausible = !n.is_empty()
                && n.len() <= 253
                && n.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._*?[]:".contains(&b))
                && (!n.contains(['*', '?', '[']) || globset::Glob::new(&n).is_ok());
            if !plausible {
                out.push(("hosts", format!("`{h}` is not a host name or glob (e.g. `vendor.example` or `*.vendor.example`)")));
            }
        }
        if let Some(c) = &r.country
            && !(c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()))
        {
            out.push(("country", format!("`{c}` is not a two-letter country code")));
        }
        out
    }
}

/// One host pattern of a recipient: a name (covering its subdomains) or a glob.
#[derive(Debug, Clone)]
pub enum HostPattern {
    /// `vendor.example`: itself and `*.vendor.example`.
    Name(String),
    /// `*.vendor.example`, `api-?.vendor.example`.
    Glob(globset::GlobMatcher),
}

impl HostPattern {
    /// The pattern of a declared host (`None`: not a valid glob).
    pub fn new(pattern: &str) -> Option<HostPattern> {
        let pattern = normalise_host(pattern);
        if pattern.contains(['*', '?', '[']) {
            globset::Glob::new(&pattern).ok().map(|g| HostPattern::Glob(g.compile_matcher()))
        } else {
            Some(HostPattern::Name(pattern))
        }
    }

    /// Whether a normalised host ([`normalise_host`]) matches.
    pub fn matches(&self, host: &str) -> bool {
        match self {
            HostPattern::Name(name) => host == name || host.strip_suffix(name.as_str()).is_some_and(|p| p.ends_with('.')),
            HostPattern::Glob(g) => g.is_match(host),
        }
    }
}

/// The destination host of a finding as the collector keeps it, from the agent's
/// `destination_host` evidence: normalised ([`normalise_host`]), without control characters,
/// at most 253 characters (a host name's limit: a hostile agent cannot make it longer); `None`
/// when empty.
pub fn destination_host(evidence: &std::collections::BTreeMap<String, String>) -> Option<String> {
    let raw = evidence.get("destination_host")?;
    let host: String = normalise_host(raw).chars().filter(|c| !c.is_control()).take(253).collect();
    (!host.is_empty()).then_some(host)
}

/// A host compared: lower-case, without a trailing dot.
pub fn normalise_host(host: &str) -> String {
    host.trim().trim_end_matches('.').to_ascii_lowercase()
}

impl Serialize for Recipient {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = &self.0;
        if r.role == RecipientRole::Recipient && r.hosts.is_empty() && r.country.is_none() && r.safeguard.is_none() {
            s.serialize_str(&r.name)
        } else {
            r.serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for Recipient {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Recipient, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Recipient;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a name, or a table with name, role, hosts, country and safeguard")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Recipient, E> {
                Ok(Recipient::named(v))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Recipient, A::Error> {
                RecipientSpec::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Recipient)
            }
        }
        d.deserialize_any(Visit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_covers_its_subdomains_and_globs_match_as_globs() {
        let r = Recipient(RecipientSpec { name: "V".into(), hosts: vec!["Vendor.Example.".into(), "*.cdn.example".into()], ..Default::default() });
        assert!(r.matches_host("vendor.example"));
        assert!(r.matches_host("pixel.VENDOR.example."));
        assert!(!r.matches_host("evilvendor.example"));
        assert!(!r.matches_host("vendor.example.evil.test"));
        let ev = |h: &str| [("destination_host".to_string(), h.to_string())].into_iter().collect();
        assert_eq!(destination_host(&ev(" Pixel.Example. ")).as_deref(), Some("pixel.example"));
        assert_eq!(destination_host(&ev(&format!("a\u{1b}{}", "b".repeat(5000)))).map(|h| h.len()), Some(253));
        assert_eq!(destination_host(&ev("")), None);
        assert!(r.matches_host("img.cdn.example"));
        assert!(!r.matches_host("cdn.example"));
        assert!(!Recipient::named("support").matches_host("vendor.example"));
    }

    #[test]
    fn table_cells_name_hosts_country_and_safeguard() {
        assert_eq!(Recipient::parse_cell("customer support").unwrap(), Recipient::named("customer support"));
        let r = Recipient::parse_cell("Analytics Inc [*.analytics.example, cdn.example | us | scc]").unwrap();
        assert_eq!(r.0.name, "Analytics Inc");
        assert_eq!(r.0.hosts, vec!["*.analytics.example", "cdn.example"]);
        assert_eq!(r.0.country.as_deref(), Some("US"));
        assert_eq!(r.0.safeguard, Some(Safeguard::Scc));
        assert_eq!(Recipient::parse_cell("X [a.example]").unwrap().0.country, None);
        assert!(Recipient::parse_cell("X [a.example | US | pinky-promise]").unwrap_err().contains("not a safeguard"));
        assert!(Recipient::parse_cell("X [a.example | US").unwrap_err().contains("closing"));
        assert_eq!(Recipient::parse_cell("M [m.example | FR | | processor]").unwrap().0.role, RecipientRole::Processor);
        assert!(Recipient::parse_cell("X [a | b | scc | boss]").unwrap_err().contains("not a role"));
        assert!(Recipient::parse_cell("X [a | b | scc | processor | e]").unwrap_err().contains("four parts"));
    }

    #[test]
    fn third_countries_are_those_outside_the_eu_eea() {
        let at = |c: &str| Recipient(RecipientSpec { name: "V".into(), country: Some(c.into()), ..Default::default() });
        assert_eq!(at("us").third_country(), Some("us"));
        assert_eq!(at("FR").third_country(), None);
        assert_eq!(at("NO").third_country(), None);
        assert_eq!(Recipient::named("x").third_country(), None);
    }

    #[test]
    fn names_and_tables_read_and_write_back_alike() {
        #[derive(Debug, Deserialize, Serialize)]
        struct A {
            recipients: Vec<Recipient>,
        }
        let text = "recipients = [\"support\", { name = \"V\", role = \"processor\", hosts = [\"v.example\"], country = \"US\", safeguard = \"bcr\" }]\n";
        let a: A = toml::from_str(text).unwrap();
        assert_eq!(a.recipients[0], Recipient::named("support"));
        assert_eq!(a.recipients[1].0.role, RecipientRole::Processor);
        let back: A = toml::from_str(&toml::to_string(&a).unwrap()).unwrap();
        assert_eq!(back.recipients, a.recipients);
        let unknown = toml::from_str::<A>("recipients = [{ name = \"V\", hostz = [\"v.example\"] }]\n").unwrap_err().to_string();
        assert!(unknown.contains("hostz"), "{unknown}");
        let problems = Recipient(RecipientSpec { name: " ".into(), hosts: vec!["a b".into()], country: Some("USA".into()), ..Default::default() }).problems();
        assert_eq!(problems.iter().map(|p| p.0).collect::<Vec<_>>(), vec!["name", "hosts", "country"]);
    }
}
