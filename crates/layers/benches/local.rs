//! Criterion benches of the local layers, forward + backward in float32 on the CPU (and CUDA
//! when available): the FD conv at (8, 32, 128, 128) with kernel 3 (reference anchor 0.115 s on
//! 2 cores, shared/reference/perf-notes.md), and the LocalNO local branch (FD + regular-grid
//! DISCO, kernel (3, 4), cutoff 3 cells) at 64², hidden 32, batch 8, fused into one conv and as
//! two separate layers, and that regular-grid DISCO conv alone; and, for the automatic choice
//! of `periodic_conv_in_spectrum_pays`, spectral conv + a dense P × P periodic local kernel
//! (P = 3, 5, 7) at the same size, direct (circular pad + conv2d) against the local kernel
//! applied in the spectral pass.

use criterion::{Criterion, criterion_group, criterion_main};
use lno_kernels::Basis;
use lno_layers::{
    DiscoConvGrid, DiscoGridConfig, FiniteDifferenceConfig, FiniteDifferenceConv, LocalBranch,
    SpectralConv, SpectralConvConfig, periodic_conv_spectrum,
};
use tch::nn::{Module, VarStore};
use tch::{Device, Kind, Tensor};

fn devices() -> Vec<Device> {
    let mut d = vec![Device::Cpu];
    if tch::Cuda::is_available() {
        d.push(Device::Cuda(0));
    }
    d
}

fn sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

fn fwd_bwd(x: &Tensor, f: &dyn Fn(&Tensor) -> Tensor, device: Device) {
    let y = f(x);
    y.sum(Kind::Float).backward();
    sync(device);
}

fn bench_fd(c: &mut Criterion) {
    for device in devices() {
        let vs = VarStore::new(device);
        let fd = FiniteDifferenceConv::new(
            &vs.root(),
            32,
            32,
            &[1.0, 1.0],
            FiniteDifferenceConfig::default(),
        )
        .unwrap();
        let x = Tensor::randn([8, 32, 128, 128], (Kind::Float, device)).set_requires_grad(true);
        c.bench_function(&format!("fd_conv_fwd_bwd_8x32x128x128_k3_{device:?}"), |b| {
            b.iter(|| fwd_bwd(&x, &|x| fd.forward(x), device))
        });
    }
}

fn bench_local_branch(c: &mut Criterion) {
    for device in devices() {
        let vs = VarStore::new(device);
        let lengths = [2.0, 2.0];
        let fd = FiniteDifferenceConv::new(
            &(vs.root() / "fd"),
            32,
            32,
            &lengths,
            FiniteDifferenceConfig::default(),
        )
        .unwrap();
        let make_disco = |name: &str| {
            DiscoConvGrid::new(
                &(vs.root() / name),
                32,
                32,
                Basis::piecewise_linear(3, 4).unwrap(),
                3.0 * 2.0 / 64.0,
                lengths,
                DiscoGridConfig::default(),
            )
            .unwrap()
        };
        let disco = make_disco("disco");
        let x = Tensor::randn([8, 32, 64, 64], (Kind::Float, device)).set_requires_grad(true);
        c.bench_function(&format!("disco_grid_fwd_bwd_8x32x64x64_k34_{device:?}"), |b| {
            b.iter(|| fwd_bwd(&x, &|x| disco.forward(x), device))
        });
        c.bench_function(&format!("local_branch_separate_fwd_bwd_8x32x64x64_{device:?}"), |b| {
            b.iter(|| fwd_bwd(&x, &|x| fd.forward(x) + disco.forward(x), device))
        });
        let branch = LocalBranch::new(fd, make_disco("disco2")).unwrap();
        c.bench_function(&format!("local_branch_fused_fwd_bwd_8x32x64x64_{device:?}"), |b| {
            b.iter(|| fwd_bwd(&x, &|x| branch.forward(x), device))
        });
    }
}

/// Spectral conv (modes 16 × 16) plus a dense periodic `P × P` kernel, 32 → 32 channels,
/// batch 8, 64², forward + backward with every weight requiring grad: the two ways
/// `LocalNoBlock` can compute it.
fn bench_spectral_vs_direct(c: &mut Criterion) {
    for device in devices() {
        let vs = VarStore::new(device);
        let spectral =
            SpectralConv::new(&vs.root(), 32, 32, &[16, 16], SpectralConvConfig::default())
                .unwrap();
        let x = Tensor::randn([8, 32, 64, 64], (Kind::Float, device));
        for p in [3i64, 5, 7] {
            let kernel = (Tensor::randn([32, 32, p, p], (Kind::Float, device)) * 0.1)
                .set_requires_grad(true);
            let h = p / 2;
            let direct = |x: &Tensor| {
                spectral.forward(x)
                    + x.pad([h, h, h, h], "circular", None).conv2d(
                        &kernel,
                        None::<&Tensor>,
                        [1, 1],
                        [0, 0],
                        [1, 1],
                        1,
                    )
            };
            let in_spectrum = |x: &Tensor| {
                let spectrum = periodic_conv_spectrum(&kernel, 1, [64, 64]).unwrap();
                spectral.f_forward_plus_spectrum(x, &spectrum).unwrap()
            };
            let name = format!("8x32x64x64_p{p}_{device:?}");
            c.bench_function(&format!("spectral_plus_local_direct_fwd_bwd_{name}"), |b| {
                b.iter(|| fwd_bwd(&x, &direct, device))
            });
            c.bench_function(&format!("spectral_plus_local_in_spectrum_fwd_bwd_{name}"), |b| {
                b.iter(|| fwd_bwd(&x, &in_spectrum, device))
            });
        }
    }
}

fn config() -> Criterion {
    Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(8))
}

criterion_group! { name = benches; config = config(); targets = bench_fd, bench_local_branch, bench_spectral_vs_direct }
criterion_main!(benches);
