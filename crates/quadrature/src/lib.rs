//! Quadrature rules, grids and spherical harmonic transforms, in pure Rust and f64.
//!
//! Every layer and solver of lno integrates with quadrature weights. This crate computes them
//! exactly in double precision (the reference stack computes some in float32) and covers what
//! the reference lacks, such as weights for irregular point clouds in domains with holes.
//!
//! The crate never depends on libtorch: tensors are built from its output in `lno-layers`.

pub mod clenshaw_curtis;
pub mod error;
pub mod gauss_legendre;
pub mod irregular;
pub mod legendre;
pub mod lobatto;
pub mod rule;
pub mod sht;
pub mod sphere;
pub mod sphere_points;
pub mod tensor;
pub mod trapezoid;

pub use clenshaw_curtis::clenshaw_curtis;
pub use error::{QuadratureError, Result};
pub use gauss_legendre::gauss_legendre;
pub use legendre::{CsPhase, LegendreParts, LegendreTable, legendre_order};
pub use lobatto::gauss_lobatto;
pub use rule::Rule;
pub use rustfft::num_complex::Complex64;
pub use sht::{Sht, Spectrum, VectorSht};
pub use sphere::{SphereGrid, SphereGridKind};
pub use tensor::{Axis, AxisRule, TensorGrid, TensorGrid2, TensorGrid3};
pub use trapezoid::trapezoid;
