//! Darcy benchmarks at the FNO resolution 421²: one solve (assembly, multigrid setup and
//! PCG to rtol 1e-10) on a two-phase 12/3 coefficient, and one Neumann GRF draw.
//!
//! Compare with `tools/bench_reference_darcy.py` (scipy 5-point FD + sparse direct solve).

use criterion::{Criterion, criterion_group, criterion_main};
use lno_solvers::darcy::{DarcyConfig, DarcyGenerator, DarcyOptions, solve_darcy};
use lno_solvers::grf::{NeumannGrf, NeumannGrid};
use lno_solvers::sample_rng;
use std::hint::black_box;

fn darcy_421(c: &mut Criterion) {
    let s = 421;
    let generator = DarcyGenerator::new(DarcyConfig::fno(s)).expect("valid FNO config");
    let a = generator.coefficient(0, 0);
    let f = vec![1.0; s * s];
    let options = DarcyOptions::default();
    let mut group = c.benchmark_group("darcy");
    group.sample_size(20);
    group.bench_function("solve_421_two_phase_rtol1e-10", |b| {
        b.iter(|| solve_darcy(s, black_box(&a), black_box(&f), &options).expect("converges"))
    });
    let grf = NeumannGrf::fno_darcy(s, NeumannGrid::Vertex).expect("valid GRF");
    group.bench_function("grf_neumann_421", |b| {
        let mut rng = sample_rng(0, 0);
        b.iter(|| grf.sample(&mut rng))
    });
    group.finish();
}

criterion_group!(benches, darcy_421);
criterion_main!(benches);
