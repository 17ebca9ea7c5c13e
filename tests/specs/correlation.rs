// Store-backed specifications of tests/collector_register.rs, included once per engine.

// ---------------------------------------------------------------- correlation rules

#[test]
fn declared_data_on_a_declared_system_opens_nothing() {
    let reg = register(&register_toml());
    let Some(mut d) = db(Policy::default()) else { return };
    d.ingest(&reg, vec![finding("a", "web-01", "/var/log/app/access.log", pb::Category::Contact, 1, &[("oldest_record_age_s", "86400")])], T0);
    assert!(d.rules().is_empty());
}

#[test]
fn undeclared_system_fires_where_no_activity_covers_and_not_elsewhere() {
    let reg = register(&register_toml());
    let Some(mut d) = db(Policy::default()) else { return };
    d.ingest(&reg, vec![finding("a", "web-01", "/srv/exports/customers.csv", pb::Category::Contact, 1, &[])], T0);
    assert_eq!(d.rules(), ["undeclared_system"]);
    let v = &d.store.incidents().unwrap()[0];
    assert!(v.explanation.contains("No processing activity") && v.explanation.contains("Customer accounts"), "{}", v.explanation);
}

#[test]
fn undeclared_category_fires_and_is_high_for_special_categories() {
    let reg = register(&register_toml());
    let Some(mut d) = db(Policy::default()) else { return };
    d.ingest(&reg, vec![finding("a", "web-01", "/var/log/app/a.log", pb::Category::Financial, 1, &[])], T0);
    d.ingest(&reg, vec![finding("b", "web-02", "/var/log/app/b.log", pb::Category::Health, 2, &[])], T0);
    d.ingest(&reg, vec![finding("c", "web-03", "/var/log/app/c.log", pb::Category::Contact, 3, &[])], T0);
    let list = d.store.incidents().unwrap();
    assert_eq!(list.len(), 1, "one compliance item for the activity and the rule; contact is declared: nothing for web-03");
    let v = &list[0];
    assert_eq!((v.kind.as_str(), v.rule.as_str()), ("compliance", "undeclared_category"));
    assert_eq!(v.categories, ["financial", "health"]);
    assert_eq!(v.severity, "high", "raised by the special category");
    assert_eq!(v.systems, ["web-01:/var/log/app/a.log", "web-02:/var/log/app/b.log"], "the item lists the places");
    assert_eq!(v.system, "activity «Customer accounts» (accounts)");
    assert_eq!(v.deadline_ms - v.detected_at_ms, 30 * 24 * HOUR, "a due date, not an Art. 33 clock");
}

#[test]
fn retention_exceeded_fires_on_records_older_than_declared() {
    let reg = register(&register_toml());
    let Some(mut d) = db(Policy::default()) else { return };
    let day = 86_400;
    d.ingest(&reg, vec![finding("young", "web-01", "/var/log/app/a.log", pb::Category::Contact, 1, &[("oldest_record_age_s", &(29 * day).to_string())])], T0);
    assert!(d.rules().is_empty());
    d.ingest(&reg, vec![finding("old", "web-01", "/var/log/app/b.log", pb::Category::Contact, 1, &[("oldest_record_age_s", &(400 * day).to_string()), ("oldest_record_source", "mtime")])], T0);
    assert_eq!(d.rules(), ["retention_exceeded"]);
    let why = &d.store.incidents().unwrap()[0].explanation;
    assert!(why.contains("400 days") && why.contains("30d") && why.contains("Customer accounts"), "{why}");
}

