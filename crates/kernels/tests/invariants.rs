//! Structural invariants of Ψ: row integrals under each normalisation, no support beyond the
//! cutoff, longitude equivariance on the sphere, CSR against brute-force dense oracles,
//! determinism, the cache, and the errors for bad input.

mod common;

use std::f64::consts::PI;

use common::{cloud, dense_eval, distance_bearing, gl_sphere, unit};
use lno_kernels::{
    Basis, BasisKind, DiscoPlanarSpec, DiscoS2Spec, FilterBasis, KernelCache, Layout,
    Normalization, PlanarDomain, SphereGridSpec, StencilSpec,
};
use proptest::prelude::*;

fn row_sums(dense: &[f64], n_cols: usize) -> Vec<f64> {
    dense.chunks(n_cols).map(|r| r.iter().sum()).collect()
}

/// Brute-force planar Ψ: every (output, input) pair, then the normalisation written out.
fn planar_oracle(
    pin: &[[f64; 2]],
    q: &[f64],
    pout: &[[f64; 2]],
    basis: &Basis,
    rc: f64,
    period: Option<f64>,
    transpose: bool,
    mode: Normalization,
) -> Vec<f64> {
    let (n_in, n_out, k) = (pin.len(), pout.len(), basis.n_basis());
    let mut raw = vec![0.0; k * n_out * n_in];
    for (i, xo) in pout.iter().enumerate() {
        for (j, xi) in pin.iter().enumerate() {
            let mut d = [xi[0] - xo[0], xi[1] - xo[1]];
            if transpose {
                d = [-d[0], -d[1]];
            }
            if let Some(l) = period {
                d = d.map(|x| x - l * (x / l).round());
            }
            let v = dense_eval(basis, d[0].hypot(d[1]), d[1].atan2(d[0]) + PI, rc);
            for l in 0..k {
                raw[(l * n_out + i) * n_in + j] = v[l] * q[j];
            }
        }
    }
    for l in 0..k {
        let block = &mut raw[l * n_out * n_in..(l + 1) * n_out * n_in];
        let mean: f64 = block.iter().map(|v| v.abs()).sum::<f64>() / n_out as f64;
        for row in block.chunks_mut(n_in) {
            let s: f64 = row.iter().sum();
            let a: f64 = row.iter().map(|v| v.abs()).sum();
            let norm = match mode {
                Normalization::Signed => s,
                Normalization::IndividualAbs => a,
                Normalization::MeanAbs => mean,
                Normalization::None => 1.0,
            };
            if a > 0.0 {
                row.iter_mut().for_each(|v| *v /= norm);
            }
        }
    }
    raw
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

#[test]
fn planar_csr_equals_the_brute_force_oracle_in_every_mode() {
    let pin = cloud(300, 1.0, 0.0);
    let pout = cloud(40, 1.0, 0.37);
    let q = vec![1.0 / 300.0; 300];
    for basis in [
        Basis::piecewise_linear(3, 4).unwrap(),
        Basis::piecewise_linear(2, 4).unwrap(),
        Basis::new(BasisKind::Zernike, &[3]).unwrap(),
    ] {
        for (period, transpose, mode) in [
            (None, false, Normalization::Signed),
            (Some(1.0), false, Normalization::MeanAbs),
            (Some(1.0), true, Normalization::IndividualAbs),
            (None, true, Normalization::None),
        ] {
            let mut spec = if transpose {
                DiscoPlanarSpec::transpose(pin.clone(), q.clone(), pout.clone(), basis.clone(), 0.2)
                    .unwrap()
            } else {
                DiscoPlanarSpec::forward(pin.clone(), q.clone(), pout.clone(), basis.clone(), 0.2)
                    .unwrap()
            };
            if period.is_some() {
                spec = spec.with_domain(PlanarDomain::Periodic { lengths: [1.0, 1.0] }).unwrap();
            }
            let psi = spec.with_normalization(mode).build().unwrap();
            let oracle = planar_oracle(&pin, &q, &pout, &basis, 0.2, period, transpose, mode);
            // Same f64 formulas, different summation order only.
            let err = max_abs_diff(&psi.to_dense(), &oracle);
            assert!(err < 1e-10, "{basis:?} {period:?} {transpose} {mode:?}: {err}");
        }
    }
}

#[test]
fn planar_signed_rows_of_piecewise_linear_sum_to_one_and_stay_inside_the_cutoff() {
    let (l0, l1) = (2.0, 3.0);
    let pin: Vec<[f64; 2]> = cloud(800, 1.0, 0.1).iter().map(|p| [p[0] * l0, p[1] * l1]).collect();
    let pout: Vec<[f64; 2]> = cloud(60, 1.0, 0.7).iter().map(|p| [p[0] * l0, p[1] * l1]).collect();
    let q = vec![l0 * l1 / 800.0; 800];
    let rc = 0.35;
    let psi = DiscoPlanarSpec::forward(
        pin.clone(),
        q,
        pout.clone(),
        Basis::piecewise_linear(3, 4).unwrap(),
        rc,
    )
    .unwrap()
    .with_domain(PlanarDomain::Periodic { lengths: [l0, l1] })
    .unwrap()
    .build()
    .unwrap();
    for (r, s) in row_sums(&psi.to_dense(), 800).iter().enumerate() {
        // Empty (basis, point) rows are allowed; non-empty ones integrate to 1 up to round-off.
        assert!(*s == 0.0 || (s - 1.0).abs() < 1e-12, "row {r}: {s}");
    }
    let m = psi.matrix();
    for (row, vec) in m.outer_iterator().enumerate() {
        let xo = pout[row % 60];
        for (j, _) in vec.iter() {
            let mut d = [pin[j][0] - xo[0], pin[j][1] - xo[1]];
            d[0] -= l0 * (d[0] / l0).round();
            d[1] -= l1 * (d[1] / l1).round();
            assert!(d[0].hypot(d[1]) <= rc * (1.0 + 1e-12), "entry beyond the cutoff");
        }
    }
}

fn eq_sphere(n_lat: usize, n_lon: usize) -> SphereGridSpec {
    // Equiangular colatitudes with sin θ·Δθ weights (Σ ≈ 2): enough for invariants.
    let t: Vec<f64> = (0..n_lat).map(|i| PI * i as f64 / (n_lat - 1) as f64).collect();
    let dt = PI / (n_lat - 1) as f64;
    let mut w: Vec<f64> = t.iter().map(|t| t.sin() * dt).collect();
    w[0] = dt * dt / 8.0;
    w[n_lat - 1] = dt * dt / 8.0;
    SphereGridSpec::new(t, w, n_lon).unwrap()
}

#[test]
fn sphere_normalised_rows_integrate_as_documented() {
    let basis = Basis::piecewise_linear(3, 4).unwrap();
    let (gi, go) = (eq_sphere(17, 32), eq_sphere(9, 16));
    let k = basis.n_basis();
    // "mean": per basis, rows average to 1 over output latitudes.
    let psi =
        DiscoS2Spec::forward(gi.clone(), go.clone(), basis.clone(), 0.4).unwrap().build().unwrap();
    for (l, s) in row_sums(&psi.to_dense(), 17 * 32).chunks(9).enumerate() {
        let mean = s.iter().sum::<f64>() / 9.0;
        // Non-negative basis, so |·| and signed sums agree; f64 round-off.
        assert!((mean - 1.0).abs() < 1e-12, "basis {l}: {mean}");
    }
    // "individual": every non-empty row sums to 1.
    let psi = DiscoS2Spec::forward(gi.clone(), go.clone(), basis.clone(), 0.4)
        .unwrap()
        .with_normalization(Normalization::IndividualAbs)
        .build()
        .unwrap();
    for s in row_sums(&psi.to_dense(), 17 * 32) {
        assert!(s == 0.0 || (s - 1.0).abs() < 1e-12, "{s}");
    }
    // Transpose coarse → fine: Σ Ψ = n_lat_fine · n_lon_fine / n_lon_coarse per basis (R4c).
    let psi = DiscoS2Spec::transpose(go, gi, basis, 0.4).unwrap().build().unwrap();
    let total: f64 = psi.matrix().data().iter().sum();
    assert!((total - k as f64 * 17.0 * 2.0).abs() < 1e-10, "{total}");
}

/// Brute-force sphere Ψ for output point (θ_t, λ_q), normalisation None, from the local-frame
/// formula (independent of the rotation used by the crate).
fn sphere_oracle_row(
    basis: &Basis,
    gi: &SphereGridSpec,
    theta_t: f64,
    lambda_q: f64,
    rc: f64,
) -> Vec<f64> {
    let (n_lat, n_lon, k) = (gi.n_lat(), gi.n_lon(), basis.n_basis());
    let mut out = vec![0.0; k * n_lat * n_lon];
    for j in 0..n_lat {
        for p in 0..n_lon {
            let v = unit(gi.colatitudes()[j], 2.0 * PI * p as f64 / n_lon as f64);
            let (d, phi) = distance_bearing(theta_t, lambda_q, v);
            let q = gi.weights()[j] / (2.0 * n_lon as f64);
            for (l, val) in dense_eval(basis, d, phi, rc).into_iter().enumerate() {
                out[(l * n_lat + j) * n_lon + p] = val * q;
            }
        }
    }
    out
}

#[test]
fn sphere_psi_at_output_longitude_q_is_psi_at_zero_shifted() {
    let basis = Basis::piecewise_linear(3, 4).unwrap();
    let (gi, go) = (gl_sphere(12, 24), gl_sphere(6, 12));
    let spec = DiscoS2Spec::forward(gi.clone(), go.clone(), basis.clone(), 0.6)
        .unwrap()
        .with_normalization(Normalization::None);
    let rc = spec.effective_cutoff();
    let psi = spec.build().unwrap().to_dense();
    let (k, n_lat, n_lon, stride) = (basis.n_basis(), 12, 24, 2);
    let n_cols = n_lat * n_lon;
    for t in 0..go.n_lat() {
        for q in 0..go.n_lon() {
            let oracle =
                sphere_oracle_row(&basis, &gi, go.colatitudes()[t], 2.0 * PI * q as f64 / 12.0, rc);
            for l in 0..k {
                for j in 0..n_lat {
                    for p in 0..n_lon {
                        let ours = psi[(l * go.n_lat() + t) * n_cols
                            + j * n_lon
                            + (p + n_lon - q * stride) % n_lon];
                        let want = oracle[(l * n_lat + j) * n_lon + p];
                        // Two f64 formulas for the same angles: round-off on O(1)·q values.
                        assert!(
                            (ours - want).abs() < 1e-12,
                            "t={t} q={q} l={l} j={j} p={p}: {ours} vs {want}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn sphere_entries_stay_within_the_widened_cutoff() {
    let basis = Basis::piecewise_linear(2, 4).unwrap();
    let gi = gl_sphere(20, 40);
    let spec = DiscoS2Spec::forward(gi.clone(), gl_sphere(10, 20), basis, 0.35).unwrap();
    let psi = spec.build().unwrap();
    let go = gl_sphere(10, 20);
    for (row, vec) in psi.matrix().outer_iterator().enumerate() {
        let t = row % 10;
        for (c, _) in vec.iter() {
            let v = unit(gi.colatitudes()[c / 40], 2.0 * PI * (c % 40) as f64 / 40.0);
            let (d, _) = distance_bearing(go.colatitudes()[t], 0.0, v);
            assert!(d <= spec.effective_cutoff() * (1.0 + 1e-12), "distance {d}");
        }
    }
}

#[test]
fn assembly_is_deterministic_across_thread_counts() {
    let pin = cloud(2000, 1.0, 0.0);
    let spec = DiscoPlanarSpec::forward(
        pin.clone(),
        vec![5e-4; 2000],
        pin,
        Basis::piecewise_linear(3, 4).unwrap(),
        0.08,
    )
    .unwrap();
    let a = spec.build().unwrap();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let b = pool.install(|| spec.build().unwrap());
    assert_eq!(a, b);
    let sphere = DiscoS2Spec::forward(
        gl_sphere(16, 32),
        gl_sphere(16, 32),
        Basis::piecewise_linear(3, 4).unwrap(),
        0.3,
    )
    .unwrap();
    assert_eq!(sphere.build().unwrap(), pool.install(|| sphere.build().unwrap()));
}

#[test]
fn csr_parts_and_matrix_transpose_are_consistent() {
    let psi = DiscoS2Spec::forward(
        gl_sphere(8, 16),
        gl_sphere(8, 16),
        Basis::piecewise_linear(3, 4).unwrap(),
        0.5,
    )
    .unwrap()
    .build()
    .unwrap();
    let parts = psi.to_csr_parts();
    assert_eq!(parts.crow.len(), parts.shape[0] + 1);
    assert_eq!(*parts.crow.last().unwrap() as usize, parts.col.len());
    for r in 0..parts.shape[0] {
        let cols = &parts.col[parts.crow[r] as usize..parts.crow[r + 1] as usize];
        assert!(cols.windows(2).all(|w| w[0] < w[1]), "row {r} not strictly sorted");
    }
    assert!(parts.values.iter().all(|&v| v != 0.0));
    assert!(matches!(
        psi.layout(),
        Layout::Sphere {
            n_lat_rows: 8,
            n_lat_cols: 8,
            n_lon_cols: 16,
            n_lon_rows: 16,
            lon_stride: 1
        }
    ));
    let dense = psi.to_dense();
    let t = psi.transposed_matrix();
    let [rows, cols] = psi.shape();
    for (c, vec) in t.outer_iterator().enumerate() {
        for (r, &v) in vec.iter() {
            assert_eq!(v, dense[r * cols + c]);
        }
    }
    assert_eq!(t.nnz(), psi.nnz());
    assert_eq!(t.rows(), cols);
    assert_eq!(t.cols(), rows);
}

#[test]
fn cache_builds_once_and_round_trips_through_disk() {
    let spec = DiscoS2Spec::forward(
        gl_sphere(8, 16),
        gl_sphere(8, 16),
        Basis::piecewise_linear(3, 4).unwrap(),
        0.5,
    )
    .unwrap();
    let cache = KernelCache::new();
    let a = cache.get_or_build(&spec).unwrap();
    let b = cache.get_or_build(&spec).unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &b));
    let other = spec.clone().with_theta_eps(0.0).unwrap();
    let c = cache.get_or_build(&other).unwrap();
    assert!(!std::sync::Arc::ptr_eq(&a, &c));
    assert_eq!(cache.len(), 2);
    let dir = std::env::temp_dir().join(format!("lno-kernels-cache-test-{}", std::process::id()));
    let disk = KernelCache::with_disk(&dir).unwrap();
    let d = disk.get_or_build(&spec).unwrap();
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(files.len(), 1);
    // A fresh cache on the same directory loads the file instead of rebuilding.
    let reloaded = KernelCache::with_disk(&dir).unwrap().get_or_build(&spec).unwrap();
    assert_eq!(*d, *reloaded);
    assert_eq!(*a, *reloaded);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_input_is_rejected_with_the_parameter_named() {
    let b = Basis::piecewise_linear(3, 4).unwrap();
    let pin = cloud(50, 1.0, 0.0);
    let err = |r: Result<_, lno_kernels::KernelError>| r.map(|_: ()| ()).unwrap_err().to_string();
    let e = err(DiscoPlanarSpec::forward(pin.clone(), vec![0.02; 50], pin.clone(), b.clone(), 0.0)
        .map(|_| ()));
    assert!(e.contains("cutoff"), "{e}");
    let e = err(DiscoPlanarSpec::forward(pin.clone(), vec![0.02; 49], pin.clone(), b.clone(), 0.1)
        .map(|_| ()));
    assert!(e.contains("weights_in") && e.contains("50") && e.contains("49"), "{e}");
    let e =
        err(DiscoPlanarSpec::forward(pin.clone(), vec![0.02; 50], pin.clone(), b.clone(), 10.0)
            .map(|_| ()));
    assert!(e.contains("diameter"), "{e}");
    let e = err(DiscoPlanarSpec::forward(pin.clone(), vec![0.02; 50], pin.clone(), b.clone(), 0.6)
        .unwrap()
        .with_domain(PlanarDomain::Periodic { lengths: [1.0, 1.0] })
        .map(|_| ()));
    assert!(e.contains("half the shortest period"), "{e}");
    // An output point far from every input point: empty neighbourhood.
    let e = err(DiscoPlanarSpec::forward(
        pin.clone(),
        vec![0.02; 50],
        vec![[0.5, 0.5], [5.0, 5.0]],
        b.clone(),
        0.2,
    )
    .unwrap()
    .build()
    .map(|_| ()));
    assert!(e.contains("output point 1"), "{e}");
    let e = err(StencilSpec::for_grid(b.clone(), [8, 8], [1.0, 1.0], 0.6).map(|_| ()));
    assert!(e.contains("cutoff") && e.contains("fits"), "{e}");
    let e = err(StencilSpec::new(b, [0.1, -0.1], 0.3).map(|_| ()));
    assert!(e.contains("spacing[1]"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn random_clouds_match_the_oracle(n_in in 20usize..120, n_out in 1usize..20, shift in 0.0f64..1.0, rc in 0.15f64..0.45, nr in 1usize..5, nphi in 1usize..5) {
        let pin = cloud(n_in, 1.0, shift);
        let pout = cloud(n_out, 1.0, 1.0 - shift);
        let q = vec![1.0 / n_in as f64; n_in];
        let basis = Basis::piecewise_linear(nr, nphi).unwrap();
        let spec = DiscoPlanarSpec::forward(pin.clone(), q.clone(), pout.clone(), basis.clone(), rc).unwrap()
            .with_domain(PlanarDomain::Periodic { lengths: [1.0, 1.0] }).unwrap()
            .with_normalization(Normalization::None);
        match spec.build() {
            Ok(psi) => {
                let oracle = planar_oracle(&pin, &q, &pout, &basis, rc, Some(1.0), false, Normalization::None);
                // Identical formulas: round-off only.
                prop_assert!(max_abs_diff(&psi.to_dense(), &oracle) < 1e-12);
            }
            // Sparse clouds may leave an output point alone: then the oracle has an empty row set.
            Err(e) => {
                let oracle = planar_oracle(&pin, &q, &pout, &basis, rc, Some(1.0), false, Normalization::None);
                prop_assert!(e.to_string().contains("output point"));
                let empty = (0..n_out).any(|i| (0..basis.n_basis()).all(|l| oracle[(l * n_out + i) * n_in..(l * n_out + i + 1) * n_in].iter().all(|&v| v == 0.0)));
                prop_assert!(empty);
            }
        }
    }
}
