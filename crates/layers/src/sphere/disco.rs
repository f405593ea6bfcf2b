//! Discrete-continuous (DISCO) convolution on the sphere and its transpose, after
//! torch-harmonics 0.7.4 `DiscreteContinuousConvS2` / `DiscreteContinuousConvTransposeS2`
//! (layers-spec §6).
//!
//! Forward: `y[b, o, t, q] = Σ_{c∈g(o)} Σ_k W[o, c, k] Σ_{j,p} Ψ[k, t, j, p] x[b, c, j, (p + s·q) mod W_in]`
//! with `s = nlon_in / nlon_out`, plus bias. Transpose (`s = nlon_out / nlon_in`):
//! `out[b, o, j, (p + s·q) mod W_out] += Σ_{k,t} Ψᵀ[k, t, j, p] Σ_{c∈g(o)} W[o, c, k] x[b, c, t, q]`,
//! the exact adjoint of the forward contraction on the (fine → coarse) grid pair.
//! Ψ comes from [`lno_kernels::DiscoS2Spec`]; the contraction is [`BandedFourierOperator`].

use std::sync::Arc;

use lno_kernels::{Basis, BasisKind, DiscoS2Spec, KernelTensor, Normalization, S2Direction};
use lno_quadrature::SphereGridKind;
use tch::{Device, Tensor, nn};

use super::banded::{BandedFourierOperator, DEFAULT_BLOCK};
use super::{check_field, grid_spec};
use crate::common::check_channels;
use crate::error::{LayerError, Result};

/// Options of the sphere DISCO layers; the defaults are torch-harmonics 0.7.4's.
#[derive(Clone, Debug, PartialEq)]
pub struct DiscoS2Options {
    /// Filter basis family (default piecewise linear).
    pub basis: BasisKind,
    /// Latitude grid of the input (default equiangular).
    pub grid_in: SphereGridKind,
    /// Latitude grid of the output (default equiangular).
    pub grid_out: SphereGridKind,
    /// Support radius in radians; `None` = one equiangular latitude spacing of the coarser
    /// side, `π/(nlat − 1)` (th 0.7.4: `nlat_out` forward, `nlat_in` transpose).
    pub theta_cutoff: Option<f64>,
    /// Channel groups (must divide both channel counts).
    pub groups: i64,
    /// Add a zero-initialised bias per output channel.
    pub bias: bool,
    /// Ψ normalisation (default torch-harmonics "mean").
    pub normalization: Normalization,
    /// Output latitudes per block of the banded contraction (performance only).
    pub block: usize,
}

impl Default for DiscoS2Options {
    fn default() -> Self {
        Self {
            basis: BasisKind::PiecewiseLinear,
            grid_in: SphereGridKind::Equiangular,
            grid_out: SphereGridKind::Equiangular,
            theta_cutoff: None,
            groups: 1,
            bias: true,
            normalization: Normalization::MeanAbs,
            block: DEFAULT_BLOCK,
        }
    }
}

/// Parameters and buffers shared by both directions.
#[derive(Debug)]
struct Core {
    in_channels: i64,
    out_channels: i64,
    groups: i64,
    in_shape: [usize; 2],
    out_shape: [usize; 2],
    psi: Arc<KernelTensor>,
    op: BandedFourierOperator,
    /// `[out, in/groups, K]`, trainable.
    weight: Tensor,
    /// `[out]`, trainable, if enabled.
    bias: Option<Tensor>,
    device: Device,
}

impl Core {
    #[allow(clippy::too_many_arguments)]
    fn new(
        vs: &nn::Path,
        in_channels: i64,
        out_channels: i64,
        in_shape: [usize; 2],
        out_shape: [usize; 2],
        kernel_shape: &[usize],
        opts: &DiscoS2Options,
        direction: S2Direction,
    ) -> Result<Self> {
        check_channels(in_channels, out_channels, opts.groups)?;
        let basis = Basis::new(opts.basis, kernel_shape)?;
        let k = lno_kernels::FilterBasis::n_basis(&basis) as i64;
        let g_in = grid_spec("in_shape", opts.grid_in, in_shape)?;
        let g_out = grid_spec("out_shape", opts.grid_out, out_shape)?;
        let coarse_lat = match direction {
            S2Direction::Forward => out_shape[0],
            S2Direction::Transpose => in_shape[0],
        };
        let theta_cutoff = match opts.theta_cutoff {
            Some(t) => t,
            None if coarse_lat >= 2 => std::f64::consts::PI / (coarse_lat as f64 - 1.0),
            None => {
                return Err(LayerError::parameter(
                    "theta_cutoff",
                    "an explicit value when the coarse grid has one latitude",
                    "None",
                ));
            }
        };
        let spec = match direction {
            S2Direction::Forward => DiscoS2Spec::forward(g_in, g_out, basis, theta_cutoff)?,
            S2Direction::Transpose => DiscoS2Spec::transpose(g_in, g_out, basis, theta_cutoff)?,
        }
        .with_normalization(opts.normalization);
        let psi = Arc::new(spec.build()?);
        let device = vs.device();
        let op = BandedFourierOperator::new(&psi, direction, opts.block, device)?;
        let cg = in_channels / opts.groups;
        // th 0.7.4: std = sqrt(1/groupsize/kernel_size).
        let std = (1.0 / (cg * k) as f64).sqrt();
        let weight =
            vs.f_var("weight", &[out_channels, cg, k], nn::Init::Randn { mean: 0.0, stdev: std })?;
        let bias = if opts.bias { Some(vs.f_zeros("bias", &[out_channels])?) } else { None };
        Ok(Self {
            in_channels,
            out_channels,
            groups: opts.groups,
            in_shape,
            out_shape,
            psi,
            op,
            weight,
            bias,
            device,
        })
    }

