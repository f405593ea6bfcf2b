//! The 1-D quadrature rule type shared by every rule constructor, and the checks and affine
//! map that all of them use.
//!
//! A [`Rule`] approximates `∫_a^b f(x) dx ≈ Σ_i w_i f(x_i)`. Nodes are stored in ascending
//! order; every constructor in this crate builds its rule on a reference interval and maps it
//! to `[a, b]` affinely.

use crate::error::{QuadratureError, Result};

/// A 1-D quadrature rule: nodes in ascending order and their weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Quadrature nodes, ascending.
    pub nodes: Vec<f64>,
    /// Quadrature weights, one per node.
    pub weights: Vec<f64>,
}

impl Rule {
    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the rule has no nodes (never true for rules built by this crate).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Applies the rule: `Σ_i w_i f(x_i)`.
    pub fn integrate(&self, f: impl Fn(f64) -> f64) -> f64 {
        self.nodes.iter().zip(&self.weights).map(|(&x, &w)| w * f(x)).sum()
    }
}

/// Checks that `[a, b]` is a finite, non-empty interval (`a < b`).
pub(crate) fn check_interval(a: f64, b: f64) -> Result<()> {
    if !a.is_finite() {
        return Err(QuadratureError::invalid("a", "a finite lower bound", a));
    }
    if !b.is_finite() {
        return Err(QuadratureError::invalid("b", "a finite upper bound", b));
    }
    if a >= b {
        return Err(QuadratureError::invalid(
            "b",
            format!("an upper bound greater than a = {a}"),
            b,
        ));
    }
    Ok(())
}

/// Checks a node count against a minimum.
pub(crate) fn check_count(name: &'static str, n: usize, min: usize) -> Result<()> {
    if n < min {
        return Err(QuadratureError::invalid(name, format!("at least {min}"), n));
    }
    Ok(())
}

/// Maps a rule on the reference interval `[-1, 1]` to `[a, b]`.
///
/// The half-length is applied to the reference node before the midpoint is added, so that
/// symmetric reference rules stay symmetric about the midpoint up to one rounding.
pub(crate) fn map_from_reference(reference: Rule, a: f64, b: f64) -> Rule {
    let half = 0.5 * (b - a);
    let mid = 0.5 * (a + b);
    let n = reference.nodes.len();
    let mut nodes: Vec<f64> = reference.nodes.iter().map(|&x| mid + half * x).collect();
    // Rounding in `mid + half * x` must not push the end nodes of closed rules outside [a, b].
    if n > 0 && reference.nodes[0] == -1.0 {
        nodes[0] = a;
    }
    if n > 0 && reference.nodes[n - 1] == 1.0 {
        nodes[n - 1] = b;
    }
    let weights = reference.weights.iter().map(|&w| half * w).collect();
    Rule { nodes, weights }
}
