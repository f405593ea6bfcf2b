//! Dense taps `T[l, a, b]` of the DISCO convolution on a regular planar grid (the equidistant
//! DISCO of neuralop, applied as a 2-D cross-correlation such as `conv2d`).
//!
//! Unlike the reference, which fixes the taps at the training resolution, the taps here are
//! computed for the actual grid spacing and a cutoff in physical units: the stencil grows as the
//! grid is refined and the layer converges to the continuous local integral operator.

use std::f64::consts::PI;

use crate::basis::{Basis, FilterBasis};
use crate::csr::Normalization;
use crate::error::{KernelError, Result, check_positive};

/// Parameters of a regular-grid stencil.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StencilSpec {
    basis: Basis,
    spacing: [f64; 2],
    cutoff: f64,
    normalization: Normalization,
}

/// Dense taps of a DISCO convolution on a regular grid.
///
/// `taps()[(l·size[0] + a)·size[1] + b] = T[l, a, b]` multiplies the input at offset
/// `(a − center[0], b − center[1])` (rows, columns) from the output point:
/// `y_l[i, j] = Σ_{a,b} T[l, a, b] · x[i + a − c0, j + b − c1]` (cross-correlation, as
/// `conv2d`). The quadrature weight `h0·h1` is merged in, so with [`Normalization::Signed`] every
/// non-empty piecewise-linear basis has `Σ_{a,b} T[l, a, b] = 1`.
///
/// Angles follow the reference's taps: the column offset is the x-axis and the row offset the
/// y-axis, `T[l, a, b] = κ_l(r, φ)` with `r = |(h1·D1, h0·D0)|`, `φ = atan2(h0·D0, h1·D1) mod 2π`,
/// `D = (a − c0, b − c1)`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Stencil {
    taps: Vec<f64>,
    n_basis: usize,
    size: [usize; 2],
    center: [usize; 2],
}

impl StencilSpec {
    /// Taps for grid spacings `spacing = [h0, h1]` (rows, columns) and a physical `cutoff`;
    /// defaults to [`Normalization::Signed`] like the reference.
    pub fn new(basis: Basis, spacing: [f64; 2], cutoff: f64) -> Result<Self> {
        check_positive("spacing[0]", spacing[0])?;
        check_positive("spacing[1]", spacing[1])?;
        check_positive("cutoff", cutoff)?;
        Ok(Self { basis, spacing, cutoff, normalization: Normalization::Signed })
    }

    /// Taps for an `shape = [n0, n1]` grid on a periodic domain of lengths `[L0, L1]`
    /// (spacing `L/n`); the stencil must fit the grid (`2·⌊cutoff/h⌋ + 1 ≤ n`).
    pub fn for_grid(
        basis: Basis,
        shape: [usize; 2],
        lengths: [f64; 2],
        cutoff: f64,
    ) -> Result<Self> {
        for (name, n) in [("shape[0]", shape[0]), ("shape[1]", shape[1])] {
            if n == 0 {
                return Err(KernelError::invalid(name, "at least 1", n));
            }
        }
        check_positive("lengths[0]", lengths[0])?;
        check_positive("lengths[1]", lengths[1])?;
        let spec =
            Self::new(basis, [lengths[0] / shape[0] as f64, lengths[1] / shape[1] as f64], cutoff)?;
        let half = spec.half_widths();
        for d in 0..2 {
            if 2 * half[d] + 1 > shape[d] {
                return Err(KernelError::invalid(
                    "cutoff",
                    format!(
                        "a stencil that fits the {}-point grid along dim {d} (< {})",
                        shape[d],
                        lengths[d] / 2.0
                    ),
                    cutoff,
                ));
            }
        }
        Ok(spec)
    }

    /// Sets the normalisation mode (all taps of a basis form one group).
    pub fn with_normalization(mut self, normalization: Normalization) -> Self {
        self.normalization = normalization;
        self
    }

