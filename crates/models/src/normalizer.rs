//! Per-channel unit-Gaussian normalisers, fitted on training data in f64.
//!
//! `encode(x) = (x − μ_c) / (σ_c + ε)` and `decode` its inverse, with one mean and standard
//! deviation per channel (dim 1 of `[N, C, *spatial]`). Fitting is streaming ([`GaussianFit`]:
//! Chan et al.'s pairwise update of weighted mean and sum of squared deviations, in f64), so a
//! data set can be fed batch by batch; optional quadrature weights make the statistics those
//! of the functions rather than of the samples (a sphere's poles then count less). σ is the
//! population standard deviation (neuraloperator uses torch's unbiased `std`; the difference
//! is a factor `√(n/(n−1))`, negligible over grids). The statistics are saved as tensors with
//! the model in checkpoints.

use tch::{Device, Kind, Tensor};

use crate::error::{ModelError, Result};

/// Default ε added to σ (neuraloperator's `UnitGaussianNormalizer` default).
pub const DEFAULT_EPS: f64 = 1e-7;

/// Streaming per-channel weighted mean and variance; finish with [`GaussianFit::finish`].
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianFit {
    weight: Vec<f64>,
    mean: Vec<f64>,
    m2: Vec<f64>,
}

impl GaussianFit {
    /// An empty fit for `channels` channels.
    ///
    /// # Errors
    /// `channels == 0`.
    pub fn new(channels: usize) -> Result<Self> {
        if channels == 0 {
            return Err(ModelError::config("channels", "at least 1", 0));
        }
        Ok(Self { weight: vec![0.0; channels], mean: vec![0.0; channels], m2: vec![0.0; channels] })
    }

    /// Adds a batch `[N, C, *spatial]`, with optional non-negative weights broadcastable to
    /// `*spatial` (e.g. quadrature weights `[nlat, 1]`).
    ///
    /// # Errors
    /// Wrong channel count or rank, weights that do not broadcast or are negative.
    pub fn update(&mut self, batch: &Tensor, weights: Option<&Tensor>) -> Result<()> {
        let c = self.mean.len() as i64;
        let size = batch.size();
        if size.len() < 2 || size[1] != c {
            return Err(ModelError::input("batch", format!("[N, {c}, ...]"), format!("{size:?}")));
        }
        let x = batch.f_to_kind(Kind::Double)?.f_to_device(Device::Cpu)?;
        let w = match weights {
            None => x.f_ones_like()?,
            Some(w) => {
                let w = w.f_to_kind(Kind::Double)?.f_to_device(Device::Cpu)?;
                let spatial = &size[2..];
                if w.dim() != spatial.len()
                    || w.size().iter().zip(spatial).any(|(&a, &b)| a != 1 && a != b)
                {
                    return Err(ModelError::input(
                        "weights",
                        format!("a shape broadcastable to the spatial shape {spatial:?}"),
                        format!("{:?}", w.size()),
                    ));
                }
                if f64::try_from(w.f_min()?)? < 0.0 {
                    return Err(ModelError::input("weights", "values >= 0", "a negative weight"));
                }
                w.f_expand(size.as_slice(), false)?
            }
        };
        // [C, everything else]
        let xs = x.f_transpose(0, 1)?.f_reshape([c, -1])?;
        let ws = w.f_transpose(0, 1)?.f_reshape([c, -1])?;
        let wb =
            Vec::<f64>::try_from(ws.f_sum_dim_intlist([1i64].as_slice(), false, None::<Kind>)?)?;
        let sx = Vec::<f64>::try_from(xs.f_mul(&ws)?.f_sum_dim_intlist(
            [1i64].as_slice(),
            false,
            None::<Kind>,
        )?)?;
        for ch in 0..c as usize {
            if wb[ch] <= 0.0 {
                continue;
            }
            let mean_b = sx[ch] / wb[ch];
            let dev = xs.f_get(ch as i64)?.f_sub_scalar(mean_b)?;
            let m2_b =
                f64::try_from(dev.f_square()?.f_mul(&ws.f_get(ch as i64)?)?.f_sum(Kind::Double)?)?;
            let (wa, mean_a) = (self.weight[ch], self.mean[ch]);
            let total = wa + wb[ch];
            let delta = mean_b - mean_a;
            self.mean[ch] = mean_a + delta * wb[ch] / total;
            self.m2[ch] += m2_b + delta * delta * wa * wb[ch] / total;
            self.weight[ch] = total;
        }
        Ok(())
    }

    /// The normaliser of everything added so far.
    ///
    /// # Errors
    /// A channel without data (zero total weight) or `eps` negative / not finite.
    pub fn finish(&self, eps: f64) -> Result<UnitGaussianNormalizer> {
        if let Some(ch) = self.weight.iter().position(|&w| w <= 0.0) {
            return Err(ModelError::input(
                "GaussianFit",
                "data with positive weight in every channel",
                format!("none in channel {ch}"),
            ));
        }
        let std: Vec<f64> =
            self.m2.iter().zip(&self.weight).map(|(m2, w)| (m2 / w).max(0.0).sqrt()).collect();
        UnitGaussianNormalizer::new(&self.mean, &std, eps)
    }
}

