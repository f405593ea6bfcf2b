//! 2-D incompressible Navier–Stokes in vorticity form on a periodic square.
//!
//! * [`grid`]: planned real 2-D FFTs, wavenumbers, the 2/3 dealiasing rule, resampling by
//!   spectral truncation or zero padding.
//! * [`solver`]: the pseudo-spectral solver, IF-RK4 (default) or FNO's Euler/Crank–Nicolson,
//!   with CFL-chosen or CFL-checked steps.
//! * [`generator`]: the FNO benchmark and Kolmogorov-flow data sets as [`crate::SampleGenerator`]s.
//!
//! Scheme, dealiasing, CFL rule and data-set recipes are documented in `docs/solvers.md`.

pub mod generator;
pub mod grid;
pub mod solver;

pub use generator::{NsDataConfig, NsFlow, NsGenerator};
pub use grid::SpectralGrid;
pub use solver::{AdvanceReport, NavierStokes2d, NsConfig, TimeScheme, TimeStep};
