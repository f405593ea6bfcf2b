//! Poisson-disk point clouds in a [`Domain`], with a spacing that may vary in space.
//!
//! The boundary is sampled first (every polygon vertex, then points along each edge at the
//! local spacing), then the interior by Bridson's dart throwing with variable radius: a
//! candidate `q` is kept when every existing point `s` is at least `min(h(q), h(s))` away.
//! Clouds from here suit both weight methods, including [`WeightMethod::LumpedDelaunay`], since
//! they contain every boundary vertex.
//!
//! [`WeightMethod::LumpedDelaunay`]: super::WeightMethod::LumpedDelaunay

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::geometry::{P2, dist};
use super::{Domain, Location};
use crate::{QuadratureError, Result};

/// Candidates tried around an active point before it retires (Bridson's `k`).
const CANDIDATES: usize = 30;
/// Sub-intervals per boundary edge used to integrate `1 / h` along it.
const EDGE_SUBDIVISIONS: usize = 16;
/// Largest background grid accepted, to bound memory and run time.
const MAX_GRID_CELLS: usize = 50_000_000;

/// A sampled point cloud: boundary points first, then interior points.
#[derive(Debug, Clone, PartialEq)]
pub struct PointCloud {
    /// All points; `points[..n_boundary]` lie on the boundary (polygon vertices first, in
    /// [`Domain::boundary_vertices`] order), the rest strictly inside.
    pub points: Vec<[f64; 2]>,
    /// How many leading points lie on the boundary.
    pub n_boundary: usize,
}

/// A spacing that grows linearly with the distance from a circle, from `h_near` on it to at
/// most `h_far`: `h(p) = min(h_far, h_near + growth · max(0, |p − center| − radius))`.
///
/// With the DFG cylinder's centre and radius this refines a cloud near the obstacle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RadialSpacing {
    center: [f64; 2],
    radius: f64,
    h_near: f64,
    h_far: f64,
    growth: f64,
}

impl RadialSpacing {
    /// Checks `0 < h_near ≤ h_far`, `radius ≥ 0`, `growth ≥ 0`, all finite.
    pub fn new(
        center: [f64; 2],
        radius: f64,
        h_near: f64,
        h_far: f64,
        growth: f64,
    ) -> Result<Self> {
        if !(center[0].is_finite() && center[1].is_finite()) {
            return Err(QuadratureError::invalid("center", "finite", format!("{center:?}")));
        }
        if !(radius.is_finite() && radius >= 0.0) {
            return Err(QuadratureError::invalid("radius", "finite and ≥ 0", radius));
        }
        if !(h_near.is_finite() && h_near > 0.0) {
            return Err(QuadratureError::invalid("h_near", "finite and > 0", h_near));
        }
        if !(h_far.is_finite() && h_far >= h_near) {
            return Err(QuadratureError::invalid(
                "h_far",
                format!("finite and ≥ h_near = {h_near}"),
                h_far,
            ));
        }
        if !(growth.is_finite() && growth >= 0.0) {
            return Err(QuadratureError::invalid("growth", "finite and ≥ 0", growth));
        }
        Ok(Self { center, radius, h_near, h_far, growth })
    }

    /// The spacing at `p`.
    pub fn at(&self, p: [f64; 2]) -> f64 {
        let d = (dist(p, self.center) - self.radius).max(0.0);
        (self.h_near + self.growth * d).min(self.h_far)
    }

    /// The smallest spacing, `h_near`: the `h_min` to pass to [`Domain::poisson_disk`].
    pub fn h_min(&self) -> f64 {
        self.h_near
    }
}

