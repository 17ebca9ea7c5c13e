//! The dead-letter record: findings the collector acknowledged but refused to store.
//!
//! A refused finding (malformed, or holding text the store cannot keep, such as a NUL character)
//! is acknowledged with the rest of its batch — resending it would never help, and holding the
//! batch back would stop everything found after it — and its id and the collector's reason are
//! appended here, one JSON object per line, with the time. The record is private (0600, in the
//! 0700 data directory), holds no value (the id is a hash; the reason is the collector's
//! words), and is bounded: past [`MAX_BYTES`] it is rotated once to `dead-letter.jsonl.1`.
//! The metric `custos_agent_findings_refused_total` counts the same findings.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Size of the record before it is rotated.
pub const MAX_BYTES: u64 = 8 << 20;

/// The dead-letter file of an agent.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    path: PathBuf,
}

impl DeadLetter {
    /// The record at `path` (created on the first refusal).
    pub fn new(path: &Path) -> DeadLetter {
        DeadLetter { path: path.to_path_buf() }
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line per refused finding of batch `seq`.
    pub fn record(&self, seq: u64, refused: &[(String, String)], now_ms: i64) -> io::Result<()> {
        if refused.is_empty() {
            return Ok(());
        }
        if std::fs::metadata(&self.path).is_ok_and(|m| m.len() > MAX_BYTES) {
            let mut old = self.path.clone().into_os_string();
            old.push(".1");
            std::fs::rename(&self.path, old)?;
        }
        let mut out = Vec::new();
        for (id, reason) in refused {
            let line = serde_json::json!({ "at_ms": now_ms, "seq": seq, "id": id, "reason": reason });
            out.extend_from_slice(line.to_string().as_bytes());
            out.push(b'\n');
        }
        let mut f = crate::private::options().create(true).append(true).open(&self.path)?;
        f.write_all(&out)?;
        f.sync_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn refused_findings_are_appended_privately_one_json_line_each() {
        let dir = tempfile::tempdir().unwrap();
        let d = DeadLetter::new(&dir.path().join("dead-letter.jsonl"));
        d.record(3, &[("f-1".into(), "a text field holds a NUL character".into()), ("f-2\n{\"forged\":1}".into(), "bad finding id".into())], 1_000).unwrap();
        d.record(4, &[], 2_000).unwrap();
        let text = std::fs::read_to_string(d.path()).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2, "an id holding a newline stays on its line: {text}");
        assert_eq!(lines[0]["id"], "f-1");
        assert_eq!(lines[1]["seq"], 4 - 1);
        assert_eq!(std::fs::metadata(d.path()).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
