//! Quadrature weights for irregular point clouds in planar polygonal domains with holes.
//!
//! A [`Domain`] is an outer polygon minus disjoint polygonal holes, for example the DFG
//! cylinder-flow channel ([`Domain::dfg_cylinder`]). For a point cloud inside it, two rules give
//! weights `w` with `Σ w_i f(x_i) ≈ ∫_Ω f`:
//!
//! * [`WeightMethod::LumpedDelaunay`]: the constrained Delaunay triangulation of the points
//!   (boundary edges as constraints, triangles in holes dropped), each triangle giving a third of
//!   its area to each corner. This integrates the piecewise-linear interpolant exactly, so it is
//!   exact for linear functions and second-order for smooth ones. It needs every boundary vertex
//!   of the domain among the points (see [`Domain::with_boundary_vertices`]).
//! * [`WeightMethod::ClippedVoronoi`]: the area of each point's Voronoi cell intersected with the
//!   domain. Needs no boundary vertices; the weights sum to the area but are not exact for linear
//!   functions.
//!
//! Triangulations come from `spade`; the design is described in `docs/quadrature-irregular.md`.

mod geometry;
mod sampling;

use spade::{
    ConstrainedDelaunayTriangulation, DelaunayTriangulation, HasPosition, Point2, Triangulation,
};

use crate::{QuadratureError, Result};
use geometry::{
    P2, convex_triangle_overlap, dist, point_segment, ray_crosses, segment_segment, signed_area,
    triangle_area,
};
pub use sampling::{PointCloud, RadialSpacing};

/// Relative tolerance, in units of the domain's diameter, within which a point counts as lying
/// on the boundary and two points count as coinciding.
pub const BOUNDARY_REL_TOL: f64 = 1e-12;

/// Where a point lies relative to a [`Domain`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// Strictly inside, farther than [`Domain::boundary_tolerance`] from the boundary.
    Interior,
    /// Within [`Domain::boundary_tolerance`] of the outer boundary or of a hole's boundary.
    Boundary,
    /// Outside the outer polygon or inside a hole.
    Outside,
}

/// How [`Domain::weights`] turns a point cloud into quadrature weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightMethod {
    /// A third of each constrained-Delaunay triangle's area to each of its corners; exact for
    /// linear functions. Requires the boundary vertices among the points.
    LumpedDelaunay,
    /// Areas of the Voronoi cells clipped to the domain; sums to the area, not linear-exact.
    ClippedVoronoi,
}

/// A polygonal domain: an outer polygon minus disjoint polygonal holes strictly inside it.
///
/// Vertices are stored with the outer ring counter-clockwise and the holes clockwise, whatever
/// the orientation given to [`Domain::new`].
#[derive(Debug, Clone)]
pub struct Domain {
    /// `rings[0]` is the outer boundary, `rings[1..]` the holes.
    rings: Vec<Vec<P2>>,
    area: f64,
    tol: f64,
    /// `[x_min, y_min, x_max, y_max]` of the outer ring.
    bbox: [f64; 4],
    /// Counter-clockwise triangles tiling the domain (its constrained Delaunay triangulation).
    pieces: Vec<[P2; 3]>,
    /// Bounding boxes of `pieces`, `[x_min, y_min, x_max, y_max]`.
    piece_boxes: Vec<[f64; 4]>,
}

/// A triangulation vertex that remembers which input point it came from (also used by
/// `sphere_points` for its projected points).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node {
    pub(crate) pos: Point2<f64>,
    pub(crate) idx: usize,
}

impl HasPosition for Node {
    type Scalar = f64;
    fn position(&self) -> Point2<f64> {
        self.pos
    }
}

/// Where one input point sits, as found by [`Domain::locate_detail`].
#[derive(Debug, Clone, Copy, PartialEq)]
enum Spot {
    Interior,
    /// On vertex `v` of ring `r`.
    Vertex(usize, usize),
    /// On edge `e` (from vertex `e` to `e + 1`) of ring `r`, at parameter `t`.
    Edge(usize, usize, f64),
    Outside,
}

