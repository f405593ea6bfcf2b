//! Tensor spherical harmonic transforms (torch-harmonics `RealSHT` / `InverseRealSHT`,
//! `norm = "ortho"`, Condon–Shortley phase; layers-spec §7.1).
//!
//! Forward: `X_m(θ_k) = (2π/nlon) Σ_p x[k, p] e^{−2πimp/nlon}` (one rfft per latitude), then
//! `a[l, m] = Σ_k w_k P̄ₗᵐ(cos θ_k) X_m(θ_k)`, batched matmuls over `m`. Inverse:
//! `X_m(θ_k) = Σ_l a[l, m] P̄ₗᵐ(cos θ_k)` and an irfft (`norm = "forward"`). The Legendre
//! tables come from `lno-quadrature` in f64 and are stored as f32 buffers.
//!
//! Equatorial symmetry (all three grids have `θ_{n−1−k} = π − θ_k` and equal weights; checked at
//! construction): `P̄ₗᵐ(−x) = (−1)^{l+m} P̄ₗᵐ(x)`, so the forward folds each latitude pair into
//! `X_k ± X_{n−1−k}` and contracts, per `(l parity, m)`, only the `⌈L/2⌉` degrees of one parity
//! against the `⌈nlat/2⌉` northern rows; the inverse evaluates the two parity sums on the
//! northern rows only and unfolds them (`north = E + O`, `south = E − O`). This halves the
//! matmul flops. The spectrum is moved to `m`-major layouts with complex-element transposes
//! (the `[..., 2]` re/im pair stays innermost, so `(batch, re/im)` is one matmul dimension) and
//! the inverse zero-pads to `nlon/2 + 1` in the same copy as its transpose; at 256×512 these
//! copies, not the matmuls, are most of the time. A grid that is not symmetric keeps the dense
//! path (one `[L, nlat]` matmul per `m`), which is also the tests' oracle (`new_dense`).

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

/// Validated `(lmax, mmax)`, the dense `(mmax, lmax, nlat)` Legendre table, the weights and
/// whether the grid is symmetric about the equator.
struct Tables {
    nlat: usize,
    lmax: usize,
    mmax: usize,
    dense: Vec<f64>,
    weights: Vec<f64>,
    symmetric: bool,
}

impl Tables {
    fn p(&self, m: usize, l: usize, k: usize) -> f64 {
        self.dense[(m * self.lmax + l) * self.nlat + k]
    }

    /// `⌈nlat/2⌉` northern rows (the equator included for odd `nlat`) and `⌈lmax/2⌉` degrees
    /// per parity.
    fn halves(&self) -> (usize, usize) {
        (self.nlat.div_ceil(2), self.lmax.div_ceil(2))
    }
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
    let (theta, w) = (g.colatitudes(), g.latitude_weights());
    let wmax = w.iter().fold(0f64, |a, &b| a.max(b.abs()));
    let symmetric = (0..nlat).all(|k| {
        let j = nlat - 1 - k;
        (theta[k] + theta[j] - std::f64::consts::PI).abs() < 1e-12
            && (w[k] - w[j]).abs() <= 1e-12 * wmax
    });
    Ok(Tables { nlat, lmax, mmax, dense: table.to_dense(), weights: w.to_vec(), symmetric })
}

/// `(−1)^{p+m}` as an f32 tensor `[parities, mmax, 1, 1]` (`parities` = 2 or 1).
fn parity_signs(parities: usize, mmax: usize, device: Device) -> Result<Tensor> {
    let s: Vec<f32> = (0..parities * mmax)
        .map(|i| if (i / mmax + i % mmax).is_multiple_of(2) { 1.0 } else { -1.0 })
        .collect();
    Ok(Tensor::f_from_slice(&s)?
        .f_view([parities as i64, mmax as i64, 1, 1])?
        .f_to_device(device)?)
}

