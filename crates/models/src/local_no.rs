//! FNO and LocalNO on regular grids (neuraloperator 2.0.0's `LocalNO`, `LocalNOBlocks`, `FNO`).
//!
//! A LocalNO is an FNO whose blocks may add, in parallel to the spectral convolution, a
//! differential branch (finite-difference convolution divided by the physical grid width) and a
//! local-integral branch (DISCO convolution on the regular grid), switchable per layer. The
//! paper's variants "FNO", "FNO + diff.", "FNO + loc. int." and "FNO + loc. int. + diff." are
//! configurations of [`LocalNo`] (see [`Variant`]).
//!
//! Pipeline, as the reference: grid positional embedding (coordinates on `[0, 1)` appended
//! after the data channels) → lifting channel MLP → blocks → projection channel MLP. Block `i`:
//!
//! ```text
//! z = SpectralConv(x) [+ FD(x)] [+ DISCO(x)]      one fused convolution when both are present,
//!                                                 or the spectral pass (`local_in_spectral`)
//! z = norm(z)                                     optional
//! x = z + skip(x); x = GELU(x) unless i is the last block
//! ```
//!
//! Deliberate differences from the reference (all in `docs/models.md`): the FD branch divides
//! by the physical grid width `L/n` (the reference by the ratio `n_default/n`), the DISCO taps
//! are rebuilt for each input resolution with a physical cutoff, and both branches honour the
//! padding mode; so the same weights converge to one operator as the grid is refined.

use lno_kernels::Basis;
use lno_layers::{
    ChannelMlp, ChannelMlpConfig, DiscoConvGrid, DiscoGridConfig, FiniteDifferenceConfig,
    FiniteDifferenceConv, GridEmbedding, GroupNorm, InstanceNorm, LayerError, LocalBranch, Padding,
    Skip, SkipKind, SpectralConv, SpectralConvConfig, periodic_conv_in_spectrum_pays,
    periodic_conv_in_spectrum_valid, periodic_conv_spectrum,
};
use serde::{Deserialize, Serialize};
use tch::Tensor;
use tch::nn::{self, VarStore};

use crate::error::{ModelError, Result};

/// A model that maps channels-first fields `(B, in, n…)` to `(B, out, n…)`.
pub trait Operator: std::fmt::Debug + Send {
    /// Fallible forward pass; `train` enables training-only behaviour (dropout).
    fn f_forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor>;
}

/// The number of trainable scalars in `vs` (complex weights count twice: they are stored as
/// real `(…, 2)` tensors).
pub fn parameter_count(vs: &VarStore) -> i64 {
    vs.trainable_variables().iter().map(|t| t.numel() as i64).sum()
}

/// Boundary handling of the local branches (config spelling of [`lno_layers::Padding`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaddingMode {
    /// Wrap around (the reference's `"periodic"`). The default.
    #[default]
    Periodic,
    /// Zeros outside the grid.
    Zeros,
    /// Repeat the edge value.
    Replicate,
    /// Mirror without repeating the edge.
    Reflect,
}

impl From<PaddingMode> for Padding {
    fn from(p: PaddingMode) -> Self {
        match p {
            PaddingMode::Periodic => Padding::Periodic,
            PaddingMode::Zeros => Padding::Zeros,
            PaddingMode::Replicate => Padding::Replicate,
            PaddingMode::Reflect => Padding::Reflect,
        }
    }
}

/// Where a block with periodic padding computes its local branch (the FD and/or DISCO
/// convolution), see `docs/models.md`.
///
/// With periodic padding and stride 1 the local branch is a circular convolution, diagonal in
/// Fourier space, so it can be applied in the spectral convolution's pass as a weight on every
/// frequency (`lno_layers::periodic_conv_spectrum`); the result equals the direct convolution
/// to round-off. Blocks with another padding always use the direct convolution.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LocalInSpectral {
    /// In the spectral pass when valid and estimated faster with a bounded kernel spectrum
    /// (`lno_layers::periodic_conv_in_spectrum_pays`), else the direct convolution. The default.
    #[default]
    Auto,
    /// In the spectral pass whenever valid (periodic padding, odd stencil with half-widths ≤
    /// the grid, no resolution change), whatever the cost or memory.
    Always,
    /// Always the direct convolution (the oracle of the spectral path).
    Never,
}

/// Normalisation after the branch sum of each block (the reference's `norm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NormKind {
    /// Instance norm without affine parameters.
    InstanceNorm,
    /// Group norm with one group and per-channel affine parameters.
    GroupNorm,
}

/// The skip connection of each block (the reference's `local_no_skip`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipType {
    /// Pointwise linear map without bias. The default.
    #[default]
    Linear,
    /// `x` unchanged.
    Identity,
    /// Per-channel gate initialised to 1.
    SoftGating,
}

impl From<SkipType> for SkipKind {
    fn from(s: SkipType) -> Self {
        match s {
            SkipType::Linear => SkipKind::Linear,
            SkipType::Identity => SkipKind::Identity,
            SkipType::SoftGating => SkipKind::SoftGating,
        }
    }
}

