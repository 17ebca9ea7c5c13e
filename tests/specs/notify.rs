// Store-backed specifications of tests/collector_notify.rs, included once per engine.

// ---------------------------------------------------------------- tests

#[test]
fn an_opened_incident_reaches_the_signed_webhook_and_the_mailbox_over_starttls_once() {
    let Some(mut fx) = fixture() else { return };
    let ca = TestCa::new("smtp test CA");
    let (cert, key) = ca.server(fx.dir.path());
    let ca_file = ca.write(fx.dir.path(), "smtp-ca.pem");
    let (smtp_port, mails) = smtp_server(&cert, &key);
    let (url, hooks) = webhook_server(SECRET);
    let cfg = NotificationConfig {
        webhook: webhook(&url, fx.secret(SECRET)),
        email: Some(EmailConfig {
            server: "localhost".into(),
            port: smtp_port,
            from: "custos@exemple.fr".into(),
            to: vec!["dpo@exemple.fr".into(), "soc@exemple.fr".into()],
            username: None,
            password_file: None,
            ca_file: Some(ca_file),
        }),
        ..Default::default()
    };
    let notifier = Notifier::new(cfg).unwrap().with_console(Some("https://custos.exemple.fr".into()));

    // A payments export dropped in the web root: a possible breach (exposed place), pushed at
    // once; the undeclared place is that breach, not also a register gap.
    let opened = fx.ingest(vec![finding("a", "/var/www/html/pay.csv", pb::Category::Financial)], T0);
    assert_eq!(opened, [1]);
    assert_eq!(notifier.plan(&mut fx.store, &fx.register, 24, T0).unwrap(), 2, "one per channel, for the breach only");
    assert_eq!(notifier.plan(&mut fx.store, &fx.register, 24, T0).unwrap(), 0, "send-once: planning again queues nothing");
    let store = custos_collector::store::pool::StorePool::single(fx.store);
    assert_eq!(notifier.deliver(&store, T0).unwrap(), (2, 0));
    assert_eq!(notifier.deliver(&store, T0 + HOUR).unwrap(), (0, 0), "nothing left to send");

    let hooks = hooks.json();
    assert_eq!(hooks.len(), 1);
    let (valid, body) = &hooks[0];
    assert!(valid, "the receiver recomputed the HMAC-SHA256 signature");
    assert_eq!(body["event"], "opened");
    assert_eq!(body["incident"]["id"], 1);
    assert_eq!(body["incident"]["rule"], "exposed_place");
    assert_eq!(body["kind"], "breach");
    assert_eq!(body["url"], "https://custos.exemple.fr/#/incidents/1", "the message links to the incident in the console");
    assert_eq!(body["incident"]["categories"], serde_json::json!(["financial"]));
    assert_eq!(body["hours_left"], 72);

    let mails = mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].tls);
    assert_eq!(mails[0].to, ["dpo@exemple.fr", "soc@exemple.fr"]);
    assert!(mails[0].data.contains("Subject: [Custos] [breach] Possible personal-data breach: #1"), "{}", mails[0].data);
    for (what, text) in [("webhook", body.to_string()), ("mail", mails[0].data.clone())] {
        assert!(!text.contains("FR76") && !text.contains("****"), "no preview or value fragment in the {what}: {text}");
    }

    let sent: Vec<(String, String)> = store.with(|s| s.notifications()).unwrap().into_iter().map(|n| (n.channel, n.status)).collect();
    assert_eq!(sent, [("email".to_string(), "sent".to_string()), ("webhook".to_string(), "sent".to_string())]);
    assert_eq!(store.with(|s| s.timeline(1)).unwrap().iter().filter(|t| t.kind == "alert_sent").count(), 2);
}

