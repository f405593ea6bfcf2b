//! D2Q9 lattice Boltzmann solver for the DFG channel with a circular cylinder.
//!
//! * Collision: two-relaxation-time (TRT) with the incompressible equilibrium of He & Luo,
//!   `f_eq_i = w_i (ρ + 3 c_i·u + 4.5 (c_i·u)² − 1.5 |u|²)` with `u = Σ c_i f_i` (ρ0 = 1), so
//!   steady flows are divergence-free and carry no O(Ma²) density error in the velocity.
//! * Streaming: fused pull scheme, two population arrays (post-collision values), array of
//!   structures `f[node·9 + i]`, rows in parallel with rayon.
//! * Walls `y = 0, H`: halfway bounce-back (nodes at `(j + ½)Δx`, walls halfway to the ghosts).
//! * Inlet `x = 0`: halfway bounce-back of a moving wall carrying the parabolic profile.
//! * Outlet: the last column copies the non-equilibrium and velocity of its neighbour with
//!   density ρ0 = 1 (Guo's extrapolation, which for the He–Luo equilibrium reduces to
//!   `f_i ← f_i(neighbour) − w_i (ρ_neighbour − 1)`).
//! * Cylinder: Bouzidi's linear interpolated bounce-back (or plain halfway bounce-back on the
//!   staircase, for comparison), forces by momentum exchange on the cut links.
//!
//! Physical units follow the DFG benchmark: ρ = 1, ν = 10⁻³, D = 0.1, so `U_mean = Re/100`.

use rayon::prelude::*;

use crate::{Result, SolverError};

/// Lattice velocities, rest first, then the four axis and the four diagonal directions.
pub const C: [(i32, i32); 9] =
    [(0, 0), (1, 0), (0, 1), (-1, 0), (0, -1), (1, 1), (-1, 1), (-1, -1), (1, -1)];
/// Index of the opposite velocity.
pub const OPP: [usize; 9] = [0, 3, 4, 1, 2, 7, 8, 5, 6];
/// D2Q9 weights.
pub const W: [f64; 9] = [
    4.0 / 9.0,
    1.0 / 9.0,
    1.0 / 9.0,
    1.0 / 9.0,
    1.0 / 9.0,
    1.0 / 36.0,
    1.0 / 36.0,
    1.0 / 36.0,
    1.0 / 36.0,
];

/// DFG channel length.
pub const DFG_LENGTH: f64 = 2.2;
/// DFG channel height.
pub const DFG_HEIGHT: f64 = 0.41;
/// DFG cylinder centre.
pub const DFG_CENTER: [f64; 2] = [0.2, 0.2];
/// DFG cylinder radius.
pub const DFG_RADIUS: f64 = 0.05;
/// DFG kinematic viscosity (ρ = 1).
pub const DFG_NU: f64 = 1e-3;

/// Largest lattice speed accepted before a run is declared unstable (Mach ≈ 0.7).
const MAX_LATTICE_SPEED: f64 = 0.4;

/// How the cylinder's curved wall is represented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CurvedWall {
    /// Bouzidi–Firdaouss–Lallemand linear interpolated bounce-back: second order.
    Bouzidi,
    /// Halfway bounce-back on the staircase of solid nodes: first order in the wall position.
    Staircase,
}

/// What happens at `x = 0` and `x = L`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum XBoundary {
    /// Parabolic velocity inlet at `x = 0`, pressure outlet (ρ = 1) at the last column.
    InletOutlet,
    /// Periodic in x (used by the mass-conservation test; nothing drives the flow).
    Periodic,
}

/// Configuration of a [`CylinderLbm`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LbmConfig {
    /// Lattice nodes across the channel height; `Δx = H / ny`.
    pub ny: usize,
    /// Channel length (physical); the lattice has `ceil(length / Δx)` columns.
    pub length: f64,
    /// Reynolds number `U_mean D / ν` with the mean inflow speed `U_mean = (2/3) U_max`.
    pub reynolds: f64,
    /// Inlet centreline speed in lattice units (sets the Mach number and the time step).
    pub u_max_lattice: f64,
    /// TRT magic parameter Λ = (1/ω⁺ − ½)(1/ω⁻ − ½); 3/16 puts bounce-back walls exactly
    /// halfway for Poiseuille flow, 1/4 is the most stable.
    pub magic: f64,
    /// Whether the cylinder is present.
    pub cylinder: bool,
    /// Cylinder wall treatment.
    pub curved_wall: CurvedWall,
    /// Boundaries in x.
    pub x_boundary: XBoundary,
}

