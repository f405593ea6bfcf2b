//! The cylinder-flow data set: pairs `state(t) → state(t + Δt)` on a fixed irregular cloud.
//!
//! Sample `index` draws a Reynolds number uniformly from `reynolds` and a phase uniformly from
//! `[0, t_window)` (both from [`sample_rng`]), runs the lattice from the Poiseuille state for
//! `t_spinup + phase` convective times `D / U_mean`, samples `(u, v, p)` on the cloud, runs
//! `snapshot_dt` more and samples again. Velocities are divided by `U_mean` and the pressure
//! (relative to the outlet) by `ρ U_mean²`, so samples at different Re share one scale. The
//! cloud and its quadrature weights are identical in every sample and stored with each.

use lno_quadrature::irregular::{Domain, RadialSpacing, WeightMethod};
use rand::Rng;

use super::lattice::{CurvedWall, CylinderLbm, DFG_CENTER, DFG_RADIUS, LbmConfig, XBoundary};
use crate::dataset::{Field, Sample, SampleGenerator, sample_rng};
use crate::{Result, SolverError};

/// The fixed point cloud: a Poisson-disk sample of the DFG domain whose spacing grows
/// linearly from `h_near` at the cylinder to `h_far`, with lumped Delaunay weights.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CloudConfig {
    /// Vertices of the polygon that stands for the disk.
    pub n_disk: usize,
    /// Spacing on the cylinder.
    pub h_near: f64,
    /// Largest spacing.
    pub h_far: f64,
    /// Spacing growth per unit distance from the cylinder.
    pub growth: f64,
    /// Seed of the Poisson-disk sampler (independent of the data-set seed: the cloud is fixed).
    pub seed: u64,
}

impl Default for CloudConfig {
    /// About 1.9k points: 0.004 on the cylinder growing to 0.025 (quadrature docs' family).
    fn default() -> Self {
        Self { n_disk: 64, h_near: 0.004, h_far: 0.025, growth: 0.15, seed: 0 }
    }
}

/// Everything that determines a cylinder-flow data set.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CylinderDataConfig {
    /// Lattice nodes across the channel (`D = ny · 0.1/0.41` nodes per diameter).
    pub ny: usize,
    /// Inlet centreline speed in lattice units.
    pub u_max_lattice: f64,
    /// TRT magic parameter.
    pub magic: f64,
    /// Reynolds numbers are drawn uniformly from `[reynolds[0], reynolds[1]]`.
    pub reynolds: [f64; 2],
    /// Convective times run before the earliest recorded state.
    pub t_spinup: f64,
    /// Width of the window from which the phase of the first state is drawn.
    pub t_window: f64,
    /// Convective time between the input and the output state.
    pub snapshot_dt: f64,
    /// The point cloud.
    pub cloud: CloudConfig,
}

impl Default for CylinderDataConfig {
    /// Re ∈ [60, 120] at D = 20 nodes (ny = 82), u_max = 0.1, Λ = 1/4; 60 convective times of
    /// spin-up, phase drawn over 10 (about two shedding periods), Δt = 0.5 D/U.
    fn default() -> Self {
        Self {
            ny: 82,
            u_max_lattice: 0.1,
            magic: 0.25,
            reynolds: [60.0, 120.0],
            t_spinup: 60.0,
            t_window: 10.0,
            snapshot_dt: 0.5,
            cloud: CloudConfig::default(),
        }
    }
}

impl CylinderDataConfig {
    /// The lattice configuration at Reynolds number `reynolds`.
    pub fn lattice(&self, reynolds: f64) -> LbmConfig {
        LbmConfig {
            ny: self.ny,
            length: super::lattice::DFG_LENGTH,
            reynolds,
            u_max_lattice: self.u_max_lattice,
            magic: self.magic,
            cylinder: true,
            curved_wall: CurvedWall::Bouzidi,
            x_boundary: XBoundary::InletOutlet,
        }
    }

    fn validate(&self) -> Result<()> {
        let [lo, hi] = self.reynolds;
        if !(lo.is_finite() && hi.is_finite() && lo > 0.0 && lo <= hi) {
            return Err(SolverError::invalid(
                "reynolds",
                "a finite range [lo, hi] with 0 < lo ≤ hi",
                format!("{:?}", self.reynolds),
            ));
        }
        // Both ends must give a valid, stable lattice.
        self.lattice(lo).validate()?;
        self.lattice(hi).validate()?;
        for (name, value) in [("t_spinup", self.t_spinup), ("t_window", self.t_window)] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(SolverError::invalid(name, "a finite convective time ≥ 0", value));
            }
        }
        if !(self.snapshot_dt.is_finite() && self.snapshot_dt > 0.0) {
            return Err(SolverError::invalid(
                "snapshot_dt",
                "a finite convective time > 0",
                self.snapshot_dt,
            ));
        }
        Ok(())
    }
}

