//! Tests of the scalar and vector spherical harmonic transforms: orthonormality of Yₗᵐ on every
//! grid, round trips (including 256×512), a slow direct-summation oracle, torch-harmonics
//! golden coefficients, analytic vorticity/divergence, and input validation.

use std::f64::consts::PI;

use lno_quadrature::{
    Complex64, CsPhase, LegendreParts, LegendreTable, Sht, Spectrum, SphereGrid, SphereGridKind,
    VectorSht,
};

const KINDS: [SphereGridKind; 3] =
    [SphereGridKind::Equiangular, SphereGridKind::LegendreGauss, SphereGridKind::Lobatto];

/// Deterministic pseudo-random numbers in [−1, 1) (a fixed LCG; no RNG crate needed).
fn lcg(seed: u64) -> impl FnMut() -> f64 {
    let mut s = seed;
    move || {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }
}

/// A random band-limited spectrum of a real field: real m = 0 terms, zeros for l < m.
fn random_spectrum(lmax: usize, mmax: usize, seed: u64) -> Spectrum {
    let mut rnd = lcg(seed);
    let mut s = Spectrum::zeros(lmax, mmax);
    for l in 0..lmax {
        for m in 0..mmax.min(l + 1) {
            let im = if m == 0 { 0.0 } else { rnd() };
            s.set(l, m, Complex64::new(rnd(), im)).unwrap();
        }
    }
    s
}

fn max_diff(a: &Spectrum, b: &Spectrum) -> f64 {
    a.as_slice().iter().zip(b.as_slice()).map(|(x, y)| (x - y).norm()).fold(0.0, f64::max)
}

#[test]
fn spherical_harmonics_are_orthonormal_on_every_grid_within_its_exactness() {
    // Real harmonics √2 P̄ₗᵐ cos mλ, √2 P̄ₗᵐ sin mλ, P̄ₗ⁰, built from a Legendre table on the
    // full colatitudes (not the transform's half table) and integrated with the grid weights.
    for kind in KINDS {
        let (nlat, nlon) = (16, 34);
        let grid = SphereGrid::new(kind, nlat, nlon).unwrap();
        let lmax = grid.max_lmax();
        let t = LegendreTable::new(
            lmax,
            lmax,
            grid.colatitudes(),
            CsPhase::Include,
            LegendreParts::Values,
        )
        .unwrap();
        let mut harmonics = Vec::new();
        for l in 0..lmax {
            for m in 0..=l {
                for trig in [0, 1] {
                    if m == 0 && trig == 1 {
                        continue;
                    }
                    let mut y = vec![0.0; nlat * nlon];
                    for k in 0..nlat {
                        let p = t.value(m, l, k).unwrap();
                        for (j, lon) in grid.longitudes().iter().enumerate() {
                            let ang = m as f64 * lon;
                            y[k * nlon + j] = match (m, trig) {
                                (0, _) => p,
                                (_, 0) => 2f64.sqrt() * p * ang.cos(),
                                _ => 2f64.sqrt() * p * ang.sin(),
                            };
                        }
                    }
                    harmonics.push(y);
                }
            }
        }
        assert_eq!(harmonics.len(), lmax * lmax);
        let mut worst = 0.0f64;
        for (i, a) in harmonics.iter().enumerate() {
            for (j, b) in harmonics.iter().enumerate().skip(i) {
                let prod: Vec<f64> = a.iter().zip(b).map(|(x, y)| x * y).collect();
                let ip = grid.integrate(&prod).unwrap();
                let expect = if i == j { 1.0 } else { 0.0 };
                worst = worst.max((ip - expect).abs());
            }
        }
        // The bound.
        assert!(worst <= 1e-12, "{kind:?}: max |⟨Y,Y′⟩ − δ| = {worst:e}");
    }
}

#[test]
fn round_trip_of_band_limited_fields_is_exact_at_256x512_on_all_grids() {
    for kind in KINDS {
        let grid = SphereGrid::new(kind, 256, 512).unwrap();
        let sht = Sht::with_max_resolution(&grid).unwrap();
        let spec = random_spectrum(sht.lmax(), sht.mmax(), 7);
        let field = sht.inverse(&spec).unwrap();
        let back = sht.forward(&field).unwrap();
        let err = max_diff(&spec, &back);
        // The bound; coefficients are O(1), fields O(lmax).
        assert!(err <= 1e-12, "{kind:?}: spectrum round trip {err:e}");
        let field2 = sht.inverse(&back).unwrap();
        let ferr = field.iter().zip(&field2).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        let fmax = field.iter().fold(0.0f64, |a, x| a.max(x.abs()));
        // The bound, relative to the field's size (random O(1) coefficients up to
        // l = 255 make fields of size ~50).
        assert!(ferr <= 1e-12 * fmax, "{kind:?}: field round trip {ferr:e} (max |f| {fmax})");
    }
}

