//! The pseudo-spectral 2-D Navier–Stokes solver in vorticity form on a periodic square.
//!
//! `∂ω/∂t + u·∇ω = νΔω − μω + f`, `u = (∂ψ/∂y, −∂ψ/∂x)`, `−Δψ = ω`, on `[0, L)²`
//! (data-recipes.md §4.2). The advection term is computed in physical space from four
//! inverse FFTs and one forward FFT and dealiased with the 2/3 rule; the state is kept in the
//! dealiased band, so the truncated modes stay exactly zero.
//!
//! Two time schemes:
//! * [`TimeScheme::IfRk4`] (default): classical RK4 with an integrating factor for the linear
//!   part (Lawson's method), applied to the deviation `w = ω − ω_f` from the Stokes steady
//!   state `ω_f = f/(νκ² + μ)`. The linear part, forcing included, is thus integrated exactly:
//!   a single-shell field decays by exactly `e^{−(νκ²+μ)Δt}` per step, and any steady state
//!   of the forcing that lies on one shell (FNO's, Kolmogorov's laminar flow) is a fixed point.
//! * [`TimeScheme::EulerCrankNicolson`]: FNO's reference scheme, forward Euler for advection
//!   and forcing, Crank–Nicolson for viscosity, kept as the accuracy and speed baseline.
//!
//! The time step is chosen, or checked, by the CFL number `C = Δt (max|u| + max|v|)/Δx`.

use rustfft::num_complex::Complex64;

use super::grid::SpectralGrid;
use crate::{Result, SolverError};

/// Largest CFL number accepted by [`TimeScheme::IfRk4`]. RK4 is stable on the imaginary axis
/// up to `|λΔt| = 2√2`, and the largest advection eigenvalue after 2/3 dealiasing is at most
/// `(2π/3)(max|u| + max|v|)/Δx`, so `C ≤ 2√2·3/(2π) ≈ 1.35`; 1.3 keeps a small margin.
pub const IF_RK4_MAX_CFL: f64 = 1.3;

/// Largest CFL number accepted by [`TimeScheme::EulerCrankNicolson`]. Forward Euler is never
/// stable for pure advection; only viscosity damps its growth, so the scheme is only used
/// in the reference's own regime (`C ≈ 0.05` at 256², Δt = 1e-4). 0.2 is a heuristic bound.
pub const EULER_CN_MAX_CFL: f64 = 0.2;

/// More steps than this in one [`NavierStokes2d::advance`] means the velocity has run away
/// (10⁹ steps of a 4096² grid would take years); the integration is stopped.
const MAX_STEPS_PER_ADVANCE: f64 = 1e9;

/// The time integrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeScheme {
    /// Integrating-factor classical RK4 (Lawson), four advection evaluations per step.
    IfRk4,
    /// FNO's reference: forward Euler advection, Crank–Nicolson viscosity, one evaluation.
    EulerCrankNicolson,
}

impl TimeScheme {
    /// Largest CFL number this scheme accepts (see the constants' documentation).
    pub fn max_cfl(self) -> f64 {
        match self {
            Self::IfRk4 => IF_RK4_MAX_CFL,
            Self::EulerCrankNicolson => EULER_CN_MAX_CFL,
        }
    }
}

/// How the time step is chosen.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeStep {
    /// Adaptive: the largest step with CFL number at most this target, shrunk so that every
    /// [`NavierStokes2d::advance`] ends exactly on its end time. Re-planned when the CFL number
    /// exceeds the target or drops below 70% of it.
    Cfl(f64),
    /// At most this step (shrunk to divide each advance evenly); integration fails when its
    /// CFL number exceeds the scheme's bound.
    Fixed(f64),
}

/// Parameters of a [`NavierStokes2d`] solver.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NsConfig {
    /// Grid points per axis (even, ≥ 4).
    pub n: usize,
    /// Side length `L` of the periodic square.
    pub length: f64,
    /// Kinematic viscosity `ν > 0`.
    pub nu: f64,
    /// Linear drag `μ ≥ 0` (Rayleigh friction); 0 by default.
    pub drag: f64,
    /// The integrator; [`TimeScheme::IfRk4`] by default.
    pub scheme: TimeScheme,
    /// The time-step rule; `Cfl(1.0)` by default.
    pub time_step: TimeStep,
}

