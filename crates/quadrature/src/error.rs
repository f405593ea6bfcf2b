//! The one error type of the quadrature crate.
//!
//! Public functions return `Err` for bad input instead of panicking; each error names the
//! offending parameter and says what was expected and what was received.

/// Errors returned by the public API of `lno-quadrature`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QuadratureError {
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
    /// The FFT library rejected a buffer (an internal inconsistency, not a user error).
    #[error("FFT failed: {detail}")]
    Fft {
        /// The FFT library's message.
        detail: String,
    },
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, QuadratureError>;

impl QuadratureError {
    /// Builds an [`QuadratureError::InvalidParameter`].
    pub fn invalid(
        name: &'static str,
        expected: impl Into<String>,
        got: impl std::fmt::Display,
    ) -> Self {
        Self::InvalidParameter { name, expected: expected.into(), got: got.to_string() }
    }

    /// The name of the offending parameter, for errors that concern one parameter.
    pub fn parameter(&self) -> Option<&'static str> {
        #[allow(unreachable_patterns)] // other variants may be added; they name no parameter
        match self {
            Self::InvalidParameter { name, .. } => Some(name),
            _ => None,
        }
    }
}
