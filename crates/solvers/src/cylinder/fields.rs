//! Physical fields `(u, v, p)` on the lattice and their bilinear interpolation to any point of
//! the channel, e.g. a fixed irregular point cloud.
//!
//! Values live at node centres `((i + ½)Δx, (j + ½)Δx)`. A ghost layer around the lattice makes
//! the interpolant honour the boundary conditions on the edges of the node hull: velocity
//! zero on the walls (odd reflection), the parabolic profile at the inlet, and zero normal
//! gradient of pressure at walls and inlet and of everything at the outlet. Nodes inside the
//! cylinder carry zero velocity and a pressure extended from the fluid by neighbour averages,
//! so interpolation within one cell of the cylinder is first order only.
//!
//! Surface quantities (pressure and wall shear on the cylinder, hence Δp and the pressure and
//! friction parts of the drag) come from least-squares polynomial fits of the fluid nodes next
//! to the wall, not from the interpolant: at the front stagnation point the pressure rises by
//! about μa (a the strain rate) inside a viscous layer only ~2Δx thick at D = 20, which
//! extrapolation from points a few Δx out misses (docs/solvers.md, "Pressure difference").

use super::lattice::{CylinderLbm, DFG_CENTER, DFG_HEIGHT, DFG_NU, DFG_RADIUS};
use crate::{Result, SolverError};

/// `(u, v, p)` in physical units (ρ = 1, pressure relative to the outlet) on the lattice
/// nodes plus one ghost layer, ready for interpolation.
#[derive(Debug, Clone)]
pub struct NodalFields {
    /// Extended columns `nx + 2`; extended node `(X, Y)` sits at `((X − ½)Δx, (Y − ½)Δx)`.
    width: usize,
    height: usize,
    dx: f64,
    /// Largest x covered by lattice nodes plus half a cell.
    length: f64,
    u: Vec<f64>,
    v: Vec<f64>,
    p: Vec<f64>,
    /// Whether extended node `e` is a lattice fluid node (false for ghosts and solid nodes).
    fluid: Vec<bool>,
    /// Mean inflow speed (physical), the scale of the force coefficients.
    u_mean: f64,
}

/// Depth of the surface-fit window into the fluid, in Δx: deep enough for a cubic in the
/// normal direction, shallow enough to stay inside the stagnation-point viscous layer at D = 20.
const FIT_DEPTH: f64 = 4.5;
/// Half-width of the surface-fit window along the wall (arc length), in Δx.
const FIT_HALF_WIDTH: f64 = 3.5;

/// Pressure and friction parts of the force on the cylinder, as coefficients `2F/(ρU²D)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurfaceForces {
    /// Drag and lift from the surface pressure, `−∮ p n dS`.
    pub pressure: [f64; 2],
    /// Drag and lift from the wall shear, `∮ μ ∂u_t/∂n t dS`.
    pub friction: [f64; 2],
}

impl SurfaceForces {
    /// Total drag coefficient (pressure + friction).
    pub fn drag(&self) -> f64 {
        self.pressure[0] + self.friction[0]
    }

    /// Total lift coefficient (pressure + friction).
    pub fn lift(&self) -> f64 {
        self.pressure[1] + self.friction[1]
    }
}

