//! PDE solvers that generate lno's training data, in pure Rust and f64.
//!
//! No benchmark data can be downloaded, so lno makes its own: every generator here is validated
//! against analytic solutions in its tests. The crate never depends on libtorch.

pub mod cylinder;
pub mod darcy;
pub mod dataset;
pub mod diffusion_reaction;
pub mod error;
pub mod grf;
pub mod navier_stokes;
pub mod shallow_water;
pub mod writer;

pub use dataset::{Field, Sample, SampleGenerator, sample_rng};
pub use error::{Result, SolverError};
