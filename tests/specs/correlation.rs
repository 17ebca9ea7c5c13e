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
    assert_eq!(list.len(), 2, "contact is declared: no incident for web-03");
    let sev: BTreeMap<String, String> = list.iter().map(|v| (v.categories.join(","), v.severity.clone())).collect();
    assert_eq!(sev["financial"], "medium");
    assert_eq!(sev["health"], "high");
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
    assert_eq!(v.distinct_subjects, 4000);
    // A table read whole is counted as sampled.
    let Some(mut d) = db(Policy::default()) else { return };
    let mut whole = sampled("email", "email", "40");
    whole.evidence.insert("estimated_rows".into(), "100".into());
    d.ingest(&reg, vec![whole], T0);
    assert_eq!(d.store.incidents().unwrap()[0].distinct_subjects, 40);
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
    assert_eq!(list[0].distinct_subjects, 2, "the subjects whose data was seen on the host");
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
    assert_eq!(list[0].system, "web-01:/srv/y.csv");
    let audit = d.store.audit().unwrap();
    assert_eq!((audit[0].action.as_str(), audit[0].actor.as_str(), audit[0].detail.as_str()), ("mute", "claire", "test fixtures, synthetic data"));
}

// ---------------------------------------------------------------- incidents

#[test]
fn findings_of_one_rule_and_system_within_the_window_share_an_incident_with_distinct_subjects() {
    let reg = register(&register_toml());
    let Some(mut d) = db(Policy::default()) else { return };
    let loc = "/var/log/app/a.log";
    let opened = d.ingest(&reg, vec![finding("a", "web-01", loc, pb::Category::Financial, 1, &[]), finding("b", "web-01", loc, pb::Category::Financial, 1, &[])], T0);
    assert_eq!(opened.len(), 1);
    // Later, same system: a new category worsens the same incident (same fingerprint 1 = same person).
    d.ingest(&reg, vec![finding("c", "web-01", loc, pb::Category::Health, 1, &[]), finding("d", "web-01", loc, pb::Category::Financial, 2, &[])], T0 + HOUR);
    // After the window: a new incident.
    let opened = d.ingest(&reg, vec![finding("e", "web-01", loc, pb::Category::Financial, 3, &[])], T0 + 30 * HOUR);
    assert_eq!(opened.len(), 1);
    let first = d.store.incident(1).unwrap().unwrap();
    assert_eq!(first.findings, 4);
    assert_eq!(first.distinct_subjects, 2, "fingerprints 1 and 2");
    assert_eq!(first.severity, "high", "worsened by health data");
    assert_eq!(first.categories, ["financial", "health"]);
    assert_eq!(first.deadline_ms - first.detected_at_ms, 72 * HOUR);
    let kinds: Vec<String> = d.store.timeline(1).unwrap().into_iter().map(|t| t.kind).collect();
    assert_eq!(kinds, ["detected", "worsened"]);
    // Several categories in the batch that opens an incident: one detection, no `worsened` alert.
    d.ingest(&reg, vec![finding("f", "web-01", "/var/log/app/z.log", pb::Category::Financial, 4, &[]), finding("g", "web-01", "/var/log/app/z.log", pb::Category::Health, 4, &[])], T0);
    let z = d.store.incidents().unwrap().into_iter().find(|v| v.system.ends_with("z.log")).unwrap();
    assert_eq!((z.categories.len(), z.severity.as_str()), (2, "high"));
    let kinds: Vec<String> = d.store.timeline(z.id).unwrap().into_iter().map(|t| t.kind).collect();
    assert_eq!(kinds, ["detected"]);
    // Nothing of the value in the explanation that notifications carry.
    assert!(!first.explanation.contains("j***"), "{}", first.explanation);
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
}

#[test]
fn workflow_report_and_breach_register_through_the_command_line() {
    let reg_dir = tempfile::tempdir().unwrap();
    let reg_path = write(reg_dir.path(), "register.toml", &register_toml());
    let Some(mut d) = db(Policy::default()) else { return };
    let reg = Register::load(&reg_path).unwrap();
    d.ingest(&reg, vec![finding("a", "web-01", "/var/log/app/a.log", pb::Category::Health, 1, &[]), finding("b", "web-09", "/srv/dump.sql", pb::Category::Contact, 2, &[])], T0);
    drop(d.store);
    let data_dir = d.t.data_dir.clone();
    let cli = |args: &[&str]| {
        let out = Command::new(bin("e2e-collector")).args(args).arg("--data-dir").arg(&data_dir).output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
    };
    // The workflow goes step by step; not_notifiable needs a justification.
    let (ok, out) = cli(&["incident", "1", "--set-status", "assessed", "--by", "soc"]);
    assert!(!ok && out.contains("next step: triaged"), "{out}");
    assert!(cli(&["incident", "1", "--set-status", "triaged", "--by", "soc", "--note", "log purged, developer debug flag removed"]).0);
    assert!(cli(&["incident", "1", "--set-status", "assessed", "--by", "claire", "--note", "12 patients"]).0);
    let (ok, out) = cli(&["incident", "1", "--set-status", "not_notifiable", "--by", "claire"]);
    assert!(!ok && out.contains("justification"), "{out}");
    assert!(cli(&["incident", "1", "--set-status", "not_notifiable", "--by", "claire", "--note", "log readable by two admins only, purged within the hour"]).0);

    let (ok, out) = cli(&["incident", "1"]);
    assert!(ok, "{out}");
    assert!(out.contains("j***@e***.fr") && out.contains("not_notifiable") && out.contains("purged within the hour"), "{out}");

    let (ok, md) = cli(&["report", "2", "--format", "md", "--register", reg_path.to_str().unwrap()]);
    assert!(ok, "{md}");
    assert!(md.contains("Art. 33") && md.contains("Claire Martin") && md.contains("dpo@exemple.fr") && md.contains("TODO(DPO)"), "{md}");
    assert!(md.contains("Approximate number of data subjects: 1"), "{md}");
    let (ok, json) = cli(&["report", "1", "--format", "json", "--register", reg_path.to_str().unwrap()]);
    assert!(ok, "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["data_categories"][0], "health (special category, Art. 9/10)");
    assert_eq!(v["subject_categories"][0], "customers");

    let (ok, csv) = cli(&["breach-register", "--format", "csv"]);
    assert!(ok, "{csv}");
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("incident_id,awareness,deadline,rule"), "{csv}");
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[1].contains("not_notifiable") && lines[1].contains("purged within the hour"), "{csv}");
    assert!(lines[2].contains(",new,"), "{csv}");
    assert_eq!(d.t.count("SELECT COUNT(*) FROM audit WHERE action = 'incident_status'"), 3);
    assert!(Status::parse("not_notifiable").is_some());
}