impl LbmConfig {
    /// The DFG benchmark at Reynolds number `reynolds` with `ny` nodes across the channel
    /// (`D = ny · 0.1/0.41` nodes per diameter), `u_max = 0.1`, Λ = 3/16, Bouzidi walls.
    pub fn dfg(ny: usize, reynolds: f64) -> Self {
        Self {
            ny,
            length: DFG_LENGTH,
            reynolds,
            u_max_lattice: 0.1,
            magic: 3.0 / 16.0,
            cylinder: true,
            curved_wall: CurvedWall::Bouzidi,
            x_boundary: XBoundary::InletOutlet,
        }
    }

    /// Lattice spacing (physical).
    pub fn dx(&self) -> f64 {
        DFG_HEIGHT / self.ny as f64
    }

    /// Cylinder diameter in lattice units.
    pub fn diameter_lattice(&self) -> f64 {
        2.0 * DFG_RADIUS / self.dx()
    }

    /// Mean inflow speed in lattice units.
    pub fn u_mean_lattice(&self) -> f64 {
        self.u_max_lattice * 2.0 / 3.0
    }

    /// Mean inflow speed in physical units, `Re ν / D`.
    pub fn u_mean_physical(&self) -> f64 {
        self.reynolds * DFG_NU / (2.0 * DFG_RADIUS)
    }

    /// Lattice viscosity `U D / Re`.
    pub fn nu_lattice(&self) -> f64 {
        self.u_mean_lattice() * self.diameter_lattice() / self.reynolds
    }

    /// Relaxation time of the symmetric moments, `τ = 3ν + ½`.
    pub fn tau(&self) -> f64 {
        3.0 * self.nu_lattice() + 0.5
    }

    /// Physical time of one lattice step.
    pub fn dt_physical(&self) -> f64 {
        self.dx() * self.u_mean_lattice() / self.u_mean_physical()
    }

    /// Lattice steps per convective time unit `D / U_mean`.
    pub fn steps_per_convective_time(&self) -> f64 {
        self.diameter_lattice() / self.u_mean_lattice()
    }

    /// Checks every field; errors name the field.
    pub fn validate(&self) -> Result<()> {
        if self.ny < 8 {
            return Err(SolverError::invalid("ny", "at least 8 nodes across the channel", self.ny));
        }
        if !(self.length.is_finite() && self.length >= 0.3 && self.length <= 100.0) {
            return Err(SolverError::invalid(
                "length",
                "a finite channel length in [0.3, 100] (the cylinder ends at x = 0.25)",
                self.length,
            ));
        }
        if self.nx().saturating_mul(self.ny) > 50_000_000 {
            return Err(SolverError::invalid(
                "ny",
                "a lattice of at most 5·10⁷ nodes",
                format!("{} ({} × {})", self.ny, self.nx(), self.ny),
            ));
        }
        if !(self.reynolds.is_finite() && self.reynolds > 0.0) {
            return Err(SolverError::invalid(
                "reynolds",
                "a finite Reynolds number > 0",
                self.reynolds,
            ));
        }
        if !(self.u_max_lattice.is_finite()
            && self.u_max_lattice > 0.0
            && self.u_max_lattice <= 0.2)
        {
            return Err(SolverError::invalid(
                "u_max_lattice",
                "a lattice speed in (0, 0.2] (Mach ≤ 0.35)",
                self.u_max_lattice,
            ));
        }
        if !(self.magic.is_finite() && self.magic > 0.0) {
            return Err(SolverError::invalid("magic", "a finite TRT parameter Λ > 0", self.magic));
        }
        let tau = self.tau();
        // Below τ ≈ 0.505 TRT is not stable at the Mach numbers allowed above.
        if !(0.505..=2.5).contains(&tau) {
            return Err(SolverError::invalid(
                "reynolds",
                format!(
                    "a Reynolds number giving τ = 3ν + ½ in [0.505, 2.5] at ny = {}, u_max = {} \
                     (raise ny or u_max_lattice)",
                    self.ny, self.u_max_lattice
                ),
                format!("{} (τ = {tau:.4})", self.reynolds),
            ));
        }
        Ok(())
    }

