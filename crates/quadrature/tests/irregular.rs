//! Tests of quadrature weights on irregular point clouds in polygonal domains with holes.
//!
//! Oracles: the shoelace formula and its first-moment version for areas and linear integrals,
//! Green's theorem in closed form for `∫ exp(ax + by)`, a brute-force O(n⁴) Delaunay
//! triangulation, and nearest-point rasterisation for Voronoi areas.
//! Run with `--nocapture` to see the observed convergence orders.

use lno_quadrature::QuadratureError;
use lno_quadrature::irregular::{Domain, Location, RadialSpacing, WeightMethod};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `∫_Ω exp(a x + b y) dA` by Green's theorem, `∮ exp(ax + by)/a dy`, integrated in closed form
/// along each (straight) edge; outer ring counter-clockwise, holes clockwise as stored.
fn exp_integral(domain: &Domain, a: f64, b: f64) -> f64 {
    let mut total = 0.0;
    for ring in std::iter::once(domain.outer()).chain(domain.holes().iter().map(Vec::as_slice)) {
        let n = ring.len();
        for e in 0..n {
            let (p, q) = (ring[e], ring[(e + 1) % n]);
            let (dx, dy) = (q[0] - p[0], q[1] - p[1]);
            let s = a * dx + b * dy;
            let ratio = if s.abs() < 1e-300 { 1.0 } else { s.exp_m1() / s };
            total += dy / a * (a * p[0] + b * p[1]).exp() * ratio;
        }
    }
    total
}

/// `(∫ 1, ∫ x, ∫ y)` over the domain from its rings (shoelace and first moments).
fn moments(domain: &Domain) -> [f64; 3] {
    let mut m = [0.0; 3];
    for ring in std::iter::once(domain.outer()).chain(domain.holes().iter().map(Vec::as_slice)) {
        let n = ring.len();
        for e in 0..n {
            let (p, q) = (ring[e], ring[(e + 1) % n]);
            let c = p[0] * q[1] - q[0] * p[1];
            m[0] += c / 2.0;
            m[1] += (p[0] + q[0]) * c / 6.0;
            m[2] += (p[1] + q[1]) * c / 6.0;
        }
    }
    m
}

fn dot(w: &[f64], pts: &[[f64; 2]], f: impl Fn([f64; 2]) -> f64) -> f64 {
    w.iter().zip(pts).map(|(w, &p)| w * f(p)).sum()
}

/// Uniform random points inside the domain by rejection.
fn random_points(domain: &Domain, n: usize, seed: u64) -> Vec<[f64; 2]> {
    let [x0, y0, x1, y1] = domain.bounding_box();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut pts = Vec::with_capacity(n);
    while pts.len() < n {
        let p = [x0 + (x1 - x0) * rng.random::<f64>(), y0 + (y1 - y0) * rng.random::<f64>()];
        if domain.locate(p) == Location::Interior {
            pts.push(p);
        }
    }
    pts
}

/// Least-squares slope of `log e` against `log h`.
fn observed_order(h: &[f64], e: &[f64]) -> f64 {
    let xs: Vec<f64> = h.iter().map(|v| v.ln()).collect();
    let ys: Vec<f64> = e.iter().map(|v| v.ln()).collect();
    let n = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let sxy: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    sxy / sxx
}

/// The parameter an error names: the text between the first pair of backticks of its message
/// (read from the message so that new error variants need no change here).
fn param(err: QuadratureError) -> String {
    let msg = err.to_string();
    msg.split('`').nth(1).unwrap_or_default().to_string()
}

#[test]
fn dfg_cylinder_area_is_channel_minus_inscribed_polygon() {
    for n in [8, 64, 500] {
        let d = Domain::dfg_cylinder(n).unwrap();
        let ngon = 0.5 * n as f64 * 0.05f64.powi(2) * (2.0 * std::f64::consts::PI / n as f64).sin();
        // A few roundings in the shoelace sums of O(1) terms.
        assert!((d.area() - (2.2 * 0.41 - ngon)).abs() < 1e-14, "n = {n}: {}", d.area());
    }
}

