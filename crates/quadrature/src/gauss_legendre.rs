//! Gauss–Legendre quadrature in `O(n)` time, accurate to a few ulps up to `n = 10⁵` and beyond.
//!
//! Nodes are found in the colatitude variable `θ` (`x = cos θ`) by Newton's method on
//! `P_n(cos θ)`, started from Tricomi's asymptotic guess, and the weights are
//! `w = 2 / (dP_n/dθ)²` at the converged node. `P_n` and `dP_n/dθ` are evaluated in two ways:
//!
//! * the three-term recurrence (`O(n)` per evaluation) for `n ≤ 100` and, for
//!   larger `n`, for the few nodes closest to `x = ±1`, where `n sin θ` is small;
//! * otherwise Stieltjes' asymptotic series (Szegő, *Orthogonal Polynomials*, Thm 8.21.5;
//!   the form used by Hale & Townsend, SISC 2013)
//!   `P_n(cos θ) = C_n Σ_m h_m cos((n+m+½)θ − (m+½)π/2) / (2 sin θ)^{m+½}`,
//!   `h_0 = 1`, `h_m = h_{m−1} (m−½)² / (m (n+m+½))`, `C_n = (4/π) Π_{j≤n} j/(j+½)`, whose
//!   terms are summed until they fall below `2·10⁻¹⁷` of the leading one (a handful of terms in
//!   the interior, ≤ 60 near the threshold `n sin θ ≥ 24`).
//!
//! Each evaluation of the series is `O(1)`, so the whole rule costs `O(n)`. Nodes are computed
//! for `θ ≤ π/2` and mirrored (`θ ↦ π − θ`), so the rule is exactly symmetric.

use std::f64::consts::{FRAC_PI_2, FRAC_PI_4, PI};

use rayon::prelude::*;

use crate::error::Result;
use crate::rule::{Rule, check_count, check_interval, map_from_reference};

/// Largest `n` for which every node is found with the three-term recurrence.
pub(crate) const RECURRENCE_MAX_N: usize = 100;

/// Smallest `n sin θ` at which the asymptotic series is used instead of the recurrence.
const SERIES_MIN_N_SIN: f64 = 24.0;

/// Largest number of terms of the asymptotic series.
const SERIES_MAX_TERMS: usize = 60;

/// Gauss–Legendre rule with `n ≥ 1` nodes on `[a, b]`: exact for polynomials of degree
/// `≤ 2n − 1`.
///
/// # Errors
/// `n = 0`; non-finite or empty interval.
pub fn gauss_legendre(n: usize, a: f64, b: f64) -> Result<Rule> {
    check_interval(a, b)?;
    check_count("n", n, 1)?;
    let (theta, weights) = colatitude_rule(n);
    // θ ascending means x descending; reverse for ascending nodes. Nodes of the southern half
    // are negated northern ones, so the rule is symmetric to the last bit.
    let half = n / 2;
    let mut nodes = vec![0.0; n];
    for i in 0..half {
        let x = theta[i].cos();
        nodes[n - 1 - i] = x;
        nodes[i] = -x;
    }
    let weights: Vec<f64> = weights.into_iter().rev().collect();
    Ok(map_from_reference(Rule { nodes, weights }, a, b))
}

/// Gauss–Legendre nodes as colatitudes `θ_k ∈ (0, π)`, ascending, and their weights on
/// `cos θ ∈ [−1, 1]` (sum 2). `θ_{n−1−k} = π − θ_k` up to one rounding; `n ≥ 1`.
pub(crate) fn colatitude_rule(n: usize) -> (Vec<f64>, Vec<f64>) {
    let half = n / 2;
    let nf = n as f64;
    let mut theta = vec![0.0; n];
    let mut weights = vec![0.0; n];
    // Tricomi's guess x_k ≈ (1 − 1/(8n²) + 1/(8n³)) cos(π(4k − 1)/(4n + 2)), k = 1, 2, …
    let shrink = 1.0 - 1.0 / (8.0 * nf * nf) + 1.0 / (8.0 * nf * nf * nf);
    let guess = |k: usize| (shrink * (PI * (4.0 * k as f64 - 1.0) / (4.0 * nf + 2.0)).cos()).acos();

    let c_n = if n > RECURRENCE_MAX_N { series_constant(n) } else { 0.0 };
    let mut boundary = Vec::new();
    let mut interior = Vec::new();
    for i in 0..half {
        let t0 = guess(i + 1);
        theta[i] = t0;
        if n <= RECURRENCE_MAX_N || nf * t0.sin() < SERIES_MIN_N_SIN {
            boundary.push(i);
        } else {
            interior.push(i);
        }
    }
    // Interior nodes are independent O(1) computations: spread them over threads.
    let solved: Vec<(f64, f64)> =
        interior.par_iter().map(|&i| newton_series(n, c_n, theta[i])).collect();
    for (&i, (t, w)) in interior.iter().zip(solved) {
        theta[i] = t;
        weights[i] = w;
    }
    newton_recurrence_batch(n, &boundary, &mut theta, &mut weights);
    if n % 2 == 1 {
        // P_n is odd, so θ = π/2 (x = 0) is a node; only its weight needs computing.
        let (_, dp) = if n <= RECURRENCE_MAX_N {
            recurrence(n, FRAC_PI_2)
        } else {
            let (p, dp) = series(n, FRAC_PI_2);
            (c_n * p, c_n * dp)
        };
        theta[half] = FRAC_PI_2;
        weights[half] = 2.0 / (dp * dp);
    }
    for i in 0..half {
        theta[n - 1 - i] = PI - theta[i];
        weights[n - 1 - i] = weights[i];
    }
    (theta, weights)
}

