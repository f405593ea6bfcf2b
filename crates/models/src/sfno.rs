//! Neural operators on the sphere: SFNO, the local SFNO of Liu-Schiaffini et al. (a DISCO
//! branch in parallel to the spherical spectral convolution inside every block) and the
//! alternating global/local stack of torch-harmonics' LSNO, built from one serde config.
//!
//! Architectures follow torch-harmonics 0.7.4 (`examples/models/sfno.py`, `lsno.py`), with its
//! defaults; the deliberate differences are listed in `docs/models-sphere-cloud.md`.
//! Fields are `(B, C, nlat, nlon)` on the grids of `lno_layers::sphere`.

use std::f64::consts::PI;

use lno_layers::sphere::{
    DiscoConvS2, DiscoConvTransposeS2, DiscoS2Options, InverseRealSht, RealSht, SpectralConvS2,
};
use lno_quadrature::SphereGridKind;
use serde::{Deserialize, Serialize};
use tch::nn::{self, Init};
use tch::{Device, Kind, Tensor};

use crate::error::{ModelError, Result};

/// Which spherical operator a [`SphereNoConfig`] builds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SphereArchitecture {
    /// torch-harmonics' `SphericalFourierNeuralOperatorNet`: pointwise encoder, SHT blocks (the
    /// first and last change resolution), pointwise decoder.
    #[default]
    Sfno,
    /// SFNO with a DISCO convolution summed with the spectral convolution in every block
    /// (paper §4: local integral kernel in parallel to the global one).
    LocalSfno,
    /// torch-harmonics' `LocalSphericalNeuralOperatorNet`: DISCO encoder to the internal grid,
    /// blocks alternating global (even) and local (odd), SHT up-sampling and a DISCO decoder.
    Lsno,
}

/// Latitude grid names as torch-harmonics spells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SphereGrid {
    /// Equiangular with both poles (Clenshaw–Curtis).
    Equiangular,
    /// Gauss–Legendre.
    LegendreGauss,
    /// Gauss–Lobatto.
    Lobatto,
}

impl From<SphereGrid> for SphereGridKind {
    fn from(g: SphereGrid) -> Self {
        match g {
            SphereGrid::Equiangular => SphereGridKind::Equiangular,
            SphereGrid::LegendreGauss => SphereGridKind::LegendreGauss,
            SphereGrid::Lobatto => SphereGridKind::Lobatto,
        }
    }
}

/// Activation of the block MLPs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    /// ReLU (torch-harmonics 0.7.4's default, whatever its docstring says).
    #[default]
    Relu,
    /// Exact (erf) GELU.
    Gelu,
    /// No activation (th halves no gains then: the spectral gain becomes 1).
    Identity,
}

impl Activation {
    fn apply(self, x: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Self::Relu => x.f_relu()?,
            Self::Gelu => x.f_gelu("none")?,
            Self::Identity => x.shallow_clone(),
        })
    }
}

/// Normalisation after the convolution and after the MLP of each block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SphereNorm {
    /// None (th default).
    #[default]
    None,
    /// `InstanceNorm2d(affine, eps 1e-6)`.
    InstanceNorm,
}

fn default_embed_dim() -> i64 {
    256
}
fn default_num_layers() -> usize {
    4
}
fn default_grid() -> SphereGrid {
    SphereGrid::Equiangular
}
fn default_grid_internal() -> SphereGrid {
    SphereGrid::LegendreGauss
}
fn default_true() -> bool {
    true
}
fn default_mlp_ratio() -> f64 {
    2.0
}
fn default_htf() -> f64 {
    1.0
}

