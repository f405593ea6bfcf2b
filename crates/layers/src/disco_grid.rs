//! DISCO convolutions on regular 2-D grids (neuralop's `EquidistantDiscreteContinuousConv2d` and
//! its transpose), with taps recomputed for the resolution of each input.
//!
//! The continuous operator is `(K f)(x) = Σ_k θ_{o,c,k} ∫ ψ̂_k(y − x) f_c(y) dy` with the filter
//! basis ψ̂_k (piecewise-linear, Morlet or Zernike from `lno-kernels`) supported on a disk of
//! radius `cutoff` (physical units). On an `n_0 × n_1` grid of a domain `L_0 × L_1` the integral
//! becomes a cross-correlation with taps `T[k, a, b]` (`lno_kernels::Stencil`: f64, quadrature
//! `h_0 h_1` and normalisation merged in, cast once to the parameters' dtype), contracted with
//! the weights into one `conv2d` kernel `Σ_k W[o, c, k] T[k, a, b]`.
//!
//! Deliberate differences from the reference (see `docs/layers.md`): the taps follow the input's
//! resolution (the reference freezes them at `in_shape`, so its layer is not
//! discretisation-convergent), the padding mode is honoured (the reference always zero-pads,
//! ignoring `periodic`), stencils are always odd (`P = 2⌊cutoff/h⌋ + 1`; the reference's even `P`
//! shrinks the output by a cell), and the weights hold exactly one slot per basis function.

use std::sync::Mutex;

use lno_kernels::{Basis, FilterBasis, StencilSpec};
use tch::nn::{self, Init, Module};
use tch::{Device, Kind, Tensor};

use crate::common::{self, Padding};
use crate::error::{LayerError, Result};

/// Optional settings of [`DiscoConvGrid`] and [`DiscoConvGridTranspose`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DiscoGridConfig {
    /// Channel groups (default 1).
    pub groups: i64,
    /// Adds a learned bias per output channel, initialised to 0 (default true).
    pub bias: bool,
    /// Boundary handling (default [`Padding::Periodic`]).
    pub padding: Padding,
    /// Down-sampling factor per dim for [`DiscoConvGrid`], up-sampling factor for
    /// [`DiscoConvGridTranspose`] (default `[1, 1]`).
    pub stride: [i64; 2],
}

impl Default for DiscoGridConfig {
    fn default() -> Self {
        Self { groups: 1, bias: true, padding: Padding::Periodic, stride: [1, 1] }
    }
}

/// Cache key of a tap tensor: grid, dtype, device.
type TapKey = ([i64; 2], Kind, Device);

/// Geometry shared by the forward and transpose layers: the basis, cutoff, domain and a cache of
/// taps per (grid, dtype, device).
#[derive(Debug)]
struct TapSource {
    basis: Basis,
    cutoff: f64,
    domain_lengths: [f64; 2],
    cache: Mutex<Vec<(TapKey, Tensor)>>,
}

impl TapSource {
    /// Taps `(K, P0, P1)` for an `n_0 × n_1` grid.
    fn taps(&self, shape: [i64; 2], kind: Kind, device: Device) -> Result<Tensor> {
        let key = (shape, kind, device);
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, t)) = cache.iter().find(|(k, _)| *k == key) {
            return Ok(t.shallow_clone());
        }
        let stencil = StencilSpec::for_grid(
            self.basis.clone(),
            [shape[0] as usize, shape[1] as usize],
            self.domain_lengths,
            self.cutoff,
        )?
        .build()?;
        let [p0, p1] = stencil.size();
        let t = common::tensor_from_f64(
            stencil.taps(),
            &[stencil.n_basis() as i64, p0 as i64, p1 as i64],
            kind,
            device,
        )?;
        // Grids are few in practice (training and evaluation resolutions); keep the last 8.
        if cache.len() >= 8 {
            drop(cache.remove(0));
        }
        cache.push((key, t.shallow_clone()));
        Ok(t)
    }
}

/// Validates the shared constructor arguments and creates `weight` and `bias`.
fn make_params(
    path: &nn::Path,
    in_channels: i64,
    out_channels: i64,
    basis: &Basis,
    cutoff: f64,
    domain_lengths: [f64; 2],
    config: &DiscoGridConfig,
) -> Result<(Tensor, Option<Tensor>)> {
    common::check_channels(in_channels, out_channels, config.groups)?;
    common::check_lengths("domain_lengths", &domain_lengths)?;
    if !(cutoff.is_finite() && cutoff > 0.0) {
        return Err(LayerError::parameter("cutoff", "a finite radius > 0", cutoff));
    }
    if config.stride.iter().any(|&s| s < 1) {
        return Err(LayerError::parameter("stride", "factors ≥ 1", format!("{:?}", config.stride)));
    }
    let group_size = in_channels / config.groups;
    let k = basis.n_basis() as i64;
    // The reference's init: sqrt(1/group_size)·N(0, 1).
    let weight = path.f_var(
        "weight",
        &[out_channels, group_size, k],
        Init::Randn { mean: 0.0, stdev: (1.0 / group_size as f64).sqrt() },
    )?;
    let bias = if config.bias { Some(path.f_zeros("bias", &[out_channels])?) } else { None };
    Ok((weight, bias))
}

