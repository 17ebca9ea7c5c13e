// Console API specifications of tests/web_api.rs, included once per store engine.

#[test]
fn every_route_refuses_a_caller_without_a_session_or_with_a_forged_one() {
    let Some(f) = fixture(engine()) else { return };
    let anonymous = Console::new(f.web);
    let mut forged = Console::new(f.web);
    forged.cookie = Some("custos_session=0000000000000000000000000000000000000000000000000000000000000000".into());
    forged.csrf = Some("x".into());
    let mut bad_token = Console::new(f.web);
    bad_token.bearer = Some("custos_not_a_token".into());
    for (method, path) in custos_collector::web::api::ROUTES {
        let path = format!("/api/v1{}", path.replace("{id}", "1"));
        let body = (*method != "GET").then(|| json!({}));
        if path.ends_with("/openapi.json") || (*method == "POST" && path.ends_with("/session")) {
            // Public: the document, and the login itself.
            assert_ne!(anonymous.call(method, &path, body).status, 404, "{method} {path} is served");
            continue;
        }
        for (who, client) in [("anonymous", &anonymous), ("forged session", &forged), ("unknown API token", &bad_token)] {
            let r = client.call(method, &path, body.clone());
            assert_eq!(r.status, 401, "{who} {method} {path}: {}", r.body);
        }
    }
    let doc = anonymous.get("/api/v1/openapi.json").json();
    assert_eq!(doc["openapi"], "3.1.0");
}

