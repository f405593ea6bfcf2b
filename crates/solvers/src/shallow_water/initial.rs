//! Initial conditions: Williamson test case 2, Galewsky's barotropic jet, random states.
//!
//! * Williamson et al. (1992) case 2: steady zonal geostrophic flow tilted by `α`, an exact
//!   steady solution of the equations (only degrees `l ≤ 2`).
//! * Galewsky et al. (2004): a zonal jet in gradient balance plus a height bump that triggers
//!   barotropic instability.
//! * torch-harmonics' random condition: white (flat) spectra of `φ`, `ζ`, `δ` up to
//!   `min(llimit, lmax)`, vorticity and divergence scaled by `Mach·√(g h̄)/a`.

use std::f64::consts::PI;

use lno_quadrature::Complex64;
use rand::Rng;
use rand_distr::StandardNormal;

use super::solver::{ShallowWater, SweState};
use crate::{Result, SolverError};

/// Parameters of Galewsky et al. (2004), their values by default.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GalewskyParams {
    /// Jet maximum `u_max` (m/s).
    pub umax: f64,
    /// Southern jet edge `φ₀` (rad).
    pub lat0: f64,
    /// Northern jet edge `φ₁` (rad).
    pub lat1: f64,
    /// Latitude of the bump `φ₂` (rad).
    pub lat2: f64,
    /// Zonal width of the bump `α` (rad).
    pub alpha: f64,
    /// Meridional width of the bump `β` (rad).
    pub beta: f64,
    /// Bump amplitude `ĥ` (m); 0 gives the balanced, unperturbed jet.
    pub hhat: f64,
    /// Global mean of the balanced height (m).
    pub hmean: f64,
}

impl Default for GalewskyParams {
    fn default() -> Self {
        Self {
            umax: 80.0,
            lat0: PI / 7.0,
            lat1: PI / 2.0 - PI / 7.0,
            lat2: PI / 4.0,
            alpha: 1.0 / 3.0,
            beta: 1.0 / 15.0,
            hhat: 120.0,
            hmean: 10_000.0,
        }
    }
}

/// Parameters of torch-harmonics' random initial condition.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RandomIcParams {
    /// Scale of vorticity and divergence, `rms(ζ) ≈ mach·√(g havg)/a` (torch-harmonics'
    /// data set: 0.2).
    pub mach: f64,
    /// torch-harmonics' `llimit`: coefficients `l, m < min(llimit, lmax)` are drawn, with
    /// variance `4π/(llimit(llimit + 1))` (80 in v0.6.5, 120 in 0.7.4 and 0.9.3).
    pub llimit: usize,
    /// Mean depth `h̄` (m).
    pub havg: f64,
    /// Height amplitude (m): `φ` coefficients are scaled by `g·hamp`.
    pub hamp: f64,
}

impl Default for RandomIcParams {
    fn default() -> Self {
        Self { mach: 0.2, llimit: 120, havg: 10_000.0, hamp: 120.0 }
    }
}

impl RandomIcParams {
    pub(crate) fn validate(&self) -> Result<()> {
        if !(self.mach.is_finite() && self.mach >= 0.0) {
            return Err(SolverError::invalid("mach", "a finite Mach number ≥ 0", self.mach));
        }
        if self.llimit == 0 {
            return Err(SolverError::invalid("llimit", "at least 1", self.llimit));
        }
        if !(self.havg.is_finite() && self.havg > 0.0) {
            return Err(SolverError::invalid("havg", "a finite mean depth > 0 (m)", self.havg));
        }
        if !(self.hamp.is_finite() && self.hamp >= 0.0) {
            return Err(SolverError::invalid("hamp", "a finite amplitude ≥ 0 (m)", self.hamp));
        }
        Ok(())
    }
}

/// Latitude `π/2 − θ` of every grid point's ring and longitude, row-major.
fn lat_lon(solver: &ShallowWater) -> Vec<(f64, f64)> {
    let g = solver.grid();
    g.colatitudes()
        .iter()
        .flat_map(|&t| g.longitudes().iter().map(move |&l| (PI / 2.0 - t, l)))
        .collect()
}

