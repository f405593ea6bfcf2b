//! Darcy flow `−∇·(a ∇u) = f` on (0, 1)² with `u = 0` on the boundary, and the FNO Darcy
//! data generator.
//!
//! **Discretisation** (FNO `solve_gwf.m`, data-recipes.md §4.1): an `s × s` vertex grid
//! including the boundary, `h = 1/(s − 1)`, unknowns at the `(s − 2)²` interior vertices, the
//! conservative 5-point stencil
//! `[a_e (u_P − u_E) + a_w (u_P − u_W) + a_n (u_P − u_N) + a_s (u_P − u_S)] / h² = f_P`,
//! with the face coefficients the **arithmetic** means of the two vertex values (the
//! reference's choice, [`FaceAverage::Arithmetic`]) or their harmonic means
//! ([`FaceAverage::Harmonic`], better at coefficient jumps). Because each face coefficient is
//! shared by its two vertices, the matrix is symmetric positive definite and the scheme
//! conserves flux exactly: `Σ_boundary faces a_f u_P = h² Σ_P f_P`.
//!
//! **Solver**: conjugate gradients preconditioned by one Galerkin multigrid V-cycle
//! (see `multigrid.rs`), stopped at a relative residual `‖f − A u‖₂ ≤ rtol ‖f‖₂`. The
//! iteration count is nearly independent of the grid size, so a solve is O(s²).
//!
//! Arrays are row-major `s × s`; index `[i, j]` is the vertex `(x_i, y_j) = (i h, j h)`.

mod multigrid;

use sprs::CsMat;

use crate::dataset::{Field, Sample, SampleGenerator, sample_rng};
use crate::grf::{NeumannGrf, NeumannGrid};
use crate::{Result, SolverError};
use multigrid::{Multigrid, Stencil9};

/// How the coefficient at a face between two vertices is formed from the vertex values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaceAverage {
    /// `(a_P + a_E)/2`, as FNO's `solve_gwf.m`.
    Arithmetic,
    /// `2 a_P a_E/(a_P + a_E)`, the exact flux continuity of a 1-D two-layer medium.
    Harmonic,
}

impl FaceAverage {
    /// The face coefficient between vertex values `a` and `b`.
    pub fn face(self, a: f64, b: f64) -> f64 {
        match self {
            Self::Arithmetic => 0.5 * (a + b),
            Self::Harmonic => 2.0 * a * b / (a + b),
        }
    }
}

/// Numerical options of [`solve_darcy`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DarcyOptions {
    /// Face-coefficient convention.
    pub face_average: FaceAverage,
    /// Relative residual `‖f − A u‖₂ / ‖f‖₂` at which CG stops; in (0, 1).
    pub rtol: f64,
    /// CG iteration limit; exceeding it is [`SolverError::NotConverged`].
    pub max_iterations: usize,
}

impl Default for DarcyOptions {
    /// Arithmetic faces as the reference, `rtol = 1e-10` (far below the O(h²) discretisation
    /// error at any practical size), 200 iterations (multigrid-CG needs about 10–20).
    fn default() -> Self {
        Self { face_average: FaceAverage::Arithmetic, rtol: 1e-10, max_iterations: 200 }
    }
}

/// The result of [`solve_darcy`].
#[derive(Debug, Clone, PartialEq)]
pub struct DarcySolution {
    /// `u` on the full `s × s` grid, zero on the boundary.
    pub u: Vec<f64>,
    /// CG iterations used.
    pub iterations: usize,
    /// Final relative residual `‖f − A u‖₂ / ‖f‖₂` (0 when `f` vanishes inside).
    pub relative_residual: f64,
}

/// Checks the grid size and the coefficient and forcing arrays.
fn check_inputs(s: usize, a: &[f64], f: &[f64]) -> Result<()> {
    if s < 3 {
        return Err(SolverError::invalid(
            "s",
            "a grid size of at least 3 (one interior vertex)",
            s,
        ));
    }
    if a.len() != s * s {
        return Err(SolverError::invalid("a", format!("length s² = {}", s * s), a.len()));
    }
    if f.len() != s * s {
        return Err(SolverError::invalid("f", format!("length s² = {}", s * s), f.len()));
    }
    if let Some(bad) = a.iter().find(|v| !(v.is_finite() && **v > 0.0)) {
        return Err(SolverError::invalid("a", "finite values > 0 everywhere", bad));
    }
    if let Some(bad) = f.iter().find(|v| !v.is_finite()) {
        return Err(SolverError::invalid("f", "finite values everywhere", bad));
    }
    Ok(())
}

