//! Tests of the grid models (FNO, LocalNO, U-Net): configs and their errors, parameter counts
//! against closed-form counts, the fused local branch against the two-convolution oracle, the
//! discretisation convergence of one LocalNO block, fitting a tiny synthetic operator, and
//! zero-shot super-resolution (trained at 32², evaluated at 64²).
//!
//! The synthetic operator: `a` is a random trigonometric polynomial on the unit torus
//! (frequencies |k_j| ≤ 2), `u = ∂a/∂x / (2π) + a²/2`, both evaluated in closed form at every
//! resolution, so a resolution change involves no interpolation error in the data.

use lno_models::ModelError;
use lno_models::local_no::{
    BlockConfig, FnoConfig, LayerFlags, LocalNo, LocalNoBlock, LocalNoConfig, Operator, Variant,
    parameter_count,
};
use lno_models::unet::{UNet2d, UNetConfig};
use tch::nn::{self, OptimizerConfig, VarStore};
use tch::{Device, Kind, Tensor};

/// CPU, plus CUDA device 0 when libtorch sees one.
fn devices() -> Vec<Device> {
    let mut d = vec![Device::Cpu];
    if tch::Cuda::is_available() {
        d.push(Device::Cuda(0));
    }
    d
}

/// `n_samples` input/target pairs `(B, 1, n, n)` on the unit torus, f64 then cast to `kind`.
/// Coefficients depend only on `seed`, so the same samples can be drawn at any resolution.
fn operator_data(
    seed: i64,
    n_samples: i64,
    n: i64,
    kind: Kind,
    device: Device,
) -> (Tensor, Tensor) {
    let opts = (Kind::Double, Device::Cpu);
    let mut freqs = Vec::new();
    for ky in -2i64..=2 {
        for kx in -2i64..=2 {
            // Half of the frequency plane (the other half gives the same real functions).
            if ky > 0 || (ky == 0 && kx > 0) {
                freqs.push((kx, ky));
            }
        }
    }
    let m = freqs.len() as i64;
    tch::manual_seed(seed);
    let decay: Vec<f64> =
        freqs.iter().map(|&(kx, ky)| 1.0 / (1.0 + (kx * kx + ky * ky) as f64)).collect();
    let decay = Tensor::from_slice(&decay).view([1, m]);
    let alpha = Tensor::randn([n_samples, m], opts) * &decay;
    let beta = Tensor::randn([n_samples, m], opts) * &decay;
    let coord = Tensor::arange(n, opts) / n as f64;
    let (y, x) = (coord.view([1, n, 1]), coord.view([1, 1, n])); // dim 0 is y, dim 1 is x
    let kx =
        Tensor::from_slice(&freqs.iter().map(|f| f.0 as f64).collect::<Vec<_>>()).view([m, 1, 1]);
    let ky =
        Tensor::from_slice(&freqs.iter().map(|f| f.1 as f64).collect::<Vec<_>>()).view([m, 1, 1]);
    let phase = (&kx * &x + &ky * &y) * (2.0 * std::f64::consts::PI);
    let (c, s) = (phase.cos(), phase.sin());
    let field = |ca: &Tensor, cs: &Tensor| {
        Tensor::einsum("bm,mij->bij", &[ca, &c], None::<&[i64]>)
            + Tensor::einsum("bm,mij->bij", &[cs, &s], None::<&[i64]>)
    };
    let a = field(&alpha, &beta);
    // ∂x of α cos + β sin is 2π kx (−α sin + β cos); divided by 2π.
    let kxs = kx.view([1, m]);
    let dadx = field(&(&beta * &kxs), &(-(&alpha * &kxs)));
    let u = dadx + &a * &a * 0.5;
    let cast = |t: Tensor| t.unsqueeze(1).to_kind(kind).to_device(device);
    (cast(a), cast(u))
}

