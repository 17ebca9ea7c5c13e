//! The notification outbox: every message to the DPO and the security team is a row under a
//! unique key (send-once, across restarts and collectors), claimed by one collector at a time
//! and retried with backoff until delivered or given up.

use super::Store;
use super::db::{Dialect, Row, args};
use super::error::StoreError;

/// One queued or delivered notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRecord {
    /// Id.
    pub id: i64,
    /// Incident, if about one.
    pub incident_id: Option<i64>,
    /// `opened`, `worsened`, `reminder_48h`, `digest`, …
    pub event: String,
    /// `webhook` or `email`.
    pub channel: String,
    /// `pending`, `sent` or `failed`.
    pub status: String,
    /// Delivery attempts so far.
    pub attempts: i64,
    /// Last delivery error.
    pub last_error: String,
    /// Queued at (ms).
    pub created_at_ms: i64,
    /// Delivered at (ms).
    pub sent_at_ms: Option<i64>,
    /// The message (JSON), without any personal value.
    pub payload: String,
}

const NOTIFICATION_SELECT: &str = "SELECT id, incident_id, event, channel, status, attempts, last_error, created_at, sent_at, payload FROM notifications";

fn notification_row(r: &Row) -> Result<NotificationRecord, StoreError> {
    Ok(NotificationRecord {
        id: r.int(0)?,
        incident_id: r.opt_int(1)?,
        event: r.text(2)?,
        channel: r.text(3)?,
        status: r.text(4)?,
        attempts: r.int(5)?,
        last_error: r.text(6)?,
        created_at_ms: r.int(7)?,
        sent_at_ms: r.opt_int(8)?,
        payload: r.text(9)?,
    })
}

impl Store {
    /// Queues a notification once: a second call with the same key does nothing (send-once
    /// claim, unique `dedup_key`, whichever collector calls). Returns whether it was queued.
    pub fn enqueue_notification(
        &mut self,
        key: &str,
        incident_id: Option<i64>,
        event: &str,
        channel: &str,
        payload: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let n = self.exec(
            "INSERT INTO notifications (dedup_key, incident_id, event, channel, payload, status, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6)
             ON CONFLICT DO NOTHING",
            args![key, incident_id, event, channel, payload, now_ms],
        )?;
        Ok(n > 0)
    }

    /// Whether a notification was ever queued under this key (any channel suffix included).
    pub fn notification_queued(&self, key_prefix: &str) -> Result<bool, StoreError> {
        let n = self.int(
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM notifications WHERE substr(dedup_key, 1, $2) = $1) THEN 1 ELSE 0 END",
            args![key_prefix, key_prefix.chars().count() as i64],
        )?;
        Ok(n != 0)
    }

    /// Pending notifications whose next attempt is due (claimed or not).
    pub fn due_notifications(&self, now_ms: i64) -> Result<Vec<NotificationRecord>, StoreError> {
        self.rows(&format!("{NOTIFICATION_SELECT} WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY id LIMIT 100"), args![now_ms])?
            .iter()
            .map(notification_row)
            .collect()
    }

    /// Claims up to `limit` due notifications for `owner` until `now_ms + lease_ms` and returns
    /// them, oldest first: a notification claimed by one collector is not handed to another
    /// until it is delivered, given up, or the lease expires (its collector died mid-send).
    pub fn claim_due_notifications(&mut self, owner: &str, now_ms: i64, lease_ms: i64, limit: i64) -> Result<Vec<NotificationRecord>, StoreError> {
        const DUE: &str = "status = 'pending' AND next_attempt_at <= $3 AND (claimed_until IS NULL OR claimed_until < $3)";
        // The outer condition is re-checked on the latest row version when the row was locked
        // by a concurrent claim, so without SKIP LOCKED (SQLite) a row is still claimed once.
        let skip_locked = if self.dialect == Dialect::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
        let sql = format!(
            "UPDATE notifications SET claimed_by = $1, claimed_until = $2 WHERE {DUE} AND id IN (SELECT id FROM notifications WHERE {DUE} ORDER BY id LIMIT $4{skip_locked})
             RETURNING id, incident_id, event, channel, status, attempts, last_error, created_at, sent_at, payload"
        );
        let mut list: Vec<NotificationRecord> =
            self.rows(&sql, args![owner, now_ms + lease_ms, now_ms, limit])?.iter().map(notification_row).collect::<Result<_, _>>()?;
        list.sort_by_key(|n| n.id);
        Ok(list)
    }

    /// Every notification, newest first.
    pub fn notifications(&self) -> Result<Vec<NotificationRecord>, StoreError> {
        self.rows(&format!("{NOTIFICATION_SELECT} ORDER BY id DESC"), &[])?.iter().map(notification_row).collect()
    }

    /// Records a delivery attempt: sent, or failed with the error and the next attempt (None =
    /// give up: status `failed`). Releases the claim.
    pub fn record_delivery(&mut self, id: i64, result: Result<(), String>, next_attempt_ms: Option<i64>, now_ms: i64) -> Result<(), StoreError> {
        match (result, next_attempt_ms) {
            (Ok(()), _) => self.exec(
                "UPDATE notifications SET status = 'sent', attempts = attempts + 1, sent_at = $2, last_error = '', claimed_by = NULL, claimed_until = NULL WHERE id = $1",
                args![id, now_ms],
            )?,
            (Err(e), Some(next)) => self.exec(
                "UPDATE notifications SET status = 'pending', attempts = attempts + 1, last_error = $2, next_attempt_at = $3, claimed_by = NULL, claimed_until = NULL WHERE id = $1",
                args![id, e, next],
            )?,
            (Err(e), None) => self.exec(
                "UPDATE notifications SET status = 'failed', attempts = attempts + 1, last_error = $2, claimed_by = NULL, claimed_until = NULL WHERE id = $1",
                args![id, e],
            )?,
        };
        Ok(())
    }
}