/// Coordinates appended to the input as channels before lifting.
///
/// Config spelling: `"grid"` or `true` (neuralop's embedding: coordinates on `[0, 1)`, one
/// channel per dim), `"periodic"` (`sin 2πx`, `cos 2πx` per dim, two channels), `"none"` or
/// `false`. On a periodic domain prefer `"periodic"` whenever a layer has a differential
/// branch: the `[0, 1)` coordinate jumps at the wrap and the branch turns the jump into a
/// spike that grows like `1/h` (docs/models.md, "Zero-shot resolution").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", try_from = "EmbeddingSpelling")]
pub enum PositionalEmbedding {
    /// No coordinates.
    None,
    /// Linear coordinates on `[0, 1)` (the reference's default).
    #[default]
    Grid,
    /// `(sin 2πx, cos 2πx)` per dim: smooth across periodic boundaries.
    Periodic,
}

/// What a config may write for [`PositionalEmbedding`].
#[derive(Deserialize)]
#[serde(untagged)]
enum EmbeddingSpelling {
    Flag(bool),
    Name(String),
}

impl TryFrom<EmbeddingSpelling> for PositionalEmbedding {
    type Error = String;
    fn try_from(s: EmbeddingSpelling) -> std::result::Result<Self, String> {
        match s {
            EmbeddingSpelling::Flag(true) => Ok(Self::Grid),
            EmbeddingSpelling::Flag(false) => Ok(Self::None),
            EmbeddingSpelling::Name(n) => match n.as_str() {
                "grid" => Ok(Self::Grid),
                "periodic" => Ok(Self::Periodic),
                "none" => Ok(Self::None),
                other => Err(format!(
                    "positional_embedding: expected \"grid\", \"periodic\", \"none\", true or \
                     false, got \"{other}\""
                )),
            },
        }
    }
}

impl PositionalEmbedding {
    /// The embedding layer for `d` spatial dims, if any.
    fn layer(self, d: usize) -> std::result::Result<Option<GridEmbedding>, LayerError> {
        Ok(match self {
            Self::None => None,
            Self::Grid => Some(GridEmbedding::new(vec![[0.0, 1.0]; d])?),
            Self::Periodic => Some(GridEmbedding::periodic(d)?),
        })
    }
}

/// Which layers get a branch: all or none (`true` / `false`), or one flag per layer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LayerFlags {
    /// The same for every layer.
    All(bool),
    /// One flag per layer (length `n_layers`).
    PerLayer(Vec<bool>),
}

impl LayerFlags {
    /// The flags expanded to `n_layers` entries; `name` is the config key for errors.
    fn expand(&self, name: &str, n_layers: usize) -> Result<Vec<bool>> {
        match self {
            Self::All(b) => Ok(vec![*b; n_layers]),
            Self::PerLayer(v) if v.len() == n_layers => Ok(v.clone()),
            Self::PerLayer(v) => Err(ModelError::config(
                name,
                format!("a bool or a list of n_layers = {n_layers} bools"),
                format!("a list of {}", v.len()),
            )),
        }
    }
}

/// The paper's four model variants at a given width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// Spectral convolutions only.
    Fno,
    /// FNO + differential branch in every layer.
    FnoDiff,
    /// FNO + local-integral (DISCO) branch in every layer.
    FnoLocInt,
    /// FNO + both branches in every layer.
    FnoLocIntDiff,
}

impl Variant {
    /// All four, in the paper's order.
    pub const ALL: [Variant; 4] = [Self::Fno, Self::FnoDiff, Self::FnoLocInt, Self::FnoLocIntDiff];

    /// The paper's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Fno => "FNO",
            Self::FnoDiff => "FNO + diff.",
            Self::FnoLocInt => "FNO + loc. int.",
            Self::FnoLocIntDiff => "FNO + loc. int. + diff.",
        }
    }

    /// (differential, local integral).
    fn branches(self) -> (bool, bool) {
        match self {
            Self::Fno => (false, false),
            Self::FnoDiff => (true, false),
            Self::FnoLocInt => (false, true),
            Self::FnoLocIntDiff => (true, true),
        }
    }
}

fn default_n_layers() -> usize {
    4
}
fn default_true() -> bool {
    true
}
fn default_kernel_shape() -> [usize; 2] {
    [2, 4]
}
fn default_one() -> i64 {
    1
}
fn default_fd_kernel() -> i64 {
    3
}
fn default_ratio() -> f64 {
    2.0
}
fn default_expansion() -> f64 {
    0.5
}
fn default_mlp_skip() -> SkipType {
    SkipType::SoftGating
}

