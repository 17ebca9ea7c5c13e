//! A robust rolling baseline: median and median absolute deviation of recent observations.
//!
//! Mean and standard deviation are dragged up by the very spikes we look for; the median and
//! the MAD are not (one exfiltration in the history does not hide the next). The threshold is
//! `median + sensitivity × max(1.4826 × MAD, 10% of the median, 1)`: the scaled MAD estimates
//! the standard deviation of normal traffic, and the two floors keep a perfectly steady series
//! (MAD = 0) from flagging the first small wobble.

use std::collections::VecDeque;

/// Recent observations of one figure.
#[derive(Debug, Clone)]
pub struct Baseline {
    values: VecDeque<f64>,
    history: usize,
    warmup: usize,
    cached: Option<(f64, f64)>,
    since_cache: usize,
}

impl Baseline {
    /// A baseline remembering `history` observations and silent until `warmup` were seen.
    pub fn new(history: usize, warmup: usize) -> Self {
        Baseline { values: VecDeque::with_capacity(history.min(4096)), history: history.max(1), warmup, cached: None, since_cache: 0 }
    }

    /// Adds an observation (the oldest is forgotten beyond `history`).
    pub fn push(&mut self, x: f64) {
        if self.values.len() == self.history {
            self.values.pop_front();
        }
        self.values.push_back(x);
        self.since_cache += 1;
        // Recomputing the median on every push costs O(n log n); the figure moves slowly.
        if self.cached.is_some() && self.since_cache >= (self.history / 20).max(1) {
            self.cached = None;
        }
    }

    /// True once `warmup` observations were seen.
    pub fn warmed_up(&self) -> bool {
        self.values.len() >= self.warmup
    }

    /// (median, threshold) at `sensitivity`, or `None` during warm-up.
    pub fn threshold(&mut self, sensitivity: f64) -> Option<(f64, f64)> {
        if !self.warmed_up() || self.values.is_empty() {
            return None;
        }
        let (median, mad) = match self.cached {
            Some(c) => c,
            None => {
                let mut v: Vec<f64> = self.values.iter().copied().collect();
                let median = median_of(&mut v);
                let mut dev: Vec<f64> = v.iter().map(|x| (x - median).abs()).collect();
                let mad = median_of(&mut dev);
                self.cached = Some((median, mad));
                self.since_cache = 0;
                (median, mad)
            }
        };
        let spread = (1.4826 * mad).max(0.1 * median).max(1.0);
        Some((median, median + sensitivity * spread))
    }
}

fn median_of(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silent_during_warm_up() {
        let mut b = Baseline::new(100, 5);
        for _ in 0..4 {
            b.push(10.0);
        }
        assert_eq!(b.threshold(3.0), None);
        b.push(10.0);
        assert!(b.threshold(3.0).is_some());
    }

    #[test]
    fn a_past_spike_does_not_raise_the_bar() {
        let mut b = Baseline::new(100, 5);
        for i in 0..50 {
            b.push(100.0 + (i % 7) as f64);
        }
        let (_, before) = b.threshold(6.0).unwrap();
        b.push(100_000.0);
        b.cached = None;
        let (median, after) = b.threshold(6.0).unwrap();
        assert!((100.0..=106.0).contains(&median));
        assert!(after < 200.0 && (after - before).abs() < 20.0, "{before} → {after}");
    }
}
