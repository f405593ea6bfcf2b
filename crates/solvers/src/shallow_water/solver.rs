//! The spectral-transform shallow-water solver on the rotating sphere.
//!
//! State: the spectra of the total geopotential `φ = g h`, the relative vorticity `ζ` and the
//! divergence `δ` (orthonormal real SHT without Condon–Shortley phase, triangular truncation
//! `m ≤ l < lmax`). Tendencies, with `η = ζ + f`, `f = 2Ω sin(lat)`:
//! `∂ζ/∂t = −∇·(η u)`, `∂δ/∂t = k̂·∇×(η u) − ∇²(φ + ½|u|²)`, `∂φ/∂t = −∇·(φ u)`.
//! Products are formed on the grid; curls and divergences of the product winds come from one
//! forward vector SHT each, the wind from the inverse vector SHT of `(ζ, δ)`.
//! Time stepping is third-order Adams–Bashforth, followed after every step by torch-harmonics'
//! implicit hyperdiffusion of `ζ` and `δ`. See `docs/solvers.md` for the derivation.

use std::sync::Arc;

use lno_quadrature::{
    Complex64, CsPhase, QuadratureError, Sht, Spectrum, SphereGrid, SphereGridKind, VectorSht,
};
use rayon::prelude::*;

use crate::{Result, SolverError};

/// Adams–Bashforth 3 is stable on the imaginary axis for `|ω Δt| ≤ 0.7236`; gravity waves of
/// the mean depth must stay inside (rounded down).
pub const AB3_IMAGINARY_LIMIT: f64 = 0.72;

/// Turns a quadrature error into the solver's error, keeping the parameter name.
pub(crate) fn quad_err(error: QuadratureError) -> SolverError {
    match error {
        QuadratureError::InvalidParameter { name, expected, got } => {
            SolverError::InvalidParameter { name, expected, got }
        }
        other => SolverError::NotConverged { solver: "shallow_water", detail: other.to_string() },
    }
}

/// Radius, rotation rate and gravity of the planet.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Planet {
    /// Radius `a` in m.
    pub radius: f64,
    /// Angular velocity `Ω` in s⁻¹.
    pub omega: f64,
    /// Gravitational acceleration `g` in m s⁻².
    pub gravity: f64,
}

impl Planet {
    /// The Earth as in torch-harmonics' solver (and Williamson et al. 1992).
    pub const EARTH: Planet = Planet { radius: 6.37122e6, omega: 7.292e-5, gravity: 9.80616 };

    fn validate(&self) -> Result<()> {
        if !(self.radius.is_finite() && self.radius > 0.0) {
            return Err(SolverError::invalid("radius", "a finite radius > 0 (m)", self.radius));
        }
        if !self.omega.is_finite() {
            return Err(SolverError::invalid("omega", "a finite rotation rate (1/s)", self.omega));
        }
        if !(self.gravity.is_finite() && self.gravity > 0.0) {
            return Err(SolverError::invalid(
                "gravity",
                "a finite gravity > 0 (m/s²)",
                self.gravity,
            ));
        }
        Ok(())
    }
}

/// How Adams–Bashforth 3 starts before it has two past tendencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AbStart {
    /// Forward Euler, then textbook AB2 (`3/2, −1/2`), then AB3.
    Textbook,
    /// torch-harmonics' start: forward Euler, then `28/12·new − 16/12·previous` (its tendency
    /// slots start equal), then AB3. For comparisons with the reference.
    TorchHarmonics,
}

/// Everything that determines the solver.
#[derive(Debug, Clone, PartialEq)]
pub struct SweConfig {
    /// Latitude rule of the grid.
    pub grid: SphereGridKind,
    /// Latitudes.
    pub nlat: usize,
    /// Longitudes.
    pub nlon: usize,
    /// Degrees kept, `0 ≤ l < lmax`; orders `m ≤ l` (triangular, `mmax = lmax`).
    pub lmax: usize,
    /// Time step in s.
    pub dt: f64,
    /// Planet constants.
    pub planet: Planet,
    /// Hyperdiffusion e-folding time in s at the highest degree (`None`: off).
    pub hyperdiffusion: Option<f64>,
    /// Adams–Bashforth start-up.
    pub start: AbStart,
    /// Tilt `α` (rad) of the rotation axis from the grid's pole towards longitude π:
    /// `f = 2Ω(−cos λ cos φ sin α + sin φ cos α)`, as in Williamson et al. (1992) for flows
    /// across the pole; 0 (the default) gives `f = 2Ω sin φ`.
    pub axis_tilt: f64,
}

