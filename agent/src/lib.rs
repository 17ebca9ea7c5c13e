//! The Custos agent: sources → detector → finding → transport.
//!
//! An agent runs on a server, follows its log files, detects personal data with
//! [`custos_rules`], turns each detection into a [`Finding`](custos_proto::v1::Finding) that
//! carries no raw value, and streams findings to the collector over mutual TLS.
//!
//! Decisions that shaped it:
//! - **Raw values never leave this process.** [`finding`] is the only place a detection becomes
//!   something sendable, and what it builds holds a masked preview and an HMAC fingerprint.
//! - **At-least-once delivery, idempotent storage.** Finding ids are deterministic; the
//!   [`transport`] resends anything not acknowledged, the collector stores each id once.
//! - **Blocking work off the async runtime.** Reading files and running regexes happen on a
//!   dedicated thread; the runtime only moves batches.
//!
//! The binary (`custos-agent`) is a thin layer over [`cli`].

#![deny(missing_docs)]

pub mod cli;
pub mod config;
pub mod finding;
pub mod scan;
pub mod tail;
pub mod transport;

use config::AgentConfig;
use custos_proto::v1 as pb;
use custos_rules::{Engine, EngineOptions, RuleSet};
use finding::FindingFactory;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
pub use transport::Delivery;

/// How long an agent runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// Follow the files until shut down.
    Follow,
    /// Read what is there now (partial last lines included), deliver it, and stop once every
    /// finding is acknowledged.
    Once,
}

/// The machine's host name.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_string())
}

/// Loads the default rule packs plus the packs of `extra` (a directory), and compiles them.
pub fn load_engine(extra: Option<&std::path::Path>, min_confidence: Option<f32>) -> anyhow::Result<Engine> {
    let mut rules = RuleSet::default_packs()?;
    if let Some(dir) = extra {
        rules.add_dir(dir)?;
    }
    let mut options = EngineOptions::default();
    if let Some(c) = min_confidence {
        options.min_confidence = c;
    }
    Ok(Engine::new(rules, options)?)
}

/// A configured agent, ready to run.
pub struct Agent {
    config: AgentConfig,
    engine: Arc<Engine>,
    factory: FindingFactory,
    host: String,
}

impl Agent {
    /// Loads the rule packs and the fingerprint key named by the config.
    pub fn new(config: AgentConfig) -> anyhow::Result<Agent> {
        let engine = load_engine(config.detection.rules.as_deref(), config.detection.min_confidence)?;
        let key = finding::load_fingerprint_key(&config.fingerprint.key_file).map_err(anyhow::Error::msg)?;
        let host = config.host.clone().unwrap_or_else(hostname);
        let factory = FindingFactory::new(config.agent_id.clone(), host.clone(), key);
        Ok(Agent { config, engine: Arc::new(engine), factory, host })
    }

    /// Runs the agent. Delivery progress is published on `progress`; setting `shutdown` to true
    /// stops it. In [`RunMode::Once`] it returns by itself when everything read is acknowledged.
    pub async fn run(self, mode: RunMode, progress: watch::Sender<Delivery>, shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.config.data_dir).map_err(|e| anyhow::anyhow!("{}: cannot create data dir: {e}", self.config.data_dir.display()))?;
        let transport = transport::Transport::new(self.config.collector.clone(), self.config.batch.clone(), self.config.agent_id.clone(), self.host.clone())?;
        let (tx, rx) = mpsc::channel::<pb::Finding>(self.config.batch.max_findings * 4);
        let reader_shutdown = shutdown.clone();
        let reader = {
            let engine = self.engine.clone();
            let factory = self.factory.clone();
            let sources = self.config.logs.clone();
            std::thread::Builder::new()
                .name("custos-reader".into())
                .spawn(move || read_loop(sources, engine, factory, tx, mode, reader_shutdown))?
        };
        transport.run(rx, progress, shutdown).await;
        // The reader ends once its channel is closed or shutdown is set.
        let _ = tokio::task::spawn_blocking(move || reader.join()).await;
        Ok(())
    }
}

/// Tails, detects and hands findings to the transport. Runs on its own thread.
fn read_loop(sources: Vec<config::LogSource>, engine: Arc<Engine>, factory: FindingFactory, tx: mpsc::Sender<pb::Finding>, mode: RunMode, shutdown: watch::Receiver<bool>) {
    let mut tailer = tail::Tailer::new(sources);
    let mut detections = Vec::new();
    let mut closed = false;
    let mut on_line = |l: tail::LogLine<'_>| {
        if closed {
            return;
        }
        detections.clear();
        engine.scan(l.bytes, &mut detections);
        if detections.is_empty() {
            return;
        }
        let source = pb::Source { kind: pb::SourceKind::LogFile as i32, locator: l.path.to_string_lossy().into_owned(), identity: l.identity.to_string() };
        for d in &detections {
            let f = factory.text_finding(&engine, &source, l.line, l.offset, d, &l.bytes[d.start..d.end]);
            // Blocks when the transport is saturated: backpressure on reading.
            if tx.blocking_send(f).is_err() {
                closed = true;
                return;
            }
        }
    };
    let mut warn = |p: &std::path::Path, e: &str| tracing::warn!(path = %p.display(), error = %e, "cannot read log file; skipping it for now");
    loop {
        tailer.poll(&mut on_line, &mut warn);
        if mode == RunMode::Once {
            tailer.flush_partial_lines(&mut on_line);
            return;
        }
        if *shutdown.borrow() || tx.is_closed() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
