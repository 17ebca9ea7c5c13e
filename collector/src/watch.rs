//! The running collector's background duties: reloading the register without a restart,
//! driving the notifier, and purging its own old findings.
//!
//! The register is reloaded on `SIGHUP` and when its modification time changes (polled, which
//! works for editors that replace the file and for network file systems alike). A register with
//! problems is refused — the one in force stays — and the problems are logged with their lines.
//! A good one replaces it, and every stored finding is re-correlated against it.

use crate::notify::Notifier;
use crate::register::Register;
use crate::state::Collector;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

fn mtime(p: &std::path::Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Reloads `path` on SIGHUP or when it changes; runs until the process ends.
pub async fn watch_register(collector: Arc<Collector>, path: PathBuf, poll: Duration) {
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let mut last = mtime(&path);
    loop {
        let by_signal = tokio::select! {
            _ = tokio::time::sleep(poll) => false,
            _ = async { match hup.as_mut() { Some(h) => { h.recv().await; } None => std::future::pending::<()>().await } } => true,
        };
        let now = mtime(&path);
        if !by_signal && now == last {
            continue;
        }
        last = now;
        let c = collector.clone();
        let p = path.clone();
        let result = tokio::task::spawn_blocking(move || match Register::load(&p) {
            Ok(r) => {
                let n = r.activities.len();
                c.replace_register(r).map(|opened| (n, opened.len())).map_err(|e| e.to_string())
            }
            Err(e) => Err(e.to_string()),
        })
        .await;
        match result {
            Ok(Ok((activities, opened))) => {
                tracing::info!(register = %path.display(), activities, opened, by_signal, "register reloaded; findings re-correlated")
            }
            Ok(Err(e)) => tracing::error!(register = %path.display(), error = %e, "register not reloaded; the previous one stays in force"),
            Err(e) => tracing::error!(error = %e, "register reload task failed"),
        }
    }
}

/// Plans and delivers notifications every few seconds; runs until the process ends.
pub async fn notify_loop(collector: Arc<Collector>, notifier: Arc<Notifier>, silent_agent_hours: u32) {
    loop {
        let c = collector.clone();
        let n = notifier.clone();
        let r = tokio::task::spawn_blocking(move || {
            let now = custos_proto::time::now_ms();
            let register = c.register();
            c.with_store(|s| n.plan(s, &register, silent_agent_hours, now))?;
            n.deliver(c.store(), now)
        })
        .await;
        match r {
            Ok(Ok((0, 0))) => {}
            Ok(Ok((sent, failed))) => tracing::info!(sent, failed, "notifications delivered"),
            Ok(Err(e)) => tracing::error!(error = %e, "notifier cannot use the store"),
            Err(e) => tracing::error!(error = %e, "notifier task failed"),
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Every hour, folds findings older than `retention_days` that no rule flagged into daily counts
/// and deletes them (see [`crate::store::Store::purge_findings`]); 0 days disables it.
pub async fn purge_loop(collector: Arc<Collector>, retention_days: u32) {
    if retention_days == 0 {
        return;
    }
    loop {
        let c = collector.clone();
        let before = custos_proto::time::now_ms() - i64::from(retention_days) * 86_400_000;
        match tokio::task::spawn_blocking(move || c.with_store(|s| s.purge_findings(before))).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(purged = n, retention_days, "old unflagged findings folded into daily counts"),
            Ok(Err(e)) => tracing::error!(error = %e, "cannot purge old findings"),
            Err(e) => tracing::error!(error = %e, "purge task failed"),
        }
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}
