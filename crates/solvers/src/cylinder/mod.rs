//! Flow past a cylinder in the DFG channel (2.2 × 0.41, disk of radius 0.05 at (0.2, 0.2)),
//! sampled on a fixed irregular point cloud (data-recipes.md §4.5).
//!
//! * [`lattice`]: the D2Q9 TRT lattice Boltzmann solver (Bouzidi bounce-back on the cylinder,
//!   parabolic velocity inlet, pressure outlet, momentum-exchange forces).
//! * [`fields`]: physical `(u, v, p)` on the lattice and bilinear sampling at any point.
//! * [`dfg`]: the DFG 2D-1 / 2D-2 benchmark quantities (drag, lift, Δp, Strouhal number).
//! * [`generator`]: the data set of pairs `state(t) → state(t + Δt)` on a Poisson-disk cloud
//!   refined near the cylinder, with its quadrature weights, as a [`crate::SampleGenerator`].
//!
//! Method, boundary conditions, validation and measured numbers: `docs/solvers.md`.

pub mod dfg;
pub mod fields;
pub mod generator;
pub mod lattice;

pub use dfg::{PeriodicReport, SteadyReport, run_periodic, run_steady};
pub use fields::{NodalFields, SurfaceForces};
pub use generator::{CloudConfig, CylinderDataConfig, CylinderGenerator};
pub use lattice::{CurvedWall, CylinderLbm, Forces, LbmConfig, XBoundary};