    /// `⌊cutoff / h⌋` per dim (up to round-off in the ratio).
    fn half_widths(&self) -> [usize; 2] {
        // The 1e-12 absorbs round-off in ratios such as 0.3/0.1 = 2.9999999999999996.
        [0, 1].map(|d| (self.cutoff / self.spacing[d] * (1.0 + 1e-12)).floor() as usize)
    }

    /// Computes the taps.
    ///
    /// A basis function that no grid offset reaches gets all-zero taps; it is an error only if
    /// every tap of every basis is zero (a cutoff too small for the grid).
    pub fn build(&self) -> Result<Stencil> {
        let [c0, c1] = self.half_widths();
        let size = [2 * c0 + 1, 2 * c1 + 1];
        let n_basis = self.basis.n_basis();
        let [h0, h1] = self.spacing;
        let mut taps = vec![0.0; n_basis * size[0] * size[1]];
        let mut vals = Vec::new();
        for a in 0..size[0] {
            for b in 0..size[1] {
                let (dy, dx) = ((a as f64 - c0 as f64) * h0, (b as f64 - c1 as f64) * h1);
                let mut phi = dy.atan2(dx);
                if phi < 0.0 {
                    phi += 2.0 * PI;
                }
                vals.clear();
                self.basis.eval(dx.hypot(dy), phi, self.cutoff, &mut vals);
                for &(l, v) in &vals {
                    taps[(l * size[0] + a) * size[1] + b] = v;
                }
            }
        }
        if taps.iter().all(|&v| v == 0.0) {
            return Err(KernelError::invalid(
                "cutoff",
                "a stencil with non-zero taps",
                self.cutoff,
            ));
        }
        let q = h0 * h1;
        let per = size[0] * size[1];
        for l in 0..n_basis {
            let t = &mut taps[l * per..(l + 1) * per];
            let signed: f64 = t.iter().sum::<f64>() * q;
            let abs: f64 = t.iter().map(|v| v.abs()).sum::<f64>() * q;
            let norm = match self.normalization {
                Normalization::None => 1.0,
                Normalization::MeanAbs | Normalization::IndividualAbs => abs,
                // Same cancellation guard as the sparse tensors (see `Normalization::Signed`).
                Normalization::Signed => {
                    if signed.abs() > 1e-8 * abs {
                        signed
                    } else {
                        abs
                    }
                }
            };
            if norm != 0.0 {
                t.iter_mut().for_each(|v| *v *= q / norm);
            }
        }
        Ok(Stencil { taps, n_basis, size, center: [c0, c1] })
    }
}

impl Stencil {
    /// Row-major taps, shape `[n_basis, size[0], size[1]]`.
    pub fn taps(&self) -> &[f64] {
        &self.taps
    }

    /// Number of basis functions.
    pub fn n_basis(&self) -> usize {
        self.n_basis
    }

    /// `[P0, P1]`, both odd.
    pub fn size(&self) -> [usize; 2] {
        self.size
    }

    /// Index of the zero offset, `[(P0 − 1)/2, (P1 − 1)/2]` (also the padding a same-size
    /// output needs on each side).
    pub fn center(&self) -> [usize; 2] {
        self.center
    }

    /// `T[l, a, b]`.
    pub fn tap(&self, l: usize, a: usize, b: usize) -> f64 {
        self.taps[(l * self.size[0] + a) * self.size[1] + b]
    }

    /// Applies basis `l` to a periodic field `x` (row-major `shape`) at output `(i, j)`: the
    /// slow reference contraction for tests and small problems.
    pub fn apply_periodic(
        &self,
        l: usize,
        x: &[f64],
        shape: [usize; 2],
        i: usize,
        j: usize,
    ) -> f64 {
        let mut s = 0.0;
        for a in 0..self.size[0] {
            for b in 0..self.size[1] {
                let ii = (i + shape[0] + a - self.center[0]) % shape[0];
                let jj = (j + shape[1] + b - self.center[1]) % shape[1];
                s += self.tap(l, a, b) * x[ii * shape[1] + jj];
            }
        }
        s
    }
}
