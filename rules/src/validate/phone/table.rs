//! The number plans of libphonenumber's metadata, as a small text table compiled into the
//! binary (`plans.txt`), read on first use.
//!
//! # Why not the `phonenumber` crate's database at run time
//! Loading it parses every one of its thousands of regexes (a syntax check per pattern), which
//! cost about 0.13 s of every process that met one phone candidate — a fifth of a one-shot scan
//! of 55 MB. The validator needs only a region's code, trunk prefix and the national-number
//! patterns with their lengths; those are copied here from the crate's metadata, and
//! [`tests::the_table_is_the_crate_metadata`] fails when they drift (after an upgrade of the
//! crate: `CUSTOS_WRITE_PHONE_PLANS=1 cargo test -p custos-rules the_table_is` rewrites it).
//!
//! # Format
//! One region per `R` line (`R <id> <country code> <national prefix or ->`), followed by its
//! descriptors, one per `D` line (`D <kind> <possible lengths, comma-separated, or -> <pattern>`),
//! the general descriptor first. Patterns are written without whitespace (they are compiled in
//! `(?x)` mode, where whitespace means nothing). Regions are in country-code order, and regions
//! sharing a code in the metadata's order (its main country first).

use std::collections::HashMap;
use std::sync::OnceLock;

/// The table (see the module documentation).
const PLANS: &str = include_str!("plans.txt");

/// One descriptor: a number type's national-number pattern and possible lengths.
pub(super) struct Desc {
    /// `fixed_line`, `mobile`, … (`general` for the region's general descriptor).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) kind: &'static str,
    pub(super) pattern: &'static str,
    pub(super) lengths: Vec<u16>,
}

/// One region of the metadata.
pub(super) struct Region {
    pub(super) id: &'static str,
    pub(super) code: u16,
    pub(super) prefix: Option<&'static str>,
    pub(super) general: Desc,
    pub(super) types: Vec<Desc>,
    /// Its position in [`Table::regions`] (where its compiled plan is kept).
    pub(super) index: usize,
}

/// The regions, by country code and by id.
pub(super) struct Table {
    pub(super) regions: Vec<Region>,
    by_code: HashMap<u16, Vec<usize>>,
    by_id: HashMap<&'static str, usize>,
}

impl Table {
    /// The table compiled into the binary, parsed once.
    pub(super) fn get() -> &'static Table {
        static TABLE: OnceLock<Table> = OnceLock::new();
        TABLE.get_or_init(|| Table::parse(PLANS))
    }

    /// Parses the table. Lines it cannot read are skipped: the table is ours, checked by a test.
    fn parse(text: &'static str) -> Table {
        let mut regions: Vec<Region> = Vec::new();
        for line in text.lines() {
            let mut f = line.splitn(4, ' ');
            match (f.next(), f.next(), f.next(), f.next()) {
                (Some("R"), Some(id), Some(code), Some(prefix)) => {
                    let Ok(code) = code.parse() else { continue };
                    let prefix = (prefix != "-").then_some(prefix);
                    regions.push(Region {
                        id,
                        code,
                        prefix,
                        general: Desc { kind: "general", pattern: "", lengths: Vec::new() },
                        types: Vec::new(),
                        index: regions.len(),
                    });
                }
                (Some("D"), Some(kind), Some(lengths), Some(pattern)) => {
                    let Some(region) = regions.last_mut() else { continue };
                    let lengths = lengths.split(',').filter_map(|l| l.parse().ok()).collect();
                    let desc = Desc { kind, pattern, lengths };
                    if kind == "general" {
                        region.general = desc;
                    } else {
                        region.types.push(desc);
                    }
                }
                _ => {}
            }
        }
        let mut by_code: HashMap<u16, Vec<usize>> = HashMap::new();
        let mut by_id = HashMap::new();
        for (i, r) in regions.iter().enumerate() {
            by_code.entry(r.code).or_default().push(i);
            by_id.insert(r.id, i);
        }
        Table { regions, by_code, by_id }
    }

    /// The regions of a country code, main country first.
    pub(super) fn by_code(&self, code: u16) -> Option<impl Iterator<Item = &Region>> {
        self.by_code.get(&code).map(|ids| ids.iter().map(|&i| &self.regions[i]))
    }

    /// A region by its id (`FR`, `001` for non-geographic codes).
    pub(super) fn by_id(&self, id: &str) -> Option<&Region> {
        self.by_id.get(id).map(|&i| &self.regions[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phonenumber::metadata::{DATABASE, Descriptor};

    /// The table as the `phonenumber` crate's metadata gives it.
    fn from_crate() -> String {
        let mut out = String::from("# Generated from the phonenumber crate's metadata: see table.rs. Do not edit.\n");
        let desc = |out: &mut String, kind: &str, d: &Descriptor| {
            let lengths: Vec<String> = d.possible_length().iter().map(u16::to_string).collect();
            let lengths = if lengths.is_empty() { "-".to_string() } else { lengths.join(",") };
            let pattern: String = d.national_number().as_str().chars().filter(|c| !c.is_whitespace()).collect();
            out.push_str(&format!("D {kind} {lengths} {pattern}\n"));
        };
        for code in 1..=999u16 {
            for m in DATABASE.by_code(&code).unwrap_or_default() {
                out.push_str(&format!("R {} {} {}\n", m.id(), m.country_code(), m.national_prefix().unwrap_or("-")));
                let ds = m.descriptors();
                desc(&mut out, "general", ds.general());
                let types = [
                    ("fixed_line", ds.fixed_line()),
                    ("mobile", ds.mobile()),
                    ("toll_free", ds.toll_free()),
                    ("premium_rate", ds.premium_rate()),
                    ("shared_cost", ds.shared_cost()),
                    ("personal_number", ds.personal_number()),
                    ("voip", ds.voip()),
                    ("pager", ds.pager()),
                    ("uan", ds.uan()),
                    ("voicemail", ds.voicemail()),
                ];
                for (kind, d) in types {
                    if let Some(d) = d {
                        desc(&mut out, kind, d);
                    }
                }
            }
        }
        out
    }

    #[test]
    fn the_table_is_the_crate_metadata() {
        let want = from_crate();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/validate/phone/plans.txt");
        if std::env::var_os("CUSTOS_WRITE_PHONE_PLANS").is_some() {
            std::fs::write(path, &want).unwrap();
        }
        assert!(PLANS == want, "plans.txt differs from the phonenumber crate's metadata: rerun with CUSTOS_WRITE_PHONE_PLANS=1");
        // No pattern relied on an escaped space or a comment (whitespace was dropped).
        assert!(!want.contains('#') || want.matches('#').count() == 1);
    }

    #[test]
    fn the_table_reads_back_every_region() {
        let t = Table::parse(PLANS);
        assert!(t.regions.len() > 240, "{} regions", t.regions.len());
        let fr = t.by_id("FR").unwrap();
        assert_eq!((fr.code, fr.prefix), (33, Some("0")));
        assert!(fr.types.iter().any(|d| d.kind == "mobile" && d.lengths == [9]));
        assert_eq!(t.by_code(1).unwrap().next().unwrap().id, "US", "the main country comes first");
        assert!(t.regions.iter().all(|r| !r.general.pattern.is_empty()));
    }
}
