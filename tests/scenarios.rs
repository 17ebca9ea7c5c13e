//! Three breach scenarios, end to end, modelled on public cases: real agent and collector
//! processes over mutual TLS, a real PostgreSQL and real SQLite files, generated logs, a real
//! webhook receiver and the console's API.
//!
//! - **Retailer** (cf. Cdiscount, 2021): after a nightly ETL export that is a false alarm, an
//!   employee copies the customer table to a file in a temporary directory, someone dumps the
//!   shop, and a client scrapes the customer API page by page. Each must reach the DPO as a
//!   breach of its own.
//! - **Medical lab** (cf. Dedalus, 2021): an application logs its patients' social security
//!   numbers, and a 50,000-patient export is left in a web root.
//! - **Chat platform** (cf. the CNIL's Discord decision, 2022): inactive accounts and old access
//!   logs kept far past their retention — compliance items without an Art. 33 clock.
//!
//! Each scenario prints what was planted, what was found, and the counts against the truth; the
//! counts must be within 10 %. No raw value may reach the collector's files, its API, its
//! notifications or its reports.

use custos_tests::people::{Person, person};
use custos_tests::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const SECRET: &str = "scenario-webhook-secret";

/// A collector with its console and a webhook receiver, and the agents of one scenario.
struct Scenario {
    d: Deployment,
    web: u16,
    hooks: WebhookInbox,
    collector: Option<Proc>,
}

impl Scenario {
    /// A deployment with `register`, top-level collector `settings`, a console with a viewer
    /// and a DPO, and a webhook; the collector is started.
    fn start(register: &str, settings: &str) -> Scenario {
        let d = Deployment::new(register);
        d.configure_collector(settings);
        let (url, hooks) = webhook_server(SECRET);
        d.add_webhook(&url, SECRET);
        let web = d.enable_web();
        d.add_user("dpo", "dpo");
        d.add_user("auditor", "viewer");
        let collector = Some(d.start_collector());
        Scenario { d, web, hooks, collector }
    }

    fn root(&self) -> &Path {
        self.d.root()
    }

    /// An agent config tailing `logs/*.log` from the beginning, with `extra` appended (the
    /// config ends inside its `[[log]]` table, so `detect = [...]` may come first).
    fn agent(&self, extra: &str) -> PathBuf {
        let cfg = self.d.agent_config("agent", "srv-01-agent", &self.d.ca, "srv-01-agent", "beginning");
        append(&cfg, extra);
        cfg
    }

    /// `custos-agent run --once`: reads the logs to their end, runs the scans, sends, exits.
    fn run_agent_once(&self, cfg: &Path) {
        let out = Command::new(bin("e2e-agent")).args(["run", "--once", "--config"]).arg(cfg).output().unwrap();
        assert!(out.status.success(), "agent failed: {}", String::from_utf8_lossy(&out.stderr));
        append(&self.root().join("agent-runs.stderr"), &String::from_utf8_lossy(&out.stderr));
    }

