//! DISCO layers: the grid layer against a slow tap loop, the transpose as the scaled adjoint of
//! the strided forward, the point-cloud layer against a dense oracle and against the grid layer
//! on a periodic grid, convergence to the continuous operator, the fused local branch, gradients
//! and errors.

mod common;

use std::f64::consts::PI;

use common::{devices, gradcheck, rel_err, to_vec};
use lno_kernels::{Basis, DiscoPlanarSpec, PlanarDomain, StencilSpec};
use lno_layers::{
    DiscoCloudConfig, DiscoConvCloud, DiscoConvGrid, DiscoConvGridTranspose, DiscoGridConfig,
    FiniteDifferenceConfig, FiniteDifferenceConv, LocalBranch, Padding,
};
use tch::nn::{Module, VarStore};
use tch::{Device, Kind, Tensor};

fn basis() -> Basis {
    Basis::piecewise_linear(3, 4).unwrap()
}

/// `y[b,o,i,j] = bias[o] + Σ_{c∈g(o)} Σ_k W[o,c,k] Σ_{a,b} T[k,a,b] x̃[b,c,s0·i+a−c0, s1·j+b−c1]`
/// with the f64 taps of `lno-kernels`, by loops.
fn grid_oracle(
    x: &Tensor,
    w: &Tensor,
    bias: &Tensor,
    lengths: [f64; 2],
    cutoff: f64,
    groups: usize,
    stride: [usize; 2],
    periodic: bool,
) -> Tensor {
    let xs: Vec<usize> = x.size().iter().map(|&v| v as usize).collect();
    let ws: Vec<usize> = w.size().iter().map(|&v| v as usize).collect();
    let (xv, wv, bv) = (to_vec(x), to_vec(w), to_vec(bias));
    let (nb, nc, n0, n1) = (xs[0], xs[1], xs[2], xs[3]);
    let (no, cg, nk) = (ws[0], ws[1], ws[2]);
    let st = StencilSpec::for_grid(basis(), [n0, n1], lengths, cutoff).unwrap().build().unwrap();
    let ([p0, p1], [c0, c1]) = (st.size(), st.center());
    let (m0, m1) = (n0 / stride[0], n1 / stride[1]);
    let mut y = vec![0.0; nb * no * m0 * m1];
    for b in 0..nb {
        for o in 0..no {
            let g = o / (no / groups);
            for i in 0..m0 {
                for j in 0..m1 {
                    let mut acc = bv[o];
                    for cl in 0..cg {
                        let c = g * cg + cl;
                        for k in 0..nk {
                            for a in 0..p0 {
                                for bb in 0..p1 {
                                    let r = (stride[0] * i + a) as i64 - c0 as i64;
                                    let s = (stride[1] * j + bb) as i64 - c1 as i64;
                                    let inside =
                                        (0..n0 as i64).contains(&r) && (0..n1 as i64).contains(&s);
                                    if !inside && !periodic {
                                        continue;
                                    }
                                    let (r, s) = (
                                        r.rem_euclid(n0 as i64) as usize,
                                        s.rem_euclid(n1 as i64) as usize,
                                    );
                                    acc += wv[(o * cg + cl) * nk + k]
                                        * st.tap(k, a, bb)
                                        * xv[((b * nc + c) * n0 + r) * n1 + s];
                                }
                            }
                        }
                    }
                    y[((b * no + o) * m0 + i) * m1 + j] = acc;
                }
            }
        }
    }
    Tensor::from_slice(&y).view([nb as i64, no as i64, m0 as i64, m1 as i64])
}

fn random_bias(vs: &VarStore, n: i64) {
    common::set_var(vs, "bias", &Tensor::randn([n], (Kind::Double, Device::Cpu)));
}

