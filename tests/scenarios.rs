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
    for b in &breaches {
        println!(
            "  breach #{} {} on {}: {} subjects ({}), {} records ({})",
            b["id"], b["rule"], b["system"], b["subjects"]["value"], b["subjects"]["method"], b["records_estimate"]["value"], b["records_estimate"]["method"]
        );
    }
    let copy = incident_saying(&breaches, "actor alice");
    let dump = incident_saying(&breaches, "actor mallory");
    let scrape = incident_saying(&breaches, "/api/customers");
    let file = breaches.iter().find(|b| b["rule"] == "exposed_place").expect("the file left in /tmp is an exposure");
    for (what, i) in [("COPY", copy), ("pg_dump", dump), ("scrape", scrape), ("exported file", file)] {
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
    within_10_percent("exported file records", &file["records_estimate"]["value"], CUSTOMERS);
    within_10_percent("exported file subjects", &file["subjects"]["value"], CUSTOMERS);
    for c in s.incidents().iter().filter(|i| i["kind"] == "compliance") {
        assert!(c["deadline"].is_null() && c["due"].is_string(), "a compliance item has a due date, no clock: {c:#}");
    }
    s.assert_no_raw_value(&people[..50]);
}