/// Per-channel `(x − μ)/(σ + ε)`; see the module docs.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitGaussianNormalizer {
    mean: Vec<f64>,
    std: Vec<f64>,
    eps: f64,
}

impl UnitGaussianNormalizer {
    /// A normaliser with given statistics.
    ///
    /// # Errors
    /// Empty or unequal lengths, non-finite values, negative σ or ε.
    pub fn new(mean: &[f64], std: &[f64], eps: f64) -> Result<Self> {
        if mean.is_empty() || mean.len() != std.len() {
            return Err(ModelError::input(
                "std",
                format!("{} values like the mean (at least one)", mean.len()),
                std.len(),
            ));
        }
        if mean.iter().any(|m| !m.is_finite()) {
            return Err(ModelError::input("mean", "finite values", format!("{mean:?}")));
        }
        if std.iter().any(|s| !(s.is_finite() && *s >= 0.0)) {
            return Err(ModelError::input("std", "finite values >= 0", format!("{std:?}")));
        }
        if !(eps.is_finite() && eps >= 0.0) || std.iter().any(|s| s + eps <= 0.0) {
            return Err(ModelError::input(
                "eps",
                "finite, >= 0, and σ + ε > 0 in every channel",
                eps,
            ));
        }
        Ok(Self { mean: mean.to_vec(), std: std.to_vec(), eps })
    }

    /// Fits on one tensor `[N, C, *spatial]` (see [`GaussianFit`]).
    ///
    /// # Errors
    /// As [`GaussianFit::update`] and [`GaussianFit::finish`].
    pub fn fit(data: &Tensor, weights: Option<&Tensor>, eps: f64) -> Result<Self> {
        let size = data.size();
        if size.len() < 2 || size[1] < 1 {
            return Err(ModelError::input("data", "[N, C, ...] with C >= 1", format!("{size:?}")));
        }
        let mut fit = GaussianFit::new(size[1] as usize)?;
        fit.update(data, weights)?;
        fit.finish(eps)
    }

    /// Per-channel means.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// Per-channel standard deviations.
    pub fn std(&self) -> &[f64] {
        &self.std
    }

    /// ε added to σ.
    pub fn eps(&self) -> f64 {
        self.eps
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.mean.len()
    }

    fn stats_like(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let c = self.mean.len() as i64;
        let size = x.size();
        if size.len() < 2 || size[1] != c {
            return Err(ModelError::input("x", format!("[N, {c}, ...]"), format!("{size:?}")));
        }
        let mut shape = vec![1i64; size.len()];
        shape[1] = c;
        let opts = |v: &[f64]| -> Result<Tensor> {
            Ok(Tensor::from_slice(v)
                .f_view(shape.as_slice())?
                .f_to_kind(x.kind())?
                .f_to_device(x.device())?)
        };
        let scale: Vec<f64> = self.std.iter().map(|s| s + self.eps).collect();
        Ok((opts(&self.mean)?, opts(&scale)?))
    }

    /// `(x − μ)/(σ + ε)` per channel, in `x`'s kind and device.
    ///
    /// # Errors
    /// `x` not `[N, C, ...]` with this normaliser's `C`.
    pub fn encode(&self, x: &Tensor) -> Result<Tensor> {
        let (mean, scale) = self.stats_like(x)?;
        Ok(x.f_sub(&mean)?.f_div(&scale)?)
    }

    /// `x (σ + ε) + μ` per channel, the inverse of [`Self::encode`].
    ///
    /// # Errors
    /// As [`Self::encode`].
    pub fn decode(&self, x: &Tensor) -> Result<Tensor> {
        let (mean, scale) = self.stats_like(x)?;
        Ok(x.f_mul(&scale)?.f_add(&mean)?)
    }

    /// The statistics as f64 tensors named `{prefix}.mean`, `{prefix}.std`, `{prefix}.eps`.
    pub fn to_tensors(&self, prefix: &str) -> Vec<(String, Tensor)> {
        vec![
            (format!("{prefix}.mean"), Tensor::from_slice(&self.mean)),
            (format!("{prefix}.std"), Tensor::from_slice(&self.std)),
            (format!("{prefix}.eps"), Tensor::from_slice(&[self.eps])),
        ]
    }

    /// Reads what [`Self::to_tensors`] wrote under `prefix`.
    ///
    /// # Errors
    /// A missing entry or invalid statistics.
    pub fn from_tensors(prefix: &str, tensors: &[(String, Tensor)]) -> Result<Self> {
        let get = |field: &str| -> Result<Vec<f64>> {
            let key = format!("{prefix}.{field}");
            let t =
                tensors.iter().find(|(n, _)| *n == key).map(|(_, t)| t).ok_or_else(|| {
                    ModelError::input(&key, "a saved normaliser entry", "missing")
                })?;
            Ok(Vec::<f64>::try_from(t.f_to_kind(Kind::Double)?.f_view([-1])?)?)
        };
        let eps = get("eps")?;
        if eps.len() != 1 {
            return Err(ModelError::input(format!("{prefix}.eps"), "one value", eps.len()));
        }
        Self::new(&get("mean")?, &get("std")?, eps[0])
    }
}