impl NsConfig {
    /// `n × n` points on `[0, length)²` with viscosity `nu`, no drag, IF-RK4 at CFL 1.
    pub fn new(n: usize, length: f64, nu: f64) -> Self {
        Self { n, length, nu, drag: 0.0, scheme: TimeScheme::IfRk4, time_step: TimeStep::Cfl(1.0) }
    }

    /// Sets the linear drag coefficient.
    pub fn with_drag(mut self, drag: f64) -> Self {
        self.drag = drag;
        self
    }

    /// Sets the time scheme.
    pub fn with_scheme(mut self, scheme: TimeScheme) -> Self {
        self.scheme = scheme;
        self
    }

    /// Sets the time-step rule.
    pub fn with_time_step(mut self, time_step: TimeStep) -> Self {
        self.time_step = time_step;
        self
    }

    /// Checks every parameter.
    pub fn validate(&self) -> Result<()> {
        if self.n < 4 || !self.n.is_multiple_of(2) {
            return Err(SolverError::invalid("n", "an even grid size of at least 4", self.n));
        }
        if !(self.length.is_finite() && self.length > 0.0) {
            return Err(SolverError::invalid("length", "a finite length > 0", self.length));
        }
        if !(self.nu.is_finite() && self.nu > 0.0) {
            return Err(SolverError::invalid("nu", "a finite viscosity > 0", self.nu));
        }
        if !(self.drag.is_finite() && self.drag >= 0.0) {
            return Err(SolverError::invalid("drag", "a finite drag ≥ 0", self.drag));
        }
        let max_cfl = self.scheme.max_cfl();
        match self.time_step {
            TimeStep::Cfl(c) if !(c > 0.0 && c <= max_cfl) => Err(SolverError::invalid(
                "time_step",
                format!("a CFL target in (0, {max_cfl}] for {:?}", self.scheme),
                c,
            )),
            TimeStep::Fixed(dt) if !(dt.is_finite() && dt > 0.0) => {
                Err(SolverError::invalid("time_step", "a finite step > 0", dt))
            }
            _ => Ok(()),
        }
    }
}

/// What one [`NavierStokes2d::advance`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdvanceReport {
    /// Time steps taken.
    pub steps: usize,
    /// Largest CFL number of any step.
    pub max_cfl: f64,
}

/// Per-step factors of the linear part, cached for the last step size used.
#[derive(Debug, Default)]
struct LinearFactors {
    dt: f64,
    /// IF-RK4: `e^{LΔt}`; Euler–CN: `(1 + ½ΔtL)/(1 − ½ΔtL)`.
    full: Vec<f64>,
    /// IF-RK4: `e^{LΔt/2}`; Euler–CN: `Δt/(1 − ½ΔtL)`.
    half: Vec<f64>,
}

/// A pseudo-spectral vorticity solver; see the module documentation.
#[derive(Debug)]
pub struct NavierStokes2d {
    config: NsConfig,
    grid: SpectralGrid,
    /// Angular wavenumbers `2πkx/L` per FFT index and `2πky/L` per spectral row.
    kx: Vec<f64>,
    ky: Vec<f64>,
    /// Linear operator `L = −νκ² − μ` per spectral index.
    linear: Vec<f64>,
    /// `1/κ²` per spectral index, 0 for the mean (ψ has no mean).
    inv_k2: Vec<f64>,
    /// 1 where the 2/3 rule keeps the mode, 0 elsewhere.
    mask: Vec<f64>,
    /// Dealiased forcing spectrum.
    forcing: Vec<Complex64>,
    /// Stokes steady state `−f̂/L` (0 where `L = 0`, where `f̂` is 0 too).
    steady: Vec<Complex64>,
    /// The state `ω̂`.
    omega: Vec<Complex64>,
    time: f64,
    factors: LinearFactors,
    // Spectral work arrays.
    deviation: Vec<Complex64>,
    accumulator: Vec<Complex64>,
    stage: Vec<Complex64>,
    tendency: Vec<Complex64>,
    // Physical work arrays: u, v, ∂ω/∂x, ∂ω/∂y.
    u: Vec<f64>,
    v: Vec<f64>,
    omega_x: Vec<f64>,
    omega_y: Vec<f64>,
}