#[test]
fn round_trip_holds_for_odd_sizes_and_partial_truncation() {
    for kind in KINDS {
        let grid = SphereGrid::new(kind, 17, 35).unwrap();
        let lmax = grid.max_lmax() - 1;
        let sht = Sht::new(&grid, lmax, 5, CsPhase::Omit).unwrap();
        let spec = random_spectrum(lmax, 5, 11);
        let back = sht.forward(&sht.inverse(&spec).unwrap()).unwrap();
        // Round-off of O(100) operations on O(1) numbers.
        assert!(max_diff(&spec, &back) <= 1e-13, "{kind:?}");
    }
}

#[test]
fn forward_and_inverse_match_direct_summation_oracle() {
    // Slow oracle: explicit DFT in longitude, full-latitude Legendre table, no symmetry.
    for kind in KINDS {
        let (nlat, nlon) = (11, 20);
        let grid = SphereGrid::new(kind, nlat, nlon).unwrap();
        let sht = Sht::with_max_resolution(&grid).unwrap();
        let (lmax, mmax) = (sht.lmax(), sht.mmax());
        let t = LegendreTable::new(
            lmax,
            mmax,
            grid.colatitudes(),
            CsPhase::Include,
            LegendreParts::Values,
        )
        .unwrap();
        let mut rnd = lcg(3);
        let field: Vec<f64> = (0..nlat * nlon).map(|_| rnd()).collect();
        let got = sht.forward(&field).unwrap();
        for l in 0..lmax {
            for m in 0..mmax.min(l + 1) {
                let mut acc = Complex64::new(0.0, 0.0);
                for k in 0..nlat {
                    let w = grid.latitude_weights()[k] * 2.0 * PI / nlon as f64;
                    for (p, lon) in grid.longitudes().iter().enumerate() {
                        let e = Complex64::from_polar(1.0, -(m as f64) * lon);
                        acc += e * (w * field[k * nlon + p] * t.value(m, l, k).unwrap());
                    }
                }
                // Different summation orders of ~200 O(1) terms.
                assert!((acc - got.get(l, m).unwrap()).norm() < 1e-13, "{kind:?} l={l} m={m}");
            }
        }
        let spec = random_spectrum(lmax, mmax, 5);
        let inv = sht.inverse(&spec).unwrap();
        for k in 0..nlat {
            for (p, lon) in grid.longitudes().iter().enumerate() {
                let mut v = 0.0;
                for l in 0..lmax {
                    for m in 0..mmax.min(l + 1) {
                        let term = spec.get(l, m).unwrap()
                            * Complex64::from_polar(t.value(m, l, k).unwrap(), m as f64 * lon);
                        // The Nyquist order m = nlon/2 is counted once (torch's irfft).
                        v += if m == 0 || 2 * m == nlon { term.re } else { 2.0 * term.re };
                    }
                }
                assert!((v - inv[k * nlon + p]).abs() < 1e-13, "{kind:?} k={k} p={p}");
            }
        }
    }
}

#[test]
fn forward_matches_torch_harmonics_real_sht_in_float64() {
    let (nlat, nlon) = (12, 24);
    let mut field = vec![0.0; nlat * nlon];
    for k in 0..nlat {
        for p in 0..nlon {
            let (kf, pf) = (k as f64 / nlat as f64, p as f64 / nlon as f64);
            field[k * nlon + p] = (2.0 * PI * kf * 2.0).sin() * (2.0 * PI * pf).cos()
                + 0.3 * (3.0 * 2.0 * PI * pf + 0.5).cos() * kf
                + 0.1;
        }
    }
    for kind in KINDS {
        let name = kind.torch_harmonics_name();
        let path = format!("{}/tests/data/th_sht_{name}.txt", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(path).expect("committed fixture");
        let grid = SphereGrid::new(kind, nlat, nlon).unwrap();
        let lmax = grid.max_lmax();
        let spec = Sht::new(&grid, lmax, lmax, CsPhase::Include).unwrap().forward(&field).unwrap();
        let mut count = 0;
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let f: Vec<f64> = line.split_whitespace().map(|t| t.parse().unwrap()).collect();
            let (l, m) = (f[0] as usize, f[1] as usize);
            let got = spec.get(l, m).unwrap();
            // Both in float64 with different summation orders (torch-harmonics weights the
            // full table; we fold mirrored rings): ~1e-16 per term.
            assert!((got - Complex64::new(f[2], f[3])).norm() < 1e-14, "{name} l={l} m={m}");
            count += 1;
        }
        assert_eq!(count, lmax * lmax, "{name}: fixture covers the whole spectrum");
    }
}

