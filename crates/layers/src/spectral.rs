//! The FNO spectral convolution (neuralop `SpectralConv`, dense weights) in 1, 2 or 3 dims, with
//! exact mode selection on odd grid sizes and an optional change of output resolution.
//!
//! With `X = rfftn(x, norm = "forward")` (the DFT scaled by `1/Π n_j`) over the `d` spatial dims,
//!
//! ```text
//! Y[b, o, k] = Σ_i W[i, o, k] · X[b, i, k]        for the kept frequencies k, 0 elsewhere
//! y = irfftn(Y, s = output sizes, norm = "forward") + bias[o]
//! ```
//!
//! The kept frequencies are `k_j ∈ [−⌊m_j/2⌋, ⌈m_j/2⌉)` along each non-last dim and
//! `k_last ∈ [0, m_last/2 + 1)` along the last (the half-spectrum of the real FFT): the same
//! modes and weight layout as the reference, where weight index `a` along a non-last dim holds
//! frequency `a − ⌊m/2⌋`. The reference finds them by `fftshift`-ing the spectrum, cropping the
//! centre and shifting back with `fftshift` again instead of `ifftshift`; on an odd-sized dim that
//! misplaces the spectrum by one bin (layers-spec §8). Here the frequencies are gathered and
//! scattered by their indices `k mod n`, which is right for every size; even sizes agree with the
//! reference (golden tests).
//!
//! When a grid (input or output) is too small for `m_j` modes, the `m'_j = min(m_j, n_in, n_out)`
//! lowest ones are used, with the central weights (`a = k + ⌊m_j/2⌋`).
//!
//! Complex weights are stored as real tensors with a trailing dim of 2 (real, imaginary) and
//! viewed as complex in the forward pass, so optimisers and safetensors checkpoints only ever see
//! real tensors.

use tch::nn::{self, Init, Module};
use tch::{Device, Kind, Tensor};

use crate::common;
use crate::error::{LayerError, Result};

/// Optional settings of a [`SpectralConv`].
#[derive(Clone, Debug, PartialEq)]
pub struct SpectralConvConfig {
    /// Adds a learned real bias per output channel (default true, as the reference).
    pub bias: bool,
    /// Output size = `round(factor_j · n_j)` per dim (default `None`: the input size). Ignored
    /// by [`SpectralConv::f_forward_to`], which takes explicit output sizes.
    pub resolution_scaling: Option<Vec<f64>>,
}

impl Default for SpectralConvConfig {
    /// The reference's defaults: a bias, no resolution change.
    fn default() -> Self {
        Self { bias: true, resolution_scaling: None }
    }
}

/// FNO spectral convolution with dense complex weights.
///
/// # Shapes
/// * input `x`: `(B, in_channels, n_1, …, n_d)`, `d = n_modes.len()`, real;
/// * output: `(B, out_channels, n'_1, …, n'_d)` (`n' = n` unless a resolution change is asked for);
/// * `weight`: `(in, out, m_1, …, m_{d−1}, m_d/2 + 1, 2)` real (the last dim is re, im);
/// * `bias`: `(out,)`.
#[derive(Debug)]
pub struct SpectralConv {
    weight: Tensor,
    bias: Option<Tensor>,
    in_channels: i64,
    out_channels: i64,
    n_modes: Vec<i64>,
    config: SpectralConvConfig,
}

/// Per spatial dim: (kept modes m', first weight index, input indices, output indices).
struct ModePlan {
    kept: i64,
    weight_start: i64,
    in_index: Vec<i64>,
    out_index: Vec<i64>,
}

