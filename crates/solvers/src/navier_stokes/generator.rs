//! Navier–Stokes data sets: the FNO benchmark and turbulent Kolmogorov flow.
//!
//! Each sample starts from FNO's random initial vorticity (a [`PeriodicGrf`] with α = 2.5,
//! τ = 7, σ = 7^1.5, sampled on the solver grid), is integrated through an optional spin-up,
//! and is then recorded every `snapshot_dt`, downsampled to the learning resolution by spectral
//! truncation (data-recipes.md §4.2). A sample whose integration produces a non-finite value
//! or an unstable step is rejected with an error that says why; it is never returned.

use crate::dataset::{Field, Sample, SampleGenerator, sample_rng};
use crate::grf::PeriodicGrf;
use crate::{Result, SolverError};

use super::grid::{SpectralGrid, dealias_cutoff};
use super::solver::{NavierStokes2d, NsConfig, TimeScheme, TimeStep};

/// Which flow a data set simulates.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NsFlow {
    /// FNO's benchmark on `[0, 1)²`: vorticity forcing `0.1(sin 2π(x+y) + cos 2π(x+y))`,
    /// viscosity `nu` (FNO used 1e-3, 1e-4, 1e-5).
    FnoBenchmark {
        /// Viscosity ν.
        nu: f64,
    },
    /// Kolmogorov flow on `[0, 2π)²`: velocity forcing `sin(k_f y) x̂`, i.e. vorticity forcing
    /// `−k_f cos(k_f y)`, with `ν = 1/Re` (the paper's turbulent case is Re = 5000, k_f = 4).
    Kolmogorov {
        /// Reynolds number `Re = 1/ν`.
        reynolds: f64,
        /// Forcing wavenumber `k_f`.
        wavenumber: u32,
    },
}

impl NsFlow {
    /// Side length of the periodic square.
    pub fn length(&self) -> f64 {
        match self {
            Self::FnoBenchmark { .. } => 1.0,
            Self::Kolmogorov { .. } => 2.0 * std::f64::consts::PI,
        }
    }

    /// Viscosity ν.
    pub fn nu(&self) -> f64 {
        match *self {
            Self::FnoBenchmark { nu } => nu,
            Self::Kolmogorov { reynolds, .. } => 1.0 / reynolds,
        }
    }

    /// The vorticity forcing on an `n × n` grid, row-major, `[i, j]` at `(x_i, y_j)`.
    pub fn forcing(&self, n: usize) -> Vec<f64> {
        let h = self.length() / n as f64;
        let mut f = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                let (x, y) = (i as f64 * h, j as f64 * h);
                f[i * n + j] = match *self {
                    Self::FnoBenchmark { .. } => {
                        let phase = 2.0 * std::f64::consts::PI * (x + y);
                        0.1 * (phase.sin() + phase.cos())
                    }
                    Self::Kolmogorov { wavenumber, .. } => {
                        let k = wavenumber as f64;
                        -k * (k * y).cos()
                    }
                };
            }
        }
        f
    }

    fn validate(&self, n: usize) -> Result<()> {
        match *self {
            Self::FnoBenchmark { nu } if !(nu.is_finite() && nu > 0.0) => {
                Err(SolverError::invalid("nu", "a finite viscosity > 0", nu))
            }
            Self::Kolmogorov { reynolds, .. } if !(reynolds.is_finite() && reynolds > 0.0) => {
                Err(SolverError::invalid("reynolds", "a finite Reynolds number > 0", reynolds))
            }
            Self::Kolmogorov { wavenumber, .. }
                if wavenumber == 0 || wavenumber as usize > dealias_cutoff(n.max(4)) =>
            {
                Err(SolverError::invalid(
                    "wavenumber",
                    format!(
                        "a forcing wavenumber in 1..={} (resolved at n = {n})",
                        dealias_cutoff(n.max(4))
                    ),
                    wavenumber,
                ))
            }
            _ => Ok(()),
        }
    }
}

/// Everything that determines a Navier–Stokes data set.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NsDataConfig {
    /// The flow.
    pub flow: NsFlow,
    /// Solver grid points per axis.
    pub n: usize,
    /// Learning resolution per axis (≤ `n`, even), reached by spectral truncation.
    pub out_size: usize,
    /// Time integrated before the first recorded state.
    pub t_spinup: f64,
    /// Time between recorded snapshots.
    pub snapshot_dt: f64,
    /// Snapshots recorded after the first state.
    pub n_snapshots: usize,
    /// The time-step rule of the IF-RK4 solver.
    pub time_step: TimeStep,
}

impl NsDataConfig {
    /// FNO's benchmark: 256² solver grid, 64² output, no spin-up, `n_snapshots` states
    /// evenly spaced up to `t_final` (FNO: T = 50, 30, 20 for ν = 1e-3, 1e-4, 1e-5), CFL 1.
    pub fn fno(nu: f64, t_final: f64, n_snapshots: usize) -> Self {
        Self {
            flow: NsFlow::FnoBenchmark { nu },
            n: 256,
            out_size: 64,
            t_spinup: 0.0,
            snapshot_dt: t_final / n_snapshots.max(1) as f64,
            n_snapshots,
            time_step: TimeStep::Cfl(1.0),
        }
    }

