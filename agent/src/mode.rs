//! How long an agent runs: following its sources, or once through what is there.

/// How long an agent runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// Follow the files until shut down.
    Follow,
    /// Read what is there now (partial last lines included), deliver it, and stop once every
    /// finding is acknowledged.
    Once,
}
