//! Tests of the sphere grids and tensor-product grids: weights, conventions of torch-harmonics,
//! exactness, and input validation.

use std::f64::consts::PI;

use lno_quadrature::{Axis, AxisRule, SphereGrid, SphereGridKind, TensorGrid2, TensorGrid3};

const KINDS: [SphereGridKind; 3] =
    [SphereGridKind::Equiangular, SphereGridKind::LegendreGauss, SphereGridKind::Lobatto];

#[test]
fn every_sphere_grid_integrates_one_to_four_pi() {
    for kind in KINDS {
        for (nlat, nlon) in [(2, 1), (3, 4), (16, 32), (33, 64), (256, 512)] {
            let grid = SphereGrid::new(kind, nlat, nlon).unwrap();
            let ones = vec![1.0; nlat * nlon];
            let area = grid.integrate(&ones).unwrap();
            // Sum of nlat·nlon positive terms: a few ulps of 4π.
            assert!((area - 4.0 * PI).abs() < 1e-12, "{kind:?} {nlat}x{nlon}: {area}");
            let lat_sum: f64 = grid.latitude_weights().iter().sum();
            assert!((lat_sum - 2.0).abs() < 1e-13, "{kind:?}: Σw = {lat_sum}");
        }
    }
}

#[test]
fn sphere_grids_follow_torch_harmonics_conventions() {
    // layers-spec §4 examples.
    let eq = SphereGrid::new(SphereGridKind::Equiangular, 5, 8).unwrap();
    let lats = [0.0, PI / 4.0, PI / 2.0, 3.0 * PI / 4.0, PI];
    let w = [1.0 / 15.0, 8.0 / 15.0, 0.8, 8.0 / 15.0, 1.0 / 15.0];
    for k in 0..5 {
        // Closed forms; a few ulps.
        assert!((eq.colatitudes()[k] - lats[k]).abs() < 1e-15);
        assert!((eq.latitude_weights()[k] - w[k]).abs() < 1e-15);
        assert!((eq.weights()[k] - w[k] * 2.0 * PI / 8.0).abs() < 1e-15);
    }
    let lg = SphereGrid::new(SphereGridKind::LegendreGauss, 4, 8).unwrap();
    let lats = [0.53329568, 1.22389959, 1.91769307, 2.60829697];
    let w = [0.34785485, 0.65214515, 0.65214515, 0.34785485];
    for k in 0..4 {
        // The spec prints 8 decimals.
        assert!((lg.colatitudes()[k] - lats[k]).abs() < 6e-9);
        assert!((lg.latitude_weights()[k] - w[k]).abs() < 6e-9);
    }
    let lob = SphereGrid::new(SphereGridKind::Lobatto, 4, 8).unwrap();
    let lats = [0.0, 1.10714872, 2.03444394, PI];
    let w = [1.0 / 6.0, 5.0 / 6.0, 5.0 / 6.0, 1.0 / 6.0];
    for k in 0..4 {
        // 8 printed decimals for the interior colatitudes; exact values elsewhere.
        assert!((lob.colatitudes()[k] - lats[k]).abs() < 6e-9);
        assert!((lob.latitude_weights()[k] - w[k]).abs() < 1e-15);
    }
    assert_eq!(lob.colatitudes()[0], 0.0);
    assert_eq!(lob.colatitudes()[3], PI);
    for (p, &lon) in eq.longitudes().iter().enumerate() {
        assert_eq!(lon, 2.0 * PI * p as f64 / 8.0);
    }
}

#[test]
fn sphere_grids_are_symmetric_and_ascending_in_colatitude() {
    for kind in KINDS {
        for nlat in [2, 7, 64, 65] {
            let g = SphereGrid::new(kind, nlat, 3).unwrap();
            let th = g.colatitudes();
            let w = g.latitude_weights();
            assert!(th.windows(2).all(|p| p[0] < p[1]), "{kind:?} {nlat}");
            for k in 0..nlat {
                // θ_{n−1−k} = π − θ_k is applied as a rounding of π − θ_k.
                assert!((th[nlat - 1 - k] - (PI - th[k])).abs() <= 4.0 * f64::EPSILON);
                assert_eq!(w[nlat - 1 - k], w[k]);
            }
        }
    }
}

#[test]
fn sphere_latitude_rules_integrate_cos_powers_up_to_their_exact_degree() {
    for kind in KINDS {
        for nlat in [4, 9, 32, 51] {
            let g = SphereGrid::new(kind, nlat, 1).unwrap();
            let deg = g.exact_degree();
            for k in 0..=deg as i32 {
                let got: f64 = g
                    .colatitudes()
                    .iter()
                    .zip(g.latitude_weights())
                    .map(|(t, w)| w * t.cos().powi(k))
                    .sum();
                let exact = if k % 2 == 0 { 2.0 / (k + 1) as f64 } else { 0.0 };
                // Terms are O(1); round-off of nlat terms.
                assert!((got - exact).abs() < 1e-13, "{kind:?} nlat={nlat} k={k}: {got}");
            }
        }
    }
}

