//! Tests of the orthonormal associated Legendre tables: closed forms, an independent formula
//! at l = m = 1024, orthonormality at degree 3000 / order 1500 (where sinᵐθ underflows), a
//! naive-recurrence oracle, and the derivative tables against ladder identities.

use std::f64::consts::PI;

use lno_quadrature::{CsPhase, LegendreParts, LegendreTable, gauss_legendre, legendre_order};

fn table(lmax: usize, mmax: usize, th: &[f64], phase: CsPhase) -> LegendreTable {
    LegendreTable::new(lmax, mmax, th, phase, LegendreParts::WithDerivatives).unwrap()
}

#[test]
fn low_degree_values_match_closed_forms_with_and_without_condon_shortley_phase() {
    let th = [0.0, 0.3, 1.1, PI / 2.0, 2.5, PI];
    let cs = table(3, 3, &th, CsPhase::Include);
    let no = table(3, 3, &th, CsPhase::Omit);
    for (k, &t) in th.iter().enumerate() {
        let (s, c) = t.sin_cos();
        let expect = [
            (0, 0, 1.0 / (4.0 * PI).sqrt()),
            (1, 0, (3.0 / (4.0 * PI)).sqrt() * c),
            (1, 1, -(3.0 / (8.0 * PI)).sqrt() * s),
            (2, 0, (5.0 / (4.0 * PI)).sqrt() * 0.5 * (3.0 * c * c - 1.0)),
            (2, 1, -(15.0 / (8.0 * PI)).sqrt() * s * c),
            (2, 2, (15.0 / (32.0 * PI)).sqrt() * s * s),
        ];
        for (l, m, v) in expect {
            // Closed forms vs recurrence: a few ulps of O(1) values.
            assert!((cs.value(m, l, k).unwrap() - v).abs() < 1e-15, "l={l} m={m} θ={t}");
            let sign = if m % 2 == 1 { -1.0 } else { 1.0 };
            assert!((no.value(m, l, k).unwrap() - sign * v).abs() < 1e-15);
        }
        assert_eq!(cs.value(2, 1, k).unwrap(), 0.0, "l < m is zero");
    }
}

#[test]
fn sectoral_value_at_l_equals_m_1024_matches_log_factorial_formula() {
    // P̄ₘᵐ = √((2m+1)/4π) · √(C(2m, m)/4ᵐ) · sinᵐθ (no phase), with the central binomial
    // coefficient from its asymptotic series C(2m, m)/4ᵐ = (πm)^{-1/2} (1 − 1/(8m) +
    // 1/(128m²) + 5/(1024m³) − 21/(32768m⁴) + O(m⁻⁵)), independent of the product we use.
    let m = 1024usize;
    let mf = m as f64;
    let central = (PI * mf).sqrt().recip()
        * (1.0 - 1.0 / (8.0 * mf) + 1.0 / (128.0 * mf * mf) + 5.0 / (1024.0 * mf.powi(3))
            - 21.0 / (32768.0 * mf.powi(4)));
    for theta in [0.9f64, PI / 2.0, 2.0] {
        let expect =
            ((2.0 * mf + 1.0) / (4.0 * PI)).sqrt() * central.sqrt() * theta.sin().powi(m as i32);
        let got = legendre_order(m, m + 1, &[theta], CsPhase::Omit).unwrap()[0];
        let rel = (got - expect).abs() / expect;
        // 1024 rounded factors in the product and in powi: ~1024·eps/2 worst case.
        assert!(rel < 2e-13, "θ={theta}: {got:e} vs {expect:e} (rel {rel:e})");
    }
    // At θ = 0.3, sin¹⁰²⁴θ ≈ 10⁻⁵⁴² is below the f64 range: the value is exactly 0, no NaN.
    let tiny = legendre_order(m, m + 1, &[0.3], CsPhase::Omit).unwrap()[0];
    assert_eq!(tiny, 0.0);
}

