//! A 2-D U-Net baseline (resolution-bound; for comparison with the neural operators).
//!
//! Encoder level `l` (width `w·2^l`): two 3×3 convolutions with GELU; then 2×2 average pooling.
//! The bottleneck doubles the width once more. Decoder level `l`: a 2×2 stride-2 transposed
//! convolution up, concatenation with the encoder's output of that level, two 3×3 convolutions
//! with GELU; a final 1×1 convolution maps to the output channels.
//!
//! Why it is resolution-bound: every kernel is defined in grid cells, so on a finer grid the
//! same weights see a physically smaller neighbourhood (a learned difference stencil no longer
//! approximates the same derivative, the receptive field shrinks). It runs at any size divisible
//! by `2^depth`, but it is not discretisation-convergent; the zero-shot test in
//! `tests/grid_models.rs` shows it.

use serde::{Deserialize, Serialize};
use tch::Tensor;
use tch::nn::{self, Init};

use crate::error::{ModelError, Result};
use crate::local_no::Operator;

/// Boundary handling of the 3×3 convolutions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UNetPadding {
    /// Wrap around (periodic data). The default.
    #[default]
    Periodic,
    /// Zeros outside the grid.
    Zeros,
}

fn default_width() -> i64 {
    32
}
fn default_depth() -> usize {
    3
}

/// Configuration of a [`UNet2d`] (unknown keys rejected).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UNetConfig {
    /// Input channels.
    pub in_channels: i64,
    /// Output channels.
    pub out_channels: i64,
    /// Width of the first level (default 32); level `l` has `width · 2^l` channels.
    #[serde(default = "default_width")]
    pub width: i64,
    /// Number of down-sampling steps (default 3); inputs need sizes divisible by `2^depth`.
    #[serde(default = "default_depth")]
    pub depth: usize,
    /// Padding of the 3×3 convolutions (default periodic).
    #[serde(default)]
    pub padding: UNetPadding,
}

impl UNetConfig {
    /// The required values with the defaults.
    pub fn new(in_channels: i64, out_channels: i64) -> Self {
        Self {
            in_channels,
            out_channels,
            width: default_width(),
            depth: default_depth(),
            padding: UNetPadding::Periodic,
        }
    }

    /// Parses a TOML document (unknown keys are an error naming the key).
    pub fn from_toml(text: &str) -> Result<Self> {
        toml::from_str(text)
            .map_err(|e| ModelError::config("UNetConfig", "a valid TOML config", e.message()))
    }

    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("in_channels", self.in_channels),
            ("out_channels", self.out_channels),
            ("width", self.width),
        ] {
            if v < 1 {
                return Err(ModelError::config(name, "at least 1", v));
            }
        }
        if !(1..=6).contains(&self.depth) {
            return Err(ModelError::config("depth", "1 to 6 down-sampling steps", self.depth));
        }
        Ok(())
    }
}

/// A convolution with PyTorch's default init (`U(±1/√fan_in)` for weight and bias).
#[derive(Debug)]
struct Conv {
    weight: Tensor,
    bias: Tensor,
}

impl Conv {
    /// A `k×k` convolution `c_in → c_out`.
    fn new(path: &nn::Path, c_in: i64, c_out: i64, k: i64) -> Result<Self> {
        let bound = 1.0 / ((c_in * k * k) as f64).sqrt();
        let init = Init::Uniform { lo: -bound, up: bound };
        let weight = path.f_var("weight", &[c_out, c_in, k, k], init)?;
        let bias = path.f_var("bias", &[c_out], init)?;
        Ok(Self { weight, bias })
    }

    /// A 2×2 stride-2 transposed convolution `c_in → c_out` (weight `(c_in, c_out, 2, 2)`,
    /// PyTorch's fan-in `c_out·4`).
    fn new_up(path: &nn::Path, c_in: i64, c_out: i64) -> Result<Self> {
        let bound = 1.0 / ((c_out * 4) as f64).sqrt();
        let init = Init::Uniform { lo: -bound, up: bound };
        let weight = path.f_var("weight", &[c_in, c_out, 2, 2], init)?;
        let bias = path.f_var("bias", &[c_out], init)?;
        Ok(Self { weight, bias })
    }

    /// Same-size 3×3 (or 1×1) correlation with the given padding.
    fn forward(&self, x: &Tensor, padding: UNetPadding) -> Result<Tensor> {
        let half = self.weight.size()[2] / 2;
        Ok(match padding {
            UNetPadding::Periodic if half > 0 => x
                .f_pad([half, half, half, half], "circular", None)?
                .f_conv2d(&self.weight, Some(&self.bias), [1, 1], [0, 0], [1, 1], 1)?,
            _ => x.f_conv2d(&self.weight, Some(&self.bias), [1, 1], [half, half], [1, 1], 1)?,
        })
    }