/// Configuration of [`SphereNo`]. Required: `img_size`, `in_channels`, `out_channels`; every
/// other key has torch-harmonics 0.7.4's default. Unknown keys are rejected.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SphereNoConfig {
    /// `[nlat, nlon]` of the input and output fields.
    pub img_size: [usize; 2],
    /// Input channels.
    pub in_channels: i64,
    /// Output channels.
    pub out_channels: i64,
    /// Which operator (default `sfno`).
    #[serde(default)]
    pub architecture: SphereArchitecture,
    /// Hidden channels (default 256).
    #[serde(default = "default_embed_dim")]
    pub embed_dim: i64,
    /// Number of blocks (default 4).
    #[serde(default = "default_num_layers")]
    pub num_layers: usize,
    /// Down-sampling to the internal grid, `h = (nlat − 1)/s + 1`, `w = nlon/s`; `None` = th's
    /// default: 3 for SFNO, 4 for LSNO and the local SFNO.
    #[serde(default)]
    pub scale_factor: Option<usize>,
    /// Grid of the input and output fields (default equiangular).
    #[serde(default = "default_grid")]
    pub grid: SphereGrid,
    /// Grid of the internal fields (default Legendre–Gauss).
    #[serde(default = "default_grid_internal")]
    pub grid_internal: SphereGrid,
    /// MLP activation (default ReLU).
    #[serde(default)]
    pub activation: Activation,
    /// A two-layer pointwise MLP in each block (default true).
    #[serde(default = "default_true")]
    pub use_mlp: bool,
    /// MLP hidden width = `int(embed_dim · mlp_ratio)` (default 2).
    #[serde(default = "default_mlp_ratio")]
    pub mlp_ratio: f64,
    /// Block normalisation (default none).
    #[serde(default)]
    pub normalization: SphereNorm,
    /// Fraction of the spectral modes kept (default 1).
    #[serde(default = "default_htf")]
    pub hard_thresholding_fraction: f64,
    /// SFNO: concatenate the input to the decoder's input; LSNO: add the input to the output
    /// (needs `in_channels == out_channels`). Default false.
    #[serde(default)]
    pub big_skip: bool,
    /// DISCO kernel shape `[n_r]` or `[n_r, n_φ]` of the block DISCO convolutions (local SFNO,
    /// LSNO; default `[3, 4]`). An error for SFNO.
    #[serde(default)]
    pub kernel_shape: Option<Vec<usize>>,
    /// DISCO kernel shape of LSNO's encoder and decoder (default `[3, 4]`); LSNO only.
    #[serde(default)]
    pub encoder_kernel_shape: Option<Vec<usize>>,
    /// Support radius (radians) of the block DISCO convolutions; default: local SFNO
    /// `(k_r + 1)·π/(h − 1)`, LSNO th's `4(k_r + 1)·π/(h − 1)`, both capped at π.
    #[serde(default)]
    pub theta_cutoff: Option<f64>,
}

impl SphereNoConfig {
    /// A config with the required values and every default.
    pub fn new(img_size: [usize; 2], in_channels: i64, out_channels: i64) -> Self {
        Self {
            img_size,
            in_channels,
            out_channels,
            architecture: SphereArchitecture::default(),
            embed_dim: default_embed_dim(),
            num_layers: default_num_layers(),
            scale_factor: None,
            grid: default_grid(),
            grid_internal: default_grid_internal(),
            activation: Activation::default(),
            use_mlp: true,
            mlp_ratio: default_mlp_ratio(),
            normalization: SphereNorm::default(),
            hard_thresholding_fraction: default_htf(),
            big_skip: false,
            kernel_shape: None,
            encoder_kernel_shape: None,
            theta_cutoff: None,
        }
    }

    /// Parses a TOML table; unknown keys and missing required keys are errors naming them.
    ///
    /// # Errors
    /// [`ModelError::Config`] with serde's message (which names the key).
    pub fn from_toml(text: &str) -> Result<Self> {
        toml::from_str(text)
            .map_err(|e| ModelError::config("config", "a valid SphereNoConfig (TOML)", e))
    }

