//! Agreement with neuraloperator 2.0.0 (torch 2.11, float32, CPU) on the fixtures written by
//! `tools/golden/layers_golden.py`: finite differences, regular-grid DISCO at the training
//! resolution, point-cloud DISCO (forward and transpose) and `SpectralConv` on even sizes.

mod common;

use common::{golden, rel_err, set_var};
use lno_kernels::{Basis, DiscoPlanarSpec, Normalization};
use lno_layers::{
    DiscoCloudConfig, DiscoConvCloud, DiscoConvGrid, DiscoGridConfig, FiniteDifferenceConfig,
    FiniteDifferenceConv, Padding, SpectralConv, SpectralConvConfig,
};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

/// float32 agreement required by the issue (both sides compute in float32; observed errors are
/// printed and are a few 1e-7).
const REL_TOL: f64 = 1e-5;

fn check(name: &str, ours: &Tensor, reference: &Tensor) {
    assert_eq!(ours.size(), reference.size(), "{name}: shape");
    let err = rel_err(ours, reference);
    println!("{name}: relative error {err:.2e}");
    assert!(err <= REL_TOL, "{name}: relative error {err:.3e} > {REL_TOL}");
}

#[test]
fn finite_difference_matches_neuralop_for_every_padding_and_dimension() {
    for (name, padding, groups) in [
        ("fd_2d_periodic", Padding::Periodic, 1),
        ("fd_2d_zeros_k5", Padding::Zeros, 1),
        ("fd_1d_replicate_groups", Padding::Replicate, 2),
        ("fd_3d_reflect", Padding::Reflect, 1),
    ] {
        let g = golden(name);
        let (x, w) = (&g["x"], &g["weight"]);
        let h = f64::try_from(&g["grid_width"]).unwrap();
        let ws = w.size();
        // Domain lengths such that L/n equals the reference's grid_width.
        let lengths: Vec<f64> = x.size()[2..].iter().map(|&n| h * n as f64).collect();
        let vs = VarStore::new(Device::Cpu);
        let config =
            FiniteDifferenceConfig { kernel_size: ws[2], groups, padding, ..Default::default() };
        let layer =
            FiniteDifferenceConv::new(&vs.root(), ws[1] * groups, ws[0], &lengths, config).unwrap();
        set_var(&vs, "weight", w);
        check(name, &layer.f_forward(x).unwrap(), &g["y"]);
    }
}

#[test]
fn grid_disco_matches_neuralop_equidistant_disco_at_the_training_resolution() {
    for (name, groups, stride) in
        [("disco_grid_r2a", 1, [1, 1]), ("disco_grid_stride2_groups", 2, [2, 2])]
    {
        let g = golden(name);
        let (x, w) = (&g["x"], &g["weight"]);
        let ks: Vec<usize> = Vec::<i64>::try_from(&g["kernel_shape"])
            .unwrap()
            .into_iter()
            .map(|v| v as usize)
            .collect();
        let cutoff = f64::try_from(&g["cutoff"]).unwrap();
        let basis = Basis::piecewise_linear(ks[0], ks[1]).unwrap();
        let vs = VarStore::new(Device::Cpu);
        // The reference always zero-pads.
        let config = DiscoGridConfig { groups, bias: true, padding: Padding::Zeros, stride };
        let ws = w.size();
        let layer = DiscoConvGrid::new(
            &vs.root(),
            ws[1] * groups,
            ws[0],
            basis,
            cutoff,
            [2.0, 2.0],
            config,
        )
        .unwrap();
        set_var(&vs, "weight", w);
        set_var(&vs, "bias", &g["bias"]);
        check(name, &layer.f_forward(x).unwrap(), &g["y"]);
    }
}

/// Ψ normalised as the reference does, dividing by `norm + 1e-9` (lno divides by `norm`; the
/// difference reaches 3e-4 on sparsely covered points, so it is modelled here).
fn reference_psi(spec: DiscoPlanarSpec) -> lno_kernels::CsrParts {
    let raw = spec.with_normalization(Normalization::None).build().unwrap();
    let mut parts = raw.to_csr_parts();
    for r in 0..parts.shape[0] {
        let (a, b) = (parts.crow[r] as usize, parts.crow[r + 1] as usize);
        let s: f64 = parts.values[a..b].iter().sum();
        parts.values[a..b].iter_mut().for_each(|v| *v /= s + 1e-9);
    }
    parts
}

fn points(t: &Tensor) -> Vec<[f64; 2]> {
    let v = common::to_vec(t);
    let n = v.len() / 2;
    (0..n).map(|k| [v[k], v[n + k]]).collect()
}

#[test]
fn cloud_disco_matches_neuralop_discrete_continuous_conv_forward_and_transpose() {
    for (name, transpose) in [("disco_cloud_r3a", false), ("disco_cloud_r3b_transpose", true)] {
        let g = golden(name);
        let (x, w) = (&g["x"], &g["weight"]);
        let (pin, pout, q) = (points(&g["pts_in"]), points(&g["pts_out"]), common::to_vec(&g["q"]));
        let basis = Basis::piecewise_linear(3, 4).unwrap();
        let spec = if transpose {
            DiscoPlanarSpec::transpose(pin, q, pout, basis, 0.2)
        } else {
            DiscoPlanarSpec::forward(pin, q, pout, basis, 0.2)
        }
        .unwrap();
        let parts = reference_psi(spec);
        let vs = VarStore::new(Device::Cpu);
        let ws = w.size();
        let layer = DiscoConvCloud::from_csr_parts(
            &vs.root(),
            ws[1],
            ws[0],
            &parts,
            ws[2] as usize,
            DiscoCloudConfig::default(),
        )
        .unwrap();
        set_var(&vs, "weight", w);
        set_var(&vs, "bias", &g["bias"]);
        check(name, &layer.f_forward(x).unwrap(), &g["y"]);
    }
}

#[test]
fn spectral_conv_matches_neuralop_on_even_sizes_in_one_two_and_three_dims() {
    for (name, modes) in [
        ("spectral_2d_r6", vec![8i64, 8]),
        ("spectral_2d_r6b", vec![8, 8]),
        ("spectral_1d", vec![6]),
        ("spectral_3d", vec![4, 4, 4]),
    ] {
        let g = golden(name);
        let (x, w) = (&g["x"], &g["weight"]);
        let ws = w.size();
        let vs = VarStore::new(Device::Cpu);
        let layer =
            SpectralConv::new(&vs.root(), ws[0], ws[1], &modes, SpectralConvConfig::default())
                .unwrap();
        set_var(&vs, "weight_ri", w);
        set_var(&vs, "bias", &g["bias"]);
        assert_eq!(layer.weight().kind(), Kind::Float);
        check(name, &layer.f_forward(x).unwrap(), &g["y"]);
    }
}
