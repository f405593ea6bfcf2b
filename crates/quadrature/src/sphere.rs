//! Latitude–longitude grids on the unit sphere with exact quadrature weights.
//!
//! Conventions (those of torch-harmonics, layers-spec §1, §4): latitude index 0 is the north
//! pole side, colatitudes `θ_k` ascend from near 0 to near π; longitudes are `λ_p = 2πp/nlon`,
//! `p < nlon`. Quadrature in latitude is a 1-D rule in `x = cos θ` on `[−1, 1]` (the rule
//! absorbs the `sin θ` of the surface element):
//!
//! * [`SphereGridKind::Equiangular`]: `θ_k = πk/(nlat − 1)`, both poles included,
//!   Clenshaw–Curtis weights in `cos θ`; exact for polynomials in `cos θ` of degree `nlat − 1`
//!   (degree `nlat` for odd `nlat`).
//! * [`SphereGridKind::LegendreGauss`]: Gauss–Legendre nodes in `cos θ`, no poles; exact to
//!   degree `2 nlat − 1`.
//! * [`SphereGridKind::Lobatto`]: Gauss–Lobatto nodes in `cos θ`, both poles included; exact to
//!   degree `2 nlat − 3`.
//!
//! Two weight normalisations are exposed: [`SphereGrid::latitude_weights`] are the 1-D weights
//! in `cos θ` (they sum to 2; this is torch-harmonics' `w`), and [`SphereGrid::weights`] are the
//! weights of the surface measure per grid point of each latitude ring,
//! `latitude_weights()[k] · 2π/nlon`, so that summing them over all `nlat × nlon` points gives
//! the sphere's area 4π. All grids are exactly symmetric about the equator:
//! `θ_{nlat−1−k} = π − θ_k` and equal weights.

use std::f64::consts::PI;

use crate::error::{QuadratureError, Result};
use crate::{clenshaw_curtis, gauss_legendre, lobatto};

/// The latitude rule of a [`SphereGrid`]; in configs spelled as torch-harmonics does
/// (`"equiangular"`, `"legendre-gauss"`, `"lobatto"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SphereGridKind {
    /// Equally spaced colatitudes with both poles, Clenshaw–Curtis weights (torch-harmonics
    /// `"equiangular"`).
    Equiangular,
    /// Gauss–Legendre nodes in `cos θ` (torch-harmonics `"legendre-gauss"`).
    LegendreGauss,
    /// Gauss–Lobatto nodes in `cos θ`, both poles included (torch-harmonics `"lobatto"`).
    Lobatto,
}

impl SphereGridKind {
    /// The name torch-harmonics uses for this grid.
    pub fn torch_harmonics_name(self) -> &'static str {
        match self {
            Self::Equiangular => "equiangular",
            Self::LegendreGauss => "legendre-gauss",
            Self::Lobatto => "lobatto",
        }
    }
}

/// An `nlat × nlon` latitude–longitude grid with quadrature weights; see the module docs.
#[derive(Debug, Clone, PartialEq)]
pub struct SphereGrid {
    kind: SphereGridKind,
    nlat: usize,
    nlon: usize,
    colatitudes: Vec<f64>,
    latitude_weights: Vec<f64>,
    weights: Vec<f64>,
    longitudes: Vec<f64>,
}

