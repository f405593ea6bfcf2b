//! The sphere DISCO kernel tensor Ψ in longitude-Fourier space, as latitude-banded real blocks.
//!
//! Ψ is stored for output longitude 0 only; every other output longitude is a shift of the
//! columns, so along longitude the operator is a circular cross-correlation (forward) or
//! convolution (transpose). After a real FFT along longitude each zonal wavenumber `m`
//! decouples, and only a band of latitudes within the cutoff couples:
//!
//! * forward, `W = nlon_in`: `Ŷ[k, t, m] = Σ_j A[k, t, j, m] X̂[j, m]` with
//!   `A[k, t, j, m] = Σ_p Ψ[k, t, j, p] e^{+2πimp/W}`;
//! * transpose, `W = nlon_out` (fine): `Ô[j, m] = Σ_{k,t} F[k, t, j, m] Û[k, t, m]` with
//!   `F[k, t, j, m] = Σ_p Ψᵀ[k, t, j, p] e^{−2πimp/W}` and `U` zero-upsampled to `W`.
//!
//! Output latitudes are grouped in blocks of `block` rows; each block reads one window of
//! `window` consecutive input latitudes (the union of its rows' supports). The complex
//! coefficients are stored as real 2×2 blocks `[[Re, −Im], [Im, Re]]` so that one real batched
//! matmul per batch element applies them. Block layout (f32, `[M·n_blocks, rows, cols]`):
//!
//! * forward: rows `(re/im, t_local, k)`, cols `(re/im, j_local)`;
//! * transpose: rows `(re/im, j_local)`, cols `(re/im, t_local, k)`.

use std::f64::consts::PI;

use lno_kernels::{KernelTensor, Layout, S2Direction};
use tch::{Device, Kind, Tensor};

use crate::error::{LayerError, Result};

/// Output latitudes per block (a trade-off between window overhead `(block + band)/block` and
/// the size of the small matrices in the batched matmul).
pub const DEFAULT_BLOCK: usize = 16;

/// Byte budget of one chunk of the forward's per-item intermediate (about half an L2 cache).
pub const CHUNK_BYTES: usize = 1 << 20;

/// Ψ in banded longitude-Fourier form; see the module docs.
#[derive(Debug)]
pub struct BandedFourierOperator {
    /// `[n_modes · n_blocks, rows, cols]`, f32, non-trainable.
    pub(crate) blocks: Tensor,
    /// Input latitude of every window slot, `[n_blocks · window]`, i64.
    pub(crate) window_index: Tensor,
    direction: S2Direction,
    n_basis: usize,
    n_modes: usize,
    n_blocks: usize,
    block: usize,
    window: usize,
    n_lat_out: usize,
    n_lon_fft: usize,
}

