//! Filter bases and sparse DISCO kernel tensors (Ψ in CSR), in pure Rust and f64.
//!
//! The local integral layer computes `(k*v)(x_i) ≈ Σ_j Σ_l θ_l κ_l(g_i⁻¹ x_j) v(x_j) q_j`.
//! This crate builds the fixed part, `Ψ_l[i, j] = κ_l(g_i⁻¹ x_j) q_j`, for planar grids, the
//! sphere and irregular point clouds. The crate never depends on libtorch.
