//! The console's JSON API over real HTTP against a real collector process, with an incident
//! produced by a real agent: authentication, roles on every action, CSRF, the audit trail,
//! and no raw personal value in any answer.

use custos_tests::*;
use serde_json::{Value, json};
use std::process::Command;

const IBAN: &str = "FR76 3000 6000 0112 3456 7890 189";
const IBAN_COMPACT: &str = "FR7630006000011234567890189";
const CARD: &str = "4111 1111 1111 1111";

struct Fixture {
    d: Deployment,
    web: u16,
    _procs: (Proc, Proc),
    /// Keeps the PostgreSQL schema of the run alive (dropped with the fixture).
    _store: Option<TestStore>,
}

/// A collector with its console on `engine`, three users and an incident made by an agent;
/// `None` on PostgreSQL when `CUSTOS_TEST_POSTGRES` is not set.
fn fixture(engine: Engine) -> Option<Fixture> {
    let d = Deployment::new(&web_register());
    let data_dir = d.root().join("collector-data");
    std::fs::create_dir_all(&data_dir).unwrap();
    let store = match engine {
        Engine::Sqlite => None,
        Engine::Postgres => {
            let (store, _) = TestStore::new(engine, &data_dir)?;
            d.use_store(store.url().unwrap());
            Some(store)
        }
    };
    let web = d.enable_web();
    d.add_user("dana", "dpo");
    d.add_user("sam", "security");
    d.add_user("vic", "viewer");
    let procs = d.run_until_incident();
    assert!(wait_listening(web, std::time::Duration::from_secs(10)), "console not listening");
    Some(Fixture { d, web, _procs: procs, _store: store })
}

fn first_incident(c: &Console) -> i64 {
    let list = c.get("/api/v1/incidents").json();
    list["items"][0]["id"].as_i64().expect("an incident")
}

// The same specifications on both store engines: `sqlite::…` always, `postgres::…` when
// CUSTOS_TEST_POSTGRES names a database (scripts/test.sh sets it).
mod sqlite {
    use super::*;
    fn engine() -> Engine {
        Engine::Sqlite
    }
    include!("specs/web_api.rs");
}

mod postgres {
    use super::*;
    fn engine() -> Engine {
        Engine::Postgres
    }
    include!("specs/web_api.rs");
}

#[test]
fn off_loopback_the_console_speaks_https_with_the_collectors_certificate() {
    let d = Deployment::new(&web_register());
    let port = free_port();
    append(&d.root().join("collector.toml"), &format!("\n[web]\nlisten = \"0.0.0.0:{port}\"\n"));
    let _collector = d.start_collector();
    assert!(wait_listening(port, std::time::Duration::from_secs(10)));
    let ca = ureq::tls::Certificate::from_pem(d.ca.pem.as_bytes()).unwrap().to_owned();
    let tls = ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(vec![ca]))).build();
    let https = ureq::Agent::config_builder().tls_config(tls).http_status_as_error(false).build().new_agent();
    let mut r = https.get(&format!("https://localhost:{port}/api/v1/openapi.json")).call().expect("HTTPS with the test CA");
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.body_mut().read_to_string().unwrap().contains("\"openapi\""));
    assert_eq!(https.get(&format!("https://localhost:{port}/api/v1/incidents")).call().unwrap().status().as_u16(), 401);
    // Plain HTTP gets no answer from a TLS listener.
    assert!(Console::new(port).agent_get_plain(&format!("http://127.0.0.1:{port}/api/v1/openapi.json")).is_err());
}
