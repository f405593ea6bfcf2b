//! Quadrature weights for scattered points on the unit sphere.
//!
//! [`voronoi_weights`] gives each point the area of its spherical Voronoi cell; the weights sum
//! to 4π and converge for smooth integrands as the points are refined.
//! [`lumped_weights`] gives each point a third of the areas of its spherical Delaunay
//! triangles (also summing to 4π).
//!
//! The spherical Delaunay triangulation (the convex hull of the points) is built with `spade`
//! from two stereographic projections, from a pole `N` and from `−N`. Stereographic projection
//! maps circles to circles, so a triangle whose empty circumscribed cap avoids the projection
//! pole is a planar Delaunay triangle of the projected points. Each spherical triangle is taken
//! from the projection whose pole lies on the far side of its circumcentre, where that holds
//! for certain. The result is checked to be a closed triangulated sphere; a cocircular tie
//! resolved differently by the two projections fails that check and the next pole is tried.
//! See `docs/quadrature-irregular.md`.

use std::collections::HashMap;
use std::f64::consts::PI;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use spade::{DelaunayTriangulation, Point2, Triangulation};

use crate::irregular::Node;
use crate::{QuadratureError, Result};

/// A point in 3-D space.
type P3 = [f64; 3];

/// Largest accepted `| |p| − 1 |` for an input point.
pub const UNIT_NORM_TOL: f64 = 1e-10;

/// Chord length below which two points count as coinciding.
pub const COINCIDENCE_TOL: f64 = 1e-12;

/// Candidate projection poles tried, best first, before giving up.
const POLE_TRIES: usize = 4;

/// `n` points of the Fibonacci (golden-angle) spiral: `z_k = 1 − (2k + 1)/n`, longitude
/// advancing by the golden angle `π(3 − √5)`. Nearly uniform; needs `n ≥ 1`.
pub fn fibonacci_points(n: usize) -> Result<Vec<[f64; 3]>> {
    if n == 0 {
        return Err(QuadratureError::invalid("n", "at least 1", n));
    }
    let golden = PI * (3.0 - 5f64.sqrt());
    Ok((0..n)
        .map(|k| {
            let z = 1.0 - (2 * k + 1) as f64 / n as f64;
            let r = (1.0 - z * z).max(0.0).sqrt();
            let phi = golden * k as f64;
            [r * phi.cos(), r * phi.sin(), z]
        })
        .collect())
}

