//! Gaussian random fields: the fast transforms against direct series sums, the empirical
//! spectra and covariances against the prescribed ones, zero mean, reproducibility, bad input.

use lno_solvers::grf::{NeumannGrf, NeumannGrid, PeriodicGrf};
use lno_solvers::{SolverError, sample_rng};
use rand::Rng;
use rand_distr::StandardNormal;
use rustfft::num_complex::Complex64;
use std::f64::consts::{PI, SQRT_2};

/// Orthonormal Neumann eigenfunction factor `m(k) cos(π k t)` on (0, 1).
fn cosine_basis(k: usize, t: f64) -> f64 {
    let norm = if k == 0 { 1.0 } else { SQRT_2 };
    norm * (PI * k as f64 * t).cos()
}

/// The FNO `GRF.m` coefficient standard deviation, written out independently of the crate.
fn prescribed_neumann_std(alpha: f64, tau: f64, k1: usize, k2: usize) -> f64 {
    if k1 + k2 == 0 {
        return 0.0;
    }
    tau.powf(alpha - 1.0) * (PI * PI * (k1 * k1 + k2 * k2) as f64 + tau * tau).powf(-alpha / 2.0)
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

#[test]
fn neumann_fast_transform_equals_direct_series_on_both_grids() {
    let (alpha, tau) = (2.0, 3.0);
    for s in [2, 7, 8] {
        for grid in [NeumannGrid::CellCentred, NeumannGrid::Vertex] {
            let grf = NeumannGrf::new(s, alpha, tau, grid).unwrap();
            let mut rng = sample_rng(11, s as u64);
            let xi: Vec<f64> = (0..s * s).map(|_| rng.sample(StandardNormal)).collect();
            let fast = grf.field_from_noise(&xi).unwrap();
            let x = grid.points(s);
            let mut direct = vec![0.0; s * s];
            for i in 0..s {
                for j in 0..s {
                    for k1 in 0..s {
                        for k2 in 0..s {
                            direct[i * s + j] += prescribed_neumann_std(alpha, tau, k1, k2)
                                * xi[k1 * s + k2]
                                * cosine_basis(k1, x[i])
                                * cosine_basis(k2, x[j]);
                        }
                    }
                }
            }
            let scale = direct.iter().map(|v| v.abs()).fold(0.0, f64::max);
            // Both sums are O(s²) terms of O(1) size in f64: round-off far below 1e-12.
            assert!(max_abs_diff(&fast, &direct) <= 1e-12 * scale, "s = {s}, {grid:?}");
        }
    }
}

#[test]
fn periodic_fast_transform_equals_direct_series() {
    let s = 8;
    let grf = PeriodicGrf::new(s, 2.5, 7.0, None).unwrap();
    let mut rng = sample_rng(5, 0);
    let zeta: Vec<Complex64> = (0..s * s)
        .map(|_| Complex64::new(rng.sample(StandardNormal), rng.sample(StandardNormal)))
        .collect();
    let fast = grf.field_from_noise(&zeta).unwrap();
    let sigma = 7f64.powf(1.5);
    let mut direct = vec![0.0; s * s];
    for i in 0..s {
        for j in 0..s {
            for p in 0..s {
                for q in 0..s {
                    let kx = if p < s / 2 { p as f64 } else { p as f64 - s as f64 };
                    let ky = if q < s / 2 { q as f64 } else { q as f64 - s as f64 };
                    if p + q == 0 {
                        continue;
                    }
                    let a =
                        SQRT_2 * sigma * (4.0 * PI * PI * (kx * kx + ky * ky) + 49.0).powf(-1.25);
                    let phase = 2.0 * PI * (kx * i as f64 + ky * j as f64) / s as f64;
                    let z = zeta[p * s + q] * Complex64::from_polar(1.0, phase);
                    direct[i * s + j] += a * z.re;
                }
            }
        }
    }
    let scale = direct.iter().map(|v| v.abs()).fold(0.0, f64::max);
    // A few hundred f64 terms per point: round-off far below 1e-12 relative.
    assert!(max_abs_diff(&fast, &direct) <= 1e-12 * scale);
}

#[test]
fn fields_without_the_constant_mode_have_zero_grid_mean() {
    // Cell-centred cosines and periodic exponentials with k ≠ 0 sum to zero over the grid.
    let neumann = NeumannGrf::fno_darcy(16, NeumannGrid::CellCentred).unwrap();
    let periodic = PeriodicGrf::fno_navier_stokes(16).unwrap();
    let mut rng = sample_rng(3, 0);
    for field in [neumann.sample(&mut rng), periodic.sample(&mut rng)] {
        let mean = field.iter().sum::<f64>() / field.len() as f64;
        let scale = field.iter().map(|v| v.abs()).fold(0.0, f64::max);
        // The mean is an exact cancellation; only round-off of 256 terms remains.
        assert!(mean.abs() <= 1e-13 * scale, "mean {mean}, scale {scale}");
    }
}

#[test]
fn neumann_empirical_spectrum_matches_prescribed_coefficients() {
    let (s, alpha, tau, n_samples) = (12, 2.0, 3.0, 3000);
    let grf = NeumannGrf::new(s, alpha, tau, NeumannGrid::CellCentred).unwrap();
    let x = NeumannGrid::CellCentred.points(s);
    // Projection onto e_k with the discrete orthonormality of cell-centred cosines.
    let basis: Vec<Vec<f64>> =
        (0..s).map(|k| x.iter().map(|&t| cosine_basis(k, t)).collect()).collect();
    let mut sum_sq = vec![0.0; s * s];
    let mut rng = sample_rng(1, 0);
    for _ in 0..n_samples {
        let u = grf.sample(&mut rng);
        // Separable projection: first along j, then along i.
        let mut half = vec![0.0; s * s];
        for i in 0..s {
            for k2 in 0..s {
                half[i * s + k2] =
                    (0..s).map(|j| u[i * s + j] * basis[k2][j]).sum::<f64>() / s as f64;
            }
        }
        for k1 in 0..s {
            for k2 in 0..s {
                let c = (0..s).map(|i| half[i * s + k2] * basis[k1][i]).sum::<f64>() / s as f64;
                sum_sq[k1 * s + k2] += c * c;
            }
        }
    }
    let mut pooled = 0.0;
    for k1 in 0..s {
        for k2 in 0..s {
            let prescribed = prescribed_neumann_std(alpha, tau, k1, k2).powi(2);
            let empirical = sum_sq[k1 * s + k2] / n_samples as f64;
            if k1 + k2 == 0 {
                // The constant mode is removed exactly (FNO sets L(0,0) = 0).
                assert!(empirical < 1e-24, "constant mode variance {empirical}");
                continue;
            }
            let ratio = empirical / prescribed;
            // A variance estimate from n Gaussian draws has relative std √(2/n): 5σ bound.
            assert!(
                (ratio - 1.0).abs() < 5.0 * (2.0 / n_samples as f64).sqrt(),
                "k = ({k1}, {k2}): {ratio}"
            );
            pooled += ratio;
        }
    }
    let pooled = pooled / (s * s - 1) as f64;
    // Pooled over s² − 1 independent modes: relative std √(2/(n (s²−1))), 5σ bound.
    assert!(
        (pooled - 1.0).abs() < 5.0 * (2.0 / (n_samples * (s * s - 1)) as f64).sqrt(),
        "{pooled}"
    );
}

#[test]
fn neumann_vertex_grid_empirical_covariance_and_mean_match_prescribed() {
    let (s, n_samples) = (9, 4000);
    let grf = NeumannGrf::fno_darcy(s, NeumannGrid::Vertex).unwrap();
    let pairs =
        [((0, 0), (0, 0)), ((4, 4), (4, 4)), ((4, 4), (5, 4)), ((0, 8), (8, 0)), ((2, 3), (6, 7))];
    let mut products = vec![0.0; pairs.len()];
    let mut sums = vec![0.0; s * s];
    let mut rng = sample_rng(2, 0);
    for _ in 0..n_samples {
        let u = grf.sample(&mut rng);
        for (acc, &(p, q)) in products.iter_mut().zip(&pairs) {
            *acc += u[p.0 * s + p.1] * u[q.0 * s + q.1];
        }
        for (acc, v) in sums.iter_mut().zip(&u) {
            *acc += v;
        }
    }
    let n = n_samples as f64;
    for (acc, &(p, q)) in products.iter().zip(&pairs) {
        let (c_pq, c_pp, c_qq) = (grf.covariance(p, q), grf.covariance(p, p), grf.covariance(q, q));
        let empirical = acc / n;
        // Var(XY) = C_pp C_qq + C_pq² for centred Gaussians: 5σ bound on the mean of n products.
        let bound = 5.0 * ((c_pp * c_qq + c_pq * c_pq) / n).sqrt();
        assert!((empirical - c_pq).abs() < bound, "{p:?},{q:?}: {empirical} vs {c_pq}");
    }
    for i in 0..s {
        for j in 0..s {
            let mean = sums[i * s + j] / n;
            // The ensemble mean of n draws has std √(C/n): 5σ bound at each of 81 points.
            assert!(
                mean.abs() < 5.0 * (grf.covariance((i, j), (i, j)) / n).sqrt(),
                "({i},{j}): {mean}"
            );
        }
    }
}

#[test]
fn neumann_covariance_helper_matches_independent_series() {
    // The covariance used as the statistical reference, recomputed from the written-out formula.
    let s = 6;
    let grf = NeumannGrf::new(s, 2.0, 3.0, NeumannGrid::Vertex).unwrap();
    let x = NeumannGrid::Vertex.points(s);
    let (p, q) = ((1, 2), (4, 0));
    let mut direct = 0.0;
    for k1 in 0..s {
        for k2 in 0..s {
            direct += prescribed_neumann_std(2.0, 3.0, k1, k2).powi(2)
                * cosine_basis(k1, x[p.0])
                * cosine_basis(k2, x[p.1])
                * cosine_basis(k1, x[q.0])
                * cosine_basis(k2, x[q.1]);
        }
    }
    // Same sum in a different order: round-off only.
    assert!((grf.covariance(p, q) - direct).abs() < 1e-15);
}

#[test]
fn periodic_empirical_power_spectrum_and_covariance_match_prescribed() {
    let (s, n_samples) = (8, 3000);
    let (alpha, tau) = (2.5, 7.0);
    let grf = PeriodicGrf::new(s, alpha, tau, None).unwrap();
    let mut power = vec![0.0; s * s];
    let lags = [(0i64, 0i64), (1, 0), (0, 1), (1, 1), (3, 2)];
    let mut lag_sums = vec![0.0; lags.len()];
    let mut rng = sample_rng(4, 0);
    for _ in 0..n_samples {
        let u = grf.sample(&mut rng);
        // Naive normalised DFT F_k = s⁻² Σ_x U(x) e^{−2πi k·x}: E|F_k|² = a_k².
        for p in 0..s {
            for q in 0..s {
                let mut f = Complex64::default();
                for i in 0..s {
                    for j in 0..s {
                        let phase = -2.0 * PI * ((p * i + q * j) % s) as f64 / s as f64;
                        f += u[i * s + j] * Complex64::from_polar(1.0, phase);
                    }
                }
                power[p * s + q] += (f / (s * s) as f64).norm_sqr();
            }
        }
        for (acc, &(di, dj)) in lag_sums.iter_mut().zip(&lags) {
            // Average over all base points: stationarity makes every pair an estimate.
            let mut sum = 0.0;
            for i in 0..s {
                for j in 0..s {
                    let (i2, j2) = (
                        (i as i64 + di).rem_euclid(s as i64),
                        (j as i64 + dj).rem_euclid(s as i64),
                    );
                    sum += u[i * s + j] * u[i2 as usize * s + j2 as usize];
                }
            }
            *acc += sum / (s * s) as f64;
        }
    }
    let n = n_samples as f64;
    let sigma = tau.powf(alpha - 1.0);
    for p in 0..s {
        for q in 0..s {
            let kx = if p < s / 2 { p as f64 } else { p as f64 - s as f64 };
            let ky = if q < s / 2 { q as f64 } else { q as f64 - s as f64 };
            let empirical = power[p * s + q] / n;
            if p + q == 0 {
                // The mean mode is removed exactly.
                assert!(empirical < 1e-24);
                continue;
            }
            let prescribed = 2.0
                * sigma
                * sigma
                * (4.0 * PI * PI * (kx * kx + ky * ky) + tau * tau).powf(-alpha);
            // |F_k|² is a² times Exp(1) or χ²₁: relative std at most √(2/n), 5σ bound.
            assert!(
                (empirical / prescribed - 1.0).abs() < 5.0 * (2.0 / n).sqrt(),
                "k = ({kx}, {ky})"
            );
        }
    }
    let c0 = grf.covariance(0, 0);
    for (acc, &(di, dj)) in lag_sums.iter().zip(&lags) {
        let empirical = acc / n;
        // Each sample's spatial average is at worst as variable as a single product
        // (variance ≤ 2 C(0)²): 5σ bound with that conservative variance.
        let bound = 5.0 * (2.0 * c0 * c0 / n).sqrt();
        assert!((empirical - grf.covariance(di, dj)).abs() < bound, "lag ({di},{dj})");
    }
}

#[test]
fn samples_are_reproducible_from_seed_and_index_and_differ_across_indices() {
    let grf = NeumannGrf::fno_darcy(10, NeumannGrid::Vertex).unwrap();
    let a = grf.sample(&mut sample_rng(7, 3));
    let b = grf.sample(&mut sample_rng(7, 3));
    let c = grf.sample(&mut sample_rng(7, 4));
    let d = grf.sample(&mut sample_rng(8, 3));
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_ne!(a, d);
    let periodic = PeriodicGrf::fno_navier_stokes(8).unwrap();
    assert_eq!(periodic.sample(&mut sample_rng(1, 1)), periodic.sample(&mut sample_rng(1, 1)));
}

#[test]
fn bad_parameters_are_rejected_with_the_parameter_named() {
    let name = |e: SolverError| match e {
        SolverError::InvalidParameter { name, .. } => name,
        other => panic!("unexpected error {other}"),
    };
    assert_eq!(name(NeumannGrf::new(1, 2.0, 3.0, NeumannGrid::Vertex).unwrap_err()), "s");
    assert_eq!(name(NeumannGrf::new(8, 0.0, 3.0, NeumannGrid::Vertex).unwrap_err()), "alpha");
    assert_eq!(name(NeumannGrf::new(8, 2.0, f64::NAN, NeumannGrid::Vertex).unwrap_err()), "tau");
    assert_eq!(name(PeriodicGrf::new(7, 2.0, 3.0, None).unwrap_err()), "s");
    assert_eq!(name(PeriodicGrf::new(8, 2.0, 3.0, Some(-1.0)).unwrap_err()), "sigma");
    let grf = NeumannGrf::fno_darcy(4, NeumannGrid::Vertex).unwrap();
    assert_eq!(name(grf.field_from_noise(&[0.0; 3]).unwrap_err()), "xi");
}
