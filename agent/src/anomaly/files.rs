//! New or grown files holding many personal records: `personal_data_file`.
//!
//! A customer export left in `/tmp`, a home directory or a web root is how many breaches
//! start. When a scheduled scan finds a file that is new or changed since the last scan, the
//! number of distinct personal values in it (by fingerprint, summed over its columns) is
//! weighed by its place: `exposed_place_weight` in temporary directories, home directories, web
//! roots and shares, 1 elsewhere. A weighted count of at least `file_min_distinct` is reported.
//! Whether the place is covered by the register is the collector's call, not the agent's.

use super::signal::Anomaly;
use crate::config::AnomalyConfig;
use std::path::Path;

/// Where exports hide, by path fragment.
const PLACES: &[(&str, &[&str])] = &[
    ("tmp dir", &["/tmp/", "/var/tmp/", "/dev/shm/"]),
    ("home dir", &["/home/", "/root/", "/Users/"]),
    ("web root", &["/var/www/", "/srv/www/", "/usr/share/nginx/", "/public_html/", "/htdocs/", "/wwwroot/", "/public/"]),
    ("share", &["/mnt/", "/media/", "/srv/share", "/share/", "/shares/", "/nfs/", "/smb/", "/samba/"]),
];

/// The kind of exposed place `path` is in, if any.
pub fn exposed_place(path: &Path) -> Option<&'static str> {
    let p = path.to_string_lossy();
    PLACES.iter().find(|(_, frags)| frags.iter().any(|f| p.contains(f))).map(|(name, _)| *name)
}

/// Weighs a new (`grown` false) or grown file holding `distinct` personal values.
pub fn assess(path: &Path, distinct: u64, grown: bool, config: &AnomalyConfig) -> Option<Anomaly> {
    let place = exposed_place(path);
    let weight = if place.is_some() { config.exposed_place_weight } else { 1.0 };
    let threshold = config.file_min_distinct as f64 / weight;
    if (distinct as f64) < threshold {
        return None;
    }
    let what = if grown { "grown file" } else { "new file" };
    let detail = match place {
        Some(p) => format!("{what} in {p}"),
        None => what.to_string(),
    };
    Some(Anomaly {
        heuristic: "personal_data_file",
        observed: distinct,
        baseline: None,
        threshold,
        actor: None,
        detail,
        confidence: if place.is_some() { 0.8 } else { 0.6 },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_people_in_tmp_fire_sooner_than_in_an_application_directory() {
        let c = AnomalyConfig::default();
        let tmp = assess(Path::new("/tmp/customers.csv"), 400, false, &c).unwrap();
        assert_eq!(tmp.detail, "new file in tmp dir");
        assert_eq!(tmp.threshold, 250.0);
        assert_eq!(assess(Path::new("/opt/crm/data/customers.csv"), 400, false, &c), None);
        assert!(assess(Path::new("/opt/crm/data/customers.csv"), 5000, true, &c).is_some_and(|a| a.detail == "grown file"));
    }

    #[test]
    fn a_file_with_a_few_people_is_quiet_anywhere() {
        let c = AnomalyConfig::default();
        assert_eq!(assess(Path::new("/var/www/html/contact.html"), 3, false, &c), None);
        assert_eq!(assess(Path::new("/home/ann/notes.txt"), 12, true, &c), None);
    }
}