impl BandedFourierOperator {
    /// Builds the blocks from a sphere kernel tensor (f64) on `device`.
    ///
    /// # Errors
    /// `psi` does not have the sphere layout, or `block == 0`.
    pub fn new(
        psi: &KernelTensor,
        direction: S2Direction,
        block: usize,
        device: Device,
    ) -> Result<Self> {
        let Layout::Sphere { n_lat_rows, n_lat_cols, n_lon_cols, .. } = psi.layout() else {
            return Err(LayerError::parameter("psi", "a sphere kernel tensor", "a planar one"));
        };
        if block == 0 {
            return Err(LayerError::parameter("block", "at least 1", 0));
        }
        let k_n = psi.n_basis();
        let w = n_lon_cols;
        let n_modes = w / 2 + 1;
        // (output latitude, input latitude) of each Ψ row/column pair, by direction.
        let (n_out, n_in) = match direction {
            S2Direction::Forward => (n_lat_rows, n_lat_cols),
            S2Direction::Transpose => (n_lat_cols, n_lat_rows),
        };
        let n_blocks = n_out.div_ceil(block);
        let mut lo = vec![usize::MAX; n_blocks];
        let mut hi = vec![0usize; n_blocks];
        let mat = psi.matrix();
        for (r, row) in mat.outer_iterator().enumerate() {
            let t = r % n_lat_rows;
            for (c, _) in row.iter() {
                let j = c / w;
                let (o, i) = match direction {
                    S2Direction::Forward => (t, j),
                    S2Direction::Transpose => (j, t),
                };
                lo[o / block] = lo[o / block].min(i);
                hi[o / block] = hi[o / block].max(i);
            }
        }
        let window = (0..n_blocks)
            .filter(|&b| lo[b] != usize::MAX)
            .map(|b| hi[b] - lo[b] + 1)
            .max()
            .unwrap_or(1)
            .min(n_in);
        let starts: Vec<usize> = (0..n_blocks)
            .map(|b| if lo[b] == usize::MAX { 0 } else { lo[b].min(n_in - window) })
            .collect();
        let (rows, cols) = match direction {
            S2Direction::Forward => (2 * block * k_n, 2 * window),
            S2Direction::Transpose => (2 * block, 2 * window * k_n),
        };
        let per_mode = n_blocks * rows * cols;
        let mut data = vec![0f64; n_modes * per_mode];
        // e^{2πi n/W} for n < W; (m·p) mod W indexes it exactly.
        let unit: Vec<(f64, f64)> =
            (0..w).map(|n| (2.0 * PI * n as f64 / w as f64).sin_cos()).collect();
        let sign = match direction {
            S2Direction::Forward => 1.0,
            S2Direction::Transpose => -1.0,
        };
        for (r, row) in mat.outer_iterator().enumerate() {
            let (k, t) = (r / n_lat_rows, r % n_lat_rows);
            for (c, &v) in row.iter() {
                let (j, p) = (c / w, c % w);
                let (o, i) = match direction {
                    S2Direction::Forward => (t, j),
                    S2Direction::Transpose => (j, t),
                };
                let (b, ol, il) = (o / block, o % block, i - starts[o / block]);
                // Offsets of the real 2×2 block's (re, re) entry and the strides of its
                // re/im row and column.
                let (base, row_ri, col_ri) = match direction {
                    S2Direction::Forward => {
                        let rr = ol * k_n + k;
                        (b * rows * cols + rr * cols + il, block * k_n * cols, window)
                    }
                    S2Direction::Transpose => {
                        let cc = il * k_n + k;
                        (b * rows * cols + ol * cols + cc, block * cols, window * k_n)
                    }
                };
                for m in 0..n_modes {
                    let (s, co) = unit[(m * p) % w];
                    let (re, im) = (v * co, sign * v * s);
                    let at = m * per_mode + base;
                    data[at] += re;
                    data[at + col_ri] -= im;
                    data[at + row_ri] += im;
                    data[at + row_ri + col_ri] += re;
                }
            }
        }
        let data32: Vec<f32> = data.iter().map(|&v| v as f32).collect();
        let blocks = Tensor::f_from_slice(&data32)?
            .f_view([(n_modes * n_blocks) as i64, rows as i64, cols as i64])?
            .f_to_device(device)?;
        let idx: Vec<i64> =
            starts.iter().flat_map(|&s| (s..s + window).map(|j| j as i64)).collect();
        let window_index = Tensor::f_from_slice(&idx)?.f_to_device(device)?;
        Ok(Self {
            blocks,
            window_index,
            direction,
            n_basis: k_n,
            n_modes,
            n_blocks,
            block,
            window,
            n_lat_out: n_out,
            n_lon_fft: w,
        })
    }

