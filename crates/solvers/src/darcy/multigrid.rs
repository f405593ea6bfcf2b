//! Galerkin geometric multigrid for 9-point operators on square vertex grids, used as the
//! preconditioner of the Darcy conjugate-gradient solver.
//!
//! Operators are stored as 9-point stencils over the full `(m+1) × (m+1)` vertex grid of a
//! level with `m` intervals per axis; vectors use the same layout with zero boundary values,
//! so every stencil loop runs without bounds logic. Coarsening keeps every other vertex per
//! axis plus the last one, so any interval count works (420 → 210 → 105 → 53 → …);
//! prolongation is bilinear in the index, restriction its transpose (full weighting), and the
//! coarse operators are the Galerkin products `Pᵀ A P`, which stay symmetric positive definite
//! and follow coefficient jumps without knowing the PDE. Smoothing is lexicographic
//! Gauss–Seidel, forward before and backward after the coarse correction, and the coarsest
//! level is solved exactly by dense Cholesky; one V-cycle is therefore a symmetric
//! positive-definite linear map, as CG requires.

/// The coarsest level holds at most this many unknowns; its dense Cholesky factor then costs
/// well under a millisecond.
const MAX_COARSE_UNKNOWNS: usize = 400;

/// A 9-point operator on the interior of a vertex grid with `m` intervals per axis.
///
/// `c[p][3 (di + 1) + (dj + 1)]` couples vertex `p = i (m + 1) + j` to `(i + di, j + dj)`.
#[derive(Debug, Clone)]
pub(crate) struct Stencil9 {
    pub(crate) m: usize,
    pub(crate) c: Vec<[f64; 9]>,
    /// The corner couplings are all zero (the fine Darcy level), so loops may skip them.
    pub(crate) five_point: bool,
}

impl Stencil9 {
    /// A zero operator on a grid with `m` intervals.
    pub(crate) fn zeros(m: usize) -> Self {
        Self { m, c: vec![[0.0; 9]; (m + 1) * (m + 1)], five_point: false }
    }

    /// The stencil sum `Σ_k c_k x_{p + offset_k}` at interior vertex `p`.
    #[inline]
    fn row(&self, x: &[f64], p: usize) -> f64 {
        let w = self.m + 1;
        let c = &self.c[p];
        c[0] * x[p - w - 1]
            + c[1] * x[p - w]
            + c[2] * x[p - w + 1]
            + c[3] * x[p - 1]
            + c[4] * x[p]
            + c[5] * x[p + 1]
            + c[6] * x[p + w - 1]
            + c[7] * x[p + w]
            + c[8] * x[p + w + 1]
    }

    /// The 5-point part of [`row`](Self::row), equal to it when `five_point` holds.
    #[inline]
    fn row5(&self, x: &[f64], p: usize) -> f64 {
        let w = self.m + 1;
        let c = &self.c[p];
        c[1] * x[p - w] + c[3] * x[p - 1] + c[4] * x[p] + c[5] * x[p + 1] + c[7] * x[p + w]
    }

    /// `y = A x` on interior vertices; boundary entries of `y` are left untouched.
    pub(crate) fn apply(&self, x: &[f64], y: &mut [f64]) {
        let w = self.m + 1;
        for i in 1..self.m {
            for p in i * w + 1..i * w + self.m {
                y[p] = if self.five_point { self.row5(x, p) } else { self.row(x, p) };
            }
        }
    }

    /// One Gauss–Seidel sweep for `A x = b`, vertices in increasing or decreasing order.
    fn gauss_seidel(&self, inv_diag: &[f64], b: &[f64], x: &mut [f64], forward: bool) {
        let w = self.m + 1;
        let mut relax = |p: usize| {
            let sum = if self.five_point { self.row5(x, p) } else { self.row(x, p) };
            x[p] += (b[p] - sum) * inv_diag[p];
        };
        if forward {
            for i in 1..self.m {
                (i * w + 1..i * w + self.m).for_each(&mut relax);
            }
        } else {
            for i in (1..self.m).rev() {
                (i * w + 1..i * w + self.m).rev().for_each(&mut relax);
            }
        }
    }

    /// The Galerkin coarse operator `Pᵀ A P` on the grid with `⌈m/2⌉` intervals.
    pub(crate) fn galerkin(&self) -> Self {
        let m = self.m;
        let parents = parents_1d(m);
        let mut coarse = Self::zeros(m.div_ceil(2));
        let (w, wc) = (m + 1, coarse.m + 1);
        for i in 1..m {
            for j in 1..m {
                let c = &self.c[i * w + j];
                for (k, &v) in c.iter().enumerate() {
                    if v == 0.0 {
                        continue;
                    }
                    // Neighbour (qi, qj); boundary vertices carry no unknown (no parents).
                    let (qi, qj) = (i + k / 3 - 1, j + k % 3 - 1);
                    for &(ci, wi) in &parents[i] {
                        for &(cj, wj) in &parents[j] {
                            let row = &mut coarse.c[ci * wc + cj];
                            for &(cq, wq) in &parents[qi] {
                                for &(cr, wr) in &parents[qj] {
                                    // Parents of neighbours are at most one coarse step apart.
                                    row[3 * (cq + 1 - ci) + (cr + 1 - cj)] += wi * wj * v * wq * wr;
                                }
                            }
                        }
                    }
                }
            }
        }
        coarse
    }
}

