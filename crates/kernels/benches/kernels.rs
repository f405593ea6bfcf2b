//! Criterion benchmarks of Ψ assembly: the sphere at 256×512 with kernel [3, 4] and the default
//! cutoff, and irregular point clouds of 10⁴, 10⁵ and 10⁶ points with ~30 neighbours each.
//! Reference timings on the same CPU: `tools/bench_reference_kernels.py`.

use std::f64::consts::PI;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use lno_kernels::{Basis, DiscoPlanarSpec, DiscoS2Spec, SphereGridSpec};

/// Equiangular colatitudes with sin θ·Δθ weights (timing does not depend on the weights).
fn equiangular(n_lat: usize, n_lon: usize) -> SphereGridSpec {
    let dt = PI / (n_lat - 1) as f64;
    let t: Vec<f64> = (0..n_lat).map(|i| i as f64 * dt).collect();
    let w = t.iter().map(|t| (t.sin() * dt).max(dt * dt / 8.0)).collect();
    SphereGridSpec::new(t, w, n_lon).expect("valid grid")
}

/// A quasi-random cloud in [0, 1)² with unit total weight and a cutoff giving ~30 neighbours.
fn cloud_spec(n: usize) -> DiscoPlanarSpec {
    let pts: Vec<[f64; 2]> = (0..n)
        .map(|k| [(0.618033988749895 * k as f64).fract(), (0.7548776662466927 * k as f64).fract()])
        .collect();
    let rc = (30.0 / (PI * n as f64)).sqrt();
    DiscoPlanarSpec::forward(
        pts.clone(),
        vec![1.0 / n as f64; n],
        pts,
        Basis::piecewise_linear(3, 4).expect("basis"),
        rc,
    )
    .expect("valid spec")
}

fn benches(c: &mut Criterion) {
    let g = equiangular(256, 512);
    let sphere = DiscoS2Spec::forward(
        g.clone(),
        g.clone(),
        Basis::piecewise_linear(3, 4).expect("basis"),
        PI / 255.0,
    )
    .expect("valid spec");
    c.bench_function("sphere_eq256x512_to_eq256x512_k3x4_default_cutoff", |b| {
        b.iter(|| black_box(sphere.build().expect("builds")))
    });
    let small = cloud_spec(10_000);
    c.bench_function("cloud_1e4_points_30_neighbours_k3x4", |b| {
        b.iter(|| black_box(small.build().expect("builds")))
    });
    // 10⁵ points: the size `cargo xtask bench` reports (neuralop's dense table cannot hold it).
    // Ten samples at criterion's measurement time, so `--measurement-time` can shorten it.
    let mut group = c.benchmark_group("medium");
    group.sample_size(10);
    let medium = cloud_spec(100_000);
    group.bench_function("cloud_1e5_points_30_neighbours_k3x4", |b| {
        b.iter(|| black_box(medium.build().expect("builds")))
    });
    group.finish();
    let mut group = c.benchmark_group("large");
    group.sample_size(10).measurement_time(Duration::from_secs(30));
    let big = cloud_spec(1_000_000);
    group.bench_function("cloud_1e6_points_30_neighbours_k3x4", |b| {
        b.iter(|| black_box(big.build().expect("builds")))
    });
    group.finish();
}

criterion_group!(kernels, benches);
criterion_main!(kernels);
