//! New or grown files holding many personal records: `personal_data_file`.
//!
//! A customer export left in `/tmp`, a home directory or a web root is how many breaches
//! start. When a scheduled scan finds a file that is new or changed since the last scan, the
//! number of distinct personal values in it (by fingerprint, summed over its columns) is
//! weighed by its place: `exposed_place_weight` in temporary directories, home directories, web
//! roots and shares, 1 elsewhere. A weighted count of at least `file_min_distinct` is reported.
//! Whether the place is covered by the register is the collector's call, not the agent's.

use super::signal::{Anomaly, ExportEvent, SizeMethod};
use crate::config::AnomalyConfig;
use std::path::Path;

/// Weighs a new (`grown` false) or grown file holding `distinct` people in `rows` records,
/// last written at `mtime_ms` (its event time), in the exposed place of kind `place` if any
/// (see [`crate::place::Places`]).
pub fn assess(path: &Path, place: Option<&'static str>, distinct: u64, rows: u64, mtime_ms: i64, grown: bool, config: &AnomalyConfig) -> Option<Anomaly> {
    let kind = place;
    let place = place.map(crate::place::place_name);
    let weight = if place.is_some() { config.exposed_place_weight } else { 1.0 };
    let threshold = config.file_min_distinct as f64 / weight;
    if (distinct as f64) < threshold {
        return None;
    }
    let what = if grown { "grown file" } else { "new file" };
    let detail = match place {
        Some(p) => format!("{what} in {p}: {rows} records, {distinct} people"),
        None => format!("{what}: {rows} records, {distinct} people"),
    };
    let mut event = ExportEvent::new("file", mtime_ms);
    event.path = Some(path.display().to_string());
    event.place = kind;
    event.size(rows, SizeMethod::FileRows);
    Some(Anomaly::new("personal_data_file", distinct, None, threshold, None, detail, if place.is_some() { 0.8 } else { 0.6 }).with_event(event))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_people_in_tmp_fire_sooner_than_in_an_application_directory() {
        let c = AnomalyConfig::default();
        let tmp = assess(Path::new("/tmp/customers.csv"), Some("tmp"), 400, 410, 7, false, &c).unwrap();
        assert_eq!(tmp.detail, "new file in tmp dir: 410 records, 400 people");
        assert_eq!(tmp.threshold, 250.0);
        let e = tmp.event.as_ref().unwrap();
        assert_eq!((e.place, e.records, e.start_ms), (Some("tmp"), Some((410, SizeMethod::FileRows)), 7));
        assert_eq!(e.signature(None), "file|path=/tmp/customers.csv");
        assert_eq!(assess(Path::new("/opt/crm/data/customers.csv"), None, 400, 400, 0, false, &c), None);
        assert!(assess(Path::new("/opt/crm/data/customers.csv"), None, 5000, 5000, 0, true, &c).is_some_and(|a| a.detail.starts_with("grown file:")));
        assert_eq!(crate::place::kind_of_place(Path::new("/var/www/html/patients.csv")), Some("web_root"));
        assert_eq!(crate::place::kind_of_place(Path::new("/srv/app/patients.csv")), None);
    }

    #[test]
    fn a_file_with_a_few_people_is_quiet_anywhere() {
        let c = AnomalyConfig::default();
        assert_eq!(assess(Path::new("/var/www/html/contact.html"), Some("web_root"), 3, 3, 0, false, &c), None);
        assert_eq!(assess(Path::new("/home/ann/notes.txt"), Some("home"), 12, 40, 0, true, &c), None);
    }
}
