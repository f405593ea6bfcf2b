//! DISCO kernel tensors on 2-D point clouds (neuralop `DiscreteContinuousConv2d` and its
//! transpose), with an optional periodic wrap for any domain lengths.
//!
//! Neighbours come from a k-d tree (kiddo) over the input points, so memory is O(nnz); the
//! reference forms a dense `n_out × n_in` table of offsets. Offsets are `d = x_in − x_out`
//! (transpose: `x_out − x_in`), evaluated at `r = |d|`, `φ = atan2(d_y, d_x) + π` as in neuralop.

use kiddo::{ImmutableKdTree, SquaredEuclidean};
use rayon::prelude::*;

use crate::basis::{Basis, FilterBasis};
use crate::csr::{self, Entry, EntryInfo, KernelTensor, Layout, Normalization};
use crate::error::{KernelError, Result, check_positive};

/// The domain the points live in.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum PlanarDomain {
    /// No wrap: offsets are plain differences.
    Open,
    /// A torus `[0, L0) × [0, L1)`: offsets take the minimal image (the reference hard-codes
    /// `L = 1`). Needs `cutoff < min(L)/2`, so that an input point is seen at most once.
    Periodic {
        /// Periods along coordinates 0 and 1.
        lengths: [f64; 2],
    },
}

/// Which of the two planar DISCO operators a [`DiscoPlanarSpec`] builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum PlanarDirection {
    /// `DiscreteContinuousConv2d`: offset `x_in − x_out`.
    Forward,
    /// `DiscreteContinuousConvTranspose2d`: offset `x_out − x_in` (the kernel point-reflected),
    /// normalised per output point like the forward.
    Transpose,
}

/// Everything that determines a planar Ψ (also the key of the in-process cache).
///
/// Coordinates are `[x, y]` = (coordinate 0, coordinate 1), the rows of neuralop's `(2, n)` grids.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DiscoPlanarSpec {
    points_in: Vec<[f64; 2]>,
    weights_in: Vec<f64>,
    points_out: Vec<[f64; 2]>,
    basis: Basis,
    cutoff: f64,
    normalization: Normalization,
    domain: PlanarDomain,
    direction: PlanarDirection,
}

impl DiscoPlanarSpec {
    /// The forward operator from `points_in` (with quadrature weights `weights_in`) to
    /// `points_out`, with neuralop's defaults: [`Normalization::Signed`], [`PlanarDomain::Open`].
    pub fn forward(
        points_in: Vec<[f64; 2]>,
        weights_in: Vec<f64>,
        points_out: Vec<[f64; 2]>,
        basis: Basis,
        cutoff: f64,
    ) -> Result<Self> {
        Self::new(points_in, weights_in, points_out, basis, cutoff, PlanarDirection::Forward)
    }

    /// The transpose operator (see [`PlanarDirection::Transpose`]), same defaults.
    pub fn transpose(
        points_in: Vec<[f64; 2]>,
        weights_in: Vec<f64>,
        points_out: Vec<[f64; 2]>,
        basis: Basis,
        cutoff: f64,
    ) -> Result<Self> {
        Self::new(points_in, weights_in, points_out, basis, cutoff, PlanarDirection::Transpose)
    }

