//! What the data map reads from the store: per system (host and store or file), the personal
//! data agents saw there, with its figures; and per flow (system and destination host), the
//! personal data agents saw sent there.

use super::Store;
use super::db::args;
use super::error::StoreError;

/// One system as the findings describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemSeen {
    /// Host.
    pub host: String,
    /// File path or table locator.
    pub locator: String,
    /// Agents that saw it.
    pub agents: Vec<String>,
    /// (category, detector) pairs seen there.
    pub kinds: Vec<(String, String)>,
    /// Distinct values seen in log lines (keyed fingerprints): at least one per person.
    pub distinct_values: u64,
    /// Log lines holding personal data.
    pub lines: u64,
    /// The largest row count a scan reported (tables, structured files).
    pub rows: u64,
    /// The largest people count a scan extrapolated (tables, structured files).
    pub scanned_people: u64,
    /// First and last observation (ms).
    pub first_seen_ms: i64,
    /// Last observation (ms).
    pub last_seen_ms: i64,
    /// A retention verdict fired on it.
    pub past_retention: bool,
}

/// Personal data a system sent to one destination host (findings with a `destination`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowSeen {
    /// Host of the sending system.
    pub host: String,
    /// The log the requests were seen in.
    pub locator: String,
    /// Destination host.
    pub destination: String,
    /// Agents that saw it.
    pub agents: Vec<String>,
    /// (category, detector) pairs sent.
    pub kinds: Vec<(String, String)>,
    /// Personal-data findings in requests to it.
    pub findings: u64,
    /// Distinct values sent (keyed fingerprints): at least one per person.
    pub distinct_values: u64,
    /// First observation (ms).
    pub first_seen_ms: i64,
    /// Last observation (ms).
    pub last_seen_ms: i64,
}

impl Store {
    /// Every flow of personal data to a destination host, by sending system and destination.
    pub fn flows_seen(&self) -> Result<Vec<FlowSeen>, StoreError> {
        let mut out: Vec<FlowSeen> = Vec::new();
        for r in self.rows(
            "SELECT host, locator, destination, COUNT(*), COUNT(DISTINCT fingerprint), MIN(observed_at), MAX(observed_at)
             FROM findings WHERE kind = 1 AND destination IS NOT NULL GROUP BY host, locator, destination ORDER BY host, locator, destination",
            &[],
        )? {
            out.push(FlowSeen {
                host: r.text(0)?,
                locator: r.text(1)?,
                destination: r.text(2)?,
                agents: Vec::new(),
                kinds: Vec::new(),
                findings: r.int(3)?.max(0) as u64,
                distinct_values: r.int(4)?.max(0) as u64,
                first_seen_ms: r.int(5)?,
                last_seen_ms: r.int(6)?,
            });
        }
        let at: std::collections::HashMap<(String, String, String), usize> =
            out.iter().enumerate().map(|(i, f)| ((f.host.clone(), f.locator.clone(), f.destination.clone()), i)).collect();
        let index = |r: &super::db::Row| -> Result<Option<usize>, StoreError> { Ok(at.get(&(r.text(0)?, r.text(1)?, r.text(2)?)).copied()) };
        for r in self.rows(
            "SELECT DISTINCT host, locator, destination, agent_id FROM findings WHERE kind = 1 AND destination IS NOT NULL ORDER BY host, locator, destination, agent_id",
            &[],
        )? {
            if let Some(i) = index(&r)? {
                out[i].agents.push(r.text(3)?);
            }
        }
        for r in self.rows(
            "SELECT DISTINCT host, locator, destination, category, detector FROM findings WHERE kind = 1 AND destination IS NOT NULL ORDER BY host, locator, destination, category, detector",
            &[],
        )? {
            if let Some(i) = index(&r)? {
                out[i].kinds.push((r.text(3)?, r.text(4)?));
            }
        }
        Ok(out)
    }

    /// Every system where agents saw personal data, by host and locator.
    pub fn systems_seen(&self) -> Result<Vec<SystemSeen>, StoreError> {
        let mut out: Vec<SystemSeen> = Vec::new();
        for r in self.rows(
            "SELECT host, locator, COUNT(DISTINCT CASE WHEN line IS NOT NULL THEN fingerprint END),
                    COUNT(DISTINCT CASE WHEN line IS NOT NULL THEN identity || ':' || CAST(line_offset AS TEXT) END),
                    CAST(COALESCE(MAX(CASE WHEN line IS NULL THEN records END), 0) AS BIGINT),
                    CAST(COALESCE(MAX(CASE WHEN line IS NULL THEN subjects END), 0) AS BIGINT),
                    MIN(observed_at), MAX(observed_at)
             FROM findings WHERE kind = 1 GROUP BY host, locator ORDER BY host, locator",
            &[],
        )? {
            out.push(SystemSeen {
                host: r.text(0)?,
                locator: r.text(1)?,
                agents: Vec::new(),
                kinds: Vec::new(),
                distinct_values: r.int(2)?.max(0) as u64,
                lines: r.int(3)?.max(0) as u64,
                rows: r.int(4)?.max(0) as u64,
                scanned_people: r.int(5)?.max(0) as u64,
                first_seen_ms: r.int(6)?,
                last_seen_ms: r.int(7)?,
                past_retention: false,
            });
        }
        // By key, not by position: the engines sort text by different collations.
        let at: std::collections::HashMap<(String, String), usize> = out.iter().enumerate().map(|(i, s)| ((s.host.clone(), s.locator.clone()), i)).collect();
        let index = |_: &[SystemSeen], host: &str, locator: &str| at.get(&(host.to_string(), locator.to_string())).copied();
        for r in self.rows("SELECT DISTINCT host, locator, agent_id FROM findings WHERE kind = 1 ORDER BY host, locator, agent_id", &[])? {
            if let Some(i) = index(&out, &r.text(0)?, &r.text(1)?) {
                out[i].agents.push(r.text(2)?);
            }
        }
        for r in self.rows("SELECT DISTINCT host, locator, category, detector FROM findings WHERE kind = 1 ORDER BY host, locator, category, detector", &[])? {
            if let Some(i) = index(&out, &r.text(0)?, &r.text(1)?) {
                out[i].kinds.push((r.text(2)?, r.text(3)?));
            }
        }
        for r in self
            .rows("SELECT DISTINCT f.host, f.locator FROM verdicts v JOIN findings f ON f.id = v.finding_id WHERE v.rule = $1", args!["retention_exceeded"])?
        {
            if let Some(i) = index(&out, &r.text(0)?, &r.text(1)?) {
                out[i].past_retention = true;
            }
        }
        Ok(out)
    }
}