fn f32_tensor(buf: &[f32], shape: [usize; 3], device: Device) -> Result<Tensor> {
    Ok(Tensor::f_from_slice(buf)?
        .f_view([shape[0] as i64, shape[1] as i64, shape[2] as i64])?
        .f_to_device(device)?)
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

/// The Legendre contraction of a transform: dense, or split by equatorial parity.
#[derive(Debug)]
enum Path {
    /// Forward `[mmax, lmax, nlat]` (`2π w_k P̄ₗᵐ(cos θ_k)`); inverse `[mmax, nlat, lmax]`.
    Dense(Tensor),
    /// Forward `[2·mmax, ⌈L/2⌉, ⌈nlat/2⌉]` (parity `p` of `l = 2j + p` outermost, the equator
    /// row halved because it is folded with itself); inverse `[2·mmax, ⌈nlat/2⌉, ⌈L/2⌉]`;
    /// degrees `l ≥ lmax` are zero. Signs `(−1)^{p+m}`: forward `[2, mmax, 1, 1]`, inverse
    /// `[1, mmax, 1, 1]` (`(−1)^m`).
    Parity { table: Tensor, signs: Tensor },
}

/// Forward real SHT: `x [..., nlat, nlon]` (real) → `a [..., lmax, mmax]` (complex).
#[derive(Debug)]
pub struct RealSht {
    nlat: usize,
    nlon: usize,
    lmax: usize,
    mmax: usize,
    grid: SphereGridKind,
    path: Path,
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
        Self::build(nlat, nlon, lmax, mmax, grid, device, false)
    }

    /// The same transform without the equatorial-symmetry split (one dense matmul per `m`): the
    /// slow, obviously correct oracle of the tests.
    ///
    /// # Errors
    /// As [`RealSht::new`].
    #[doc(hidden)]
    pub fn new_dense(
        nlat: usize,
        nlon: usize,
        lmax: Option<usize>,
        mmax: Option<usize>,
        grid: SphereGridKind,
        device: Device,
    ) -> Result<Self> {
        Self::build(nlat, nlon, lmax, mmax, grid, device, true)
    }

    fn build(
        nlat: usize,
        nlon: usize,
        lmax: Option<usize>,
        mmax: Option<usize>,
        grid: SphereGridKind,
        device: Device,
        dense: bool,
    ) -> Result<Self> {
        let t = tables(nlat, nlon, lmax, mmax, grid)?;
        let (lm, mm) = (t.lmax, t.mmax);
        // The 2π of the longitude integral is folded into the table, saving a pass over the
        // spectrum per call.
        let wp =
            |m: usize, l: usize, k: usize| 2.0 * std::f64::consts::PI * t.p(m, l, k) * t.weights[k];
        let path = if dense || !t.symmetric {
            let mut buf = vec![0f32; mm * lm * nlat];
            for m in 0..mm {
                for l in 0..lm {
                    for k in 0..nlat {
                        buf[(m * lm + l) * nlat + k] = wp(m, l, k) as f32;
                    }
                }
            }
            Path::Dense(f32_tensor(&buf, [mm, lm, nlat], device)?)
        } else {
            let (h, le) = t.halves();
            let mut buf = vec![0f32; 2 * mm * le * h];
            for p in 0..2 {
                for m in 0..mm {
                    for j in 0..le {
                        let l = 2 * j + p;
                        if l >= lm {
                            continue;
                        }
                        for k in 0..h {
                            // The odd-nlat equator row is its own mirror: X_c ± X_c.
                            let half = if 2 * k + 1 == nlat { 0.5 } else { 1.0 };
                            buf[((p * mm + m) * le + j) * h + k] = (half * wp(m, l, k)) as f32;
                        }
                    }
                }
            }
            let table = f32_tensor(&buf, [2 * mm, le, h], device)?;
            Path::Parity { table, signs: parity_signs(2, mm, device)? }
        };
        Ok(Self { nlat, nlon, lmax: lm, mmax: mm, grid, path })
    }

    /// `x [..., nlat, nlon]` (f32 or f64) → `[..., lmax, mmax]` (complex64 / complex128).
    ///
    /// # Errors
    /// Trailing dims other than `(nlat, nlon)`.
    pub fn f_forward(&self, x: &Tensor) -> Result<Tensor> {
        let (x, lead) = flatten_leading(x, "x", [self.nlat as i64, self.nlon as i64])?;
        let n = x.size()[0];
        let (nlat, l, m) = (self.nlat as i64, self.lmax as i64, self.mmax as i64);
        // [m, nlat, N] complex view: one transpose of complex elements later puts (N, re/im)
        // together as the matmul's column dimension.
        let y = x.f_fft_rfft(None, -1, "forward")?.f_narrow(2, 0, m)?.f_permute([2, 1, 0])?;
        let a = match &self.path {
            Path::Dense(w) => {
                let y = y.f_contiguous()?.f_view_as_real()?.f_reshape([m, nlat, 2 * n])?;
                table_for(w, &x)?
                    .f_bmm(&y)?
                    .f_view([m, l, n, 2])?
                    .f_view_as_complex()?
                    .f_permute([2, 1, 0])?
                    .f_contiguous()?
            }
            Path::Parity { table, signs } => {
                let h = self.nlat.div_ceil(2) as i64;
                let le = self.lmax.div_ceil(2) as i64;
                let half = |t: Tensor| -> Result<Tensor> {
                    Ok(t.f_contiguous()?.f_view_as_real()?.f_reshape([1, m, h, 2 * n])?)
                };
                // Row k: X_k and X_{n−1−k} (the equator twice for odd nlat).
                let north = half(y.f_narrow(1, 0, h)?)?;
                let south = half(y.f_narrow(1, nlat - h, h)?.f_flip([1])?)?;
                // z[p, m] = X_k + (−1)^{p+m} X_{n−1−k}: the rows that degrees of parity p meet.
                let z = north.f_addcmul(&table_for(signs, &x)?, &south)?.f_reshape([
                    2 * m,
                    h,
                    2 * n,
                ])?;
                table_for(table, &x)?
                    .f_bmm(&z)?
                    .f_view([2, m, le, n, 2])?
                    .f_view_as_complex()?
                    .f_permute([3, 2, 0, 1])?
                    .f_contiguous()?
                    .f_reshape([n, 2 * le, m])?
                    .f_narrow(1, 0, l)?
            }
        };
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

    /// Whether the equatorial-symmetry split is used (false for [`RealSht::new_dense`]).
    #[doc(hidden)]
    pub fn uses_symmetry(&self) -> bool {
        matches!(self.path, Path::Parity { .. })
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
    path: Path,
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
        Self::build(nlat, nlon, lmax, mmax, grid, device, false)
    }

    /// The same transform without the equatorial-symmetry split: the tests' oracle.
    ///
    /// # Errors
    /// As [`RealSht::new`].
    #[doc(hidden)]
    pub fn new_dense(
        nlat: usize,
        nlon: usize,
        lmax: Option<usize>,
        mmax: Option<usize>,
        grid: SphereGridKind,
        device: Device,
    ) -> Result<Self> {
        Self::build(nlat, nlon, lmax, mmax, grid, device, true)
    }

    fn build(
        nlat: usize,
        nlon: usize,
        lmax: Option<usize>,
        mmax: Option<usize>,
        grid: SphereGridKind,
        device: Device,
        dense: bool,
    ) -> Result<Self> {
        let t = tables(nlat, nlon, lmax, mmax, grid)?;
        let (lm, mm) = (t.lmax, t.mmax);
        let path = if dense || !t.symmetric {
            let mut buf = vec![0f32; mm * nlat * lm];
            for m in 0..mm {
                for l in 0..lm {
                    for k in 0..nlat {
                        buf[(m * nlat + k) * lm + l] = t.p(m, l, k) as f32;
                    }
                }
            }
            Path::Dense(f32_tensor(&buf, [mm, nlat, lm], device)?)
        } else {
            let (h, le) = t.halves();
            let mut buf = vec![0f32; 2 * mm * h * le];
            for p in 0..2 {
                for m in 0..mm {
                    for k in 0..h {
                        for j in 0..le {
                            let l = 2 * j + p;
                            if l < lm {
                                buf[((p * mm + m) * h + k) * le + j] = t.p(m, l, k) as f32;
                            }
                        }
                    }
                }
            }
            let table = f32_tensor(&buf, [2 * mm, h, le], device)?;
            Path::Parity { table, signs: parity_signs(1, mm, device)? }
        };
        Ok(Self { nlat, nlon, lmax: lm, mmax: mm, grid, path })
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
        let (nlat, l, m) = (self.nlat as i64, self.lmax as i64, self.mmax as i64);
        // `[m, nlat, 2N]` (re/im innermost) on the grid.
        let x = match &self.path {
            Path::Dense(p) => {
                let a = a.f_permute([2, 1, 0])?.f_contiguous()?.f_view_as_real()?;
                table_for(p, &a)?.f_bmm(&a.f_reshape([m, l, 2 * n])?)?
            }
            Path::Parity { table, signs } => {
                let h = self.nlat.div_ceil(2) as i64;
                let le = self.lmax.div_ceil(2) as i64;
                // Degrees padded to 2⌈L/2⌉, then [parity, m, j, N] (l = 2j + parity).
                let a = if 2 * le > l {
                    a.f_view_as_real()?
                        .f_constant_pad_nd([0, 0, 0, 0, 0, 1])?
                        .f_view_as_complex()?
                } else {
                    a
                };
                let a = a
                    .f_view([n, le, 2, m])?
                    .f_permute([2, 3, 1, 0])?
                    .f_contiguous()?
                    .f_view_as_real()?
                    .f_reshape([2 * m, le, 2 * n])?;
                let r = table_for(table, &a)?.f_bmm(&a)?.f_view([2, m, h, 2 * n])?;
                let (e, o) = (r.f_select(0, 0)?, r.f_select(0, 1)?);
                // North: E + O; south (rows mirrored): (−1)^m (even-l sum − odd-l sum).
                let north = e.f_add(&o)?;
                let sign = table_for(signs, &a)?.f_view([m, 1, 1])?;
                let south = e.f_sub(&o)?.f_mul(&sign)?.f_narrow(1, 0, nlat - h)?.f_flip([1])?;
                Tensor::f_cat(&[north, south], 1)?
            }
        };
        let f = self.nlon as i64 / 2 + 1;
        // [N, nlat, m, 2] view → zero-padded to nlon/2 + 1 modes in the same copy.
        let x = x
            .f_view([m, nlat, n, 2])?
            .f_permute([2, 1, 0, 3])?
            .f_constant_pad_nd([0, 0, 0, f - m])?
            .f_contiguous()?
            .f_view_as_complex()?
            .f_fft_irfft(self.nlon as i64, -1, "forward")?;
        let mut shape = lead;
        shape.extend([nlat, self.nlon as i64]);
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

    /// Whether the equatorial-symmetry split is used (false for [`InverseRealSht::new_dense`]).
    #[doc(hidden)]
    pub fn uses_symmetry(&self) -> bool {
        matches!(self.path, Path::Parity { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SphereGridKind::{Equiangular as Eq, LegendreGauss as Lg, Lobatto as Lo};

    /// `(grid, nlat, nlon, lmax, mmax)`.
    type Case = (SphereGridKind, usize, usize, Option<usize>, Option<usize>);

    /// Even and odd `nlat` on all three grids, with default and non-default (odd `lmax`,
    /// truncated `mmax`) modes.
    fn cases() -> Vec<Case> {
        let mut v = vec![];
        for kind in [Eq, Lg, Lo] {
            for (h, w) in [(12, 24), (13, 26)] {
                v.push((kind, h, w, None, None));
                v.push((kind, h, w, Some(9), Some(7)));
            }
        }
        v
    }

    fn rel(a: &Tensor, b: &Tensor) -> f64 {
        let (a, b) = (a.view_as_real_if_complex(), b.view_as_real_if_complex());
        let d = (&a - &b).abs().max().double_value(&[]);
        d / b.abs().max().double_value(&[]).max(1e-300)
    }

    trait ViewReal {
        fn view_as_real_if_complex(&self) -> Tensor;
    }

    impl ViewReal for Tensor {
        fn view_as_real_if_complex(&self) -> Tensor {
            if self.is_complex() { self.view_as_real() } else { self.shallow_clone() }
        }
    }

    fn pair((kind, h, w, l, m): Case) -> (RealSht, RealSht, InverseRealSht, InverseRealSht) {
        let d = Device::Cpu;
        let fast = RealSht::new(h, w, l, m, kind, d).unwrap();
        let dense = RealSht::new_dense(h, w, l, m, kind, d).unwrap();
        let ifast = InverseRealSht::new(h, w, l, m, kind, d).unwrap();
        let idense = InverseRealSht::new_dense(h, w, l, m, kind, d).unwrap();
        assert!(fast.uses_symmetry() && ifast.uses_symmetry(), "{kind:?} {h}×{w}");
        assert!(!dense.uses_symmetry() && !idense.uses_symmetry());
        (fast, dense, ifast, idense)
    }

    #[test]
    fn symmetric_forward_equals_dense_oracle_on_all_grids_f64_and_f32() {
        tch::manual_seed(1);
        for case in cases() {
            let (fast, dense, _, _) = pair(case);
            let (_, h, w, _, _) = case;
            let x = Tensor::randn([2, 3, h as i64, w as i64], (Kind::Double, Device::Cpu));
            let err = rel(&fast.f_forward(&x).unwrap(), &dense.f_forward(&x).unwrap());
            // Same f32-rounded table entries, sums in a different order: f64 round-off only.
            assert!(err < 1e-12, "{case:?} f64: rel err {err}");
            let x = x.to_kind(Kind::Float);
            let err = rel(&fast.f_forward(&x).unwrap(), &dense.f_forward(&x).unwrap());
            // The same sums in f32 (≤ 13 latitudes): f32 round-off.
            assert!(err < 1e-5, "{case:?} f32: rel err {err}");
        }
    }

    #[test]
    fn symmetric_inverse_equals_dense_oracle_on_all_grids_f64_and_f32() {
        tch::manual_seed(2);
        for case in cases() {
            let (fast, _, ifast, idense) = pair(case);
            let (l, m) = fast.modes();
            let a = Tensor::randn([2, 3, l as i64, m as i64], (Kind::ComplexDouble, Device::Cpu));
            let err = rel(&ifast.f_forward(&a).unwrap(), &idense.f_forward(&a).unwrap());
            // Same f32-rounded table entries, sums in a different order: f64 round-off only.
            assert!(err < 1e-12, "{case:?} f64: rel err {err}");
            let a = a.to_kind(Kind::ComplexFloat);
            let err = rel(&ifast.f_forward(&a).unwrap(), &idense.f_forward(&a).unwrap());
            // The same sums in f32 (≤ 13 degrees): f32 round-off.
            assert!(err < 1e-5, "{case:?} f32: rel err {err}");
        }
    }

    #[test]
    fn symmetric_round_trip_recovers_band_limited_spectra_even_and_odd_nlat() {
        tch::manual_seed(3);
        // Legendre–Gauss with lmax = nlat is exact for band-limited data.
        for (h, w) in [(12, 24), (13, 26)] {
            let (sht, _, isht, _) = pair((Lg, h, w, None, Some(h)));
            let (l, m) = sht.modes();
            let mut a = Tensor::randn([4, l as i64, m as i64], (Kind::ComplexDouble, Device::Cpu));
            // Band limit l ≥ m and a real m = 0 column (a real field).
            let mask = Tensor::ones([l as i64, m as i64], (Kind::Double, Device::Cpu)).tril(0);
            a = &a * &mask;
            let re0 = a.narrow(2, 0, 1).real();
            a = Tensor::cat(&[re0.to_kind(Kind::ComplexDouble), a.narrow(2, 1, m as i64 - 1)], 2);
            let back = sht.f_forward(&isht.f_forward(&a).unwrap()).unwrap();
            let err = rel(&back, &a);
            // f32-rounded tables (stored as f32, used in f64): ~1e-7 per entry.
            assert!(err < 1e-5, "{h}×{w}: rel err {err}");
        }
    }

    #[test]
    fn symmetric_gradients_equal_dense_gradients_f64() {
        tch::manual_seed(4);
        for case in cases() {
            let (fast, dense, ifast, idense) = pair(case);
            let (_, h, w, _, _) = case;
            let x = Tensor::randn([2, h as i64, w as i64], (Kind::Double, Device::Cpu));
            let (l, m) = fast.modes();
            let probe = Tensor::randn([2, l as i64, m as i64], (Kind::ComplexDouble, Device::Cpu));
            let grad = |sht: &RealSht, isht: &InverseRealSht| {
                let xg = x.detach().set_requires_grad(true);
                let a = sht.f_forward(&xg).unwrap();
                // A real loss through both transforms and the complex spectrum.
                let y = isht.f_forward(&(&a * &probe)).unwrap();
                let loss =
                    (&y * &y).sum(Kind::Double) + (&a * &probe.conj()).real().sum(Kind::Double);
                loss.backward();
                xg.grad()
            };
            let err = rel(&grad(&fast, &ifast), &grad(&dense, &idense));
            // Same f32-rounded tables in f64; the backward is the same sums reordered.
            assert!(err < 1e-12, "{case:?}: rel err {err}");
        }
    }

    #[test]
    fn all_three_grids_pass_the_equatorial_symmetry_check() {
        // Even and odd nlat, including the 2-row minimum; an asymmetric grid would take the dense path.
        for kind in [Eq, Lg, Lo] {
            for h in [2, 7, 8] {
                assert!(tables(h, 2 * h, None, None, kind).unwrap().symmetric, "{kind:?} {h}");
            }
        }
    }
}
