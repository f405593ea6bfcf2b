//! Small building blocks of neural-operator models: channel MLP, skip connections (linear,
//! identity, soft-gating), instance and group normalisation, the grid positional embedding and
//! GELU. All act on channels-first tensors `(B, C, d_1, …, d_n)` of any spatial rank.

use tch::Tensor;
use tch::nn::{self, Init, Module, ModuleT};

use crate::common;
use crate::error::{LayerError, Result};

/// Checks `x` is at least `(B, channels)` with floating kind `kind`; returns its shape.
fn check_channels_first(x: &Tensor, channels: i64, kind: tch::Kind) -> Result<Vec<i64>> {
    let size = x.size();
    if size.len() < 2 || size[1] != channels {
        return Err(LayerError::input(
            "x",
            format!("(batch, {channels} channels, spatial…)"),
            format!("shape {size:?}"),
        ));
    }
    if x.kind() != kind {
        return Err(LayerError::input("x", format!("dtype {kind:?}"), format!("{:?}", x.kind())));
    }
    Ok(size)
}

/// Applies `W (out, in)` and an optional bias `(out,)` pointwise over the channel dim.
///
/// As `W` broadcast over the batch and one `bmm`, which reads `x` and writes its results in
/// place in the forward and backward pass. (`matmul` of a 2-D by a 3-D tensor that requires
/// grad folds the batch into the rows of `xᵀ`: it copies `x` into `(B·n, C)` rows and the
/// result and gradients back, five copies per forward + backward, about twice the time of
/// the `bmm` at `(8, 32, 4096)`.)
fn pointwise(x: &Tensor, weight: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    let size = x.size();
    let flat = x.f_reshape([size[0], size[1], -1])?;
    let w = weight.f_unsqueeze(0)?.f_expand([size[0], -1, -1], false)?;
    let y = match bias {
        Some(b) => b.f_view([1, -1, 1])?.f_baddbmm(&w, &flat, 1.0, 1.0)?,
        None => w.f_bmm(&flat)?,
    };
    let mut out = size.clone();
    out[1] = weight.size()[0];
    Ok(y.f_reshape(out.as_slice())?)
}

/// GELU with the exact erf form (`approximate = "none"`, PyTorch's `F.gelu` default).
#[derive(Clone, Copy, Debug, Default)]
pub struct Gelu;

impl Module for Gelu {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.gelu("none")
    }
}

/// Optional settings of a [`ChannelMlp`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChannelMlpConfig {
    /// Width of the hidden layers (default `None`: `in_channels`, as the reference).
    pub hidden_channels: Option<i64>,
    /// Number of pointwise linear layers, ≥ 1 (default 2).
    pub n_layers: usize,
    /// Dropout probability after each hidden activation, in training mode (default 0).
    pub dropout: f64,
}

impl Default for ChannelMlpConfig {
    fn default() -> Self {
        Self { hidden_channels: None, n_layers: 2, dropout: 0.0 }
    }
}

/// Pointwise MLP over channels (neuralop `ChannelMLP`): linear layers (1×1 convolutions) with
/// GELU between them, none after the last.
///
/// # Shapes
/// * input `(B, in_channels, d…)` → output `(B, out_channels, d…)`;
/// * `fcs.{i}.weight`: `(out_i, in_i)`, `fcs.{i}.bias`: `(out_i,)`; PyTorch's `Conv1d` init.
#[derive(Debug)]
pub struct ChannelMlp {
    layers: Vec<(Tensor, Tensor)>,
    dropout: f64,
}

