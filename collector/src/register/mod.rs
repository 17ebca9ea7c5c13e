//! The record of processing activities (GDPR Art. 30), and which systems each activity covers.
//!
//! The register is the DPO's statement of what personal data *should* be where. Custos links it
//! to reality with `[[activity.system]]` entries (agent ids, host globs, path globs, database and
//! table globs), so that a finding can be checked against it: is this system covered, does the
//! covering activity declare this category, for how long may it be kept, and in which countries?
//!
//! Four formats, one model ([`RegisterFile`]):
//! - native **TOML** (`.toml`) and **YAML** (`.yaml`, `.yml`), the same fields;
//! - **CSV** (`.csv`) and **XLSX** (`.xlsx`, first sheet or the sheet named `Activities`), one
//!   row per activity laid out like the CNIL register template — see [`table`].
//!
//! [`check_file`] returns *every* problem (not just the first) with its line or row and field,
//! which is what `custos-collector register check FILE` prints.
//!
//! ```toml
//! [controller]
//! name = "Exemple SAS"
//! dpo = { name = "Claire Martin", email = "dpo@exemple.fr" }
//!
//! [[activity]]
//! id = "customer-accounts"
//! name = "Customer accounts"
//! purpose = "Manage customer accounts and orders"
//! legal_basis = "contract"
//! data_subjects = ["customers"]
//! data_categories = ["contact", "identity"]
//! special_categories = []                      # Art. 9 / Art. 10 categories, kept apart
//! retention = "3y"                              # default for every category
//! retention_by_category = { identity = "5y" }   # overrides
//! allowed_locations = ["EU"]                    # country codes; "EU" = EU/EEA
//! transfers = [{ country = "US", safeguard = "scc" }]
//!
//! [[activity.system]]
//! hosts = ["web-*"]
//! paths = ["/var/log/app/*.log"]
//! ```

pub mod limits;
pub mod model;
pub mod recipient;
pub mod table;

pub use model::*;
pub use recipient::{EU_EEA, Recipient, RecipientRole, RecipientSpec, Safeguard, normalise_host};

use globset::{Glob, GlobMatcher};
use std::path::Path;

struct CompiledSystem {
    agents: Vec<String>,
    hosts: Vec<GlobMatcher>,
    paths: Vec<GlobMatcher>,
    databases: Vec<GlobMatcher>,
    tables: Vec<GlobMatcher>,
}

/// Splits a table locator `scheme://database/table` into (`scheme://database`, `table`).
pub fn split_table_locator(locator: &str) -> Option<(&str, &str)> {
    let scheme_end = locator.find("://")? + 3;
    let slash = locator[scheme_end..].rfind('/')? + scheme_end;
    Some((&locator[..slash], &locator[slash + 1..]))
}

/// The forms a DPO may write for the database and the table of a table locator, besides the
/// exact ones the agent sends (`postgres://127.0.0.1:5432/shop/sales.customers`,
/// `sqlite:///var/lib/app/crm.db/customers`).
///
/// - databases: `postgres://127.0.0.1:5432/shop` (as sent), `postgres://127.0.0.1/shop` (no
///   port), `postgres://shop` (host-less: the database name), `shop` (the name alone); for
///   SQLite `sqlite:///var/lib/app/crm.db`, `/var/lib/app/crm.db` and `crm.db`;
/// - tables: `customers`, `sales.customers` (schema and table), `shop.sales.customers`
///   (database, schema and table).
///
/// All are globs (`postgres://*/shop`, `*.customers`).
pub fn table_locator_forms(locator: &str) -> Option<(Vec<String>, Vec<String>)> {
    let (db, table) = split_table_locator(locator)?;
    let (scheme, rest) = db.split_once("://")?;
    let mut databases = vec![db.to_string()];
    let name = if scheme == "sqlite" {
        databases.push(rest.to_string());
        rest.rsplit('/').next().unwrap_or(rest).to_string()
    } else {
        // `host[:port]/database`, or the database alone.
        let (host, name) = rest.split_once('/').unwrap_or(("", rest));
        if let Some((h, _port)) = host.rsplit_once(':') {
            databases.push(format!("{scheme}://{h}/{name}"));
        }
        name.to_string()
    };
    databases.push(format!("{scheme}://{name}"));
    databases.push(name.clone());
    let mut tables = vec![table.to_string()];
    if let Some((_, t)) = table.split_once('.') {
        tables.push(t.to_string());
    }
    tables.push(format!("{name}.{table}"));
    databases.dedup();
    Some((databases, tables))
}