/// Configuration of a [`LocalNo`] (neuralop's `LocalNO` arguments; unknown keys are rejected).
///
/// Required: `n_modes`, `in_channels`, `out_channels`, `hidden_channels`; every other key has
/// the reference's default, except `radius_cutoff`, which must be given (in physical units of
/// `domain_length`) when any layer has a local-integral branch: the reference's default of one
/// cell is a degenerate, resolution-bound kernel (layers-spec §5.6).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalNoConfig {
    /// Fourier modes per spatial dim (1–3 dims); the last dim keeps `m/2 + 1` frequencies.
    pub n_modes: Vec<i64>,
    /// Input channels.
    pub in_channels: i64,
    /// Output channels.
    pub out_channels: i64,
    /// Width of the blocks.
    pub hidden_channels: i64,
    /// Number of blocks (default 4).
    #[serde(default = "default_n_layers")]
    pub n_layers: usize,
    /// Physical extent of the domain per spatial dim (default 2 per dim, the reference's
    /// `[-1, 1]ⁿ`); sets the FD grid width `L/n` and the DISCO geometry.
    #[serde(default)]
    pub domain_length: Option<Vec<f64>>,
    /// Differential branch per layer (default `true`).
    #[serde(default = "LocalNoConfig::flags_true")]
    pub diff_layers: LayerFlags,
    /// Local-integral (DISCO) branch per layer (default `true`; 2-D only).
    #[serde(default = "LocalNoConfig::flags_true")]
    pub disco_layers: LayerFlags,
    /// Piecewise-linear filter basis `[radial, angular]` of the DISCO branch (default `[2, 4]`).
    #[serde(default = "default_kernel_shape")]
    pub disco_kernel_shape: [usize; 2],
    /// Physical radius of the DISCO kernels (required with DISCO branches).
    #[serde(default)]
    pub radius_cutoff: Option<f64>,
    /// Channel groups of the DISCO branch (default 1).
    #[serde(default = "default_one")]
    pub disco_groups: i64,
    /// Learned bias of the DISCO branch (default true).
    #[serde(default = "default_true")]
    pub disco_bias: bool,
    /// Boundary handling of both local branches (default periodic).
    #[serde(default)]
    pub padding: PaddingMode,
    /// FD stencil width, odd (default 3).
    #[serde(default = "default_fd_kernel")]
    pub fin_diff_kernel_size: i64,
    /// The physical length `ℓ` each differential branch is multiplied by, so that it
    /// converges to `ℓ·∂` (see [`lno_layers::FiniteDifferenceConfig::length_scale`]). Default
    /// (absent): 1 in the domain's units, the plain derivative.
    #[serde(default)]
    pub diff_length_scale: Option<f64>,
    /// Every FD output mixes all input channels' derivatives (default true); false gives
    /// per-channel derivatives (`groups = hidden`).
    #[serde(default = "default_true")]
    pub mix_derivatives: bool,
    /// Lifting MLP hidden width = ratio · hidden (default 2; 0 gives a single linear layer).
    #[serde(default = "default_ratio")]
    pub lifting_channel_ratio: f64,
    /// Projection MLP hidden width = ratio · hidden (default 2; 0 gives a single linear layer).
    #[serde(default = "default_ratio")]
    pub projection_channel_ratio: f64,
    /// Coordinates appended as input channels (default `"grid"`, neuralop's; see
    /// [`PositionalEmbedding`]).
    #[serde(default)]
    pub positional_embedding: PositionalEmbedding,
    /// Normalisation after the branch sum (default none).
    #[serde(default)]
    pub norm: Option<NormKind>,
    /// Skip connection of each block (default linear).
    #[serde(default)]
    pub skip: SkipType,
    /// A channel MLP after each block's activation (default false for LocalNO; neuralop's FNO
    /// defaults to true).
    #[serde(default)]
    pub use_channel_mlp: bool,
    /// Hidden width of the channel MLP = round(expansion · hidden) (default 0.5).
    #[serde(default = "default_expansion")]
    pub channel_mlp_expansion: f64,
    /// Skip around the channel MLP (default soft-gating).
    #[serde(default = "default_mlp_skip")]
    pub channel_mlp_skip: SkipType,
    /// Apply FD + DISCO as one convolution where a layer has both (default true). Results are
    /// equal to round-off; false runs them as two convolutions (kept as the test oracle).
    #[serde(default = "default_true")]
    pub fuse_local_branches: bool,
    /// Where periodic blocks compute their local branch: `"auto"` (default), `"always"` in the
    /// spectral pass when valid, `"never"` (the direct convolution); see [`LocalInSpectral`].
    /// Blocks whose two local branches run unfused (`fuse_local_branches = false`) always use
    /// the direct convolutions.
    #[serde(default)]
    pub local_in_spectral: LocalInSpectral,
}

impl LocalNoConfig {
    fn flags_true() -> LayerFlags {
        LayerFlags::All(true)
    }

