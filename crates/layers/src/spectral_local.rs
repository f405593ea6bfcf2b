//! A periodic, stride-1 local convolution computed inside a spectral convolution's Fourier pass.
//!
//! With periodic padding and stride 1, a cross-correlation with a `P0 × P1` kernel `K` on an
//! `n0 × n1` grid is a *circular* convolution, which the DFT diagonalises: per frequency `k`,
//! `ŷ(k) = L̂(k) · x̂(k)` with `L̂(k)` an `(out × in)` complex matrix. The LocalNO block computes
//! `rfft2(x)` for its spectral branch anyway, so the local branch can ride along:
//!
//! ```text
//! y = irfft2( (R(k)·[k kept] + L̂(k)) · X(k) ) + bias        (X = rfft2(x, norm = "forward"))
//! ```
//!
//! Sign and centre convention. `conv2d` after circular padding by the half-widths `h = (P−1)/2`
//! computes `y[i] = Σ_a K[a] · x[(i + a − h) mod n]` (a cross-correlation, per dim). Writing it as
//! the circular convolution `y[i] = Σ_m g[m] · x[(i − m) mod n]` gives `g[(h − a) mod n] += K[a]`:
//! the kernel is flipped and its centre tap lands on index 0. Taps that wrap onto the same cell
//! (a stencil wider than the grid, allowed while `h ≤ n`) add up, exactly as the padded direct
//! conv reads the same input point twice. `L̂ = DFT(g)` **unnormalised** (the "backward" norm),
//! because the spectral branch's `X` carries the `1/(n0 n1)` of the "forward" norm and its
//! inverse none.
//!
//! Cost and memory: the per-mode products are `8·B·C·O` real flops on each of the
//! `n0·(n1/2+1)` half-spectrum modes (all of them now, not only the kept ones), and `L̂` comes
//! from two small matmuls with the separable DFT matrices of the taps, against
//! `2·B·(C/g)·O·P0·P1` flops per grid point for the direct conv; `L̂` itself holds
//! `O·C·n0·(n1/2+1)` complex numbers (≈ `O·C·n0·n1` reals, plus as much again for its gradient),
//! independent of the batch. [`periodic_conv_in_spectrum_pays`] states the rule that picks the
//! path (measured: worth it from about 7×7 stencils at batch 8); docs/layers.md has the details.

use std::sync::Mutex;

use tch::{Device, Kind, Tensor};

use crate::common;
use crate::error::{LayerError, Result};

/// Largest kernel spectrum (complex elements `O·C·n0·(n1/2+1)`) the automatic choice accepts:
/// 2²⁴, i.e. 128 MiB in complex64 (plus its gradient and the combined weight in training).
/// Hidden 32 is within it up to 128² grids (8.5 M), not at 256² (34 M).
pub const MAX_AUTO_SPECTRUM_ELEMENTS: i64 = 1 << 24;

/// Whether a 2-D local kernel with spatial sizes `kernel_size = [P0, P1]` can be applied as a
/// periodic circular convolution on a grid `[n0, n1]`: both sizes odd (centred stencil) and the
/// half-widths no larger than the grid (as for the direct conv's circular padding).
pub fn periodic_conv_in_spectrum_valid(kernel_size: [i64; 2], grid: [i64; 2]) -> bool {
    kernel_size.iter().zip(grid).all(|(&p, n)| p >= 1 && p % 2 == 1 && p / 2 <= n && n >= 1)
}