/// Validated point cloud: where each point lies and which boundary vertex it stands for.
#[derive(Debug)]
struct Classified {
    /// `owner[r][v]`: the point standing for vertex `v` of ring `r`, if any.
    owner: Vec<Vec<Option<usize>>>,
    /// `on_edge[r][e]`: `(t, point)` for the points on edge `e` of ring `r`.
    on_edge: Vec<Vec<Vec<(f64, usize)>>>,
}

impl Domain {
    /// Builds a domain from its outer polygon and its holes (each a list of vertices, in either
    /// orientation; a repeated closing vertex is dropped).
    ///
    /// Errors name `outer` or `holes` when a ring has fewer than three vertices, non-finite
    /// coordinates, zero area, edges that cross or touch (closer than the boundary tolerance),
    /// or when a hole is not strictly inside the outer polygon or lies inside another hole.
    pub fn new(outer: Vec<[f64; 2]>, holes: Vec<Vec<[f64; 2]>>) -> Result<Self> {
        let mut rings = Vec::with_capacity(1 + holes.len());
        rings.push(clean_ring("outer", outer)?);
        for hole in holes {
            rings.push(clean_ring("holes", hole)?);
        }
        let outer = &rings[0];
        let mut bbox = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
        for p in outer {
            bbox = [bbox[0].min(p[0]), bbox[1].min(p[1]), bbox[2].max(p[0]), bbox[3].max(p[1])];
        }
        let diam = (bbox[2] - bbox[0]).hypot(bbox[3] - bbox[1]);
        let tol = BOUNDARY_REL_TOL * diam;
        check_rings_simple(&rings, tol)?;
        for (r, ring) in rings.iter_mut().enumerate() {
            let a = signed_area(ring);
            let name = if r == 0 { "outer" } else { "holes" };
            // Twice the edge check's tolerance times the diameter bounds the area of a ring that
            // is a sliver thinner than the tolerance; anything below cannot be a valid ring.
            if a.abs() <= tol * diam {
                return Err(QuadratureError::invalid(
                    name,
                    "a polygon with non-zero area",
                    format!("ring {r} with signed area {a:e}"),
                ));
            }
            if (r == 0) != (a > 0.0) {
                ring.reverse();
            }
        }
        // No edges meet, so one vertex per hole decides containment.
        for h in 1..rings.len() {
            if !in_ring(rings[h][0], &rings[0]) {
                return Err(QuadratureError::invalid(
                    "holes",
                    "holes strictly inside the outer polygon",
                    format!("hole {} with vertex {:?} outside it", h - 1, rings[h][0]),
                ));
            }
            for g in 1..rings.len() {
                if g != h && in_ring(rings[h][0], &rings[g]) {
                    return Err(QuadratureError::invalid(
                        "holes",
                        "disjoint holes",
                        format!("hole {} lies inside hole {}", h - 1, g - 1),
                    ));
                }
            }
        }
        let area = rings.iter().map(|r| signed_area(r)).sum();
        let mut domain =
            Self { rings, area, tol, bbox, pieces: Vec::new(), piece_boxes: Vec::new() };
        let nodes = domain.boundary_vertices();
        let edges = domain.ring_edges(|r, v| domain.vertex_offset(r) + v);
        let tris = triangulate_constrained(&nodes, edges, "outer")?;
        domain.pieces = tris.iter().map(|t| [nodes[t[0]], nodes[t[1]], nodes[t[2]]]).collect();
        domain.piece_boxes = domain.pieces.iter().map(tri_box).collect();
        Ok(domain)
    }

    /// The axis-aligned rectangle `[x0, x1] × [y0, y1]`.
    pub fn rectangle(x0: f64, x1: f64, y0: f64, y1: f64) -> Result<Self> {
        if !(x0.is_finite() && x1.is_finite() && x0 < x1) {
            return Err(QuadratureError::invalid("x1", "finite x0 < x1", format!("[{x0}, {x1}]")));
        }
        if !(y0.is_finite() && y1.is_finite() && y0 < y1) {
            return Err(QuadratureError::invalid("y1", "finite y0 < y1", format!("[{y0}, {y1}]")));
        }
        Self::new(vec![[x0, y0], [x1, y0], [x1, y1], [x0, y1]], Vec::new())
    }