impl SweConfig {
    /// torch-harmonics' set-up: `lmax = ⌈nlat/3⌉`, the Earth, hyperdiffusion with a 2 h
    /// e-folding time at the highest degree, textbook AB start.
    pub fn new(grid: SphereGridKind, nlat: usize, nlon: usize, dt: f64) -> Self {
        Self {
            grid,
            nlat,
            nlon,
            lmax: nlat.div_ceil(3),
            dt,
            planet: Planet::EARTH,
            hyperdiffusion: Some(7200.0),
            start: AbStart::Textbook,
            axis_tilt: 0.0,
        }
    }

    /// Tilts the rotation axis by `alpha` (rad); see [`SweConfig::axis_tilt`].
    pub fn with_axis_tilt(mut self, alpha: f64) -> Self {
        self.axis_tilt = alpha;
        self
    }

    /// Sets the truncation.
    pub fn with_lmax(mut self, lmax: usize) -> Self {
        self.lmax = lmax;
        self
    }

    /// Sets the hyperdiffusion e-folding time (s) at the highest degree, or turns it off.
    pub fn with_hyperdiffusion(mut self, efolding_time: Option<f64>) -> Self {
        self.hyperdiffusion = efolding_time;
        self
    }

    /// Sets the planet.
    pub fn with_planet(mut self, planet: Planet) -> Self {
        self.planet = planet;
        self
    }

    /// Sets the Adams–Bashforth start-up.
    pub fn with_start(mut self, start: AbStart) -> Self {
        self.start = start;
        self
    }

    /// Checks the scalar parameters (the grid and truncation are checked when the transforms
    /// are built).
    pub fn validate(&self) -> Result<()> {
        self.planet.validate()?;
        if self.nlat < 4 {
            return Err(SolverError::invalid("nlat", "at least 4 latitudes", self.nlat));
        }
        if self.nlon < 4 {
            return Err(SolverError::invalid("nlon", "at least 4 longitudes", self.nlon));
        }
        if self.lmax < 2 {
            return Err(SolverError::invalid("lmax", "at least 2 degrees", self.lmax));
        }
        if !(self.dt.is_finite() && self.dt > 0.0) {
            return Err(SolverError::invalid("dt", "a finite time step > 0 (s)", self.dt));
        }
        if !self.axis_tilt.is_finite() {
            return Err(SolverError::invalid("axis_tilt", "a finite angle (rad)", self.axis_tilt));
        }
        if let Some(t) = self.hyperdiffusion
            && !(t.is_finite() && t > 0.0)
        {
            return Err(SolverError::invalid(
                "hyperdiffusion",
                "a finite e-folding time > 0 (s), or None",
                t,
            ));
        }
        Ok(())
    }

    /// Parameters for a manifest.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "grid": self.grid.torch_harmonics_name(),
            "nlat": self.nlat,
            "nlon": self.nlon,
            "lmax": self.lmax,
            "mmax": self.lmax,
            "dt": self.dt,
            "planet": self.planet,
            "hyperdiffusion_efolding_s": self.hyperdiffusion,
            "hyperdiffusion_order": 4,
            "time_scheme": "adams_bashforth_3",
            "start": self.start,
            "axis_tilt": self.axis_tilt,
        })
    }
}

/// Spectral state (or tendency): geopotential, vorticity and divergence spectra, each of shape
/// `(lmax, lmax)`.
#[derive(Debug, Clone, PartialEq)]
pub struct SweState {
    /// Total geopotential `φ = g h` (m² s⁻²).
    pub phi: Spectrum,
    /// Relative vorticity `ζ` (s⁻¹).
    pub vort: Spectrum,
    /// Divergence `δ` (s⁻¹).
    pub div: Spectrum,
}

