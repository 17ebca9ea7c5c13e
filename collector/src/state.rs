//! The shared state of a running collector: the store's connections (a [`StorePool`]), the
//! register in force and the correlation settings, and the incident events subscribers follow.

use crate::correlation::CorrelationSettings;
use crate::register::Register;
use crate::store::Store;
use crate::store::error::StoreError;
use crate::store::pool::StorePool;
use custos_proto::checked::CheckedBatch;
use custos_proto::v1 as pb;
use std::sync::{Arc, RwLock};
use tokio::sync::broadcast;
use tonic::Status;

/// Shared collector state: the store, the current register and policy, and incident events.
pub struct Collector {
    store: StorePool,
    register: RwLock<Arc<Register>>,
    settings: CorrelationSettings,
    events: broadcast::Sender<i64>,
}

impl Collector {
    /// State over an opened store and a loaded register, with the default policy.
    pub fn new(store: Store, register: Register) -> Arc<Collector> {
        Collector::with_settings(store, register, CorrelationSettings { window_ms: 24 * 3_600_000, ..Default::default() })
    }

    /// State with an explicit correlation policy, over one store connection.
    pub fn with_settings(store: Store, register: Register, settings: CorrelationSettings) -> Arc<Collector> {
        Collector::with_pool(StorePool::single(store), register, settings)
    }

    /// State over a pool of store connections.
    pub fn with_pool(store: StorePool, register: Register, settings: CorrelationSettings) -> Arc<Collector> {
        let (events, _) = broadcast::channel(1024);
        Arc::new(Collector { store, register: RwLock::new(Arc::new(register)), settings, events })
    }

    /// The store's connections (for the notifier, which must not hold one while sending).
    pub fn store(&self) -> &StorePool {
        &self.store
    }

    /// Replaces the register in force and re-correlates every stored finding against it
    /// (blocking). Returns the incidents opened by the new register.
    pub fn replace_register(&self, register: Register) -> Result<Vec<i64>, StoreError> {
        let register = Arc::new(register);
        *self.register.write().unwrap_or_else(|p| p.into_inner()) = register.clone();
        let opened = self.with_store(|s| s.recorrelate(&register, &self.settings, custos_proto::time::now_ms()))?;
        for id in &opened {
            let _ = self.events.send(*id);
        }
        Ok(opened)
    }

    /// Ids of incidents as they are opened.
    pub fn subscribe(&self) -> broadcast::Receiver<i64> {
        self.events.subscribe()
    }

    /// Runs `f` with a store connection (blocking; call from a blocking context).
    pub fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        self.store.with(f)
    }

    /// The correlation settings in force.
    pub fn settings(&self) -> &CorrelationSettings {
        &self.settings
    }

    /// The register in force.
    pub fn register(&self) -> Arc<Register> {
        self.register.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Whether the agent is revoked (checked at stream start and on every batch).
    pub fn revoked(&self, agent_id: &str) -> Result<bool, Status> {
        self.with_store(|s| s.is_revoked(agent_id)).map_err(|e| {
            tracing::error!(error = %e, "cannot check revocations");
            Status::unavailable("the collector cannot check revocations right now; retry later")
        })
    }

    /// Stores a batch the gRPC edge received from `agent_id` (authenticated by its
    /// certificate): checks each finding against the contract, stores the valid ones,
    /// correlates them and tells subscribers of the incidents opened. The error is the status
    /// to answer when the store cannot take the batch (the agent resends it later).
    pub fn ingest(&self, batch: &pb::FindingBatch, agent_id: &str) -> Result<pb::BatchAck, Status> {
        let checked = CheckedBatch::from_wire(batch, agent_id);
        if let Some((first, reason)) = checked.refused.first() {
            // One line per batch, however many findings it refuses: a hostile batch must not
            // turn into as many log lines as it has findings.
            tracing::warn!(agent = agent_id, seq = batch.seq, refused = checked.refused.len(), first = %first, reason, "findings refused (acknowledged, not stored)");
        }
        let register = self.register();
        let now = custos_proto::time::now_ms();
        let outcome = self.with_store(|s| s.ingest(&checked, &register, &self.settings, now)).map_err(|e| {
            tracing::error!(error = %e, "cannot store a batch");
            Status::unavailable("the collector cannot store findings right now; retry later")
        })?;
        for id in &outcome.opened {
            let _ = self.events.send(*id);
        }
        tracing::debug!(agent = agent_id, seq = batch.seq, stored = outcome.stored, duplicates = outcome.duplicates, "batch stored");
        let refused = checked.refused.into_iter().map(|(id, reason)| pb::RefusedFinding { id, reason: reason.to_string() }).collect();
        Ok(pb::BatchAck { seq: batch.seq, stored: outcome.stored, duplicates: outcome.duplicates, rejected: outcome.rejected, refused })
    }
}