    /// A channel `[0, length] × [0, height]` with a disk of `radius` at `center` removed; the
    /// disk is the regular `n_disk`-gon inscribed in the circle, with a vertex at angle 0.
    ///
    /// The domain's area is then that of the polygon, which approaches the exact
    /// `length·height − π·radius²` as O(n_disk⁻²).
    pub fn channel_with_disk(
        length: f64,
        height: f64,
        center: [f64; 2],
        radius: f64,
        n_disk: usize,
    ) -> Result<Self> {
        if n_disk < 3 {
            return Err(QuadratureError::invalid("n_disk", "at least 3", n_disk));
        }
        if !(radius.is_finite() && radius > 0.0) {
            return Err(QuadratureError::invalid("radius", "finite and positive", radius));
        }
        let disk = (0..n_disk)
            .map(|k| {
                let a = 2.0 * std::f64::consts::PI * k as f64 / n_disk as f64;
                [center[0] + radius * a.cos(), center[1] + radius * a.sin()]
            })
            .collect();
        let outer = vec![[0.0, 0.0], [length, 0.0], [length, height], [0.0, height]];
        Self::new(outer, vec![disk])
    }

    /// The DFG 2D-1/2D-2 benchmark geometry of Schäfer & Turek: the channel 2.2 × 0.41 minus
    /// the disk of radius 0.05 centred at (0.2, 0.2), approximated by an `n_disk`-gon.
    pub fn dfg_cylinder(n_disk: usize) -> Result<Self> {
        Self::channel_with_disk(2.2, 0.41, [0.2, 0.2], 0.05, n_disk)
    }

    /// The domain's area: the outer polygon's minus the holes'.
    pub fn area(&self) -> f64 {
        self.area
    }

    /// The outer boundary, counter-clockwise.
    pub fn outer(&self) -> &[[f64; 2]] {
        &self.rings[0]
    }

    /// The holes, each clockwise.
    pub fn holes(&self) -> &[Vec<[f64; 2]>] {
        &self.rings[1..]
    }

    /// Distance within which a point counts as on the boundary and two points as coinciding:
    /// [`BOUNDARY_REL_TOL`] times the diameter of the outer polygon's bounding box.
    pub fn boundary_tolerance(&self) -> f64 {
        self.tol
    }

    /// `[x_min, y_min, x_max, y_max]` of the outer polygon.
    pub fn bounding_box(&self) -> [f64; 4] {
        self.bbox
    }

    /// All polygon vertices: the outer ring's, then each hole's, in stored order.
    pub fn boundary_vertices(&self) -> Vec<[f64; 2]> {
        self.rings.iter().flatten().copied().collect()
    }

    /// Triangles tiling the domain (a constrained Delaunay triangulation of its boundary
    /// vertices), counter-clockwise.
    pub fn triangles(&self) -> &[[[f64; 2]; 3]] {
        &self.pieces
    }

    /// Where `p` lies: inside, on the boundary (within [`Domain::boundary_tolerance`]) or outside.
    pub fn locate(&self, p: [f64; 2]) -> Location {
        match self.locate_detail(p) {
            Spot::Interior => Location::Interior,
            Spot::Vertex(..) | Spot::Edge(..) => Location::Boundary,
            Spot::Outside => Location::Outside,
        }
    }

    /// `points` followed by every boundary vertex that none of them stands for (no point within
    /// the boundary tolerance), so that the result suits [`WeightMethod::LumpedDelaunay`].
    ///
    /// The indices of `points` are kept. Errors as [`Domain::weights`] for invalid points.
    pub fn with_boundary_vertices(&self, points: &[[f64; 2]]) -> Result<Vec<[f64; 2]>> {
        let cls = self.classify(points)?;
        let mut out = points.to_vec();
        for (r, ring) in self.rings.iter().enumerate() {
            for (v, &p) in ring.iter().enumerate() {
                if cls.owner[r][v].is_none() {
                    out.push(p);
                }
            }
        }
        Ok(out)
    }

