//! Filter bases κ_l(r, φ) of the DISCO convolution: piecewise-linear, Morlet and Zernike.
//!
//! The definitions, basis counts and collocation points follow torch-harmonics 0.7.4
//! (`filter_basis.py`), which both reference packages use; `docs/kernels.md` lists the
//! deliberate differences (collocation points are exact f64 here instead of float32).
//!
//! Every basis is evaluated at polar coordinates `(r, φ)` of an offset with a cutoff radius
//! `r_cutoff`; `φ ∈ [0, 2π]` follows the caller's angle convention (planar offsets use
//! `atan2(dy, dx) + π`, the sphere the bearing after rotating the output point to the pole).

use std::f64::consts::PI;

use crate::error::{KernelError, Result};

/// A family of `n_basis()` filter functions κ_l, evaluated sparsely.
pub trait FilterBasis {
    /// Number of basis functions `K`.
    fn n_basis(&self) -> usize;

    /// Appends `(l, κ_l(r, φ))` for every `l` whose support contains `(r, φ)`, in ascending
    /// `l`. Functions are zero for `r > r_cutoff`; exact zeros may be omitted.
    fn eval(&self, r: f64, phi: f64, r_cutoff: f64, out: &mut Vec<(usize, f64)>);

    /// True if every κ_l is non-negative (then signed and absolute normalisations agree).
    fn is_nonnegative(&self) -> bool;
}

/// Which family a [`Basis`] belongs to (for configuration files and cache keys).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum BasisKind {
    /// Hat functions on rings × angular sectors ([`PiecewiseLinear`]).
    PiecewiseLinear,
    /// Gaussian-windowed harmonics ([`Morlet`]).
    Morlet,
    /// Zernike polynomials ([`Zernike`]).
    Zernike,
}

/// One of the supported filter bases; implements [`FilterBasis`] by delegation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Basis {
    /// See [`PiecewiseLinear`].
    PiecewiseLinear(PiecewiseLinear),
    /// See [`Morlet`].
    Morlet(Morlet),
    /// See [`Zernike`].
    Zernike(Zernike),
}

impl Basis {
    /// Builds a basis of `kind` from a kernel shape as torch-harmonics 0.7.4 reads it:
    /// piecewise-linear `[n_r]` (isotropic) or `[n_r, n_phi]`; Morlet `[n]` (= `[n, n]`) or
    /// `[n_x, n_y]`; Zernike `[n_max]`.
    pub fn new(kind: BasisKind, kernel_shape: &[usize]) -> Result<Self> {
        match (kind, kernel_shape) {
            (BasisKind::PiecewiseLinear, [nr]) => {
                Ok(Self::PiecewiseLinear(PiecewiseLinear::new(*nr, 1)?))
            }
            (BasisKind::PiecewiseLinear, [nr, nphi]) => {
                Ok(Self::PiecewiseLinear(PiecewiseLinear::new(*nr, *nphi)?))
            }
            (BasisKind::Morlet, [n]) => Ok(Self::Morlet(Morlet::new(*n, *n)?)),
            (BasisKind::Morlet, [nx, ny]) => Ok(Self::Morlet(Morlet::new(*nx, *ny)?)),
            (BasisKind::Zernike, [n]) => Ok(Self::Zernike(Zernike::new(*n)?)),
            _ => Err(KernelError::invalid(
                "kernel_shape",
                "1 or 2 entries (Zernike: 1)",
                format!("{kernel_shape:?} for {kind:?}"),
            )),
        }
    }

    /// Shorthand for [`PiecewiseLinear::new`].
    pub fn piecewise_linear(n_radial: usize, n_angular: usize) -> Result<Self> {
        Ok(Self::PiecewiseLinear(PiecewiseLinear::new(n_radial, n_angular)?))
    }

    /// The family of this basis.
    pub fn kind(&self) -> BasisKind {
        match self {
            Self::PiecewiseLinear(_) => BasisKind::PiecewiseLinear,
            Self::Morlet(_) => BasisKind::Morlet,
            Self::Zernike(_) => BasisKind::Zernike,
        }
    }
}