    fn collector_cli(&self, args: &[&str]) -> String {
        let out = Command::new(bin("e2e-collector")).args(args).arg("--data-dir").arg(self.root().join("collector-data")).output().unwrap();
        assert!(out.status.success(), "collector {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// `custos-collector incidents --json`.
    fn incidents(&self) -> Vec<Value> {
        self.collector_cli(&["incidents", "--json"]).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    fn breaches(&self) -> Vec<Value> {
        self.incidents().into_iter().filter(|i| i["kind"] == "breach").collect()
    }

    /// The webhook deliveries of opened breaches, by incident id.
    fn pushed_breaches(&self) -> Vec<i64> {
        self.hooks
            .json()
            .iter()
            .filter(|(valid, b)| *valid && b["event"] == "opened" && b["kind"] == "breach")
            .map(|(_, b)| b["incident"]["id"].as_i64().unwrap())
            .collect()
    }

    /// Waits until every breach incident has been pushed to the webhook.
    fn wait_all_breaches_pushed(&self) -> Vec<i64> {
        let done = wait_for(Duration::from_secs(40), || {
            let pushed = self.pushed_breaches();
            let all = self.breaches().iter().all(|b| pushed.contains(&b["id"].as_i64().unwrap()));
            all.then_some(pushed)
        });
        done.unwrap_or_else(|| {
            panic!(
                "not every breach was pushed: pushed {:?}, breaches {:#?}\ncollector log:\n{}",
                self.pushed_breaches(),
                self.breaches(),
                self.collector_log()
            )
        })
    }

    fn collector_log(&self) -> String {
        self.collector.as_ref().map(|c| c.stderr()).unwrap_or_default()
    }

    /// Everything that leaves the collector about the incidents: the API's incidents, evidence
    /// and timelines (as a viewer sees them), the Art. 33 drafts in JSON and Markdown, the breach
    /// register, the webhook bodies, and the processes' logs.
    fn everything_said(&self) -> String {
        let console = Console::login(self.web, "auditor");
        let mut all = console.get("/api/v1/incidents").body;
        for i in self.incidents() {
            let id = i["id"].as_i64().unwrap();
            for path in ["", "/evidence", "/timeline", "/notes"] {
                all.push_str(&console.get(&format!("/api/v1/incidents/{id}{path}")).body);
            }
            for format in ["json", "md"] {
                all.push_str(&self.collector_cli(&["report", &id.to_string(), "--format", format]));
            }
        }
        all.push_str(&console.get("/api/v1/findings?limit=1000").body);
        all.push_str(&self.collector_cli(&["breach-register"]));
        all.extend(self.hooks.bodies());
        all.push_str(&self.collector_log());
        all.push_str(&std::fs::read_to_string(self.root().join("agent-runs.stderr")).unwrap_or_default());
        all
    }

    /// No raw value of `people` in the collector's files or in anything it says.
    fn assert_no_raw_value(&self, people: &[Person]) {
        let said = self.everything_said();
        let stored = self.d.db_bytes();
        for p in people {
            let digits_phone: String = p.phone.chars().filter(char::is_ascii_digit).collect();
            for raw in [p.email.as_str(), p.iban.as_str(), p.nir.as_str(), p.phone.as_str(), digits_phone.as_str()] {
                assert!(!said.contains(raw), "{raw} was said by the collector");
                assert!(!stored.windows(raw.len()).any(|w| w == raw.as_bytes()), "{raw} was stored by the collector");
            }
        }
    }
}

/// `value` is within 10 % of `truth`.
fn within_10_percent(what: &str, value: &Value, truth: u64) {
    let v = value.as_u64().unwrap_or_else(|| panic!("{what}: not a number: {value}"));
    let err = (v as f64 - truth as f64).abs() / truth as f64;
    println!("  {what}: {v} (truth {truth}, {:+.1} %)", (v as f64 - truth as f64) / truth as f64 * 100.0);
    assert!(err <= 0.10, "{what}: {v} is not within 10 % of {truth}");
}

/// The one incident whose explanation or system says `needle`.
/// Prints an incident with its figures and their method (`--nocapture` shows them).
fn print_incident(i: &Value) {
    println!(
        "  {} #{} {} on {}: {} subjects ({}), {} records ({})",
        i["kind"],
        i["id"],
        i["rule"],
        i["system"],
        i["subjects"]["value"],
        i["subjects"]["method"],
        i["records_estimate"]["value"],
        i["records_estimate"]["method"]
    );
}

fn incident_saying<'a>(incidents: &'a [Value], needle: &str) -> &'a Value {
    let found: Vec<&Value> = incidents.iter().filter(|i| i["explanation"].as_str().unwrap_or("").contains(needle)).collect();
    assert_eq!(found.len(), 1, "incidents saying {needle:?}: {:#?}", incidents);
    found[0]
}

/// `2026-11-20 00:00:00 UTC` plus `s` seconds.
const DAY0: i64 = 1_795_132_800;

/// PostgreSQL's `%t`.
fn pg_time(s: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(DAY0 + s).unwrap();
    format!("{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC", t.year(), t.month() as u8, t.day(), t.hour(), t.minute(), t.second())
}

/// nginx's `$time_local`.
fn clf_time(s: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(DAY0 + s).unwrap();
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][t.month() as usize - 1];
    format!("{:02}/{month}/{:04}:{:02}:{:02}:{:02} +0000", t.day(), t.year(), t.hour(), t.minute(), t.second())
}

/// A PostgreSQL schema of the test's own, dropped at the end.
struct PgSchema {
    client: postgres::Client,
    name: String,
}

