//! Cylinder lattice Boltzmann throughput: 50 D2Q9 TRT steps of the DFG 2D-2 flow (Re 100) at
//! D = 20 and D = 40 nodes per diameter, reported by criterion as lattice updates per second
//! (element throughput = nodes × steps). Run with
//! `cargo bench -p lno-solvers --bench cylinder`; rayon uses all cores.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lno_solvers::cylinder::{CylinderLbm, LbmConfig};
use std::hint::black_box;

const STEPS: usize = 50;

fn cylinder(c: &mut Criterion) {
    let mut group = c.benchmark_group("cylinder_lbm");
    group.sample_size(10);
    for ny in [82usize, 164] {
        let config = LbmConfig::dfg(ny, 100.0);
        let mut lbm = CylinderLbm::new(config).expect("valid config");
        // Start from a developed wake rather than the initial state.
        lbm.advance(500).expect("stable");
        let (nx, ny) = lbm.shape();
        group.throughput(Throughput::Elements((nx * ny * STEPS) as u64));
        group.bench_function(format!("{nx}x{ny}_{STEPS}_steps"), |b| {
            b.iter(|| black_box(lbm.advance(STEPS).expect("stable")))
        });
    }
    group.finish();
}

criterion_group!(benches, cylinder);
criterion_main!(benches);