    /// The constrained Delaunay triangulation of `points` restricted to the domain: triangles
    /// as counter-clockwise index triples into `points`.
    ///
    /// Points within the boundary tolerance of an edge split that edge; points within it of a
    /// polygon vertex stand for that vertex. Every polygon vertex needs such a point (see
    /// [`Domain::with_boundary_vertices`]); otherwise the error names `points` and the vertex.
    /// Points outside the domain, non-finite or closer together than the tolerance are errors
    /// naming `points`.
    pub fn triangulate(&self, points: &[[f64; 2]]) -> Result<Vec<[usize; 3]>> {
        let cls = self.classify(points)?;
        self.triangulate_classified(points, &cls)
    }

    /// [`Domain::triangulate`] for points already validated by [`Domain::classify`].
    fn triangulate_classified(
        &self,
        points: &[[f64; 2]],
        cls: &Classified,
    ) -> Result<Vec<[usize; 3]>> {
        for (r, ring) in self.rings.iter().enumerate() {
            for (v, p) in ring.iter().enumerate() {
                if cls.owner[r][v].is_none() {
                    return Err(QuadratureError::invalid(
                        "points",
                        "every boundary vertex of the domain among the points \
                         (see Domain::with_boundary_vertices)",
                        format!("no point at vertex {v} {p:?} of ring {r}"),
                    ));
                }
            }
        }
        let nodes = self.snapped(points, cls);
        let edges = self.boundary_chains(cls);
        triangulate_constrained(&nodes, edges, "points")
    }

    /// Quadrature weights for `points` by `method`; see [`WeightMethod`].
    pub fn weights(&self, points: &[[f64; 2]], method: WeightMethod) -> Result<Vec<f64>> {
        match method {
            WeightMethod::LumpedDelaunay => self.lumped_weights(points),
            WeightMethod::ClippedVoronoi => self.voronoi_weights(points),
        }
    }

    /// Lumped (barycentric-dual) weights: a third of each triangle of [`Domain::triangulate`]
    /// to each of its corners. They sum to the area of the polygon through the boundary points
    /// (the domain's area up to roundoff and the boundary tolerance) and integrate linear
    /// functions exactly. Errors as [`Domain::triangulate`].
    pub fn lumped_weights(&self, points: &[[f64; 2]]) -> Result<Vec<f64>> {
        let cls = self.classify(points)?;
        let tris = self.triangulate_classified(points, &cls)?;
        let nodes = self.snapped(points, &cls);
        let mut w = vec![0.0; points.len()];
        for t in &tris {
            let a = triangle_area(nodes[t[0]], nodes[t[1]], nodes[t[2]]) / 3.0;
            for &i in t {
                w[i] += a;
            }
        }
        Ok(w)
    }

