//! `FiniteDifferenceConv`: equality with a slow stencil loop for every padding and dimension,
//! second-order convergence of central differences, gradients, and errors for bad input.

mod common;

use common::{devices, gradcheck, rel_err, to_vec};
use lno_layers::{FiniteDifferenceConfig, FiniteDifferenceConv, LayerError, Padding};
use tch::nn::{Module, VarStore};
use tch::{Device, Kind, Tensor};

/// Index of the value seen at (possibly out-of-range) position `i` of a dim of size `n`.
fn source(i: i64, n: i64, padding: Padding) -> Option<i64> {
    if (0..n).contains(&i) {
        return Some(i);
    }
    match padding {
        Padding::Periodic => Some(i.rem_euclid(n)),
        Padding::Zeros => None,
        Padding::Replicate => Some(i.clamp(0, n - 1)),
        Padding::Reflect => Some(if i < 0 { -i } else { 2 * (n - 1) - i }),
    }
}

/// `y[b,o,i] = (1/h) Σ_{c ∈ group(o)} Σ_s W[o,c,s] (x̃[b,c,i+s] − x[b,c,i])`, by loops in f64.
fn stencil_oracle(x: &Tensor, w: &Tensor, groups: i64, h: f64, padding: Padding) -> Tensor {
    let (xs, ws) = (x.size(), w.size());
    let (xv, wv) = (to_vec(x), to_vec(w));
    let nd = xs.len() - 2;
    let spatial: Vec<i64> = xs[2..].to_vec();
    let (b_n, c_n, o_n, cg, k) = (xs[0], xs[1], ws[0], ws[1], ws[2]);
    let n_pts: i64 = spatial.iter().product();
    let n_taps = k.pow(nd as u32);
    let unravel = |mut f: i64, dims: &[i64]| {
        let mut ix = vec![0; dims.len()];
        for d in (0..dims.len()).rev() {
            ix[d] = f % dims[d];
            f /= dims[d];
        }
        ix
    };
    let mut out = vec![0.0; (b_n * o_n * n_pts) as usize];
    for b in 0..b_n {
        for o in 0..o_n {
            let g = o / (o_n / groups);
            for p in 0..n_pts {
                let ip = unravel(p, &spatial);
                let mut acc = 0.0;
                for cl in 0..cg {
                    let c = g * cg + cl;
                    let base = ((b * c_n + c) * n_pts) as usize;
                    let centre = xv[base + p as usize];
                    for t in 0..n_taps {
                        let s = unravel(t, &vec![k; nd]);
                        let mut flat = 0i64;
                        let mut inside = true;
                        for d in 0..nd {
                            match source(ip[d] + s[d] - k / 2, spatial[d], padding) {
                                Some(j) => flat = flat * spatial[d] + j,
                                None => inside = false,
                            }
                        }
                        let val = if inside { xv[base + flat as usize] } else { 0.0 };
                        acc += wv[((o * cg + cl) * n_taps + t) as usize] * (val - centre);
                    }
                }
                out[((b * o_n + o) * n_pts + p) as usize] = acc / h;
            }
        }
    }
    let mut shape = vec![b_n, o_n];
    shape.extend(&spatial);
    Tensor::from_slice(&out).view(shape.as_slice())
}

type Case = (&'static [i64], &'static [f64], i64, i64, i64);

