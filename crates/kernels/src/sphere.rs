//! DISCO kernel tensors on the sphere (torch-harmonics `DiscreteContinuousConvS2` and its
//! transpose), stored for output longitude 0 only.
//!
//! For an output point `(θ_t, λ = 0)` every input point is rotated so that the output point
//! moves to the north pole (the paper's `g⁻¹x`): the rotated colatitude is the geodesic distance
//! `θ`, the rotated longitude the bearing `φ ∈ [0, 2π)`. Longitude equivariance gives every other
//! output longitude as a shift of the columns, so only `q = 0` is built. Candidates are found per
//! input latitude from the spherical law of cosines (a longitude window), never by scanning a
//! dense `n_out × n_in` table.

use std::f64::consts::PI;

use rayon::prelude::*;

use crate::basis::{Basis, FilterBasis};
use crate::csr::{self, Entry, EntryInfo, KernelTensor, Layout, Normalization};
use crate::error::{KernelError, Result, check_positive};

/// Latitudes and per-latitude quadrature weights of an equiangular-in-longitude sphere grid.
///
/// Colatitudes `θ_j ∈ [0, π]` ascend (north pole first). Weights follow torch-harmonics: they
/// integrate over `cos θ ∈ [−1, 1]`, so `Σ_j w_j = 2`; the per-point weight of the normalised
/// sphere measure is `w_j / (2·n_lon)`. Longitudes are `λ_p = 2πp/n_lon`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SphereGridSpec {
    colatitudes: Vec<f64>,
    weights: Vec<f64>,
    n_lon: usize,
}

impl SphereGridSpec {
    /// Validates and stores a grid.
    pub fn new(colatitudes: Vec<f64>, weights: Vec<f64>, n_lon: usize) -> Result<Self> {
        if colatitudes.is_empty() {
            return Err(KernelError::invalid("colatitudes", "at least one latitude", 0));
        }
        if weights.len() != colatitudes.len() {
            return Err(KernelError::invalid(
                "weights",
                format!("one weight per latitude ({})", colatitudes.len()),
                weights.len(),
            ));
        }
        if n_lon == 0 {
            return Err(KernelError::invalid("n_lon", "at least 1", 0));
        }
        if let Some(t) = colatitudes.iter().find(|t| !(0.0..=PI).contains(*t)) {
            return Err(KernelError::invalid("colatitudes", "values in [0, π]", t));
        }
        if let Some(w) = colatitudes.windows(2).find(|w| w[1] <= w[0]) {
            return Err(KernelError::invalid(
                "colatitudes",
                "strictly ascending values",
                format!("{} then {}", w[0], w[1]),
            ));
        }
        if let Some(w) = weights.iter().find(|w| !w.is_finite()) {
            return Err(KernelError::invalid("weights", "finite values", w));
        }
        Ok(Self { colatitudes, weights, n_lon })
    }

    /// The grid of a [`lno_quadrature::SphereGrid`] (equiangular, Legendre–Gauss or Lobatto),
    /// with its exact f64 latitude weights (Σ = 2).
    pub fn from_grid(grid: &lno_quadrature::SphereGrid) -> Result<Self> {
        Self::new(grid.colatitudes().to_vec(), grid.latitude_weights().to_vec(), grid.nlon())
    }

    /// Colatitudes, ascending.
    pub fn colatitudes(&self) -> &[f64] {
        &self.colatitudes
    }

    /// Per-latitude weights (Σ = 2 for an exact rule).
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// Number of longitudes.
    pub fn n_lon(&self) -> usize {
        self.n_lon
    }

    /// Number of latitudes.
    pub fn n_lat(&self) -> usize {
        self.colatitudes.len()
    }

    /// torch-harmonics 0.7.4's default cutoff for a grid with this many latitudes: one
    /// equiangular latitude spacing, `π/(n_lat − 1)` (needs `n_lat ≥ 2`).
    pub fn default_theta_cutoff(&self) -> Result<f64> {
        if self.n_lat() < 2 {
            return Err(KernelError::invalid(
                "n_lat",
                "at least 2 for the default cutoff",
                self.n_lat(),
            ));
        }
        Ok(PI / (self.n_lat() as f64 - 1.0))
    }
}

