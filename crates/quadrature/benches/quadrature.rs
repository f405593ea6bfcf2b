//! Criterion benchmarks of the quadrature crate: Gauss–Legendre at n = 10⁵ (goal < 50 ms).

use criterion::{Criterion, criterion_group, criterion_main};
use lno_quadrature::gauss_legendre;
use std::hint::black_box;

fn bench_gauss_legendre(c: &mut Criterion) {
    let mut group = c.benchmark_group("gauss_legendre");
    for n in [1_000usize, 100_000] {
        group.bench_function(format!("n={n}"), |b| {
            b.iter(|| gauss_legendre(black_box(n), -1.0, 1.0).expect("valid n"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_gauss_legendre);
criterion_main!(benches);
