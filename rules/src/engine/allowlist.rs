//! Allowlists compiled: values, anchored patterns and e-mail domains a detector (or every
//! detector) must not report — a company's own domain, test accounts.

use super::error::EngineError;
use crate::pack::Allowlist;

/// One allowlist, compiled.
#[derive(Default)]
pub(super) struct CompiledAllowlist {
    values: Vec<Vec<u8>>,
    patterns: Option<regex::bytes::RegexSet>,
    email_domains: Vec<Vec<u8>>,
}

impl CompiledAllowlist {
    pub(super) fn new(a: &Allowlist) -> Result<Self, EngineError> {
        let patterns = if a.patterns.is_empty() {
            None
        } else {
            let anchored: Vec<String> = a.patterns.iter().map(|p| format!("^(?:{p})$")).collect();
            Some(regex::bytes::RegexSetBuilder::new(anchored).unicode(false).build().map_err(|e| EngineError(format!("allowlist pattern: {e}")))?)
        };
        Ok(CompiledAllowlist {
            values: a.values.iter().map(|v| v.as_bytes().to_ascii_lowercase()).collect(),
            patterns,
            email_domains: a.email_domains.iter().map(|d| d.as_bytes().to_vec()).collect(),
        })
    }

    fn is_empty(&self) -> bool {
        self.values.is_empty() && self.patterns.is_none() && self.email_domains.is_empty()
    }

    pub(super) fn allows(&self, raw: &[u8], normalized: &[u8]) -> bool {
        if self.is_empty() {
            return false;
        }
        let norm_lower = normalized.to_ascii_lowercase();
        if self.values.iter().any(|v| *v == norm_lower || *v == raw.to_ascii_lowercase()) {
            return true;
        }
        if self.patterns.as_ref().is_some_and(|p| p.is_match(raw)) {
            return true;
        }
        if !self.email_domains.is_empty()
            && let Some(at) = norm_lower.iter().rposition(|&b| b == b'@')
        {
            let domain = &norm_lower[at + 1..];
            return self
                .email_domains
                .iter()
                .any(|d| domain == d.as_slice() || (domain.len() > d.len() && domain.ends_with(d) && domain[domain.len() - d.len() - 1] == b'.'));
        }
        false
    }
}
