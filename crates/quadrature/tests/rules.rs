//! Tests of the 1-D rules: polynomial exactness, numpy golden values, agreement of the fast
//! Gauss–Legendre paths with the slow recurrence oracle, endpoints, and input validation.

use lno_quadrature::{
    QuadratureError, Rule, clenshaw_curtis, gauss_legendre, gauss_lobatto, trapezoid,
};
use proptest::prelude::*;

/// `∫_a^b x^k dx`, evaluated as `(b^{k+1} − a^{k+1})/(k+1)`.
fn monomial_integral(k: i32, a: f64, b: f64) -> f64 {
    (b.powi(k + 1) - a.powi(k + 1)) / (k + 1) as f64
}

/// Relative error of the rule on `x^k`, relative to `∫ |x|^k` so that odd monomials with a
/// zero integral are measured on the scale of their terms.
fn monomial_error(rule: &Rule, k: i32, a: f64, b: f64) -> f64 {
    let got = rule.integrate(|x| x.powi(k));
    // The floor only matters for the 1-point rule on x¹, where the scale is exactly 0.
    let scale = rule.integrate(|x| x.abs().powi(k)).max(f64::MIN_POSITIVE);
    (got - monomial_integral(k, a, b)).abs() / scale
}

/// Slow oracle: Gauss–Legendre by Newton's method in `x` with the plain recurrence, the
/// textbook algorithm, independent of the crate's colatitude formulation.
fn gauss_legendre_oracle(n: usize) -> Rule {
    let mut nodes = vec![0.0; n];
    let mut weights = vec![0.0; n];
    for i in 0..n {
        let mut x = -(std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        let mut dp = 1.0;
        for _ in 0..100 {
            let (mut p0, mut p1) = (1.0, x);
            for k in 2..=n {
                let kf = k as f64;
                (p0, p1) = (p1, ((2.0 * kf - 1.0) * x * p1 - (kf - 1.0) * p0) / kf);
            }
            dp = n as f64 * (x * p1 - p0) / (x * x - 1.0);
            let dx = p1 / dp;
            x -= dx;
            if dx.abs() < 1e-16 {
                break;
            }
        }
        nodes[i] = x;
        weights[i] = 2.0 / ((1.0 - x * x) * dp * dp);
    }
    Rule { nodes, weights }
}

/// Reads a fixture written by `tools/golden/leggauss.py` (`numpy`) or `leggauss_mp.py` (`mp`).
fn read_golden(source: &str, n: usize) -> Rule {
    let path = format!("{}/tests/data/leggauss_{source}{n}.txt", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("golden file is committed");
    let (mut nodes, mut weights) = (Vec::new(), Vec::new());
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let mut it = line.split_whitespace().map(|t| t.parse::<f64>().expect("a float"));
        nodes.push(it.next().expect("node"));
        weights.push(it.next().expect("weight"));
    }
    Rule { nodes, weights }
}

#[test]
fn gauss_legendre_integrates_monomials_up_to_degree_2n_minus_1() {
    for n in [1usize, 2, 3, 5, 8, 20, 64, 101, 150, 257] {
        let rule = gauss_legendre(n, -1.0, 1.0).unwrap();
        for k in 0..=(2 * n as i32 - 1) {
            let err = monomial_error(&rule, k, -1.0, 1.0);
            // The acceptance bound of the issue; sums of n terms round to a few ulps.
            assert!(err <= 1e-13, "n={n} k={k}: relative error {err:e}");
        }
        // Degree 2n is not integrated exactly: the error (~4⁻ⁿ) is far above round-off for
        // small n, which shows the check above can fail.
        if n <= 8 {
            let err = monomial_error(&rule, 2 * n as i32, -1.0, 1.0);
            assert!(err > 1e-8, "n={n}: degree 2n unexpectedly exact ({err:e})");
        }
    }
}

#[test]
fn gauss_legendre_on_shifted_interval_integrates_monomials() {
    let (a, b) = (0.5, 3.0);
    let rule = gauss_legendre(12, a, b).unwrap();
    for k in 0..=23 {
        let err = monomial_error(&rule, k, a, b);
        // Affine map adds one rounding per node; still at the ulp scale of the sum.
        assert!(err <= 1e-13, "k={k}: {err:e}");
    }
}

#[test]
fn gauss_legendre_matches_numpy_leggauss_at_10_100_1000() {
    for n in [10usize, 100, 1000] {
        let numpy = read_golden("", n);
        // 40-digit reference where available, to judge the few weights where numpy itself is
        // off by more than 1e-14 (its leggauss loses ~1e-8 relative near ±1 at n = 1000).
        let exact = (n >= 100).then(|| read_golden("mp_", n));
        let rule = gauss_legendre(n, -1.0, 1.0).unwrap();
        assert_eq!(numpy.len(), n);
        let mut numpy_off = 0;
        for i in 0..n {
            let dx = (rule.nodes[i] - numpy.nodes[i]).abs();
            // The bound, absolute.
            assert!(dx <= 1e-14, "n={n} i={i}: node differs by {dx:e}");
            let dw = (rule.weights[i] - numpy.weights[i]).abs();
            let numpy_err = exact.as_ref().map_or(0.0, |e| (numpy.weights[i] - e.weights[i]).abs());
            if numpy_err <= 1e-14 {
                // The bound, absolute.
                assert!(dw <= 1e-14, "n={n} i={i}: weight differs by {dw:e}");
            } else {
                // numpy is wrong here by more than the bound: ours must be the accurate one.
                numpy_off += 1;
                let ours_err = (rule.weights[i] - exact.as_ref().unwrap().weights[i]).abs();
                assert!(ours_err <= 1e-16 && ours_err < numpy_err, "n={n} i={i}: {ours_err:e}");
            }
        }
        // Only the end weights at n = 1000 (12 of them when measured) are affected.
        assert!(numpy_off <= 16, "n={n}: {numpy_off} weights where numpy is off");
    }
}

#[test]
fn gauss_legendre_matches_40_digit_reference_to_an_ulp_and_1e_14_relative() {
    for n in [100usize, 1000] {
        let golden = read_golden("mp_", n);
        let rule = gauss_legendre(n, -1.0, 1.0).unwrap();
        for i in 0..n {
            let dx = (rule.nodes[i] - golden.nodes[i]).abs();
            let dw = (rule.weights[i] - golden.weights[i]).abs() / golden.weights[i];
            // Two ulps of 1: the reference is rounded once, ours is rounded once more by cos θ.
            assert!(dx <= 4.5e-16, "n={n} i={i}: node differs by {dx:e}");
            // Relative, so small weights near ±1 are held to the same standard.
            assert!(dw <= 1e-14, "n={n} i={i}: weight differs by {dw:e} (relative)");
        }
    }
}

/// Relative tolerance for comparing a weight against the x-space oracle: the oracle evaluates
/// `P_n'` at the rounded node, which moves it by `n·eps/sin θ` relative near `x = ±1`.
fn oracle_weight_tolerance(n: usize, x: f64) -> f64 {
    1e-13 + 4.0 * n as f64 * f64::EPSILON / (1.0 - x * x).sqrt()
}

#[test]
fn gauss_legendre_asymptotic_path_matches_recurrence_oracle() {
    // n > 100 uses the asymptotic series for interior nodes and the batched recurrence near
    // the ends; both must agree with the textbook Newton iteration.
    for n in [101usize, 333, 1200] {
        let rule = gauss_legendre(n, -1.0, 1.0).unwrap();
        let oracle = gauss_legendre_oracle(n);
        for i in 0..n {
            let dx = (rule.nodes[i] - oracle.nodes[i]).abs();
            let dw = (rule.weights[i] - oracle.weights[i]).abs() / oracle.weights[i];
            // A few ulps: both converge to the root of the same polynomial.
            assert!(dx <= 2e-15, "n={n} i={i}: node {dx:e}");
            let tol = oracle_weight_tolerance(n, rule.nodes[i]);
            assert!(dw <= tol, "n={n} i={i}: weight {dw:e} > {tol:e}");
        }
    }
}

#[test]
fn gauss_legendre_at_n_1e5_is_symmetric_sums_to_two_and_nodes_are_roots() {
    let n = 100_000;
    let rule = gauss_legendre(n, -1.0, 1.0).unwrap();
    let sum: f64 = rule.weights.iter().sum();
    // Sum of 10⁵ positive terms: ~n·eps/ (well below) round-off of a naive sum.
    assert!((sum - 2.0).abs() <= 1e-12, "sum of weights {sum}");
    assert!(rule.nodes.windows(2).all(|w| w[0] < w[1]), "nodes ascending");
    for i in 0..n {
        assert_eq!(rule.nodes[i], -rule.nodes[n - 1 - i]);
        assert_eq!(rule.weights[i], rule.weights[n - 1 - i]);
    }
    // Sampled nodes, near the end and in the interior, against one oracle Newton step each
    // (the oracle is O(n) per node, so only a few).
    for &i in &[0usize, 1, 7, 8, 9, 30, 1000, 25_000, 49_999] {
        let x = rule.nodes[i];
        let (mut p0, mut p1) = (1.0, x);
        for k in 2..=n {
            let kf = k as f64;
            (p0, p1) = (p1, ((2.0 * kf - 1.0) * x * p1 - (kf - 1.0) * p0) / kf);
        }
        let dp = n as f64 * (x * p1 - p0) / (x * x - 1.0);
        let dx = (p1 / dp).abs();
        // Newton's correction equals the node error; the recurrence's own rounding at n = 10⁵
        // limits the check to ~1e-15.
        assert!(dx <= 2e-15, "i={i}: Newton correction {dx:e}");
        let w = 2.0 / ((1.0 - x * x) * dp * dp);
        let dw = (w - rule.weights[i]).abs() / w;
        let tol = oracle_weight_tolerance(n, x);
        assert!(dw <= tol, "i={i}: weight {dw:e} > {tol:e}");
    }
}

#[test]
fn gauss_lobatto_integrates_monomials_up_to_degree_2n_minus_3_and_has_endpoints() {
    for n in [2usize, 3, 4, 5, 9, 16, 33, 100] {
        let rule = gauss_lobatto(n, -1.0, 1.0).unwrap();
        assert_eq!(rule.nodes[0], -1.0);
        assert_eq!(rule.nodes[n - 1], 1.0);
        for k in 0..=(2 * n as i32 - 3) {
            let err = monomial_error(&rule, k, -1.0, 1.0);
            // Issue's bound for exactness.
            assert!(err <= 1e-13, "n={n} k={k}: {err:e}");
        }
        // Degree 2n − 2 is not exact; the error (~4⁻ⁿ) is visible for small n.
        if n <= 9 {
            let k = 2 * n as i32 - 2;
            assert!(monomial_error(&rule, k, -1.0, 1.0) > 1e-8, "n={n}: degree 2n−2 exact");
        }
    }
}

#[test]
fn gauss_lobatto_matches_closed_form_at_n_4_and_5() {
    let r4 = gauss_lobatto(4, -1.0, 1.0).unwrap();
    let s = 1.0 / 5f64.sqrt();
    let expect = [(-1.0, 1.0 / 6.0), (-s, 5.0 / 6.0), (s, 5.0 / 6.0), (1.0, 1.0 / 6.0)];
    for (i, (x, w)) in expect.iter().enumerate() {
        // Closed forms; a few ulps.
        assert!((r4.nodes[i] - x).abs() < 1e-15 && (r4.weights[i] - w).abs() < 1e-15);
    }
    let r5 = gauss_lobatto(5, -1.0, 1.0).unwrap();
    let t = (3.0f64 / 7.0).sqrt();
    let expect = [(-1.0, 0.1), (-t, 49.0 / 90.0), (0.0, 32.0 / 45.0), (t, 49.0 / 90.0), (1.0, 0.1)];
    for (i, (x, w)) in expect.iter().enumerate() {
        assert!((r5.nodes[i] - x).abs() < 1e-15 && (r5.weights[i] - w).abs() < 1e-15);
    }
}

#[test]
fn clenshaw_curtis_integrates_monomials_up_to_degree_n_minus_1() {
    for n in [2usize, 3, 4, 5, 8, 17, 64, 129] {
        let rule = clenshaw_curtis(n, -1.0, 1.0).unwrap();
        assert_eq!(rule.nodes[0], -1.0);
        assert_eq!(rule.nodes[n - 1], 1.0);
        for k in 0..n as i32 {
            let err = monomial_error(&rule, k, -1.0, 1.0);
            // Issue's bound.
            assert!(err <= 1e-13, "n={n} k={k}: {err:e}");
        }
    }
}

#[test]
fn clenshaw_curtis_matches_torch_harmonics_example_and_direct_cosine_sum() {
    // layers-spec §4: equiangular nlat = 5 has weights [1/15, 8/15, 4/5, 8/15, 1/15].
    let r = clenshaw_curtis(5, -1.0, 1.0).unwrap();
    let expect = [1.0 / 15.0, 8.0 / 15.0, 0.8, 8.0 / 15.0, 1.0 / 15.0];
    for i in 0..5 {
        // Exact rationals; a few ulps.
        assert!((r.weights[i] - expect[i]).abs() < 1e-15, "{:?}", r.weights);
    }
    // Slow oracle: the O(n²) cosine sum defining the weights.
    for n in [6usize, 11, 40, 41] {
        let big_n = n - 1;
        let r = clenshaw_curtis(n, -1.0, 1.0).unwrap();
        for k in 0..n {
            let mut s = 1.0;
            for j in 1..=big_n / 2 {
                let b = if 2 * j == big_n { 1.0 } else { 2.0 };
                let jf = j as f64;
                s -= b / (4.0 * jf * jf - 1.0)
                    * (2.0 * std::f64::consts::PI * jf * k as f64 / big_n as f64).cos();
            }
            let c = if k == 0 || k == big_n { 1.0 } else { 2.0 };
            let w = c / big_n as f64 * s;
            // FFT vs direct summation: round-off of O(n) terms.
            assert!((r.weights[k] - w).abs() < 1e-14, "n={n} k={k}");
        }
    }
}

#[test]
fn trapezoid_has_exact_endpoints_and_integrates_linear_functions() {
    let r = trapezoid(7, 0.3, 2.9, false).unwrap();
    assert_eq!(r.nodes[0], 0.3);
    assert_eq!(r.nodes[6], 2.9);
    let exact = monomial_integral(1, 0.3, 2.9);
    // Linear functions are exact up to round-off.
    assert!((r.integrate(|x| 3.0 * x) - 3.0 * exact).abs() < 1e-13);
    assert!((r.weights.iter().sum::<f64>() - 2.6).abs() < 1e-14);
}

#[test]
fn periodic_trapezoid_omits_right_end_and_integrates_trig_polynomials() {
    let n = 16;
    let len = 2.0 * std::f64::consts::PI;
    let r = trapezoid(n, 0.0, len, true).unwrap();
    assert_eq!(r.nodes.len(), n);
    assert!(r.nodes[n - 1] < len);
    // n-point periodic trapezoid is exact for e^{ikx}, |k| < n.
    for k in 0..n as i32 {
        let got = r.integrate(|x| (k as f64 * x).cos());
        let exact = if k == 0 { len } else { 0.0 };
        assert!((got - exact).abs() < 1e-13, "k={k}: {got}");
    }
    let aliased = r.integrate(|x| (n as f64 * x).cos());
    assert!((aliased - len).abs() < 1e-12, "k=n aliases to a constant");
}

#[test]
fn bad_inputs_return_errors_naming_the_parameter() {
    let name = |e: QuadratureError| e.parameter().expect("an error naming a parameter");
    assert_eq!(name(gauss_legendre(0, -1.0, 1.0).unwrap_err()), "n");
    assert_eq!(name(gauss_lobatto(1, -1.0, 1.0).unwrap_err()), "n");
    assert_eq!(name(clenshaw_curtis(1, -1.0, 1.0).unwrap_err()), "n");
    assert_eq!(name(trapezoid(1, 0.0, 1.0, false).unwrap_err()), "n");
    assert_eq!(name(trapezoid(0, 0.0, 1.0, true).unwrap_err()), "n");
    assert_eq!(name(gauss_legendre(4, f64::NAN, 1.0).unwrap_err()), "a");
    assert_eq!(name(gauss_legendre(4, 0.0, f64::INFINITY).unwrap_err()), "b");
    assert_eq!(name(clenshaw_curtis(4, 1.0, 1.0).unwrap_err()), "b");
    let msg = gauss_legendre(0, -1.0, 1.0).unwrap_err().to_string();
    assert!(msg.contains("at least 1") && msg.contains("got 0"), "{msg}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn every_rule_integrates_random_polynomials_within_its_degree(
        n in 2usize..40,
        a in -5.0f64..5.0,
        len in 0.1f64..4.0,
        coeffs in proptest::collection::vec(-1.0f64..1.0, 80),
    ) {
        let b = a + len;
        let poly = |x: f64, deg: usize| coeffs[..=deg].iter().rev().fold(0.0, |acc, c| acc * x + c);
        let exact = |deg: usize| {
            coeffs[..=deg].iter().enumerate().map(|(k, c)| c * monomial_integral(k as i32, a, b)).sum::<f64>()
        };
        let scale = |deg: usize| {
            coeffs[..=deg].iter().enumerate()
                .map(|(k, c)| c.abs() * monomial_integral(k as i32, 0.0, a.abs().max(b.abs())) * 2.0)
                .sum::<f64>()
        };
        for (rule, deg) in [
            (gauss_legendre(n, a, b).unwrap(), 2 * n - 1),
            (gauss_lobatto(n, a, b).unwrap(), 2 * n - 3),
            (clenshaw_curtis(n, a, b).unwrap(), n - 1),
        ] {
            let got = rule.integrate(|x| poly(x, deg));
            // Relative to the sum of absolute term integrals: cancellation-free scale.
            prop_assert!((got - exact(deg)).abs() <= 1e-12 * scale(deg));
        }
    }
}
