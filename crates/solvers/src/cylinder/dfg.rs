//! The DFG benchmark quantities (Schäfer & Turek 1996): drag, lift and pressure difference of
//! the steady case 2D-1 (Re 20) and drag, lift and Strouhal number of the periodic case 2D-2
//! (Re 100).

use super::fields::SurfaceForces;
use super::lattice::{CylinderLbm, DFG_RADIUS, LbmConfig};
use crate::{Result, SolverError};

/// Result of a steady run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SteadyReport {
    /// Drag coefficient `2 F_x / (ρ U_mean² D)`.
    pub drag: f64,
    /// Lift coefficient.
    pub lift: f64,
    /// `p(0.15, 0.2) − p(0.25, 0.2)` in physical units, from the fitted surface pressure.
    pub delta_p: f64,
    /// Pressure and friction parts of the force from the fitted surface pressure and wall
    /// shear (720 angles): their sum checks the momentum-exchange drag and lift.
    pub surface: SurfaceForces,
    /// Lattice steps taken.
    pub steps: u64,
    /// Relative change of the drag over the last convective time unit.
    pub drag_change: f64,
}

/// Runs the lattice until the drag changes by less than `tolerance` (relative) over one
/// convective time `D / U_mean`, or fails after `max_convective_times`.
pub fn run_steady(
    config: LbmConfig,
    tolerance: f64,
    max_convective_times: f64,
) -> Result<SteadyReport> {
    if !(tolerance.is_finite() && tolerance > 0.0) {
        return Err(SolverError::invalid("tolerance", "a finite value > 0", tolerance));
    }
    if !(max_convective_times.is_finite() && max_convective_times > 0.0) {
        return Err(SolverError::invalid(
            "max_convective_times",
            "a finite time > 0",
            max_convective_times,
        ));
    }
    let mut lbm = CylinderLbm::new(config)?;
    let window = lbm.config().steps_per_convective_time().ceil().max(1.0) as usize;
    let max_windows = (max_convective_times).ceil() as usize;
    let mut previous = f64::NAN;
    for _ in 0..max_windows {
        let forces = lbm.advance(window)?;
        let last = forces[window - 1];
        let change = ((last.drag - previous) / last.drag).abs();
        previous = last.drag;
        if change < tolerance {
            let fields = lbm.nodal_fields();
            return Ok(SteadyReport {
                drag: last.drag,
                lift: last.lift,
                delta_p: fields.pressure_difference()?,
                surface: fields.surface_forces(720)?,
                steps: lbm.steps(),
                drag_change: change,
            });
        }
    }
    Err(SolverError::NotConverged {
        solver: "cylinder_lbm",
        detail: format!(
            "drag still changing after {max_convective_times} convective times (last {previous})"
        ),
    })
}

/// Result of a periodic run.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodicReport {
    /// Strouhal number `D f / U_mean` from the lift's period.
    pub strouhal: f64,
    /// Largest drag coefficient over the measured periods.
    pub drag_max: f64,
    /// Largest lift coefficient over the measured periods.
    pub lift_max: f64,
    /// Mean drag coefficient over the measured periods.
    pub drag_mean: f64,
    /// Number of whole lift periods measured.
    pub periods: usize,
    /// Lattice steps taken.
    pub steps: u64,
}

/// Runs `t_spinup` convective times, then measures over `t_measure` convective times: the
/// Strouhal number from the mean spacing of upward mean-crossings of the lift, the maximum
/// drag and lift over the whole periods in that window.
pub fn run_periodic(config: LbmConfig, t_spinup: f64, t_measure: f64) -> Result<PeriodicReport> {
    for (name, value) in [("t_spinup", t_spinup), ("t_measure", t_measure)] {
        if !(value.is_finite() && value >= 0.0) {
            return Err(SolverError::invalid(name, "a finite time ≥ 0", value));
        }
    }
    let mut lbm = CylinderLbm::new(config)?;
    let per_unit = lbm.config().steps_per_convective_time();
    lbm.advance((t_spinup * per_unit).round() as usize)?;
    let forces = lbm.advance((t_measure * per_unit).round() as usize)?;
    let lift: Vec<f64> = forces.iter().map(|f| f.lift).collect();
    let crossings = upward_crossings(&lift);
    if crossings.len() < 3 {
        return Err(SolverError::NotConverged {
            solver: "cylinder_lbm",
            detail: format!(
                "no periodic shedding: {} lift crossings in {t_measure} convective times \
                 (lift range {:.3e})",
                crossings.len(),
                lift.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
                    - lift.iter().cloned().fold(f64::INFINITY, f64::min)
            ),
        });
    }
    let periods = crossings.len() - 1;
    let period_steps = (crossings[periods] - crossings[0]) / periods as f64;
    let config = lbm.config();
    let strouhal = 2.0 * DFG_RADIUS / config.dx() / (period_steps * config.u_mean_lattice());
    let window = crossings[0].ceil() as usize..crossings[periods].floor() as usize;
    let drags = &forces[window.clone()];
    Ok(PeriodicReport {
        strouhal,
        drag_max: drags.iter().map(|f| f.drag).fold(f64::NEG_INFINITY, f64::max),
        lift_max: drags.iter().map(|f| f.lift).fold(f64::NEG_INFINITY, f64::max),
        drag_mean: drags.iter().map(|f| f.drag).sum::<f64>() / drags.len() as f64,
        periods,
        steps: lbm.steps(),
    })
}

/// Fractional indices where `signal` crosses its mean upwards (linear interpolation).
pub fn upward_crossings(signal: &[f64]) -> Vec<f64> {
    if signal.len() < 2 {
        return Vec::new();
    }
    let mean = signal.iter().sum::<f64>() / signal.len() as f64;
    signal
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[0] - mean < 0.0 && w[1] - mean >= 0.0)
        .map(|(k, w)| k as f64 + (mean - w[0]) / (w[1] - w[0]))
        .collect()
}