/// A [`SampleGenerator`] for cylinder flow on a fixed irregular cloud.
///
/// Fields of each sample, `n` the number of cloud points:
/// `"points"` `[n, 2]` (x, y), `"weights"` `[n]` (lumped Delaunay quadrature, summing to the
/// domain's area), `"reynolds"` `[1]`, `"time"` `[1]` (convective time of the input state),
/// `"a"` `[n, 3]` the input `(u, v, p)` and `"u"` `[n, 3]` the state `snapshot_dt` later.
#[derive(Debug)]
pub struct CylinderGenerator {
    config: CylinderDataConfig,
    points: Vec<[f64; 2]>,
    weights: Vec<f64>,
}

impl CylinderGenerator {
    /// Validates `config`, samples the cloud and computes its weights.
    pub fn new(config: CylinderDataConfig) -> Result<Self> {
        config.validate()?;
        let c = &config.cloud;
        let quad = |name: &'static str, e: lno_quadrature::QuadratureError| {
            SolverError::invalid(name, "a cloud the quadrature crate accepts", e)
        };
        let domain = Domain::dfg_cylinder(c.n_disk).map_err(|e| quad("cloud.n_disk", e))?;
        let spacing = RadialSpacing::new(DFG_CENTER, DFG_RADIUS, c.h_near, c.h_far, c.growth)
            .map_err(|e| quad("cloud", e))?;
        let cloud = domain
            .poisson_disk(spacing.h_min(), |p| spacing.at(p), c.seed)
            .map_err(|e| quad("cloud.h_near", e))?;
        let weights = domain
            .weights(&cloud.points, WeightMethod::LumpedDelaunay)
            .map_err(|e| quad("cloud", e))?;
        Ok(Self { config, points: cloud.points, weights })
    }

    /// The configuration.
    pub fn config(&self) -> &CylinderDataConfig {
        &self.config
    }

    /// The cloud's points.
    pub fn points(&self) -> &[[f64; 2]] {
        &self.points
    }

    /// The cloud's quadrature weights.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The Reynolds number and phase (convective time after the spin-up) of sample
    /// `(seed, index)`.
    pub fn draw(&self, seed: u64, index: u64) -> (f64, f64) {
        let mut rng = sample_rng(seed, index);
        let [lo, hi] = self.config.reynolds;
        let u1: f64 = rng.random();
        let u2: f64 = rng.random();
        (lo + (hi - lo) * u1, self.config.t_window * u2)
    }

    fn run(&self, reynolds: f64, phase: f64) -> Result<Sample> {
        let mut lbm = CylinderLbm::new(self.config.lattice(reynolds))?;
        let per_unit = lbm.config().steps_per_convective_time();
        let t0 = self.config.t_spinup + phase;
        let start = (t0 * per_unit).round() as usize;
        let gap = ((self.config.snapshot_dt * per_unit).round() as usize).max(1);
        lbm.advance(start)?;
        let a = self.state(&lbm)?;
        lbm.advance(gap)?;
        let u = self.state(&lbm)?;
        let n = self.points.len();
        Ok(Sample {
            fields: vec![
                Field {
                    name: "points".into(),
                    shape: vec![n, 2],
                    data: self.points.iter().flatten().copied().collect(),
                },
                Field { name: "weights".into(), shape: vec![n], data: self.weights.clone() },
                Field { name: "reynolds".into(), shape: vec![1], data: vec![reynolds] },
                Field { name: "time".into(), shape: vec![1], data: vec![start as f64 / per_unit] },
                Field { name: "a".into(), shape: vec![n, 3], data: a },
                Field { name: "u".into(), shape: vec![n, 3], data: u },
            ],
        })
    }

    /// `(u/U, v/U, p/U²)` on the cloud, flattened `[n, 3]`.
    fn state(&self, lbm: &CylinderLbm) -> Result<Vec<f64>> {
        let scale = lbm.config().u_mean_physical();
        let values = lbm.nodal_fields().sample(&self.points)?;
        Ok(values
            .into_iter()
            .flat_map(|[u, v, p]| [u / scale, v / scale, p / (scale * scale)])
            .collect())
    }
}

impl SampleGenerator for CylinderGenerator {
    fn equation(&self) -> &'static str {
        "cylinder"
    }

    fn parameters(&self) -> serde_json::Value {
        serde_json::json!({
            "config": self.config,
            "method": "D2Q9 TRT lattice Boltzmann, He-Luo incompressible equilibrium",
            "cylinder_wall": "bouzidi",
            "weights": "lumped_delaunay",
            "n_points": self.points.len(),
        })
    }

    fn generate(&self, seed: u64, index: u64) -> Result<Sample> {
        let (reynolds, phase) = self.draw(seed, index);
        self.run(reynolds, phase).map_err(|error| {
            let detail = format!("sample {index} (seed {seed}, Re {reynolds}) rejected: {error}");
            log::warn!("{detail}");
            SolverError::NotConverged { solver: "cylinder", detail }
        })
    }
}