impl SpectralConv {
    /// Creates the layer with `weight` (each of re, im `N(0, σ²/2)`, `σ = √(2/(in+out))`, as the
    /// reference's complex `normal_`) and `bias` (`σ·N(0, 1)`) under `path`.
    ///
    /// `n_modes[j]` counts the kept frequencies along dim `j` as in the reference: along the
    /// last dim only `m/2 + 1` non-negative frequencies are stored.
    pub fn new(
        path: &nn::Path,
        in_channels: i64,
        out_channels: i64,
        n_modes: &[i64],
        config: SpectralConvConfig,
    ) -> Result<Self> {
        common::check_channels(in_channels, out_channels, 1)?;
        if n_modes.is_empty() || n_modes.len() > 3 {
            return Err(LayerError::parameter("n_modes", "1 to 3 entries", n_modes.len()));
        }
        if let Some(m) = n_modes.iter().find(|&&m| m < 1) {
            return Err(LayerError::parameter("n_modes", "entries ≥ 1", m));
        }
        if let Some(f) = &config.resolution_scaling
            && (f.len() != n_modes.len() || f.iter().any(|v| !(v.is_finite() && *v > 0.0)))
        {
            {
                return Err(LayerError::parameter(
                    "resolution_scaling",
                    format!("{} finite factors > 0", n_modes.len()),
                    format!("{f:?}"),
                ));
            }
        }
        let mut dims = vec![in_channels, out_channels];
        dims.extend_from_slice(&n_modes[..n_modes.len() - 1]);
        dims.push(n_modes[n_modes.len() - 1] / 2 + 1);
        dims.push(2);
        let std = (2.0 / (in_channels + out_channels) as f64).sqrt();
        let weight =
            path.f_var("weight_ri", &dims, Init::Randn { mean: 0.0, stdev: std / 2f64.sqrt() })?;
        let bias = if config.bias {
            Some(path.f_var("bias", &[out_channels], Init::Randn { mean: 0.0, stdev: std })?)
        } else {
            None
        };
        Ok(Self { weight, bias, in_channels, out_channels, n_modes: n_modes.to_vec(), config })
    }