/// Contracts weights `(O, C/G, K)` with taps `(K, P0, P1)` into a conv kernel `(O, C/G, P0, P1)`.
fn contract(weight: &Tensor, taps: &Tensor) -> Result<Tensor> {
    let w = weight.size();
    let t = taps.size();
    let k =
        weight.f_reshape([w[0] * w[1], w[2]])?.f_matmul(&taps.f_reshape([t[0], t[1] * t[2]])?)?;
    Ok(k.f_reshape([w[0], w[1], t[1], t[2]])?)
}

/// DISCO convolution on a regular 2-D grid, optionally strided (down-sampling).
///
/// # Shapes
/// * input `x`: `(B, in_channels, n_0, n_1)`, `n_j` divisible by `stride[j]`;
/// * output: `(B, out_channels, n_0 / stride[0], n_1 / stride[1])`;
/// * `weight`: `(out_channels, in_channels / groups, K)`, `K = basis.n_basis()`;
/// * `bias`: `(out_channels,)`.
///
/// Output point `i` sits on input point `stride·i`; the taps are built for the input grid
/// (spacing `L_j / n_j`), so the stencil grows as the input is refined.
#[derive(Debug)]
pub struct DiscoConvGrid {
    weight: Tensor,
    bias: Option<Tensor>,
    in_channels: i64,
    out_channels: i64,
    source: TapSource,
    config: DiscoGridConfig,
}

impl DiscoConvGrid {
    /// Creates the layer: filter `basis` with radius `cutoff` on a domain of
    /// `domain_lengths = [L_0, L_1]` (rows, columns), weights `√(1/(in/groups))·N(0, 1)`, bias 0.
    pub fn new(
        path: &nn::Path,
        in_channels: i64,
        out_channels: i64,
        basis: Basis,
        cutoff: f64,
        domain_lengths: [f64; 2],
        config: DiscoGridConfig,
    ) -> Result<Self> {
        let (weight, bias) =
            make_params(path, in_channels, out_channels, &basis, cutoff, domain_lengths, &config)?;
        let source = TapSource { basis, cutoff, domain_lengths, cache: Mutex::new(Vec::new()) };
        Ok(Self { weight, bias, in_channels, out_channels, source, config })
    }

    /// The weights `(out, in/groups, K)`.
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// The bias `(out,)`, if any.
    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }

    /// The settings.
    pub fn config(&self) -> &DiscoGridConfig {
        &self.config
    }

    /// Input channels.
    pub fn in_channels(&self) -> i64 {
        self.in_channels
    }

    /// Output channels.
    pub fn out_channels(&self) -> i64 {
        self.out_channels
    }

    /// The physical domain `[L_0, L_1]`.
    pub fn domain_lengths(&self) -> [f64; 2] {
        self.source.domain_lengths
    }

    /// The basis taps `(K, P0, P1)` for an input grid `[n_0, n_1]`, in the weights' dtype and
    /// device (cached per grid).
    pub fn taps(&self, grid: [i64; 2]) -> Result<Tensor> {
        self.source.taps(grid, self.weight.kind(), self.weight.device())
    }

    /// The conv kernel `Σ_k W[o, c, k] T[k, a, b]`, `(out, in/groups, P0, P1)`, for an input
    /// grid `[n_0, n_1]`.
    pub fn kernel(&self, grid: [i64; 2]) -> Result<Tensor> {
        contract(&self.weight, &self.taps(grid)?)
    }

    /// Fallible forward pass (see the type docs for shapes).
    pub fn f_forward(&self, x: &Tensor) -> Result<Tensor> {
        let spatial = common::check_input(x, 2, self.in_channels, self.weight.kind())?;
        common::check_device(x, self.weight.device())?;
        let s = self.config.stride;
        for j in 0..2 {
            if spatial[j] % s[j] != 0 {
                return Err(LayerError::input(
                    "x",
                    format!("spatial dim {j} divisible by stride {}", s[j]),
                    format!("shape {:?}", x.size()),
                ));
            }
        }
        let kernel = self.kernel([spatial[0], spatial[1]])?;
        let p = kernel.size();
        let half = [p[2] / 2, p[3] / 2];
        self.config.padding.check_fits(&spatial, &half)?;
        common::conv_nd(
            x,
            &kernel,
            self.bias.as_ref(),
            self.config.padding,
            &half,
            &s,
            self.config.groups,
        )
    }
}

impl Module for DiscoConvGrid {
    /// # Panics
    /// On an input [`DiscoConvGrid::f_forward`] rejects (wrong rank, channel count, dtype,
    /// device, a grid not divisible by the stride or too coarse for the cutoff).
    fn forward(&self, x: &Tensor) -> Tensor {
        common::expect_forward("DiscoConvGrid", self.f_forward(x))
    }
}

