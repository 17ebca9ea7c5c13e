//! Generalisation as a test: other projects' test data (python-stdnum, libphonenumber,
//! email-validator; `bench/generalise/README.md`), in the forms those projects write them, run
//! through the real `custos-agent scan` by `bench/generalise/run.py` on the vendored sample
//! (`tests/data/generalise/sample.tsv`, no network), each value in four log-line templates.
//!
//! The figures are counts of lines (value × template): the scan is deterministic, so each type
//! holds a floor on the valid lines found and a ceiling on the invalid lines reported. Raise
//! them when detection improves; lower one only with the reason in the commit.
//!
//! Needs `python3` (standard library only); skipped with a message without it (a failure on CI).

use std::path::Path;
use std::process::Command;

/// (type, valid lines found at least, invalid lines reported at most) on the sample.
const FIGURES: &[(&str, u64, u64)] = &[
    ("AT_SVNR", 4, 0),   // of 8 valid / 8 invalid lines; before #18: 4 found, 0 invalid reported
    ("BE_NRN", 34, 0),   // of 48 valid / 32 invalid lines; before #18: 34 found, 0 invalid reported
    ("CZ_RC", 18, 0),    // of 32 valid / 28 invalid lines; before #18: 18 found, 0 invalid reported
    ("DE_TAXID", 22, 0), // of 40 valid / 48 invalid lines; before #18: 22 found, 0 invalid reported
    ("DK_CPR", 12, 0),   // of 24 valid / 20 invalid lines; before #18: 12 found, 4 invalid reported (0 with the century rule)
    ("EE_IK", 6, 0),     // of 16 valid / 16 invalid lines; before #18: 6 found, 0 invalid reported
    ("EMAIL", 16, 20), // of 96 valid / 96 invalid lines; before #18: 16 found, 24 invalid reported (20 since domains over 253 and addresses over 254 characters are refused)
    ("ES_DNI", 24, 0), // of 24 valid / 20 invalid lines; before #18: 16 found, 0 invalid reported
    ("ES_NIE", 32, 0), // of 32 valid / 28 invalid lines; before #18: 16 found, 0 invalid reported
    ("EU_VAT", 140, 4), // of 144 valid / 148 invalid lines; before #18: 76 found, 36 invalid reported
    ("FI_HETU", 36, 0), // of 36 valid / 32 invalid lines; before #18: 16 found, 4 invalid reported
    ("FR_NIR", 40, 0), // of 40 valid / 28 invalid lines; before #18: 32 found, 0 invalid reported (40 with 2a/2b)
    ("HR_OIB", 2, 0),  // of 8 valid / 4 invalid lines; before #18: 2 found, 0 invalid reported
    ("IBAN", 196, 0),  // of 196 valid / 200 invalid lines; before #18: 124 found, 48 invalid reported
    ("IE_PPS", 32, 0), // of 32 valid / 32 invalid lines; before #18: 16 found, 0 invalid reported
    ("IT_CF", 32, 0),  // of 32 valid / 24 invalid lines; before #18: 16 found, 0 invalid reported
    ("LT_AK", 0, 0),   // of 16 valid / 8 invalid lines; before #18: 0 found, 0 invalid reported
    ("MAC", 16, 8),    // of 24 valid / 20 invalid lines; before #18: 16 found, 8 invalid reported
    ("NL_BSN", 16, 0), // of 16 valid / 20 invalid lines; before #18: 14 found, 0 invalid reported
    ("PHONE", 348, 9), // of 384 valid / 384 invalid lines; before #18: 238 found, 162 invalid reported
    ("PL_PESEL", 10, 0), // of 12 valid / 8 invalid lines; before #18: 10 found, 0 invalid reported
    // PT: `PT 501 964 843` (a NIF with the VAT prefix) is now reported as eu_vat_number.
    ("PT_NIF", 2, 0),  // of 8 valid / 8 invalid lines; before #18: 4 found, 0 invalid reported
    ("RO_CNP", 2, 0),  // of 4 valid / 16 invalid lines; before #18: 2 found, 0 invalid reported
    ("SE_PNR", 22, 0), // of 32 valid / 24 invalid lines; before #18: 19 found, 0 invalid reported
    ("UK_NHS", 8, 0),  // of 16 valid / 8 invalid lines; before #18: 8 found, 0 invalid reported
    ("US_SSN", 16, 0), // of 20 valid / 24 invalid lines; before #18: 16 found, 8 invalid reported
];

#[test]
fn other_projects_test_data_is_found_in_the_forms_they_write() {
    if Command::new("python3").arg("--version").output().is_err() {
        custos_tests::skip_or_fail("python3", "bench/generalise/run.py is a Python script");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("figures.json");
    let run = Command::new("python3")
        .arg(root.join("bench/generalise/run.py"))
        .arg(root.join("tests/data/generalise/sample.tsv"))
        .arg("--agent")
        .arg(env!("CARGO_BIN_EXE_e2e-agent"))
        .arg("--json")
        .arg(&out)
        .output()
        .expect("run bench/generalise/run.py");
    assert!(run.status.success(), "run.py failed: {}\n{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(v["noise"].as_object().map_or(0, |n| n.len()), 0, "findings on the template text: {}", v["noise"]);
    let mut failures = Vec::new();
    for &(kind, found_floor, invalid_ceiling) in FIGURES {
        let all = &v["types"][kind]["ALL"];
        let found = all["found"].as_u64().unwrap_or(0);
        let invalid = all["invalid_found"].as_u64().unwrap_or(0);
        eprintln!(
            "{kind:<10} found {found:>4} / {:>4} (floor {found_floor}), invalid reported {invalid:>3} / {:>4} (ceiling {invalid_ceiling})",
            all["valid_lines"], all["invalid_lines"]
        );
        if found < found_floor {
            failures.push(format!("{kind}: {found} valid lines found < floor {found_floor}"));
        }
        if invalid > invalid_ceiling {
            failures.push(format!("{kind}: {invalid} invalid lines reported > ceiling {invalid_ceiling}"));
        }
    }
    // Phones of every region in international form (issue #18: at least 0.95).
    for form in ["e164", "international", "00-prefix"] {
        let recall = v["types"]["PHONE"][form]["recall"].as_f64().unwrap_or(0.0);
        eprintln!("PHONE {form:<13} recall {recall:.3}");
        if recall < 0.95 {
            failures.push(format!("PHONE {form}: recall {recall:.3} < 0.95"));
        }
    }
    assert!(failures.is_empty(), "generalisation figures regressed: {failures:#?}");
}
