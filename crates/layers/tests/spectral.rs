//! `SpectralConv`: equality with a dense f64 DFT oracle on odd and even sizes in 1-3 D (with and
//! without a resolution change, and on grids smaller than the mode count), exact reproduction of
//! band-limited fields on odd grids (the reference's fftshift bug), gradients, checkpoints and
//! errors.

mod common;

use std::f64::consts::PI;

use common::{devices, gradcheck, rel_err, to_vec};
use lno_layers::{SpectralConv, SpectralConvConfig};
use tch::nn::{Module, VarStore};
use tch::{Device, Kind, Tensor};

fn unravel(mut f: usize, dims: &[usize]) -> Vec<usize> {
    let mut ix = vec![0; dims.len()];
    for d in (0..dims.len()).rev() {
        ix[d] = f % dims[d];
        f /= dims[d];
    }
    ix
}

/// The layer's definition evaluated with explicit DFT sums in f64 (see the module docs of
/// `lno_layers::spectral`): kept frequencies `k_j ∈ [−⌊m'/2⌋, ⌈m'/2⌉)` (last dim `[0, m')`),
/// weight index `k_j + ⌊m_j/2⌋`, inverse as a real sum with weight 2 on interior last-dim bins.
fn dft_oracle(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    modes: &[i64],
    out_shape: &[usize],
) -> Tensor {
    let xs: Vec<usize> = x.size().iter().map(|&v| v as usize).collect();
    let ws: Vec<usize> = weight.size().iter().map(|&v| v as usize).collect();
    let (xv, wv, bv) = (to_vec(x), to_vec(weight), to_vec(bias));
    let d = modes.len();
    let (nb, ni, no) = (xs[0], xs[1], ws[1]);
    let n_in = &xs[2..];
    let n_in_total: usize = n_in.iter().product();
    let n_out_total: usize = out_shape.iter().product();
    let wmodes = &ws[2..2 + d];
    let wmodes_total: usize = wmodes.iter().product();
    // Kept frequency ranges.
    let ranges: Vec<Vec<i64>> = (0..d)
        .map(|j| {
            let m = modes[j];
            if j + 1 < d {
                let kept = m.min(n_in[j] as i64).min(out_shape[j] as i64);
                (-(kept / 2)..kept - kept / 2).collect()
            } else {
                let kept = (m / 2 + 1).min(n_in[j] as i64 / 2 + 1).min(out_shape[j] as i64 / 2 + 1);
                (0..kept).collect()
            }
        })
        .collect();
    let rsizes: Vec<usize> = ranges.iter().map(Vec::len).collect();
    let n_kept: usize = rsizes.iter().product();
    let mut y = vec![0.0; nb * no * n_out_total];
    for b in 0..nb {
        for kf in 0..n_kept {
            let kix = unravel(kf, &rsizes);
            let k: Vec<i64> = (0..d).map(|j| ranges[j][kix[j]]).collect();
            // X[i, k] = (1/N) Σ_x x e^{−2πi k·x/n}
            let mut xk = vec![(0.0, 0.0); ni];
            for i in 0..ni {
                for p in 0..n_in_total {
                    let ip = unravel(p, n_in);
                    let ph: f64 = (0..d)
                        .map(|j| -2.0 * PI * (k[j] * ip[j] as i64) as f64 / n_in[j] as f64)
                        .sum();
                    let v = xv[(b * ni + i) * n_in_total + p] / n_in_total as f64;
                    xk[i].0 += v * ph.cos();
                    xk[i].1 += v * ph.sin();
                }
            }
            let a: Vec<usize> = (0..d)
                .map(|j| if j + 1 < d { (k[j] + modes[j] / 2) as usize } else { k[j] as usize })
                .collect();
            let aflat = a.iter().zip(wmodes).fold(0, |acc, (&ai, &m)| acc * m + ai);
            let last = k[d - 1];
            let n_last = out_shape[d - 1] as i64;
            let c = if last == 0 || (n_last % 2 == 0 && last == n_last / 2) { 1.0 } else { 2.0 };
            for o in 0..no {
                let (mut yr, mut yi) = (0.0, 0.0);
                for i in 0..ni {
                    let widx = ((i * no + o) * wmodes_total + aflat) * 2;
                    let (wr, wi) = (wv[widx], wv[widx + 1]);
                    yr += wr * xk[i].0 - wi * xk[i].1;
                    yi += wr * xk[i].1 + wi * xk[i].0;
                }
                for q in 0..n_out_total {
                    let iq = unravel(q, out_shape);
                    let ph: f64 = (0..d)
                        .map(|j| 2.0 * PI * (k[j] * iq[j] as i64) as f64 / out_shape[j] as f64)
                        .sum();
                    y[(b * no + o) * n_out_total + q] += c * (yr * ph.cos() - yi * ph.sin());
                }
            }
        }
        for o in 0..no {
            for q in 0..n_out_total {
                y[(b * no + o) * n_out_total + q] += bv[o];
            }
        }
    }
    let mut shape = vec![nb as i64, no as i64];
    shape.extend(out_shape.iter().map(|&v| v as i64));
    Tensor::from_slice(&y).view(shape.as_slice())
}

