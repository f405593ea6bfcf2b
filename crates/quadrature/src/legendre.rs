//! Orthonormal associated Legendre functions `P̄ₗᵐ(cos θ)`, their `θ`-derivatives and
//! `m P̄ₗᵐ / sin θ`, tabulated on a set of colatitudes, stable to degrees in the thousands.
//!
//! **Normalisation** (torch-harmonics `norm="ortho"`, layers-spec §7.1): `Yₗᵐ(θ, λ) =
//! P̄ₗᵐ(cos θ) e^{imλ}` is orthonormal on the unit sphere, i.e.
//! `2π ∫_{−1}^{1} P̄ₗᵐ(x) P̄ₗ′ᵐ(x) dx = δₗₗ′`; `P̄₀⁰ = 1/√(4π)`. With
//! [`CsPhase::Include`] the Condon–Shortley phase `(−1)ᵐ` is included (torch-harmonics'
//! default `csphase=True`), with [`CsPhase::Omit`] `P̄ₘᵐ > 0` for `0 < θ < π`.
//!
//! **Algorithm.** For each order `m`, the sectoral value
//! `P̄ₘᵐ = (1/√(4π)) Πⱼ₌₁ᵐ √((2j+1)/(2j)) · sinᵐθ` is followed by the standard recurrence in
//! degree, `P̄ₗᵐ = aₗₘ cos θ P̄ₗ₋₁ᵐ − bₗₘ P̄ₗ₋₂ᵐ`, `aₗₘ = √((4l²−1)/(l²−m²))`,
//! `bₗₘ = √(((l−1)²−m²)(2l+1)/((2l−3)(l²−m²)))`. For large `m`, `sinᵐθ` underflows long before
//! `P̄ₗᵐ` becomes significant at high degree, so the sectoral product and the recurrence run
//! on a mantissa with a separate exponent in steps of `2⁴⁸⁰` (the "X-number" idea of
//! Fukushima, J. Geodesy 2012): values are only converted to `f64` once they are back in range,
//! and genuinely negligible ones become 0. Nothing overflows or underflows for any `l, m` that
//! fit in memory.
//!
//! The derivative `dP̄ₗᵐ/dθ` satisfies the differentiated recurrence
//! `Dₗ = aₗₘ (cos θ Dₗ₋₁ − sin θ P̄ₗ₋₁ᵐ) − bₗₘ Dₗ₋₂`, started from `Dₘ = m cos θ P̄ₘᵐ / sin θ`;
//! `m P̄ₗᵐ/sin θ` satisfies the recurrence of `P̄` itself, started from `m P̄ₘᵐ/sin θ`, which is
//! computed without dividing (one fewer factor `sin θ`), so both are finite and exact at the
//! poles. These two are what vector spherical harmonic transforms need.
//!
//! **Layout.** Values for order `m` form a contiguous block of `(lmax − m) × nlat` numbers,
//! row `l − m`, column `k` (colatitude index); blocks follow each other in increasing `m`.
//! Orders `m ≥ lmax` have empty blocks. [`LegendreTable::to_dense`] gives torch-harmonics'
//! dense `(mmax, lmax, nlat)` layout with zeros for `l < m`.

use rayon::prelude::*;

use crate::error::{QuadratureError, Result};

/// Whether the Condon–Shortley phase `(−1)ᵐ` is part of `P̄ₗᵐ`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CsPhase {
    /// Include `(−1)ᵐ` (torch-harmonics' default, `csphase=True`).
    #[default]
    Include,
    /// Omit it: `P̄ₘᵐ(cos θ) > 0` on `0 < θ < π`.
    Omit,
}

/// Which tables a [`LegendreTable`] holds besides `P̄ₗᵐ`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LegendreParts {
    /// Only the values `P̄ₗᵐ`.
    Values,
    /// Values, `dP̄ₗᵐ/dθ` and `m P̄ₗᵐ / sin θ`.
    WithDerivatives,
}

