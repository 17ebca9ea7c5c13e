//! The findings explorer and the agent inventory: filtered, paginated reads of what agents
//! reported, for the console and its API.
//!
//! Filters are bound as parameters (never spliced into SQL). Counts over time include the
//! findings already folded into daily counts by the collector's own retention
//! ([`Store::purge_findings`]), so a chart does not drop when old findings are purged.

use super::Store;
use super::db::Value;
use super::error::StoreError;
use super::findings::{FINDING_SELECT, StoredFinding, finding_row};
use custos_proto::checked::FindingKind;
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
            if day_table {
                // Daily counts keep no locator (they outlive the findings to keep a chart, not
                // a place): a filter on the system counts the findings still stored.
                cond.push("1 = 0".to_string());
            } else {
                let escaped: String = part.chars().flat_map(|c| if matches!(c, '%' | '_' | '\\') { vec!['\\', c] } else { vec![c] }).collect();
                values.push(Value::Text(format!("%{escaped}%")));
                cond.push(format!("(host || ':' || locator) LIKE ${} ESCAPE '\\'", values.len()));
            }
        }
        if let Some(k) = self.kind.as_deref() {
            let kind = if k == "export_anomaly" { FindingKind::ExportAnomaly } else { FindingKind::PersonalData };
            values.push(Value::Int(kind.code()));
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

impl<T> Page<T> {
    /// The same page with each item turned into something else (a view for the console).
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), total: self.total, offset: self.offset, limit: self.limit }
    }
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

impl Store {
    /// A page of findings matching the filter, newest first.
    pub fn findings_page(&self, filter: &FindingFilter, offset: u64, limit: u64) -> Result<Page<StoredFinding>, StoreError> {
        let (cond, mut values) = filter.clause(false, Vec::new());
        let total = self.int(&format!("SELECT COUNT(*) FROM findings WHERE {cond}"), &values)?;
        values.push(Value::Int(limit.min(1000) as i64));
        values.push(Value::Int(offset.min(i64::MAX as u64) as i64));
        let sql = format!("{FINDING_SELECT} WHERE {cond} ORDER BY received_at DESC, id LIMIT ${} OFFSET ${}", values.len() - 1, values.len());
        let items = self.rows(&sql, &values)?.iter().map(finding_row).collect::<Result<_, StoreError>>()?;
        Ok(Page { items, total: total.max(0) as u64, offset, limit })
    }

    /// Findings per day (days since the epoch, count) matching the filter, oldest first,
    /// including those purged into daily counts.
    pub fn finding_counts_by_day(&self, filter: &FindingFilter) -> Result<Vec<(i64, u64)>, StoreError> {
        let (live, values) = filter.clause(false, Vec::new());
        let (folded, values) = filter.clause(true, values);
        let sql = format!(
            "SELECT day, CAST(SUM(n) AS BIGINT) FROM (SELECT received_at / 86400000 AS day, COUNT(*) AS n FROM findings WHERE {live} GROUP BY 1
                                                   UNION ALL SELECT day, SUM(count) FROM finding_counts WHERE {folded} GROUP BY 1) AS t GROUP BY day ORDER BY day"
        );
        self.rows(&sql, &values)?.iter().map(|r| Ok((r.int(0)?, r.int(1)?.max(0) as u64))).collect()
    }

    /// Distinct detectors, categories, hosts and agents among stored findings.
    pub fn finding_facets(&self) -> Result<Facets, StoreError> {
        let list = |col: &str| -> Result<Vec<String>, StoreError> {
            self.rows(&format!("SELECT DISTINCT {col} FROM findings ORDER BY 1 LIMIT 500"), &[])?.iter().map(|r| r.text(0)).collect()
        };
        Ok(Facets { detectors: list("detector")?, categories: list("category")?, hosts: list("host")?, agents: list("agent_id")? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_bind_values_as_parameters_in_order() {
        let f = FindingFilter {
            detector: Some("email'; DROP TABLE findings; --".into()),
            host: Some("web-01".into()),
            since_ms: Some(86_400_000 * 3 + 5),
            ..Default::default()
        };
        let (sql, values) = f.clause(false, Vec::new());
        assert_eq!(sql, "1 = 1 AND detector = $1 AND host = $2 AND received_at >= $3");
        assert_eq!(values.len(), 3);
        let (sql, values) = f.clause(true, values);
        assert!(sql.ends_with("day >= $6"), "numbered after the first clause's: {sql}");
        assert_eq!(values[5], Value::Int(3));
    }

    #[test]
    fn counts_by_day_filter_on_a_system_without_touching_the_daily_counts_locator() {
        // The daily counts table has no locator column: filtering it by system was a 500.
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("c.db")).unwrap();
        let f = FindingFilter { system: Some("web-01:/var/log".into()), detector: Some("email".into()), ..Default::default() };
        assert_eq!(store.finding_counts_by_day(&f).unwrap(), vec![]);
        let (sql, _) = f.clause(true, Vec::new());
        assert!(!sql.contains("locator"), "{sql}");
    }

    #[test]
    fn a_system_filter_matches_a_literal_part_of_host_and_locator() {
        let f = FindingFilter { system: Some("logs/app_1%".into()), ..Default::default() };
        let (sql, values) = f.clause(false, Vec::new());
        assert!(sql.ends_with("(host || ':' || locator) LIKE $1 ESCAPE '\\'"), "{sql}");
        assert_eq!(values[0], Value::Text("%logs/app\\_1\\%%".into()));
    }
}
