//! Real spherical harmonic transforms (scalar, and vector via vorticity and divergence) on
//! the grids of [`SphereGrid`].
//!
//! **Scalar transform** (torch-harmonics `RealSHT`/`InverseRealSHT`, `norm="ortho"`,
//! layers-spec §7.1): for a real field `f[k, p]` on `nlat × nlon` points,
//! `X_m(θ_k) = (2π/nlon) Σ_p f[k,p] e^{−2πimp/nlon}` (one real FFT per latitude) and
//! `a_{l,m} = Σ_k w_k P̄ₗᵐ(cos θ_k) X_m(θ_k)`, `0 ≤ m ≤ l < lmax`, `m < mmax`, with `w_k` the
//! latitude weights in `cos θ` ([`SphereGrid::latitude_weights`]) and `P̄` from
//! [`crate::legendre`]. The inverse is `X_m(θ_k) = Σ_l a_{l,m} P̄ₗᵐ(cos θ_k)` followed by
//! `f[k,p] = Re X_0 + 2 Re Σ_{m≥1} X_m e^{2πimp/nlon}` (the Nyquist order `m = nlon/2`, if
//! present, is counted once, as torch's `irfft` does).
//!
//! **Layout** of a [`Spectrum`]: `(lmax, mmax)` row-major complex, element `(l, m)` at
//! `l·mmax + m`, zeros for `l < m` — torch-harmonics' output shape.
//!
//! **Truncation.** Unlike torch-harmonics, `lmax` may not exceed what the grid integrates
//! exactly ([`SphereGrid::max_lmax`]), so that forward ∘ inverse is the identity on spectra
//! and inverse ∘ forward on band-limited fields. torch-harmonics' default for the equiangular
//! grid (`lmax = nlat`) is about twice that and aliases. `mmax ≤ nlon/2 + 1`.
//!
//! **Speed.** Grids are symmetric about the equator and `P̄ₗᵐ(−x) = (−1)^{l+m} P̄ₗᵐ(x)`, so the
//! Legendre tables cover the northern half only and each transform works on the even and odd
//! combinations of mirrored rings, halving both memory and flops. Work is split across orders
//! `m` (Legendre step) and latitudes (FFT step) with rayon.
//!
//! **Vector transform** ([`VectorSht`]): wind `(u, v)` with `u` eastward and `v` northward
//! (`u = V_λ`, `v = −V_θ`) on a sphere of radius `r` maps to the spectra of the relative
//! vorticity `ζ = k̂·∇×V` and divergence `δ = ∇·V`. Integrating by parts against `Y* = P̄ e^{−imλ}`,
//! `δ_{l,m} = (1/r) Σ_k w_k [dP̄/dθ · V_m + i (mP̄/sin θ) U_m]` and
//! `ζ_{l,m} = (1/r) Σ_k w_k [−dP̄/dθ · U_m + i (mP̄/sin θ) V_m]`, with `U_m, V_m` the Fourier
//! coefficients of `u, v` as above. The inverse goes through the stream function and velocity
//! potential, `ψ_{l,m} = −r² ζ_{l,m}/(l(l+1))`, `χ_{l,m} = −r² δ_{l,m}/(l(l+1))`:
//! `U_m = (1/r) Σ_l [i (mP̄/sin θ) χ + dP̄/dθ ψ]`, `V_m = (1/r) Σ_l [−dP̄/dθ χ + i (mP̄/sin θ) ψ]`.
//! The `l = 0` coefficients of `ζ` and `δ` vanish for any smooth wind and are ignored by the
//! inverse.

use std::sync::Arc;

use rayon::prelude::*;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use rustfft::num_complex::Complex64;

use crate::error::{QuadratureError, Result};
use crate::legendre::{CsPhase, LegendreParts, LegendreTable};
use crate::sphere::SphereGrid;

