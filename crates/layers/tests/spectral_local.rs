//! The local branch computed in the spectral pass (`periodic_conv_spectrum` +
//! `SpectralConv::f_forward_plus_spectrum`) against the direct convolutions it replaces:
//! `spectral(x) + FD(x) + DISCO(x)` run as three separate layers, in f64 and f32, on even, odd
//! and non-square grids, with and without channel groups, at several resolutions of the same
//! weights, with a stencil wider than the grid, gradients, the cost rule and the errors.

mod common;

use common::{devices, rel_err};
use lno_kernels::Basis;
use lno_layers::{
    DiscoConvGrid, DiscoGridConfig, FiniteDifferenceConfig, FiniteDifferenceConv, LocalBranch,
    Padding, SpectralConv, SpectralConvConfig, periodic_conv_in_spectrum_pays,
    periodic_conv_in_spectrum_valid, periodic_conv_spectrum,
};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

/// Spectral conv, FD and DISCO layers on `vs` (`in → out` channels, domain [1, 2], DISCO
/// cutoff 0.25, i.e. a 9 × 5 stencil at 16²), fused into a [`LocalBranch`].
fn layers(
    vs: &VarStore,
    in_c: i64,
    out_c: i64,
    fd_groups: i64,
    disco_groups: i64,
) -> (SpectralConv, LocalBranch) {
    let root = vs.root();
    let lengths = [1.0, 2.0];
    let spectral = SpectralConv::new(
        &(&root / "spectral"),
        in_c,
        out_c,
        &[6, 5],
        SpectralConvConfig::default(),
    )
    .unwrap();
    let fd = FiniteDifferenceConv::new(
        &(&root / "fd"),
        in_c,
        out_c,
        &lengths,
        FiniteDifferenceConfig { kernel_size: 3, groups: fd_groups, ..Default::default() },
    )
    .unwrap();
    let disco = DiscoConvGrid::new(
        &(&root / "disco"),
        in_c,
        out_c,
        Basis::piecewise_linear(3, 4).unwrap(),
        0.25,
        lengths,
        DiscoGridConfig {
            groups: disco_groups,
            bias: true,
            padding: Padding::Periodic,
            stride: [1, 1],
        },
    )
    .unwrap();
    common::set_var(vs, "disco.bias", &Tensor::randn([out_c], (Kind::Float, Device::Cpu)));
    (spectral, LocalBranch::new(fd, disco).unwrap())
}

/// `spectral(x) + L(x) + bias` with `L` applied in the spectral pass through `kernel`.
fn fast(
    spectral: &SpectralConv,
    kernel: &Tensor,
    groups: i64,
    bias: Option<&Tensor>,
    x: &Tensor,
) -> Tensor {
    let s = x.size();
    let spectrum = periodic_conv_spectrum(kernel, groups, [s[2], s[3]]).unwrap();
    let y = spectral.f_forward_plus_spectrum(x, &spectrum).unwrap();
    match bias {
        Some(b) => y + b.view([1, -1, 1, 1]),
        None => y,
    }
}

/// Every case: (in, out, FD groups, DISCO groups): dense, per-channel FD (groups = channels)
/// with dense DISCO (mixed groups: both expanded to dense), and equal groups 2.
const CASES: [(i64, i64, i64, i64); 3] = [(3, 5, 1, 1), (4, 4, 4, 1), (4, 6, 2, 2)];

/// Grids: even, odd, non-square both ways; the same weights at each (kernels rebuilt per grid).
const GRIDS: [[i64; 2]; 4] = [[16, 16], [15, 13], [12, 17], [21, 10]];

fn check_equals_separate_layers(kind: Kind, tol: f64) {
    for device in devices() {
        for (in_c, out_c, fd_groups, disco_groups) in CASES {
            tch::manual_seed(21);
            let mut vs = VarStore::new(device);
            let (spectral, branch) = layers(&vs, in_c, out_c, fd_groups, disco_groups);
            vs.set_kind(kind);
            let (fd, disco) = (branch.fd(), branch.disco());
            for grid in GRIDS {
                let x = Tensor::randn([2, in_c, grid[0], grid[1]], (kind, device));
                let sp = spectral.f_forward(&x).unwrap();
                let (f, g) = (fd.f_forward(&x).unwrap(), disco.f_forward(&x).unwrap());
                let case = format!(
                    "{device:?} {kind:?} {in_c}→{out_c} groups {fd_groups}/{disco_groups} grid {grid:?}"
                );
                // FD + DISCO fused, as the LocalNO block uses it.
                let (kernel, groups) = branch.fused_kernel(grid).unwrap();
                let y = fast(&spectral, &kernel, groups, disco.bias(), &x);
                let err = rel_err(&y, &(&sp + &f + &g));
                assert!(err < tol, "{case} fused: rel err {err:.2e}");
                // Each branch alone.
                let kernel = fd.effective_kernel(&grid).unwrap();
                let err = rel_err(&fast(&spectral, &kernel, fd_groups, None, &x), &(&sp + &f));
                assert!(err < tol, "{case} FD alone: rel err {err:.2e}");
                let kernel = disco.kernel(grid).unwrap();
                let y = fast(&spectral, &kernel, disco_groups, disco.bias(), &x);
                let err = rel_err(&y, &(&sp + &g));
                assert!(err < tol, "{case} DISCO alone: rel err {err:.2e}");
            }
        }
    }
}