impl FilterBasis for Basis {
    fn n_basis(&self) -> usize {
        match self {
            Self::PiecewiseLinear(b) => b.n_basis(),
            Self::Morlet(b) => b.n_basis(),
            Self::Zernike(b) => b.n_basis(),
        }
    }

    fn eval(&self, r: f64, phi: f64, r_cutoff: f64, out: &mut Vec<(usize, f64)>) {
        match self {
            Self::PiecewiseLinear(b) => b.eval(r, phi, r_cutoff, out),
            Self::Morlet(b) => b.eval(r, phi, r_cutoff, out),
            Self::Zernike(b) => b.eval(r, phi, r_cutoff, out),
        }
    }

    fn is_nonnegative(&self) -> bool {
        matches!(self, Self::PiecewiseLinear(_))
    }
}

/// Circular distance between two angles, as the reference computes it:
/// `min(|a − b|, |2π − |a − b||)` (valid for `a ∈ [0, 2π]`, `b ∈ [−π, π)`).
fn circ_dist(a: f64, b: f64) -> f64 {
    let d = (a - b).abs();
    d.min((2.0 * PI - d).abs())
}

/// Piecewise-linear hats: `n_r` radial collocation rings × `n_phi` angular sectors.
///
/// With `dr = 2 r_c / (n_r + 1)` and `dφ = 2π / n_phi` there are
/// `K = (n_r / 2)·n_phi + n_r % 2` functions (torch-harmonics 0.7.4):
/// * isotropic (`n_phi = 1`): `κ_k = 1 − |r − r_k|/dr` on `|r − r_k| ≤ dr`, with
///   `r_k = k·dr` (odd `n_r`) or `(k + ½)·dr` (even `n_r`);
/// * anisotropic, odd `n_r`: `κ_0` is the central isotropic hat; `k ≥ 1` is the ring
///   `r_k = ((k−1)/n_phi + 1)·dr` times the angular hat `1 − circ(φ, φ_k)/dφ` around
///   `φ_k = ((k−1) % n_phi)·dφ − π`;
/// * anisotropic, even `n_r`: rings `r_k = (k/n_phi + ½)·dr`, `φ_k = (k % n_phi)·dφ − π`; the
///   innermost ring also receives the point reflected through the origin (`−r`, `φ ± π`), so
///   the hats continue through the centre.
///
/// All functions vanish for `r > r_c`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct PiecewiseLinear {
    n_radial: usize,
    n_angular: usize,
}

impl PiecewiseLinear {
    /// `n_radial ≥ 1` rings and `n_angular ≥ 1` sectors.
    pub fn new(n_radial: usize, n_angular: usize) -> Result<Self> {
        if n_radial == 0 {
            return Err(KernelError::invalid("n_radial", "at least 1", n_radial));
        }
        if n_angular == 0 {
            return Err(KernelError::invalid("n_angular", "at least 1", n_angular));
        }
        Ok(Self { n_radial, n_angular })
    }

    /// The kernel shape `[n_r, n_phi]`.
    pub fn shape(&self) -> [usize; 2] {
        [self.n_radial, self.n_angular]
    }

    /// Collocation radius `r_k` and angle `φ_k` of basis `k` (the angle is unused for isotropic
    /// bases and for the central function of odd anisotropic ones).
    pub fn collocation(&self, k: usize, r_cutoff: f64) -> (f64, f64) {
        let (nr, nphi) = (self.n_radial, self.n_angular);
        let dr = 2.0 * r_cutoff / (nr as f64 + 1.0);
        let dphi = 2.0 * PI / nphi as f64;
        if nphi == 1 {
            let shift = if nr % 2 == 1 { 0.0 } else { 0.5 };
            return ((k as f64 + shift) * dr, 0.0);
        }
        if nr % 2 == 1 {
            if k == 0 {
                (0.0, 0.0)
            } else {
                let ring = (k - 1) / nphi + 1;
                let ang = (k - 1) % nphi;
                (ring as f64 * dr, ang as f64 * dphi - PI)
            }
        } else {
            ((((k / nphi) as f64) + 0.5) * dr, (k % nphi) as f64 * dphi - PI)
        }
    }
}