    fn new(
        points_in: Vec<[f64; 2]>,
        weights_in: Vec<f64>,
        points_out: Vec<[f64; 2]>,
        basis: Basis,
        cutoff: f64,
        direction: PlanarDirection,
    ) -> Result<Self> {
        check_positive("cutoff", cutoff)?;
        if points_in.is_empty() {
            return Err(KernelError::invalid("points_in", "at least one point", 0));
        }
        if points_out.is_empty() {
            return Err(KernelError::invalid("points_out", "at least one point", 0));
        }
        if points_in.len() >= u32::MAX as usize {
            return Err(KernelError::invalid(
                "points_in",
                "fewer than 2^32 points",
                points_in.len(),
            ));
        }
        if weights_in.len() != points_in.len() {
            return Err(KernelError::invalid(
                "weights_in",
                format!("one weight per input point ({})", points_in.len()),
                weights_in.len(),
            ));
        }
        if let Some(w) = weights_in.iter().find(|w| !w.is_finite()) {
            return Err(KernelError::invalid("weights_in", "finite values", w));
        }
        for (name, pts) in [("points_in", &points_in), ("points_out", &points_out)] {
            if let Some(p) = pts.iter().find(|p| !(p[0].is_finite() && p[1].is_finite())) {
                return Err(KernelError::invalid(name, "finite coordinates", format!("{p:?}")));
            }
        }
        // The diameter of everything: a larger cutoff makes every point a neighbour of every
        // other one (a dense operator), which is never a local kernel.
        let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        for p in points_in.iter().chain(&points_out) {
            for d in 0..2 {
                lo[d] = lo[d].min(p[d]);
                hi[d] = hi[d].max(p[d]);
            }
        }
        let diameter = (hi[0] - lo[0]).hypot(hi[1] - lo[1]);
        if cutoff > diameter && diameter > 0.0 {
            return Err(KernelError::invalid(
                "cutoff",
                format!("at most the diameter of the point sets ({diameter})"),
                cutoff,
            ));
        }
        Ok(Self {
            points_in,
            weights_in,
            points_out,
            basis,
            cutoff,
            normalization: Normalization::Signed,
            domain: PlanarDomain::Open,
            direction,
        })
    }

    /// Sets the normalisation mode ([`Normalization::MeanAbs`] averages over output points).
    pub fn with_normalization(mut self, normalization: Normalization) -> Self {
        self.normalization = normalization;
        self
    }

    /// Sets the domain; a periodic one needs positive lengths with `cutoff < min(L)/2`.
    pub fn with_domain(mut self, domain: PlanarDomain) -> Result<Self> {
        if let PlanarDomain::Periodic { lengths } = domain {
            check_positive("lengths[0]", lengths[0])?;
            check_positive("lengths[1]", lengths[1])?;
            let half = 0.5 * lengths[0].min(lengths[1]);
            if self.cutoff >= half {
                return Err(KernelError::invalid(
                    "cutoff",
                    format!("less than half the shortest period ({half})"),
                    self.cutoff,
                ));
            }
        }
        self.domain = domain;
        Ok(self)
    }

    /// The basis.
    pub fn basis(&self) -> &Basis {
        &self.basis
    }

    /// The cutoff radius.
    pub fn cutoff(&self) -> f64 {
        self.cutoff
    }

    /// The normalisation mode.
    pub fn normalization(&self) -> Normalization {
        self.normalization
    }

    /// The direction.
    pub fn direction(&self) -> PlanarDirection {
        self.direction
    }

    /// The domain.
    pub fn domain(&self) -> PlanarDomain {
        self.domain
    }

    /// `(points_in, weights_in, points_out)`.
    pub fn points(&self) -> (&[[f64; 2]], &[f64], &[[f64; 2]]) {
        (&self.points_in, &self.weights_in, &self.points_out)
    }

    /// Offset `d = x_in − x_out` (transpose: reversed), wrapped to the minimal image on a torus.
    fn offset(&self, out: [f64; 2], inp: [f64; 2]) -> [f64; 2] {
        let mut d = match self.direction {
            PlanarDirection::Forward => [inp[0] - out[0], inp[1] - out[1]],
            PlanarDirection::Transpose => [out[0] - inp[0], out[1] - inp[1]],
        };
        if let PlanarDomain::Periodic { lengths } = self.domain {
            for a in 0..2 {
                // The reference's rule with period L: keep d unless its image is shorter.
                let l = lengths[a];
                let x = d[a] - l * (d[a] / l).round();
                let image = if x > 0.0 { x - l } else { x + l };
                d[a] = if x.abs() < image.abs() { x } else { image };
            }
        }
        d
    }

