//! Detection accuracy as a test: a labelled corpus from `bench/corpus/gen_corpus.py` (a copy of the shared bench),
//! scanned by the real `custos-agent scan --json`, scored by the shared `score.py`.
//!
//! Targets (issue 3): precision ≥ 0.99 and recall ≥ 0.98 for every checksum-validated detector,
//! phone precision ≥ 0.95 and recall ≥ 0.87 (0.90 before #18: see below), and no detector — including those the corpus has
//! no labels for, which must then stay silent — below 0.95 precision at the default threshold.
//!
//! The corpus needs Python with Faker: `CUSTOS_BENCH_PYTHON` (set by `scripts/test.sh`), else
//! `python3`. Without the variable *and* without Faker the accuracy test is skipped with a
//! message; with the variable set, a missing Faker is a failure.
//!
//! The same binary is also checked for user rule packs: a bad pack is refused with its file,
//! line and reason, and an allowlist silences a company's own e-mail domain.

use std::path::{Path, PathBuf};
use std::process::Command;

const FILES: [&str; 5] = ["nginx.log", "app.json.log", "syslog.log", "sql.log", "export.csv"];

/// Bench types whose detectors confirm candidates with a check digit or a strict structure.
const CHECKSUM_TYPES: [&str; 11] = ["IBAN", "CREDIT_CARD", "FR_NIR", "ES_DNI", "ES_NIE", "IT_CF", "NL_BSN", "DE_TAXID", "PL_PESEL", "UK_NINO", "US_SSN"];

fn agent() -> &'static str {
    env!("CARGO_BIN_EXE_e2e-agent")
}

fn bench_dir() -> PathBuf {
    match std::env::var_os("CUSTOS_BENCH_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/corpus"),
    }
}

/// The Python to run the bench with, or `None` (with the reason printed) when the test is to be
/// skipped.
fn bench_python() -> Option<String> {
    let configured = std::env::var("CUSTOS_BENCH_PYTHON").ok();
    let python = configured.clone().unwrap_or_else(|| "python3".to_string());
    let has_faker = Command::new(&python).args(["-c", "import faker"]).output().is_ok_and(|o| o.status.success());
    match (has_faker, configured) {
        (true, _) => Some(python),
        (false, Some(p)) => panic!("CUSTOS_BENCH_PYTHON={p} cannot import faker: install it (scripts/test.sh does)"),
        (false, None) => {
            custos_tests::skip_or_fail(
                "Python with Faker",
                "CUSTOS_BENCH_PYTHON is not set and `python3 -c 'import faker'` fails; run scripts/test.sh or set CUSTOS_BENCH_PYTHON to a Python with Faker",
            );
            None
        }
    }
}

#[derive(Debug)]
struct Row {
    kind: String,
    labels: u64,
    findings: u64,
    precision: Option<f64>,
    recall: Option<f64>,
}

fn score(python: &str, corpus: &Path, findings: &Path) -> Vec<Row> {
    let out = corpus.join("score.json");
    let status = Command::new(python).arg(bench_dir().join("score.py")).arg(corpus).arg(findings).arg("--json").arg(&out).status().expect("run score.py");
    assert!(status.success(), "score.py failed");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| Row {
            kind: r["type"].as_str().unwrap().to_string(),
            labels: r["labels"].as_u64().unwrap(),
            findings: r["findings"].as_u64().unwrap(),
            precision: r["precision"].as_f64(),
            recall: r["recall"].as_f64(),
        })
        .collect()
}

