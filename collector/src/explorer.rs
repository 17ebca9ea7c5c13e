//! The findings explorer and the agent inventory: filtered, paginated reads of what agents
//! reported, for the console and its API.
//!
//! Filters are bound as parameters (never spliced into SQL). Counts over time include the
//! findings already folded into daily counts by the collector's own retention
//! ([`Store::purge_findings`]), so a chart does not drop when old findings are purged.

use crate::store::{Store, StoreError, kind_name, position, rfc3339};
use custos_proto::v1 as pb;
use crate::store::db::Value;
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
    /// The WHERE clause and its parameters, numbered after the `values` already bound;
    /// `day_table` filters the daily counts table, whose time is a day number.
    fn clause(&self, day_table: bool, mut values: Vec<Value>) -> (String, Vec<Value>) {
        let mut cond = vec!["1 = 1".to_string()];
        let mut eq = |col: &str, v: &Option<String>| {
            if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
                values.push(Value::Text(v.clone()));
                cond.push(format!("{col} = ${}", values.len()));
            }
        };
        eq("detector", &self.detector);
        eq("category", &self.category);
        eq("host", &self.host);
        eq("agent_id", &self.agent);
        if let Some(part) = self.system.as_ref().filter(|v| !v.is_empty()) {
            let escaped: String = part.chars().flat_map(|c| if matches!(c, '%' | '_' | '\\') { vec!['\\', c] } else { vec![c] }).collect();
            values.push(Value::Text(format!("%{escaped}%")));
            cond.push(format!("(host || ':' || locator) LIKE ${} ESCAPE '\\'", values.len()));
        }
        if let Some(k) = self.kind.as_deref() {
            let kind = if k == "export_anomaly" { pb::FindingKind::ExportAnomaly } else { pb::FindingKind::PersonalData };
            values.push(Value::Int(kind as i64));
            cond.push(format!("kind = ${}", values.len()));
        }
        let (time, scale) = if day_table { ("day", 86_400_000) } else { ("received_at", 1) };
        if let Some(t) = self.since_ms {
            values.push(Value::Int(t.div_euclid(scale)));
            cond.push(format!("{time} >= ${}", values.len()));
        }
        if let Some(t) = self.until_ms {
            values.push(Value::Int(if day_table { (t + scale - 1).div_euclid(scale) } else { t }));
            cond.push(format!("{time} < ${}", values.len()));
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
        let (cond, mut values) = filter.clause(false, Vec::new());
        let total = self.int(&format!("SELECT COUNT(*) FROM findings WHERE {cond}"), &values)?;
        values.push(Value::Int(limit.min(1000) as i64));
        values.push(Value::Int(offset.min(i64::MAX as u64) as i64));
        let sql = format!(
            "SELECT id, agent_id, host, locator, line, tbl, col, detector, category, special, confidence, preview, kind, observed_at, received_at
             FROM findings WHERE {cond} ORDER BY received_at DESC, id LIMIT ${} OFFSET ${}",
            values.len() - 1,
            values.len()
        );
        let items = self
            .rows(&sql, &values)?
            .iter()
            .map(|r| {
                Ok(FindingRow {
                    id: r.text(0)?,
                    agent_id: r.text(1)?,
                    host: r.text(2)?,
                    locator: r.text(3)?,
                    at: position(r, 4)?,
                    detector: r.text(7)?,
                    category: r.text(8)?,
                    special: r.bool(9)?,
                    confidence: r.real(10)?,
                    preview: r.text(11)?,
                    kind: kind_name(r.int(12)?).into(),
                    observed_at: rfc3339(r.int(13)?),
                    received_at: rfc3339(r.int(14)?),
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Page { items, total: total.max(0) as u64, offset, limit })
    }

    /// Findings per day matching the filter, oldest first, including those purged into daily
    /// counts.
    pub fn finding_counts_by_day(&self, filter: &FindingFilter) -> Result<Vec<DayCount>, StoreError> {
        let (live, values) = filter.clause(false, Vec::new());
        let (folded, values) = filter.clause(true, values);
        let sql = format!(
            "SELECT day, CAST(SUM(n) AS BIGINT) FROM (SELECT received_at / 86400000 AS day, COUNT(*) AS n FROM findings WHERE {live} GROUP BY 1
                                                   UNION ALL SELECT day, SUM(count) FROM finding_counts WHERE {folded} GROUP BY 1) AS t GROUP BY day ORDER BY day"
        );
        self.rows(&sql, &values)?.iter().map(|r| Ok(DayCount { day: day_string(r.int(0)?), count: r.int(1)?.max(0) as u64 })).collect()
    }

    /// Distinct detectors, categories, hosts and agents among stored findings.
    pub fn finding_facets(&self) -> Result<Facets, StoreError> {
        let list = |col: &str| -> Result<Vec<String>, StoreError> {
            self.rows(&format!("SELECT DISTINCT {col} FROM findings ORDER BY 1 LIMIT 500"), &[])?.iter().map(|r| r.text(0)).collect()
        };
        Ok(Facets { detectors: list("detector")?, categories: list("category")?, hosts: list("host")?, agents: list("agent_id")? })
    }

    /// Every agent that ever sent a batch, with its revocation state.
    pub fn agent_inventory(&self) -> Result<Vec<AgentEntry>, StoreError> {
        self.rows(
            "SELECT a.agent_id, a.host, a.version, a.first_seen, a.last_seen, a.spool_depth, CASE WHEN r.agent_id IS NULL THEN 0 ELSE 1 END, COALESCE(r.reason, '')
             FROM agents a LEFT JOIN revocations r ON r.agent_id = a.agent_id ORDER BY a.agent_id",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok(AgentEntry {
                agent_id: r.text(0)?,
                host: r.text(1)?,
                version: r.text(2)?,
                first_seen: rfc3339(r.int(3)?),
                last_seen: rfc3339(r.int(4)?),
                last_seen_ms: r.int(4)?,
                spool_depth: r.int(5)?.max(0) as u64,
                revoked: r.bool(6)?,
                revocation_reason: r.text(7)?,
            })
        })
        .collect()
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
        let (sql, values) = f.clause(false, Vec::new());
        assert_eq!(sql, "1 = 1 AND detector = $1 AND host = $2 AND received_at >= $3");
        assert_eq!(values.len(), 3);
        let (sql, values) = f.clause(true, values);
        assert!(sql.ends_with("day >= $6"), "numbered after the first clause's: {sql}");
        assert_eq!(values[5], Value::Int(3));
    }

    #[test]
    fn a_system_filter_matches_a_literal_part_of_host_and_locator() {
        let f = FindingFilter { system: Some("logs/app_1%".into()), ..Default::default() };
        let (sql, values) = f.clause(false, Vec::new());
        assert!(sql.ends_with("(host || ':' || locator) LIKE $1 ESCAPE '\\'"), "{sql}");
        assert_eq!(values[0], Value::Text("%logs/app\\_1\\%%".into()));
    }
}
