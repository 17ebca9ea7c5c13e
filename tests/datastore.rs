//! Data-store scans through the real command line: `custos-agent scan` on real files, a real
//! SQLite database and a real PostgreSQL server ($CUSTOS_TEST_POSTGRES, default
//! `postgres://postgres:postgres@127.0.0.1:5432/test`; `scripts/test.sh` starts one).
//!
//! Every PostgreSQL test works in a schema of its own, dropped at the end.

use custos_tests::*;
use serde_json::Value;
use std::io::Write;
use std::process::Command;

const DAY: u64 = 86_400;

/// Runs `custos-agent scan ARGS --json`: (exit code, JSON records, stderr).
fn scan(args: &[&str]) -> (i32, Vec<Value>, String) {
    let out = Command::new(bin("e2e-agent")).arg("scan").args(args).arg("--json").output().unwrap();
    let records = String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    (out.status.code().unwrap_or(-1), records, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn find<'a>(records: &'a [Value], location_suffix: &str, column: &str, detector: &str) -> Option<&'a Value> {
    records.iter().find(|r| r["location"].as_str().is_some_and(|l| l.ends_with(location_suffix)) && r["column"] == column && r["detector"] == detector)
}

fn now_s() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// Asserts that an age in seconds is `days` days, give or take one day (the clock moves and
/// time zones differ between the test and the database).
fn assert_age_days(record: &Value, days: u64) {
    let age = record["oldest_record_age_s"].as_u64().unwrap_or_else(|| panic!("no age in {record}"));
    assert!(age + DAY >= days * DAY && age <= days * DAY + DAY, "age {age} s is not about {days} days: {record}");
}

#[test]
fn sqlite_tables_are_classified_per_column_with_row_estimates_and_retention() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crm.db");
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute_batch(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, email TEXT, phone VARCHAR(20), note TEXT, created_at TEXT);
         CREATE TABLE products (id INTEGER PRIMARY KEY, label TEXT, price REAL);",
    )
    .unwrap();
    let tx = db.unchecked_transaction().unwrap();
    for i in 0..5000u64 {
        // Every other customer left no phone; the first 1,000 share 100 addresses (duplicates).
        let email = format!("client{}@example.fr", if i < 1000 { i % 100 } else { i });
        let phone = (i % 2 == 0).then(|| format!("06 12 34 {:02} {:02}", (i / 100) % 100, i % 100));
        let day = now_s() - (400 + i % 1000) * DAY; // oldest: 1,399 days ago
        let created = time::OffsetDateTime::from_unix_timestamp(day as i64).unwrap().date().to_string();
        tx.execute(
            "INSERT INTO customers (name, email, phone, note, created_at) VALUES ('Client', ?1, ?2, 'called back', ?3)",
            rusqlite::params![email, phone, created],
        )
        .unwrap();
    }
    tx.execute("INSERT INTO products (label, price) VALUES ('kettle', 20.5)", []).unwrap();
    tx.commit().unwrap();
    drop(db);

    let location = format!("sqlite://{}", path.display());
    let (code, records, stderr) = scan(&[&location, "--sample-rows", "5000"]);
    assert_eq!(code, 1, "exit 1: personal data found; stderr: {stderr}");

    let email = find(&records, "/customers", "email", "email").unwrap_or_else(|| panic!("{records:#?}"));
    assert_eq!(email["kind"], "database_table");
    assert_eq!(email["location"], format!("{location}/customers"));
    assert_eq!(email["sampled_rows"], 5000);
    assert_eq!(email["matched_rows"], 5000);
    assert_eq!(email["match_share"], 1.0);
    assert_eq!(email["distinct_fingerprints"], 4100, "1,000 rows with 100 people, then 4,000 people");
    assert_eq!(email["estimated_rows"], 5000);
    assert_eq!(email["oldest_record_source"], "column:created_at");
    assert_age_days(email, 1399);
    assert!(!email["preview"].as_str().unwrap().contains("client"), "previews are masked");

    let phone = find(&records, "/customers", "phone", "phone").unwrap_or_else(|| panic!("{records:#?}"));
    assert_eq!((phone["sampled_rows"].as_u64(), phone["matched_rows"].as_u64()), (Some(2500), Some(2500)), "NULL phones are not sampled values");
    assert!(records.iter().all(|r| r["column"] != "note" && r["column"] != "name"));
    assert!(records.iter().all(|r| !r["location"].as_str().unwrap().ends_with("/products")));
    let raw = serde_json::to_string(&records).unwrap();
    assert!(!raw.contains("client1234@example.fr"), "no raw value is printed");
}

#[test]
fn a_large_sqlite_table_is_sampled_across_its_rows_not_only_its_first_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute_batch("CREATE TABLE accounts (id INTEGER PRIMARY KEY, contact TEXT);").unwrap();
    let tx = db.unchecked_transaction().unwrap();
    // The first 9,000 accounts predate the contact column (NULL); the last 1,000 have an address.
    for i in 0..10_000u64 {
        let contact = (i >= 9_000).then(|| format!("member{i}@example.fr"));
        tx.execute("INSERT INTO accounts (contact) VALUES (?1)", [contact]).unwrap();
    }
    tx.commit().unwrap();
    drop(db);
    let (code, records, stderr) = scan(&[&format!("sqlite://{}", path.display()), "--sample-rows", "100"]);
    assert_eq!(code, 1, "the late addresses are found; stderr: {stderr}");
    let email = find(&records, "/accounts", "contact", "email").unwrap_or_else(|| panic!("{records:#?}"));
    assert_eq!(email["estimated_rows"], 10_000);
    assert_eq!(email["matched_rows"], 10, "every 100th row id: 10 of them fall in the last 1,000 rows");
}