impl NavierStokes2d {
    /// A solver with zero vorticity and no forcing; errors on invalid parameters.
    pub fn new(config: NsConfig) -> Result<Self> {
        config.validate()?;
        let grid = SpectralGrid::new(config.n, config.length)?;
        let (n, nh, len) = (grid.n(), grid.n_ky(), grid.spectral_len());
        let kx: Vec<f64> =
            (0..n).map(|p| grid.angular(super::grid::signed_wavenumber(p, n))).collect();
        let ky: Vec<f64> = (0..nh).map(|q| grid.angular(q as i64)).collect();
        let mut linear = vec![0.0; len];
        let mut mask = vec![0.0; len];
        let mut inv_k2 = vec![0.0; len];
        for index in 0..len {
            let (p, q) = (index % n, index / n);
            let k2 = kx[p] * kx[p] + ky[q] * ky[q];
            linear[index] = -config.nu * k2 - config.drag;
            inv_k2[index] = if k2 > 0.0 { 1.0 / k2 } else { 0.0 };
            mask[index] = if grid.keeps(index) { 1.0 } else { 0.0 };
        }
        let zeros = vec![Complex64::ZERO; len];
        Ok(Self {
            config,
            grid,
            kx,
            ky,
            linear,
            inv_k2,
            mask,
            forcing: zeros.clone(),
            steady: zeros.clone(),
            omega: zeros.clone(),
            time: 0.0,
            factors: LinearFactors { dt: f64::NAN, full: vec![0.0; len], half: vec![0.0; len] },
            deviation: zeros.clone(),
            accumulator: zeros.clone(),
            stage: zeros.clone(),
            tendency: zeros,
            u: vec![0.0; n * n],
            v: vec![0.0; n * n],
            omega_x: vec![0.0; n * n],
            omega_y: vec![0.0; n * n],
        })
    }

    /// Sets a time-independent vorticity forcing `f`, given on the grid (`n²` values,
    /// row-major, `[i, j]` at `(x_i, y_j)`); it is projected onto the dealiased band.
    ///
    /// Errors when the length is wrong, a value is not finite, or `f` has a nonzero mean
    /// while there is no drag (the mean vorticity of a periodic flow is zero; such a forcing
    /// has no steady state).
    pub fn with_forcing(mut self, forcing: &[f64]) -> Result<Self> {
        if forcing.iter().any(|x| !x.is_finite()) {
            return Err(SolverError::invalid("forcing", "finite values", "a non-finite value"));
        }
        let mut hat = self.grid.forward(forcing)?;
        for (value, keep) in hat.iter_mut().zip(&self.mask) {
            *value *= *keep;
        }
        let n2 = (self.config.n * self.config.n) as f64;
        // The mean is hat[0]/n²; round-off of a zero-mean field is ~1e-16 of its magnitude.
        let scale = forcing.iter().fold(0.0_f64, |m, x| m.max(x.abs())).max(f64::MIN_POSITIVE);
        if self.config.drag == 0.0 && hat[0].norm() / n2 > 1e-12 * scale {
            return Err(SolverError::invalid(
                "forcing",
                "a zero-mean field when there is no drag",
                format!("mean {:e}", hat[0].re / n2),
            ));
        }
        if self.config.drag == 0.0 {
            hat[0] = Complex64::ZERO;
        }
        for ((steady, f), l) in self.steady.iter_mut().zip(&hat).zip(&self.linear) {
            *steady = if *l == 0.0 { Complex64::ZERO } else { -f / l };
        }
        if self.steady.iter().any(|w| !(w.re.is_finite() && w.im.is_finite())) {
            return Err(SolverError::invalid(
                "forcing",
                "a forcing whose steady state f/(νκ² + μ) is finite",
                "an overflowing steady state",
            ));
        }
        self.forcing = hat;
        Ok(self)
    }

    /// Replaces the vorticity by `omega` (`n²` values), projected onto the dealiased band
    /// with its mean removed, and resets the time to 0.
    ///
    /// Errors when the length is wrong or a value is not finite.
    pub fn set_vorticity(&mut self, omega: &[f64]) -> Result<()> {
        if omega.iter().any(|x| !x.is_finite()) {
            return Err(SolverError::invalid("omega", "finite values", "a non-finite value"));
        }
        let hat = self.grid.forward(omega)?;
        self.set_vorticity_hat(&hat)
    }

    /// Like [`Self::set_vorticity`], from a spectrum in the grid's layout.
    pub fn set_vorticity_hat(&mut self, omega_hat: &[Complex64]) -> Result<()> {
        if omega_hat.len() != self.grid.spectral_len() {
            return Err(SolverError::invalid(
                "omega_hat",
                format!("a spectrum of length {}", self.grid.spectral_len()),
                omega_hat.len(),
            ));
        }
        if omega_hat.iter().any(|w| !(w.re.is_finite() && w.im.is_finite())) {
            return Err(SolverError::invalid("omega_hat", "finite values", "a non-finite value"));
        }
        for ((dst, src), keep) in self.omega.iter_mut().zip(omega_hat).zip(&self.mask) {
            *dst = src * keep;
        }
        self.omega[0] = Complex64::ZERO;
        self.time = 0.0;
        Ok(())
    }

