//! The spherical shallow-water data set: pairs `(u(t), u(t + Δ))`, as torch-harmonics'
//! `PdeDataset` and neuraloperator's `SphericalSWEDataset` make them.
//!
//! Each sample draws torch-harmonics' random initial condition from `sample_rng(seed, index)`,
//! records it on the grid, integrates `n_steps` solver steps over `interval` (1 h by default)
//! and records the result. A sample whose integration fails is rejected with an error that
//! says why; it is never returned.

use lno_quadrature::{Complex64, SphereGridKind};

use super::initial::RandomIcParams;
use super::solver::{AbStart, Planet, ShallowWater, SweConfig, SweState};
use crate::dataset::{Field, Sample, SampleGenerator, sample_rng};
use crate::{Result, SolverError};

/// Everything that determines a shallow-water data set (the TOML form of an experiment's
/// `[…generator.shallow-water]`; every key but `hyperdiffusion` required).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SweDataConfig {
    /// Latitude rule of the grid.
    pub grid: SphereGridKind,
    /// Latitudes.
    pub nlat: usize,
    /// Longitudes.
    pub nlon: usize,
    /// Degrees kept (`mmax = lmax`).
    pub lmax: usize,
    /// Time between input and target (s).
    pub interval: f64,
    /// Solver steps per interval; the solver step is `interval / n_steps`.
    pub n_steps: u64,
    /// The random initial condition.
    pub ic: RandomIcParams,
    /// Hyperdiffusion e-folding time at the highest degree (s), `None` (absent) for none.
    #[serde(default)]
    pub hyperdiffusion: Option<f64>,
    /// Planet constants.
    pub planet: Planet,
    /// Adams–Bashforth start-up.
    pub start: AbStart,
}

impl SweDataConfig {
    /// neuraloperator's `SphericalSWEDataset` recipe on an `nlat × nlon` grid: `lmax = ⌈nlat/3⌉`,
    /// interval 3600 s, `n_steps = ⌊3600 s / ((256/nlat)·150 s)⌋` (24 at nlat = 256, 3 at 32),
    /// Mach 0.2, `llimit` 120 (torch-harmonics 0.7.4), hyperdiffusion with a 2 h e-folding time, the Earth.
    pub fn torch_harmonics(grid: SphereGridKind, nlat: usize, nlon: usize) -> Self {
        let dt_min = 256.0 / nlat.max(1) as f64 * 150.0;
        let n_steps = ((3600.0 / dt_min).floor() as u64).max(1);
        Self {
            grid,
            nlat,
            nlon,
            lmax: nlat.div_ceil(3),
            interval: 3600.0,
            n_steps,
            ic: RandomIcParams::default(),
            hyperdiffusion: Some(7200.0),
            planet: Planet::EARTH,
            start: AbStart::Textbook,
        }
    }

    /// The solver step `interval / n_steps`.
    pub fn dt(&self) -> f64 {
        self.interval / self.n_steps.max(1) as f64
    }

    /// The solver configuration.
    pub fn solver_config(&self) -> SweConfig {
        SweConfig::new(self.grid, self.nlat, self.nlon, self.dt())
            .with_lmax(self.lmax)
            .with_hyperdiffusion(self.hyperdiffusion)
            .with_planet(self.planet)
            .with_start(self.start)
    }

    fn validate(&self) -> Result<()> {
        if !(self.interval.is_finite() && self.interval > 0.0) {
            return Err(SolverError::invalid("interval", "a finite time > 0 (s)", self.interval));
        }
        if self.n_steps == 0 {
            return Err(SolverError::invalid("n_steps", "at least 1", self.n_steps));
        }
        self.ic.validate()?;
        self.solver_config().validate()
    }
}

/// A [`SampleGenerator`] for shallow-water pairs.
///
/// Each sample has two fields, `"x"` (the initial state) and `"y"` (the state `interval`
/// later), each of shape `[3, nlat, nlon]` with channels `(φ, ζ, δ)` in SI units (m² s⁻²,
/// s⁻¹, s⁻¹) on the grid, as torch-harmonics' data set returns them before its
/// normalisation. Index `[c, k, p]` is colatitude `θ_k` (north first) and longitude
/// `2πp/nlon`.
#[derive(Debug)]
pub struct SweGenerator {
    config: SweDataConfig,
    template: ShallowWater,
}

impl SweGenerator {
    /// Validates `config` and builds the transforms shared by all samples.
    ///
    /// # Errors
    /// Any invalid parameter, including a solver step beyond AB3's gravity-wave limit for
    /// the mean depth `ic.havg` (`dt`).
    pub fn new(config: SweDataConfig) -> Result<Self> {
        config.validate()?;
        let mut template = ShallowWater::new(config.solver_config())?;
        // The mean depth is the same for every sample, so the step can be checked once.
        let mut resting = SweState::zeros(config.lmax);
        let g = config.planet.gravity;
        resting.phi.as_mut_slice()[0] =
            Complex64::new((4.0 * std::f64::consts::PI).sqrt() * g * config.ic.havg, 0.0);
        template.set_state(resting)?;
        Ok(Self { config, template })
    }

    /// The configuration.
    pub fn config(&self) -> &SweDataConfig {
        &self.config
    }

    /// A solver holding the initial state of sample `(seed, index)`.
    ///
    /// # Errors
    /// None in practice (the configuration was validated).
    pub fn initial_solver(&self, seed: u64, index: u64) -> Result<ShallowWater> {
        let mut rng = sample_rng(seed, index);
        let mut solver = self.template.clone();
        let state = solver.random_state(&self.config.ic, &mut rng)?;
        solver.set_state(state)?;
        Ok(solver)
    }

    fn channels(solver: &ShallowWater) -> Result<Vec<f64>> {
        let f = solver.grid_fields()?;
        let mut out = f.phi;
        out.extend_from_slice(&f.vort);
        out.extend_from_slice(&f.div);
        Ok(out)
    }

    fn run(&self, solver: &mut ShallowWater) -> Result<Sample> {
        let x = Self::channels(solver)?;
        solver.advance(self.config.n_steps)?;
        let y = Self::channels(solver)?;
        if let Some(bad) = y.iter().take(self.config.nlat * self.config.nlon).find(|&&p| p <= 0.0) {
            return Err(SolverError::NotConverged {
                solver: "shallow_water",
                detail: format!(
                    "geopotential {bad} ≤ 0 at t = {} s (the fluid dried out)",
                    solver.time()
                ),
            });
        }
        let shape = vec![3, self.config.nlat, self.config.nlon];
        Ok(Sample {
            fields: vec![
                Field { name: "x".into(), shape: shape.clone(), data: x },
                Field { name: "y".into(), shape, data: y },
            ],
        })
    }
}

impl SampleGenerator for SweGenerator {
    fn equation(&self) -> &'static str {
        "shallow_water_sphere"
    }

    fn parameters(&self) -> serde_json::Value {
        serde_json::json!({
            "solver": self.config.solver_config().to_json(),
            "interval_s": self.config.interval,
            "n_steps": self.config.n_steps,
            "initial_condition": { "kind": "torch_harmonics_random", "params": self.config.ic },
            "channels": ["phi", "vorticity", "divergence"],
        })
    }

    fn generate(&self, seed: u64, index: u64) -> Result<Sample> {
        let mut solver = self.initial_solver(seed, index)?;
        self.run(&mut solver).map_err(|error| {
            let detail = format!("sample {index} (seed {seed}) rejected: {error}");
            log::warn!("{detail}");
            SolverError::NotConverged { solver: "shallow_water", detail }
        })
    }
}