#[test]
fn polygonal_disk_area_converges_at_second_order() {
    let exact = 2.2 * 0.41 - std::f64::consts::PI * 0.05f64.powi(2);
    let ns = [16, 32, 64, 128];
    let errs: Vec<f64> =
        ns.iter().map(|&n| (Domain::dfg_cylinder(n).unwrap().area() - exact).abs()).collect();
    let hs: Vec<f64> = ns.iter().map(|&n| 1.0 / n as f64).collect();
    let order = observed_order(&hs, &errs);
    println!("disk polygon area error {errs:?}, observed order {order:.3}");
    // (n/2) sin(2π/n) = π − (2π³/3) n⁻² + …, so the order is 2 up to higher terms.
    assert!((order - 2.0).abs() < 0.05, "{order}");
}

#[test]
fn locate_classifies_interior_boundary_hole_and_outside() {
    let d = Domain::dfg_cylinder(32).unwrap();
    assert_eq!(d.locate([1.0, 0.2]), Location::Interior);
    assert_eq!(d.locate([1.0, 0.0]), Location::Boundary);
    assert_eq!(d.locate([0.25, 0.2]), Location::Boundary); // a disk vertex at angle 0
    assert_eq!(d.locate([0.2, 0.2]), Location::Outside); // inside the hole
    assert_eq!(d.locate([3.0, 0.2]), Location::Outside);
    assert_eq!(d.locate([1.0, -1e-9]), Location::Outside);
}

#[test]
fn domain_triangles_tile_the_domain() {
    let d = Domain::dfg_cylinder(24).unwrap();
    let total: f64 = d
        .triangles()
        .iter()
        .map(|t| {
            let [a, b, c] = *t;
            let twice = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
            assert!(twice > 0.0, "triangle not counter-clockwise");
            let centroid = [(a[0] + b[0] + c[0]) / 3.0, (a[1] + b[1] + c[1]) / 3.0];
            assert_eq!(d.locate(centroid), Location::Interior);
            twice / 2.0
        })
        .sum();
    // Sum of ~50 triangle areas of size O(0.1): roundoff only.
    assert!((total - d.area()).abs() < 1e-14);
}

#[test]
fn lumped_weights_sum_to_area_and_integrate_linear_functions_exactly() {
    let d = Domain::dfg_cylinder(48).unwrap();
    let clouds = [
        d.with_boundary_vertices(&random_points(&d, 400, 7)).unwrap(),
        d.poisson_disk(0.03, |_| 0.03, 3).unwrap().points,
    ];
    let [m0, mx, my] = moments(&d);
    for pts in &clouds {
        let w = d.lumped_weights(pts).unwrap();
        assert!(w.iter().all(|&v| v > 0.0));
        // Sums of O(10³) terms of size O(10⁻³): roundoff is far below 1e-12.
        assert!((w.iter().sum::<f64>() - d.area()).abs() < 1e-12);
        assert!((m0 - d.area()).abs() < 1e-14); // the oracle agrees with the domain
        let lin = dot(&w, pts, |p| 0.7 - 1.3 * p[0] + 2.9 * p[1]);
        assert!((lin - (0.7 * m0 - 1.3 * mx + 2.9 * my)).abs() < 1e-12); // roundoff only
    }
}

