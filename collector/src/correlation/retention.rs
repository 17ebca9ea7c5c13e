//! How many records are past their retention, from the age distribution an agent sends.
//!
//! For a table or a structured file, the agent samples rows and sends, for the date column that
//! best says how old a record is (activity columns such as `last_login` first), the 0th to 100th
//! percentiles of the sampled personal rows' ages in days (`age_quantiles_days`), and the
//! table's rows (`records`). The share of rows older than a retention of `d` days is read off
//! the percentiles by linear interpolation, so one scan answers any retention from 30 days to
//! 10 years — the register's, whatever it is now or becomes. The figure is an estimate from a
//! sample, and said to be one.

use std::collections::BTreeMap;

/// Records older than `days`, and how they were counted; `None` when the evidence has no age
/// distribution (the finding then counts as its table's records, said so by the caller).
pub fn records_past(evidence: &BTreeMap<String, String>, days: u32) -> Option<(u64, String)> {
    let quantiles: Vec<f64> = evidence.get("age_quantiles_days")?.split(',').map(|q| q.trim().parse::<f64>()).collect::<Result<_, _>>().ok()?;
    if quantiles.len() < 2 || quantiles.windows(2).any(|w| w[1] < w[0]) {
        return None;
    }
    let records = evidence.get("records").or_else(|| evidence.get("estimated_rows")).and_then(|r| r.trim().parse::<u64>().ok())?;
    let share = share_older_than(&quantiles, f64::from(days));
    let column = evidence.get("age_column").map_or(String::new(), |c| format!(" by `{c}`"));
    let sampled = evidence.get("age_sampled").map_or(String::new(), |n| format!(" of {n} sampled rows"));
    let n = (share * records as f64).round() as u64;
    Some((n, format!("{:.1} % of {records} rows older than {days} days{column}, from the age distribution{sampled}", share * 100.0)))
}

/// The share of a distribution (given by its percentiles, evenly spaced from 0 to 1) above `x`.
fn share_older_than(q: &[f64], x: f64) -> f64 {
    let last = q.len() - 1;
    if x < q[0] {
        return 1.0;
    }
    if x >= q[last] {
        return 0.0;
    }
    // The last percentile at or below x, then a straight line to the next one.
    let i = q.iter().rposition(|&v| v <= x).unwrap_or(0).min(last - 1);
    let (lo, hi) = (q[i], q[i + 1]);
    let within = if hi > lo { (x - lo) / (hi - lo) } else { 1.0 };
    let below = (i as f64 + within) / last as f64;
    (1.0 - below).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evidence(quantiles: &[u32], records: u64) -> BTreeMap<String, String> {
        [
            ("age_quantiles_days".to_string(), quantiles.iter().map(u32::to_string).collect::<Vec<_>>().join(",")),
            ("records".to_string(), records.to_string()),
            ("age_column".to_string(), "last_login".to_string()),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn a_uniform_age_distribution_puts_the_right_share_past_any_retention() {
        // Ages 0..=1000 days, evenly: 10 days per percentile.
        let q: Vec<u32> = (0..=100).map(|p| p * 10).collect();
        let (n, how) = records_past(&evidence(&q, 20_000), 365).unwrap();
        assert_eq!(n, 12_700, "63.5 % of 20,000 rows are older than 365 days");
        assert!(how.contains("last_login") && how.contains("older than 365 days"), "{how}");
        assert_eq!(records_past(&evidence(&q, 20_000), 1000).unwrap().0, 0);
        assert_eq!(records_past(&evidence(&q, 20_000), 0).unwrap().0, 20_000);
    }

    #[test]
    fn active_accounts_created_long_ago_are_not_past_retention_when_their_activity_is_recent() {
        // 70 % of the accounts were active in the last 100 days, 30 % not for 4 to 6 years.
        let mut q: Vec<u32> = (0..=70).map(|p| p * 100 / 70).collect();
        q.extend((71..=100).map(|p| 1460 + (p - 70) * 730 / 30));
        let (n, _) = records_past(&evidence(&q, 20_000), 3 * 365).unwrap();
        assert!((5_800..=6_200).contains(&n), "{n}");
    }

    #[test]
    fn without_a_distribution_or_with_a_broken_one_there_is_no_count() {
        assert_eq!(records_past(&BTreeMap::new(), 30), None);
        assert_eq!(records_past(&evidence(&[5, 3], 10), 30), None, "not sorted");
    }
}