/// Mean relative L2 error over the batch.
fn rel_l2(pred: &Tensor, target: &Tensor) -> f64 {
    let b = pred.size()[0];
    let l2 = |t: &Tensor| {
        t.reshape([b, -1]).square().sum_dim_intlist([1i64].as_slice(), false, Kind::Double).sqrt()
    };
    let (diff, norm) = (l2(&(pred - target)), l2(target));
    f64::try_from((diff / norm).mean(Kind::Double)).unwrap()
}

/// Trains `model` with Adam on the MSE over mini-batches of 8 cycling through `(x, y)`;
/// returns the training-set MSE before and after.
fn train(
    model: &dyn Operator,
    vs: &VarStore,
    x: &Tensor,
    y: &Tensor,
    steps: usize,
    lr: f64,
) -> (f64, f64) {
    let mse = |m: &dyn Operator| {
        tch::no_grad(|| {
            f64::try_from(m.f_forward_t(x, false).unwrap().mse_loss(y, tch::Reduction::Mean))
                .unwrap()
        })
    };
    let before = mse(model);
    let mut opt = nn::Adam::default().build(vs, lr).unwrap();
    let n = x.size()[0];
    for step in 0..steps {
        let start = (step as i64 * 8) % n;
        let (xb, yb) = (x.narrow(0, start, 8), y.narrow(0, start, 8));
        let loss = model.f_forward_t(&xb, true).unwrap().mse_loss(&yb, tch::Reduction::Mean);
        opt.backward_step(&loss);
    }
    (before, mse(model))
}

/// Small models for the tests: width 12, modes 8, 3 layers, cutoff 0.1 on the unit square
/// (3.2 cells at 32²).
fn small_local_no(variant: Variant) -> LocalNoConfig {
    LocalNoConfig {
        n_layers: 3,
        domain_length: Some(vec![1.0, 1.0]),
        ..LocalNoConfig::variant(variant, &[8, 8], 1, 1, 12, 0.1)
    }
}

#[test]
fn every_grid_model_fits_a_tiny_operator_loss_down_10x_in_at_most_150_steps() {
    for device in devices() {
        let (x, y) = operator_data(1, 16, 16, Kind::Float, device);
        let mut models: Vec<(String, VarStore, Box<dyn Operator>)> = Vec::new();
        tch::manual_seed(0);
        for variant in [Variant::Fno, Variant::FnoLocIntDiff] {
            let vs = VarStore::new(device);
            let cfg = LocalNoConfig {
                n_modes: vec![6, 6],
                hidden_channels: 8,
                n_layers: 2,
                radius_cutoff: small_local_no(variant).radius_cutoff.map(|_| 0.2),
                ..small_local_no(variant)
            };
            let m = LocalNo::new(&vs.root(), &cfg).unwrap();
            models.push((variant.name().into(), vs, Box::new(m)));
        }
        let vs = VarStore::new(device);
        let cfg = FnoConfig { n_layers: 2, ..FnoConfig::new(&[6, 6], 1, 1, 8) };
        let m = LocalNo::fno(&vs.root(), &cfg).unwrap();
        models.push(("FNO from FnoConfig".into(), vs, Box::new(m)));
        let vs = VarStore::new(device);
        let cfg = UNetConfig { width: 8, depth: 2, ..UNetConfig::new(1, 1) };
        let m = UNet2d::new(&vs.root(), &cfg).unwrap();
        models.push(("U-Net".into(), vs, Box::new(m)));
        for (name, vs, model) in &models {
            // The U-Net is cheap at 16² but slower to fit (11x at 60 steps): give it 150.
            let steps = if name == "U-Net" { 150 } else { 60 };
            let (before, after) = train(model.as_ref(), vs, &x, &y, steps, 1e-2);
            println!(
                "{device:?} {name}: training MSE {before:.3e} -> {after:.3e} ({:.1}x)",
                before / after
            );
            assert!(
                before / after >= 10.0,
                "{name}: MSE {before:.3e} -> {after:.3e}, less than 10x"
            );
        }
    }
}

