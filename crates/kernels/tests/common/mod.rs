//! Shared helpers for the integration tests: Gauss–Legendre rules, deterministic point clouds,
//! sphere grids and brute-force (dense, no neighbour search) oracles.
#![allow(dead_code)]

use std::f64::consts::PI;

use lno_kernels::{FilterBasis, SphereGridSpec};

/// Gauss–Legendre nodes and weights on [a, b] (Newton on the Legendre recurrence).
pub fn gauss_legendre(n: usize, a: f64, b: f64) -> (Vec<f64>, Vec<f64>) {
    let mut x = vec![0.0; n];
    let mut w = vec![0.0; n];
    for i in 0..n {
        let mut z = (PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        let mut dp = 0.0;
        for _ in 0..100 {
            let (mut p0, mut p1) = (1.0, z);
            for k in 2..=n {
                let p2 = ((2 * k - 1) as f64 * z * p1 - (k - 1) as f64 * p0) / k as f64;
                p0 = p1;
                p1 = p2;
            }
            let pn = if n == 1 { z } else { p1 };
            let pm = if n == 1 { 1.0 } else { p0 };
            dp = n as f64 * (z * pn - pm) / (z * z - 1.0);
            let dz = pn / dp;
            z -= dz;
            if dz.abs() < 1e-15 {
                break;
            }
        }
        x[i] = 0.5 * (b - a) * z + 0.5 * (b + a);
        w[i] = (b - a) / ((1.0 - z * z) * dp * dp);
    }
    (x, w)
}

/// A Gauss–Legendre sphere grid in torch-harmonics' convention (weights in cos θ, Σ = 2).
pub fn gl_sphere(n_lat: usize, n_lon: usize) -> SphereGridSpec {
    let (x, w) = gauss_legendre(n_lat, -1.0, 1.0);
    // Ascending colatitude = descending cos θ.
    let mut pairs: Vec<(f64, f64)> = x.iter().zip(&w).map(|(&c, &w)| (c.acos(), w)).collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    SphereGridSpec::new(
        pairs.iter().map(|p| p.0).collect(),
        pairs.iter().map(|p| p.1).collect(),
        n_lon,
    )
    .unwrap()
}

/// A low-discrepancy cloud in [0, L)² (additive recurrence).
pub fn cloud(n: usize, length: f64, shift: f64) -> Vec<[f64; 2]> {
    (0..n)
        .map(|k| {
            let k = k as f64;
            [
                ((0.618033988749895 * k + shift).fract()) * length,
                ((0.7548776662466927 * k + 0.5 * shift).fract()) * length,
            ]
        })
        .collect()
}

/// All basis values at (r, φ) as a dense vector.
pub fn dense_eval(b: &impl FilterBasis, r: f64, phi: f64, rc: f64) -> Vec<f64> {
    let mut out = Vec::new();
    b.eval(r, phi, rc, &mut out);
    let mut v = vec![0.0; b.n_basis()];
    for (k, x) in out {
        v[k] = x;
    }
    v
}

/// Unit vector of colatitude θ, longitude λ.
pub fn unit(theta: f64, lambda: f64) -> [f64; 3] {
    [theta.sin() * lambda.cos(), theta.sin() * lambda.sin(), theta.cos()]
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// Geodesic distance and bearing of `v` seen from `(θ_o, λ_o)`, with bearing 0 = south
/// (increasing colatitude) and π/2 = east, from the local frame: an independent formula for the
/// rotation that torch-harmonics uses.
pub fn distance_bearing(theta_o: f64, lambda_o: f64, v: [f64; 3]) -> (f64, f64) {
    let e_r = unit(theta_o, lambda_o);
    let e_theta = [theta_o.cos() * lambda_o.cos(), theta_o.cos() * lambda_o.sin(), -theta_o.sin()];
    let e_lambda = [-lambda_o.sin(), lambda_o.cos(), 0.0];
    let (a, b, c) = (dot(v, e_theta), dot(v, e_lambda), dot(v, e_r));
    let d = a.hypot(b).atan2(c);
    let mut phi = b.atan2(a);
    if phi < 0.0 {
        phi += 2.0 * PI;
    }
    (d, phi)
}