/// For each fine vertex `0..=m`, its coarse interior parents `(I, weight)` under 1-D linear
/// interpolation; coarse vertex `I` sits at fine index `min(2I, m)`, and the boundary vertices
/// (`I = 0` and `I = ⌈m/2⌉`) are Dirichlet zeros, so they are left out.
pub(crate) fn parents_1d(m: usize) -> Vec<Vec<(usize, f64)>> {
    let m_coarse = m.div_ceil(2);
    let interior = |c: usize| c >= 1 && c < m_coarse;
    (0..=m)
        .map(|i| {
            if i == 0 || i == m {
                Vec::new()
            } else if i % 2 == 0 {
                vec![(i / 2, 1.0)]
            } else {
                [(i - 1) / 2, i.div_ceil(2)]
                    .into_iter()
                    .filter(|&c| interior(c))
                    .map(|c| (c, 0.5))
                    .collect()
            }
        })
        .collect()
}

/// One level of the hierarchy.
#[derive(Debug)]
struct Level {
    a: Stencil9,
    inv_diag: Vec<f64>,
    /// `parents_1d(a.m)`, for restriction and prolongation to and from the next level.
    parents: Vec<Vec<(usize, f64)>>,
}

/// A multigrid V-cycle for a 9-point operator on a square vertex grid.
#[derive(Debug)]
pub(crate) struct Multigrid {
    levels: Vec<Level>,
    coarse_m: usize,
    coarse: DenseCholesky,
    sweeps: usize,
}

impl Multigrid {
    /// Builds the hierarchy for `a`, with `sweeps` pre- and post-smoothing sweeps.
    ///
    /// Returns `None` if the coarsest matrix is not positive definite (impossible for an SPD
    /// `a`, so it signals bad input such as non-finite entries).
    pub(crate) fn new(a: Stencil9, sweeps: usize) -> Option<Self> {
        let mut levels = Vec::new();
        let mut a = a;
        while (a.m - 1) * (a.m - 1) > MAX_COARSE_UNKNOWNS && a.m > 2 {
            let coarse = a.galerkin();
            let inv_diag = a.c.iter().map(|c| 1.0 / c[4]).collect();
            let parents = parents_1d(a.m);
            levels.push(Level { a, inv_diag, parents });
            a = coarse;
        }
        let coarse = DenseCholesky::from_stencil(&a)?;
        Some(Self { levels, coarse_m: a.m, coarse, sweeps })
    }

    /// `z = M⁻¹ r`: one V-cycle from a zero initial guess (full-grid layout, zero boundary).
    pub(crate) fn apply(&self, r: &[f64], z: &mut [f64]) {
        self.cycle(0, r, z);
    }

