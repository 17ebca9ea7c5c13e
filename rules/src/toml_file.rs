//! Strict TOML files: every failure names the file, the line, the column and the dotted field.
//!
//! Custos reads several TOML files written by hand — rule packs, the agent's and the
//! collector's configuration, the register — and a typo in any of them is a blind spot nobody
//! notices. They are all parsed through [`parse_toml`] into types that deny unknown fields, and
//! every error becomes a [`ConfigError`] that says where and why, e.g.
//! `agent.toml:20:1: field `log.read_form`: unknown field `read_form`, expected one of …`.

use serde::de::DeserializeOwned;
use std::fmt;
use std::path::{Path, PathBuf};

/// A configuration file that cannot be used: where and why.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, 0 when the error concerns the whole file.
    pub line: usize,
    /// 1-based column, 0 when unknown.
    pub column: usize,
    /// Dotted field path, when known (`collector.url`).
    pub field: Option<String>,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
            if self.column > 0 {
                write!(f, ":{}", self.column)?;
            }
        }
        write!(f, ": ")?;
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        write!(f, "{}", self.reason)
    }
}

impl ConfigError {
    /// An error about the file as a whole (missing, unreadable).
    pub fn file(file: &Path, reason: impl Into<String>) -> Self {
        ConfigError { file: file.to_path_buf(), line: 0, column: 0, field: None, reason: reason.into() }
    }

    /// An error about one field, located by searching its key in the text.
    pub fn field(file: &Path, text: &str, field: &str, reason: impl Into<String>) -> Self {
        let key = field.rsplit('.').next().unwrap_or(field);
        let line = text.lines().position(|l| l.trim_start().strip_prefix(key).is_some_and(|r| r.trim_start().starts_with('='))).map_or(0, |i| i + 1);
        ConfigError { file: file.to_path_buf(), line, column: 0, field: Some(field.to_string()), reason: reason.into() }
    }
}

/// Reads and parses a TOML file into `T`, turning every failure into a [`ConfigError`] that
/// names the file, line, column and (dotted) field.
pub fn parse_toml_file<T: DeserializeOwned>(path: &Path) -> Result<(T, String), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::file(path, format!("cannot read: {e}")))?;
    let value = parse_toml(path, &text)?;
    Ok((value, text))
}

/// Parses TOML text into `T`; `path` is only used in errors.
pub fn parse_toml<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
        let field = (line > 0).then(|| field_at(text, line)).flatten();
        let mut reason = e.message().to_string();
        // A missing field is reported on the table that lacks it; say which field.
        if let Some(rest) = reason.strip_prefix("missing field `")
            && let Some(name) = rest.split('`').next()
        {
            reason = format!("missing field `{name}`; add it");
        }
        ConfigError { file: path.to_path_buf(), line, column, field, reason }
    })
}

/// The dotted path of the key on `line` (1-based): the enclosing `[table]` plus the key.
fn field_at(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let here = lines.get(line - 1)?.trim();
    let table = lines[..line - 1].iter().rev().find_map(|l| {
        let l = l.trim();
        l.starts_with('[').then(|| l.trim_matches(|c| c == '[' || c == ']').trim().to_string())
    });
    if here.starts_with('[') {
        return Some(here.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    }
    let key = here.split('=').next()?.trim();
    if key.is_empty() || key.contains(' ') {
        return table;
    }
    Some(match table {
        Some(t) => format!("{t}.{key}"),
        None => key.to_string(),
    })
}

/// 1-based (line, column) of a byte offset in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = offset - before.iter().rposition(|&b| b == b'\n').map(|i| i + 1).unwrap_or(0) + 1;
    (line, col)
}