    /// The real-stacked weight `(in, out, m_1, …, m_d/2 + 1, 2)`. Its VarStore name is
    /// `weight_ri`: the suffix tells lno-models' AdamW to treat the last dim as one complex
    /// number (shared second moment |g|²), see docs/training.md.
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// The bias `(out,)`, if any.
    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }

    /// The mode counts as given to the constructor.
    pub fn n_modes(&self) -> &[i64] {
        &self.n_modes
    }

    /// Number of spatial dims.
    pub fn n_dim(&self) -> usize {
        self.n_modes.len()
    }

    /// Input channels.
    pub fn in_channels(&self) -> i64 {
        self.in_channels
    }

    /// Output channels.
    pub fn out_channels(&self) -> i64 {
        self.out_channels
    }

    /// Output sizes for input `spatial` sizes under the configured resolution scaling.
    pub fn output_shape(&self, spatial: &[i64]) -> Vec<i64> {
        match &self.config.resolution_scaling {
            None => spatial.to_vec(),
            Some(f) => spatial
                .iter()
                .zip(f)
                .map(|(&n, &s)| ((n as f64 * s).round() as i64).max(1))
                .collect(),
        }
    }

    /// Forward pass at the configured output resolution.
    pub fn f_forward(&self, x: &Tensor) -> Result<Tensor> {
        let spatial = x.size().get(2..).map(<[i64]>::to_vec).unwrap_or_default();
        self.f_forward_to(x, &self.output_shape(&spatial))
    }

    /// Forward pass with explicit output sizes (`output_shape.len() == n_dim`): the spectrum is
    /// truncated or zero-padded (Fourier interpolation).
    pub fn f_forward_to(&self, x: &Tensor, output_shape: &[i64]) -> Result<Tensor> {
        let kind = self.weight.kind();
        let spatial = common::check_input(x, self.n_dim(), self.in_channels, kind)?;
        common::check_device(x, self.weight.device())?;
        if output_shape.len() != self.n_dim() || output_shape.iter().any(|&n| n < 1) {
            return Err(LayerError::parameter(
                "output_shape",
                format!("{} sizes ≥ 1", self.n_dim()),
                format!("{output_shape:?}"),
            ));
        }
        let d = self.n_dim();
        let device = x.device();
        let dims: Vec<i64> = (2..2 + d as i64).collect();
        let plans = self.plan(&spatial, output_shape);

        let mut xs = x.f_fft_rfftn(None::<&[i64]>, dims.as_slice(), "forward")?;
        for (j, p) in plans.iter().enumerate() {
            xs = xs.f_index_select(2 + j as i64, &index_tensor(&p.in_index, device)?)?;
        }
        let ws = self.kept_weight(&plans)?.f_view_as_complex()?;
        let letters = &"xyz"[..d];
        let eq = format!("bi{letters},io{letters}->bo{letters}");
        let ys = Tensor::f_einsum(&eq, &[&xs, &ws], None::<&[i64]>)?;
        let ys = place_kept_modes(ys, &plans, output_shape)?;
        let y = ys.f_fft_irfftn(output_shape, dims.as_slice(), "forward")?;
        self.add_bias(y)
    }

    /// Forward pass with an extra weight on **every** frequency of the half-spectrum:
    ///
    /// ```text
    /// y = irfftn( Σ_i (W[i, o, k]·[k kept] + E[k, i, o]) · X[b, i, k], "forward") + bias[o]
    /// ```
    ///
    /// with `X = rfftn(x, "forward")` as in [`SpectralConv::f_forward`]; the output has the input's
    /// resolution. `E = extra[0] + i·extra[1]` is given by its real and imaginary parts, each
    /// modes-first, `(n_1, …, n_{d−1}, n_d/2 + 1, in, out)` in the layer's dtype for the input's
    /// sizes `n`,
    /// e.g. a periodic local convolution's DFT from
    /// [`crate::spectral_local::periodic_conv_spectrum`], so that one pass computes
    /// `spectral(x) + local(x)` (the sum is linear, so this equals the two results added, to
    /// round-off). Errors when the layer changes resolution or `extra` has the wrong shape,
    /// dtype or device.
    ///
    /// `E` is applied to every mode as two real batched matmuls, `[Re X; Im X] @ Re E` and
    /// `[Re X; Im X] @ Im E` over `(M, 2B, in) @ (M, in, out)` (`M` modes), recombined into
    /// `Re, Im` of `E·X`; the layer's own weights go through the same products on the gathered
    /// kept modes and are added in place at their frequencies. `E` is `in·out/B` times larger
    /// than `X`, so it is never copied, permuted or converted to complex, in the forward or
    /// backward pass.
    pub fn f_forward_plus_spectrum(&self, x: &Tensor, extra: &[Tensor; 2]) -> Result<Tensor> {
        let kind = self.weight.kind();
        let spatial = common::check_input(x, self.n_dim(), self.in_channels, kind)?;
        common::check_device(x, self.weight.device())?;
        if self.output_shape(&spatial) != spatial {
            return Err(LayerError::parameter(
                "resolution_scaling",
                "none (a full-spectrum weight keeps the input resolution)",
                format!("{:?}", self.config.resolution_scaling),
            ));
        }
        let d = self.n_dim();
        let (ci, co) = (self.in_channels, self.out_channels);
        let mut modes_shape = spatial[..d - 1].to_vec();
        modes_shape.push(spatial[d - 1] / 2 + 1);
        let n_modes: i64 = modes_shape.iter().product();
        let mut expect = modes_shape.clone();
        expect.extend([ci, co]);
        for e in extra {
            if e.size() != expect || e.kind() != kind {
                return Err(LayerError::input(
                    "extra",
                    format!("two {kind:?} tensors of shape {expect:?}"),
                    format!("{:?} of shape {:?}", e.kind(), e.size()),
                ));
            }
            common::check_device(e, self.weight.device())?;
        }
        let b = x.size()[0];
        let dims: Vec<i64> = (2..2 + d as i64).collect();
        let spectrum = x.f_fft_rfftn(None::<&[i64]>, dims.as_slice(), "forward")?;
        // (B, in, modes…) complex → (M, 2B, in) real: rows (re/im, b) per mode.
        let mut perm: Vec<i64> = (2..2 + d as i64).collect();
        perm.extend([d as i64 + 2, 0, 1]);
        let xri = spectrum.f_view_as_real()?.f_permute(perm.as_slice())?.f_reshape([
            n_modes,
            2 * b,
            ci,
        ])?;
        let e = |t: &Tensor| t.f_reshape([n_modes, ci, co]);
        let (a, c) = (xri.f_bmm(&e(&extra[0])?)?, xri.f_bmm(&e(&extra[1])?)?);
        // a = [Xr·Er; Xi·Er], c = [Xr·Ei; Xi·Ei]: Re = Xr·Er − Xi·Ei, Im = Xr·Ei + Xi·Er.
        // `chunk`, not `narrow`: its backward is one `cat` of the two halves' gradients, where
        // each `narrow` would zero-fill a full-size gradient and the four would then be summed.
        let recombine = |a: &Tensor, c: &Tensor| -> Result<[Tensor; 2]> {
            let (a, c) = (a.f_chunk(2, 1)?, c.f_chunk(2, 1)?);
            Ok([a[0].f_sub(&c[1])?, c[0].f_add(&a[1])?])
        };
        let [mut re, mut im] = recombine(&a, &c)?;
        // The layer's own weights act on the kept modes only: the same products on the
        // gathered rows, added in place at their frequencies. (Adding W into E instead would
        // copy E, `in·out/B` times larger than these outputs; `re` and `im` are fresh
        // results no backward pass reads, so the in-place add is safe for autograd.)
        let (idx, [w_re, w_im]) = self.kept_modes_first(&spatial, x.device())?;
        let xk = xri.f_index_select(0, &idx)?;
        let [kr, ki] = recombine(&xk.f_bmm(&w_re)?, &xk.f_bmm(&w_im)?)?;
        let re = re.f_index_add_(0, &idx, &kr)?;
        let im = im.f_index_add_(0, &idx, &ki)?;
        // (M, B, out) → (B, out, modes…).
        let mut shape = modes_shape;
        shape.extend([b, co]);
        let mut back: Vec<i64> = vec![d as i64, d as i64 + 1];
        back.extend(0..d as i64);
        let ys =
            Tensor::f_complex(&re, &im)?.f_view(shape.as_slice())?.f_permute(back.as_slice())?;
        let y = ys.f_fft_irfftn(spatial.as_slice(), dims.as_slice(), "forward")?;
        self.add_bias(y)
    }

    /// The kept modes of an input with sizes `spatial` (kept at the same resolution) as
    /// `(flat, [re, im])`: `flat` their row-major indices into the half-spectrum
    /// `(n_1, …, n_d/2 + 1)`, and the weight's real and imaginary parts at those modes,
    /// modes-first `(K, in, out)` in the same order.
    fn kept_modes_first(&self, spatial: &[i64], device: Device) -> Result<(Tensor, [Tensor; 2])> {
        let d = self.n_dim();
        let plans = self.plan(spatial, spatial);
        let mut flat: Vec<i64> = vec![0];
        for (j, p) in plans.iter().enumerate() {
            let n = if j + 1 == d { spatial[j] / 2 + 1 } else { spatial[j] };
            flat = flat.iter().flat_map(|&f| p.out_index.iter().map(move |&i| f * n + i)).collect();
        }
        // (in, out, kept…, 2) → (2, kept…, in, out) → (2, K, in, out).
        let mut perm = vec![d as i64 + 2];
        perm.extend(2..2 + d as i64);
        perm.extend([0, 1]);
        let w = self.kept_weight(&plans)?.f_permute(perm.as_slice())?.f_reshape([
            2,
            flat.len() as i64,
            self.in_channels,
            self.out_channels,
        ])?;
        Ok((index_tensor(&flat, device)?, [w.f_select(0, 0)?, w.f_select(0, 1)?]))
    }

    /// The real-stacked weight narrowed to the modes `plans` keep: `(in, out, kept…, 2)` (a view).
    fn kept_weight(&self, plans: &[ModePlan]) -> Result<Tensor> {
        let mut w = self.weight.shallow_clone();
        for (j, p) in plans.iter().enumerate() {
            w = w.f_narrow(2 + j as i64, p.weight_start, p.kept)?;
        }
        Ok(w)
    }

    fn add_bias(&self, y: Tensor) -> Result<Tensor> {
        Ok(match &self.bias {
            Some(b) => {
                let mut shape = vec![1, self.out_channels];
                shape.extend(std::iter::repeat_n(1, self.n_dim()));
                y.f_add(&b.f_view(shape.as_slice())?)?
            }
            None => y,
        })
    }

    /// The kept frequencies per dim for input sizes `n_in` and output sizes `n_out`.
    fn plan(&self, n_in: &[i64], n_out: &[i64]) -> Vec<ModePlan> {
        let d = self.n_dim();
        (0..d)
            .map(|j| {
                let m = self.n_modes[j];
                if j + 1 < d {
                    let kept = m.min(n_in[j]).min(n_out[j]);
                    let freqs: Vec<i64> = (-(kept / 2)..(kept - kept / 2)).collect();
                    ModePlan {
                        kept,
                        weight_start: m / 2 - kept / 2,
                        in_index: freqs.iter().map(|k| k.rem_euclid(n_in[j])).collect(),
                        out_index: freqs.iter().map(|k| k.rem_euclid(n_out[j])).collect(),
                    }
                } else {
                    let kept = (m / 2 + 1).min(n_in[j] / 2 + 1).min(n_out[j] / 2 + 1);
                    let freqs: Vec<i64> = (0..kept).collect();
                    ModePlan { kept, weight_start: 0, in_index: freqs.clone(), out_index: freqs }
                }
            })
            .collect()
    }
}