    fn cycle(&self, level: usize, b: &[f64], x: &mut [f64]) {
        let Some(lv) = self.levels.get(level) else {
            self.coarse.solve_grid(self.coarse_m, b, x);
            return;
        };
        let (m, w) = (lv.a.m, lv.a.m + 1);
        x.fill(0.0);
        for _ in 0..self.sweeps {
            lv.a.gauss_seidel(&lv.inv_diag, b, x, true);
        }
        let mut residual = vec![0.0; w * w];
        lv.a.apply(x, &mut residual);
        for i in 1..m {
            for p in i * w + 1..i * w + m {
                residual[p] = b[p] - residual[p];
            }
        }
        // Restriction Pᵀ r, scattered from each fine vertex to its parents.
        let wc = m.div_ceil(2) + 1;
        let mut b_coarse = vec![0.0; wc * wc];
        for i in 1..m {
            for j in 1..m {
                let r = residual[i * w + j];
                for &(ci, wi) in &lv.parents[i] {
                    for &(cj, wj) in &lv.parents[j] {
                        b_coarse[ci * wc + cj] += wi * wj * r;
                    }
                }
            }
        }
        let mut x_coarse = vec![0.0; wc * wc];
        self.cycle(level + 1, &b_coarse, &mut x_coarse);
        // Prolongation x += P x_c, gathered at each fine vertex from its parents.
        for i in 1..m {
            for j in 1..m {
                let mut v = 0.0;
                for &(ci, wi) in &lv.parents[i] {
                    for &(cj, wj) in &lv.parents[j] {
                        v += wi * wj * x_coarse[ci * wc + cj];
                    }
                }
                x[i * w + j] += v;
            }
        }
        for _ in 0..self.sweeps {
            lv.a.gauss_seidel(&lv.inv_diag, b, x, false);
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
    /// Factors the interior operator of `a`; `None` if a pivot is not positive or finite.
    fn from_stencil(a: &Stencil9) -> Option<Self> {
        let (m, w) = (a.m, a.m + 1);
        let n_side = m - 1;
        let n = n_side * n_side;
        let mut l = vec![0.0; n * n];
        for i in 1..m {
            for j in 1..m {
                let row = (i - 1) * n_side + (j - 1);
                for (k, &v) in a.c[i * w + j].iter().enumerate() {
                    let (qi, qj) = (i + k / 3 - 1, j + k % 3 - 1);
                    if (1..m).contains(&qi) && (1..m).contains(&qj) {
                        let col = (qi - 1) * n_side + (qj - 1);
                        if col <= row {
                            l[row * n + col] = v;
                        }
                    }
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

    /// Solves on the interior of a grid with `m` intervals, full-grid layout in and out.
    fn solve_grid(&self, m: usize, b: &[f64], x: &mut [f64]) {
        let (n, l, w, n_side) = (self.n, &self.l, m + 1, m - 1);
        let grid = |k: usize| (k / n_side + 1) * w + k % n_side + 1;
        let mut y = vec![0.0; n];
        for i in 0..n {
            let mut v = b[grid(i)];
            for k in 0..i {
                v -= l[i * n + k] * y[k];
            }
            y[i] = v / l[i * n + i];
        }
        for i in (0..n).rev() {
            let mut v = y[i];
            for k in i + 1..n {
                v -= l[k * n + i] * y[k];
            }
            y[i] = v / l[i * n + i];
        }
        x.fill(0.0);
        for (k, v) in y.into_iter().enumerate() {
            x[grid(k)] = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dense matrix of the interior operator, unknowns numbered row-major over the interior.
    fn dense(a: &Stencil9) -> Vec<Vec<f64>> {
        let (m, w) = (a.m, a.m + 1);
        let n_side = m - 1;
        let mut d = vec![vec![0.0; n_side * n_side]; n_side * n_side];
        let mut e = vec![0.0; w * w];
        let mut y = vec![0.0; w * w];
        for col in 0..n_side * n_side {
            e.fill(0.0);
            e[(col / n_side + 1) * w + col % n_side + 1] = 1.0;
            a.apply(&e, &mut y);
            for row in 0..n_side * n_side {
                d[row][col] = y[(row / n_side + 1) * w + row % n_side + 1];
            }
        }
        d
    }

    #[test]
    fn prolongation_interpolates_linear_functions_away_from_a_dirichlet_end() {
        // x ↦ x on the coarse vertices (fine index min(2I, m)) is reproduced at fine vertices,
        // except next to the far end when m is even (that coarse end is a Dirichlet zero).
        for m in [4usize, 5, 8, 9] {
            let parents = parents_1d(m);
            for i in 1..m {
                let value: f64 = parents[i].iter().map(|&(c, w)| w * (2 * c).min(m) as f64).sum();
                let expected =
                    if m % 2 == 0 && i == m - 1 { (i - 1) as f64 / 2.0 } else { i as f64 };
                assert_eq!(value, expected, "m = {m}, i = {i}");
            }
        }
    }

    #[test]
    fn galerkin_coarse_operator_equals_dense_triple_product() {
        for m in [7usize, 8] {
            let w = m + 1;
            let mut a = Stencil9::zeros(m);
            for i in 1..m {
                for j in 1..m {
                    // A symmetric, non-constant 5-point operator.
                    let (e, n) = (1.0 + 0.1 * i as f64, 1.5 + 0.05 * j as f64);
                    let (west, south) = (1.0 + 0.1 * (i - 1) as f64, 1.5 + 0.05 * (j - 1) as f64);
                    a.c[i * w + j] =
                        [0.0, -west, 0.0, -south, e + n + west + south + 0.2, -n, 0.0, -e, 0.0];
                }
            }
            let coarse = dense(&a.galerkin());
            let parents = parents_1d(m);
            let n_side = m - 1;
            let nc_side = m.div_ceil(2) - 1;
            let mut p = vec![vec![0.0; nc_side * nc_side]; n_side * n_side];
            for i in 1..m {
                for j in 1..m {
                    for &(ci, wi) in &parents[i] {
                        for &(cj, wj) in &parents[j] {
                            p[(i - 1) * n_side + (j - 1)][(ci - 1) * nc_side + (cj - 1)] += wi * wj;
                        }
                    }
                }
            }
            let ad = dense(&a);
            for r in 0..nc_side * nc_side {
                for c in 0..nc_side * nc_side {
                    let mut v = 0.0;
                    for i in 0..n_side * n_side {
                        for j in 0..n_side * n_side {
                            v += p[i][r] * ad[i][j] * p[j][c];
                        }
                    }
                    // Same sums in another order: round-off only.
                    assert!(
                        (v - coarse[r][c]).abs() < 1e-12,
                        "m = {m}, ({r},{c}): {v} vs {}",
                        coarse[r][c]
                    );
                }
            }
        }
    }
}
