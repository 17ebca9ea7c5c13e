//! Exposed places: where exports and forgotten copies of personal data hide.
//!
//! A customer export left in `/tmp`, a home directory, a web root or a share is how many
//! breaches start. The agent says which kind of place a file is in (`kind_of_place`); whether
//! the place is covered by the register, and whether personal data there is a breach, is the
//! collector's call.

use std::path::Path;

/// By path fragment: the name in details, the `kind_of_place` on the wire.
const PLACES: &[(&str, &str, &[&str])] = &[
    ("tmp dir", "tmp", &["/tmp/", "/var/tmp/", "/dev/shm/"]),
    ("home dir", "home", &["/home/", "/root/", "/Users/"]),
    ("web root", "web_root", &["/var/www/", "/srv/www/", "/usr/share/nginx/", "/public_html/", "/htdocs/", "/wwwroot/", "/public/"]),
    ("share", "share", &["/mnt/", "/media/", "/srv/share", "/share/", "/shares/", "/nfs/", "/smb/", "/samba/"]),
];

/// The place nearest to the file: the fragment found last in its path (`/tmp/x/var/www/a.csv`
/// is in a web root; `/var/www/tmp/a.csv` in a temporary directory).
fn place(path: &Path) -> Option<&'static (&'static str, &'static str, &'static [&'static str])> {
    let p = path.to_string_lossy();
    PLACES.iter().filter_map(|place| place.2.iter().filter_map(|f| p.rfind(f)).max().map(|at| (at, place))).max_by_key(|(at, _)| *at).map(|(_, place)| place)
}

/// The kind of exposed place `path` is in, if any, in words (`tmp dir`, `web root` …).
pub fn exposed_place(path: &Path) -> Option<&'static str> {
    place(path).map(|(name, _, _)| *name)
}

/// The kind of exposed place `path` is in, as sent (`kind_of_place`): `tmp`, `home`,
/// `web_root` or `share`.
pub fn kind_of_place(path: &Path) -> Option<&'static str> {
    place(path).map(|(_, kind, _)| *kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_place_nearest_to_the_file_wins() {
        assert_eq!(kind_of_place(Path::new("/tmp/x/var/www/html/patients.csv")), Some("web_root"));
        assert_eq!(kind_of_place(Path::new("/var/www/tmp/a.csv")), Some("tmp"));
        assert_eq!(kind_of_place(Path::new("/home/ann/exports/a.csv")), Some("home"));
        assert_eq!(exposed_place(Path::new("/mnt/nas/share/a.csv")), Some("share"));
        assert_eq!(kind_of_place(Path::new("/srv/app/data/a.csv")), None);
    }
}
