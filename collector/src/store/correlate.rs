//! Correlation of stored findings: the verdicts of the register's rules, and their settlement
//! into incidents.
//!
//! Two phases. [`Store::verdicts_of`] only reads: it runs [`correlation::correlate`] (pure) on
//! findings, with what the rules need from the store (the categories already seen on a host).
//! [`Store::settle`] then takes the grouping keys' locks in key order and records each verdict,
//! attaching it to an incident (see [`super::incidents`]). After a register change,
//! [`Store::recorrelate`] runs both phases over every stored finding; (finding, rule) pairs that
//! already have a verdict keep it, so nothing is flagged twice.

use super::db::args;
use super::error::StoreError;
use super::findings::{FINDING_SELECT, StoredFinding, finding_row};
use super::{Store, TIMELINE_LOCK};
use crate::correlation::{self, CorrelationSettings, FindingFacts, Kind};
use crate::register::Register;
use custos_proto::checked::FindingKind;
use custos_rules::Category;
use std::collections::{HashMap, HashSet};

/// The advisory-lock key of an incident group.
fn group_key(group: &str) -> i64 {
    use sha2::Digest;
    let h = sha2::Sha256::new().chain_update(group.as_bytes()).finalize();
    i64::from_be_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]])
}

impl Store {
    /// Re-correlates every stored finding against a (new) register: (finding, rule) pairs that
    /// already have a verdict are kept as they are; new ones open or extend incidents. Returns
    /// the incidents opened.
    pub fn recorrelate(&mut self, register: &Register, settings: &CorrelationSettings, now_ms: i64) -> Result<Vec<i64>, StoreError> {
        self.retrying(|s| s.recorrelate_once(register, settings, now_ms))
    }

    fn recorrelate_once(&mut self, register: &Register, settings: &CorrelationSettings, now_ms: i64) -> Result<Vec<i64>, StoreError> {
        // Personal data first (kind 1 < 2), so an export anomaly's verdicts follow those of the
        // data it exposes. Pages keep memory flat on a large store.
        let mut pending = Vec::new();
        let mut firing = HashSet::new();
        let mut after: Option<(i64, i64, String)> = None;
        loop {
            let page = match &after {
                None => self.rows(&format!("{FINDING_SELECT} ORDER BY kind, received_at, id LIMIT 5000"), &[])?,
                Some((k, t, id)) => self.rows(
                    &format!("{FINDING_SELECT} WHERE kind > $1 OR (kind = $1 AND received_at > $2) OR (kind = $1 AND received_at = $2 AND id > $3) ORDER BY kind, received_at, id LIMIT 5000"),
                    args![*k, *t, id],
                )?,
            };
            let Some(last) = page.last() else { break };
            after = Some((last.int(17)?, last.int(20)?, last.text(0)?));
            let found: Vec<StoredFinding> = page.iter().map(finding_row).collect::<Result<_, _>>()?;
            pending.extend(self.verdicts_of(&found, register, settings, false, &mut firing)?);
        }
        let mut opened = Vec::new();
        self.settle(pending, settings, now_ms, &mut opened)?;
        // Compliance items whose rule no longer fires under this register are settled by it.
        self.resolve_stale_compliance(&firing, now_ms)?;
        Ok(opened)
    }