#[test]
fn lumped_weights_match_brute_force_delaunay_in_a_square() {
    let d = Domain::rectangle(0.0, 1.0, 0.0, 1.0).unwrap();
    let pts = d.with_boundary_vertices(&random_points(&d, 24, 11)).unwrap();
    let n = pts.len();
    // Brute force: a triangle is Delaunay when no other point lies in its circumcircle.
    let mut expected = vec![0.0; n];
    for i in 0..n {
        for j in i + 1..n {
            for k in j + 1..n {
                let (a, b, c) = (pts[i], pts[j], pts[k]);
                let twice = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
                if twice.abs() < 1e-14 {
                    continue;
                }
                let (a, b) = if twice > 0.0 { (a, b) } else { (b, a) };
                let empty = (0..n).filter(|&m| m != i && m != j && m != k).all(|m| {
                    let p = pts[m];
                    let r = |q: [f64; 2]| [q[0] - p[0], q[1] - p[1]];
                    let (u, v, w) = (r(a), r(b), r(c));
                    let l = |q: [f64; 2]| q[0] * q[0] + q[1] * q[1];
                    let det = u[0] * (v[1] * l(w) - l(v) * w[1])
                        - u[1] * (v[0] * l(w) - l(v) * w[0])
                        + l(u) * (v[0] * w[1] - v[1] * w[0]);
                    det <= 0.0
                });
                if empty {
                    for m in [i, j, k] {
                        expected[m] += twice.abs() / 6.0;
                    }
                }
            }
        }
    }
    let w = d.lumped_weights(&pts).unwrap();
    for (i, (got, want)) in w.iter().zip(&expected).enumerate() {
        // Same triangles, areas summed in a different order.
        assert!((got - want).abs() < 1e-15, "point {i}: {got} vs {want}");
    }
}

#[test]
fn voronoi_weights_sum_to_area() {
    let d = Domain::dfg_cylinder(48).unwrap();
    for pts in [random_points(&d, 500, 5), d.poisson_disk(0.03, |_| 0.03, 4).unwrap().points] {
        let w = d.voronoi_weights(&pts).unwrap();
        assert!(w.iter().all(|&v| v >= 0.0));
        // Cells partition the box and triangles the domain; only roundoff remains.
        assert!((w.iter().sum::<f64>() - d.area()).abs() < 1e-12);
    }
}

#[test]
fn voronoi_weights_match_nearest_point_rasterisation() {
    let d = Domain::dfg_cylinder(32).unwrap();
    let pts = random_points(&d, 40, 9);
    let w = d.weights(&pts, WeightMethod::ClippedVoronoi).unwrap();
    let delta: f64 = 0.41 / 300.0;
    let mut raster = vec![0.0; pts.len()];
    let (nx, ny) = ((2.2 / delta).round() as usize, 300);
    for j in 0..ny {
        for i in 0..nx {
            let c = [(i as f64 + 0.5) * delta, (j as f64 + 0.5) * delta];
            if d.locate(c) == Location::Outside {
                continue;
            }
            let near = (0..pts.len())
                .min_by(|&a, &b| {
                    let da = (pts[a][0] - c[0]).hypot(pts[a][1] - c[1]);
                    let db = (pts[b][0] - c[0]).hypot(pts[b][1] - c[1]);
                    da.total_cmp(&db)
                })
                .unwrap();
            raster[near] += delta * delta;
        }
    }
    for (i, (got, want)) in w.iter().zip(&raster).enumerate() {
        // Raster pixels misassigned along a cell's perimeter (at most ~1.5 here) each move δ²,
        // one pixel per δ of perimeter: |error| ≤ 1.5·δ.
        assert!((got - want).abs() < 1.5 * delta, "cell {i}: {got} vs {want}");
    }
}

#[test]
fn weights_converge_for_a_smooth_function_as_the_cloud_is_refined() {
    let d = Domain::dfg_cylinder(32).unwrap();
    let (a, b) = (1.3, -2.1);
    let exact = exp_integral(&d, a, b);
    let f = |p: [f64; 2]| (a * p[0] + b * p[1]).exp();
    let mut hs = Vec::new();
    let (mut e_lumped, mut e_voronoi) = (Vec::new(), Vec::new());
    for h in [0.08, 0.04, 0.02, 0.01] {
        let pts = d.poisson_disk(h, |_| h, 1).unwrap().points;
        hs.push((d.area() / pts.len() as f64).sqrt());
        e_lumped.push((dot(&d.lumped_weights(&pts).unwrap(), &pts, f) - exact).abs());
        e_voronoi.push((dot(&d.voronoi_weights(&pts).unwrap(), &pts, f) - exact).abs());
    }
    let p_lumped = observed_order(&hs, &e_lumped);
    let p_voronoi = observed_order(&hs, &e_voronoi);
    println!("mean spacing {hs:?}");
    println!("lumped Delaunay errors {e_lumped:?}, observed order {p_lumped:.2}");
    println!("clipped Voronoi errors {e_voronoi:?}, observed order {p_voronoi:.2}");
    // P1 interpolation error is O(h²) on shape-regular meshes; random clouds add noise.
    assert!(p_lumped > 1.7, "{p_lumped}");
    // Voronoi generators sit off their cells' centroids by O(h) at random: first order at least.
    assert!(p_voronoi > 0.9, "{p_voronoi}");
}

