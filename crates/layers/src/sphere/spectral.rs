//! Spherical spectral convolution, the SFNO block convolution (torch-harmonics example
//! `SpectralConvS2`, `operator_type = "driscoll-healy"`; layers-spec §7.3).
//!
//! `y = ISHT(einsum("bilm,oil->bolm", SHT(x), W))`: one complex `C_in × C_out` matrix per
//! degree `l`, shared across orders `m`. The complex weights are stored as a real tensor
//! `[C_out, C_in, lmax, 2]` and viewed as complex in forward, because tch's AdamW mishandles
//! complex parameters and safetensors cannot hold them.

use tch::{Tensor, nn};

use super::check_field;
use super::sht::{InverseRealSht, RealSht};
use crate::error::{LayerError, Result};

/// SFNO spectral convolution `(B, C_in, nlat_in, nlon_in) → (B, C_out, nlat_out, nlon_out)`,
/// the grids being those of the two transforms.
#[derive(Debug)]
pub struct SpectralConvS2 {
    sht: RealSht,
    isht: InverseRealSht,
    in_channels: i64,
    out_channels: i64,
    /// `[C_out, C_in, lmax, 2]` (real, imaginary), trainable.
    weight: Tensor,
    /// `[C_out]`, zero-initialised, if enabled.
    bias: Option<Tensor>,
}

impl SpectralConvS2 {
    /// Builds the layer from a forward and an inverse transform with equal `(lmax, mmax)`.
    /// Weights are complex normal with `E|w|² = gain / C_in` (torch-harmonics:
    /// `sqrt(gain/in)·randn(cfloat)`, each part with std `sqrt(gain/in/2)`).
    ///
    /// # Errors
    /// Non-positive channel counts or gain, or transforms with different `(lmax, mmax)`.
    pub fn new(
        vs: &nn::Path,
        sht: RealSht,
        isht: InverseRealSht,
        in_channels: i64,
        out_channels: i64,
        gain: f64,
        bias: bool,
    ) -> Result<Self> {
        if in_channels <= 0 {
            return Err(LayerError::parameter("in_channels", "at least 1", in_channels));
        }
        if out_channels <= 0 {
            return Err(LayerError::parameter("out_channels", "at least 1", out_channels));
        }
        if !(gain.is_finite() && gain > 0.0) {
            return Err(LayerError::parameter("gain", "a finite value > 0", gain));
        }
        if sht.modes() != isht.modes() {
            return Err(LayerError::parameter(
                "isht",
                format!("(lmax, mmax) = {:?} like the forward transform", sht.modes()),
                format!("{:?}", isht.modes()),
            ));
        }
        let lmax = sht.modes().0 as i64;
        let std = (gain / in_channels as f64 / 2.0).sqrt();
        let weight = vs.f_var(
            "weight_ri",
            &[out_channels, in_channels, lmax, 2],
            nn::Init::Randn { mean: 0.0, stdev: std },
        )?;
        let bias = if bias { Some(vs.f_zeros("bias", &[out_channels])?) } else { None };
        Ok(Self { sht, isht, in_channels, out_channels, weight, bias })
    }

    /// `x [B, C_in, nlat_in, nlon_in]` → `y [B, C_out, nlat_out, nlon_out]`.
    ///
    /// # Errors
    /// Wrong shape, dtype or device of `x`.
    pub fn f_forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.f_forward_with_residual(x)?.0)
    }

    /// Like [`Self::f_forward`], also returning torch-harmonics' residual: `x` itself if the
    /// input and output grids agree, else `ISHT(SHT(x))` on the output grid.
    ///
    /// # Errors
    /// As [`Self::f_forward`].
    pub fn f_forward_with_residual(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let (h, w) = self.sht.shape();
        check_field(x, self.in_channels, [h, w], self.weight.kind(), self.weight.device())?;
        let coeffs = self.sht.f_forward(x)?; // [B, Ci, L, M]
        let residual =
            if self.sht.shape() == self.isht.shape() && self.sht.grid() == self.isht.grid() {
                x.shallow_clone()
            } else {
                self.isht.f_forward(&coeffs)?
            };
        let s = coeffs.size();
        let (b, ci, l, m) = (s[0], s[1], s[2], s[3]);
        let wc = self.weight.f_view_as_complex()?.f_permute([2, 1, 0])?; // [L, Ci, Co]
        let wc = if wc.kind() == coeffs.kind() { wc } else { wc.f_to_kind(coeffs.kind())? };
        let xl = coeffs.f_permute([2, 0, 3, 1])?.f_reshape([l, b * m, ci])?;
        let yl = xl.f_bmm(&wc)?; // [L, B·M, Co]
        let co = self.out_channels;
        let y = yl.f_view([l, b, m, co])?.f_permute([1, 3, 0, 2])?;
        let mut y = self.isht.f_forward(&y)?;
        if let Some(bias) = &self.bias {
            y = y.f_add(&bias.f_view([1, -1, 1, 1])?)?;
        }
        Ok((y, residual))
    }

    /// `weight [C_out, C_in, lmax, 2]`, complex stored as (re, im). Its VarStore name is
    /// `weight_ri`: the suffix tells lno-models' AdamW to treat the last dim as one complex
    /// number (shared second moment |g|²), see docs/training.md.
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// The forward transform.
    pub fn sht(&self) -> &RealSht {
        &self.sht
    }

    /// The inverse transform.
    pub fn isht(&self) -> &InverseRealSht {
        &self.isht
    }
}

impl nn::Module for SpectralConvS2 {
    /// # Panics
    /// On an invalid input (the message states expected and actual shapes); use
    /// [`SpectralConvS2::f_forward`] to get an error instead.
    fn forward(&self, x: &Tensor) -> Tensor {
        self.f_forward(x).unwrap_or_else(|e| panic!("SpectralConvS2: {e}"))
    }
}
