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
    /// Times the file was found truncated or rewritten in place (see `tail.rs`).
    #[serde(default)]
    pub generation: u64,
}

/// All checkpoints, keyed by `dev:inode` (older files: `dev:inode:headhash`).
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

/// Where a start resumes from (see [`resume`]).
#[derive(Debug)]
pub struct Resume {
    /// The checkpoints found, if any.
    pub saved: Option<Checkpoints>,
    /// No checkpoint was found, yet the agent ran before (its spool exists): files present at
    /// start must be read whole, whatever `read_from` says.
    pub read_whole: bool,
}

/// The copy of the checkpoints kept beside the spool.
pub fn copy_path(data_dir: &Path) -> PathBuf {
    data_dir.join("spool").join("checkpoints.json")
}

/// Loads the checkpoints of `data_dir` at start (call it before opening the spool).
///
/// They are saved twice, as `checkpoints.json` and as a copy in the spool directory; the copy
/// is used (and said so) when the first is missing. When both are missing but the spool
/// directory exists, the agent ran before and lost its read positions: `read_from = "end"`
/// would skip what was written while it was down, so files present at start are read whole
/// instead (findings already delivered keep their ids and are stored once), loudly.
pub fn resume(data_dir: &Path) -> io::Result<Resume> {
    let primary = data_dir.join("checkpoints.json");
    if let Some(c) = Checkpoints::load(&primary)? {
        return Ok(Resume { saved: Some(c), read_whole: false });
    }
    let copy = copy_path(data_dir);
    if let Some(c) = Checkpoints::load(&copy)? {
        tracing::warn!(missing = %primary.display(), copy = %copy.display(), "the checkpoint file is missing: resuming from its copy");
        return Ok(Resume { saved: Some(c), read_whole: false });
    }
    let ran_before = data_dir.join("spool").is_dir();
    if ran_before {
        tracing::warn!(
            missing = %primary.display(),
            "no checkpoint, yet the agent ran before (its spool exists): every followed file present now is read from its beginning, not its end \
             (read_from), so that nothing written while the agent was down is skipped; findings already delivered are stored once"
        );
    }
    Ok(Resume { saved: None, read_whole: ran_before })
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
        c.files.insert("1:2:ab".into(), Checkpoint { path: "/x.log".into(), offset: 10, lines: 2, head_len: 5, head_hash: "ab".into(), generation: 1 });
        c.save(&p).unwrap();
        assert_eq!(Checkpoints::load(&p).unwrap().unwrap().files, c.files);
        std::fs::write(&p, b"{garbage").unwrap();
        assert!(Checkpoints::load(&p).unwrap_err().to_string().contains("move it away"));
    }
}
