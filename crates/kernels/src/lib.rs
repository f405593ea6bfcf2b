//! Filter bases and sparse DISCO kernel tensors (Ψ in CSR), in pure Rust and f64.
//!
//! The local integral layer computes `(k*v)(x_i) ≈ Σ_j Σ_l θ_l κ_l(g_i⁻¹ x_j) v(x_j) q_j`.
//! This crate builds the fixed part, `Ψ_l[i, j] = κ_l(g_i⁻¹ x_j) q_j`, for planar grids, the
//! sphere and irregular point clouds. The crate never depends on libtorch.
//!
//! * [`basis`]: the filter bases κ_l ([`Basis`], [`FilterBasis`]).
//! * [`sphere`]: Ψ on the sphere for output longitude 0 ([`DiscoS2Spec`]).
//! * [`planar`]: Ψ on 2-D point clouds with optional periodic wrap ([`DiscoPlanarSpec`]).
//! * [`stencil`]: dense taps `T[l, a, b]` for regular grids ([`StencilSpec`]).
//! * [`cache`]: build each tensor once per process, optionally once per machine.
//!
//! Design notes and every deliberate difference from the reference code are in
//! `docs/kernels.md`.

pub mod basis;
pub mod cache;
pub mod csr;
pub mod error;
pub mod planar;
pub mod sphere;
pub mod stencil;

pub use basis::{Basis, BasisKind, FilterBasis};
pub use cache::{KernelCache, KernelSpec};
pub use csr::{CsrParts, KernelTensor, Layout, Normalization};
pub use error::{KernelError, Result};
pub use planar::{DiscoPlanarSpec, PlanarDirection, PlanarDomain};
pub use sphere::{DiscoS2Spec, S2Direction, SphereGridSpec};
pub use stencil::{Stencil, StencilSpec};