    /// The required values with every optional one at its default (note: DISCO branches are on
    /// by default and then need [`LocalNoConfig::radius_cutoff`]).
    pub fn new(n_modes: &[i64], in_channels: i64, out_channels: i64, hidden_channels: i64) -> Self {
        Self {
            n_modes: n_modes.to_vec(),
            in_channels,
            out_channels,
            hidden_channels,
            n_layers: default_n_layers(),
            domain_length: None,
            diff_layers: Self::flags_true(),
            disco_layers: Self::flags_true(),
            disco_kernel_shape: default_kernel_shape(),
            radius_cutoff: None,
            disco_groups: 1,
            disco_bias: true,
            padding: PaddingMode::Periodic,
            fin_diff_kernel_size: default_fd_kernel(),
            diff_length_scale: None,
            mix_derivatives: true,
            lifting_channel_ratio: default_ratio(),
            projection_channel_ratio: default_ratio(),
            positional_embedding: PositionalEmbedding::Grid,
            norm: None,
            skip: SkipType::Linear,
            use_channel_mlp: false,
            channel_mlp_expansion: default_expansion(),
            channel_mlp_skip: default_mlp_skip(),
            fuse_local_branches: true,
            local_in_spectral: LocalInSpectral::Auto,
        }
    }

    /// One of the paper's variants: the branches of `variant` in every layer, the rest default.
    pub fn variant(
        variant: Variant,
        n_modes: &[i64],
        in_channels: i64,
        out_channels: i64,
        hidden_channels: i64,
        radius_cutoff: f64,
    ) -> Self {
        let (diff, disco) = variant.branches();
        Self {
            diff_layers: LayerFlags::All(diff),
            disco_layers: LayerFlags::All(disco),
            radius_cutoff: disco.then_some(radius_cutoff),
            ..Self::new(n_modes, in_channels, out_channels, hidden_channels)
        }
    }

    /// Parses a TOML document (unknown keys are an error naming the key).
    pub fn from_toml(text: &str) -> Result<Self> {
        toml::from_str(text)
            .map_err(|e| ModelError::config("LocalNoConfig", "a valid TOML config", e.message()))
    }

    /// Parses a JSON document (unknown keys are an error naming the key).
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text)
            .map_err(|e| ModelError::config("LocalNoConfig", "a valid JSON config", e))
    }

    /// Hidden width of the block channel MLPs.
    fn mlp_hidden(&self) -> i64 {
        let w = self.channel_mlp_expansion * self.hidden_channels as f64;
        if w.is_finite() { w.round() as i64 } else { 0 }
    }

    /// Spatial dims (`n_modes.len()`).
    pub fn n_dim(&self) -> usize {
        self.n_modes.len()
    }

    /// The domain lengths, defaulted to 2 per dim.
    pub fn domain_lengths(&self) -> Vec<f64> {
        self.domain_length.clone().unwrap_or_else(|| vec![2.0; self.n_dim()])
    }

    /// Checks every value and combination; returns the per-layer (diff, disco) flags.
    pub fn validate(&self) -> Result<Vec<(bool, bool)>> {
        let d = self.n_dim();
        if !(1..=3).contains(&d) {
            return Err(ModelError::config("n_modes", "1 to 3 entries (spatial dims)", d));
        }
        if let Some(m) = self.n_modes.iter().find(|&&m| m < 1) {
            return Err(ModelError::config("n_modes", "entries ≥ 1", m));
        }
        for (name, v) in [
            ("in_channels", self.in_channels),
            ("out_channels", self.out_channels),
            ("hidden_channels", self.hidden_channels),
        ] {
            if v < 1 {
                return Err(ModelError::config(name, "at least 1", v));
            }
        }
        if self.n_layers == 0 {
            return Err(ModelError::config("n_layers", "at least 1", 0));
        }
        let lengths = self.domain_lengths();
        if lengths.len() != d {
            return Err(ModelError::config(
                "domain_length",
                format!("{d} lengths (one per entry of n_modes)"),
                format!("{lengths:?}"),
            ));
        }
        if let Some(l) = lengths.iter().find(|l| !(l.is_finite() && **l > 0.0)) {
            return Err(ModelError::config("domain_length", "finite lengths > 0", l));
        }
        for (name, r) in [
            ("lifting_channel_ratio", self.lifting_channel_ratio),
            ("projection_channel_ratio", self.projection_channel_ratio),
        ] {
            if !(r.is_finite() && r >= 0.0) || (r > 0.0 && (r * self.hidden_channels as f64) < 1.0)
            {
                return Err(ModelError::config(
                    name,
                    "0 (one linear layer) or a ratio with ratio · hidden_channels ≥ 1",
                    r,
                ));
            }
        }
        if self.use_channel_mlp && self.mlp_hidden() < 1 {
            return Err(ModelError::config(
                "channel_mlp_expansion",
                "a ratio with round(ratio · hidden_channels) ≥ 1",
                self.channel_mlp_expansion,
            ));
        }
        let diff = self.diff_layers.expand("diff_layers", self.n_layers)?;
        let disco = self.disco_layers.expand("disco_layers", self.n_layers)?;
        let any_disco = disco.iter().any(|&b| b);
        if any_disco && d != 2 {
            return Err(ModelError::config(
                "disco_layers",
                "no local-integral branch unless the data are 2-D (DISCO is implemented on 2-D grids)",
                format!("a DISCO branch on {d}-D data (n_modes {:?})", self.n_modes),
            ));
        }
        if any_disco {
            match self.radius_cutoff {
                Some(r) if r.is_finite() && r > 0.0 => {}
                Some(r) => {
                    return Err(ModelError::config("radius_cutoff", "a physical radius > 0", r));
                }
                None => {
                    return Err(ModelError::config(
                        "radius_cutoff",
                        "a physical radius > 0 (required when a layer has a local-integral branch)",
                        "none",
                    ));
                }
            }
            if self.hidden_channels % self.disco_groups != 0 || self.disco_groups < 1 {
                return Err(ModelError::config(
                    "disco_groups",
                    format!("a divisor of hidden_channels ({})", self.hidden_channels),
                    self.disco_groups,
                ));
            }
            if self.disco_kernel_shape.contains(&0) {
                return Err(ModelError::config(
                    "disco_kernel_shape",
                    "[radial, angular] sizes ≥ 1",
                    format!("{:?}", self.disco_kernel_shape),
                ));
            }
        }
        if let Some(l) = self.diff_length_scale.filter(|l| !(l.is_finite() && *l > 0.0)) {
            return Err(ModelError::config("diff_length_scale", "a physical length > 0", l));
        }
        if diff.iter().any(|&b| b)
            && (self.fin_diff_kernel_size < 1 || self.fin_diff_kernel_size % 2 == 0)
        {
            return Err(ModelError::config(
                "fin_diff_kernel_size",
                "an odd number ≥ 1",
                self.fin_diff_kernel_size,
            ));
        }
        Ok(diff.into_iter().zip(disco).collect())
    }
}

