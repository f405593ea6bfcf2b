//! Quadrature-weighted relative (and absolute) Lp and H1 losses.
//!
//! For a prediction `u` and a target `v` of shape `[B, C, *spatial]`, each sample `b` and
//! channel `c` gets a discretisation of a function-space norm,
//!
//! ```text
//! ‖u − v‖_p = (Σ_x w(x) |u − v|^p)^{1/p}  ≈  (∫ |u − v|^p)^{1/p}
//! ```
//!
//! with quadrature weights `w` ([`Measure`]): `Π L_i/n_i` on a regular grid, the sphere
//! grid's surface weights, or per-point weights on a point cloud. Because `w` is a quadrature
//! rule, the value converges to the continuous norm as the grid is refined and does not depend
//! on the resolution beyond discretisation error. The relative loss is `‖u − v‖ / ‖v‖` per
//! `(b, c)`; the H1 loss adds the gradient, `(‖e‖² + Σ_k ‖∂_k e‖²)^{1/2}`, on regular periodic
//! grids.
//!
//! **Batch reduction** ([`Reduction`]): the `[B, C]` per-sample-per-channel values are summed
//! (`Sum`, neuraloperator's default, so the loss scales with the batch size), averaged
//! (`Mean`) or returned as they are (`None`).

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use lno_quadrature::SphereGrid;

use crate::error::{ModelError, Result};

/// How the `[B, C]` per-sample, per-channel values are reduced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reduction {
    /// Sum over samples and channels (neuraloperator's default).
    #[default]
    Sum,
    /// Mean over samples and channels.
    Mean,
    /// No reduction: a `[B, C]` tensor.
    None,
}

impl Reduction {
    fn apply(self, per_sample: Tensor) -> Result<Tensor> {
        Ok(match self {
            Self::Sum => per_sample.f_sum(per_sample.kind())?,
            Self::Mean => per_sample.f_mean(per_sample.kind())?,
            Self::None => per_sample,
        })
    }
}

/// Quadrature weights of the spatial domain.
#[derive(Debug)]
pub enum Measure {
    /// A regular grid on a box of these side lengths, one per spatial dim; the weight of every
    /// point is `Π L_i/n_i` (a periodic or cell-centred grid), computed from the input's shape,
    /// so one loss serves every resolution.
    Uniform {
        /// Side lengths `L_i`.
        lengths: Vec<f64>,
    },
    /// Explicit f64 weights broadcastable to the spatial shape (`[nlat, 1]` on the sphere,
    /// `[n_points]` on a point cloud).
    Weights(Tensor),
}

impl Measure {
    /// The surface weights of a sphere grid, `[nlat, 1]` (they sum to 4π over the grid).
    pub fn sphere(grid: &SphereGrid) -> Self {
        let w = Tensor::from_slice(grid.weights()).view([grid.nlat() as i64, 1]);
        Self::Weights(w)
    }

    /// Explicit weights with their shape, e.g. per-point weights `[n]` of an irregular cloud.
    ///
    /// # Errors
    /// A length/shape mismatch or a negative or non-finite weight.
    pub fn weights(weights: &[f64], shape: &[i64]) -> Result<Self> {
        let n: i64 = shape.iter().product();
        if shape.is_empty() || shape.iter().any(|&s| s < 1) || n as usize != weights.len() {
            return Err(ModelError::input(
                "weights",
                format!("{} values for shape {shape:?} (at least one dim)", n.max(0)),
                weights.len(),
            ));
        }
        if let Some(w) = weights.iter().find(|w| !(w.is_finite() && **w >= 0.0)) {
            return Err(ModelError::input("weights", "finite values >= 0", w));
        }
        Ok(Self::Weights(Tensor::from_slice(weights).view(shape)))
    }

    fn n_spatial(&self) -> usize {
        match self {
            Self::Uniform { lengths } => lengths.len(),
            Self::Weights(w) => w.dim(),
        }
    }

    fn validate(&self) -> Result<()> {
        match self {
            Self::Uniform { lengths } => {
                if lengths.is_empty() || lengths.iter().any(|l| !(l.is_finite() && *l > 0.0)) {
                    return Err(ModelError::config(
                        "lengths",
                        "at least one finite side length > 0",
                        format!("{lengths:?}"),
                    ));
                }
            }
            Self::Weights(w) => {
                if w.dim() == 0 {
                    return Err(ModelError::config("weights", "at least one dim", "a scalar"));
                }
            }
        }
        Ok(())
    }

