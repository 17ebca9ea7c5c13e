//! Specifications of correlation.

use super::*;
use std::collections::BTreeMap;

fn register() -> Register {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("r.toml");
    std::fs::write(
        &p,
        "[controller]\nname='X'\ndpo={name='D', email='d@x.fr'}\n[[activity]]\nid='accounts'\nname='Customer accounts'\npurpose='p'\nlegal_basis='contract'\ndata_categories=['contact']\nretention='30d'\nallowed_locations=['EU']\n[[activity.system]]\npaths=['/var/log/app/*.log']\n",
    )
    .unwrap();
    Register::load(&p).unwrap()
}

fn verdicts(locator: &str, category: Category, evidence: &[(&str, &str)], policy: &Policy) -> Vec<Verdict> {
    let ev: BTreeMap<String, String> = evidence.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let f = FindingFacts {
        id: "f1",
        agent_id: "a",
        host: "web-01",
        locator,
        at_rest: false,
        detector: "x",
        kind: Kind::PersonalData,
        category: Some(category),
        evidence: &ev,
        host_categories: &[],
        erased: None,
    };
    correlate(&f, &register(), policy)
}

#[test]
fn declared_category_on_covered_system_is_quiet() {
    assert!(verdicts("/var/log/app/a.log", Category::Contact, &[], &Policy::default()).is_empty());
}

#[test]
fn undeclared_category_names_the_covering_activity() {
    let v = &verdicts("/var/log/app/a.log", Category::Financial, &[], &Policy::default())[0];
    assert_eq!(v.rule, Rule::UndeclaredCategory);
    assert!(v.explanation.contains("Customer accounts") && v.explanation.contains("financial"), "{}", v.explanation);
    assert_eq!(v.activities, vec!["accounts".to_string()]);
}

#[test]
fn special_category_is_high_severity_even_when_configured_lower() {
    let rules = [("undeclared_category".to_string(), RuleSetting { enabled: None, severity: Some("low".into()) })].into_iter().collect();
    let p = Policy::new(&rules, &Locations::default());
    assert_eq!(verdicts("/var/log/app/a.log", Category::Health, &[], &p)[0].severity, Severity::High);
    assert_eq!(verdicts("/var/log/app/a.log", Category::Financial, &[], &p)[0].severity, Severity::Low);
}

#[test]
fn disabled_rule_does_not_fire() {
    let rules = [("undeclared_system".to_string(), RuleSetting { enabled: Some(false), severity: None })].into_iter().collect();
    assert!(verdicts("/srv/x.csv", Category::Contact, &[], &Policy::new(&rules, &Locations::default())).is_empty());
    assert_eq!(verdicts("/srv/x.csv", Category::Contact, &[], &Policy::default())[0].rule, Rule::UndeclaredSystem);
}

#[test]
fn retention_fires_only_past_the_declared_period() {
    let v = verdicts("/var/log/app/a.log", Category::Contact, &[("oldest_record_age_s", &(31 * 86_400).to_string())], &Policy::default());
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].rule, Rule::RetentionExceeded);
    assert!(v[0].explanation.contains("31 days") && v[0].explanation.contains("30d"), "{}", v[0].explanation);
    assert!(verdicts("/var/log/app/a.log", Category::Contact, &[("oldest_record_age_s", &(29 * 86_400).to_string())], &Policy::default()).is_empty());
}

#[test]
fn location_outside_allowed_countries_fires() {
    let loc = Locations { agents: [("a".to_string(), "US".to_string())].into_iter().collect(), hosts: BTreeMap::new() };
    let v = verdicts("/var/log/app/a.log", Category::Contact, &[], &Policy::new(&BTreeMap::new(), &loc));
    assert_eq!(v[0].rule, Rule::UnallowedLocation);
    let loc = Locations { agents: BTreeMap::new(), hosts: [("web-*".to_string(), "FR".to_string())].into_iter().collect() };
    assert!(verdicts("/var/log/app/a.log", Category::Contact, &[], &Policy::new(&BTreeMap::new(), &loc)).is_empty());
}

#[test]
fn compliance_items_of_one_activity_and_rule_share_a_group_whatever_the_file() {
    let old = (400 * 86_400).to_string();
    let a = &verdicts("/var/log/app/a.log", Category::Contact, &[("oldest_record_age_s", &old)], &Policy::default())[0];
    let b = &verdicts("/var/log/app/b.log", Category::Contact, &[("oldest_record_age_s", &old)], &Policy::default())[0];
    assert_eq!((a.rule, a.kind), (Rule::RetentionExceeded, IncidentKind::Compliance));
    assert_eq!(a.group, b.group, "five archive files of one activity are one retention item");
    assert_eq!(a.label, "activity «Customer accounts» (accounts)");
}

