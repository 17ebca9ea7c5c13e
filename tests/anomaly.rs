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
            "SELECT COUNT(*) FROM findings WHERE kind = 2 AND detector = 'db_export_statement' AND json_extract(evidence, '$.actor') = 'jdoe' AND json_extract(evidence, '$.detail') = 'COPY TO file'"
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
        q("SELECT COUNT(*) FROM findings WHERE kind = 2 AND detector = 'personal_data_file' AND json_extract(evidence, '$.detail') = 'new file in tmp dir'"),
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
