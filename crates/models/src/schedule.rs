//! Learning-rate schedules: StepLR, cosine annealing and ReduceLROnPlateau, as in torch.
//!
//! A [`Scheduler`] starts at epoch 0 with the base learning rate; each [`Scheduler::step`]
//! ends one epoch (torch's `scheduler.step()`) and returns the new rate, which the training
//! loop hands to [`crate::optim::AdamW::set_lr`]. StepLR and cosine use torch's closed forms
//! (`base·γ^⌊e/s⌋`; `η_min + (base − η_min)(1 + cos(π e/T))/2`, periodic past `T` like torch's
//! chained form); ReduceLROnPlateau follows torch's state machine. The whole state is a
//! serde struct ([`ScheduleState`]) stored in checkpoints.

use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};

/// Which quantity ReduceLROnPlateau watches improve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlateauMode {
    /// Lower is better (a loss).
    #[default]
    Min,
    /// Higher is better (an accuracy).
    Max,
}

/// How ReduceLROnPlateau's `threshold` is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdMode {
    /// Better means beyond `best·(1 ∓ threshold)`.
    #[default]
    Rel,
    /// Better means beyond `best ∓ threshold`.
    Abs,
}

/// ReduceLROnPlateau settings; defaults are torch's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlateauConfig {
    /// Min or max.
    pub mode: PlateauMode,
    /// Factor in (0, 1) applied on a plateau.
    pub factor: f64,
    /// Epochs without improvement tolerated before reducing.
    pub patience: u64,
    /// Significance threshold of an improvement.
    pub threshold: f64,
    /// Relative or absolute threshold.
    pub threshold_mode: ThresholdMode,
    /// Epochs to wait after a reduction before counting bad epochs again.
    pub cooldown: u64,
    /// Lower bound on the learning rate.
    pub min_lr: f64,
    /// Reductions smaller than this are skipped.
    pub eps: f64,
}

impl Default for PlateauConfig {
    fn default() -> Self {
        Self {
            mode: PlateauMode::Min,
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            threshold_mode: ThresholdMode::Rel,
            cooldown: 0,
            min_lr: 0.0,
            eps: 1e-8,
        }
    }
}

/// A learning-rate schedule (`kind = "constant" | "step" | "cosine" | "plateau"` in TOML/JSON).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ScheduleConfig {
    /// The base rate throughout.
    Constant,
    /// StepLR: multiply by `gamma` every `step_size` epochs.
    Step {
        /// Epochs between reductions (≥ 1).
        step_size: u64,
        /// Factor in (0, 1].
        gamma: f64,
    },
    /// CosineAnnealingLR from the base rate down to `eta_min` over `t_max` epochs.
    Cosine {
        /// Half period in epochs (≥ 1).
        t_max: u64,
        /// Final rate (≥ 0).
        eta_min: f64,
    },
    /// ReduceLROnPlateau on a metric passed to [`Scheduler::step`].
    Plateau(PlateauConfig),
}

