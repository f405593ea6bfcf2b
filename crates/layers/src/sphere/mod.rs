//! Layers on the sphere S²: DISCO convolution and its transpose ([`DiscoConvS2`],
//! [`DiscoConvTransposeS2`]), tensor spherical harmonic transforms ([`RealSht`],
//! [`InverseRealSht`]) and the SFNO spectral convolution ([`SpectralConvS2`]).
//!
//! Shapes follow torch-harmonics (layers-spec §1): fields are `(B, C, nlat, nlon)`, latitude
//! index 0 on the north-pole side (colatitude ascending), longitudes `λ_p = 2πp/nlon`.
//! Geometry (Ψ, Legendre tables, quadrature weights) is computed in f64 by `lno-kernels` and
//! `lno-quadrature` and cast to f32 once when the buffers are built.
//!
//! The DISCO contraction runs in longitude-Fourier space with latitude-banded blocks (see
//! [`banded`] and `docs/layers.md`, section "Sphere"); every op is a plain libtorch op, so the
//! same code runs on CPU and CUDA and autograd provides the backward.

pub mod banded;
pub mod disco;
pub mod sht;
pub mod spectral;

pub use banded::BandedFourierOperator;
pub use disco::{DiscoConvS2, DiscoConvTransposeS2, DiscoS2Options};
pub use sht::{InverseRealSht, RealSht, default_lmax};
pub use spectral::SpectralConvS2;

use lno_kernels::SphereGridSpec;
use lno_quadrature::{SphereGrid, SphereGridKind};

use crate::error::{LayerError, Result};

/// The `nlat × nlon` grid of `kind` as the kernels crate wants it (colatitudes, weights in
/// `cos θ`, longitude count).
pub(crate) fn grid_spec(
    name: &'static str,
    kind: SphereGridKind,
    shape: [usize; 2],
) -> Result<SphereGridSpec> {
    let grid = sphere_grid(name, kind, shape)?;
    Ok(SphereGridSpec::new(
        grid.colatitudes().to_vec(),
        grid.latitude_weights().to_vec(),
        grid.nlon(),
    )?)
}

/// A quadrature-crate grid, with the error naming the layer parameter.
pub(crate) fn sphere_grid(
    name: &'static str,
    kind: SphereGridKind,
    shape: [usize; 2],
) -> Result<SphereGrid> {
    SphereGrid::new(kind, shape[0], shape[1]).map_err(|e| {
        LayerError::parameter(name, "[nlat ≥ 2, nlon ≥ 1]", format!("{shape:?} ({e})"))
    })
}

/// Checks that `x` is `[B ≥ 1, channels, nlat, nlon]` of `kind` on `device`.
pub(crate) fn check_field(
    x: &tch::Tensor,
    channels: i64,
    shape: [usize; 2],
    kind: tch::Kind,
    device: tch::Device,
) -> Result<()> {
    let size = x.size();
    let expected = [channels, shape[0] as i64, shape[1] as i64];
    if size.len() != 4 || size[0] < 1 || size[1..] != expected {
        return Err(LayerError::input(
            "x",
            format!("shape [B ≥ 1, {channels}, {}, {}]", shape[0], shape[1]),
            format!("{size:?}"),
        ));
    }
    if x.kind() != kind {
        return Err(LayerError::input(
            "x",
            format!("dtype {kind:?} (the layer's parameters)"),
            format!("{:?}", x.kind()),
        ));
    }
    if x.device() != device {
        return Err(LayerError::input(
            "x",
            format!("device {device:?} (the layer's parameters)"),
            format!("{:?}", x.device()),
        ));
    }
    Ok(())
}
