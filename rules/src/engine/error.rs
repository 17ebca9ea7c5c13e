//! Why an engine could not be built.

/// An engine that could not be built (patterns too large together, bad allowlist regex).
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot build the detection engine: {0}")]
pub struct EngineError(pub(crate) String);