/// Analytic wind, vorticity and divergence sampled on a grid.
struct Flow {
    u: Vec<f64>,
    v: Vec<f64>,
    vort: Vec<f64>,
    div: Vec<f64>,
}

fn sample(grid: &SphereGrid, f: impl Fn(f64, f64) -> [f64; 4]) -> Flow {
    let n = grid.nlat() * grid.nlon();
    let mut out = Flow { u: vec![0.0; n], v: vec![0.0; n], vort: vec![0.0; n], div: vec![0.0; n] };
    for (k, &th) in grid.colatitudes().iter().enumerate() {
        for (p, &lon) in grid.longitudes().iter().enumerate() {
            let [u, v, z, d] = f(th, lon);
            let i = k * grid.nlon() + p;
            (out.u[i], out.v[i], out.vort[i], out.div[i]) = (u, v, z, d);
        }
    }
    out
}

/// Solid-body rotation about an axis tilted by α (Williamson et al. 1992, test 1):
/// u = u₀(sin θ cos α − cos θ cos λ sin α), v = u₀ sin λ sin α,
/// ζ = (2u₀/r)(cos θ cos α + sin θ cos λ sin α), δ = 0.
fn solid_body(u0: f64, alpha: f64, r: f64) -> impl Fn(f64, f64) -> [f64; 4] {
    move |th: f64, lon: f64| {
        let (s, c) = th.sin_cos();
        let u = u0 * (s * alpha.cos() - c * lon.cos() * alpha.sin());
        let v = u0 * lon.sin() * alpha.sin();
        let z = 2.0 * u0 / r * (c * alpha.cos() + s * lon.cos() * alpha.sin());
        [u, v, z, 0.0]
    }
}

/// Potential flow V = ∇χ with χ = r² sin θ cos θ cos λ (∝ Re Y₂¹): on radius r,
/// u = (1/(r sin θ)) ∂λχ = −r cos θ sin λ, v = −(1/r) ∂θχ = −r cos 2θ cos λ,
/// δ = ∇²χ = −6χ/r², ζ = 0.
fn potential_flow(r: f64) -> impl Fn(f64, f64) -> [f64; 4] {
    move |th: f64, lon: f64| {
        let (s, c) = th.sin_cos();
        let u = -r * c * lon.sin();
        let v = -r * (2.0 * th).cos() * lon.cos();
        let d = -6.0 * s * c * lon.cos();
        [u, v, 0.0, d]
    }
}

#[test]
fn vector_transform_reproduces_vorticity_and_divergence_of_analytic_flows() {
    let r = 6.371e6;
    for kind in KINDS {
        let grid = SphereGrid::new(kind, 24, 48).unwrap();
        let lmax = grid.max_lmax();
        let sht = Sht::new(&grid, lmax, lmax, CsPhase::Include).unwrap();
        let vsht = VectorSht::new(&grid, lmax, lmax, CsPhase::Include, r).unwrap();
        for (name, flow) in [
            ("solid body α=0", sample(&grid, solid_body(20.0, 0.0, r))),
            ("solid body α=0.7", sample(&grid, solid_body(20.0, 0.7, r))),
            ("potential", sample(&grid, potential_flow(r))),
        ] {
            let (vort, div) = vsht.forward(&flow.u, &flow.v).unwrap();
            let vort_ref = sht.forward(&flow.vort).unwrap();
            let div_ref = sht.forward(&flow.div).unwrap();
            let uscale = flow.u.iter().chain(&flow.v).fold(0.0f64, |a, x| a.max(x.abs()));
            // Derivatives of a wind of size U are of size U/r: round-off relative to that.
            let zscale = uscale / r;
            let (ez, ed) = (max_diff(&vort, &vort_ref), max_diff(&div, &div_ref));
            assert!(ez <= 1e-12 * zscale, "{kind:?} {name}: ζ error {ez:e} (scale {zscale:e})");
            assert!(ed <= 1e-12 * zscale, "{kind:?} {name}: δ error {ed:e} (scale {zscale:e})");
            // Inverse: the wind back from the spectra.
            let (u, v) = vsht.inverse(&vort, &div).unwrap();
            let werr = u
                .iter()
                .zip(&flow.u)
                .chain(v.iter().zip(&flow.v))
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            // Round-off relative to the wind's scale.
            assert!(werr <= 1e-12 * uscale, "{kind:?} {name}: wind error {werr:e}");
        }
    }
}

