//! Notifications to the DPO and the security team: a signed webhook and e-mail over SMTP with
//! STARTTLS.
//!
//! The notifier works from the database, not from memory, so nothing is lost or sent twice
//! across restarts:
//! 1. **Plan** ([`Notifier::plan`]): new `detected` / `worsened` entries of the incident
//!    timeline (read from a persisted cursor), deadline reminders (48 h, 24 h, 6 h left while an
//!    incident is not yet assessed) and the weekly digest become rows of the `notifications`
//!    table, one per channel, under a unique key — inserting the same key twice does nothing,
//!    which is the send-once claim.
//! 2. **Deliver** ([`Notifier::deliver`]): due rows are claimed in the database (a lease, so a
//!    collector sharing the database does not send them too) and sent; a failure is recorded with its
//!    error and retried with exponential backoff (30 s, 1 min, 2 min, … capped at 1 h) until
//!    `max_attempts`, then marked `failed`. `custos-collector notifications` lists them all.
//!
//! No message carries a raw personal value, nor even a masked preview: they name the incident,
//! rule, system, categories, counts and deadline, and link to `custos-collector incident ID`.
//!
//! Webhook requests are `POST` with a JSON body and the header
//! `X-Custos-Signature: sha256=<hex HMAC-SHA256 of the body under the shared secret>`; the
//! receiver recomputes it to check that the message comes from the collector, unaltered.

use crate::config::{EmailConfig, NotificationConfig, WebhookConfig};
use crate::message::{Message, incident_message};
use crate::store::outbox::NotificationRecord;
use crate::store::pool::StorePool;
use crate::store::{Store, StoreError};
use crate::views::IncidentView;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

/// Header carrying the webhook signature.
pub const SIGNATURE_HEADER: &str = "X-Custos-Signature";

/// `sha256=<hex>` signature of a body.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// How long a claim on a due notification lasts: if its collector dies before recording the
/// attempt, another one sends it after this. Ten claims of at most ~45 s each (webhook 15 s,
/// SMTP 30 s) fit well within it.
pub const CLAIM_LEASE_MS: i64 = 10 * 60 * 1000;
/// Due notifications claimed at a time.
const CLAIM_BATCH: i64 = 10;

/// The configured channels and their secrets.
pub struct Notifier {
    cfg: NotificationConfig,
    /// Who claims notifications (this process), as recorded in `notifications.claimed_by`.
    owner: String,
    webhook_secret: Vec<u8>,
    smtp_password: Option<String>,
    smtp_root: Option<Vec<u8>>,
    /// The console's public address, for links in messages.
    console: Option<String>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier").field("channels", &self.channels()).finish_non_exhaustive()
    }
}

fn read_secret(p: &std::path::Path, what: &str) -> anyhow::Result<String> {
    let s = std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("{}: cannot read the {what}: {e}", p.display()))?;
    let s = s.trim().to_string();
    if s.is_empty() {
        anyhow::bail!("{}: the {what} file is empty", p.display());
    }
    Ok(s)
}

impl Notifier {
    /// Reads the secrets the configuration points at.
    pub fn new(cfg: NotificationConfig) -> anyhow::Result<Notifier> {
        let webhook_secret = match &cfg.webhook {
            Some(WebhookConfig { secret_file, .. }) => read_secret(secret_file, "webhook secret")?.into_bytes(),
            None => Vec::new(),
        };
        let (smtp_password, smtp_root) = match &cfg.email {
            Some(e) => (
                e.password_file.as_deref().map(|p| read_secret(p, "SMTP password")).transpose()?,
                e.ca_file.as_deref().map(|p| std::fs::read(p).map_err(|err| anyhow::anyhow!("{}: cannot read the SMTP CA: {err}", p.display()))).transpose()?,
            ),
            None => (None, None),
        };
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_else(|_| "collector".into());
        let owner = format!("{host}:{}:{}", std::process::id(), custos_proto::time::now_ms());
        Ok(Notifier { cfg, owner, webhook_secret, smtp_password, smtp_root, console: None })
    }

    /// Links messages to the incident in the console at this public address.
    pub fn with_console(mut self, url: Option<String>) -> Notifier {
        self.console = url;
        self
    }

