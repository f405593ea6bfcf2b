//! DISCO convolution on irregular 2-D point clouds (neuralop's `DiscreteContinuousConv2d` and,
//! with a transpose kernel tensor, `DiscreteContinuousConvTranspose2d`).
//!
//! The fixed part is the CSR kernel tensor Ψ from `lno-kernels` (f64, quadrature weights and
//! normalisation merged in), of shape `(K·n_out) × n_in` with basis-major rows. It is cast once
//! to the parameters' dtype and kept as three non-trainable buffers (`psi_crow`, `psi_col`,
//! `psi_values`), so it moves with `VarStore::set_device` / `double()`. The forward pass is one
//! sparse × dense product and a weight contraction:
//!
//! ```text
//! U[k·n_out + n, (b, c)] = Σ_m Ψ[k·n_out + n, m] · x[b, c, m]          (sparse mm, autograd to x)
//! y[b, o, n] = bias[o] + Σ_{c ∈ group(o)} Σ_k W[o, c, k] · U[k·n_out + n, (b, c)]
//! ```

use lno_kernels::{CsrParts, DiscoPlanarSpec, KernelTensor, Layout};
use tch::Tensor;
use tch::nn::{self, Init, Module};

use crate::common;
use crate::error::{LayerError, Result};

/// Optional settings of a [`DiscoConvCloud`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DiscoCloudConfig {
    /// Channel groups (default 1).
    pub groups: i64,
    /// Adds a learned bias per output channel, initialised to 0 (default true).
    pub bias: bool,
}

impl Default for DiscoCloudConfig {
    fn default() -> Self {
        Self { groups: 1, bias: true }
    }
}

/// DISCO convolution between two point clouds through a fixed sparse kernel tensor Ψ.
///
/// # Shapes
/// * input `x`: `(B, in_channels, n_in)`;
/// * output: `(B, out_channels, n_out)`;
/// * `weight`: `(out_channels, in_channels / groups, K)`; `bias`: `(out_channels,)`;
/// * buffers: `psi_crow (K·n_out + 1,)`, `psi_col (nnz,)` (Int64), `psi_values (nnz,)`.
#[derive(Debug)]
pub struct DiscoConvCloud {
    weight: Tensor,
    bias: Option<Tensor>,
    psi_crow: Tensor,
    psi_col: Tensor,
    psi_values: Tensor,
    n_basis: i64,
    n_out: i64,
    n_in: i64,
    in_channels: i64,
    out_channels: i64,
    groups: i64,
}

impl DiscoConvCloud {
    /// Builds Ψ from `spec` (see `lno_kernels::DiscoPlanarSpec`; use
    /// `lno_kernels::KernelCache` and [`DiscoConvCloud::new`] to share one Ψ between layers).
    pub fn from_spec(
        path: &nn::Path,
        in_channels: i64,
        out_channels: i64,
        spec: &DiscoPlanarSpec,
        config: DiscoCloudConfig,
    ) -> Result<Self> {
        Self::new(path, in_channels, out_channels, &spec.build()?, config)
    }

    /// Creates the layer around a planar kernel tensor `psi`; weights `√(1/(in/groups))·N(0, 1)`
    /// as the reference, bias 0.
    pub fn new(
        path: &nn::Path,
        in_channels: i64,
        out_channels: i64,
        psi: &KernelTensor,
        config: DiscoCloudConfig,
    ) -> Result<Self> {
        if !matches!(psi.layout(), Layout::Planar { .. }) {
            return Err(LayerError::parameter(
                "psi",
                "a planar kernel tensor (Layout::Planar)",
                format!("{:?}", psi.layout()),
            ));
        }
        Self::from_csr_parts(
            path,
            in_channels,
            out_channels,
            &psi.to_csr_parts(),
            psi.n_basis(),
            config,
        )
    }

    /// Creates the layer from raw CSR arrays of Ψ with `n_basis` basis-major row blocks
    /// (`parts.shape = [n_basis·n_out, n_in]`); the arrays are validated.
    pub fn from_csr_parts(
        path: &nn::Path,
        in_channels: i64,
        out_channels: i64,
        parts: &CsrParts,
        n_basis: usize,
        config: DiscoCloudConfig,
    ) -> Result<Self> {
        common::check_channels(in_channels, out_channels, config.groups)?;
        validate_csr(parts, n_basis)?;
        let [rows, n_in] = parts.shape;
        let group_size = in_channels / config.groups;
        let weight = path.f_var(
            "weight",
            &[out_channels, group_size, n_basis as i64],
            Init::Randn { mean: 0.0, stdev: (1.0 / group_size as f64).sqrt() },
        )?;
        let bias = if config.bias { Some(path.f_zeros("bias", &[out_channels])?) } else { None };
        let (kind, device) = (weight.kind(), weight.device());
        let crow =
            path.add("psi_crow", Tensor::from_slice(&parts.crow).f_to_device(device)?, false);
        let col = path.add("psi_col", Tensor::from_slice(&parts.col).f_to_device(device)?, false);
        let nnz = parts.values.len() as i64;
        let values = path.add(
            "psi_values",
            common::tensor_from_f64(&parts.values, &[nnz], kind, device)?,
            false,
        );
        Ok(Self {
            weight,
            bias,
            psi_crow: crow,
            psi_col: col,
            psi_values: values,
            n_basis: n_basis as i64,
            n_out: (rows / n_basis) as i64,
            n_in: n_in as i64,
            in_channels,
            out_channels,
            groups: config.groups,
        })
    }

