//! The data directory's conventions: where the store is (`custos.db`, or the PostgreSQL URL
//! that `run` records in `store.url`) and which register the collector last loaded
//! (`register.path`), so that commands given only `--data-dir` — `incidents`, `report`,
//! `revoke`, … — find what the running collector uses.
//!
//! The directory is private: created `0700` (an existing one is tightened to it), and the
//! SQLite store in it `0600` — it holds Argon2 hashes, live CSRF tokens and the audit trail.

use crate::register::Register;
use crate::store::Store;
use crate::store::location::StoreLocation;
use std::path::PathBuf;

/// Creates the data directory (and missing parents) with mode 0700, or tightens an existing
/// one to 0700.
pub fn create(data_dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(data_dir)?;
    let mode = std::fs::metadata(data_dir)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(mode & !0o077))?;
    }
    Ok(())
}

/// The store of the collector whose data directory is `data_dir`, for a command: read-only
/// (`write` false, on SQLite) for listings while the collector runs. A data directory without
/// a database is an error that says what to do.
pub fn open_store(data_dir: &std::path::Path, write: bool) -> anyhow::Result<Store> {
    match store_location(data_dir)? {
        StoreLocation::Sqlite(db) => {
            if !db.is_file() {
                anyhow::bail!("{}: no database; start the collector (or the quickstart) with this --data-dir first", db.display());
            }
            Ok(if write { Store::open(&db)? } else { Store::open_read_only(&db)? })
        }
        location => Store::open_location(&location).map_err(|e| anyhow::anyhow!("store {location}: {e}")),
    }
}

/// The file in the data directory naming the collector's PostgreSQL store, so that the
/// commands given only `--data-dir` (incidents, report, revoke…) use the same store.
const STORE_FILE: &str = "store.url";

/// Records where the collector's store is: writes `store.url` (owner-only: the URL may carry
/// the database password, like the config it comes from) for PostgreSQL, removes it for SQLite.
pub fn remember_store(data_dir: &std::path::Path, location: &StoreLocation) -> anyhow::Result<()> {
    let path = data_dir.join(STORE_FILE);
    match location {
        StoreLocation::Postgres(url) => {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| anyhow::anyhow!("{}: cannot record the store location: {e}", path.display()))?;
            f.write_all(url.as_bytes()).map_err(|e| anyhow::anyhow!("{}: cannot record the store location: {e}", path.display()))?;
        }
        StoreLocation::Sqlite(_) => match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => anyhow::bail!("{}: cannot remove the old store location: {e}", path.display()),
        },
    }
    Ok(())
}

/// The store of the collector whose data directory is `data_dir`: the PostgreSQL database its
/// `run` recorded, else its SQLite file.
pub fn store_location(data_dir: &std::path::Path) -> anyhow::Result<StoreLocation> {
    match std::fs::read_to_string(data_dir.join(STORE_FILE)) {
        Ok(url) => StoreLocation::from_setting(Some(url.trim()), data_dir).map_err(|e| anyhow::anyhow!("{}: {e}", data_dir.join(STORE_FILE).display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StoreLocation::Sqlite(data_dir.join("custos.db"))),
        Err(e) => anyhow::bail!("{}: {e}", data_dir.join(STORE_FILE).display()),
    }
}

/// Records which register the collector loaded, so `report` and `digest` find it.
pub fn remember_register(data_dir: &std::path::Path, register: &std::path::Path) {
    let abs = std::fs::canonicalize(register).unwrap_or_else(|_| register.to_path_buf());
    if let Err(e) = std::fs::write(data_dir.join("register.path"), abs.display().to_string()) {
        tracing::warn!(error = %e, "cannot record the register path in the data directory");
    }
}

/// The register given on the command line, else the one the collector last loaded.
pub fn load_register(data_dir: &std::path::Path, given: Option<PathBuf>) -> anyhow::Result<Register> {
    let path = match given {
        Some(p) => p,
        None => match std::fs::read_to_string(data_dir.join("register.path")) {
            Ok(p) => PathBuf::from(p.trim()),
            Err(_) => anyhow::bail!("no register known for {}; pass --register FILE", data_dir.display()),
        },
    };
    Ok(Register::load(&path)?)
}