#[test]
fn poisson_disk_cloud_respects_spacing_covers_the_domain_and_is_reproducible() {
    let d = Domain::dfg_cylinder(64).unwrap();
    let s = RadialSpacing::new([0.2, 0.2], 0.05, 0.008, 0.04, 0.3).unwrap();
    let cloud = d.poisson_disk(s.h_min(), |p| s.at(p), 42).unwrap();
    let pts = &cloud.points;
    println!("DFG cloud: {} points, {} on the boundary", pts.len(), cloud.n_boundary);
    assert_eq!(&pts[..d.boundary_vertices().len()], d.boundary_vertices().as_slice());
    for (i, &p) in pts.iter().enumerate() {
        let want = if i < cloud.n_boundary { Location::Boundary } else { Location::Interior };
        assert_eq!(d.locate(p), want, "point {i}");
    }
    for i in cloud.n_boundary..pts.len() {
        for j in 0..i {
            let dist = (pts[i][0] - pts[j][0]).hypot(pts[i][1] - pts[j][1]);
            assert!(dist >= s.at(pts[i]).min(s.at(pts[j])), "points {i} and {j} too close");
        }
    }
    // Maximality: a gap wider than twice the spacing would have taken another dart.
    for q in random_points(&d, 2000, 1) {
        let nearest = pts.iter().map(|p| (p[0] - q[0]).hypot(p[1] - q[1])).fold(f64::MAX, f64::min);
        assert!(nearest < 2.0 * s.at(q), "uncovered probe {q:?}");
    }
    assert_eq!(d.poisson_disk(s.h_min(), |p| s.at(p), 42).unwrap(), cloud);
    assert_ne!(d.poisson_disk(s.h_min(), |p| s.at(p), 43).unwrap(), cloud);
    let w = d.lumped_weights(pts).unwrap();
    assert!((w.iter().sum::<f64>() - d.area()).abs() < 1e-12); // roundoff only
}

