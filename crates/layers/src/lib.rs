//! Neural-operator layers on libtorch (tch): differential, local-integral (DISCO) and spectral.
//!
//! Learned parameters live in a `tch::nn::VarStore`; discretisation data (DISCO kernel
//! tensors, finite-difference grid widths, Legendre tables) are non-trainable buffers rebuilt for
//! each grid, so one set of weights runs at any resolution. All geometry is computed in f64 by
//! `lno-quadrature` and `lno-kernels` and cast to f32 once, here, at the tensor boundary.

//!
//! | Layer | What |
//! |---|---|
//! | [`FiniteDifferenceConv`] | zero-sum stencil / physical grid width, 1-3 D (converges to a first-order differential operator) |
//! | [`DiscoConvGrid`], [`DiscoConvGridTranspose`] | DISCO on regular 2-D grids, taps per input resolution, strided / up-sampling |
//! | [`DiscoConvCloud`] | DISCO between point clouds through the CSR kernel tensor of `lno-kernels` |
//! | [`LocalBranch`] | FD + grid DISCO fused into one convolution |
//! | [`SpectralConv`] | FNO spectral convolution, 1-3 D, exact on odd sizes, real-stacked complex weights |
//! | [`periodic_conv_spectrum`] | a periodic stride-1 local kernel as a full-spectrum weight, applied in the spectral pass ([`SpectralConv::f_forward_plus_spectrum`]) |
//! | [`ChannelMlp`], [`Skip`], [`InstanceNorm`], [`GroupNorm`], [`GridEmbedding`], [`Gelu`] | blocks |
//!
//! Every layer implements `tch::nn::Module` (or `ModuleT`) and has a fallible `f_forward`
//! returning [`LayerError`] for bad input; see `docs/layers.md`.

pub mod blocks;
mod common;
pub mod differential;
pub mod disco_cloud;
pub mod disco_grid;
pub mod error;
pub mod local_branch;
pub mod runtime;
pub mod spectral;
pub mod spectral_local;
pub mod sphere;

pub use blocks::{
    ChannelMlp, ChannelMlpConfig, Gelu, GridEmbedding, GroupNorm, InstanceNorm, Skip, SkipKind,
};
pub use common::Padding;
pub use differential::{FiniteDifferenceConfig, FiniteDifferenceConv};
pub use disco_cloud::{DiscoCloudConfig, DiscoConvCloud};
pub use disco_grid::{DiscoConvGrid, DiscoConvGridTranspose, DiscoGridConfig};
pub use error::{LayerError, Result};
pub use local_branch::LocalBranch;
pub use spectral::{SpectralConv, SpectralConvConfig};
pub use spectral_local::{
    periodic_conv_in_spectrum_pays, periodic_conv_in_spectrum_valid, periodic_conv_spectrum,
};
