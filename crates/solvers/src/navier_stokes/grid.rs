//! The periodic spectral grid: planned 2-D real FFTs, wavenumbers and the 2/3 dealiasing mask.
//!
//! Physical fields are `n × n`, row-major, index `[i, j]` = point `(x_i, y_j) = (iL/n, jL/n)`.
//! Spectral fields hold the unnormalised forward DFT `ω̂[kx, ky] = Σ_{i,j} ω[i,j] e^{−2πi(kx i + ky j)/n}`
//! for `ky ∈ 0..=n/2` only (the field is real), stored transposed as `[ky][kx]`, i.e. index
//! `q·n + p` for `ky = q` and FFT index `p` of `kx` (`p < n/2` is `kx = p`, otherwise `p − n`).
//! The transposed layout makes both 1-D passes contiguous: a real FFT along each physical row
//! (the `y` axis), then a complex FFT along each spectral row (the `x` axis).
//!
//! All buffers and scratch space are allocated once; transforms never allocate. Passes over
//! rows run on rayon when the grid is large enough for the fork/join cost to pay off, and
//! every row is transformed independently, so results do not depend on the thread count.

use std::sync::Arc;

use rayon::prelude::*;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use rustfft::num_complex::Complex64;
use rustfft::{Fft, FftPlanner};

use crate::{Result, SolverError};

/// Grids at least this large run their row passes on rayon; below, fork/join costs more
/// than the FFTs (measured: 64² is faster serial, 128² and up faster parallel).
const PARALLEL_MIN_N: usize = 128;

/// Rows per block in the blocked transposes: 8 complex values are two cache lines.
const TRANSPOSE_BLOCK: usize = 8;

/// Largest integer wavenumber kept by the 2/3 rule on an `n`-point axis.
///
/// Products of two fields with `|k| ≤ K` reach `2K`, which aliases onto `2K − n`; that lands
/// outside the kept band iff `2K − n < −K`, i.e. `K < n/3` strictly.
pub fn dealias_cutoff(n: usize) -> usize {
    n.div_ceil(3) - 1
}

/// Signed integer wavenumber of FFT index `p` on an `n`-point axis (Nyquist maps to `−n/2`).
pub fn signed_wavenumber(p: usize, n: usize) -> i64 {
    if p < n / 2 { p as i64 } else { p as i64 - n as i64 }
}

/// A planned periodic `n × n` spectral grid on `[0, L)²` with reusable buffers.
pub struct SpectralGrid {
    n: usize,
    length: f64,
    r2c: Arc<dyn RealToComplex<f64>>,
    c2r: Arc<dyn ComplexToReal<f64>>,
    fft: Arc<dyn Fft<f64>>,
    ifft: Arc<dyn Fft<f64>>,
    /// Row-pass buffer, `n × (n/2+1)`, physical-row major.
    rows: Vec<Complex64>,
    /// Spectral work buffer for [`Self::inverse_work`], `(n/2+1) × n`.
    work: Vec<Complex64>,
    /// One scratch buffer per chunk of rows, so chunks can run in parallel.
    scratch: Vec<Vec<Complex64>>,
    parallel: bool,
}

impl std::fmt::Debug for SpectralGrid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpectralGrid")
            .field("n", &self.n)
            .field("length", &self.length)
            .field("parallel", &self.parallel)
            .finish_non_exhaustive()
    }
}