/// Assembles the 5-point operator (already divided by h²) on the `(s − 2)²` interior
/// unknowns, numbered `(i − 1)(s − 2) + (j − 1)`, as a CSR matrix.
///
/// Errors on `s < 3`, a wrong length, or values of `a` that are not finite and positive.
pub fn assemble_darcy_operator(
    s: usize,
    a: &[f64],
    face_average: FaceAverage,
) -> Result<CsMat<f64>> {
    check_inputs(s, a, &vec![0.0; a.len()])?;
    Ok(assemble(s, a, face_average))
}

fn assemble(s: usize, a: &[f64], face_average: FaceAverage) -> CsMat<f64> {
    let n = s - 2;
    let inv_h2 = ((s - 1) * (s - 1)) as f64;
    let mut indptr = Vec::with_capacity(n * n + 1);
    let mut indices = Vec::with_capacity(5 * n * n);
    let mut data = Vec::with_capacity(5 * n * n);
    indptr.push(0);
    let at = |i: usize, j: usize| a[i * s + j];
    for i in 1..=n {
        for j in 1..=n {
            let here = at(i, j);
            let west = face_average.face(here, at(i - 1, j)) * inv_h2;
            let east = face_average.face(here, at(i + 1, j)) * inv_h2;
            let south = face_average.face(here, at(i, j - 1)) * inv_h2;
            let north = face_average.face(here, at(i, j + 1)) * inv_h2;
            let row = (i - 1) * n + (j - 1);
            // Columns in increasing order; neighbours on the boundary are Dirichlet zeros.
            if i > 1 {
                indices.push(row - n);
                data.push(-west);
            }
            if j > 1 {
                indices.push(row - 1);
                data.push(-south);
            }
            indices.push(row);
            data.push(west + east + south + north);
            if j < n {
                indices.push(row + 1);
                data.push(-north);
            }
            if i < n {
                indices.push(row + n);
                data.push(-east);
            }
            indptr.push(indices.len());
        }
    }
    CsMat::new((n * n, n * n), indptr, indices, data)
}

/// The same operator as [`assemble`], as a 9-point stencil over the full `s × s` grid (the
/// corner couplings are zero), which is the solver's working form.
fn stencil(s: usize, a: &[f64], face_average: FaceAverage) -> Stencil9 {
    let inv_h2 = ((s - 1) * (s - 1)) as f64;
    let mut op = Stencil9::zeros(s - 1);
    for i in 1..s - 1 {
        for j in 1..s - 1 {
            let here = a[i * s + j];
            let west = face_average.face(here, a[(i - 1) * s + j]) * inv_h2;
            let east = face_average.face(here, a[(i + 1) * s + j]) * inv_h2;
            let south = face_average.face(here, a[i * s + j - 1]) * inv_h2;
            let north = face_average.face(here, a[i * s + j + 1]) * inv_h2;
            op.c[i * s + j] =
                [0.0, -west, 0.0, -south, west + east + south + north, -north, 0.0, -east, 0.0];
        }
    }
    op.five_point = true;
    op
}

fn dot(x: &[f64], y: &[f64]) -> f64 {
    x.iter().zip(y).map(|(a, b)| a * b).sum()
}