    /// The configuration.
    pub fn config(&self) -> &NsConfig {
        &self.config
    }

    /// Simulated time since the last [`Self::set_vorticity`].
    pub fn time(&self) -> f64 {
        self.time
    }

    /// The spectral grid (wavenumbers, layout, resampling).
    pub fn grid(&mut self) -> &mut SpectralGrid {
        &mut self.grid
    }

    /// The vorticity spectrum `ω̂` in the grid's layout.
    pub fn vorticity_hat(&self) -> &[Complex64] {
        &self.omega
    }

    /// The dealiased forcing spectrum `f̂`.
    pub fn forcing_hat(&self) -> &[Complex64] {
        &self.forcing
    }

    /// The vorticity on the grid (allocates).
    pub fn vorticity(&mut self) -> Vec<f64> {
        self.grid.work_mut().copy_from_slice(&self.omega);
        let mut out = vec![0.0; self.config.n * self.config.n];
        let rows = self.grid.dealiased_rows();
        self.grid.inverse_work(rows, &mut out);
        out
    }

    /// The vorticity resampled to an `m × m` grid by spectral truncation (allocates).
    pub fn vorticity_resampled(&self, target: &mut SpectralGrid) -> Result<Vec<f64>> {
        target.resample(&self.omega, self.config.n)
    }

    /// The dealiased advection tendency `−(u·∇ω)^` at the current state, in the grid's
    /// spectral layout (allocates; for diagnostics and tests).
    pub fn advection_tendency(&mut self) -> Vec<Complex64> {
        self.advection(Source::State);
        self.tendency.clone()
    }

    /// Kinetic energy per integer shell `round(|k|)` (index = shell), normalised so that the
    /// shells sum to the domain average of `½|u|²` (Parseval).
    pub fn energy_spectrum(&self) -> Vec<f64> {
        self.shell_sum(|omega2, kappa2| if kappa2 > 0.0 { 0.5 * omega2 / kappa2 } else { 0.0 })
    }

    /// Enstrophy per integer shell, summing to the domain average of `½ω²`.
    pub fn enstrophy_spectrum(&self) -> Vec<f64> {
        self.shell_sum(|omega2, _| 0.5 * omega2)
    }

    fn shell_sum(&self, density: impl Fn(f64, f64) -> f64) -> Vec<f64> {
        let n = self.config.n;
        let n4 = (n as f64).powi(4);
        let mut shells = vec![0.0; n];
        for (index, value) in self.omega.iter().enumerate() {
            let (p, q) = (index % n, index / n);
            let (kx, ky) = self.grid.wavenumbers(index);
            let shell = ((kx * kx + ky * ky) as f64).sqrt().round() as usize;
            // ky = 0 and ky = n/2 appear once in the half spectrum, the others stand for ±ky.
            let multiplicity = if q == 0 || q == n / 2 { 1.0 } else { 2.0 };
            let kappa2 = self.kx[p] * self.kx[p] + self.ky[q] * self.ky[q];
            shells[shell.min(n - 1)] += multiplicity * density(value.norm_sqr(), kappa2) / n4;
        }
        shells
    }