impl ScheduleConfig {
    /// Checks every field's range.
    ///
    /// # Errors
    /// [`ModelError::Config`] naming the field.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Self::Constant => {}
            Self::Step { step_size, gamma } => {
                if step_size == 0 {
                    return Err(ModelError::config("step_size", "at least 1", step_size));
                }
                if !(gamma > 0.0 && gamma <= 1.0) {
                    return Err(ModelError::config("gamma", "a value in (0, 1]", gamma));
                }
            }
            Self::Cosine { t_max, eta_min } => {
                if t_max == 0 {
                    return Err(ModelError::config("t_max", "at least 1", t_max));
                }
                if !(eta_min.is_finite() && eta_min >= 0.0) {
                    return Err(ModelError::config("eta_min", "a finite value >= 0", eta_min));
                }
            }
            Self::Plateau(c) => {
                if !(c.factor > 0.0 && c.factor < 1.0) {
                    return Err(ModelError::config("factor", "a value in (0, 1)", c.factor));
                }
                for (name, v) in [("threshold", c.threshold), ("min_lr", c.min_lr), ("eps", c.eps)]
                {
                    if !(v.is_finite() && v >= 0.0) {
                        return Err(ModelError::config(name, "a finite value >= 0", v));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Everything a [`Scheduler`] needs to continue exactly after a restart.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleState {
    /// Rate at epoch 0.
    pub base_lr: f64,
    /// Current rate.
    pub lr: f64,
    /// Completed epochs (calls to `step`).
    pub epoch: u64,
    /// Best metric seen (plateau only; `None` before the first; JSON has no infinities).
    pub best: Option<f64>,
    /// Epochs since the last improvement (plateau).
    pub num_bad_epochs: u64,
    /// Remaining cooldown epochs (plateau).
    pub cooldown_counter: u64,
}

/// A schedule with its state; see the module docs.
#[derive(Debug, Clone, PartialEq)]
pub struct Scheduler {
    config: ScheduleConfig,
    state: ScheduleState,
}

impl Scheduler {
    /// A schedule at epoch 0 with rate `base_lr`.
    ///
    /// # Errors
    /// An invalid config or `base_lr` not finite and ≥ 0.
    pub fn new(config: ScheduleConfig, base_lr: f64) -> Result<Self> {
        config.validate()?;
        if !(base_lr.is_finite() && base_lr >= 0.0) {
            return Err(ModelError::config("base_lr", "a finite value >= 0", base_lr));
        }
        let state = ScheduleState {
            base_lr,
            lr: base_lr,
            epoch: 0,
            best: None,
            num_bad_epochs: 0,
            cooldown_counter: 0,
        };
        Ok(Self { config, state })
    }

    /// Resumes a schedule from a saved state.
    ///
    /// # Errors
    /// An invalid config or a state with a non-finite or negative rate.
    pub fn from_state(config: ScheduleConfig, state: ScheduleState) -> Result<Self> {
        let mut s = Self::new(config, state.base_lr)?;
        if !(state.lr.is_finite() && state.lr >= 0.0) {
            return Err(ModelError::config("schedule.lr", "a finite value >= 0", state.lr));
        }
        s.state = state;
        Ok(s)
    }

    /// The configuration.
    pub fn config(&self) -> &ScheduleConfig {
        &self.config
    }

    /// The state to checkpoint.
    pub fn state(&self) -> &ScheduleState {
        &self.state
    }

    /// The current learning rate.
    pub fn lr(&self) -> f64 {
        self.state.lr
    }

    /// Ends one epoch and returns the new learning rate. `metric` is required by plateau
    /// schedules (a NaN counts as no improvement, as in torch) and ignored by the others.
    ///
    /// # Errors
    /// A plateau schedule without a metric.
    pub fn step(&mut self, metric: Option<f64>) -> Result<f64> {
        let s = &mut self.state;
        let e = s.epoch + 1;
        match self.config {
            ScheduleConfig::Constant => s.lr = s.base_lr,
            ScheduleConfig::Step { step_size, gamma } => {
                s.lr = s.base_lr * gamma.powf((e / step_size) as f64);
            }
            ScheduleConfig::Cosine { t_max, eta_min } => {
                let phase = std::f64::consts::PI * e as f64 / t_max as f64;
                s.lr = eta_min + (s.base_lr - eta_min) * (1.0 + phase.cos()) / 2.0;
            }
            ScheduleConfig::Plateau(c) => {
                let Some(current) = metric else {
                    return Err(ModelError::input(
                        "metric",
                        "a value for ReduceLROnPlateau",
                        "None",
                    ));
                };
                if is_better(&c, current, s.best) {
                    s.best = Some(current);
                    s.num_bad_epochs = 0;
                } else {
                    s.num_bad_epochs += 1;
                }
                if s.cooldown_counter > 0 {
                    s.cooldown_counter -= 1;
                    s.num_bad_epochs = 0;
                }
                if s.num_bad_epochs > c.patience {
                    let new_lr = (s.lr * c.factor).max(c.min_lr);
                    if s.lr - new_lr > c.eps {
                        s.lr = new_lr;
                    }
                    s.cooldown_counter = c.cooldown;
                    s.num_bad_epochs = 0;
                }
            }
        }
        s.epoch = e;
        Ok(s.lr)
    }
}

/// torch's `ReduceLROnPlateau.is_better`; the first finite metric always improves on "none".
fn is_better(c: &PlateauConfig, a: f64, best: Option<f64>) -> bool {
    let Some(best) = best else {
        // torch starts from ±inf, which every non-NaN value beats.
        return !a.is_nan();
    };
    match (c.mode, c.threshold_mode) {
        (PlateauMode::Min, ThresholdMode::Rel) => a < best * (1.0 - c.threshold),
        (PlateauMode::Min, ThresholdMode::Abs) => a < best - c.threshold,
        (PlateauMode::Max, ThresholdMode::Rel) => a > best * (1.0 + c.threshold),
        (PlateauMode::Max, ThresholdMode::Abs) => a > best + c.threshold,
    }
}