/// Spherical harmonic coefficients `a_{l,m}`, `0 ≤ l < lmax`, `0 ≤ m < mmax`, stored
/// row-major as `(lmax, mmax)` (element `(l, m)` at `l·mmax + m`; zero for `l < m`).
#[derive(Debug, Clone, PartialEq)]
pub struct Spectrum {
    lmax: usize,
    mmax: usize,
    coeffs: Vec<Complex64>,
}

impl Spectrum {
    /// All-zero spectrum.
    pub fn zeros(lmax: usize, mmax: usize) -> Self {
        Self { lmax, mmax, coeffs: vec![Complex64::new(0.0, 0.0); lmax * mmax] }
    }

    /// Number of degrees.
    pub fn lmax(&self) -> usize {
        self.lmax
    }

    /// Number of orders.
    pub fn mmax(&self) -> usize {
        self.mmax
    }

    /// Coefficient `(l, m)`, or `None` outside `l < lmax`, `m < mmax`.
    pub fn get(&self, l: usize, m: usize) -> Option<Complex64> {
        (l < self.lmax && m < self.mmax).then(|| self.coeffs[l * self.mmax + m])
    }

    /// Sets coefficient `(l, m)`.
    ///
    /// # Errors
    /// `l ≥ lmax`, `m ≥ mmax`, or `m > l` (no such harmonic).
    pub fn set(&mut self, l: usize, m: usize, value: Complex64) -> Result<()> {
        if l >= self.lmax {
            return Err(QuadratureError::invalid("l", format!("below lmax = {}", self.lmax), l));
        }
        if m >= self.mmax || m > l {
            return Err(QuadratureError::invalid(
                "m",
                format!("at most l = {l} and below mmax = {}", self.mmax),
                m,
            ));
        }
        self.coeffs[l * self.mmax + m] = value;
        Ok(())
    }

    /// The coefficients in the `(lmax, mmax)` row-major layout.
    pub fn as_slice(&self) -> &[Complex64] {
        &self.coeffs
    }

    /// Mutable coefficients in the `(lmax, mmax)` row-major layout. Entries with `l < m` are
    /// ignored by the inverse transforms.
    pub fn as_mut_slice(&mut self) -> &mut [Complex64] {
        &mut self.coeffs
    }
}

/// Grid bookkeeping and FFT plans shared by the scalar and vector transforms.
struct Core {
    nlat: usize,
    nlon: usize,
    /// Number of rings in the northern half, equator included: `⌈nlat/2⌉`.
    nh: usize,
    lmax: usize,
    mmax: usize,
    /// Orders that carry coefficients: `min(mmax, lmax)`.
    m_eff: usize,
    /// Number of real-FFT outputs per ring: `nlon/2 + 1`.
    nfreq: usize,
    /// Forward scaling per ring: `w_k · 2π/nlon`.
    fwd_scale: Vec<f64>,
    r2c: Arc<dyn RealToComplex<f64>>,
    c2r: Arc<dyn ComplexToReal<f64>>,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("nlat", &self.nlat)
            .field("nlon", &self.nlon)
            .field("lmax", &self.lmax)
            .field("mmax", &self.mmax)
            .finish_non_exhaustive()
    }
}

fn fft_err(e: realfft::FftError) -> QuadratureError {
    QuadratureError::Fft { detail: e.to_string() }
}