    /// Number of lattice columns.
    pub fn nx(&self) -> usize {
        (self.length / self.dx() - 1e-9).ceil().max(2.0) as usize
    }
}

/// Drag and lift on the cylinder at one step, in lattice units and as coefficients
/// `2F / (ρ U_mean² D)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Forces {
    /// Force `(F_x, F_y)` in lattice units.
    pub lattice: [f64; 2],
    /// Drag coefficient.
    pub drag: f64,
    /// Lift coefficient.
    pub lift: f64,
}

/// The D2Q9 TRT lattice Boltzmann solver on the DFG channel.
#[derive(Debug, Clone)]
pub struct CylinderLbm {
    config: LbmConfig,
    nx: usize,
    ny: usize,
    /// Post-collision populations `f[node·9 + i]`, node = `y·nx + x`.
    f: Vec<f64>,
    f_next: Vec<f64>,
    solid: Vec<bool>,
    /// Nodes that need the general (boundary-aware) update.
    special: Vec<bool>,
    /// Wall fraction `q` of link `(node, i)` whose source `node − c_i` is solid (NaN otherwise).
    q: Vec<f64>,
    /// Inlet speed at the half nodes `kΔx/2` (lattice units).
    inlet: Vec<f64>,
    omega_plus: f64,
    omega_minus: f64,
    steps: u64,
}

impl CylinderLbm {
    /// Builds the lattice and initialises it to the Poiseuille profile (zero in the solid) at
    /// ρ = 1, or at rest for [`XBoundary::Periodic`].
    pub fn new(config: LbmConfig) -> Result<Self> {
        config.validate()?;
        let (nx, ny) = (config.nx(), config.ny);
        let dx = config.dx();
        let n = nx * ny;
        let pos = |x: usize, y: usize| [(x as f64 + 0.5) * dx, (y as f64 + 0.5) * dx];
        let has_cylinder = config.cylinder;
        let inside = move |p: [f64; 2]| {
            let (ex, ey) = (p[0] - DFG_CENTER[0], p[1] - DFG_CENTER[1]);
            has_cylinder && ex * ex + ey * ey < DFG_RADIUS * DFG_RADIUS
        };
        let mut solid = vec![false; n];
        for y in 0..ny {
            for x in 0..nx {
                solid[y * nx + x] = inside(pos(x, y));
            }
        }
        let mut q = vec![f64::NAN; n * 9];
        let mut special = vec![false; n];
        for y in 0..ny {
            for x in 0..nx {
                let node = y * nx + x;
                if x == 0 || x == nx - 1 || y == 0 || y == ny - 1 || solid[node] {
                    special[node] = true;
                }
                if solid[node] {
                    continue;
                }
                for (i, &(cx, cy)) in C.iter().enumerate().skip(1) {
                    let (sx, sy) = (x as i64 - cx as i64, y as i64 - cy as i64);
                    if sx < 0 || sy < 0 || sx >= nx as i64 || sy >= ny as i64 {
                        continue;
                    }
                    if solid[sy as usize * nx + sx as usize] {
                        special[node] = true;
                        q[node * 9 + i] = match config.curved_wall {
                            CurvedWall::Bouzidi => {
                                wall_fraction(pos(x, y), [-cx as f64 * dx, -cy as f64 * dx])
                            }
                            CurvedWall::Staircase => 0.5,
                        };
                    }
                }
            }
        }
        let h = DFG_HEIGHT;
        // Inlet speed at every half node, k·Δx/2 for k = 0..=2ny: a link from node row j
        // with vertical velocity c_y crosses x = 0 at height (j + ½ − c_y/2)Δx.
        let inlet = (0..=2 * ny)
            .map(|k| {
                let yy = k as f64 * 0.5 * dx;
                config.u_max_lattice * 4.0 * yy * (h - yy) / (h * h)
            })
            .collect::<Vec<_>>();
        let tau = config.tau();
        let omega_plus = 1.0 / tau;
        let omega_minus = 1.0 / (config.magic / (tau - 0.5) + 0.5);
        let mut lbm = Self {
            nx,
            ny,
            f: vec![0.0; n * 9],
            f_next: vec![0.0; n * 9],
            solid,
            special,
            q,
            inlet,
            omega_plus,
            omega_minus,
            steps: 0,
            config,
        };
        let periodic = lbm.config.x_boundary == XBoundary::Periodic;
        let inlet = lbm.inlet.clone();
        lbm.set_equilibrium(|x, y| {
            let u = if periodic { 0.0 } else { lbm_inlet(&inlet, y, dx) };
            (1.0, if inside([x, y]) { 0.0 } else { u }, 0.0)
        })?;
        Ok(lbm)
    }

