//! The differential layer: a zero-sum convolution divided by the physical grid width, which
//! converges to a first-order differential operator as the grid is refined (neuralop's
//! `FiniteDifferenceConvolution`, with the grid width computed from the input).
//!
//! With learned taps `W[o, c, s]` over the stencil offsets `s ∈ {−k/2, …, k/2}ⁿ` and the grid
//! width `h`,
//!
//! ```text
//! y[b, o, i] = (1/h) Σ_c Σ_s W[o, c, s] · (x̃[b, c, i + s] − x[b, c, i])
//! ```
//!
//! (`x̃` the padded input; the output is further multiplied by a fixed physical length `ℓ`,
//! [`FiniteDifferenceConfig::length_scale`], default 1), i.e. a convolution with the effective
//! kernel `(W − δ₀ ΣW) · ℓ / h`: the kernel sum is subtracted at the centre tap, exactly as the reference does (not the mean
//! subtraction its docstring describes). For a smooth `x`, `x(i + s) − x(i) ≈ Σ_d s_d h_d ∂_d x`,
//! so the output tends to `Σ_d (Σ_s W s_d)(h_d / h) ∂_d x`: a first-order operator whose
//! coefficients do not depend on the resolution as long as the aspect ratio `h_d / h` is fixed.

use tch::Tensor;
use tch::nn::{self, Init, Module};

use crate::common::{self, Padding};
use crate::error::{LayerError, Result};

/// Optional settings of a [`FiniteDifferenceConv`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FiniteDifferenceConfig {
    /// Stencil width per dim, odd (default 3: central differences).
    pub kernel_size: i64,
    /// Channel groups (default 1: every output mixes the derivatives of every input channel;
    /// `groups = in_channels` gives per-channel derivatives).
    pub groups: i64,
    /// Boundary handling (default [`Padding::Periodic`]).
    pub padding: Padding,
    /// A fixed physical length `ℓ` multiplying the output (default 1: the layer converges to
    /// a plain first-order operator). The layer computes `(ℓ/h)·conv`, so it converges to
    /// `ℓ·∂` — the same operator at every resolution, because `ℓ` does not depend on the
    /// grid. A length of the order of the training grid width gives the learned taps the
    /// scale of an ordinary convolution there (the reference's behaviour at its default
    /// resolution); with `ℓ = 1` on a unit domain the taps are amplified by `1/h` and
    /// an optimiser's steps on them are too (see docs/layers.md, "Differential layer").
    pub length_scale: f64,
}

impl Default for FiniteDifferenceConfig {
    fn default() -> Self {
        Self { kernel_size: 3, groups: 1, padding: Padding::Periodic, length_scale: 1.0 }
    }
}

/// Learned finite-difference stencil in 1, 2 or 3 dimensions (see the module docs).
///
/// # Shapes
/// * input `x`: `(B, in_channels, n_1, …, n_d)`, `d = domain_lengths.len()`;
/// * output: `(B, out_channels, n_1, …, n_d)`;
/// * `weight`: `(out_channels, in_channels / groups, k, …, k)`.
///
/// The grid width is computed per call from the input's size: `h_j = L_j / n_j` per dim and
/// `h = (Π_j h_j)^{1/d}` (their geometric mean; just `L / n` on a uniform grid), so one set of
/// weights converges to the same differential operator at every resolution.
#[derive(Debug)]
pub struct FiniteDifferenceConv {
    weight: Tensor,
    in_channels: i64,
    out_channels: i64,
    domain_lengths: Vec<f64>,
    config: FiniteDifferenceConfig,
}

impl FiniteDifferenceConv {
    /// Creates the layer with its `weight` under `path`, initialised as PyTorch's `ConvNd`
    /// (`U(±1/√fan_in)`, `fan_in = (in/groups)·kⁿ`).
    ///
    /// `domain_lengths` are the physical extents `L_j` of the grid along each spatial dim (the
    /// spacing is `L_j / n_j`, a periodic grid without a duplicated end point); their number
    /// sets the dimension.
    pub fn new(
        path: &nn::Path,
        in_channels: i64,
        out_channels: i64,
        domain_lengths: &[f64],
        config: FiniteDifferenceConfig,
    ) -> Result<Self> {
        common::check_lengths("domain_lengths", domain_lengths)?;
        common::check_channels(in_channels, out_channels, config.groups)?;
        if !(config.length_scale.is_finite() && config.length_scale > 0.0) {
            return Err(LayerError::parameter(
                "length_scale",
                "a finite length > 0",
                config.length_scale,
            ));
        }
        if config.kernel_size < 1 || config.kernel_size % 2 == 0 {
            return Err(LayerError::parameter(
                "kernel_size",
                "an odd number ≥ 1",
                config.kernel_size,
            ));
        }
        let n_dim = domain_lengths.len();
        let mut dims = vec![out_channels, in_channels / config.groups];
        dims.extend(std::iter::repeat_n(config.kernel_size, n_dim));
        let fan_in = (in_channels / config.groups) * config.kernel_size.pow(n_dim as u32);
        let bound = 1.0 / (fan_in as f64).sqrt();
        let weight = path.f_var("weight", &dims, Init::Uniform { lo: -bound, up: bound })?;
        Ok(Self {
            weight,
            in_channels,
            out_channels,
            domain_lengths: domain_lengths.to_vec(),
            config,
        })
    }

