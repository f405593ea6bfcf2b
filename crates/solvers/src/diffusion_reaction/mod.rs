//! 2-D diffusion–reaction (FitzHugh–Nagumo), PDEBench's `2D_diff-react_NA_NA` data set.
//!
//! On `[−1, 1]²` with zero-flux walls (data-recipes.md §4.4):
//! `∂u/∂t = D_u Δu + u − u³ − k − v`, `∂v/∂t = D_v Δv + u − v`, with PDEBench's
//! `D_u = 1e-3`, `D_v = 5e-3`, `k = 5e-3`.
//!
//! Space: cell-centred finite volumes on `n × n` cells, `x_i = −1 + (i + ½)Δx`; the 5-point
//! Laplacian in flux form, where a wall face carries no flux (the boundary cell simply has no
//! outside neighbour, exactly PDEBench's matrix). Time: adaptive Dormand–Prince 5(4)
//! ([`dopri::Dopri5`]) with controllable tolerances, PDEBench's rtol 1e-3, atol 1e-6 by default.
//!
//! Arrays are row-major `[j, i]` = `(y_j, x_i)`, `x` fastest, as PDEBench's `(t, y, x)` data.

pub mod dopri;

use rand::Rng;
use rand_distr::StandardNormal;

pub use dopri::{Dopri5, Dopri5Stats};

use crate::dataset::{Field, Sample, SampleGenerator, sample_rng};
use crate::{Result, SolverError};

/// Which reaction terms are active.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reaction {
    /// `R_u = u − u³ − k − v`, `R_v = u − v` (the data set).
    FitzHughNagumo,
    /// No reaction: pure diffusion (for validation).
    Off,
}

/// Parameters of a diffusion–reaction run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DiffReactConfig {
    /// Cells per axis.
    pub n: usize,
    /// Diffusivity of the activator `u` (≥ 0).
    pub du: f64,
    /// Diffusivity of the inhibitor `v` (≥ 0).
    pub dv: f64,
    /// The reaction constant `k`.
    pub k: f64,
    /// The reaction terms.
    pub reaction: Reaction,
    /// Final time.
    pub t_final: f64,
    /// Number of equispaced output times in `[0, t_final]`, both ends included.
    pub n_outputs: usize,
    /// Relative tolerance of the time integrator.
    pub rtol: f64,
    /// Absolute tolerance of the time integrator.
    pub atol: f64,
}

impl DiffReactConfig {
    /// PDEBench's `2D_diff-react_NA_NA`: 128² cells, `D_u = 1e-3`, `D_v = 5e-3`, `k = 5e-3`,
    /// `t ∈ [0, 5]` with 101 outputs, rtol 1e-3, atol 1e-6.
    pub fn pdebench() -> Self {
        Self {
            n: 128,
            du: 1e-3,
            dv: 5e-3,
            k: 5e-3,
            reaction: Reaction::FitzHughNagumo,
            t_final: 5.0,
            n_outputs: 101,
            rtol: 1e-3,
            atol: 1e-6,
        }
    }

    /// Sets the number of cells per axis.
    pub fn with_cells(mut self, n: usize) -> Self {
        self.n = n;
        self
    }

    /// Sets the integrator tolerances.
    pub fn with_tolerances(mut self, rtol: f64, atol: f64) -> Self {
        self.rtol = rtol;
        self.atol = atol;
        self
    }

    /// Sets the diffusivities.
    pub fn with_diffusivities(mut self, du: f64, dv: f64) -> Self {
        self.du = du;
        self.dv = dv;
        self
    }

    /// Sets the reaction terms.
    pub fn with_reaction(mut self, reaction: Reaction) -> Self {
        self.reaction = reaction;
        self
    }

    /// Sets the final time and number of outputs.
    pub fn with_outputs(mut self, t_final: f64, n_outputs: usize) -> Self {
        self.t_final = t_final;
        self.n_outputs = n_outputs;
        self
    }

    /// Cell width `Δx = 2/n`.
    pub fn dx(&self) -> f64 {
        2.0 / self.n as f64
    }