impl CylinderLbm {
    /// The current `(u, v, p)` in physical units, with ghosts, for interpolation.
    pub fn nodal_fields(&self) -> NodalFields {
        let config = self.config();
        let (nx, ny) = self.shape();
        let dx = config.dx();
        let speed = config.u_mean_physical() / config.u_mean_lattice();
        let (w, h) = (nx + 2, ny + 2);
        let mut u = vec![0.0; w * h];
        let mut v = vec![0.0; w * h];
        let mut p = vec![f64::NAN; w * h];
        let mut fluid = vec![false; w * h];
        let moments = self.moments();
        for y in 0..ny {
            for x in 0..nx {
                if self.is_solid(x, y) {
                    continue;
                }
                let (rho, ux, uy) = moments[y * nx + x];
                let e = (y + 1) * w + x + 1;
                fluid[e] = true;
                u[e] = ux * speed;
                v[e] = uy * speed;
                // p = c_s² (ρ − 1) in lattice units, scaled by (Δx/Δt)².
                p[e] = (rho - 1.0) / 3.0 * speed * speed;
            }
        }
        // Extend the pressure into the cylinder layer by layer from the fluid side.
        loop {
            let missing: Vec<usize> = (1..=ny)
                .flat_map(|y| (1..=nx).map(move |x| y * w + x))
                .filter(|&e| p[e].is_nan())
                .collect();
            if missing.is_empty() {
                break;
            }
            let mut filled = Vec::new();
            for &e in &missing {
                let (mut sum, mut count) = (0.0, 0);
                for d in [1isize, -1, w as isize, -(w as isize)] {
                    let val = p[(e as isize + d) as usize];
                    if !val.is_nan() {
                        sum += val;
                        count += 1;
                    }
                }
                if count > 0 {
                    filled.push((e, sum / count as f64));
                }
            }
            if filled.is_empty() {
                // Only possible without any fluid node, which the constructor rules out.
                for e in missing {
                    p[e] = 0.0;
                }
                break;
            }
            for (e, val) in filled {
                p[e] = val;
            }
        }
        // Ghost columns: inlet (x < 0) and outlet (x > L).
        for y in 1..=ny {
            let yy = (y as f64 - 0.5) * dx;
            let inflow = config.u_mean_physical() * 1.5 * 4.0 * yy * (DFG_HEIGHT - yy)
                / (DFG_HEIGHT * DFG_HEIGHT);
            let (g, a) = (y * w, y * w + 1);
            u[g] = 2.0 * inflow - u[a];
            v[g] = -v[a];
            p[g] = p[a];
            let (g, a) = (y * w + nx + 1, y * w + nx);
            u[g] = u[a];
            v[g] = v[a];
            p[g] = p[a];
        }
        // Ghost rows: no-slip walls at y = 0 and y = H.
        for x in 0..w {
            for (g, a) in [(x, w + x), ((ny + 1) * w + x, ny * w + x)] {
                u[g] = -u[a];
                v[g] = -v[a];
                p[g] = p[a];
            }
        }
        NodalFields {
            width: w,
            height: h,
            dx,
            length: nx as f64 * dx,
            u,
            v,
            p,
            fluid,
            u_mean: config.u_mean_physical(),
        }
    }
}

impl NodalFields {
    /// Bilinear interpolation of `(u, v, p)` at each point; points must lie in
    /// `[0, L] × [0, H]` (L the lattice length).
    pub fn sample(&self, points: &[[f64; 2]]) -> Result<Vec<[f64; 3]>> {
        let eps = 1e-9 * self.dx;
        points
            .iter()
            .map(|&[px, py]| {
                if !(px >= -eps && px <= self.length + eps && py >= -eps && py <= DFG_HEIGHT + eps)
                {
                    return Err(SolverError::invalid(
                        "points",
                        format!("points in [0, {}] × [0, {DFG_HEIGHT}]", self.length),
                        format!("({px}, {py})"),
                    ));
                }
                Ok(self.interpolate(px, py))
            })
            .collect()
    }

    /// Pressure at the cylinder surface at angle `theta` (from +x): the value at the wall of a
    /// least-squares fit of the fluid-node pressures within 4.5Δx of the wall and 3.5Δx of
    /// the point along it, cubic in the normal distance `s` and quadratic along the wall `t`
    /// (basis `1, s, s², s³, t, st, s²t, t², st²`). Exact for such polynomials in `(s, t)`.
    pub fn surface_pressure(&self, theta: f64) -> Result<f64> {
        let c = self.surface_fit(theta, false, |e| self.p[e])?;
        Ok(c[0])
    }

    /// Normal derivative of the tangential velocity at the wall, `∂u_t/∂n` with
    /// `t = (−sin θ, cos θ)`, from a least-squares fit like [`Self::surface_pressure`]'s that
    /// vanishes on the wall (basis `s·(1, s, s², t, st, t²)`).
    pub fn wall_shear_rate(&self, theta: f64) -> Result<f64> {
        let (sin, cos) = theta.sin_cos();
        let c = self.surface_fit(theta, true, |e| -self.u[e] * sin + self.v[e] * cos)?;
        Ok(c[0] / self.dx)
    }

    /// The DFG pressure difference `p(0.15, 0.2) − p(0.25, 0.2)` (front minus back) from
    /// [`Self::surface_pressure`].
    pub fn pressure_difference(&self) -> Result<f64> {
        Ok(self.surface_pressure(std::f64::consts::PI)? - self.surface_pressure(0.0)?)
    }