    /// Weights for `spatial`, in `kind` on `device`, with the shape of `spatial`'s
    /// broadcast (leading batch and channel dims of size 1 added).
    fn tensor_for(&self, spatial: &[i64], like: &Tensor) -> Result<Tensor> {
        let w = match self {
            Self::Uniform { lengths } => {
                let cell: f64 = lengths.iter().zip(spatial).map(|(l, &n)| l / n as f64).product();
                Tensor::from_slice(&[cell]).view(vec![1i64; spatial.len()].as_slice())
            }
            Self::Weights(w) => {
                let ws = w.size();
                if ws.iter().zip(spatial).any(|(&a, &b)| a != 1 && a != b) {
                    return Err(ModelError::input(
                        "target",
                        format!("spatial shape broadcastable from the weights' {ws:?}"),
                        format!("{spatial:?}"),
                    ));
                }
                w.shallow_clone()
            }
        };
        let mut shape = vec![1i64, 1];
        shape.extend(w.size());
        Ok(w.f_view(shape.as_slice())?.f_to_kind(like.kind())?.f_to_device(like.device())?)
    }
}

fn check_pair(pred: &Tensor, target: &Tensor, n_spatial: usize) -> Result<()> {
    if pred.size() != target.size() {
        return Err(ModelError::input(
            "pred",
            format!("the target's shape {:?}", target.size()),
            format!("{:?}", pred.size()),
        ));
    }
    if target.dim() != n_spatial + 2 {
        return Err(ModelError::input(
            "target",
            format!("[B, C, {n_spatial} spatial dims]"),
            format!("{:?}", target.size()),
        ));
    }
    if !matches!(target.kind(), Kind::Float | Kind::Double | Kind::Half | Kind::BFloat16) {
        return Err(ModelError::input(
            "target",
            "a real floating-point tensor",
            format!("{:?}", target.kind()),
        ));
    }
    if pred.kind() != target.kind() || pred.device() != target.device() {
        return Err(ModelError::input(
            "pred",
            format!("kind {:?} on {:?} like the target", target.kind(), target.device()),
            format!("{:?} on {:?}", pred.kind(), pred.device()),
        ));
    }
    Ok(())
}

/// `(Σ_x w |d|^p)^{1/p}` per `(b, c)`: the `[B, C]` weighted norms. torch's vector norm has
/// a zero subgradient at 0, so a perfect prediction gives a zero, not a NaN, gradient.
fn weighted_norm(d: &Tensor, w: &Tensor, p: f64) -> Result<Tensor> {
    let scaled = d.f_mul(&w.f_pow_tensor_scalar(1.0 / p)?)?;
    let flat = scaled.f_flatten(2, -1)?;
    Ok(flat.f_linalg_norm(p, [-1i64].as_slice(), false, None::<Kind>)?)
}

/// Relative or absolute Lp loss with quadrature weights; see the module docs.
#[derive(Debug)]
pub struct LpLoss {
    p: f64,
    measure: Measure,
    reduction: Reduction,
}

impl LpLoss {
    /// An Lp loss, `p ≥ 1`, over the spatial dims described by `measure`.
    ///
    /// # Errors
    /// `p` not finite and ≥ 1; an invalid measure.
    pub fn new(p: f64, measure: Measure, reduction: Reduction) -> Result<Self> {
        if !(p.is_finite() && p >= 1.0) {
            return Err(ModelError::config("p", "a finite value >= 1", p));
        }
        measure.validate()?;
        Ok(Self { p, measure, reduction })
    }

    /// The relative L2 loss (the usual training and evaluation metric).
    ///
    /// # Errors
    /// An invalid measure.
    pub fn l2(measure: Measure, reduction: Reduction) -> Result<Self> {
        Self::new(2.0, measure, reduction)
    }

    /// `‖pred − target‖_p / ‖target‖_p` per `(b, c)`, reduced.
    ///
    /// # Shapes
    /// `pred`, `target`: `[B, C, *spatial]` with as many spatial dims as the measure.
    ///
    /// # Errors
    /// Mismatched shapes, kinds or devices; weights not broadcastable to the spatial shape.
    pub fn rel(&self, pred: &Tensor, target: &Tensor) -> Result<Tensor> {
        let (num, den) = self.norms(pred, target)?;
        self.reduction.apply(num.f_div(&den)?)
    }

    /// `‖pred − target‖_p` per `(b, c)` (in the units of the data times the domain's measure
    /// to the power `1/p`), reduced.
    ///
    /// # Errors
    /// As [`Self::rel`].
    pub fn abs(&self, pred: &Tensor, target: &Tensor) -> Result<Tensor> {
        self.reduction.apply(self.norms(pred, target)?.0)
    }

    fn norms(&self, pred: &Tensor, target: &Tensor) -> Result<(Tensor, Tensor)> {
        check_pair(pred, target, self.measure.n_spatial())?;
        let w = self.measure.tensor_for(&target.size()[2..], target)?;
        let num = weighted_norm(&pred.f_sub(target)?, &w, self.p)?;
        let den = weighted_norm(target, &w, self.p)?;
        Ok((num, den))
    }
}

/// How H1 losses differentiate on a regular periodic grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Derivative {
    /// Second-order central differences with periodic wrap, `(u_{i+1} − u_{i−1}) / 2h`
    /// (neuraloperator's `H1Loss` without boundary fixes).
    #[default]
    CentralPeriodic,
    /// Exact derivative of the trigonometric interpolant through the FFT (Nyquist mode of
    /// even sizes dropped); spectrally accurate for smooth periodic data.
    Spectral,
}