impl Domain {
    /// A Poisson-disk point cloud with local spacing `spacing(p)` (every value finite and
    /// `≥ h_min`), reproducible from `seed`.
    ///
    /// Errors name `h_min` (not finite and positive, or so small that the background grid would
    /// exceed 5·10⁷ cells) or `spacing` (a value below `h_min` or not finite).
    pub fn poisson_disk(
        &self,
        h_min: f64,
        spacing: impl Fn([f64; 2]) -> f64,
        seed: u64,
    ) -> Result<PointCloud> {
        if !(h_min.is_finite() && h_min > 0.0) {
            return Err(QuadratureError::invalid("h_min", "finite and > 0", h_min));
        }
        let h = |p: P2| -> Result<f64> {
            let v = spacing(p);
            if v.is_finite() && v >= h_min {
                Ok(v)
            } else {
                Err(QuadratureError::invalid(
                    "spacing",
                    format!("finite values ≥ h_min = {h_min}"),
                    format!("{v} at {p:?}"),
                ))
            }
        };
        let [x0, y0, x1, y1] = self.bbox;
        // Cells of side h_min/√2 hold at most one interior point each.
        let cell = h_min / std::f64::consts::SQRT_2;
        let nx = ((x1 - x0) / cell).ceil() as usize + 1;
        let ny = ((y1 - y0) / cell).ceil() as usize + 1;
        if nx.saturating_mul(ny) > MAX_GRID_CELLS {
            return Err(QuadratureError::invalid(
                "h_min",
                format!("a spacing giving at most {MAX_GRID_CELLS} background cells"),
                format!("{h_min} ({nx} × {ny} cells)"),
            ));
        }
        let mut grid = Grid { x0, y0, cell, nx, ny, cells: vec![Vec::new(); nx * ny] };
        let mut points: Vec<P2> = Vec::new();
        let mut radii: Vec<f64> = Vec::new();

        for p in self.boundary_vertices() {
            grid.insert(p, points.len());
            radii.push(h(p)?);
            points.push(p);
        }
        for ring in &self.rings {
            let n = ring.len();
            for e in 0..n {
                for p in edge_samples(ring[e], ring[(e + 1) % n], &h)? {
                    grid.insert(p, points.len());
                    radii.push(h(p)?);
                    points.push(p);
                }
            }
        }
        let n_boundary = points.len();

        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut active: Vec<usize> = (0..n_boundary).collect();
        while !active.is_empty() {
            let k = rng.random_range(0..active.len());
            let (p, r) = (points[active[k]], radii[active[k]]);
            let mut placed = false;
            for _ in 0..CANDIDATES {
                let rho = r * (1.0 + rng.random::<f64>());
                let theta = 2.0 * std::f64::consts::PI * rng.random::<f64>();
                let q = [p[0] + rho * theta.cos(), p[1] + rho * theta.sin()];
                if q[0] < x0 || q[0] > x1 || q[1] < y0 || q[1] > y1 {
                    continue;
                }
                if self.locate(q) != Location::Interior {
                    continue;
                }
                let rq = h(q)?;
                if grid.any_within(q, rq, |s| dist(q, points[s]) < rq.min(radii[s])) {
                    continue;
                }
                grid.insert(q, points.len());
                active.push(points.len());
                radii.push(rq);
                points.push(q);
                placed = true;
                break;
            }
            if !placed {
                active.swap_remove(k);
            }
        }
        Ok(PointCloud { points, n_boundary })
    }
}

/// Points strictly between `a` and `b`, spaced so that each gap is about the local spacing:
/// the number of gaps is the rounded integral of `1 / h` along the edge, and the points sit at
/// equal steps of that integral.
fn edge_samples(a: P2, b: P2, h: &impl Fn(P2) -> Result<f64>) -> Result<Vec<P2>> {
    let len = dist(a, b);
    let m = EDGE_SUBDIVISIONS;
    let mut cum = vec![0.0; m + 1];
    for k in 0..m {
        let t = (k as f64 + 0.5) / m as f64;
        let mid = [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])];
        cum[k + 1] = cum[k] + len / m as f64 / h(mid)?;
    }
    let n_gaps = (cum[m].round() as usize).max(1);
    let mut out = Vec::with_capacity(n_gaps - 1);
    let mut k = 0;
    for j in 1..n_gaps {
        let target = cum[m] * j as f64 / n_gaps as f64;
        while cum[k + 1] < target {
            k += 1;
        }
        let t = (k as f64 + (target - cum[k]) / (cum[k + 1] - cum[k])) / m as f64;
        out.push([a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])]);
    }
    Ok(out)
}

/// Background grid over the bounding box; each cell lists the points in it.
#[derive(Debug)]
struct Grid {
    x0: f64,
    y0: f64,
    cell: f64,
    nx: usize,
    ny: usize,
    cells: Vec<Vec<usize>>,
}

impl Grid {
    fn index(&self, p: P2) -> (usize, usize) {
        let i = (((p[0] - self.x0) / self.cell).floor().max(0.0) as usize).min(self.nx - 1);
        let j = (((p[1] - self.y0) / self.cell).floor().max(0.0) as usize).min(self.ny - 1);
        (i, j)
    }

    fn insert(&mut self, p: P2, id: usize) {
        let (i, j) = self.index(p);
        self.cells[j * self.nx + i].push(id);
    }

    /// Whether `hit` holds for any point in the cells within distance `r` of `q`.
    fn any_within(&self, q: P2, r: f64, hit: impl Fn(usize) -> bool) -> bool {
        let (i, j) = self.index(q);
        let reach = (r / self.cell).ceil() as usize;
        let (i0, i1) = (i.saturating_sub(reach), i.saturating_add(reach).min(self.nx - 1));
        let (j0, j1) = (j.saturating_sub(reach), j.saturating_add(reach).min(self.ny - 1));
        for jj in j0..=j1 {
            for ii in i0..=i1 {
                if self.cells[jj * self.nx + ii].iter().any(|&s| hit(s)) {
                    return true;
                }
            }
        }
        false
    }
}