#[test]
fn failed_deliveries_are_recorded_visible_and_retried_with_backoff() {
    let Some(mut fx) = fixture() else { return };
    let (url, hooks) = webhook_server(SECRET);
    let closed_port = free_port();
    let cfg = NotificationConfig {
        webhook: webhook(&url, fx.secret("not-the-receivers-secret")),
        email: Some(EmailConfig { server: "localhost".into(), port: closed_port, from: "c@x.fr".into(), to: vec!["d@x.fr".into()], username: None, password_file: None, ca_file: None }),
        max_attempts: 3,
        ..Default::default()
    };
    let notifier = Notifier::new(cfg).unwrap();
    fx.ingest(vec![finding("a", "/var/www/html/export.csv", pb::Category::Contact)], T0);
    notifier.plan(&mut fx.store, &fx.register, 24, T0).unwrap();
    let store = custos_collector::store::pool::StorePool::single(fx.store);
    assert_eq!(notifier.deliver(&store, T0).unwrap(), (0, 2));
    assert_eq!(hooks.0.lock().unwrap().len(), 1, "the receiver got it and refused the bad signature");
    for n in store.with(|s| s.notifications()).unwrap() {
        assert_eq!((n.status.as_str(), n.attempts), ("pending", 1), "{n:?}");
        let expected = if n.channel == "webhook" { "HTTP 401" } else { "SMTP localhost" };
        assert!(n.last_error.contains(expected), "{n:?}");
    }
    assert_eq!(notifier.deliver(&store, T0 + 10_000).unwrap(), (0, 0), "backoff: not due after 10 s");
    assert_eq!(notifier.deliver(&store, T0 + 31_000).unwrap(), (0, 2), "due again after 30 s");
    assert_eq!(notifier.deliver(&store, T0 + 92_000).unwrap(), (0, 2), "third and last attempt after 60 s more");
    assert_eq!(notifier.deliver(&store, T0 + 10 * HOUR).unwrap(), (0, 0));
    assert!(store.with(|s| s.notifications()).unwrap().iter().all(|n| n.status == "failed" && n.attempts == 3));
    // And the command line shows them.
    let out = std::process::Command::new(bin("e2e-collector")).args(["notifications", "--data-dir"]).arg(fx.dir.path()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("failed") && text.contains("HTTP 401"), "{text}");
}

#[test]
fn reminders_are_queued_once_as_the_deadline_nears_until_the_incident_is_assessed() {
    let Some(mut fx) = fixture() else { return };
    let notifier = Notifier::new(NotificationConfig { webhook: webhook("http://127.0.0.1:9/hook", fx.secret(SECRET)), ..Default::default() }).unwrap();
    fx.ingest(vec![finding("a", "/var/www/html/export.csv", pb::Category::Contact)], T0);
    let events = |s: &Store| -> Vec<String> {
        let mut e: Vec<String> = s.notifications().unwrap().into_iter().map(|n| n.event).collect();
        e.sort();
        e
    };
    notifier.plan(&mut fx.store, &fx.register, 24, T0).unwrap();
    assert_eq!(events(&fx.store), ["opened"]);
    notifier.plan(&mut fx.store, &fx.register, 24, T0 + 23 * HOUR).unwrap();
    assert_eq!(events(&fx.store), ["opened"], "49 h left: no reminder yet");
    notifier.plan(&mut fx.store, &fx.register, 24, T0 + 25 * HOUR).unwrap();
    notifier.plan(&mut fx.store, &fx.register, 24, T0 + 26 * HOUR).unwrap();
    assert_eq!(events(&fx.store), ["opened", "reminder_48h"]);
    fx.store.set_status(1, Status::Triaged, "soc", "confirmed", T0 + 27 * HOUR).unwrap().unwrap();
    notifier.plan(&mut fx.store, &fx.register, 24, T0 + 49 * HOUR).unwrap();
    assert_eq!(events(&fx.store), ["opened", "reminder_24h", "reminder_48h"], "triaged is not assessed yet");
    fx.store.set_status(1, Status::Assessed, "claire", "low risk", T0 + 50 * HOUR).unwrap().unwrap();
    notifier.plan(&mut fx.store, &fx.register, 24, T0 + 67 * HOUR).unwrap();
    assert_eq!(events(&fx.store), ["opened", "reminder_24h", "reminder_48h"], "assessed: no 6 h reminder");
}