#[test]
fn undeclared_systems_are_grouped_by_their_directory_on_their_host() {
    let a = &verdicts("/srv/legacy/crm-1.log", Category::Contact, &[], &Policy::default())[0];
    let b = &verdicts("/srv/legacy/crm-2.log", Category::Contact, &[], &Policy::default())[0];
    let c = &verdicts("/srv/other/x.log", Category::Contact, &[], &Policy::default())[0];
    assert_eq!(a.group, b.group);
    assert_ne!(a.group, c.group);
    assert_eq!(a.label, "web-01:/srv/legacy/");
}

#[test]
fn personal_data_in_a_web_root_is_a_possible_breach_even_when_declared() {
    let v = verdicts("/var/www/html/exports/patients.csv", Category::Health, &[], &Policy::default());
    let exposed = v.iter().find(|v| v.rule == Rule::ExposedPlace).expect("exposed_place fires");
    assert_eq!(exposed.kind, IncidentKind::Breach);
    assert_eq!(exposed.severity, Severity::Critical, "special-category data exposed");
    assert!(exposed.explanation.contains("web root"), "{}", exposed.explanation);
}

#[test]
fn a_log_written_in_a_temporary_directory_is_not_exposed_but_a_data_file_dropped_there_is() {
    assert!(verdicts("/tmp/app.log", Category::Contact, &[], &Policy::default()).iter().all(|v| v.rule != Rule::ExposedPlace));
    let ev: BTreeMap<String, String> = [("kind_of_place".to_string(), "tmp".to_string())].into_iter().collect();
    let f = FindingFacts {
        id: "f",
        agent_id: "a",
        host: "db-01",
        locator: "/tmp/customers.csv",
        at_rest: true,
        detector: "email",
        kind: Kind::PersonalData,
        category: Some(Category::Contact),
        evidence: &ev,
        host_categories: &[],
        erased: None,
    };
    assert!(correlate(&f, &register(), &Policy::default()).iter().any(|v| v.rule == Rule::ExposedPlace));
    let nested = FindingFacts { locator: "/tmp/build-4711/fixtures/users.csv", ..f };
    assert!(correlate(&nested, &register(), &Policy::default()).iter().all(|v| v.rule != Rule::ExposedPlace), "only files directly in a temporary directory");
}

#[test]
fn export_events_are_grouped_by_their_signature_not_by_their_log() {
    let event = |sig: &str| {
        let ev: BTreeMap<String, String> =
            [("anomaly".to_string(), "db_export_statement".to_string()), ("event".to_string(), sig.to_string())].into_iter().collect();
        let f = FindingFacts {
            id: "x",
            agent_id: "a",
            host: "db-01",
            locator: "/var/log/postgresql/pg.log",
            at_rest: false,
            detector: "db_export_statement",
            kind: Kind::ExportAnomaly,
            category: None,
            evidence: &ev,
            host_categories: &[Category::Contact],
            erased: None,
        };
        correlate(&f, &register(), &Policy::default()).remove(0)
    };
    let (a, b) = (event("copy|table=shop.orders|actor=etl"), event("copy|table=shop.customers|actor=mallory"));
    assert_eq!((a.kind, a.rule), (IncidentKind::Breach, Rule::ExportAnomaly));
    assert_ne!(a.group, b.group, "another actor or table is another event");
    assert_eq!(a.label, b.label, "both seen on the same log");
}

#[test]
fn a_new_file_of_many_people_in_a_web_root_is_the_same_incident_as_the_data_found_there() {
    let ev: BTreeMap<String, String> =
        [("anomaly".to_string(), "personal_data_file".to_string()), ("event".to_string(), "file|path=/var/www/html/patients.csv".to_string())]
            .into_iter()
            .collect();
    let f = FindingFacts {
        id: "x",
        agent_id: "a",
        host: "web-01",
        locator: "/var/www/html/patients.csv",
        at_rest: true,
        detector: "personal_data_file",
        kind: Kind::ExportAnomaly,
        category: None,
        evidence: &ev,
        host_categories: &[Category::Health],
        erased: None,
    };
    let anomaly = correlate(&f, &register(), &Policy::default()).remove(0);
    let data = verdicts("/var/www/html/patients.csv", Category::Health, &[], &Policy::default());
    let exposed = data.iter().find(|v| v.rule == Rule::ExposedPlace).unwrap();
    assert_eq!(anomaly.group, exposed.group, "one exposure, one incident");
    let elsewhere = FindingFacts { locator: "/srv/app/patients.csv", ..f };
    assert!(correlate(&elsewhere, &register(), &Policy::default())[0].group.starts_with("export_anomaly|"), "a new file elsewhere is its own event");
}

#[test]
fn data_exposed_in_an_undeclared_web_root_is_a_breach_and_not_also_a_register_gap() {
    let v = verdicts("/var/www/html/exports/patients.csv", Category::NationalId, &[], &Policy::default());
    assert_eq!(v.iter().map(|v| v.rule).collect::<Vec<_>>(), vec![Rule::ExposedPlace]);
    let off: BTreeMap<String, RuleSetting> = [("exposed_place".to_string(), RuleSetting { enabled: Some(false), severity: None })].into_iter().collect();
    let policy = Policy::new(&off, &Locations::default());
    assert!(
        verdicts("/var/www/html/exports/patients.csv", Category::NationalId, &[], &policy).iter().any(|v| v.rule == Rule::UndeclaredSystem),
        "with the rule off, the gap is reported"
    );
}