#[test]
fn spectral_conv_equals_the_dense_dft_oracle_on_odd_even_and_resampled_grids() {
    // (modes, input spatial, output spatial)
    let cases: Vec<(Vec<i64>, Vec<i64>, Vec<i64>)> = vec![
        (vec![5], vec![11], vec![11]),
        (vec![6], vec![8], vec![13]),
        (vec![5, 6], vec![9, 7], vec![9, 7]),
        (vec![4, 4], vec![8, 8], vec![8, 8]),
        (vec![6, 6], vec![9, 8], vec![12, 15]),
        (vec![6, 5], vec![10, 11], vec![5, 7]),
        (vec![8, 8], vec![5, 6], vec![5, 6]),
        (vec![3, 4, 3], vec![5, 6, 5], vec![5, 6, 5]),
    ];
    for device in devices() {
        for (modes, n_in, n_out) in &cases {
            tch::manual_seed(9);
            let mut vs = VarStore::new(device);
            let layer =
                SpectralConv::new(&vs.root(), 2, 3, modes, SpectralConvConfig::default()).unwrap();
            vs.double();
            let mut shape = vec![2i64, 2];
            shape.extend(n_in);
            let x = Tensor::randn(shape.as_slice(), (Kind::Double, device));
            let y = layer.f_forward_to(&x, n_out).unwrap();
            let out: Vec<usize> = n_out.iter().map(|&v| v as usize).collect();
            let expected = dft_oracle(&x, layer.weight(), layer.bias().unwrap(), modes, &out);
            let err = rel_err(&y, &expected);
            // f64 FFT vs f64 direct sums of ≤ 150 terms.
            assert!(
                err < 1e-12,
                "{device:?} modes {modes:?} {n_in:?}→{n_out:?}: rel err {err:.2e}"
            );
        }
    }
}

#[test]
fn identity_weights_return_band_limited_fields_unchanged_on_odd_grids() {
    // 15 × 16 is the reference's failing case (layers-spec §8); 15 × 15 and 16 × 16 too.
    for (n0, n1) in [(15i64, 16i64), (15, 15), (16, 16)] {
        let vs = VarStore::new(Device::Cpu);
        let config = SpectralConvConfig { bias: false, resolution_scaling: None };
        let layer = SpectralConv::new(&vs.root(), 1, 1, &[8, 8], config).unwrap();
        // W = 1 + 0i on every kept mode.
        let w = Tensor::stack(
            &[
                Tensor::ones([1, 1, 8, 5], (Kind::Float, Device::Cpu)),
                Tensor::zeros([1, 1, 8, 5], (Kind::Float, Device::Cpu)),
            ],
            -1,
        );
        common::set_var(&vs, "weight_ri", &w);
        // Frequencies (±3, 2) and (−4, 1) are inside the kept band [−4, 4) × [0, 5).
        let i = Tensor::arange(n0, (Kind::Double, Device::Cpu)).view([n0, 1]) / n0 as f64;
        let j = Tensor::arange(n1, (Kind::Double, Device::Cpu)).view([1, n1]) / n1 as f64;
        let x = ((&i * 3.0 + &j * 2.0) * (2.0 * PI)).cos()
            + ((&i * -4.0 + &j) * (2.0 * PI) + 0.4).sin() * 0.5;
        let x = x.to_kind(Kind::Float).view([1, 1, n0, n1]);
        let y = layer.forward(&x);
        let err = rel_err(&y, &x);
        // float32 FFT round trip.
        assert!(err < 1e-5, "{n0}×{n1}: rel err {err:.2e}");
    }
}