#[test]
fn a_sampled_table_counts_its_subjects_from_the_classification_evidence() {
    let reg = register(&register_toml());
    let Some(mut d) = db(Policy::default()) else { return };
    // 40 distinct e-mail addresses in 100 sampled rows of a 10,000-row table: about 4,000 people,
    // not the one fingerprint the classification finding carries. A second column of the same
    // table holds the same people: the largest estimate counts, not the sum.
    let sampled = |id: &str, col: &str, distinct: &str| {
        let mut f = finding(id, "web-01", "/var/log/app/customers.log", pb::Category::Contact, 1, &[("oldest_record_age_s", "31536000"), ("sampled_rows", "100"), ("matched_rows", "100"), ("distinct_fingerprints", distinct), ("estimated_rows", "10000"), ("column", col)]);
        f.source = Some(pb::Source { kind: pb::SourceKind::File as i32, locator: "/var/log/app/customers.log".into(), identity: "i".into() });
        f
    };
    d.ingest(&reg, vec![sampled("email", "email", "40"), sampled("phone", "phone", "25")], T0);
    let list = d.store.incidents().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    let v = d.store.incident(list[0].id).unwrap().unwrap();
    assert_eq!(v.figures.subjects.value, 4000);
    assert_eq!(v.figures.records.value, 10_000, "the table's rows, once, not rows × columns");
    // A table read whole is counted as sampled.
    let Some(mut d) = db(Policy::default()) else { return };
    let mut whole = sampled("email", "email", "40");
    whole.evidence.insert("estimated_rows".into(), "100".into());
    d.ingest(&reg, vec![whole], T0);
    assert_eq!(d.store.incidents().unwrap()[0].figures.subjects.value, 40);
}

#[test]
fn old_unflagged_findings_are_folded_into_daily_counts_and_evidence_is_kept() {
    let reg = register(&register_toml());
    let Some(mut d) = db(Policy::default()) else { return };
    // Declared contact data on a covered system: no rule fires. A health finding: an incident.
    d.ingest(&reg, vec![finding("ok-1", "web-01", "/var/log/app/a.log", pb::Category::Contact, 1, &[]), finding("ok-2", "web-01", "/var/log/app/a.log", pb::Category::Contact, 2, &[])], T0);
    d.ingest(&reg, vec![finding("flagged", "web-01", "/var/log/app/a.log", pb::Category::Health, 3, &[])], T0);
    d.ingest(&reg, vec![finding("recent", "web-01", "/var/log/app/a.log", pb::Category::Contact, 4, &[])], T0 + 400 * 24 * HOUR);
    assert_eq!(d.rules(), ["undeclared_category"]);

    let purged = d.store.purge_findings(T0 + 365 * 24 * HOUR).unwrap();
    assert_eq!(purged, 2, "the two old declared findings go");
    let ids = d.t.texts("SELECT id FROM findings ORDER BY id");
    assert_eq!(ids, ["flagged", "recent"], "incident evidence and recent findings stay");
    let per_day = d.store.findings_per_day().unwrap();
    assert_eq!(per_day.iter().map(|(_, n)| n).sum::<u64>(), 4, "counts survive the purge: {per_day:?}");
    assert_eq!(per_day[0], (T0 / (24 * HOUR), 3));
    let v = d.store.incident(d.store.incidents().unwrap()[0].id).unwrap().unwrap();
    assert_eq!(v.findings, 1);
    // Purging again changes nothing.
    assert_eq!(d.store.purge_findings(T0 + 365 * 24 * HOUR).unwrap(), 0);
    assert_eq!(d.store.findings_per_day().unwrap().iter().map(|(_, n)| n).sum::<u64>(), 4);
}

#[test]
fn unallowed_location_fires_outside_the_allowed_countries_only() {
    let reg = register(&register_toml());
    let Some(mut d) = db(located("agent-1", "US")) else { return };
    d.ingest(&reg, vec![finding("a", "web-01", "/var/log/app/a.log", pb::Category::Contact, 1, &[])], T0);
    assert_eq!(d.rules(), ["unallowed_location"]);
    assert!(d.store.incidents().unwrap()[0].explanation.contains("located in US"));
    let Some(mut d) = db(located("agent-1", "FR")) else { return };
    d.ingest(&reg, vec![finding("a", "web-01", "/var/log/app/a.log", pb::Category::Contact, 1, &[])], T0);
    assert!(d.rules().is_empty());
}