#[test]
fn grid_disco_equals_the_tap_loop_for_periodic_and_zero_padding_strides_and_groups() {
    // (shape, lengths, cutoff, groups, out, stride, padding)
    let cases = [
        ([2i64, 2, 12, 10], [2.0, 1.5], 0.35, 1, 3, [1i64, 1], Padding::Periodic),
        ([1, 4, 12, 12], [1.0, 1.0], 0.2, 2, 2, [2, 2], Padding::Zeros),
        ([1, 2, 8, 12], [1.0, 1.0], 0.25, 2, 4, [2, 3], Padding::Periodic),
    ];
    for device in devices() {
        for (shape, lengths, cutoff, groups, out, stride, padding) in cases {
            tch::manual_seed(4);
            let mut vs = VarStore::new(device);
            let config = DiscoGridConfig { groups, bias: true, padding, stride };
            let layer =
                DiscoConvGrid::new(&vs.root(), shape[1], out, basis(), cutoff, lengths, config)
                    .unwrap();
            vs.double();
            random_bias(&vs, out);
            let x = Tensor::randn(shape, (Kind::Double, device));
            let y = layer.f_forward(&x).unwrap();
            let expected = grid_oracle(
                &x,
                layer.weight(),
                layer.bias().unwrap(),
                lengths,
                cutoff,
                groups as usize,
                [stride[0] as usize, stride[1] as usize],
                padding == Padding::Periodic,
            );
            let err = rel_err(&y, &expected);
            // f64 conv vs f64 loop.
            assert!(err < 1e-12, "{device:?} {shape:?} {padding:?}: rel err {err:.2e}");
        }
    }
}

#[test]
fn grid_disco_transpose_is_the_scaled_adjoint_of_the_strided_forward() {
    for device in devices() {
        for padding in [Padding::Periodic, Padding::Zeros] {
            tch::manual_seed(8);
            let stride = [2i64, 3];
            let (c, o) = (2, 3);
            let config = DiscoGridConfig { groups: 1, bias: false, padding, stride };
            let mut vs_f = VarStore::new(device);
            let fwd =
                DiscoConvGrid::new(&vs_f.root(), c, o, basis(), 0.3, [1.0, 1.5], config).unwrap();
            vs_f.double();
            let mut vs_t = VarStore::new(device);
            let tr =
                DiscoConvGridTranspose::new(&vs_t.root(), o, c, basis(), 0.3, [1.0, 1.5], config)
                    .unwrap();
            vs_t.double();
            // Transpose weight[c, o, k] = forward weight[o, c, k].
            common::set_var(&vs_t, "weight", &fwd.weight().transpose(0, 1));
            let v = Tensor::randn([2, c, 12, 12], (Kind::Double, device));
            let u = Tensor::randn([2, o, 6, 4], (Kind::Double, device));
            let lhs = f64::try_from((tr.forward(&u) * &v).sum(Kind::Double)).unwrap();
            let rhs = 6.0 * f64::try_from((&u * fwd.forward(&v)).sum(Kind::Double)).unwrap();
            // Two f64 evaluations of the same bilinear form.
            assert!((lhs - rhs).abs() < 1e-10 * rhs.abs().max(1.0), "{padding:?}: {lhs} vs {rhs}");
        }
    }
}

/// R2 quasi-random points in [0, 1)² (the reference's R3 clouds use the same construction).
fn qmc_cloud(n: usize, shift: f64) -> Vec<[f64; 2]> {
    (0..n)
        .map(|k| {
            let k = k as f64;
            [(0.7548776662466927 * k + shift).fract(), (0.5698402909980532 * k + shift).fract()]
        })
        .collect()
}

