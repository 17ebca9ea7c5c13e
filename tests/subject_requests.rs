//! Subject requests end to end (issue #20, part 2): the DPO fingerprints a person's e-mail on
//! the agent's host, finds where it was seen, records its erasure, and the e-mail written again
//! opens a breach — with real processes, a real store and mutual TLS.

use custos_tests::*;
use std::process::Command;
use std::time::Duration;

const EMAIL: &str = "claire.dubois@exemple.fr";

fn run(bin_name: &str, args: &[&str]) -> std::process::Output {
    Command::new(bin(bin_name)).args(args).output().unwrap()
}

fn incidents(data: &str) -> Vec<serde_json::Value> {
    let out = run("e2e-collector", &["incidents", "--json", "--data-dir", data]);
    String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

#[test]
fn an_erased_persons_email_written_again_opens_a_breach() {
    let d = Deployment::new(&web_register());
    let _collector = d.start_collector();
    let cfg = d.agent_config("agent", "web-01-agent", &d.ca, "web-01-agent", "beginning");
    let log = d.root().join("logs/app.log");
    append(&log, &format!("2026-11-20 INFO login user={EMAIL} phone=+33 6 12 34 56 78\n2026-11-20 INFO login user=someone.else@exemple.fr\n"));
    let agent = d.start_agent(&cfg, "agent");
    let data = d.root().join("collector-data");
    let data = data.to_str().unwrap().to_string();
    // On the agent's host: the value goes in on standard input and only its fingerprint out.
    let mut child = Command::new(bin("e2e-agent"))
        .args(["fingerprint", "--detector", "email", "--config", cfg.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), format!("{}\n", EMAIL.to_uppercase()).as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let fp = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(fp.len(), 64, "{fp}");

    // The DPO, and only the DPO, looks the person up.
    d.add_user("claire", "dpo");
    d.add_user("sam", "security");
    let out = run("e2e-collector", &["subject", &fp, "--by", "sam", "--data-dir", &data]);
    assert!(!out.status.success(), "security may not look people up");
    let lookup = || {
        let out = run("e2e-collector", &["subject", &fp, "--json", "--by", "claire", "--data-dir", &data]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        let sightings: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        (sightings.len() >= 2).then_some((text, sightings))
    };
    let (text, sightings) = wait_for(Duration::from_secs(30), lookup).unwrap_or_else(|| panic!("not found; agent log:\n{}", agent.stderr()));
    let detectors: Vec<&str> = sightings.iter().map(|s| s["detector"].as_str().unwrap()).collect();
    assert!(detectors.contains(&"email"), "{sightings:?}");
    assert!(detectors.contains(&"phone"), "the phone on the person's line is theirs too: {sightings:?}");
    assert!(sightings.iter().all(|s| s["locator"].as_str().unwrap().ends_with("logs/app.log") && s["findings"] == 1), "{sightings:?}");
    assert!(!text.contains("someone.else") && !text.contains(EMAIL));

    // The erasure is recorded, audited; the next line with the e-mail is a breach.
    let out = run("e2e-collector", &["subject", &fp, "--erased-at", "now", "--request", "DSR-2026-17", "--by", "claire", "--data-dir", &data]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("request DSR-2026-17"));
    let audit = run("e2e-collector", &["audit", "--data-dir", &data]);
    let audit = String::from_utf8_lossy(&audit.stdout);
    assert!(audit.contains("erasure_recorded") && audit.contains("subject_lookup"), "{audit}");
    assert!(incidents(&data).iter().all(|i| i["rule"] != "erased_subject_seen"), "the old sightings predate the erasure");
    std::thread::sleep(Duration::from_millis(20));
    append(&log, &format!("2026-11-21 INFO restored from backup: user={EMAIL}\n"));
    let breach = wait_for(Duration::from_secs(30), || incidents(&data).into_iter().find(|i| i["rule"] == "erased_subject_seen"));
    let breach = breach.unwrap_or_else(|| panic!("no breach; agent log:\n{}", agent.stderr()));
    assert_eq!(breach["kind"], "breach");
    assert!(breach["deadline"].is_string(), "the Art. 33 clock runs");
    assert!(breach["explanation"].as_str().unwrap().contains("DSR-2026-17"), "{breach}");
    let said = incidents(&data).iter().map(|i| i.to_string()).collect::<String>();
    assert!(!said.contains(EMAIL) && !said.contains("claire.dubois"), "no raw value in the incidents");
}
