//! Tensor spherical harmonic transforms (torch-harmonics `RealSHT` / `InverseRealSHT`,
//! `norm = "ortho"`, Condon–Shortley phase; layers-spec §7.1).
//!
//! Forward: `X_m(θ_k) = (2π/nlon) Σ_p x[k, p] e^{−2πimp/nlon}` (one rfft per latitude), then
//! `a[l, m] = Σ_k w_k P̄ₗᵐ(cos θ_k) X_m(θ_k)`, one batched matmul over `m`. Inverse:
//! `X_m(θ_k) = Σ_l a[l, m] P̄ₗᵐ(cos θ_k)` and an irfft (`norm = "forward"`). The Legendre
//! tables come from `lno-quadrature` in f64 and are stored as f32 buffers.

use lno_quadrature::SphereGridKind;
use lno_quadrature::legendre::{CsPhase, LegendreParts, LegendreTable};
use tch::{Device, Kind, Tensor};

use super::sphere_grid;
use crate::error::{LayerError, Result};

/// torch-harmonics 0.7.4's default number of degrees for a grid with `nlat` latitudes: `nlat`
/// for equiangular and Legendre–Gauss, `nlat − 1` for Lobatto.
pub fn default_lmax(kind: SphereGridKind, nlat: usize) -> usize {
    match kind {
        SphereGridKind::Lobatto => nlat.saturating_sub(1).max(1),
        _ => nlat,
    }
}

/// Validated `(lmax, mmax)` and the dense `(mmax, lmax, nlat)` Legendre table and weights.
struct Tables {
    lmax: usize,
    mmax: usize,
    dense: Vec<f64>,
    weights: Vec<f64>,
}

fn tables(
    nlat: usize,
    nlon: usize,
    lmax: Option<usize>,
    mmax: Option<usize>,
    grid: SphereGridKind,
) -> Result<Tables> {
    let g = sphere_grid("shape", grid, [nlat, nlon])?;
    let lmax = lmax.unwrap_or_else(|| default_lmax(grid, nlat));
    let mmax = mmax.unwrap_or(nlon / 2 + 1);
    if lmax == 0 {
        return Err(LayerError::parameter("lmax", "at least 1", lmax));
    }
    if mmax == 0 || mmax > nlon / 2 + 1 {
        return Err(LayerError::parameter(
            "mmax",
            format!("1 ..= nlon/2 + 1 = {}", nlon / 2 + 1),
            mmax,
        ));
    }
    let table =
        LegendreTable::new(lmax, mmax, g.colatitudes(), CsPhase::Include, LegendreParts::Values)
            .map_err(|e| LayerError::parameter("lmax", "a valid Legendre table", e))?;
    Ok(Tables { lmax, mmax, dense: table.to_dense(), weights: g.latitude_weights().to_vec() })
}

/// Flattens the leading dims of `x [..., a, b]` → `([N, a, b], leading dims)`.
fn flatten_leading(x: &Tensor, name: &'static str, tail: [i64; 2]) -> Result<(Tensor, Vec<i64>)> {
    let size = x.size();
    if size.len() < 2 || size[size.len() - 2..] != tail {
        return Err(LayerError::input(
            name,
            format!("shape [..., {}, {}]", tail[0], tail[1]),
            format!("{size:?}"),
        ));
    }
    let lead = size[..size.len() - 2].to_vec();
    Ok((x.f_reshape([-1, tail[0], tail[1]])?, lead))
}

fn table_for(t: &Tensor, x: &Tensor) -> Result<Tensor> {
    let kind = match x.kind() {
        Kind::Double | Kind::ComplexDouble => Kind::Double,
        _ => Kind::Float,
    };
    Ok(if t.kind() == kind && t.device() == x.device() {
        t.shallow_clone()
    } else {
        t.f_to_kind(kind)?.f_to_device(x.device())?
    })
}

/// Forward real SHT: `x [..., nlat, nlon]` (real) → `a [..., lmax, mmax]` (complex).
#[derive(Debug)]
pub struct RealSht {
    nlat: usize,
    nlon: usize,
    lmax: usize,
    mmax: usize,
    grid: SphereGridKind,
    /// `[mmax, nlat, lmax]`: `2π w_k P̄ₗᵐ(cos θ_k)`, f32.
    weights: Tensor,
}

impl RealSht {
    /// Transform on an `nlat × nlon` grid of `grid`; `None` picks torch-harmonics 0.7.4's
    /// defaults (`lmax` from [`default_lmax`], `mmax = nlon/2 + 1`).
    ///
    /// # Errors
    /// Invalid grid shape, `lmax = 0`, or `mmax` outside `1 ..= nlon/2 + 1`.
    pub fn new(
        nlat: usize,
        nlon: usize,
        lmax: Option<usize>,
        mmax: Option<usize>,
        grid: SphereGridKind,
        device: Device,
    ) -> Result<Self> {
        let t = tables(nlat, nlon, lmax, mmax, grid)?;
        // 2π · dense[m][l][k] · w_k, transposed to [m][k][l] for the batched matmul (the 2π of
        // the longitude integral is folded in here, saving a pass over the spectrum per call).
        let mut buf = vec![0f32; t.mmax * nlat * t.lmax];
        for m in 0..t.mmax {
            for l in 0..t.lmax {
                for k in 0..nlat {
                    let v = 2.0
                        * std::f64::consts::PI
                        * t.dense[(m * t.lmax + l) * nlat + k]
                        * t.weights[k];
                    buf[(m * nlat + k) * t.lmax + l] = v as f32;
                }
            }
        }
        let weights = Tensor::f_from_slice(&buf)?
            .f_view([t.mmax as i64, nlat as i64, t.lmax as i64])?
            .f_to_device(device)?;
        Ok(Self { nlat, nlon, lmax: t.lmax, mmax: t.mmax, grid, weights })
    }