/// Solves `−∇·(a ∇u) = f`, `u = 0` on the boundary, on an `s × s` vertex grid.
///
/// `a` and `f` are given at all `s²` vertices (their boundary values of `f` are unused; those
/// of `a` enter the faces next to the boundary). Errors on bad input
/// ([`SolverError::InvalidParameter`]) or when CG does not reach `rtol` within
/// `max_iterations` ([`SolverError::NotConverged`]).
pub fn solve_darcy(
    s: usize,
    a: &[f64],
    f: &[f64],
    options: &DarcyOptions,
) -> Result<DarcySolution> {
    check_inputs(s, a, f)?;
    if !(options.rtol > 0.0 && options.rtol < 1.0) {
        return Err(SolverError::invalid("rtol", "a value in (0, 1)", options.rtol));
    }
    if options.max_iterations == 0 {
        return Err(SolverError::invalid("max_iterations", "at least 1", 0));
    }
    let operator = stencil(s, a, options.face_average);
    // Full-grid layout throughout: boundary entries of every vector stay zero.
    let mut b = f.to_vec();
    for i in 0..s {
        for j in 0..s {
            if i == 0 || j == 0 || i == s - 1 || j == s - 1 {
                b[i * s + j] = 0.0;
            }
        }
    }
    let (u, iterations, relative_residual) = pcg(operator, &b, options)?;
    Ok(DarcySolution { u, iterations, relative_residual })
}

/// Multigrid-preconditioned CG on the interior system; returns (x, iterations, residual).
fn pcg(operator: Stencil9, b: &[f64], options: &DarcyOptions) -> Result<(Vec<f64>, usize, f64)> {
    let not_converged = |detail: String| SolverError::NotConverged { solver: "Darcy PCG", detail };
    let len = b.len();
    let b_norm = dot(b, b).sqrt();
    let mut x = vec![0.0; len];
    if b_norm == 0.0 {
        return Ok((x, 0, 0.0));
    }
    // Two sweeps each way: fewer CG iterations than one, cheaper overall than three.
    let mg = Multigrid::new(operator.clone(), 2)
        .ok_or_else(|| not_converged("coarse operator not positive definite".into()))?;
    let mut r = b.to_vec();
    let mut z = vec![0.0; len];
    mg.apply(&r, &mut z);
    let mut p = z.clone();
    let mut q = vec![0.0; len];
    let mut rz = dot(&r, &z);
    for iteration in 1..=options.max_iterations {
        operator.apply(&p, &mut q);
        let pq = dot(&p, &q);
        if !(pq > 0.0 && pq.is_finite()) {
            return Err(not_converged(format!("breakdown at iteration {iteration}: pᵀAp = {pq}")));
        }
        let alpha = rz / pq;
        for k in 0..len {
            x[k] += alpha * p[k];
            r[k] -= alpha * q[k];
        }
        let relative = dot(&r, &r).sqrt() / b_norm;
        if !relative.is_finite() {
            return Err(not_converged(format!("non-finite residual at iteration {iteration}")));
        }
        if relative <= options.rtol {
            return Ok((x, iteration, relative));
        }
        mg.apply(&r, &mut z);
        let rz_next = dot(&r, &z);
        let beta = rz_next / rz;
        rz = rz_next;
        for k in 0..len {
            p[k] = z[k] + beta * p[k];
        }
    }
    let relative = dot(&r, &r).sqrt() / b_norm;
    Err(not_converged(format!(
        "relative residual {relative:.3e} > rtol {:.1e} after {} iterations",
        options.rtol, options.max_iterations
    )))
}

/// Parameters of the FNO Darcy data set (data-recipes.md §4.1).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DarcyConfig {
    /// Vertices per axis including the boundary (FNO: 421, subsampled to 85, 141, …).
    pub s: usize,
    /// GRF decay α (FNO: 2).
    pub alpha: f64,
    /// GRF inverse length scale τ (FNO: 3).
    pub tau: f64,
    /// Coefficient where the GRF is ≥ `threshold` (FNO: 12).
    pub a_high: f64,
    /// Coefficient where the GRF is < `threshold` (FNO paper: 3; its `demo.m`: 4).
    pub a_low: f64,
    /// GRF level separating the two phases (FNO: 0).
    pub threshold: f64,
    /// Constant forcing f (FNO: 1).
    pub forcing: f64,
    /// Face-coefficient convention (FNO: arithmetic).
    pub face_average: FaceAverage,
    /// CG relative residual tolerance.
    pub rtol: f64,
}