impl ChannelMlp {
    /// Creates the MLP under `path / "fcs" / i`.
    pub fn new(
        path: &nn::Path,
        in_channels: i64,
        out_channels: i64,
        config: ChannelMlpConfig,
    ) -> Result<Self> {
        common::check_channels(in_channels, out_channels, 1)?;
        let hidden = config.hidden_channels.unwrap_or(in_channels);
        if hidden < 1 {
            return Err(LayerError::parameter("hidden_channels", "at least 1", hidden));
        }
        if config.n_layers == 0 {
            return Err(LayerError::parameter("n_layers", "at least 1", 0));
        }
        if !(0.0..1.0).contains(&config.dropout) {
            return Err(LayerError::parameter(
                "dropout",
                "a probability in [0, 1)",
                config.dropout,
            ));
        }
        let fcs = path / "fcs";
        let mut layers = Vec::with_capacity(config.n_layers);
        for i in 0..config.n_layers {
            let c_in = if i == 0 { in_channels } else { hidden };
            let c_out = if i + 1 == config.n_layers { out_channels } else { hidden };
            let bound = 1.0 / (c_in as f64).sqrt();
            let p = &fcs / i;
            let w = p.f_var("weight", &[c_out, c_in], Init::Uniform { lo: -bound, up: bound })?;
            let b = p.f_var("bias", &[c_out], Init::Uniform { lo: -bound, up: bound })?;
            layers.push((w, b));
        }
        Ok(Self { layers, dropout: config.dropout })
    }

    /// The `(weight, bias)` pairs in order.
    pub fn layers(&self) -> &[(Tensor, Tensor)] {
        &self.layers
    }

    /// Fallible forward pass; `train` enables dropout.
    pub fn f_forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let c_in = self.layers[0].0.size()[1];
        check_channels_first(x, c_in, self.layers[0].0.kind())?;
        let mut y = x.shallow_clone();
        for (i, (w, b)) in self.layers.iter().enumerate() {
            y = pointwise(&y, w, Some(b))?;
            if i + 1 < self.layers.len() {
                y = y.f_gelu("none")?;
                if self.dropout > 0.0 {
                    y = y.f_dropout(self.dropout, train)?;
                }
            }
        }
        Ok(y)
    }
}

impl ModuleT for ChannelMlp {
    /// # Panics
    /// On an input [`ChannelMlp::f_forward_t`] rejects (channel count or dtype).
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        common::expect_forward("ChannelMlp", self.f_forward_t(x, train))
    }
}

/// Which skip connection a [`Skip`] applies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SkipKind {
    /// A pointwise linear map without bias (neuralop's `Flattened1dConv`). The default.
    #[default]
    Linear,
    /// `x` unchanged (needs `in == out`).
    Identity,
    /// `x · w` per channel, `w` initialised to 1 (needs `in == out`).
    SoftGating,
}

/// A skip connection (neuralop `skip_connection`).
///
/// # Shapes
/// * input `(B, in_channels, d…)` → output `(B, out_channels, d…)`;
/// * `weight`: Linear `(out, in)` (PyTorch `Conv1d` init), SoftGating `(channels,)`.
#[derive(Debug)]
pub struct Skip {
    kind: SkipKind,
    channels: i64,
    weight: Option<Tensor>,
}

impl Skip {
    /// Creates the skip under `path`.
    pub fn new(
        path: &nn::Path,
        in_channels: i64,
        out_channels: i64,
        kind: SkipKind,
    ) -> Result<Self> {
        common::check_channels(in_channels, out_channels, 1)?;
        if kind != SkipKind::Linear && in_channels != out_channels {
            return Err(LayerError::parameter(
                "out_channels",
                format!("in_channels ({in_channels}) for a {kind:?} skip"),
                out_channels,
            ));
        }
        let weight = match kind {
            SkipKind::Identity => None,
            SkipKind::Linear => {
                let bound = 1.0 / (in_channels as f64).sqrt();
                Some(path.f_var(
                    "weight",
                    &[out_channels, in_channels],
                    Init::Uniform { lo: -bound, up: bound },
                )?)
            }
            SkipKind::SoftGating => Some(path.f_ones("weight", &[in_channels])?),
        };
        Ok(Self { kind, channels: in_channels, weight })
    }

    /// The kind of skip.
    pub fn kind(&self) -> SkipKind {
        self.kind
    }

    /// The weight, if the kind has one.
    pub fn weight(&self) -> Option<&Tensor> {
        self.weight.as_ref()
    }

    /// Fallible forward pass.
    pub fn f_forward(&self, x: &Tensor) -> Result<Tensor> {
        let size = x.size();
        if size.len() < 2 || size[1] != self.channels {
            return Err(LayerError::input(
                "x",
                format!("(batch, {} channels, spatial…)", self.channels),
                format!("shape {size:?}"),
            ));
        }
        match (&self.kind, &self.weight) {
            (SkipKind::Linear, Some(w)) => {
                check_channels_first(x, self.channels, w.kind())?;
                pointwise(x, w, None)
            }
            (SkipKind::SoftGating, Some(w)) => {
                check_channels_first(x, self.channels, w.kind())?;
                let mut shape = vec![1i64; size.len()];
                shape[1] = self.channels;
                Ok(x.f_mul(&w.f_view(shape.as_slice())?)?)
            }
            _ => Ok(x.shallow_clone()),
        }
    }
}

