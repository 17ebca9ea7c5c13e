//! The console in a real browser: Debian's chromium, headless, driven over WebDriver by
//! chromedriver, against a real collector whose incident was produced by a real agent.
//!
//! `.ci/run` installs `chromium` and `chromium-driver`; without them this test fails (it does
//! not skip), so a green CI means the pages were really exercised.

use custos_tests::*;
use fantoccini::{Client, ClientBuilder, Locator};
use std::time::{Duration, Instant};

const RAW_IBAN: &str = "FR76 3000 6000 0112 3456 7890 189";

/// chromedriver and the browsers it started, killed when the test ends (even by a panic):
/// killing chromedriver alone would leave its chromium processes behind.
struct Driver(Proc, u32);

impl Drop for Driver {
    fn drop(&mut self) {
        // Chromium's helper processes exit with their parent, the browser chromedriver started.
        let _ = std::process::Command::new("pkill").args(["-9", "-P", &self.1.to_string()]).status();
        self.0.kill();
    }
}

/// Debian's chromedriver, if installed (else the test fails under `CI`, skips otherwise).
fn chromedriver_exe() -> Option<&'static str> {
    let exe = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"].into_iter().find(|p| std::path::Path::new(p).exists());
    if exe.is_none() {
        skip_or_fail("chromium and chromedriver", "apt-get install chromium chromium-driver (scripts/test.sh does)");
    }
    exe
}

fn chromedriver(exe: &str) -> (Driver, u16) {
    let port = free_port();
    let log = std::env::temp_dir().join(format!("chromedriver-{port}.log"));
    let err = std::fs::File::create(&log).unwrap();
    let child =
        std::process::Command::new(exe).arg(format!("--port={port}")).stdout(std::process::Stdio::null()).stderr(err).spawn().expect("start chromedriver");
    let pid = child.id();
    let p = Proc::from_child(child, &log);
    assert!(wait_listening(port, Duration::from_secs(20)), "chromedriver did not start: {}", p.stderr());
    (Driver(p, pid), port)
}

async fn browser(driver_port: u16) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({ "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,1000"] }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .expect("connect to chromedriver")
}

