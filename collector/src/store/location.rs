//! Where the store lives: a SQLite file in the data directory, or a PostgreSQL URL — and how to
//! show that location without the password it may carry.

use std::path::{Path, PathBuf};

/// Where the store lives: the `store` setting of the collector configuration.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A SQLite file (the default: `custos.db` in the data directory).
    Sqlite(PathBuf),
    /// A PostgreSQL URL (`postgres://user:password@host:port/database`).
    Postgres(String),
}

impl StoreLocation {
    /// The store of a collector: `store` when set (it must be a `postgres://` or
    /// `postgresql://` URL), else `custos.db` in `data_dir`.
    pub fn from_setting(store: Option<&str>, data_dir: &Path) -> Result<StoreLocation, String> {
        match store.map(str::trim) {
            None | Some("") => Ok(StoreLocation::Sqlite(data_dir.join("custos.db"))),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                url.parse::<::postgres::Config>().map_err(|e| format!("not a valid PostgreSQL URL: {e}"))?;
                Ok(StoreLocation::Postgres(url.to_string()))
            }
            Some(_) => Err("must be a PostgreSQL URL (`postgres://user:password@host:5432/database`); leave it out to use SQLite in data_dir".into()),
        }
    }
}

/// Shows the location without the password a PostgreSQL URL may carry.
impl std::fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreLocation::Sqlite(p) => write!(f, "{}", p.display()),
            StoreLocation::Postgres(url) => f.write_str(&redact_url(url)),
        }
    }
}

impl std::fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StoreLocation({self})")
    }
}

/// `postgres://user:***@host/db`: a URL fit for logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let (auth, host) = match rest.rsplit_once('@') {
        Some((auth, host)) => (Some(auth), host),
        None => (None, rest),
    };
    let host = host.split_once('?').map_or(host, |(h, _)| h);
    match auth.map(|a| a.split_once(':').map_or(a, |(user, _)| user)) {
        Some(user) => format!("{scheme}://{user}:***@{host}"),
        None => format!("{scheme}://{host}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_location_never_shows_the_database_password() {
        let loc = StoreLocation::from_setting(Some("postgres://custos:s3cret@db:5432/custos?password=x"), Path::new("/d")).unwrap();
        assert_eq!(loc.to_string(), "postgres://custos:***@db:5432/custos");
        assert!(!format!("{loc:?}").contains("s3cret"));
        assert_eq!(StoreLocation::from_setting(None, Path::new("/d")).unwrap(), StoreLocation::Sqlite(PathBuf::from("/d/custos.db")));
        assert!(StoreLocation::from_setting(Some("mysql://x"), Path::new("/d")).unwrap_err().contains("PostgreSQL URL"));
    }
}
