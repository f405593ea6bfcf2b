//! The one error type of the layers crate.
//!
//! Constructors and the fallible `f_forward` methods return `Err` for user mistakes (bad
//! configuration, wrong input rank, channel count or grid) instead of panicking; each error names
//! the offending parameter or input and says what was expected and what was received.

/// Errors returned by the public API of `lno-layers`.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// A constructor argument or configuration field is invalid.
    #[error("invalid parameter `{name}`: expected {expected}, got {got}")]
    InvalidParameter {
        /// The parameter's name as it appears in the public API.
        name: &'static str,
        /// What would have been valid.
        expected: String,
        /// What was passed.
        got: String,
    },
    /// A tensor passed to a forward method has the wrong rank, sizes, dtype or device.
    #[error("input `{name}`: expected {expected}, got {got}")]
    InvalidInput {
        /// The argument's name (`x` for the layer input).
        name: &'static str,
        /// What would have been valid.
        expected: String,
        /// What was passed (usually the shape).
        got: String,
    },
    /// Building the discretisation (DISCO taps or kernel tensor) failed.
    #[error(transparent)]
    Kernel(#[from] lno_kernels::KernelError),
    /// libtorch rejected an operation.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, LayerError>;

impl LayerError {
    /// Builds a [`LayerError::InvalidParameter`].
    pub fn parameter(
        name: &'static str,
        expected: impl Into<String>,
        got: impl std::fmt::Display,
    ) -> Self {
        Self::InvalidParameter { name, expected: expected.into(), got: got.to_string() }
    }

    /// Builds a [`LayerError::InvalidInput`].
    pub fn input(
        name: &'static str,
        expected: impl Into<String>,
        got: impl std::fmt::Display,
    ) -> Self {
        Self::InvalidInput { name, expected: expected.into(), got: got.to_string() }
    }
}