    /// Clipped Voronoi weights: the area of `cell(i) ∩ Ω`, where `cell(i)` is the Voronoi cell of
    /// `points[i]` among all points. Errors name `points` (empty, outside, non-finite, coinciding).
    pub fn voronoi_weights(&self, points: &[[f64; 2]]) -> Result<Vec<f64>> {
        if points.is_empty() {
            return Err(QuadratureError::invalid("points", "at least one point", 0));
        }
        self.classify(points)?;
        let nodes: Vec<Node> = points
            .iter()
            .enumerate()
            .map(|(idx, p)| Node { pos: Point2::new(p[0], p[1]), idx })
            .collect();
        let dt = DelaunayTriangulation::<Node>::bulk_load(nodes)
            .map_err(|e| spade_error("points", e))?;
        // Any superset of Ω works as the starting cell: the domain pieces do the final clip.
        let pad = self.tol;
        let b = [self.bbox[0] - pad, self.bbox[1] - pad, self.bbox[2] + pad, self.bbox[3] + pad];
        let start = [[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]]];
        let mut w = vec![0.0; points.len()];
        for v in dt.vertices() {
            let i = v.data().idx;
            let p = points[i];
            let mut cell = start.to_vec();
            for e in v.out_edges() {
                let q = points[e.to().data().idx];
                let n = [q[0] - p[0], q[1] - p[1]];
                let c = n[0] * 0.5 * (p[0] + q[0]) + n[1] * 0.5 * (p[1] + q[1]);
                cell = geometry::clip_half_plane(&cell, n, c);
            }
            let mut cb = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
            for q in &cell {
                cb = [cb[0].min(q[0]), cb[1].min(q[1]), cb[2].max(q[0]), cb[3].max(q[1])];
            }
            let mut a = 0.0;
            for (piece, pb) in self.pieces.iter().zip(&self.piece_boxes) {
                if pb[0] <= cb[2] && cb[0] <= pb[2] && pb[1] <= cb[3] && cb[1] <= pb[3] {
                    a += convex_triangle_overlap(&cell, piece);
                }
            }
            w[i] = a;
        }
        Ok(w)
    }

    /// Index of the first vertex of ring `r` in [`Domain::boundary_vertices`].
    fn vertex_offset(&self, r: usize) -> usize {
        self.rings[..r].iter().map(Vec::len).sum()
    }

    /// Constraint edges `[id(r, v), id(r, v + 1)]` of every ring, for a vertex numbering `id`.
    fn ring_edges(&self, id: impl Fn(usize, usize) -> usize) -> Vec<[usize; 2]> {
        let mut edges = Vec::new();
        for (r, ring) in self.rings.iter().enumerate() {
            for v in 0..ring.len() {
                edges.push([id(r, v), id(r, (v + 1) % ring.len())]);
            }
        }
        edges
    }

    /// Boundary constraint edges through the points on the boundary, in order along each edge.
    fn boundary_chains(&self, cls: &Classified) -> Vec<[usize; 2]> {
        let mut edges = Vec::new();
        for (r, ring) in self.rings.iter().enumerate() {
            for e in 0..ring.len() {
                let mut chain = Vec::with_capacity(2 + cls.on_edge[r][e].len());
                chain.extend(cls.owner[r][e]);
                chain.extend(cls.on_edge[r][e].iter().map(|&(_, i)| i));
                chain.extend(cls.owner[r][(e + 1) % ring.len()]);
                edges.extend(chain.windows(2).map(|w| [w[0], w[1]]));
            }
        }
        edges
    }

    /// Point coordinates with the points standing for polygon vertices moved onto them exactly.
    fn snapped(&self, points: &[[f64; 2]], cls: &Classified) -> Vec<P2> {
        let mut nodes = points.to_vec();
        for (r, ring) in self.rings.iter().enumerate() {
            for (v, &p) in ring.iter().enumerate() {
                if let Some(i) = cls.owner[r][v] {
                    nodes[i] = p;
                }
            }
        }
        nodes
    }

    /// Validates `points` and records which lie on the boundary.
    fn classify(&self, points: &[[f64; 2]]) -> Result<Classified> {
        let mut owner: Vec<Vec<Option<usize>>> =
            self.rings.iter().map(|r| vec![None; r.len()]).collect();
        let mut on_edge: Vec<Vec<Vec<(f64, usize)>>> =
            self.rings.iter().map(|r| vec![Vec::new(); r.len()]).collect();
        for (i, &p) in points.iter().enumerate() {
            if !(p[0].is_finite() && p[1].is_finite()) {
                return Err(QuadratureError::invalid(
                    "points",
                    "finite coordinates",
                    format!("points[{i}] = {p:?}"),
                ));
            }
            match self.locate_detail(p) {
                Spot::Interior => {}
                Spot::Outside => {
                    return Err(QuadratureError::invalid(
                        "points",
                        "points inside the domain or on its boundary",
                        format!("points[{i}] = {p:?} outside it"),
                    ));
                }
                Spot::Vertex(r, v) => {
                    if let Some(j) = owner[r][v] {
                        return Err(duplicate(points, j, i));
                    }
                    owner[r][v] = Some(i);
                }
                Spot::Edge(r, e, t) => on_edge[r][e].push((t, i)),
            }
        }
        for ring in &mut on_edge {
            for list in ring.iter_mut() {
                list.sort_by(|a, b| a.0.total_cmp(&b.0));
            }
        }
        check_distinct(points, self.tol)?;
        Ok(Classified { owner, on_edge })
    }

    /// Finds the nearest boundary feature within the tolerance, else inside/outside by parity.
    fn locate_detail(&self, p: P2) -> Spot {
        let tol = self.tol;
        let mut best: Option<(f64, usize, usize, f64)> = None;
        for (r, ring) in self.rings.iter().enumerate() {
            let n = ring.len();
            for e in 0..n {
                let (a, b) = (ring[e], ring[(e + 1) % n]);
                // Cheap rejection before the exact distance.
                if p[0] < a[0].min(b[0]) - tol
                    || p[0] > a[0].max(b[0]) + tol
                    || p[1] < a[1].min(b[1]) - tol
                    || p[1] > a[1].max(b[1]) + tol
                {
                    continue;
                }
                let (d, t) = point_segment(p, a, b);
                if d <= tol && best.is_none_or(|bst| d < bst.0) {
                    best = Some((d, r, e, t));
                }
            }
        }
        if let Some((_, r, e, t)) = best {
            let ring = &self.rings[r];
            let n = ring.len();
            if dist(p, ring[e]) <= tol {
                return Spot::Vertex(r, e);
            }
            if dist(p, ring[(e + 1) % n]) <= tol {
                return Spot::Vertex(r, (e + 1) % n);
            }
            return Spot::Edge(r, e, t);
        }
        let crossings: usize = self
            .rings
            .iter()
            .map(|ring| {
                let n = ring.len();
                (0..n).filter(|&e| ray_crosses(p, ring[e], ring[(e + 1) % n])).count()
            })
            .sum();
        if crossings % 2 == 1 { Spot::Interior } else { Spot::Outside }
    }
}