impl SweState {
    /// All-zero state with `lmax` degrees and orders.
    pub fn zeros(lmax: usize) -> Self {
        Self {
            phi: Spectrum::zeros(lmax, lmax),
            vort: Spectrum::zeros(lmax, lmax),
            div: Spectrum::zeros(lmax, lmax),
        }
    }

    fn spectra(&self) -> [&Spectrum; 3] {
        [&self.phi, &self.vort, &self.div]
    }

    fn is_finite(&self) -> bool {
        self.spectra()
            .iter()
            .all(|s| s.as_slice().iter().all(|c| c.re.is_finite() && c.im.is_finite()))
    }
}

/// Grid values of the state, each row-major `nlat × nlon`.
#[derive(Debug, Clone, PartialEq)]
pub struct SweGridFields {
    /// Geopotential `φ`.
    pub phi: Vec<f64>,
    /// Relative vorticity `ζ`.
    pub vort: Vec<f64>,
    /// Divergence `δ`.
    pub div: Vec<f64>,
    /// Eastward wind `u`.
    pub u: Vec<f64>,
    /// Northward wind `v`.
    pub v: Vec<f64>,
}

/// The fixed, shareable part of a solver: grid, transforms and per-degree factors.
#[derive(Debug)]
struct Operators {
    grid: SphereGrid,
    sht: Sht,
    vsht: VectorSht,
    /// Coriolis parameter `f` at every grid point, row-major.
    coriolis: Vec<f64>,
    /// `l(l+1)/a²` per degree (minus the Laplacian's eigenvalue).
    neg_lap: Vec<f64>,
    /// Hyperdiffusion factor per degree applied after each step.
    hyperdiff: Vec<f64>,
}

/// The shallow-water solver; see the module docs.
///
/// Cloning is cheap: clones share the transforms and carry their own state.
#[derive(Debug, Clone)]
pub struct ShallowWater {
    config: SweConfig,
    ops: Arc<Operators>,
    state: SweState,
    /// Past tendencies, newest first (at most two).
    history: Vec<SweState>,
    steps: u64,
}

fn axpy(y: &mut Spectrum, a: f64, x: &Spectrum) {
    for (yi, xi) in y.as_mut_slice().iter_mut().zip(x.as_slice()) {
        *yi += a * xi;
    }
}