/// `(P_n(cos θ), dP_n/dθ)` by the three-term recurrence, for `0 < θ ≤ π/2`.
///
/// Near `x = 1` the plain recurrence in `x = cos θ` loses the low bits of `θ` (rounding `cos θ`
/// moves `θ` by `eps/sin θ`), which costs up to `n·eps/sin θ` relative accuracy in `dP_n/dθ`
/// and so in the weights of the end nodes. For `cos θ ≥ ½` we therefore run the recurrence
/// on the differences `D_k = P_k − P_{k−1}` with `y = 1 − x = 2 sin²(θ/2)` computed from `θ`:
/// `D_k = ((k−1) D_{k−1} − (2k−1) y P_{k−1}) / k`, `P_k = P_{k−1} + D_k` (Reinsch's
/// modification), and `dP_n/dθ = n (D_n − y P_n) / sin θ`.
pub(crate) fn recurrence(n: usize, theta: f64) -> (f64, f64) {
    let mut t = [FRAC_PI_2; 8];
    t[0] = theta;
    let (p, dp) = recurrence_many(n, &t);
    (p[0], dp[0])
}

/// Newton's method with the recurrence, run on several nodes at once so that the `O(n)` loop
/// has independent work per step (these are the expensive nodes for large `n`).
fn newton_recurrence_batch(n: usize, idx: &[usize], theta: &mut [f64], weights: &mut [f64]) {
    const CHUNK: usize = 8;
    for chunk in idx.chunks(CHUNK) {
        let mut t = [FRAC_PI_2; CHUNK];
        for (slot, &i) in chunk.iter().enumerate() {
            t[slot] = theta[i];
        }
        let mut done = [false; CHUNK];
        for slot in chunk.len()..CHUNK {
            done[slot] = true;
        }
        // Quadratic convergence from Tricomi's guess takes 3–5 steps; 100 is a safe cap.
        for _ in 0..100 {
            let (p, dp) = recurrence_many(n, &t);
            let mut all_done = true;
            for slot in 0..CHUNK {
                if done[slot] {
                    continue;
                }
                let delta = p[slot] / dp[slot];
                t[slot] -= delta;
                // After a step below 1e-9/n the next error is ≲ n·Δ²/2, far below one ulp, so
                // one more evaluation (for the weight) settles the node.
                if delta.abs() * n as f64 <= 1e-9 {
                    done[slot] = true;
                } else {
                    all_done = false;
                }
            }
            if all_done {
                break;
            }
        }
        // Final step and the weight at the converged node.
        let (p, dp) = recurrence_many(n, &t);
        for (slot, &i) in chunk.iter().enumerate() {
            theta[i] = t[slot] - p[slot] / dp[slot];
            weights[i] = 2.0 / (dp[slot] * dp[slot]);
        }
    }
}

