//! Adaptive Dormand–Prince 5(4) Runge–Kutta, step control as in SciPy's `RK45`.
//!
//! PDEBench integrates its diffusion–reaction data with `scipy.integrate.solve_ivp` (method
//! RK45, rtol 1e-3, atol 1e-6; data-recipes.md §4.4). This is the same method: the Dormand–
//! Prince tableau with the fifth-order solution propagated (local extrapolation), the
//! embedded fourth-order error estimate, the RMS error norm scaled by
//! `atol + rtol·max(|y|, |y_new|)`, safety factor 0.9, step-size factors in [0.2, 10] and
//! no growth right after a rejection, and Hairer's initial-step heuristic. One deliberate
//! difference: steps are clipped to land on every output time instead of interpolating
//! dense output, which changes the step sequence but not the order of accuracy.
//! Explicit RK stays stable on the mildly stiff diffusion term because the controller
//! keeps rejected steps inside the stability region, as in SciPy.

use crate::{Result, SolverError};

/// Stage coefficients `a_ij` (row i, columns j < i). The systems here are autonomous, so
/// the nodes `c_i` are not needed.
const A: [[f64; 5]; 6] = [
    [0.0, 0.0, 0.0, 0.0, 0.0],
    [1.0 / 5.0, 0.0, 0.0, 0.0, 0.0],
    [3.0 / 40.0, 9.0 / 40.0, 0.0, 0.0, 0.0],
    [44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0, 0.0, 0.0],
    [19372.0 / 6561.0, -25360.0 / 2187.0, 64448.0 / 6561.0, -212.0 / 729.0, 0.0],
    [9017.0 / 3168.0, -355.0 / 33.0, 46732.0 / 5247.0, 49.0 / 176.0, -5103.0 / 18656.0],
];

/// Fifth-order weights `b_i`.
const B: [f64; 6] =
    [35.0 / 384.0, 0.0, 500.0 / 1113.0, 125.0 / 192.0, -2187.0 / 6784.0, 11.0 / 84.0];

/// Error weights `b_i − b̂_i`, the last one for the FSAL stage `f(t + h, y_new)`.
const E: [f64; 7] = [
    -71.0 / 57600.0,
    0.0,
    71.0 / 16695.0,
    -71.0 / 1920.0,
    17253.0 / 339200.0,
    -22.0 / 525.0,
    1.0 / 40.0,
];

/// Step-size controller constants (SciPy's `RK45`).
const SAFETY: f64 = 0.9;
const MIN_FACTOR: f64 = 0.2;
const MAX_FACTOR: f64 = 10.0;
/// `−1/(q + 1)` for the fourth-order error estimator.
const ERROR_EXPONENT: f64 = -1.0 / 5.0;

/// Tolerances and limits of a [`Dopri5`] integration.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Dopri5 {
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Accepted plus rejected steps allowed before giving up.
    pub max_steps: usize,
}

/// Work done by one integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Dopri5Stats {
    /// Accepted steps.
    pub accepted: usize,
    /// Rejected steps.
    pub rejected: usize,
    /// Right-hand-side evaluations.
    pub evaluations: usize,
}

/// Root mean square, SciPy's error norm.
fn rms(values: impl Iterator<Item = f64>, len: usize) -> f64 {
    (values.map(|x| x * x).sum::<f64>() / len as f64).sqrt()
}

impl Dopri5 {
    /// Tolerances `rtol`, `atol` with at most 10⁷ steps.
    ///
    /// Errors when a tolerance is not finite and positive (SciPy also requires
    /// `rtol ≥ 100ε`).
    pub fn new(rtol: f64, atol: f64) -> Result<Self> {
        if !(rtol.is_finite() && rtol >= 100.0 * f64::EPSILON) {
            return Err(SolverError::invalid("rtol", "a finite relative tolerance ≥ 100ε", rtol));
        }
        if !(atol.is_finite() && atol > 0.0) {
            return Err(SolverError::invalid("atol", "a finite absolute tolerance > 0", atol));
        }
        Ok(Self { rtol, atol, max_steps: 10_000_000 })
    }

