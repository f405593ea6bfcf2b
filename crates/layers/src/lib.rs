//! Neural-operator layers on libtorch (tch): differential, local-integral (DISCO) and spectral.
//!
//! Learned parameters live in a `tch::nn::VarStore`; discretisation data (DISCO kernel
//! tensors, finite-difference grid widths, Legendre tables) are non-trainable buffers rebuilt for
//! each grid, so one set of weights runs at any resolution. All geometry is computed in f64 by
//! `lno-quadrature` and `lno-kernels` and cast to f32 once, here, at the tensor boundary.

pub mod runtime;