/// Checks a ring's length and coordinates and drops a repeated closing vertex.
fn clean_ring(name: &'static str, mut ring: Vec<P2>) -> Result<Vec<P2>> {
    if ring.len() > 1 && ring.first() == ring.last() {
        ring.pop();
    }
    if ring.len() < 3 {
        return Err(QuadratureError::invalid(
            name,
            "a polygon with at least 3 vertices",
            format!("{} vertices", ring.len()),
        ));
    }
    if let Some(p) = ring.iter().find(|p| !(p[0].is_finite() && p[1].is_finite())) {
        return Err(QuadratureError::invalid(name, "finite coordinates", format!("{p:?}")));
    }
    Ok(ring)
}

/// Rejects edges (of any rings) that cross, touch or come closer than `tol`, adjacent edges that
/// fold back onto each other, and edges shorter than `tol`.
fn check_rings_simple(rings: &[Vec<P2>], tol: f64) -> Result<()> {
    let edges: Vec<(usize, usize, P2, P2)> = rings
        .iter()
        .enumerate()
        .flat_map(|(r, ring)| {
            let n = ring.len();
            (0..n).map(move |e| (r, e, ring[e], ring[(e + 1) % n]))
        })
        .collect();
    let name = |r: usize, s: usize| if r == 0 && s == 0 { "outer" } else { "holes" };
    for &(r, e, a, b) in &edges {
        if dist(a, b) <= tol {
            return Err(QuadratureError::invalid(
                name(r, r),
                "edges longer than the boundary tolerance",
                format!("edge {e} of ring {r} from {a:?} to {b:?}"),
            ));
        }
    }
    for (k, &(r, e, a, b)) in edges.iter().enumerate() {
        for &(s, f, c, d) in &edges[k + 1..] {
            let n = rings[r].len();
            let gap = if r == s && (f == (e + 1) % n || e == (f + 1) % n) {
                // Adjacent edges share a vertex; they must not fold back along each other.
                let (far_ef, far_fe) = if f == (e + 1) % n { (d, a) } else { (c, b) };
                point_segment(far_ef, a, b).0.min(point_segment(far_fe, c, d).0)
            } else {
                segment_segment(a, b, c, d)
            };
            if gap <= tol {
                return Err(QuadratureError::invalid(
                    name(r, s),
                    "simple polygons whose edges neither cross nor touch",
                    format!("edge {e} of ring {r} and edge {f} of ring {s} meet"),
                ));
            }
        }
    }
    Ok(())
}

/// Point-in-polygon by ray parity.
fn in_ring(p: P2, ring: &[P2]) -> bool {
    let n = ring.len();
    (0..n).filter(|&e| ray_crosses(p, ring[e], ring[(e + 1) % n])).count() % 2 == 1
}