    /// Parses JSON; see [`SphereNoConfig::from_toml`].
    ///
    /// # Errors
    /// [`ModelError::Config`] with serde's message.
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text)
            .map_err(|e| ModelError::config("config", "a valid SphereNoConfig (JSON)", e))
    }

    /// The scale factor actually used (th's default per architecture).
    pub fn effective_scale_factor(&self) -> usize {
        self.scale_factor.unwrap_or(match self.architecture {
            SphereArchitecture::Sfno => 3,
            // DISCO between the outer and internal grids needs nlon divisible by w; th's LSNO
            // default 4 gives that for the usual power-of-two nlon (th's SFNO 3 would not).
            SphereArchitecture::LocalSfno | SphereArchitecture::Lsno => 4,
        })
    }

    /// The internal grid `[h, w]`.
    pub fn internal_shape(&self) -> [usize; 2] {
        let s = self.effective_scale_factor().max(1);
        [(self.img_size[0].saturating_sub(1)) / s + 1, self.img_size[1] / s]
    }

    /// Spectral modes `lmax = mmax` of the block convolutions (th: SFNO
    /// `min(h, w/2)·fraction`, LSNO `min(h·fraction, (w/2)·fraction)`, truncated).
    pub fn modes(&self) -> usize {
        let [h, w] = self.internal_shape();
        let f = self.hard_thresholding_fraction;
        match self.architecture {
            SphereArchitecture::Lsno => {
                ((h as f64 * f) as usize).min(((w / 2) as f64 * f) as usize)
            }
            _ => (h.min(w / 2) as f64 * f) as usize,
        }
    }

    fn kernel(&self) -> Vec<usize> {
        self.kernel_shape.clone().unwrap_or_else(|| vec![3, 4])
    }

    fn encoder_kernel(&self) -> Vec<usize> {
        self.encoder_kernel_shape.clone().unwrap_or_else(|| vec![3, 4])
    }

    /// The block DISCO cutoff (radians).
    pub fn block_theta_cutoff(&self) -> f64 {
        let h = self.internal_shape()[0] as f64;
        let kr = self.kernel().first().copied().unwrap_or(1) as f64;
        self.theta_cutoff.unwrap_or_else(|| {
            let spacings = match self.architecture {
                SphereArchitecture::Lsno => 4.0 * (kr + 1.0),
                _ => kr + 1.0,
            };
            (spacings * PI / (h - 1.0)).min(PI)
        })
    }

    /// Checks every value and combination; errors name the key.
    ///
    /// # Errors
    /// [`ModelError::Config`] naming the first invalid key or combination.
    pub fn validate(&self) -> Result<()> {
        let [nlat, nlon] = self.img_size;
        if nlat < 2 || nlon < 2 {
            return Err(ModelError::config(
                "img_size",
                "[nlat ≥ 2, nlon ≥ 2]",
                format!("{:?}", self.img_size),
            ));
        }
        for (name, v) in [
            ("in_channels", self.in_channels),
            ("out_channels", self.out_channels),
            ("embed_dim", self.embed_dim),
        ] {
            if v < 1 {
                return Err(ModelError::config(name, "at least 1", v));
            }
        }
        if self.num_layers < 1 {
            return Err(ModelError::config("num_layers", "at least 1", self.num_layers));
        }
        if self.scale_factor == Some(0) {
            return Err(ModelError::config("scale_factor", "at least 1", 0));
        }
        let [h, w] = self.internal_shape();
        if h < 2 || w < 2 {
            return Err(ModelError::config(
                "scale_factor",
                format!(
                    "a factor leaving an internal grid of at least 2 × 2 (img_size {:?})",
                    self.img_size
                ),
                format!("{} (internal grid {h} × {w})", self.effective_scale_factor()),
            ));
        }
        let f = self.hard_thresholding_fraction;
        if !(f.is_finite() && f > 0.0 && f <= 1.0) {
            return Err(ModelError::config("hard_thresholding_fraction", "a value in (0, 1]", f));
        }
        if self.modes() < 1 {
            return Err(ModelError::config(
                "hard_thresholding_fraction",
                format!("a fraction keeping at least one mode of the {h} × {w} internal grid"),
                f,
            ));
        }
        let m = self.mlp_ratio;
        if self.use_mlp && !(m.is_finite() && (self.embed_dim as f64 * m) as i64 >= 1) {
            return Err(ModelError::config(
                "mlp_ratio",
                "a finite ratio with int(embed_dim · mlp_ratio) ≥ 1",
                m,
            ));
        }
        let arch = self.architecture;
        if arch == SphereArchitecture::Sfno {
            for (name, set) in [
                ("kernel_shape", self.kernel_shape.is_some()),
                ("encoder_kernel_shape", self.encoder_kernel_shape.is_some()),
                ("theta_cutoff", self.theta_cutoff.is_some()),
            ] {
                if set {
                    return Err(ModelError::config(
                        name,
                        "unset for architecture \"sfno\" (it has no DISCO layer; use \"local-sfno\" or \"lsno\")",
                        "a value",
                    ));
                }
            }
        }
        if arch == SphereArchitecture::LocalSfno && self.encoder_kernel_shape.is_some() {
            return Err(ModelError::config(
                "encoder_kernel_shape",
                "unset for architecture \"local-sfno\" (its encoder and decoder are pointwise; only \"lsno\" has DISCO ones)",
                "a value",
            ));
        }
        for (name, shape) in
            [("kernel_shape", self.kernel()), ("encoder_kernel_shape", self.encoder_kernel())]
        {
            if shape.is_empty() || shape.len() > 2 || shape.contains(&0) {
                return Err(ModelError::config(
                    name,
                    "[n_r] or [n_r, n_phi] with entries ≥ 1",
                    format!("{shape:?}"),
                ));
            }
        }
        if let Some(t) = self.theta_cutoff
            && !(t.is_finite() && t > 0.0 && t <= PI)
        {
            return Err(ModelError::config("theta_cutoff", "a radius in (0, π]", t));
        }
        let needs_divisible = match arch {
            SphereArchitecture::Sfno => false,
            SphereArchitecture::LocalSfno => {
                (h, w) != (nlat, nlon) || self.grid != self.grid_internal
            }
            SphereArchitecture::Lsno => true,
        };
        if needs_divisible && nlon % w != 0 {
            return Err(ModelError::config(
                "scale_factor",
                format!(
                    "a factor whose internal longitude count divides nlon = {nlon} (the DISCO \
                     layers between the {nlat} × {nlon} and internal grids need nlon_fine a \
                     multiple of nlon_coarse)"
                ),
                format!("{} (internal {h} × {w})", self.effective_scale_factor()),
            ));
        }
        if arch == SphereArchitecture::Lsno
            && self.big_skip
            && self.in_channels != self.out_channels
        {
            return Err(ModelError::config(
                "big_skip",
                format!(
                    "false unless in_channels == out_channels (LSNO adds the input to the output; \
                     here {} vs {})",
                    self.in_channels, self.out_channels
                ),
                true,
            ));
        }
        Ok(())
    }
}