impl FilterBasis for PiecewiseLinear {
    fn n_basis(&self) -> usize {
        (self.n_radial / 2) * self.n_angular + self.n_radial % 2
    }

    fn eval(&self, r: f64, phi: f64, r_cutoff: f64, out: &mut Vec<(usize, f64)>) {
        if r > r_cutoff {
            return;
        }
        let (nr, nphi) = (self.n_radial, self.n_angular);
        let dr = 2.0 * r_cutoff / (nr as f64 + 1.0);
        let dphi = 2.0 * PI / nphi as f64;
        let hat_r = |ir: f64, r: f64| {
            let d = (r - ir).abs();
            if d <= dr { 1.0 - d / dr } else { 0.0 }
        };
        let hat_phi = |iphi: f64, phi: f64| {
            let d = circ_dist(phi, iphi);
            if d <= dphi { 1.0 - d / dphi } else { 0.0 }
        };
        for k in 0..self.n_basis() {
            let (ir, iphi) = self.collocation(k, r_cutoff);
            let v = if nphi == 1 || (nr % 2 == 1 && k == 0) {
                hat_r(ir, r)
            } else if nr % 2 == 1 {
                hat_r(ir, r) * hat_phi(iphi, phi)
            } else {
                // Even n_r: the innermost ring wraps through the origin (reflected point).
                let phin = if phi + PI >= 2.0 * PI { phi - PI } else { phi + PI };
                hat_r(ir, r) * hat_phi(iphi, phi) + hat_r(ir, -r) * hat_phi(iphi, phin)
            };
            if v != 0.0 {
                out.push((k, v));
            }
        }
    }

    fn is_nonnegative(&self) -> bool {
        true
    }
}

/// Morlet wavelets: a Gaussian window (`w = 1/4` of the cutoff) times products of sines and
/// cosines in the Cartesian coordinates `x = r sin φ / r_c`, `y = r cos φ / r_c`
/// (torch-harmonics 0.7.4): basis `k = m·n_y + n` is
/// `exp(−½ (r/r_c)²/w²)/(2π w²) · h_n(⌈n/2⌉ π x / w) · h_m(⌈m/2⌉ π y / w)` with
/// `h = sin` for odd and `cos` for even orders, supported on `r ≤ r_c`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Morlet {
    n_x: usize,
    n_y: usize,
}

impl Morlet {
    /// Width of the Gaussian window relative to the cutoff (the reference's default).
    pub const WIDTH: f64 = 0.25;

    /// `n_x ≥ 1`, `n_y ≥ 1` harmonic orders (`K = n_x·n_y`).
    pub fn new(n_x: usize, n_y: usize) -> Result<Self> {
        if n_x == 0 {
            return Err(KernelError::invalid("n_x", "at least 1", n_x));
        }
        if n_y == 0 {
            return Err(KernelError::invalid("n_y", "at least 1", n_y));
        }
        Ok(Self { n_x, n_y })
    }
}

impl FilterBasis for Morlet {
    fn n_basis(&self) -> usize {
        self.n_x * self.n_y
    }

    fn eval(&self, r: f64, phi: f64, r_cutoff: f64, out: &mut Vec<(usize, f64)>) {
        if r > r_cutoff {
            return;
        }
        let w = Self::WIDTH;
        let x = r * phi.sin() / r_cutoff;
        let y = r * phi.cos() / r_cutoff;
        let rho = r / r_cutoff;
        let window = (-0.5 * rho * rho / (w * w)).exp() / (2.0 * PI * w * w);
        let harm = |order: usize, t: f64| {
            let arg = order.div_ceil(2) as f64 * PI * t / w;
            if order % 2 == 1 { arg.sin() } else { arg.cos() }
        };
        for k in 0..self.n_basis() {
            let n = k % self.n_y;
            let m = k / self.n_y;
            let v = window * harm(n, x) * harm(m, y);
            if v != 0.0 {
                out.push((k, v));
            }
        }
    }