    /// Channel names configured (`webhook`, `email`).
    pub fn channels(&self) -> Vec<&'static str> {
        let mut c = Vec::new();
        if self.cfg.webhook.is_some() {
            c.push("webhook");
        }
        if self.cfg.email.is_some() {
            c.push("email");
        }
        c
    }

    fn enqueue(&self, store: &mut Store, key: &str, incident: Option<i64>, msg: &Message, now_ms: i64) -> Result<u32, StoreError> {
        let payload = serde_json::to_string(msg).unwrap_or_default();
        let mut n = 0;
        for ch in self.channels() {
            n += u32::from(store.enqueue_notification(&format!("{key}:{ch}"), incident, &msg.event, ch, &payload, now_ms)?);
        }
        Ok(n)
    }

    /// Turns new timeline events, due reminders and the weekly digest into queued
    /// notifications. Returns how many were queued.
    pub fn plan(&self, store: &mut Store, register: &crate::register::Register, silent_agent_hours: u32, now_ms: i64) -> Result<u32, StoreError> {
        // Read past the cursor, queue and move it in one transaction, with the timeline closed
        // to new detections meanwhile: with several collectors on one database, each event is
        // read by one notifier, and none committed late behind a higher id is skipped.
        let mut queued = store.atomically(|store| {
            let mut queued = 0;
            let cursor = store.notifier_cursor_locked()?;
            let mut last = cursor;
            for e in store.timeline_since(cursor)? {
                last = e.id;
                let event = match e.kind.as_str() {
                    "detected" => "opened",
                    "worsened" => "worsened",
                    "promoted" => "promoted",
                    _ => continue,
                };
                // Breaches are pushed to the DPO and the security team at once; compliance
                // items wait for the weekly digest's queue, so a clock never hides among them.
                // A compliance item promoted since is announced by its promotion, not by the
                // events of before, when it was not a breach.
                if let Some(v) =
                    store.incident(e.incident_id)?.map(IncidentView::from).filter(|v| v.is_breach() && (event == "promoted" || e.at_ms >= v.awareness_at_ms))
                {
                    queued +=
                        self.enqueue(store, &format!("timeline:{}", e.id), Some(v.id), &incident_message(event, &v, now_ms, self.console.as_deref()), now_ms)?;
                }
            }
            if last != cursor {
                store.set_notifier_cursor(last)?;
            }
            Ok(queued)
        })?;
        let mut thresholds = self.cfg.reminders_hours.clone();
        thresholds.sort_unstable();
        for v in store.unassessed_incidents(now_ms)?.into_iter().map(IncidentView::from) {
            let left = v.due_or_deadline_ms() - now_ms;
            // Only the tightest threshold crossed: a collector started late sends one reminder.
            if let Some(h) = thresholds.iter().find(|h| left <= i64::from(**h) * 3_600_000) {
                let event = format!("reminder_{h}h");
                queued +=
                    self.enqueue(store, &format!("reminder:{}:{h}", v.id), Some(v.id), &incident_message(&event, &v, now_ms, self.console.as_deref()), now_ms)?;
            }
        }
        if let Some(week) = crate::digest::due_week(&self.cfg, now_ms)
            .filter(|w| !self.channels().is_empty() && !store.notification_queued(&format!("digest:{w}:")).unwrap_or(false))
        {
            let d = crate::digest::Digest::build(store, register, silent_agent_hours, now_ms)?;
            queued += self.enqueue(store, &format!("digest:{week}"), None, &d.message(), now_ms)?;
        }
        Ok(queued)
    }

    /// Sends one message on one channel.
    pub fn send(&self, channel: &str, msg: &Message) -> Result<(), String> {
        match channel {
            "webhook" => match &self.cfg.webhook {
                Some(w) => self.send_webhook(w, msg),
                None => Err("the webhook channel is no longer configured".into()),
            },
            "email" => match &self.cfg.email {
                Some(e) => self.send_email(e, msg),
                None => Err("the e-mail channel is no longer configured".into()),
            },
            other => Err(format!("unknown channel `{other}`")),
        }
    }

    fn send_webhook(&self, w: &WebhookConfig, msg: &Message) -> Result<(), String> {
        let body = serde_json::to_vec(&msg.data).map_err(|e| e.to_string())?;
        let agent = ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(15))).http_status_as_error(false).build().new_agent();
        let resp = agent
            .post(&w.url)
            .header("Content-Type", "application/json")
            .header(SIGNATURE_HEADER, &sign(&self.webhook_secret, &body))
            .header("X-Custos-Event", &msg.event)
            .send(&body[..])
            .map_err(|e| format!("POST {}: {e}", w.url))?;
        let status = resp.status();
        if status.is_success() { Ok(()) } else { Err(format!("POST {}: HTTP {status}", w.url)) }
    }

    fn send_email(&self, e: &EmailConfig, msg: &Message) -> Result<(), String> {
        use lettre::transport::smtp::authentication::Credentials;
        use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
        use lettre::{Message as Mail, SmtpTransport, Transport};
        let mut builder = Mail::builder().from(e.from.parse().map_err(|err| format!("from `{}`: {err}", e.from))?).subject(msg.subject.clone());
        for to in &e.to {
            builder = builder.to(to.parse().map_err(|err| format!("to `{to}`: {err}"))?);
        }
        let mail = builder.body(msg.text.clone()).map_err(|err| err.to_string())?;
        let mut tls = TlsParameters::builder(e.server.clone());
        if let Some(pem) = &self.smtp_root {
            tls = tls.add_root_certificate(Certificate::from_pem(pem).map_err(|err| format!("SMTP CA: {err}"))?);
        }
        let tls = tls.build_rustls().map_err(|err| format!("TLS: {err}"))?;
        let mut transport = SmtpTransport::builder_dangerous(e.server.as_str()).port(e.port).tls(Tls::Required(tls)).timeout(Some(Duration::from_secs(30)));
        if let (Some(user), Some(pw)) = (&e.username, &self.smtp_password) {
            transport = transport.credentials(Credentials::new(user.clone(), pw.clone()));
        }
        transport.build().send(&mail).map(|_| ()).map_err(|err| format!("SMTP {}:{}: {err}", e.server, e.port))
    }

    /// The delay before attempt `attempts + 1`, or None to give up.
    pub fn backoff(&self, attempts: i64) -> Option<i64> {
        (attempts + 1 < i64::from(self.cfg.max_attempts)).then(|| (30_000i64 << attempts.clamp(0, 20)).min(3_600_000))
    }

    /// Delivers due notifications, claimed in the database first so that another collector on
    /// the same database does not send them too. The store lock is not held while sending.
    /// Returns (sent, failed attempts).
    pub fn deliver(&self, store: &StorePool, now_ms: i64) -> Result<(u32, u32), StoreError> {
        let due: Vec<NotificationRecord> = store.with(|s| s.claim_due_notifications(&self.owner, now_ms, CLAIM_LEASE_MS, CLAIM_BATCH))?;
        let (mut sent, mut failed) = (0, 0);
        for n in due {
            let result = match serde_json::from_str::<Message>(&n.payload) {
                Ok(msg) => self.send(&n.channel, &msg),
                Err(e) => Err(format!("unreadable payload: {e}")),
            };
            let next = match &result {
                Ok(()) => {
                    sent += 1;
                    None
                }
                Err(e) => {
                    tracing::warn!(notification = n.id, channel = %n.channel, attempt = n.attempts + 1, error = %e, "notification not delivered");
                    failed += 1;
                    self.backoff(n.attempts).map(|d| now_ms + d)
                }
            };
            let ok = result.is_ok();
            store.with(|s| {
                s.record_delivery(n.id, result, next, now_ms)?;
                if let (true, Some(i)) = (ok, n.incident_id) {
                    s.add_timeline(i, "alert_sent", "custos", &format!("{} sent by {}", n.event, n.channel), now_ms)?;
                }
                Ok::<(), StoreError>(())
            })?;
        }
        Ok((sent, failed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(sign(b"Jefe", b"what do ya want for nothing?"), "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn backoff_doubles_then_gives_up() {
        let n = Notifier::new(NotificationConfig { max_attempts: 4, ..Default::default() }).unwrap();
        assert_eq!(n.backoff(0), Some(30_000));
        assert_eq!(n.backoff(1), Some(60_000));
        assert_eq!(n.backoff(2), Some(120_000));
        assert_eq!(n.backoff(3), None);
    }
}