/// A pointwise (1×1) convolution `[out, in]` with optional bias.
#[derive(Debug)]
struct Pointwise {
    weight: Tensor,
    bias: Option<Tensor>,
}

impl Pointwise {
    fn new(p: &nn::Path, c_in: i64, c_out: i64, std: f64, bias: bool) -> Result<Self> {
        let weight = p.f_var("weight", &[c_out, c_in], Init::Randn { mean: 0.0, stdev: std })?;
        let bias = if bias { Some(p.f_zeros("bias", &[c_out])?) } else { None };
        Ok(Self { weight, bias })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let s = self.weight.size();
        let w = self.weight.f_view([s[0], s[1], 1, 1])?;
        Ok(x.f_conv2d(&w, self.bias.as_ref(), [1, 1], [0, 0], [1, 1], 1)?)
    }

    fn n_params(&self) -> i64 {
        self.weight.numel() as i64 + self.bias.as_ref().map_or(0, |b| b.numel() as i64)
    }
}

/// torch-harmonics' block MLP: `fc1` (bias, std `√(2/in)`), activation, `fc2` (no bias, std
/// `√(gain/hidden)`).
#[derive(Debug)]
struct Mlp {
    fc1: Pointwise,
    fc2: Pointwise,
    act: Activation,
}

impl Mlp {
    fn new(p: &nn::Path, c: i64, hidden: i64, act: Activation, gain: f64) -> Result<Self> {
        let fc1 = Pointwise::new(&(p / "fc1"), c, hidden, (2.0 / c as f64).sqrt(), true)?;
        let fc2 = Pointwise::new(&(p / "fc2"), hidden, c, (gain / hidden as f64).sqrt(), false)?;
        Ok(Self { fc1, fc2, act })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.fc2.forward(&self.act.apply(&self.fc1.forward(x)?)?)
    }
}

/// `InstanceNorm2d(affine = true, eps = 1e-6)` as th's blocks use it.
#[derive(Debug)]
struct AffineInstanceNorm {
    weight: Tensor,
    bias: Tensor,
}

impl AffineInstanceNorm {
    fn new(p: &nn::Path, c: i64) -> Result<Self> {
        Ok(Self { weight: p.f_ones("weight", &[c])?, bias: p.f_zeros("bias", &[c])? })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.f_instance_norm(
            Some(&self.weight),
            Some(&self.bias),
            None::<&Tensor>,
            None::<&Tensor>,
            true,
            0.1,
            1e-6,
            false,
        )?)
    }
}