    /// The weights as a dense `[K, C_in, C_out]` matrix (block-diagonal over groups).
    fn weight_kco(&self) -> Result<Tensor> {
        let w = self.weight.f_permute([2, 1, 0])?; // [K, C/G, O]
        if self.groups == 1 {
            return Ok(w);
        }
        let og = self.out_channels / self.groups;
        let k = self.weight.size()[2];
        let mut per_k = Vec::with_capacity(k as usize);
        for kk in 0..k {
            let wk = w.f_get(kk)?; // [C/G, O]
            let blocks: Vec<Tensor> = (0..self.groups)
                .map(|g| wk.f_narrow(1, g * og, og))
                .collect::<std::result::Result<_, _>>()?;
            per_k.push(Tensor::f_block_diag(&blocks)?);
        }
        Ok(Tensor::f_stack(&per_k, 0)?)
    }

    fn add_bias(&self, y: Tensor) -> Result<Tensor> {
        Ok(match &self.bias {
            Some(b) => y.f_add(&b.f_view([1, -1, 1, 1])?)?,
            None => y,
        })
    }

    fn check(&self, x: &Tensor) -> Result<()> {
        check_field(x, self.in_channels, self.in_shape, self.weight.kind(), self.device)
    }
}

/// Real view of the longitude rfft of `x [B, C, H, W]` (after zero-upsampling by `up`),
/// permuted to `[B, M, 2, H, C]`.
fn spectrum_bm2hc(x: &Tensor, up: i64) -> Result<Tensor> {
    let x = if up > 1 {
        let size = x.size();
        let zeros =
            Tensor::f_zeros([size[0], size[1], size[2], size[3], up - 1], (x.kind(), x.device()))?;
        Tensor::f_cat(&[x.f_unsqueeze(-1)?, zeros], -1)?.f_reshape([
            size[0],
            size[1],
            size[2],
            size[3] * up,
        ])?
    } else {
        x.shallow_clone()
    };
    Ok(x.f_fft_rfft(None, -1, "backward")?.f_view_as_real()?.f_permute([0, 3, 4, 2, 1])?)
}

/// `[B, O, H, M, 2]` real spectrum → field `[B, O, H, n]`.
fn to_field(spec: &Tensor, n: i64) -> Result<Tensor> {
    Ok(spec.f_contiguous()?.f_view_as_complex()?.f_fft_irfft(n, -1, "backward")?)
}

/// DISCO convolution on the sphere, `(B, C_in, nlat_in, nlon_in) → (B, C_out, nlat_out, nlon_out)`
/// (`nlon_in` a multiple of `nlon_out`); torch-harmonics `DiscreteContinuousConvS2`.
///
/// Parameters: `weight [C_out, C_in/groups, K]` (K basis functions), `bias [C_out]`. Ψ is a
/// non-trainable buffer rebuilt from the grids.
#[derive(Debug)]
pub struct DiscoConvS2 {
    core: Core,
}

impl DiscoConvS2 {
    /// Builds the layer and its Ψ (`kernel_shape` as torch-harmonics reads it: `[n_r]` isotropic
    /// or `[n_r, n_φ]` for the piecewise-linear basis).
    ///
    /// # Errors
    /// Invalid channels/groups, grid shapes, kernel shape, cutoff, or `nlon_out ∤ nlon_in`.
    pub fn new(
        vs: &nn::Path,
        in_channels: i64,
        out_channels: i64,
        in_shape: [usize; 2],
        out_shape: [usize; 2],
        kernel_shape: &[usize],
        opts: DiscoS2Options,
    ) -> Result<Self> {
        let core = Core::new(
            vs,
            in_channels,
            out_channels,
            in_shape,
            out_shape,
            kernel_shape,
            &opts,
            S2Direction::Forward,
        )?;
        Ok(Self { core })
    }

    /// `x [B, C_in, nlat_in, nlon_in]` → `[B, C_out, nlat_out, nlon_out]`.
    ///
    /// # Errors
    /// Wrong rank, channel count, grid, dtype or device of `x`.
    pub fn f_forward(&self, x: &Tensor) -> Result<Tensor> {
        let c = &self.core;
        c.check(x)?;
        let (k, ci, o) = (self.n_basis() as i64, c.in_channels, c.out_channels);
        let xr = spectrum_bm2hc(x, 1)?;
        let w = c.weight_kco()?.f_reshape([k * ci, o])?;
        let spec = c.op.apply_forward(&xr, &w)?;
        let w_in = c.in_shape[1] as i64;
        let mut y = to_field(&spec, w_in)?;
        let stride = w_in / c.out_shape[1] as i64;
        if stride > 1 {
            y = y.f_slice(-1, 0, None, stride)?;
        }
        c.add_bias(y)
    }