impl Core {
    fn new(grid: &SphereGrid, lmax: usize, mmax: usize) -> Result<Self> {
        let max_l = grid.max_lmax();
        if lmax == 0 || lmax > max_l {
            return Err(QuadratureError::invalid(
                "lmax",
                format!(
                    "1 ≤ lmax ≤ {max_l} (what a {} grid with nlat = {} integrates exactly)",
                    grid.kind().torch_harmonics_name(),
                    grid.nlat()
                ),
                lmax,
            ));
        }
        let nfreq = grid.nlon() / 2 + 1;
        if mmax == 0 || mmax > nfreq {
            return Err(QuadratureError::invalid(
                "mmax",
                format!("1 ≤ mmax ≤ nlon/2 + 1 = {nfreq}"),
                mmax,
            ));
        }
        let mut planner = RealFftPlanner::<f64>::new();
        let dlon = 2.0 * std::f64::consts::PI / grid.nlon() as f64;
        Ok(Self {
            nlat: grid.nlat(),
            nlon: grid.nlon(),
            nh: grid.nlat().div_ceil(2),
            lmax,
            mmax,
            m_eff: mmax.min(lmax),
            nfreq,
            fwd_scale: grid.latitude_weights().iter().map(|w| w * dlon).collect(),
            r2c: planner.plan_fft_forward(grid.nlon()),
            c2r: planner.plan_fft_inverse(grid.nlon()),
        })
    }

    fn check_field(&self, name: &'static str, len: usize) -> Result<()> {
        if len != self.nlat * self.nlon {
            return Err(QuadratureError::invalid(
                name,
                format!("nlat·nlon = {} values", self.nlat * self.nlon),
                len,
            ));
        }
        Ok(())
    }

    fn check_spectrum(&self, name: &'static str, s: &Spectrum) -> Result<()> {
        if s.lmax != self.lmax || s.mmax != self.mmax {
            return Err(QuadratureError::invalid(
                name,
                format!("a spectrum of shape ({}, {})", self.lmax, self.mmax),
                format!("({}, {})", s.lmax, s.mmax),
            ));
        }
        Ok(())
    }

    /// Forward real FFT of every ring, scaled by `w_k · 2π/nlon`: `(nlat, nfreq)` row-major.
    fn rings_forward(&self, field: &[f64]) -> Result<Vec<Complex64>> {
        let mut out = vec![Complex64::new(0.0, 0.0); self.nlat * self.nfreq];
        out.par_chunks_mut(self.nfreq)
            .zip(field.par_chunks(self.nlon))
            .zip(&self.fwd_scale)
            .try_for_each_init(
                || (self.r2c.make_input_vec(), self.r2c.make_scratch_vec()),
                |(buf, scratch), ((row_out, row_in), &scale)| {
                    buf.copy_from_slice(row_in);
                    self.r2c.process_with_scratch(buf, row_out, scratch).map_err(fft_err)?;
                    for c in row_out.iter_mut() {
                        *c *= scale;
                    }
                    Ok(())
                },
            )?;
        Ok(out)
    }

    /// Inverse real FFT of every ring of `(nlat, nfreq)` Fourier coefficients into `out`.
    fn rings_inverse(&self, mut coeffs: Vec<Complex64>, out: &mut [f64]) -> Result<()> {
        let nyquist = self.nlon.is_multiple_of(2).then_some(self.nlon / 2);
        coeffs.par_chunks_mut(self.nfreq).zip(out.par_chunks_mut(self.nlon)).try_for_each_init(
            || self.c2r.make_scratch_vec(),
            |scratch, (row_in, row_out)| {
                // A real field has real m = 0 and Nyquist terms; torch's irfft drops their
                // imaginary parts too.
                row_in[0].im = 0.0;
                if let Some(ny) = nyquist {
                    row_in[ny].im = 0.0;
                }
                self.c2r.process_with_scratch(row_in, row_out, scratch).map_err(fft_err)
            },
        )
    }

    /// Even and odd combinations of mirrored rings for order `m` from `(nlat, nfreq)` data:
    /// `(even_re, even_im, odd_re, odd_im)`, each of length `nh`.
    fn even_odd(&self, rings: &[Complex64], m: usize) -> [Vec<f64>; 4] {
        let mut eo =
            [vec![0.0; self.nh], vec![0.0; self.nh], vec![0.0; self.nh], vec![0.0; self.nh]];
        for k in 0..self.nh {
            let a = rings[k * self.nfreq + m];
            let ks = self.nlat - 1 - k;
            if ks == k {
                // The equator ring is its own mirror image: odd functions vanish there.
                eo[0][k] = a.re;
                eo[1][k] = a.im;
            } else {
                let b = rings[ks * self.nfreq + m];
                eo[0][k] = a.re + b.re;
                eo[1][k] = a.im + b.im;
                eo[2][k] = a.re - b.re;
                eo[3][k] = a.im - b.im;
            }
        }
        eo
    }

