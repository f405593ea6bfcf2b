//! Galerkin geometric multigrid for 5-point operators on square vertex grids, used as the
//! preconditioner of the Darcy conjugate-gradient solver.
//!
//! Coarsening keeps every other vertex per axis plus the last one, so any interval count
//! works (421 vertices = 420 intervals → 210 → 105 → 53 → …); prolongation is (bi)linear in
//! the index, restriction its transpose, and coarse operators are the Galerkin products
//! `Pᵀ A P`, which stay symmetric positive definite and follow coefficient jumps without any
//! knowledge of the PDE. Smoothing is lexicographic Gauss–Seidel, forward before and backward
//! after the coarse correction, and the coarsest level is solved exactly by dense Cholesky;
//! so one V-cycle is a symmetric positive-definite linear map, as CG requires.

use sprs::{CsMat, TriMat};

/// The coarsest level holds at most this many unknowns; its dense Cholesky factor then costs
/// well under a millisecond.
const MAX_COARSE_UNKNOWNS: usize = 400;

/// One level of the hierarchy.
#[derive(Debug)]
struct Level {
    a: CsMat<f64>,
    inv_diag: Vec<f64>,
    /// Prolongation from the next coarser level to this one (absent on the coarsest).
    p: Option<CsMat<f64>>,
    /// `pᵀ`, stored in CSR for a fast restriction.
    r: Option<CsMat<f64>>,
}

/// A multigrid V-cycle for a 5-point operator on the interior of a square vertex grid.
#[derive(Debug)]
pub(crate) struct Multigrid {
    levels: Vec<Level>,
    coarse: DenseCholesky,
    sweeps: usize,
}

/// 1-D linear interpolation from the interior of a grid with `m_coarse = ⌈m/2⌉` intervals to
/// the interior of a grid with `m` intervals, as `(fine, coarse, weight)` triples.
fn prolongation_1d(m: usize) -> (usize, Vec<(usize, usize, f64)>) {
    let m_coarse = m.div_ceil(2);
    let mut entries = Vec::with_capacity(2 * m);
    for i in 1..m {
        if i % 2 == 0 {
            entries.push((i - 1, i / 2 - 1, 1.0));
        } else {
            // Neighbours 2J = i ∓ 1; J = 0 and J = m_coarse are Dirichlet boundary points.
            for coarse in [(i - 1) / 2, i.div_ceil(2)] {
                if coarse >= 1 && coarse < m_coarse {
                    entries.push((i - 1, coarse - 1, 0.5));
                }
            }
        }
    }
    (m_coarse, entries)
}

/// The 2-D prolongation, the tensor product of [`prolongation_1d`] with itself.
fn prolongation_2d(m: usize) -> (usize, CsMat<f64>) {
    let (m_coarse, p1) = prolongation_1d(m);
    let (n_fine, n_coarse) = (m - 1, m_coarse - 1);
    let mut tri =
        TriMat::with_capacity((n_fine * n_fine, n_coarse * n_coarse), p1.len() * p1.len());
    for &(i1, j1, w1) in &p1 {
        for &(i2, j2, w2) in &p1 {
            tri.add_triplet(i1 * n_fine + i2, j1 * n_coarse + j2, w1 * w2);
        }
    }
    (m_coarse, tri.to_csr())
}

fn inverse_diagonal(a: &CsMat<f64>) -> Vec<f64> {
    a.outer_iterator()
        .enumerate()
        .map(|(row, vec)| 1.0 / vec.get(row).copied().unwrap_or(f64::NAN))
        .collect()
}

/// `y = A x` for a CSR matrix.
pub(crate) fn spmv(a: &CsMat<f64>, x: &[f64], y: &mut [f64]) {
    let (indptr, indices, data) = (a.indptr(), a.indices(), a.data());
    let indptr = indptr.raw_storage();
    for (row, y_row) in y.iter_mut().enumerate() {
        let mut sum = 0.0;
        for k in indptr[row]..indptr[row + 1] {
            sum += data[k] * x[indices[k]];
        }
        *y_row = sum;
    }
}

