//! The collector's correlation policy: which rules run at which severity, where hosts are,
//! which places count as exposed, and how incidents gather verdicts.

use super::rule::{Rule, Severity};
use globset::{Glob, GlobMatcher};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

/// The collector's correlation policy: which rules run at which severity, and where hosts are.
#[derive(Debug, Clone)]
pub struct Policy {
    rules: HashMap<Rule, (bool, Severity)>,
    agent_locations: BTreeMap<String, String>,
    host_locations: Vec<(GlobMatcher, String)>,
    exposed: ExposedPlaces,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            rules: Rule::ALL.iter().map(|r| (*r, (true, r.default_severity()))).collect(),
            agent_locations: BTreeMap::new(),
            host_locations: Vec::new(),
            exposed: ExposedPlaces::new(&ExposedPlaces::defaults()).unwrap_or_default(),
        }
    }
}

impl Policy {
    /// The policy of a configuration (already validated by [`crate::config::CollectorConfig::load`]).
    pub fn new(rules: &BTreeMap<String, RuleSetting>, locations: &Locations) -> Policy {
        let mut p = Policy::default();
        for (id, s) in rules {
            if let Some(rule) = Rule::from_id(id) {
                let entry = p.rules.entry(rule).or_insert((true, rule.default_severity()));
                if let Some(e) = s.enabled {
                    entry.0 = e;
                }
                if let Some(sev) = s.severity.as_deref().and_then(Severity::parse) {
                    entry.1 = sev;
                }
            }
        }
        p.agent_locations = locations.agents.iter().map(|(k, v)| (k.clone(), v.to_ascii_uppercase())).collect();
        p.host_locations = locations.hosts.iter().filter_map(|(g, c)| Some((Glob::new(g).ok()?.compile_matcher(), c.to_ascii_uppercase()))).collect();
        p
    }

    /// Whether a rule runs, and at which severity.
    pub fn rule(&self, r: Rule) -> (bool, Severity) {
        self.rules.get(&r).copied().unwrap_or((true, r.default_severity()))
    }

    /// The places the `exposed_place` rule watches (`exposed_places` in the configuration,
    /// already checked by [`crate::config::CollectorConfig::load`]; the defaults otherwise).
    pub fn with_exposed_places(mut self, globs: &[String]) -> Policy {
        if let Ok(e) = ExposedPlaces::new(globs) {
            self.exposed = e;
        }
        self
    }

    /// The exposed place a locator is in, if any: `web root`, `share` or `temporary directory`.
    pub fn exposed_place(&self, locator: &str, file_at_rest: bool) -> Option<&'static str> {
        self.exposed.place(locator, file_at_rest)
    }

    /// The country of a host, if the configuration says.
    pub fn location(&self, agent_id: &str, host: &str) -> Option<&str> {
        self.agent_locations.get(agent_id).map(String::as_str).or_else(|| self.host_locations.iter().find(|(g, _)| g.is_match(host)).map(|(_, c)| c.as_str()))
    }
}

/// Settings of one correlation rule.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RuleSetting {
    /// Off disables the rule.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Overrides the rule's default severity (`low`, `medium`, `high`, `critical`).
    #[serde(default)]
    pub severity: Option<String>,
}

/// Where hosts are: the collector-side mapping to country codes.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Locations {
    /// Agent id → ISO alpha-2 country.
    #[serde(default)]
    pub agents: BTreeMap<String, String>,
    /// Host glob → ISO alpha-2 country (first match in key order).
    #[serde(default)]
    pub hosts: BTreeMap<String, String>,
}

/// What correlation needs besides the register: the policy, and how incidents gather verdicts.
#[derive(Debug, Clone)]
pub struct CorrelationSettings {
    /// Rules, severities, host locations and exposed places.
    pub policy: Policy,
    /// A breach incident gathers the findings of its event for at most this long after it
    /// opened (`incident_window_hours`).
    pub window_ms: i64,
    /// A breach event that is quiet for longer than this and starts again is a new event, and a
    /// new incident (`breach_quiet_gap_minutes`).
    pub quiet_gap_ms: i64,
    /// How long the DPO has to fix a compliance item (`compliance_due_days`).
    pub compliance_due_ms: i64,
}

impl Default for CorrelationSettings {
    fn default() -> Self {
        CorrelationSettings { policy: Policy::default(), window_ms: 24 * 3_600_000, quiet_gap_ms: 3_600_000, compliance_due_ms: 30 * 86_400_000 }
    }
}

/// The places where personal data is exposed: globs over locators (paths), by kind.
#[derive(Debug, Clone, Default)]
struct ExposedPlaces {
    /// (kind, matcher, applies to data files only — not to logs being written there).
    globs: Vec<(&'static str, GlobMatcher, bool)>,
}

impl ExposedPlaces {
    /// The default places: web roots and shares for any source; files directly in a temporary
    /// directory for data files found by scans (where a `COPY … TO '/tmp/x.csv'` lands), not
    /// for logs an application writes there.
    fn defaults() -> Vec<String> {
        [
            "web root=/var/www/html/**",
            "web root=/srv/www/htdocs/**",
            "web root=/usr/share/nginx/html/**",
            "web root=**/public_html/**",
            "web root=**/htdocs/**",
            "web root=**/wwwroot/**",
            "share=/srv/share*/**",
            "share=/srv/samba/**",
            "share=/mnt/share*/**",
            "share=**/smb/**",
            "share=**/nfs-share/**",
            "temporary directory=/tmp/*",
            "temporary directory=/var/tmp/*",
            "temporary directory=/dev/shm/*",
        ]
        .map(String::from)
        .to_vec()
    }

    /// Parses `kind=glob` entries (`web root`, `share`, `temporary directory`; a bare glob is a
    /// web root). The error names the entry.
    fn new(entries: &[String]) -> Result<ExposedPlaces, String> {
        let mut globs = Vec::new();
        for e in entries {
            let (kind, glob) = match e.split_once('=') {
                Some(("web root", g)) => ("web root", g),
                Some(("share", g)) => ("share", g),
                Some(("temporary directory", g)) => ("temporary directory", g),
                Some((k, _)) => {
                    return Err(format!("`{e}`: `{k}` is not a kind of exposed place; use `web root=GLOB`, `share=GLOB` or `temporary directory=GLOB`"));
                }
                None => ("web root", e.as_str()),
            };
            let m = globset::GlobBuilder::new(glob).literal_separator(true).build().map_err(|err| format!("`{e}`: bad glob: {err}"))?.compile_matcher();
            globs.push((kind, m, kind == "temporary directory"));
        }
        Ok(ExposedPlaces { globs })
    }

    fn place(&self, locator: &str, file_at_rest: bool) -> Option<&'static str> {
        self.globs.iter().find(|(_, m, data_only)| (file_at_rest || !*data_only) && m.is_match(locator)).map(|(k, _, _)| *k)
    }
}

/// Checks the `exposed_places` setting; the error names the bad entry.
pub fn check_exposed_places(entries: &[String]) -> Result<(), String> {
    ExposedPlaces::new(entries).map(|_| ())
}
