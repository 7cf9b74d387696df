//! Rule errors, by cause. Every variant names the rule file (and position where known),
//! because the reader is an analyst fixing a file, not a developer reading a backtrace.

/// Why a rule could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// The file is not valid TOML or does not match the rule format.
    #[error("{origin}:{line}:{col}: {message}")]
    Parse {
        /// File name.
        origin: String,
        /// 1-based line (0 if unknown).
        line: usize,
        /// 1-based column.
        col: usize,
        /// What is wrong.
        message: String,
    },
    /// The rule parsed but is not valid (bad window, unknown column, SQL that does not plan).
    #[error("{origin}:{line}:{col}: rule {rule_id}: {message}")]
    Invalid {
        /// File name.
        origin: String,
        /// 1-based line of the offending field (0 if unknown).
        line: usize,
        /// 1-based column.
        col: usize,
        /// The rule's id.
        rule_id: String,
        /// What is wrong, with a hint where possible.
        message: String,
    },
    /// A `--param` override is malformed or names nothing.
    #[error("--param {spec}: {message}")]
    Param {
        /// The override as given.
        spec: String,
        /// What is wrong.
        message: String,
    },
    /// Running a rule's SQL failed (a window that could not be evaluated).
    #[error("rule {rule_id}: {source}")]
    Execution {
        /// The rule's id.
        rule_id: String,
        /// DataFusion's error.
        #[source]
        source: datafusion::error::DataFusionError,
    },
}
