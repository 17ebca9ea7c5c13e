//! What a heuristic reports: one anomaly — what, who, how much, against what.

use std::collections::BTreeMap;

/// One anomaly: what, who, how much, against what.
#[derive(Debug, Clone, PartialEq)]
pub struct Anomaly {
    /// Heuristic name (the finding's detector id).
    pub heuristic: &'static str,
    /// Observed figure (rows, bytes, requests, findings, distinct values; 1 for a statement).
    pub observed: u64,
    /// Baseline the figure was compared with, when there is one.
    pub baseline: Option<f64>,
    /// Threshold that was crossed.
    pub threshold: f64,
    /// User or client address, when the log says.
    pub actor: Option<String>,
    /// Statement kind, endpoint or place; never a value.
    pub detail: String,
    /// Confidence in [0, 1].
    pub confidence: f32,
}

impl Anomaly {
    /// The evidence map, with the keys of the finding evidence contract.
    pub fn evidence(&self) -> BTreeMap<String, String> {
        let mut e = BTreeMap::new();
        e.insert("anomaly".into(), self.heuristic.to_string());
        e.insert("observed".into(), self.observed.to_string());
        if let Some(b) = self.baseline {
            e.insert("baseline".into(), format!("{b:.1}"));
        }
        e.insert("threshold".into(), format!("{:.1}", self.threshold));
        if let Some(a) = &self.actor {
            e.insert("actor".into(), a.clone());
        }
        e.insert("detail".into(), self.detail.clone());
        e
    }
}
