//! A neural operator on irregular 2-D point clouds (the cylinder-flow experiment):
//! encode – process – decode through a latent regular grid.
//!
//! * **Encode**: pointwise lifting of the input (plus normalised coordinates), then a DISCO
//!   convolution from the cloud to the latent grid's cell centres (Ψ from `lno-kernels` with
//!   the cloud's quadrature weights from `lno-quadrature`). Latent points with no cloud point
//!   within the cutoff (inside obstacles, in the padding margin) are left at zero.
//! * **Process**: LocalNO-style blocks on the latent grid, `x ← σ(SpectralConv(x) + local(x) +
//!   W x)` with `local` = finite differences + grid DISCO (one fused [`LocalBranch`]), or
//!   FNO blocks without the local branch.
//! * **Decode**: a DISCO convolution from the latent grid back to the cloud, plus a pointwise
//!   skip from the lifted cloud features (the latent grid cannot carry detail finer than its
//!   cells), then a pointwise projection.
//!
//! Why this design rather than a purely local stack is in `docs/models-sphere-cloud.md`.

use lno_kernels::{Basis, DiscoPlanarSpec, KernelError};
use lno_layers::{
    ChannelMlp, ChannelMlpConfig, DiscoCloudConfig, DiscoConvCloud, DiscoConvGrid, DiscoGridConfig,
    FiniteDifferenceConfig, FiniteDifferenceConv, LayerError, LocalBranch, Skip, SkipKind,
    SpectralConv, SpectralConvConfig,
};
use lno_quadrature::irregular::{Domain, WeightMethod};
use serde::{Deserialize, Serialize};
use tch::nn;
use tch::{Device, Kind, Tensor};

use crate::error::{ModelError, Result};

/// The latent processor of a [`CloudNo`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CloudProcessor {
    /// Spectral convolution + differential + DISCO branches (LocalNO blocks). The default.
    #[default]
    LocalNo,
    /// Spectral convolution only (FNO blocks).
    Fno,
}

fn default_hidden() -> i64 {
    32
}
fn default_layers() -> usize {
    4
}
fn default_latent() -> [usize; 2] {
    [32, 16]
}
fn default_modes() -> [i64; 2] {
    [12, 8]
}
fn default_padding() -> f64 {
    0.125
}
fn default_kernel() -> [usize; 2] {
    [3, 4]
}
fn default_ratio() -> f64 {
    2.0
}
fn default_true() -> bool {
    true
}