/// `n` independent uniformly distributed points on the sphere, reproducible from `seed`
/// (`z` uniform in [−1, 1] and longitude uniform, by Archimedes' hat-box theorem).
pub fn random_points(n: usize, seed: u64) -> Result<Vec<[f64; 3]>> {
    if n == 0 {
        return Err(QuadratureError::invalid("n", "at least 1", n));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Ok((0..n)
        .map(|_| {
            let z: f64 = 2.0 * rng.random::<f64>() - 1.0;
            let phi = 2.0 * PI * rng.random::<f64>();
            let r = (1.0 - z * z).max(0.0).sqrt();
            [r * phi.cos(), r * phi.sin(), z]
        })
        .collect())
}

/// Spherical Voronoi cell areas of `points` (unit vectors, `| |p| − 1 | ≤ UNIT_NORM_TOL`).
///
/// Errors name `points`: fewer than 4, not finite, not of unit norm, two closer than
/// [`COINCIDENCE_TOL`], or all within one closed hemisphere.
pub fn voronoi_weights(points: &[[f64; 3]]) -> Result<Vec<f64>> {
    let pts = validate(points)?;
    let tris = triangulate(&pts)?;
    let mut w = vec![0.0; pts.len()];
    // Each triangle splits into six pieces (corner, edge midpoint, circumcentre); a point's
    // Voronoi cell is the union of its pieces over its triangles, with signs where the
    // circumcentre lies outside an obtuse triangle.
    for t in &tris {
        let [a, b, c] = t.map(|i| pts[i]);
        let centre = circumcentre(a, b, c);
        let (m_ab, m_bc, m_ca) = (midpoint(a, b), midpoint(b, c), midpoint(c, a));
        w[t[0]] += signed_area(a, m_ab, centre) + signed_area(a, centre, m_ca);
        w[t[1]] += signed_area(b, m_bc, centre) + signed_area(b, centre, m_ab);
        w[t[2]] += signed_area(c, m_ca, centre) + signed_area(c, centre, m_bc);
    }
    Ok(w)
}

/// Lumped weights: a third of the area of each spherical Delaunay triangle to each corner.
/// Errors as [`voronoi_weights`].
pub fn lumped_weights(points: &[[f64; 3]]) -> Result<Vec<f64>> {
    let pts = validate(points)?;
    let tris = triangulate(&pts)?;
    let mut w = vec![0.0; pts.len()];
    for t in &tris {
        let a = signed_area(pts[t[0]], pts[t[1]], pts[t[2]]) / 3.0;
        for &i in t {
            w[i] += a;
        }
    }
    Ok(w)
}

/// The spherical Delaunay triangulation (convex hull) of `points`: `2n − 4` index triples,
/// counter-clockwise seen from outside. Errors as [`voronoi_weights`].
pub fn delaunay_triangles(points: &[[f64; 3]]) -> Result<Vec<[usize; 3]>> {
    triangulate(&validate(points)?)
}

/// Signed area of the spherical triangle `(a, b, c)` (positive when counter-clockwise seen
/// from outside), by Van Oosterom & Strackee: `tan(E/2) = a·(b×c) / (1 + a·b + b·c + c·a)`.
fn signed_area(a: P3, b: P3, c: P3) -> f64 {
    let num = dot(a, cross(b, c));
    let den = 1.0 + dot(a, b) + dot(b, c) + dot(c, a);
    2.0 * num.atan2(den)
}

/// Centre of the circumscribed cap of a counter-clockwise triangle: the outward unit normal of
/// its plane.
fn circumcentre(a: P3, b: P3, c: P3) -> P3 {
    normalize(cross(sub(b, a), sub(c, a)))
}

fn midpoint(a: P3, b: P3) -> P3 {
    normalize([a[0] + b[0], a[1] + b[1], a[2] + b[2]])
}

fn dot(a: P3, b: P3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: P3, b: P3) -> P3 {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

fn sub(a: P3, b: P3) -> P3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn normalize(a: P3) -> P3 {
    let n = dot(a, a).sqrt();
    [a[0] / n, a[1] / n, a[2] / n]
}

/// Checks count, finiteness, unit norm and distinctness; returns the normalised points.
fn validate(points: &[[f64; 3]]) -> Result<Vec<P3>> {
    if points.len() < 4 {
        return Err(QuadratureError::invalid("points", "at least 4 points", points.len()));
    }
    let mut pts = Vec::with_capacity(points.len());
    for (i, &p) in points.iter().enumerate() {
        let norm = dot(p, p).sqrt();
        if !(p.iter().all(|v| v.is_finite()) && (norm - 1.0).abs() <= UNIT_NORM_TOL) {
            return Err(QuadratureError::invalid(
                "points",
                format!("finite unit vectors (| |p| − 1 | ≤ {UNIT_NORM_TOL:e})"),
                format!("points[{i}] = {p:?}"),
            ));
        }
        pts.push([p[0] / norm, p[1] / norm, p[2] / norm]);
    }
    // Sweep in x: only points within the tolerance in x can coincide.
    let mut order: Vec<usize> = (0..pts.len()).collect();
    order.sort_by(|&i, &j| pts[i][0].total_cmp(&pts[j][0]));
    for (k, &i) in order.iter().enumerate() {
        for &j in &order[k + 1..] {
            if pts[j][0] - pts[i][0] > COINCIDENCE_TOL {
                break;
            }
            let d = sub(pts[i], pts[j]);
            if dot(d, d).sqrt() <= COINCIDENCE_TOL {
                return Err(QuadratureError::invalid(
                    "points",
                    format!("distinct points (chords longer than {COINCIDENCE_TOL:e})"),
                    format!("points[{}] and points[{}] coincide", i.min(j), i.max(j)),
                ));
            }
        }
    }
    Ok(pts)
}

/// Spherical Delaunay triangulation of unit vectors; see the module docs.
fn triangulate(pts: &[P3]) -> Result<Vec<[usize; 3]>> {
    // Poles far from every point and its antipode keep projected coordinates moderate.
    let candidates = fibonacci_points(64)?;
    let mut scored: Vec<(f64, P3)> = candidates
        .into_iter()
        .map(|pole| {
            let worst = pts.iter().map(|p| dot(*p, pole).abs()).fold(0.0, f64::max);
            (worst, pole)
        })
        .collect();
    scored.sort_by(|a, b| a.0.total_cmp(&b.0));
    for &(_, pole) in scored.iter().take(POLE_TRIES) {
        let mut tris = hemisphere_triangles(pts, pole, true)?;
        tris.extend(hemisphere_triangles(pts, pole, false)?);
        if is_closed_sphere(&tris, pts.len()) && covers_sphere_once(&tris, pts) {
            return Ok(tris);
        }
    }
    Err(QuadratureError::invalid(
        "points",
        "points not all within one closed hemisphere, so that the triangulation closes",
        format!("{} points whose projections did not give a closed triangulation", pts.len()),
    ))
}

/// Triangles of the planar Delaunay triangulation of the stereographic projection from `pole`
/// (or from `−pole` when `from_pole` is false) whose circumcentre lies in the hemisphere away
/// from the projection point; counter-clockwise seen from outside.
fn hemisphere_triangles(pts: &[P3], pole: P3, from_pole: bool) -> Result<Vec<[usize; 3]>> {
    let s = if from_pole { 1.0 } else { -1.0 };
    let n = [s * pole[0], s * pole[1], s * pole[2]];
    // Any unit vector orthogonal to n completes the frame.
    let helper = if n[0].abs() < 0.9 { [1.0, 0.0, 0.0] } else { [0.0, 1.0, 0.0] };
    let u = normalize(cross(n, helper));
    let v = cross(n, u);
    // spade rejects magnitudes below ~1.8e-43; such coordinates are zero for our purpose.
    let flush = |x: f64| if x.abs() < 1e-40 { 0.0 } else { x };
    let nodes: Vec<Node> = pts
        .iter()
        .enumerate()
        .map(|(idx, &p)| {
            let den = 1.0 - dot(p, n);
            Node { pos: Point2::new(flush(dot(p, u) / den), flush(dot(p, v) / den)), idx }
        })
        .collect();
    let dt = DelaunayTriangulation::<Node>::bulk_load(nodes).map_err(|e| {
        QuadratureError::invalid("points", "points spade can triangulate", format!("{e:?}"))
    })?;
    let mut out = Vec::new();
    for f in dt.inner_faces() {
        let [i, j, k] = f.vertices().map(|x| x.data().idx);
        let (a, b, c) = (pts[i], pts[j], pts[k]);
        // Orient outward: the plane of a hull facet lies on the origin's far side.
        let normal = cross(sub(b, a), sub(c, a));
        let t = if dot(normal, a) > 0.0 { [i, j, k] } else { [i, k, j] };
        let centre = circumcentre(pts[t[0]], pts[t[1]], pts[t[2]]);
        let far = dot(centre, n);
        // The pole's own projection owns the circumcentres with far ≤ 0, the other one the rest.
        if (from_pole && far <= 0.0) || (!from_pole && far < 0.0) {
            out.push(t);
        }
    }
    Ok(out)
}

/// Whether the triangles form a closed oriented surface of Euler characteristic 2 over all
/// `n` points: `2n − 4` triangles, each directed edge once with its reverse present.
fn is_closed_sphere(tris: &[[usize; 3]], n: usize) -> bool {
    if tris.len() != 2 * n - 4 {
        return false;
    }
    let mut edges: HashMap<(usize, usize), u32> = HashMap::with_capacity(3 * tris.len());
    for t in tris {
        for k in 0..3 {
            *edges.entry((t[k], t[(k + 1) % 3])).or_insert(0) += 1;
        }
    }
    edges.iter().all(|(&(a, b), &count)| count == 1 && edges.get(&(b, a)) == Some(&1))
}

/// Whether the triangles' signed areas add up to 4π, i.e. the closed surface wraps the sphere
/// exactly once (for points inside a hemisphere it would not).
fn covers_sphere_once(tris: &[[usize; 3]], pts: &[P3]) -> bool {
    let total: f64 = tris.iter().map(|t| signed_area(pts[t[0]], pts[t[1]], pts[t[2]])).sum();
    // A closed oriented surface covers the sphere a whole number of times, so a wrong one is off
    // by a multiple of 4π; the bound only needs to exceed the sum's roundoff.
    (total - 4.0 * PI).abs() < 1e-6
}
