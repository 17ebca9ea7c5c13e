//! Two collectors on one PostgreSQL store, agents streaming to the first, and the first killed
//! with SIGKILL in the middle of the stream: the agents move to the second collector and every
//! finding is stored exactly once. Needs `CUSTOS_TEST_POSTGRES` (scripts/test.sh sets it);
//! without it the test returns at once.

use custos_tests::*;
use std::time::Duration;

const AGENTS: [&str; 3] = ["web-01-agent", "web-02-agent", "web-03-agent"];
const LINES: usize = 3000;

fn line(i: usize) -> String {
    format!("2026-11-25T10:00:00Z INFO request {i} from subject{i}@example.com ok\n")
}

#[test]
fn killing_one_of_two_collectors_sharing_postgresql_under_load_loses_and_duplicates_nothing() {
    let d = Deployment::new(&logs_register());
    let data_dir = d.root().join("collector-data");
    std::fs::create_dir_all(&data_dir).unwrap();
    let Some((store, _)) = TestStore::new(Engine::Postgres, &data_dir) else { return };
    d.use_store(store.url().unwrap());
    // The second collector: the same configuration and store, its own port and data directory.
    let port2 = free_port();
    let cfg1 = std::fs::read_to_string(d.root().join("collector.toml")).unwrap();
    std::fs::write(
        d.root().join("collector2.toml"),
        cfg1.replace(&format!("127.0.0.1:{}", d.port), &format!("127.0.0.1:{port2}")).replace("collector-data", "collector2-data"),
    )
    .unwrap();
    let mut first = d.start_collector();
    let second = Proc::start("e2e-collector", &["run", "--config", d.root().join("collector2.toml").to_str().unwrap()], &d.root().join("collector2.stderr"));
    assert!(wait_listening(port2, Duration::from_secs(20)), "second collector: {}", second.stderr());

    // Three agents (each reads the shared log, so each line is one finding per agent), all
    // connected to the first collector, with the second as their failover.
    let agents: Vec<Proc> = AGENTS
        .iter()
        .map(|id| {
            let cfg = d.agent_config(id, id, &d.ca, id, "beginning");
            let text = std::fs::read_to_string(&cfg).unwrap().replace("server_name =", &format!("failover = [\"https://127.0.0.1:{port2}\"]\nserver_name ="));
            std::fs::write(&cfg, text).unwrap();
            d.start_agent(&cfg, id)
        })
        .collect();
    let log = d.root().join("logs/app.log");
    let writer = std::thread::spawn(move || {
        for start in (0..LINES).step_by(50) {
            append(&log, &(start..(start + 50).min(LINES)).map(line).collect::<String>());
            std::thread::sleep(Duration::from_millis(25));
        }
    });
    let total = (AGENTS.len() * LINES) as i64;
    // Under load: kill the first collector once about a fifth of the stream is stored.
    let started = wait_for(Duration::from_secs(60), || (store.count("SELECT COUNT(*) FROM findings") >= total / 5).then_some(()));
    assert!(started.is_some(), "the first collector stores nothing: {}", first.stderr());
    first.kill();
    let before_kill = store.count("SELECT COUNT(*) FROM findings");
    writer.join().unwrap();

    let all = wait_for(Duration::from_secs(120), || (store.count("SELECT COUNT(DISTINCT id) FROM findings") >= total).then_some(()));
    let stored = store.count("SELECT COUNT(*) FROM findings");
    let distinct = store.count("SELECT COUNT(DISTINCT id) FROM findings");
    let logs: String = agents.iter().map(|a| a.stderr()).collect();
    assert!(all.is_some(), "only {distinct} of {total} findings stored; agent logs:\n{logs}");
    assert_eq!((stored, distinct), (total, total), "each finding stored exactly once");
    assert!(before_kill < total, "the kill happened under load ({before_kill} of {total} stored before it)");
    // One finding per (agent, line): every subject of every agent is there.
    for id in AGENTS {
        assert_eq!(store.count(&format!("SELECT COUNT(DISTINCT fingerprint) FROM findings WHERE agent_id = '{id}'")), LINES as i64, "{id}");
    }
    // Every agent reached the second collector.
    let moved = agents.iter().filter(|a| a.stderr().contains(&format!("127.0.0.1:{port2}"))).count();
    assert_eq!(moved, AGENTS.len(), "agents that moved to the second collector; logs:\n{logs}");
    // Nothing on the second collector's side went wrong either.
    assert!(!second.stderr().contains("ERROR"), "{}", second.stderr());
}