    /// Writes the northern values `north = A + B` and southern values `south = A − B` of
    /// order `m` into `(nlat, nfreq)` ring data.
    fn scatter_rings(&self, rings: &mut [Complex64], m: usize, a: [&[f64]; 2], b: [&[f64]; 2]) {
        for k in 0..self.nh {
            let ks = self.nlat - 1 - k;
            let (ar, ai, br, bi) = (a[0][k], a[1][k], b[0][k], b[1][k]);
            rings[k * self.nfreq + m] = Complex64::new(ar + br, ai + bi);
            if ks != k {
                rings[ks * self.nfreq + m] = Complex64::new(ar - br, ai - bi);
            }
        }
    }
}

/// `(Σ row·x, Σ row·y)` with independent partial sums so the loop vectorises.
#[inline]
fn dot2(row: &[f64], x: &[f64], y: &[f64]) -> (f64, f64) {
    const W: usize = 4;
    let n = row.len();
    let split = n - n % W;
    let (mut sx, mut sy) = ([0.0; W], [0.0; W]);
    for ((r, a), b) in
        row[..split].chunks_exact(W).zip(x[..split].chunks_exact(W)).zip(y[..split].chunks_exact(W))
    {
        for j in 0..W {
            sx[j] += r[j] * a[j];
            sy[j] += r[j] * b[j];
        }
    }
    let (mut tx, mut ty) = (sx.iter().sum::<f64>(), sy.iter().sum::<f64>());
    for i in split..n {
        tx += row[i] * x[i];
        ty += row[i] * y[i];
    }
    (tx, ty)
}

/// `x += c.re · row`, `y += c.im · row`.
#[inline]
fn axpy2(c: Complex64, row: &[f64], x: &mut [f64], y: &mut [f64]) {
    for ((r, a), b) in row.iter().zip(x.iter_mut()).zip(y.iter_mut()) {
        *a += c.re * r;
        *b += c.im * r;
    }
}

/// Scalar real spherical harmonic transform on a [`SphereGrid`]; see the module docs.
#[derive(Debug)]
pub struct Sht {
    core: Core,
    table: LegendreTable,
}

impl Sht {
    /// Transform with `lmax` degrees and `mmax` orders (counts, as in torch-harmonics).
    ///
    /// # Errors
    /// `lmax = 0` or beyond [`SphereGrid::max_lmax`]; `mmax = 0` or beyond `nlon/2 + 1`.
    pub fn new(grid: &SphereGrid, lmax: usize, mmax: usize, phase: CsPhase) -> Result<Self> {
        let core = Core::new(grid, lmax, mmax)?;
        let north = &grid.colatitudes()[..core.nh];
        let table = LegendreTable::new(lmax, core.m_eff, north, phase, LegendreParts::Values)?;
        Ok(Self { core, table })
    }

    /// Transform with the largest exact truncation: `lmax = grid.max_lmax()`,
    /// `mmax = min(lmax, nlon/2 + 1)`, Condon–Shortley phase included.
    ///
    /// # Errors
    /// None in practice; the signature leaves room for grids that resolve nothing.
    pub fn with_max_resolution(grid: &SphereGrid) -> Result<Self> {
        let lmax = grid.max_lmax();
        Self::new(grid, lmax, lmax.min(grid.nlon() / 2 + 1), CsPhase::Include)
    }

    /// Number of degrees.
    pub fn lmax(&self) -> usize {
        self.core.lmax
    }

