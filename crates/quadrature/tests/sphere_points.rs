//! Tests of spherical Voronoi and lumped Delaunay weights for scattered points on the sphere.
//!
//! Oracles: a brute-force O(n⁴) convex hull with Voronoi cells summed as angle-sorted fans,
//! the Platonic solids (equal weights by symmetry), and `∫ exp(a·x) = 4π sinh|a| / |a|`.
//! Run with `--nocapture` to see the observed convergence orders.

use std::f64::consts::PI;

use lno_quadrature::QuadratureError;
use lno_quadrature::sphere_points::{
    delaunay_triangles, fibonacci_points, lumped_weights, random_points, voronoi_weights,
};

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

fn unit(a: [f64; 3]) -> [f64; 3] {
    let n = dot(a, a).sqrt();
    [a[0] / n, a[1] / n, a[2] / n]
}

/// Unsigned solid angle of a small spherical triangle (l'Huilier's theorem from side lengths).
fn lhuilier(a: [f64; 3], b: [f64; 3], c: [f64; 3]) -> f64 {
    let side = |p: [f64; 3], q: [f64; 3]| dot(p, q).clamp(-1.0, 1.0).acos();
    let (x, y, z) = (side(b, c), side(c, a), side(a, b));
    let s = 0.5 * (x + y + z);
    let t = (s / 2.0).tan() * ((s - x) / 2.0).tan() * ((s - y) / 2.0).tan() * ((s - z) / 2.0).tan();
    4.0 * t.max(0.0).sqrt().atan()
}

/// Voronoi areas by brute force: hull facets are triples with every other point on one side;
/// each cell is the fan of its facets' circumcentres sorted by angle around the point.
fn brute_force_voronoi(pts: &[[f64; 3]]) -> Vec<f64> {
    let n = pts.len();
    let mut centres: Vec<Vec<[f64; 3]>> = vec![Vec::new(); n];
    for i in 0..n {
        for j in i + 1..n {
            for k in j + 1..n {
                let normal = cross(
                    [pts[j][0] - pts[i][0], pts[j][1] - pts[i][1], pts[j][2] - pts[i][2]],
                    [pts[k][0] - pts[i][0], pts[k][1] - pts[i][1], pts[k][2] - pts[i][2]],
                );
                let normal = if dot(normal, pts[i]) < 0.0 { normal.map(|v| -v) } else { normal };
                let d = dot(normal, pts[i]);
                if (0..n).all(|m| m == i || m == j || m == k || dot(normal, pts[m]) < d) {
                    for m in [i, j, k] {
                        centres[m].push(unit(normal));
                    }
                }
            }
        }
    }
    (0..n)
        .map(|i| {
            let p = pts[i];
            let e1 =
                unit(cross(p, if p[0].abs() < 0.9 { [1.0, 0.0, 0.0] } else { [0.0, 1.0, 0.0] }));
            let e2 = cross(p, e1);
            let mut fan = centres[i].clone();
            fan.sort_by(|a, b| {
                dot(*a, e2).atan2(dot(*a, e1)).total_cmp(&dot(*b, e2).atan2(dot(*b, e1)))
            });
            (0..fan.len()).map(|k| lhuilier(p, fan[k], fan[(k + 1) % fan.len()])).sum()
        })
        .collect()
}

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
fn voronoi_and_lumped_weights_sum_to_four_pi() {
    for pts in [fibonacci_points(1000).unwrap(), random_points(3000, 5).unwrap()] {
        for w in [voronoi_weights(&pts).unwrap(), lumped_weights(&pts).unwrap()] {
            assert!(w.iter().all(|&v| v > 0.0));
            // The pieces tile the sphere exactly; only roundoff of O(10⁴) terms remains.
            assert!((w.iter().sum::<f64>() - 4.0 * PI).abs() < 1e-12);
        }
        assert_eq!(delaunay_triangles(&pts).unwrap().len(), 2 * pts.len() - 4);
    }
}

#[test]
fn voronoi_weights_match_brute_force_hull_and_fan() {
    let pts = random_points(30, 17).unwrap();
    let w = voronoi_weights(&pts).unwrap();
    let oracle = brute_force_voronoi(&pts);
    for (i, (got, want)) in w.iter().zip(&oracle).enumerate() {
        // l'Huilier loses a few digits through acos of near-1 cosines on small sides.
        assert!((got - want).abs() < 1e-9, "point {i}: {got} vs {want}");
    }
}