    /// The output times `t_k = k·t_final/(n_outputs − 1)`.
    pub fn output_times(&self) -> Vec<f64> {
        if self.n_outputs == 1 {
            return vec![0.0];
        }
        let dt = self.t_final / (self.n_outputs - 1) as f64;
        (0..self.n_outputs).map(|k| k as f64 * dt).collect()
    }

    /// Checks every parameter.
    pub fn validate(&self) -> Result<()> {
        if self.n < 2 {
            return Err(SolverError::invalid("n", "at least 2 cells per axis", self.n));
        }
        for (name, value) in [("du", self.du), ("dv", self.dv)] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(SolverError::invalid(name, "a finite diffusivity ≥ 0", value));
            }
        }
        if !self.k.is_finite() {
            return Err(SolverError::invalid("k", "a finite reaction constant", self.k));
        }
        if !(self.t_final.is_finite() && self.t_final > 0.0) {
            return Err(SolverError::invalid("t_final", "a finite time > 0", self.t_final));
        }
        if self.n_outputs < 2 {
            return Err(SolverError::invalid(
                "n_outputs",
                "at least 2 (t = 0 and t_final)",
                self.n_outputs,
            ));
        }
        Dopri5::new(self.rtol, self.atol)?;
        Ok(())
    }
}

/// A solution sampled at the output times.
#[derive(Debug, Clone, PartialEq)]
pub struct DiffReactTrajectory {
    /// The output times.
    pub times: Vec<f64>,
    /// `u`, shape `[n_outputs, n, n]`, `[t, j, i]`.
    pub u: Vec<f64>,
    /// `v`, same shape.
    pub v: Vec<f64>,
    /// Integrator work.
    pub stats: Dopri5Stats,
}

/// The semi-discrete diffusion–reaction system and its integration.
#[derive(Debug, Clone)]
pub struct DiffusionReaction {
    config: DiffReactConfig,
    integrator: Dopri5,
}

impl DiffusionReaction {
    /// Validates `config`.
    pub fn new(config: DiffReactConfig) -> Result<Self> {
        config.validate()?;
        let integrator = Dopri5::new(config.rtol, config.atol)?;
        Ok(Self { config, integrator })
    }

    /// The configuration.
    pub fn config(&self) -> &DiffReactConfig {
        &self.config
    }

    /// `out = Δ_h field`, the zero-flux finite-volume Laplacian (`n²` values, `[j, i]`).
    ///
    /// Each face between two cells carries the flux `(φ_nb − φ)/Δx²`; a wall face carries
    /// none, which the clamped neighbour index (`nb = self` at a wall) gives for free.
    pub fn laplacian(&self, field: &[f64], out: &mut [f64]) {
        let n = self.config.n;
        let inv_dx2 = 1.0 / (self.config.dx() * self.config.dx());
        for j in 0..n {
            let (jm, jp) = (j.saturating_sub(1), (j + 1).min(n - 1));
            let (row, below, above) =
                (&field[j * n..][..n], &field[jm * n..][..n], &field[jp * n..][..n]);
            let out_row = &mut out[j * n..][..n];
            for i in 0..n {
                let (im, ip) = (i.saturating_sub(1), (i + 1).min(n - 1));
                let c = row[i];
                out_row[i] =
                    ((row[im] - c) + (row[ip] - c) + (below[i] - c) + (above[i] - c)) * inv_dx2;
            }
        }
    }

    /// The right-hand side for the state `[u, v]` (`2n²` values): `out = d[u, v]/dt`.
    pub fn rhs(&self, state: &[f64], out: &mut [f64]) {
        let cells = self.config.n * self.config.n;
        let (u, v) = state.split_at(cells);
        let (du_dt, dv_dt) = out.split_at_mut(cells);
        self.laplacian(u, du_dt);
        self.laplacian(v, dv_dt);
        let (d_u, d_v, k) = (self.config.du, self.config.dv, self.config.k);
        match self.config.reaction {
            Reaction::FitzHughNagumo => {
                for m in 0..cells {
                    let (um, vm) = (u[m], v[m]);
                    du_dt[m] = d_u * du_dt[m] + um - um * um * um - k - vm;
                    dv_dt[m] = d_v * dv_dt[m] + um - vm;
                }
            }
            Reaction::Off => {
                du_dt.iter_mut().for_each(|x| *x *= d_u);
                dv_dt.iter_mut().for_each(|x| *x *= d_v);
            }
        }
    }

