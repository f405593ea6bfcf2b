//! Tensor-product quadrature grids on boxes (any dimension; 2-D and 3-D are the usual ones).
//!
//! Each axis has its own 1-D rule on `[lower, lower + length]`. A periodic axis uses the
//! periodic trapezoid rule (`n` equispaced nodes, the right end omitted, weights `length/n`),
//! which is the right rule for smooth periodic functions; a non-periodic axis may use any of
//! the crate's rules. Flattened arrays are row-major: the last axis varies fastest, matching
//! the `(…, d1, …, dn)` layout of tensors in `lno-layers`.

use crate::error::{QuadratureError, Result};
use crate::rule::Rule;
use crate::{clenshaw_curtis, gauss_legendre, gauss_lobatto, trapezoid};

/// The 1-D rule used along one axis of a [`TensorGrid`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AxisRule {
    /// Trapezoid rule (periodic or with both endpoints).
    Trapezoid,
    /// Gauss–Legendre (non-periodic only).
    GaussLegendre,
    /// Gauss–Lobatto (non-periodic only).
    GaussLobatto,
    /// Clenshaw–Curtis (non-periodic only).
    ClenshawCurtis,
}

/// One axis of a box: rule, node count, and the physical extent `[lower, lower + length]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Axis {
    /// The 1-D rule.
    pub rule: AxisRule,
    /// Number of nodes along the axis.
    pub n: usize,
    /// Left end of the axis.
    pub lower: f64,
    /// Physical length (`> 0`).
    pub length: f64,
    /// Whether the axis is periodic (only with [`AxisRule::Trapezoid`]).
    pub periodic: bool,
}

impl Axis {
    /// A periodic axis of `n` equispaced nodes on `[lower, lower + length)`.
    pub fn periodic(n: usize, lower: f64, length: f64) -> Self {
        Self { rule: AxisRule::Trapezoid, n, lower, length, periodic: true }
    }

    /// A non-periodic axis with the given rule on `[lower, lower + length]`.
    pub fn bounded(rule: AxisRule, n: usize, lower: f64, length: f64) -> Self {
        Self { rule, n, lower, length, periodic: false }
    }

    /// The 1-D rule of this axis.
    ///
    /// # Errors
    /// Non-finite `lower`, non-positive or non-finite `length`, `periodic` with a rule other
    /// than the trapezoid rule, or too few nodes for the rule.
    pub fn rule(&self) -> Result<Rule> {
        if !self.lower.is_finite() {
            return Err(QuadratureError::invalid("lower", "a finite number", self.lower));
        }
        if !(self.length.is_finite() && self.length > 0.0) {
            return Err(QuadratureError::invalid(
                "length",
                "a finite positive length",
                self.length,
            ));
        }
        let (a, b) = (self.lower, self.lower + self.length);
        match (self.rule, self.periodic) {
            (AxisRule::Trapezoid, periodic) => trapezoid(self.n, a, b, periodic),
            (rule, true) => Err(QuadratureError::invalid(
                "periodic",
                "false unless the rule is AxisRule::Trapezoid",
                format!("true with {rule:?}"),
            )),
            (AxisRule::GaussLegendre, false) => gauss_legendre(self.n, a, b),
            (AxisRule::GaussLobatto, false) => gauss_lobatto(self.n, a, b),
            (AxisRule::ClenshawCurtis, false) => clenshaw_curtis(self.n, a, b),
        }
    }
}

/// A tensor-product grid in `D` dimensions: per-axis rules, their product points and weights.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorGrid<const D: usize> {
    axes: [Axis; D],
    rules: [Rule; D],
}

/// A 2-D tensor-product grid.
pub type TensorGrid2 = TensorGrid<2>;
/// A 3-D tensor-product grid.
pub type TensorGrid3 = TensorGrid<3>;

impl<const D: usize> TensorGrid<D> {
    /// Builds the grid from `D ≥ 1` axes.
    ///
    /// # Errors
    /// `D = 0`, or any axis invalid (see [`Axis::rule`]).
    pub fn new(axes: [Axis; D]) -> Result<Self> {
        if D == 0 {
            return Err(QuadratureError::invalid("axes", "at least one axis", 0));
        }
        let mut rules = Vec::with_capacity(D);
        for axis in &axes {
            rules.push(axis.rule()?);
        }
        let rules: [Rule; D] = rules.try_into().map_err(|_| {
            QuadratureError::invalid("axes", format!("{D} axes"), "a different count")
        })?;
        Ok(Self { axes, rules })
    }

    /// The axes the grid was built from.
    pub fn axes(&self) -> &[Axis; D] {
        &self.axes
    }

    /// The 1-D rule along each axis.
    pub fn rules(&self) -> &[Rule; D] {
        &self.rules
    }

    /// Node counts per axis.
    pub fn shape(&self) -> [usize; D] {
        std::array::from_fn(|d| self.rules[d].len())
    }

    /// Total number of grid points.
    pub fn len(&self) -> usize {
        self.rules.iter().map(Rule::len).product()
    }

    /// Whether the grid has no points (never true for a grid built by [`Self::new`]).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Multi-index of flat (row-major) index `i`.
    fn unravel(&self, mut i: usize) -> [usize; D] {
        let mut idx = [0; D];
        for d in (0..D).rev() {
            let n = self.rules[d].len();
            idx[d] = i % n;
            i /= n;
        }
        idx
    }

    /// All grid points, row-major (last axis fastest).
    pub fn points(&self) -> Vec<[f64; D]> {
        (0..self.len())
            .map(|i| {
                let idx = self.unravel(i);
                std::array::from_fn(|d| self.rules[d].nodes[idx[d]])
            })
            .collect()
    }

    /// Product weights of all grid points, row-major (last axis fastest); they sum to the
    /// box's volume for every rule.
    pub fn weights(&self) -> Vec<f64> {
        (0..self.len())
            .map(|i| {
                let idx = self.unravel(i);
                (0..D).map(|d| self.rules[d].weights[idx[d]]).product()
            })
            .collect()
    }

    /// Integrates `f` over the box with the product rule.
    pub fn integrate(&self, f: impl Fn([f64; D]) -> f64) -> f64 {
        self.points().into_iter().zip(self.weights()).map(|(p, w)| w * f(p)).sum()
    }

    /// Integrates a field given at the grid points in row-major order.
    ///
    /// # Errors
    /// `values.len()` differs from the number of grid points.
    pub fn integrate_values(&self, values: &[f64]) -> Result<f64> {
        if values.len() != self.len() {
            return Err(QuadratureError::invalid(
                "values",
                format!("{} values (one per grid point)", self.len()),
                values.len(),
            ));
        }
        Ok(self.weights().iter().zip(values).map(|(w, v)| w * v).sum())
    }
}