impl ShallowWater {
    /// Williamson et al. (1992) test case 2 with rotation angle `α` = the solver's
    /// [`SweConfig::axis_tilt`](super::SweConfig::axis_tilt) (the flow is steady only about the
    /// rotation axis):
    /// `u = u₀(cos φ cos α + cos λ sin φ sin α)`, `v = −u₀ sin λ sin α`,
    /// `g h = g h₀ − (aΩu₀ + u₀²/2)(−cos λ cos φ sin α + sin φ cos α)²`,
    /// `u₀ = 2πa/12 days`, `g h₀ = 2.94·10⁴ m² s⁻²`.
    ///
    /// # Errors
    /// None in practice (the configuration was validated).
    pub fn williamson2(&self) -> Result<SweState> {
        let alpha = self.config().axis_tilt;
        let p = self.config().planet;
        let u0 = 2.0 * PI * p.radius / (12.0 * 86_400.0);
        let gh0 = 2.94e4;
        let (sa, ca) = alpha.sin_cos();
        let pts = lat_lon(self);
        let u: Vec<f64> =
            pts.iter().map(|&(f, l)| u0 * (f.cos() * ca + l.cos() * f.sin() * sa)).collect();
        let v: Vec<f64> = pts.iter().map(|&(_, l)| -u0 * l.sin() * sa).collect();
        let phi: Vec<f64> = pts
            .iter()
            .map(|&(f, l)| {
                let s = -l.cos() * f.cos() * sa + f.sin() * ca;
                gh0 - (p.radius * p.omega * u0 + 0.5 * u0 * u0) * s * s
            })
            .collect();
        self.state_from_grid(&phi, &u, &v)
    }

    /// Galewsky et al. (2004): the jet
    /// `u = (u_max/e_n) exp(1/((φ − φ₀)(φ − φ₁)))` on `φ₀ < φ < φ₁`, its gradient-balanced
    /// geopotential from the divergence equation (`∇²φ = k̂·∇×(ηu) − ∇²½|u|²`, mean height
    /// `hmean`), plus the bump `g ĥ cos φ exp(−((λ − π)/α)²) exp(−((φ₂ − φ)/β)²)` centred on
    /// longitude π (Galewsky's λ = 0).
    ///
    /// # Errors
    /// Non-finite parameters or `lat0 ≥ lat1`.
    pub fn galewsky(&self, params: &GalewskyParams) -> Result<SweState> {
        let gp = params;
        let all = [gp.umax, gp.lat0, gp.lat1, gp.lat2, gp.alpha, gp.beta, gp.hhat, gp.hmean];
        if all.iter().any(|x| !x.is_finite()) {
            return Err(SolverError::invalid(
                "params",
                "finite Galewsky parameters",
                format!("{gp:?}"),
            ));
        }
        if gp.lat0 >= gp.lat1 {
            return Err(SolverError::invalid("lat0", format!("below lat1 = {}", gp.lat1), gp.lat0));
        }
        if gp.alpha <= 0.0 || gp.beta <= 0.0 {
            return Err(SolverError::invalid(
                "alpha",
                "bump widths alpha, beta > 0",
                gp.alpha.min(gp.beta),
            ));
        }
        let p = self.config().planet;
        let en = (-4.0 / (gp.lat1 - gp.lat0).powi(2)).exp();
        let pts = lat_lon(self);
        let u: Vec<f64> = pts
            .iter()
            .map(|&(f, _)| {
                if f > gp.lat0 && f < gp.lat1 {
                    gp.umax / en * (1.0 / ((f - gp.lat0) * (f - gp.lat1))).exp()
                } else {
                    0.0
                }
            })
            .collect();
        let v = vec![0.0; u.len()];
        let zero_phi = vec![0.0; u.len()];
        let jet = self.state_from_grid(&zero_phi, &u, &v)?;
        let fields = self.grid_fields_of(&jet)?;
        let coriolis = self.coriolis();
        let eta_u: Vec<f64> =
            (0..u.len()).map(|i| fields.u[i] * (fields.vort[i] + coriolis[i])).collect();
        let eta_v: Vec<f64> =
            (0..u.len()).map(|i| fields.v[i] * (fields.vort[i] + coriolis[i])).collect();
        let ke: Vec<f64> = (0..u.len())
            .map(|i| 0.5 * (fields.u[i] * fields.u[i] + fields.v[i] * fields.v[i]))
            .collect();
        let bump: Vec<f64> = pts
            .iter()
            .map(|&(f, l)| {
                p.gravity
                    * gp.hhat
                    * f.cos()
                    * (-((l - PI) / gp.alpha).powi(2)).exp()
                    * (-((gp.lat2 - f) / gp.beta).powi(2)).exp()
            })
            .collect();
        let (curl, _) = self.state_vector_forward(&eta_u, &eta_v)?;
        let ke_spec = self.state_from_grid(&ke, &v, &v)?.phi;
        let bump_spec = self.state_from_grid(&bump, &v, &v)?.phi;
        let lmax = self.config().lmax;
        let a2 = p.radius * p.radius;
        let mut phi = ke_spec.clone();
        let out = phi.as_mut_slice();
        for l in 0..lmax {
            for m in 0..=l {
                let i = l * lmax + m;
                let balanced = if l == 0 {
                    Complex64::new((4.0 * PI).sqrt() * p.gravity * gp.hmean, 0.0)
                } else {
                    -curl.as_slice()[i] * (a2 / (l * (l + 1)) as f64) - ke_spec.as_slice()[i]
                };
                out[i] = balanced + bump_spec.as_slice()[i];
            }
        }
        Ok(SweState { phi, vort: jet.vort, div: jet.div })
    }