#[test]
fn resolution_scaling_config_sets_the_output_size() {
    let vs = VarStore::new(Device::Cpu);
    let config = SpectralConvConfig { bias: true, resolution_scaling: Some(vec![2.0, 0.5]) };
    let layer = SpectralConv::new(&vs.root(), 2, 3, &[4, 4], config).unwrap();
    let y = layer.forward(&Tensor::randn([1, 2, 8, 10], (Kind::Float, Device::Cpu)));
    assert_eq!(y.size(), [1, 3, 16, 5]);
}

#[test]
fn spectral_gradients_match_finite_differences_in_f64() {
    for device in devices() {
        for (modes, shape) in [
            (vec![3i64], vec![2i64, 2, 7]),
            (vec![3, 4], vec![1, 2, 5, 6]),
            (vec![2, 2, 3], vec![1, 2, 3, 4, 5]),
        ] {
            tch::manual_seed(2);
            let mut vs = VarStore::new(device);
            let layer =
                SpectralConv::new(&vs.root(), 2, 2, &modes, SpectralConvConfig::default()).unwrap();
            vs.double();
            let x = Tensor::randn(shape.as_slice(), (Kind::Double, device));
            let params = [layer.weight().shallow_clone(), layer.bias().unwrap().shallow_clone()];
            gradcheck("spectral", &params, &x, &|x| layer.forward(x));
        }
    }
}

#[test]
fn spectral_weights_are_real_and_survive_a_safetensors_round_trip() {
    let vs = VarStore::new(Device::Cpu);
    let layer =
        SpectralConv::new(&vs.root(), 2, 2, &[4, 4], SpectralConvConfig::default()).unwrap();
    assert!(vs.trainable_variables().iter().all(|t| t.kind() == Kind::Float));
    assert_eq!(layer.weight().size(), [2, 2, 4, 3, 2]);
    let dir = std::env::temp_dir().join(format!("lno-layers-spectral-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("w.safetensors");
    vs.save(&file).unwrap();
    tch::manual_seed(123);
    let mut vs2 = VarStore::new(Device::Cpu);
    let layer2 =
        SpectralConv::new(&vs2.root(), 2, 2, &[4, 4], SpectralConvConfig::default()).unwrap();
    vs2.load(&file).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let x = Tensor::randn([1, 2, 8, 8], (Kind::Float, Device::Cpu));
    assert_eq!(rel_err(&layer2.forward(&x), &layer.forward(&x)), 0.0);
}

#[test]
fn spectral_conv_rejects_bad_configuration_and_input() {
    let vs = VarStore::new(Device::Cpu);
    let p = vs.root();
    let cfg = SpectralConvConfig::default();
    for (r, name) in [
        (SpectralConv::new(&p, 2, 2, &[], cfg.clone()), "n_modes"),
        (SpectralConv::new(&p, 2, 2, &[4, 0], cfg.clone()), "n_modes"),
        (SpectralConv::new(&p, 0, 2, &[4], cfg.clone()), "in_channels"),
        (
            SpectralConv::new(
                &p,
                2,
                2,
                &[4],
                SpectralConvConfig { bias: true, resolution_scaling: Some(vec![1.0, 2.0]) },
            ),
            "resolution_scaling",
        ),
    ] {
        let e = r.unwrap_err().to_string();
        assert!(e.contains(name), "expected `{name}` in: {e}");
    }
    let layer = SpectralConv::new(&p, 2, 2, &[4, 4], cfg).unwrap();
    let opts = (Kind::Float, Device::Cpu);
    for (x, what) in [
        (Tensor::zeros([1, 2, 8], opts), "rank-4"),
        (Tensor::zeros([1, 3, 8, 8], opts), "2 channels"),
    ] {
        let e = layer.f_forward(&x).unwrap_err().to_string();
        assert!(e.contains(what), "expected `{what}` in: {e}");
    }
    let e = layer.f_forward_to(&Tensor::zeros([1, 2, 8, 8], opts), &[8]).unwrap_err().to_string();
    assert!(e.contains("output_shape"), "{e}");
}
