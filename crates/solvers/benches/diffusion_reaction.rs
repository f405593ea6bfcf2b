//! Diffusion–reaction benchmark: one PDEBench sample (128² cells, t ∈ [0, 5], 101 outputs,
//! rtol 1e-3, atol 1e-6) from white noise.

use criterion::{Criterion, criterion_group, criterion_main};
use lno_solvers::SampleGenerator;
use lno_solvers::diffusion_reaction::{DiffReactConfig, DiffReactGenerator};
use std::hint::black_box;

fn diffusion_reaction_128(c: &mut Criterion) {
    let generator = DiffReactGenerator::new(DiffReactConfig::pdebench()).expect("valid config");
    let mut group = c.benchmark_group("diffusion_reaction");
    group.sample_size(10);
    group.bench_function("dr_128_pdebench_sample", |b| {
        b.iter(|| generator.generate(black_box(0), black_box(0)).expect("converges"))
    });
    group.finish();
}

criterion_group!(benches, diffusion_reaction_128);
criterion_main!(benches);