/// Which of the two sphere DISCO operators a [`DiscoS2Spec`] builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum S2Direction {
    /// `DiscreteContinuousConvS2`: rows are output latitudes, columns the input grid.
    Forward,
    /// `DiscreteContinuousConvTransposeS2`: rows are the (coarse) input latitudes, columns the
    /// (fine) output grid; normalised per fine latitude.
    Transpose,
}

/// Everything that determines a sphere Ψ (also the key of the in-process cache).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DiscoS2Spec {
    grid_in: SphereGridSpec,
    grid_out: SphereGridSpec,
    basis: Basis,
    theta_cutoff: f64,
    theta_eps: f64,
    normalization: Normalization,
    direction: S2Direction,
}

impl DiscoS2Spec {
    /// The forward convolution `grid_in → grid_out` (needs `n_lon_in % n_lon_out == 0`), with
    /// torch-harmonics' defaults: [`Normalization::MeanAbs`] and `theta_eps = 1e-3`.
    pub fn forward(
        grid_in: SphereGridSpec,
        grid_out: SphereGridSpec,
        basis: Basis,
        theta_cutoff: f64,
    ) -> Result<Self> {
        Self::new(grid_in, grid_out, basis, theta_cutoff, S2Direction::Forward)
    }

    /// The transpose convolution `grid_in → grid_out` (usually coarse → fine; needs
    /// `n_lon_out % n_lon_in == 0`), with the same defaults as [`Self::forward`].
    pub fn transpose(
        grid_in: SphereGridSpec,
        grid_out: SphereGridSpec,
        basis: Basis,
        theta_cutoff: f64,
    ) -> Result<Self> {
        Self::new(grid_in, grid_out, basis, theta_cutoff, S2Direction::Transpose)
    }

    fn new(
        grid_in: SphereGridSpec,
        grid_out: SphereGridSpec,
        basis: Basis,
        theta_cutoff: f64,
        direction: S2Direction,
    ) -> Result<Self> {
        check_positive("theta_cutoff", theta_cutoff)?;
        if theta_cutoff > PI {
            return Err(KernelError::invalid(
                "theta_cutoff",
                "at most π (the sphere's diameter)",
                theta_cutoff,
            ));
        }
        let (fine, coarse, name) = match direction {
            S2Direction::Forward => (grid_in.n_lon, grid_out.n_lon, "grid_out.n_lon"),
            S2Direction::Transpose => (grid_out.n_lon, grid_in.n_lon, "grid_in.n_lon"),
        };
        if fine % coarse != 0 {
            return Err(KernelError::invalid(
                name,
                format!("a divisor of {fine} (longitude counts must divide)"),
                coarse,
            ));
        }
        Ok(Self {
            grid_in,
            grid_out,
            basis,
            theta_cutoff,
            theta_eps: 1e-3,
            normalization: Normalization::MeanAbs,
            direction,
        })
    }

    /// Sets the normalisation mode.
    pub fn with_normalization(mut self, normalization: Normalization) -> Self {
        self.normalization = normalization;
        self
    }

    /// Sets the relative support widening `θ_eps` (the basis is evaluated with cutoff
    /// `(1 + θ_eps)·theta_cutoff`; torch-harmonics uses 1e-3 so that points exactly at the
    /// cutoff survive round-off). Must be in `[0, 1)`.
    pub fn with_theta_eps(mut self, theta_eps: f64) -> Result<Self> {
        if !(0.0..1.0).contains(&theta_eps) {
            return Err(KernelError::invalid("theta_eps", "a value in [0, 1)", theta_eps));
        }
        self.theta_eps = theta_eps;
        Ok(self)
    }

    /// The cutoff the basis is evaluated with, `(1 + θ_eps)·theta_cutoff`.
    pub fn effective_cutoff(&self) -> f64 {
        (1.0 + self.theta_eps) * self.theta_cutoff
    }

    /// The basis.
    pub fn basis(&self) -> &Basis {
        &self.basis
    }

    /// The direction.
    pub fn direction(&self) -> S2Direction {
        self.direction
    }

    /// The normalisation mode.
    pub fn normalization(&self) -> Normalization {
        self.normalization
    }

    /// The nominal cutoff (before the `θ_eps` widening).
    pub fn theta_cutoff(&self) -> f64 {
        self.theta_cutoff
    }

    /// The relative support widening.
    pub fn theta_eps(&self) -> f64 {
        self.theta_eps
    }