impl SpectralGrid {
    /// Plans the transforms of an `n × n` grid on the square `[0, length)²`.
    ///
    /// Errors when `n` is odd or below 4, or `length` is not finite and positive.
    pub fn new(n: usize, length: f64) -> Result<Self> {
        if n < 4 || !n.is_multiple_of(2) {
            return Err(SolverError::invalid("n", "an even grid size of at least 4", n));
        }
        if !(length.is_finite() && length > 0.0) {
            return Err(SolverError::invalid("length", "a finite domain length > 0", length));
        }
        let mut real_planner = RealFftPlanner::<f64>::new();
        let r2c = real_planner.plan_fft_forward(n);
        let c2r = real_planner.plan_fft_inverse(n);
        let mut planner = FftPlanner::<f64>::new();
        let fft = planner.plan_fft_forward(n);
        let ifft = planner.plan_fft_inverse(n);
        let scratch_len = r2c
            .get_scratch_len()
            .max(c2r.get_scratch_len())
            .max(fft.get_inplace_scratch_len())
            .max(ifft.get_inplace_scratch_len());
        let parallel = n >= PARALLEL_MIN_N;
        let n_chunks = if parallel { 2 * rayon::current_num_threads() } else { 1 };
        let nh = n / 2 + 1;
        Ok(Self {
            n,
            length,
            r2c,
            c2r,
            fft,
            ifft,
            rows: vec![Complex64::ZERO; n * nh],
            work: vec![Complex64::ZERO; nh * n],
            scratch: vec![vec![Complex64::ZERO; scratch_len]; n_chunks],
            parallel,
        })
    }

    /// Grid points per axis.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Side length `L` of the periodic square.
    pub fn length(&self) -> f64 {
        self.length
    }

    /// Number of stored spectral rows, `n/2 + 1` (`ky = 0..=n/2`).
    pub fn n_ky(&self) -> usize {
        self.n / 2 + 1
    }

    /// Length of a spectral array, `(n/2 + 1)·n`.
    pub fn spectral_len(&self) -> usize {
        self.n_ky() * self.n
    }

    /// Angular wavenumber `2πk/L` of integer wavenumber `k`.
    pub fn angular(&self, k: i64) -> f64 {
        2.0 * std::f64::consts::PI * k as f64 / self.length
    }

    /// `(kx, ky)` integer wavenumbers of spectral index `q·n + p`.
    pub fn wavenumbers(&self, index: usize) -> (i64, i64) {
        let (q, p) = (index / self.n, index % self.n);
        (signed_wavenumber(p, self.n), q as i64)
    }

    /// Whether the 2/3 rule keeps spectral index `q·n + p` (Nyquist modes are never kept).
    pub fn keeps(&self, index: usize) -> bool {
        let (kx, ky) = self.wavenumbers(index);
        let cutoff = dealias_cutoff(self.n) as i64;
        kx.abs() <= cutoff && ky <= cutoff
    }

    /// Number of spectral rows (`ky = 0..rows`) that can be nonzero in a dealiased field.
    pub fn dealiased_rows(&self) -> usize {
        dealias_cutoff(self.n) + 1
    }

    /// Forward transform of a physical field (allocating; for setup and tests).
    ///
    /// Errors when `field.len() != n²`.
    pub fn forward(&mut self, field: &[f64]) -> Result<Vec<Complex64>> {
        check_len("field", field.len(), self.n * self.n)?;
        let mut input = field.to_vec();
        let mut out = vec![Complex64::ZERO; self.spectral_len()];
        self.forward_rows(&mut input, self.n_ky(), &mut out);
        Ok(out)
    }

    /// Inverse transform of a spectral field (allocating; for setup and tests).
    ///
    /// Errors when `spectrum.len() != (n/2+1)·n`.
    pub fn inverse(&mut self, spectrum: &[Complex64]) -> Result<Vec<f64>> {
        check_len("spectrum", spectrum.len(), self.spectral_len())?;
        self.work.copy_from_slice(spectrum);
        let mut out = vec![0.0; self.n * self.n];
        self.inverse_work(self.n_ky(), &mut out);
        Ok(out)
    }

    /// The spectral work buffer that [`Self::inverse_work`] transforms.
    pub(crate) fn work_mut(&mut self) -> &mut [Complex64] {
        &mut self.work
    }