impl Module for Skip {
    /// # Panics
    /// On an input [`Skip::f_forward`] rejects (channel count or dtype).
    fn forward(&self, x: &Tensor) -> Tensor {
        common::expect_forward("Skip", self.f_forward(x))
    }
}

/// Instance normalisation without affine parameters (PyTorch `F.instance_norm`, as LocalNO's
/// `norm="instance_norm"`): each `(b, c)` slice is shifted to mean 0 and scaled by
/// `1/√(var + eps)`, with the biased variance over the spatial dims.
///
/// # Shapes
/// `(B, C, d…)` → same, at least one spatial dim.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InstanceNorm {
    /// Added to the variance (default 1e-5, as PyTorch).
    pub eps: f64,
}

impl Default for InstanceNorm {
    fn default() -> Self {
        Self { eps: 1e-5 }
    }
}

impl InstanceNorm {
    /// Fallible forward pass.
    pub fn f_forward(&self, x: &Tensor) -> Result<Tensor> {
        let size = x.size();
        if size.len() < 3 {
            return Err(LayerError::input(
                "x",
                "(batch, channels, at least one spatial dim)",
                format!("shape {size:?}"),
            ));
        }
        Ok(x.f_instance_norm(
            None::<Tensor>,
            None::<Tensor>,
            None::<Tensor>,
            None::<Tensor>,
            true,
            0.0,
            self.eps,
            false,
        )?)
    }
}

impl Module for InstanceNorm {
    /// # Panics
    /// On an input of rank < 3.
    fn forward(&self, x: &Tensor) -> Tensor {
        common::expect_forward("InstanceNorm", self.f_forward(x))
    }
}

/// Group normalisation with per-channel affine parameters (PyTorch `nn.GroupNorm`; LocalNO's
/// `norm="group_norm"` is `n_groups = 1`): statistics over each group of channels and all
/// spatial points, biased variance, then `γ_c · x̂ + β_c`.
///
/// # Shapes
/// * `(B, C, d…)` → same; `weight` (γ, init 1) and `bias` (β, init 0): `(C,)`.
#[derive(Debug)]
pub struct GroupNorm {
    n_groups: i64,
    channels: i64,
    eps: f64,
    weight: Tensor,
    bias: Tensor,
}

impl GroupNorm {
    /// Creates the layer; `n_groups` must divide `channels`; `eps` is added to the variance
    /// (PyTorch uses 1e-5).
    pub fn new(path: &nn::Path, n_groups: i64, channels: i64, eps: f64) -> Result<Self> {
        common::check_channels(channels, channels, n_groups).map_err(|_| {
            LayerError::parameter(
                "n_groups",
                format!("a divisor of channels ({channels})"),
                n_groups,
            )
        })?;
        if !(eps.is_finite() && eps >= 0.0) {
            return Err(LayerError::parameter("eps", "a finite number ≥ 0", eps));
        }
        let weight = path.f_ones("weight", &[channels])?;
        let bias = path.f_zeros("bias", &[channels])?;
        Ok(Self { n_groups, channels, eps, weight, bias })
    }

    /// Fallible forward pass.
    pub fn f_forward(&self, x: &Tensor) -> Result<Tensor> {
        check_channels_first(x, self.channels, self.weight.kind())?;
        Ok(x.f_group_norm(self.n_groups, Some(&self.weight), Some(&self.bias), self.eps, false)?)
    }
}

impl Module for GroupNorm {
    /// # Panics
    /// On an input [`GroupNorm::f_forward`] rejects (channel count or dtype).
    fn forward(&self, x: &Tensor) -> Tensor {
        common::expect_forward("GroupNorm", self.f_forward(x))
    }
}