#[test]
fn fd_conv_equals_the_stencil_loop_for_every_padding_dimension_and_grouping() {
    // (input shape, domain lengths, kernel size, groups, out channels)
    let cases: [Case; 4] = [
        (&[2, 2, 9], &[1.5], 3, 2, 2),
        (&[2, 2, 6, 7], &[1.0, 2.0], 3, 1, 3),
        (&[1, 4, 6, 5], &[0.7, 0.7], 5, 2, 2),
        (&[1, 2, 4, 5, 3], &[1.0, 1.0, 3.0], 3, 1, 2),
    ];
    for device in devices() {
        for &(shape, lengths, k, groups, out) in &cases {
            for padding in [Padding::Periodic, Padding::Zeros, Padding::Replicate, Padding::Reflect]
            {
                tch::manual_seed(3);
                let vs = VarStore::new(device);
                let config = FiniteDifferenceConfig {
                    kernel_size: k,
                    groups,
                    padding,
                    ..Default::default()
                };
                let layer =
                    FiniteDifferenceConv::new(&vs.root(), shape[1], out, lengths, config).unwrap();
                let x = Tensor::randn(shape, (Kind::Float, device));
                let y = layer.f_forward(&x).unwrap();
                // h: the geometric mean of L_j / n_j.
                let h = lengths
                    .iter()
                    .zip(&shape[2..])
                    .map(|(l, &n)| l / n as f64)
                    .product::<f64>()
                    .powf(1.0 / lengths.len() as f64);
                let expected = stencil_oracle(&x, layer.weight(), groups, h, padding);
                let err = rel_err(&y, &expected);
                // float32 convolution vs f64 loop over ≤ 50 taps.
                assert!(err < 1e-5, "{device:?} {shape:?} {padding:?}: rel err {err:.2e}");
            }
        }
    }
}

/// Max error of the central difference along the last dim of `sin(2π·2·x/L)` on an n-point
/// periodic grid of length L in `dims` dimensions.
fn central_difference_error(dims: usize, n: i64, length: f64) -> f64 {
    let vs = VarStore::new(Device::Cpu);
    let lengths = vec![length; dims];
    let layer =
        FiniteDifferenceConv::new(&vs.root(), 1, 1, &lengths, FiniteDifferenceConfig::default())
            .unwrap();
    // W = ±1/2 at offsets ±1 along the last dim: the central difference.
    let mut w = vec![0.0; 3usize.pow(dims as u32)];
    let centre = w.len() / 2;
    w[centre - 1] = -0.5;
    w[centre + 1] = 0.5;
    let mut wshape = vec![1i64, 1];
    wshape.extend(vec![3; dims]);
    common::set_var(&vs, "weight", &Tensor::from_slice(&w).view(wshape.as_slice()));
    let omega = 2.0 * std::f64::consts::PI * 2.0 / length;
    let xs: Vec<f64> = (0..n).map(|i| (omega * length * i as f64 / n as f64).sin()).collect();
    let ds: Vec<f64> =
        (0..n).map(|i| omega * (omega * length * i as f64 / n as f64).cos()).collect();
    let mut shape = vec![1i64, 1];
    shape.extend(vec![1; dims - 1]);
    shape.push(n);
    let mut full = vec![1i64, 1];
    full.extend(vec![n; dims]);
    let x = Tensor::from_slice(&xs).view(shape.as_slice()).expand(full.as_slice(), false);
    let d = Tensor::from_slice(&ds).view(shape.as_slice()).expand(full.as_slice(), false);
    let mut vs = vs;
    vs.double();
    let y = layer.f_forward(&x.to_kind(Kind::Double)).unwrap();
    f64::try_from((y - d).abs().max()).unwrap()
}

