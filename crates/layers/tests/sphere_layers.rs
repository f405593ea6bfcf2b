//! Sphere layers against slow, obviously-correct oracles: the DISCO contraction against a dense
//! loop over output longitudes with the rolled Ψ, the tensor SHT against the pure-Rust f64 SHT
//! of `lno-quadrature`, round trips of band-limited fields, and f64 gradient checks. Every test
//! runs on the CPU and, when available, on CUDA device 0.

use lno_kernels::Normalization;
use lno_layers::sphere::{
    DiscoConvS2, DiscoConvTransposeS2, DiscoS2Options, InverseRealSht, RealSht, SpectralConvS2,
};
use lno_quadrature::{CsPhase, Sht, SphereGrid, SphereGridKind};
use tch::{Device, Kind, Tensor, nn};

use SphereGridKind::{Equiangular as Eq, LegendreGauss as Lg, Lobatto as Lo};

fn devices() -> Vec<Device> {
    let mut d = vec![Device::Cpu];
    if tch::Cuda::is_available() {
        d.push(Device::Cuda(0));
    }
    d
}

/// A smooth deterministic test field, `[b, c, h, w]`, f64.
fn field(b: usize, c: usize, h: usize, w: usize) -> Vec<f64> {
    let mut v = Vec::with_capacity(b * c * h * w);
    for bi in 0..b {
        for ci in 0..c {
            for i in 0..h {
                for j in 0..w {
                    let (x, y) = (i as f64 / h as f64, j as f64 / w as f64);
                    v.push(
                        (2.0 * std::f64::consts::PI * x * (ci + 1) as f64).sin()
                            * (2.0 * std::f64::consts::PI * y * (bi + 1) as f64).cos()
                            + 0.3 * (7.0 * x + 3.0 * y + ci as f64).cos()
                            + 0.1 * bi as f64,
                    );
                }
            }
        }
    }
    v
}

fn to_vec(t: &Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(t.to_device(Device::Cpu).to_kind(Kind::Double).flatten(0, -1)).unwrap()
}

fn max_rel(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0f64, |m, v| m.max(v.abs())).max(1e-30);
    a.iter().zip(b).fold(0f64, |m, (x, y)| m.max((x - y).abs())) / scale
}

/// Dense forward oracle: `y[b,o,t,q] = Σ_c Σ_k W[o,c,k] Σ_{j,p} Ψ[k,t,j,p] x[b,c,j,(p+s q) mod W_in]`.
#[allow(clippy::too_many_arguments)]
fn dense_forward(
    psi: &[f64],
    k_n: usize,
    (hi, wi): (usize, usize),
    (ho, wo): (usize, usize),
    x: &[f64],
    w: &[f64],
    (b_n, c_n, o_n, groups): (usize, usize, usize, usize),
) -> Vec<f64> {
    let s = wi / wo;
    let (cg, og) = (c_n / groups, o_n / groups);
    let mut y = vec![0.0; b_n * o_n * ho * wo];
    for b in 0..b_n {
        for o in 0..o_n {
            let g = o / og;
            for t in 0..ho {
                for q in 0..wo {
                    let mut acc = 0.0;
                    for cl in 0..cg {
                        let c = g * cg + cl;
                        for k in 0..k_n {
                            let wv = w[(o * cg + cl) * k_n + k];
                            let row = &psi[(k * ho + t) * hi * wi..(k * ho + t + 1) * hi * wi];
                            for j in 0..hi {
                                for p in 0..wi {
                                    let v = row[j * wi + p];
                                    if v != 0.0 {
                                        acc += wv
                                            * v
                                            * x[((b * c_n + c) * hi + j) * wi + (p + s * q) % wi];
                                    }
                                }
                            }
                        }
                    }
                    y[((b * o_n + o) * ho + t) * wo + q] = acc;
                }
            }
        }
    }
    y
}

