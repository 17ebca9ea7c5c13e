//! The collector's GDPR side on real parts: register files in every format checked and imported
//! by the real command line, correlation rules over a real store (SQLite, and PostgreSQL when CUSTOS_TEST_POSTGRES is set) (each on a case that
//! fires and one that must not), incident grouping and workflow, the Art. 33 draft and the
//! breach register.

use custos_collector::correlation::CorrelationSettings;
use custos_collector::correlation::Policy;
use custos_collector::correlation::{Locations, RuleSetting};
use custos_collector::incident::Status;
use custos_collector::register::Register;
use custos_collector::store::Store;
use custos_proto::v1 as pb;
use custos_tests::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const HOUR: i64 = 3_600_000;
const T0: i64 = 1_790_000_000_000;

fn register_toml() -> String {
    RegisterFixture::new("Exemple SAS")
        .dpo("Claire Martin", "dpo@exemple.fr")
        .activity("accounts", "Customer accounts", &["contact"])
        .field("purpose", r#""Manage customer accounts""#)
        .field("data_subjects", r#"["customers"]"#)
        .field("retention", r#""30d""#)
        .field("allowed_locations", r#"["EU"]"#)
        .field("security_measures", r#"["TLS", "access control"]"#)
        .system(r#"hosts = ["web-*"]"#)
        .field_in_system(r#"paths = ["/var/log/app/*.log"]"#)
        .system(r#"databases = ["postgres://shop"]"#)
        .field_in_system(r#"tables = ["customers"]"#)
        .toml()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn register(text: &str) -> Register {
    let dir = tempfile::tempdir().unwrap();
    Register::load(&write(dir.path(), "register.toml", text)).unwrap()
}

/// A personal-data finding as an agent sends it (never a value: preview and fingerprint).
fn finding(id: &str, host: &str, locator: &str, category: pb::Category, fingerprint: u8, evidence: &[(&str, &str)]) -> pb::Finding {
    pb::Finding {
        id: id.into(),
        agent_id: "agent-1".into(),
        host: host.into(),
        source: Some(pb::Source { kind: pb::SourceKind::LogFile as i32, locator: locator.into(), identity: "i".into() }),
        position: None,
        detector: "detector".into(),
        category: category as i32,
        special_category: matches!(category, pb::Category::Health),
        confidence: 0.9,
        preview: "j***@e***.fr".into(),
        fingerprint: vec![fingerprint; 32],
        observed_at_ms: T0,
        kind: pb::FindingKind::PersonalData as i32,
        evidence: evidence.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    }
}

fn export(id: &str, host: &str) -> pb::Finding {
    let mut f = finding(
        id,
        host,
        "/var/log/postgresql/postgresql.log",
        pb::Category::Unspecified,
        0,
        &[("anomaly", "dump_command"), ("observed", "1"), ("actor", "backup")],
    );
    f.kind = pb::FindingKind::ExportAnomaly as i32;
    f.detector = "dump_command".into();
    f.fingerprint = Vec::new();
    f
}

struct Db {
    store: Store,
    t: TestStore,
    _dir: tempfile::TempDir,
    settings: CorrelationSettings,
}

/// An empty store on `engine` (None: PostgreSQL not configured for the tests).
fn db(engine: Engine, policy: Policy) -> Option<Db> {
    let dir = tempfile::tempdir().unwrap();
    let (t, store) = TestStore::new(engine, dir.path())?;
    Some(Db { store, t, _dir: dir, settings: CorrelationSettings { policy, ..CorrelationSettings::default() } })
}

impl Db {
    fn ingest(&mut self, reg: &Register, findings: Vec<pb::Finding>, now: i64) -> Vec<i64> {
        let batch = pb::FindingBatch { seq: 1, agent_id: "agent-1".into(), findings, agent_version: "t".into(), host: "web-01".into(), ..Default::default() };
        self.store.ingest(&custos_proto::checked::CheckedBatch::from_wire(&batch, "agent-1"), reg, &self.settings, now).unwrap().opened
    }
    fn rules(&self) -> Vec<String> {
        let mut r: Vec<String> = self.store.incidents().unwrap().into_iter().map(|v| v.rule).collect();
        r.sort();
        r
    }
}

fn located(agent: &str, country: &str) -> Policy {
    Policy::new(&BTreeMap::new(), &Locations { agents: [(agent.to_string(), country.to_string())].into_iter().collect(), hosts: BTreeMap::new() })
}

// The store-backed specifications run once per engine: `sqlite::…` always, `postgres::…` when
// CUSTOS_TEST_POSTGRES names a database (scripts/test.sh sets it).
mod sqlite {
    use super::*;
    fn db(policy: Policy) -> Option<Db> {
        super::db(Engine::Sqlite, policy)
    }
    include!("specs/correlation.rs");
}

mod postgres {
    use super::*;
    fn db(policy: Policy) -> Option<Db> {
        super::db(Engine::Postgres, policy)
    }
    include!("specs/correlation.rs");
}

// ---------------------------------------------------------------- register formats

#[test]
fn register_check_prints_every_problem_with_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(
        dir.path(),
        "register.csv",
        "Activity id,Activity,Purpose,Legal basis,Data categories,Retention,Paths,Colour\naccounts,Accounts,p,contract,contact,3y,/var/log/*.log,blue\npayroll,Payroll,p,contrat,\"identity, salary\",ten years,,\n",
    );
    let out = Command::new(bin("e2e-collector")).args(["register", "check"]).arg(&csv).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    for expected in [
        "register.csv: row 1: column 8 `Colour`: unknown column",
        "row 3: Legal basis: `contrat`",
        "row 3: Data categories: `salary`",
        "row 3: activity[1].retention: `ten years`",
    ] {
        assert!(text.contains(expected), "missing «{expected}» in:\n{text}");
    }
}

#[test]
fn yaml_and_toml_examples_check_and_a_broken_toml_names_its_line() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    for f in ["register.toml", "register.yaml", "register.csv"] {
        let out = Command::new(bin("e2e-collector")).args(["register", "check"]).arg(examples.join(f)).output().unwrap();
        assert!(out.status.success(), "{f}: {}", String::from_utf8_lossy(&out.stdout));
    }
    let dir = tempfile::tempdir().unwrap();
    let broken = register_toml().replace("retention = \"30d\"", "retention = \"30d\"\nretention_by_category = { salary = \"1y\" }");
    // The line of the bad key, wherever the fixture puts it.
    let line = broken.lines().position(|l| l.starts_with("retention_by_category")).unwrap() + 1;
    let bad = write(dir.path(), "r.toml", &broken);
    let out = Command::new(bin("e2e-collector")).args(["register", "check"]).arg(&bad).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success() && text.contains(&format!("r.toml:{line}:")) && text.contains("salary"), "{text}");
}

#[test]
fn an_xlsx_register_laid_out_like_the_cnil_template_imports_to_toml() {
    let dir = tempfile::tempdir().unwrap();
    let xlsx = dir.path().join("registre.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let sheet = wb.add_worksheet();
    sheet.set_name("Activités").unwrap();
    let rows: [[&str; 16]; 3] = [
        [
            "Identifiant",
            "Activité",
            "Finalité",
            "Base légale",
            "Personnes concernées",
            "Catégories de données",
            "Données sensibles",
            "Destinataires",
            "Transferts",
            "Durée de conservation",
            "Mesures de sécurité",
            "Localisation",
            "Hosts",
            "Paths",
            "Responsable",
            "DPO e-mail",
        ],
        [
            "payroll",
            "Payroll",
            "Pay employees",
            "Legal obligation",
            "employees",
            "identity; financial; national_id",
            "health",
            "payroll provider",
            "IN: scc",
            "5y; health=2y",
            "encryption; access control",
            "EU",
            "hr-*",
            "/srv/payroll/**",
            "Exemple SAS",
            "dpo@exemple.fr",
        ],
        [
            "newsletter",
            "Newsletter",
            "Send news",
            "Consent",
            "prospects",
            "contact",
            "",
            "",
            "",
            "3y",
            "double opt-in",
            "FR",
            "",
            "/var/log/mailer/*.log",
            "",
            "",
        ],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            sheet.write_string(r as u32, c as u16, *cell).unwrap();
        }
    }
    wb.save(&xlsx).unwrap();
    let out = Command::new(bin("e2e-collector")).args(["register", "check"]).arg(&xlsx).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let toml = dir.path().join("register.toml");
    let out = Command::new(bin("e2e-collector")).args(["register", "import"]).arg(&xlsx).arg("-o").arg(&toml).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let reg = Register::load(&toml).unwrap();
    let payroll = &reg.activities[0];
    assert_eq!(payroll.special_categories, [custos_rules::Category::Health]);
    assert_eq!(payroll.retention_for(custos_rules::Category::Health).map(|r| r.0), Some(730));
    assert_eq!(payroll.retention_for(custos_rules::Category::Financial).map(|r| r.0), Some(1825));
    assert_eq!(payroll.transfers[0].country, "IN");
    assert_eq!(reg.covering("a", "hr-02", "/srv/payroll/2026/11.csv")[0].id, "payroll");
    assert_eq!(reg.activities[1].allowed_locations, ["FR"]);
    assert_eq!((reg.controller.name.as_str(), reg.controller.dpo.email.as_str()), ("Exemple SAS", "dpo@exemple.fr"));

    // A problem in the spreadsheet names its row as the DPO sees it.
    let mut wb = rust_xlsxwriter::Workbook::new();
    let sheet = wb.add_worksheet();
    for (c, h) in ["Activity id", "Activity", "Legal basis", "Data categories"].iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for (c, v) in ["crm", "CRM", "contract", "contact"].iter().enumerate() {
        sheet.write_string(1, c as u16, *v).unwrap();
    }
    for (c, v) in ["crm", "CRM again", "contract", "gossip"].iter().enumerate() {
        sheet.write_string(2, c as u16, *v).unwrap();
    }
    wb.save(&xlsx).unwrap();
    let out = Command::new(bin("e2e-collector")).args(["register", "check"]).arg(&xlsx).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("row 3: Data categories: `gossip`") && text.contains("row 3: activity[1].id: activity id `crm` is used twice"), "{text}");
}
