//! What the KPIs need from the store that the other reads do not give.

use super::Store;
use super::error::StoreError;
use std::collections::BTreeMap;

impl Store {
    /// When each incident was first assessed, notified or closed as not notifiable:
    /// (incident id, timeline kind) → time (ms).
    pub fn first_decisions(&self) -> Result<BTreeMap<(i64, String), i64>, StoreError> {
        let mut firsts = BTreeMap::new();
        for r in self.rows(
            "SELECT incident_id, kind, MIN(at) FROM incident_timeline WHERE kind IN ('assessed', 'notified', 'not_notifiable') GROUP BY incident_id, kind",
            &[],
        )? {
            firsts.insert((r.int(0)?, r.text(1)?), r.int(2)?);
        }
        Ok(firsts)
    }
}