    /// Number of orders.
    pub fn mmax(&self) -> usize {
        self.core.mmax
    }

    /// The Legendre table used, on the northern half of the grid's colatitudes
    /// (`⌈nlat/2⌉` rings, orders `m < min(mmax, lmax)`); southern values follow from
    /// `P̄ₗᵐ(π − θ) = (−1)^{l+m} P̄ₗᵐ(θ)`.
    pub fn legendre(&self) -> &LegendreTable {
        &self.table
    }

    /// Forward transform of a row-major `nlat × nlon` field.
    ///
    /// # Errors
    /// `field.len() != nlat·nlon`.
    pub fn forward(&self, field: &[f64]) -> Result<Spectrum> {
        let mut out = Spectrum::zeros(self.core.lmax, self.core.mmax);
        self.forward_into(field, &mut out)?;
        Ok(out)
    }

    /// Forward transform into an existing spectrum of shape `(lmax, mmax)`.
    ///
    /// # Errors
    /// Wrong field length or spectrum shape.
    pub fn forward_into(&self, field: &[f64], out: &mut Spectrum) -> Result<()> {
        let c = &self.core;
        c.check_field("field", field.len())?;
        c.check_spectrum("out", out)?;
        let rings = c.rings_forward(field)?;
        let columns: Vec<Vec<Complex64>> = (0..c.m_eff)
            .into_par_iter()
            .map(|m| {
                let [er, ei, or, oi] = c.even_odd(&rings, m);
                let block = self.table.block(m).unwrap_or(&[]);
                block
                    .chunks_exact(c.nh)
                    .enumerate()
                    .map(|(i, row)| {
                        let (x, y) = if i % 2 == 0 { (&er, &ei) } else { (&or, &oi) };
                        let (re, im) = dot2(row, x, y);
                        Complex64::new(re, im)
                    })
                    .collect()
            })
            .collect();
        out.coeffs.fill(Complex64::new(0.0, 0.0));
        for (m, col) in columns.into_iter().enumerate() {
            for (i, v) in col.into_iter().enumerate() {
                out.coeffs[(m + i) * c.mmax + m] = v;
            }
        }
        Ok(())
    }

    /// Inverse transform to a row-major `nlat × nlon` field.
    ///
    /// # Errors
    /// Spectrum shape other than `(lmax, mmax)`.
    pub fn inverse(&self, spectrum: &Spectrum) -> Result<Vec<f64>> {
        let mut out = vec![0.0; self.core.nlat * self.core.nlon];
        self.inverse_into(spectrum, &mut out)?;
        Ok(out)
    }

    /// Inverse transform into an existing buffer of `nlat·nlon` values.
    ///
    /// # Errors
    /// Wrong spectrum shape or buffer length.
    pub fn inverse_into(&self, spectrum: &Spectrum, out: &mut [f64]) -> Result<()> {
        let c = &self.core;
        c.check_spectrum("spectrum", spectrum)?;
        c.check_field("out", out.len())?;
        let columns: Vec<[Vec<f64>; 4]> = (0..c.m_eff)
            .into_par_iter()
            .map(|m| {
                let mut acc = [vec![0.0; c.nh], vec![0.0; c.nh], vec![0.0; c.nh], vec![0.0; c.nh]];
                let block = self.table.block(m).unwrap_or(&[]);
                for (i, row) in block.chunks_exact(c.nh).enumerate() {
                    let a = spectrum.coeffs[(m + i) * c.mmax + m];
                    let [er, ei, or, oi] = &mut acc;
                    if i % 2 == 0 { axpy2(a, row, er, ei) } else { axpy2(a, row, or, oi) }
                }
                acc
            })
            .collect();
        let mut rings = vec![Complex64::new(0.0, 0.0); c.nlat * c.nfreq];
        for (m, [er, ei, or, oi]) in columns.iter().enumerate() {
            c.scatter_rings(&mut rings, m, [er, ei], [or, oi]);
        }
        c.rings_inverse(rings, out)
    }
}

