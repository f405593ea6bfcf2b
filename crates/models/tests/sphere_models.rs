//! Tests of the sphere models (SFNO, local SFNO, LSNO): each fits a fixed smoothing operator,
//! a one-block local SFNO equals its formula built from separate layers, parameter counts
//! cover the whole `VarStore`, and bad configs or inputs give errors naming the problem.

use lno_layers::sphere::{DiscoConvS2, DiscoS2Options, InverseRealSht, RealSht};
use lno_models::ModelError;
use lno_models::sfno::{SphereArchitecture, SphereGrid, SphereNo, SphereNoConfig};
use lno_quadrature::SphereGridKind;
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};

fn devices() -> Vec<Device> {
    let mut d = vec![Device::Cpu];
    if tch::Cuda::is_available() {
        d.push(Device::Cuda(0));
    }
    d
}

const IMG: [usize; 2] = [16, 32];

/// A small config of `arch` on the 16 × 32 equiangular grid, internal grid 8 × 16.
fn small(arch: SphereArchitecture) -> SphereNoConfig {
    let mut c = SphereNoConfig::new(IMG, 1, 1);
    c.architecture = arch;
    c.embed_dim = 12;
    c.num_layers = 2;
    c.scale_factor = Some(2);
    c.activation = lno_models::sfno::Activation::Gelu;
    if arch == SphereArchitecture::LocalSfno {
        // Three internal latitude spacings: a local kernel, and a sparse Ψ that keeps the test fast.
        c.theta_cutoff = Some(0.6);
    }
    c
}

/// Band-limited random fields `x` (degrees < 6) and their heat-kernel smoothing
/// `y = Σ exp(−l(l+1)τ) a_lm Y_lm` with τ = 0.03, both `[n, 1, 16, 32]`.
fn smoothing_pairs(n: i64, device: Device) -> (Tensor, Tensor) {
    let l0 = 6usize;
    let isht = InverseRealSht::new(
        IMG[0],
        IMG[1],
        Some(l0),
        Some(l0),
        SphereGridKind::Equiangular,
        device,
    )
    .unwrap();
    let coeffs = Tensor::randn([n, 1, l0 as i64, l0 as i64, 2], (Kind::Float, device));
    let degree = Tensor::arange(l0 as i64, (Kind::Float, device)).view([l0 as i64, 1, 1]);
    let gain = (degree.shallow_clone() * (degree + 1.0) * -0.03).exp();
    let a = coeffs.view_as_complex();
    let x = isht.f_forward(&a).unwrap();
    let y = isht.f_forward(&(a * gain.squeeze_dim(-1))).unwrap();
    (x, y)
}

/// `‖ŷ − y‖² / ‖y‖²` over the batch.
fn relative_mse(pred: &Tensor, target: &Tensor) -> Tensor {
    (pred - target).square().sum(Kind::Float) / target.square().sum(Kind::Float)
}

/// Trains `config` on 16 fixed pairs with Adam and returns (first loss, last loss, parameters).
fn fit(config: &SphereNoConfig, device: Device, steps: usize, lr: f64) -> (f64, f64, i64) {
    tch::manual_seed(7);
    let vs = nn::VarStore::new(device);
    let model = SphereNo::new(&vs.root(), config).unwrap();
    let (x, y) = smoothing_pairs(16, device);
    let mut opt = nn::Adam::default().build(&vs, lr).unwrap();
    let mut first = f64::NAN;
    let mut last = f64::NAN;
    for step in 0..steps {
        let loss = relative_mse(&model.f_forward(&x).unwrap(), &y);
        if step == 0 {
            first = loss.double_value(&[]);
        }
        last = loss.double_value(&[]);
        opt.backward_step(&loss);
    }
    (first, last, model.parameter_count())
}

fn check_fit(arch: SphereArchitecture, name: &str) {
    for device in devices() {
        let config = small(arch);
        let (first, last, params) = fit(&config, device, 100, 5e-3);
        println!(
            "{name} on {device:?}: {params} parameters, relative MSE {first:.3e} -> {last:.3e}"
        );
        // The issue's bar: the training loss falls at least ten-fold in a few hundred steps.
        assert!(last <= first / 10.0, "{name}: loss {first} -> {last}, less than 10x");
    }
}

#[test]
fn sfno_fits_heat_kernel_smoothing_ten_fold() {
    check_fit(SphereArchitecture::Sfno, "SFNO");
}

#[test]
fn local_sfno_fits_heat_kernel_smoothing_ten_fold() {
    check_fit(SphereArchitecture::LocalSfno, "local SFNO");
}

#[test]
fn lsno_fits_heat_kernel_smoothing_ten_fold() {
    check_fit(SphereArchitecture::Lsno, "LSNO");
}

/// Total trainable numel in a store that holds only one model.
fn store_numel(vs: &nn::VarStore) -> i64 {
    vs.trainable_variables().iter().map(|t| t.numel() as i64).sum()
}

