//! The rate of personal-data findings per source: `finding_rate`.
//!
//! A log that usually shows a handful of e-mail addresses a minute and suddenly shows
//! thousands is being used to dump data (a debug flag left on, a loop printing the customer
//! table). Findings are counted per source and window; when a window closes, its count is
//! compared with the source's [`Baseline`] of past windows (after the warm-up) and with the
//! absolute floor `finding_rate_min`. A spike is not added to the baseline, so a long dump
//! keeps firing window after window.

use super::baseline::Baseline;
use super::signal::Anomaly;
use crate::config::AnomalyConfig;
use std::collections::HashMap;

/// Counts findings per source and window.
pub struct FindingRate {
    config: AnomalyConfig,
    window_start: Option<i64>,
    current: HashMap<String, u64>,
    baselines: HashMap<String, Baseline>,
}

impl FindingRate {
    /// A counter with these thresholds.
    pub fn new(config: AnomalyConfig) -> Self {
        FindingRate { config, window_start: None, current: HashMap::new(), baselines: HashMap::new() }
    }

    /// Adds `n` findings of `source` observed at `now_s`.
    pub fn record(&mut self, source: &str, n: u64, now_s: i64, out: &mut Vec<(String, Anomaly)>) {
        self.tick(now_s, out);
        self.baselines.entry(source.to_string()).or_insert_with(|| Baseline::new(self.config.history, self.config.warmup));
        *self.current.entry(source.to_string()).or_default() += n;
    }

    /// Closes the window when it has ended by `now_s`; sources without findings count 0.
    pub fn tick(&mut self, now_s: i64, out: &mut Vec<(String, Anomaly)>) {
        let window = self.config.window_s as i64;
        let start = *self.window_start.get_or_insert(now_s);
        if now_s - start < window {
            return;
        }
        let mut sources: Vec<&String> = self.baselines.keys().collect();
        sources.sort();
        let mut pushes = Vec::new();
        for s in sources {
            let n = self.current.get(s).copied().unwrap_or(0);
            let Some(b) = self.baselines.get(s) else { continue };
            let mut b = b.clone();
            match b.threshold(self.config.sensitivity) {
                Some((median, t)) if n as f64 > t && n >= self.config.finding_rate_min => {
                    out.push((
                        s.clone(),
                        Anomaly {
                            heuristic: "finding_rate",
                            observed: n,
                            baseline: Some(median),
                            threshold: t.max(self.config.finding_rate_min as f64),
                            actor: None,
                            detail: format!("personal-data findings in {window} s"),
                            confidence: 0.6,
                        },
                    ));
                }
                _ => pushes.push((s.clone(), n)),
            }
        }
        for (s, n) in pushes {
            if let Some(b) = self.baselines.get_mut(&s) {
                b.push(n as f64);
            }
        }
        self.current.clear();
        // Quiet windows in between count as zero findings, up to the history length.
        let skipped = ((now_s - start) / window - 1).clamp(0, self.config.history as i64);
        for b in self.baselines.values_mut() {
            for _ in 0..skipped {
                b.push(0.0);
            }
        }
        self.window_start = Some(now_s - (now_s - start) % window);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steady(r: &mut FindingRate, out: &mut Vec<(String, Anomaly)>, windows: i64) {
        for w in 0..windows {
            for i in 0..(5 + w % 4) {
                r.record("/var/log/app.log", 1, w * 60 + i, out);
            }
        }
    }

    #[test]
    fn steady_findings_are_quiet_and_warm_up_is_silent() {
        let mut r = FindingRate::new(AnomalyConfig::default());
        let mut out = Vec::new();
        // A burst during warm-up (no baseline yet) says nothing.
        r.record("/var/log/app.log", 5000, 0, &mut out);
        steady(&mut r, &mut out, 60);
        r.tick(60 * 60, &mut out);
        assert!(out.is_empty(), "{:?}", out.iter().map(|(_, a)| a).collect::<Vec<_>>());
    }

    #[test]
    fn a_spike_far_above_the_sources_baseline_fires() {
        let mut r = FindingRate::new(AnomalyConfig::default());
        let mut out = Vec::new();
        steady(&mut r, &mut out, 30);
        r.record("/var/log/app.log", 2400, 30 * 60 + 1, &mut out);
        r.tick(31 * 60, &mut out);
        assert_eq!(out.len(), 1);
        let (source, a) = &out[0];
        assert_eq!((source.as_str(), a.heuristic, a.observed), ("/var/log/app.log", "finding_rate", 2400));
        assert!(a.baseline.is_some_and(|b| b < 10.0));
    }
}
