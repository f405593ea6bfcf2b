//! The assembled kernel tensor Ψ in CSR: storage, assembly from per-row blocks, normalisation.
//!
//! Rows are `(basis l, output unit u)` with row index `l·n_units + u` (basis-major), columns are
//! input points; within a row the columns are strictly increasing. Assembly is deterministic: the
//! per-unit blocks are computed in parallel but every sum runs in a fixed order.

use rayon::prelude::*;
use sprs::CsMat;

use crate::error::{KernelError, Result};

/// One non-zero before assembly: basis index, column, raw basis value κ.
pub(crate) type Entry = (u32, u32, f64);

/// How Ψ is normalised before the quadrature weights are merged into it.
///
/// With raw values `κ_l(g_i⁻¹x_j)` and quadrature weights `q_j`, the stored value is
/// `Ψ_l[i, j] = κ_l(g_i⁻¹x_j)·q_j / n_l(g)`, where the norm `n_l(g)` depends on the mode and on a
/// normalisation group `g` (an output point in the plane, an output latitude on the sphere, a
/// fine latitude for the sphere transpose).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Normalization {
    /// `n_l(g) = Σ_j κ_l q_j` over the group (neuralop's planar mode): every non-empty row of a
    /// piecewise-linear Ψ sums to 1. Where the signed sum is cancellation (|Σκq| < 1e-8·Σ|κ|q,
    /// zero-mean bases such as Morlet k ≥ 1) the absolute sum is used instead; the reference
    /// divides by the noise and blows the values up to ~1e8 (see `docs/kernels.md`).
    Signed,
    /// `n_l = mean over all groups g of Σ_j |κ_l| q_j` (torch-harmonics "mean", its default).
    MeanAbs,
    /// `n_l(g) = Σ_j |κ_l| q_j` per group (torch-harmonics "individual").
    IndividualAbs,
    /// `n_l = 1`: Ψ is the plain quadrature of κ (the continuous operator without rescaling).
    None,
}

/// Relative size below which a signed row sum counts as cancellation (see [`Normalization::Signed`]).
const SIGNED_CANCELLATION: f64 = 1e-8;

/// How the rows and columns of a [`KernelTensor`] map to geometry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Layout {
    /// Point clouds: row `l·n_out + i` (output point i), column `j` (input point j).
    Planar {
        /// Output points.
        n_out: usize,
        /// Input points.
        n_in: usize,
    },
    /// Sphere, output longitude 0 only: row `l·n_lat_rows + t`, column `j·n_lon_cols + p`.
    ///
    /// Forward: `y[l, t, q] = Σ_{j,p} Ψ[l·n_lat_rows + t, j·n_lon_cols + p] · x[j, (p + lon_stride·q) mod n_lon_cols]`.
    /// Transpose (rows are the coarse transpose-input latitudes, columns the fine output grid):
    /// `out[j, (p + lon_stride·q) mod n_lon_cols] += Σ_{l,t} Ψ[l·n_lat_rows + t, j·n_lon_cols + p] · u[l, t, q]`.
    Sphere {
        /// Latitudes indexing the rows (per basis function).
        n_lat_rows: usize,
        /// Latitudes of the column grid.
        n_lat_cols: usize,
        /// Longitudes of the column grid.
        n_lon_cols: usize,
        /// Longitudes of the grid not stored in the columns (output for the forward, input for the
        /// transpose).
        n_lon_rows: usize,
        /// Column-grid longitude shift per row-grid longitude: `n_lon_cols / n_lon_rows`.
        lon_stride: usize,
    },
}

/// CSR arrays in the form libtorch's `sparse_csr_tensor` takes them.
#[derive(Clone, Debug, PartialEq)]
pub struct CsrParts {
    /// Row offsets, length `shape[0] + 1`.
    pub crow: Vec<i64>,
    /// Column indices, length nnz, strictly increasing within each row.
    pub col: Vec<i64>,
    /// Values, length nnz.
    pub values: Vec<f64>,
    /// `[rows, cols]`.
    pub shape: [usize; 2],
}