#[test]
fn vector_round_trip_of_random_vorticity_and_divergence_spectra_is_exact() {
    for kind in KINDS {
        let grid = SphereGrid::new(kind, 20, 40).unwrap();
        let lmax = grid.max_lmax();
        let vsht = VectorSht::new(&grid, lmax, lmax, CsPhase::Omit, 1.0).unwrap();
        let mut z = random_spectrum(lmax, lmax, 21);
        let mut d = random_spectrum(lmax, lmax, 22);
        // The l = 0 coefficients of ζ and δ vanish for every smooth wind.
        z.set(0, 0, Complex64::new(0.0, 0.0)).unwrap();
        d.set(0, 0, Complex64::new(0.0, 0.0)).unwrap();
        let (u, v) = vsht.inverse(&z, &d).unwrap();
        let (z2, d2) = vsht.forward(&u, &v).unwrap();
        // O(1) coefficients; round-off amplified by l(l+1) ≤ 400 in ψ, χ and back.
        assert!(max_diff(&z, &z2) <= 1e-12, "{kind:?}: ζ {:e}", max_diff(&z, &z2));
        assert!(max_diff(&d, &d2) <= 1e-12, "{kind:?}: δ {:e}", max_diff(&d, &d2));
    }
}

#[test]
fn bad_transform_inputs_return_errors_naming_the_parameter() {
    let grid = SphereGrid::new(SphereGridKind::Equiangular, 16, 32).unwrap();
    let p = |r: lno_quadrature::Result<Sht>| r.unwrap_err().parameter();
    assert_eq!(
        p(Sht::new(&grid, 9, 8, CsPhase::Include)),
        Some("lmax"),
        "equiangular 16 resolves 8"
    );
    assert_eq!(p(Sht::new(&grid, 0, 8, CsPhase::Include)), Some("lmax"));
    assert_eq!(p(Sht::new(&grid, 8, 18, CsPhase::Include)), Some("mmax"));
    assert_eq!(p(Sht::new(&grid, 8, 0, CsPhase::Include)), Some("mmax"));
    let lg = SphereGrid::new(SphereGridKind::LegendreGauss, 16, 32).unwrap();
    assert_eq!(p(Sht::new(&lg, 17, 8, CsPhase::Include)), Some("lmax"));
    let sht = Sht::new(&grid, 8, 8, CsPhase::Include).unwrap();
    assert_eq!(sht.forward(&[0.0; 10]).unwrap_err().parameter(), Some("field"));
    assert_eq!(sht.inverse(&Spectrum::zeros(8, 9)).unwrap_err().parameter(), Some("spectrum"));
    assert_eq!(
        sht.inverse_into(&Spectrum::zeros(8, 8), &mut [0.0; 3]).unwrap_err().parameter(),
        Some("out")
    );
    let bad_r = VectorSht::new(&grid, 8, 8, CsPhase::Include, -1.0).unwrap_err();
    assert_eq!(bad_r.parameter(), Some("radius"));
    let vsht = VectorSht::new(&grid, 8, 8, CsPhase::Include, 1.0).unwrap();
    assert_eq!(vsht.forward(&[0.0; 512], &[0.0; 5]).unwrap_err().parameter(), Some("v"));
    let z = Spectrum::zeros(8, 8);
    assert_eq!(
        vsht.inverse(&z, &Spectrum::zeros(7, 8)).unwrap_err().parameter(),
        Some("divergence")
    );
    let mut s = Spectrum::zeros(4, 4);
    assert_eq!(s.set(1, 2, Complex64::new(1.0, 0.0)).unwrap_err().parameter(), Some("m"));
    assert_eq!(s.set(4, 0, Complex64::new(1.0, 0.0)).unwrap_err().parameter(), Some("l"));
}