/// Dense transpose oracle: `out[b,o,j,(p+s q) mod W_out] += Σ_{k,t} Ψᵀ[k,t,j,p] Σ_c W[o,c,k] x[b,c,t,q]`.
#[allow(clippy::too_many_arguments)]
fn dense_transpose(
    psi: &[f64],
    k_n: usize,
    (hi, wi): (usize, usize),
    (ho, wo): (usize, usize),
    x: &[f64],
    w: &[f64],
    (b_n, c_n, o_n): (usize, usize, usize),
) -> Vec<f64> {
    let s = wo / wi;
    let mut out = vec![0.0; b_n * o_n * ho * wo];
    for b in 0..b_n {
        for o in 0..o_n {
            for k in 0..k_n {
                for t in 0..hi {
                    for q in 0..wi {
                        let u: f64 = (0..c_n)
                            .map(|c| {
                                w[(o * c_n + c) * k_n + k] * x[((b * c_n + c) * hi + t) * wi + q]
                            })
                            .sum();
                        let row = &psi[(k * hi + t) * ho * wo..(k * hi + t + 1) * ho * wo];
                        for j in 0..ho {
                            for p in 0..wo {
                                let v = row[j * wo + p];
                                if v != 0.0 {
                                    out[((b * o_n + o) * ho + j) * wo + (p + s * q) % wo] += v * u;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

#[test]
#[allow(clippy::type_complexity)] // an inline table of test cases
fn disco_forward_matches_dense_rolled_psi_oracle_on_all_grids() {
    // (grid_in, grid_out, in_shape, out_shape, kernel_shape, groups, block)
    let cases: &[(SphereGridKind, SphereGridKind, [usize; 2], [usize; 2], &[usize], i64, usize)] =
        &[
            (Eq, Eq, [16, 32], [16, 32], &[3, 4], 1, 16),
            (Eq, Lg, [16, 32], [8, 16], &[2, 4], 1, 3),
            (Lo, Lo, [12, 24], [12, 24], &[3], 2, 5),
            (Lg, Eq, [10, 20], [9, 10], &[3, 2], 1, 4),
        ];
    for &device in &devices() {
        for &(gi, go, ins, outs, ks, groups, block) in cases {
            let vs = nn::VarStore::new(device);
            let opts =
                DiscoS2Options { grid_in: gi, grid_out: go, groups, block, ..Default::default() };
            let layer = DiscoConvS2::new(&vs.root(), 2, 4, ins, outs, ks, opts).unwrap();
            let (b, c, o) = (2, 2, 4);
            let xv = field(b, c, ins[0], ins[1]);
            let x = Tensor::from_slice(&xv)
                .view([b as i64, c as i64, ins[0] as i64, ins[1] as i64])
                .to_kind(Kind::Float)
                .to_device(device);
            let y = to_vec(&layer.f_forward(&x).unwrap());
            let x32 = to_vec(&x);
            let oracle = dense_forward(
                &layer.psi().to_dense(),
                layer.n_basis(),
                (ins[0], ins[1]),
                (outs[0], outs[1]),
                &x32,
                &to_vec(layer.weight()),
                (b, c, o, groups as usize),
            );
            let err = max_rel(&y, &oracle);
            // f32 blocks, FFTs and sums of ~100 terms: a few ulps of the output scale.
            assert!(err < 2e-5, "{gi:?}->{go:?} {ins:?}->{outs:?} on {device:?}: rel err {err}");
        }
    }
}

#[test]
#[allow(clippy::type_complexity)] // an inline table of test cases
fn disco_transpose_matches_dense_oracle_on_all_grids() {
    let cases: &[(SphereGridKind, SphereGridKind, [usize; 2], [usize; 2], &[usize], usize)] = &[
        (Lg, Eq, [8, 16], [16, 32], &[3, 4], 16),
        (Eq, Eq, [9, 12], [9, 24], &[2, 4], 4),
        (Lo, Lo, [10, 20], [10, 20], &[3], 3),
    ];
    for &device in &devices() {
        for &(gi, go, ins, outs, ks, block) in cases {
            let vs = nn::VarStore::new(device);
            let opts = DiscoS2Options { grid_in: gi, grid_out: go, block, ..Default::default() };
            let layer = DiscoConvTransposeS2::new(&vs.root(), 3, 2, ins, outs, ks, opts).unwrap();
            let (b, c, o) = (2, 3, 2);
            let xv = field(b, c, ins[0], ins[1]);
            let x = Tensor::from_slice(&xv)
                .view([b as i64, c as i64, ins[0] as i64, ins[1] as i64])
                .to_kind(Kind::Float)
                .to_device(device);
            let y = to_vec(&layer.f_forward(&x).unwrap());
            let oracle = dense_transpose(
                &layer.psi().to_dense(),
                layer.n_basis(),
                (ins[0], ins[1]),
                (outs[0], outs[1]),
                &to_vec(&x),
                &to_vec(layer.weight()),
                (b, c, o),
            );
            let err = max_rel(&y, &oracle);
            // f32 blocks, FFTs and sums of ~100 terms.
            assert!(err < 2e-5, "{gi:?}->{go:?} {ins:?}->{outs:?} on {device:?}: rel err {err}");
        }
    }
}

#[test]
fn disco_bias_is_added_per_output_channel_and_bad_inputs_are_errors() {
    let vs = nn::VarStore::new(Device::Cpu);
    let layer =
        DiscoConvS2::new(&vs.root(), 2, 3, [8, 16], [8, 16], &[3, 4], Default::default()).unwrap();
    tch::no_grad(|| {
        layer.bias().unwrap().shallow_clone().copy_(&Tensor::from_slice(&[1.0f32, 2.0, 3.0]));
    });
    let y = layer.f_forward(&Tensor::zeros([1, 2, 8, 16], (Kind::Float, Device::Cpu))).unwrap();
    let means = to_vec(&y.mean_dim([0i64, 2, 3].as_slice(), false, Kind::Float));
    assert_eq!(means, vec![1.0, 2.0, 3.0]);
    for (shape, what) in
        [(vec![1i64, 3, 8, 16], "3"), (vec![1, 2, 8, 17], "17"), (vec![2, 8, 16], "[2, 8, 16]")]
    {
        let e = layer.f_forward(&Tensor::zeros(shape.as_slice(), (Kind::Float, Device::Cpu)));
        let msg = e.unwrap_err().to_string();
        assert!(msg.contains("input `x`") && msg.contains(what), "{msg}");
    }
    let e = DiscoConvS2::new(&vs.root(), 4, 3, [8, 16], [8, 5], &[3, 4], Default::default());
    assert!(e.unwrap_err().to_string().contains("n_lon"));
    let opts = DiscoS2Options { groups: 2, ..Default::default() };
    let e = DiscoConvS2::new(&vs.root(), 4, 3, [8, 16], [8, 16], &[3, 4], opts);
    assert!(e.unwrap_err().to_string().contains("`groups`"));
}

/// Per-(b, c) f64 SHT of `x [n, h, w]` by the quadrature crate (the oracle).
fn oracle_sht(grid: &SphereGrid, lmax: usize, mmax: usize, x: &[f64], n: usize) -> Vec<f64> {
    let sht = Sht::new(grid, lmax, mmax, CsPhase::Include).unwrap();
    let hw = grid.nlat() * grid.nlon();
    let mut out = Vec::new();
    for i in 0..n {
        let s = sht.forward(&x[i * hw..(i + 1) * hw]).unwrap();
        for c in s.as_slice() {
            out.push(c.re);
            out.push(c.im);
        }
    }
    out
}

#[test]
fn tensor_sht_matches_the_f64_quadrature_sht_on_all_grids() {
    for &device in &devices() {
        for (kind, h, w) in [(Eq, 17, 32), (Lg, 12, 24), (Lo, 13, 26)] {
            let grid = SphereGrid::new(kind, h, w).unwrap();
            let lmax = grid.max_lmax();
            let mmax = lmax.min(w / 2 + 1);
            let sht = RealSht::new(h, w, Some(lmax), Some(mmax), kind, device).unwrap();
            let xv = field(2, 3, h, w);
            let x = Tensor::from_slice(&xv).view([2, 3, h as i64, w as i64]).to_kind(Kind::Float);
            let a = sht.f_forward(&x.to_device(device)).unwrap();
            assert_eq!(a.size(), vec![2, 3, lmax as i64, mmax as i64]);
            let got = to_vec(&a.view_as_real());
            let want = oracle_sht(&grid, lmax, mmax, &to_vec(&x), 6);
            let err = max_rel(&got, &want);
            // f32 table and input, sums over ≤ 32 latitudes.
            assert!(err < 1e-5, "{kind:?} on {device:?}: rel err {err}");
        }
    }
}

#[test]
fn tensor_sht_round_trip_recovers_band_limited_fields_and_spectra() {
    for &device in &devices() {
        for (kind, h, w) in [(Eq, 17, 32), (Lg, 12, 24), (Lo, 13, 26)] {
            let grid = SphereGrid::new(kind, h, w).unwrap();
            let lmax = grid.max_lmax();
            let mmax = lmax.min(w / 2 + 1);
            let sht = RealSht::new(h, w, Some(lmax), Some(mmax), kind, device).unwrap();
            let isht = InverseRealSht::new(h, w, Some(lmax), Some(mmax), kind, device).unwrap();
            // A random band-limited spectrum: l ≥ m, Im a[l, 0] = 0 (real field).
            let n = 4;
            let mut spec = vec![0f64; n * lmax * mmax * 2];
            let mut state = 12345u64;
            for i in 0..n {
                for l in 0..lmax {
                    for m in 0..mmax.min(l + 1) {
                        for part in 0..2 {
                            state = state
                                .wrapping_mul(6364136223846793005)
                                .wrapping_add(1442695040888963407);
                            let r = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                            if !(m == 0 && part == 1) {
                                spec[((i * lmax + l) * mmax + m) * 2 + part] = r;
                            }
                        }
                    }
                }
            }
            let a = Tensor::from_slice(&spec)
                .view([2, 2, lmax as i64, mmax as i64, 2])
                .to_kind(Kind::Float)
                .to_device(device)
                .view_as_complex();
            let x = isht.f_forward(&a).unwrap();
            assert_eq!(x.size(), vec![2, 2, h as i64, w as i64]);
            let back = sht.f_forward(&x).unwrap();
            let err = max_rel(&to_vec(&back.view_as_real()), &to_vec(&a.view_as_real()));
            // Two f32 transforms of O(1) coefficients.
            assert!(err < 1e-5, "spectrum round trip {kind:?} on {device:?}: {err}");
            let x2 = isht.f_forward(&back).unwrap();
            let err = max_rel(&to_vec(&x2), &to_vec(&x));
            // Three f32 transforms.
            assert!(err < 2e-5, "field round trip {kind:?} on {device:?}: {err}");
        }
    }
}

/// Central finite differences of `f` (scalar) at `x` (f64) against autograd, on a few entries.
fn grad_check(f: &dyn Fn(&Tensor) -> Tensor, x: &Tensor, probes: &[i64], tol: f64) {
    let x = x.detach().set_requires_grad(true);
    f(&x).backward();
    let g = to_vec(&x.grad());
    let flat = x.detach().flatten(0, -1);
    let h = 1e-6;
    for &i in probes {
        let bump = |d: f64| {
            let y = flat.copy();
            let _ = y.get(i).f_add_scalar_(d).unwrap();
            f(&y.view(x.size().as_slice())).double_value(&[])
        };
        let fd = (bump(h) - bump(-h)) / (2.0 * h);
        let err = (fd - g[i as usize]).abs() / g[i as usize].abs().max(1.0);
        assert!(err < tol, "entry {i}: fd {fd} vs autograd {}", g[i as usize]);
    }
}

#[test]
fn disco_and_spectral_gradients_match_finite_differences_in_f64() {
    for &device in &devices() {
        let mut vs = nn::VarStore::new(device);
        let disco = DiscoConvS2::new(
            &vs.root().sub("d"),
            2,
            2,
            [8, 16],
            [8, 16],
            &[3, 4],
            Default::default(),
        )
        .unwrap();
        let tr = DiscoConvTransposeS2::new(
            &vs.root().sub("t"),
            2,
            2,
            [8, 16],
            [8, 32],
            &[2, 4],
            DiscoS2Options { block: 3, ..Default::default() },
        )
        .unwrap();
        let sht = RealSht::new(8, 16, None, None, Lg, device).unwrap();
        let isht = InverseRealSht::new(8, 16, None, None, Lg, device).unwrap();
        let spec = SpectralConvS2::new(&vs.root().sub("s"), sht, isht, 2, 2, 2.0, true).unwrap();
        vs.set_kind(Kind::Double);
        let xv = field(1, 2, 8, 16);
        let x = Tensor::from_slice(&xv).view([1, 2, 8, 16]).to_device(device);
        let probe: Vec<i64> = vec![0, 17, 100, 200, 255];
        // f64 end to end; central differences with h = 1e-6 on O(1) values.
        let tol = 1e-6;
        let loss = |y: Tensor| (&y * &y).sum(Kind::Double);
        grad_check(&|x| loss(disco.f_forward(x).unwrap()), &x, &probe, tol);
        grad_check(&|x| loss(tr.f_forward(x).unwrap()), &x, &probe, tol);
        grad_check(&|x| loss(spec.f_forward(x).unwrap()), &x, &probe, tol);
        // And the weights: a directional derivative along a fixed direction.
        for w in [disco.weight(), tr.weight(), spec.weight()] {
            let dir = w.ones_like();
            let f = |t: f64| {
                let mut w = w.shallow_clone();
                tch::no_grad(|| {
                    let _ = w.f_add_(&(&dir * t)).unwrap();
                });
                let l = loss(disco.f_forward(&x).unwrap())
                    + loss(tr.f_forward(&x).unwrap())
                    + loss(spec.f_forward(&x).unwrap());
                tch::no_grad(|| {
                    let _ = w.f_sub_(&(&dir * t)).unwrap();
                });
                l
            };
            let l = f(0.0);
            vs.trainable_variables().iter().for_each(|v| {
                let mut v = v.shallow_clone();
                v.zero_grad()
            });
            l.backward();
            let analytic = (w.grad() * &dir).sum(Kind::Double).double_value(&[]);
            let h = 1e-6;
            let fd = (f(h).double_value(&[]) - f(-h).double_value(&[])) / (2.0 * h);
            let err = (fd - analytic).abs() / analytic.abs().max(1.0);
            assert!(err < tol, "weight grad on {device:?}: fd {fd} vs autograd {analytic}");
        }
    }
}

#[test]
fn spectral_conv_with_identity_weights_is_the_sht_projection() {
    // W[o, i, l] = δ_oi: y = ISHT(SHT(x)), an exact projection on band-limited fields.
    let device = Device::Cpu;
    let vs = nn::VarStore::new(device);
    let (h, w) = (12, 24);
    let sht = RealSht::new(h, w, Some(12), Some(12), Lg, device).unwrap();
    let isht = InverseRealSht::new(h, w, Some(12), Some(12), Lg, device).unwrap();
    let reference_isht = InverseRealSht::new(h, w, Some(12), Some(12), Lg, device).unwrap();
    let reference_sht = RealSht::new(h, w, Some(12), Some(12), Lg, device).unwrap();
    let layer = SpectralConvS2::new(&vs.root(), sht, isht, 2, 2, 2.0, false).unwrap();
    tch::no_grad(|| {
        let eye =
            Tensor::eye(2, (Kind::Float, device)).view([2, 2, 1, 1]).expand([2, 2, 12, 1], true);
        let ident = Tensor::cat(&[eye, Tensor::zeros([2, 2, 12, 1], (Kind::Float, device))], 3);
        layer.weight().shallow_clone().copy_(&ident);
    });
    let x = Tensor::from_slice(&field(1, 2, h, w))
        .view([1, 2, h as i64, w as i64])
        .to_kind(Kind::Float);
    let (y, residual) = layer.f_forward_with_residual(&x).unwrap();
    let want = reference_isht.f_forward(&reference_sht.f_forward(&x).unwrap()).unwrap();
    // f32 transforms.
    assert!(max_rel(&to_vec(&y), &to_vec(&want)) < 1e-5);
    assert_eq!(to_vec(&residual), to_vec(&x));
    let _ = Normalization::MeanAbs;
}