/// Polls the text of the first element matching `css` until `want` holds.
async fn wait_text(c: &Client, css: &str, want: impl Fn(&str) -> bool) -> String {
    let end = Instant::now() + Duration::from_secs(20);
    let mut last = String::new();
    while Instant::now() < end {
        if let Ok(e) = c.find(Locator::Css(css)).await
            && let Ok(t) = e.text().await
        {
            if want(&t) {
                return t;
            }
            last = t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("`{css}` never showed the expected text; last: {last:?}\npage:\n{}", c.source().await.unwrap_or_default());
}

async fn login(c: &Client, base: &str, name: &str) {
    c.goto(&format!("{base}/#/incidents")).await.unwrap();
    c.wait().for_element(Locator::Css("#login-name")).await.unwrap();
    wait_text(c, "#login h1", |t| t == "Log in").await;
    for (field, text) in [("#login-name", name), ("#login-password", TEST_PASSWORD)] {
        let input = c.find(Locator::Css(field)).await.unwrap();
        input.clear().await.unwrap();
        input.send_keys(text).await.unwrap();
    }
    c.find(Locator::Css("#login-submit")).await.unwrap().click().await.unwrap();
    wait_text(c, "#whoami", |t| t.starts_with(name)).await;
}

async fn logout(c: &Client) {
    c.find(Locator::Css("#logout")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Css("#login-name")).await.unwrap();
}

/// Shows the Breaches or the Compliance tab of the incidents page.
async fn tab(c: &Client, kind: &str) {
    c.wait().for_element(Locator::Css(&format!("#tab-{kind}"))).await.unwrap();
    c.find(Locator::Css(&format!("#tab-{kind}"))).await.unwrap().click().await.unwrap();
    wait_text(c, &format!("#tab-{kind}"), |_| true).await;
    let want = if kind == "breach" { "Possible personal-data breaches" } else { "Register gaps" };
    wait_text(c, "#kind-help", |t| t.starts_with(want)).await;
}

async fn open_first_incident(c: &Client) -> String {
    c.wait().for_element(Locator::Css("#incident-table tbody tr")).await.unwrap();
    let row = c.find(Locator::Css("#incident-table tbody tr")).await.unwrap();
    let id = row.attr("data-id").await.unwrap().unwrap();
    row.click().await.unwrap();
    wait_text(c, "#view h1", |t| t.starts_with(&format!("Incident #{id}"))).await;
    id
}

#[tokio::test(flavor = "multi_thread")]
async fn dpo_and_security_handle_an_incident_in_the_browser_and_a_viewer_cannot() {
    let Some(exe) = chromedriver_exe() else { return };
    let d = Deployment::new(&web_register());
    let web = d.enable_web();
    d.add_user("dana", "dpo");
    d.add_user("sam", "security");
    d.add_user("vic", "viewer");
    let _procs = tokio::task::block_in_place(|| d.run_until_incident());
    assert!(wait_listening(web, Duration::from_secs(10)));
    let (_driver, driver_port) = chromedriver(exe);
    let c = browser(driver_port).await;
    // `localhost`: browsers keep Secure cookies over plain HTTP only for it.
    let base = format!("http://localhost:{web}");

    // Security logs in: the login form is gone, and the incidents page opens on the possible
    // breaches — none yet: the undeclared IBAN the agent found is a register gap, listed apart.
    login(&c, &base, "sam").await;
    assert!(!c.find(Locator::Css("#login")).await.unwrap().is_displayed().await.unwrap(), "the login form disappears once logged in");
    wait_text(&c, "#no-incidents", |t| t.contains("No incident")).await;
    tab(&c, "compliance").await;
    let id = open_first_incident(&c).await;
    wait_text(&c, "#incident-kind", |t| t.starts_with("Compliance item")).await;
    wait_text(&c, "#incident-status", |t| t == "new").await;
    assert!(c.find(Locator::Css(".cards .countdown")).await.is_err(), "no Art. 33 clock on a register gap");
    assert!(c.find(Locator::Css("#action-assessed")).await.is_err(), "security is not offered the DPO's assessment");
    c.find(Locator::Css("#action-triaged")).await.unwrap().click().await.unwrap();
    wait_text(&c, "#incident-status", |t| t == "triaged").await;
    wait_text(&c, "#timeline li[data-kind=triaged]", |t| t.contains("by sam")).await;
    logout(&c).await;

    // The DPO promotes it to a possible breach (the log goes to a third party): the clock starts.
    login(&c, &base, "dana").await;
    tab(&c, "compliance").await;
    assert_eq!(open_first_incident(&c).await, id);
    c.find(Locator::Css("#action-note")).await.unwrap().send_keys("the refund log is shipped to a third-party support tool").await.unwrap();
    c.find(Locator::Css("#action-promote")).await.unwrap().click().await.unwrap();
    wait_text(&c, "#incident-kind", |t| t.starts_with("Possible personal-data breach")).await;
    // It is now listed with the breaches.
    c.goto(&format!("{base}/#/incidents")).await.unwrap();
    tab(&c, "breach").await;
    assert_eq!(open_first_incident(&c).await, id);
    // The live Art. 33 countdown fits its card, the figures say how they were counted, and
    // the DPO records their own estimate beside them.
    let first = wait_text(&c, ".cards .countdown", |t| t.ends_with("s left") && t.starts_with("71h")).await;
    let fits =
        c.execute("const v = document.querySelector('.cards .countdown').closest('.card'); return v.scrollWidth <= v.clientWidth", vec![]).await.unwrap();
    assert_eq!(fits, serde_json::json!(true), "the countdown fits its card");
    for (field, text) in [("#dpo-subjects", "1"), ("#dpo-records", "1"), ("#dpo-note", "one customer's refund, checked in the ticket")] {
        c.find(Locator::Css(field)).await.unwrap().send_keys(text).await.unwrap();
    }
    c.find(Locator::Css("#action-estimate")).await.unwrap().click().await.unwrap();
    wait_text(&c, "#dpo-estimate", |t| t.starts_with("1 subjects")).await;
    // The timeline is drawn: one mark per event.
    let marks = c.find_all(Locator::Css("#timeline-chart circle.event")).await.unwrap().len();
    assert_eq!(marks, c.find_all(Locator::Css("#timeline li")).await.unwrap().len());
    let wraps = c.execute("const p = document.querySelector('#explanation'); return p.scrollWidth <= p.clientWidth", vec![]).await.unwrap();
    assert_eq!(wraps, serde_json::json!(true), "the explanation wraps");
    // It ticks (within the helper's 20 s patience: a loaded machine may delay the timer).
    wait_text(&c, ".cards .countdown", |t| t.ends_with("s left") && t != first).await;
    c.find(Locator::Css("#show-evidence")).await.unwrap().click().await.unwrap();
    let evidence = wait_text(&c, "#evidence-table", |t| t.contains("iban")).await;
    assert!(!evidence.contains(RAW_IBAN) && evidence.contains('*'), "evidence is masked: {evidence}");
    let timeline_before = c.find_all(Locator::Css("#timeline li")).await.unwrap().len();
    c.find(Locator::Css("#action-note")).await.unwrap().send_keys("IBAN and card of one customer in an internal log").await.unwrap();
    c.find(Locator::Css("#action-assessed")).await.unwrap().click().await.unwrap();
    wait_text(&c, "#incident-status", |t| t == "assessed").await;
    let entry = wait_text(&c, "#timeline li[data-kind=assessed]", |t| t.contains("by dana")).await;
    assert!(entry.contains("IBAN and card of one customer"), "{entry}");
    assert_eq!(c.find_all(Locator::Css("#timeline li")).await.unwrap().len(), timeline_before + 1, "the timeline grew by the assessment");

    // Past its deadline, the incident's countdown turns into an overdue warning in red.
    let db = rusqlite::Connection::open(d.db()).unwrap();
    db.busy_timeout(Duration::from_secs(5)).unwrap();
    db.execute("UPDATE incidents SET deadline = detected_at - 3600000", []).unwrap();
    c.goto(&format!("{base}/#/incidents")).await.unwrap();
    c.refresh().await.unwrap();
    tab(&c, "breach").await;
    wait_text(&c, "#incident-table .countdown", |t| t.starts_with("overdue by")).await;
    let color = c.execute("return getComputedStyle(document.querySelector('#incident-table .countdown.overdue')).color", vec![]).await.unwrap();
    assert_eq!(color, "rgb(179, 38, 30)", "overdue is red");
    // Everything the page loaded came from the collector itself (usable offline).
    let foreign =
        c.execute("return performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith(location.origin))", vec![]).await.unwrap();
    assert_eq!(foreign, serde_json::json!([]));
    logout(&c).await;

    // A viewer sees the incident but no action, and the server refuses one forced through.
    login(&c, &base, "vic").await;
    tab(&c, "breach").await;
    assert_eq!(open_first_incident(&c).await, id);
    wait_text(&c, "#no-actions", |t| t.contains("viewer")).await;
    assert!(c.find_all(Locator::Css("button[id^=action-]")).await.unwrap().is_empty(), "no action buttons for a viewer");
    assert!(c.find(Locator::Css("#nav-audit")).await.unwrap().attr("hidden").await.unwrap().is_some(), "no audit page for a viewer");
    let forced = c
        .execute_async(
            &format!(
                "const done = arguments[arguments.length - 1];
                 fetch('/api/v1/session').then(r => r.json()).then(s => fetch('/api/v1/incidents/{id}/status', {{
                     method: 'POST', headers: {{ 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf }},
                     body: JSON.stringify({{ status: 'notified', note: '' }}) }})).then(r => done(r.status));"
            ),
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(forced, 403);
    // Any user changes their own password on the Password page, and logs in again with it.
    c.find(Locator::Css("#nav-password")).await.unwrap().click().await.unwrap();
    wait_text(&c, "#view h1", |t| t == "Change your password").await;
    for (field, text) in [("#password-current", TEST_PASSWORD), ("#password-new", "a new long passphrase"), ("#password-again", "a new long passphrase")] {
        c.find(Locator::Css(field)).await.unwrap().send_keys(text).await.unwrap();
    }
    c.find(Locator::Css("#password-submit")).await.unwrap().click().await.unwrap();
    wait_text(&c, "#login-error", |t| t.contains("Password changed")).await;
    c.close().await.unwrap();

    // The DPO's audit trail recorded the logins, the evidence view and both decisions.
    let mut audit = String::new();
    std::io::Read::read_to_string(
        &mut std::process::Command::new(bin("e2e-collector"))
            .args(["audit", "--data-dir"])
            .arg(d.root().join("collector-data"))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
            .stdout
            .take()
            .unwrap(),
        &mut audit,
    )
    .unwrap();
    for what in ["view_evidence", "incident_status", "login", "user_password", "incident_promoted", "incident_estimate"] {
        assert!(audit.contains(what), "audit lacks {what}:\n{audit}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_data_map_page_draws_systems_by_categories_and_filters_them() {
    let Some(exe) = chromedriver_exe() else { return };
    let d = Deployment::new(&web_register());
    let web = d.enable_web();
    d.add_user("vic", "viewer");
    append(&d.root().join("logs/signup.log"), "2026-11-20 INFO signup email=jeanne.martin@exemple.fr\n");
    let _procs = tokio::task::block_in_place(|| d.run_until_incident());
    assert!(wait_listening(web, Duration::from_secs(10)));
    let (_driver, driver_port) = chromedriver(exe);
    let c = browser(driver_port).await;
    let base = format!("http://localhost:{web}");
    login(&c, &base, "vic").await;
    // Both logs are stored (the incident came from app.log; signup.log may follow).
    let console = tokio::task::block_in_place(|| Console::login(web, "vic"));
    let both = tokio::task::block_in_place(|| {
        wait_for(Duration::from_secs(20), || (console.get("/api/v1/datamap").json()["items"].as_array()?.len() == 2).then_some(()))
    });
    assert!(both.is_some(), "{}", tokio::task::block_in_place(|| console.get("/api/v1/datamap").body));
    c.goto(&format!("{base}/#/datamap")).await.unwrap();
    wait_text(&c, "#view h1", |t| t == "Data map").await;
    // The matrix: one coloured cell per (system, category) seen, each saying its people.
    c.wait().for_element(Locator::Css("#heatmap rect.cell.on")).await.unwrap();
    let cells = c.find_all(Locator::Css("#heatmap rect.cell.on")).await.unwrap();
    let mut seen = Vec::new();
    for cell in &cells {
        let system = cell.attr("data-system").await.unwrap().unwrap();
        seen.push((system.rsplit('/').next().unwrap().to_string(), cell.attr("data-category").await.unwrap().unwrap()));
    }
    assert!(seen.contains(&("app.log".into(), "financial".into())) && seen.contains(&("signup.log".into(), "contact".into())), "{seen:?}");
    wait_text(&c, "#datamap-table tbody", |t| t.contains("logs/app.log") && t.contains("Customer accounts")).await;
    wait_text(&c, "#flows-none", |t| t.contains("egress")).await; // no egress log watched: no flow
    let href = c.find(Locator::Css("#heatmap-svg")).await.unwrap().attr("href").await.unwrap().unwrap();
    assert!(href.starts_with("blob:"), "the picture can be saved as SVG: {href}");
    // Filtered by category, the map keeps the systems holding it.
    let select = c.find(Locator::Css("#map-country")).await.unwrap();
    assert_eq!(select.find_all(Locator::Css("option")).await.unwrap().len(), 2, "all, and the unknown country");
    c.execute("const s = document.querySelector('#map-category'); s.value = 'contact'; s.dispatchEvent(new Event('change'));", vec![]).await.unwrap();
    wait_text(&c, "#datamap-table tbody", |t| t.contains("signup.log") && !t.contains("app.log")).await;
    assert_eq!(c.find_all(Locator::Css("#heatmap rect.cell.on")).await.unwrap().len(), 1);
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_subject_request_page_finds_a_person_and_records_their_erasure_for_the_dpo_only() {
    let Some(exe) = chromedriver_exe() else { return };
    let d = Deployment::new(&web_register());
    let web = d.enable_web();
    d.add_user("dana", "dpo");
    d.add_user("vic", "viewer");
    let _procs = tokio::task::block_in_place(|| d.run_until_incident());
    assert!(wait_listening(web, Duration::from_secs(10)));
    // On the agent's host: the fingerprint of the IBAN the agent saw in logs/app.log.
    let out = std::process::Command::new(bin("e2e-agent"))
        .args(["fingerprint", "--detector", "iban", "--key-file"])
        .arg(d.root().join("fingerprint.key"))
        .arg(RAW_IBAN)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let fp = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let (_driver, driver_port) = chromedriver(exe);
    let c = browser(driver_port).await;
    let base = format!("http://localhost:{web}");

    // The DPO pastes the fingerprint and sees where the person was seen.
    login(&c, &base, "dana").await;
    assert!(c.find(Locator::Css("#nav-subjects")).await.unwrap().attr("hidden").await.unwrap().is_none(), "the DPO has the page");
    c.find(Locator::Css("#nav-subjects")).await.unwrap().click().await.unwrap();
    wait_text(&c, "#view h1", |t| t == "Subject request").await;
    c.find(Locator::Css("#subject-fingerprints")).await.unwrap().send_keys(&format!("{fp}\n")).await.unwrap();
    c.find(Locator::Css("#subject-lookup")).await.unwrap().click().await.unwrap();
    let seen = wait_text(&c, "#subject-results table.sightings tbody", |t| t.contains("logs/app.log") && t.contains("iban")).await;
    assert!(!seen.contains(RAW_IBAN), "{seen}");
    // …and records the erasure of their data, audited.
    c.find(Locator::Css(".erase-request")).await.unwrap().send_keys("DSR-2026-17").await.unwrap();
    c.find(Locator::Css("button.erase")).await.unwrap().click().await.unwrap();
    wait_text(&c, "#subject-results .erasure", |t| t.contains("DSR-2026-17") && t.contains("recorded by dana")).await;
    wait_text(&c, "#subject-message", |t| t.contains("Erasure recorded")).await;
    let audit = tokio::task::block_in_place(|| Console::login(web, "dana").get("/api/v1/audit?limit=500").body);
    assert!(audit.contains("erasure_recorded") && audit.contains("subject_lookup"), "{audit}");
    logout(&c).await;

    // A viewer has no such page, and forcing it gets a refusal, not an answer.
    login(&c, &base, "vic").await;
    assert!(c.find(Locator::Css("#nav-subjects")).await.unwrap().attr("hidden").await.unwrap().is_some(), "no subject requests for a viewer");
    c.goto(&format!("{base}/#/subjects")).await.unwrap();
    wait_text(&c, "#view h1", |t| t == "Subject request").await;
    c.find(Locator::Css("#subject-fingerprints")).await.unwrap().send_keys(&fp).await.unwrap();
    c.find(Locator::Css("#subject-lookup")).await.unwrap().click().await.unwrap();
    wait_text(&c, "#subject-message", |t| t.contains("may not")).await;
    assert!(c.find_all(Locator::Css("#subject-results table")).await.unwrap().is_empty());
    c.close().await.unwrap();
}