/// The automatic choice: `true` when the spectral path is valid, its kernel spectrum is at most
/// [`MAX_AUTO_SPECTRUM_ELEMENTS`], and its estimated flops (forward + backward) are at most a
/// sixth of the direct conv's:
///
/// ```text
/// direct   = 6·B·(C/g)·O·N·P0·P1                           (conv fwd + two bwd convs)
/// spectral = 24·B·C·O·M + 5·C·O·N·log2(N)                  (per-mode products fwd + bwd;
///                                                           kernel DFT, an upper bound)
/// ```
///
/// with `N = n0·n1`, `M = n0·(n1/2+1)`, `g` the kernel's channel groups. The factor 6 is
/// measured, not modelled: the direct conv runs in oneDNN's tuned kernels while the spectral
/// path is memory-bound batched matmuls over an `O·C·M` weight. The bench
/// `spectral_plus_local_*` (crates/layers/benches/local.rs: batch 8, 32 → 32 channels, 64²,
/// forward + backward of spectral + a dense P × P kernel) on the 2-core Xeon, 1 and 2 threads:
/// the spectral pass is 1.3–1.5× slower for 3×3, 1.2× faster for 5×5 and 1.7–1.9× faster for
/// 7×7 (the LocalNO bench's fused FD + DISCO stencil), at estimate ratios 2.7, 7.5 and 15;
/// break-even interpolates to ≈ 5.
pub fn periodic_conv_in_spectrum_pays(
    batch: i64,
    in_channels: i64,
    out_channels: i64,
    groups: i64,
    kernel_size: [i64; 2],
    grid: [i64; 2],
) -> bool {
    if !periodic_conv_in_spectrum_valid(kernel_size, grid) {
        return false;
    }
    let (c, o) = (in_channels as f64, out_channels as f64);
    let n = (grid[0] * grid[1]) as f64;
    let m = (grid[0] * (grid[1] / 2 + 1)) as f64;
    if (in_channels * out_channels).saturating_mul(grid[0] * (grid[1] / 2 + 1))
        > MAX_AUTO_SPECTRUM_ELEMENTS
    {
        return false;
    }
    let taps = (kernel_size[0] * kernel_size[1]) as f64;
    let b = batch as f64;
    let direct = 6.0 * b * (c / groups.max(1) as f64) * o * n * taps;
    let spectral = 24.0 * b * c * o * m + 5.0 * c * o * n * n.log2().max(1.0);
    6.0 * spectral <= direct
}

/// The DFT of a periodic cross-correlation kernel on a grid `[n0, n1]` as its real and imaginary
/// parts `[re, im]`, each laid out modes-first, `(n0, n1/2 + 1, in, out)`, such that for real `x`
/// `(B, in, n0, n1)`, with `L̂ = re + i·im`,
///
/// ```text
/// irfft2(Σ_i L̂[k, i, o] · rfft2(x, "forward")[b, i, k], "forward")
///     == conv2d(circular_pad(x, h), kernel, groups)          (to round-off)
/// ```
///
/// (the input of [`crate::SpectralConv::f_forward_plus_spectrum`]). `kernel` is `(out,
/// in/groups, P0, P1)` with odd `P` and half-widths `≤ n` (see
/// [`periodic_conv_in_spectrum_valid`]); a grouped kernel is expanded to a dense one first.
/// Differentiable in `kernel`.
///
/// The DFT runs as two small real matmuls with the separable DFT matrices of the stencil's
/// taps, `L̂[k0, k1] = Σ_a e0[k0, a] Σ_b e1[k1, b] K[a, b]`, `e_j[k, a] = exp(−2πi k (h_j − a)/n_j)`
/// (`h − a` the circular offset above; wrapped taps simply add), rather than as an `rfft2` of
/// the zero-filled `O·C·n0·n1` grid: the taps are few (`P0 + P1` complex multiply-adds per
/// output against `~2.5·log2(n0 n1)` for the FFT), the result comes out directly in the
/// layout of the per-mode products, and libtorch's `rfft2` backward (a full complex FFT of
/// the padded spectrum) measured ~10× slower than its forward at these sizes.
pub fn periodic_conv_spectrum(kernel: &Tensor, groups: i64, grid: [i64; 2]) -> Result<[Tensor; 2]> {
    let size = kernel.size();
    if size.len() != 4 {
        return Err(LayerError::parameter(
            "kernel",
            "a rank-4 tensor (out, in/groups, P0, P1)",
            format!("shape {size:?}"),
        ));
    }
    let ks = [size[2], size[3]];
    if !periodic_conv_in_spectrum_valid(ks, grid) {
        return Err(LayerError::parameter(
            "kernel",
            format!("odd stencil sizes with half-widths ≤ the grid {grid:?}"),
            format!("{ks:?}"),
        ));
    }
    let dense = common::grouped_to_dense(kernel, groups)?;
    let (o, c) = (size[0], dense.size()[1]);
    let [p0, p1] = ks;
    let [n0, n1] = grid;
    let m1 = n1 / 2 + 1;
    let (kind, device) = (kernel.kind(), kernel.device());
    let [e0, e1] = dft_matrices(grid, ks, kind, device)?;
    // Along dim 1: (2·m1, P1) @ (P1, P0·C·O) → ((re/im, k1), (a, c, o)).
    let k = dense.f_permute([3, 2, 1, 0])?.f_reshape([p1, p0 * c * o])?;
    let t1 = e1.f_matmul(&k)?.f_view([2, m1, p0, c * o])?;
    // Along dim 0, complex × complex as real matmuls: (n0, 2·P0) @ ((re/im, a), (k1, c, o)) for
    // the real rows of `e0`, then its imaginary rows. Two outputs rather than one stacked
    // tensor, so that the backward pass never copies the (large) gradient to restack it.
    let t1 = t1.f_permute([0, 2, 1, 3])?.f_reshape([2 * p0, m1 * c * o])?;
    let part = |half: i64| -> Result<Tensor> {
        Ok(e0.f_narrow(0, half * n0, n0)?.f_matmul(&t1)?.f_view([n0, m1, c, o])?)
    };
    Ok([part(0)?, part(1)?])
}