fn norm_forward(norm: &Option<AffineInstanceNorm>, x: Tensor) -> Result<Tensor> {
    match norm {
        Some(n) => n.forward(&x),
        None => Ok(x),
    }
}

/// A DISCO layer that maps between two sphere grids in whichever direction the longitudes allow.
#[derive(Debug)]
enum DiscoS2 {
    Forward(DiscoConvS2),
    Transpose(DiscoConvTransposeS2),
}

impl DiscoS2 {
    #[allow(clippy::too_many_arguments)]
    fn new(
        p: &nn::Path,
        c_in: i64,
        c_out: i64,
        shape_in: [usize; 2],
        grid_in: SphereGrid,
        shape_out: [usize; 2],
        grid_out: SphereGrid,
        kernel_shape: &[usize],
        theta_cutoff: f64,
    ) -> Result<Self> {
        let opts = DiscoS2Options {
            grid_in: grid_in.into(),
            grid_out: grid_out.into(),
            theta_cutoff: Some(theta_cutoff),
            bias: false,
            ..Default::default()
        };
        Ok(if shape_out[1] <= shape_in[1] {
            Self::Forward(DiscoConvS2::new(
                p,
                c_in,
                c_out,
                shape_in,
                shape_out,
                kernel_shape,
                opts,
            )?)
        } else {
            Self::Transpose(DiscoConvTransposeS2::new(
                p,
                c_in,
                c_out,
                shape_in,
                shape_out,
                kernel_shape,
                opts,
            )?)
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Self::Forward(c) => c.f_forward(x)?,
            Self::Transpose(c) => c.f_forward(x)?,
        })
    }

    fn n_params(&self) -> i64 {
        let (w, b) = match self {
            Self::Forward(c) => (c.weight(), c.bias()),
            Self::Transpose(c) => (c.weight(), c.bias()),
        };
        w.numel() as i64 + b.map_or(0, |b| b.numel() as i64)
    }
}

/// The token mixer of a block.
#[derive(Debug)]
enum Mixer {
    Global(SpectralConvS2),
    GlobalLocal(SpectralConvS2, DiscoS2),
    Local(DiscoS2),
}

/// One block: `y = mix(x); y = norm0(y); y = mlp(y); y = norm1(y); y + residual`.
#[derive(Debug)]
struct Block {
    mixer: Mixer,
    norm0: Option<AffineInstanceNorm>,
    mlp: Option<Mlp>,
    norm1: Option<AffineInstanceNorm>,
}

impl Block {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (y, residual) = match &self.mixer {
            Mixer::Global(s) => s.f_forward_with_residual(x)?,
            Mixer::GlobalLocal(s, d) => {
                let (y, r) = s.f_forward_with_residual(x)?;
                (y.f_add(&d.forward(x)?)?, r)
            }
            Mixer::Local(d) => (d.forward(x)?, x.shallow_clone()),
        };
        let mut y = norm_forward(&self.norm0, y)?;
        if let Some(mlp) = &self.mlp {
            y = mlp.forward(&y)?;
        }
        let y = norm_forward(&self.norm1, y)?;
        Ok(y.f_add(&residual)?)
    }
}

#[derive(Debug)]
enum Encoder {
    Pointwise(Pointwise),
    Disco(DiscoS2),
}

// Built once per model, so the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Decoder {
    Pointwise(Pointwise),
    /// SHT up-sampling to the output grid, then a DISCO convolution there.
    ShtDisco {
        sht: RealSht,
        isht: InverseRealSht,
        conv: DiscoS2,
    },
}

/// SFNO, local SFNO or LSNO on the sphere (see [`SphereArchitecture`]).
///
/// # Shapes
/// `(B, in_channels, nlat, nlon)` → `(B, out_channels, nlat, nlon)`, `[nlat, nlon] = img_size`
/// on `grid`.
#[derive(Debug)]
pub struct SphereNo {
    config: SphereNoConfig,
    encoder: Encoder,
    blocks: Vec<Block>,
    decoder: Decoder,
    n_params: i64,
    kind: Kind,
    device: Device,
}

