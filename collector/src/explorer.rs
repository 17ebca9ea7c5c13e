//! The findings explorer and the agent inventory: filtered, paginated reads of what agents
//! reported, for the console and its API.
//!
//! Filters are bound as parameters (never spliced into SQL). Counts over time include the
//! findings already folded into daily counts by the collector's own retention
//! ([`Store::purge_findings`]), so a chart does not drop when old findings are purged.

use crate::store::{Store, StoreError, rfc3339};
use custos_proto::v1 as pb;
use rusqlite::types::Value;
use serde::Serialize;

/// Which findings to show; every field is optional and they combine with AND.
#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    /// Detector id (`email`, `iban`, …).
    pub detector: Option<String>,
    /// GDPR data category.
    pub category: Option<String>,
    /// Host the agent runs on.
    pub host: Option<String>,
    /// Agent id.
    pub agent: Option<String>,
    /// Part of the system, `host:locator` as incidents name it (e.g. a path or a table).
    pub system: Option<String>,
    /// `personal_data` or `export_anomaly`.
    pub kind: Option<String>,
    /// Received at or after (ms).
    pub since_ms: Option<i64>,
    /// Received before (ms).
    pub until_ms: Option<i64>,
}

impl FindingFilter {
    /// The WHERE clause and its parameters; `day_table` filters the daily counts table, whose
    /// time is a day number.
    fn clause(&self, day_table: bool) -> (String, Vec<Value>) {
        let mut cond = vec!["1 = 1".to_string()];
        let mut values = Vec::new();
        let mut eq = |col: &str, v: &Option<String>| {
            if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
                values.push(Value::Text(v.clone()));
                cond.push(format!("{col} = ?{}", values.len()));
            }
        };
        eq("detector", &self.detector);
        eq("category", &self.category);
        eq("host", &self.host);
        eq("agent_id", &self.agent);
        if let Some(part) = self.system.as_ref().filter(|v| !v.is_empty()) {
            let escaped: String = part.chars().flat_map(|c| if matches!(c, '%' | '_' | '\\') { vec!['\\', c] } else { vec![c] }).collect();
            values.push(Value::Text(format!("%{escaped}%")));
            cond.push(format!("(host || ':' || locator) LIKE ?{} ESCAPE '\\'", values.len()));
        }
        if let Some(k) = self.kind.as_deref() {
            let kind = if k == "export_anomaly" { pb::FindingKind::ExportAnomaly } else { pb::FindingKind::PersonalData };
            values.push(Value::Integer(kind as i64));
            cond.push(format!("kind = ?{}", values.len()));
        }
        let (time, scale) = if day_table { ("day", 86_400_000) } else { ("received_at", 1) };
        if let Some(t) = self.since_ms {
            values.push(Value::Integer(t.div_euclid(scale)));
            cond.push(format!("{time} >= ?{}", values.len()));
        }
        if let Some(t) = self.until_ms {
            values.push(Value::Integer(if day_table { (t + scale - 1).div_euclid(scale) } else { t }));
            cond.push(format!("{time} < ?{}", values.len()));
        }
        (cond.join(" AND "), values)
    }
}

/// One finding as the explorer lists it (a masked preview, never a value).
#[derive(Debug, Clone, Serialize)]
pub struct FindingRow {
    /// Finding id.
    pub id: String,
    /// Agent.
    pub agent_id: String,
    /// Host.
    pub host: String,
    /// Path or table locator.
    pub locator: String,
    /// `line N` or `table.column`.
    pub at: String,
    /// Detector.
    pub detector: String,
    /// GDPR category.
    pub category: String,
    /// Special category (Art. 9).
    pub special: bool,
    /// Detector confidence in [0, 1].
    pub confidence: f64,
    /// Masked preview.
    pub preview: String,
    /// `personal_data` or `export_anomaly`.
    pub kind: String,
    /// When the agent saw it.
    pub observed_at: String,
    /// When the collector stored it.
    pub received_at: String,
}

/// One page of a list.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Items matching the filter, all pages together.
    pub total: u64,
    /// Index of the first item.
    pub offset: u64,
    /// Page size asked for.
    pub limit: u64,
}

/// Findings received on one day.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DayCount {
    /// The day, `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Findings received that day (stored or already purged into counts).
    pub count: u64,
}

/// The values seen in each filterable field, for the explorer's filter menus.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Facets {
    /// Detectors.
    pub detectors: Vec<String>,
    /// Categories.
    pub categories: Vec<String>,
    /// Hosts.
    pub hosts: Vec<String>,
    /// Agents.
    pub agents: Vec<String>,
}

/// An agent as the inventory shows it.
#[derive(Debug, Clone, Serialize)]
pub struct AgentEntry {
    /// Agent id (the certificate's Common Name).
    pub agent_id: String,
    /// Host it reported from last.
    pub host: String,
    /// Agent version.
    pub version: String,
    /// First batch received.
    pub first_seen: String,
    /// Last batch received.
    pub last_seen: String,
    /// Last batch received (ms), for "silent for" displays.
    pub last_seen_ms: i64,
    /// Unacknowledged findings in its spool when it last sent.
    pub spool_depth: u64,
    /// Whether it is revoked.
    pub revoked: bool,
    /// Why, when revoked.
    pub revocation_reason: String,
}

fn day_string(day: i64) -> String {
    rfc3339(day * 86_400_000).get(..10).unwrap_or_default().to_string()
}