/// A normalised DISCO kernel tensor Ψ with quadrature merged in, stored as one CSR matrix of
/// shape `(n_basis · rows_per_basis) × n_cols`.
///
/// # Invariants
/// Rows are basis-major; columns strictly increase within a row; no stored value is exactly 0.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelTensor {
    matrix: CsMat<f64>,
    n_basis: usize,
    layout: Layout,
}

impl KernelTensor {
    /// The CSR matrix.
    pub fn matrix(&self) -> &CsMat<f64> {
        &self.matrix
    }

    /// Number of basis functions K.
    pub fn n_basis(&self) -> usize {
        self.n_basis
    }

    /// Rows per basis function (output points, or output latitudes on the sphere).
    pub fn rows_per_basis(&self) -> usize {
        self.matrix.rows() / self.n_basis
    }

    /// The geometry of rows and columns.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// `[rows, cols]` of the CSR matrix.
    pub fn shape(&self) -> [usize; 2] {
        [self.matrix.rows(), self.matrix.cols()]
    }

    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.matrix.nnz()
    }

    /// The CSR arrays with i64 indices (for `tch::Tensor::sparse_csr_tensor_crow_col_value_size`).
    pub fn to_csr_parts(&self) -> CsrParts {
        CsrParts {
            crow: self.matrix.indptr().to_proper().iter().map(|&v| v as i64).collect(),
            col: self.matrix.indices().iter().map(|&v| v as i64).collect(),
            values: self.matrix.data().to_vec(),
            shape: self.shape(),
        }
    }

    /// The matrix transpose Ψᵀ in CSR (shape `n_cols × rows`): the adjoint used by a backward
    /// pass. Rows of the result are input points, columns `(basis, output unit)`.
    pub fn transposed_matrix(&self) -> CsMat<f64> {
        self.matrix.transpose_view().to_csr()
    }

    /// Wraps a validated matrix (the on-disk cache).
    pub(crate) fn from_parts(matrix: CsMat<f64>, n_basis: usize, layout: Layout) -> Self {
        Self { matrix, n_basis, layout }
    }

    /// Row-major dense copy (tests and small problems only).
    pub fn to_dense(&self) -> Vec<f64> {
        let cols = self.matrix.cols();
        let mut out = vec![0.0; self.matrix.rows() * cols];
        for (r, row) in self.matrix.outer_iterator().enumerate() {
            for (c, &v) in row.iter() {
                out[r * cols + c] = v;
            }
        }
        out
    }
}

/// CSR arrays under construction (basis-major rows).
#[derive(Debug)]
pub(crate) struct RawCsr {
    pub(crate) indptr: Vec<usize>,
    pub(crate) indices: Vec<usize>,
    pub(crate) data: Vec<f64>,
    pub(crate) n_basis: usize,
    pub(crate) n_cols: usize,
}

impl RawCsr {
    /// Number of output units (rows per basis).
    pub(crate) fn n_units(&self) -> usize {
        (self.indptr.len() - 1) / self.n_basis
    }

    /// Validates the structure and wraps the arrays as a [`KernelTensor`].
    pub(crate) fn finish(self, layout: Layout) -> Result<KernelTensor> {
        let rows = self.indptr.len() - 1;
        let matrix = CsMat::try_new((rows, self.n_cols), self.indptr, self.indices, self.data)
            .map_err(|(_, _, _, e)| {
                KernelError::invalid("assembled CSR", "sorted, in-range columns", e)
            })?;
        Ok(KernelTensor { matrix, n_basis: self.n_basis, layout })
    }
}