impl SphereNo {
    /// Builds the model under `path` (weights in its `VarStore`, transforms and Ψ as buffers on
    /// its device).
    ///
    /// # Errors
    /// An invalid config ([`SphereNoConfig::validate`]) or a layer that cannot be built.
    pub fn new(path: &nn::Path, config: &SphereNoConfig) -> Result<Self> {
        config.validate()?;
        let c = config;
        let device = path.device();
        let kind = path.kind();
        let img = c.img_size;
        let [h, w] = c.internal_shape();
        let internal = [h, w];
        let modes = c.modes();
        let e = c.embed_dim;
        let arch = c.architecture;
        let act_gain = if c.activation == Activation::Identity { 1.0 } else { 2.0 };
        let mlp_hidden = (e as f64 * c.mlp_ratio) as i64;
        let block_cutoff = c.block_theta_cutoff();
        let coarse_cutoff = (4.0 * PI / (h as f64 - 1.0)).min(PI);
        let sht = |shape: [usize; 2], grid: SphereGrid| {
            RealSht::new(shape[0], shape[1], Some(modes), Some(modes), grid.into(), device)
        };
        let isht = |shape: [usize; 2], grid: SphereGrid| {
            InverseRealSht::new(shape[0], shape[1], Some(modes), Some(modes), grid.into(), device)
        };

        let encoder = match arch {
            SphereArchitecture::Lsno => Encoder::Disco(DiscoS2::new(
                &(path / "encoder"),
                c.in_channels,
                e,
                img,
                c.grid,
                internal,
                c.grid_internal,
                &c.encoder_kernel(),
                coarse_cutoff,
            )?),
            _ => Encoder::Pointwise(Pointwise::new(
                &(path / "encoder"),
                c.in_channels,
                e,
                (1.0 / c.in_channels as f64).sqrt(),
                false,
            )?),
        };

        let mut blocks = Vec::with_capacity(c.num_layers);
        for i in 0..c.num_layers {
            let p = path / "blocks" / i;
            let (first, last) = (i == 0, i + 1 == c.num_layers);
            // LSNO stays on the internal grid; SFNO's first and last blocks change resolution.
            let (shape_in, grid_in, shape_out, grid_out) = match arch {
                SphereArchitecture::Lsno => (internal, c.grid_internal, internal, c.grid_internal),
                _ => (
                    if first { img } else { internal },
                    if first { c.grid } else { c.grid_internal },
                    if last { img } else { internal },
                    if last { c.grid } else { c.grid_internal },
                ),
            };
            let spectral = || -> Result<SpectralConvS2> {
                Ok(SpectralConvS2::new(
                    &(&p / "global_conv"),
                    sht(shape_in, grid_in)?,
                    isht(shape_out, grid_out)?,
                    e,
                    e,
                    act_gain,
                    false,
                )?)
            };
            let local = || {
                DiscoS2::new(
                    &(&p / "local_conv"),
                    e,
                    e,
                    shape_in,
                    grid_in,
                    shape_out,
                    grid_out,
                    &c.kernel(),
                    block_cutoff,
                )
            };
            let mixer = match arch {
                SphereArchitecture::Sfno => Mixer::Global(spectral()?),
                SphereArchitecture::LocalSfno => Mixer::GlobalLocal(spectral()?, local()?),
                SphereArchitecture::Lsno if i % 2 == 0 => Mixer::Global(spectral()?),
                SphereArchitecture::Lsno => Mixer::Local(local()?),
            };
            let norm = |name: &str| -> Result<Option<AffineInstanceNorm>> {
                match c.normalization {
                    SphereNorm::None => Ok(None),
                    SphereNorm::InstanceNorm => Ok(Some(AffineInstanceNorm::new(&(&p / name), e)?)),
                }
            };
            let norm0 = norm("norm0")?;
            let mlp = if c.use_mlp {
                Some(Mlp::new(&(&p / "mlp"), e, mlp_hidden, c.activation, 1.0)?)
            } else {
                None
            };
            let norm1 = norm("norm1")?;
            blocks.push(Block { mixer, norm0, mlp, norm1 });
        }

        let decoder = match arch {
            SphereArchitecture::Lsno => {
                // th's `upsample_sht = True` path with the transforms' default truncation.
                let up_sht = RealSht::new(h, w, None, None, c.grid_internal.into(), device)?;
                let (l, m) = up_sht.modes();
                let up_isht =
                    InverseRealSht::new(img[0], img[1], Some(l), Some(m), c.grid.into(), device)?;
                let conv = DiscoS2::new(
                    &(path / "decoder"),
                    e,
                    c.out_channels,
                    img,
                    c.grid,
                    img,
                    c.grid,
                    &c.encoder_kernel(),
                    coarse_cutoff,
                )?;
                Decoder::ShtDisco { sht: up_sht, isht: up_isht, conv }
            }
            _ => {
                let c_in = e + if c.big_skip { c.in_channels } else { 0 };
                Decoder::Pointwise(Pointwise::new(
                    &(path / "decoder"),
                    c_in,
                    c.out_channels,
                    (1.0 / c_in as f64).sqrt(),
                    false,
                )?)
            }
        };

        let mut model =
            Self { config: c.clone(), encoder, blocks, decoder, n_params: 0, kind, device };
        model.n_params = model.count_params();
        Ok(model)
    }