/// Appends the grid coordinates as channels.
///
/// Two encodings:
/// * [`GridEmbedding::new`] (neuralop's `GridEmbeddingND`): for a spatial dim of size `n` on
///   `[a, b]`, the coordinate `a + (b − a)·i/n`, `i < n` (a periodic grid without the end
///   point) — one channel per dim;
/// * [`GridEmbedding::periodic`]: `sin(2πi/n)` and `cos(2πi/n)` — two channels per dim. The
///   linear coordinate jumps from `b` back to `a` across a periodic boundary, and a
///   differential branch (which divides by the grid width `h`) turns that jump into a spike
///   growing like `1/h`; the periodic encoding is smooth on the torus, so every later layer
///   sees a resolution-independent input.
///
/// Values are computed in f64 and cast to the input's dtype.
///
/// # Shapes
/// `(B, C, d_1, …, d_n)` → `(B, C + channels(), d_1, …, d_n)`, coordinates after the data
/// channels (per dim: the linear coordinate, or its sine then cosine).
#[derive(Clone, Debug, PartialEq)]
pub struct GridEmbedding {
    boundaries: Vec<[f64; 2]>,
    periodic: bool,
}

impl GridEmbedding {
    /// Linear coordinates, `boundaries[j] = [a_j, b_j]` per spatial dim (the reference's
    /// default is `[0, 1]`).
    pub fn new(boundaries: Vec<[f64; 2]>) -> Result<Self> {
        if boundaries.is_empty() || boundaries.len() > 3 {
            return Err(LayerError::parameter("boundaries", "1 to 3 intervals", boundaries.len()));
        }
        if let Some(b) = boundaries.iter().find(|b| !(b[0].is_finite() && b[1].is_finite())) {
            return Err(LayerError::parameter("boundaries", "finite intervals", format!("{b:?}")));
        }
        Ok(Self { boundaries, periodic: false })
    }

    /// Periodic coordinates `(sin 2πi/n, cos 2πi/n)` for each of `n_dims` spatial dims.
    pub fn periodic(n_dims: usize) -> Result<Self> {
        if n_dims == 0 || n_dims > 3 {
            return Err(LayerError::parameter("n_dims", "1 to 3 spatial dims", n_dims));
        }
        Ok(Self { boundaries: vec![[0.0, 1.0]; n_dims], periodic: true })
    }

    /// Whether the encoding is the periodic one.
    pub fn is_periodic(&self) -> bool {
        self.periodic
    }

    /// The number of channels appended.
    pub fn channels(&self) -> i64 {
        let per_dim = if self.periodic { 2 } else { 1 };
        per_dim * self.boundaries.len() as i64
    }

    /// Fallible forward pass.
    pub fn f_forward(&self, x: &Tensor) -> Result<Tensor> {
        let size = x.size();
        let n = self.boundaries.len();
        if size.len() != n + 2 {
            return Err(LayerError::input(
                "x",
                format!("a rank-{} tensor (batch, channels, {n} spatial dims)", n + 2),
                format!("shape {size:?}"),
            ));
        }
        let mut parts = vec![x.shallow_clone()];
        let mut push = |coords: Vec<f64>, j: usize| -> Result<()> {
            let m = coords.len() as i64;
            let mut shape = vec![1i64; n + 2];
            shape[2 + j] = m;
            let c = common::tensor_from_f64(&coords, &shape, x.kind(), x.device())?;
            let mut full = size.clone();
            full[1] = 1;
            parts.push(c.f_expand(full.as_slice(), false)?);
            Ok(())
        };
        for (j, [a, b]) in self.boundaries.iter().enumerate() {
            let m = size[2 + j];
            let t: Vec<f64> = (0..m).map(|i| i as f64 / m as f64).collect();
            if self.periodic {
                let angle = |t: f64| 2.0 * std::f64::consts::PI * t;
                push(t.iter().map(|&t| angle(t).sin()).collect(), j)?;
                push(t.iter().map(|&t| angle(t).cos()).collect(), j)?;
            } else {
                push(t.iter().map(|&t| a + (b - a) * t).collect(), j)?;
            }
        }
        Ok(Tensor::f_cat(&parts, 1)?)
    }
}

impl Module for GridEmbedding {
    /// # Panics
    /// On an input of the wrong rank.
    fn forward(&self, x: &Tensor) -> Tensor {
        common::expect_forward("GridEmbedding", self.f_forward(x))
    }
}
