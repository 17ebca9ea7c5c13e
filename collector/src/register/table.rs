//! The register as a table (CSV or XLSX), laid out like the CNIL register template: one row
//! per processing activity, one column per Art. 30 heading. Many DPOs keep their register in a
//! spreadsheet; this module reads it so they need not retype it.
//!
//! Header row (case-insensitive; English names or the French ones of the CNIL template):
//!
//! | column | French | content |
//! |---|---|---|
//! | `Activity id` | `Identifiant` | short stable id |
//! | `Activity` | `Activité` | name |
//! | `Purpose` | `Finalité` | purpose(s) |
//! | `Legal basis` | `Base légale` | consent, contract, legal obligation, … |
//! | `Data subjects` | `Personnes concernées` | list |
//! | `Data categories` | `Catégories de données` | list of Custos categories |
//! | `Special categories` | `Données sensibles` | list (Art. 9 / 10) |
//! | `Recipients` | `Destinataires` | list; each `Name` or `Name [hosts \| country \| safeguard \| role]` |
//! | `Transfers` | `Transferts` | `US: scc; IN: adequacy` |
//! | `Retention` | `Durée de conservation` | `3y`, or `contact=3y; financial=10y` |
//! | `Security measures` | `Mesures de sécurité` | list |
//! | `Allowed locations` | `Localisation` | country codes, `EU` |
//! | `Agents`, `Hosts`, `Paths`, `Databases`, `Tables` | | the system the row covers |
//! | `Controller`, `Controller address`, `DPO name`, `DPO e-mail`, `DPO phone` | `Responsable`, `DPO` … | first non-empty row wins |
//!
//! Lists are separated by `;` or new lines (and `,` for categories and globs). Row numbers in
//! problems are the spreadsheet's (the header is row 1).

use super::model::{Activity, Contact, Controller, Format, LegalBasis, Problem, RegisterFile, SystemSpec, Transfer};
use super::recipient::{Recipient, Safeguard};
use custos_rules::Category;
use std::path::Path;

/// The columns, with their accepted header names (lower case).
const COLUMNS: &[(&str, &[&str])] = &[
    ("id", &["activity id", "id", "identifiant", "ref", "référence"]),
    ("name", &["activity", "name", "activité", "activite", "nom"]),
    ("purpose", &["purpose", "purposes", "finalité", "finalités", "finalite"]),
    ("legal_basis", &["legal basis", "base légale", "base legale"]),
    ("data_subjects", &["data subjects", "personnes concernées", "personnes concernees"]),
    ("data_categories", &["data categories", "catégories de données", "categories de donnees"]),
    ("special_categories", &["special categories", "données sensibles", "donnees sensibles"]),
    ("recipients", &["recipients", "destinataires"]),
    ("transfers", &["transfers", "transferts", "transfers outside the eu"]),
    ("retention", &["retention", "durée de conservation", "duree de conservation"]),
    ("security_measures", &["security measures", "mesures de sécurité", "mesures de securite"]),
    ("allowed_locations", &["allowed locations", "localisation", "locations"]),
    ("agents", &["agents"]),
    ("hosts", &["hosts", "hôtes", "serveurs"]),
    ("paths", &["paths", "chemins"]),
    ("databases", &["databases", "bases de données"]),
    ("tables", &["tables"]),
    ("controller", &["controller", "responsable de traitement", "responsable"]),
    ("controller_address", &["controller address", "adresse"]),
    ("dpo_name", &["dpo name", "dpo", "délégué"]),
    ("dpo_email", &["dpo e-mail", "dpo email", "courriel dpo"]),
    ("dpo_phone", &["dpo phone", "téléphone dpo"]),
];