    fn count_params(&self) -> i64 {
        let norm =
            |n: &Option<AffineInstanceNorm>| n.as_ref().map_or(0, |n| 2 * n.weight.numel() as i64);
        let mut n = match &self.encoder {
            Encoder::Pointwise(p) => p.n_params(),
            Encoder::Disco(d) => d.n_params(),
        };
        for b in &self.blocks {
            n += match &b.mixer {
                Mixer::Global(s) => s.weight().numel() as i64,
                Mixer::GlobalLocal(s, d) => s.weight().numel() as i64 + d.n_params(),
                Mixer::Local(d) => d.n_params(),
            };
            n += norm(&b.norm0) + norm(&b.norm1);
            n += b.mlp.as_ref().map_or(0, |m| m.fc1.n_params() + m.fc2.n_params());
        }
        n += match &self.decoder {
            Decoder::Pointwise(p) => p.n_params(),
            Decoder::ShtDisco { conv, .. } => conv.n_params(),
        };
        n
    }

    /// Number of trainable real parameters (complex spectral weights count twice).
    pub fn parameter_count(&self) -> i64 {
        self.n_params
    }

    /// The configuration the model was built from.
    pub fn config(&self) -> &SphereNoConfig {
        &self.config
    }

    /// `x [B, in_channels, nlat, nlon]` → `[B, out_channels, nlat, nlon]`.
    ///
    /// # Errors
    /// [`ModelError::Input`] naming `x` for a wrong rank, channel count, grid, dtype or device.
    pub fn f_forward(&self, x: &Tensor) -> Result<Tensor> {
        let c = &self.config;
        let size = x.size();
        let [nlat, nlon] = c.img_size;
        if size.len() != 4 || size[0] < 1 || size[1..] != [c.in_channels, nlat as i64, nlon as i64]
        {
            return Err(ModelError::input(
                "x",
                format!(
                    "shape [B ≥ 1, {}, {nlat}, {nlon}] (in_channels and img_size on the {:?} grid)",
                    c.in_channels, c.grid
                ),
                format!("{size:?}"),
            ));
        }
        crate::error::check_kind_and_device(x, self.kind, self.device)?;
        let mut y = match &self.encoder {
            Encoder::Pointwise(p) => p.forward(x)?,
            Encoder::Disco(d) => d.forward(x)?,
        };
        for b in &self.blocks {
            y = b.forward(&y)?;
        }
        match &self.decoder {
            Decoder::Pointwise(p) => {
                if c.big_skip {
                    y = Tensor::f_cat(&[&y, x], 1)?;
                }
                p.forward(&y)
            }
            Decoder::ShtDisco { sht, isht, conv } => {
                let up = isht.f_forward(&sht.f_forward(&y)?)?;
                let out = conv.forward(&up)?;
                Ok(if c.big_skip { out.f_add(x)? } else { out })
            }
        }
    }
}

impl nn::Module for SphereNo {
    /// # Panics
    /// On an input [`SphereNo::f_forward`] rejects; use that to get an error instead.
    fn forward(&self, x: &Tensor) -> Tensor {
        self.f_forward(x).unwrap_or_else(|e| panic!("SphereNo: {e}"))
    }
}