    /// Advances the solution by `duration`, landing exactly on `time() + duration`.
    ///
    /// Errors: `duration` negative or not finite (`InvalidParameter`); a
    /// [`TimeStep::Fixed`] step whose CFL number exceeds the scheme's bound at the start
    /// (`InvalidParameter`) or later (`NotConverged`); a non-finite velocity or vorticity
    /// (`NotConverged`, with the time).
    pub fn advance(&mut self, duration: f64) -> Result<AdvanceReport> {
        if !(duration.is_finite() && duration >= 0.0) {
            return Err(SolverError::invalid("duration", "a finite duration ≥ 0", duration));
        }
        let dx = self.config.length / self.config.n as f64;
        let max_cfl = self.config.scheme.max_cfl();
        let mut report = AdvanceReport { steps: 0, max_cfl: 0.0 };
        let mut remaining = duration;
        // (step size, steps left) of the current plan.
        let mut plan: Option<(f64, usize)> = None;
        while remaining > 0.0 {
            // Every scheme starts with the tendency at the current state; its velocities
            // give the CFL number.
            let speed = self.advection(Source::State);
            if !speed.is_finite() {
                return Err(self.diverged("non-finite velocity"));
            }
            let rate = speed / dx;
            let replan = match (plan, self.config.time_step) {
                (None, _) => true,
                (Some((dt, _)), TimeStep::Cfl(target)) => {
                    dt * rate > target || dt * rate < 0.7 * target
                }
                (Some(_), TimeStep::Fixed(_)) => false,
            };
            if replan {
                let dt_max = match self.config.time_step {
                    TimeStep::Cfl(target) => target / rate,
                    TimeStep::Fixed(dt) => dt,
                };
                // The 1e-12 keeps an exact multiple (1/1e-4 = 10000.000000000002) from
                // becoming one step more.
                let steps = ((remaining / dt_max) * (1.0 - 1e-12)).ceil().max(1.0);
                if steps > MAX_STEPS_PER_ADVANCE {
                    return Err(self.diverged(&format!(
                        "runaway velocity (max|u| + max|v| = {speed:e} needs {steps:e} steps)"
                    )));
                }
                let steps = steps as usize;
                plan = Some((remaining / steps as f64, steps));
            }
            let (planned_dt, steps_left) = plan.unwrap_or((remaining, 1));
            let dt = if steps_left == 1 { remaining } else { planned_dt };
            let cfl = dt * rate;
            if cfl > max_cfl {
                let detail = format!(
                    "time step {dt:e} has CFL number {cfl:.3} > {max_cfl} for {:?} at t = {}",
                    self.config.scheme, self.time
                );
                return Err(if report.steps == 0 {
                    SolverError::invalid("time_step", format!("a stable step ({detail})"), dt)
                } else {
                    SolverError::NotConverged { solver: "navier_stokes", detail }
                });
            }
            match self.config.scheme {
                TimeScheme::IfRk4 => self.step_if_rk4(dt),
                TimeScheme::EulerCrankNicolson => self.step_euler_cn(dt),
            }
            report.steps += 1;
            report.max_cfl = report.max_cfl.max(cfl);
            self.time += dt;
            remaining = if steps_left == 1 { 0.0 } else { remaining - dt };
            plan = Some((planned_dt, steps_left.saturating_sub(1)));
        }
        if self.omega.iter().any(|w| !(w.re.is_finite() && w.im.is_finite())) {
            return Err(self.diverged("non-finite vorticity"));
        }
        Ok(report)
    }

    fn diverged(&self, what: &str) -> SolverError {
        SolverError::NotConverged {
            solver: "navier_stokes",
            detail: format!(
                "{what} at t = {} (n = {}, ν = {})",
                self.time, self.config.n, self.config.nu
            ),
        }
    }

    /// Caches the linear factors for step `dt`.
    fn prepare_factors(&mut self, dt: f64) {
        if self.factors.dt == dt {
            return;
        }
        let scheme = self.config.scheme;
        let factors = &mut self.factors;
        for ((full, half), l) in factors.full.iter_mut().zip(&mut factors.half).zip(&self.linear) {
            match scheme {
                TimeScheme::IfRk4 => {
                    *full = (l * dt).exp();
                    *half = (0.5 * l * dt).exp();
                }
                TimeScheme::EulerCrankNicolson => {
                    let denominator = 1.0 - 0.5 * dt * l;
                    *full = (1.0 + 0.5 * dt * l) / denominator;
                    *half = dt / denominator;
                }
            }
        }
        factors.dt = dt;
    }

    /// One FNO reference step from the tendency already in `self.tendency`:
    /// `ω̂ ← ((1 + ½ΔtL) ω̂ + Δt (N̂ + f̂)) / (1 − ½ΔtL)`.
    fn step_euler_cn(&mut self, dt: f64) {
        self.prepare_factors(dt);
        let f = &self.factors;
        for i in 0..self.omega.len() {
            self.omega[i] =
                self.omega[i] * f.full[i] + (self.tendency[i] + self.forcing[i]) * f.half[i];
        }
    }