    /// Integrates `y' = f(y)` (autonomous) from `y0` at `times[0]` through the increasing
    /// `times`, calling `record(k, y)` with the solution at each `times[k]` (the first call
    /// gets `y0`).
    ///
    /// Errors: `times` not increasing or not finite (`InvalidParameter`); a step size that
    /// underflows, too many steps, or a non-finite solution (`NotConverged`, with the time).
    pub fn integrate(
        &self,
        mut f: impl FnMut(&[f64], &mut [f64]),
        y0: &[f64],
        times: &[f64],
        mut record: impl FnMut(usize, &[f64]),
    ) -> Result<Dopri5Stats> {
        if times.is_empty() || times.iter().any(|t| !t.is_finite()) {
            return Err(SolverError::invalid(
                "times",
                "a non-empty list of finite times",
                times.len(),
            ));
        }
        if times.windows(2).any(|w| w[1] <= w[0]) {
            return Err(SolverError::invalid(
                "times",
                "strictly increasing output times",
                "a non-increasing list",
            ));
        }
        let len = y0.len();
        let mut stats = Dopri5Stats::default();
        let mut y = y0.to_vec();
        let mut y_new = vec![0.0; len];
        let mut stage = vec![0.0; len];
        let mut k: Vec<Vec<f64>> = vec![vec![0.0; len]; 7];
        let mut t = times[0];
        record(0, &y);
        if times.len() == 1 {
            return Ok(stats);
        }
        f(&y, &mut k[0]);
        stats.evaluations += 1;
        let mut h = self.initial_step(
            &mut f,
            &y,
            &k[0],
            times[times.len() - 1] - t,
            &mut stage,
            &mut stats,
        );
        let mut next_output = 1;
        let mut rejected_last = false;
        while next_output < times.len() {
            let target = times[next_output];
            let min_step = 10.0 * (next_up(t) - t);
            if h < min_step || !h.is_finite() {
                return Err(self.failure(t, format!("step size {h:e} underflowed")));
            }
            if stats.accepted + stats.rejected >= self.max_steps {
                return Err(self.failure(t, format!("{} steps were not enough", self.max_steps)));
            }
            let clipped = t + h >= target;
            let h_step = if clipped { target - t } else { h };
            // Stages 2–6.
            for i in 1..6 {
                stage.copy_from_slice(&y);
                for j in 0..i {
                    let a = A[i][j] * h_step;
                    if a != 0.0 {
                        for (s, kj) in stage.iter_mut().zip(&k[j]) {
                            *s += a * kj;
                        }
                    }
                }
                f(&stage, &mut k[i]);
            }
            // Fifth-order solution, then the FSAL stage at it.
            y_new.copy_from_slice(&y);
            for (i, b) in B.iter().enumerate() {
                if *b != 0.0 {
                    for (yn, ki) in y_new.iter_mut().zip(&k[i]) {
                        *yn += h_step * b * ki;
                    }
                }
            }
            f(&y_new, &mut k[6]);
            stats.evaluations += 6;
            let error_norm = rms(
                (0..len).map(|m| {
                    let error: f64 = (0..7).map(|i| E[i] * k[i][m]).sum::<f64>() * h_step;
                    error / (self.atol + self.rtol * y[m].abs().max(y_new[m].abs()))
                }),
                len,
            );
            if error_norm < 1.0 {
                let mut factor = if error_norm == 0.0 {
                    MAX_FACTOR
                } else {
                    MAX_FACTOR.min(SAFETY * error_norm.powf(ERROR_EXPONENT))
                };
                if rejected_last {
                    factor = factor.min(1.0);
                }
                // A clipped step that passed says nothing against the unclipped proposal.
                h = if clipped && factor >= 1.0 {
                    (h_step * factor).max(h)
                } else {
                    h_step * factor
                };
                rejected_last = false;
                stats.accepted += 1;
                t = if clipped { target } else { t + h_step };
                std::mem::swap(&mut y, &mut y_new);
                k.swap(0, 6);
                if y.iter().any(|x| !x.is_finite()) {
                    return Err(self.failure(t, "the solution is not finite".into()));
                }
                if clipped {
                    record(next_output, &y);
                    next_output += 1;
                }
            } else {
                // NaN norms fail `< 1` too and shrink the step until it underflows.
                let factor = if error_norm.is_finite() {
                    MIN_FACTOR.max(SAFETY * error_norm.powf(ERROR_EXPONENT))
                } else {
                    MIN_FACTOR
                };
                h = h_step * factor;
                rejected_last = true;
                stats.rejected += 1;
            }
        }
        Ok(stats)
    }

    /// Hairer's starting step (SciPy's `select_initial_step`, order 5).
    fn initial_step(
        &self,
        f: &mut impl FnMut(&[f64], &mut [f64]),
        y0: &[f64],
        f0: &[f64],
        span: f64,
        work: &mut [f64],
        stats: &mut Dopri5Stats,
    ) -> f64 {
        let len = y0.len();
        let scale: Vec<f64> = y0.iter().map(|y| self.atol + y.abs() * self.rtol).collect();
        let d0 = rms(y0.iter().zip(&scale).map(|(y, s)| y / s), len);
        let d1 = rms(f0.iter().zip(&scale).map(|(y, s)| y / s), len);
        let h0 = if d0 < 1e-5 || d1 < 1e-5 { 1e-6 } else { 0.01 * d0 / d1 };
        let y1: Vec<f64> = y0.iter().zip(f0).map(|(y, dy)| y + h0 * dy).collect();
        f(&y1, work);
        stats.evaluations += 1;
        let d2 = rms(work.iter().zip(f0).zip(&scale).map(|((f1, f0), s)| (f1 - f0) / s), len) / h0;
        let h1 = if d1 <= 1e-15 && d2 <= 1e-15 {
            (h0 * 1e-3).max(1e-6)
        } else {
            (0.01 / d1.max(d2)).powf(1.0 / 5.0)
        };
        (100.0 * h0).min(h1).min(span)
    }

    fn failure(&self, t: f64, what: String) -> SolverError {
        SolverError::NotConverged {
            solver: "dopri5",
            detail: format!("{what} at t = {t} (rtol {:e}, atol {:e})", self.rtol, self.atol),
        }
    }
}

/// The next representable f64 above `t` (finite `t`).
fn next_up(t: f64) -> f64 {
    if t == 0.0 {
        f64::from_bits(1)
    } else if t > 0.0 {
        f64::from_bits(t.to_bits() + 1)
    } else {
        f64::from_bits(t.to_bits() - 1)
    }
}