#[test]
fn each_role_may_do_exactly_its_part_of_the_workflow() {
    let Some(f) = fixture(engine()) else { return };
    let (dpo, sec, viewer) = (Console::login(f.web, "dana"), Console::login(f.web, "sam"), Console::login(f.web, "vic"));
    let id = first_incident(&dpo);
    let status = |c: &Console, to: &str, note: &str| c.post(&format!("/api/v1/incidents/{id}/status"), json!({ "status": to, "note": note })).status;

    // Everyone reads.
    for c in [&dpo, &sec, &viewer] {
        for path in ["/api/v1/incidents", &format!("/api/v1/incidents/{id}"), &format!("/api/v1/incidents/{id}/timeline"), &format!("/api/v1/incidents/{id}/evidence"),
            "/api/v1/findings", "/api/v1/findings/counts", "/api/v1/findings/facets", "/api/v1/coverage", "/api/v1/agents", "/api/v1/mutes", "/api/v1/kpis",
            &format!("/api/v1/incidents/{id}/report?format=json")]
        {
            let r = c.get(path);
            assert_eq!(r.status, 200, "{path}: {}", r.body);
        }
    }
    // The incident is a register gap (undeclared financial data): a compliance item, no clock.
    let v = dpo.get(&format!("/api/v1/incidents/{id}")).json();
    assert_eq!((v["kind"].as_str(), v["deadline"].as_str()), (Some("compliance"), None));
    assert_eq!(v["actions"], json!(["resolved"]));
    assert_eq!(v["decisions"], json!(["promote", "estimate", "note"]));
    assert_eq!(sec.get(&format!("/api/v1/incidents/{id}")).json()["actions"], json!(["triaged"]));
    // Only the DPO promotes it to a possible breach, and the clock starts then.
    let promote = json!({ "kind": "breach", "note": "the log is shipped to a third-party support tool" });
    assert_eq!(sec.post(&format!("/api/v1/incidents/{id}/kind"), promote.clone()).status, 403);
    assert_eq!(viewer.post(&format!("/api/v1/incidents/{id}/kind"), promote.clone()).status, 403);
    let r = dpo.post(&format!("/api/v1/incidents/{id}/kind"), promote);
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["kind"], "breach");
    assert_eq!(v["deadline_ms"].as_i64().unwrap() - v["awareness_at_ms"].as_i64().unwrap(), 72 * 3_600_000);
    // The DPO's own estimate, beside Custos' figures; notes by security or the DPO.
    let estimate = json!({ "subjects": 3, "records": 5, "note": "support tickets of the week" });
    assert_eq!(sec.post(&format!("/api/v1/incidents/{id}/estimate"), estimate.clone()).status, 403);
    let r = dpo.post(&format!("/api/v1/incidents/{id}/estimate"), estimate);
    assert_eq!((r.status, r.json()["dpo_estimate"]["subjects"].as_i64()), (200, Some(3)), "{}", r.body);
    assert_eq!(dpo.post(&format!("/api/v1/incidents/{id}/estimate"), json!({ "subjects": 3, "note": "" })).status, 422, "how it was counted");
    assert_eq!(sec.post(&format!("/api/v1/incidents/{id}/notes"), json!({ "kind": "facts", "text": "refund job logs the IBAN on failure" })).status, 200);
    assert_eq!(viewer.post(&format!("/api/v1/incidents/{id}/notes"), json!({ "kind": "facts", "text": "x" })).status, 403);
    assert_eq!(sec.post(&format!("/api/v1/incidents/{id}/notes"), json!({ "kind": "gossip", "text": "x" })).status, 422);
    assert_eq!(dpo.get(&format!("/api/v1/incidents/{id}/notes")).json()["items"][0]["kind"], "facts");
    // The actions each role is offered on the page match what the server allows.
    assert_eq!(sec.get(&format!("/api/v1/incidents/{id}")).json()["actions"], json!(["triaged"]));
    assert_eq!(dpo.get(&format!("/api/v1/incidents/{id}")).json()["actions"], json!([]));
    assert_eq!(viewer.get(&format!("/api/v1/incidents/{id}")).json()["actions"], json!([]));

    // Triage: security only.
    assert_eq!(status(&viewer, "triaged", ""), 403);
    assert_eq!(status(&dpo, "triaged", ""), 403);
    assert_eq!(status(&sec, "triaged", "confirmed: payment service logs IBANs"), 200);
    // Assessment: the DPO only.
    assert_eq!(status(&viewer, "assessed", ""), 403);
    assert_eq!(status(&sec, "assessed", ""), 403);
    assert_eq!(status(&dpo, "notified", ""), 409, "the workflow still wants an assessment first");
    assert_eq!(status(&dpo, "assessed", "IBANs of 1 customer in an internal log"), 200);
    // The decision: the DPO only; not notifiable needs a justification.
    assert_eq!(status(&sec, "not_notifiable", "log readable by two admins only"), 403);
    assert_eq!(status(&viewer, "notified", ""), 403);
    assert_eq!(status(&dpo, "not_notifiable", "short"), 409);
    assert_eq!(status(&dpo, "not_notifiable", "log readable by two admins only, purged"), 200);
    let v = viewer.get(&format!("/api/v1/incidents/{id}")).json();
    assert_eq!(v["status"], "not_notifiable");
    assert_eq!(v["open"], false);
    let kinds: Vec<String> = viewer.get(&format!("/api/v1/incidents/{id}/timeline")).json()["items"].as_array().unwrap().iter().map(|t| format!("{}:{}", t["kind"].as_str().unwrap(), t["actor"].as_str().unwrap())).collect();
    assert!(kinds.ends_with(&["triaged:sam".to_string(), "assessed:dana".into(), "not_notifiable:dana".into()]), "{kinds:?}");

    // Mutes: the DPO only.
    let m = json!({ "rule": "undeclared_category", "system": "web-01:/x.log", "reason": "test fixture" });
    assert_eq!(sec.post("/api/v1/mutes", m.clone()).status, 403);
    assert_eq!(viewer.post("/api/v1/mutes", m.clone()).status, 403);
    assert_eq!(dpo.post("/api/v1/mutes", m.clone()).status, 200);
    assert_eq!(sec.call("DELETE", "/api/v1/mutes", Some(m.clone())).status, 403);
    assert_eq!(dpo.call("DELETE", "/api/v1/mutes", Some(m.clone())).status, 200);
    assert_eq!(dpo.post("/api/v1/mutes", json!({ "rule": "no_such_rule", "system": "a:b", "reason": "x" })).status, 422);

    // Agents: security only.
    let enrol = json!({ "agent_id": "db-07", "ttl_seconds": 600 });
    assert_eq!(dpo.post("/api/v1/enrollments", enrol.clone()).status, 403);
    assert_eq!(viewer.post("/api/v1/enrollments", enrol.clone()).status, 403);
    let token = sec.post("/api/v1/enrollments", enrol);
    assert_eq!(token.status, 200, "{}", token.body);
    assert_eq!(token.json()["token"].as_str().unwrap().len(), 64);
    let revoke = json!({ "reason": "host decommissioned" });
    assert_eq!(dpo.post("/api/v1/agents/web-01-agent/revoke", revoke.clone()).status, 403);
    assert_eq!(viewer.post("/api/v1/agents/web-01-agent/revoke", revoke.clone()).status, 403);
    assert_eq!(sec.post("/api/v1/agents/web-01-agent/revoke", revoke).status, 200);
    let agents = viewer.get("/api/v1/agents").json();
    assert_eq!(agents["items"][0]["agent_id"], "web-01-agent");
    assert_eq!(agents["items"][0]["revoked"], true);
    assert_eq!(agents["can_manage"], false);

    // The audit trail: the DPO only, and it holds every login, evidence view and change.
    assert_eq!(sec.get("/api/v1/audit").status, 403);
    assert_eq!(viewer.get("/api/v1/audit.csv").status, 403);
    let audit = dpo.get("/api/v1/audit?limit=500").json();
    let entries: Vec<String> = audit["items"].as_array().unwrap().iter().map(|e| format!("{} {}", e["actor"].as_str().unwrap(), e["action"].as_str().unwrap())).collect();
    for expected in ["dana login", "sam login", "vic login", "vic view_evidence", "sam incident_status", "dana incident_status", "dana mute", "dana unmute", "sam enroll_agent", "sam revoke_agent", "vic download_report"] {
        assert!(entries.iter().any(|e| e == expected), "audit lacks `{expected}`: {entries:?}");
    }
    let csv = dpo.get("/api/v1/audit.csv");
    assert_eq!(csv.status, 200);
    assert!(csv.body.starts_with("at,actor,action,subject,detail\n") && csv.body.contains("view_evidence"), "{}", csv.body);
}