/// Transposed DISCO convolution on a regular 2-D grid (up-sampling by `stride`); padding
/// [`Padding::Periodic`] or [`Padding::Zeros`].
///
/// Coarse input point `i` sits on fine output point `stride·i`. With the taps `T` of the fine
/// output grid,
///
/// ```text
/// y[o, m] = s_0 s_1 Σ_c Σ_i Σ_k W[o, c, k] T[k, m − stride·i + c_T] x[c, i]
/// ```
///
/// i.e. `s_0 s_1` times the exact adjoint of the strided [`DiscoConvGrid`] with the same taps
/// (the offset is output − input: the point-reflected kernel, as the reference's transpose). The
/// factor `s_0 s_1` makes the quadrature that of the coarse input grid (`h_0 h_1` of the coarse
/// cells), so the layer converges to the continuous operator as both grids are refined. (The
/// reference uses the fine cell area, a factor `s_0 s_1` smaller.)
///
/// # Shapes
/// * input `x`: `(B, in_channels, n_0, n_1)`;
/// * output: `(B, out_channels, n_0·stride[0], n_1·stride[1])`;
/// * `weight`: `(out_channels, in_channels / groups, K)`; `bias`: `(out_channels,)`.
#[derive(Debug)]
pub struct DiscoConvGridTranspose {
    weight: Tensor,
    bias: Option<Tensor>,
    in_channels: i64,
    out_channels: i64,
    source: TapSource,
    config: DiscoGridConfig,
}

impl DiscoConvGridTranspose {
    /// Creates the layer (arguments as [`DiscoConvGrid::new`]; `config.stride` is the
    /// up-sampling factor).
    pub fn new(
        path: &nn::Path,
        in_channels: i64,
        out_channels: i64,
        basis: Basis,
        cutoff: f64,
        domain_lengths: [f64; 2],
        config: DiscoGridConfig,
    ) -> Result<Self> {
        if !matches!(config.padding, Padding::Periodic | Padding::Zeros) {
            return Err(LayerError::parameter(
                "padding",
                "Periodic or Zeros (the transpose scatters; edge replication is undefined)",
                format!("{:?}", config.padding),
            ));
        }
        let (weight, bias) =
            make_params(path, in_channels, out_channels, &basis, cutoff, domain_lengths, &config)?;
        let source = TapSource { basis, cutoff, domain_lengths, cache: Mutex::new(Vec::new()) };
        Ok(Self { weight, bias, in_channels, out_channels, source, config })
    }

    /// The weights `(out, in/groups, K)`.
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// The bias `(out,)`, if any.
    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }

    /// Input channels.
    pub fn in_channels(&self) -> i64 {
        self.in_channels
    }

    /// Output channels.
    pub fn out_channels(&self) -> i64 {
        self.out_channels
    }

    /// The settings.
    pub fn config(&self) -> &DiscoGridConfig {
        &self.config
    }

    /// The basis taps `(K, P0, P1)` of the fine output grid `[m_0, m_1]` (without the
    /// `s_0 s_1` factor).
    pub fn taps(&self, output_grid: [i64; 2]) -> Result<Tensor> {
        self.source.taps(output_grid, self.weight.kind(), self.weight.device())
    }

    /// Fallible forward pass (see the type docs for shapes).
    pub fn f_forward(&self, x: &Tensor) -> Result<Tensor> {
        let spatial = common::check_input(x, 2, self.in_channels, self.weight.kind())?;
        common::check_device(x, self.weight.device())?;
        let [s0, s1] = self.config.stride;
        let fine = [spatial[0] * s0, spatial[1] * s1];
        let taps = self.taps(fine)? * (s0 * s1) as f64;
        // conv_transpose as a plain correlation: zero-stuff the input onto the fine grid and
        // correlate with the point-reflected kernel; periodic padding then wraps correctly.
        let kernel = contract(&self.weight, &taps)?.f_flip([2i64, 3].as_slice())?;
        let size = x.size();
        let up = x
            .f_reshape([size[0], size[1], spatial[0], 1, spatial[1], 1])?
            .f_constant_pad_nd([0, s1 - 1, 0, 0, 0, s0 - 1].as_slice())?
            .f_reshape([size[0], size[1], fine[0], fine[1]])?;
        let p = kernel.size();
        let half = [p[2] / 2, p[3] / 2];
        self.config.padding.check_fits(&fine, &half)?;
        common::conv_nd(
            &up,
            &kernel,
            self.bias.as_ref(),
            self.config.padding,
            &half,
            &[1, 1],
            self.config.groups,
        )
    }
}

impl Module for DiscoConvGridTranspose {
    /// # Panics
    /// On an input [`DiscoConvGridTranspose::f_forward`] rejects.
    fn forward(&self, x: &Tensor) -> Tensor {
        common::expect_forward("DiscoConvGridTranspose", self.f_forward(x))
    }
}
