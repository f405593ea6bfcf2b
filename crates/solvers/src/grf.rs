//! Gaussian random fields on the unit square with the FNO covariances.
//!
//! Two samplers, each a faithful reimplementation of the generator FNO's data sets were made
//! with (data-recipes.md §4.1, §4.2), written as a truncated Karhunen–Loève series so that
//! both the covariance and the evaluation grid are explicit:
//!
//! * [`NeumannGrf`] (FNO `GRF.m`, Darcy coefficients): zero-flux cosine eigenfunctions,
//!   `U(x) = Σ_k c_k ξ_k e_k(x)` with `e_k(x) = Π_d m(k_d) cos(π k_d x_d)`, `m(0) = 1`,
//!   `m(k) = √2` (orthonormal in L²((0,1)²)), `k_d ∈ 0..s`, `k ≠ 0`, ξ_k i.i.d. N(0, 1) and
//!   `c_k = τ^(α−1) (π²|k|² + τ²)^(−α/2)`. The covariance is therefore
//!   `C = τ^(2α−2) (−Δ_N + τ²)^(−α)` on mean-zero functions. `GRF.m` writes this as
//!   `idct2(s·c·ξ)` with MATLAB's orthonormal inverse DCT, which is the same series evaluated
//!   at cell centres. Evaluation uses a DCT-III (cell centres) or DCT-I (vertices) via
//!   `rustdct`, O(s² log s).
//! * [`PeriodicGrf`] (FNO `random_fields.py`, Navier–Stokes initial vorticity): Fourier modes
//!   `k ∈ {−s/2, …, s/2−1}²`, `U(x) = Re Σ_k a_k ζ_k e^{2πi k·x}` with `ζ_k = ξ_k + iη_k`
//!   (independent N(0, 1) parts), `a_k = √2 σ (4π²|k|² + τ²)^(−α/2)`, `a_0 = 0`, and by
//!   default `σ = τ^(α−1)` (FNO's `τ^(0.5(2α−d))` with d = 2). Each mode contributes
//!   `a_k² cos(2πk·(x−y))` to the covariance, so `C = 2σ² (−Δ_per + τ²)^(−α)` on mean-zero
//!   functions; FNO's `ifftn(s²·…)` is our unnormalised inverse FFT of `a_k ζ_k`.
//!
//! Fields are returned row-major as `s × s` arrays; index `[i, j]` is the point `(x_i, y_j)`.

use std::sync::Arc;

use rand::Rng;
use rand_distr::StandardNormal;
use rustdct::{Dct1, DctPlanner, TransformType2And3};
use rustfft::num_complex::Complex64;
use rustfft::{Fft, FftPlanner};

use crate::{Result, SolverError};

/// Where a [`NeumannGrf`] is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NeumannGrid {
    /// Cell centres `x_i = (i + ½)/s`, as FNO's `GRF.m` (a DCT-III).
    CellCentred,
    /// Vertices including the boundary, `x_i = i/(s − 1)`, as the Darcy grid (a DCT-I).
    Vertex,
}

impl NeumannGrid {
    /// The 1-D coordinates of the `s` grid points.
    pub fn points(self, s: usize) -> Vec<f64> {
        match self {
            Self::CellCentred => (0..s).map(|i| (i as f64 + 0.5) / s as f64).collect(),
            Self::Vertex => (0..s).map(|i| i as f64 / (s - 1).max(1) as f64).collect(),
        }
    }
}

enum CosineTransform {
    Dct3(Arc<dyn TransformType2And3<f64>>),
    Dct1(Arc<dyn Dct1<f64>>),
}

impl CosineTransform {
    fn process(&self, line: &mut [f64], scratch: &mut [f64]) {
        match self {
            Self::Dct3(t) => t.process_dct3_with_scratch(line, scratch),
            Self::Dct1(t) => t.process_dct1_with_scratch(line, scratch),
        }
    }

    fn scratch_len(&self) -> usize {
        match self {
            Self::Dct3(t) => t.get_scratch_len(),
            Self::Dct1(t) => t.get_scratch_len(),
        }
    }
}