#[test]
fn invalid_domains_are_rejected_naming_the_parameter() {
    let sq = vec![[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]];
    let tri =
        |c: [f64; 2], r: f64| vec![[c[0] - r, c[1] - r], [c[0] + r, c[1] - r], [c[0], c[1] + r]];
    type Ring = Vec<[f64; 2]>;
    let cases: Vec<(Ring, Vec<Ring>, &str)> = vec![
        (vec![[0.0, 0.0], [1.0, 0.0]], vec![], "outer"),
        (vec![[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]], vec![], "outer"),
        (vec![[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0]], vec![], "outer"),
        (vec![[0.0, 0.0], [f64::NAN, 0.0], [0.0, 1.0]], vec![], "outer"),
        (vec![[0.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], vec![], "outer"),
        (sq.clone(), vec![tri([2.0, 2.0], 0.1)], "holes"),
        (sq.clone(), vec![tri([0.5, 0.5], 0.1), tri([0.5, 0.5], 0.2)], "holes"),
        (sq.clone(), vec![tri([0.5, 0.5], 0.1), tri([0.55, 0.5], 0.1)], "holes"),
        (sq.clone(), vec![tri([0.5, 0.1], 0.1)], "holes"),
        (sq.clone(), vec![vec![[0.2, 0.2], [0.4, 0.2]]], "holes"),
    ];
    for (k, (outer, holes, name)) in cases.into_iter().enumerate() {
        let err = Domain::new(outer, holes).expect_err(&format!("case {k}"));
        assert_eq!(param(err), name, "case {k}");
    }
    assert_eq!(param(Domain::dfg_cylinder(2).unwrap_err()), "n_disk");
    assert_eq!(param(Domain::rectangle(1.0, 0.0, 0.0, 1.0).unwrap_err()), "x1");
    // A closed ring (first vertex repeated) and a clockwise outer ring are accepted.
    let mut closed = sq.clone();
    closed.push(sq[0]);
    closed.reverse();
    assert_eq!(Domain::new(closed, vec![]).unwrap().area(), 1.0);
}

#[test]
fn invalid_point_clouds_are_rejected_naming_the_parameter() {
    let d = Domain::dfg_cylinder(16).unwrap();
    let good = d.with_boundary_vertices(&[[1.0, 0.2], [0.5, 0.1]]).unwrap();
    for method in [WeightMethod::LumpedDelaunay, WeightMethod::ClippedVoronoi] {
        assert!(d.weights(&good, method).is_ok());
        for bad in [[0.2, 0.2], [5.0, 0.0], [f64::NAN, 0.1], [1.0, 0.2]] {
            let mut pts = good.clone();
            pts.push(bad);
            assert_eq!(param(d.weights(&pts, method).unwrap_err()), "points", "{bad:?}");
        }
    }
    // The lumped rule needs every polygon vertex; the Voronoi rule does not.
    let interior = [[1.0, 0.2], [0.5, 0.1]];
    assert_eq!(param(d.lumped_weights(&interior).unwrap_err()), "points");
    let w = d.voronoi_weights(&interior).unwrap();
    assert!((w.iter().sum::<f64>() - d.area()).abs() < 1e-13); // two cells, roundoff only
    assert_eq!(param(d.voronoi_weights(&[]).unwrap_err()), "points");
    assert_eq!(param(d.poisson_disk(0.0, |_| 0.1, 0).unwrap_err()), "h_min");
    assert_eq!(param(d.poisson_disk(1e-7, |_| 0.1, 0).unwrap_err()), "h_min");
    assert_eq!(param(d.poisson_disk(0.1, |_| 0.05, 0).unwrap_err()), "spacing");
    assert_eq!(param(d.poisson_disk(0.1, |_| f64::NAN, 0).unwrap_err()), "spacing");
    assert_eq!(param(RadialSpacing::new([0.0, 0.0], 0.1, 0.2, 0.1, 1.0).unwrap_err()), "h_far");
}

#[test]
fn voronoi_weights_of_collinear_and_single_points_still_sum_to_area() {
    let d = Domain::rectangle(0.0, 2.0, 0.0, 1.0).unwrap();
    for pts in [vec![[1.0, 0.5]], vec![[0.5, 0.5], [1.0, 0.5], [1.5, 0.5]]] {
        let w = d.voronoi_weights(&pts).unwrap();
        assert!((w.iter().sum::<f64>() - 2.0).abs() < 1e-14, "{w:?}"); // roundoff only
    }
    // Three points on a horizontal line: vertical strips of widths 0.75, 0.5, 0.75.
    let w = d.voronoi_weights(&[[0.5, 0.5], [1.0, 0.5], [1.5, 0.5]]).unwrap();
    for (got, want) in w.iter().zip([0.75, 0.5, 0.75]) {
        assert!((got - want).abs() < 1e-14, "{w:?}"); // roundoff only
    }
}

#[test]
fn huge_spacing_gives_a_boundary_only_cloud_without_overflow() {
    let d = Domain::rectangle(0.0, 1.0, 0.0, 1.0).unwrap();
    let cloud = d.poisson_disk(0.1, |_| f64::MAX, 0).unwrap();
    assert_eq!(cloud.n_boundary, 4);
    assert_eq!(cloud.points.len(), 4);
}