#[test]
fn cloud_disco_equals_a_dense_psi_oracle() {
    let pin = qmc_cloud(120, 0.1);
    let pout = qmc_cloud(40, 0.37);
    let spec = DiscoPlanarSpec::forward(pin, vec![1.0 / 120.0; 120], pout, basis(), 0.22).unwrap();
    let psi = spec.build().unwrap();
    let dense = psi.to_dense();
    for device in devices() {
        tch::manual_seed(6);
        // Built in an f64 store: Ψ is cast once to the store's dtype at construction.
        let mut vs = VarStore::new(device);
        vs.set_kind(Kind::Double);
        let config = DiscoCloudConfig { groups: 2, bias: true };
        let layer = DiscoConvCloud::new(&vs.root(), 4, 2, &psi, config).unwrap();
        random_bias(&vs, 2);
        let x = Tensor::randn([2, 4, 120], (Kind::Double, device));
        let y = layer.f_forward(&x).unwrap();
        let (xv, wv, bv) = (to_vec(&x), to_vec(layer.weight()), to_vec(layer.bias().unwrap()));
        let (k_n, n_out, n_in, cg) = (5, 40, 120, 2);
        let mut expected = vec![0.0; 2 * 2 * n_out];
        for b in 0..2 {
            for o in 0..2 {
                for n in 0..n_out {
                    let mut acc = bv[o];
                    for cl in 0..cg {
                        let c = o * cg + cl; // groups = 2 = out: output o reads group o
                        for k in 0..k_n {
                            let s: f64 = (0..n_in)
                                .map(|m| {
                                    dense[(k * n_out + n) * n_in + m] * xv[(b * 4 + c) * n_in + m]
                                })
                                .sum();
                            acc += wv[(o * cg + cl) * k_n + k] * s;
                        }
                    }
                    expected[(b * 2 + o) * n_out + n] = acc;
                }
            }
        }
        let err = rel_err(&y, &Tensor::from_slice(&expected).view([2, 2, n_out as i64]));
        // f64 sparse product vs f64 dense sums.
        assert!(err < 1e-12, "{device:?}: rel err {err:.2e}");
    }
}

/// Grid point (i, j) of an `n0 × n1` grid on `[L0, L1]` as a cloud point whose planar offsets
/// reproduce the grid taps' angles: `(x, y) = (−j·h1, −i·h0)` wrapped into the torus `[L1, L0]`.
fn grid_as_cloud(n0: usize, n1: usize, lengths: [f64; 2]) -> Vec<[f64; 2]> {
    let (h0, h1) = (lengths[0] / n0 as f64, lengths[1] / n1 as f64);
    (0..n0 * n1)
        .map(|p| {
            let (i, j) = (p / n1, p % n1);
            [(-(j as f64) * h1).rem_euclid(lengths[1]), (-(i as f64) * h0).rem_euclid(lengths[0])]
        })
        .collect()
}

#[test]
fn cloud_disco_on_a_periodic_regular_grid_equals_grid_disco() {
    let (n0, n1, lengths, cutoff) = (12usize, 10usize, [2.0, 1.5], 0.35);
    let pts = grid_as_cloud(n0, n1, lengths);
    let q = vec![lengths[0] * lengths[1] / (n0 * n1) as f64; n0 * n1];
    let spec = DiscoPlanarSpec::forward(pts.clone(), q, pts, basis(), cutoff)
        .unwrap()
        .with_domain(PlanarDomain::Periodic { lengths: [lengths[1], lengths[0]] })
        .unwrap();
    tch::manual_seed(1);
    let mut vs = VarStore::new(Device::Cpu);
    vs.set_kind(Kind::Double);
    let grid = DiscoConvGrid::new(
        &(vs.root() / "grid"),
        2,
        3,
        basis(),
        cutoff,
        lengths,
        DiscoGridConfig::default(),
    )
    .unwrap();
    let cloud =
        DiscoConvCloud::from_spec(&(vs.root() / "cloud"), 2, 3, &spec, DiscoCloudConfig::default())
            .unwrap();
    common::set_var(&vs, "cloud.weight", grid.weight());
    let x = Tensor::randn([2, 2, n0 as i64, n1 as i64], (Kind::Double, Device::Cpu));
    let y_grid = grid.forward(&x).view([2, 3, -1]);
    let y_cloud = cloud.forward(&x.view([2, 2, -1]));
    let err = rel_err(&y_cloud, &y_grid);
    // Same f64 geometry on two paths (k-d tree + CSR vs stencil + conv2d).
    assert!(err < 1e-12, "rel err {err:.2e}");
}

/// A smooth periodic field on the unit torus, as a function of (row coordinate, column coordinate).
fn smooth(u: f64, v: f64) -> f64 {
    (2.0 * PI * u).sin() * (2.0 * PI * v).cos() + 0.5 * (2.0 * PI * (u + 2.0 * v) + 0.3).sin()
}

fn grid_field(n: usize) -> Tensor {
    let v: Vec<f64> =
        (0..n * n).map(|p| smooth((p / n) as f64 / n as f64, (p % n) as f64 / n as f64)).collect();
    Tensor::from_slice(&v).view([1, 1, n as i64, n as i64])
}