/// Checks the shared parameters of both samplers.
fn check_parameters(s: usize, alpha: f64, tau: f64) -> Result<()> {
    if s < 2 {
        return Err(SolverError::invalid("s", "a grid size of at least 2", s));
    }
    if !(alpha.is_finite() && alpha > 0.0) {
        return Err(SolverError::invalid("alpha", "a finite value > 0", alpha));
    }
    if !(tau.is_finite() && tau > 0.0) {
        return Err(SolverError::invalid("tau", "a finite value > 0", tau));
    }
    Ok(())
}

/// Applies a 1-D in-place transform along both axes of a square row-major array.
fn transform_2d(
    data: &mut [f64],
    s: usize,
    mut line_op: impl FnMut(&mut [f64], &mut [f64]),
    scratch: &mut [f64],
) {
    for row in data.chunks_exact_mut(s) {
        line_op(row, scratch);
    }
    let mut column = vec![0.0; s];
    for j in 0..s {
        for i in 0..s {
            column[i] = data[i * s + j];
        }
        line_op(&mut column, scratch);
        for i in 0..s {
            data[i * s + j] = column[i];
        }
    }
}

/// A Gaussian random field with zero-flux (Neumann) cosine eigenfunctions, FNO `GRF.m`.
///
/// See the module documentation for the exact series and covariance.
pub struct NeumannGrf {
    s: usize,
    alpha: f64,
    tau: f64,
    grid: NeumannGrid,
    /// Per-mode factor applied to ξ before the cosine transform: `c_k` times the
    /// normalisation `m(k_1) m(k_2)` times the transform's end-point compensation.
    amplitude: Vec<f64>,
    transform: CosineTransform,
}

impl std::fmt::Debug for NeumannGrf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NeumannGrf")
            .field("s", &self.s)
            .field("alpha", &self.alpha)
            .field("tau", &self.tau)
            .field("grid", &self.grid)
            .finish_non_exhaustive()
    }
}

impl NeumannGrf {
    /// A sampler on an `s × s` grid with decay `alpha` and inverse length scale `tau`.
    ///
    /// Errors when `s < 2` or `alpha`, `tau` are not finite and positive.
    pub fn new(s: usize, alpha: f64, tau: f64, grid: NeumannGrid) -> Result<Self> {
        check_parameters(s, alpha, tau)?;
        let mut planner = DctPlanner::new();
        let transform = match grid {
            NeumannGrid::CellCentred => CosineTransform::Dct3(planner.plan_dct3(s)),
            NeumannGrid::Vertex => CosineTransform::Dct1(planner.plan_dct1(s)),
        };
        // rustdct's unnormalised DCT-III halves the k = 0 input and its DCT-I halves both
        // the first and last input; doubling those inputs turns each into the plain cosine
        // sum Σ_k v_k cos(π k x_i).
        let weight_1d: Vec<f64> = (0..s)
            .map(|k| {
                let norm = if k == 0 { 1.0 } else { std::f64::consts::SQRT_2 };
                let end = match grid {
                    NeumannGrid::CellCentred => k == 0,
                    NeumannGrid::Vertex => k == 0 || k == s - 1,
                };
                if end { 2.0 * norm } else { norm }
            })
            .collect();
        let mut amplitude = vec![0.0; s * s];
        for k1 in 0..s {
            for k2 in 0..s {
                if k1 + k2 > 0 {
                    amplitude[k1 * s + k2] =
                        mode_std(alpha, tau, k1, k2) * weight_1d[k1] * weight_1d[k2];
                }
            }
        }
        Ok(Self { s, alpha, tau, grid, amplitude, transform })
    }

    /// The FNO Darcy coefficient field: α = 2, τ = 3.
    pub fn fno_darcy(s: usize, grid: NeumannGrid) -> Result<Self> {
        Self::new(s, 2.0, 3.0, grid)
    }

    /// Grid size per axis.
    pub fn size(&self) -> usize {
        self.s
    }

    /// The evaluation grid.
    pub fn grid(&self) -> NeumannGrid {
        self.grid
    }

    /// Standard deviation `c_k` of the coefficient of the orthonormal eigenfunction `e_k`.
    pub fn mode_std(&self, k1: usize, k2: usize) -> f64 {
        if k1 + k2 == 0 { 0.0 } else { mode_std(self.alpha, self.tau, k1, k2) }
    }