/// Configuration of a plain [`LocalNo`] without local branches, i.e. neuralop's `FNO` (unknown
/// keys rejected; the local-branch keys of [`LocalNoConfig`] are unknown here).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FnoConfig {
    /// Fourier modes per spatial dim (1–3 dims).
    pub n_modes: Vec<i64>,
    /// Input channels.
    pub in_channels: i64,
    /// Output channels.
    pub out_channels: i64,
    /// Width of the blocks.
    pub hidden_channels: i64,
    /// Number of blocks (default 4).
    #[serde(default = "default_n_layers")]
    pub n_layers: usize,
    /// Lifting MLP ratio (default 2).
    #[serde(default = "default_ratio")]
    pub lifting_channel_ratio: f64,
    /// Projection MLP ratio (default 2).
    #[serde(default = "default_ratio")]
    pub projection_channel_ratio: f64,
    /// Coordinates appended as input channels (default `"grid"`; see [`PositionalEmbedding`]).
    #[serde(default)]
    pub positional_embedding: PositionalEmbedding,
    /// Normalisation (default none).
    #[serde(default)]
    pub norm: Option<NormKind>,
    /// Skip connection (default linear).
    #[serde(default)]
    pub skip: SkipType,
    /// A channel MLP in each block (default true, as neuralop's FNO).
    #[serde(default = "default_true")]
    pub use_channel_mlp: bool,
    /// Hidden width of the channel MLP = round(expansion · hidden) (default 0.5).
    #[serde(default = "default_expansion")]
    pub channel_mlp_expansion: f64,
    /// Skip around the channel MLP (default soft-gating).
    #[serde(default = "default_mlp_skip")]
    pub channel_mlp_skip: SkipType,
}

impl FnoConfig {
    /// The required values with the reference's defaults.
    pub fn new(n_modes: &[i64], in_channels: i64, out_channels: i64, hidden_channels: i64) -> Self {
        Self {
            n_modes: n_modes.to_vec(),
            in_channels,
            out_channels,
            hidden_channels,
            n_layers: default_n_layers(),
            lifting_channel_ratio: default_ratio(),
            projection_channel_ratio: default_ratio(),
            positional_embedding: PositionalEmbedding::Grid,
            norm: None,
            skip: SkipType::Linear,
            use_channel_mlp: true,
            channel_mlp_expansion: default_expansion(),
            channel_mlp_skip: default_mlp_skip(),
        }
    }

    /// Parses a TOML document.
    pub fn from_toml(text: &str) -> Result<Self> {
        toml::from_str(text)
            .map_err(|e| ModelError::config("FnoConfig", "a valid TOML config", e.message()))
    }

    /// The equivalent LocalNO configuration (no local branches in any layer).
    pub fn to_local_no(&self) -> LocalNoConfig {
        LocalNoConfig {
            n_layers: self.n_layers,
            diff_layers: LayerFlags::All(false),
            disco_layers: LayerFlags::All(false),
            lifting_channel_ratio: self.lifting_channel_ratio,
            projection_channel_ratio: self.projection_channel_ratio,
            positional_embedding: self.positional_embedding,
            norm: self.norm,
            skip: self.skip,
            use_channel_mlp: self.use_channel_mlp,
            channel_mlp_expansion: self.channel_mlp_expansion,
            channel_mlp_skip: self.channel_mlp_skip,
            ..LocalNoConfig::new(
                &self.n_modes,
                self.in_channels,
                self.out_channels,
                self.hidden_channels,
            )
        }
    }
}

