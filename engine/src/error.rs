//! Engine errors, by cause.

/// Why the engine could not process a batch.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A rule failed to run (its filter or its window SQL).
    #[error(transparent)]
    Rule(#[from] gatewatch_rules::RuleError),
    /// An Arrow kernel failed on engine data.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// A broken invariant: a bug in gatewatch, please report it.
    #[error("internal error (a gatewatch bug, please report): {0}")]
    Internal(String),
}