impl PgSchema {
    fn new(url: &str, prefix: &str) -> PgSchema {
        let client =
            postgres::Client::connect(url, postgres::NoTls).unwrap_or_else(|e| panic!("PostgreSQL at {url} is needed (scripts/test.sh starts one): {e}"));
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        PgSchema { client, name: format!("{prefix}_{}_{nanos}", std::process::id()) }
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let _ = self.client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
    }
}

// ------------------------------------------------------------------------------ the retailer

const CUSTOMERS: u64 = 20_000;
const ORDERS: u64 = 5_000;

/// The shop's PostgreSQL log: ordinary statements through the day, and what the scenario adds.
fn shop_statements(from_s: i64, to_s: i64) -> String {
    (from_s..to_s)
        .step_by(20)
        .map(|s| format!("{} [311] user=app@test LOG:  statement: SELECT id, status FROM shop.orders WHERE id = {}\n", pg_time(s), s % 5000))
        .collect()
}

/// The shop's access log: customers browsing and the ERP syncing steadily (a declared
/// integration) between `from_s` and `to_s`.
fn shop_traffic(from_s: i64, to_s: i64) -> String {
    let mut log = String::new();
    for s in (from_s..to_s).step_by(2) {
        log.push_str(&format!("10.0.0.{} - - [{}] \"GET /products/{} HTTP/1.1\" 200 5120 \"-\" \"Mozilla/5.0\"\n", s % 200, clf_time(s), s % 40));
        for k in 0..12 {
            log.push_str(&format!("198.51.100.7 - erp-sync [{}] \"GET /api/orders/{} HTTP/1.1\" 200 900 \"-\" \"erp/2\"\n", clf_time(s), s * 12 + k));
        }
    }
    log
}