#[test]
fn state_changes_need_the_session_csrf_token_and_the_console_origin() {
    let Some(f) = fixture(engine()) else { return };
    let mut sec = Console::login(f.web, "sam");
    let id = first_incident(&sec);
    let triage = json!({ "status": "triaged", "note": "" });
    let csrf = sec.csrf.take();
    assert_eq!(sec.post(&format!("/api/v1/incidents/{id}/status"), triage.clone()).status, 403, "no CSRF token");
    sec.csrf = Some("0".repeat(64));
    let r = sec.post(&format!("/api/v1/incidents/{id}/status"), triage.clone());
    assert_eq!(r.status, 403, "wrong CSRF token");
    assert!(r.json()["error"].as_str().unwrap().contains("CSRF"));
    sec.csrf = csrf;
    let url = format!("{}/api/v1/incidents/{id}/status", sec.base);
    let cross = ureq::http::Request::post(&url)
        .header("Cookie", sec.cookie.clone().unwrap())
        .header("X-CSRF-Token", sec.csrf.clone().unwrap())
        .header("Origin", "https://evil.example")
        .header("Content-Type", "application/json")
        .body(triage.to_string())
        .unwrap();
    let agent = ureq::Agent::config_builder().http_status_as_error(false).build().new_agent();
    assert_eq!(agent.run(cross).unwrap().status().as_u16(), 403, "cross-origin");
    // Nothing changed so far; with the token it works.
    assert_eq!(sec.get(&format!("/api/v1/incidents/{id}")).json()["status"], "new");
    assert_eq!(sec.post(&format!("/api/v1/incidents/{id}/status"), triage).status, 200);
    // Logging out ends the session server-side: the old cookie no longer works.
    assert_eq!(sec.call("DELETE", "/api/v1/session", None).status, 204);
    assert_eq!(sec.get("/api/v1/incidents").status, 401);
}

