//! Builds Ψ for an irregular cloud of `n` points (first argument, default 10⁶) with ~30
//! neighbours each and prints time and nnz; run under `/usr/bin/time -v` for peak memory.

use std::f64::consts::PI;
use std::time::Instant;

use lno_kernels::{Basis, DiscoPlanarSpec};

fn main() -> Result<(), lno_kernels::KernelError> {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let pts: Vec<[f64; 2]> = (0..n)
        .map(|k| [(0.618033988749895 * k as f64).fract(), (0.7548776662466927 * k as f64).fract()])
        .collect();
    let rc = (30.0 / (PI * n as f64)).sqrt();
    let spec = DiscoPlanarSpec::forward(
        pts.clone(),
        vec![1.0 / n as f64; n],
        pts,
        Basis::piecewise_linear(3, 4)?,
        rc,
    )?;
    let t0 = Instant::now();
    let psi = spec.build()?;
    let dt = t0.elapsed().as_secs_f64();
    let per_row = psi.nnz() as f64 / n as f64;
    println!(
        "n = {n}, cutoff {rc:.5}: {dt:.3} s, nnz {} ({per_row:.1} per output point)",
        psi.nnz()
    );
    Ok(())
}