#[test]
fn an_export_written_into_an_exposed_place_is_one_incident_with_the_exposure_of_its_file() {
    let export = |to: &str| {
        let ev: BTreeMap<String, String> = [
            ("anomaly", "db_export_statement".to_string()),
            ("event", format!("copy|db=shop|table=shop.customers|to={to}|actor=alice")),
            ("destination", to.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let f = FindingFacts {
            id: "x",
            agent_id: "a",
            host: "web-01",
            locator: "/var/log/postgresql/pg.log",
            at_rest: false,
            detector: "db_export_statement",
            kind: Kind::ExportAnomaly,
            category: None,
            evidence: &ev,
            host_categories: &[Category::Contact],
            erased: None,
        };
        correlate(&f, &register(), &Policy::default()).remove(0)
    };
    let no_ev = BTreeMap::new();
    let file = FindingFacts {
        id: "f",
        agent_id: "a",
        host: "web-01",
        locator: "/tmp/customers.csv",
        at_rest: true,
        detector: "email",
        kind: Kind::PersonalData,
        category: Some(Category::Contact),
        evidence: &no_ev,
        host_categories: &[],
        erased: None,
    };
    let exposure =
        correlate(&file, &register(), &Policy::default()).into_iter().find(|v| v.rule == Rule::ExposedPlace).expect("a data file in /tmp is exposed");
    assert_eq!(export("/tmp/customers.csv").group, exposure.group, "the COPY and the file it wrote are one event");
    assert!(export("/var/lib/etl/c.csv").group.starts_with("export_anomaly|"), "an export elsewhere is its own event");
}

fn flows_register() -> Register {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("r.toml");
    std::fs::write(
        &p,
        r#"[controller]
name = "X"
[[activity]]
id = "marketing"
name = "Marketing"
legal_basis = "consent"
data_categories = ["contact"]
recipients = [
  "customer support",
  { name = "EU Mailer", role = "processor", hosts = ["mailer.eu.example"], country = "FR" },
  { name = "US Analytics", hosts = ["*.analytics.example"], country = "US" },
  { name = "US CRM", hosts = ["crm.example"], country = "US", safeguard = "scc" },
  { name = "UK Support", hosts = ["support.example"], country = "GB" },
]
transfers = [{ country = "GB", safeguard = "adequacy" }]
[[activity.system]]
paths = ["/var/log/squid/*.log"]
"#,
    )
    .unwrap();
    Register::load(&p).unwrap()
}

fn flow_verdicts(destination: &str) -> Vec<Verdict> {
    let ev: BTreeMap<String, String> = [("destination_host".to_string(), destination.to_string())].into_iter().collect();
    let f = FindingFacts {
        id: "f1",
        agent_id: "a",
        host: "proxy-1",
        locator: "/var/log/squid/access.log",
        at_rest: false,
        detector: "email",
        kind: Kind::PersonalData,
        category: Some(Category::Contact),
        evidence: &ev,
        host_categories: &[],
        erased: None,
    };
    correlate(&f, &flows_register(), &Policy::default())
}

#[test]
fn data_sent_to_a_host_no_recipient_names_is_an_undeclared_recipient_per_system_and_host() {
    let v = flow_verdicts("Pixel.Tracker.Example.");
    assert_eq!(v.len(), 1, "{v:#?}");
    assert_eq!((v[0].rule, v[0].kind), (Rule::UndeclaredRecipient, IncidentKind::Compliance));
    assert_eq!(v[0].group, "undeclared_recipient|proxy-1:/var/log/squid/access.log|pixel.tracker.example");
    assert!(v[0].explanation.contains("`pixel.tracker.example`") && v[0].explanation.contains("EU Mailer"), "{}", v[0].explanation);
    assert!(v[0].activities.is_empty());
}

#[test]
fn a_declared_recipient_outside_the_eea_needs_a_safeguard_of_its_own_or_of_its_activity() {
    let v = flow_verdicts("eu.analytics.example");
    assert_eq!(v.len(), 1, "{v:#?}");
    assert_eq!(v[0].rule, Rule::TransferWithoutSafeguard);
    assert!(v[0].explanation.contains("US Analytics") && v[0].explanation.contains("country US"), "{}", v[0].explanation);
    assert_eq!(v[0].activities, vec!["marketing".to_string()]);
    assert!(flow_verdicts("api.mailer.eu.example").is_empty(), "an EEA processor on a subdomain");
    assert!(flow_verdicts("crm.example").is_empty(), "a safeguard of its own");
    assert!(flow_verdicts("support.example").is_empty(), "the activity's transfer to that country");
    assert_eq!(flow_verdicts("analytics.example")[0].rule, Rule::UndeclaredRecipient, "a glob `*.x` does not match `x` itself");
}