#[test]
fn sessions_use_hardened_cookies_and_logins_are_rate_limited() {
    let Some(f) = fixture(engine()) else { return };
    let c = Console::new(f.web);
    let ok = c.post("/api/v1/session", json!({ "name": "vic", "password": TEST_PASSWORD }));
    assert_eq!(ok.status, 200);
    let cookie = ok.set_cookie.iter().find(|c| c.starts_with("custos_session=")).unwrap();
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "cookie lacks {attr}: {cookie}");
    }
    // Unknown users and wrong passwords get the same answer.
    let unknown = c.post("/api/v1/session", json!({ "name": "mallory", "password": "guess guess guess" }));
    let wrong = c.post("/api/v1/session", json!({ "name": "dana", "password": "guess guess guess" }));
    assert_eq!((unknown.status, wrong.status), (401, 401));
    assert_eq!(unknown.json(), wrong.json());
    for _ in 0..4 {
        assert_eq!(c.post("/api/v1/session", json!({ "name": "dana", "password": "guess guess guess" })).status, 401);
    }
    // Five failures for this user from this address within the window: even the right password
    // is refused (from here; tests/security.rs checks that another address is not locked out).
    let blocked = c.post("/api/v1/session", json!({ "name": "dana", "password": TEST_PASSWORD }));
    assert_eq!(blocked.status, 429, "{}", blocked.body);
    assert!(blocked.json()["error"].as_str().unwrap().contains("try again in"));
    let audit = Command::new(bin("e2e-collector")).args(["audit", "--data-dir"]).arg(f.d.root().join("collector-data")).output().unwrap();
    assert!(String::from_utf8_lossy(&audit.stdout).contains("login"));
}