impl CompiledSystem {
    fn covers(&self, agent_id: &str, host: &str, locator: &str) -> bool {
        let any = |gs: &[GlobMatcher], s: &str| gs.is_empty() || gs.iter().any(|g| g.is_match(s));
        let any_form = |gs: &[GlobMatcher], forms: &[String]| gs.is_empty() || forms.iter().any(|f| gs.iter().any(|g| g.is_match(f)));
        let place = match table_locator_forms(locator) {
            Some((dbs, tables)) => self.paths.is_empty() && any_form(&self.databases, &dbs) && any_form(&self.tables, &tables),
            None => self.databases.is_empty() && self.tables.is_empty() && any(&self.paths, locator),
        };
        (self.agents.is_empty() || self.agents.iter().any(|a| a == agent_id)) && any(&self.hosts, host) && place
    }

    /// Only systems that name their hosts or agents say that data lives on a given host.
    fn covers_host(&self, agent_id: &str, host: &str) -> bool {
        !(self.agents.is_empty() && self.hosts.is_empty())
            && (self.agents.is_empty() || self.agents.iter().any(|a| a == agent_id))
            && (self.hosts.is_empty() || self.hosts.iter().any(|g| g.is_match(host)))
    }
}

/// A loaded, checked register.
pub struct Register {
    /// Controller and DPO.
    pub controller: Controller,
    /// Activities, in file order.
    pub activities: Vec<Activity>,
    systems: Vec<Vec<CompiledSystem>>,
    /// The host patterns of each activity's recipients, compiled once.
    recipient_hosts: Vec<Vec<Vec<recipient::HostPattern>>>,
    /// Where it was loaded from.
    pub source: String,
}

impl Register {
    /// The recipients whose hosts include `host` (a destination agents saw data sent to), each
    /// with the activity that declares it, in register order.
    pub fn recipients_of_host(&self, host: &str) -> Vec<(&Activity, &Recipient)> {
        let host = normalise_host(host);
        let mut out = Vec::new();
        for (a, patterns) in self.activities.iter().zip(&self.recipient_hosts) {
            for (r, p) in a.recipients.iter().zip(patterns) {
                if p.iter().any(|p| p.matches(&host)) {
                    out.push((a, r));
                }
            }
        }
        out
    }
}

impl std::fmt::Debug for Register {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Register").field("source", &self.source).field("activities", &self.activities.len()).finish()
    }
}

/// Line (1-based) of the first line of `text` whose key is `key`, searching from `from`.
fn line_of_key(text: &str, key: &str, nth_activity: Option<usize>) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let mut start = 0;
    if let Some(n) = nth_activity {
        let mut seen = 0;
        for (i, l) in lines.iter().enumerate() {
            let t = l.trim_start();
            if t.starts_with("[[activity]]") || t.starts_with("- id:") {
                if seen == n {
                    start = i;
                    break;
                }
                seen += 1;
            }
        }
    }
    lines
        .iter()
        .enumerate()
        .skip(start)
        .find(|(_, l)| {
            let t = l.trim_start().trim_start_matches("- ");
            t.strip_prefix(key).is_some_and(|r| {
                let r = r.trim_start();
                r.starts_with('=') || r.starts_with(':')
            })
        })
        .map_or(0, |(i, _)| i + 1)
}