#[test]
fn export_anomaly_on_a_host_holding_personal_data_is_critical_and_elsewhere_is_not_a_breach() {
    let reg = register(&register_toml());
    let Some(mut d) = db(Policy::default()) else { return };
    // db-07: no activity names the host, and no personal data was seen there: not flagged.
    d.ingest(&reg, vec![export("x1", "db-07")], T0);
    assert!(d.rules().is_empty());
    // web-01 holds contact data of two people (declared, no incident): an export there is a
    // possible breach concerning them.
    d.ingest(&reg, vec![finding("a", "web-01", "/var/log/app/a.log", pb::Category::Contact, 1, &[]), finding("b", "web-01", "/var/log/app/a.log", pb::Category::Contact, 2, &[])], T0);
    assert!(d.rules().is_empty());
    d.ingest(&reg, vec![export("x2", "web-01")], T0);
    let list = d.store.incidents().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!((list[0].rule.as_str(), list[0].severity.as_str()), ("export_anomaly", "critical"));
    assert_eq!(list[0].categories, ["contact"]);
    assert_eq!(list[0].figures.subjects.value, 2, "the subjects whose data was seen on the host");
    assert_eq!(list[0].kind.as_str(), "breach");
    assert!(list[0].explanation.contains("dump_command") && list[0].explanation.contains("actor backup"), "{}", list[0].explanation);
}

#[test]
fn a_disabled_rule_and_a_muted_system_open_nothing_and_the_mute_is_audited() {
    let reg = register(&register_toml());
    let rules = [("undeclared_category".to_string(), RuleSetting { enabled: Some(false), severity: None })].into_iter().collect();
    let Some(mut d) = db(Policy::new(&rules, &Locations::default())) else { return };
    d.ingest(&reg, vec![finding("a", "web-01", "/var/log/app/a.log", pb::Category::Financial, 1, &[])], T0);
    assert!(d.rules().is_empty());

    let Some(mut d) = db(Policy::default()) else { return };
    d.store.mute("undeclared_system", "web-01:/srv/x.csv", "test fixtures, synthetic data", "claire", T0).unwrap();
    d.ingest(&reg, vec![finding("a", "web-01", "/srv/x.csv", pb::Category::Contact, 1, &[]), finding("b", "web-01", "/srv/y.csv", pb::Category::Contact, 1, &[])], T0);
    let list = d.store.incidents().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].system, "web-01:/srv/", "undeclared places are grouped by their directory");
    assert_eq!(list[0].systems, ["web-01:/srv/y.csv"], "the muted file is not in it");
    let audit = d.store.audit().unwrap();
    assert_eq!((audit[0].action.as_str(), audit[0].actor.as_str(), audit[0].detail.as_str()), ("mute", "claire", "test fixtures, synthetic data"));
}

// ---------------------------------------------------------------- incidents

#[test]
fn a_compliance_item_gathers_its_activity_while_open_and_counts_people_once() {
    let reg = register(&register_toml());
    let Some(mut d) = db(Policy::default()) else { return };
    let loc = "/var/log/app/a.log";
    let opened = d.ingest(&reg, vec![finding("a", "web-01", loc, pb::Category::Financial, 1, &[]), finding("b", "web-01", loc, pb::Category::Financial, 1, &[])], T0);
    assert_eq!(opened.len(), 1);
    // Later: a new category worsens the same item (same fingerprint 1 = same person).
    d.ingest(&reg, vec![finding("c", "web-01", loc, pb::Category::Health, 1, &[]), finding("d", "web-01", loc, pb::Category::Financial, 2, &[])], T0 + HOUR);
    // Days later, another file of the same activity: still the same item, no new clock.
    let opened = d.ingest(&reg, vec![finding("e", "web-01", "/var/log/app/z.log", pb::Category::Financial, 3, &[])], T0 + 30 * HOUR);
    assert!(opened.is_empty());
    let first = d.store.incident(1).unwrap().unwrap();
    assert_eq!(first.findings, 5);
    assert_eq!(first.figures.subjects.value, 3, "fingerprints 1, 2 and 3");
    assert_eq!(first.severity, "high", "worsened by health data");
    assert_eq!(first.categories, ["financial", "health"]);
    let kinds: Vec<String> = d.store.timeline(1).unwrap().into_iter().map(|t| t.kind).collect();
    assert_eq!(kinds, ["detected", "worsened"]);
    // Nothing of the value in the explanation that notifications carry.
    assert!(!first.explanation.contains("j***"), "{}", first.explanation);
}

/// An export anomaly of one event (`event` signature), seen on `host`.
fn export_event(id: &str, host: &str, event: &str, rows: &str) -> pb::Finding {
    let mut f = export(id, host);
    f.evidence.insert("event".into(), event.into());
    f.evidence.insert("affected_records_estimate".into(), rows.into());
    f.evidence.insert("affected_records_method".into(), "copy_result_rows".into());
    f
}