    /// Forward transform computing only spectral rows `ky < active_rows` (the rest of `out`
    /// is zeroed). `input` is used as scratch and left unspecified.
    pub(crate) fn forward_rows(
        &mut self,
        input: &mut [f64],
        active_rows: usize,
        out: &mut [Complex64],
    ) {
        let (n, nh) = (self.n, self.n_ky());
        debug_assert!(input.len() == n * n && out.len() == nh * n && active_rows <= nh);
        // Real FFT along every physical row, into `rows` ([i][ky]).
        let r2c = &self.r2c;
        paired_row_pass(
            self.parallel,
            (input, n),
            (&mut self.rows, nh),
            &mut self.scratch,
            |row_in, row_out, scratch| {
                // Lengths match by construction, so realfft cannot fail here.
                r2c.process_with_scratch(row_in, row_out, scratch).ok();
            },
        );
        // Transpose [i][ky] → [ky][i], blocked over ky so reads are contiguous.
        let rows = &self.rows;
        let (active, inactive) = out.split_at_mut(active_rows * n);
        let transpose_block = |(block_idx, block): (usize, &mut [Complex64])| {
            let q0 = block_idx * TRANSPOSE_BLOCK;
            let width = block.len() / n;
            for i in 0..n {
                let src = &rows[i * nh + q0..i * nh + q0 + width];
                for (dq, value) in src.iter().enumerate() {
                    block[dq * n + i] = *value;
                }
            }
        };
        if self.parallel {
            active.par_chunks_mut(TRANSPOSE_BLOCK * n).enumerate().for_each(transpose_block);
        } else {
            active.chunks_mut(TRANSPOSE_BLOCK * n).enumerate().for_each(transpose_block);
        }
        inactive.fill(Complex64::ZERO);
        // Complex FFT along every active spectral row (the x axis).
        let fft = &self.fft;
        row_pass(self.parallel, active, n, &mut self.scratch, |row, scratch| {
            fft.process_with_scratch(row, scratch)
        });
    }

    /// Inverse transform of the work buffer into `out`, assuming spectral rows
    /// `ky ≥ active_rows` are zero. The work buffer is left unspecified.
    pub(crate) fn inverse_work(&mut self, active_rows: usize, out: &mut [f64]) {
        let (n, nh) = (self.n, self.n_ky());
        debug_assert!(out.len() == n * n && active_rows <= nh);
        let ifft = &self.ifft;
        let active = &mut self.work[..active_rows * n];
        row_pass(self.parallel, active, n, &mut self.scratch, |row, scratch| {
            ifft.process_with_scratch(row, scratch)
        });
        // Transpose [ky][i] → [i][ky] with the 1/n² normalisation; rows of `self.rows` are
        // disjoint, so blocks over i can run in parallel.
        let active = &self.work[..active_rows * n];
        let scale = 1.0 / (n * n) as f64;
        let transpose_block = |(block_idx, block): (usize, &mut [Complex64])| {
            let i0 = block_idx * TRANSPOSE_BLOCK;
            let height = block.len() / nh;
            for q in 0..nh {
                if q < active_rows {
                    let src = &active[q * n + i0..q * n + i0 + height];
                    for (di, value) in src.iter().enumerate() {
                        block[di * nh + q] = value * scale;
                    }
                } else {
                    for di in 0..height {
                        block[di * nh + q] = Complex64::ZERO;
                    }
                }
            }
            // A real field's ky = 0 and ky = n/2 coefficients along a physical row are real;
            // dropping their round-off imaginary parts is the projection onto real fields.
            for di in 0..height {
                block[di * nh].im = 0.0;
                block[di * nh + nh - 1].im = 0.0;
            }
        };
        if self.parallel {
            self.rows.par_chunks_mut(TRANSPOSE_BLOCK * nh).enumerate().for_each(transpose_block);
        } else {
            self.rows.chunks_mut(TRANSPOSE_BLOCK * nh).enumerate().for_each(transpose_block);
        }
        let c2r = &self.c2r;
        paired_row_pass(
            self.parallel,
            (&mut self.rows, nh),
            (out, n),
            &mut self.scratch,
            |row_in, row_out, scratch| {
                // Lengths match and the end imaginary parts were zeroed, so this cannot fail.
                c2r.process_with_scratch(row_in, row_out, scratch).ok();
            },
        );
    }
}

/// Checks an array length against the grid.
fn check_len(name: &'static str, got: usize, expected: usize) -> Result<()> {
    if got == expected {
        Ok(())
    } else {
        Err(SolverError::invalid(name, format!("an array of length {expected}"), got))
    }
}