/// The local part of a block.
#[derive(Debug)]
enum Local {
    None,
    Diff(FiniteDifferenceConv),
    Disco(DiscoConvGrid),
    /// FD and DISCO as two convolutions (the oracle of the fused form).
    Separate(FiniteDifferenceConv, DiscoConvGrid),
    /// FD and DISCO fused into one convolution.
    Fused(LocalBranch),
}

#[derive(Debug)]
enum Norm {
    Instance(InstanceNorm),
    Group(GroupNorm),
}

/// Settings of one [`LocalNoBlock`], derived from a [`LocalNoConfig`] for layer `i`.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockConfig {
    /// Differential branch.
    pub diff: bool,
    /// Local-integral branch.
    pub disco: bool,
    /// GELU at the end of the block (all blocks but the last).
    pub activation: bool,
    /// GELU between the branch sum and the channel MLP (only with `use_channel_mlp`): always
    /// in neuralop's LocalNO, all blocks but the last in its FNO.
    pub mid_activation: bool,
}

impl BlockConfig {
    /// Block `index` of `n_layers` with the given branches, with LocalNO's activations.
    pub fn local_no(index: usize, n_layers: usize, diff: bool, disco: bool) -> Self {
        Self { diff, disco, activation: index + 1 < n_layers, mid_activation: true }
    }
}

/// The optional channel MLP of a block and its skip.
#[derive(Debug)]
struct BlockMlp {
    mlp: ChannelMlp,
    skip: Skip,
    norm: Option<Norm>,
}

/// One LocalNO block, width preserved:
///
/// ```text
/// y = norm(spectral(x) + local(x)) + skip(x)
/// without channel MLP: y = act(y)
/// with:                y = act(norm'(mlp(act'(y)) + mlp_skip(x)))
/// ```
///
/// (`act` all blocks but the last, `act'` see [`BlockConfig::mid_activation`].)
///
/// # Shapes
/// `(B, hidden, n…)` → `(B, hidden, n…)` at any resolution.
#[derive(Debug)]
pub struct LocalNoBlock {
    spectral: SpectralConv,
    skip: Skip,
    local: Local,
    norm: Option<Norm>,
    mlp: Option<BlockMlp>,
    activation: bool,
    mid_activation: bool,
    local_in_spectral: LocalInSpectral,
}

/// The block normalisation of `kind` under `path`.
fn make_norm(path: &nn::Path, kind: Option<NormKind>, channels: i64) -> Result<Option<Norm>> {
    Ok(match kind {
        None => None,
        Some(NormKind::InstanceNorm) => Some(Norm::Instance(InstanceNorm::default())),
        Some(NormKind::GroupNorm) => Some(Norm::Group(GroupNorm::new(path, 1, channels, 1e-5)?)),
    })
}

impl Norm {
    fn f_forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Self::Instance(n) => n.f_forward(x)?,
            Self::Group(n) => n.f_forward(x)?,
        })
    }
}

impl LocalNoBlock {
    /// Creates block parameters under `path` (`spectral`, `skip`, `differential`, `disco`,
    /// `norm`) with the shared settings of `model` and the per-layer `block` settings.
    pub fn new(path: &nn::Path, model: &LocalNoConfig, block: &BlockConfig) -> Result<Self> {
        model.validate()?;
        let h = model.hidden_channels;
        let lengths = model.domain_lengths();
        if block.disco && model.n_dim() != 2 {
            return Err(ModelError::config(
                "disco_layers",
                "no local-integral branch unless the data are 2-D",
                format!("{}-D data", model.n_dim()),
            ));
        }
        let spectral = SpectralConv::new(
            &(path / "spectral"),
            h,
            h,
            &model.n_modes,
            SpectralConvConfig::default(),
        )?;
        let skip = Skip::new(&(path / "skip"), h, h, model.skip.into())?;
        let padding: Padding = model.padding.into();
        let fd = if block.diff {
            let cfg = FiniteDifferenceConfig {
                kernel_size: model.fin_diff_kernel_size,
                groups: if model.mix_derivatives { 1 } else { h },
                padding,
                length_scale: model.diff_length_scale.unwrap_or(1.0),
            };
            Some(FiniteDifferenceConv::new(&(path / "differential"), h, h, &lengths, cfg)?)
        } else {
            None
        };
        let disco = if block.disco {
            let [k0, k1] = model.disco_kernel_shape;
            let basis = Basis::piecewise_linear(k0, k1).map_err(LayerError::from)?;
            let cutoff = model.radius_cutoff.ok_or_else(|| {
                ModelError::config("radius_cutoff", "a physical radius > 0", "none")
            })?;
            let cfg = DiscoGridConfig {
                groups: model.disco_groups,
                bias: model.disco_bias,
                padding,
                stride: [1, 1],
            };
            Some(DiscoConvGrid::new(
                &(path / "disco"),
                h,
                h,
                basis,
                cutoff,
                [lengths[0], lengths[1]],
                cfg,
            )?)
        } else {
            None
        };
        let local = match (fd, disco) {
            (None, None) => Local::None,
            (Some(f), None) => Local::Diff(f),
            (None, Some(g)) => Local::Disco(g),
            (Some(f), Some(g)) if model.fuse_local_branches => {
                Local::Fused(LocalBranch::new(f, g)?)
            }
            (Some(f), Some(g)) => Local::Separate(f, g),
        };
        let norm = make_norm(&(path / "norm"), model.norm, h)?;
        let mlp = if model.use_channel_mlp {
            let cfg = ChannelMlpConfig {
                hidden_channels: Some(model.mlp_hidden()),
                n_layers: 2,
                dropout: 0.0,
            };
            Some(BlockMlp {
                mlp: ChannelMlp::new(&(path / "channel_mlp"), h, h, cfg)?,
                skip: Skip::new(&(path / "channel_mlp_skip"), h, h, model.channel_mlp_skip.into())?,
                norm: make_norm(&(path / "channel_mlp_norm"), model.norm, h)?,
            })
        } else {
            None
        };
        Ok(Self {
            spectral,
            skip,
            local,
            norm,
            mlp,
            activation: block.activation,
            mid_activation: block.mid_activation,
            local_in_spectral: model.local_in_spectral,
        })
    }

