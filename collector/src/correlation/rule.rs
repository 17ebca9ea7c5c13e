//! The correlation rules, how serious their verdicts are, and which kind of incident each opens.

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

/// The two kinds of incident, which the DPO handles differently.
///
/// - A **breach** is a possible personal-data breach (Art. 4(12)): the Art. 33 clock runs from
///   awareness, it goes to the breach register, its notification draft is the Art. 33 form.
/// - A **compliance** item is a gap between the register and reality (Art. 5, 30): undeclared
///   processing, an undeclared category, data kept too long, data in a country the activity does
///   not allow. It has a due date, no clock, and becomes a breach only when the DPO promotes it
///   (data was exposed or accessed without authority).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IncidentKind {
    /// A possible personal-data breach.
    Breach,
    /// A register gap to fix.
    Compliance,
}

impl IncidentKind {
    /// `breach` or `compliance`, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentKind::Breach => "breach",
            IncidentKind::Compliance => "compliance",
        }
    }

    /// Parses [`IncidentKind::as_str`].
    pub fn parse(s: &str) -> Option<IncidentKind> {
        [IncidentKind::Breach, IncidentKind::Compliance].into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for IncidentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The correlation rules. Their ids are stored with incidents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// Personal data on a system no activity covers: an undeclared processing.
    UndeclaredSystem,
    /// Personal data of a category the covering activities do not declare.
    UndeclaredCategory,
    /// Records older than the retention the register declares for their category.
    RetentionExceeded,
    /// Personal data on a host whose country the activity does not allow (a transfer).
    UnallowedLocation,
    /// An export anomaly on a host holding personal data: a possible breach in progress.
    ExportAnomaly,
    /// Personal data in a place others can reach: a web root, a file share, a temporary
    /// directory.
    ExposedPlace,
    /// Data of a person whose erasure the DPO recorded (Art. 17), seen after the erasure: the
    /// deletion did not happen, or the data came back (a restored backup, a copy).
    ErasedSubjectSeen,
    /// Personal data sent to a host no recipient or processor of the register names (an
    /// undeclared disclosure, Art. 30(1)(d)).
    UndeclaredRecipient,
    /// Personal data sent to a declared recipient in a country outside the EU/EEA without a
    /// declared safeguard (Chapter V).
    TransferWithoutSafeguard,
}

impl Rule {
    /// Every rule.
    pub const ALL: [Rule; 9] = [
        Rule::UndeclaredSystem,
        Rule::UndeclaredCategory,
        Rule::RetentionExceeded,
        Rule::UnallowedLocation,
        Rule::ExportAnomaly,
        Rule::ExposedPlace,
        Rule::ErasedSubjectSeen,
        Rule::UndeclaredRecipient,
        Rule::TransferWithoutSafeguard,
    ];

    /// Stable id.
    pub fn id(self) -> &'static str {
        match self {
            Rule::UndeclaredSystem => "undeclared_system",
            Rule::UndeclaredCategory => "undeclared_category",
            Rule::RetentionExceeded => "retention_exceeded",
            Rule::UnallowedLocation => "unallowed_location",
            Rule::ExportAnomaly => "export_anomaly",
            Rule::ExposedPlace => "exposed_place",
            Rule::ErasedSubjectSeen => "erased_subject_seen",
            Rule::UndeclaredRecipient => "undeclared_recipient",
            Rule::TransferWithoutSafeguard => "transfer_without_safeguard",
        }
    }

    /// Parses [`Rule::id`].
    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.id() == id)
    }

    /// Title shown to humans.
    pub fn title(self) -> &'static str {
        match self {
            Rule::UndeclaredSystem => "Register gap: personal data on a system no processing activity covers",
            Rule::UndeclaredCategory => "Register gap: undeclared category of personal data",
            Rule::RetentionExceeded => "Retention overdue: personal data kept past the declared period",
            Rule::UnallowedLocation => "Register gap: personal data in a country the activity does not allow",
            Rule::ExportAnomaly => "Possible personal-data breach: anomalous export from a system holding personal data",
            Rule::ExposedPlace => "Possible personal-data breach: personal data in an exposed place",
            Rule::ErasedSubjectSeen => "Possible personal-data breach: an erased person's data seen again",
            Rule::UndeclaredRecipient => "Register gap: personal data sent to a recipient the register does not declare",
            Rule::TransferWithoutSafeguard => "Register gap: personal data sent outside the EU/EEA without a declared safeguard",
        }
    }

    /// Default severity.
    pub fn default_severity(self) -> Severity {
        match self {
            Rule::UndeclaredSystem | Rule::UndeclaredCategory => Severity::Medium,
            Rule::RetentionExceeded
            | Rule::UnallowedLocation
            | Rule::ExposedPlace
            | Rule::ErasedSubjectSeen
            | Rule::UndeclaredRecipient
            | Rule::TransferWithoutSafeguard => Severity::High,
            Rule::ExportAnomaly => Severity::Critical,
        }
    }

    /// The kind of incident the rule opens.
    pub fn kind(self) -> IncidentKind {
        match self {
            Rule::ExportAnomaly | Rule::ExposedPlace | Rule::ErasedSubjectSeen => IncidentKind::Breach,
            Rule::UndeclaredSystem
            | Rule::UndeclaredCategory
            | Rule::RetentionExceeded
            | Rule::UnallowedLocation
            | Rule::UndeclaredRecipient
            | Rule::TransferWithoutSafeguard => IncidentKind::Compliance,
        }
    }
}
