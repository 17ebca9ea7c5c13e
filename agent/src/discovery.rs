//! Finding files: the directories to watch for the log globs of the configuration, and the
//! files under the paths of a scan.

use std::io;
use std::path::{Path, PathBuf};

/// Base directories of the log globs, watched for file-system events (recursively for `**`).
pub fn watch_roots(sources: &[crate::config::LogSource]) -> Vec<(std::path::PathBuf, bool)> {
    let mut roots = Vec::new();
    for s in sources {
        for p in &s.paths {
            let mut base = std::path::PathBuf::new();
            for c in std::path::Path::new(p).components() {
                let text = c.as_os_str().to_string_lossy();
                if text.contains(['*', '?', '[', '{']) {
                    break;
                }
                base.push(c);
            }
            let recursive = p.contains("**");
            let dir = if base.is_dir() { base } else { base.parent().map(|b| b.to_path_buf()).unwrap_or_default() };
            if dir.is_dir() && !roots.iter().any(|(r, _)| *r == dir) {
                roots.push((dir, recursive));
            }
        }
    }
    roots
}

/// Lists the files under `paths` (recursively), in a stable order.
pub fn walk(paths: &[PathBuf], errors: &mut dyn FnMut(&Path, &io::Error)) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = paths.iter().rev().cloned().collect();
    while let Some(p) = stack.pop() {
        let meta = match std::fs::metadata(&p) {
            Ok(m) => m,
            Err(e) => {
                errors(&p, &e);
                continue;
            }
        };
        if meta.is_dir() {
            let is_link = std::fs::symlink_metadata(&p).map(|m| m.file_type().is_symlink()).unwrap_or(false);
            if is_link && !paths.contains(&p) {
                continue;
            }
            match std::fs::read_dir(&p) {
                Ok(rd) => {
                    let mut children: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
                    children.sort();
                    stack.extend(children.into_iter().rev());
                }
                Err(e) => errors(&p, &e),
            }
        } else if meta.is_file() {
            out.push(p);
        }
    }
    out
}