/// `2⁴⁸⁰`: the exponent step of the extended-range recurrence.
const BIG: f64 = f64::from_bits((1023 + 480) << 52);
/// `2⁻⁴⁸⁰`.
const SMALL: f64 = f64::from_bits((1023 - 480) << 52);
/// `2²⁴⁰`, `2⁻²⁴⁰`: thresholds for rescaling, halfway so that a rescaled number is far from
/// both overflow and underflow.
const HI: f64 = f64::from_bits((1023 + 240) << 52);
const LO: f64 = f64::from_bits((1023 - 240) << 52);

/// Tables of `P̄ₗᵐ(cos θₖ)` (and optionally derivatives) for `0 ≤ l < lmax`, `0 ≤ m < mmax`
/// on a set of colatitudes; see the module docs for normalisation and layout.
#[derive(Debug, Clone, PartialEq)]
pub struct LegendreTable {
    lmax: usize,
    mmax: usize,
    phase: CsPhase,
    colatitudes: Vec<f64>,
    /// Start of each order's block; `offsets[m]..offsets[m + 1]`.
    offsets: Vec<usize>,
    values: Vec<f64>,
    dtheta: Option<Vec<f64>>,
    m_over_sin: Option<Vec<f64>>,
}

impl LegendreTable {
    /// Tabulates `P̄ₗᵐ(cos θₖ)` for degrees `l < lmax`, orders `m < mmax`, at `colatitudes`.
    ///
    /// `lmax` and `mmax` are counts, as in torch-harmonics (`l ≤ lmax − 1`). `mmax > lmax` is
    /// allowed; those orders have no degrees.
    ///
    /// # Errors
    /// `lmax = 0`, `mmax = 0`, no colatitudes, or a colatitude outside `[0, π]` or non-finite.
    pub fn new(
        lmax: usize,
        mmax: usize,
        colatitudes: &[f64],
        phase: CsPhase,
        parts: LegendreParts,
    ) -> Result<Self> {
        if lmax == 0 {
            return Err(QuadratureError::invalid("lmax", "at least 1", lmax));
        }
        if mmax == 0 {
            return Err(QuadratureError::invalid("mmax", "at least 1", mmax));
        }
        check_colatitudes(colatitudes)?;
        let nlat = colatitudes.len();
        let mut offsets = Vec::with_capacity(mmax + 1);
        let mut total = 0;
        for m in 0..mmax {
            offsets.push(total);
            total += lmax.saturating_sub(m) * nlat;
        }
        offsets.push(total);
        let with_derivs = parts == LegendreParts::WithDerivatives;
        let mut values = vec![0.0; total];
        let mut dtheta = with_derivs.then(|| vec![0.0; total]);
        let mut m_over_sin = with_derivs.then(|| vec![0.0; total]);

        let trig: Vec<(f64, f64)> = colatitudes.iter().map(|t| t.sin_cos()).collect();
        let blocks_v = split_blocks(&mut values, &offsets);
        let blocks_d = dtheta.as_mut().map(|d| split_blocks(d, &offsets));
        let blocks_q = m_over_sin.as_mut().map(|q| split_blocks(q, &offsets));
        let mut jobs: Vec<Job<'_>> =
            blocks_v.into_iter().enumerate().map(|(m, v)| Job { m, v, d: None, q: None }).collect();
        if let (Some(bd), Some(bq)) = (blocks_d, blocks_q) {
            for ((job, d), q) in jobs.iter_mut().zip(bd).zip(bq) {
                job.d = Some(d);
                job.q = Some(q);
            }
        }
        // Work per order shrinks with m; rayon's splitting balances it well enough.
        jobs.into_par_iter().for_each(|job| fill_order(job, lmax, &trig, phase));

        Ok(Self {
            lmax,
            mmax,
            phase,
            colatitudes: colatitudes.to_vec(),
            offsets,
            values,
            dtheta,
            m_over_sin,
        })
    }

    /// Number of degrees (`l < lmax`).
    pub fn lmax(&self) -> usize {
        self.lmax
    }

