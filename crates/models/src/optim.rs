//! AdamW over tch tensors, complex-aware, with saveable state; and global gradient clipping.
//!
//! Why not tch's `nn::AdamW`: it wraps libtorch's C++ optimiser, which squares complex
//! gradients without a conjugate and has no state save/restore (toolchain notes §0.5, §1.5).
//!
//! The update is torch's `AdamW` (decoupled weight decay, applied before the moment update):
//!
//! ```text
//! θ ← θ (1 − lr·λ)
//! m ← β₁ m + (1 − β₁) g
//! v ← β₂ v + (1 − β₂) |g|²
//! θ ← θ − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)
//! ```
//!
//! **Complex parameters.** Spectral weights are stored real-stacked, `[..., 2]` = (re, im),
//! under a VarStore name whose last segment is `weight_ri` ([`COMPLEX_VAR_NAME`]). For those,
//! `|g|² = re² + im²` is one number per complex entry, shared by both components — the
//! `grad · conj(grad)` of neuraloperator's complex AdamW — so the update equals Adam on the
//! complex tensor itself. Treating re and im as independent reals would instead rescale each
//! component separately and rotate the step.

use std::fmt;

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor, nn::VarStore};

use crate::error::{ModelError, Result};

/// Last name segment of real-stacked complex variables (`[..., 2]` = re, im).
pub const COMPLEX_VAR_NAME: &str = "weight_ri";

/// Whether a VarStore variable name marks a real-stacked complex parameter.
pub fn is_complex_var(name: &str) -> bool {
    name.rsplit('.').next() == Some(COMPLEX_VAR_NAME)
}

/// AdamW hyper-parameters; the defaults are torch's `AdamW` defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdamWConfig {
    /// Learning rate (≥ 0).
    pub lr: f64,
    /// First-moment decay β₁ ∈ [0, 1).
    pub beta1: f64,
    /// Second-moment decay β₂ ∈ [0, 1).
    pub beta2: f64,
    /// Denominator guard ε (≥ 0).
    pub eps: f64,
    /// Decoupled weight decay λ (≥ 0).
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        Self { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 1e-2 }
    }
}

impl AdamWConfig {
    /// Checks every field's range.
    ///
    /// # Errors
    /// [`ModelError::Config`] naming the first field out of range.
    pub fn validate(&self) -> Result<()> {
        check_lr(self.lr)?;
        for (name, b) in [("beta1", self.beta1), ("beta2", self.beta2)] {
            if !(b.is_finite() && (0.0..1.0).contains(&b)) {
                return Err(ModelError::config(name, "a value in [0, 1)", b));
            }
        }
        for (name, v) in [("eps", self.eps), ("weight_decay", self.weight_decay)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(ModelError::config(name, "a finite value >= 0", v));
            }
        }
        Ok(())
    }
}

fn check_lr(lr: f64) -> Result<()> {
    if lr.is_finite() && lr >= 0.0 {
        Ok(())
    } else {
        Err(ModelError::config("lr", "a finite value >= 0", lr))
    }
}

/// One optimised variable and its moments (created on its first step, like torch).
struct Param {
    name: String,
    var: Tensor,
    complex: bool,
    step: i64,
    exp_avg: Option<Tensor>,
    exp_avg_sq: Option<Tensor>,
}

/// AdamW over the trainable variables of a `VarStore`; see the module docs.
pub struct AdamW {
    config: AdamWConfig,
    params: Vec<Param>,
}

impl fmt::Debug for AdamW {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdamW")
            .field("config", &self.config)
            .field("params", &self.params.iter().map(|p| p.name.as_str()).collect::<Vec<_>>())
            .finish()
    }
}

/// The trainable variables of `vs`, sorted by name so that every walk is deterministic.
pub(crate) fn sorted_variables(vs: &VarStore) -> Vec<(String, Tensor)> {
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars
}

