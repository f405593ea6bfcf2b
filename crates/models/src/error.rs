//! The error type of lno-models: every failure names the parameter or file at fault and, where
//! it applies, what was expected and what was found.

use thiserror::Error;

/// Errors from building, running, training, saving or loading models.
#[derive(Debug, Error)]
pub enum ModelError {
    /// A configuration value is invalid or a combination is impossible.
    #[error("invalid config `{name}`: expected {expected}, got {got}")]
    Config { name: String, expected: String, got: String },
    /// Input tensors have the wrong shape, dtype or values.
    #[error("invalid input `{name}`: expected {expected}, got {got}")]
    Input { name: String, expected: String, got: String },
    /// A checkpoint or run directory is missing, truncated, or belongs to another model.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint { path: String, reason: String },
    /// An error from a layer.
    #[error(transparent)]
    Layer(#[from] lno_layers::LayerError),
    /// An error from libtorch.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// An I/O error with the path it happened on.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl ModelError {
    /// A config error naming the parameter, what was expected and what was given.
    pub fn config(
        name: impl Into<String>,
        expected: impl Into<String>,
        got: impl ToString,
    ) -> Self {
        Self::Config { name: name.into(), expected: expected.into(), got: got.to_string() }
    }

    /// An input error naming the argument, what was expected and what was given.
    pub fn input(name: impl Into<String>, expected: impl Into<String>, got: impl ToString) -> Self {
        Self::Input { name: name.into(), expected: expected.into(), got: got.to_string() }
    }

    /// A checkpoint error naming the file and the reason.
    pub fn checkpoint(path: impl AsRef<std::path::Path>, reason: impl Into<String>) -> Self {
        Self::Checkpoint { path: path.as_ref().display().to_string(), reason: reason.into() }
    }

    /// An I/O error with its path.
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Self::Io { path: path.as_ref().display().to_string(), source }
    }
}

/// Checks that the input `x` has the model's dtype and device (errors name `x`).
pub(crate) fn check_kind_and_device(
    x: &tch::Tensor,
    kind: tch::Kind,
    device: tch::Device,
) -> Result<()> {
    if x.kind() != kind {
        return Err(ModelError::input(
            "x",
            format!("dtype {kind:?} (the model's)"),
            format!("{:?}", x.kind()),
        ));
    }
    if x.device() != device {
        return Err(ModelError::input(
            "x",
            format!("device {device:?} (the model's)"),
            format!("{:?}", x.device()),
        ));
    }
    Ok(())
}

/// `Result` with [`ModelError`].
pub type Result<T, E = ModelError> = std::result::Result<T, E>;