impl Store {
    /// A page of findings matching the filter, newest first.
    pub fn findings_page(&self, filter: &FindingFilter, offset: u64, limit: u64) -> Result<Page<FindingRow>, StoreError> {
        let (cond, mut values) = filter.clause(false);
        let total: i64 = self.conn().query_row(&format!("SELECT COUNT(*) FROM findings WHERE {cond}"), rusqlite::params_from_iter(values.iter()), |r| r.get(0))?;
        values.push(Value::Integer(limit.min(1000) as i64));
        values.push(Value::Integer(offset.min(i64::MAX as u64) as i64));
        let sql = format!(
            "SELECT id, agent_id, host, locator, line, tbl, col, detector, category, special, confidence, preview, kind, observed_at, received_at
             FROM findings WHERE {cond} ORDER BY received_at DESC, id LIMIT ?{} OFFSET ?{}",
            values.len() - 1,
            values.len()
        );
        let mut st = self.conn().prepare(&sql)?;
        let rows = st.query_map(rusqlite::params_from_iter(values.iter()), |r| {
            let at = match (r.get::<_, Option<i64>>(4)?, r.get::<_, Option<String>>(5)?, r.get::<_, Option<String>>(6)?) {
                (Some(l), _, _) => format!("line {l}"),
                (None, Some(t), Some(c)) => format!("{t}.{c}"),
                _ => String::new(),
            };
            Ok(FindingRow {
                id: r.get(0)?,
                agent_id: r.get(1)?,
                host: r.get(2)?,
                locator: r.get(3)?,
                at,
                detector: r.get(7)?,
                category: r.get(8)?,
                special: r.get(9)?,
                confidence: r.get(10)?,
                preview: r.get(11)?,
                kind: if r.get::<_, i64>(12)? == pb::FindingKind::ExportAnomaly as i64 { "export_anomaly".into() } else { "personal_data".into() },
                observed_at: rfc3339(r.get(13)?),
                received_at: rfc3339(r.get(14)?),
            })
        })?;
        Ok(Page { items: rows.collect::<Result<_, _>>()?, total: total.max(0) as u64, offset, limit })
    }

    /// Findings per day matching the filter, oldest first, including those purged into daily
    /// counts.
    pub fn finding_counts_by_day(&self, filter: &FindingFilter) -> Result<Vec<DayCount>, StoreError> {
        let (live, mut values) = filter.clause(false);
        let (folded, folded_values) = filter.clause(true);
        // The second clause numbers its parameters from 1 again: shift them after the first's.
        let shift = values.len();
        let folded = (1..=folded_values.len()).rev().fold(folded, |sql, i| sql.replace(&format!("?{i}"), &format!("?{}", i + shift)));
        values.extend(folded_values);
        let sql = format!(
            "SELECT day, SUM(n) FROM (SELECT received_at / 86400000 AS day, COUNT(*) AS n FROM findings WHERE {live} GROUP BY 1
                                      UNION ALL SELECT day, SUM(count) FROM finding_counts WHERE {folded} GROUP BY 1) GROUP BY day ORDER BY day"
        );
        let mut st = self.conn().prepare(&sql)?;
        let rows = st.query_map(rusqlite::params_from_iter(values.iter()), |r| Ok(DayCount { day: day_string(r.get(0)?), count: r.get::<_, i64>(1)?.max(0) as u64 }))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Distinct detectors, categories, hosts and agents among stored findings.
    pub fn finding_facets(&self) -> Result<Facets, StoreError> {
        let list = |col: &str| -> Result<Vec<String>, StoreError> {
            let mut st = self.conn().prepare(&format!("SELECT DISTINCT {col} FROM findings ORDER BY 1 LIMIT 500"))?;
            let rows = st.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        };
        Ok(Facets { detectors: list("detector")?, categories: list("category")?, hosts: list("host")?, agents: list("agent_id")? })
    }

    /// Every agent that ever sent a batch, with its revocation state.
    pub fn agent_inventory(&self) -> Result<Vec<AgentEntry>, StoreError> {
        let mut st = self.conn().prepare(
            "SELECT a.agent_id, a.host, a.version, a.first_seen, a.last_seen, a.spool_depth, r.agent_id IS NOT NULL, COALESCE(r.reason, '')
             FROM agents a LEFT JOIN revocations r ON r.agent_id = a.agent_id ORDER BY a.agent_id",
        )?;
        let rows = st.query_map([], |r| {
            Ok(AgentEntry {
                agent_id: r.get(0)?,
                host: r.get(1)?,
                version: r.get(2)?,
                first_seen: rfc3339(r.get(3)?),
                last_seen: rfc3339(r.get(4)?),
                last_seen_ms: r.get(4)?,
                spool_depth: r.get::<_, i64>(5)?.max(0) as u64,
                revoked: r.get(6)?,
                revocation_reason: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_strings_are_utc_dates() {
        assert_eq!(day_string(0), "1970-01-01");
        assert_eq!(day_string(20_000), "2024-10-04");
    }

    #[test]
    fn filters_bind_values_as_parameters_in_order() {
        let f = FindingFilter { detector: Some("email'; DROP TABLE findings; --".into()), host: Some("web-01".into()), since_ms: Some(86_400_000 * 3 + 5), ..Default::default() };
        let (sql, values) = f.clause(false);
        assert_eq!(sql, "1 = 1 AND detector = ?1 AND host = ?2 AND received_at >= ?3");
        assert_eq!(values.len(), 3);
        let (sql, values) = f.clause(true);
        assert!(sql.ends_with("day >= ?3"), "{sql}");
        assert_eq!(values[2], Value::Integer(3));
    }

    #[test]
    fn a_system_filter_matches_a_literal_part_of_host_and_locator() {
        let f = FindingFilter { system: Some("logs/app_1%".into()), ..Default::default() };
        let (sql, values) = f.clause(false);
        assert!(sql.ends_with("(host || ':' || locator) LIKE ?1 ESCAPE '\\'"), "{sql}");
        assert_eq!(values[0], Value::Text("%logs/app\\_1\\%%".into()));
    }
}
