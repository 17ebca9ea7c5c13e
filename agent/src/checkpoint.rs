//! Checkpoints: how far each followed file has been read, persisted atomically, so that a
//! restart neither re-reads nor skips.
//!
//! The file is JSON (`checkpoints.json` in the agent's data dir), replaced with
//! write-to-temp, fsync, rename: after a crash it holds either the old or the new state, never
//! a mix. A checkpoint is only written after the findings of the lines it covers are in the
//! spool, so advancing it can never lose a finding.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Where reading stopped in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Last path the file was seen at.
    pub path: PathBuf,
    /// Offset of the first byte not yet consumed into a complete line.
    pub offset: u64,
    /// Complete lines before `offset`.
    pub lines: u64,
    /// Length of the head used in the identity.
    pub head_len: u64,
    /// Hash of the first `head_len` bytes.
    pub head_hash: String,
}

/// All checkpoints, keyed by file identity (`dev:inode:headhash`).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Checkpoints {
    /// Identity → checkpoint.
    pub files: BTreeMap<String, Checkpoint>,
}

impl Checkpoints {
    /// Loads checkpoints; `Ok(None)` when the agent has never saved any (first start).
    pub fn load(path: &Path) -> io::Result<Option<Checkpoints>> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                io::Error::new(io::ErrorKind::InvalidData, format!("{}: corrupt checkpoint file ({e}); move it away to start over", path.display()))
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Saves atomically (temp file, fsync, rename, fsync of the directory).
    pub fn save(&self, path: &Path) -> io::Result<()> {
        let tmp = path.with_extension("json.tmp");
        {
            let mut f = crate::private::create(&tmp)?;
            f.write_all(&serde_json::to_vec(self).map_err(io::Error::other)?)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_then_load_round_trips_and_missing_file_means_first_start() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("checkpoints.json");
        assert!(Checkpoints::load(&p).unwrap().is_none());
        let mut c = Checkpoints::default();
        c.files.insert("1:2:ab".into(), Checkpoint { path: "/x.log".into(), offset: 10, lines: 2, head_len: 5, head_hash: "ab".into() });
        c.save(&p).unwrap();
        assert_eq!(Checkpoints::load(&p).unwrap().unwrap().files, c.files);
        std::fs::write(&p, b"{garbage").unwrap();
        assert!(Checkpoints::load(&p).unwrap_err().to_string().contains("move it away"));
    }
}