#[test]
fn files_are_classified_per_column_or_field_and_binaries_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("customers.csv"), "id,contact\n".to_string() + &(0..300).map(|i| format!("{i},user{i}@example.fr\n")).collect::<String>())
        .unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for i in 0..50 {
        writeln!(gz, "{{\"event\":\"signup\",\"customer\":{{\"contact\":{{\"mail\":\"p{i}@example.fr\"}}}},\"ts\":\"2024-05-0{}T10:00:00Z\"}}", 1 + i % 9)
            .unwrap();
    }
    std::fs::write(root.join("events.ndjson.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(root.join("app.log"), "2026-11-20 INFO login user=jeanne@example.fr\n").unwrap();
    std::fs::write(root.join("photo.bin"), b"\x00\x01\x02 hidden@example.fr").unwrap();

    let (code, records, stderr) = scan(&[root.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    let csv = find(&records, "customers.csv", "contact", "email").unwrap_or_else(|| panic!("{records:#?}"));
    assert_eq!((csv["kind"].as_str(), csv["matched_rows"].as_u64(), csv["distinct_fingerprints"].as_u64()), (Some("file"), Some(300), Some(300)));
    assert_eq!(csv["oldest_record_source"], "mtime", "no date column: the file's age");
    let nd = find(&records, "events.ndjson.gz", "customer.contact.mail", "email").unwrap_or_else(|| panic!("{records:#?}"));
    assert_eq!(nd["matched_rows"], 50);
    assert_eq!(nd["oldest_record_source"], "column");
    // Plain text stays line by line, like ripgrep.
    assert!(records.iter().any(|r| r["path"].as_str().is_some_and(|p| p.ends_with("app.log")) && r["line"] == 1));
    assert!(records.iter().all(|r| !serde_json::to_string(r).unwrap().contains("photo.bin")), "binaries are skipped");
}

/// A schema of its own in the test PostgreSQL database, dropped when the test ends.
struct PgSchema {
    client: postgres::Client,
    name: String,
    url: String,
}

impl PgSchema {
    fn new(tag: &str) -> Option<PgSchema> {
        let url = test_postgres_url()?;
        let mut client =
            postgres::Client::connect(&url, postgres::NoTls).unwrap_or_else(|e| panic!("PostgreSQL at {url} is needed (scripts/test.sh starts one): {e}"));
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let name = format!("custos_{tag}_{}_{nanos}", std::process::id());
        client.batch_execute(&format!("CREATE SCHEMA {name}")).unwrap();
        Some(PgSchema { client, name, url })
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let _ = self.client.batch_execute(&format!("DROP SCHEMA {} CASCADE", self.name));
    }
}

#[test]
fn postgres_tables_are_sampled_and_classified_with_the_default_sample_size() {
    let Some(mut pg) = PgSchema::new("ds") else { return };
    let s = pg.name.clone();
    pg.client
        .batch_execute(&format!(
            "CREATE TABLE {s}.accounts (id bigserial PRIMARY KEY, login text, contact_email varchar(200), bio text, signed_up timestamptz, balance numeric);
             INSERT INTO {s}.accounts (login, contact_email, bio, signed_up, balance)
               SELECT 'user' || i, 'member' || i || '@example.fr', 'likes tea', now() - (i % 2000) * interval '1 day', i
               FROM generate_series(1, 3000) AS i;
             CREATE TABLE {s}.settings (key text PRIMARY KEY, value text);
             INSERT INTO {s}.settings VALUES ('theme', 'dark'), ('lang', 'fr');"
        ))
        .unwrap();
    let location = format!("{}?schema={s}", pg.url);
    let (code, records, stderr) = scan(&[&location]);
    assert_eq!(code, 1, "{stderr}");
    assert!(!stderr.contains("postgres:postgres@") && !serde_json::to_string(&records).unwrap().contains(":postgres@"), "the password is never printed");
    let email = find(&records, &format!("/{s}.accounts"), "contact_email", "email").unwrap_or_else(|| panic!("{records:#?}\n{stderr}"));
    assert_eq!(email["kind"], "database_table");
    assert_eq!(email["sampled_rows"], 1000, "default sample size");
    assert_eq!(email["matched_rows"], 1000);
    assert_eq!(email["distinct_fingerprints"], 1000);
    assert_eq!(email["estimated_rows"], 3000, "never analysed: counted");
    assert_eq!(email["oldest_record_source"], "column:signed_up");
    assert_age_days(email, 1999);
    assert_eq!(records.len(), 1, "nothing in bio, login or settings: {records:#?}");
}

#[test]
fn unreachable_database_is_an_error_naming_the_location_without_password() {
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("sqlite://{}", dir.path().join("nope.db").display());
    let (code, _, stderr) = scan(&[&missing]);
    assert_eq!(code, 2);
    assert!(stderr.contains("nope.db") && stderr.contains("no such file"), "{stderr}");
    let port = free_port();
    let (code, _, stderr) = scan(&[&format!("postgres://reader:hunter2@127.0.0.1:{port}/crm")]);
    assert_eq!(code, 2);
    assert!(stderr.contains(&format!("postgres://127.0.0.1:{port}/crm")) && stderr.contains("cannot connect"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}