/// Reads the cells of a CSV or XLSX register: rows of strings, header first.
fn cells(path: &Path, format: Format) -> Result<Vec<Vec<String>>, Problem> {
    let whole = |reason: String| Problem { at: String::new(), field: String::new(), reason };
    match format {
        Format::Csv => {
            let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_path(path).map_err(|e| whole(format!("cannot read CSV: {e}")))?;
            let mut rows = Vec::new();
            for r in rdr.records() {
                let r = r.map_err(|e| whole(format!("bad CSV: {e}")))?;
                rows.push(r.iter().map(|c| c.trim().to_string()).collect());
            }
            Ok(rows)
        }
        Format::Xlsx => {
            use calamine::Reader;
            let mut wb: calamine::Xlsx<_> = calamine::open_workbook(path).map_err(|e| whole(format!("cannot read XLSX: {e}")))?;
            let names = wb.sheet_names();
            let sheet = names
                .iter()
                .find(|n| n.eq_ignore_ascii_case("activities") || n.eq_ignore_ascii_case("activités"))
                .or(names.first())
                .cloned()
                .ok_or_else(|| whole("the workbook has no sheet".into()))?;
            let range = wb.worksheet_range(&sheet).map_err(|e| whole(format!("sheet `{sheet}`: {e}")))?;
            // Keep spreadsheet row numbers: pad the rows above the used range.
            let first_row = range.start().map_or(0, |(r, _)| r as usize);
            let first_col = range.start().map_or(0, |(_, c)| c as usize);
            let mut rows: Vec<Vec<String>> = vec![Vec::new(); first_row];
            for r in range.rows() {
                let mut row = vec![String::new(); first_col];
                row.extend(r.iter().map(|c| match c {
                    calamine::Data::Empty => String::new(),
                    calamine::Data::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
                    other => other.to_string().trim().to_string(),
                }));
                rows.push(row);
            }
            Ok(rows)
        }
        _ => Err(whole("not a table format".into())),
    }
}

fn split(s: &str, commas: bool) -> Vec<String> {
    s.split(|c| c == ';' || c == '\n' || (commas && c == ',')).map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect()
}

fn category(s: &str) -> Option<Category> {
    let norm = s.trim().to_lowercase().replace([' ', '-'], "_");
    norm.parse().ok()
}