/// Assembles raw per-unit blocks (entries sorted by `(basis, column)`) into basis-major CSR
/// arrays of shape `(n_basis·n_units) × n_cols`.
pub(crate) fn assemble(blocks: &[Vec<Entry>], n_basis: usize, n_cols: usize) -> RawCsr {
    let n_units = blocks.len();
    let mut lens = vec![0usize; n_basis * n_units];
    for (u, block) in blocks.iter().enumerate() {
        for &(k, _, _) in block {
            lens[k as usize * n_units + u] += 1;
        }
    }
    let mut indptr = Vec::with_capacity(lens.len() + 1);
    indptr.push(0usize);
    let mut acc = 0usize;
    for &l in &lens {
        acc += l;
        indptr.push(acc);
    }
    let nnz = acc;
    let mut indices = vec![0usize; nnz];
    let mut data = vec![0.0f64; nnz];
    // Each basis owns a contiguous slice; fill them in parallel.
    let mut chunks = Vec::with_capacity(n_basis);
    let (mut idx_rest, mut dat_rest) = (indices.as_mut_slice(), data.as_mut_slice());
    for k in 0..n_basis {
        let len = indptr[(k + 1) * n_units] - indptr[k * n_units];
        let (a, b) = idx_rest.split_at_mut(len);
        let (c, d) = dat_rest.split_at_mut(len);
        chunks.push((a, c));
        idx_rest = b;
        dat_rest = d;
    }
    chunks.into_par_iter().enumerate().for_each(|(k, (idx, dat))| {
        let mut pos = 0;
        for block in blocks {
            let start = block.partition_point(|e| (e.0 as usize) < k);
            for &(kk, c, v) in &block[start..] {
                if kk as usize != k {
                    break;
                }
                idx[pos] = c as usize;
                dat[pos] = v;
                pos += 1;
            }
        }
    });
    RawCsr { indptr, indices, data, n_basis, n_cols }
}

/// Per-entry geometry the normaliser needs: the group of an entry and its quadrature weight.
pub(crate) trait EntryInfo: Sync {
    /// Number of normalisation groups.
    fn n_groups(&self) -> usize;
    /// Group of the entry at output unit `unit`, column `col`.
    fn group(&self, unit: usize, col: usize) -> usize;
    /// Quadrature weight of the entry (merged into the value).
    fn weight(&self, unit: usize, col: usize) -> f64;
}

/// Normalises raw values in place (see [`Normalization`]) and merges quadrature weights; each
/// value is finally multiplied by `scale`.
pub(crate) fn normalize(csr: &mut RawCsr, info: &impl EntryInfo, mode: Normalization, scale: f64) {
    let n_units = csr.n_units();
    let n_groups = info.n_groups();
    let (indptr, indices) = (&csr.indptr, &csr.indices);
    // Group sums, computed per basis in row order (deterministic).
    let sums: Vec<(Vec<f64>, Vec<f64>)> = (0..csr.n_basis)
        .into_par_iter()
        .map(|k| {
            let mut signed = vec![0.0; n_groups];
            let mut abs = vec![0.0; n_groups];
            for u in 0..n_units {
                let row = k * n_units + u;
                for e in indptr[row]..indptr[row + 1] {
                    let (c, v) = (indices[e], csr.data[e]);
                    let g = info.group(u, c);
                    let q = info.weight(u, c);
                    signed[g] += v * q;
                    abs[g] += v.abs() * q;
                }
            }
            (signed, abs)
        })
        .collect();
    // Divisor per (basis, group); 0 marks an empty group (it has no entries to scale).
    let divisors: Vec<Vec<f64>> = sums
        .iter()
        .map(|(signed, abs)| match mode {
            Normalization::None => vec![1.0; n_groups],
            Normalization::IndividualAbs => abs.clone(),
            Normalization::MeanAbs => vec![abs.iter().sum::<f64>() / n_groups as f64; n_groups],
            Normalization::Signed => signed
                .iter()
                .zip(abs)
                .map(|(&s, &a)| if s.abs() > SIGNED_CANCELLATION * a { s } else { a })
                .collect(),
        })
        .collect();
    // Parallel over rows: each row owns its slice of `data`.
    let mut rows: Vec<&mut [f64]> = Vec::with_capacity(indptr.len() - 1);
    let mut rest = csr.data.as_mut_slice();
    for w in indptr.windows(2) {
        let (a, b) = rest.split_at_mut(w[1] - w[0]);
        rows.push(a);
        rest = b;
    }
    rows.into_par_iter().enumerate().for_each(|(row, vals)| {
        let (k, u) = (row / n_units, row % n_units);
        let cols = &indices[indptr[row]..indptr[row + 1]];
        for (v, &c) in vals.iter_mut().zip(cols) {
            let d = divisors[k][info.group(u, c)];
            *v = if d != 0.0 { *v * info.weight(u, c) / d * scale } else { 0.0 };
        }
    });
}