/// Cache key of a pair of DFT matrices: grid, stencil, dtype, device.
type DftKey = ([i64; 2], [i64; 2], Kind, Device);

/// The last few DFT matrices (a model uses one or two grids; eight bounds the memory).
static DFT_CACHE: Mutex<Vec<(DftKey, [Tensor; 2])>> = Mutex::new(Vec::new());

/// The separable DFT matrices of a `P0 × P1` stencil on the grid `[n0, n1]`, with
/// `e_j[k, a] = exp(−2πi k·((h_j − a) mod n_j)/n_j)`:
/// * `e1`: `(2·(n1/2+1), P1)`, rows `(re/im, k1)`, the half-spectrum of the last dim;
/// * `e0`: `(2·n0, 2·P0)`, the real form `[[Re, −Im], [Im, Re]]` of the complex `e0`, so that
///   `e0 @ [Tr; Ti] = [Re(e0·T); Im(e0·T)]`.
fn dft_matrices(grid: [i64; 2], ks: [i64; 2], kind: Kind, device: Device) -> Result<[Tensor; 2]> {
    let key = (grid, ks, kind, device);
    let mut cache = DFT_CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, t)) = cache.iter().find(|(k, _)| *k == key) {
        return Ok([t[0].shallow_clone(), t[1].shallow_clone()]);
    }
    // (cos, −sin) of the phase of tap `a` at frequency `k`, reduced in integers first so that
    // f64 keeps it exact to ε.
    let phase = |k: i64, a: i64, p: i64, n: i64| {
        let m = (k * (p / 2 - a)).rem_euclid(n) as f64 / n as f64;
        let t = 2.0 * std::f64::consts::PI * m;
        (t.cos(), -t.sin())
    };
    let [n0, n1] = grid;
    let [p0, p1] = ks;
    let m1 = n1 / 2 + 1;
    let mut e1 = vec![0.0f64; (2 * m1 * p1) as usize];
    for k in 0..m1 {
        for b in 0..p1 {
            let (re, im) = phase(k, b, p1, n1);
            e1[(k * p1 + b) as usize] = re;
            e1[((m1 + k) * p1 + b) as usize] = im;
        }
    }
    let w = 2 * p0;
    let mut e0 = vec![0.0f64; (2 * n0 * w) as usize];
    for k in 0..n0 {
        for a in 0..p0 {
            let (re, im) = phase(k, a, p0, n0);
            let (top, bottom) = ((k * w) as usize, ((n0 + k) * w) as usize);
            let (a, ai) = (a as usize, (p0 + a) as usize);
            e0[top + a] = re;
            e0[top + ai] = -im;
            e0[bottom + a] = im;
            e0[bottom + ai] = re;
        }
    }
    let t = [
        common::tensor_from_f64(&e0, &[2 * n0, w], kind, device)?,
        common::tensor_from_f64(&e1, &[2 * m1, p1], kind, device)?,
    ];
    if cache.len() >= 8 {
        drop(cache.remove(0));
    }
    cache.push((key, [t[0].shallow_clone(), t[1].shallow_clone()]));
    Ok(t)
}