    /// The learned taps `W`, `(out, in/groups, k, …, k)`.
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// The settings.
    pub fn config(&self) -> &FiniteDifferenceConfig {
        &self.config
    }

    /// Number of spatial dims.
    pub fn n_dim(&self) -> usize {
        self.domain_lengths.len()
    }

    /// Input channels.
    pub fn in_channels(&self) -> i64 {
        self.in_channels
    }

    /// Output channels.
    pub fn out_channels(&self) -> i64 {
        self.out_channels
    }

    /// The physical domain lengths `L_j`.
    pub fn domain_lengths(&self) -> &[f64] {
        &self.domain_lengths
    }

    /// The grid width `h` used for a grid of `spatial` sizes (see the type docs).
    pub fn grid_width(&self, spatial: &[i64]) -> Result<f64> {
        if spatial.len() != self.n_dim() || spatial.iter().any(|&n| n <= 0) {
            return Err(LayerError::input(
                "x",
                format!("{} positive spatial sizes", self.n_dim()),
                format!("{spatial:?}"),
            ));
        }
        let log_mean = self
            .domain_lengths
            .iter()
            .zip(spatial)
            .map(|(&l, &n)| (l / n as f64).ln())
            .sum::<f64>()
            / self.n_dim() as f64;
        Ok(log_mean.exp())
    }

    /// The effective kernel `(W − δ₀ ΣW) · ℓ / h` for a grid of `spatial` sizes,
    /// `(out, in/groups, k, …, k)`: the single convolution the layer applies (useful for
    /// fusing it with other convolutions, see [`crate::LocalBranch`]).
    pub fn effective_kernel(&self, spatial: &[i64]) -> Result<Tensor> {
        let h = self.grid_width(spatial)?;
        let n = self.n_dim();
        let spatial_dims: Vec<i64> = (2..2 + n as i64).collect();
        let sum = self.weight.f_sum_dim_intlist(spatial_dims.as_slice(), true, None)?;
        // A one-hot centre tap δ₀ of the kernel's spatial shape.
        let k = self.config.kernel_size;
        let mut centre_shape = vec![1i64; 2];
        centre_shape.extend(std::iter::repeat_n(k, n));
        let n_taps = k.pow(n as u32) as usize;
        let mut delta = vec![0.0; n_taps];
        delta[n_taps / 2] = 1.0;
        let centre = common::tensor_from_f64(
            &delta,
            &centre_shape,
            self.weight.kind(),
            self.weight.device(),
        )?;
        Ok(((&self.weight - sum * centre) * (self.config.length_scale / h)).f_contiguous()?)
    }

    /// Fallible forward pass (see the type docs for shapes).
    pub fn f_forward(&self, x: &Tensor) -> Result<Tensor> {
        let spatial = common::check_input(x, self.n_dim(), self.in_channels, self.weight.kind())?;
        common::check_device(x, self.weight.device())?;
        let half = vec![self.config.kernel_size / 2; self.n_dim()];
        self.config.padding.check_fits(&spatial, &half)?;
        let kernel = self.effective_kernel(&spatial)?;
        let stride = vec![1i64; self.n_dim()];
        common::conv_nd(x, &kernel, None, self.config.padding, &half, &stride, self.config.groups)
    }
}

impl Module for FiniteDifferenceConv {
    /// # Panics
    /// On an input [`FiniteDifferenceConv::f_forward`] rejects (wrong rank, channel count,
    /// dtype, device or a grid too small for the padding); the message states expected and
    /// actual shapes.
    fn forward(&self, x: &Tensor) -> Tensor {
        common::expect_forward("FiniteDifferenceConv", self.f_forward(x))
    }
}