    /// `(grid_in, grid_out)`.
    pub fn grids(&self) -> (&SphereGridSpec, &SphereGridSpec) {
        (&self.grid_in, &self.grid_out)
    }

    /// (row grid, column grid): the grid whose latitudes index the rows and the one whose
    /// points index the columns.
    fn row_col_grids(&self) -> (&SphereGridSpec, &SphereGridSpec) {
        match self.direction {
            S2Direction::Forward => (&self.grid_out, &self.grid_in),
            S2Direction::Transpose => (&self.grid_in, &self.grid_out),
        }
    }

    /// Builds Ψ (see [`Layout::Sphere`] for the row/column convention and the contraction).
    ///
    /// Errors if some row latitude has no column point within the cutoff.
    pub fn build(&self) -> Result<KernelTensor> {
        let (rows, cols) = self.row_col_grids();
        let rc = self.effective_cutoff();
        let n_basis = self.basis.n_basis();
        let n_lon = cols.n_lon;
        if cols.n_lat() * n_lon >= u32::MAX as usize {
            return Err(KernelError::invalid(
                "grid size",
                "fewer than 2^32 points",
                cols.n_lat() * n_lon,
            ));
        }
        let blocks: Vec<Vec<Entry>> = rows
            .colatitudes
            .par_iter()
            .map(|&theta_t| row_entries(&self.basis, theta_t, cols, rc))
            .collect();
        if let Some(t) = blocks.iter().position(Vec::is_empty) {
            return Err(KernelError::invalid(
                "theta_cutoff",
                format!(
                    "large enough that latitude {t} (colatitude {}) has neighbours",
                    rows.colatitudes[t]
                ),
                self.theta_cutoff,
            ));
        }
        let mut raw = csr::assemble(&blocks, n_basis, cols.n_lat() * n_lon);
        drop(blocks);
        let (info, scale) = match self.direction {
            S2Direction::Forward => (S2Info { rows, cols, forward: true }, 1.0),
            S2Direction::Transpose => {
                (S2Info { rows, cols, forward: false }, cols.n_lon as f64 / rows.n_lon as f64)
            }
        };
        csr::normalize(&mut raw, &info, self.normalization, scale);
        raw.finish(Layout::Sphere {
            n_lat_rows: rows.n_lat(),
            n_lat_cols: cols.n_lat(),
            n_lon_cols: cols.n_lon,
            n_lon_rows: rows.n_lon,
            lon_stride: cols.n_lon / rows.n_lon,
        })
    }
}

/// Normalisation groups and weights on the sphere.
struct S2Info<'a> {
    rows: &'a SphereGridSpec,
    cols: &'a SphereGridSpec,
    forward: bool,
}

impl EntryInfo for S2Info<'_> {
    fn n_groups(&self) -> usize {
        if self.forward { self.rows.n_lat() } else { self.cols.n_lat() }
    }

    fn group(&self, unit: usize, col: usize) -> usize {
        if self.forward { unit } else { col / self.cols.n_lon }
    }

    fn weight(&self, unit: usize, col: usize) -> f64 {
        // torch-harmonics: q = w/(2·n_lon_cols), with w from the input latitude (forward) or
        // the coarse row latitude (transpose).
        let w = if self.forward {
            self.cols.weights[col / self.cols.n_lon]
        } else {
            self.rows.weights[unit]
        };
        w / (2.0 * self.cols.n_lon as f64)
    }
}

/// Geodesic distance and bearing of `(θ', λ)` seen from `(θ_t, 0)` after rotating the latter to
/// the north pole (torch-harmonics' rotation `Y(−θ_t)`), bearing in `[0, 2π)`.
pub fn rotated_polar(theta_t: f64, theta_in: f64, lambda: f64) -> (f64, f64) {
    let alpha = -theta_t;
    let (sa, ca) = alpha.sin_cos();
    let (sb, cb) = lambda.sin_cos();
    let (sg, cg) = theta_in.sin_cos();
    let x = ca * cb * sg + cg * sa;
    let y = sb * sg;
    let z = -cb * sa * sg + ca * cg;
    // atan2 of the chord components is accurate near 0 and π, unlike arccos(z).
    let theta = x.hypot(y).atan2(z);
    let mut phi = y.atan2(x);
    if phi < 0.0 {
        phi += 2.0 * PI;
    }
    (theta, phi)
}