    /// Forward: `x̂ [B, n_modes, 2, n_lat_in, C]` (real view of the longitude rfft, already
    /// permuted) → `[B, n_modes, n_blocks, 2, block, K·C]` contracted with `weight [K·C, O]`
    /// → real spectrum `[B, O, n_lat_out, n_modes, 2]`.
    ///
    /// The `(m, block)` items are processed in chunks whose `[items, 2·block·K, C]` intermediate
    /// stays within [`CHUNK_BYTES`] (cache-resident), so the K-fold larger intermediate never
    /// goes through main memory; the weight GEMM then reads it hot.
    pub(crate) fn apply_forward(&self, xr: &Tensor, weight: &Tensor) -> Result<Tensor> {
        let (m, nb, bl, wi) =
            (self.n_modes as i64, self.n_blocks as i64, self.block as i64, self.window as i64);
        let size = xr.size();
        let (b, c) = (size[0], size[4]);
        let o = weight.size()[1];
        let blocks = self.blocks_for(xr)?;
        let xw = xr
            .f_index_select(3, &self.window_index)?
            .f_view([b, m, 2, nb, wi, c])?
            .f_permute([0, 1, 3, 2, 4, 5])?
            .f_reshape([b, m * nb, 2 * wi, c])?;
        let k = self.n_basis as i64;
        let items = m * nb;
        let rows = 2 * bl * k;
        let per_item = (rows * c.max(1)) as usize * xr.kind().elt_size_in_bytes();
        let chunk = (CHUNK_BYTES / per_item.max(1)).clamp(1, items as usize) as i64;
        let mut outs = Vec::new();
        for i in 0..b {
            let xi = xw.f_get(i)?;
            let mut start = 0;
            while start < items {
                let len = chunk.min(items - start);
                let y = blocks.f_narrow(0, start, len)?.f_bmm(&xi.f_narrow(0, start, len)?)?;
                outs.push(y.f_view([len * 2 * bl, k * c])?.f_mm(weight)?);
                start += len;
            }
        }
        self.finish(&Tensor::f_cat(&outs, 0)?, b, o)
    }

    /// Transpose: `ẑ [B, n_modes, 2, n_lat_in, K·O]` (weights already applied) →
    /// real spectrum `[B, O, n_lat_out, n_modes, 2]`.
    pub(crate) fn apply_transpose(&self, zr: &Tensor, o: i64) -> Result<Tensor> {
        let (m, nb, wi) = (self.n_modes as i64, self.n_blocks as i64, self.window as i64);
        let k = self.n_basis as i64;
        let b = zr.size()[0];
        let blocks = self.blocks_for(zr)?;
        let zw = zr
            .f_index_select(3, &self.window_index)?
            .f_view([b, m, 2, nb, wi, k, o].as_slice())?
            .f_permute([0, 1, 3, 2, 4, 5, 6])?
            .f_reshape([b, m * nb, 2 * wi * k, o])?;
        let mut outs = Vec::with_capacity(b as usize);
        for i in 0..b {
            outs.push(blocks.f_bmm(&zw.f_get(i)?)?); // [m·nb, 2·bl, O]
        }
        self.finish(&Tensor::f_cat(&outs, 0)?, b, o)
    }

    /// `[B·m·nb·2·bl, O]` (rows batch-major) → `[B, O, n_lat_out, n_modes, 2]`.
    fn finish(&self, y: &Tensor, b: i64, o: i64) -> Result<Tensor> {
        let (m, nb, bl) = (self.n_modes as i64, self.n_blocks as i64, self.block as i64);
        Ok(y.f_view([b, m, nb, 2, bl, o])?
            .f_permute([0, 5, 2, 4, 1, 3])?
            .f_reshape([b, o, nb * bl, m, 2])?
            .f_narrow(2, 0, self.n_lat_out as i64)?)
    }

    fn blocks_for(&self, x: &Tensor) -> Result<Tensor> {
        Ok(if x.kind() == self.blocks.kind() {
            self.blocks.shallow_clone()
        } else {
            self.blocks.f_to_kind(x.kind())?
        })
    }

    /// Number of zonal wavenumbers `W/2 + 1`.
    pub fn n_modes(&self) -> usize {
        self.n_modes
    }

    /// Longitudes of the FFT grid `W` (the input grid forward, the output grid transpose).
    pub fn n_lon_fft(&self) -> usize {
        self.n_lon_fft
    }

    /// `(block, window)`: output latitudes per block and input latitudes read per block.
    pub fn block_shape(&self) -> (usize, usize) {
        (self.block, self.window)
    }

    /// Which operator this is.
    pub fn direction(&self) -> S2Direction {
        self.direction
    }

    /// Bytes held by the f32 blocks.
    pub fn buffer_bytes(&self) -> usize {
        self.blocks.numel() * Kind::Float.elt_size_in_bytes()
    }
}