/// Configuration of [`CloudNo`]. Required: `in_channels`, `out_channels`; unknown keys are
/// rejected. Lengths are in the units of the point coordinates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudNoConfig {
    /// Input channels per point.
    pub in_channels: i64,
    /// Output channels per point.
    pub out_channels: i64,
    /// Hidden channels (default 32).
    #[serde(default = "default_hidden")]
    pub hidden_channels: i64,
    /// Latent blocks (default 4).
    #[serde(default = "default_layers")]
    pub n_layers: usize,
    /// Latent grid `[n_0, n_1]` along coordinates 0 and 1 (default `[32, 16]`).
    #[serde(default = "default_latent")]
    pub latent_shape: [usize; 2],
    /// Spectral modes of the latent blocks (neuralop's counting; default `[12, 8]`).
    #[serde(default = "default_modes")]
    pub n_modes: [i64; 2],
    /// Margin added on each side of the cloud's bounding box, as a fraction of its extent, so
    /// that the spectral convolution's periodic wrap does not couple opposite boundaries
    /// (default 0.125).
    #[serde(default = "default_padding")]
    pub latent_padding: f64,
    /// Latent processor (default `local-no`).
    #[serde(default)]
    pub processor: CloudProcessor,
    /// Piecewise-linear DISCO kernel shape `[n_r, n_φ]` of the encoder and decoder (default `[3, 4]`).
    #[serde(default = "default_kernel")]
    pub kernel_shape: [usize; 2],
    /// Encoder DISCO radius; default twice the larger latent cell width.
    #[serde(default)]
    pub encoder_cutoff: Option<f64>,
    /// Decoder DISCO radius; default twice the larger latent cell width.
    #[serde(default)]
    pub decoder_cutoff: Option<f64>,
    /// Latent grid DISCO kernel shape (local-no only; default `[3, 4]`).
    #[serde(default)]
    pub local_kernel_shape: Option<[usize; 2]>,
    /// Latent grid DISCO radius in latent cells (local-no only; default 3, since LocalNO's
    /// one-cell default is degenerate, layers-spec §13.4).
    #[serde(default)]
    pub local_cutoff_cells: Option<f64>,
    /// Length scale ℓ of the latent differential branch (local-no only): the layer computes
    /// `(ℓ/h)·conv` and converges to `ℓ·∂`. Default: the larger latent cell width, so the taps
    /// start at their usual size; ℓ = 1 on a latent cell of ~0.03 amplified them ~30× and the
    /// first epochs diverged (train loss 209 on the cylinder data, measured). A constant of the
    /// model: the latent grid does not change with the input cloud.
    #[serde(default)]
    pub diff_length_scale: Option<f64>,
    /// Lifting MLP hidden width = `ratio · hidden_channels` (default 2).
    #[serde(default = "default_ratio")]
    pub lifting_ratio: f64,
    /// Projection MLP hidden width = `ratio · hidden_channels` (default 2).
    #[serde(default = "default_ratio")]
    pub projection_ratio: f64,
    /// Append the coordinates, normalised to `[0, 1]` over the bounding box (default true).
    #[serde(default = "default_true")]
    pub positional_embedding: bool,
}

impl CloudNoConfig {
    /// A config with the required values and every default.
    pub fn new(in_channels: i64, out_channels: i64) -> Self {
        Self {
            in_channels,
            out_channels,
            hidden_channels: default_hidden(),
            n_layers: default_layers(),
            latent_shape: default_latent(),
            n_modes: default_modes(),
            latent_padding: default_padding(),
            processor: CloudProcessor::default(),
            kernel_shape: default_kernel(),
            encoder_cutoff: None,
            decoder_cutoff: None,
            local_kernel_shape: None,
            local_cutoff_cells: None,
            diff_length_scale: None,
            lifting_ratio: default_ratio(),
            projection_ratio: default_ratio(),
            positional_embedding: true,
        }
    }

    /// Parses a TOML table; unknown or missing keys are errors naming them.
    ///
    /// # Errors
    /// [`ModelError::Config`] with serde's message.
    pub fn from_toml(text: &str) -> Result<Self> {
        toml::from_str(text)
            .map_err(|e| ModelError::config("config", "a valid CloudNoConfig (TOML)", e))
    }