/// Vector spherical harmonic transform between wind `(u, v)` (eastward, northward) and the
/// spectra of vorticity and divergence; see the module docs.
#[derive(Debug)]
pub struct VectorSht {
    core: Core,
    table: LegendreTable,
    radius: f64,
}

impl VectorSht {
    /// Transform with `lmax` degrees and `mmax` orders on a sphere of the given radius.
    ///
    /// # Errors
    /// As [`Sht::new`]; `radius` not finite and positive.
    pub fn new(
        grid: &SphereGrid,
        lmax: usize,
        mmax: usize,
        phase: CsPhase,
        radius: f64,
    ) -> Result<Self> {
        if !(radius.is_finite() && radius > 0.0) {
            return Err(QuadratureError::invalid("radius", "a finite positive radius", radius));
        }
        let core = Core::new(grid, lmax, mmax)?;
        let north = &grid.colatitudes()[..core.nh];
        let table =
            LegendreTable::new(lmax, core.m_eff, north, phase, LegendreParts::WithDerivatives)?;
        Ok(Self { core, table, radius })
    }

    /// Number of degrees.
    pub fn lmax(&self) -> usize {
        self.core.lmax
    }

    /// Number of orders.
    pub fn mmax(&self) -> usize {
        self.core.mmax
    }

    /// Sphere radius.
    pub fn radius(&self) -> f64 {
        self.radius
    }

    /// Spectra of vorticity and divergence of the wind `(u, v)`, each row-major `nlat × nlon`.
    ///
    /// # Errors
    /// Wrong field lengths.
    pub fn forward(&self, u: &[f64], v: &[f64]) -> Result<(Spectrum, Spectrum)> {
        let c = &self.core;
        c.check_field("u", u.len())?;
        c.check_field("v", v.len())?;
        let ur = c.rings_forward(u)?;
        let vr = c.rings_forward(v)?;
        let inv_r = 1.0 / self.radius;
        let columns: Vec<Vec<(Complex64, Complex64)>> = (0..c.m_eff)
            .into_par_iter()
            .map(|m| {
                let [uer, uei, uor, uoi] = c.even_odd(&ur, m);
                let [ver, vei, vor, voi] = c.even_odd(&vr, m);
                let dp = self.table.dtheta_block(m).unwrap_or(&[]);
                let mq = self.table.m_over_sin_block(m).unwrap_or(&[]);
                dp.chunks_exact(c.nh)
                    .zip(mq.chunks_exact(c.nh))
                    .enumerate()
                    .map(|(i, (drow, qrow))| {
                        // (l + m) even: V and U enter through their odd / even parts as
                        // derived in the module docs; (l + m) odd swaps them.
                        let even = i % 2 == 0;
                        let (u_d, u_q) = if even {
                            ((&uor, &uoi), (&uer, &uei))
                        } else {
                            ((&uer, &uei), (&uor, &uoi))
                        };
                        let (v_d, v_q) = if even {
                            ((&vor, &voi), (&ver, &vei))
                        } else {
                            ((&ver, &vei), (&vor, &voi))
                        };
                        let (dv_re, dv_im) = dot2(drow, v_d.0, v_d.1);
                        let (qu_re, qu_im) = dot2(qrow, u_q.0, u_q.1);
                        let (du_re, du_im) = dot2(drow, u_d.0, u_d.1);
                        let (qv_re, qv_im) = dot2(qrow, v_q.0, v_q.1);
                        // i·(a + ib) = −b + ia.
                        let div = Complex64::new(dv_re - qu_im, dv_im + qu_re) * inv_r;
                        let vort = Complex64::new(-du_re - qv_im, -du_im + qv_re) * inv_r;
                        (vort, div)
                    })
                    .collect()
            })
            .collect();
        let mut vort = Spectrum::zeros(c.lmax, c.mmax);
        let mut div = Spectrum::zeros(c.lmax, c.mmax);
        for (m, col) in columns.into_iter().enumerate() {
            for (i, (z, d)) in col.into_iter().enumerate() {
                vort.coeffs[(m + i) * c.mmax + m] = z;
                div.coeffs[(m + i) * c.mmax + m] = d;
            }
        }
        Ok((vort, div))
    }

