//! The collector's own retention: Custos must not become the biggest pile of personal data in
//! the company, so findings nobody needs as evidence are folded into daily counts and deleted.

use super::Store;
use super::db::args;
use super::error::StoreError;

impl Store {
    /// Findings received before `before_ms` that no correlation rule flagged (no verdict, so
    /// they are nobody's evidence) are folded into daily counts per agent, host, detector,
    /// category and kind (`finding_counts`) and deleted, so the database does not grow without
    /// bound. Findings behind a verdict stay as long as their incident does. Returns the number
    /// of findings purged.
    pub fn purge_findings(&mut self, before_ms: i64) -> Result<u64, StoreError> {
        const UNFLAGGED: &str = "received_at < $1 AND NOT EXISTS (SELECT 1 FROM verdicts v WHERE v.finding_id = findings.id)
             AND NOT EXISTS (SELECT 1 FROM incident_findings i WHERE i.finding_id = findings.id)";
        self.atomically(|s| {
            s.exec(
                &format!(
                    "INSERT INTO finding_counts (day, agent_id, host, detector, category, kind, count)
                     SELECT received_at / 86400000, agent_id, host, detector, category, kind, COUNT(*) FROM findings WHERE {UNFLAGGED}
                     GROUP BY 1, 2, 3, 4, 5, 6
                     ON CONFLICT (day, agent_id, host, detector, category, kind) DO UPDATE SET count = finding_counts.count + excluded.count"
                ),
                args![before_ms],
            )?;
            s.exec(&format!("DELETE FROM findings WHERE {UNFLAGGED}"), args![before_ms])
        })
    }
}
