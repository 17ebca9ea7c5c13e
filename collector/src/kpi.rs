//! The indicators the DPO and the CISO share: how fast incidents are assessed and notified,
//! how many are handled within the Art. 33 72 hours, how much of the register agents watch,
//! and how many findings arrive each week.
//!
//! Times come from the incident timelines (the first `assessed`, `notified` or
//! `not_notifiable` entry), measured from awareness (detection). An incident counts as
//! *handled within 72 h* when its notification decision (notified or not notifiable) came
//! before its deadline; it is *due* once decided or once its deadline passed undecided.

use crate::coverage::Coverage;
use crate::register::Register;
use crate::store::{Store, StoreError};
use serde::Serialize;
use std::collections::BTreeMap;

/// Duration statistics, in hours.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Durations {
    /// Incidents measured.
    pub count: u64,
    /// Median, hours.
    pub median_hours: Option<f64>,
    /// Mean, hours.
    pub mean_hours: Option<f64>,
}

impl Durations {
    fn of(mut ms: Vec<i64>) -> Durations {
        ms.sort_unstable();
        let hours = |v: f64| (v / 3_600_000.0 * 100.0).round() / 100.0;
        let median = match ms.len() {
            0 => None,
            n if n % 2 == 1 => Some(hours(ms[n / 2] as f64)),
            n => Some(hours((ms[n / 2 - 1] as f64 + ms[n / 2] as f64) / 2.0)),
        };
        let mean = (!ms.is_empty()).then(|| hours(ms.iter().map(|&v| v as f64).sum::<f64>() / ms.len() as f64));
        Durations { count: ms.len() as u64, median_hours: median, mean_hours: mean }
    }
}

/// Findings received in one ISO week.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct WeekCount {
    /// `YYYY-Www`.
    pub week: String,
    /// Findings.
    pub count: u64,
}

/// The shared indicators.
#[derive(Debug, Clone, Serialize)]
pub struct Kpis {
    /// Incidents in total.
    pub incidents: u64,
    /// Incidents still open (new, triaged, assessed).
    pub open_incidents: u64,
    /// Open incidents past their deadline.
    pub overdue_incidents: u64,
    /// From detection to the DPO's assessment.
    pub time_to_assessment: Durations,
    /// From detection to the notification of the supervisory authority.
    pub time_to_notification: Durations,
    /// Incidents decided before their deadline.
    pub handled_within_72h: u64,
    /// Incidents decided, or undecided past their deadline.
    pub due: u64,
    /// `handled_within_72h / due`, when anything is due.
    pub share_within_72h: Option<f64>,
    /// Declared systems.
    pub systems_declared: u64,
    /// Declared systems an agent reported data from.
    pub systems_covered: u64,
    /// `systems_covered / systems_declared`, when any is declared.
    pub share_systems_covered: Option<f64>,
    /// Findings per ISO week, oldest first (the last 12 weeks with findings).
    pub findings_per_week: Vec<WeekCount>,
}

fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 / whole as f64 * 1000.0).round() / 1000.0)
}

fn iso_week(day: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(day * 86_400).map(|t| format!("{}-W{:02}", t.to_iso_week_date().0, t.iso_week())).unwrap_or_default()
}

impl Kpis {
    /// Computes the indicators at `now_ms`.
    pub fn compute(store: &Store, register: &Register, now_ms: i64) -> Result<Kpis, StoreError> {
        let incidents = store.incidents()?;
        let firsts = store.first_decisions()?;
        let at = |id: i64, kind: &str| firsts.get(&(id, kind.to_string())).copied();
        let mut to_assessment = Vec::new();
        let mut to_notification = Vec::new();
        let (mut handled, mut due, mut open, mut overdue) = (0, 0, 0, 0);
        for v in &incidents {
            if let Some(t) = at(v.id, "assessed") {
                to_assessment.push(t - v.detected_at_ms);
            }
            if let Some(t) = at(v.id, "notified") {
                to_notification.push(t - v.detected_at_ms);
            }
            let decided = at(v.id, "notified").or(at(v.id, "not_notifiable"));
            match decided {
                Some(t) => {
                    due += 1;
                    if t <= v.deadline_ms {
                        handled += 1;
                    }
                }
                None => {
                    open += 1;
                    if v.deadline_ms < now_ms {
                        due += 1;
                        overdue += 1;
                    }
                }
            }
        }
        let coverage = Coverage::build(store, register)?;
        let mut weeks: BTreeMap<String, u64> = BTreeMap::new();
        for (day, n) in store.findings_per_day()? {
            *weeks.entry(iso_week(day)).or_default() += n;
        }
        let skip = weeks.len().saturating_sub(12);
        Ok(Kpis {
            incidents: incidents.len() as u64,
            open_incidents: open,
            overdue_incidents: overdue,
            time_to_assessment: Durations::of(to_assessment),
            time_to_notification: Durations::of(to_notification),
            handled_within_72h: handled,
            due,
            share_within_72h: share(handled, due),
            systems_declared: coverage.systems_declared,
            systems_covered: coverage.systems_seen,
            share_systems_covered: share(coverage.systems_seen, coverage.systems_declared),
            findings_per_week: weeks.into_iter().skip(skip).map(|(week, count)| WeekCount { week, count }).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_give_median_and_mean_in_hours() {
        assert_eq!(Durations::of(vec![]), Durations { count: 0, median_hours: None, mean_hours: None });
        let d = Durations::of(vec![3_600_000 * 5, 3_600_000, 3_600_000 * 3]);
        assert_eq!((d.count, d.median_hours, d.mean_hours), (3, Some(3.0), Some(3.0)));
        assert_eq!(Durations::of(vec![0, 3_600_000]).median_hours, Some(0.5));
    }

    #[test]
    fn weeks_are_iso_weeks() {
        // 2026-11-26 is a Thursday of ISO week 48; 2027-01-01 belongs to 2026-W53.
        assert_eq!(iso_week(20_783), "2026-W48");
        assert_eq!(iso_week(20_819), "2026-W53");
        assert_eq!(share(1, 3), Some(0.333));
        assert_eq!(share(1, 0), None);
    }
}