/// Relative or absolute H1 loss on a regular periodic grid with uniform weights.
#[derive(Debug)]
pub struct H1Loss {
    lengths: Vec<f64>,
    derivative: Derivative,
    reduction: Reduction,
}

impl H1Loss {
    /// An H1 loss on a periodic box with these side lengths (1 to 3 spatial dims).
    ///
    /// # Errors
    /// No, more than 3, or non-positive side lengths.
    pub fn new(lengths: &[f64], derivative: Derivative, reduction: Reduction) -> Result<Self> {
        Measure::Uniform { lengths: lengths.to_vec() }.validate()?;
        if lengths.len() > 3 {
            return Err(ModelError::config("lengths", "1 to 3 side lengths", lengths.len()));
        }
        Ok(Self { lengths: lengths.to_vec(), derivative, reduction })
    }

    /// `‖pred − target‖_{H1} / ‖target‖_{H1}` per `(b, c)`, reduced.
    ///
    /// # Shapes
    /// `pred`, `target`: `[B, C, n_1, …, n_d]`, `d` = number of side lengths, each `n_i ≥ 3`.
    ///
    /// # Errors
    /// Mismatched shapes, kinds or devices; a spatial size below 3.
    pub fn rel(&self, pred: &Tensor, target: &Tensor) -> Result<Tensor> {
        let (num, den) = self.norms(pred, target)?;
        self.reduction.apply(num.f_div(&den)?)
    }

    /// `‖pred − target‖_{H1}` per `(b, c)`, reduced.
    ///
    /// # Errors
    /// As [`Self::rel`].
    pub fn abs(&self, pred: &Tensor, target: &Tensor) -> Result<Tensor> {
        self.reduction.apply(self.norms(pred, target)?.0)
    }

    /// `[B, C]` H1 norms of the error and of the target.
    fn norms(&self, pred: &Tensor, target: &Tensor) -> Result<(Tensor, Tensor)> {
        let d = self.lengths.len();
        check_pair(pred, target, d)?;
        let spatial = target.size()[2..].to_vec();
        if let Some(n) = spatial.iter().find(|&&n| n < 3) {
            return Err(ModelError::input("target", "spatial sizes >= 3 for derivatives", n));
        }
        let cell: f64 = self.lengths.iter().zip(&spatial).map(|(l, &n)| l / n as f64).product();
        // One vector of the values and all partial derivatives, so that a single norm (with
        // its zero subgradient at 0) gives (Σ |e|² + Σ_k |∂_k e|²)^{1/2}.
        let h1_norm = |u: &Tensor| -> Result<Tensor> {
            let mut parts = vec![u.f_flatten(2, -1)?];
            for k in 0..d {
                let du = self.differentiate(u, (2 + k) as i64, spatial[k], self.lengths[k])?;
                parts.push(du.f_flatten(2, -1)?);
            }
            let all = Tensor::f_cat(&parts, -1)?;
            Ok(all
                .f_linalg_norm(2.0, [-1i64].as_slice(), false, None::<Kind>)?
                .f_mul_scalar(cell.sqrt())?)
        };
        Ok((h1_norm(&pred.f_sub(target)?)?, h1_norm(target)?))
    }

    fn differentiate(&self, u: &Tensor, dim: i64, n: i64, length: f64) -> Result<Tensor> {
        let h = length / n as f64;
        match self.derivative {
            Derivative::CentralPeriodic => {
                let fwd = u.f_roll([-1i64].as_slice(), [dim].as_slice())?;
                let bwd = u.f_roll([1i64].as_slice(), [dim].as_slice())?;
                Ok(fwd.f_sub(&bwd)?.f_div_scalar(2.0 * h)?)
            }
            Derivative::Spectral => {
                let uh = u.f_fft_rfft(n, dim, "backward")?;
                let n_freq = n / 2 + 1;
                // i·2πk/L per kept frequency; the Nyquist mode of an even n is dropped because
                // its derivative is not real.
                let scale = 2.0 * std::f64::consts::PI / length;
                let k: Vec<f64> = (0..n_freq)
                    .map(|k| if n % 2 == 0 && k == n / 2 { 0.0 } else { k as f64 * scale })
                    .collect();
                let mut shape = vec![1i64; u.dim()];
                shape[dim as usize] = n_freq;
                let ik = Tensor::f_complex(
                    &Tensor::zeros([n_freq], (Kind::Double, u.device())),
                    &Tensor::from_slice(&k).f_to_device(u.device())?,
                )?
                .f_view(shape.as_slice())?
                .f_to_kind(uh.kind())?;
                Ok(uh.f_mul(&ik)?.f_fft_irfft(n, dim, "backward")?)
            }
        }
    }
}