/// One Gauss–Seidel sweep for `A x = b`, rows in increasing (`forward`) or decreasing order.
fn gauss_seidel(a: &CsMat<f64>, inv_diag: &[f64], b: &[f64], x: &mut [f64], forward: bool) {
    let (indptr, indices, data) = (a.indptr(), a.indices(), a.data());
    let indptr = indptr.raw_storage();
    let mut relax = |row: usize| {
        let mut sum = 0.0;
        for k in indptr[row]..indptr[row + 1] {
            sum += data[k] * x[indices[k]];
        }
        x[row] += (b[row] - sum) * inv_diag[row];
    };
    if forward {
        (0..b.len()).for_each(&mut relax);
    } else {
        (0..b.len()).rev().for_each(&mut relax);
    }
}

impl Multigrid {
    /// Builds the hierarchy for the operator `a` on the `(m−1)²` interior unknowns of a grid
    /// with `m` intervals per axis, with `sweeps` pre- and post-smoothing sweeps.
    ///
    /// Returns `None` if a coarse matrix is not positive definite (which cannot happen for an
    /// SPD `a`, so it signals bad input such as non-finite entries).
    pub(crate) fn new(a: CsMat<f64>, m: usize, sweeps: usize) -> Option<Self> {
        let mut levels = Vec::new();
        let mut a = a;
        let mut m = m;
        while (m - 1) * (m - 1) > MAX_COARSE_UNKNOWNS && m > 2 {
            let (m_coarse, p) = prolongation_2d(m);
            let r = p.transpose_view().to_csr();
            let a_coarse = &r * &(&a * &p);
            levels.push(Level { inv_diag: inverse_diagonal(&a), a, p: Some(p), r: Some(r) });
            a = a_coarse;
            m = m_coarse;
        }
        let coarse = DenseCholesky::new(&a)?;
        levels.push(Level { inv_diag: inverse_diagonal(&a), a, p: None, r: None });
        Some(Self { levels, coarse, sweeps })
    }

    /// Number of levels including the coarsest.
    pub(crate) fn n_levels(&self) -> usize {
        self.levels.len()
    }

    /// `z = M⁻¹ r`: one V-cycle from a zero initial guess.
    pub(crate) fn apply(&self, r: &[f64], z: &mut [f64]) {
        self.cycle(0, r, z);
    }

    fn cycle(&self, level: usize, b: &[f64], x: &mut [f64]) {
        let lv = &self.levels[level];
        let (Some(p), Some(restriction)) = (&lv.p, &lv.r) else {
            self.coarse.solve(b, x);
            return;
        };
        x.fill(0.0);
        for _ in 0..self.sweeps {
            gauss_seidel(&lv.a, &lv.inv_diag, b, x, true);
        }
        let mut residual = vec![0.0; b.len()];
        spmv(&lv.a, x, &mut residual);
        for (res, bi) in residual.iter_mut().zip(b) {
            *res = bi - *res;
        }
        let n_coarse = p.cols();
        let mut b_coarse = vec![0.0; n_coarse];
        spmv(restriction, &residual, &mut b_coarse);
        let mut x_coarse = vec![0.0; n_coarse];
        self.cycle(level + 1, &b_coarse, &mut x_coarse);
        spmv(p, &x_coarse, &mut residual);
        for (xi, ci) in x.iter_mut().zip(&residual) {
            *xi += ci;
        }
        for _ in 0..self.sweeps {
            gauss_seidel(&lv.a, &lv.inv_diag, b, x, false);
        }
    }
}

/// A dense Cholesky factor `A = L Lᵀ`, row-major lower triangle.
#[derive(Debug)]
struct DenseCholesky {
    n: usize,
    l: Vec<f64>,
}