    /// Up-sampling by 2 in both dims.
    fn forward_up(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.f_conv_transpose2d(&self.weight, Some(&self.bias), [2, 2], [0, 0], [0, 0], 1, [1, 1])?)
    }
}

/// Two 3×3 convolutions, each followed by GELU.
#[derive(Debug)]
struct DoubleConv {
    a: Conv,
    b: Conv,
}

impl DoubleConv {
    fn new(path: &nn::Path, c_in: i64, c_out: i64) -> Result<Self> {
        Ok(Self {
            a: Conv::new(&(path / "0"), c_in, c_out, 3)?,
            b: Conv::new(&(path / "1"), c_out, c_out, 3)?,
        })
    }

    fn forward(&self, x: &Tensor, p: UNetPadding) -> Result<Tensor> {
        let y = self.a.forward(x, p)?.f_gelu("none")?;
        Ok(self.b.forward(&y, p)?.f_gelu("none")?)
    }
}

/// 2-D U-Net (see the module docs).
///
/// # Shapes
/// `(B, in_channels, n_0, n_1)` → `(B, out_channels, n_0, n_1)`, `n_j` divisible by `2^depth`.
#[derive(Debug)]
pub struct UNet2d {
    config: UNetConfig,
    down: Vec<DoubleConv>,
    bottleneck: DoubleConv,
    up: Vec<(Conv, DoubleConv)>,
    head: Conv,
    kind: tch::Kind,
}

impl UNet2d {
    /// Builds the network under `path` (`down.{l}`, `bottleneck`, `up.{l}.{upsample, conv}`,
    /// `head`).
    pub fn new(path: &nn::Path, config: &UNetConfig) -> Result<Self> {
        config.validate()?;
        let w = |l: usize| config.width << l;
        let mut down = Vec::with_capacity(config.depth);
        for l in 0..config.depth {
            let c_in = if l == 0 { config.in_channels } else { w(l - 1) };
            down.push(DoubleConv::new(&(path / "down" / l), c_in, w(l))?);
        }
        let bottleneck =
            DoubleConv::new(&(path / "bottleneck"), w(config.depth - 1), w(config.depth))?;
        let mut up = Vec::with_capacity(config.depth);
        for l in (0..config.depth).rev() {
            let p = path / "up" / l;
            up.push((
                Conv::new_up(&(&p / "upsample"), w(l + 1), w(l))?,
                DoubleConv::new(&(&p / "conv"), 2 * w(l), w(l))?,
            ));
        }
        let head = Conv::new(&(path / "head"), w(0), config.out_channels, 1)?;
        Ok(Self { config: config.clone(), down, bottleneck, up, head, kind: path.kind() })
    }

    /// The configuration.
    pub fn config(&self) -> &UNetConfig {
        &self.config
    }

    /// Fallible forward pass.
    pub fn f_forward(&self, x: &Tensor) -> Result<Tensor> {
        self.f_forward_t(x, false)
    }
}

impl Operator for UNet2d {
    fn f_forward_t(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        let size = x.size();
        let factor = 1i64 << self.config.depth;
        if size.len() != 4 || size[1] != self.config.in_channels {
            return Err(ModelError::input(
                "x",
                format!("(batch, {} channels, n0, n1)", self.config.in_channels),
                format!("shape {size:?}"),
            ));
        }
        if size[2] % factor != 0 || size[3] % factor != 0 || size[2] == 0 || size[3] == 0 {
            return Err(ModelError::input(
                "x",
                format!("spatial sizes divisible by 2^depth = {factor}"),
                format!("shape {size:?}"),
            ));
        }
        if x.kind() != self.kind {
            return Err(ModelError::input(
                "x",
                format!("dtype {:?} (the model's)", self.kind),
                format!("{:?}", x.kind()),
            ));
        }
        let p = self.config.padding;
        let mut skips = Vec::with_capacity(self.config.depth);
        let mut y = x.shallow_clone();
        for level in &self.down {
            let s = level.forward(&y, p)?;
            y = s.f_avg_pool2d([2, 2], [2, 2], [0, 0], false, true, None::<i64>)?;
            skips.push(s);
        }
        y = self.bottleneck.forward(&y, p)?;
        for (upsample, conv) in &self.up {
            let s =
                skips.pop().ok_or_else(|| ModelError::input("x", "a skip per level", "none"))?;
            let u = upsample.forward_up(&y)?;
            y = conv.forward(&Tensor::f_cat(&[&u, &s], 1)?, p)?;
        }
        self.head.forward(&y, p)
    }
}