    fn state_vector_forward(
        &self,
        u: &[f64],
        v: &[f64],
    ) -> Result<(lno_quadrature::Spectrum, lno_quadrature::Spectrum)> {
        let s = self.state_from_grid(&vec![0.0; u.len()], u, v)?;
        Ok((s.vort, s.div))
    }

    /// torch-harmonics' random initial condition (`random_initial_condition(mach)`): every
    /// coefficient `m ≤ l < L`, `L = min(llimit, lmax)`, of `φ`, `ζ` and `δ` (drawn in that
    /// order, `l` then `m`) is `σ z` with `z` complex standard normal (`E|z|² = 1`; real at
    /// `m = 0`, variance ½) and `σ² = 4π/(llimit(llimit + 1))`; then `φ ×= g·hamp`,
    /// `φ₀₀ += √(4π) g havg`, `ζ, δ ×= mach·√(g havg)/a`, and `ζ₀₀ = δ₀₀ = 0`.
    ///
    /// # Errors
    /// Invalid `params`.
    pub fn random_state<R: Rng + ?Sized>(
        &self,
        params: &RandomIcParams,
        rng: &mut R,
    ) -> Result<SweState> {
        params.validate()?;
        let p = self.config().planet;
        let lmax = self.config().lmax;
        let filled = params.llimit.min(lmax);
        let ll = params.llimit as f64;
        let sigma = (4.0 * PI / (ll * (ll + 1.0))).sqrt();
        let half = std::f64::consts::FRAC_1_SQRT_2;
        let mut state = SweState::zeros(lmax);
        let speed = (p.gravity * params.havg).sqrt();
        let scales = [
            p.gravity * params.hamp,
            params.mach * speed / p.radius,
            params.mach * speed / p.radius,
        ];
        for (s, scale) in [&mut state.phi, &mut state.vort, &mut state.div].into_iter().zip(scales)
        {
            let c = s.as_mut_slice();
            for l in 0..filled {
                for m in 0..=l {
                    let re: f64 = rng.sample(StandardNormal);
                    let z = if m == 0 {
                        Complex64::new(re * half, 0.0)
                    } else {
                        let im: f64 = rng.sample(StandardNormal);
                        Complex64::new(re * half, im * half)
                    };
                    c[l * lmax + m] = z * (sigma * scale);
                }
            }
        }
        state.phi.as_mut_slice()[0] += (4.0 * PI).sqrt() * p.gravity * params.havg;
        state.vort.as_mut_slice()[0] = Complex64::new(0.0, 0.0);
        state.div.as_mut_slice()[0] = Complex64::new(0.0, 0.0);
        Ok(state)
    }
}
