//! Criterion benchmarks of the quadrature crate.
//!
//! Goals (issue 3): Gauss–Legendre with n = 10⁵ in under 50 ms; the f64 SHT round trip
//! (forward + inverse) of one 256×512 field at least as fast as torch-harmonics 0.9.3's
//! `RealSHT` + `InverseRealSHT` in float64 on the same CPU (`tools/bench_reference_sht.py`).

use criterion::{Criterion, criterion_group, criterion_main};
use lno_quadrature::{CsPhase, Sht, SphereGrid, SphereGridKind, VectorSht, gauss_legendre};
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

/// A smooth, non-band-limited test field.
fn field(nlat: usize, nlon: usize) -> Vec<f64> {
    (0..nlat * nlon)
        .map(|i| {
            let (k, p) = ((i / nlon) as f64 / nlat as f64, (i % nlon) as f64 / nlon as f64);
            (6.0 * k).sin() * (2.0 * std::f64::consts::PI * p).cos() + 0.1 * k
        })
        .collect()
}

fn bench_sht(c: &mut Criterion) {
    let (nlat, nlon) = (256, 512);
    let mut group = c.benchmark_group("sht_256x512");
    group.sample_size(30);
    // Legendre–Gauss: lmax = 256 is both our maximum and torch-harmonics' default.
    // Equiangular: lmax = 128, the largest exact truncation (torch-harmonics is timed with the
    // same lmax in the reference script).
    for (kind, lmax) in [(SphereGridKind::LegendreGauss, 256), (SphereGridKind::Equiangular, 128)] {
        let grid = SphereGrid::new(kind, nlat, nlon).expect("valid grid");
        let name = kind.torch_harmonics_name();
        let sht = Sht::new(&grid, lmax, lmax, CsPhase::Include).expect("valid truncation");
        let x = field(nlat, nlon);
        let mut spec = sht.forward(&x).expect("valid field");
        let mut y = vec![0.0; nlat * nlon];
        group.bench_function(format!("{name}/forward+inverse"), |b| {
            b.iter(|| {
                sht.forward_into(black_box(&x), &mut spec).expect("shapes match");
                sht.inverse_into(&spec, &mut y).expect("shapes match");
            })
        });
        group.bench_function(format!("{name}/plan"), |b| {
            b.iter(|| Sht::new(&grid, lmax, lmax, CsPhase::Include).expect("valid"))
        });
    }
    let grid = SphereGrid::new(SphereGridKind::LegendreGauss, nlat, nlon).expect("valid grid");
    let vsht = VectorSht::new(&grid, 256, 256, CsPhase::Include, 1.0).expect("valid");
    let u = field(nlat, nlon);
    let v: Vec<f64> = u.iter().rev().copied().collect();
    group.bench_function("legendre-gauss/vector forward+inverse", |b| {
        b.iter(|| {
            let (z, d) = vsht.forward(black_box(&u), black_box(&v)).expect("valid");
            vsht.inverse(&z, &d).expect("valid")
        })
    });
    group.finish();
}

criterion_group!(benches, bench_gauss_legendre, bench_sht);
criterion_main!(benches);