#[test]
fn parameter_counts_cover_the_whole_store_and_match_the_sfno_formula() {
    for arch in [SphereArchitecture::Sfno, SphereArchitecture::LocalSfno, SphereArchitecture::Lsno]
    {
        for norm in [lno_models::sfno::SphereNorm::None, lno_models::sfno::SphereNorm::InstanceNorm]
        {
            let vs = nn::VarStore::new(Device::Cpu);
            let mut c = small(arch);
            c.normalization = norm;
            c.in_channels = 3;
            c.out_channels = 2;
            let model = SphereNo::new(&vs.root(), &c).unwrap();
            println!("{arch:?} ({norm:?}): {} parameters", model.parameter_count());
            assert_eq!(model.parameter_count(), store_numel(&vs), "{arch:?} {norm:?}");
        }
    }
    // SFNO by hand: encoder 3·E, per block E·E·lmax·2 (complex) + MLP E·2E + 2E + 2E·E,
    // decoder E·2. E = 12, lmax = min(h = 8, w/2 = 8) = 8, two blocks.
    let e = 12i64;
    let lmax = 8i64;
    let expected = 3 * e + 2 * (e * e * lmax * 2 + e * 2 * e + 2 * e + 2 * e * e) + e * 2;
    let vs = nn::VarStore::new(Device::Cpu);
    let mut c = small(SphereArchitecture::Sfno);
    c.in_channels = 3;
    c.out_channels = 2;
    assert_eq!(SphereNo::new(&vs.root(), &c).unwrap().parameter_count(), expected);
}

#[test]
fn lsno_alternates_global_and_local_blocks() {
    let vs = nn::VarStore::new(Device::Cpu);
    let mut c = small(SphereArchitecture::Lsno);
    c.num_layers = 4;
    SphereNo::new(&vs.root(), &c).unwrap();
    let names = vs.variables();
    for i in 0..4 {
        // The spectral weight's name may carry a suffix (e.g. `weight_ri` for complex-aware AdamW).
        let has = |prefix: String| names.keys().any(|k| k.starts_with(&prefix));
        let global = has(format!("blocks.{i}.global_conv.weight"));
        let local = has(format!("blocks.{i}.local_conv.weight"));
        assert_eq!((global, local), (i % 2 == 0, i % 2 == 1), "block {i}");
    }
    assert!(names.contains_key("encoder.weight") && names.contains_key("decoder.weight"));
}

#[test]
fn one_block_local_sfno_equals_encoder_spectral_plus_disco_plus_residual_decoder() {
    // One block maps the 16 × 32 grid to itself: y = D·(ISHT(W_l·SHT(z)) + DISCO(z) + z), z = E·x.
    for device in devices() {
        tch::manual_seed(3);
        let mut vs = nn::VarStore::new(device);
        vs.set_kind(Kind::Double);
        let mut c = small(SphereArchitecture::LocalSfno);
        c.num_layers = 1;
        c.use_mlp = false;
        c.in_channels = 2;
        c.out_channels = 3;
        c.theta_cutoff = Some(0.5);
        let model = SphereNo::new(&vs.root(), &c).unwrap();
        let v = vs.variables();
        let enc = &v["encoder.weight"]; // [E, 2]
        let spec_w = v
            .iter()
            .find(|(k, _)| k.starts_with("blocks.0.global_conv.weight"))
            .map(|(_, t)| t)
            .unwrap(); // [E, E, lmax, 2]
        let disco_w = &v["blocks.0.local_conv.weight"]; // [E, E, K]
        let dec = &v["decoder.weight"]; // [3, E]

        let mut vs2 = nn::VarStore::new(device);
        vs2.set_kind(Kind::Double);
        let opts = DiscoS2Options { theta_cutoff: Some(0.5), bias: false, ..Default::default() };
        let disco = DiscoConvS2::new(&vs2.root(), 12, 12, IMG, IMG, &[3, 4], opts).unwrap();
        tch::no_grad(|| {
            let mut w = disco.weight().shallow_clone();
            w.copy_(disco_w);
        });

        let modes = c.modes();
        let sht =
            RealSht::new(16, 32, Some(modes), Some(modes), SphereGridKind::Equiangular, device)
                .unwrap();
        let isht = InverseRealSht::new(
            16,
            32,
            Some(modes),
            Some(modes),
            SphereGridKind::Equiangular,
            device,
        )
        .unwrap();
        let x = Tensor::randn([2, 2, 16, 32], (Kind::Double, device));
        let z = Tensor::einsum("ei,bihw->behw", &[enc, &x], None::<&[i64]>);
        let a = sht.f_forward(&z).unwrap();
        let w = spec_w.view_as_complex();
        let spec =
            isht.f_forward(&Tensor::einsum("bilm,oil->bolm", &[&a, &w], None::<&[i64]>)).unwrap();
        let block = spec + disco.f_forward(&z).unwrap() + &z;
        let expected = Tensor::einsum("oe,behw->bohw", &[dec, &block], None::<&[i64]>);

        let got = tch::no_grad(|| model.f_forward(&x).unwrap());
        let err = (&got - &expected).norm().double_value(&[]) / expected.norm().double_value(&[]);
        // Same f64 tables on both sides; only the summation order differs.
        assert!(err < 1e-10, "{device:?}: relative error {err}");
    }
}