    /// The kernel tensor Ψ (f64, output longitude 0).
    pub fn psi(&self) -> &KernelTensor {
        &self.core.psi
    }

    /// The banded Fourier form of Ψ used by the contraction.
    pub fn operator(&self) -> &BandedFourierOperator {
        &self.core.op
    }

    /// `weight [C_out, C_in/groups, K]`.
    pub fn weight(&self) -> &Tensor {
        &self.core.weight
    }

    /// `bias [C_out]`, if enabled.
    pub fn bias(&self) -> Option<&Tensor> {
        self.core.bias.as_ref()
    }

    /// Number of basis functions K.
    pub fn n_basis(&self) -> usize {
        self.core.psi.n_basis()
    }
}

impl nn::Module for DiscoConvS2 {
    /// # Panics
    /// On an invalid input (the message states expected and actual shapes); use
    /// [`DiscoConvS2::f_forward`] to get an error instead.
    fn forward(&self, x: &Tensor) -> Tensor {
        self.f_forward(x).unwrap_or_else(|e| panic!("DiscoConvS2: {e}"))
    }
}

/// Transpose DISCO convolution on the sphere (up-sampling), `(B, C_in, nlat_in, nlon_in) →
/// (B, C_out, nlat_out, nlon_out)` with `nlon_out` a multiple of `nlon_in`; torch-harmonics
/// `DiscreteContinuousConvTransposeS2`. Same parameters as [`DiscoConvS2`].
#[derive(Debug)]
pub struct DiscoConvTransposeS2 {
    core: Core,
}

impl DiscoConvTransposeS2 {
    /// Builds the layer; see [`DiscoConvS2::new`]. The default cutoff is `π/(nlat_in − 1)`.
    ///
    /// # Errors
    /// As [`DiscoConvS2::new`], with `nlon_in ∤ nlon_out`.
    pub fn new(
        vs: &nn::Path,
        in_channels: i64,
        out_channels: i64,
        in_shape: [usize; 2],
        out_shape: [usize; 2],
        kernel_shape: &[usize],
        opts: DiscoS2Options,
    ) -> Result<Self> {
        let core = Core::new(
            vs,
            in_channels,
            out_channels,
            in_shape,
            out_shape,
            kernel_shape,
            &opts,
            S2Direction::Transpose,
        )?;
        Ok(Self { core })
    }

    /// `x [B, C_in, nlat_in, nlon_in]` → `[B, C_out, nlat_out, nlon_out]`.
    ///
    /// # Errors
    /// Wrong rank, channel count, grid, dtype or device of `x`.
    pub fn f_forward(&self, x: &Tensor) -> Result<Tensor> {
        let c = &self.core;
        c.check(x)?;
        let (k, ci, o) = (self.n_basis() as i64, c.in_channels, c.out_channels);
        let up = (c.out_shape[1] / c.in_shape[1]) as i64;
        let xr = spectrum_bm2hc(x, up)?; // [B, M, 2, H_in, C]
        let s = xr.size();
        let w = c.weight_kco()?.f_permute([1, 0, 2])?.f_reshape([ci, k * o])?;
        let z = xr.f_reshape([-1, ci])?.f_mm(&w)?.f_view([s[0], s[1], 2, s[3], k * o])?;
        let spec = c.op.apply_transpose(&z, o)?;
        let y = to_field(&spec, c.out_shape[1] as i64)?;
        c.add_bias(y)
    }

    /// The kernel tensor Ψᵀ (f64): rows `(k, coarse input latitude)`, columns the fine output grid.
    pub fn psi(&self) -> &KernelTensor {
        &self.core.psi
    }

    /// The banded Fourier form of Ψᵀ used by the contraction.
    pub fn operator(&self) -> &BandedFourierOperator {
        &self.core.op
    }

    /// `weight [C_out, C_in/groups, K]`.
    pub fn weight(&self) -> &Tensor {
        &self.core.weight
    }

    /// `bias [C_out]`, if enabled.
    pub fn bias(&self) -> Option<&Tensor> {
        self.core.bias.as_ref()
    }

    /// Number of basis functions K.
    pub fn n_basis(&self) -> usize {
        self.core.psi.n_basis()
    }
}

impl nn::Module for DiscoConvTransposeS2 {
    /// # Panics
    /// On an invalid input (the message states expected and actual shapes); use
    /// [`DiscoConvTransposeS2::f_forward`] to get an error instead.
    fn forward(&self, x: &Tensor) -> Tensor {
        self.f_forward(x).unwrap_or_else(|e| panic!("DiscoConvTransposeS2: {e}"))
    }
}
