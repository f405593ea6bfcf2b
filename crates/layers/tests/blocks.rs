//! Blocks: channel MLP, skips, instance and group norm, grid embedding and GELU against direct
//! formulas; gradients; errors.

mod common;

use common::{devices, gradcheck, rel_err, to_vec};
use lno_layers::{
    ChannelMlp, ChannelMlpConfig, Gelu, GridEmbedding, GroupNorm, InstanceNorm, Skip, SkipKind,
};
use tch::nn::{Module, ModuleT, VarStore};
use tch::{Device, Kind, Tensor};

/// `y[b, o, p] = bias[o] + Σ_c W[o, c] x[b, c, p]` by loops.
fn pointwise_oracle(
    x: &[f64],
    w: &[f64],
    bias: Option<&[f64]>,
    b: usize,
    c: usize,
    o: usize,
    p: usize,
) -> Vec<f64> {
    let mut y = vec![0.0; b * o * p];
    for bi in 0..b {
        for oi in 0..o {
            for pi in 0..p {
                let mut acc = bias.map_or(0.0, |v| v[oi]);
                for ci in 0..c {
                    acc += w[oi * c + ci] * x[(bi * c + ci) * p + pi];
                }
                y[(bi * o + oi) * p + pi] = acc;
            }
        }
    }
    y
}

fn gelu(v: f64) -> f64 {
    // erf by its Maclaurin series, summed until the terms drop below f64 resolution.
    let x = v / std::f64::consts::SQRT_2;
    let mut term = x;
    let mut sum = x;
    for n in 1..200 {
        term *= -x * x / n as f64;
        let add = term / (2 * n + 1) as f64;
        sum += add;
        if add.abs() < 1e-17 * sum.abs() {
            break;
        }
    }
    let erf = 2.0 / std::f64::consts::PI.sqrt() * sum;
    0.5 * v * (1.0 + erf)
}

#[test]
fn channel_mlp_equals_pointwise_layers_with_exact_gelu_between() {
    for device in devices() {
        tch::manual_seed(21);
        let mut vs = VarStore::new(device);
        let config = ChannelMlpConfig { hidden_channels: Some(5), n_layers: 3, dropout: 0.0 };
        let mlp = ChannelMlp::new(&vs.root(), 3, 2, config).unwrap();
        vs.double();
        let x = Tensor::randn([2, 3, 4, 3], (Kind::Double, device));
        let y = mlp.forward_t(&x, false);
        assert_eq!(y.size(), [2, 2, 4, 3]);
        let mut h = to_vec(&x);
        let mut c = 3;
        for (i, (w, b)) in mlp.layers().iter().enumerate() {
            let o = w.size()[0] as usize;
            h = pointwise_oracle(&h, &to_vec(w), Some(&to_vec(b)), 2, c, o, 12);
            if i + 1 < mlp.layers().len() {
                h.iter_mut().for_each(|v| *v = gelu(*v));
            }
            c = o;
        }
        let err = rel_err(&y, &Tensor::from_slice(&h).view([2, 2, 4, 3]));
        // f64 throughout; the series erf loses ≤ 1e-11 to cancellation for these |v| ≲ 4.
        assert!(err < 1e-10, "{device:?}: rel err {err:.2e}");
    }
}

#[test]
fn skips_are_linear_identity_and_per_channel_gates() {
    tch::manual_seed(22);
    let vs = VarStore::new(Device::Cpu);
    let x = Tensor::randn([2, 3, 5], (Kind::Float, Device::Cpu));
    let linear = Skip::new(&(vs.root() / "l"), 3, 4, SkipKind::Linear).unwrap();
    let expected =
        pointwise_oracle(&to_vec(&x), &to_vec(linear.weight().unwrap()), None, 2, 3, 4, 5);
    // float32 matmul of 3 terms.
    assert!(rel_err(&linear.forward(&x), &Tensor::from_slice(&expected).view([2, 4, 5])) < 1e-6);
    let identity = Skip::new(&(vs.root() / "i"), 3, 3, SkipKind::Identity).unwrap();
    assert_eq!(rel_err(&identity.forward(&x), &x), 0.0);
    let gate = Skip::new(&(vs.root() / "g"), 3, 3, SkipKind::SoftGating).unwrap();
    assert_eq!(rel_err(&gate.forward(&x), &x), 0.0, "gates start at 1");
    common::set_var(&vs, "g.weight", &Tensor::from_slice(&[2.0f32, -1.0, 0.5]));
    let scaled = &x * Tensor::from_slice(&[2.0f32, -1.0, 0.5]).view([1, 3, 1]);
    assert_eq!(rel_err(&gate.forward(&x), &scaled), 0.0);
    assert!(
        Skip::new(&vs.root(), 3, 4, SkipKind::Identity)
            .unwrap_err()
            .to_string()
            .contains("out_channels")
    );
}

