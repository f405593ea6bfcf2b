//! Gauss–Lobatto–Legendre quadrature: both endpoints plus the zeros of `P'_{n−1}`.
//!
//! With `N = n − 1`, the interior nodes are the zeros of `g(x) = x P_N(x) − P_{N−1}(x)`
//! (`= (x² − 1) P'_N(x) / N`), found in the colatitude `θ` (`x = cos θ`) by Newton's method
//! with the exact derivative `dg/dθ = −n sin θ P_N(cos θ)`, started from the asymptotic zeros
//! of the Jacobi polynomial `P^{(1,1)}_{n−2}`: `θ_k ≈ (k + ¼)π / (n − ½)`. The weights are
//! `w = 2 / (n (n − 1) P_N(x)²)`, which also holds at the endpoints (`P_N(±1)² = 1`).
//! Each evaluation uses the three-term recurrence, so the rule costs `O(n²)`; fine for the
//! sizes grids use (thousands of points), unlike Gauss–Legendre which is `O(n)`.

use std::f64::consts::{FRAC_PI_2, PI};

use crate::error::Result;
use crate::rule::{Rule, check_count, check_interval, map_from_reference};

/// Gauss–Lobatto rule with `n ≥ 2` nodes on `[a, b]` (both endpoints are nodes): exact for
/// polynomials of degree `≤ 2n − 3`.
///
/// # Errors
/// `n < 2`; non-finite or empty interval.
pub fn gauss_lobatto(n: usize, a: f64, b: f64) -> Result<Rule> {
    check_interval(a, b)?;
    check_count("n", n, 2)?;
    let (theta, weights) = colatitude_rule(n);
    let mut nodes = vec![0.0; n];
    for i in 0..n / 2 {
        let x = theta[i].cos();
        nodes[n - 1 - i] = x;
        nodes[i] = -x;
    }
    let weights: Vec<f64> = weights.into_iter().rev().collect();
    Ok(map_from_reference(Rule { nodes, weights }, a, b))
}

/// Lobatto nodes as colatitudes, ascending from `θ = 0` to `θ = π`, and their weights on
/// `cos θ ∈ [−1, 1]` (sum 2); `n ≥ 2`. Exactly symmetric: `θ_{n−1−k} = π − θ_k`.
pub(crate) fn colatitude_rule(n: usize) -> (Vec<f64>, Vec<f64>) {
    let big_n = n - 1;
    let nf = n as f64;
    let mut theta = vec![0.0; n];
    let mut weights = vec![0.0; n];
    let end_weight = 2.0 / (nf * (nf - 1.0));
    theta[0] = 0.0;
    weights[0] = end_weight;
    for k in 1..n / 2 {
        let mut t = (k as f64 + 0.25) * PI / (nf - 0.5);
        for _ in 0..100 {
            let (g, dg) = g_and_dtheta(big_n, t);
            let delta = g / dg;
            t -= delta;
            // Quadratic convergence: a step below 1e-9/n leaves an error far below one ulp
            // after the final step below.
            if delta.abs() * nf <= 1e-9 {
                break;
            }
        }
        let (g, dg) = g_and_dtheta(big_n, t);
        t -= g / dg;
        let (pn, _) = legendre_pair(big_n, t.cos());
        theta[k] = t;
        weights[k] = end_weight / (pn * pn);
    }
    if n % 2 == 1 {
        // N = n − 1 is even, P'_N is odd, so x = 0 is a node.
        let (pn, _) = legendre_pair(big_n, 0.0);
        theta[n / 2] = FRAC_PI_2;
        weights[n / 2] = end_weight / (pn * pn);
    }
    for k in 0..n / 2 {
        theta[n - 1 - k] = PI - theta[k];
        weights[n - 1 - k] = weights[k];
    }
    (theta, weights)
}

/// `(P_N(x), P_{N−1}(x))` by the three-term recurrence, `N ≥ 1`.
fn legendre_pair(big_n: usize, x: f64) -> (f64, f64) {
    let (mut p0, mut p1) = (1.0, x);
    for k in 2..=big_n {
        let kf = k as f64;
        let p2 = ((2.0 * kf - 1.0) * x * p1 - (kf - 1.0) * p0) / kf;
        p0 = p1;
        p1 = p2;
    }
    (p1, p0)
}

/// `g(θ) = x P_N − P_{N−1}` and `dg/dθ = −(N + 1) sin θ P_N`, with `x = cos θ`.
fn g_and_dtheta(big_n: usize, theta: f64) -> (f64, f64) {
    let (s, x) = theta.sin_cos();
    let (pn, pm1) = legendre_pair(big_n, x);
    (x * pn - pm1, -((big_n + 1) as f64) * s * pn)
}