    /// The configuration.
    pub fn config(&self) -> &LbmConfig {
        &self.config
    }

    /// Lattice columns and rows `(nx, ny)`.
    pub fn shape(&self) -> (usize, usize) {
        (self.nx, self.ny)
    }

    /// Steps taken since construction.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Physical time since construction.
    pub fn time(&self) -> f64 {
        self.steps as f64 * self.config.dt_physical()
    }

    /// Whether node `(x, y)` lies inside the cylinder.
    pub fn is_solid(&self, x: usize, y: usize) -> bool {
        self.solid[y * self.nx + x]
    }

    /// Sets every node to the equilibrium of `(ρ, u_x, u_y) = field(x, y)` (lattice units,
    /// physical coordinates of the node); solid nodes are set to rest at ρ = 1.
    pub fn set_equilibrium(&mut self, field: impl Fn(f64, f64) -> (f64, f64, f64)) -> Result<()> {
        let dx = self.config.dx();
        for y in 0..self.ny {
            for x in 0..self.nx {
                let node = y * self.nx + x;
                let (rho, ux, uy) = if self.solid[node] {
                    (1.0, 0.0, 0.0)
                } else {
                    field((x as f64 + 0.5) * dx, (y as f64 + 0.5) * dx)
                };
                if !(rho.is_finite() && ux.is_finite() && uy.is_finite())
                    || (ux * ux + uy * uy).sqrt() > MAX_LATTICE_SPEED
                {
                    return Err(SolverError::invalid(
                        "field",
                        format!("finite values with lattice speed ≤ {MAX_LATTICE_SPEED}"),
                        format!("(ρ, u, v) = ({rho}, {ux}, {uy}) at node ({x}, {y})"),
                    ));
                }
                for i in 0..9 {
                    self.f[node * 9 + i] = equilibrium(i, rho, ux, uy);
                }
            }
        }
        self.f_next.copy_from_slice(&self.f);
        Ok(())
    }

    /// Density and lattice velocity `(ρ, u_x, u_y)` of every node, row-major `[y][x]`.
    pub fn moments(&self) -> Vec<(f64, f64, f64)> {
        self.f.chunks_exact(9).map(moments).collect()
    }

    /// Total mass `Σ ρ` over fluid nodes.
    pub fn total_mass(&self) -> f64 {
        self.f
            .chunks_exact(9)
            .zip(&self.solid)
            .filter(|(_, s)| !**s)
            .map(|(f, _)| f.iter().sum::<f64>())
            .sum()
    }

    /// Advances one step with the fast path for bulk nodes and returns the force on the
    /// cylinder, or an error if the flow became unstable (non-finite or lattice speed above
    /// 0.4).
    pub fn step(&mut self) -> Result<Forces> {
        self.step_impl(true)
    }

    /// The same step computed with the general boundary-aware update at every node: the
    /// slow, obviously-correct oracle of [`Self::step`].
    pub fn step_reference(&mut self) -> Result<Forces> {
        self.step_impl(false)
    }

    /// Advances `n` steps and returns the forces after each.
    pub fn advance(&mut self, n: usize) -> Result<Vec<Forces>> {
        (0..n).map(|_| self.step()).collect()
    }

    fn step_impl(&mut self, fast: bool) -> Result<Forces> {
        let nx = self.nx;
        let mut next = std::mem::take(&mut self.f_next);
        let this = &*self;
        let (fx, fy, max_u2) = next
            .par_chunks_mut(nx * 9)
            .enumerate()
            .map(|(y, row)| this.update_row(y, row, fast))
            .reduce(|| (0.0, 0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1, nan_max(a.2, b.2)));
        self.f_next = next;
        std::mem::swap(&mut self.f, &mut self.f_next);
        self.steps += 1;
        if !(max_u2.is_finite() && fx.is_finite() && fy.is_finite())
            || max_u2 > MAX_LATTICE_SPEED * MAX_LATTICE_SPEED
        {
            return Err(SolverError::NotConverged {
                solver: "cylinder_lbm",
                detail: format!(
                    "unstable at step {} (Re {}, ny {}): max lattice speed {:.3e}, force ({fx}, {fy})",
                    self.steps,
                    self.config.reynolds,
                    self.ny,
                    max_u2.sqrt()
                ),
            });
        }
        let u = self.config.u_mean_lattice();
        let scale = 2.0 / (u * u * self.config.diameter_lattice());
        Ok(Forces { lattice: [fx, fy], drag: fx * scale, lift: fy * scale })
    }