/// Trains `model` at 32² and returns its test relative L2 error at 32² and at 64².
fn zero_shot_errors(name: &str, vs: &VarStore, model: &dyn Operator) -> (f64, f64) {
    let device = Device::Cpu;
    let (x, y) = operator_data(2, 64, 32, Kind::Float, device);
    let (xt32, yt32) = operator_data(3, 16, 32, Kind::Float, device);
    let (xt64, yt64) = operator_data(3, 16, 64, Kind::Float, device);
    train(model, vs, &x, &y, 400, 5e-3);
    let e32 = tch::no_grad(|| rel_l2(&model.f_forward_t(&xt32, false).unwrap(), &yt32));
    let e64 = tch::no_grad(|| rel_l2(&model.f_forward_t(&xt64, false).unwrap(), &yt64));
    println!("{name}: test rel. L2 at 32² {e32:.4}, at 64² {e64:.4} (ratio {:.2})", e64 / e32);
    (e32, e64)
}

#[test]
fn local_no_trained_at_32_keeps_its_error_at_64_while_the_unet_degrades_more() {
    let device = Device::Cpu;
    tch::manual_seed(0);
    let vs_lno = VarStore::new(device);
    let lno = LocalNo::new(&vs_lno.root(), &small_local_no(Variant::FnoLocInt)).unwrap();
    let vs_unet = VarStore::new(device);
    let unet =
        UNet2d::new(&vs_unet.root(), &UNetConfig { width: 12, depth: 2, ..UNetConfig::new(1, 1) })
            .unwrap();
    let (l32, l64) = zero_shot_errors("LocalNO (FNO + loc. int.)", &vs_lno, &lno);
    let (un32, un64) = zero_shot_errors("U-Net", &vs_unet, &unet);
    // The issue's zero-shot criterion: within 1.5x of the training-resolution error.
    assert!(l64 <= 1.5 * l32, "LocalNO error grows from {l32:.4} at 32² to {l64:.4} at 64²");
    assert!(
        un64 / un32 > l64 / l32,
        "U-Net ratio {:.2} not above LocalNO's {:.2}",
        un64 / un32,
        l64 / l32
    );
}

/// Closed-form trainable-parameter count of a 2-D LocalNO with `in = out = 1`.
fn expected_count(h: i64, modes: [i64; 2], n_layers: i64, diff: bool, disco_k: Option<i64>) -> i64 {
    let spectral = h * h * modes[0] * (modes[1] / 2 + 1) * 2 + h;
    let skip = h * h;
    let fd = if diff { h * h * 9 } else { 0 };
    let disco = disco_k.map_or(0, |k| h * h * k + h);
    let lifting = (3 * 2 * h + 2 * h) + (2 * h * h + h);
    let projection = (h * 2 * h + 2 * h) + (2 * h + 1);
    n_layers * (spectral + skip + fd + disco) + lifting + projection
}

#[test]
fn parameter_counts_match_closed_forms_and_the_four_variants_stay_within_10_percent() {
    // The paper-size configuration: hidden 32, modes 16, 4 layers, kernel [3, 4] (K = 5),
    // cutoff 3 cells of the 64² grid on [2, 2].
    let mut counts = Vec::new();
    for variant in Variant::ALL {
        let vs = VarStore::new(Device::Cpu);
        let cfg = LocalNoConfig {
            disco_kernel_shape: [3, 4],
            ..LocalNoConfig::variant(variant, &[16, 16], 1, 1, 32, 3.0 * 2.0 / 64.0)
        };
        LocalNo::new(&vs.root(), &cfg).unwrap();
        let n = parameter_count(&vs);
        let (diff, disco) = match variant {
            Variant::Fno => (false, None),
            Variant::FnoDiff => (true, None),
            Variant::FnoLocInt => (false, Some(5)),
            Variant::FnoLocIntDiff => (true, Some(5)),
        };
        assert_eq!(n, expected_count(32, [16, 16], 4, diff, disco), "{}", variant.name());
        println!("{:<24} {n:>9} parameters", variant.name());
        counts.push(n);
    }
    // neuralop's FNO adds a channel MLP (32 → 16 → 32) and a soft-gating skip to each block.
    let vs = VarStore::new(Device::Cpu);
    LocalNo::fno(&vs.root(), &FnoConfig::new(&[16, 16], 1, 1, 32)).unwrap();
    let mlp = (32 * 16 + 16) + (16 * 32 + 32) + 32;
    assert_eq!(parameter_count(&vs), expected_count(32, [16, 16], 4, false, None) + 4 * mlp);
    println!("{:<24} {:>9} parameters (FnoConfig defaults)", "FNO", parameter_count(&vs));
    let vs = VarStore::new(Device::Cpu);
    UNet2d::new(&vs.root(), &UNetConfig::new(1, 1)).unwrap();
    println!("{:<24} {:>9} parameters (width 32, depth 3)", "U-Net", parameter_count(&vs));
    let (lo, hi) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
    assert!((*hi as f64) <= 1.1 * *lo as f64, "variant counts {counts:?} spread beyond 10%");
}

