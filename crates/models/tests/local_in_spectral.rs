//! The LocalNO switch `local_in_spectral`: a model whose periodic local branches run in the
//! spectral pass gives the same forward pass and the same parameter gradients as with the
//! direct convolutions (f64, every variant with a local branch, mixed or per-channel
//! derivatives, two resolutions), and the automatic choice picks the paths its rule says.

use lno_models::local_no::{
    BlockConfig, LocalInSpectral, LocalNo, LocalNoBlock, LocalNoConfig, Operator, PaddingMode,
    Variant,
};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

fn devices() -> Vec<Device> {
    let mut d = vec![Device::Cpu];
    if tch::Cuda::is_available() {
        d.push(Device::Cuda(0));
    }
    d
}

fn small(variant: Variant, mix_derivatives: bool, switch: LocalInSpectral) -> LocalNoConfig {
    LocalNoConfig {
        n_layers: 3,
        domain_length: Some(vec![1.0, 1.5]),
        mix_derivatives,
        local_in_spectral: switch,
        ..LocalNoConfig::variant(variant, &[6, 6], 2, 1, 6, 0.12)
    }
}

/// `max |a − b| / max |b|`.
fn rel_err(a: &Tensor, b: &Tensor) -> f64 {
    f64::try_from((a - b).abs().max()).unwrap() / f64::try_from(b.abs().max()).unwrap()
}

#[test]
fn local_no_forward_and_gradients_are_the_same_with_the_switch_on_and_off() {
    for device in devices() {
        for variant in [Variant::FnoLocIntDiff, Variant::FnoDiff, Variant::FnoLocInt] {
            for mix in [true, false] {
                for grid in [[16i64, 20], [15, 13]] {
                    let mut runs: Vec<(Tensor, Vec<(String, Tensor)>)> = Vec::new();
                    // One input and one set of weights for both runs (copied, not re-drawn:
                    // tests in other threads share libtorch's generator).
                    let x = Tensor::randn([3, 2, grid[0], grid[1]], (Kind::Double, device));
                    let mut weights = VarStore::new(device);
                    weights.set_kind(Kind::Double);
                    let cfg = small(variant, mix, LocalInSpectral::Never);
                    LocalNo::new(&weights.root(), &cfg).unwrap();
                    for switch in [LocalInSpectral::Always, LocalInSpectral::Never] {
                        let mut vs = VarStore::new(device);
                        vs.set_kind(Kind::Double);
                        let model = LocalNo::new(&vs.root(), &small(variant, mix, switch)).unwrap();
                        vs.copy(&weights).unwrap();
                        let shape = [3, 6, grid[0], grid[1]];
                        let spectral = model.blocks()[0].local_in_spectral(&shape).unwrap();
                        assert_eq!(spectral, switch == LocalInSpectral::Always, "{switch:?}");
                        let y = model.f_forward_t(&x, true).unwrap();
                        y.square().sum(Kind::Double).backward();
                        let mut grads: Vec<(String, Tensor)> = vs
                            .variables()
                            .into_iter()
                            .map(|(name, t)| (name, t.grad().copy()))
                            .collect();
                        grads.sort_by(|a, b| a.0.cmp(&b.0));
                        runs.push((y.detach(), grads));
                    }
                    let case = format!("{device:?} {} mix {mix} grid {grid:?}", variant.name());
                    // f64: the two paths differ by FFT vs direct-sum round-off (≈ 1e-15).
                    let err = rel_err(&runs[0].0, &runs[1].0);
                    assert!(err < 1e-10, "{case}: forward rel err {err:.2e}");
                    for ((name, a), (_, b)) in runs[0].1.iter().zip(&runs[1].1) {
                        let err = rel_err(a, b);
                        assert!(err < 1e-9, "{case}: gradient of {name} rel err {err:.2e}");
                    }
                }
            }
        }
    }
}

#[test]
fn auto_switch_uses_the_spectral_path_for_the_bench_and_the_direct_conv_otherwise() {
    let vs = VarStore::new(Device::Cpu);
    let bench = LocalNoConfig {
        disco_kernel_shape: [3, 4],
        ..LocalNoConfig::variant(Variant::FnoLocIntDiff, &[16, 16], 1, 1, 32, 3.0 * 2.0 / 64.0)
    };
    assert_eq!(bench.local_in_spectral, LocalInSpectral::Auto, "the default");
    let block_cfg = BlockConfig::local_no(0, 2, true, true);
    let block = LocalNoBlock::new(&(vs.root() / "a"), &bench, &block_cfg).unwrap();
    assert!(block.local_in_spectral(&[8, 32, 64, 64]).unwrap(), "the LocalNO bench");
    // Kernel spectrum 32·32·256·129 over the 2²⁴ cap.
    assert!(!block.local_in_spectral(&[8, 32, 256, 256]).unwrap());
    let never = LocalNoConfig { local_in_spectral: LocalInSpectral::Never, ..bench.clone() };
    let block = LocalNoBlock::new(&(vs.root() / "b"), &never, &block_cfg).unwrap();
    assert!(!block.local_in_spectral(&[8, 32, 64, 64]).unwrap());
    // Replicate padding (Darcy) is not a circular convolution: always the direct conv.
    let replicate = LocalNoConfig {
        padding: PaddingMode::Replicate,
        local_in_spectral: LocalInSpectral::Always,
        ..bench.clone()
    };
    let block = LocalNoBlock::new(&(vs.root() / "c"), &replicate, &block_cfg).unwrap();
    assert!(!block.local_in_spectral(&[8, 32, 64, 64]).unwrap());
    // Unfused FD + DISCO (the two-convolution oracle) stays direct.
    let separate = LocalNoConfig {
        fuse_local_branches: false,
        local_in_spectral: LocalInSpectral::Always,
        ..bench.clone()
    };
    let block = LocalNoBlock::new(&(vs.root() / "d"), &separate, &block_cfg).unwrap();
    assert!(!block.local_in_spectral(&[8, 32, 64, 64]).unwrap());
    // Config spelling.
    let parsed = LocalNoConfig::from_toml(
        "n_modes = [4, 4]\nin_channels = 1\nout_channels = 1\nhidden_channels = 4\n\
         radius_cutoff = 0.1\nlocal_in_spectral = \"never\"\n",
    )
    .unwrap();
    assert_eq!(parsed.local_in_spectral, LocalInSpectral::Never);
}