/// Reads a register file of any format into its model, or the problems that prevented it.
pub fn read_file(path: &Path) -> Result<(RegisterFile, Vec<Problem>, Locator), RegisterError> {
    let err = |p: Problem| RegisterError { file: path.display().to_string(), problems: vec![p] };
    let format = Format::of(path).ok_or_else(|| {
        err(Problem { at: String::new(), field: String::new(), reason: "unknown register format: use a .toml, .yaml, .yml, .csv or .xlsx file".into() })
    })?;
    limits::check_file(path, format).map_err(err)?;
    match format {
        Format::Toml | Format::Yaml => {
            let text =
                std::fs::read_to_string(path).map_err(|e| err(Problem { at: String::new(), field: String::new(), reason: format!("cannot read: {e}") }))?;
            if format == Format::Yaml {
                limits::check_yaml_depth(&text).map_err(err)?;
            }
            let parsed: Result<RegisterFile, Problem> = if format == Format::Toml {
                custos_rules::toml_file::parse_toml(path, &text).map_err(|e| Problem {
                    at: if e.line > 0 { format!("line {}", e.line) } else { String::new() },
                    field: e.field.unwrap_or_default(),
                    reason: e.reason,
                })
            } else {
                serde_norway::from_str(&text).map_err(|e| Problem {
                    at: e.location().map_or(String::new(), |l| format!("line {}", l.line())),
                    field: String::new(),
                    reason: e.to_string(),
                })
            };
            let file = parsed.map_err(err)?;
            Ok((file, Vec::new(), Locator::Text(text)))
        }
        Format::Csv | Format::Xlsx => {
            let (file, problems, rows) = table::read(path, format).map_err(err)?;
            Ok((file, problems, Locator::Rows(rows)))
        }
    }
}

/// How to point at an activity's field in its source file.
#[derive(Debug)]
pub enum Locator {
    /// TOML/YAML text: the line of the key.
    Text(String),
    /// CSV/XLSX: the row of each activity (1-based, as a spreadsheet shows it).
    Rows(Vec<usize>),
}

impl Locator {
    fn at(&self, activity: Option<usize>, key: &str) -> String {
        match (self, activity) {
            (Locator::Text(t), a) => {
                let l = line_of_key(t, key, a);
                if l == 0 { String::new() } else { format!("line {l}") }
            }
            (Locator::Rows(rows), Some(a)) => rows.get(a).map_or(String::new(), |r| format!("row {r}")),
            (Locator::Rows(_), None) => String::new(),
        }
    }
}

/// Checks a register model: every problem, located.
pub fn check_model(file: &RegisterFile, loc: &Locator) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut push = |a: Option<usize>, key: &str, field: String, reason: String| problems.push(Problem { at: loc.at(a, key), field, reason });
    if file.controller.name.trim().is_empty() {
        push(None, "name", "controller.name".into(), "the controller's legal name is required (Art. 30(1)(a))".into());
    }
    let mut ids = std::collections::HashSet::new();
    for (i, a) in file.activities.iter().enumerate() {
        let f = |k: &str| format!("activity[{i}].{k}");
        if a.id.trim().is_empty() || !a.id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
            push(Some(i), "id", f("id"), format!("`{}` is not an id: use letters, digits, '-', '_' or '.'", a.id));
        } else if !ids.insert(a.id.clone()) {
            push(Some(i), "id", f("id"), format!("activity id `{}` is used twice", a.id));
        }
        if a.name.trim().is_empty() {
            push(Some(i), "name", f("name"), "every activity needs a name".into());
        }
        if a.data_categories.is_empty() && a.special_categories.is_empty() {
            push(Some(i), "data_categories", f("data_categories"), "declare at least one category of personal data (Art. 30(1)(c))".into());
        }
        for c in &a.special_categories {
            if !c.is_special() {
                push(
                    Some(i),
                    "special_categories",
                    f("special_categories"),
                    format!("`{c}` is not a special category (Art. 9/10): move it to data_categories"),
                );
            }
        }
        for (field, r) in a
            .retention
            .iter()
            .map(|r| ("retention".to_string(), r))
            .chain(a.retention_by_category.iter().map(|(c, r)| (format!("retention_by_category.{c}"), r)))
        {
            if parse_retention_days(r).is_none() {
                push(Some(i), field.rsplit('.').next().unwrap_or("retention"), f(&field), format!("`{r}` is not a period like 30d, 6m or 3y"));
            }
        }
        for c in a.retention_by_category.keys() {
            if !a.declares(*c) {
                push(
                    Some(i),
                    "retention_by_category",
                    f("retention_by_category"),
                    format!("a retention is given for `{c}`, which the activity does not declare"),
                );
            }
        }
        for l in &a.allowed_locations {
            let country_code = l.len() == 2 && l.bytes().all(|b| b.is_ascii_alphabetic());
            if !country_code && !l.eq_ignore_ascii_case("EEA") {
                push(Some(i), "allowed_locations", f("allowed_locations"), format!("`{l}` is not a two-letter country code (or EU / EEA)"));
            }
        }
        for (j, r) in a.recipients.iter().enumerate() {
            for (k, reason) in r.problems() {
                push(Some(i), "recipients", f(&format!("recipients[{j}].{k}")), reason);
            }
        }
        for t in &a.transfers {
            if !(t.country.len() == 2 && t.country.bytes().all(|b| b.is_ascii_alphabetic())) {
                push(Some(i), "transfers", f("transfers.country"), format!("`{}` is not a two-letter country code", t.country));
            }
        }
        for (j, s) in a.systems.iter().enumerate() {
            for (k, list) in [("hosts", &s.hosts), ("paths", &s.paths), ("databases", &s.databases), ("tables", &s.tables)] {
                for g in list {
                    if let Err(e) = Glob::new(g) {
                        push(Some(i), k, f(&format!("system[{j}].{k}")), format!("bad glob `{g}`: {e}"));
                    }
                }
            }
            if !s.paths.is_empty() && (!s.databases.is_empty() || !s.tables.is_empty()) {
                push(
                    Some(i),
                    "paths",
                    f(&format!("system[{j}]")),
                    "a system is either files (paths) or database tables (databases/tables): split it in two".into(),
                );
            }
        }
    }
    problems
}