#[test]
fn fused_local_branch_model_equals_the_two_convolution_oracle() {
    for device in devices() {
        let mut outputs = Vec::new();
        for fuse in [true, false] {
            tch::manual_seed(7);
            let mut vs = VarStore::new(device);
            vs.set_kind(Kind::Double);
            let cfg = LocalNoConfig {
                fuse_local_branches: fuse,
                ..small_local_no(Variant::FnoLocIntDiff)
            };
            let model = LocalNo::new(&vs.root(), &cfg).unwrap();
            let (x, _) = operator_data(4, 2, 32, Kind::Double, device);
            outputs.push(model.f_forward(&x).unwrap());
        }
        let err = f64::try_from((&outputs[0] - &outputs[1]).abs().max()).unwrap()
            / f64::try_from(outputs[1].abs().max()).unwrap();
        // f64: the fused kernel only reorders sums of the same products.
        assert!(err < 1e-12, "{device:?}: fused vs separate rel. error {err:.2e}");
    }
}

#[test]
fn local_no_block_at_n_and_2n_agrees_to_the_discretisation_error_which_shrinks_with_n() {
    for device in devices() {
        tch::manual_seed(5);
        let mut vs = VarStore::new(device);
        vs.set_kind(Kind::Double);
        let model = LocalNoConfig {
            domain_length: Some(vec![1.0, 1.0]),
            ..LocalNoConfig::variant(Variant::FnoLocIntDiff, &[6, 6], 1, 1, 4, 0.15)
        };
        let block_cfg = BlockConfig::local_no(0, 2, true, true);
        let block = LocalNoBlock::new(&vs.root(), &model, &block_cfg).unwrap();
        // A 4-channel smooth input: the synthetic fields of four samples as channels.
        let input = |n: i64| operator_data(9, 4, n, Kind::Double, device).0.view([1, 4, n, n]);
        let mut diffs = Vec::new();
        for n in [16i64, 32, 64] {
            let coarse = block.f_forward(&input(n)).unwrap();
            let fine = block.f_forward(&input(2 * n)).unwrap();
            let fine_on_coarse = fine.slice(2, 0, 2 * n, 2).slice(3, 0, 2 * n, 2);
            let d = f64::try_from((&fine_on_coarse - &coarse).abs().max()).unwrap()
                / f64::try_from(fine.abs().max()).unwrap();
            println!("{device:?}: block N = {n} vs 2N: max rel. difference {d:.3e}");
            diffs.push(d);
        }
        for w in diffs.windows(2) {
            // Measured on the CPU: 1.8e-1, 1.1e-1, 5.6e-2, i.e. order ≈ 0.7–1, not the 2 of the
            // FD and DISCO layers alone (cause not yet isolated); 1.5 requires clear shrinkage.
            assert!(w[0] / w[1] > 1.5, "{device:?}: differences {diffs:?} do not shrink with N");
        }
        // The N = 64 vs 128 gap measured 5.6e-2; 0.1 leaves room for other devices' round-off.
        assert!(diffs[2] < 0.1, "{device:?}: N = 64 vs 128 still differs by {:.2e}", diffs[2]);
    }
}