#[test]
fn platonic_solids_get_equal_weights_even_with_cocircular_faces() {
    let s = 1.0 / 3f64.sqrt();
    let g = (1.0 + 5f64.sqrt()) / 2.0;
    let tetra = vec![[s, s, s], [s, -s, -s], [-s, s, -s], [-s, -s, s]];
    let octa = vec![
        [1.0, 0.0, 0.0],
        [-1.0, 0.0, 0.0],
        [0.0, 1.0, 0.0],
        [0.0, -1.0, 0.0],
        [0.0, 0.0, 1.0],
        [0.0, 0.0, -1.0],
    ];
    let cube: Vec<[f64; 3]> = (0..8)
        .map(|k| [(k & 1) as f64, ((k >> 1) & 1) as f64, ((k >> 2) & 1) as f64])
        .map(|p: [f64; 3]| p.map(|v| (2.0 * v - 1.0) * s))
        .collect();
    let mut icosa = Vec::new();
    for a in [-1.0, 1.0] {
        for b in [-g, g] {
            icosa.push(unit([0.0, a, b]));
            icosa.push(unit([a, b, 0.0]));
            icosa.push(unit([b, 0.0, a]));
        }
    }
    for pts in [tetra, octa, cube, icosa] {
        let n = pts.len() as f64;
        let w = voronoi_weights(&pts).unwrap();
        // Symmetry makes every weight 4π/n; roundoff in a few atan2 calls.
        assert!(w.iter().all(|v| (v - 4.0 * PI / n).abs() < 1e-13), "n = {n}: {w:?}");
        // The cube's square faces are split along an arbitrary diagonal, so its lumped weights
        // differ by design; the simplicial solids keep their symmetry.
        if n != 8.0 {
            let w = lumped_weights(&pts).unwrap();
            assert!(w.iter().all(|v| (v - 4.0 * PI / n).abs() < 1e-13), "n = {n}: {w:?}");
        }
    }
}

#[test]
fn cocircular_latitude_longitude_grid_sums_to_four_pi() {
    // Cell centres of an equiangular grid: every grid cell's four corners are cocircular.
    let (nlat, nlon) = (24, 48);
    let mut pts = Vec::new();
    for i in 0..nlat {
        let theta = PI * (i as f64 + 0.5) / nlat as f64;
        for j in 0..nlon {
            let phi = 2.0 * PI * j as f64 / nlon as f64;
            pts.push([theta.sin() * phi.cos(), theta.sin() * phi.sin(), theta.cos()]);
        }
    }
    let w = voronoi_weights(&pts).unwrap();
    assert!((w.iter().sum::<f64>() - 4.0 * PI).abs() < 1e-12); // roundoff only
    // Rotational symmetry about the axis: all points of a latitude row share one weight.
    for i in 0..nlat {
        let row = &w[i * nlon..(i + 1) * nlon];
        assert!(row.iter().all(|v| (v - row[0]).abs() < 1e-13), "row {i}"); // roundoff
    }
}

#[test]
fn weights_converge_for_a_smooth_function_as_points_are_refined() {
    let a = [0.8, -1.1, 0.5];
    let norm = dot(a, a).sqrt();
    let exact = 4.0 * PI * norm.sinh() / norm;
    let f = |p: [f64; 3]| dot(a, p).exp();
    for (label, make) in [
        ("Fibonacci", &(|n| fibonacci_points(n).unwrap()) as &dyn Fn(usize) -> Vec<[f64; 3]>),
        ("random", &|n| random_points(n, 3).unwrap()),
    ] {
        let (mut hs, mut e_vor, mut e_lump) = (Vec::new(), Vec::new(), Vec::new());
        for n in (0..8).map(|k| 200 << k) {
            let pts = make(n);
            hs.push((4.0 * PI / n as f64).sqrt());
            let quad = |w: Vec<f64>| w.iter().zip(&pts).map(|(w, &p)| w * f(p)).sum::<f64>();
            e_vor.push((quad(voronoi_weights(&pts).unwrap()) - exact).abs());
            e_lump.push((quad(lumped_weights(&pts).unwrap()) - exact).abs());
        }
        let (p_vor, p_lump) = (observed_order(&hs, &e_vor), observed_order(&hs, &e_lump));
        println!("{label}: Voronoi errors {e_vor:?}, observed order {p_vor:.2}");
        println!("{label}: lumped errors {e_lump:?}, observed order {p_lump:.2}");
        // Lumped P1 is O(h²); for Voronoi the O(h) offsets of generators from their cells'
        // centroids average out on the closed sphere, leaving O(h²) as observed. The error
        // changes sign between levels, so single ratios are noisy: a least-squares fit over
        // eight levels must show at least 1.5.
        assert!(p_lump > 1.5, "{label} lumped {p_lump}");
        assert!(p_vor > 1.5, "{label} Voronoi {p_vor}");
    }
}

#[test]
fn invalid_points_are_rejected_naming_the_parameter() {
    let good = fibonacci_points(20).unwrap();
    let cases: Vec<Vec<[f64; 3]>> = vec![
        good[..3].to_vec(),
        [good.clone(), vec![[f64::NAN, 0.0, 0.0]]].concat(),
        [good.clone(), vec![[2.0, 0.0, 0.0]]].concat(),
        [good.clone(), vec![good[4]]].concat(),
        // All in the northern hemisphere: no closed triangulation.
        fibonacci_points(40).unwrap()[..15].to_vec(),
        random_points(400, 2).unwrap().into_iter().filter(|p| p[2] > 0.05).collect(),
    ];
    for (k, pts) in cases.iter().enumerate() {
        assert_eq!(param(voronoi_weights(pts).unwrap_err()), "points", "case {k}");
        assert_eq!(param(lumped_weights(pts).unwrap_err()), "points", "case {k}");
    }
    assert_eq!(param(fibonacci_points(0).unwrap_err()), "n");
    assert_eq!(param(random_points(0, 1).unwrap_err()), "n");
}