#[test]
fn order_1500_is_orthonormal_up_to_degree_2999_despite_sectoral_underflow() {
    // sin¹⁵⁰⁰θ underflows f64 for sin θ < 0.62, i.e. for most colatitudes, yet P̄ₗ¹⁵⁰⁰ is O(1)
    // there for l ≳ 1500/sin θ. Orthonormality on a 3000-point Gauss rule (exact to degree
    // 5999) checks every degree at once.
    let (m, lmax, n) = (1500usize, 3000usize, 3000usize);
    let rule = gauss_legendre(n, -1.0, 1.0).unwrap();
    let th: Vec<f64> = rule.nodes.iter().map(|x| x.acos()).collect();
    let p = legendre_order(m, lmax, &th, CsPhase::Include).unwrap();
    let row = |l: usize| &p[(l - m) * n..(l - m + 1) * n];
    let dot = |a: &[f64], b: &[f64]| {
        2.0 * PI * a.iter().zip(b).zip(&rule.weights).map(|((x, y), w)| x * y * w).sum::<f64>()
    };
    for l in [m, m + 1, 2000, 2500, 2998, 2999] {
        let norm = dot(row(l), row(l));
        // Sums of 3000 terms; acos(x) near x = ±1 perturbs θ by ~1e-14, values by less.
        assert!((norm - 1.0).abs() < 1e-11, "l={l}: ⟨P,P⟩ = {norm}");
    }
    for (l1, l2) in [(m, m + 2), (2000, 2998), (2997, 2999)] {
        let ip = dot(row(l1), row(l2));
        assert!(ip.abs() < 1e-11, "({l1},{l2}): {ip}");
    }
    // Check that some values really are out of reach of a plain product: sin^m θ < 1e-308
    // at a colatitude where the degree-2999 value is not small.
    let k = th.iter().position(|t| t.sin() < 0.55 && t.sin() > 0.54).expect("such a node");
    assert!(th[k].sin().powi(m as i32) == 0.0);
    let big = row(2999)[k - 2..k + 3].iter().fold(0.0f64, |a, v| a.max(v.abs()));
    assert!(big > 1e-3, "degree 2999 there is O(1): {big}");
}

#[test]
fn table_matches_naive_recurrence_where_no_underflow_occurs() {
    // Slow oracle: plain f64 product and recurrence, as in textbooks (fine for m ≤ 60).
    let th: Vec<f64> = (0..17).map(|i| 0.05 + i as f64 * 0.18).collect();
    let (lmax, mmax) = (90usize, 61usize);
    let t = LegendreTable::new(lmax, mmax, &th, CsPhase::Omit, LegendreParts::Values).unwrap();
    for m in 0..mmax {
        for (k, &theta) in th.iter().enumerate() {
            let (s, c) = theta.sin_cos();
            let mut pmm = 1.0 / (4.0 * PI).sqrt();
            for j in 1..=m {
                pmm *= ((2 * j + 1) as f64 / (2 * j) as f64).sqrt() * s;
            }
            let (mut p0, mut p1) = (0.0, pmm);
            for l in m..lmax {
                if l > m {
                    let (lf, mf) = (l as f64, m as f64);
                    let a = ((4.0 * lf * lf - 1.0) / (lf * lf - mf * mf)).sqrt();
                    let b = (((lf - 1.0).powi(2) - mf * mf) * (2.0 * lf + 1.0)
                        / ((2.0 * lf - 3.0) * (lf * lf - mf * mf)))
                        .sqrt();
                    (p0, p1) = (p1, a * c * p1 - b * p0);
                }
                let got = t.value(m, l, k).unwrap();
                // Same operations up to scaling by powers of two: agreement to round-off.
                assert!((got - p1).abs() <= 1e-14 * (1.0 + p1.abs()), "m={m} l={l} k={k}");
            }
        }
    }
}