    /// Draws one field (`s²` standard normals from `rng`, then one 2-D cosine transform).
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<f64> {
        let xi: Vec<f64> = (0..self.s * self.s).map(|_| rng.sample(StandardNormal)).collect();
        self.field_from_noise_unchecked(xi)
    }

    /// The field for given standard-normal coefficients `xi[k1 * s + k2]` (ξ for k = 0 is
    /// ignored); [`sample`](Self::sample) is this applied to fresh noise.
    pub fn field_from_noise(&self, xi: &[f64]) -> Result<Vec<f64>> {
        if xi.len() != self.s * self.s {
            return Err(SolverError::invalid(
                "xi",
                format!("length s² = {}", self.s * self.s),
                xi.len(),
            ));
        }
        Ok(self.field_from_noise_unchecked(xi.to_vec()))
    }

    fn field_from_noise_unchecked(&self, mut data: Vec<f64>) -> Vec<f64> {
        for (v, amp) in data.iter_mut().zip(&self.amplitude) {
            *v *= amp;
        }
        let mut scratch = vec![0.0; self.transform.scratch_len()];
        transform_2d(
            &mut data,
            self.s,
            |line, scr| self.transform.process(line, scr),
            &mut scratch,
        );
        data
    }

    /// The prescribed covariance `E[U(p) U(q)]` between grid points `p = (i, j)` and
    /// `q = (k, l)` of this (truncated) series, summed directly in O(s²).
    pub fn covariance(&self, p: (usize, usize), q: (usize, usize)) -> f64 {
        let x = self.grid.points(self.s);
        let basis = |k: usize, t: f64| {
            let norm = if k == 0 { 1.0 } else { std::f64::consts::SQRT_2 };
            norm * (std::f64::consts::PI * k as f64 * t).cos()
        };
        let mut sum = 0.0;
        for k1 in 0..self.s {
            for k2 in 0..self.s {
                let c = self.mode_std(k1, k2);
                sum += c
                    * c
                    * basis(k1, x[p.0])
                    * basis(k2, x[p.1])
                    * basis(k1, x[q.0])
                    * basis(k2, x[q.1]);
            }
        }
        sum
    }
}

/// `c_k = τ^(α−1) (π²|k|² + τ²)^(−α/2)`, FNO `GRF.m`.
fn mode_std(alpha: f64, tau: f64, k1: usize, k2: usize) -> f64 {
    let k_sq = (k1 * k1 + k2 * k2) as f64;
    let pi_sq = std::f64::consts::PI * std::f64::consts::PI;
    tau.powf(alpha - 1.0) * (pi_sq * k_sq + tau * tau).powf(-alpha / 2.0)
}

/// A periodic Gaussian random field on the unit torus, FNO `random_fields.py` in 2-D.
///
/// See the module documentation for the exact series and covariance.
pub struct PeriodicGrf {
    s: usize,
    alpha: f64,
    tau: f64,
    sigma: f64,
    /// `a_k` in FFT order (`k = 0, 1, …, s/2−1, −s/2, …, −1` per axis).
    amplitude: Vec<f64>,
    fft: Arc<dyn Fft<f64>>,
}

impl std::fmt::Debug for PeriodicGrf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeriodicGrf")
            .field("s", &self.s)
            .field("alpha", &self.alpha)
            .field("tau", &self.tau)
            .field("sigma", &self.sigma)
            .finish_non_exhaustive()
    }
}

/// The signed wavenumber of FFT index `i` on an `s`-point axis.
fn signed_wavenumber(i: usize, s: usize) -> f64 {
    if i < s / 2 { i as f64 } else { i as f64 - s as f64 }
}