#[test]
fn api_tokens_serve_scripts_without_csrf_and_answers_never_hold_a_raw_value() {
    let Some(f) = fixture(engine()) else { return };
    let out = Command::new(bin("e2e-collector")).args(["user", "token", "vic", "--label", "nightly", "--data-dir"]).arg(f.d.root().join("collector-data")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut script = Console::new(f.web);
    script.bearer = Some(String::from_utf8(out.stdout).unwrap().trim().to_string());
    let id = first_incident(&script);
    assert_eq!(script.post(&format!("/api/v1/incidents/{id}/status"), json!({ "status": "triaged" })).status, 403, "a viewer's token is still a viewer");

    let dpo = Console::login(f.web, "dana");
    let mut everything = String::new();
    for path in ["/api/v1/incidents", &format!("/api/v1/incidents/{id}"), &format!("/api/v1/incidents/{id}/evidence"), "/api/v1/findings", "/api/v1/coverage", &format!("/api/v1/incidents/{id}/report?format=md"), "/api/v1/audit.csv"] {
        let r = dpo.get(path);
        assert_eq!(r.status, 200, "{path}");
        everything += &r.body;
    }
    for raw in [IBAN, IBAN_COMPACT, CARD, "4111111111111111"] {
        assert!(!everything.contains(raw), "raw value {raw} in an API answer");
    }
    let findings = script.get("/api/v1/findings?detector=iban").json();
    assert_eq!(findings["total"], 1);
    let preview = findings["items"][0]["preview"].as_str().unwrap();
    assert!(preview.contains('*') || preview.contains('•') || preview.contains('…'), "masked: {preview}");
    assert_eq!(script.get("/api/v1/findings?since=2999-01-01").json()["total"], 0);
    assert_eq!(script.get("/api/v1/findings?system=logs/app.log").json()["total"], 2);
    assert_eq!(script.get("/api/v1/findings?system=logs/other%25").json()["total"], 0);
    assert_eq!(script.get("/api/v1/findings?since=yesterday").status, 422);
    let counts: Value = script.get("/api/v1/findings/counts").json();
    assert_eq!(counts["items"].as_array().unwrap().iter().map(|d| d["count"].as_u64().unwrap()).sum::<u64>(), 2, "iban + card");

    // Coverage and KPIs reflect the deployment: the declared log is seen; nothing undeclared.
    let cov = script.get("/api/v1/coverage").json();
    assert_eq!((cov["systems_declared"].as_u64(), cov["systems_seen"].as_u64()), (Some(1), Some(1)), "{cov}");
    let k = script.get("/api/v1/kpis").json();
    assert_eq!(k["incidents"], 1);
    assert_eq!(k["share_systems_covered"], 1.0);
    assert_eq!(k["findings_per_week"][0]["count"], 2);
}


#[test]
fn a_password_reset_ends_the_users_sessions_and_only_the_new_password_opens_one() {
    let Some(f) = fixture(engine()) else { return };
    let data_dir = f.d.root().join("collector-data");
    let passwd = |name: &str, password: &str| {
        let file = f.d.root().join("new-password.txt");
        std::fs::write(&file, format!("{password}\n")).unwrap();
        Command::new(bin("e2e-collector")).args(["user", "passwd", name, "--password-file"]).arg(&file).arg("--data-dir").arg(&data_dir).output().unwrap()
    };
    let dana = Console::login(f.web, "dana");
    assert_eq!(dana.get("/api/v1/incidents").status, 200);
    let out = passwd("dana", "a much longer new passphrase");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(dana.get("/api/v1/incidents").status, 401, "the session opened before the reset is over");
    let c = Console::new(f.web);
    assert_eq!(c.post("/api/v1/session", json!({ "name": "dana", "password": TEST_PASSWORD })).status, 401);
    assert_eq!(c.post("/api/v1/session", json!({ "name": "dana", "password": "a much longer new passphrase" })).status, 200);
    // Refused with the reason: a weak password, an unknown user.
    let weak = passwd("dana", "short");
    assert!(!weak.status.success() && String::from_utf8_lossy(&weak.stderr).contains("at least"), "{}", String::from_utf8_lossy(&weak.stderr));
    let unknown = passwd("mallory", "a much longer new passphrase");
    assert!(!unknown.status.success() && String::from_utf8_lossy(&unknown.stderr).contains("no user `mallory`"));
    let audit = Command::new(bin("e2e-collector")).args(["audit", "--data-dir"]).arg(&data_dir).output().unwrap();
    assert!(String::from_utf8_lossy(&audit.stdout).contains("user_password"));
}

#[test]
fn lists_are_paged_with_their_total() {
    let Some(f) = fixture(engine()) else { return };
    let vic = Console::login(f.web, "vic");
    let all = vic.get("/api/v1/incidents").json();
    let total = all["total"].as_u64().unwrap();
    assert!(total >= 1, "{all}");
    assert_eq!(all["items"].as_array().unwrap().len() as u64, total.min(50));
    let one = vic.get("/api/v1/incidents?limit=1").json();
    assert_eq!((one["items"].as_array().unwrap().len(), one["total"].as_u64(), one["limit"].as_u64()), (1, Some(total), Some(1)));
    assert_eq!(one["items"][0]["id"], all["items"][0]["id"]);
    assert!(one["items"][0]["seconds_left"].is_i64(), "a paged item carries its clock: {one}");
    let past = vic.get(&format!("/api/v1/incidents?offset={total}")).json();
    assert!(past["items"].as_array().unwrap().is_empty());
    assert_eq!(past["total"].as_u64(), Some(total));
    let none = vic.get("/api/v1/incidents?severity=no-such-severity").json();
    assert_eq!((none["items"].as_array().unwrap().len(), none["total"].as_u64()), (0, Some(0)));
}

#[test]
fn users_change_their_own_password_from_a_console_session_only() {
    let Some(f) = fixture(engine()) else { return };
    let data_dir = f.d.root().join("collector-data");
    let sam = Console::login(f.web, "sam");
    let change = |c: &Console, current: &str, new: &str| c.post("/api/v1/session/password", json!({ "current": current, "new": new }));
    assert_eq!(change(&sam, "not my password at all", "another long passphrase").status, 403, "the current password is checked");
    let weak = change(&sam, TEST_PASSWORD, "short");
    assert_eq!(weak.status, 400);
    assert!(weak.json()["error"].as_str().unwrap().contains("at least"), "{}", weak.body);
    let mut no_csrf = Console::new(f.web);
    no_csrf.cookie = sam.cookie.clone();
    assert_eq!(change(&no_csrf, TEST_PASSWORD, "another long passphrase").status, 403, "state change without the CSRF token");
    let out = Command::new(bin("e2e-collector")).args(["user", "token", "sam", "--data-dir"]).arg(&data_dir).output().unwrap();
    let mut script = Console::new(f.web);
    script.bearer = Some(String::from_utf8_lossy(&out.stdout).trim().to_string());
    assert_eq!(script.get("/api/v1/incidents").status, 200);
    let by_token = change(&script, TEST_PASSWORD, "another long passphrase");
    assert_eq!(by_token.status, 403, "an API token may not change the password: {}", by_token.body);
    let ok = change(&sam, TEST_PASSWORD, "another long passphrase");
    assert_eq!(ok.status, 204, "{}", ok.body);
    assert!(ok.set_cookie.iter().any(|c| c.starts_with("custos_session=;") && c.contains("Max-Age=0")));
    assert_eq!(sam.get("/api/v1/incidents").status, 401, "the session ended with the change");
    assert_eq!(script.get("/api/v1/incidents").status, 200, "API tokens stay valid");
    let c = Console::new(f.web);
    assert_eq!(c.post("/api/v1/session", json!({ "name": "sam", "password": TEST_PASSWORD })).status, 401);
    assert_eq!(c.post("/api/v1/session", json!({ "name": "sam", "password": "another long passphrase" })).status, 200);
    let audit = Command::new(bin("e2e-collector")).args(["audit", "--data-dir"]).arg(&data_dir).output().unwrap();
    assert!(String::from_utf8_lossy(&audit.stdout).contains("user_password"));
}

#[test]
fn subject_requests_are_the_dpos_alone_audited_and_checked() {
    let Some(f) = fixture(engine()) else { return };
    let out = Command::new(bin("e2e-agent")).args(["fingerprint", "--detector", "iban", "--key-file"]).arg(f.d.root().join("fingerprint.key")).arg(IBAN).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let fp = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let (dpo, sec, viewer) = (Console::login(f.web, "dana"), Console::login(f.web, "sam"), Console::login(f.web, "vic"));
    let lookup = json!({ "fingerprints": [fp] });
    let erase = json!({ "fingerprint": fp, "erased_at": "2026-12-01T10:00:00Z", "request": "DSR-2026-17" });

    // Security and viewers may not learn whether a person is in a system, nor erase.
    for c in [&sec, &viewer] {
        assert_eq!(c.post("/api/v1/subjects/lookup", lookup.clone()).status, 403);
        assert_eq!(c.post("/api/v1/subjects/erasure", erase.clone()).status, 403);
    }
    // The DPO sees where the IBAN's owner was seen, by system, detector and count.
    let r = dpo.post("/api/v1/subjects/lookup", lookup.clone());
    assert_eq!(r.status, 200, "{}", r.body);
    let item = &r.json()["items"][0];
    assert_eq!(item["fingerprint"], fp.as_str());
    let sightings = item["sightings"].as_array().unwrap();
    assert!(sightings.iter().any(|s| s["detector"] == "iban" && s["system"].as_str().unwrap().ends_with("logs/app.log") && s["findings"] == 1), "{sightings:?}");
    assert!(item["erasure"].is_null());
    for bad in [json!({ "fingerprints": ["not-hex"] }), json!({ "fingerprints": [] }), json!({ "fingerprints": vec![fp.clone(); 21] }), json!({ "who": fp })] {
        assert_eq!(dpo.post("/api/v1/subjects/lookup", bad.clone()).status / 100, 4, "{bad}");
    }
    for bad in [json!({ "fingerprint": fp, "erased_at": "yesterday", "request": "R" }), json!({ "fingerprint": fp, "erased_at": "now", "request": " " })] {
        assert_eq!(dpo.post("/api/v1/subjects/erasure", bad.clone()).status, 422, "{bad}");
    }
    // The erasure is recorded and shown; both acts are in the audit trail.
    let r = dpo.post("/api/v1/subjects/erasure", erase);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["items"][0]["erasure"]["request"], "DSR-2026-17");
    assert_eq!(dpo.post("/api/v1/subjects/lookup", lookup).json()["items"][0]["erasure"]["recorded_by"], "dana");
    let audit = dpo.get("/api/v1/audit?limit=500").json().to_string();
    assert!(audit.contains("subject_lookup") && audit.contains("erasure_recorded"), "{audit}");
    assert!(!r.body.contains(IBAN) && !r.body.contains(IBAN_COMPACT));
}