#[test]
fn derivative_tables_satisfy_ladder_identities_and_pole_limits() {
    // dP̄ₗᵐ/dθ = ½[√((l+m)(l−m+1)) P̄ₗᵐ⁻¹ − √((l−m)(l+m+1)) P̄ₗᵐ⁺¹] (m ≥ 1, no phase) and
    // dP̄ₗ⁰/dθ = −√(l(l+1)) P̄ₗ¹ — an identity across orders, independent of the recurrence in
    // degree used to build the table.
    let th = [0.0, 1e-3, 0.4, 1.3, PI / 2.0, 2.9, PI];
    let (lmax, mmax) = (40usize, 40usize);
    let t = table(lmax, mmax, &th, CsPhase::Omit);
    let val = |m: usize, l: usize, k: usize| if m < mmax { t.value(m, l, k).unwrap() } else { 0.0 };
    for m in 0..mmax {
        let d = t.dtheta_block(m).unwrap();
        let q = t.m_over_sin_block(m).unwrap();
        for l in m..lmax {
            for (k, &theta) in th.iter().enumerate() {
                let (lf, mf) = (l as f64, m as f64);
                let ladder = if m == 0 {
                    -(lf * (lf + 1.0)).sqrt() * val(1, l, k)
                } else {
                    0.5 * (((lf + mf) * (lf - mf + 1.0)).sqrt() * val(m - 1, l, k)
                        - ((lf - mf) * (lf + mf + 1.0)).sqrt() * val(m + 1, l, k))
                };
                let got = d[(l - m) * th.len() + k];
                // Values up to ~l^{3/2}; round-off of both recurrences.
                assert!(
                    (got - ladder).abs() < 1e-12,
                    "dθ m={m} l={l} θ={theta}: {got} vs {ladder}"
                );
                let got_q = q[(l - m) * th.len() + k];
                if theta.sin() > 0.1 {
                    let direct = mf * val(m, l, k) / theta.sin();
                    assert!((got_q - direct).abs() < 1e-12, "m/sin m={m} l={l} θ={theta}");
                }
                if theta == 0.0 {
                    // At the north pole only m = 1 survives: P̄ₗ¹/sin θ → √((2l+1)/4π)·√(l(l+1))/2.
                    let limit = if m == 1 {
                        ((2.0 * lf + 1.0) / (4.0 * PI)).sqrt() * (lf * (lf + 1.0)).sqrt() / 2.0
                    } else {
                        0.0
                    };
                    assert!((got_q - limit).abs() < 1e-12, "pole m={m} l={l}: {got_q}");
                    assert!((got - limit).abs() < 1e-12, "pole dθ m={m} l={l}: {got}");
                }
            }
        }
    }
}

#[test]
fn dense_layout_and_latitude_scaling_match_block_access() {
    let th = [0.2, 1.0, 2.0];
    let mut t = LegendreTable::new(5, 7, &th, CsPhase::Include, LegendreParts::Values).unwrap();
    let dense = t.to_dense();
    assert_eq!(dense.len(), 7 * 5 * 3);
    for m in 0..7 {
        for l in 0..5 {
            for k in 0..3 {
                assert_eq!(dense[(m * 5 + l) * 3 + k], t.value(m, l, k).unwrap());
            }
        }
    }
    assert!(t.block(6).unwrap().is_empty(), "orders beyond lmax have no degrees");
    let before = t.value(2, 3, 1).unwrap();
    t.scale_colatitudes(&[1.0, 3.0, 1.0]).unwrap();
    assert_eq!(t.value(2, 3, 1).unwrap(), 3.0 * before);
}

#[test]
fn bad_legendre_inputs_return_errors_naming_the_parameter() {
    let p = |r: lno_quadrature::Result<LegendreTable>| r.unwrap_err().parameter();
    let v = LegendreParts::Values;
    assert_eq!(p(LegendreTable::new(0, 1, &[0.5], CsPhase::Include, v)), Some("lmax"));
    assert_eq!(p(LegendreTable::new(4, 0, &[0.5], CsPhase::Include, v)), Some("mmax"));
    assert_eq!(p(LegendreTable::new(4, 4, &[], CsPhase::Include, v)), Some("colatitudes"));
    assert_eq!(p(LegendreTable::new(4, 4, &[4.0], CsPhase::Include, v)), Some("colatitudes"));
    assert_eq!(p(LegendreTable::new(4, 4, &[f64::NAN], CsPhase::Include, v)), Some("colatitudes"));
    let t = LegendreTable::new(4, 4, &[0.5], CsPhase::Include, v).unwrap();
    assert_eq!(t.value(4, 0, 0).unwrap_err().parameter(), Some("m"));
    assert_eq!(t.value(0, 4, 0).unwrap_err().parameter(), Some("l"));
    assert_eq!(t.value(0, 0, 1).unwrap_err().parameter(), Some("k"));
    assert_eq!(t.dtheta_block(0).unwrap_err().parameter(), Some("parts"));
    assert_eq!(legendre_order(5, 5, &[0.5], CsPhase::Omit).unwrap_err().parameter(), Some("lmax"));
}