/// Rejects points closer together than `tol` (sweep over points sorted by x).
fn check_distinct(points: &[P2], tol: f64) -> Result<()> {
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|&i, &j| points[i][0].total_cmp(&points[j][0]));
    for (k, &i) in order.iter().enumerate() {
        for &j in &order[k + 1..] {
            if points[j][0] - points[i][0] > tol {
                break;
            }
            if dist(points[i], points[j]) <= tol {
                return Err(duplicate(points, i.min(j), i.max(j)));
            }
        }
    }
    Ok(())
}

fn duplicate(points: &[P2], i: usize, j: usize) -> QuadratureError {
    QuadratureError::invalid(
        "points",
        "distinct points (farther apart than the boundary tolerance)",
        format!("points[{i}] = {:?} and points[{j}] = {:?} coincide", points[i], points[j]),
    )
}

fn spade_error(name: &'static str, e: spade::InsertionError) -> QuadratureError {
    QuadratureError::invalid(
        name,
        "coordinates spade can triangulate (0 or magnitude in [1.8e-43, 3.2e60])",
        format!("{e:?}"),
    )
}

/// Bounding box of a triangle.
fn tri_box(t: &[P2; 3]) -> [f64; 4] {
    let xs = [t[0][0], t[1][0], t[2][0]];
    let ys = [t[0][1], t[1][1], t[2][1]];
    [
        xs.iter().copied().fold(f64::INFINITY, f64::min),
        ys.iter().copied().fold(f64::INFINITY, f64::min),
        xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        ys.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    ]
}

/// Constrained Delaunay triangulation of `nodes` with `edges` as constraints, keeping the faces
/// of odd winding parity (inside the outer ring, outside the holes); counter-clockwise triples.
fn triangulate_constrained(
    nodes: &[P2],
    edges: Vec<[usize; 2]>,
    name: &'static str,
) -> Result<Vec<[usize; 3]>> {
    let verts: Vec<Node> = nodes
        .iter()
        .enumerate()
        .map(|(idx, p)| Node { pos: Point2::new(p[0], p[1]), idx })
        .collect();
    let mut conflict = None;
    let cdt = ConstrainedDelaunayTriangulation::<Node>::try_bulk_load_cdt(verts, edges, |e| {
        conflict.get_or_insert(e);
    })
    .map_err(|e| spade_error(name, e))?;
    if let Some(e) = conflict {
        return Err(QuadratureError::invalid(
            name,
            "boundary segments through the points that do not cross",
            format!("conflicting segment {e:?}"),
        ));
    }
    if cdt.num_vertices() != nodes.len() {
        return Err(QuadratureError::invalid(
            name,
            "distinct points",
            format!("{} points but {} distinct", nodes.len(), cdt.num_vertices()),
        ));
    }
    // Breadth-first flood fill from the outer face; crossing a constraint flips the parity.
    let mut parity: Vec<Option<bool>> = vec![None; cdt.num_all_faces()];
    let mut queue = std::collections::VecDeque::new();
    for e in cdt.directed_edges() {
        if e.face().is_outer() {
            let inner = e.rev().face();
            if let Some(f) = inner.as_inner()
                && parity[f.fix().index()].is_none()
            {
                parity[f.fix().index()] = Some(e.as_undirected().is_constraint_edge());
                queue.push_back(f.fix());
            }
        }
    }
    while let Some(fix) = queue.pop_front() {
        let f = cdt.face(fix);
        let odd = parity[fix.index()].unwrap_or(false);
        for e in f.adjacent_edges() {
            if let Some(g) = e.rev().face().as_inner()
                && parity[g.fix().index()].is_none()
            {
                parity[g.fix().index()] = Some(odd ^ e.as_undirected().is_constraint_edge());
                queue.push_back(g.fix());
            }
        }
    }
    let mut tris = Vec::new();
    for f in cdt.inner_faces() {
        if parity[f.fix().index()] == Some(true) {
            let [a, b, c] = f.vertices().map(|v| v.data().idx);
            tris.push([a, b, c]);
        }
    }
    Ok(tris)
}