impl AdamW {
    /// An optimiser over every trainable variable of `vs` at the time of the call.
    ///
    /// # Errors
    /// A config field out of range; no trainable variable; a `weight_ri` variable whose last
    /// dim is not 2.
    pub fn new(vs: &VarStore, config: AdamWConfig) -> Result<Self> {
        config.validate()?;
        let mut params = Vec::new();
        for (name, var) in sorted_variables(vs) {
            if !var.requires_grad() {
                continue;
            }
            let complex = is_complex_var(&name);
            if complex && var.size().last() != Some(&2) {
                return Err(ModelError::input(
                    name,
                    "a real-stacked complex variable with last dim 2",
                    format!("shape {:?}", var.size()),
                ));
            }
            params.push(Param { name, var, complex, step: 0, exp_avg: None, exp_avg_sq: None });
        }
        if params.is_empty() {
            return Err(ModelError::input("vs", "at least one trainable variable", "none"));
        }
        Ok(Self { config, params })
    }

    /// The hyper-parameters (with the current learning rate).
    pub fn config(&self) -> AdamWConfig {
        self.config
    }

    /// The current learning rate.
    pub fn lr(&self) -> f64 {
        self.config.lr
    }

    /// Sets the learning rate (schedules call this once per epoch or step).
    ///
    /// # Errors
    /// `lr` negative or not finite.
    pub fn set_lr(&mut self, lr: f64) -> Result<()> {
        check_lr(lr)?;
        self.config.lr = lr;
        Ok(())
    }

    /// Names of the optimised variables, sorted.
    pub fn param_names(&self) -> Vec<&str> {
        self.params.iter().map(|p| p.name.as_str()).collect()
    }

    /// Zeroes the gradient of every optimised variable.
    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            p.var.zero_grad();
        }
    }

    /// One AdamW step on every variable that has a gradient (others are skipped, as in torch).
    ///
    /// # Errors
    /// A libtorch failure (e.g. a gradient on another device than its moments).
    pub fn step(&mut self) -> Result<()> {
        let _guard = tch::no_grad_guard();
        let AdamWConfig { lr, beta1, beta2, eps, weight_decay } = self.config;
        for p in &mut self.params {
            let grad = p.var.grad();
            if !grad.defined() {
                continue;
            }
            p.step += 1;
            if weight_decay != 0.0 {
                let _ = p.var.f_mul_scalar_(1.0 - lr * weight_decay)?;
            }
            // |g|²: for complex variables one value per (re, im) pair, broadcast to both.
            let g2 = if p.complex {
                grad.f_square()?.f_sum_dim_intlist([-1i64].as_slice(), true, None::<Kind>)?
            } else {
                grad.f_square()?
            };
            let mut m = match p.exp_avg.take() {
                Some(m) => m,
                None => grad.f_zeros_like()?,
            };
            let _ = m.f_mul_scalar_(beta1)?;
            let _ = m.f_add_(&grad.f_mul_scalar(1.0 - beta1)?)?;
            let mut v = match p.exp_avg_sq.take() {
                Some(v) => v,
                None => g2.f_zeros_like()?,
            };
            let _ = v.f_mul_scalar_(beta2)?;
            let _ = v.f_add_(&g2.f_mul_scalar(1.0 - beta2)?)?;
            let t = p.step as i32;
            let bias1 = 1.0 - beta1.powi(t);
            let bias2 = 1.0 - beta2.powi(t);
            let denom = v.f_sqrt()?.f_div_scalar(bias2.sqrt())?.f_add_scalar(eps)?;
            let update = m.f_div(&denom)?.f_mul_scalar(lr / bias1)?;
            let _ = p.var.f_sub_(&update)?;
            p.exp_avg = Some(m);
            p.exp_avg_sq = Some(v);
        }
        Ok(())
    }

    /// The optimiser state as named tensors: `{name}/exp_avg`, `{name}/exp_avg_sq` (last dim 1
    /// for complex variables) and `{name}/step` (int64 `[1]`), for variables stepped at least
    /// once. Hyper-parameters are in [`Self::config`].
    pub fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for p in &self.params {
            if let (Some(m), Some(v)) = (&p.exp_avg, &p.exp_avg_sq) {
                out.push((format!("{}/exp_avg", p.name), m.shallow_clone()));
                out.push((format!("{}/exp_avg_sq", p.name), v.shallow_clone()));
                out.push((format!("{}/step", p.name), Tensor::from_slice(&[p.step])));
            }
        }
        out
    }

    /// Restores hyper-parameters and state saved by [`Self::config`] / [`Self::state_tensors`].
    /// Everything is checked before anything changes, so on error the optimiser is untouched.
    ///
    /// # Errors
    /// An invalid config; an unknown or incomplete entry; a moment whose shape does not match
    /// its variable.
    pub fn load_state(&mut self, config: AdamWConfig, tensors: &[(String, Tensor)]) -> Result<()> {
        config.validate()?;
        let mut staged: Vec<(Option<Tensor>, Option<Tensor>, i64)> =
            self.params.iter().map(|_| (None, None, 0)).collect();
        for (key, t) in tensors {
            let Some((name, field)) = key.rsplit_once('/') else {
                return Err(ModelError::input(
                    "optimizer state",
                    "keys `<variable>/<exp_avg|exp_avg_sq|step>`",
                    key,
                ));
            };
            let Some(i) = self.params.iter().position(|p| p.name == name) else {
                return Err(ModelError::input(
                    "optimizer state",
                    "entries for the optimised variables only",
                    format!("`{key}` (no trainable variable `{name}`)"),
                ));
            };
            let p = &self.params[i];
            let mut want = p.var.size();
            if field == "exp_avg_sq"
                && p.complex
                && let Some(last) = want.last_mut()
            {
                *last = 1;
            }
            match field {
                "exp_avg" | "exp_avg_sq" => {
                    if t.size() != want {
                        return Err(ModelError::input(
                            key,
                            format!("shape {want:?}"),
                            format!("{:?}", t.size()),
                        ));
                    }
                    let t = t.f_to_kind(p.var.kind())?.f_to_device(p.var.device())?;
                    if field == "exp_avg" {
                        staged[i].0 = Some(t);
                    } else {
                        staged[i].1 = Some(t);
                    }
                }
                "step" => {
                    let step = if t.numel() == 1 && t.kind() == Kind::Int64 {
                        Some(t.f_view([-1])?.f_int64_value(&[0])?)
                    } else {
                        None
                    };
                    match step {
                        Some(s) if s >= 1 => staged[i].2 = s,
                        _ => {
                            return Err(ModelError::input(
                                key,
                                "one integer >= 1",
                                format!("{t:?}"),
                            ));
                        }
                    }
                }
                _ => {
                    return Err(ModelError::input(key, "field exp_avg, exp_avg_sq or step", field));
                }
            }
        }
        for (p, s) in self.params.iter().zip(&staged) {
            let complete = s.0.is_some() && s.1.is_some() && s.2 >= 1;
            let empty = s.0.is_none() && s.1.is_none() && s.2 == 0;
            if !(complete || empty) {
                return Err(ModelError::input(
                    format!("optimizer state of `{}`", p.name),
                    "exp_avg, exp_avg_sq and step together (or none)",
                    "a partial set",
                ));
            }
        }
        self.config = config;
        for (p, (m, v, step)) in self.params.iter_mut().zip(staged) {
            p.exp_avg = m;
            p.exp_avg_sq = v;
            p.step = step;
        }
        Ok(())
    }
}