/// One 1 → 1 grid layer in f64 with fixed weights, evaluated at resolution n.
fn grid_layer_output(n: usize, weights: &Tensor) -> Tensor {
    let mut vs = VarStore::new(Device::Cpu);
    let config = DiscoGridConfig { bias: false, ..Default::default() };
    let layer = DiscoConvGrid::new(&vs.root(), 1, 1, basis(), 0.1, [1.0, 1.0], config).unwrap();
    vs.double();
    common::set_var(&vs, "weight", weights);
    layer.forward(&grid_field(n))
}

#[test]
fn grid_disco_converges_to_the_continuous_operator_as_the_grid_is_refined() {
    let w = Tensor::from_slice(&[1.0, -0.5, 0.8, 0.3, -1.2]).view([1, 1, 5]);
    let sizes = [20usize, 40, 80, 160];
    let outs: Vec<Tensor> = sizes.iter().map(|&n| grid_layer_output(n, &w)).collect();
    // Differences between successive resolutions on the common 20 × 20 points.
    let coarse = |t: &Tensor, n: usize| {
        let s = (n / 20) as i64;
        t.slice(2, 0, None, s).slice(3, 0, None, s)
    };
    let diffs: Vec<f64> = (0..3)
        .map(|i| {
            let a = coarse(&outs[i], sizes[i]);
            let b = coarse(&outs[i + 1], sizes[i + 1]);
            f64::try_from((a - b).abs().max()).unwrap()
        })
        .collect();
    let orders: Vec<f64> = diffs.windows(2).map(|d| (d[0] / d[1]).log2()).collect();
    println!("grid DISCO successive differences {diffs:?}, orders {orders:?}");
    // The hats' kinks limit the quadrature to about second order (docs/kernels.md); 1.5 rules
    // out a non-convergent layer (order 0, e.g. taps frozen at one resolution).
    assert!(orders.iter().all(|&p| p > 1.5), "orders {orders:?}");
}

#[test]
fn cloud_disco_on_quasi_random_points_converges_to_the_grid_operator() {
    let w = Tensor::from_slice(&[1.0, -0.5, 0.8, 0.3, -1.2]).view([1, 1, 5]);
    // Reference: the grid layer at 320², read at the 20 × 20 output points.
    let reference = grid_layer_output(320, &w).slice(2, 0, None, 16).slice(3, 0, None, 16);
    let outputs = grid_as_cloud(20, 20, [1.0, 1.0]);
    let mut errors = Vec::new();
    for n in [1000usize, 4000, 16000] {
        let pts = qmc_cloud(n, 0.0);
        // Cloud point (x, y) carries the grid field at (row, column) = (−y, −x).
        let f: Vec<f64> = pts.iter().map(|p| smooth(-p[1], -p[0])).collect();
        let spec =
            DiscoPlanarSpec::forward(pts, vec![1.0 / n as f64; n], outputs.clone(), basis(), 0.1)
                .unwrap()
                .with_domain(PlanarDomain::Periodic { lengths: [1.0, 1.0] })
                .unwrap();
        let mut vs = VarStore::new(Device::Cpu);
        vs.set_kind(Kind::Double);
        let config = DiscoCloudConfig { groups: 1, bias: false };
        let layer = DiscoConvCloud::from_spec(&vs.root(), 1, 1, &spec, config).unwrap();
        common::set_var(&vs, "weight", &w);
        let y = layer.forward(&Tensor::from_slice(&f).view([1, 1, n as i64]));
        errors.push(f64::try_from((y.view([1, 1, 20, 20]) - &reference).abs().max()).unwrap());
    }
    println!("cloud DISCO errors vs 320² grid for n = 1e3, 4e3, 1.6e4: {errors:?}");
    // Quasi-Monte Carlo quadrature of kinked kernels: error ~ n^{-1/2…-1}; each 4× more points
    // must at least halve it.
    assert!(errors[1] < 0.5 * errors[0] && errors[2] < 0.5 * errors[1], "errors {errors:?}");
}