    /// Number of orders (`m < mmax`).
    pub fn mmax(&self) -> usize {
        self.mmax
    }

    /// Number of colatitudes.
    pub fn nlat(&self) -> usize {
        self.colatitudes.len()
    }

    /// The colatitudes the table was built on.
    pub fn colatitudes(&self) -> &[f64] {
        &self.colatitudes
    }

    /// The phase convention.
    pub fn phase(&self) -> CsPhase {
        self.phase
    }

    /// Whether `dP̄/dθ` and `m P̄/sin θ` were tabulated.
    pub fn has_derivatives(&self) -> bool {
        self.dtheta.is_some()
    }

    fn check_m(&self, m: usize) -> Result<()> {
        if m >= self.mmax {
            return Err(QuadratureError::invalid(
                "m",
                format!("an order below mmax = {}", self.mmax),
                m,
            ));
        }
        Ok(())
    }

    fn block_of<'a>(&self, data: &'a [f64], m: usize) -> Result<&'a [f64]> {
        self.check_m(m)?;
        Ok(&data[self.offsets[m]..self.offsets[m + 1]])
    }

    /// Values `P̄ₗᵐ(cos θₖ)` of order `m`: `(lmax − m) × nlat`, row `l − m`, column `k`.
    ///
    /// # Errors
    /// `m ≥ mmax`.
    pub fn block(&self, m: usize) -> Result<&[f64]> {
        self.block_of(&self.values, m)
    }

    /// `dP̄ₗᵐ/dθ (θₖ)` of order `m`, laid out like [`Self::block`].
    ///
    /// # Errors
    /// `m ≥ mmax`, or the table was built with [`LegendreParts::Values`].
    pub fn dtheta_block(&self, m: usize) -> Result<&[f64]> {
        let d = self.dtheta.as_deref().ok_or_else(not_tabulated)?;
        self.block_of(d, m)
    }

    /// `m P̄ₗᵐ(cos θₖ) / sin θₖ` of order `m` (finite at the poles), laid out like
    /// [`Self::block`].
    ///
    /// # Errors
    /// `m ≥ mmax`, or the table was built with [`LegendreParts::Values`].
    pub fn m_over_sin_block(&self, m: usize) -> Result<&[f64]> {
        let q = self.m_over_sin.as_deref().ok_or_else(not_tabulated)?;
        self.block_of(q, m)
    }

    /// `P̄ₗᵐ(cos θₖ)`; 0 for `l < m` (as in the dense layout).
    ///
    /// # Errors
    /// `m ≥ mmax`, `l ≥ lmax` or `k ≥ nlat`.
    pub fn value(&self, m: usize, l: usize, k: usize) -> Result<f64> {
        self.check_m(m)?;
        if l >= self.lmax {
            return Err(QuadratureError::invalid(
                "l",
                format!("a degree below lmax = {}", self.lmax),
                l,
            ));
        }
        let nlat = self.nlat();
        if k >= nlat {
            return Err(QuadratureError::invalid(
                "k",
                format!("a colatitude index below {nlat}"),
                k,
            ));
        }
        if l < m {
            return Ok(0.0);
        }
        Ok(self.values[self.offsets[m] + (l - m) * nlat + k])
    }

    /// The values in torch-harmonics' dense layout `(mmax, lmax, nlat)`, row-major, zeros for
    /// `l < m`: element `[m][l][k]` is at `(m·lmax + l)·nlat + k`.
    pub fn to_dense(&self) -> Vec<f64> {
        let nlat = self.nlat();
        let mut out = vec![0.0; self.mmax * self.lmax * nlat];
        for m in 0..self.mmax.min(self.lmax) {
            let block = &self.values[self.offsets[m]..self.offsets[m + 1]];
            let start = (m * self.lmax + m) * nlat;
            out[start..start + block.len()].copy_from_slice(block);
        }
        out
    }

    /// Multiplies every tabulated quantity at colatitude `k` by `factors[k]`, e.g. by the
    /// quadrature weights to get torch-harmonics' forward-transform table `P̄ₗᵐ(cos θₖ) wₖ`.
    ///
    /// # Errors
    /// `factors.len() != nlat`.
    pub fn scale_colatitudes(&mut self, factors: &[f64]) -> Result<()> {
        let nlat = self.nlat();
        if factors.len() != nlat {
            return Err(QuadratureError::invalid(
                "factors",
                format!("{nlat} factors (one per colatitude)"),
                factors.len(),
            ));
        }
        for data in [Some(&mut self.values), self.dtheta.as_mut(), self.m_over_sin.as_mut()]
            .into_iter()
            .flatten()
        {
            for row in data.chunks_exact_mut(nlat) {
                for (v, f) in row.iter_mut().zip(factors) {
                    *v *= f;
                }
            }
        }
        Ok(())
    }
}

