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
    // Retention by records: the age distribution of the sampled rows, by their date column.
    assert_eq!((email["age_column"].as_str(), email["age_sampled"].as_u64(), email["records"].as_u64()), (Some("signed_up"), Some(1000), Some(3000)));
    let q: Vec<u64> = email["age_quantiles_days"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    assert_eq!(q.len(), 101);
    assert!(q.windows(2).all(|w| w[0] <= w[1]) && q[100] <= 2000, "{q:?}");
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

#[test]
fn a_headerless_semicolon_export_is_read_as_data_and_printed_without_a_raw_value() {
    let dir = tempfile::tempdir().unwrap();
    // `COPY customers TO … (FORMAT csv, DELIMITER ';')`: no header, `;`, in a directory named
    // after a person.
    let named = dir.path().join("jean.dupont@example.fr");
    std::fs::create_dir_all(&named).unwrap();
    let now = now_s() as i64;
    let date = |days_ago: i64| {
        let t = time::OffsetDateTime::from_unix_timestamp(now - days_ago * DAY as i64).unwrap();
        format!("{} {:02}:{:02}:00", t.date(), t.hour(), t.minute())
    };
    let mut csv = format!("1;Jean;jean.dupont@example.fr;+33 6 12 34 56 78;1985-04-12;{}\n", date(10));
    for i in 2..=400i64 {
        // A quarter of the customers were last active three years ago.
        let last = if i % 4 == 0 { 3 * 365 + i % 30 } else { i % 300 };
        csv.push_str(&format!("{i};Client;client{i}@example.fr;+33 6 12 34 {:02} {:02};1990-01-01;{}\n", i / 100, i % 100, date(last)));
    }
    let file = named.join("customers.csv");
    std::fs::write(&file, &csv).unwrap();

    let (code, records, stderr) = scan(&[dir.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    let email = records.iter().find(|r| r["column"] == "col3" && r["detector"] == "email").unwrap_or_else(|| panic!("{records:#?}"));
    assert_eq!((email["matched_rows"].as_u64(), email["records"].as_u64()), (Some(400), Some(400)), "the first row is data");
    assert!(records.iter().any(|r| r["column"] == "col4" && r["detector"] == "phone"), "`;` sniffed: {records:#?}");
    assert_eq!(email["age_column"], "col6", "the activity dates, not the birth dates");
    let q: Vec<u64> = email["age_quantiles_days"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    let older_than_two_years = q.iter().filter(|&&d| d > 730).count();
    assert!((23..=27).contains(&older_than_two_years), "about a quarter: {older_than_two_years} of 101 percentiles; {q:?}");

    for json in [true, false] {
        let mut cmd = Command::new(bin("e2e-agent"));
        cmd.arg("scan").arg(dir.path());
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        for raw in ["jean.dupont@example.fr", "+33 6 12 34 56 78", "client77@example.fr", "Jean;"] {
            assert!(!stdout.contains(raw), "{raw} printed (json: {json}):\n{stdout}");
        }
        assert!(stdout.contains("customers.csv"), "{stdout}");
    }
    // With --show-values, what is masked otherwise is there (the test above can fail).
    let out = Command::new(bin("e2e-agent")).arg("scan").arg(dir.path()).arg("--show-values").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("jean.dupont@example.fr"));
}

#[test]
fn retention_counts_records_by_their_last_activity_and_records_are_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat.db");
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute_batch("CREATE TABLE accounts (id INTEGER PRIMARY KEY, email TEXT, phone TEXT, created_at TEXT, last_login TEXT, birth_date TEXT)").unwrap();
    let day = |ago: u64| time::OffsetDateTime::from_unix_timestamp((now_s() - ago * DAY) as i64).unwrap().date().to_string();
    let tx = db.unchecked_transaction().unwrap();
    let mut inactive = 0;
    for i in 0..20_000u64 {
        // Every account is old; 6,055 of them have not logged in for more than three years.
        let gone = (i * 7919) % 20_000 < 6_055;
        inactive += u64::from(gone);
        let last = if gone { 3 * 365 + 30 + i % 700 } else { i % 365 };
        tx.execute(
            "INSERT INTO accounts (email, phone, created_at, last_login, birth_date) VALUES (?1, ?2, ?3, ?4, '1980-01-01')",
            rusqlite::params![
                format!("u{i}@example.fr"),
                format!("06 12 {:02} {:02} {:02}", i / 10000, (i / 100) % 100, i % 100),
                day(1500 + i % 500),
                day(last)
            ],
        )
        .unwrap();
    }
    tx.commit().unwrap();
    drop(db);
    assert_eq!(inactive, 6_055);
    let (code, records, stderr) = scan(&[&format!("sqlite://{}", path.display())]);
    assert_eq!(code, 1, "{stderr}");
    let columns: Vec<&Value> = records.iter().filter(|r| r["location"].as_str().is_some_and(|l| l.ends_with("/accounts"))).collect();
    assert!(columns.len() >= 2, "{records:#?}");
    for c in &columns {
        assert_eq!(c["records"], 20_000, "records are rows, the same for every column: {c}");
        assert_eq!(c["age_column"], "last_login", "activity before creation: {c}");
        assert_eq!(c["oldest_record_source"], "column:created_at", "the oldest record, as before: {c}");
    }
    let q: Vec<u64> = columns[0]["age_quantiles_days"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    // Past a three-year retention: the share of percentiles above 1,095 days, × the records.
    let share = q.iter().filter(|&&d| d > 1095).count() as f64 / 101.0;
    let estimate = share * 20_000.0;
    assert!((estimate - 6_055.0).abs() <= 605.5, "{estimate:.0} records past retention, truly 6,055 (within 10 %)");
}
