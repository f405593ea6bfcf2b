//! Times the cylinder data-set generator: generates samples `0..k` of seed 0 with the default
//! [`CylinderDataConfig`] (D = 20, Re ∈ [60, 120], 60 + U(0, 10) convective times of spin-up)
//! one after the other, the lattice parallel over rows, and prints the time per sample and the
//! projected time of the default 250 training + 50 test samples.
//!
//! `cargo run --release -p lno-solvers --example cylinder_samples -- [k]` (default k = 2).

use std::time::Instant;

use lno_solvers::SampleGenerator;
use lno_solvers::cylinder::{CylinderDataConfig, CylinderGenerator};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let k: u64 = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(2);
    let config = CylinderDataConfig::default();
    let start = Instant::now();
    let generator = CylinderGenerator::new(config.clone())?;
    println!(
        "cloud: {} points, built in {:.1} s; {} rayon threads",
        generator.points().len(),
        start.elapsed().as_secs_f64(),
        rayon::current_num_threads()
    );
    let (mut total_secs, mut total_updates) = (0.0, 0.0);
    for index in 0..k {
        let (reynolds, phase) = generator.draw(0, index);
        let lattice = config.lattice(reynolds);
        let steps = ((config.t_spinup + phase + config.snapshot_dt)
            * lattice.steps_per_convective_time())
        .round();
        let updates = steps * (lattice.nx() * lattice.ny) as f64;
        let start = Instant::now();
        generator.generate(0, index)?;
        let secs = start.elapsed().as_secs_f64();
        total_secs += secs;
        total_updates += updates;
        println!(
            "sample {index}: Re {reynolds:.1}, {steps} steps, {:.2e} lattice updates in {secs:.1} s \
             ({:.1} MLUPS)",
            updates,
            updates / secs / 1e6
        );
    }
    let per_sample = total_secs / k as f64;
    println!(
        "mean {per_sample:.1} s per sample ({:.1} MLUPS): 250 + 50 samples ≈ {:.1} h",
        total_updates / total_secs / 1e6,
        300.0 * per_sample / 3600.0
    );
    Ok(())
}