#[test]
fn central_differences_converge_at_second_order_to_the_derivative_in_physical_units() {
    for dims in 1..=3 {
        let sizes: &[i64] = if dims == 3 { &[16, 32, 64] } else { &[16, 32, 64, 128] };
        let errors: Vec<f64> =
            sizes.iter().map(|&n| central_difference_error(dims, n, 3.0)).collect();
        let orders: Vec<f64> = errors.windows(2).map(|e| (e[0] / e[1]).log2()).collect();
        println!("{dims}-D errors {errors:?}, orders {orders:.3?}");
        // Error (1 − sin(ωh)/(ωh))·ω ≈ ω³h²/6: the observed order tends to 2 from below (1.967
        // from n = 16, where ωh ≈ 0.8); 1.95 leaves room only for those higher-order terms.
        assert!(orders.iter().all(|&p| p > 1.95), "{dims}-D orders {orders:?}");
        // The exact error of the scheme in physical units, ω(1 − sin(ωh)/(ωh)) at x = 0, pins
        // down h = L/n (a wrong h would scale the output and leave an O(1) error).
        for (&n, &e) in sizes.iter().zip(&errors) {
            let omega = 4.0 * std::f64::consts::PI / 3.0;
            let wh = omega * 3.0 / n as f64;
            let exact = omega * (1.0 - wh.sin() / wh);
            // f64 arithmetic on O(1) values; the error itself is ≥ 6e-3.
            assert!((e - exact).abs() < 1e-9, "{dims}-D n = {n}: error {e} vs {exact}");
        }
    }
}

#[test]
fn fd_gradients_match_finite_differences_in_f64() {
    for device in devices() {
        for (shape, lengths, groups) in [
            (vec![2i64, 2, 7], vec![1.0], 1),
            (vec![1, 2, 5, 6], vec![1.0, 2.0], 2),
            (vec![1, 2, 3, 4, 5], vec![1.0, 1.0, 1.0], 1),
        ] {
            tch::manual_seed(5);
            let mut vs = VarStore::new(device);
            let config = FiniteDifferenceConfig {
                kernel_size: 3,
                groups,
                padding: Padding::Reflect,
                ..Default::default()
            };
            let layer = FiniteDifferenceConv::new(&vs.root(), 2, 2, &lengths, config).unwrap();
            vs.double();
            let x = Tensor::randn(shape.as_slice(), (Kind::Double, device));
            gradcheck("fd", &[layer.weight().shallow_clone()], &x, &|x| layer.forward(x));
        }
    }
}

#[test]
fn fd_rejects_bad_configuration_and_bad_input_with_named_errors() {
    let vs = VarStore::new(Device::Cpu);
    let p = vs.root();
    let bad = |r: Result<FiniteDifferenceConv, LayerError>, name: &str| {
        let e = r.unwrap_err().to_string();
        assert!(e.contains(name), "expected an error naming `{name}`, got: {e}");
    };
    let cfg = FiniteDifferenceConfig::default();
    bad(
        FiniteDifferenceConv::new(
            &p,
            2,
            2,
            &[1.0],
            FiniteDifferenceConfig { kernel_size: 4, ..cfg },
        ),
        "kernel_size",
    );
    bad(
        FiniteDifferenceConv::new(&p, 3, 2, &[1.0], FiniteDifferenceConfig { groups: 2, ..cfg }),
        "groups",
    );
    bad(FiniteDifferenceConv::new(&p, 2, 2, &[], cfg), "domain_lengths");
    bad(FiniteDifferenceConv::new(&p, 2, 2, &[1.0, -1.0], cfg), "domain_lengths");
    bad(FiniteDifferenceConv::new(&p, 2, 2, &[1.0; 4], cfg), "domain_lengths");

    let layer = FiniteDifferenceConv::new(
        &p,
        2,
        3,
        &[1.0, 1.0],
        FiniteDifferenceConfig { padding: Padding::Reflect, ..cfg },
    )
    .unwrap();
    let err = |x: Tensor, what: &str| {
        let e = layer.f_forward(&x).unwrap_err().to_string();
        assert!(e.contains("input `x`") && e.contains(what), "expected `{what}` in: {e}");
    };
    let opts = (Kind::Float, Device::Cpu);
    err(Tensor::zeros([2, 2, 8], opts), "rank-4");
    err(Tensor::zeros([2, 3, 8, 8], opts), "2 channels");
    err(Tensor::zeros([2, 2, 8, 1], opts), "at least 2 points");
    err(Tensor::zeros([2, 2, 8, 8], (Kind::Double, Device::Cpu)), "dtype Float");
}