#[test]
fn local_branch_equals_the_sum_of_its_two_layers_with_equal_or_mixed_groups() {
    for device in devices() {
        for (fd_groups, disco_groups, padding) in
            [(1, 1, Padding::Periodic), (4, 1, Padding::Zeros), (2, 4, Padding::Periodic)]
        {
            tch::manual_seed(12);
            let vs = VarStore::new(device);
            let fd = FiniteDifferenceConv::new(
                &(vs.root() / "fd"),
                4,
                4,
                &[1.0, 2.0],
                FiniteDifferenceConfig {
                    kernel_size: 3,
                    groups: fd_groups,
                    padding,
                    ..Default::default()
                },
            )
            .unwrap();
            let disco = DiscoConvGrid::new(
                &(vs.root() / "disco"),
                4,
                4,
                basis(),
                0.25,
                [1.0, 2.0],
                DiscoGridConfig { groups: disco_groups, bias: true, padding, stride: [1, 1] },
            )
            .unwrap();
            common::set_var(&vs, "disco.bias", &Tensor::randn([4], (Kind::Float, Device::Cpu)));
            let x = Tensor::randn([2, 4, 16, 12], (Kind::Float, device));
            let separate = fd.forward(&x) + disco.forward(&x);
            let branch = LocalBranch::new(fd, disco).unwrap();
            let err = rel_err(&branch.forward(&x), &separate);
            // float32: one conv with summed kernels vs two convs (different summation order).
            assert!(err < 1e-5, "{device:?} groups {fd_groups}/{disco_groups}: rel err {err:.2e}");
        }
    }
}

#[test]
fn disco_gradients_match_finite_differences_in_f64() {
    for device in devices() {
        tch::manual_seed(13);
        let mut vs = VarStore::new(device);
        let root = vs.root();
        let grid_cfg =
            DiscoGridConfig { groups: 2, bias: true, padding: Padding::Periodic, stride: [2, 1] };
        let grid =
            DiscoConvGrid::new(&(&root / "g"), 2, 2, basis(), 0.3, [1.0, 1.0], grid_cfg).unwrap();
        let tr_cfg = DiscoGridConfig { stride: [2, 2], ..Default::default() };
        let tr =
            DiscoConvGridTranspose::new(&(&root / "t"), 2, 3, basis(), 0.3, [1.0, 1.0], tr_cfg)
                .unwrap();
        let psi = DiscoPlanarSpec::forward(
            qmc_cloud(30, 0.0),
            vec![1.0 / 30.0; 30],
            qmc_cloud(10, 0.5),
            basis(),
            0.4,
        )
        .unwrap()
        .build()
        .unwrap();
        let cloud =
            DiscoConvCloud::new(&(&root / "c"), 2, 3, &psi, DiscoCloudConfig::default()).unwrap();
        let fd = FiniteDifferenceConv::new(
            &(&root / "fd"),
            2,
            2,
            &[1.0, 1.0],
            FiniteDifferenceConfig::default(),
        )
        .unwrap();
        let disco = DiscoConvGrid::new(
            &(&root / "d"),
            2,
            2,
            basis(),
            0.3,
            [1.0, 1.0],
            DiscoGridConfig::default(),
        )
        .unwrap();
        vs.double();
        let p = |t: Option<&Tensor>, w: &Tensor| {
            let mut v = vec![w.shallow_clone()];
            v.extend(t.map(Tensor::shallow_clone));
            v
        };
        let x = Tensor::randn([1, 2, 10, 10], (Kind::Double, device));
        gradcheck("grid", &p(grid.bias(), grid.weight()), &x, &|x| grid.forward(x));
        let xc = Tensor::randn([1, 2, 5, 5], (Kind::Double, device));
        gradcheck("transpose", &p(tr.bias(), tr.weight()), &xc, &|x| tr.forward(x));
        let xp = Tensor::randn([2, 2, 30], (Kind::Double, device));
        gradcheck("cloud", &p(cloud.bias(), cloud.weight()), &xp, &|x| cloud.forward(x));
        let mut params = p(disco.bias(), disco.weight());
        params.push(fd.weight().shallow_clone());
        let branch = LocalBranch::new(fd, disco).unwrap();
        gradcheck("local branch", &params, &x, &|x| branch.forward(x));
    }
}