/// Rows per chunk so that `rows` rows fill at most `chunks` chunks.
fn rows_per_chunk(rows: usize, chunks: usize) -> usize {
    rows.div_ceil(chunks).max(1)
}

/// Applies `op` to every `len`-long row of `data` in place; contiguous chunks of rows each
/// get one scratch buffer and run on rayon when `parallel`.
fn row_pass(
    parallel: bool,
    data: &mut [Complex64],
    len: usize,
    scratch: &mut [Vec<Complex64>],
    op: impl Fn(&mut [Complex64], &mut [Complex64]) + Sync,
) {
    let per_chunk = rows_per_chunk(data.len() / len, scratch.len()) * len;
    let run = |(chunk, buf): (&mut [Complex64], &mut Vec<Complex64>)| {
        for row in chunk.chunks_mut(len) {
            op(row, buf);
        }
    };
    if parallel {
        data.par_chunks_mut(per_chunk).zip(scratch.par_iter_mut()).for_each(run);
    } else {
        data.chunks_mut(per_chunk).zip(scratch.iter_mut()).for_each(run);
    }
}

/// Applies `op` to matching rows of `a` (rows of `len_a`) and `b` (rows of `len_b`), like
/// [`row_pass`].
fn paired_row_pass<A: Send, B: Send>(
    parallel: bool,
    (a, len_a): (&mut [A], usize),
    (b, len_b): (&mut [B], usize),
    scratch: &mut [Vec<Complex64>],
    op: impl Fn(&mut [A], &mut [B], &mut [Complex64]) + Sync,
) {
    let per_chunk = rows_per_chunk(a.len() / len_a, scratch.len());
    let run = |((chunk_a, chunk_b), buf): ((&mut [A], &mut [B]), &mut Vec<Complex64>)| {
        for (row_a, row_b) in chunk_a.chunks_mut(len_a).zip(chunk_b.chunks_mut(len_b)) {
            op(row_a, row_b, buf);
        }
    };
    if parallel {
        a.par_chunks_mut(per_chunk * len_a)
            .zip(b.par_chunks_mut(per_chunk * len_b))
            .zip(scratch.par_iter_mut())
            .for_each(run);
    } else {
        a.chunks_mut(per_chunk * len_a)
            .zip(b.chunks_mut(per_chunk * len_b))
            .zip(scratch.iter_mut())
            .for_each(run);
    }
}

impl SpectralGrid {
    /// Evaluates on this grid the band-limited interpolant of a field given by its spectrum
    /// `source` on an `n_source`-point grid: spectral truncation when this grid is coarser,
    /// zero padding when it is finer.
    ///
    /// Modes with `|kx|, |ky| < min(n, n_source)/2` are carried over (Nyquist modes are
    /// dropped, so the result is the real trigonometric interpolant); the factor
    /// `(n/n_source)²` converts between the two grids' unnormalised DFTs.
    /// Errors when `source.len()` does not match `n_source`.
    pub fn resample(&mut self, source: &[Complex64], n_source: usize) -> Result<Vec<f64>> {
        if n_source < 4 || !n_source.is_multiple_of(2) {
            return Err(SolverError::invalid(
                "n_source",
                "an even grid size of at least 4",
                n_source,
            ));
        }
        check_len("source", source.len(), (n_source / 2 + 1) * n_source)?;
        let n = self.n;
        let half = n.min(n_source) / 2;
        let scale = (n as f64 / n_source as f64).powi(2);
        let work = &mut self.work;
        work.fill(Complex64::ZERO);
        for q in 0..half {
            for k in 0..half as i64 {
                for kx in [k, -k] {
                    let p_dst = kx.rem_euclid(n as i64) as usize;
                    let p_src = kx.rem_euclid(n_source as i64) as usize;
                    work[q * n + p_dst] = source[q * n_source + p_src] * scale;
                }
            }
        }
        let mut out = vec![0.0; n * n];
        self.inverse_work(half, &mut out);
        Ok(out)
    }
}