    /// Wind `(u, v)` (row-major `nlat × nlon` each) with the given vorticity and divergence
    /// spectra; their `l = 0` coefficients are ignored.
    ///
    /// # Errors
    /// Spectrum shapes other than `(lmax, mmax)`.
    pub fn inverse(
        &self,
        vorticity: &Spectrum,
        divergence: &Spectrum,
    ) -> Result<(Vec<f64>, Vec<f64>)> {
        let c = &self.core;
        c.check_spectrum("vorticity", vorticity)?;
        c.check_spectrum("divergence", divergence)?;
        let r = self.radius;
        let columns: Vec<[Vec<f64>; 8]> = (0..c.m_eff)
            .into_par_iter()
            .map(|m| {
                // U_A, U_B, V_A, V_B as (re, im) pairs: A is mirror-even, B mirror-odd.
                let mut acc: [Vec<f64>; 8] = std::array::from_fn(|_| vec![0.0; c.nh]);
                let dp = self.table.dtheta_block(m).unwrap_or(&[]);
                let mq = self.table.m_over_sin_block(m).unwrap_or(&[]);
                for (i, (drow, qrow)) in
                    dp.chunks_exact(c.nh).zip(mq.chunks_exact(c.nh)).enumerate()
                {
                    let l = m + i;
                    if l == 0 {
                        continue;
                    }
                    let ll = (l * (l + 1)) as f64;
                    // ψ/r and χ/r with ψ = −r² ζ / (l(l+1)), χ = −r² δ / (l(l+1)).
                    let psi = vorticity.coeffs[l * c.mmax + m] * (-r / ll);
                    let chi = divergence.coeffs[l * c.mmax + m] * (-r / ll);
                    let i_chi = Complex64::new(-chi.im, chi.re);
                    let i_psi = Complex64::new(-psi.im, psi.re);
                    let [ua_r, ua_i, ub_r, ub_i, va_r, va_i, vb_r, vb_i] = &mut acc;
                    if i % 2 == 0 {
                        axpy2(i_chi, qrow, ua_r, ua_i);
                        axpy2(psi, drow, ub_r, ub_i);
                        axpy2(i_psi, qrow, va_r, va_i);
                        axpy2(-chi, drow, vb_r, vb_i);
                    } else {
                        axpy2(i_chi, qrow, ub_r, ub_i);
                        axpy2(psi, drow, ua_r, ua_i);
                        axpy2(i_psi, qrow, vb_r, vb_i);
                        axpy2(-chi, drow, va_r, va_i);
                    }
                }
                acc
            })
            .collect();
        let mut ur = vec![Complex64::new(0.0, 0.0); c.nlat * c.nfreq];
        let mut vr = vec![Complex64::new(0.0, 0.0); c.nlat * c.nfreq];
        for (m, [ua_r, ua_i, ub_r, ub_i, va_r, va_i, vb_r, vb_i]) in columns.iter().enumerate() {
            c.scatter_rings(&mut ur, m, [ua_r, ua_i], [ub_r, ub_i]);
            c.scatter_rings(&mut vr, m, [va_r, va_i], [vb_r, vb_i]);
        }
        let mut u = vec![0.0; c.nlat * c.nlon];
        let mut v = vec![0.0; c.nlat * c.nlon];
        c.rings_inverse(ur, &mut u)?;
        c.rings_inverse(vr, &mut v)?;
        Ok((u, v))
    }
}