impl DenseCholesky {
    /// Factors a sparse SPD matrix; `None` if a pivot is not positive (or not finite).
    fn new(a: &CsMat<f64>) -> Option<Self> {
        let n = a.rows();
        let mut l = vec![0.0; n * n];
        for (row, vec) in a.outer_iterator().enumerate() {
            for (col, &v) in vec.iter() {
                if col <= row {
                    l[row * n + col] = v;
                }
            }
        }
        for j in 0..n {
            let mut d = l[j * n + j];
            for k in 0..j {
                d -= l[j * n + k] * l[j * n + k];
            }
            if !(d > 0.0 && d.is_finite()) {
                return None;
            }
            let d = d.sqrt();
            l[j * n + j] = d;
            for i in j + 1..n {
                let mut v = l[i * n + j];
                for k in 0..j {
                    v -= l[i * n + k] * l[j * n + k];
                }
                l[i * n + j] = v / d;
            }
        }
        Some(Self { n, l })
    }

    fn solve(&self, b: &[f64], x: &mut [f64]) {
        let (n, l) = (self.n, &self.l);
        for i in 0..n {
            let mut v = b[i];
            for k in 0..i {
                v -= l[i * n + k] * x[k];
            }
            x[i] = v / l[i * n + i];
        }
        for i in (0..n).rev() {
            let mut v = x[i];
            for k in i + 1..n {
                v -= l[k * n + i] * x[k];
            }
            x[i] = v / l[i * n + i];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dense(a: &CsMat<f64>) -> Vec<Vec<f64>> {
        let mut d = vec![vec![0.0; a.cols()]; a.rows()];
        for (row, vec) in a.outer_iterator().enumerate() {
            for (col, &v) in vec.iter() {
                d[row][col] = v;
            }
        }
        d
    }

    #[test]
    fn prolongation_interpolates_linear_functions_that_vanish_on_the_boundary_side() {
        // x ↦ x on the coarse vertices 0, 2, 4, …, (m) is reproduced at fine vertices away
        // from the last interval, for both even and odd interval counts.
        for m in [4usize, 5, 8, 9] {
            let (m_coarse, entries) = prolongation_1d(m);
            let coarse_pos = |j: usize| (2 * j).min(m) as f64;
            let mut fine = vec![0.0; m - 1];
            for &(i, j, w) in &entries {
                fine[i] += w * coarse_pos(j + 1);
            }
            for i in 1..m {
                // The last fine interior point borrows from the Dirichlet end when m is even.
                let expected =
                    if m % 2 == 0 && i == m - 1 { (i - 1) as f64 / 2.0 } else { i as f64 };
                assert_eq!(fine[i - 1], expected, "m = {m}, i = {i}");
            }
            assert_eq!(m_coarse, m.div_ceil(2));
        }
    }

    #[test]
    fn galerkin_coarse_operator_equals_dense_triple_product() {
        let m = 7;
        let n = m - 1;
        let mut tri = TriMat::new((n * n, n * n));
        for i in 0..n {
            for j in 0..n {
                let p = i * n + j;
                tri.add_triplet(p, p, 4.0 + 0.1 * i as f64);
                if j + 1 < n {
                    tri.add_triplet(p, p + 1, -1.0);
                    tri.add_triplet(p + 1, p, -1.0);
                }
                if i + 1 < n {
                    tri.add_triplet(p, p + n, -1.5);
                    tri.add_triplet(p + n, p, -1.5);
                }
            }
        }
        let a: CsMat<f64> = tri.to_csr();
        let (_, p) = prolongation_2d(m);
        let sparse = dense(&(&p.transpose_view().to_csr() * &(&a * &p)));
        let (ad, pd) = (dense(&a), dense(&p));
        for r in 0..p.cols() {
            for c in 0..p.cols() {
                let mut v = 0.0;
                for i in 0..a.rows() {
                    for j in 0..a.rows() {
                        v += pd[i][r] * ad[i][j] * pd[j][c];
                    }
                }
                // Same sums in another order: round-off only.
                assert!((v - sparse[r][c]).abs() < 1e-12, "({r},{c})");
            }
        }
    }
}