#[test]
fn retailer_every_exfiltration_reaches_the_dpo_as_a_breach_even_after_a_false_alarm() {
    let Some(pg_url) = test_postgres_url() else { return };
    let mut shop = PgSchema::new(&pg_url, "scen_shop");
    let schema = shop.name.clone();
    let people: Vec<Person> = (0..CUSTOMERS).map(person).collect();
    shop.client
        .batch_execute(&format!(
            "CREATE SCHEMA {schema};
             CREATE TABLE {schema}.customers (id integer PRIMARY KEY, first_name text, last_name text, email text, phone text, iban text, created_at date, last_login date);
             CREATE TABLE {schema}.orders (id integer PRIMARY KEY, customer_id integer, amount numeric, placed_at date);"
        ))
        .unwrap();
    {
        use std::io::Write;
        let mut w = shop.client.copy_in(&format!("COPY {schema}.customers FROM STDIN")).unwrap();
        for (i, p) in people.iter().enumerate() {
            let created = 2016 + i % 10;
            writeln!(w, "{i}\t{}\t{}\t{}\t{}\t{}\t{created}-03-01\t2026-10-{:02}", p.first, p.last, p.email, p.phone, p.iban, 1 + i % 28).unwrap();
        }
        w.finish().unwrap();
    }
    shop.client
        .batch_execute(&format!(
            "INSERT INTO {schema}.orders SELECT i, i % {CUSTOMERS}, (i % 300) + 0.99, DATE '2026-01-01' + (i % 300) FROM generate_series(1, {ORDERS}) i; ANALYZE {schema}.customers; ANALYZE {schema}.orders;"
        ))
        .unwrap();

    let register = RegisterFixture::new("Exemple Commerce SA")
        .dpo("Claire Martin", "dpo@exemple.fr")
        .activity("shop", "Online shop customers", &["contact", "financial", "identity", "online_identifier"])
        .field("purpose", r#""Orders, delivery and invoicing""#)
        .field("retention", r#""3y""#)
        .system(r#"databases = ["postgres://*/test"]"#)
        .system(r#"paths = ["**/logs/*.log"]"#)
        .toml();
    let s = Scenario::start(&register, "exposed_places = [\"temporary directory=**/srv/tmp/*\", \"web root=**/htdocs/**\"]");
    let root = s.root().to_path_buf();
    // The logs name the database the agent scans.
    let db = pg_url.rsplit('/').next().unwrap().split('?').next().unwrap().to_string();
    let tmp = root.join("srv/tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let cfg = s.agent(&format!(
        "detect = [\"postgres\", \"access_log\"]\n\n[[scan]]\nlocation = \"{pg_url}?schema={schema}\"\nsample_rows = 2000\n\n[[scan]]\nlocation = \"{}\"\n\n[anomaly]\nknown_actors = [\"erp-*\"]\nexposed_places = [\"tmp={}/*\"]\n",
        tmp.display(),
        tmp.display()
    ));

    // Night: the nightly ETL exports the orders. A false alarm, but an export all the same.
    let mut pg_log = shop_statements(3600, 7200);
    pg_log.push_str(&format!("{} [512] user=etl@{db} LOG:  statement: COPY {schema}.orders TO '/var/lib/etl/orders.csv' CSV HEADER\n", pg_time(7200)));
    pg_log.push_str(&format!("{} [512] user=etl@{db} LOG:  COPY {ORDERS}\n", pg_time(7202)));
    append(&root.join("logs/postgresql.log"), &pg_log);
    append(&root.join("logs/access.log"), &shop_traffic(3600, 7200));
    s.run_agent_once(&cfg);
    let night = s.wait_all_breaches_pushed();
    let etl = s.breaches();
    assert_eq!(etl.len(), 1, "the ETL export: {etl:#?}");
    assert!(night.contains(&etl[0]["id"].as_i64().unwrap()));

    // Evening. An employee copies the customer table into /tmp (the file is really written).
    let evening = 21 * 3600;
    let dest = tmp.join("customers.csv");
    let mut pg_log = shop_statements(evening, evening + 3600);
    pg_log.push_str(&format!("{} [902] user=alice@{db} LOG:  statement: COPY {schema}.customers TO '{}' CSV\n", pg_time(evening + 300), dest.display()));
    pg_log.push_str(&format!("{} [902] user=alice@{db} LOG:  COPY {CUSTOMERS}\n", pg_time(evening + 303)));
    {
        let mut out = Vec::new();
        let mut r = shop.client.copy_out(&format!("COPY {schema}.customers TO STDOUT CSV")).unwrap();
        std::io::Read::read_to_end(&mut r, &mut out).unwrap();
        drop(r);
        std::fs::write(&dest, out).unwrap();
    }
    // Someone dumps the shop with pg_dump.
    for (k, table) in ["customers", "orders"].iter().enumerate() {
        pg_log.push_str(&format!(
            "{} [77] user=mallory@{db} app=pg_dump LOG:  statement: COPY {schema}.{table} (id) TO stdout;\n",
            pg_time(evening + 1800 + k as i64)
        ));
    }
    append(&root.join("logs/postgresql.log"), &pg_log);
    // And a client pages through the customer API: 400 pages of 50 at ten requests a second.
    let mut access = shop_traffic(evening, evening + 3600);
    for page in 0..400i64 {
        access.push_str(&format!(
            "203.0.113.9 - - [{}] \"GET /api/customers?page={page}&per_page=50 HTTP/1.1\" 200 31000 \"-\" \"python-requests/2.31\"\n",
            clf_time(evening + 2400 + page / 10)
        ));
    }
    access.push_str(&shop_traffic(evening + 3600, evening + 3700));
    append(&root.join("logs/access.log"), &access);
    s.run_agent_once(&cfg);

    let pushed = s.wait_all_breaches_pushed();
    let breaches = s.breaches();
    println!("retailer: planted 1 ETL export (false alarm), 1 COPY TO /tmp, 1 pg_dump, 1 API scrape, 1 exported file of {CUSTOMERS} customers");
    breaches.iter().for_each(print_incident);
    // The file the COPY wrote, found by the scan in /tmp, and the COPY are one event, one breach.
    let copy = incident_saying(&breaches, "customers.csv");
    assert!(copy["records_estimate"]["method"].as_str().unwrap().contains("actor=alice"), "the COPY joined its file's breach: {copy:#}");
    let dump = incident_saying(&breaches, "actor mallory");
    let scrape = incident_saying(&breaches, "/api/customers");
    assert_eq!(breaches.len(), 4, "the ETL false alarm, the COPY, the dump and the scrape: {breaches:#?}");
    for (what, i) in [("COPY", copy), ("pg_dump", dump), ("scrape", scrape)] {
        assert!(pushed.contains(&i["id"].as_i64().unwrap()), "the {what} was not pushed to the webhook");
        assert_ne!(i["id"], etl[0]["id"], "the {what} joined the ETL false alarm");
        assert!(i["deadline"].is_string(), "a breach runs the Art. 33 clock");
    }
    within_10_percent("COPY records", &copy["records_estimate"]["value"], CUSTOMERS);
    within_10_percent("COPY subjects", &copy["subjects"]["value"], CUSTOMERS);
    within_10_percent("scrape records", &scrape["records_estimate"]["value"], CUSTOMERS);
    within_10_percent("scrape subjects", &scrape["subjects"]["value"], CUSTOMERS);
    within_10_percent("pg_dump records", &dump["records_estimate"]["value"], CUSTOMERS + ORDERS);
    within_10_percent("pg_dump subjects", &dump["subjects"]["value"], CUSTOMERS);
    for c in s.incidents().iter().filter(|i| i["kind"] == "compliance") {
        assert!(c["deadline"].is_null() && c["due"].is_string(), "a compliance item has a due date, no clock: {c:#}");
    }
    s.assert_no_raw_value(&people[..50]);
}

// ------------------------------------------------------------------------------ the medical lab

const PATIENTS_LOGGED: u64 = 724;
const MESSAGES_PER_PATIENT: u64 = 3;
const PATIENTS_EXPORTED: u64 = 50_000;

/// An HL7 v2 message as the lab's interface engine logs it, segments joined on one line: the
/// patient's lab id, NIR, name, birth date, address and phone in PID, a result in OBX.
fn hl7_line(seq: u64, p: &Person, at: &str) -> String {
    let kind = if seq.is_multiple_of(3) { "ADT^A04" } else { "ORU^R01" };
    let phone: String = p.phone.chars().filter(|c| !c.is_whitespace()).collect();
    format!(
        "{at} INFO  [hl7-listener] received {kind} MSH|^~\\&|LABSYS|BIOLAB|DPI|CHU|20261118081203||{kind}|MSG{seq:07}|P|2.5 PID|1||PAT{:06}^^^BIOLAB^PI~{}^^^INS-NIR^NH||{}^{}||{}|{}|||12 RUE DES LILAS^^LYON^^69003^FRA||{phone} OBX|1|NM|2345-7^GLUCOSE^LN||{}.{}|mmol/L|3.9-5.8|N|||F\n",
        seq / MESSAGES_PER_PATIENT,
        p.nir,
        p.last.to_uppercase(),
        p.first.to_uppercase(),
        p.birth.replace('-', ""),
        if p.nir.starts_with('1') { "M" } else { "F" },
        4 + seq % 3,
        seq % 10,
    )
}

#[test]
fn medical_lab_counts_people_not_values_and_an_export_in_a_web_root_is_a_breach() {
    let register = RegisterFixture::new("Exemple Biologie SELAS")
        .dpo("Dr Anne Roux", "dpo@biologie.exemple.fr")
        .activity("lab", "Medical laboratory analyses", &["contact", "identity", "health"])
        .field("purpose", r#""Analyses ordered by physicians""#)
        .field("retention", r#""5y""#)
        .system(r#"paths = ["**/logs/*.log"]"#)
        .toml();
    let s = Scenario::start(&register, "");
    let root = s.root().to_path_buf();
    let webroot = root.join("srv/lab/htdocs");
    std::fs::create_dir_all(webroot.join("exports")).unwrap();
    let cfg = s.agent(&format!("\n[[scan]]\nlocation = \"{}\"\n", webroot.display()));

    // The interface engine logs each patient's messages, with a NIR and a phone on each line,
    // between heartbeat lines.
    let patients: Vec<Person> = (0..PATIENTS_LOGGED).map(|i| person(500_000 + i)).collect();
    let mut log = String::new();
    for seq in 0..PATIENTS_LOGGED * MESSAGES_PER_PATIENT {
        let at = format!("2026-11-18T{:02}:{:02}:{:02}.120Z", 6 + seq / 3600 % 12, seq / 60 % 60, seq % 60);
        log.push_str(&hl7_line(seq, &patients[(seq * 7919 % (PATIENTS_LOGGED * MESSAGES_PER_PATIENT) / MESSAGES_PER_PATIENT) as usize], &at));
        log.push_str(&format!("{at} DEBUG [hl7-listener] ACK sent, queue depth {}\n", seq % 17));
    }
    append(&root.join("logs/lab-interface.log"), &log);
    // And someone left an export of 50,000 patients in the web root (`;`-separated, as a French
    // spreadsheet writes it).
    let mut csv = String::from("nom;prenom;nir;date_naissance;telephone;email\n");
    for i in 0..PATIENTS_EXPORTED {
        let p = person(1_000_000 + i);
        csv.push_str(&format!("{};{};{};{};{};{}\n", p.last, p.first, p.nir, p.birth, p.phone, p.email));
    }
    std::fs::write(webroot.join("exports/patients_2026.csv"), csv).unwrap();
    s.run_agent_once(&cfg);

    let pushed = s.wait_all_breaches_pushed();
    let incidents = s.incidents();
    println!(
        "medical lab: planted {} log lines of {PATIENTS_LOGGED} patients (NIR, phone, name on each), an export of {PATIENTS_EXPORTED} patients in a web root",
        PATIENTS_LOGGED * MESSAGES_PER_PATIENT
    );
    incidents.iter().for_each(print_incident);
    let exposed: Vec<&Value> = incidents.iter().filter(|i| i["system"].as_str().unwrap_or("").contains("htdocs")).collect();
    assert_eq!(exposed.len(), 1, "one exposure, one incident (a breach, not also a register gap): {exposed:#?}");
    let exposed = exposed[0];
    assert_eq!(exposed["rule"], "exposed_place");
    assert!(pushed.contains(&exposed["id"].as_i64().unwrap()), "the exposure reached the webhook");
    within_10_percent("exported patients", &exposed["subjects"]["value"], PATIENTS_EXPORTED);
    within_10_percent("exported records", &exposed["records_estimate"]["value"], PATIENTS_EXPORTED);

    let logged: Vec<&Value> = incidents.iter().filter(|i| i["rule"] == "undeclared_category" && i["activities"] == serde_json::json!(["lab"])).collect();
    assert_eq!(logged.len(), 1, "the NIRs in the log are one register gap of the activity: {incidents:#?}");
    let logged = logged[0];
    assert_eq!((logged["kind"].as_str(), logged["deadline"].as_str()), (Some("compliance"), None));
    within_10_percent("patients in the log", &logged["subjects"]["value"], PATIENTS_LOGGED);
    within_10_percent("log records", &logged["records_estimate"]["value"], PATIENTS_LOGGED * MESSAGES_PER_PATIENT);
    let mut planted = patients[..40].to_vec();
    planted.extend((0..40).map(|i| person(1_000_000 + i)));
    s.assert_no_raw_value(&planted);
}

// ------------------------------------------------------------------------------ the chat platform

const ACCOUNTS: u64 = 20_000;
const INACTIVE_PAST_RETENTION: u64 = 6_055;
const ARCHIVES: u64 = 5;
const ARCHIVE_LINES: u64 = 1_000;

#[test]
fn chat_platform_retention_is_counted_in_records_and_old_archives_are_one_compliance_item() {
    let register = RegisterFixture::new("Exemple Chat SAS")
        .dpo("Léa Girard", "dpo@chat.exemple.fr")
        .activity("accounts", "User accounts", &["contact", "identity", "online_identifier"])
        .field("purpose", r#""Running users' accounts""#)
        .field("retention", r#""3y""#)
        .system(r#"databases = ["chat.db"]"#)
        .activity("security_logs", "Security access logs", &["contact", "online_identifier"])
        .field("purpose", r#""Detecting attacks on the platform""#)
        .field("retention", r#""1y""#)
        .system(r#"paths = ["**/archive/*.log.gz"]"#)
        .toml();
    let s = Scenario::start(&register, "");
    let root = s.root().to_path_buf();
    let now = time::OffsetDateTime::now_utc();
    let days = |n: u64| time::Duration::days(n as i64);

    // 20,000 accounts, all created years ago; 6,055 of them inactive for more than three years.
    let db_path = root.join("var/lib/chat/chat.db");
    std::fs::create_dir_all(db_path.parent().unwrap()).unwrap();
    let mut db = rusqlite::Connection::open(&db_path).unwrap();
    db.execute_batch("CREATE TABLE accounts (id INTEGER PRIMARY KEY, username TEXT, email TEXT, phone TEXT, last_ip TEXT, created_at TEXT, last_login TEXT)")
        .unwrap();
    let tx = db.transaction().unwrap();
    for i in 0..ACCOUNTS {
        let p = person(2_000_000 + i);
        // Exactly 6,055 inactive accounts, spread over the table.
        let inactive = i * 7919 % ACCOUNTS < INACTIVE_PAST_RETENTION;
        // Spread over the years, never close to the limit (3 years and 30 days to 8 years; or
        // active within the last 2 years).
        let last_login = if inactive { now - days(365 * 3 + 30 + i * 37 % 1800) } else { now - days(i * 13 % 700) };
        let created = now - days(365 * 4 + i * 53 % 2500);
        tx.execute(
            "INSERT INTO accounts (username, email, phone, last_ip, created_at, last_login) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            rusqlite::params![
                format!("{}{}", p.first.to_lowercase(), i),
                p.email,
                p.phone,
                format!("198.51.{}.{}", i / 250 % 250, i % 250),
                created.date().to_string(),
                format!("{} {:02}:{:02}:00", last_login.date(), i % 24, i % 60)
            ],
        )
        .unwrap();
    }
    tx.commit().unwrap();
    drop(db);

    // Five monthly access-log archives of 2019, written then and never deleted.
    let archive = root.join("var/log/chat/archive");
    std::fs::create_dir_all(&archive).unwrap();
    for m in 1..=ARCHIVES {
        let path = archive.join(format!("access-2019-{m:02}.log.gz"));
        let mut gz = flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), flate2::Compression::fast());
        for l in 0..ARCHIVE_LINES {
            let p = person(2_000_000 + l * 17 % ACCOUNTS);
            let line = format!(
                "203.0.{}.{} - - [{:02}/{}/2019:{:02}:{:02}:{:02} +0000] \"POST /api/v6/auth/login?login={} HTTP/1.1\" 200 512 \"-\" \"Discord/0.0.305\"\n",
                l / 250 % 250,
                l % 250,
                1 + l % 28,
                ["Jan", "Feb", "Mar", "Apr", "May"][m as usize - 1],
                l % 24,
                l % 60,
                l * 7 % 60,
                p.email
            );
            std::io::Write::write_all(&mut gz, line.as_bytes()).unwrap();
        }
        gz.finish().unwrap();
        let written = std::time::UNIX_EPOCH + Duration::from_secs(1_548_979_200 + (m - 1) * 30 * 86_400);
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(written).unwrap();
    }

    // The agent's exposed places are the site's web root only (this test lives under /tmp).
    let cfg = s.agent(&format!(
        "\n[[scan]]\nlocation = \"sqlite://{}\"\nsample_rows = 2000\n\n[[scan]]\nlocation = \"{}\"\n\n[anomaly]\nexposed_places = [\"web_root=/var/www/**\"]\n",
        db_path.display(),
        archive.display()
    ));
    s.run_agent_once(&cfg);
    // Give the notifier a round: nothing may be pushed.
    std::thread::sleep(Duration::from_secs(3));

    let incidents = s.incidents();
    println!(
        "chat platform: planted {ACCOUNTS} accounts of which {INACTIVE_PAST_RETENTION} inactive past the 3-year retention, {ARCHIVES} access-log archives of 2019 (1-year retention)"
    );
    incidents.iter().for_each(print_incident);
    assert!(incidents.iter().all(|i| i["kind"] == "compliance" && i["deadline"].is_null() && i["due"].is_string()), "no breach, no clock: {incidents:#?}");
    assert!(s.pushed_breaches().is_empty(), "nothing was pushed as a breach");
    let retention: Vec<&Value> = incidents.iter().filter(|i| i["rule"] == "retention_exceeded").collect();
    assert_eq!(retention.len(), 2, "one retention item per activity: {retention:#?}");
    let accounts = retention.iter().find(|i| i["system"].as_str().unwrap_or("").contains("User accounts")).expect("the accounts' retention item");
    within_10_percent("accounts past retention", &accounts["records_estimate"]["value"], INACTIVE_PAST_RETENTION);
    let logs = retention.iter().find(|i| i["system"].as_str().unwrap_or("").contains("Security access logs")).expect("the archives' retention item");
    within_10_percent("archived lines past retention", &logs["records_estimate"]["value"], ARCHIVES * ARCHIVE_LINES);
    let console = Console::login(s.web, "auditor");
    let evidence = console.get(&format!("/api/v1/incidents/{}/evidence", logs["id"])).json();
    let mut files: Vec<String> = evidence["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["locator"].as_str())
        .map(String::from)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    files.sort();
    assert_eq!(files.len() as u64, ARCHIVES, "the item lists the five archives: {files:#?}");
    let planted: Vec<Person> = (0..40).map(|i| person(2_000_000 + i)).collect();
    s.assert_no_raw_value(&planted);
}