/// Reads and checks a register file: every problem, in order. Empty means it loads.
pub fn check_file(path: &Path) -> Result<RegisterFile, RegisterError> {
    let (file, mut problems, loc) = read_file(path)?;
    problems.extend(check_model(&file, &loc));
    if problems.is_empty() { Ok(file) } else { Err(RegisterError { file: path.display().to_string(), problems }) }
}

impl Register {
    /// Loads and checks a register file (TOML, YAML, CSV or XLSX).
    pub fn load(path: &Path) -> Result<Register, RegisterError> {
        let file = check_file(path)?;
        Register::from_model(file, path.display().to_string())
            .map_err(|reason| RegisterError { file: path.display().to_string(), problems: vec![Problem { at: String::new(), field: String::new(), reason }] })
    }

    /// Builds a register from a checked model.
    pub fn from_model(file: RegisterFile, source: String) -> Result<Register, String> {
        let glob = |g: &String| Glob::new(g).map(|g| g.compile_matcher()).map_err(|e| format!("bad glob `{g}`: {e}"));
        let mut systems = Vec::new();
        for a in &file.activities {
            let mut compiled = Vec::new();
            for s in &a.systems {
                compiled.push(CompiledSystem {
                    agents: s.agents.clone(),
                    hosts: s.hosts.iter().map(glob).collect::<Result<_, _>>()?,
                    paths: s.paths.iter().map(glob).collect::<Result<_, _>>()?,
                    databases: s.databases.iter().map(glob).collect::<Result<_, _>>()?,
                    tables: s.tables.iter().map(glob).collect::<Result<_, _>>()?,
                });
            }
            systems.push(compiled);
        }
        let recipient_hosts = file.activities.iter().map(|a| a.recipients.iter().map(Recipient::patterns).collect()).collect();
        Ok(Register { controller: file.controller, activities: file.activities, systems, recipient_hosts, source })
    }

    /// An empty register: nothing is declared, so every finding is undeclared.
    pub fn empty() -> Register {
        Register { controller: Controller::default(), activities: Vec::new(), systems: Vec::new(), recipient_hosts: Vec::new(), source: "(no register)".into() }
    }

    /// Activities whose systems cover this place.
    pub fn covering(&self, agent_id: &str, host: &str, locator: &str) -> Vec<&Activity> {
        self.activities.iter().zip(&self.systems).filter(|(_, systems)| systems.iter().any(|s| s.covers(agent_id, host, locator))).map(|(a, _)| a).collect()
    }

    /// Activities with a system on this host (whatever the path or table); only systems that
    /// name hosts or agents count.
    pub fn covering_host(&self, agent_id: &str, host: &str) -> Vec<&Activity> {
        self.activities.iter().zip(&self.systems).filter(|(_, systems)| systems.iter().any(|s| s.covers_host(agent_id, host))).map(|(a, _)| a).collect()
    }