#[test]
fn disco_layers_reject_bad_configuration_and_input_with_named_errors() {
    let vs = VarStore::new(Device::Cpu);
    let root = vs.root();
    let cfg = DiscoGridConfig::default();
    let msg = |r: Result<DiscoConvGrid, lno_layers::LayerError>| r.unwrap_err().to_string();
    assert!(
        msg(DiscoConvGrid::new(&root, 2, 2, basis(), -1.0, [1.0, 1.0], cfg)).contains("cutoff")
    );
    assert!(
        msg(DiscoConvGrid::new(
            &root,
            3,
            2,
            basis(),
            0.1,
            [1.0, 1.0],
            DiscoGridConfig { groups: 2, ..cfg }
        ))
        .contains("groups")
    );
    assert!(
        msg(DiscoConvGrid::new(&root, 2, 2, basis(), 0.1, [1.0, 0.0], cfg))
            .contains("domain_lengths")
    );
    assert!(
        msg(DiscoConvGrid::new(
            &root,
            2,
            2,
            basis(),
            0.1,
            [1.0, 1.0],
            DiscoGridConfig { stride: [0, 1], ..cfg }
        ))
        .contains("stride")
    );
    let e = DiscoConvGridTranspose::new(
        &root,
        2,
        2,
        basis(),
        0.1,
        [1.0, 1.0],
        DiscoGridConfig { padding: Padding::Reflect, ..cfg },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("padding"), "{e}");

    let layer = DiscoConvGrid::new(
        &(&root / "g"),
        2,
        2,
        basis(),
        0.3,
        [1.0, 1.0],
        DiscoGridConfig { stride: [2, 2], ..cfg },
    )
    .unwrap();
    let opts = (Kind::Float, Device::Cpu);
    for (x, what) in [
        (Tensor::zeros([1, 2, 8], opts), "rank-4"),
        (Tensor::zeros([1, 3, 8, 8], opts), "2 channels"),
        (Tensor::zeros([1, 2, 9, 8], opts), "divisible by stride"),
    ] {
        let e = layer.f_forward(&x).unwrap_err().to_string();
        assert!(e.contains(what), "expected `{what}` in: {e}");
    }

    // A cutoff of 0.6 on the unit square needs a 9-point stencil on an 8-point grid.
    let wide = DiscoConvGrid::new(&(&root / "w"), 2, 2, basis(), 0.6, [1.0, 1.0], cfg).unwrap();
    let e = wide.f_forward(&Tensor::zeros([1, 2, 8, 8], opts)).unwrap_err().to_string();
    assert!(e.contains("cutoff"), "{e}");

    let psi = DiscoPlanarSpec::forward(
        qmc_cloud(30, 0.0),
        vec![1.0 / 30.0; 30],
        qmc_cloud(10, 0.5),
        basis(),
        0.4,
    )
    .unwrap()
    .build()
    .unwrap();
    let cloud =
        DiscoConvCloud::new(&(&root / "c"), 2, 3, &psi, DiscoCloudConfig::default()).unwrap();
    let e = cloud.f_forward(&Tensor::zeros([1, 2, 31], opts)).unwrap_err().to_string();
    assert!(e.contains("30 points"), "{e}");
    let mut parts = psi.to_csr_parts();
    parts.col[0] = 99;
    let e = DiscoConvCloud::from_csr_parts(
        &(&root / "c2"),
        2,
        3,
        &parts,
        5,
        DiscoCloudConfig::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("psi") && e.contains("column"), "{e}");

    let fd = FiniteDifferenceConv::new(
        &(&root / "fd"),
        2,
        2,
        &[1.0, 1.0],
        FiniteDifferenceConfig { padding: Padding::Zeros, ..Default::default() },
    )
    .unwrap();
    let disco = DiscoConvGrid::new(&(&root / "d"), 2, 2, basis(), 0.3, [1.0, 1.0], cfg).unwrap();
    let e = LocalBranch::new(fd, disco).unwrap_err().to_string();
    assert!(e.contains("padding"), "{e}");
}