/// Places `ys` `(·, ·, kept modes…)` into an otherwise zero half-spectrum of the output sizes
/// `output_shape` (spatial dims from 2 on).
///
/// Per dim the kept frequencies are `−k/2 … k − k/2 − 1` (the last dim: `0 … k − 1`), stored
/// in that order, so the output is `[non-negative part, zeros, negative part]`: one `cat`
/// (the last dim: a zero pad). Their backward passes are views of the gradient, where a
/// zero-filled tensor with `index_copy` costs a fill and a scatter each way.
fn place_kept_modes(mut ys: Tensor, plans: &[ModePlan], output_shape: &[i64]) -> Result<Tensor> {
    let d = plans.len();
    for (j, p) in plans.iter().enumerate() {
        let dim = 2 + j as i64;
        if j + 1 == d {
            ys = ys.f_constant_pad_nd([0, output_shape[j] / 2 + 1 - p.kept])?;
        } else {
            let (neg, pos) = (p.kept / 2, p.kept - p.kept / 2);
            let mut zeros = ys.size();
            zeros[dim as usize] = output_shape[j] - p.kept;
            let zeros = Tensor::f_zeros(zeros.as_slice(), (ys.kind(), ys.device()))?;
            ys = Tensor::f_cat(
                &[ys.f_narrow(dim, neg, pos)?, zeros, ys.f_narrow(dim, 0, neg)?],
                dim,
            )?;
        }
    }
    Ok(ys)
}

fn index_tensor(index: &[i64], device: Device) -> Result<Tensor> {
    Ok(Tensor::from_slice(index).f_to_kind(Kind::Int64)?.f_to_device(device)?)
}

impl Module for SpectralConv {
    /// # Panics
    /// On an input [`SpectralConv::f_forward`] rejects (wrong rank, channel count, dtype or
    /// device); the message states expected and actual shapes.
    fn forward(&self, x: &Tensor) -> Tensor {
        common::expect_forward("SpectralConv", self.f_forward(x))
    }
}
