//! Physical fields `(u, v, p)` on the lattice and their bilinear interpolation to any point of
//! the channel, e.g. a fixed irregular point cloud.
//!
//! Values live at node centres `((i + ½)Δx, (j + ½)Δx)`. A ghost layer around the lattice makes
//! the interpolant honour the boundary conditions on the edges of the node hull: velocity
//! zero on the walls (odd reflection), the parabolic profile at the inlet, and zero normal
//! gradient of pressure at walls and inlet and of everything at the outlet. Nodes inside the
//! cylinder carry zero velocity and a pressure extended from the fluid by neighbour averages,
//! so interpolation within one cell of the cylinder is first order only.

use super::lattice::{CylinderLbm, DFG_CENTER, DFG_HEIGHT, DFG_RADIUS};
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
        let moments = self.moments();
        for y in 0..ny {
            for x in 0..nx {
                if self.is_solid(x, y) {
                    continue;
                }
                let (rho, ux, uy) = moments[y * nx + x];
                let e = (y + 1) * w + x + 1;
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
        NodalFields { width: w, height: h, dx, length: nx as f64 * dx, u, v, p }
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

    /// Pressure at the cylinder surface at angle `theta` (from +x), extrapolated
    /// quadratically along the normal from three points 1.5Δx, 3Δx, 4.5Δx away, whose
    /// interpolation stencils are all fluid.
    pub fn surface_pressure(&self, theta: f64) -> f64 {
        let (c, s) = (theta.cos(), theta.sin());
        let at = |k: f64| {
            let r = DFG_RADIUS + k * 1.5 * self.dx;
            self.interpolate(DFG_CENTER[0] + r * c, DFG_CENTER[1] + r * s)[2]
        };
        // Quadratic through equally spaced samples, evaluated one spacing before the first.
        3.0 * at(1.0) - 3.0 * at(2.0) + at(3.0)
    }

    /// The DFG pressure difference `p(0.15, 0.2) − p(0.25, 0.2)` (front minus back).
    pub fn pressure_difference(&self) -> f64 {
        self.surface_pressure(std::f64::consts::PI) - self.surface_pressure(0.0)
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
