//! Flows to recipients end to end (issue #20, part 3): an agent watching egress logs (squid,
//! envoy, an application's HTTP client) reports the e-mail addresses sent in query strings with
//! their destination host; the collector checks each host against the register's recipients —
//! an undeclared vendor is an `undeclared_recipient` item, a declared recipient outside the
//! EU/EEA without a safeguard a `transfer_without_safeguard` item, a declared EEA recipient
//! nothing — and the data map lists the flows. Real processes, a real store, mutual TLS.

use custos_tests::*;
use std::process::Command;
use std::time::Duration;

const SENT: [&str; 3] = ["jane.roe@example.org", "john.poe@example.net", "ada.moe@example.com"];

fn run(bin_name: &str, args: &[&str]) -> std::process::Output {
    Command::new(bin(bin_name)).args(args).output().unwrap()
}

fn incidents(data: &str) -> Vec<serde_json::Value> {
    let out = run("e2e-collector", &["incidents", "--json", "--data-dir", data]);
    String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

/// The register: marketing sends its data to an EU mailer (declared, France) and to a US
/// analytics firm (declared without a safeguard); its systems are the egress logs.
fn register() -> String {
    RegisterFixture::new("Test SAS")
        .dpo("DPO", "dpo@test.example")
        .activity("marketing", "Marketing", &["contact"])
        .field(
            "recipients",
            r#"["customer support", { name = "EU Mailer", role = "processor", hosts = ["mailer.eu.example"], country = "FR" }, { name = "US Analytics", hosts = ["analytics.us.example"], country = "US" }]"#,
        )
        .system(r#"paths = ["**/egress/*.log"]"#)
        .toml()
}

#[test]
fn personal_data_sent_to_an_undeclared_vendor_is_an_undeclared_recipient_and_a_flow_of_the_map() {
    let d = Deployment::new(&register());
    let _collector = d.start_collector();
    let cfg = d.agent_config("agent", "proxy-agent", &d.ca, "proxy-agent", "beginning");
    append(&cfg, "\n[[log]]\npaths = [\"egress/*.log\"]\nread_from = \"beginning\"\ndetect = [\"egress\"]\n");
    let squid = d.root().join("egress/squid.log");
    let mut lines = String::new();
    for (i, email) in SENT.iter().enumerate() {
        // A tracking pixel: the vendor is in no recipient of the register. The proxy user
        // (an e-mail too) was not sent anywhere.
        lines += &format!(
            "1795168801.{i:03}     45 10.0.0.5 TCP_MISS/200 43 GET http://pixel.tracker.example/collect?email={email}&v=1 ops@test.example HIER_DIRECT/203.0.113.5 image/gif\n"
        );
    }
    std::fs::create_dir_all(squid.parent().unwrap()).unwrap();
    append(&squid, &lines);
    // Envoy as egress gateway: a declared recipient in the US, no safeguard.
    append(
        &d.root().join("egress/envoy.log"),
        &format!(
            "[2026-11-20T10:00:00.000Z] \"GET /v1/track?email={} HTTP/1.1\" 200 - 0 12 30 29 \"-\" \"sdk/2.1\" \"5c3e-a1\" \"analytics.us.example\" \"203.0.113.7:443\"\n",
            SENT[0]
        ),
    );
    // The application's HTTP client: a declared processor in France, on a subdomain.
    append(
        &d.root().join("egress/app-client.log"),
        &format!("2026-11-20T10:00:01Z INFO http-client: POST https://api.mailer.eu.example/v3/send?to={} -> 202\n", SENT[1]),
    );
    let agent = d.start_agent(&cfg, "agent");
    let data = d.root().join("collector-data");
    let data = data.to_str().unwrap().to_string();

    let found = wait_for(Duration::from_secs(30), || {
        let all = incidents(&data);
        let has = |rule: &str| all.iter().any(|i| i["rule"] == rule);
        (has("undeclared_recipient") && has("transfer_without_safeguard")).then_some(all)
    });
    let all = found.unwrap_or_else(|| panic!("no flow items; incidents: {:#?}\nagent log:\n{}", incidents(&data), agent.stderr()));
    let undeclared: Vec<&serde_json::Value> = all.iter().filter(|i| i["rule"] == "undeclared_recipient").collect();
    assert_eq!(undeclared.len(), 1, "one item per system and host, not one per finding: {undeclared:#?}");
    let item = undeclared[0];
    assert_eq!(item["kind"], "compliance");
    let explanation = item["explanation"].as_str().unwrap();
    assert!(explanation.contains("pixel.tracker.example") && explanation.contains("squid.log"), "{explanation}");
    assert!(item["categories"].to_string().contains("contact"), "{item}");
    let transfer: Vec<&serde_json::Value> = all.iter().filter(|i| i["rule"] == "transfer_without_safeguard").collect();
    assert_eq!(transfer.len(), 1, "{transfer:#?}");
    let why = transfer[0]["explanation"].as_str().unwrap();
    assert!(why.contains("analytics.us.example") && why.contains("US Analytics") && why.contains("country US"), "{why}");
    assert!(
        all.iter().all(|i| !i["explanation"].as_str().unwrap_or_default().contains("`api.mailer.eu.example`")),
        "a declared recipient in the EEA is no item: {all:#?}"
    );

    // The map lists the three flows with their status and volume.
    let flows = wait_for(Duration::from_secs(20), || {
        let out = run("e2e-collector", &["datamap", "--format", "json", "--data-dir", &data]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let flows: Vec<serde_json::Value> = rows.into_iter().filter(|r| r["kind"] == "flow").collect();
        let pixel = flows.iter().find(|f| f["destination"] == "pixel.tracker.example")?;
        (pixel["findings"] == 3 && flows.len() == 3).then_some(flows)
    });
    let flows = flows.unwrap_or_else(|| panic!("flows missing; agent log:\n{}", agent.stderr()));
    let flow = |host: &str| flows.iter().find(|f| f["destination"] == host).unwrap_or_else(|| panic!("{host}: {flows:#?}"));
    let pixel = flow("pixel.tracker.example");
    assert_eq!((pixel["status"].as_str(), pixel["recipient"].as_str(), pixel["subjects"].as_u64()), (Some("undeclared"), Some("undeclared"), Some(3)));
    assert!(pixel["system"].as_str().unwrap().ends_with("egress/squid.log"), "{pixel}");
    assert_eq!(pixel["fides_categories"], serde_json::json!(["user.contact.email"]));
    let us = flow("analytics.us.example");
    assert_eq!((us["status"].as_str(), us["country"].as_str()), (Some("transfer without safeguard"), Some("US")));
    let eu = flow("api.mailer.eu.example");
    assert_eq!((eu["status"].as_str(), eu["recipient"].as_str(), eu["role"].as_str()), (Some("declared"), Some("EU Mailer (marketing)"), Some("processor")));
    let md = run("e2e-collector", &["datamap", "--data-dir", &data]);
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(md.contains("## Flows to recipients") && md.contains("pixel.tracker.example"), "{md}");
    let csv = run("e2e-collector", &["datamap", "--format", "csv", "--flows", "--data-dir", &data]);
    let csv = String::from_utf8_lossy(&csv.stdout);
    assert!(csv.starts_with("system,destination,recipient") && csv.lines().count() == 4, "{csv}");
    let fides = run("e2e-collector", &["datamap", "--format", "fideslang", "--data-dir", &data]);
    let fides: serde_json::Value = serde_json::from_slice(&fides.stdout).unwrap();
    assert!(fides.to_string().contains("\"egress\""), "{fides}");

    let suggest = run("e2e-collector", &["register", "suggest", "--data-dir", &data]);
    let suggest = String::from_utf8_lossy(&suggest.stdout);
    assert!(suggest.contains("sent to pixel.tracker.example") && suggest.contains(r#"hosts = ["pixel.tracker.example"]"#), "{suggest}");
    assert!(!suggest.contains("sent to api.mailer.eu.example"), "{suggest}");

    // The proxy user's e-mail was not sent: it carries no destination. No value anywhere.
    let ops = count(&d.db(), "SELECT COUNT(*) FROM findings WHERE detector = 'email' AND destination IS NULL AND locator LIKE '%squid.log'");
    assert_eq!(ops, 3, "the proxy user of each line is no flow");
    let stored = d.db_bytes();
    let said = format!("{all:?}{flows:?}{md}{csv}{fides}");
    for email in SENT {
        assert!(!said.contains(email), "{email} in what the collector says");
        assert!(!stored.windows(email.len()).any(|w| w == email.as_bytes()), "{email} in the store");
    }
}