impl SphereGrid {
    /// Builds a grid with `nlat ≥ 2` latitudes and `nlon ≥ 1` longitudes.
    ///
    /// # Errors
    /// `nlat < 2` or `nlon < 1`.
    pub fn new(kind: SphereGridKind, nlat: usize, nlon: usize) -> Result<Self> {
        if nlat < 2 {
            return Err(QuadratureError::invalid("nlat", "at least 2", nlat));
        }
        if nlon < 1 {
            return Err(QuadratureError::invalid("nlon", "at least 1", nlon));
        }
        let (colatitudes, latitude_weights) = match kind {
            SphereGridKind::Equiangular => {
                let rule = clenshaw_curtis::reference_rule(nlat);
                let n1 = (nlat - 1) as f64;
                let mut theta = vec![0.0; nlat];
                for k in 0..nlat.div_ceil(2) {
                    theta[k] = PI * (k as f64 / n1);
                    theta[nlat - 1 - k] = PI - theta[k];
                }
                if nlat % 2 == 1 {
                    theta[nlat / 2] = 0.5 * PI;
                }
                // Clenshaw–Curtis weights are symmetric, so ascending-x order is also
                // ascending-θ order.
                (theta, rule.weights)
            }
            SphereGridKind::LegendreGauss => gauss_legendre::colatitude_rule(nlat),
            SphereGridKind::Lobatto => lobatto::colatitude_rule(nlat),
        };
        let dlon = 2.0 * PI / nlon as f64;
        let weights = latitude_weights.iter().map(|&w| w * dlon).collect();
        let longitudes = (0..nlon).map(|p| 2.0 * PI * (p as f64 / nlon as f64)).collect();
        Ok(Self { kind, nlat, nlon, colatitudes, latitude_weights, weights, longitudes })
    }

    /// The latitude rule.
    pub fn kind(&self) -> SphereGridKind {
        self.kind
    }

    /// Number of latitudes.
    pub fn nlat(&self) -> usize {
        self.nlat
    }

    /// Number of longitudes.
    pub fn nlon(&self) -> usize {
        self.nlon
    }

    /// Colatitudes `θ_k ∈ [0, π]`, ascending (index 0 is nearest the north pole).
    pub fn colatitudes(&self) -> &[f64] {
        &self.colatitudes
    }

    /// Longitudes `λ_p = 2πp/nlon`, `p < nlon`.
    pub fn longitudes(&self) -> &[f64] {
        &self.longitudes
    }

    /// 1-D quadrature weights in `cos θ` per latitude (sum 2); torch-harmonics' weights.
    pub fn latitude_weights(&self) -> &[f64] {
        &self.latitude_weights
    }

    /// Surface-measure weight of each grid point of latitude ring `k`:
    /// `latitude_weights()[k] · 2π/nlon`. The sum over all `nlat × nlon` points is 4π.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// Highest degree of a polynomial in `cos θ` that the latitude rule integrates exactly.
    pub fn exact_degree(&self) -> usize {
        match self.kind {
            // An n-point Clenshaw–Curtis rule is exact to degree n − 1, and to degree n when n
            // is odd (odd integrands vanish by symmetry).
            SphereGridKind::Equiangular => self.nlat - 1 + self.nlat % 2,
            SphereGridKind::LegendreGauss => 2 * self.nlat - 1,
            SphereGridKind::Lobatto => 2 * self.nlat - 3,
        }
    }

    /// The largest number of degrees `lmax` (degrees `0 ≤ l < lmax`) that the grid resolves:
    /// products `P̄ₗᵐ P̄ₗ′ᵐ` with `l, l′ < lmax` are polynomials in `cos θ` of degree
    /// `l + l′ ≤ 2 lmax − 2`, integrated exactly iff `2 lmax − 2 ≤` [`Self::exact_degree`].
    /// This is `nlat` (Legendre–Gauss), `nlat − 1` (Lobatto), `⌊(nlat + 1)/2⌋` (equiangular).
    pub fn max_lmax(&self) -> usize {
        self.exact_degree() / 2 + 1
    }

    /// Integrates a field given row-major as `nlat × nlon` values over the unit sphere.
    ///
    /// # Errors
    /// `field.len() != nlat · nlon`.
    pub fn integrate(&self, field: &[f64]) -> Result<f64> {
        if field.len() != self.nlat * self.nlon {
            return Err(QuadratureError::invalid(
                "field",
                format!("nlat·nlon = {} values", self.nlat * self.nlon),
                field.len(),
            ));
        }
        Ok(field
            .chunks_exact(self.nlon)
            .zip(&self.weights)
            .map(|(row, &w)| w * row.iter().sum::<f64>())
            .sum())
    }
}