/// Scales all gradients of `vs`'s trainable variables so that their global L2 norm is at
/// most `max_norm` (torch's `clip_grad_norm_`: factor `max_norm / (norm + 1e-6)`, capped at
/// 1). Returns the norm before clipping, computed in f64. A real-stacked complex variable's
/// norm is its complex norm, so no special case is needed.
///
/// # Errors
/// `max_norm` not finite and > 0; a libtorch failure.
pub fn clip_grad_norm(vs: &VarStore, max_norm: f64) -> Result<f64> {
    if !(max_norm.is_finite() && max_norm > 0.0) {
        return Err(ModelError::config("max_norm", "a finite value > 0", max_norm));
    }
    let _guard = tch::no_grad_guard();
    let grads: Vec<Tensor> =
        vs.trainable_variables().iter().map(|v| v.grad()).filter(|g| g.defined()).collect();
    let mut sum_sq = 0.0;
    for g in &grads {
        sum_sq += f64::try_from(g.f_to_kind(Kind::Double)?.f_square()?.f_sum(Kind::Double)?)?;
    }
    let norm = sum_sq.sqrt();
    let coef = max_norm / (norm + 1e-6);
    if coef < 1.0 {
        for mut g in grads {
            let _ = g.f_mul_scalar_(coef)?;
        }
    }
    Ok(norm)
}
