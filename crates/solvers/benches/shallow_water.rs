//! Shallow-water benchmarks at torch-harmonics' data-set resolution, 256×512 with
//! `lmax = mmax = 86` and Δt = 150 s: one AB3 step on the equiangular and the Legendre–Gauss
//! grid, for the comparison with `tools/bench_reference_shallow_water.py`.

use criterion::{Criterion, criterion_group, criterion_main};
use lno_quadrature::SphereGridKind;
use lno_solvers::sample_rng;
use lno_solvers::shallow_water::{RandomIcParams, ShallowWater, SweConfig};
use std::hint::black_box;

fn solver(kind: SphereGridKind) -> ShallowWater {
    let mut s = ShallowWater::new(SweConfig::new(kind, 256, 512, 150.0)).expect("valid config");
    let state =
        s.random_state(&RandomIcParams::default(), &mut sample_rng(0, 0)).expect("valid IC");
    s.set_state(state).expect("stable step");
    // Fill the AB3 history so every timed step is a full AB3 step.
    s.advance(2).expect("stable");
    s
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("shallow_water_256x512");
    for (name, kind) in [
        ("equiangular", SphereGridKind::Equiangular),
        ("legendre_gauss", SphereGridKind::LegendreGauss),
    ] {
        let mut s = solver(kind);
        group.bench_function(format!("step_{name}"), |b| {
            b.iter(|| {
                s.step().expect("stable");
                black_box(s.state().phi.as_slice()[0]);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
