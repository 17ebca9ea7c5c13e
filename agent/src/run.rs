//! A running agent, wired: the reader thread (tailing, detection, anomaly watches), the
//! scheduled data-store scans, the spool and the transport to the collector, metrics.

use crate::config::AgentConfig;
use crate::datastore::schedule::{ScanContext, Scheduler, scan_loop};
use crate::finding::{self, FindingFactory};
use crate::metrics::{self, Metrics};
use crate::mode::RunMode;
use crate::reader;
use crate::spool::Spool;
use crate::transport::{self, Delivery};
use custos_rules::{Engine, EngineOptions, PhoneRegions, RuleSet};
use std::sync::Arc;
use tokio::sync::watch;

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

/// Loads the default rule packs plus the packs of `extra` (a directory), and compiles them;
/// `phone_regions` replaces the default regions of national phone formats.
pub fn load_engine(extra: Option<&std::path::Path>, min_confidence: Option<f32>, phone_regions: Option<&[String]>) -> anyhow::Result<Engine> {
    load_engine_with(extra, min_confidence, phone_regions, true)
}

/// [`load_engine`], with the engine's candidate prefilter on or off (`scan --no-prefilter`:
/// the single-pass engine, which finds the same values more slowly; for checking the prefilter
/// on one's own data).
pub fn load_engine_with(
    extra: Option<&std::path::Path>,
    min_confidence: Option<f32>,
    phone_regions: Option<&[String]>,
    prefilter: bool,
) -> anyhow::Result<Engine> {
    let mut rules = RuleSet::default_packs()?;
    if let Some(dir) = extra {
        rules.add_dir(dir)?;
    }
    let mut options = EngineOptions { prefilter, ..EngineOptions::default() };
    if let Some(c) = min_confidence {
        options.min_confidence = c;
    }
    if let Some(regions) = phone_regions {
        options.phone_regions = PhoneRegions::new(regions).map_err(anyhow::Error::msg)?;
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
        let engine = load_engine(config.detection.rules.as_deref(), config.detection.min_confidence, config.detection.phone_regions.as_deref())?;
        let key = finding::load_fingerprint_key(&config.fingerprint.key_file).map_err(anyhow::Error::msg)?;
        let host = config.host.clone().unwrap_or_else(hostname);
        let factory = FindingFactory::new(config.agent_id.clone(), host.clone(), key);
        Ok(Agent { config, engine: Arc::new(engine), factory, host })
    }

    /// Runs the agent. Delivery progress is published on `progress`; setting `shutdown` to true
    /// stops it. In [`RunMode::Once`] it returns by itself when everything read is acknowledged.
    pub async fn run(self, mode: RunMode, progress: watch::Sender<Delivery>, shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
        let data_dir = self.config.data_dir.clone();
        // First: the certificate must be this agent's (checked there), before anything is read
        // or spooled under an id the collector would refuse.
        let transport = transport::Transport::new(self.config.collector.clone(), self.config.batch.clone(), self.config.agent_id.clone(), self.host.clone())?
            .with_dead_letter(crate::dead_letter::DeadLetter::new(&data_dir.join("dead-letter.jsonl")));
        crate::private::create_dir(&data_dir).map_err(|e| anyhow::anyhow!("{}: cannot create data dir: {e}", data_dir.display()))?;
        let metrics = Arc::new(Metrics::default());
        if let Some(m) = &self.config.metrics {
            let (addr, metrics) = (m.listen, metrics.clone());
            tokio::spawn(async move {
                if let Err(e) = metrics::serve(addr, metrics).await {
                    tracing::error!(%addr, error = %e, "cannot serve metrics");
                }
            });
        }
        // Before the spool is opened (and its directory created): did the agent run before?
        let resume = crate::checkpoint::resume(&data_dir)?;
        let spool = Spool::open(&data_dir.join("spool"), self.config.spool.clone(), metrics.clone())
            .map_err(|e| anyhow::anyhow!("{}: cannot open the spool: {e}", data_dir.join("spool").display()))?;
        let checkpoints_path = data_dir.join("checkpoints.json");
        let (done_tx, done_rx) = watch::channel(false);
        let mut scheduler = Scheduler::new(self.config.scans.clone(), data_dir.join("scan-state.json"), self.config.anomaly.clone())
            .map_err(|e| anyhow::anyhow!("cannot load the scan state: {e}"))?;
        // What scans learn of table and file sizes sizes the exports the reader sees in logs.
        let sizes = crate::anomaly::SizeHints::default();
        scheduler.share_sizes(sizes.clone());
        let scans = ScanContext {
            engine: self.engine.clone(),
            factory: self.factory.clone(),
            spool: spool.clone(),
            metrics: metrics.clone(),
            mode,
            shutdown: shutdown.clone(),
        };
        // In follow mode scheduled scans run on their own thread, beside tailing; in once mode
        // the reader runs them first, so "done" means both are done.
        let (scan_thread, once_scheduler) = match (mode, scheduler.is_empty()) {
            (_, true) => (None, None),
            (RunMode::Once, false) => (None, Some((scheduler, scans))),
            (RunMode::Follow, false) => (Some(std::thread::Builder::new().name("custos-datastore".into()).spawn(move || scan_loop(scheduler, scans))?), None),
        };
        // One thread per [[journald]] source, beside the reader.
        let mut journals = Vec::new();
        for source in &self.config.journald {
            let ctx = crate::journald::JournalContext {
                engine: self.engine.clone(),
                factory: self.factory.clone(),
                source: source.clone(),
                spool: spool.clone(),
                metrics: metrics.clone(),
                cursor_path: crate::journald::cursor_path(&data_dir, source),
                read_whole: resume.read_whole,
                mode,
                shutdown: shutdown.clone(),
                checkpoint_interval: std::time::Duration::from_millis(self.config.tail.checkpoint_interval_ms),
            };
            journals.push(std::thread::Builder::new().name("custos-journald".into()).spawn(move || {
                let r = crate::journald::journal_loop(ctx);
                if let Err(e) = &r {
                    tracing::error!(error = %e, "a journald source stopped");
                }
                r
            })?);
        }
        // Syslog listeners bind before any source is read: a port that cannot be had fails the
        // start, loudly. A one-shot run has no stream to end, so it listens to none.
        let syslog = match (mode, self.config.syslogs.is_empty()) {
            (_, true) => None,
            (RunMode::Once, false) => {
                tracing::warn!("[[syslog]] listeners are not started by a one-shot run");
                None
            }
            (RunMode::Follow, false) => {
                let ctx = crate::syslog::scanner::ScanContext {
                    engine: self.engine.clone(),
                    factory: self.factory.clone(),
                    spool: spool.clone(),
                    metrics: metrics.clone(),
                    shutdown: shutdown.clone(),
                };
                Some(crate::syslog::start(&self.config.syslogs, ctx).await?)
            }
        };
        let reader = {
            let ctx = reader::ReaderContext {
                engine: self.engine.clone(),
                factory: self.factory.clone(),
                sources: self.config.logs.clone(),
                tail: self.config.tail.clone(),
                spool: spool.clone(),
                metrics: metrics.clone(),
                checkpoints_path,
                checkpoints_copy: crate::checkpoint::copy_path(&data_dir),
                saved: resume.saved,
                read_whole: resume.read_whole,
                mode,
                shutdown: shutdown.clone(),
                anomaly: self.config.anomaly.clone(),
                sizes,
            };
            std::thread::Builder::new().name("custos-reader".into()).spawn(move || {
                let r = match once_scheduler {
                    Some((scheduler, scans)) => scan_loop(scheduler, scans).and_then(|()| reader::read_loop(ctx)),
                    None => reader::read_loop(ctx),
                };
                // "Done" (in once mode) means the journal sources are done too.
                for j in journals {
                    match j.join() {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => {} // logged when it stopped
                        Err(_) => tracing::error!("a journald thread panicked"),
                    }
                }
                let _ = done_tx.send(true);
                r
            })?
        };
        transport.run(spool.clone(), metrics, progress, shutdown, done_rx).await;
        if let Some(t) = syslog {
            match tokio::task::spawn_blocking(move || t.join()).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => tracing::error!(error = %e, "the syslog receiver stopped"),
                _ => tracing::error!("the syslog scanner thread panicked"),
            }
        }
        let joined = tokio::task::spawn_blocking(move || reader.join()).await;
        if let Some(t) = scan_thread {
            match tokio::task::spawn_blocking(move || t.join()).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => tracing::error!(error = %e, "scheduled scans stopped"),
                _ => tracing::error!("the data-store scan thread panicked"),
            }
        }
        spool.sync()?;
        match joined {
            Ok(Ok(r)) => r,
            _ => Err(anyhow::anyhow!("the reader thread panicked")),
        }
    }
}