    fn is_nonnegative(&self) -> bool {
        false
    }
}

/// Zernike polynomials on the disk of radius `r_c`: `K = n_max(n_max+1)/2` functions; basis
/// `k` has radial order `n` (the largest with `n(n+1)/2 ≤ k`), `l = k − n(n+1)/2`,
/// `m = 2l − n`, value `R_n^{|m|}(r/r_c)·cos(mφ)` for `m ≥ 0` and `R_n^{|m|}(r/r_c)·sin(mφ)`
/// for `m < 0` (torch-harmonics 0.7.4).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Zernike {
    n_max: usize,
}

impl Zernike {
    /// `n_max ≥ 1` radial orders.
    pub fn new(n_max: usize) -> Result<Self> {
        if n_max == 0 {
            return Err(KernelError::invalid("n_max", "at least 1", n_max));
        }
        Ok(Self { n_max })
    }

    /// `(n, m)` of basis `k`.
    pub fn orders(k: usize) -> (usize, i64) {
        let mut n = 0;
        while (n + 1) * (n + 2) / 2 <= k {
            n += 1;
        }
        let l = k - n * (n + 1) / 2;
        (n, 2 * l as i64 - n as i64)
    }

    /// The radial polynomial `R_n^m(ρ)` (`m ≥ 0`, `n − m` even).
    pub fn radial(n: usize, m: usize, rho: f64) -> f64 {
        let fact = |j: usize| (1..=j).map(|i| i as f64).product::<f64>();
        (0..=(n - m) / 2)
            .map(|s| {
                let sign = if s % 2 == 0 { 1.0 } else { -1.0 };
                sign * fact(n - s) / (fact(s) * fact((n + m) / 2 - s) * fact((n - m) / 2 - s))
                    * rho.powi((n - 2 * s) as i32)
            })
            .sum()
    }
}

impl FilterBasis for Zernike {
    fn n_basis(&self) -> usize {
        self.n_max * (self.n_max + 1) / 2
    }

    fn eval(&self, r: f64, phi: f64, r_cutoff: f64, out: &mut Vec<(usize, f64)>) {
        if r > r_cutoff {
            return;
        }
        let rho = r / r_cutoff;
        for k in 0..self.n_basis() {
            let (n, m) = Self::orders(k);
            let radial = Self::radial(n, m.unsigned_abs() as usize, rho);
            let v = if m < 0 {
                radial * (m as f64 * phi).sin()
            } else {
                radial * (m as f64 * phi).cos()
            };
            if v != 0.0 {
                out.push((k, v));
            }
        }
    }

