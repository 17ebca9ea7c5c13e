//! Retention by records: how old the records holding personal data are, per date column.
//!
//! "The oldest `created_at` is six years old" says nothing about how many records are past
//! retention, and an account created six years ago and used yesterday is not. So the agent
//! sends, for one date column of each table or file, the age distribution of the sampled rows
//! that hold personal data — 101 percentiles in days, enough for the collector to answer any
//! retention period from 30 days to 10 years by interpolation — and which column it is.
//!
//! The column is chosen among the row dates the classifier collected: activity first
//! (`last_login`, `last_seen`, `last_activity`, `updated_at`, then other names saying
//! "last", "seen", "active", "login", "modified"), then creation (`created_at`, `signup` …),
//! then any other date; between equals, the most recent (activity follows creation). Birth
//! and expiry dates say nothing about a record's age and are never used.

use super::classify::{DateSample, is_date_column_name};

/// Percentiles sent: the 0th, 1st, …, 100th.
pub const QUANTILES: usize = 101;

/// The age distribution of the records of one table or file, from one date column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgeDistribution {
    /// The date column.
    pub column: String,
    /// The 0th … 100th percentile of the age in days (now − date) of the sampled rows that held
    /// personal data and had a date in that column.
    pub quantiles_days: Vec<u64>,
    /// How many sampled rows had that date.
    pub sampled: u64,
}

impl AgeDistribution {
    /// The percentiles as sent: comma-separated integers.
    pub fn quantiles_text(&self) -> String {
        self.quantiles_days.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
    }
}

/// True for a date column that dates a *record* (not a birth date or an expiry date), by its
/// name: a date-like name, or one of the activity columns.
pub fn is_record_date_column(name: &str) -> bool {
    (is_date_column_name(name) || rank(name) <= 3) && !is_unrelated_date(name)
}

/// Birth and expiry dates: dates of the person or of a document, not of the record.
pub fn is_unrelated_date(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["birth", "dob", "born", "naissance", "geburt", "expir", "valid_until", "valid_to"].iter().any(|w| n.contains(w))
}

/// 0 for the activity columns named in the contract, in their order of preference, then other
/// activity-like names, creation names, anything else.
fn rank(name: &str) -> u8 {
    let n = name.to_ascii_lowercase();
    let leaf = n.rsplit(['.', ']']).next().unwrap_or(&n);
    match leaf {
        "last_login" | "last_login_at" => 0,
        "last_seen" | "last_seen_at" => 1,
        "last_activity" | "last_activity_at" => 2,
        "updated_at" => 3,
        _ if ["last", "seen", "activ", "login", "modif", "updated", "visit"].iter().any(|w| leaf.contains(w)) => 4,
        _ if ["creat", "signup", "sign_up", "register", "inserted", "joined", "opened", "since"].iter().any(|w| leaf.contains(w)) => 5,
        _ => 6,
    }
}

fn median(times: &[i64]) -> i64 {
    let mut v = times.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(i64::MIN)
}

/// The date column to date records by (see the module documentation), if any has dates.
pub fn choose(dates: &[DateSample]) -> Option<&DateSample> {
    dates.iter().filter(|d| !d.times.is_empty() && !is_unrelated_date(&d.column)).min_by_key(|d| (rank(&d.column), std::cmp::Reverse(median(&d.times))))
}

/// The age distribution of `sample` at `now_s` (Unix seconds). Dates in the future are age 0.
pub fn distribution(sample: &DateSample, now_s: i64) -> AgeDistribution {
    let mut ages: Vec<u64> = sample.times.iter().map(|&t| (now_s.saturating_sub(t)).max(0) as u64 / 86_400).collect();
    ages.sort_unstable();
    let quantiles_days =
        if ages.is_empty() { Vec::new() } else { (0..QUANTILES).map(|p| ages[((p * (ages.len() - 1)) as f64 / 100.0).round() as usize]).collect() };
    AgeDistribution { column: sample.column.clone(), quantiles_days, sampled: sample.seen }
}

/// The age distribution of the records, from the column [`choose`] picks.
pub fn age_of_records(dates: &[DateSample], now_s: i64) -> Option<AgeDistribution> {
    choose(dates).map(|d| distribution(d, now_s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(column: &str, times: Vec<i64>) -> DateSample {
        DateSample { column: column.into(), seen: times.len() as u64, times }
    }

    #[test]
    fn activity_columns_are_preferred_to_creation_and_birth_dates_are_never_used() {
        let dates = vec![sample("birth_date", vec![0]), sample("created_at", vec![100]), sample("updated_at", vec![50]), sample("last_login", vec![10])];
        assert_eq!(choose(&dates).unwrap().column, "last_login");
        assert_eq!(choose(&dates[..3]).unwrap().column, "updated_at");
        assert_eq!(choose(&dates[..2]).unwrap().column, "created_at");
        assert!(choose(&dates[..1]).is_none());
        assert!(choose(&[sample("last_login", vec![])]).is_none(), "a column without dates in personal rows says nothing");
        // Unnamed columns (a headerless CSV): the most recent dates are the activity.
        assert_eq!(choose(&[sample("col3", vec![1, 2, 3]), sample("col7", vec![5, 6, 7])]).unwrap().column, "col7");
        assert!(!is_record_date_column("date_of_birth") && is_record_date_column("last_seen") && is_record_date_column("customer.created_at"));
    }

    #[test]
    fn the_quantiles_answer_any_retention_by_interpolation() {
        // 1,000 records: ages 0..999 days.
        let now = 2_000_000_000;
        let d = distribution(&sample("last_login", (0..1000).map(|a| now - a * 86_400 - 3600).collect()), now);
        assert_eq!(d.quantiles_days.len(), QUANTILES);
        assert_eq!((d.quantiles_days[0], d.quantiles_days[50], d.quantiles_days[100]), (0, 500, 999));
        assert!(d.quantiles_days.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(d.sampled, 1000);
        // The share older than 700 days lies between the 70th and 71st percentiles: 30 %.
        let older = d.quantiles_days.iter().filter(|&&q| q > 700).count();
        assert!((29..=31).contains(&older), "{older}");
        assert_eq!(d.quantiles_text().split(',').count(), QUANTILES);
        assert_eq!(distribution(&sample("x", vec![now + 86_400 * 3]), now).quantiles_days[0], 0, "future dates are age 0");
    }
}