impl ShallowWater {
    /// Builds grid and transforms; the state starts at zero (set it with [`Self::set_state`]).
    ///
    /// # Errors
    /// Any parameter of `config` out of range, including `lmax` beyond what the grid
    /// integrates exactly or beyond `nlon/2 + 1`.
    pub fn new(config: SweConfig) -> Result<Self> {
        config.validate()?;
        let grid = SphereGrid::new(config.grid, config.nlat, config.nlon).map_err(quad_err)?;
        let (lmax, a) = (config.lmax, config.planet.radius);
        let sht = Sht::new(&grid, lmax, lmax, CsPhase::Omit).map_err(quad_err)?;
        let vsht = VectorSht::new(&grid, lmax, lmax, CsPhase::Omit, a).map_err(quad_err)?;
        let (sa, ca) = config.axis_tilt.sin_cos();
        let two_omega = 2.0 * config.planet.omega;
        let coriolis = grid
            .colatitudes()
            .iter()
            .flat_map(|&t| {
                let (st, ct) = t.sin_cos();
                // Latitude φ = π/2 − θ: sin φ = cos θ, cos φ = sin θ.
                grid.longitudes().iter().map(move |&l| two_omega * (-l.cos() * st * sa + ct * ca))
            })
            .collect();
        let neg_lap: Vec<f64> = (0..lmax).map(|l| (l * (l + 1)) as f64 / (a * a)).collect();
        let top = neg_lap[lmax - 1];
        let hyperdiff = neg_lap
            .iter()
            .map(|&k| match config.hyperdiffusion {
                Some(t) => (-(config.dt / t) * (k / top).powi(4)).exp(),
                None => 1.0,
            })
            .collect();
        let ops = Operators { grid, sht, vsht, coriolis, neg_lap, hyperdiff };
        Ok(Self {
            state: SweState::zeros(lmax),
            config,
            ops: Arc::new(ops),
            history: Vec::new(),
            steps: 0,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SweConfig {
        &self.config
    }

    /// The grid.
    pub fn grid(&self) -> &SphereGrid {
        &self.ops.grid
    }

    /// The current spectral state.
    pub fn state(&self) -> &SweState {
        &self.state
    }

    /// The Coriolis parameter at every grid point, row-major `nlat × nlon`.
    pub fn coriolis(&self) -> &[f64] {
        &self.ops.coriolis
    }

    /// Steps taken since the last [`Self::set_state`].
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Time since the last [`Self::set_state`] in s.
    pub fn time(&self) -> f64 {
        self.steps as f64 * self.config.dt
    }

    /// The largest `|ω Δt|` of gravity waves on the mean depth at the highest degree,
    /// `Δt √(φ̄ (lmax − 1) lmax) / a` (must stay below [`AB3_IMAGINARY_LIMIT`]).
    pub fn gravity_wave_courant(&self, state: &SweState) -> f64 {
        let mean_phi = self.mean_geopotential_of(state).max(0.0);
        self.config.dt * (mean_phi * self.ops.neg_lap[self.config.lmax - 1]).sqrt()
    }

    /// Replaces the state and restarts the time stepping (time 0, no past tendencies). The
    /// `l = 0` coefficients of `ζ` and `δ`, which no wind has, and the imaginary parts at
    /// `m = 0`, which no real field has, are set to zero.
    ///
    /// # Errors
    /// Spectra of another shape (`state`), non-finite or non-positive mean geopotential
    /// (`state`), or a time step beyond AB3's gravity-wave limit for this depth (`dt`).
    pub fn set_state(&mut self, mut state: SweState) -> Result<()> {
        let lmax = self.config.lmax;
        for (name, s) in ["phi", "vort", "div"].iter().zip(state.spectra()) {
            if s.lmax() != lmax || s.mmax() != lmax {
                return Err(SolverError::invalid(
                    "state",
                    format!("{name} spectrum of shape ({lmax}, {lmax})"),
                    format!("({}, {})", s.lmax(), s.mmax()),
                ));
            }
        }
        if !state.is_finite() {
            return Err(SolverError::invalid("state", "finite coefficients", "NaN or infinity"));
        }
        let zero = Complex64::new(0.0, 0.0);
        for s in [&mut state.phi, &mut state.vort, &mut state.div] {
            let c = s.as_mut_slice();
            for l in 0..lmax {
                c[l * lmax].im = 0.0;
                for m in l + 1..lmax {
                    c[l * lmax + m] = zero;
                }
            }
        }
        state.vort.as_mut_slice()[0] = zero;
        state.div.as_mut_slice()[0] = zero;
        let mean_phi = self.mean_geopotential_of(&state);
        if mean_phi <= 0.0 {
            return Err(SolverError::invalid(
                "state",
                "a positive mean geopotential (m²/s²)",
                mean_phi,
            ));
        }
        let courant = self.gravity_wave_courant(&state);
        if courant > AB3_IMAGINARY_LIMIT {
            let dt_max = self.config.dt * AB3_IMAGINARY_LIMIT / courant;
            return Err(SolverError::invalid(
                "dt",
                format!(
                    "dt ≤ {dt_max:.1} s (gravity waves of the mean depth need |ω dt| ≤ \
                     {AB3_IMAGINARY_LIMIT} under AB3)"
                ),
                self.config.dt,
            ));
        }
        self.state = state;
        self.history.clear();
        self.steps = 0;
        Ok(())
    }

    /// The spectral state of grid fields: geopotential `phi` and wind `(u, v)`, each
    /// row-major `nlat × nlon` (not set as the solver's state).
    ///
    /// # Errors
    /// Wrong field lengths or non-finite values.
    pub fn state_from_grid(&self, phi: &[f64], u: &[f64], v: &[f64]) -> Result<SweState> {
        for (name, f) in [("phi", phi), ("u", u), ("v", v)] {
            if f.iter().any(|x| !x.is_finite()) {
                return Err(SolverError::invalid(name, "finite values", "NaN or infinity"));
            }
        }
        let phi = self.ops.sht.forward(phi).map_err(|e| quad_err(rename(e, "phi")))?;
        let (vort, div) = self.ops.vsht.forward(u, v).map_err(quad_err)?;
        Ok(SweState { phi, vort, div })
    }

    /// Grid values of a state.
    ///
    /// # Errors
    /// Spectra of the wrong shape.
    pub fn grid_fields_of(&self, state: &SweState) -> Result<SweGridFields> {
        let ops = &*self.ops;
        let phi = ops.sht.inverse(&state.phi).map_err(quad_err)?;
        let vort = ops.sht.inverse(&state.vort).map_err(quad_err)?;
        let div = ops.sht.inverse(&state.div).map_err(quad_err)?;
        let (u, v) = ops.vsht.inverse(&state.vort, &state.div).map_err(quad_err)?;
        Ok(SweGridFields { phi, vort, div, u, v })
    }

    /// Grid values of the current state.
    ///
    /// # Errors
    /// None in practice (the state always has the right shape).
    pub fn grid_fields(&self) -> Result<SweGridFields> {
        self.grid_fields_of(&self.state)
    }

    /// Area mean of the geopotential, exactly `φ₀₀/√(4π)`.
    pub fn mean_geopotential(&self) -> f64 {
        self.mean_geopotential_of(&self.state)
    }

    fn mean_geopotential_of(&self, state: &SweState) -> f64 {
        state.phi.as_slice()[0].re / (4.0 * std::f64::consts::PI).sqrt()
    }

    /// Total mass per unit density and gravity, `∫ φ dA` in m⁴ s⁻², by grid quadrature.
    ///
    /// # Errors
    /// None in practice.
    pub fn mass(&self) -> Result<f64> {
        let phi = self.ops.sht.inverse(&self.state.phi).map_err(quad_err)?;
        let a = self.config.planet.radius;
        Ok(a * a * self.ops.grid.integrate(&phi).map_err(quad_err)?)
    }

    /// Total energy per unit density, `(1/2g) ∫ (φ |u|² + φ²) dA` in m⁵ s⁻², by grid
    /// quadrature.
    ///
    /// # Errors
    /// None in practice.
    pub fn energy(&self) -> Result<f64> {
        let f = self.grid_fields()?;
        let density: Vec<f64> = (0..f.phi.len())
            .map(|i| f.phi[i] * (f.u[i] * f.u[i] + f.v[i] * f.v[i]) + f.phi[i] * f.phi[i])
            .collect();
        let a = self.config.planet.radius;
        let integral = self.ops.grid.integrate(&density).map_err(quad_err)?;
        Ok(a * a * integral / (2.0 * self.config.planet.gravity))
    }

    /// The time derivative of a state (no hyperdiffusion).
    ///
    /// # Errors
    /// Spectra of the wrong shape.
    pub fn tendency(&self, state: &SweState) -> Result<SweState> {
        let ops = &*self.ops;
        let nlon = self.config.nlon;
        let phi = ops.sht.inverse(&state.phi).map_err(quad_err)?;
        let zeta = ops.sht.inverse(&state.vort).map_err(quad_err)?;
        let (u, v) = ops.vsht.inverse(&state.vort, &state.div).map_err(quad_err)?;
        let n = phi.len();
        // Five product fields: η u, η v, φ u, φ v and the Bernoulli function φ + ½|u|².
        let mut products = vec![0.0; 5 * n];
        let (eta_uv, rest) = products.split_at_mut(2 * n);
        let (phi_uv, bernoulli) = rest.split_at_mut(2 * n);
        let (eta_u, eta_v) = eta_uv.split_at_mut(n);
        let (phi_u, phi_v) = phi_uv.split_at_mut(n);
        eta_u
            .par_chunks_mut(nlon)
            .zip(eta_v.par_chunks_mut(nlon))
            .zip(phi_u.par_chunks_mut(nlon))
            .zip(phi_v.par_chunks_mut(nlon))
            .zip(bernoulli.par_chunks_mut(nlon))
            .enumerate()
            .for_each(|(k, ((((eu, ev), pu), pv), b))| {
                let off = k * nlon;
                for p in 0..nlon {
                    let i = off + p;
                    let (uu, vv, ph) = (u[i], v[i], phi[i]);
                    let eta = zeta[i] + ops.coriolis[i];
                    eu[p] = uu * eta;
                    ev[p] = vv * eta;
                    pu[p] = uu * ph;
                    pv[p] = vv * ph;
                    b[p] = ph + 0.5 * (uu * uu + vv * vv);
                }
            });
        let (eta_curl, eta_div) = ops.vsht.forward(eta_u, eta_v).map_err(quad_err)?;
        let (_, phi_flux_div) = ops.vsht.forward(phi_u, phi_v).map_err(quad_err)?;
        let bern = ops.sht.forward(bernoulli).map_err(quad_err)?;
        let lmax = self.config.lmax;
        let mut out = SweState::zeros(lmax);
        for (o, x) in out.vort.as_mut_slice().iter_mut().zip(eta_div.as_slice()) {
            *o = -x;
        }
        for (o, x) in out.phi.as_mut_slice().iter_mut().zip(phi_flux_div.as_slice()) {
            *o = -x;
        }
        let div = out.div.as_mut_slice();
        for l in 0..lmax {
            for m in 0..=l {
                let i = l * lmax + m;
                div[i] = eta_curl.as_slice()[i] + ops.neg_lap[l] * bern.as_slice()[i];
            }
        }
        Ok(out)
    }

    /// Advances one step of `dt`: AB3 (with the configured start-up), then hyperdiffusion of
    /// `ζ` and `δ`.
    ///
    /// # Errors
    /// [`SolverError::NotConverged`] when the state stops being finite.
    pub fn step(&mut self) -> Result<()> {
        let tendency = self.tendency(&self.state)?;
        let coeffs: [f64; 3] = match (self.history.len(), self.config.start) {
            (0, _) => [1.0, 0.0, 0.0],
            (1, AbStart::Textbook) => [1.5, -0.5, 0.0],
            (1, AbStart::TorchHarmonics) => [28.0 / 12.0, -16.0 / 12.0, 0.0],
            _ => [23.0 / 12.0, -16.0 / 12.0, 5.0 / 12.0],
        };
        let dt = self.config.dt;
        let mut next = self.state.clone();
        let past = [&tendency].into_iter().chain(self.history.iter());
        for (c, t) in coeffs.iter().zip(past) {
            axpy(&mut next.phi, dt * c, &t.phi);
            axpy(&mut next.vort, dt * c, &t.vort);
            axpy(&mut next.div, dt * c, &t.div);
        }
        let lmax = self.config.lmax;
        for s in [&mut next.vort, &mut next.div] {
            for (row, &h) in s.as_mut_slice().chunks_exact_mut(lmax).zip(&self.ops.hyperdiff) {
                for c in row {
                    *c *= h;
                }
            }
        }
        if !next.is_finite() {
            return Err(SolverError::NotConverged {
                solver: "shallow_water",
                detail: format!(
                    "state not finite after step {} (t = {} s, dt = {dt} s)",
                    self.steps + 1,
                    self.time() + dt
                ),
            });
        }
        self.state = next;
        self.history.insert(0, tendency);
        self.history.truncate(2);
        self.steps += 1;
        Ok(())
    }

    /// Advances `n_steps` steps.
    ///
    /// # Errors
    /// As [`Self::step`].
    pub fn advance(&mut self, n_steps: u64) -> Result<()> {
        for _ in 0..n_steps {
            self.step()?;
        }
        Ok(())
    }
}

/// Renames the parameter of a quadrature error (the SHT calls its input `field`).
fn rename(error: QuadratureError, name: &'static str) -> QuadratureError {
    match error {
        QuadratureError::InvalidParameter { expected, got, .. } => {
            QuadratureError::InvalidParameter { name, expected, got }
        }
        other => other,
    }
}