    /// Streams and collides row `y` into `row`; returns (F_x, F_y, max |u|²) of the row.
    fn update_row(&self, y: usize, row: &mut [f64], fast: bool) -> (f64, f64, f64) {
        let nx = self.nx;
        let f = &self.f;
        let (mut fx, mut fy, mut max_u2) = (0.0, 0.0, 0.0f64);
        let mut fin = [0.0f64; 9];
        for x in 0..nx {
            let node = y * nx + x;
            let out = &mut row[x * 9..x * 9 + 9];
            if self.solid[node] {
                // Solid nodes keep their rest state; nothing streams out of them.
                out.copy_from_slice(&f[node * 9..node * 9 + 9]);
                continue;
            }
            if fast && !self.special[node] {
                for (i, &(cx, cy)) in C.iter().enumerate() {
                    let src = (y as isize - cy as isize) as usize * nx
                        + (x as isize - cx as isize) as usize;
                    fin[i] = f[src * 9 + i];
                }
            } else {
                let (gx, gy) = self.gather(x, y, &mut fin);
                fx += gx;
                fy += gy;
            }
            let u2 = collide(&fin, out, self.omega_plus, self.omega_minus);
            max_u2 = nan_max(max_u2, u2);
        }
        if self.config.x_boundary == XBoundary::InletOutlet {
            // Outlet: copy the neighbour's velocity and non-equilibrium, with ρ = 1.
            let (last, prev) = ((nx - 1) * 9, (nx - 2) * 9);
            let rho: f64 = row[prev..prev + 9].iter().sum();
            for i in 0..9 {
                row[last + i] = row[prev + i] - W[i] * (rho - 1.0);
            }
        }
        (fx, fy, max_u2)
    }

    /// Incoming populations of fluid node `(x, y)` with every boundary rule applied;
    /// returns the momentum given to the cylinder by the node's cut links.
    fn gather(&self, x: usize, y: usize, fin: &mut [f64; 9]) -> (f64, f64) {
        let (nx, ny) = (self.nx as i64, self.ny as i64);
        let node = y * self.nx + x;
        let f = &self.f;
        let post = |n: usize, i: usize| f[n * 9 + i];
        let (mut fx, mut fy) = (0.0, 0.0);
        for (i, &(cx, cy)) in C.iter().enumerate() {
            let (mut sx, sy) = (x as i64 - cx as i64, y as i64 - cy as i64);
            let o = OPP[i];
            if sy < 0 || sy >= ny {
                fin[i] = post(node, o);
                continue;
            }
            if sx < 0 || sx >= nx {
                match self.config.x_boundary {
                    XBoundary::Periodic => sx = sx.rem_euclid(nx),
                    XBoundary::InletOutlet if sx < 0 => {
                        // Moving-wall bounce-back: 2 w_i ρ0 c_i·u_w / c_s².
                        let k = (2 * y as i64 + 1 - cy as i64) as usize;
                        fin[i] = post(node, o) + 6.0 * W[i] * cx as f64 * self.inlet[k];
                        continue;
                    }
                    XBoundary::InletOutlet => {
                        // Outlet column: overwritten after the row is done.
                        fin[i] = post(node, o);
                        continue;
                    }
                }
            }
            let src = sy as usize * self.nx + sx as usize;
            if !self.solid[src] {
                fin[i] = post(src, i);
                continue;
            }
            let q = self.q[node * 9 + i];
            let (ax, ay) = (x as i64 + cx as i64, y as i64 + cy as i64);
            let away_fluid = ax >= 0
                && ay >= 0
                && ax < nx
                && ay < ny
                && !self.solid[ay as usize * self.nx + ax as usize];
            fin[i] = if q >= 0.5 {
                post(node, o) / (2.0 * q) + (2.0 * q - 1.0) / (2.0 * q) * post(node, i)
            } else if away_fluid {
                let away = ay as usize * self.nx + ax as usize;
                2.0 * q * post(node, o) + (1.0 - 2.0 * q) * post(away, o)
            } else {
                // No fluid node behind: plain bounce-back.
                post(node, o)
            };
            let m = post(node, o) + fin[i];
            fx -= cx as f64 * m;
            fy -= cy as f64 * m;
        }
        (fx, fy)
    }
}