    /// Whether the block has a differential branch.
    pub fn has_diff(&self) -> bool {
        matches!(self.local, Local::Diff(_) | Local::Separate(..) | Local::Fused(_))
    }

    /// Whether the block has a local-integral branch.
    pub fn has_disco(&self) -> bool {
        matches!(self.local, Local::Disco(_) | Local::Separate(..) | Local::Fused(_))
    }

    /// Whether a forward pass on `input_shape` `(B, hidden, n0, n1)` computes the local branch
    /// in the spectral pass (see [`LocalInSpectral`]).
    pub fn local_in_spectral(&self, input_shape: &[i64]) -> Result<bool> {
        let [batch, channels, n0, n1] = *input_shape else {
            return Ok(false);
        };
        let grid = [n0, n1];
        if self.local_in_spectral == LocalInSpectral::Never
            || self.spectral.output_shape(&grid) != grid
        {
            return Ok(false);
        }
        // (padding, channel groups of the direct conv, stencil sizes) of the local branch.
        let (padding, groups, stencil) = match &self.local {
            Local::None | Local::Separate(..) => return Ok(false),
            Local::Diff(f) => {
                let k = f.config().kernel_size;
                (f.config().padding, f.config().groups, [k, k])
            }
            Local::Disco(g) => (g.config().padding, g.config().groups, disco_stencil(g, grid)?),
            Local::Fused(b) => {
                let (fd, g) = (b.fd().config(), b.disco().config());
                let [p0, p1] = disco_stencil(b.disco(), grid)?;
                let k = fd.kernel_size;
                let groups = if fd.groups == g.groups { g.groups } else { 1 };
                (g.padding, groups, [p0.max(k), p1.max(k)])
            }
        };
        if padding != Padding::Periodic {
            return Ok(false);
        }
        Ok(match self.local_in_spectral {
            LocalInSpectral::Always => periodic_conv_in_spectrum_valid(stencil, grid),
            _ => periodic_conv_in_spectrum_pays(batch, channels, channels, groups, stencil, grid),
        })
    }

    /// `spectral(x) + local(x)` in one Fourier pass: the local kernel's DFT added to the
    /// spectral weights on every frequency, plus the DISCO bias (only called when
    /// [`LocalNoBlock::local_in_spectral`] holds).
    fn spectral_with_local(&self, x: &Tensor) -> Result<Tensor> {
        let size = x.size();
        let grid = [size[2], size[3]];
        let (kernel, groups, bias) = match &self.local {
            Local::Diff(f) => (f.effective_kernel(&grid)?, f.config().groups, None),
            Local::Disco(g) => (g.kernel(grid)?, g.config().groups, g.bias()),
            Local::Fused(b) => {
                let (k, groups) = b.fused_kernel(grid)?;
                (k, groups, b.disco().bias())
            }
            Local::None | Local::Separate(..) => {
                return Err(ModelError::config(
                    "local_in_spectral",
                    "a single (or fused) local branch",
                    "none or two separate ones",
                ));
            }
        };
        let spectrum = periodic_conv_spectrum(&kernel, groups, grid)?;
        let z = self.spectral.f_forward_plus_spectrum(x, &spectrum)?;
        Ok(match bias {
            Some(b) => z.f_add(&b.f_view([1, -1, 1, 1])?)?,
            None => z,
        })
    }

    /// Fallible forward pass.
    pub fn f_forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut z = if self.local_in_spectral(&x.size())? {
            self.spectral_with_local(x)?
        } else {
            let z = self.spectral.f_forward(x)?;
            match &self.local {
                Local::None => z,
                Local::Diff(f) => z.f_add(&f.f_forward(x)?)?,
                Local::Disco(g) => z.f_add(&g.f_forward(x)?)?,
                Local::Separate(f, g) => z.f_add(&f.f_forward(x)?)?.f_add(&g.f_forward(x)?)?,
                Local::Fused(b) => z.f_add(&b.f_forward(x)?)?,
            }
        };
        if let Some(n) = &self.norm {
            z = n.f_forward(&z)?;
        }
        let mut y = z.f_add(&self.skip.f_forward(x)?)?;
        if let Some(m) = &self.mlp {
            if self.mid_activation {
                y = y.f_gelu("none")?;
            }
            y = m.mlp.f_forward_t(&y, false)?.f_add(&m.skip.f_forward(x)?)?;
            if let Some(n) = &m.norm {
                y = n.f_forward(&y)?;
            }
        }
        Ok(if self.activation { y.f_gelu("none")? } else { y })
    }
}