/// Values `P̄ₗᵐ(cos θₖ)` of one order `m` for `m ≤ l < lmax`: `(lmax − m) × nlat`, row `l − m`
/// (the layout of [`LegendreTable::block`]), without tabulating the other orders.
///
/// # Errors
/// `lmax ≤ m`, no colatitudes, or a colatitude outside `[0, π]` or non-finite.
pub fn legendre_order(
    m: usize,
    lmax: usize,
    colatitudes: &[f64],
    phase: CsPhase,
) -> Result<Vec<f64>> {
    if lmax <= m {
        return Err(QuadratureError::invalid("lmax", format!("more than m = {m}"), lmax));
    }
    check_colatitudes(colatitudes)?;
    let trig: Vec<(f64, f64)> = colatitudes.iter().map(|t| t.sin_cos()).collect();
    let mut v = vec![0.0; (lmax - m) * colatitudes.len()];
    fill_order(Job { m, v: &mut v, d: None, q: None }, lmax, &trig, phase);
    Ok(v)
}

fn check_colatitudes(colatitudes: &[f64]) -> Result<()> {
    if colatitudes.is_empty() {
        return Err(QuadratureError::invalid("colatitudes", "at least one colatitude", 0));
    }
    let valid = |t: &f64| t.is_finite() && (0.0..=std::f64::consts::PI).contains(t);
    if let Some(&bad) = colatitudes.iter().find(|t| !valid(t)) {
        return Err(QuadratureError::invalid("colatitudes", "values in [0, π]", bad));
    }
    Ok(())
}

fn not_tabulated() -> QuadratureError {
    QuadratureError::invalid(
        "parts",
        "a table built with LegendreParts::WithDerivatives",
        "LegendreParts::Values",
    )
}

/// One order's output slices.
struct Job<'a> {
    m: usize,
    v: &'a mut [f64],
    d: Option<&'a mut [f64]>,
    q: Option<&'a mut [f64]>,
}

/// Splits `data` into the per-order blocks given by `offsets`.
fn split_blocks<'a>(data: &'a mut [f64], offsets: &[usize]) -> Vec<&'a mut [f64]> {
    let mut rest = data;
    let mut out = Vec::with_capacity(offsets.len() - 1);
    for w in offsets.windows(2) {
        let (head, tail) = rest.split_at_mut(w[1] - w[0]);
        out.push(head);
        rest = tail;
    }
    out
}

/// Converts an extended-range number `mant · 2^(480·exp)` (`exp ≤ 0`) to `f64`.
#[inline]
fn to_f64(mant: f64, exp: i32) -> f64 {
    match exp {
        0 => mant,
        -1 => mant * SMALL,
        // |mant| ≤ 2²⁴⁰ here, so the value is below 2⁻⁷²⁰: it underflows to 0 in f64.
        _ => 0.0,
    }
}

/// Recurrence state at one colatitude: the last two degrees of each tabulated quantity, all
/// sharing the exponent `exp`.
#[derive(Clone, Copy)]
struct State {
    p: [f64; 2],
    d: [f64; 2],
    q: [f64; 2],
    exp: i32,
}

