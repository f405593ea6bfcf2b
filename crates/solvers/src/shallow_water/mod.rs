//! Shallow water on the rotating sphere: vorticity–divergence form, spectral transform method.
//!
//! * [`solver`]: the spectral solver ([`ShallowWater`]) on the quadrature crate's scalar and
//!   vector SHTs, third-order Adams–Bashforth stepping and torch-harmonics' hyperdiffusion.
//! * [`initial`]: Williamson et al. (1992) test case 2, Galewsky et al. (2004) and
//!   torch-harmonics' random initial condition.
//! * [`generator`]: the data set of pairs `(u(t), u(t + 1 h))` as a [`crate::SampleGenerator`].
//!
//! Equations, normalisation, time stepping and every difference from torch-harmonics are
//! documented in `docs/solvers.md` ("Shallow water on the sphere").

pub mod generator;
pub mod initial;
pub mod solver;

pub use generator::{SweDataConfig, SweGenerator};
pub use initial::{GalewskyParams, RandomIcParams};
pub use solver::{AbStart, Planet, ShallowWater, SweConfig, SweState};