    /// Every declared system: (activity, index of the system within it, whether `seen` covers it).
    pub fn systems_seen<'a>(&'a self, places: &[(String, String, String)]) -> Vec<(&'a Activity, &'a SystemSpec, bool)> {
        let mut out = Vec::new();
        for (a, compiled) in self.activities.iter().zip(&self.systems) {
            for (spec, c) in a.systems.iter().zip(compiled) {
                let seen = places.iter().any(|(agent, host, loc)| c.covers(agent, host, loc));
                out.push((a, spec, seen));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    fn load(text: &str) -> Result<Register, RegisterError> {
        let (_d, p) = write("register.toml", text);
        Register::load(&p)
    }

    const GOOD: &str = r#"
[controller]
name = "Exemple SAS"
dpo = { name = "C. Martin", email = "dpo@exemple.fr" }

[[activity]]
id = "accounts"
name = "Customer accounts"
purpose = "Accounts"
legal_basis = "contract"
data_categories = ["contact"]
retention = "3y"
[[activity.system]]
hosts = ["web-*"]
paths = ["/var/log/app/**"]
[[activity.system]]
databases = ["postgres://shop"]
tables = ["customers"]
"#;

    #[test]
    fn covering_matches_host_path_database_and_table_globs() {
        let r = load(GOOD).unwrap();
        assert_eq!(r.covering("a1", "web-01", "/var/log/app/x/access.log").len(), 1);
        assert!(r.covering("a1", "db-01", "/var/log/app/access.log").is_empty());
        assert!(r.covering("a1", "web-01", "/srv/export.csv").is_empty());
        assert_eq!(r.covering("a1", "db-01", "postgres://shop/customers").len(), 1);
        assert!(r.covering("a1", "db-01", "postgres://shop/orders").is_empty());
    }

    #[test]
    fn a_dpo_can_write_a_table_the_way_people_name_it() {
        // What the agent sends for a PostgreSQL table and for a SQLite one.
        let pg = "postgres://127.0.0.1:5432/dpo_scen/shop.customers";
        let lite = "sqlite:///var/lib/chat/chat.db/accounts";
        for (databases, tables, locator) in [
            ("postgres://dpo_scen", "customers", pg),
            ("postgres://dpo_scen", "shop.customers", pg),
            ("dpo_scen", "*.customers", pg),
            ("postgres://127.0.0.1/dpo_scen", "customers", pg),
            ("postgres://*/dpo_scen", "customers", pg),
            ("*", "dpo_scen.shop.customers", pg),
            ("chat.db", "accounts", lite),
            ("/var/lib/chat/chat.db", "accounts", lite),
        ] {
            let r = load(&format!(
                "[controller]\nname = 'X'\n[[activity]]\nid = 'a'\nname = 'A'\nlegal_basis = 'contract'\ndata_categories = ['contact']\n[[activity.system]]\ndatabases = ['{databases}']\ntables = ['{tables}']\n"
            ))
            .unwrap();
            assert_eq!(r.covering("agent", "db-01", locator).len(), 1, "databases {databases} tables {tables} should cover {locator}");
        }
        let r = load("[controller]\nname = 'X'\n[[activity]]\nid = 'a'\nname = 'A'\nlegal_basis = 'contract'\ndata_categories = ['contact']\n[[activity.system]]\ndatabases = ['postgres://other']\ntables = ['customers']\n").unwrap();
        assert!(r.covering("agent", "db-01", pg).is_empty(), "another database is another system");
    }

    #[test]
    fn unknown_category_names_line() {
        let e = load(&GOOD.replace("[\"contact\"]", "[\"contacts\"]")).unwrap_err();
        assert_eq!(e.problems[0].at, "line 11", "{e}");
        assert!(e.problems[0].reason.contains("contacts"), "{e}");
    }

    #[test]
    fn typo_in_field_name_is_refused() {
        let e = load(&GOOD.replace("legal_basis", "legal_bassis")).unwrap_err();
        assert!(e.to_string().contains("legal_bassis"), "{e}");
    }

    #[test]
    fn every_problem_is_reported_with_its_line_and_field() {
        let text = GOOD.replace("\"3y\"", "\"three years\"").replace("[\"contact\"]", "[]").replace("\"web-*\"", "\"web-[\"");
        let e = load(&text).unwrap_err();
        let fields: Vec<&str> = e.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["activity[0].data_categories", "activity[0].retention", "activity[0].system[0].hosts"], "{e}");
        assert_eq!(e.problems[1].at, "line 12", "{e}");
    }

    #[test]
    fn yaml_register_loads_like_toml() {
        let yaml = "controller:\n  name: Exemple SAS\n  dpo: { name: C. Martin, email: dpo@exemple.fr }\nactivity:\n  - id: accounts\n    name: Customer accounts\n    purpose: Accounts\n    legal_basis: contract\n    data_categories: [contact]\n    system:\n      - paths: ['/var/log/app/**']\n";
        let (_d, p) = write("r.yaml", yaml);
        let r = Register::load(&p).unwrap();
        assert_eq!(r.covering("a", "h", "/var/log/app/a.log")[0].id, "accounts");
        let (_d, p) = write("r.yaml", &yaml.replace("legal_basis: contract", "legal_basis: contrat"));
        let e = Register::load(&p).unwrap_err();
        assert!(e.problems[0].at.starts_with("line "), "{e}");
        assert!(e.to_string().contains("contrat"), "{e}");
    }

    const RECIPIENTS: &str = "[controller]\nname = 'X'\n[[activity]]\nid = 'm'\nname = 'Marketing'\nlegal_basis = 'consent'\ndata_categories = ['contact']\nrecipients = [\n  'customer support',\n  { name = 'Analytics', hosts = ['analytics.example'], country = 'US', safeguard = 'scc' },\n]\n";

    #[test]
    fn recipients_are_names_or_tables_with_hosts_country_and_safeguard_in_every_format() {
        let r = load(RECIPIENTS).unwrap();
        assert_eq!(r.recipients_of_host("cdn.analytics.example")[0].1.0.name, "Analytics");
        assert!(r.recipients_of_host("support.example").is_empty(), "a name alone matches no host");
        let yaml = "controller: { name: X }\nactivity:\n  - id: m\n    name: Marketing\n    legal_basis: consent\n    data_categories: [contact]\n    recipients:\n      - customer support\n      - { name: Analytics, role: processor, hosts: [analytics.example], country: US }\n";
        let (_d, p) = write("r.yaml", yaml);
        let r = Register::load(&p).unwrap();
        assert_eq!(r.recipients_of_host("analytics.example")[0].1.0.role, RecipientRole::Processor);
        let csv = "Activity id,Activity,Legal basis,Data categories,Recipients,Controller\nm,Marketing,consent,contact,customer support; Analytics [analytics.example | US | scc],X\n";
        let (_d, p) = write("r.csv", csv);
        let r = Register::load(&p).unwrap();
        assert_eq!(r.recipients_of_host("analytics.example")[0].1.0.safeguard, Some(Safeguard::Scc));
        let (_d, p) = write("r.csv", &csv.replace("scc]", "pinky promise]"));
        let e = Register::load(&p).unwrap_err();
        assert!(e.to_string().contains("row 2: Recipients: `pinky promise` is not a safeguard"), "{e}");
    }

    #[test]
    fn a_bad_recipient_is_refused_with_its_line_and_field() {
        let e = load(&RECIPIENTS.replace("hosts =", "hostz =")).unwrap_err();
        assert!(e.to_string().contains("hostz") && e.problems[0].at.starts_with("line "), "{e}");
        let e = load(&RECIPIENTS.replace("'US'", "'USA'").replace("'analytics.example'", "'analytics example'")).unwrap_err();
        let fields: Vec<&str> = e.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["activity[0].recipients[1].hosts", "activity[0].recipients[1].country"], "{e}");
        assert_eq!(e.problems[0].at, "line 8", "{e}");
        let e = load(&RECIPIENTS.replace("'scc'", "'trust'")).unwrap_err();
        assert!(e.to_string().contains("trust"), "{e}");
    }

    #[test]
    fn retention_periods() {
        assert_eq!(parse_retention_days("30d"), Some(30));
        assert_eq!(parse_retention_days("3y"), Some(1095));
        assert_eq!(parse_retention_days("6 months"), Some(180));
        assert_eq!(parse_retention_days("y"), None);
    }

    #[test]
    fn eu_location_expands_to_member_states() {
        let mut r = load(GOOD).unwrap();
        r.activities[0].allowed_locations = vec!["EU".into()];
        assert!(r.activities[0].allows_location("fr"));
        assert!(!r.activities[0].allows_location("US"));
    }
}
