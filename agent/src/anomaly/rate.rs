//! The rate of personal-data findings in one log: `finding_rate`.
//!
//! A log that usually shows a handful of e-mail addresses a minute and suddenly shows
//! thousands is being used to dump data (a debug flag left on, a loop printing the customer
//! table). Findings are counted per window of event time ([`Windows`]); when a window closes,
//! its count is compared with the log's [`Baseline`] of past windows (after the warm-up) and
//! with the absolute floor `finding_rate_min`. A spike is not added to the baseline, so a long
//! dump keeps firing window after window; windows without any line count as zero.

use super::baseline::Baseline;
use super::clock::Windows;
use super::signal::{Anomaly, ExportEvent, Origin};
use crate::config::AnomalyConfig;

/// Counts the findings of one log per window.
pub struct FindingRate {
    config: AnomalyConfig,
    path: String,
    windows: Windows<u64>,
    baseline: Baseline,
    last_closed: Option<i64>,
    closed: Vec<(i64, u64)>,
}

impl FindingRate {
    /// A counter for the log at `path`, with these thresholds.
    pub fn new(path: String, config: AnomalyConfig) -> Self {
        FindingRate {
            windows: Windows::new(config.window_s, config.reorder_tolerance_s),
            baseline: Baseline::new(config.history, config.warmup),
            config,
            path,
            last_closed: None,
            closed: Vec::new(),
        }
    }

    /// Adds the `n` findings of a line at event time `t_ms`.
    pub fn record(&mut self, n: u64, t_ms: i64, out: &mut Vec<Anomaly>) {
        *self.windows.at(t_ms, &mut self.closed) += n;
        self.close(out);
    }

    /// Moves the clock to `t_ms`, closing the windows it is past.
    pub fn advance(&mut self, t_ms: i64, out: &mut Vec<Anomaly>) {
        self.windows.advance(t_ms, &mut self.closed);
        self.close(out);
    }

    /// Closes every open window.
    pub fn flush(&mut self, out: &mut Vec<Anomaly>) {
        self.windows.flush(&mut self.closed);
        self.close(out);
    }

    fn close(&mut self, out: &mut Vec<Anomaly>) {
        let width = self.windows.width_ms();
        for (start, n) in std::mem::take(&mut self.closed) {
            // Windows without a line in between count as zero findings, up to the history.
            if let Some(last) = self.last_closed {
                let skipped = ((start - last) / width - 1).clamp(0, self.config.history as i64);
                for _ in 0..skipped {
                    self.baseline.push(0.0);
                }
            }
            self.last_closed = Some(start);
            match self.baseline.threshold(self.config.sensitivity) {
                Some((median, t)) if n as f64 > t && n >= self.config.finding_rate_min => {
                    let mut event = ExportEvent::new("finding_rate", start);
                    event.end_ms = start + width - 1;
                    event.path = Some(self.path.clone());
                    let a = Anomaly::new(
                        "finding_rate",
                        n,
                        Some(median),
                        t.max(self.config.finding_rate_min as f64),
                        None,
                        format!("{n} personal-data findings in {} s (usually {median:.0})", self.config.window_s),
                        0.6,
                    );
                    out.push(a.with_event(event).at(Origin::Window { start_s: start.div_euclid(1000) }));
                }
                _ => self.baseline.push(n as f64),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steady(r: &mut FindingRate, out: &mut Vec<Anomaly>, windows: i64) {
        for w in 0..windows {
            for i in 0..(5 + w % 4) {
                r.record(1, (w * 60 + i) * 1000, out);
            }
        }
    }

    #[test]
    fn steady_findings_are_quiet_and_warm_up_is_silent() {
        let mut r = FindingRate::new("/var/log/app.log".into(), AnomalyConfig::default());
        let mut out = Vec::new();
        // A burst during warm-up (no baseline yet) says nothing.
        r.record(5000, 0, &mut out);
        steady(&mut r, &mut out, 60);
        r.flush(&mut out);
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn a_spike_far_above_the_logs_baseline_fires_with_its_window() {
        let mut r = FindingRate::new("/var/log/app.log".into(), AnomalyConfig::default());
        let mut out = Vec::new();
        steady(&mut r, &mut out, 30);
        r.record(2400, (30 * 60 + 1) * 1000, &mut out);
        r.advance(32 * 60 * 1000, &mut out);
        assert_eq!(out.len(), 1);
        let a = &out[0];
        assert_eq!((a.heuristic, a.observed, a.origin), ("finding_rate", 2400, Origin::Window { start_s: 30 * 60 }));
        assert!(a.baseline.is_some_and(|b| b < 10.0));
        assert_eq!(a.event.as_ref().unwrap().signature(None), "finding_rate|path=/var/log/app.log");
    }
}