    fn is_nonnegative(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dense(b: &impl FilterBasis, r: f64, phi: f64, rc: f64) -> Vec<f64> {
        let mut out = Vec::new();
        b.eval(r, phi, rc, &mut out);
        let mut v = vec![0.0; b.n_basis()];
        for (k, x) in out {
            v[k] = x;
        }
        v
    }

    #[test]
    fn piecewise_linear_counts_match_torch_harmonics() {
        for (shape, k) in [
            ([3, 4], 5),
            ([2, 4], 4),
            ([3, 3], 4),
            ([4, 3], 6),
            ([3, 1], 2),
            ([5, 1], 3),
            ([2, 2], 2),
        ] {
            assert_eq!(PiecewiseLinear::new(shape[0], shape[1]).unwrap().n_basis(), k, "{shape:?}");
        }
        assert_eq!(Zernike::new(3).unwrap().n_basis(), 6);
        assert_eq!(Morlet::new(3, 2).unwrap().n_basis(), 6);
    }

    #[test]
    fn piecewise_linear_isotropic_hats_form_a_partition_of_unity_inside_the_last_ring() {
        // Hats at k·dr with width dr sum to 1 for r ≤ (K−1)·dr.
        let b = PiecewiseLinear::new(5, 1).unwrap();
        let rc = 0.6;
        let dr = 2.0 * rc / 6.0;
        for i in 0..=40 {
            let r = 2.0 * dr * i as f64 / 40.0;
            let s: f64 = dense(&b, r, 0.3, rc).iter().sum();
            // Two hat values of O(1) added: round-off only.
            assert!((s - 1.0).abs() < 1e-14, "r={r} sum={s}");
        }
    }

    #[test]
    fn anisotropic_odd_angular_hats_sum_to_the_ring_hat() {
        // At radius dr, ring 1 is 1 and the angular hats partition unity in φ.
        let b = PiecewiseLinear::new(3, 4).unwrap();
        let rc = 1.0;
        let dr = 0.5;
        for i in 0..50 {
            let phi = 2.0 * PI * i as f64 / 50.0;
            let v = dense(&b, dr, phi, rc);
            let s: f64 = v[1..].iter().sum();
            assert_eq!(v[0], 0.0);
            // Sum of two O(1) angular hats: round-off only.
            assert!((s - 1.0).abs() < 1e-14, "phi={phi} sum={s}");
        }
    }

    #[test]
    fn anisotropic_even_inner_ring_is_continuous_through_the_origin() {
        let b = PiecewiseLinear::new(2, 4).unwrap();
        let rc = 0.3;
        let at_origin: f64 = dense(&b, 0.0, 1.0, rc).iter().sum();
        let near: f64 = dense(&b, 1e-9, 1.0, rc).iter().sum();
        // A step of 1e-9 in r moves a hat of slope 1/dr = 5 by 5e-9.
        assert!((at_origin - near).abs() < 1e-8);
        // At the origin every angular hat of the inner ring gets ½ from each side.
        assert!(at_origin > 0.0);
    }

    #[test]
    fn every_basis_vanishes_beyond_the_cutoff() {
        let bases = [
            Basis::piecewise_linear(3, 4).unwrap(),
            Basis::new(BasisKind::Morlet, &[3]).unwrap(),
            Basis::new(BasisKind::Zernike, &[4]).unwrap(),
        ];
        for b in &bases {
            assert!(dense(b, 0.5000001, 1.0, 0.5).iter().all(|&v| v == 0.0), "{b:?}");
        }
    }

    #[test]
    fn zernike_radial_matches_closed_forms() {
        for i in 0..=10 {
            let rho = i as f64 / 10.0;
            // Closed forms: R_2^0 = 2ρ² − 1, R_3^1 = 3ρ³ − 2ρ, R_4^0 = 6ρ⁴ − 6ρ² + 1; f64 round-off.
            assert!((Zernike::radial(2, 0, rho) - (2.0 * rho * rho - 1.0)).abs() < 1e-14);
            assert!((Zernike::radial(3, 1, rho) - (3.0 * rho.powi(3) - 2.0 * rho)).abs() < 1e-14);
            assert!(
                (Zernike::radial(4, 0, rho) - (6.0 * rho.powi(4) - 6.0 * rho * rho + 1.0)).abs()
                    < 1e-14
            );
        }
        assert_eq!(Zernike::orders(0), (0, 0));
        assert_eq!(Zernike::orders(1), (1, -1));
        assert_eq!(Zernike::orders(2), (1, 1));
        assert_eq!(Zernike::orders(5), (2, 2));
    }

    #[test]
    fn bad_shapes_are_rejected_with_the_parameter_name() {
        let e = Basis::new(BasisKind::PiecewiseLinear, &[0, 4]).unwrap_err();
        assert!(e.to_string().contains("n_radial"), "{e}");
        let e = Basis::new(BasisKind::Zernike, &[3, 3]).unwrap_err();
        assert!(e.to_string().contains("kernel_shape"), "{e}");
    }
}