fn lbm_inlet(inlet: &[f64], y: f64, dx: f64) -> f64 {
    // `inlet` holds half-node values; a node row sits at an odd half-node index.
    let k = (2.0 * y / dx).round().clamp(0.0, (inlet.len() - 1) as f64) as usize;
    inlet[k]
}

/// `max` that propagates NaN.
fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() { f64::NAN } else { a.max(b) }
}

/// He–Luo incompressible equilibrium.
pub fn equilibrium(i: usize, rho: f64, ux: f64, uy: f64) -> f64 {
    let (cx, cy) = (C[i].0 as f64, C[i].1 as f64);
    let cu = cx * ux + cy * uy;
    W[i] * (rho + 3.0 * cu + 4.5 * cu * cu - 1.5 * (ux * ux + uy * uy))
}

/// `(ρ, u_x, u_y)` of one node's populations.
pub fn moments(f: &[f64]) -> (f64, f64, f64) {
    let rho = f.iter().sum();
    let ux = f[1] - f[3] + f[5] - f[6] - f[7] + f[8];
    let uy = f[2] - f[4] + f[5] + f[6] - f[7] - f[8];
    (rho, ux, uy)
}

/// TRT collision of `fin` into `out`; returns |u|².
fn collide(fin: &[f64; 9], out: &mut [f64], omega_plus: f64, omega_minus: f64) -> f64 {
    let (rho, ux, uy) = moments(fin);
    let u2 = ux * ux + uy * uy;
    let base = 1.5 * u2;
    out[0] = fin[0] - omega_plus * (fin[0] - W[0] * (rho - base));
    for (i, o) in [(1usize, 3usize), (2, 4), (5, 7), (6, 8)] {
        let (cx, cy) = (C[i].0 as f64, C[i].1 as f64);
        let cu = cx * ux + cy * uy;
        let eq_plus = W[i] * (rho + 4.5 * cu * cu - base);
        let eq_minus = W[i] * 3.0 * cu;
        let f_plus = 0.5 * (fin[i] + fin[o]);
        let f_minus = 0.5 * (fin[i] - fin[o]);
        let dp = omega_plus * (f_plus - eq_plus);
        let dm = omega_minus * (f_minus - eq_minus);
        out[i] = fin[i] - dp - dm;
        out[o] = fin[o] - dp + dm;
    }
    u2
}

/// Fraction `q ∈ (0, 1]` of the segment `p → p + d` at which it first meets the cylinder.
fn wall_fraction(p: [f64; 2], d: [f64; 2]) -> f64 {
    let (ex, ey) = (p[0] - DFG_CENTER[0], p[1] - DFG_CENTER[1]);
    let a = d[0] * d[0] + d[1] * d[1];
    let b = 2.0 * (ex * d[0] + ey * d[1]);
    let c = ex * ex + ey * ey - DFG_RADIUS * DFG_RADIUS;
    let disc = (b * b - 4.0 * a * c).max(0.0);
    let t = (-b - disc.sqrt()) / (2.0 * a);
    // p is fluid (c ≥ 0) and p + d is solid, so the first root lies in [0, 1].
    t.clamp(1e-6, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collision_conserves_mass_and_momentum() {
        let fin = [0.4, 0.12, 0.1, 0.09, 0.11, 0.03, 0.02, 0.025, 0.028];
        let mut out = [0.0; 9];
        collide(&fin, &mut out, 1.3, 0.8);
        let (a, b) = (moments(&fin), moments(&out));
        // Collision reorders sums of nine O(0.1) terms: roundoff only.
        assert!(
            (a.0 - b.0).abs() < 1e-15 && (a.1 - b.1).abs() < 1e-15 && (a.2 - b.2).abs() < 1e-15
        );
    }

    #[test]
    fn wall_fraction_matches_the_circle_along_an_axis() {
        // From (0.14, 0.2) towards +x, the circle x = 0.15 is 0.01 away: q = 0.01/0.02.
        let q = wall_fraction([0.14, 0.2], [0.02, 0.0]);
        assert!((q - 0.5).abs() < 1e-12, "q = {q}");
    }
}