/// The recurrence of [`recurrence`] for eight angles at once (independent work per step).
fn recurrence_many(n: usize, theta: &[f64; 8]) -> ([f64; 8], [f64; 8]) {
    let mut y = [0.0; 8];
    let mut s = [0.0; 8];
    let mut x = [0.0; 8];
    for j in 0..8 {
        (s[j], x[j]) = theta[j].sin_cos();
        let half = (0.5 * theta[j]).sin();
        y[j] = 2.0 * half * half;
    }
    let nf = n as f64;
    let mut p = [1.0; 8];
    let mut dp = [0.0; 8];
    if n == 0 {
        return (p, dp);
    }
    // Plain recurrence: p0 = P_{k−2}, p1 = P_{k−1}. Difference form: q = P_{k−1}, d = D_{k−1}.
    let mut p0 = [1.0; 8];
    let mut p1 = x;
    let mut q = x;
    let mut d = [0.0; 8];
    for j in 0..8 {
        d[j] = -y[j];
    }
    // Run only the forms some lane needs (for large n all boundary nodes are near x = 1).
    let any_plain = x.iter().any(|&xj| xj < 0.5);
    let any_reinsch = x.iter().any(|&xj| xj >= 0.5);
    for k in 2..=n {
        let kf = k as f64;
        let a = (2.0 * kf - 1.0) / kf;
        let b = (kf - 1.0) / kf;
        if any_plain {
            for j in 0..8 {
                let p2 = a * x[j] * p1[j] - b * p0[j];
                p0[j] = p1[j];
                p1[j] = p2;
            }
        }
        if any_reinsch {
            for j in 0..8 {
                let dn = b * d[j] - a * y[j] * q[j];
                d[j] = dn;
                q[j] += dn;
            }
        }
    }
    for j in 0..8 {
        if x[j] >= 0.5 {
            p[j] = q[j];
            dp[j] = nf * (d[j] - y[j] * q[j]) / s[j];
        } else {
            p[j] = p1[j];
            dp[j] = nf * (x[j] * p1[j] - p0[j]) / s[j];
        }
    }
    (p, dp)
}

/// Newton's method with the asymptotic series; returns the node and its weight.
fn newton_series(n: usize, c_n: f64, mut t: f64) -> (f64, f64) {
    let mut dp = 1.0;
    for _ in 0..100 {
        let (p, d) = series(n, t);
        let delta = p / d;
        t -= delta;
        dp = d;
        // Same stopping rule as for the recurrence (see `newton_recurrence_batch`): the node
        // is now exact to an ulp. The derivative is moved to the new node to first order,
        // dP/dθ(θ − Δ) = dP/dθ(θ) (1 + Δ cot θ) + O(n²Δ²) (from Legendre's equation at a
        // root), which saves an evaluation; the neglected term is below 1e-18.
        if delta.abs() * n as f64 <= 1e-9 {
            dp = d * (1.0 + delta / (t + delta).tan());
            break;
        }
    }
    let dp = c_n * dp;
    (t, 2.0 / (dp * dp))
}

/// `(P_n(cos θ)/C_n, (dP_n/dθ)/C_n)` from the asymptotic series; requires `n sin θ` large.
fn series(n: usize, theta: f64) -> (f64, f64) {
    let (s, c) = theta.sin_cos();
    let cot = c / s;
    let nh = n as f64 + 0.5;
    let (mut sin_phi, mut cos_phi) = (nh * theta - FRAC_PI_4).sin_cos();
    let inv_two_s = 1.0 / (2.0 * s);
    let mut amp = inv_two_s.sqrt();
    let mut sum_p = amp * cos_phi;
    let mut sum_d = amp * (-nh * sin_phi - 0.5 * cos_phi * cot);
    let lead = amp;
    for m in 1..SERIES_MAX_TERMS {
        let mf = m as f64;
        amp *= (mf - 0.5) * (mf - 0.5) / (mf * (nh + mf)) * inv_two_s;
        // φ_m = φ_{m−1} + θ − π/2: rotate by that angle (cos = sin θ, sin = −cos θ).
        let (cp, sp) = (cos_phi * s + sin_phi * c, sin_phi * s - cos_phi * c);
        cos_phi = cp;
        sin_phi = sp;
        sum_p += amp * cos_phi;
        sum_d += amp * (-(nh + mf) * sin_phi - (mf + 0.5) * cos_phi * cot);
        if amp < 2e-17 * lead {
            break;
        }
    }
    (sum_p, sum_d)
}

/// `C_n = (4/π) Π_{j=1}^{n} j/(j+½)`, summed in logarithms with compensation so that its
/// relative error stays at a few ulps for any `n`.
fn series_constant(n: usize) -> f64 {
    let (mut sum, mut comp) = (0.0f64, 0.0f64);
    for j in 1..=n {
        // Kahan summation of −log1p(1/(2j)).
        let y = -(0.5 / j as f64).ln_1p() - comp;
        let t = sum + y;
        comp = (t - sum) - y;
        sum = t;
    }
    4.0 / PI * sum.exp()
}