#[test]
fn the_weekly_digest_lists_incidents_deadlines_undeclared_stores_unseen_systems_and_silent_agents() {
    let Some(mut fx) = fixture() else { return };
    fx.ingest(vec![finding("a", "/var/log/app/a.log", pb::Category::Contact), finding("b", "/srv/export.csv", pb::Category::Contact)], T0);
    let d = Digest::build(&fx.store, &fx.register, 24, T0 + 30 * HOUR).unwrap();
    assert_eq!(d.new_incidents.len(), 1);
    assert!(d.open_deadlines.is_empty(), "a register gap is not a breach: no Art. 33 clock");
    assert_eq!(d.compliance_queue[0].hours_left, 30 * 24 - 30, "due in 30 days");
    assert_eq!(d.undeclared_stores, ["web-01:/srv/export.csv [contact]"]);
    assert_eq!(d.unseen_systems, ["«Customer accounts» (accounts): databases postgres://never-scanned"]);
    assert_eq!(d.silent_agents.len(), 1, "agent-1 last seen 30 h ago");
    assert_eq!(
        d.new_on_map,
        ["contact data on web-01:/var/log/app/a.log (Customer accounts (accounts))", "contact data on web-01:/srv/export.csv (undeclared)"],
        "the data map's newcomers of the week, declared first"
    );
    assert!(Digest::build(&fx.store, &fx.register, 24, T0 + 8 * 24 * HOUR).unwrap().new_on_map.is_empty(), "a week later they are not new");
    assert!(Digest::build(&fx.store, &fx.register, 48, T0 + 30 * HOUR).unwrap().silent_agents.is_empty());
    let text = d.text();
    assert!(text.contains("Undeclared stores") && text.contains("/srv/export.csv") && text.contains("Compliance queue"), "{text}");
}

#[test]
fn the_weekly_digest_is_queued_once_on_its_day_and_hour() {
    let Some(mut fx) = fixture() else { return };
    let notifier = Notifier::new(NotificationConfig { webhook: webhook("http://127.0.0.1:9/hook", fx.secret(SECRET)), ..Default::default() }).unwrap();
    let monday_8h = T0 + 5 * 24 * HOUR + 8 * HOUR;
    assert_eq!(notifier.plan(&mut fx.store, &fx.register, 24, monday_8h - HOUR).unwrap(), 0, "Monday 07:00: not yet");
    assert_eq!(notifier.plan(&mut fx.store, &fx.register, 24, monday_8h).unwrap(), 1);
    assert_eq!(notifier.plan(&mut fx.store, &fx.register, 24, monday_8h + 2 * HOUR).unwrap(), 0, "once per week");
    assert_eq!(notifier.plan(&mut fx.store, &fx.register, 24, monday_8h + 7 * 24 * HOUR).unwrap(), 1, "next week");
}

#[test]
fn compliance_items_are_not_pushed_but_a_promotion_starts_the_clock_and_is() {
    let Some(mut fx) = fixture() else { return };
    let notifier = Notifier::new(NotificationConfig { webhook: webhook("http://127.0.0.1:9/hook", fx.secret(SECRET)), ..Default::default() }).unwrap();
    fx.ingest(vec![finding("a", "/srv/export.csv", pb::Category::Contact)], T0);
    assert_eq!(notifier.plan(&mut fx.store, &fx.register, 24, T0).unwrap(), 0, "a register gap waits for the digest");
    let v = fx.store.incident(1).unwrap().unwrap();
    assert_eq!(v.kind.as_str(), "compliance");
    fx.store.change_kind(1, custos_collector::correlation::IncidentKind::Breach, "claire", "the export was reachable from the internet", 30 * 24 * HOUR, T0 + 5 * HOUR).unwrap().unwrap();
    let v = fx.store.incident(1).unwrap().unwrap();
    assert_eq!((v.kind.as_str(), v.awareness_at_ms, v.deadline_ms), ("breach", T0 + 5 * HOUR, T0 + 5 * HOUR + 72 * HOUR), "the clock starts at the promotion");
    assert_eq!(notifier.plan(&mut fx.store, &fx.register, 24, T0 + 5 * HOUR).unwrap(), 1, "the promotion is pushed");
    let events: Vec<String> = fx.store.notifications().unwrap().into_iter().map(|n| n.event).collect();
    assert_eq!(events, ["promoted"]);
    assert_eq!(fx.store.audit().unwrap().last().unwrap().action, "incident_promoted");
}