    /// The weights `(out, in/groups, K)`.
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// The bias `(out,)`, if any.
    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }

    /// `(n_in, n_out)`: the sizes of the input and output clouds.
    pub fn n_points(&self) -> (i64, i64) {
        (self.n_in, self.n_out)
    }

    /// Number of basis functions K.
    pub fn n_basis(&self) -> i64 {
        self.n_basis
    }

    /// Ψ as a sparse CSR tensor `(K·n_out, n_in)` on the parameters' device and dtype.
    pub fn psi(&self) -> Result<Tensor> {
        Ok(Tensor::f_sparse_csr_tensor_crow_col_value_size(
            &self.psi_crow,
            &self.psi_col,
            &self.psi_values,
            [self.n_basis * self.n_out, self.n_in],
            (self.psi_values.kind(), self.psi_values.device()),
        )?)
    }

    /// Fallible forward pass (see the type docs for shapes).
    pub fn f_forward(&self, x: &Tensor) -> Result<Tensor> {
        common::check_input(x, 1, self.in_channels, self.weight.kind())?;
        common::check_device(x, self.weight.device())?;
        let size = x.size();
        if size[2] != self.n_in {
            return Err(LayerError::input(
                "x",
                format!("{} points (the input cloud of Ψ) in dim 2", self.n_in),
                format!("shape {size:?}"),
            ));
        }
        let (b, c, g) = (size[0], self.in_channels, self.groups);
        let (k, n_out, o) = (self.n_basis, self.n_out, self.out_channels);
        let columns = x.f_reshape([b * c, self.n_in])?.f_transpose(0, 1)?.f_contiguous()?;
        let u = self.psi()?.f_mm(&columns)?; // (K·n_out, B·C)
        let u = u.f_reshape([k, n_out, b, g, c / g])?;
        let w = self.weight.f_reshape([g, o / g, c / g, k])?;
        let y = Tensor::f_einsum("knbgc,gock->bgon", &[&u, &w], None::<&[i64]>)?
            .f_reshape([b, o, n_out])?;
        Ok(match &self.bias {
            Some(bias) => y.f_add(&bias.f_view([1, o, 1])?)?,
            None => y,
        })
    }
}

impl Module for DiscoConvCloud {
    /// # Panics
    /// On an input [`DiscoConvCloud::f_forward`] rejects (wrong rank, channel count, number of
    /// points, dtype or device).
    fn forward(&self, x: &Tensor) -> Tensor {
        common::expect_forward("DiscoConvCloud", self.f_forward(x))
    }
}

/// Checks CSR invariants (sizes, monotone row pointers, column range, finite values).
fn validate_csr(parts: &CsrParts, n_basis: usize) -> Result<()> {
    let [rows, cols] = parts.shape;
    if n_basis == 0 || rows == 0 || rows % n_basis != 0 {
        return Err(LayerError::parameter(
            "psi",
            format!("a positive row count divisible by n_basis ({n_basis})"),
            rows,
        ));
    }
    if cols == 0 {
        return Err(LayerError::parameter("psi", "at least one input point (column)", cols));
    }
    if parts.crow.len() != rows + 1 || parts.crow.first() != Some(&0) {
        return Err(LayerError::parameter(
            "psi",
            format!("{} row pointers starting at 0", rows + 1),
            parts.crow.len(),
        ));
    }
    if parts.crow.windows(2).any(|w| w[1] < w[0])
        || parts.crow[rows] as usize != parts.col.len()
        || parts.col.len() != parts.values.len()
    {
        return Err(LayerError::parameter(
            "psi",
            "non-decreasing row pointers ending at nnz = len(col) = len(values)",
            format!("nnz {} / {} / {}", parts.crow[rows], parts.col.len(), parts.values.len()),
        ));
    }
    if let Some(c) = parts.col.iter().find(|&&c| c < 0 || c as usize >= cols) {
        return Err(LayerError::parameter("psi", format!("column indices in [0, {cols})"), c));
    }
    if let Some(v) = parts.values.iter().find(|v| !v.is_finite()) {
        return Err(LayerError::parameter("psi", "finite values", v));
    }
    Ok(())
}
