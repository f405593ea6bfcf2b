//! The trapezoid rule on `[a, b]`, periodic and non-periodic.
//!
//! Non-periodic: `n ≥ 2` equispaced nodes including both endpoints, spacing `h = (b−a)/(n−1)`,
//! weights `h` with the two end weights halved. Periodic: `n ≥ 1` nodes `a + (b−a)i/n`,
//! `i < n` (the right end is the same point as the left one and is not repeated), all weights
//! `(b−a)/n`; spectrally accurate for smooth periodic integrands.
//!
//! torch-harmonics 0.7.4 inverts the `endpoint` flag (layers-spec §4); we implement the
//! intended rule, as 0.9.3 does.

use crate::error::Result;
use crate::rule::{Rule, check_count, check_interval};

/// Trapezoid rule with `n` nodes on `[a, b]`; see the module docs for both variants.
///
/// # Errors
/// `n < 2` (non-periodic) or `n < 1` (periodic); non-finite or empty interval.
pub fn trapezoid(n: usize, a: f64, b: f64, periodic: bool) -> Result<Rule> {
    check_interval(a, b)?;
    let len = b - a;
    if periodic {
        check_count("n", n, 1)?;
        let h = len / n as f64;
        let nodes = (0..n).map(|i| a + len * (i as f64 / n as f64)).collect();
        Ok(Rule { nodes, weights: vec![h; n] })
    } else {
        check_count("n", n, 2)?;
        let h = len / (n - 1) as f64;
        let mut nodes: Vec<f64> = (0..n).map(|i| a + len * (i as f64 / (n - 1) as f64)).collect();
        // The last node must be exactly b, whatever the rounding of the product.
        nodes[n - 1] = b;
        let mut weights = vec![h; n];
        weights[0] = 0.5 * h;
        weights[n - 1] = 0.5 * h;
        Ok(Rule { nodes, weights })
    }
}