#[test]
fn max_lmax_is_nlat_for_gauss_nlat_minus_one_for_lobatto_and_half_for_equiangular() {
    let lmax = |kind, nlat| SphereGrid::new(kind, nlat, 4).unwrap().max_lmax();
    assert_eq!(lmax(SphereGridKind::LegendreGauss, 256), 256);
    assert_eq!(lmax(SphereGridKind::Lobatto, 256), 255);
    assert_eq!(lmax(SphereGridKind::Equiangular, 256), 128);
    assert_eq!(lmax(SphereGridKind::Equiangular, 257), 129);
}

#[test]
fn bad_sphere_grid_inputs_return_errors_naming_the_parameter() {
    let err = SphereGrid::new(SphereGridKind::LegendreGauss, 1, 4).unwrap_err();
    assert_eq!(err.parameter(), Some("nlat"));
    let err = SphereGrid::new(SphereGridKind::Equiangular, 8, 0).unwrap_err();
    assert_eq!(err.parameter(), Some("nlon"));
    let g = SphereGrid::new(SphereGridKind::Lobatto, 8, 4).unwrap();
    assert_eq!(g.integrate(&[1.0; 31]).unwrap_err().parameter(), Some("field"));
}

#[test]
fn tensor_grid_2d_integrates_separable_polynomials_and_periodic_fields() {
    let grid = TensorGrid2::new([
        Axis::periodic(16, 0.0, 2.0),
        Axis::bounded(AxisRule::GaussLegendre, 5, -1.0, 3.0),
    ])
    .unwrap();
    assert_eq!(grid.shape(), [16, 5]);
    assert_eq!(grid.len(), 80);
    let w = grid.weights();
    // Volume 2 · 3; round-off only.
    assert!((w.iter().sum::<f64>() - 6.0).abs() < 1e-13);
    // ∫_0^2 (1 + sin(πx))² dx · ∫_{-1}^{2} y⁹ dy: trig degree 2 < 16, poly degree 9 ≤ 2·5 − 1.
    let f = |[x, y]: [f64; 2]| (1.0 + (PI * x).sin()).powi(2) * y.powi(9);
    let exact = 3.0 * (2f64.powi(10) - 1.0) / 10.0;
    let got = grid.integrate(f);
    // Relative round-off on a value ~300.
    assert!((got - exact).abs() < 1e-11 * exact, "{got} vs {exact}");
    let values: Vec<f64> = grid.points().into_iter().map(f).collect();
    assert!((grid.integrate_values(&values).unwrap() - got).abs() < 1e-12 * exact);
    // Row-major: the second axis varies fastest.
    let pts = grid.points();
    assert_eq!(pts[1][0], pts[0][0]);
    assert!(pts[1][1] > pts[0][1]);
}

#[test]
fn tensor_grid_3d_volume_and_exactness_with_mixed_rules() {
    let grid = TensorGrid3::new([
        Axis::bounded(AxisRule::Trapezoid, 9, 0.0, 1.0),
        Axis::bounded(AxisRule::ClenshawCurtis, 6, 0.0, 2.0),
        Axis::bounded(AxisRule::GaussLobatto, 4, -1.0, 0.5),
    ])
    .unwrap();
    assert_eq!(grid.shape(), [9, 6, 4]);
    // x (trapezoid exact for linear) · y⁵ (CC, 6 points) · z⁵ (Lobatto, 2·4 − 3 = 5).
    let got = grid.integrate(|[x, y, z]| x * y.powi(5) * z.powi(5));
    let exact = 0.5 * (2f64.powi(6) / 6.0) * ((-0.5f64).powi(6) - 1.0) / 6.0;
    // Round-off only.
    assert!((got - exact).abs() < 1e-13, "{got} vs {exact}");
}

#[test]
fn bad_tensor_axes_return_errors_naming_the_parameter() {
    let bad_len = TensorGrid2::new([Axis::periodic(4, 0.0, -1.0), Axis::periodic(4, 0.0, 1.0)]);
    assert_eq!(bad_len.unwrap_err().parameter(), Some("length"));
    let bad_lower = Axis::periodic(4, f64::NAN, 1.0).rule();
    assert_eq!(bad_lower.unwrap_err().parameter(), Some("lower"));
    let periodic_gauss =
        Axis { periodic: true, ..Axis::bounded(AxisRule::GaussLegendre, 4, 0.0, 1.0) };
    assert_eq!(periodic_gauss.rule().unwrap_err().parameter(), Some("periodic"));
    let too_few = Axis::bounded(AxisRule::GaussLegendre, 0, 0.0, 1.0).rule();
    assert_eq!(too_few.unwrap_err().parameter(), Some("n"));
    let grid =
        TensorGrid2::new([Axis::periodic(2, 0.0, 1.0), Axis::periodic(3, 0.0, 1.0)]).unwrap();
    assert_eq!(grid.integrate_values(&[0.0; 5]).unwrap_err().parameter(), Some("values"));
}