impl DarcyConfig {
    /// The FNO recipe at `s` vertices per axis: α = 2, τ = 3, a ∈ {12, 3} split at 0, f = 1,
    /// arithmetic faces, rtol 1e-10. The GRF is evaluated directly at the vertices (FNO draws it
    /// at cell centres and spline-interpolates to vertices; the statistics agree).
    pub fn fno(s: usize) -> Self {
        Self {
            s,
            alpha: 2.0,
            tau: 3.0,
            a_high: 12.0,
            a_low: 3.0,
            threshold: 0.0,
            forcing: 1.0,
            face_average: FaceAverage::Arithmetic,
            rtol: 1e-10,
        }
    }
}

/// The Darcy [`SampleGenerator`]: fields `a` (two-phase coefficient) and `u` (solution),
/// both `s × s`.
#[derive(Debug)]
pub struct DarcyGenerator {
    config: DarcyConfig,
    grf: NeumannGrf,
}

impl DarcyGenerator {
    /// Validates `config` and prepares the GRF sampler.
    pub fn new(config: DarcyConfig) -> Result<Self> {
        if config.s < 3 {
            return Err(SolverError::invalid("s", "a grid size of at least 3", config.s));
        }
        for (name, v) in [("a_high", config.a_high), ("a_low", config.a_low)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(SolverError::invalid(name, "a finite value > 0", v));
            }
        }
        for (name, v) in [("threshold", config.threshold), ("forcing", config.forcing)] {
            if !v.is_finite() {
                return Err(SolverError::invalid(name, "a finite value", v));
            }
        }
        if !(config.rtol > 0.0 && config.rtol < 1.0) {
            return Err(SolverError::invalid("rtol", "a value in (0, 1)", config.rtol));
        }
        let grf = NeumannGrf::new(config.s, config.alpha, config.tau, NeumannGrid::Vertex)?;
        Ok(Self { config, grf })
    }

    /// The configuration.
    pub fn config(&self) -> &DarcyConfig {
        &self.config
    }

    /// The two-phase coefficient of sample `index` (the `a` field), without solving.
    pub fn coefficient(&self, seed: u64, index: u64) -> Vec<f64> {
        let c = &self.config;
        let field = self.grf.sample(&mut sample_rng(seed, index));
        field.into_iter().map(|z| if z >= c.threshold { c.a_high } else { c.a_low }).collect()
    }
}

impl SampleGenerator for DarcyGenerator {
    fn equation(&self) -> &'static str {
        "darcy"
    }

    fn parameters(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(&self.config).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            map.insert("grf".into(), "neumann_cosine_vertex".into());
        }
        value
    }

    fn generate(&self, seed: u64, index: u64) -> Result<Sample> {
        let c = &self.config;
        let a = self.coefficient(seed, index);
        let f = vec![c.forcing; c.s * c.s];
        let options =
            DarcyOptions { face_average: c.face_average, rtol: c.rtol, ..DarcyOptions::default() };
        let solution = solve_darcy(c.s, &a, &f, &options)?;
        let shape = vec![c.s, c.s];
        Ok(Sample {
            fields: vec![
                Field { name: "a".into(), shape: shape.clone(), data: a },
                Field { name: "u".into(), shape, data: solution.u },
            ],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stencil_operator_equals_the_assembled_csr_matrix() {
        let s = 9;
        let a: Vec<f64> = (0..s * s).map(|k| 1.0 + ((k * 37) % 11) as f64).collect();
        let x: Vec<f64> = (0..s * s).map(|k| ((k * 13) % 7) as f64 - 3.0).collect();
        for face in [FaceAverage::Arithmetic, FaceAverage::Harmonic] {
            let csr = assemble(s, &a, face);
            let op = stencil(s, &a, face);
            let mut x_full = x.clone();
            for i in 0..s {
                for j in 0..s {
                    if i == 0 || j == 0 || i == s - 1 || j == s - 1 {
                        x_full[i * s + j] = 0.0;
                    }
                }
            }
            let mut y = vec![0.0; s * s];
            op.apply(&x_full, &mut y);
            let n = s - 2;
            for (row, vec) in csr.outer_iterator().enumerate() {
                let expected: f64 =
                    vec.iter().map(|(col, v)| v * x_full[(col / n + 1) * s + col % n + 1]).sum();
                let got = y[(row / n + 1) * s + row % n + 1];
                // Identical products summed in another order: round-off only.
                assert!((expected - got).abs() <= 1e-12 * expected.abs().max(1.0), "row {row}");
            }
        }
    }
}