/// Fills the blocks of order `job.m` for degrees `m ≤ l < lmax`.
fn fill_order(job: Job<'_>, lmax: usize, trig: &[(f64, f64)], phase: CsPhase) {
    let m = job.m;
    if m >= lmax {
        return;
    }
    let nlat = trig.len();
    let mf = m as f64;
    let sign = if phase == CsPhase::Include && m % 2 == 1 { -1.0 } else { 1.0 };
    let Job { v, mut d, mut q, .. } = job;

    // Sectoral start: r = P̄ₘᵐ / sin θ = (1/√4π) Π_{j<m} √((2j+1)/(2j)) sin θ · √((2m+1)/(2m))
    // for m ≥ 1, kept as mantissa and exponent.
    let mut states: Vec<State> = trig
        .iter()
        .map(|&(s, c)| {
            let mut mant = 1.0 / (4.0 * std::f64::consts::PI).sqrt();
            let mut exp = 0i32;
            if m == 0 {
                return State { p: [0.0, mant], d: [0.0, 0.0], q: [0.0, 0.0], exp };
            }
            for j in 1..m {
                let jf = j as f64;
                mant *= ((2.0 * jf + 1.0) / (2.0 * jf)).sqrt() * s;
                if mant == 0.0 {
                    break;
                }
                if mant.abs() < LO {
                    mant *= BIG;
                    exp -= 1;
                }
            }
            let r = mant * ((2.0 * mf + 1.0) / (2.0 * mf)).sqrt();
            // P̄ₘᵐ = r sin θ; m P̄ₘᵐ / sin θ = m r; dP̄ₘᵐ/dθ = m cos θ r.
            State { p: [0.0, r * s], d: [0.0, mf * c * r], q: [0.0, mf * r], exp }
        })
        .collect();

    let write_row = |row: usize,
                     states: &[State],
                     v: &mut [f64],
                     d: &mut Option<&mut [f64]>,
                     q: &mut Option<&mut [f64]>| {
        let base = row * nlat;
        for (k, st) in states.iter().enumerate() {
            v[base + k] = sign * to_f64(st.p[1], st.exp);
        }
        if let Some(d) = d.as_deref_mut() {
            for (k, st) in states.iter().enumerate() {
                d[base + k] = sign * to_f64(st.d[1], st.exp);
            }
        }
        if let Some(q) = q.as_deref_mut() {
            for (k, st) in states.iter().enumerate() {
                q[base + k] = sign * to_f64(st.q[1], st.exp);
            }
        }
    };
    write_row(0, &states, v, &mut d, &mut q);

    let with_derivs = d.is_some();
    for l in (m + 1)..lmax {
        let lf = l as f64;
        let a = ((4.0 * lf * lf - 1.0) / (lf * lf - mf * mf)).sqrt();
        let b = (((lf - 1.0) * (lf - 1.0) - mf * mf) * (2.0 * lf + 1.0)
            / ((2.0 * lf - 3.0) * (lf * lf - mf * mf)))
            .sqrt();
        // b = 0 at l = m + 1: P̄ₘ₋₁ᵐ does not exist (its state slot holds 0).
        for (st, &(s, c)) in states.iter_mut().zip(trig) {
            let p_new = a * c * st.p[1] - b * st.p[0];
            if with_derivs {
                let d_new = a * (c * st.d[1] - s * st.p[1]) - b * st.d[0];
                let q_new = a * c * st.q[1] - b * st.q[0];
                st.d = [st.d[1], d_new];
                st.q = [st.q[1], q_new];
            }
            st.p = [st.p[1], p_new];
            if st.exp < 0 {
                let big = st.p[1].abs().max(st.d[1].abs()).max(st.q[1].abs());
                if big > HI {
                    for x in st.p.iter_mut().chain(st.d.iter_mut()).chain(st.q.iter_mut()) {
                        *x *= SMALL;
                    }
                    st.exp += 1;
                }
            }
        }
        write_row(l - m, &states, v, &mut d, &mut q);
    }
}