/// Normalises each group of `channels_per_group` channels of each batch item over channels and
/// points, biased variance, by loops.
fn group_norm_oracle(x: &[f64], b: usize, c: usize, p: usize, groups: usize, eps: f64) -> Vec<f64> {
    let mut y = x.to_vec();
    let cg = c / groups;
    for bi in 0..b {
        for g in 0..groups {
            let range = (bi * c + g * cg) * p..(bi * c + (g + 1) * cg) * p;
            let n = range.len() as f64;
            let mean = x[range.clone()].iter().sum::<f64>() / n;
            let var = x[range.clone()].iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
            for i in range {
                y[i] = (x[i] - mean) / (var + eps).sqrt();
            }
        }
    }
    y
}

#[test]
fn instance_and_group_norm_equal_the_direct_formulas() {
    for device in devices() {
        let x = Tensor::randn([2, 4, 3, 5], (Kind::Double, device)) * 3.0 + 1.0;
        let xv = to_vec(&x);
        let inorm = InstanceNorm::default().forward(&x);
        let expected = group_norm_oracle(&xv, 2, 4, 15, 4, 1e-5);
        // f64 reductions over 15 values.
        assert!(rel_err(&inorm, &Tensor::from_slice(&expected).view([2, 4, 3, 5])) < 1e-12);

        let mut vs = VarStore::new(device);
        let gn = GroupNorm::new(&vs.root(), 2, 4, 1e-5).unwrap();
        vs.double();
        let gamma = Tensor::from_slice(&[1.0, 2.0, -1.0, 0.5]);
        let beta = Tensor::from_slice(&[0.0, 0.1, 0.2, -0.3]);
        common::set_var(&vs, "weight", &gamma);
        common::set_var(&vs, "bias", &beta);
        let mut expected = group_norm_oracle(&xv, 2, 4, 15, 2, 1e-5);
        for (i, v) in expected.iter_mut().enumerate() {
            let c = (i / 15) % 4;
            *v = *v * [1.0, 2.0, -1.0, 0.5][c] + [0.0, 0.1, 0.2, -0.3][c];
        }
        // f64 reductions over 30 values.
        assert!(
            rel_err(&gn.forward(&x), &Tensor::from_slice(&expected).view([2, 4, 3, 5])) < 1e-12
        );
    }
}

#[test]
fn grid_embedding_appends_periodic_coordinates_after_the_data_channels() {
    let emb = GridEmbedding::new(vec![[0.0, 1.0], [-1.0, 2.0]]).unwrap();
    let x = Tensor::randn([2, 3, 4, 6], (Kind::Float, Device::Cpu));
    let y = emb.forward(&x);
    assert_eq!(y.size(), [2, 5, 4, 6]);
    assert_eq!(rel_err(&y.narrow(1, 0, 3), &x), 0.0);
    let c0 = to_vec(&y.get(1).get(3));
    let c1 = to_vec(&y.get(0).get(4));
    for i in 0..4 {
        for j in 0..6 {
            // float32 of values computed in f64.
            assert!((c0[i * 6 + j] - i as f64 / 4.0).abs() < 1e-7);
            assert!((c1[i * 6 + j] - (-1.0 + 3.0 * j as f64 / 6.0)).abs() < 1e-6);
        }
    }
    assert!(emb.f_forward(&Tensor::zeros([2, 3, 4], (Kind::Float, Device::Cpu))).is_err());
}