    /// Kolmogorov flow at Reynolds number `reynolds` with `k_f = 4` on an `n²` grid, output
    /// at `out_size²`: 100 time units of spin-up, then `n_snapshots` states one time unit
    /// apart (data-recipes.md §4.2; use n ≥ 512 at Re = 5000), CFL 1.
    pub fn kolmogorov(reynolds: f64, n: usize, out_size: usize, n_snapshots: usize) -> Self {
        Self {
            flow: NsFlow::Kolmogorov { reynolds, wavenumber: 4 },
            n,
            out_size,
            t_spinup: 100.0,
            snapshot_dt: 1.0,
            n_snapshots,
            time_step: TimeStep::Cfl(1.0),
        }
    }

    /// Sets the spin-up time.
    pub fn with_spinup(mut self, t_spinup: f64) -> Self {
        self.t_spinup = t_spinup;
        self
    }

    /// Sets the time-step rule.
    pub fn with_time_step(mut self, time_step: TimeStep) -> Self {
        self.time_step = time_step;
        self
    }

    /// The solver configuration this data set uses.
    pub fn solver_config(&self) -> NsConfig {
        NsConfig::new(self.n, self.flow.length(), self.flow.nu())
            .with_scheme(TimeScheme::IfRk4)
            .with_time_step(self.time_step)
    }

    fn validate(&self) -> Result<()> {
        self.solver_config().validate()?;
        self.flow.validate(self.n)?;
        if self.out_size < 4 || !self.out_size.is_multiple_of(2) || self.out_size > self.n {
            return Err(SolverError::invalid(
                "out_size",
                format!("an even size in 4..={}", self.n),
                self.out_size,
            ));
        }
        if !(self.t_spinup.is_finite() && self.t_spinup >= 0.0) {
            return Err(SolverError::invalid("t_spinup", "a finite time ≥ 0", self.t_spinup));
        }
        if !(self.snapshot_dt.is_finite() && self.snapshot_dt > 0.0) {
            return Err(SolverError::invalid("snapshot_dt", "a finite time > 0", self.snapshot_dt));
        }
        if self.n_snapshots == 0 {
            return Err(SolverError::invalid("n_snapshots", "at least 1", self.n_snapshots));
        }
        Ok(())
    }
}

/// A [`SampleGenerator`] for Navier–Stokes trajectories.
///
/// Each sample has two fields: `"a"`, the vorticity after the spin-up, shape
/// `[out_size, out_size]`, and `"u"`, the next `n_snapshots` states `snapshot_dt` apart,
/// shape `[n_snapshots, out_size, out_size]`. Index `[.., i, j]` is the point
/// `(x_i, y_j) = (iL/s, jL/s)`. For the FNO benchmark `"a"` is the initial condition, as in
/// FNO's data.
#[derive(Debug)]
pub struct NsGenerator {
    config: NsDataConfig,
    grf: PeriodicGrf,
    forcing: Vec<f64>,
}

impl NsGenerator {
    /// Validates `config` and prepares the initial-condition sampler and the forcing.
    pub fn new(config: NsDataConfig) -> Result<Self> {
        config.validate()?;
        let grf = PeriodicGrf::fno_navier_stokes(config.n)?;
        let forcing = config.flow.forcing(config.n);
        Ok(Self { config, grf, forcing })
    }

    /// The configuration.
    pub fn config(&self) -> &NsDataConfig {
        &self.config
    }

    /// A solver set up with this data set's forcing and the initial vorticity of sample
    /// `(seed, index)`.
    pub fn initial_solver(&self, seed: u64, index: u64) -> Result<NavierStokes2d> {
        let mut rng = sample_rng(seed, index);
        let omega0 = self.grf.sample(&mut rng);
        let mut solver =
            NavierStokes2d::new(self.config.solver_config())?.with_forcing(&self.forcing)?;
        solver.set_vorticity(&omega0)?;
        Ok(solver)
    }

    fn run(&self, solver: &mut NavierStokes2d) -> Result<Sample> {
        let config = &self.config;
        let s = config.out_size;
        let mut output = SpectralGrid::new(s, config.flow.length())?;
        solver.advance(config.t_spinup)?;
        let first = solver.vorticity_resampled(&mut output)?;
        let mut trajectory = Vec::with_capacity(config.n_snapshots * s * s);
        for _ in 0..config.n_snapshots {
            solver.advance(config.snapshot_dt)?;
            trajectory.extend(solver.vorticity_resampled(&mut output)?);
        }
        Ok(Sample {
            fields: vec![
                Field { name: "a".into(), shape: vec![s, s], data: first },
                Field { name: "u".into(), shape: vec![config.n_snapshots, s, s], data: trajectory },
            ],
        })
    }
}

impl SampleGenerator for NsGenerator {
    fn equation(&self) -> &'static str {
        "navier_stokes"
    }

    fn parameters(&self) -> serde_json::Value {
        serde_json::json!({
            "config": self.config,
            "scheme": TimeScheme::IfRk4,
            "dealiasing": "2/3 rule",
            "initial_condition": {
                "kind": "periodic_grf",
                "alpha": 2.5,
                "tau": 7.0,
                "sigma": self.grf.sigma(),
            },
        })
    }

    fn generate(&self, seed: u64, index: u64) -> Result<Sample> {
        let mut solver = self.initial_solver(seed, index)?;
        self.run(&mut solver).map_err(|error| {
            let detail = format!("sample {index} (seed {seed}) rejected: {error}");
            log::warn!("{detail}");
            SolverError::NotConverged { solver: "navier_stokes", detail }
        })
    }
}