#[test]
fn a_real_exfiltration_after_a_false_alarm_on_the_same_system_is_its_own_breach() {
    let reg = register(&register_toml());
    let Some(mut d) = db(Policy::default()) else { return };
    d.ingest(&reg, vec![finding("a", "web-01", "/var/log/app/a.log", pb::Category::Contact, 1, &[])], T0);
    // 09:00: the nightly ETL copies the orders table — a false alarm the security team closes.
    let opened = d.ingest(&reg, vec![export_event("x1", "web-01", "copy|table=shop.orders|actor=etl", "2000")], T0);
    assert_eq!(opened, [1]);
    d.store.set_status(1, Status::Triaged, "soc", "the nightly ETL, expected", T0 + HOUR).unwrap().unwrap();
    // 10:00: the same log, another actor copying the customers: a new incident, a new clock.
    let opened = d.ingest(&reg, vec![export_event("x2", "web-01", "copy|table=shop.customers|to=/tmp/c.csv|actor=mallory", "20000")], T0 + 2 * HOUR);
    assert_eq!(opened, [2], "not absorbed by the false alarm");
    let v = d.store.incident(2).unwrap().unwrap();
    assert_eq!((v.kind.as_str(), v.severity.as_str(), v.awareness_at_ms), ("breach", "critical", T0 + 2 * HOUR));
    assert_eq!(v.figures.records.value, 20_000, "the rows this export took");
    assert!(v.figures.records.method.contains("copy result rows"), "{}", v.figures.records.method);
    // The same event going on joins its incident; after a quiet gap it is a new event.
    assert!(d.ingest(&reg, vec![export_event("x3", "web-01", "copy|table=shop.customers|to=/tmp/c.csv|actor=mallory", "20000")], T0 + 2 * HOUR + 600_000).is_empty());
    assert_eq!(d.ingest(&reg, vec![export_event("x4", "web-01", "copy|table=shop.customers|to=/tmp/c.csv|actor=mallory", "20000")], T0 + 5 * HOUR), [3]);
}

#[test]
fn a_new_register_is_applied_to_stored_findings() {
    let Some(mut d) = db(Policy::default()) else { return };
    let everything = register_toml().replace("data_categories = [\"contact\"]", "data_categories = [\"contact\", \"financial\"]");
    d.ingest(&register(&everything), vec![finding("a", "web-01", "/var/log/app/a.log", pb::Category::Financial, 1, &[])], T0);
    assert!(d.rules().is_empty());
    let opened = d.store.recorrelate(&register(&register_toml()), &d.settings, T0 + HOUR).unwrap();
    assert_eq!(opened.len(), 1);
    assert_eq!(d.rules(), ["undeclared_category"]);
    // Re-correlating again changes nothing: one verdict per (finding, rule).
    assert!(d.store.recorrelate(&register(&register_toml()), &d.settings, T0 + 2 * HOUR).unwrap().is_empty());
    // The DPO declares the category: the compliance item resolves itself, said in its timeline.
    d.store.recorrelate(&register(&everything), &d.settings, T0 + 3 * HOUR).unwrap();
    let v = d.store.incident(1).unwrap().unwrap();
    assert_eq!(v.status, "resolved");
    assert!(d.store.timeline(1).unwrap().iter().any(|t| t.kind == "resolved" && t.note.contains("register updated")));
}