#[test]
fn periodic_grid_embedding_is_sin_cos_and_smooth_across_the_wrap() {
    let emb = GridEmbedding::periodic(2).unwrap();
    assert_eq!(emb.channels(), 4);
    let x = Tensor::randn([1, 1, 8, 16], (Kind::Double, Device::Cpu));
    let y = emb.forward(&x);
    assert_eq!(y.size(), [1, 5, 8, 16]);
    let (s0, c0) = (to_vec(&y.get(0).get(1)), to_vec(&y.get(0).get(2)));
    let (s1, c1) = (to_vec(&y.get(0).get(3)), to_vec(&y.get(0).get(4)));
    let tau = 2.0 * std::f64::consts::PI;
    for i in 0..8 {
        for j in 0..16 {
            let k = i * 16 + j;
            // f64 throughout: only the last bits of sin/cos differ.
            assert!((s0[k] - (tau * i as f64 / 8.0).sin()).abs() < 1e-14);
            assert!((c0[k] - (tau * i as f64 / 8.0).cos()).abs() < 1e-14);
            assert!((s1[k] - (tau * j as f64 / 16.0).sin()).abs() < 1e-14);
            assert!((c1[k] - (tau * j as f64 / 16.0).cos()).abs() < 1e-14);
        }
    }
    // Across the wrap (last row → first row) the step is as small as between neighbours,
    // unlike the linear coordinate, which jumps by the whole interval there.
    let step = |a: usize, b: usize| (s0[a * 16] - s0[b * 16]).hypot(c0[a * 16] - c0[b * 16]);
    assert!((step(7, 0) - step(0, 1)).abs() < 1e-14);
    assert!(GridEmbedding::periodic(0).is_err() && GridEmbedding::periodic(4).is_err());
}

#[test]
fn gelu_is_the_exact_erf_form() {
    let x = Tensor::linspace(-5.0, 5.0, 41, (Kind::Double, Device::Cpu));
    let expected: Vec<f64> = to_vec(&x).into_iter().map(gelu).collect();
    // The alternating series loses ~e^{v²/2}·1e-16 ≤ 3e-11 to cancellation at |v| = 5.
    assert!(rel_err(&Gelu.forward(&x), &Tensor::from_slice(&expected)) < 1e-10);
}

#[test]
fn block_gradients_match_finite_differences_in_f64() {
    for device in devices() {
        tch::manual_seed(23);
        let mut vs = VarStore::new(device);
        let root = vs.root();
        let mlp = ChannelMlp::new(&(&root / "mlp"), 3, 2, ChannelMlpConfig::default()).unwrap();
        let skip = Skip::new(&(&root / "skip"), 3, 2, SkipKind::Linear).unwrap();
        let gate = Skip::new(&(&root / "gate"), 3, 3, SkipKind::SoftGating).unwrap();
        let gn = GroupNorm::new(&(&root / "gn"), 3, 3, 1e-5).unwrap();
        vs.double();
        let x = Tensor::randn([2, 3, 4, 4], (Kind::Double, device));
        let mlp_params: Vec<Tensor> =
            mlp.layers().iter().flat_map(|(w, b)| [w.shallow_clone(), b.shallow_clone()]).collect();
        gradcheck("mlp", &mlp_params, &x, &|x| mlp.forward_t(x, false));
        gradcheck("skip", &[skip.weight().unwrap().shallow_clone()], &x, &|x| skip.forward(x));
        gradcheck("gate", &[gate.weight().unwrap().shallow_clone()], &x, &|x| gate.forward(x));
        let gn_params: Vec<Tensor> =
            ["gn.weight", "gn.bias"].iter().map(|n| vs.variables()[*n].shallow_clone()).collect();
        gradcheck("group norm", &gn_params, &x, &|x| gn.forward(x));
        gradcheck("instance norm", &[], &x, &|x| InstanceNorm::default().forward(x));
    }
}

#[test]
fn blocks_reject_bad_configuration_and_input() {
    let vs = VarStore::new(Device::Cpu);
    let root = vs.root();
    let bad = ChannelMlp::new(&root, 3, 2, ChannelMlpConfig { n_layers: 0, ..Default::default() });
    assert!(bad.unwrap_err().to_string().contains("n_layers"));
    let bad = ChannelMlp::new(&root, 3, 2, ChannelMlpConfig { dropout: 1.5, ..Default::default() });
    assert!(bad.unwrap_err().to_string().contains("dropout"));
    assert!(GroupNorm::new(&root, 3, 4, 1e-5).unwrap_err().to_string().contains("n_groups"));
    let mlp = ChannelMlp::new(&(&root / "m"), 3, 2, ChannelMlpConfig::default()).unwrap();
    let e =
        mlp.f_forward_t(&Tensor::zeros([1, 4, 5], (Kind::Float, Device::Cpu)), false).unwrap_err();
    assert!(e.to_string().contains("3 channels"), "{e}");
    assert!(
        InstanceNorm::default()
            .f_forward(&Tensor::zeros([2, 3], (Kind::Float, Device::Cpu)))
            .is_err()
    );
}