fn config_error(r: lno_models::Result<impl std::fmt::Debug>) -> String {
    match r {
        Err(e @ ModelError::Config { .. }) => e.to_string(),
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn configs_parse_with_defaults_and_per_layer_flags() {
    let cfg = LocalNoConfig::from_toml(
        r#"
        n_modes = [8, 8]
        in_channels = 1
        out_channels = 2
        hidden_channels = 8
        n_layers = 3
        diff_layers = [true, false, true]
        disco_layers = [false, false, true]
        radius_cutoff = 0.2
        "#,
    )
    .unwrap();
    assert_eq!(cfg.diff_layers, LayerFlags::PerLayer(vec![true, false, true]));
    assert_eq!(cfg.disco_kernel_shape, [2, 4], "the reference's default kernel");
    let vs = VarStore::new(Device::Cpu);
    let model = LocalNo::new(&vs.root(), &cfg).unwrap();
    let flags: Vec<(bool, bool)> =
        model.blocks().iter().map(|b| (b.has_diff(), b.has_disco())).collect();
    assert_eq!(flags, [(true, false), (false, false), (true, true)]);
    let y = model.f_forward(&Tensor::randn([2, 1, 16, 20], (Kind::Float, Device::Cpu))).unwrap();
    assert_eq!(y.size(), [2, 2, 16, 20]);

    let json = LocalNoConfig::from_json(r#"{"n_modes": [6], "in_channels": 2, "out_channels": 1, "hidden_channels": 4, "disco_layers": false}"#).unwrap();
    let vs = VarStore::new(Device::Cpu);
    let model = LocalNo::new(&vs.root(), &json).unwrap();
    assert_eq!(
        model.f_forward(&Tensor::randn([3, 2, 24], (Kind::Float, Device::Cpu))).unwrap().size(),
        [3, 1, 24]
    );

    let fno = FnoConfig::from_toml(
        "n_modes = [4, 4, 4]\nin_channels = 1\nout_channels = 1\nhidden_channels = 4\nn_layers = 2",
    )
    .unwrap();
    let vs = VarStore::new(Device::Cpu);
    let model = LocalNo::fno(&vs.root(), &fno).unwrap();
    assert!(model.blocks().iter().all(|b| !b.has_diff() && !b.has_disco()));
    assert_eq!(
        model
            .f_forward(&Tensor::randn([1, 1, 8, 8, 8], (Kind::Float, Device::Cpu)))
            .unwrap()
            .size(),
        [1, 1, 8, 8, 8]
    );

    let unet = UNetConfig::from_toml(
        "in_channels = 3\nout_channels = 1\nwidth = 4\ndepth = 2\npadding = \"zeros\"",
    )
    .unwrap();
    let vs = VarStore::new(Device::Cpu);
    let model = UNet2d::new(&vs.root(), &unet).unwrap();
    assert_eq!(
        model.f_forward(&Tensor::randn([2, 3, 12, 8], (Kind::Float, Device::Cpu))).unwrap().size(),
        [2, 1, 12, 8]
    );
}

#[test]
fn bad_configs_and_inputs_give_errors_naming_the_problem() {
    let base = "n_modes = [8, 8]\nin_channels = 1\nout_channels = 1\nhidden_channels = 8\n";
    let e = config_error(LocalNoConfig::from_toml(&format!("{base}radius_cutof = 0.1\n")));
    assert!(e.contains("radius_cutof"), "{e}");
    let e = config_error(LocalNoConfig::from_toml(
        "in_channels = 1\nout_channels = 1\nhidden_channels = 8\n",
    ));
    assert!(e.contains("n_modes"), "{e}");
    let e = config_error(FnoConfig::from_toml(&format!("{base}radius_cutoff = 0.1\n")));
    assert!(e.contains("radius_cutoff"), "the FNO config has no local keys: {e}");
    let e = config_error(UNetConfig::from_toml("in_channels = 1\nout_channels = 1\nmodes = 3\n"));
    assert!(e.contains("modes"), "{e}");
    let e = config_error(LocalNoConfig::from_json(
        r#"{"n_modes": [4], "in_channels": 1, "out_channels": 1, "hidden_channels": 4, "extra": 1}"#,
    ));
    assert!(e.contains("extra"), "{e}");

    let vs = VarStore::new(Device::Cpu);
    let build = |cfg: LocalNoConfig| config_error(LocalNo::new(&vs.root(), &cfg));
    let mut three_d = LocalNoConfig::variant(Variant::FnoLocInt, &[4, 4, 4], 1, 1, 4, 0.2);
    let e = build(three_d.clone());
    assert!(e.contains("disco_layers") && e.contains("3-D"), "{e}");
    three_d.disco_layers = LayerFlags::All(false);
    three_d.diff_layers = LayerFlags::All(true);
    LocalNo::new(&vs.root(), &three_d).expect("FD branches work in 3-D");
    let e = build(LocalNoConfig {
        diff_layers: LayerFlags::PerLayer(vec![true; 3]),
        ..LocalNoConfig::variant(Variant::FnoDiff, &[4, 4], 1, 1, 4, 0.2)
    });
    assert!(e.contains("diff_layers") && e.contains("n_layers = 4"), "{e}");
    let e = build(LocalNoConfig::new(&[4, 4], 1, 1, 4));
    assert!(e.contains("radius_cutoff"), "DISCO on by default needs a cutoff: {e}");
    let e = build(LocalNoConfig {
        domain_length: Some(vec![1.0]),
        ..LocalNoConfig::variant(Variant::Fno, &[4, 4], 1, 1, 4, 0.2)
    });
    assert!(e.contains("domain_length"), "{e}");
    let e = build(LocalNoConfig {
        disco_groups: 3,
        ..LocalNoConfig::variant(Variant::FnoLocInt, &[4, 4], 1, 1, 4, 0.2)
    });
    assert!(e.contains("disco_groups"), "{e}");
    let e = build(LocalNoConfig {
        fin_diff_kernel_size: 4,
        ..LocalNoConfig::variant(Variant::FnoDiff, &[4, 4], 1, 1, 4, 0.2)
    });
    assert!(e.contains("fin_diff_kernel_size"), "{e}");
    let e = build(LocalNoConfig {
        hidden_channels: 0,
        ..LocalNoConfig::variant(Variant::Fno, &[4, 4], 1, 1, 4, 0.2)
    });
    assert!(e.contains("hidden_channels"), "{e}");
    let e =
        config_error(UNet2d::new(&vs.root(), &UNetConfig { depth: 0, ..UNetConfig::new(1, 1) }));
    assert!(e.contains("depth"), "{e}");

    let model = LocalNo::new(
        &vs.root(),
        &LocalNoConfig::variant(Variant::FnoLocIntDiff, &[4, 4], 2, 1, 4, 0.2),
    )
    .unwrap();
    let e = model
        .f_forward(&Tensor::zeros([1, 3, 8, 8], (Kind::Float, Device::Cpu)))
        .unwrap_err()
        .to_string();
    assert!(e.contains("`x`") && e.contains("2 channels") && e.contains("[1, 3, 8, 8]"), "{e}");
    let e = model
        .f_forward(&Tensor::zeros([1, 2, 8], (Kind::Float, Device::Cpu)))
        .unwrap_err()
        .to_string();
    assert!(e.contains("2 spatial dims"), "{e}");
    let e = model
        .f_forward(&Tensor::zeros([1, 2, 8, 8], (Kind::Double, Device::Cpu)))
        .unwrap_err()
        .to_string();
    assert!(e.contains("Double"), "{e}");
    let unet = UNet2d::new(&vs.root(), &UNetConfig { width: 4, depth: 2, ..UNetConfig::new(1, 1) })
        .unwrap();
    let e = unet
        .f_forward(&Tensor::zeros([1, 1, 10, 8], (Kind::Float, Device::Cpu)))
        .unwrap_err()
        .to_string();
    assert!(e.contains("divisible by 2^depth = 4") && e.contains("[1, 1, 10, 8]"), "{e}");
}