fn config_err(r: Result<SphereNoConfig, ModelError>) -> String {
    match r {
        Err(e @ ModelError::Config { .. }) => e.to_string(),
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn unknown_or_missing_config_keys_are_errors_naming_the_key() {
    let unknown = "img_size = [16, 32]\nin_channels = 1\nout_channels = 1\nembed_dimm = 8\n";
    assert!(config_err(SphereNoConfig::from_toml(unknown)).contains("embed_dimm"));
    let missing = "in_channels = 1\nout_channels = 1\n";
    assert!(config_err(SphereNoConfig::from_toml(missing)).contains("img_size"));
    let bad_variant =
        r#"{"img_size": [16, 32], "in_channels": 1, "out_channels": 1, "architecture": "sfnoo"}"#;
    assert!(config_err(SphereNoConfig::from_json(bad_variant)).contains("sfnoo"));
    let ok = "img_size = [16, 32]\nin_channels = 1\nout_channels = 2\narchitecture = \"lsno\"\n\
              grid_internal = \"equiangular\"\nkernel_shape = [2, 4]\n";
    let c = SphereNoConfig::from_toml(ok).unwrap();
    assert_eq!(c.architecture, SphereArchitecture::Lsno);
    assert_eq!(c.grid_internal, SphereGrid::Equiangular);
    assert_eq!((c.embed_dim, c.num_layers, c.effective_scale_factor()), (256, 4, 4));
}

#[test]
fn impossible_combinations_are_errors_naming_the_key() {
    let build_err = |c: SphereNoConfig| {
        let vs = nn::VarStore::new(Device::Cpu);
        match SphereNo::new(&vs.root(), &c) {
            Err(e @ ModelError::Config { .. }) => e.to_string(),
            other => panic!("expected a config error for {c:?}, got {other:?}"),
        }
    };
    let mut c = small(SphereArchitecture::Sfno);
    c.kernel_shape = Some(vec![3, 4]);
    assert!(build_err(c).contains("`kernel_shape`"));

    let mut c = small(SphereArchitecture::LocalSfno);
    c.encoder_kernel_shape = Some(vec![3, 4]);
    assert!(build_err(c).contains("`encoder_kernel_shape`"));

    // 32 longitudes with scale 3 give an internal w = 10, which does not divide 32.
    let mut c = small(SphereArchitecture::LocalSfno);
    c.scale_factor = Some(3);
    assert!(build_err(c).contains("`scale_factor`"));

    let mut c = small(SphereArchitecture::Lsno);
    c.big_skip = true;
    c.out_channels = 2;
    assert!(build_err(c).contains("`big_skip`"));

    let mut c = small(SphereArchitecture::LocalSfno);
    c.theta_cutoff = Some(4.0);
    assert!(build_err(c).contains("`theta_cutoff`"));

    let mut c = small(SphereArchitecture::Sfno);
    c.hard_thresholding_fraction = 0.0;
    assert!(build_err(c).contains("`hard_thresholding_fraction`"));

    let mut c = small(SphereArchitecture::Sfno);
    c.scale_factor = Some(16);
    assert!(build_err(c).contains("`scale_factor`"));

    let mut c = small(SphereArchitecture::Sfno);
    c.embed_dim = 0;
    assert!(build_err(c).contains("`embed_dim`"));
}

#[test]
fn input_on_another_grid_or_dtype_is_an_error_naming_x() {
    let vs = nn::VarStore::new(Device::Cpu);
    for arch in [SphereArchitecture::Sfno, SphereArchitecture::LocalSfno, SphereArchitecture::Lsno]
    {
        let model = SphereNo::new(&(vs.root() / format!("{arch:?}")), &small(arch)).unwrap();
        for bad in [
            Tensor::zeros([1, 1, 17, 32], (Kind::Float, Device::Cpu)),
            Tensor::zeros([1, 1, 16, 64], (Kind::Float, Device::Cpu)),
            Tensor::zeros([1, 2, 16, 32], (Kind::Float, Device::Cpu)),
            Tensor::zeros([1, 16, 32], (Kind::Float, Device::Cpu)),
            Tensor::zeros([1, 1, 16, 32], (Kind::Double, Device::Cpu)),
        ] {
            match model.f_forward(&bad) {
                Err(e @ ModelError::Input { .. }) => {
                    let msg = e.to_string();
                    assert!(msg.contains("`x`"), "{msg}");
                }
                other => panic!("{arch:?}: expected an input error, got {other:?}"),
            }
        }
        let ok =
            model.f_forward(&Tensor::zeros([2, 1, 16, 32], (Kind::Float, Device::Cpu))).unwrap();
        assert_eq!(ok.size(), [2, 1, 16, 32]);
    }
}