    /// Integrates from `u0`, `v0` (`n²` values each) and samples the output times.
    ///
    /// Errors when a length is wrong or a value is not finite (`InvalidParameter`), or when
    /// the integration fails (`NotConverged`).
    pub fn solve(&self, u0: &[f64], v0: &[f64]) -> Result<DiffReactTrajectory> {
        let cells = self.config.n * self.config.n;
        for (name, field) in [("u0", u0), ("v0", v0)] {
            if field.len() != cells {
                return Err(SolverError::invalid(
                    name,
                    format!("{cells} cell values"),
                    field.len(),
                ));
            }
            if field.iter().any(|x| !x.is_finite()) {
                return Err(SolverError::invalid(name, "finite values", "a non-finite value"));
            }
        }
        let times = self.config.output_times();
        let mut state = Vec::with_capacity(2 * cells);
        state.extend_from_slice(u0);
        state.extend_from_slice(v0);
        let mut u = vec![0.0; times.len() * cells];
        let mut v = vec![0.0; times.len() * cells];
        let stats = self.integrator.integrate(
            |y, dy| self.rhs(y, dy),
            &state,
            &times,
            |k, y| {
                u[k * cells..][..cells].copy_from_slice(&y[..cells]);
                v[k * cells..][..cells].copy_from_slice(&y[cells..]);
            },
        )?;
        Ok(DiffReactTrajectory { times, u, v, stats })
    }
}

/// A [`SampleGenerator`] for PDEBench-style diffusion–reaction trajectories.
///
/// The initial state is white noise, `u_0`, `v_0` i.i.d. N(0, 1) per cell (as PDEBench,
/// though drawn from our own generator stream, not NumPy's). Fields: `"u"` and `"v"`, each
/// of shape `[n_outputs, n, n]`, `[t, j, i]` = `(t, y_j, x_i)`, the first slice the initial state.
#[derive(Debug, Clone)]
pub struct DiffReactGenerator {
    system: DiffusionReaction,
}

impl DiffReactGenerator {
    /// Validates `config`.
    pub fn new(config: DiffReactConfig) -> Result<Self> {
        Ok(Self { system: DiffusionReaction::new(config)? })
    }

    /// The initial `(u0, v0)` of sample `(seed, index)`.
    pub fn initial_state(&self, seed: u64, index: u64) -> (Vec<f64>, Vec<f64>) {
        let cells = self.system.config.n * self.system.config.n;
        let mut rng = sample_rng(seed, index);
        let u0: Vec<f64> = (0..cells).map(|_| rng.sample(StandardNormal)).collect();
        let v0: Vec<f64> = (0..cells).map(|_| rng.sample(StandardNormal)).collect();
        (u0, v0)
    }
}

impl SampleGenerator for DiffReactGenerator {
    fn equation(&self) -> &'static str {
        "diffusion_reaction"
    }

    fn parameters(&self) -> serde_json::Value {
        serde_json::json!({
            "config": self.system.config,
            "domain": [[-1.0, 1.0], [-1.0, 1.0]],
            "discretisation": "cell-centred finite volumes, zero-flux walls",
            "integrator": "dopri5",
            "initial_condition": "white noise N(0, 1) per cell, u then v",
            "layout": "[t, y, x]",
        })
    }

    fn generate(&self, seed: u64, index: u64) -> Result<Sample> {
        let (u0, v0) = self.initial_state(seed, index);
        let trajectory = self.system.solve(&u0, &v0).map_err(|error| {
            let detail = format!("sample {index} (seed {seed}) rejected: {error}");
            log::warn!("{detail}");
            SolverError::NotConverged { solver: "diffusion_reaction", detail }
        })?;
        let n = self.system.config.n;
        let shape = vec![trajectory.times.len(), n, n];
        Ok(Sample {
            fields: vec![
                Field { name: "u".into(), shape: shape.clone(), data: trajectory.u },
                Field { name: "v".into(), shape, data: trajectory.v },
            ],
        })
    }
}