    /// Parses JSON; see [`CloudNoConfig::from_toml`].
    ///
    /// # Errors
    /// [`ModelError::Config`] with serde's message.
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text)
            .map_err(|e| ModelError::config("config", "a valid CloudNoConfig (JSON)", e))
    }

    /// Checks values and combinations that do not depend on the point cloud.
    ///
    /// # Errors
    /// [`ModelError::Config`] naming the key.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("in_channels", self.in_channels),
            ("out_channels", self.out_channels),
            ("hidden_channels", self.hidden_channels),
        ] {
            if v < 1 {
                return Err(ModelError::config(name, "at least 1", v));
            }
        }
        if self.n_layers < 1 {
            return Err(ModelError::config("n_layers", "at least 1", self.n_layers));
        }
        if self.latent_shape.iter().any(|&n| n < 2) {
            return Err(ModelError::config(
                "latent_shape",
                "[n_0 ≥ 2, n_1 ≥ 2]",
                format!("{:?}", self.latent_shape),
            ));
        }
        for d in 0..2 {
            let m = self.n_modes[d];
            // neuralop keeps m frequencies on non-last dims and m/2 + 1 on the last one.
            let max =
                if d == 0 { self.latent_shape[0] as i64 } else { self.latent_shape[1] as i64 };
            if m < 1 || m > max {
                return Err(ModelError::config(
                    "n_modes",
                    format!("entries in 1 ..= latent_shape ({:?})", self.latent_shape),
                    format!("{:?}", self.n_modes),
                ));
            }
        }
        let p = self.latent_padding;
        if !(p.is_finite() && (0.0..1.0).contains(&p)) {
            return Err(ModelError::config("latent_padding", "a fraction in [0, 1)", p));
        }
        for (name, r) in
            [("lifting_ratio", self.lifting_ratio), ("projection_ratio", self.projection_ratio)]
        {
            if !(r.is_finite() && (r * self.hidden_channels as f64) as i64 >= 1) {
                return Err(ModelError::config(
                    name,
                    "a finite ratio with int(ratio · hidden_channels) ≥ 1",
                    r,
                ));
            }
        }
        for (name, c) in
            [("encoder_cutoff", self.encoder_cutoff), ("decoder_cutoff", self.decoder_cutoff)]
        {
            if let Some(c) = c
                && !(c.is_finite() && c > 0.0)
            {
                return Err(ModelError::config(name, "a finite radius > 0", c));
            }
        }
        if self.kernel_shape.contains(&0) {
            return Err(ModelError::config(
                "kernel_shape",
                "[n_r ≥ 1, n_phi ≥ 1]",
                format!("{:?}", self.kernel_shape),
            ));
        }
        match self.processor {
            CloudProcessor::Fno => {
                for (name, set) in [
                    ("local_kernel_shape", self.local_kernel_shape.is_some()),
                    ("local_cutoff_cells", self.local_cutoff_cells.is_some()),
                    ("diff_length_scale", self.diff_length_scale.is_some()),
                ] {
                    if set {
                        return Err(ModelError::config(
                            name,
                            "unset with processor \"fno\" (it has no local branch; use \"local-no\")",
                            "a value",
                        ));
                    }
                }
            }
            CloudProcessor::LocalNo => {
                if let Some(k) = self.local_kernel_shape
                    && k.contains(&0)
                {
                    return Err(ModelError::config(
                        "local_kernel_shape",
                        "[n_r ≥ 1, n_phi ≥ 1]",
                        format!("{k:?}"),
                    ));
                }
                if let Some(c) = self.local_cutoff_cells
                    && !(c.is_finite() && c >= 1.0)
                {
                    return Err(ModelError::config(
                        "local_cutoff_cells",
                        "at least 1 latent cell (a smaller radius sees only the centre)",
                        c,
                    ));
                }
                if let Some(l) = self.diff_length_scale
                    && !(l.is_finite() && l > 0.0)
                {
                    return Err(ModelError::config(
                        "diff_length_scale",
                        "a physical length > 0",
                        l,
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The point cloud a [`CloudNo`] runs on: coordinates and quadrature weights.
#[derive(Clone, Debug, PartialEq)]
pub struct CloudGeometry {
    points: Vec<[f64; 2]>,
    weights: Vec<f64>,
}

impl CloudGeometry {
    /// Points with their quadrature weights (`Σ w_i f(x_i) ≈ ∫ f`).
    ///
    /// # Errors
    /// Fewer than 3 points, non-finite coordinates, a weight count other than the point count,
    /// or weights that are not finite and ≥ 0.
    pub fn new(points: Vec<[f64; 2]>, weights: Vec<f64>) -> Result<Self> {
        if points.len() < 3 {
            return Err(ModelError::config("points", "at least 3 points", points.len()));
        }
        if let Some(p) = points.iter().find(|p| !(p[0].is_finite() && p[1].is_finite())) {
            return Err(ModelError::config("points", "finite coordinates", format!("{p:?}")));
        }
        if weights.len() != points.len() {
            return Err(ModelError::config(
                "weights",
                format!("one weight per point ({})", points.len()),
                weights.len(),
            ));
        }
        if let Some(w) = weights.iter().find(|w| !(w.is_finite() && **w >= 0.0)) {
            return Err(ModelError::config("weights", "finite values ≥ 0", w));
        }
        Ok(Self { points, weights })
    }

    /// Points in `domain` with weights from `lno-quadrature` (`method`; lumped Delaunay needs
    /// the domain's boundary vertices among the points).
    ///
    /// # Errors
    /// The quadrature crate's error (points outside the domain, missing boundary vertices…).
    pub fn from_domain(
        domain: &Domain,
        points: Vec<[f64; 2]>,
        method: WeightMethod,
    ) -> Result<Self> {
        let weights = domain
            .weights(&points, method)
            .map_err(|e| ModelError::config("points", "points the quadrature rule accepts", e))?;
        Self::new(points, weights)
    }

    /// The coordinates.
    pub fn points(&self) -> &[[f64; 2]] {
        &self.points
    }

    /// The quadrature weights.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// `[x_min, y_min, x_max, y_max]`.
    pub fn bounding_box(&self) -> [f64; 4] {
        let mut b = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
        for p in &self.points {
            b[0] = b[0].min(p[0]);
            b[1] = b[1].min(p[1]);
            b[2] = b[2].max(p[0]);
            b[3] = b[3].max(p[1]);
        }
        b
    }
}

/// The latent regular grid: cell centres of the padded bounding box.
#[derive(Clone, Debug, PartialEq)]
pub struct LatentGrid {
    /// Lower corner of the padded box.
    pub origin: [f64; 2],
    /// Side lengths `[L_0, L_1]` of the padded box.
    pub lengths: [f64; 2],
    /// `[n_0, n_1]`.
    pub shape: [usize; 2],
}

impl LatentGrid {
    /// Cell widths `L_d / n_d`.
    pub fn spacing(&self) -> [f64; 2] {
        [self.lengths[0] / self.shape[0] as f64, self.lengths[1] / self.shape[1] as f64]
    }

    /// Cell centres in row-major order (`i·n_1 + j` is `(x_0 + (i + ½)h_0, y_0 + (j + ½)h_1)`).
    pub fn points(&self) -> Vec<[f64; 2]> {
        let h = self.spacing();
        let mut v = Vec::with_capacity(self.shape[0] * self.shape[1]);
        for i in 0..self.shape[0] {
            for j in 0..self.shape[1] {
                v.push([
                    self.origin[0] + (i as f64 + 0.5) * h[0],
                    self.origin[1] + (j as f64 + 0.5) * h[1],
                ]);
            }
        }
        v
    }
}

fn kernel_err(e: KernelError) -> ModelError {
    ModelError::Layer(LayerError::from(e))
}

/// One latent block: `σ(spectral(x) + local(x) + skip(x))` (no σ after the last block).
#[derive(Debug)]
struct LatentBlock {
    spectral: SpectralConv,
    local: Option<LocalBranch>,
    skip: Skip,
}

fn numel(t: &Tensor) -> i64 {
    t.numel() as i64
}

fn opt_numel(t: Option<&Tensor>) -> i64 {
    t.map_or(0, numel)
}

/// The encode–process–decode operator on one point cloud.
///
/// # Shapes
/// `(B, in_channels, n_points)` → `(B, out_channels, n_points)`.
#[derive(Debug)]
pub struct CloudNo {
    config: CloudNoConfig,
    latent: LatentGrid,
    /// `(1, 2, n)` coordinates in `[0, 1]` over the bounding box.
    coords: Tensor,
    lifting: ChannelMlp,
    encoder: DiscoConvCloud,
    /// Latent points (flat indices) that the encoder reaches.
    active: Tensor,
    blocks: Vec<LatentBlock>,
    decoder: DiscoConvCloud,
    point_skip: Skip,
    projection: ChannelMlp,
    n_points: i64,
    n_params: i64,
    kind: Kind,
    device: Device,
}

impl CloudNo {
    /// Builds the model on `geometry` under `path`. The learned weights do not depend on the
    /// cloud: to run a trained model on another cloud, build a new one on a fresh `VarStore`
    /// and `copy` the trained store into it.
    ///
    /// # Errors
    /// An invalid config, a degenerate cloud (zero extent along a coordinate), cutoffs too small
    /// for the latent grid, or a layer that cannot be built.
    pub fn new(path: &nn::Path, config: &CloudNoConfig, geometry: &CloudGeometry) -> Result<Self> {
        config.validate()?;
        let c = config;
        let (kind, device) = (path.kind(), path.device());
        let bbox = geometry.bounding_box();
        let extent = [bbox[2] - bbox[0], bbox[3] - bbox[1]];
        if !(extent[0] > 0.0 && extent[1] > 0.0) {
            return Err(ModelError::config(
                "points",
                "a cloud with positive extent along both coordinates",
                format!("bounding box {bbox:?}"),
            ));
        }
        let pad = c.latent_padding;
        let latent = LatentGrid {
            origin: [bbox[0] - pad * extent[0], bbox[1] - pad * extent[1]],
            lengths: [extent[0] * (1.0 + 2.0 * pad), extent[1] * (1.0 + 2.0 * pad)],
            shape: c.latent_shape,
        };
        let h = latent.spacing();
        let hmax = h[0].max(h[1]);
        let enc_cut = c.encoder_cutoff.unwrap_or(2.0 * hmax);
        let dec_cut = c.decoder_cutoff.unwrap_or(2.0 * hmax);
        let half_diag = 0.5 * h[0].hypot(h[1]);
        if dec_cut < half_diag {
            return Err(ModelError::config(
                "decoder_cutoff",
                format!(
                    "at least half a latent cell diagonal ({half_diag}) so that every point sees the grid"
                ),
                dec_cut,
            ));
        }
        let hidden = c.hidden_channels;
        let n = geometry.points.len();

        let mut coords = Vec::with_capacity(2 * n);
        for d in 0..2 {
            coords.extend(geometry.points.iter().map(|p| ((p[d] - bbox[d]) / extent[d]) as f32));
        }
        let coords = Tensor::f_from_slice(&coords)?
            .f_view([1, 2, n as i64])?
            .f_to_kind(kind)?
            .f_to_device(device)?;

        let lift_in = c.in_channels + if c.positional_embedding { 2 } else { 0 };
        let mlp = |ratio: f64| ChannelMlpConfig {
            hidden_channels: Some((ratio * hidden as f64) as i64),
            n_layers: 2,
            dropout: 0.0,
        };
        let lifting = ChannelMlp::new(&(path / "lifting"), lift_in, hidden, mlp(c.lifting_ratio))?;

        // Encoder: only latent points with cloud points within the cutoff get a Ψ row.
        let grid_points = latent.points();
        let r2 = enc_cut * enc_cut;
        let active: Vec<i64> = grid_points
            .iter()
            .enumerate()
            .filter(|(_, g)| {
                geometry.points.iter().any(|p| (p[0] - g[0]).powi(2) + (p[1] - g[1]).powi(2) <= r2)
            })
            .map(|(i, _)| i as i64)
            .collect();
        if active.is_empty() {
            return Err(ModelError::config(
                "encoder_cutoff",
                "a radius reaching at least one latent point",
                enc_cut,
            ));
        }
        let basis =
            || Basis::piecewise_linear(c.kernel_shape[0], c.kernel_shape[1]).map_err(kernel_err);
        let enc_out: Vec<[f64; 2]> = active.iter().map(|&i| grid_points[i as usize]).collect();
        let enc_spec = DiscoPlanarSpec::forward(
            geometry.points.clone(),
            geometry.weights.clone(),
            enc_out,
            basis()?,
            enc_cut,
        )
        .map_err(kernel_err)?;
        let encoder = DiscoConvCloud::from_spec(
            &(path / "encoder"),
            hidden,
            hidden,
            &enc_spec,
            DiscoCloudConfig::default(),
        )?;
        let active = Tensor::f_from_slice(&active)?.f_to_device(device)?;

        let mut blocks = Vec::with_capacity(c.n_layers);
        for i in 0..c.n_layers {
            let p = path / "blocks" / i;
            let spectral = SpectralConv::new(
                &(&p / "spectral"),
                hidden,
                hidden,
                &c.n_modes,
                SpectralConvConfig::default(),
            )?;
            let local = match c.processor {
                CloudProcessor::Fno => None,
                CloudProcessor::LocalNo => {
                    let fd = FiniteDifferenceConv::new(
                        &(&p / "differential"),
                        hidden,
                        hidden,
                        &latent.lengths,
                        FiniteDifferenceConfig {
                            length_scale: c.diff_length_scale.unwrap_or(hmax),
                            ..FiniteDifferenceConfig::default()
                        },
                    )?;
                    let k = c.local_kernel_shape.unwrap_or([3, 4]);
                    let cells = c.local_cutoff_cells.unwrap_or(3.0);
                    let disco = DiscoConvGrid::new(
                        &(&p / "disco"),
                        hidden,
                        hidden,
                        Basis::piecewise_linear(k[0], k[1]).map_err(kernel_err)?,
                        cells * hmax,
                        latent.lengths,
                        DiscoGridConfig::default(),
                    )?;
                    Some(LocalBranch::new(fd, disco)?)
                }
            };
            let skip = Skip::new(&(&p / "skip"), hidden, hidden, SkipKind::Linear)?;
            blocks.push(LatentBlock { spectral, local, skip });
        }

        let cell_area = h[0] * h[1];
        let dec_spec = DiscoPlanarSpec::forward(
            grid_points.clone(),
            vec![cell_area; grid_points.len()],
            geometry.points.clone(),
            basis()?,
            dec_cut,
        )
        .map_err(kernel_err)?;
        let decoder = DiscoConvCloud::from_spec(
            &(path / "decoder"),
            hidden,
            hidden,
            &dec_spec,
            DiscoCloudConfig::default(),
        )?;
        let point_skip = Skip::new(&(path / "point_skip"), hidden, hidden, SkipKind::Linear)?;
        let projection = ChannelMlp::new(
            &(path / "projection"),
            hidden,
            c.out_channels,
            mlp(c.projection_ratio),
        )?;

        let mut model = Self {
            config: c.clone(),
            latent,
            coords,
            lifting,
            encoder,
            active,
            blocks,
            decoder,
            point_skip,
            projection,
            n_points: n as i64,
            n_params: 0,
            kind,
            device,
        };
        model.n_params = model.count_params();
        Ok(model)
    }

    fn count_params(&self) -> i64 {
        let mlp = |m: &ChannelMlp| m.layers().iter().map(|(w, b)| numel(w) + numel(b)).sum::<i64>();
        let disco = |d: &DiscoConvCloud| numel(d.weight()) + opt_numel(d.bias());
        let mut n = mlp(&self.lifting) + disco(&self.encoder) + disco(&self.decoder);
        n += opt_numel(self.point_skip.weight()) + mlp(&self.projection);
        for b in &self.blocks {
            n += numel(b.spectral.weight()) + opt_numel(b.spectral.bias());
            n += opt_numel(b.skip.weight());
            if let Some(l) = &b.local {
                n += numel(l.fd().weight())
                    + numel(l.disco().weight())
                    + opt_numel(l.disco().bias());
            }
        }
        n
    }

    /// Number of trainable real parameters (complex spectral weights count twice).
    pub fn parameter_count(&self) -> i64 {
        self.n_params
    }

    /// The configuration.
    pub fn config(&self) -> &CloudNoConfig {
        &self.config
    }

    /// The latent grid.
    pub fn latent_grid(&self) -> &LatentGrid {
        &self.latent
    }

    /// The length scale ℓ the latent differential branches use (`None` for the FNO processor).
    pub fn diff_length_scale(&self) -> Option<f64> {
        self.blocks.first()?.local.as_ref().map(|b| b.fd().config().length_scale)
    }

    /// How many latent points the encoder reaches (the others stay zero).
    pub fn active_latent_points(&self) -> i64 {
        self.active.size()[0]
    }

    /// `x [B, in_channels, n_points]` → `[B, out_channels, n_points]`.
    ///
    /// # Errors
    /// [`ModelError::Input`] naming `x` for a wrong shape (including a point count other than
    /// the cloud's), dtype or device.
    pub fn f_forward(&self, x: &Tensor) -> Result<Tensor> {
        let c = &self.config;
        let size = x.size();
        if size.len() != 3 || size[0] < 1 || size[1] != c.in_channels || size[2] != self.n_points {
            return Err(ModelError::input(
                "x",
                format!(
                    "shape [B ≥ 1, {}, {}] (in_channels, points of the cloud the model was built on)",
                    c.in_channels, self.n_points
                ),
                format!("{size:?}"),
            ));
        }
        crate::error::check_kind_and_device(x, self.kind, self.device)?;
        let b = size[0];
        let hidden = c.hidden_channels;
        let [n0, n1] = self.latent.shape;
        let input = if c.positional_embedding {
            Tensor::f_cat(&[x, &self.coords.f_expand([b, 2, self.n_points], false)?], 1)?
        } else {
            x.shallow_clone()
        };
        let lifted = self.lifting.f_forward_t(&input, false)?;
        let enc = self.encoder.f_forward(&lifted)?;
        let mut z = Tensor::f_zeros([b, hidden, (n0 * n1) as i64], (self.kind, self.device))?
            .f_index_copy(2, &self.active, &enc)?
            .f_view([b, hidden, n0 as i64, n1 as i64])?;
        for (i, blk) in self.blocks.iter().enumerate() {
            let mut y = blk.spectral.f_forward(&z)?.f_add(&blk.skip.f_forward(&z)?)?;
            if let Some(local) = &blk.local {
                y = y.f_add(&local.f_forward(&z)?)?;
            }
            z = if i + 1 < self.blocks.len() { y.f_gelu("none")? } else { y };
        }
        let dec = self.decoder.f_forward(&z.f_view([b, hidden, (n0 * n1) as i64])?)?;
        let y = dec.f_add(&self.point_skip.f_forward(&lifted)?)?;
        Ok(self.projection.f_forward_t(&y, false)?)
    }
}

impl nn::Module for CloudNo {
    /// # Panics
    /// On an input [`CloudNo::f_forward`] rejects; use that to get an error instead.
    fn forward(&self, x: &Tensor) -> Tensor {
        self.f_forward(x).unwrap_or_else(|e| panic!("CloudNo: {e}"))
    }
}

/// Copies the trainable variables of `src` into the same-named ones of `dst`, leaving the
/// geometry buffers (`psi_*`) of `dst` alone: the way to move trained [`CloudNo`] weights onto
/// a model built on another point cloud (`VarStore::copy` would overwrite Ψ as well).
///
/// # Errors
/// A trainable variable of `dst` missing from `src` or with another shape.
pub fn copy_trainable(dst: &nn::VarStore, src: &nn::VarStore) -> Result<()> {
    let from = src.variables();
    for (name, t) in dst.variables() {
        if !t.requires_grad() {
            continue;
        }
        let s = from.get(&name).ok_or_else(|| {
            ModelError::input("src", format!("a variable named `{name}`"), "none")
        })?;
        if s.size() != t.size() {
            return Err(ModelError::input(
                "src",
                format!("`{name}` of shape {:?}", t.size()),
                format!("{:?}", s.size()),
            ));
        }
        tch::no_grad(|| -> Result<()> {
            let mut t = t.shallow_clone();
            t.f_copy_(s)?;
            Ok(())
        })?;
    }
    Ok(())
}