#[test]
fn workflow_report_and_breach_register_through_the_command_line() {
    let reg_dir = tempfile::tempdir().unwrap();
    let reg_path = write(reg_dir.path(), "register.toml", &register_toml().replace("name = \"Exemple SAS\"", "name = \"Exemple SAS\"\naddress = \"1 rue de la Paix, 75002 Paris\"\ncountry = \"FR\"\nlead_authority = \"CNIL\""));
    let Some(mut d) = db(Policy::default()) else { return };
    let reg = Register::load(&reg_path).unwrap();
    // A patients export left in a web root (a possible breach: the undeclared place is that
    // breach, not also a register gap), and an undeclared dump (a register gap).
    d.ingest(&reg, vec![finding("a", "web-01", "/var/www/html/patients.csv", pb::Category::Health, 1, &[]), finding("b", "web-09", "/srv/dump.sql", pb::Category::Contact, 2, &[])], T0);
    let kinds: Vec<(i64, String, String)> = d.store.incidents().unwrap().into_iter().rev().map(|v| (v.id, v.kind.as_str().to_string(), v.rule)).collect();
    assert_eq!(kinds, [(1, "breach".into(), "exposed_place".into()), (2, "compliance".into(), "undeclared_system".into())]);
    d.store.add_user("claire", custos_collector::accounts::Role::Dpo, "a long enough password", "test", T0).unwrap().unwrap();
    d.store.add_user("soc", custos_collector::accounts::Role::Security, "a long enough password", "test", T0).unwrap().unwrap();
    drop(d.store);
    let data_dir = d.t.data_dir.clone();
    let cli = |args: &[&str]| {
        let out = Command::new(bin("e2e-collector")).args(args).arg("--data-dir").arg(&data_dir).output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
    };
    // --by names a console user whose role allows the change.
    let (ok, out) = cli(&["incident", "1", "--set-status", "triaged", "--by", "mallory"]);
    assert!(!ok && out.contains("not a console user"), "{out}");
    let (ok, out) = cli(&["incident", "1", "--set-status", "triaged", "--by", "claire"]);
    assert!(!ok && out.contains("may not"), "a DPO does not triage: {out}");
    // The workflow goes step by step; not_notifiable needs a justification.
    let (ok, out) = cli(&["incident", "1", "--set-status", "assessed", "--by", "claire"]);
    assert!(!ok && out.contains("next step: triaged"), "{out}");
    assert!(cli(&["incident", "1", "--set-status", "triaged", "--by", "soc", "--note", "file removed from the web root, access logs checked"]).0);
    assert!(cli(&["incident", "1", "--add-note", "facts", "--by", "soc", "--note", "export left in /var/www/html by a developer on Monday"]).0);
    assert!(cli(&["incident", "1", "--set-status", "assessed", "--by", "claire", "--note", "12 patients"]).0);
    let (ok, out) = cli(&["incident", "1", "--dpo-subjects", "12", "--dpo-records", "12", "--by", "claire", "--note", "counted in the file"]);
    assert!(ok, "{out}");
    let (ok, out) = cli(&["incident", "1", "--art34", "not_required", "--by", "claire", "--note", "no access in the web server logs: no high risk"]);
    assert!(ok, "{out}");
    let (ok, out) = cli(&["incident", "1", "--set-status", "not_notifiable", "--by", "claire"]);
    assert!(!ok && out.contains("justification"), "{out}");
    assert!(cli(&["incident", "1", "--set-status", "not_notifiable", "--by", "claire", "--note", "no access in the access logs, removed within the hour"]).0);
    // A compliance item has its own workflow: resolved, with a note.
    let (ok, out) = cli(&["incident", "2", "--set-status", "assessed", "--by", "claire"]);
    assert!(!ok && out.contains("resolved"), "{out}");

    let (ok, out) = cli(&["incident", "1"]);
    assert!(ok, "{out}");
    assert!(out.contains("j***@e***.fr") && out.contains("not_notifiable") && out.contains("removed within the hour") && out.contains("DPO estimate: 12"), "{out}");

    let (ok, md) = cli(&["report", "1", "--format", "md", "--register", reg_path.to_str().unwrap()]);
    assert!(ok, "{md}");
    assert!(md.contains("Art. 33") && md.contains("Claire Martin") && md.contains("dpo@exemple.fr") && md.contains("1 rue de la Paix"), "{md}");
    assert!(md.contains("Approximate number of data subjects: 1") && md.contains("DPO estimate: 12 subjects"), "{md}");
    let (ok, json) = cli(&["report", "1", "--format", "json", "--register", reg_path.to_str().unwrap()]);
    assert!(ok, "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["data_categories"][0], "health (special category, Art. 9/10)");
    assert_eq!(v["subject_categories"], serde_json::json!([]), "no activity covers the web root");
    assert!(md.contains("TODO(DPO): no activity of the register covers this system"), "{md}");
    assert_eq!(v["controller"]["address"], "1 rue de la Paix, 75002 Paris");
    assert_eq!(v["art34"]["decision"], "not_required");
    assert_eq!(v["cross_border"]["lead_authority"], "CNIL");
    for field in ["breach", "discovery", "follow_ups", "late_reason", "cross_border"] {
        assert!(v.get(field).is_some(), "report JSON has `{field}`: {json}");
    }
    let (ok, json) = cli(&["report", "2", "--format", "json", "--register", reg_path.to_str().unwrap()]);
    assert!(ok, "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!((v["kind"].as_str(), v["deadline"].as_str()), (Some("compliance"), None), "no Art. 33 clock for a register gap");

    let (ok, csv) = cli(&["breach-register", "--format", "csv", "--register", reg_path.to_str().unwrap()]);
    assert!(ok, "{csv}");
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("incident_id,awareness,deadline,rule"), "{csv}");
    assert!(lines[0].contains("facts,effects,remedial_action"), "{csv}");
    assert_eq!(lines.len(), 2, "only the breach: {csv}");
    assert!(lines[1].contains("not_notifiable") && lines[1].contains("removed within the hour") && lines[1].contains("by a developer on Monday"), "{csv}");
    assert_eq!(d.t.count("SELECT COUNT(*) FROM audit WHERE action = 'incident_status'"), 3);
    assert!(Status::parse("not_notifiable").is_some());
}

#[test]
fn flows_to_recipients_are_one_item_per_system_and_host_and_the_data_map_lists_them() {
    let Some(mut d) = db(Policy::default()) else { return };
    let text = RegisterFixture::new("Exemple SAS")
        .activity("marketing", "Marketing", &["contact"])
        .field(
            "recipients",
            r#"["support", { name = "US Analytics", hosts = ["analytics.example"], country = "US" }, { name = "Mailer", role = "processor", hosts = ["mailer.example"], country = "FR" }]"#,
        )
        .system(r#"paths = ["/var/log/squid/*.log"]"#)
        .toml();
    let reg = register(&text);
    let sent = |id: &str, fp: u8, host: &str| finding(id, "proxy-1", "/var/log/squid/access.log", pb::Category::Contact, fp, &[("destination_host", host)]);
    d.ingest(
        &reg,
        vec![
            sent("f1", 1, "pixel.tracker.example"),
            sent("f2", 2, "Pixel.Tracker.Example."),
            sent("f3", 3, "api.analytics.example"),
            sent("f4", 4, "mailer.example"),
            finding("f5", "proxy-1", "/var/log/squid/access.log", pb::Category::Contact, 5, &[]),
        ],
        T0,
    );
    assert_eq!(d.rules(), vec!["transfer_without_safeguard", "undeclared_recipient"], "the EEA processor and the value sent nowhere are no item");
    let item = d.store.incidents().unwrap().into_iter().find(|i| i.rule == "undeclared_recipient").unwrap();
    assert!(item.explanation.contains("`pixel.tracker.example`"), "{}", item.explanation);
    assert_eq!(d.t.count("SELECT COUNT(*) FROM findings WHERE destination = 'pixel.tracker.example'"), 2, "one host, however the agent wrote it");
    let flows = custos_collector::flows::flows(&d.store, &reg).unwrap();
    let said: Vec<(&str, &str, u64, u64)> = flows.iter().map(|f| (f.destination.as_str(), f.status.as_str(), f.findings, f.subjects)).collect();
    assert_eq!(
        said,
        vec![
            ("api.analytics.example", "transfer without safeguard", 1, 1),
            ("mailer.example", "declared", 1, 1),
            ("pixel.tracker.example", "undeclared", 2, 2)
        ]
    );
    assert_eq!(flows[1].role, "processor");
    // Declaring the vendor with a safeguard, and the analytics firm's transfer, makes both stop firing.
    let fixed = text
        .replace(r#""support", "#, r#""support", { name = "Tracker", hosts = ["tracker.example"], country = "IE" }, "#)
        .replace(r#"country = "US" }"#, r#"country = "US", safeguard = "scc" }"#);
    let fixed = register(&fixed);
    let flows = custos_collector::flows::flows(&d.store, &fixed).unwrap();
    assert!(flows.iter().all(|f| f.status == "declared"), "{flows:#?}");
}
