//! Correlation: a finding checked against the register becomes a verdict, with its reasons.
//!
//! Every verdict carries a human-readable explanation that names the finding, the system, the
//! data category and the register entries that were considered, because the DPO has to justify
//! each decision to a supervisory authority.

use crate::register::Register;
use custos_rules::Category;
use std::fmt;

/// How serious a verdict is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth a look.
    Low,
    /// A register gap to fix.
    Medium,
    /// Likely a breach or special-category data out of place.
    High,
    /// Possible breach in progress.
    Critical,
}

impl Severity {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
    /// Parses [`Severity::as_str`] forms.
    pub fn parse(s: &str) -> Option<Severity> {
        [Severity::Low, Severity::Medium, Severity::High, Severity::Critical].into_iter().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The correlation rules. Their ids are stored with incidents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// Personal data of a category that no activity declares for the system where it was found
    /// (including systems no activity covers at all).
    UndeclaredPersonalData,
}

impl Rule {
    /// Stable id.
    pub fn id(self) -> &'static str {
        match self {
            Rule::UndeclaredPersonalData => "undeclared_personal_data",
        }
    }
    /// Title shown to humans.
    pub fn title(self) -> &'static str {
        match self {
            Rule::UndeclaredPersonalData => "Undeclared personal data",
        }
    }
}

/// What correlation needs to know about a finding (never a raw value).
#[derive(Debug, Clone)]
pub struct FindingFacts<'a> {
    /// Finding id.
    pub id: &'a str,
    /// Agent that saw it.
    pub agent_id: &'a str,
    /// Host.
    pub host: &'a str,
    /// Path or table locator.
    pub locator: &'a str,
    /// Detector id.
    pub detector: &'a str,
    /// Data category.
    pub category: Category,
    /// Special category?
    pub special: bool,
    /// Masked preview.
    pub preview: &'a str,
}

impl FindingFacts<'_> {
    /// The system as incidents name it: `host:locator`.
    pub fn system(&self) -> String {
        format!("{}:{}", self.host, self.locator)
    }
}

/// The outcome of correlating one finding.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// Rule that fired.
    pub rule: Rule,
    /// Severity.
    pub severity: Severity,
    /// `host:locator`.
    pub system: String,
    /// Category at stake.
    pub category: Category,
    /// Why, in words, naming the finding and the register entries considered.
    pub explanation: String,
    /// Ids of the activities considered (those covering the system).
    pub activities: Vec<String>,
}

/// Checks a finding against the register. `None` when it is declared (nothing to flag).
pub fn correlate(f: &FindingFacts<'_>, register: &Register) -> Option<Verdict> {
    let covering = register.covering(f.agent_id, f.host, f.locator);
    if covering.iter().any(|a| a.data_categories.contains(&f.category)) {
        return None;
    }
    let system = f.system();
    let special = if f.special { " — a special category (Art. 9/10)" } else { "" };
    let seen = format!(
        "Personal data of category `{}`{special} was found on {system} by agent `{}` (detector `{}`, preview `{}`, finding {}).",
        f.category, f.agent_id, f.detector, f.preview, f.id
    );
    let why = if covering.is_empty() {
        let considered: Vec<String> = register.activities.iter().map(|a| format!("«{}» ({})", a.name, a.id)).collect();
        if considered.is_empty() {
            format!(" The register ({}) declares no processing activity at all.", register.source)
        } else {
            format!(
                " No processing activity of the register ({}) covers this system; activities considered: {}. Either the register misses an activity for this system, or the data should not be there.",
                register.source,
                considered.join(", ")
            )
        }
    } else {
        let declared: Vec<String> = covering
            .iter()
            .map(|a| {
                let cats: Vec<&str> = a.data_categories.iter().map(|c| c.as_str()).collect();
                format!("«{}» ({}) declares [{}]", a.name, a.id, cats.join(", "))
            })
            .collect();
        format!(
            " Activities covering this system: {}; none declares `{}`. Declare it in the register if this processing is legitimate, otherwise remove the data.",
            declared.join("; "),
            f.category
        )
    };
    Some(Verdict {
        rule: Rule::UndeclaredPersonalData,
        severity: if f.special { Severity::High } else { Severity::Medium },
        system,
        category: f.category,
        explanation: seen + &why,
        activities: covering.iter().map(|a| a.id.clone()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn register() -> Register {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.toml");
        std::fs::write(
            &p,
            "[controller]\nname='X'\n[[activity]]\nid='accounts'\nname='Customer accounts'\nlegal_basis='contract'\ndata_categories=['contact']\n[[activity.system]]\npaths=['/var/log/app/*.log']\n",
        )
        .unwrap();
        Register::load(&p).unwrap()
    }

    fn facts(locator: &str, category: Category) -> FindingFacts<'_> {
        FindingFacts { id: "f1", agent_id: "a", host: "web-01", locator, detector: "x", category, special: category.is_special(), preview: "j***" }
    }

    #[test]
    fn declared_category_on_covered_system_is_quiet() {
        assert!(correlate(&facts("/var/log/app/a.log", Category::Contact), &register()).is_none());
    }

    #[test]
    fn undeclared_category_names_the_covering_activity() {
        let v = correlate(&facts("/var/log/app/a.log", Category::Financial), &register()).unwrap();
        assert_eq!(v.rule, Rule::UndeclaredPersonalData);
        assert!(v.explanation.contains("Customer accounts"), "{}", v.explanation);
        assert!(v.explanation.contains("financial"), "{}", v.explanation);
        assert!(v.explanation.contains("web-01:/var/log/app/a.log"), "{}", v.explanation);
        assert_eq!(v.activities, vec!["accounts".to_string()]);
    }

    #[test]
    fn uncovered_system_lists_activities_considered() {
        let v = correlate(&facts("/srv/export.csv", Category::Contact), &register()).unwrap();
        assert!(v.explanation.contains("No processing activity"), "{}", v.explanation);
        assert!(v.activities.is_empty());
    }

    #[test]
    fn special_category_is_high_severity() {
        let v = correlate(&facts("/var/log/app/a.log", Category::Health), &register()).unwrap();
        assert_eq!(v.severity, Severity::High);
    }
}