    /// Phase 1 of correlation: the verdicts of stored findings (reads only). `fresh`: the
    /// findings were inserted by this transaction, so they cannot have verdicts yet.
    /// `firing` receives the group of every verdict, known or new.
    pub(super) fn verdicts_of(
        &self,
        found: &[StoredFinding],
        register: &Register,
        settings: &CorrelationSettings,
        fresh: bool,
        firing: &mut HashSet<String>,
    ) -> Result<Vec<(StoredFinding, correlation::Verdict)>, StoreError> {
        let mut host_categories: HashMap<String, Vec<Category>> = HashMap::new();
        let mut out = Vec::new();
        // Erasures are rare: findings are looked up only when some were recorded.
        let erasures = self.any_erasure()?;
        for f in found {
            let erased = if erasures && f.kind == FindingKind::PersonalData { self.erased_request(f)? } else { None };
            let kind = match f.kind {
                FindingKind::ExportAnomaly => Kind::ExportAnomaly,
                FindingKind::PersonalData => Kind::PersonalData,
            };
            if kind == Kind::ExportAnomaly && !host_categories.contains_key(&f.host) {
                host_categories.insert(f.host.clone(), self.host_categories(&f.host)?);
            }
            let facts = FindingFacts {
                id: &f.id,
                agent_id: &f.agent_id,
                host: &f.host,
                locator: &f.locator,
                at_rest: f.at_rest(),
                detector: &f.detector,
                kind,
                category: f.category,
                evidence: &f.evidence,
                host_categories: host_categories.get(&f.host).map_or(&[], Vec::as_slice),
                erased: erased.as_deref(),
            };
            for v in correlation::correlate(&facts, register, &settings.policy) {
                firing.insert(v.group.clone());
                if !fresh && self.verdict_known(&f.id, v.rule.id())? {
                    continue;
                }
                out.push((f.clone(), v));
            }
        }
        Ok(out)
    }

    /// The request of the erasure recorded, before `f` was observed, for its value or for its
    /// line's subject.
    fn erased_request(&self, f: &StoredFinding) -> Result<Option<String>, StoreError> {
        let subject = f.evidence.get("subject").and_then(|h| hex::decode(h).ok());
        for fp in [f.fingerprint.clone(), subject].into_iter().flatten() {
            if let Some(e) = self.erasure(&fp)?
                && e.erased_at_ms < f.observed_at_ms
            {
                return Ok(Some(e.request));
            }
        }
        Ok(None)
    }

    fn verdict_known(&self, finding_id: &str, rule: &str) -> Result<bool, StoreError> {
        Ok(self.int("SELECT CASE WHEN EXISTS (SELECT 1 FROM verdicts WHERE finding_id = $1 AND rule = $2) THEN 1 ELSE 0 END", args![finding_id, rule])? != 0)
    }

    /// Phase 2 of correlation: under the grouping keys' locks (taken in key order), records each
    /// verdict and attaches it to the open incident of its (rule, system), opening one if needed.
    pub(super) fn settle(
        &self,
        pending: Vec<(StoredFinding, correlation::Verdict)>,
        settings: &CorrelationSettings,
        now_ms: i64,
        opened: &mut Vec<i64>,
    ) -> Result<(), StoreError> {
        if pending.is_empty() {
            return Ok(());
        }
        self.advisory_lock(TIMELINE_LOCK, true)?;
        let mut keys: Vec<i64> = pending.iter().map(|(_, v)| group_key(&v.group)).collect();
        keys.sort_unstable();
        keys.dedup();
        for k in keys {
            self.advisory_lock(k, false)?;
        }
        let mutes: HashSet<(String, String)> = self.muted_pairs()?;
        for (f, v) in pending {
            // Another collector may have settled the same verdict while we waited for the lock.
            if self.dialect == super::db::Dialect::Postgres && self.verdict_known(&f.id, v.rule.id())? {
                continue;
            }
            let muted = mutes.contains(&(v.rule.id().to_string(), v.system.clone()));
            let incident = if muted { None } else { Some(self.attach(&v, &f, settings, now_ms, opened)?) };
            if let (Some(id), correlation::Rule::ExportAnomaly) = (incident, v.rule) {
                // An export carries no values; the subjects at stake are those whose data the
                // agents saw on the host.
                self.exec(
                    "INSERT INTO incident_subjects (incident_id, fingerprint) SELECT CAST($1 AS BIGINT), fingerprint FROM findings WHERE host = $2 AND kind = 1 AND fingerprint IS NOT NULL
                     ON CONFLICT DO NOTHING",
                    args![id, &f.host],
                )?;
            }
            self.exec(
                "INSERT INTO verdicts (finding_id, rule, incident_id, muted, severity, at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                args![&f.id, v.rule.id(), incident, muted, v.severity.as_str(), now_ms],
            )?;
        }
        Ok(())
    }
}
