//! Exposed places: where exports and forgotten copies of personal data hide.
//!
//! A customer export left in `/tmp`, a home directory, a web root or a share is how many
//! breaches start. The agent says which kind of place a file is in (`kind_of_place`); whether
//! the place is covered by the register, and whether personal data there is a breach, is the
//! collector's call.
//!
//! By default a place is recognised by a fragment of the path (`/var/www/`, `/tmp/` …), the
//! one nearest to the file winning. A site whose web roots or shares live elsewhere lists them
//! instead (`[anomaly] exposed_places = ["web_root=/opt/shop/public/**", …]`); the list then
//! replaces the fragments, first match wins.

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
fn by_fragment(path: &Path) -> Option<&'static str> {
    let p = path.to_string_lossy();
    PLACES.iter().filter_map(|place| place.2.iter().filter_map(|f| p.rfind(f)).max().map(|at| (at, place.1))).max_by_key(|(at, _)| *at).map(|(_, kind)| kind)
}

/// The words for a kind of place (`web_root` → `web root`).
pub fn place_name(kind: &str) -> &'static str {
    PLACES.iter().find(|p| p.1 == kind).map_or("exposed place", |p| p.0)
}

/// How the agent recognises exposed places: the built-in path fragments, or the site's own
/// list of `kind=glob` entries.
#[derive(Debug, Clone, Default)]
pub struct Places {
    globs: Option<Vec<(&'static str, glob::Pattern)>>,
}

impl Places {
    /// Places from `kind=glob` entries (kinds `tmp`, `home`, `web_root`, `share`); `None` keeps
    /// the built-in fragments. The error names the bad entry.
    pub fn new(entries: Option<&[String]>) -> Result<Places, String> {
        let Some(entries) = entries else { return Ok(Places::default()) };
        let mut globs = Vec::new();
        for e in entries {
            let Some((kind, pattern)) = e.split_once('=') else {
                return Err(format!("`{e}`: write `KIND=GLOB`, KIND one of tmp, home, web_root, share"));
            };
            let Some(kind) = PLACES.iter().map(|p| p.1).find(|k| *k == kind.trim()) else {
                return Err(format!("`{e}`: `{kind}` is not a kind of place; use tmp, home, web_root or share"));
            };
            let pattern = glob::Pattern::new(pattern.trim()).map_err(|err| format!("`{e}`: bad glob: {err}"))?;
            globs.push((kind, pattern));
        }
        Ok(Places { globs: Some(globs) })
    }

    /// The kind of exposed place `path` is in, as sent (`kind_of_place`): `tmp`, `home`,
    /// `web_root` or `share`.
    pub fn kind(&self, path: &Path) -> Option<&'static str> {
        match &self.globs {
            None => by_fragment(path),
            Some(globs) => {
                let opts = glob::MatchOptions { case_sensitive: true, require_literal_separator: true, require_literal_leading_dot: false };
                globs.iter().find(|(_, p)| p.matches_path_with(path, opts)).map(|(k, _)| *k)
            }
        }
    }
}

/// The kind of exposed place `path` is in by the built-in fragments (see [`Places::kind`]).
pub fn kind_of_place(path: &Path) -> Option<&'static str> {
    by_fragment(path)
}

/// The kind of exposed place `path` is in by the built-in fragments, in words (`tmp dir`,
/// `web root` …).
pub fn exposed_place(path: &Path) -> Option<&'static str> {
    by_fragment(path).map(place_name)
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

    #[test]
    fn a_sites_own_list_replaces_the_fragments() {
        let p = Places::new(Some(&["web_root=/opt/shop/public/**".to_string(), "tmp=/scratch/*".to_string()])).unwrap();
        assert_eq!(p.kind(Path::new("/opt/shop/public/exports/a.csv")), Some("web_root"));
        assert_eq!(p.kind(Path::new("/scratch/a.csv")), Some("tmp"));
        assert_eq!(p.kind(Path::new("/scratch/deep/a.csv")), None, "`*` stays in its directory");
        assert_eq!(p.kind(Path::new("/tmp/a.csv")), None, "the fragments are replaced");
        assert!(Places::new(Some(&["cellar=/x/**".to_string()])).unwrap_err().contains("cellar"));
        assert!(Places::new(Some(&["/x/**".to_string()])).unwrap_err().contains("KIND=GLOB"));
    }
}