#[test]
fn detectors_meet_the_precision_and_recall_targets_on_a_generated_corpus() {
    let Some(python) = bench_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    let generated = Command::new(&python)
        .arg(bench_dir().join("gen_corpus.py"))
        .args(["--seed", "1", "--size-mb", "2", "--out"])
        .arg(&corpus)
        .output()
        .expect("run gen_corpus.py");
    assert!(generated.status.success(), "gen_corpus.py failed: {}", String::from_utf8_lossy(&generated.stderr));

    let scan = Command::new(agent()).current_dir(&corpus).arg("scan").arg("--json").arg("--matches").args(FILES).output().unwrap();
    assert_eq!(scan.status.code(), Some(1), "findings expected: {}", String::from_utf8_lossy(&scan.stderr));
    let findings = dir.path().join("findings.jsonl");
    std::fs::write(&findings, &scan.stdout).unwrap();
    // Never a raw value in the output without --show-values.
    assert!(!String::from_utf8_lossy(&scan.stdout).contains("\"value\""));

    let rows = score(&python, &corpus, &findings);
    let mut failures = Vec::new();
    for r in &rows {
        eprintln!("{:<16} labels {:>6} findings {:>6} precision {:?} recall {:?}", r.kind, r.labels, r.findings, r.precision, r.recall);
        let (p, rc) = (r.precision.unwrap_or(1.0), r.recall.unwrap_or(1.0));
        let (min_p, min_r) = match r.kind.as_str() {
            k if CHECKSUM_TYPES.contains(&k) => (0.99, 0.98),
            // Recall 0.90 until #18: phones are now validated against libphonenumber's plans, and
            // about one Faker phone in ten is outside them (made-up NANP area codes, the UK's
            // drama numbers +44 1632 960…, Dutch and German area codes that do not exist). An
            // international one is refused; a national one is reported when written in groups.
            "PHONE" => (0.95, 0.87),
            "EMAIL" | "IP" => (0.99, 0.98),
            _ => (0.95, 0.0), // detectors without labels in this corpus: findings there are false positives
        };
        if r.findings > 0 && p < min_p {
            failures.push(format!("{}: precision {p:.3} < {min_p}", r.kind));
        }
        if r.labels > 0 && rc < min_r {
            failures.push(format!("{}: recall {rc:.3} < {min_r}", r.kind));
        }
    }
    for t in CHECKSUM_TYPES.iter().chain(&["EMAIL", "PHONE", "IP"]) {
        assert!(rows.iter().any(|r| r.kind == *t && r.labels > 0), "the corpus has no {t} labels: did the generator change?");
    }
    assert!(failures.is_empty(), "accuracy targets missed: {failures:#?}");
}

#[test]
fn bad_user_pack_is_refused_with_file_line_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("crm.toml"),
        "[pack]\nname = \"crm\"\n\n[[detector]]\nid = \"crm_customer\"\ncategory = \"identity\"\npatterns = ['CUST-(?P<n>[0-9]{6']\nconfidence = 0.9\n",
    )
    .unwrap();
    let data = dir.path().join("data.log");
    std::fs::write(&data, "hello\n").unwrap();
    let out = Command::new(agent()).arg("scan").arg("--rules").arg(&rules).arg(&data).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("crm.toml:7:"), "file and line expected: {stderr}");
    assert!(stderr.contains("bad regex"), "reason expected: {stderr}");

    std::fs::write(
        rules.join("crm.toml"),
        "[pack]\nname = \"crm\"\n[[detector]]\nid = \"crm_customer\"\ncategory = \"identity\"\npatterns = ['x']\nvalidator = \"mod97\"\nconfidence = 0.9\n",
    )
    .unwrap();
    let out = Command::new(agent()).arg("scan").arg("--rules").arg(&rules).arg(&data).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("crm.toml:7:") && stderr.contains("unknown validator `mod97`"), "{stderr}");
}

#[test]
fn user_pack_adds_a_detector_and_an_allowlist_silences_the_company_domain() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("acme.toml"),
        "[pack]\nname = \"acme\"\n\n[allowlist]\nemail_domains = [\"acme.example\"]\nvalues = [\"test.user@partner.example\"]\n\n\
         [[detector]]\nid = \"acme_customer\"\ncategory = \"identity\"\ndescription = \"ACME customer numbers\"\n\
         patterns = ['CUST-[0-9]{6}']\nconfidence = 0.9\n",
    )
    .unwrap();
    let data = dir.path().join("app.log");
    std::fs::write(&data, "from alice@acme.example to bob@gmail.com cc test.user@partner.example customer CUST-004211\n").unwrap();
    let out = Command::new(agent()).arg("scan").arg("--json").arg("--rules").arg(&rules).arg(&data).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let found: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let ids: Vec<&str> = found.iter().map(|f| f["detector"].as_str().unwrap()).collect();
    assert_eq!(ids, ["email", "acme_customer"], "{found:#?}");
    assert_eq!(found[0]["preview"], "b***@g***.com");
}