    /// `x [..., nlat, nlon]` (f32 or f64) → `[..., lmax, mmax]` (complex64 / complex128).
    ///
    /// # Errors
    /// Trailing dims other than `(nlat, nlon)`.
    pub fn f_forward(&self, x: &Tensor) -> Result<Tensor> {
        let (x, lead) = flatten_leading(x, "x", [self.nlat as i64, self.nlon as i64])?;
        let n = x.size()[0];
        let (h, l, m) = (self.nlat as i64, self.lmax as i64, self.mmax as i64);
        let w = table_for(&self.weights, &x)?;
        let xr = x
            .f_fft_rfft(None, -1, "forward")?
            .f_view_as_real()?
            .f_narrow(2, 0, m)?
            .f_permute([2, 0, 3, 1])?
            .f_reshape([m, 2 * n, h])?;
        let a = xr
            .f_bmm(&w)?
            .f_view([m, n, 2, l])?
            .f_permute([1, 3, 0, 2])?
            .f_contiguous()?
            .f_view_as_complex()?;
        let mut shape = lead;
        shape.extend([l, m]);
        Ok(a.f_reshape(shape.as_slice())?)
    }

    /// `(lmax, mmax)`.
    pub fn modes(&self) -> (usize, usize) {
        (self.lmax, self.mmax)
    }

    /// `(nlat, nlon)`.
    pub fn shape(&self) -> (usize, usize) {
        (self.nlat, self.nlon)
    }

    /// The latitude grid.
    pub fn grid(&self) -> SphereGridKind {
        self.grid
    }
}

/// Inverse real SHT: `a [..., lmax, mmax]` (complex) → `x [..., nlat, nlon]` (real).
#[derive(Debug)]
pub struct InverseRealSht {
    nlat: usize,
    nlon: usize,
    lmax: usize,
    mmax: usize,
    grid: SphereGridKind,
    /// `[mmax, lmax, nlat]`: `P̄ₗᵐ(cos θ_k)`, f32.
    pct: Tensor,
}

impl InverseRealSht {
    /// Inverse transform onto an `nlat × nlon` grid of `grid`; defaults as [`RealSht::new`].
    ///
    /// # Errors
    /// As [`RealSht::new`].
    pub fn new(
        nlat: usize,
        nlon: usize,
        lmax: Option<usize>,
        mmax: Option<usize>,
        grid: SphereGridKind,
        device: Device,
    ) -> Result<Self> {
        let t = tables(nlat, nlon, lmax, mmax, grid)?;
        let buf: Vec<f32> = t.dense.iter().map(|&v| v as f32).collect();
        let pct = Tensor::f_from_slice(&buf)?
            .f_view([t.mmax as i64, t.lmax as i64, nlat as i64])?
            .f_to_device(device)?;
        Ok(Self { nlat, nlon, lmax: t.lmax, mmax: t.mmax, grid, pct })
    }

    /// `a [..., lmax, mmax]` (complex) → `[..., nlat, nlon]` (real).
    ///
    /// # Errors
    /// Trailing dims other than `(lmax, mmax)` or a real input.
    pub fn f_forward(&self, a: &Tensor) -> Result<Tensor> {
        if !matches!(a.kind(), Kind::ComplexFloat | Kind::ComplexDouble) {
            return Err(LayerError::input("a", "a complex tensor", format!("{:?}", a.kind())));
        }
        let (a, lead) = flatten_leading(a, "a", [self.lmax as i64, self.mmax as i64])?;
        let n = a.size()[0];
        let (h, l, m) = (self.nlat as i64, self.lmax as i64, self.mmax as i64);
        let p = table_for(&self.pct, &a)?;
        let ar = a.f_view_as_real()?.f_permute([2, 0, 3, 1])?.f_reshape([m, 2 * n, l])?;
        let x = ar
            .f_bmm(&p)?
            .f_view([m, n, 2, h])?
            .f_permute([1, 3, 0, 2])?
            .f_contiguous()?
            .f_view_as_complex()?
            .f_fft_irfft(self.nlon as i64, -1, "forward")?;
        let mut shape = lead;
        shape.extend([h, self.nlon as i64]);
        Ok(x.f_reshape(shape.as_slice())?)
    }

    /// `(lmax, mmax)`.
    pub fn modes(&self) -> (usize, usize) {
        (self.lmax, self.mmax)
    }

    /// `(nlat, nlon)`.
    pub fn shape(&self) -> (usize, usize) {
        (self.nlat, self.nlon)
    }

    /// The latitude grid.
    pub fn grid(&self) -> SphereGridKind {
        self.grid
    }
}