    /// One Lawson RK4 step for `w = ω̂ − ω̂_f`, `dw/dt = Lw + N(w + ω̂_f)`, from the
    /// tendency `N(ω̂)` already in `self.tendency`.
    fn step_if_rk4(&mut self, dt: f64) {
        self.prepare_factors(dt);
        let len = self.omega.len();
        let (h2, h3, h6) = (0.5 * dt, dt / 3.0, dt / 6.0);
        // Stage 1 (k1 in tendency): w, acc = E(w + Δt/6 k1), stage = E2(w + Δt/2 k1) + ω̂_f.
        for i in 0..len {
            let (e, e2) = (self.factors.full[i], self.factors.half[i]);
            let w = self.omega[i] - self.steady[i];
            let k = self.tendency[i];
            self.deviation[i] = w;
            self.accumulator[i] = (w + k * h6) * e;
            self.stage[i] = (w + k * h2) * e2 + self.steady[i];
        }
        self.advection(Source::Stage);
        // k2: acc += Δt/3 E2 k2, stage = E2 w + Δt/2 k2 + ω̂_f.
        for i in 0..len {
            let e2 = self.factors.half[i];
            let k = self.tendency[i];
            self.accumulator[i] += k * (h3 * e2);
            self.stage[i] = self.deviation[i] * e2 + k * h2 + self.steady[i];
        }
        self.advection(Source::Stage);
        // k3: acc += Δt/3 E2 k3, stage = E w + Δt E2 k3 + ω̂_f.
        for i in 0..len {
            let (e, e2) = (self.factors.full[i], self.factors.half[i]);
            let k = self.tendency[i];
            self.accumulator[i] += k * (h3 * e2);
            self.stage[i] = self.deviation[i] * e + k * (dt * e2) + self.steady[i];
        }
        self.advection(Source::Stage);
        // k4: ω̂ = acc + Δt/6 k4 + ω̂_f.
        for i in 0..len {
            self.omega[i] = self.accumulator[i] + self.tendency[i] * h6 + self.steady[i];
        }
    }

    /// Computes the dealiased advection tendency `−P(u·∇ω)^` of `source` into `tendency` and
    /// returns `max|u| + max|v|` (NaN when a velocity is not finite).
    fn advection(&mut self, source: Source) -> f64 {
        let n = self.config.n;
        let rows = self.grid.dealiased_rows();
        let omega = match source {
            Source::State => &self.omega,
            Source::Stage => &self.stage,
        };
        // u = ∂ψ/∂y = iκy ω̂/κ², v = −∂ψ/∂x = −iκx ω̂/κ², ∂ω/∂x = iκx ω̂, ∂ω/∂y = iκy ω̂,
        // each evaluated only on the rows that a dealiased field can occupy.
        let outputs = [&mut self.u, &mut self.v, &mut self.omega_x, &mut self.omega_y];
        for (component, out) in outputs.into_iter().enumerate() {
            let work = self.grid.work_mut();
            for q in 0..rows {
                let ky = self.ky[q];
                let src = &omega[q * n..][..n];
                let dst = &mut work[q * n..][..n];
                let inv_k2 = &self.inv_k2[q * n..][..n];
                match component {
                    0 => (0..n).for_each(|p| dst[p] = times_i(src[p], ky * inv_k2[p])),
                    1 => (0..n).for_each(|p| dst[p] = times_i(src[p], -self.kx[p] * inv_k2[p])),
                    2 => (0..n).for_each(|p| dst[p] = times_i(src[p], self.kx[p])),
                    _ => (0..n).for_each(|p| dst[p] = times_i(src[p], ky)),
                }
            }
            self.grid.inverse_work(rows, out);
        }
        let (mut max_u, mut max_v) = (0.0_f64, 0.0_f64);
        let mut finite = true;
        for i in 0..n * n {
            let (u, v) = (self.u[i], self.v[i]);
            finite &= u.is_finite() && v.is_finite();
            max_u = max_u.max(u.abs());
            max_v = max_v.max(v.abs());
            self.omega_x[i] = u * self.omega_x[i] + v * self.omega_y[i];
        }
        self.grid.forward_rows(&mut self.omega_x, rows, &mut self.tendency);
        for (value, keep) in self.tendency.iter_mut().zip(&self.mask) {
            *value *= -keep;
        }
        if finite { max_u + max_v } else { f64::NAN }
    }
}

/// `z · ic` for real `c`, without a full complex product.
fn times_i(z: Complex64, c: f64) -> Complex64 {
    Complex64::new(-z.im * c, z.re * c)
}

/// Which spectral array an advection evaluation reads.
#[derive(Debug, Clone, Copy)]
enum Source {
    State,
    Stage,
}
