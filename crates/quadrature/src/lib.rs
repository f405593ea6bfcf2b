//! Quadrature rules, grids and spherical harmonic transforms, in pure Rust and f64.
//!
//! Every layer and solver of lno integrates with quadrature weights. This crate computes them
//! exactly in double precision (the reference stack computes some in float32) and covers what
//! the reference lacks, such as weights for irregular point clouds in domains with holes.
//!
//! The crate never depends on libtorch: tensors are built from its output in `lno-layers`.

pub mod error;
pub mod irregular;
pub mod sphere_points;

pub use error::{QuadratureError, Result};