    /// Pressure and friction forces on the cylinder integrated from the fitted surface
    /// pressure and wall shear at `n` equally spaced angles (midpoint rule, spectrally
    /// accurate for a smooth periodic traction). An independent check of the momentum-exchange
    /// force and of the surface pressure behind Δp.
    pub fn surface_forces(&self, n: usize) -> Result<SurfaceForces> {
        if n < 8 {
            return Err(SolverError::invalid("n", "at least 8 angles", n));
        }
        let ds = 2.0 * std::f64::consts::PI * DFG_RADIUS / n as f64;
        let (mut pressure, mut friction) = ([0.0; 2], [0.0; 2]);
        for k in 0..n {
            let theta = (k as f64 + 0.5) * 2.0 * std::f64::consts::PI / n as f64;
            let (sin, cos) = theta.sin_cos();
            let p = self.surface_pressure(theta)?;
            // ρ = 1, so μ = ν; the traction of a no-slip wall is −p n + μ ∂u_t/∂n t.
            let tau = DFG_NU * self.wall_shear_rate(theta)?;
            pressure[0] -= p * cos * ds;
            pressure[1] -= p * sin * ds;
            friction[0] -= tau * sin * ds;
            friction[1] += tau * cos * ds;
        }
        let scale = 2.0 / (self.u_mean * self.u_mean * 2.0 * DFG_RADIUS);
        Ok(SurfaceForces {
            pressure: pressure.map(|f| f * scale),
            friction: friction.map(|f| f * scale),
        })
    }

    /// Least-squares coefficients of `value(e)` (extended node `e`) over the fluid nodes of the window at
    /// angle `theta`, in the local coordinates `s = (r − R)/Δx`, `t = R(φ − θ)/Δx`; the
    /// first coefficient is the wall value (or, with `through_zero`, the `s` slope).
    fn surface_fit(
        &self,
        theta: f64,
        through_zero: bool,
        value: impl Fn(usize) -> f64,
    ) -> Result<Vec<f64>> {
        if !theta.is_finite() {
            return Err(SolverError::invalid("theta", "a finite angle", theta));
        }
        let dx = self.dx;
        let (sin, cos) = theta.sin_cos();
        let centre = [DFG_CENTER[0] + DFG_RADIUS * cos, DFG_CENTER[1] + DFG_RADIUS * sin];
        let reach = FIT_DEPTH + FIT_HALF_WIDTH + 1.0;
        let range = |c: f64, n: usize| {
            let lo = (c / dx + 0.5 - reach).floor().max(1.0) as usize;
            let hi = ((c / dx + 0.5 + reach).ceil() as usize).min(n - 2);
            lo..=hi
        };
        let k = if through_zero { 6 } else { 9 };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for yy in range(centre[1], self.height) {
            for xx in range(centre[0], self.width) {
                let e = yy * self.width + xx;
                if !self.fluid[e] {
                    continue;
                }
                let (px, py) = (
                    (xx as f64 - 0.5) * dx - DFG_CENTER[0],
                    (yy as f64 - 0.5) * dx - DFG_CENTER[1],
                );
                let s = ((px * px + py * py).sqrt() - DFG_RADIUS) / dx;
                let dphi = (py.atan2(px) - theta + std::f64::consts::PI)
                    .rem_euclid(2.0 * std::f64::consts::PI)
                    - std::f64::consts::PI;
                let t = DFG_RADIUS * dphi / dx;
                if s > FIT_DEPTH || t.abs() > FIT_HALF_WIDTH {
                    continue;
                }
                if through_zero {
                    a.extend_from_slice(&[s, s * s, s * s * s, s * t, s * s * t, s * t * t]);
                } else {
                    a.extend_from_slice(&[
                        1.0,
                        s,
                        s * s,
                        s * s * s,
                        t,
                        s * t,
                        s * s * t,
                        t * t,
                        s * t * t,
                    ]);
                }
                b.push(value(e));
            }
        }
        least_squares(&mut a, &mut b, k).ok_or_else(|| {
            SolverError::invalid(
                "theta",
                format!(
                    "a surface point with enough fluid nodes for a {k}-term fit within \
                     {FIT_DEPTH}Δx (is the lattice too coarse for the cylinder?)"
                ),
                format!("{theta} ({} nodes)", b.len()),
            )
        })
    }