#[test]
fn spectral_local_path_equals_spectral_plus_fd_plus_disco_in_f64() {
    // f64: the FFT route and the direct sums differ by round-off, O(log N · ε · cond) ≈ 1e-14.
    check_equals_separate_layers(Kind::Double, 1e-10);
}

#[test]
fn spectral_local_path_equals_spectral_plus_fd_plus_disco_in_f32() {
    // f32: the same round-off at ε ≈ 6e-8, times the FFT's log N and the channel sums.
    check_equals_separate_layers(Kind::Float, 1e-5);
}

#[test]
fn stencil_wider_than_the_grid_wraps_like_circular_padding() {
    // FD kernel 5 (half-width 2) on a 3 × 4 grid: taps wrap onto the same cells and add up,
    // as the direct conv reads the circularly padded input twice.
    for device in devices() {
        tch::manual_seed(3);
        let mut vs = VarStore::new(device);
        let fd = FiniteDifferenceConv::new(
            &(vs.root() / "fd"),
            2,
            3,
            &[1.0, 1.0],
            FiniteDifferenceConfig { kernel_size: 5, ..Default::default() },
        )
        .unwrap();
        let spectral =
            SpectralConv::new(&(vs.root() / "s"), 2, 3, &[2, 2], SpectralConvConfig::default())
                .unwrap();
        vs.set_kind(Kind::Double);
        for grid in [[3, 4], [2, 5], [4, 2]] {
            assert!(periodic_conv_in_spectrum_valid([5, 5], grid));
            let x = Tensor::randn([2, 2, grid[0], grid[1]], (Kind::Double, device));
            let kernel = fd.effective_kernel(&grid).unwrap();
            let y = fast(&spectral, &kernel, 1, None, &x);
            let expected = spectral.f_forward(&x).unwrap() + fd.f_forward(&x).unwrap();
            let err = rel_err(&y, &expected);
            assert!(err < 1e-10, "{device:?} grid {grid:?}: rel err {err:.2e}");
        }
        assert!(!periodic_conv_in_spectrum_valid([5, 5], [1, 4]), "half-width 2 > 1 point");
    }
}

#[test]
fn spectral_local_gradients_equal_the_direct_path_gradients_in_f64() {
    for device in devices() {
        for (in_c, out_c, fd_groups, disco_groups) in CASES {
            let mut grads: Vec<Vec<Tensor>> = Vec::new();
            // One set of weights and inputs for both runs, copied rather than re-drawn: tests
            // in other threads share libtorch's generator.
            let mut weights = VarStore::new(device);
            layers(&weights, in_c, out_c, fd_groups, disco_groups);
            weights.set_kind(Kind::Double);
            let grid = [15, 12];
            let x0 = Tensor::randn([2, in_c, grid[0], grid[1]], (Kind::Double, device));
            let r = Tensor::randn([2, out_c, grid[0], grid[1]], (Kind::Double, device));
            for spectral_path in [true, false] {
                let mut vs = VarStore::new(device);
                let (spectral, branch) = layers(&vs, in_c, out_c, fd_groups, disco_groups);
                vs.set_kind(Kind::Double);
                vs.copy(&weights).unwrap();
                let x = x0.copy().set_requires_grad(true);
                let y = if spectral_path {
                    let (kernel, groups) = branch.fused_kernel(grid).unwrap();
                    fast(&spectral, &kernel, groups, branch.disco().bias(), &x)
                } else {
                    spectral.f_forward(&x).unwrap()
                        + branch.fd().f_forward(&x).unwrap()
                        + branch.disco().f_forward(&x).unwrap()
                };
                (y * &r).sum(Kind::Double).backward();
                let mut named: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
                named.sort_by(|a, b| a.0.cmp(&b.0));
                let mut g: Vec<Tensor> = named.iter().map(|(_, t)| t.grad().copy()).collect();
                assert_eq!(
                    named.len(),
                    5,
                    "spectral weight and bias, FD weight, DISCO weight and bias"
                );
                g.push(x.grad().copy());
                grads.push(g);
            }
            for (i, (a, b)) in grads[0].iter().zip(&grads[1]).enumerate() {
                let err = rel_err(a, b);
                // f64 round-off of two summation orders, as the forward test.
                assert!(
                    err < 1e-10,
                    "{device:?} case {in_c}→{out_c} {fd_groups}/{disco_groups}: gradient {i} rel err {err:.2e}"
                );
            }
        }
    }
}

