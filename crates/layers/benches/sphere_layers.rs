//! Criterion benchmarks of the sphere layers, the workloads of `tools/bench_reference_sphere.py`:
//! DISCO forward and forward + backward at 128×256, batch 4, 32 → 32 channels, kernel [3, 4]
//! (equiangular, default cutoff), and the tensor SHT round trip at 256×512, batch 4 × 32
//! channels (equiangular, lmax = mmax = 128, torch-harmonics 0.9.3's default truncation).
//! libtorch runs on 2 threads like the reference (`LNO_BENCH_THREADS` overrides, e.g. 1 to
//! compare the work of the op sequences on a loaded machine, where every parallel region's
//! barrier can cost a scheduler time slice). `forward_backward_block8` is the same layer
//! with 8-latitude blocks of the banded contraction instead of the default 16.

use criterion::{Criterion, criterion_group, criterion_main};
use lno_layers::sphere::{DiscoConvS2, DiscoS2Options, InverseRealSht, RealSht};
use lno_quadrature::SphereGridKind;
use tch::{Device, Kind, Tensor, nn};

/// libtorch intra-op threads: `LNO_BENCH_THREADS`, default 2 (the reference's setting).
fn threads() -> i32 {
    std::env::var("LNO_BENCH_THREADS").ok().and_then(|v| v.parse().ok()).unwrap_or(2)
}

fn disco(c: &mut Criterion) {
    tch::set_num_threads(threads());
    tch::manual_seed(0);
    let vs = nn::VarStore::new(Device::Cpu);
    let opts = DiscoS2Options { bias: false, ..Default::default() };
    let layer =
        DiscoConvS2::new(&vs.root(), 32, 32, [128, 256], [128, 256], &[3, 4], opts).unwrap();
    let x = Tensor::randn([4, 32, 128, 256], (Kind::Float, Device::Cpu));
    let mut g = c.benchmark_group("sphere_disco_128x256_b4_32to32_k34");
    g.sample_size(10);
    g.bench_function("forward", |b| b.iter(|| tch::no_grad(|| layer.f_forward(&x).unwrap())));
    let xg = x.set_requires_grad(true);
    g.bench_function("forward_backward", |b| {
        b.iter(|| {
            let y = layer.f_forward(&xg).unwrap();
            (&y * &y).sum(Kind::Float).backward();
            let mut xg = xg.shallow_clone();
            xg.zero_grad();
            let mut w = layer.weight().shallow_clone();
            w.zero_grad();
        })
    });
    // The same layer with smaller latitude blocks (less zero fill in the banded product, smaller
    // matrices per batched-matmul item).
    let opts8 = DiscoS2Options { bias: false, block: 8, ..Default::default() };
    let layer8 =
        DiscoConvS2::new(&vs.root().sub("b8"), 32, 32, [128, 256], [128, 256], &[3, 4], opts8)
            .unwrap();
    g.bench_function("forward_backward_block8", |b| {
        b.iter(|| {
            let y = layer8.f_forward(&xg).unwrap();
            (&y * &y).sum(Kind::Float).backward();
            let mut xg = xg.shallow_clone();
            xg.zero_grad();
            let mut w = layer8.weight().shallow_clone();
            w.zero_grad();
        })
    });
    g.finish();
}

fn sht(c: &mut Criterion) {
    tch::set_num_threads(threads());
    let (h, w) = (256, 512);
    let kind = SphereGridKind::Equiangular;
    let sht = RealSht::new(h, w, Some(128), Some(128), kind, Device::Cpu).unwrap();
    let isht = InverseRealSht::new(h, w, Some(128), Some(128), kind, Device::Cpu).unwrap();
    let x = Tensor::randn([4, 32, h as i64, w as i64], (Kind::Float, Device::Cpu));
    let mut g = c.benchmark_group("sphere_sht_256x512_b4x32");
    g.sample_size(10);
    g.bench_function("round_trip", |b| {
        b.iter(|| tch::no_grad(|| isht.f_forward(&sht.f_forward(&x).unwrap()).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, disco, sht);
criterion_main!(benches);