    /// Builds Ψ: rows `l·n_out + i`, columns input points (see [`Layout::Planar`]).
    ///
    /// Errors if some output point has no input point within the cutoff.
    pub fn build(&self) -> Result<KernelTensor> {
        let wrap = |p: [f64; 2]| match self.domain {
            PlanarDomain::Open => p,
            PlanarDomain::Periodic { lengths } => {
                [p[0].rem_euclid(lengths[0]), p[1].rem_euclid(lengths[1])]
            }
        };
        let tree_points: Vec<[f64; 2]> = self.points_in.iter().map(|&p| wrap(p)).collect();
        let tree = ImmutableKdTree::<f64, 2>::new_from_slice(&tree_points).map_err(|e| {
            KernelError::invalid("points_in", "points a k-d tree accepts", format!("{e:?}"))
        })?;
        // A hair wider than the cutoff: candidates are tested exactly by the basis.
        let search = self.cutoff * (1.0 + 1e-9);
        let r2 = search * search;
        let period = match self.domain {
            PlanarDomain::Periodic { lengths } => Some(lengths),
            PlanarDomain::Open => None,
        };
        let blocks: Vec<Vec<Entry>> = self
            .points_out
            .par_iter()
            .map_init(
                || (Vec::new(), Vec::new()),
                |(neigh, vals), &x_out| {
                    let q = wrap(x_out);
                    neigh.clear();
                    let found = match &period {
                        Some(box_size) => tree
                            .query(&q)
                            .periodic_boundary_condition(box_size)
                            .within::<SquaredEuclidean<f64>>(r2)
                            .unsorted()
                            .execute(),
                        None => {
                            tree.query(&q).within::<SquaredEuclidean<f64>>(r2).unsorted().execute()
                        }
                    };
                    neigh.extend(found.iter().map(|n| n.item));
                    neigh.sort_unstable();
                    let mut out: Vec<Entry> = Vec::with_capacity(neigh.len() * 3);
                    for &j in neigh.iter() {
                        let d = self.offset(x_out, self.points_in[j as usize]);
                        let r = d[0].hypot(d[1]);
                        let phi = d[1].atan2(d[0]) + std::f64::consts::PI;
                        vals.clear();
                        self.basis.eval(r, phi, self.cutoff, vals);
                        out.extend(vals.iter().map(|&(k, v)| (k as u32, j, v)));
                    }
                    if neigh.is_empty() {
                        // Marks an empty neighbourhood (reported below).
                        out.push((u32::MAX, 0, 0.0));
                    }
                    out.sort_unstable_by_key(|e| (e.0, e.1));
                    out
                },
            )
            .collect();
        if let Some(i) = blocks.iter().position(|b| b.first().is_some_and(|e| e.0 == u32::MAX)) {
            return Err(KernelError::invalid(
                "cutoff",
                format!(
                    "large enough that output point {i} {:?} has input points within it",
                    self.points_out[i]
                ),
                self.cutoff,
            ));
        }
        let n_basis = self.basis.n_basis();
        let mut raw = csr::assemble(&blocks, n_basis, self.points_in.len());
        drop(blocks);
        csr::normalize(
            &mut raw,
            &PlanarInfo { weights: &self.weights_in, n_out: self.points_out.len() },
            self.normalization,
            1.0,
        );
        raw.finish(Layout::Planar { n_out: self.points_out.len(), n_in: self.points_in.len() })
    }
}

/// Normalisation groups (output points) and weights (input quadrature) in the plane.
struct PlanarInfo<'a> {
    weights: &'a [f64],
    n_out: usize,
}

impl EntryInfo for PlanarInfo<'_> {
    fn n_groups(&self) -> usize {
        self.n_out
    }

    fn group(&self, unit: usize, _col: usize) -> usize {
        unit
    }

    fn weight(&self, _unit: usize, col: usize) -> f64 {
        self.weights[col]
    }
}