impl PeriodicGrf {
    /// A sampler on an `s × s` periodic grid (`x_j = j/s`); `sigma = None` takes FNO's default
    /// `τ^(α−1)`.
    ///
    /// Errors when `s` is odd or below 2 (FNO's wavenumber layout needs an even size), or
    /// when `alpha`, `tau` or `sigma` are not finite and positive.
    pub fn new(s: usize, alpha: f64, tau: f64, sigma: Option<f64>) -> Result<Self> {
        check_parameters(s, alpha, tau)?;
        if !s.is_multiple_of(2) {
            return Err(SolverError::invalid("s", "an even grid size", s));
        }
        let sigma = sigma.unwrap_or_else(|| tau.powf(alpha - 1.0));
        if !(sigma.is_finite() && sigma > 0.0) {
            return Err(SolverError::invalid("sigma", "a finite value > 0", sigma));
        }
        let four_pi_sq = 4.0 * std::f64::consts::PI * std::f64::consts::PI;
        let mut amplitude = vec![0.0; s * s];
        for i in 0..s {
            for j in 0..s {
                if i + j > 0 {
                    let (kx, ky) = (signed_wavenumber(i, s), signed_wavenumber(j, s));
                    amplitude[i * s + j] = std::f64::consts::SQRT_2
                        * sigma
                        * (four_pi_sq * (kx * kx + ky * ky) + tau * tau).powf(-alpha / 2.0);
                }
            }
        }
        let fft = FftPlanner::new().plan_fft_inverse(s);
        Ok(Self { s, alpha, tau, sigma, amplitude, fft })
    }

    /// FNO's Navier–Stokes initial vorticity: α = 2.5, τ = 7, σ = 7^1.5.
    pub fn fno_navier_stokes(s: usize) -> Result<Self> {
        Self::new(s, 2.5, 7.0, None)
    }

    /// Grid size per axis.
    pub fn size(&self) -> usize {
        self.s
    }

    /// The amplitude σ.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// `a_k` for signed wavenumbers `(kx, ky)` in `−s/2..s/2`; zero outside that range.
    pub fn mode_amplitude(&self, kx: i64, ky: i64) -> f64 {
        let half = (self.s / 2) as i64;
        if !(-half..half).contains(&kx) || !(-half..half).contains(&ky) {
            return 0.0;
        }
        let index = |k: i64| k.rem_euclid(self.s as i64) as usize;
        self.amplitude[index(kx) * self.s + index(ky)]
    }

    /// Draws one field: `2s²` standard normals from `rng` (real and imaginary part of each
    /// mode in turn, modes in FFT order), then one 2-D inverse FFT.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<f64> {
        let zeta: Vec<Complex64> = (0..self.s * self.s)
            .map(|_| Complex64::new(rng.sample(StandardNormal), rng.sample(StandardNormal)))
            .collect();
        self.field_from_noise_unchecked(zeta)
    }

    /// The field for given complex standard-normal coefficients `zeta[i * s + j]` in FFT
    /// order; [`sample`](Self::sample) is this applied to fresh noise.
    pub fn field_from_noise(&self, zeta: &[Complex64]) -> Result<Vec<f64>> {
        if zeta.len() != self.s * self.s {
            return Err(SolverError::invalid(
                "zeta",
                format!("length s² = {}", self.s * self.s),
                zeta.len(),
            ));
        }
        Ok(self.field_from_noise_unchecked(zeta.to_vec()))
    }

    fn field_from_noise_unchecked(&self, mut data: Vec<Complex64>) -> Vec<f64> {
        let s = self.s;
        for (v, amp) in data.iter_mut().zip(&self.amplitude) {
            *v *= amp;
        }
        let mut scratch = vec![Complex64::default(); self.fft.get_inplace_scratch_len()];
        // Rows in one batched call, then columns through a transpose.
        self.fft.process_with_scratch(&mut data, &mut scratch);
        let mut transposed = vec![Complex64::default(); s * s];
        for i in 0..s {
            for j in 0..s {
                transposed[j * s + i] = data[i * s + j];
            }
        }
        self.fft.process_with_scratch(&mut transposed, &mut scratch);
        let mut field = vec![0.0; s * s];
        for i in 0..s {
            for j in 0..s {
                field[i * s + j] = transposed[j * s + i].re;
            }
        }
        field
    }

    /// The prescribed covariance `E[U(x) U(x + δ)]` at the grid lag
    /// `δ = (di, dj)/s`, summed directly over all modes in O(s²).
    pub fn covariance(&self, di: i64, dj: i64) -> f64 {
        let s = self.s as i64;
        let mut sum = 0.0;
        for kx in -s / 2..s / 2 {
            for ky in -s / 2..s / 2 {
                let a = self.mode_amplitude(kx, ky);
                let phase = 2.0 * std::f64::consts::PI * (kx * di + ky * dj) as f64 / s as f64;
                sum += a * a * phase.cos();
            }
        }
        sum
    }
}