/// Reads a CSV or XLSX register: the model, the problems found while reading cells, and the
/// spreadsheet row of each activity.
pub fn read(path: &Path, format: Format) -> Result<(RegisterFile, Vec<Problem>, Vec<usize>), Problem> {
    let rows = cells(path, format)?;
    let Some(header_idx) = rows.iter().position(|r| r.iter().any(|c| !c.is_empty())) else {
        return Err(Problem { at: String::new(), field: String::new(), reason: "the table is empty: it needs a header row and one row per activity".into() });
    };
    let mut problems = Vec::new();
    let mut cols: Vec<Option<&str>> = Vec::new();
    for (i, h) in rows[header_idx].iter().enumerate() {
        let key = h.trim().to_lowercase();
        let found = COLUMNS.iter().find(|(_, names)| names.contains(&key.as_str())).map(|(k, _)| *k);
        if found.is_none() && !key.is_empty() {
            problems.push(Problem {
                at: format!("row {}", header_idx + 1),
                field: format!("column {} `{h}`", i + 1),
                reason: format!("unknown column; known columns: {}", COLUMNS.iter().map(|(_, n)| n[0]).collect::<Vec<_>>().join(", ")),
            });
        }
        cols.push(found);
    }
    for required in ["id", "name", "legal_basis", "data_categories"] {
        if !cols.contains(&Some(required)) {
            let name = COLUMNS.iter().find(|(k, _)| *k == required).map_or(required, |(_, n)| n[0]);
            problems.push(Problem { at: format!("row {}", header_idx + 1), field: name.into(), reason: format!("the column `{name}` is missing") });
        }
    }
    fn header_name(k: &str) -> String {
        let name = COLUMNS.iter().find(|(c, _)| *c == k).map_or(k, |(_, n)| n[0]);
        let mut chars = name.chars();
        chars.next().map_or(String::new(), |f| f.to_uppercase().chain(chars).collect())
    }
    let mut controller = Controller::default();
    let mut activities = Vec::new();
    let mut row_numbers = Vec::new();
    for (ri, row) in rows.iter().enumerate().skip(header_idx + 1) {
        if row.iter().all(|c| c.is_empty()) {
            continue;
        }
        let rownum = ri + 1;
        let get = |k: &str| cols.iter().position(|c| *c == Some(k)).and_then(|i| row.get(i)).map(String::as_str).unwrap_or("");
        let mut bad = |k: &str, reason: String| problems.push(Problem { at: format!("row {rownum}"), field: header_name(k), reason });
        for (k, slot) in [("controller", &mut controller.name), ("controller_address", &mut controller.address)] {
            if slot.is_empty() {
                *slot = get(k).to_string();
            }
        }
        let Contact { name, email, phone } = &mut controller.dpo;
        for (k, slot) in [("dpo_name", name), ("dpo_email", email), ("dpo_phone", phone)] {
            if slot.is_empty() {
                *slot = get(k).to_string();
            }
        }
        let legal_basis = match LegalBasis::parse(get("legal_basis")) {
            Some(b) => b,
            None => {
                bad("legal_basis", format!("`{}` is not a legal basis; use one of {}", get("legal_basis"), LegalBasis::ALL.map(|(_, n)| n).join(", ")));
                LegalBasis::Contract
            }
        };
        let mut cats = |k: &str| -> Vec<Category> {
            split(get(k), true)
                .into_iter()
                .filter_map(|c| {
                    let parsed = category(&c);
                    if parsed.is_none() {
                        bad(k, format!("`{c}` is not a data category; use one of {}", Category::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")));
                    }
                    parsed
                })
                .collect()
        };
        let data_categories = cats("data_categories");
        let special_categories = cats("special_categories");
        let mut transfers = Vec::new();
        for t in split(get("transfers"), false) {
            let (country, safeguard) = t.split_once(':').unwrap_or((&t, ""));
            match Safeguard::parse(safeguard) {
                Some(safeguard) => transfers.push(Transfer { country: country.trim().to_uppercase(), safeguard }),
                None => bad("transfers", format!("`{t}` must read COUNTRY: SAFEGUARD with a safeguard among adequacy, scc, bcr, derogation")),
            }
        }
        let mut retention = None;
        let mut retention_by_category = std::collections::BTreeMap::new();
        for r in split(get("retention"), false) {
            match r.split_once(['=', ':']) {
                Some((c, period)) => match category(c) {
                    Some(c) => {
                        retention_by_category.insert(c, period.trim().to_string());
                    }
                    None => bad("retention", format!("`{c}` is not a data category")),
                },
                None => retention = Some(r),
            }
        }
        let system = SystemSpec {
            agents: split(get("agents"), true),
            hosts: split(get("hosts"), true),
            paths: split(get("paths"), true),
            databases: split(get("databases"), true),
            tables: split(get("tables"), true),
        };
        activities.push(Activity {
            id: get("id").to_string(),
            name: get("name").to_string(),
            purpose: get("purpose").to_string(),
            legal_basis,
            data_subjects: split(get("data_subjects"), false),
            data_categories,
            special_categories,
            recipients: split(get("recipients"), false)
                .into_iter()
                .filter_map(|cell| Recipient::parse_cell(&cell).map_err(|reason| bad("recipients", reason)).ok())
                .collect(),
            transfers,
            retention,
            retention_by_category,
            security_measures: split(get("security_measures"), false),
            allowed_locations: split(get("allowed_locations"), true).into_iter().map(|l| l.to_uppercase()).collect(),
            systems: if system == SystemSpec::default() { Vec::new() } else { vec![system] },
        });
        row_numbers.push(rownum);
    }
    Ok((RegisterFile { controller, activities }, problems, row_numbers))
}

/// Renders a register model as native TOML (what `register import` writes).
pub fn to_toml(file: &RegisterFile) -> Result<String, String> {
    let body = toml::to_string_pretty(file).map_err(|e| e.to_string())?;
    Ok(format!(
        "# Record of processing activities (GDPR Art. 30), imported by custos-collector.\n# Check it with: custos-collector register check FILE\n\n{body}"
    ))
}