#[test]
fn cost_rule_picks_the_spectral_path_for_the_local_no_bench_and_not_for_tiny_work() {
    // The LocalNO bench: batch 8, 32 channels, 64², fused 7 × 7 stencil.
    assert!(periodic_conv_in_spectrum_pays(8, 32, 32, 1, [7, 7], [64, 64]));
    // A lone 3 × 3 per-channel FD stencil: the direct conv is 32× cheaper than dense.
    assert!(!periodic_conv_in_spectrum_pays(8, 32, 32, 32, [3, 3], [64, 64]));
    // A dense 5 × 5 stencil at batch 8 (measured 1.2× faster in the spectral pass).
    assert!(periodic_conv_in_spectrum_pays(8, 32, 32, 1, [5, 5], [64, 64]));
    // A dense 3 × 3 stencil at batch 8 (measured 1.3–1.5× slower in the spectral pass).
    assert!(!periodic_conv_in_spectrum_pays(8, 32, 32, 1, [3, 3], [64, 64]));
    // A 3 × 3 stencil at batch 1: the kernel DFT dominates.
    assert!(!periodic_conv_in_spectrum_pays(1, 32, 32, 1, [3, 3], [64, 64]));
    // Kernel spectrum over the 2²⁴ cap (32 · 32 · 256 · 129 ≈ 3.4e7).
    assert!(!periodic_conv_in_spectrum_pays(8, 32, 32, 1, [7, 7], [256, 256]));
    // Invalid: even stencil, or wider than the grid allows.
    assert!(!periodic_conv_in_spectrum_pays(8, 32, 32, 1, [6, 7], [64, 64]));
    assert!(!periodic_conv_in_spectrum_pays(8, 32, 32, 1, [7, 7], [2, 64]));
}

#[test]
fn spectral_local_rejects_bad_kernels_and_spectra() {
    let vs = VarStore::new(Device::Cpu);
    let spectral =
        SpectralConv::new(&(vs.root() / "s"), 2, 2, &[4, 4], SpectralConvConfig::default())
            .unwrap();
    let even = Tensor::zeros([2, 2, 4, 3], (Kind::Float, Device::Cpu));
    let msg = periodic_conv_spectrum(&even, 1, [8, 8]).unwrap_err().to_string();
    assert!(msg.contains("kernel") && msg.contains("odd"), "{msg}");
    let x = Tensor::zeros([1, 2, 8, 8], (Kind::Float, Device::Cpu));
    let wrong = [0, 1].map(|_| Tensor::zeros([8, 4, 2, 2], (Kind::Float, Device::Cpu)));
    let msg = spectral.f_forward_plus_spectrum(&x, &wrong).unwrap_err().to_string();
    assert!(msg.contains("extra") && msg.contains("[8, 5, 2, 2]"), "{msg}");
    let scaled = SpectralConv::new(
        &(vs.root() / "t"),
        2,
        2,
        &[4, 4],
        SpectralConvConfig { resolution_scaling: Some(vec![2.0, 2.0]), ..Default::default() },
    )
    .unwrap();
    let ok = [0, 1].map(|_| Tensor::zeros([8, 5, 2, 2], (Kind::Float, Device::Cpu)));
    let msg = scaled.f_forward_plus_spectrum(&x, &ok).unwrap_err().to_string();
    assert!(msg.contains("resolution_scaling"), "{msg}");
}

#[test]
fn spectral_pass_leaves_the_callers_kernel_spectrum_unchanged() {
    // The kept modes are added in place into fresh products, never into `extra`: the same
    // spectrum must give the same result on a second call.
    let vs = VarStore::new(Device::Cpu);
    let spectral =
        SpectralConv::new(&(vs.root() / "s"), 3, 3, &[6, 6], SpectralConvConfig::default())
            .unwrap();
    let kernel = Tensor::randn([3, 3, 3, 3], (Kind::Float, Device::Cpu));
    let spectrum = periodic_conv_spectrum(&kernel, 1, [10, 10]).unwrap();
    let before = [0, 1].map(|i| spectrum[i].copy());
    let x = Tensor::randn([2, 3, 10, 10], (Kind::Float, Device::Cpu));
    let y1 = spectral.f_forward_plus_spectrum(&x, &spectrum).unwrap();
    let y2 = spectral.f_forward_plus_spectrum(&x, &spectrum).unwrap();
    for i in 0..2 {
        assert!(spectrum[i].equal(&before[i]), "extra[{i}] was modified");
    }
    assert!(y1.equal(&y2));
}
