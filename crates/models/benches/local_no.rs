//! Criterion benches of the grid models at the reference configuration (float32, CPU and CUDA
//! when available): 64 × 64 grid, batch 8, 1 → 1 channels, hidden 32, 4 layers, modes
//! (16, 16), FD kernel 3, DISCO kernel [3, 4] with cutoff 3 cells of the [2, 2] domain,
//! periodic padding, grid embedding, lifting/projection ratio 2, linear skips, no norm:
//!
//! * one LocalNO block (spectral + fused FD/DISCO + skip + GELU), forward + backward of the sum;
//! * a LocalNO training step (forward, MSE, backward, AdamW step), at 64² and at 128² (cutoff
//!   3 cells of the finer grid);
//! * the same step for the FNO (no local branches), at 64² and 128².
//!
//! Reference: `tools/bench_reference_localno.py` (neuraloperator 2.0.0, same configuration).

use criterion::{Criterion, criterion_group, criterion_main};
use lno_models::local_no::{BlockConfig, LocalNo, LocalNoBlock, LocalNoConfig, Operator, Variant};
use tch::nn::{self, OptimizerConfig, VarStore};
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

/// The reference configuration of the module docs for `variant` on an n × n grid (the DISCO
/// cutoff is 3 cells of the [2, 2] domain, as in the reference script).
fn config(variant: Variant, n: usize) -> LocalNoConfig {
    LocalNoConfig {
        disco_kernel_shape: [3, 4],
        ..LocalNoConfig::variant(variant, &[16, 16], 1, 1, 32, 3.0 * 2.0 / n as f64)
    }
}

fn bench_block(c: &mut Criterion) {
    for device in devices() {
        let vs = VarStore::new(device);
        let block_cfg = BlockConfig::local_no(0, 2, true, true);
        let block =
            LocalNoBlock::new(&vs.root(), &config(Variant::FnoLocIntDiff, 64), &block_cfg).unwrap();
        let x = Tensor::randn([8, 32, 64, 64], (Kind::Float, device)).set_requires_grad(true);
        c.bench_function(&format!("localno_block_fwd_bwd_8x32x64x64_{device:?}"), |b| {
            b.iter(|| {
                block.f_forward(&x).unwrap().sum(Kind::Float).backward();
                sync(device);
            })
        });
    }
}

fn bench_train_step(c: &mut Criterion) {
    for (device, n) in devices().into_iter().flat_map(|d| [(d, 64i64), (d, 128)]) {
        let x = Tensor::randn([8, 1, n, n], (Kind::Float, device));
        let y = Tensor::randn([8, 1, n, n], (Kind::Float, device));
        for (name, variant) in [("localno", Variant::FnoLocIntDiff), ("fno", Variant::Fno)] {
            let vs = VarStore::new(device);
            let model = LocalNo::new(&vs.root(), &config(variant, n as usize)).unwrap();
            // tch's AdamW (libtorch's C++ optimizer): every parameter is real (spectral
            // weights are stored as (…, 2) tensors), so its complex-parameter bug does not apply.
            let mut opt = nn::AdamW::default().build(&vs, 1e-3).unwrap();
            c.bench_function(&format!("{name}_train_step_8x1x{n}x{n}_h32_{device:?}"), |b| {
                b.iter(|| {
                    let loss =
                        model.f_forward_t(&x, true).unwrap().mse_loss(&y, tch::Reduction::Mean);
                    opt.backward_step(&loss);
                    sync(device);
                })
            });
        }
    }
}

fn criterion_config() -> Criterion {
    Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(8))
}

criterion_group! { name = benches; config = criterion_config(); targets = bench_block, bench_train_step }
criterion_main!(benches);