/// Raw entries of all basis functions for one row latitude, sorted by (basis, column).
fn row_entries(basis: &Basis, theta_t: f64, cols: &SphereGridSpec, rc: f64) -> Vec<Entry> {
    let n_lon = cols.n_lon;
    let dlon = 2.0 * PI / n_lon as f64;
    // A small safety margin: candidates are tested exactly below.
    let search = rc * (1.0 + 1e-9) + 1e-12;
    let (st, ct) = theta_t.sin_cos();
    let mut out = Vec::new();
    let mut vals = Vec::new();
    for (j, &theta_j) in cols.colatitudes.iter().enumerate() {
        if (theta_j - theta_t).abs() > search {
            continue;
        }
        let (sj, cj) = theta_j.sin_cos();
        let denom = st * sj;
        // cos d = cosθ_t cosθ_j + sinθ_t sinθ_j cos Δλ ≥ cos rc  ⇔  cos Δλ ≥ ratio.
        let half_width = if denom < 1e-12 {
            PI
        } else {
            let ratio = (search.cos() - ct * cj) / denom;
            if ratio <= -1.0 { PI } else { ratio.min(1.0).acos() }
        };
        let reach = (half_width / dlon).floor() as usize + 1;
        let mut visit = |p: usize| {
            let (theta, phi) = rotated_polar(theta_t, theta_j, p as f64 * dlon);
            vals.clear();
            basis.eval(theta, phi, rc, &mut vals);
            for &(k, v) in &vals {
                out.push((k as u32, (j * n_lon + p) as u32, v));
            }
        };
        if 2 * reach + 1 >= n_lon {
            (0..n_lon).for_each(&mut visit);
        } else {
            (0..=reach).for_each(&mut visit);
            (n_lon - reach..n_lon).for_each(&mut visit);
        }
    }
    out.sort_unstable_by_key(|e| (e.0, e.1));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_gives_distance_and_bearing_of_simple_points() {
        // From (π/2, 0), the point (π/2, 0.3) lies 0.3 away due east: bearing π/2 (Y axis = east).
        let (d, b) = rotated_polar(PI / 2.0, PI / 2.0, 0.3);
        // f64 trigonometry on O(1) values.
        assert!((d - 0.3).abs() < 1e-14 && (b - PI / 2.0).abs() < 1e-14, "{d} {b}");
        // Due south (larger colatitude): bearing 0 (X axis = south).
        let (d, b) = rotated_polar(1.0, 1.2, 0.0);
        assert!((d - 0.2).abs() < 1e-14 && b.abs() < 1e-14, "{d} {b}");
    }

    #[test]
    fn mismatched_and_out_of_range_parameters_are_rejected() {
        let g = |n_lat: usize, n_lon: usize| {
            let t: Vec<f64> = (0..n_lat).map(|i| (i as f64 + 0.5) * PI / n_lat as f64).collect();
            SphereGridSpec::new(t, vec![2.0 / n_lat as f64; n_lat], n_lon).unwrap()
        };
        let b = Basis::piecewise_linear(3, 4).unwrap();
        let e = DiscoS2Spec::forward(g(8, 16), g(4, 6), b.clone(), 0.5).unwrap_err();
        assert!(e.to_string().contains("grid_out.n_lon"), "{e}");
        let e = DiscoS2Spec::transpose(g(4, 6), g(8, 16), b.clone(), 0.5).unwrap_err();
        assert!(e.to_string().contains("grid_in.n_lon"), "{e}");
        for bad in [0.0, -1.0, 4.0, f64::NAN] {
            let e = DiscoS2Spec::forward(g(8, 16), g(8, 16), b.clone(), bad).unwrap_err();
            assert!(e.to_string().contains("theta_cutoff"), "{e}");
        }
        // A cutoff far below the latitude spacing leaves latitudes without neighbours.
        let e =
            DiscoS2Spec::forward(g(8, 16), g(5, 16), b.clone(), 1e-3).unwrap().build().unwrap_err();
        assert!(e.to_string().contains("neighbours"), "{e}");
        let e = SphereGridSpec::new(vec![0.2, 0.1], vec![1.0, 1.0], 4).unwrap_err();
        assert!(e.to_string().contains("ascending"), "{e}");
        let e = SphereGridSpec::new(vec![0.1, 0.2], vec![1.0], 4).unwrap_err();
        assert!(e.to_string().contains("weights"), "{e}");
    }
}
