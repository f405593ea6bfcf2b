//! The one error type of the solvers crate.
//!
//! Public functions return `Err` for bad input instead of panicking; each error names the
//! offending parameter and says what was expected and what was received.

/// Errors returned by the public API of `lno-solvers`.
#[derive(Debug, thiserror::Error)]
pub enum SolverError {
    /// A parameter is outside its valid range.
    #[error("invalid parameter `{name}`: expected {expected}, got {got}")]
    InvalidParameter {
        /// The parameter's name as it appears in the public API.
        name: &'static str,
        /// What would have been valid.
        expected: String,
        /// What was passed.
        got: String,
    },
    /// A solver failed to converge or became unstable.
    #[error("{solver} did not converge: {detail}")]
    NotConverged {
        /// Which solver.
        solver: &'static str,
        /// What went wrong (iteration count, residual, time).
        detail: String,
    },
    /// Reading or writing a data set failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or folder involved.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A data set on disk does not match what was asked for.
    #[error("data set at {path} is inconsistent: {detail}")]
    Manifest {
        /// The data set folder.
        path: std::path::PathBuf,
        /// What does not match.
        detail: String,
    },
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, SolverError>;

impl SolverError {
    /// Builds a [`SolverError::InvalidParameter`].
    pub fn invalid(
        name: &'static str,
        expected: impl Into<String>,
        got: impl std::fmt::Display,
    ) -> Self {
        Self::InvalidParameter { name, expected: expected.into(), got: got.to_string() }
    }
}
