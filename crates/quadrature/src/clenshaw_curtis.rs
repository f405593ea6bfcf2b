//! Clenshaw–Curtis quadrature on `[a, b]`, with weights from one FFT.
//!
//! Nodes are the Chebyshev extreme points `x_k = cos(πk/N)`, `N = n − 1`, endpoints included.
//! The weights are `w_k = (c_k/N) Σ_{j=0}^{⌊N/2⌋} d_j cos(2πjk/N)` with `c_0 = c_N = 1`,
//! `c_k = 2` otherwise, `d_0 = 1` and `d_j = −b_j/(4j² − 1)` (`b_j = 1` for `j = N/2`, else 2).
//! The cosine sum is the length-`N` DFT of the real even sequence `g_0 = 1`,
//! `g_j = g_{N−j} = d_j/2` (`g_{N/2} = d_{N/2}` when `N` is even), so all weights come from a
//! single FFT in `O(n log n)` (the idea of Waldvogel, BIT 2006; derived independently here).
//! An `n`-point rule integrates polynomials of degree `n − 1` exactly (degree `n` for odd `n`).

use rustfft::FftPlanner;
use rustfft::num_complex::Complex64;

use crate::error::Result;
use crate::rule::{Rule, check_count, check_interval, map_from_reference};

/// Clenshaw–Curtis rule with `n ≥ 2` nodes on `[a, b]` (both endpoints are nodes).
///
/// # Errors
/// `n < 2`; non-finite or empty interval.
pub fn clenshaw_curtis(n: usize, a: f64, b: f64) -> Result<Rule> {
    check_interval(a, b)?;
    check_count("n", n, 2)?;
    Ok(map_from_reference(reference_rule(n), a, b))
}

/// The rule on `[-1, 1]`, nodes ascending; `n ≥ 2`.
pub(crate) fn reference_rule(n: usize) -> Rule {
    let big_n = n - 1;
    let nf = big_n as f64;
    let mut g = vec![Complex64::new(0.0, 0.0); big_n];
    g[0].re = 1.0;
    for j in 1..=big_n / 2 {
        let jf = j as f64;
        // d_j/2 for j < N/2 (b_j = 2 split between entries j and N − j); d_{N/2} itself for
        // j = N/2 (b_j = 1), where both indices coincide. Both equal −1/(4j² − 1).
        let g_j = -1.0 / (4.0 * jf * jf - 1.0);
        g[j].re = g_j;
        g[big_n - j].re = g_j;
    }
    FftPlanner::<f64>::new().plan_fft_forward(big_n).process(&mut g);
    let mut weights = Vec::with_capacity(n);
    for k in 0..big_n {
        let c = if k == 0 { 1.0 } else { 2.0 };
        weights.push(c * g[k].re / nf);
    }
    weights.push(weights[0]);
    // The exact weights are symmetric; the FFT's round-off is not, so average mirrored pairs.
    for k in 0..n / 2 {
        let avg = 0.5 * (weights[k] + weights[n - 1 - k]);
        weights[k] = avg;
        weights[n - 1 - k] = avg;
    }
    // Ascending nodes x_k = −cos(πk/N) written as a sine so that x_{N−k} = −x_k exactly.
    let nodes =
        (0..n).map(|k| (std::f64::consts::PI * (2.0 * k as f64 - nf) / (2.0 * nf)).sin()).collect();
    // The weights are symmetric (w_k = w_{N−k}), so the order of `cos(πk/N)` carries over.
    Rule { nodes, weights }
}
