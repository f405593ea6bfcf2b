//! Criterion benches of the local layers, forward + backward in float32 on the CPU (and CUDA
//! when available): the FD conv at (8, 32, 128, 128) with kernel 3 (reference anchor 0.115 s on
//! 2 cores, shared/reference/perf-notes.md), and the LocalNO local branch (FD + regular-grid
//! DISCO, kernel (3, 4), cutoff 3 cells) at 64², hidden 32, batch 8, fused into one conv and as
//! two separate layers, and that regular-grid DISCO conv alone.

use criterion::{Criterion, criterion_group, criterion_main};
use lno_kernels::Basis;
use lno_layers::{
    DiscoConvGrid, DiscoGridConfig, FiniteDifferenceConfig, FiniteDifferenceConv, LocalBranch,
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

fn config() -> Criterion {
    Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(8))
}

criterion_group! { name = benches; config = config(); targets = bench_fd, bench_local_branch }
criterion_main!(benches);