    fn interpolate(&self, px: f64, py: f64) -> [f64; 3] {
        let fx = (px / self.dx + 0.5).clamp(0.0, (self.width - 1) as f64);
        let fy = (py / self.dx + 0.5).clamp(0.0, (self.height - 1) as f64);
        let i = (fx.floor() as usize).min(self.width - 2);
        let j = (fy.floor() as usize).min(self.height - 2);
        let (tx, ty) = (fx - i as f64, fy - j as f64);
        let e = j * self.width + i;
        let corners = [
            (e, (1.0 - tx) * (1.0 - ty)),
            (e + 1, tx * (1.0 - ty)),
            (e + self.width, (1.0 - tx) * ty),
            (e + self.width + 1, tx * ty),
        ];
        let mut out = [0.0; 3];
        for (k, wk) in corners {
            out[0] += wk * self.u[k];
            out[1] += wk * self.v[k];
            out[2] += wk * self.p[k];
        }
        out
    }
}

/// Solves `min ‖A c − b‖` for `A` with `k` columns (row-major, rows as in `b`) by Householder
/// QR; `None` when there are fewer rows than columns or `A` is numerically rank deficient.
fn least_squares(a: &mut [f64], b: &mut [f64], k: usize) -> Option<Vec<f64>> {
    let m = b.len();
    if m < k {
        return None;
    }
    let scale = a.iter().fold(0.0f64, |acc, v| acc.max(v.abs()));
    for j in 0..k {
        let norm = (j..m).map(|i| a[i * k + j] * a[i * k + j]).sum::<f64>().sqrt();
        // Relative to the largest entry: columns that are (nearly) dependent carry no data.
        if norm <= 1e-10 * scale {
            return None;
        }
        let alpha = if a[j * k + j] > 0.0 { -norm } else { norm };
        // Householder vector v = x − αe₁ stored in place of column j (rows j..m).
        a[j * k + j] -= alpha;
        let vnorm2 = (j..m).map(|i| a[i * k + j] * a[i * k + j]).sum::<f64>();
        for col in j + 1..k {
            let dot = (j..m).map(|i| a[i * k + j] * a[i * k + col]).sum::<f64>();
            let f = 2.0 * dot / vnorm2;
            for i in j..m {
                a[i * k + col] -= f * a[i * k + j];
            }
        }
        let dot = (j..m).map(|i| a[i * k + j] * b[i]).sum::<f64>();
        let f = 2.0 * dot / vnorm2;
        for i in j..m {
            b[i] -= f * a[i * k + j];
        }
        a[j * k + j] = alpha;
    }
    let mut c = vec![0.0; k];
    for j in (0..k).rev() {
        let sum: f64 = (j + 1..k).map(|l| a[j * k + l] * c[l]).sum();
        c[j] = (b[j] - sum) / a[j * k + j];
    }
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::least_squares;

    #[test]
    fn least_squares_recovers_an_overdetermined_linear_fit() {
        // y = 2 − 3x + 0.5x² sampled at 6 points: consistent data, so the residual is zero.
        let xs = [0.0, 0.5, 1.0, 2.0, 3.0, 4.5];
        let mut a: Vec<f64> = xs.iter().flat_map(|&x| [1.0, x, x * x]).collect();
        let mut b: Vec<f64> = xs.iter().map(|&x| 2.0 - 3.0 * x + 0.5 * x * x).collect();
        let c = least_squares(&mut a, &mut b, 3).expect("full rank");
        // Householder QR on O(10) entries: roundoff only.
        for (got, want) in c.iter().zip([2.0, -3.0, 0.5]) {
            assert!((got - want).abs() < 1e-12, "{c:?}");
        }
    }

    #[test]
    fn least_squares_refuses_dependent_columns_and_too_few_rows() {
        let mut a = vec![1.0, 2.0, 1.0, 2.0, 1.0, 2.0];
        let mut b = vec![1.0, 2.0, 3.0];
        assert!(least_squares(&mut a, &mut b, 2).is_none());
        let mut a = vec![1.0, 0.0, 0.0, 1.0];
        let mut b = vec![1.0];
        assert!(least_squares(&mut a, &mut b, 4).is_none());
    }
}