/// The DISCO stencil `[P0, P1]` of `g` on `grid` (its taps are cached per grid).
fn disco_stencil(g: &DiscoConvGrid, grid: [i64; 2]) -> Result<[i64; 2]> {
    let t = g.taps(grid)?.size();
    Ok([t[1], t[2]])
}

/// FNO / LocalNO on regular grids (see the module docs).
///
/// # Shapes
/// * input `(B, in_channels, n_1, …, n_d)`, `d = n_modes.len()`, any resolution (the DISCO
///   branch needs at least as many points per dim as its stencil half-width for periodic
///   padding);
/// * output `(B, out_channels, n_1, …, n_d)`.
///
/// Parameters under the construction path: `lifting.fcs.{0,1}`, `blocks.{i}.{spectral, skip,
/// differential, disco, norm}`, `projection.fcs.{0,1}`.
#[derive(Debug)]
pub struct LocalNo {
    config: LocalNoConfig,
    embedding: Option<GridEmbedding>,
    lifting: ChannelMlp,
    blocks: Vec<LocalNoBlock>,
    projection: ChannelMlp,
    kind: tch::Kind,
}

impl LocalNo {
    /// Builds the model under `path` after validating `config` (see [`LocalNoConfig::validate`]).
    pub fn new(path: &nn::Path, config: &LocalNoConfig) -> Result<Self> {
        Self::build(path, config, true)
    }

    /// Builds neuralop's FNO: a LocalNO without local branches, and with FNO's activation
    /// placement around the channel MLP (none before it in the last block).
    pub fn fno(path: &nn::Path, config: &FnoConfig) -> Result<Self> {
        Self::build(path, &config.to_local_no(), false)
    }

    fn build(path: &nn::Path, config: &LocalNoConfig, last_mid_activation: bool) -> Result<Self> {
        let flags = config.validate()?;
        let d = config.n_dim();
        let h = config.hidden_channels;
        let embedding = config.positional_embedding.layer(d)?;
        let lifted_in = config.in_channels + embedding.as_ref().map_or(0, GridEmbedding::channels);
        // Blocks before lifting and projection, as the reference (within a block the order differs).
        let mut blocks = Vec::with_capacity(config.n_layers);
        for (i, &(diff, disco)) in flags.iter().enumerate() {
            let block = BlockConfig {
                mid_activation: last_mid_activation || i + 1 < config.n_layers,
                ..BlockConfig::local_no(i, config.n_layers, diff, disco)
            };
            blocks.push(LocalNoBlock::new(&(path / "blocks" / i), config, &block)?);
        }
        let mlp = |ratio: f64| {
            if ratio == 0.0 {
                ChannelMlpConfig { hidden_channels: None, n_layers: 1, dropout: 0.0 }
            } else {
                ChannelMlpConfig {
                    hidden_channels: Some((ratio * h as f64) as i64),
                    n_layers: 2,
                    dropout: 0.0,
                }
            }
        };
        let lifting =
            ChannelMlp::new(&(path / "lifting"), lifted_in, h, mlp(config.lifting_channel_ratio))?;
        let projection = ChannelMlp::new(
            &(path / "projection"),
            h,
            config.out_channels,
            mlp(config.projection_channel_ratio),
        )?;
        Ok(Self {
            config: config.clone(),
            embedding,
            lifting,
            blocks,
            projection,
            kind: path.kind(),
        })
    }

    /// The validated configuration.
    pub fn config(&self) -> &LocalNoConfig {
        &self.config
    }

    /// The blocks.
    pub fn blocks(&self) -> &[LocalNoBlock] {
        &self.blocks
    }

    /// Fallible forward pass; errors name the input and give expected vs actual shape.
    pub fn f_forward(&self, x: &Tensor) -> Result<Tensor> {
        self.f_forward_t(x, false)
    }
}

impl Operator for LocalNo {
    fn f_forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let size = x.size();
        let d = self.config.n_dim();
        if size.len() != d + 2 || size[1] != self.config.in_channels {
            return Err(ModelError::input(
                "x",
                format!("(batch, {} channels, {d} spatial dims)", self.config.in_channels),
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
        let mut y = match &self.embedding {
            Some(e) => e.f_forward(x)?,
            None => x.shallow_clone(),
        };
        y = self.lifting.f_forward_t(&y, train)?;
        for block in &self.blocks {
            y = block.f_forward(&y)?;
        }
        Ok(self.projection.f_forward_t(&y, train)?)
    }
}
