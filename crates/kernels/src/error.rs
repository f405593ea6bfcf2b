//! The one error type of the kernels crate.
//!
//! Public functions return `Err` for bad input instead of panicking; each error names the
//! offending parameter and says what was expected and what was received.

/// Errors returned by the public API of `lno-kernels`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KernelError {
    /// A parameter is outside its valid range or inconsistent with another one.
    #[error("invalid parameter `{name}`: expected {expected}, got {got}")]
    InvalidParameter {
        /// The parameter's name as it appears in the public API.
        name: &'static str,
        /// What would have been valid.
        expected: String,
        /// What was passed.
        got: String,
    },
    /// The on-disk cache could not be read or written.
    #[error("kernel cache at `{path}`: {message}")]
    Cache {
        /// The file involved.
        path: String,
        /// What went wrong.
        message: String,
    },
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, KernelError>;

impl KernelError {
    /// Builds a [`KernelError::InvalidParameter`].
    pub fn invalid(
        name: &'static str,
        expected: impl Into<String>,
        got: impl std::fmt::Display,
    ) -> Self {
        Self::InvalidParameter { name, expected: expected.into(), got: got.to_string() }
    }
}

/// Returns `Err` naming `name` unless `value` is finite and strictly positive.
pub(crate) fn check_positive(name: &'static str, value: f64) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(KernelError::invalid(name, "a finite number > 0", value))
    }
}
