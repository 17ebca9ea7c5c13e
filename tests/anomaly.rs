//! Export anomalies and scheduled data-store scans end to end: a real agent process with
//! `[[scan]]` jobs and `detect` lists, a real collector over mutual TLS, a real SQLite store.

use custos_tests::*;
use std::process::Command;

fn run_once(cfg: &std::path::Path) {
    let out = Command::new(bin("e2e-agent")).args(["run", "--once", "--config"]).arg(cfg).output().unwrap();
    assert!(out.status.success(), "agent failed: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn scheduled_scans_and_export_anomalies_reach_the_collector_once_and_without_values() {
    let d = Deployment::new(&web_register());
    let _collector = d.start_collector();
    let cfg = d.agent_config("agent", "web-01-agent", &d.ca, "web-01-agent", "beginning");
    let root = d.root();

    // A database log with ordinary statements and one export, an access log with one export.
    append(
        &root.join("logs/postgresql.log"),
        "2026-11-20 10:00:01 UTC [311] user=app@shop LOG:  statement: SELECT id FROM customers WHERE id = 42\n\
         2026-11-20 10:00:03 UTC [312] user=etl@shop LOG:  statement: COPY staging FROM STDIN\n\
         2026-11-20 23:41:07 UTC [902] user=jdoe@shop LOG:  statement: COPY (SELECT * FROM customers) TO '/tmp/c.csv' CSV HEADER\n",
    );
    append(
        &root.join("logs/access.log"),
        "10.0.0.4 - - [20/Nov/2026:10:00:00 +0100] \"GET /products/3 HTTP/1.1\" 200 5120 \"-\" \"Mozilla/5.0\"\n\
         10.0.0.9 - mdupont [20/Nov/2026:23:50:00 +0100] \"GET /admin/customers/export.csv?all=1 HTTP/1.1\" 200 48000000 \"-\" \"curl/8\"\n",
    );
    // A CRM database and an export directory, scanned on schedule.
    let crm = rusqlite::Connection::open(root.join("crm.db")).unwrap();
    crm.execute_batch("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, created_at TEXT)").unwrap();
    for i in 0..400 {
        crm.execute("INSERT INTO customers (email, created_at) VALUES (?1, '2016-03-01')", [format!("member{i}@example.fr")]).unwrap();
    }
    drop(crm);
    std::fs::create_dir_all(root.join("exports")).unwrap();
    std::fs::write(root.join("exports/customers.csv"), "id,mail\n".to_string() + &(0..300).map(|i| format!("{i},buyer{i}@example.fr\n")).collect::<String>())
        .unwrap();
    // And a PostgreSQL schema of this test's own.
    let Some(pg_url) = test_postgres_url() else { return };
    let mut pg =
        postgres::Client::connect(&pg_url, postgres::NoTls).unwrap_or_else(|e| panic!("PostgreSQL at {pg_url} is needed (scripts/test.sh starts one): {e}"));
    let schema = format!("custos_e2e_{}_{}", std::process::id(), std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos());
    pg.batch_execute(&format!(
        "CREATE SCHEMA {schema};
         CREATE TABLE {schema}.patients (id serial PRIMARY KEY, mail text, admitted date);
         INSERT INTO {schema}.patients (mail, admitted) SELECT 'patient' || i || '@example.fr', DATE '2015-01-01' + i FROM generate_series(1, 50) i;"
    ))
    .unwrap();
    struct DropSchema(postgres::Client, String);
    impl Drop for DropSchema {
        fn drop(&mut self) {
            let _ = self.0.batch_execute(&format!("DROP SCHEMA {} CASCADE", self.1));
        }
    }
    let _cleanup = DropSchema(pg, schema.clone());
    append(
        &cfg,
        &format!(
            "detect = [\"postgres\", \"access_log\"]\n\n[[scan]]\nlocation = \"sqlite://crm.db\"\nsample_rows = 100\n\n[[scan]]\nlocation = \"exports\"\n\n[[scan]]\nlocation = \"{pg_url}?schema={schema}\"\n"
        ),
    );

    run_once(&cfg);
    let db = d.db();
    let q = |sql: &str| count(&db, sql);
    assert_eq!(q("SELECT COUNT(*) FROM findings WHERE kind = 2 AND detector = 'db_export_statement'"), 1, "one COPY TO; the import is not an export");
    assert_eq!(
        q(
            "SELECT COUNT(*) FROM findings WHERE kind = 2 AND detector = 'db_export_statement' AND json_extract(evidence, '$.actor') = 'jdoe' AND json_extract(evidence, '$.detail') = 'COPY customers TO ''/tmp/c.csv'' in database shop'
           AND json_extract(evidence, '$.table') = 'customers' AND json_extract(evidence, '$.destination') = '/tmp/c.csv'
           AND json_extract(evidence, '$.event') = 'copy|db=shop|table=customers|to=/tmp/c.csv|actor=jdoe'
           AND json_extract(evidence, '$.event_start_ms') = '1795218067000' AND observed_at = 1795218067000"
        ),
        1
    );
    assert_eq!(
        q(
            "SELECT COUNT(*) FROM findings WHERE kind = 2 AND detector = 'download_volume' AND json_extract(evidence, '$.actor') = 'mdupont' AND json_extract(evidence, '$.observed') = '48000000'"
        ),
        1
    );
    assert_eq!(
        q("SELECT COUNT(*) FROM findings WHERE source_kind = 3 AND tbl = 'customers' AND col = 'email' AND detector = 'email' AND kind = 1
           AND json_extract(evidence, '$.sampled_rows') = '100' AND json_extract(evidence, '$.matched_rows') = '100'
           AND json_extract(evidence, '$.estimated_rows') = '400' AND json_extract(evidence, '$.oldest_record_source') = 'column:created_at'
           AND CAST(json_extract(evidence, '$.oldest_record_age_s') AS INTEGER) > 3600 * 24 * 365 * 9"),
        1,
        "one finding for the column, not one per row"
    );
    assert_eq!(q("SELECT COUNT(*) FROM findings WHERE source_kind = 2 AND col = 'mail' AND json_extract(evidence, '$.distinct_fingerprints') = '300'"), 1);
    assert_eq!(
        q("SELECT COUNT(*) FROM findings WHERE kind = 2 AND detector = 'personal_data_file' AND json_extract(evidence, '$.detail') LIKE 'new file in tmp dir: 300 records, 300 people'
           AND json_extract(evidence, '$.kind_of_place') = 'tmp' AND json_extract(evidence, '$.affected_records_estimate') = '300'
           AND json_extract(evidence, '$.affected_records_method') = 'file_rows'"),
        1,
        "300 people in a file under /tmp"
    );
    assert_eq!(
        q(&format!(
            "SELECT COUNT(*) FROM findings WHERE source_kind = 3 AND tbl = '{schema}.patients' AND col = 'mail'
             AND json_extract(evidence, '$.matched_rows') = '50' AND json_extract(evidence, '$.oldest_record_source') = 'column:admitted'
             AND locator NOT LIKE '%postgres:postgres@%'"
        )),
        1,
        "the PostgreSQL table, located without its password"
    );
    let total = q("SELECT COUNT(*) FROM findings");

    // A second run: nothing changed, nothing new is stored.
    run_once(&cfg);
    assert_eq!(q("SELECT COUNT(*) FROM findings"), total, "unchanged files are not rescanned and unchanged tables give the same ids");
    assert!(root.join("agent-data/scan-state.json").is_file());

    // The file grows: it is scanned again and reported with its new figures.
    append(&root.join("exports/customers.csv"), "300,late@example.fr\n");
    run_once(&cfg);
    assert_eq!(q("SELECT COUNT(*) FROM findings WHERE source_kind = 2 AND col = 'mail' AND json_extract(evidence, '$.distinct_fingerprints') = '301'"), 1);

    let bytes = d.db_bytes();
    for raw in ["member7@example.fr", "buyer12@example.fr", "late@example.fr"] {
        assert!(!bytes.windows(raw.len()).any(|w| w == raw.as_bytes()), "{raw} reached the collector");
    }
}

#[test]
fn a_burst_of_personal_data_in_a_followed_log_is_a_finding_rate_anomaly_after_a_quiet_baseline() {
    let d = Deployment::new(&web_register());
    let _collector = d.start_collector();
    let cfg = d.agent_config("agent", "web-01-agent", &d.ca, "web-01-agent", "beginning");
    // One-second windows so the test does not wait minutes; the floor keeps jitter quiet.
    append(&cfg, "detect = [\"finding_rate\"]\n\n[anomaly]\nwindow_s = 1\nwarmup = 3\nhistory = 30\nfinding_rate_min = 100\n");
    let log = d.root().join("logs/app.log");
    append(&log, "");
    let agent = d.start_agent(&cfg, "agent");
    let db = d.db();
    let q = |sql: &str| if db.is_file() { count(&db, sql) } else { 0 };

    // Ordinary traffic: a login line with an address every 200 ms, for six seconds.
    for i in 0..30 {
        append(&log, &format!("2026-11-20 INFO login user=user{i}@example.fr\n"));
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(
        wait_for(std::time::Duration::from_secs(20), || (q("SELECT COUNT(*) FROM findings WHERE kind = 1") >= 30).then_some(())).is_some(),
        "{}",
        agent.stderr()
    );
    assert_eq!(q("SELECT COUNT(*) FROM findings WHERE kind = 2"), 0, "ordinary traffic is quiet");

    // A debug flag dumps the customer table into the log.
    let dump: String = (0..600).map(|i| format!("DEBUG customer row {i} email=dumped{i}@example.fr\n")).collect();
    append(&log, &dump);
    let fired =
        wait_for(std::time::Duration::from_secs(30), || (q("SELECT COUNT(*) FROM findings WHERE kind = 2 AND detector = 'finding_rate'") >= 1).then_some(()));
    assert!(fired.is_some(), "no finding_rate anomaly; agent log:\n{}", agent.stderr());
    // The dump may straddle two windows; each window that fired carries its own figures.
    let fired = q("SELECT COUNT(*) FROM findings WHERE detector = 'finding_rate'");
    assert_eq!(
        q("SELECT COUNT(*) FROM findings WHERE detector = 'finding_rate' AND CAST(json_extract(evidence, '$.observed') AS INTEGER) >= 100
           AND CAST(json_extract(evidence, '$.baseline') AS REAL) < 10 AND locator LIKE '%/logs/app.log'"),
        fired
    );
}

/// `2026-11-20 09:00:00 UTC` plus `s` seconds, as PostgreSQL's `%t` writes it.
fn pg_time(s: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(1_795_165_200 + s).unwrap();
    format!("{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC", t.year(), t.month() as u8, t.day(), t.hour(), t.minute(), t.second())
}

/// The same instant as nginx's `$time_local` writes it.
fn clf_time(s: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(1_795_165_200 + s).unwrap();
    format!("{:02}/Nov/{:04}:{:02}:{:02}:{:02} +0000", t.day(), t.year(), t.hour(), t.minute(), t.second())
}

/// A retailer's PostgreSQL log of one morning: ordinary statements, a table copied to a file
/// by an employee (with its `COPY n` result), a harmless count, and a pg_dump of the shop.
fn retailer_pg_log() -> String {
    let mut log = String::new();
    for i in 0..120 {
        log.push_str(&format!("{} [311] user=app@shop LOG:  statement: SELECT id, status FROM shop.orders WHERE id = {i}\n", pg_time(i * 5)));
        match i {
            60 => {
                log.push_str(&format!("{} [902] user=alice@shop LOG:  statement: COPY shop.customers TO '/tmp/customers.csv' CSV\n", pg_time(i * 5 + 1)));
                log.push_str(&format!("{} [902] user=alice@shop LOG:  COPY 20000\n", pg_time(i * 5 + 3)));
            }
            70 => {
                log.push_str(&format!("{} [903] user=report@shop LOG:  statement: COPY (SELECT count(*) FROM shop.customers) TO STDOUT\n", pg_time(i * 5 + 1)))
            }
            80 => {
                for (k, table) in ["shop.customers", "shop.orders", "shop.addresses"].iter().enumerate() {
                    log.push_str(&format!(
                        "{} [77] user=backup@shop app=pg_dump LOG:  statement: COPY {table} (id, payload) TO stdout;\n",
                        pg_time(i * 5 + 1 + k as i64)
                    ));
                }
            }
            _ => {}
        }
    }
    log
}

/// Its web access log: 30 customers browsing, an ERP syncing steadily (a declared
/// integration), a client paging through the customer API, and an export download.
fn retailer_access_log() -> String {
    let mut log = String::new();
    for w in 0..90i64 {
        for c in 0..30i64 {
            let t = w * 10 + c % 10;
            log.push_str(&format!("10.0.0.{c} - - [{}] \"GET /products/{} HTTP/1.1\" 200 5120 \"-\" \"Mozilla/5.0\"\n", clf_time(t), (w + c) % 40));
            if c < 20 {
                log.push_str(&format!("198.51.100.7 - erp-sync [{}] \"GET /api/orders/{} HTTP/1.1\" 200 900 \"-\" \"erp/2\"\n", clf_time(t), w * 20 + c));
            }
            if (40..60).contains(&w) {
                let page = (w - 40) * 30 + c;
                log.push_str(&format!(
                    "203.0.113.9 - - [{}] \"GET /api/customers?page={page}&per_page=50 HTTP/1.1\" 200 30000 \"-\" \"python-requests/2.31\"\n",
                    clf_time(t)
                ));
            }
        }
        if w == 70 {
            log.push_str(&format!(
                "10.0.0.9 - mdupont [{}] \"GET /admin/customers/export.csv?all=1 HTTP/1.1\" 200 48000000 \"-\" \"curl/8\"\n",
                clf_time(w * 10 + 5)
            ));
        }
    }
    log
}

/// The anomalies of a run, keyed by what they say (the keyed suffix of a masked event is the
/// agent's; the masked signature before it is compared).
fn anomaly_key(detector: &str, evidence: &serde_json::Value) -> String {
    let get = |k: &str| evidence[k].as_str().unwrap_or("").to_string();
    let event = get("event");
    let event = event.split('#').next().unwrap_or("");
    format!(
        "{detector} {event} start={} end={} records={}/{} pages={} bytes={} observed={}",
        get("event_start_ms"),
        get("event_end_ms"),
        get("affected_records_estimate"),
        get("affected_records_method"),
        get("pages"),
        get("bytes"),
        get("observed")
    )
}

#[test]
fn a_log_fed_live_and_the_same_log_scanned_afterwards_give_the_same_anomalies() {
    let d = Deployment::new(&web_register());
    let _collector = d.start_collector();
    let cfg = d.agent_config("agent", "web-01-agent", &d.ca, "web-01-agent", "beginning");
    // Ten-second windows so the test does not wait minutes for a quiet log to be flushed.
    append(
        &cfg,
        "detect = [\"postgres\", \"access_log\"]\n\n[anomaly]\nwindow_s = 10\nreorder_tolerance_s = 2\nrequest_rate_min = 15\nevent_gap_s = 60\nknown_actors = [\"erp-*\"]\n",
    );
    let root = d.root();
    let agent = d.start_agent(&cfg, "agent");
    // Fed live, in pieces, while the agent runs.
    for (name, text) in [("postgresql.log", retailer_pg_log()), ("access.log", retailer_access_log())] {
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        for piece in lines.chunks(lines.len() / 4 + 1) {
            append(&root.join("logs").join(name), &piece.concat());
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
    }

    // The same logs scanned afterwards, with the agent's thresholds.
    let out = Command::new(bin("e2e-agent"))
        .args(["scan", "--json", "--detect", "postgres,access_log", "--config"])
        .arg(&cfg)
        .arg(root.join("logs"))
        .output()
        .unwrap();
    assert!(out.status.code() == Some(1), "scan: {}", String::from_utf8_lossy(&out.stderr));
    let mut scanned: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["kind"] == "export_anomaly")
        .map(|r| anomaly_key(r["detector"].as_str().unwrap(), &r["evidence"]))
        .collect();
    scanned.sort();
    assert!(!scanned.is_empty());

    // Live: once the logs have been quiet for a window and the tolerance, everything is out.
    let db = d.db();
    let live = || -> Vec<String> {
        if !db.is_file() {
            return Vec::new();
        }
        let c = rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let mut st = c.prepare("SELECT detector, evidence FROM findings WHERE kind = 2").unwrap();
        let mut v: Vec<String> = st
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .map(|(det, ev)| anomaly_key(&det, &serde_json::from_str(&ev).unwrap()))
            .collect();
        v.sort();
        v
    };
    let same = wait_for(std::time::Duration::from_secs(60), || (live() == scanned).then_some(()));
    assert!(same.is_some(), "live:\n{}\n\nscanned:\n{}\n\nagent log:\n{}", live().join("\n"), scanned.join("\n"), agent.stderr());

    // And they say what happened.
    let has = |prefix: &str| scanned.iter().any(|k| k.starts_with(prefix));
    assert!(
        has(
            "db_export_statement copy|db=shop|table=shop.customers|to=/tmp/customers.csv|actor=alice start=1795165501000 end=1795165503000 records=20000/copy_result_rows"
        ),
        "{scanned:#?}"
    );
    assert!(has("dump_command dump|db=shop|actor=backup start=1795165601000"), "{scanned:#?}");
    assert!(
        scanned
            .iter()
            .any(|k| k.starts_with("request_rate scrape|endpoint=/api/customers|actor=") && k.contains("records=30000/pages_x_records_per_page pages=600")),
        "{scanned:#?}"
    );
    assert!(has("download_volume download|endpoint=/admin/customers/export.csv|actor=mdupont"), "{scanned:#?}");
    assert!(!scanned.iter().any(|k| k.contains("report") || k.contains("erp-sync")), "the count and the declared integration are quiet: {scanned:#?}");
}

#[test]
fn a_forensic_scan_of_a_postgresql_log_names_the_table_taken() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("postgresql-2026-11-20.log");
    std::fs::write(
        &log,
        "2026-11-20 23:40:00 UTC [311] user=app@shop LOG:  statement: SELECT 1\n\
         2026-11-20 23:41:07 UTC [902] user=jdoe@shop LOG:  statement: COPY customers TO '/tmp/x.csv'\n\
         2026-11-20 23:45:00 UTC [311] user=app@shop LOG:  statement: SELECT 2\n",
    )
    .unwrap();
    for detect in ["postgres", "auto"] {
        let out = Command::new(bin("e2e-agent")).args(["scan", "--detect", detect]).arg(dir.path()).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("db_export_statement") && stdout.contains("COPY customers TO '/tmp/x.csv' in database shop"), "--detect {detect}:\n{stdout}");
    }
    let out = Command::new(bin("e2e-agent")).args(["scan", "--json", "--detect", "postgres"]).arg(&log).output().unwrap();
    let rec: serde_json::Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!((rec["detector"].as_str(), rec["line"].as_u64()), (Some("db_export_statement"), Some(2)));
    assert_eq!(rec["evidence"]["table"], "customers");
    assert_eq!(rec["evidence"]["event_start_ms"], "1795218067000", "event time, not read time");
    assert_eq!(rec["observed_at_ms"], 1_795_218_067_000i64);
    let bad = Command::new(bin("e2e-agent")).args(["scan", "--detect", "postgress"]).arg(&log).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn planted_values_in_names_never_reach_the_collector() {
    let d = Deployment::new(&web_register());
    let _collector = d.start_collector();
    let cfg = d.agent_config("agent", "web-01-agent", &d.ca, "web-01-agent", "beginning");
    let root = d.root();
    let exports = root.join("exports");
    std::fs::create_dir_all(exports.join("pierre.curie@example.fr")).unwrap();
    // `COPY customers TO '/tmp/x.csv' CSV`: no header; the first customer is the first row.
    let row = |i: usize| format!("{i},Client{i},client{i}@example.fr,FR76 3000 6000 0112 3456 7890 189,2019-03-01 10:00:00\n");
    let mut headerless = "1,Jean,jean.dupont@example.fr,FR7630006000011234567890189,2019-03-01 10:00:00\n".to_string();
    (2..=300).for_each(|i| headerless.push_str(&row(i)));
    std::fs::write(exports.join("customers.csv"), &headerless).unwrap();
    // A file and a directory named after people; a header cell that is a value; a `;` export.
    std::fs::write(
        exports.join("marie.curie@example.fr.csv"),
        "id;contact\n".to_string() + &(0..20).map(|i| format!("{i};m{i}@example.fr\n")).collect::<String>(),
    )
    .unwrap();
    std::fs::write(exports.join("pierre.curie@example.fr/list.csv"), "n,mail\n1,p1@example.fr\n").unwrap();
    // JSON keys that are values, and a key with a NUL and an escape in it.
    let nd: String =
        (0..10).map(|i| format!("{{\"ann.keys@example.fr\":{{\"phone\":\"+33 6 12 34 56 {i:02}\"}},\"a\\u0000b\\u001b\":\"k{i}@example.fr\"}}\n")).collect();
    std::fs::write(exports.join("events.ndjson"), nd).unwrap();
    // A table and a column named after a person.
    let crm = rusqlite::Connection::open(root.join("crm.db")).unwrap();
    crm.execute_batch("CREATE TABLE \"vip_zoe.table@example.fr\" (id INTEGER PRIMARY KEY, \"zoe.column@example.fr\" TEXT)").unwrap();
    for i in 0..20 {
        crm.execute("INSERT INTO \"vip_zoe.table@example.fr\" (\"zoe.column@example.fr\") VALUES (?1)", [format!("v{i}@example.fr")]).unwrap();
    }
    drop(crm);
    // An actor that is an e-mail address, on an export endpoint holding another.
    append(
        &root.join("logs/access.log"),
        "10.0.0.9 - bob.actor@example.fr [20/Nov/2026:23:50:00 +0100] \"GET /users/carl.endpoint@example.fr/export.csv HTTP/1.1\" 200 480000 \"-\" \"curl/8\"\n",
    );
    append(&cfg, "detect = [\"access_log\"]\n\n[[scan]]\nlocation = \"exports\"\n\n[[scan]]\nlocation = \"sqlite://crm.db\"\n");
    run_once(&cfg);

    let db = d.db();
    let q = |sql: &str| count(&db, sql);
    assert_eq!(
        q("SELECT COUNT(*) FROM findings WHERE source_kind = 2 AND locator LIKE '%/customers.csv' AND col = 'col3' AND detector = 'email'
           AND json_extract(evidence, '$.records') = '300' AND json_extract(evidence, '$.matched_rows') = '300'"),
        1,
        "a headerless CSV: columns col1…colN, and the first row is data"
    );
    assert_eq!(
        q("SELECT COUNT(*) FROM findings WHERE source_kind = 2 AND col = 'contact' AND json_extract(evidence, '$.matched_rows') = '20'"),
        1,
        "`;` sniffed"
    );
    assert!(q("SELECT COUNT(*) FROM findings WHERE source_kind = 3") >= 1, "the table was classified");
    assert!(q("SELECT COUNT(*) FROM findings WHERE kind = 2 AND detector = 'download_volume'") == 1, "the export was seen");
    assert!(q("SELECT COUNT(*) FROM findings WHERE source_kind = 2 AND locator LIKE '%list.csv'") >= 1, "the file under the named directory was found");
    assert_eq!(
        q(
            "SELECT COUNT(*) FROM findings WHERE instr(locator, char(0)) + instr(coalesce(col, ''), char(0)) + instr(evidence, char(0)) + instr(coalesce(col, ''), char(27)) > 0"
        ),
        0,
        "no control character in what is stored"
    );
    let bytes = d.db_bytes();
    for raw in [
        "jean.dupont@example.fr",
        "FR7630006000011234567890189",
        "marie.curie@example.fr",
        "pierre.curie@example.fr",
        "ann.keys@example.fr",
        "zoe.table@example.fr",
        "zoe.column@example.fr",
        "bob.actor@example.fr",
        "carl.endpoint@example.fr",
        "client7@example.fr",
    ] {
        assert!(!bytes.windows(raw.len()).any(|w| w == raw.as_bytes()), "{raw} reached the collector");
    }
}
