//! The agent's own files are private: its data directory (spool, checkpoints, scan state,
//! dead-letter record) is created `0700` and every file in it `0600`.
//!
//! A spooled finding holds no raw value, but it does say where personal data sits on this host,
//! and the checkpoints say what was read: other local users have no business reading either.
//! Modes are set at creation (not by a later `chmod`, which leaves a window) and, for a
//! directory that already exists with a wider mode, tightened when the agent opens it.

use std::fs::{DirBuilder, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Mode of the agent's directories.
pub const DIR_MODE: u32 = 0o700;
/// Mode of the agent's files.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and missing parents) with mode 0700, or tightens an existing one to 0700.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)?;
    let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode & !0o077))?;
    }
    Ok(())
}

/// Options that create a file with mode 0600 (the caller adds read/write/append/create).
pub fn options() -> OpenOptions {
    let mut o = OpenOptions::new();
    o.mode(FILE_MODE);
    o
}

/// Creates (or truncates) a file with mode 0600.
pub fn create(path: &Path) -> io::Result<std::fs::File> {
    options().write(true).create(true).truncate(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_0700_and_files_0600_even_under_a_permissive_umask() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        create_dir(&dir).unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        create(&dir.join("f")).unwrap();
        assert_eq!(std::fs::metadata(dir.join("f")).unwrap().permissions().mode() & 0o777, 0o600);
        let wide = root.path().join("wide");
        std::fs::create_dir(&wide).unwrap();
        std::fs::set_permissions(&wide, std::fs::Permissions::from_mode(0o755)).unwrap();
        create_dir(&wide).unwrap();
        assert_eq!(std::fs::metadata(&wide).unwrap().permissions().mode() & 0o777, 0o700, "an existing directory is tightened");
    }
}
