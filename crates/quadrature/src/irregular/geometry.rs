//! Small planar geometry helpers shared by the irregular-domain code.
//!
//! Only predicates and measures live here (areas, distances, clipping of convex polygons);
//! triangulations come from `spade`.

/// A point of the plane.
pub(crate) type P2 = [f64; 2];

/// Twice the signed area of the triangle `(a, b, c)`; positive when counter-clockwise.
pub(crate) fn cross3(a: P2, b: P2, c: P2) -> f64 {
    (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
}

/// Signed area of a closed polygon (shoelace formula); positive when counter-clockwise.
pub(crate) fn signed_area(ring: &[P2]) -> f64 {
    let n = ring.len();
    let mut twice = 0.0;
    for i in 0..n {
        let a = ring[i];
        let b = ring[(i + 1) % n];
        twice += a[0] * b[1] - b[0] * a[1];
    }
    0.5 * twice
}

/// Euclidean distance between two points.
pub(crate) fn dist(a: P2, b: P2) -> f64 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

/// Distance from `p` to the segment `[a, b]`, and the parameter `t ∈ [0, 1]` of the closest point.
pub(crate) fn point_segment(p: P2, a: P2, b: P2) -> (f64, f64) {
    let d = [b[0] - a[0], b[1] - a[1]];
    let len2 = d[0] * d[0] + d[1] * d[1];
    let t = if len2 > 0.0 {
        (((p[0] - a[0]) * d[0] + (p[1] - a[1]) * d[1]) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let q = [a[0] + t * d[0], a[1] + t * d[1]];
    (dist(p, q), t)
}

/// Distance between the segments `[a, b]` and `[c, d]` (zero when they cross).
pub(crate) fn segment_segment(a: P2, b: P2, c: P2, d: P2) -> f64 {
    let o1 = cross3(a, b, c);
    let o2 = cross3(a, b, d);
    let o3 = cross3(c, d, a);
    let o4 = cross3(c, d, b);
    // A proper crossing; near-degenerate cases fall through to the endpoint distances, which are
    // then tiny anyway, so the caller's tolerance decides them.
    if ((o1 > 0.0 && o2 < 0.0) || (o1 < 0.0 && o2 > 0.0))
        && ((o3 > 0.0 && o4 < 0.0) || (o3 < 0.0 && o4 > 0.0))
    {
        return 0.0;
    }
    point_segment(a, c, d)
        .0
        .min(point_segment(b, c, d).0)
        .min(point_segment(c, a, b).0)
        .min(point_segment(d, a, b).0)
}

/// Whether the horizontal ray from `p` towards +x crosses the edge `[a, b]` (half-open rule, so
/// that a ray through a vertex counts once).
pub(crate) fn ray_crosses(p: P2, a: P2, b: P2) -> bool {
    if (a[1] > p[1]) == (b[1] > p[1]) {
        return false;
    }
    let x = a[0] + (p[1] - a[1]) / (b[1] - a[1]) * (b[0] - a[0]);
    p[0] < x
}

/// Area of a triangle given by its corners (unsigned).
pub(crate) fn triangle_area(a: P2, b: P2, c: P2) -> f64 {
    0.5 * cross3(a, b, c).abs()
}

/// Clips the convex polygon `poly` (counter-clockwise) to the half-plane `n · x ≤ c`
/// (Sutherland–Hodgman for one plane).
pub(crate) fn clip_half_plane(poly: &[P2], n: P2, c: f64) -> Vec<P2> {
    let m = poly.len();
    let mut out = Vec::with_capacity(m + 1);
    for i in 0..m {
        let p = poly[i];
        let q = poly[(i + 1) % m];
        let sp = n[0] * p[0] + n[1] * p[1] - c;
        let sq = n[0] * q[0] + n[1] * q[1] - c;
        if sp <= 0.0 {
            out.push(p);
        }
        if (sp < 0.0 && sq > 0.0) || (sp > 0.0 && sq < 0.0) {
            let t = sp / (sp - sq);
            out.push([p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])]);
        }
    }
    out
}

/// Area of the intersection of the convex polygon `poly` (counter-clockwise) with the triangle
/// `tri` (counter-clockwise).
pub(crate) fn convex_triangle_overlap(poly: &[P2], tri: &[P2; 3]) -> f64 {
    let mut cur = poly.to_vec();
    for k in 0..3 {
        if cur.len() < 3 {
            return 0.0;
        }
        let a = tri[k];
        let b = tri[(k + 1) % 3];
        // Outward normal of the edge a→b of a counter-clockwise triangle.
        let n = [b[1] - a[1], a[0] - b[0]];
        cur = clip_half_plane(&cur, n, n[0] * a[0] + n[1] * a[1]);
    }
    if cur.len() < 3 { 0.0 } else { signed_area(&cur).max(0.0) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shoelace_area_of_unit_square_is_one_and_sign_follows_orientation() {
        let sq = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]];
        assert_eq!(signed_area(&sq), 1.0);
        let mut rev = sq;
        rev.reverse();
        assert_eq!(signed_area(&rev), -1.0);
    }

    #[test]
    fn crossing_segments_have_zero_distance_and_parallel_ones_their_gap() {
        assert_eq!(segment_segment([0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]), 0.0);
        let d = segment_segment([0.0, 0.0], [1.0, 0.0], [0.0, 0.5], [1.0, 0.5]);
        assert!((d - 0.5).abs() < 1e-15, "{d}"); // one rounding in the projection
    }

    #[test]
    fn square_overlapping_half_of_a_triangle_gives_the_clipped_area() {
        // Triangle (0,0),(2,0),(0,2) has area 2; the unit square lies fully inside it.
        let tri = [[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]];
        let sq = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]];
        assert!((convex_triangle_overlap(&sq, &tri) - 1.0).abs() < 1e-15); // exact up to rounding
        // Shifted square [1,2]×[0,1]: the part below x + y ≤ 2 is a triangle of area 1/2.
        let sq2 = [[1.0, 0.0], [2.0, 0.0], [2.0, 1.0], [1.0, 1.0]];
        assert!((convex_triangle_overlap(&sq2, &tri) - 0.5).abs() < 1e-15); // rounding only
    }
}
