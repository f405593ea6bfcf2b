//! Shared pieces of the convolutional layers: boundary handling ([`Padding`]), input checks,
//! N-d convolution dispatch and the f64 → tensor boundary.

use tch::{Device, Kind, Tensor};

use crate::error::{LayerError, Result};

/// How a convolution sees values beyond the edge of the grid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Padding {
    /// Wrap around (a periodic domain); PyTorch's `"circular"`. The default.
    #[default]
    Periodic,
    /// Zeros outside the grid.
    Zeros,
    /// Repeat the edge value.
    Replicate,
    /// Mirror without repeating the edge value (needs more points than the half-width).
    Reflect,
}

impl Padding {
    /// The mode string of `torch.nn.functional.pad` (`None` for zeros, which the convolution
    /// pads itself).
    fn torch_mode(self) -> Option<&'static str> {
        match self {
            Self::Periodic => Some("circular"),
            Self::Zeros => None,
            Self::Replicate => Some("replicate"),
            Self::Reflect => Some("reflect"),
        }
    }

    /// Checks that a grid of `sizes` can be padded by `half[d]` on each side of dim `d`.
    pub(crate) fn check_fits(self, sizes: &[i64], half: &[i64]) -> Result<()> {
        for (d, (&n, &c)) in sizes.iter().zip(half).enumerate() {
            let ok = match self {
                Self::Zeros | Self::Replicate => true,
                Self::Periodic => c <= n,
                Self::Reflect => c < n,
            };
            if !ok {
                return Err(LayerError::input(
                    "x",
                    format!(
                        "spatial dim {d} of at least {} points for {self:?} padding of width {c}",
                        if self == Self::Reflect { c + 1 } else { c }
                    ),
                    n,
                ));
            }
        }
        Ok(())
    }
}

/// Checks that `x` is `(B, channels, d_1, …, d_n_spatial)` with non-empty dims and a floating
/// kind equal to `kind`; returns the spatial sizes.
pub(crate) fn check_input(
    x: &Tensor,
    n_spatial: usize,
    channels: i64,
    kind: Kind,
) -> Result<Vec<i64>> {
    let size = x.size();
    if size.len() != n_spatial + 2 {
        return Err(LayerError::input(
            "x",
            format!("a rank-{} tensor (batch, channels, {n_spatial} spatial dims)", n_spatial + 2),
            format!("shape {size:?}"),
        ));
    }
    if size[1] != channels {
        return Err(LayerError::input(
            "x",
            format!("{channels} channels (dim 1)"),
            format!("shape {size:?}"),
        ));
    }
    if size.contains(&0) {
        return Err(LayerError::input("x", "non-empty dims", format!("shape {size:?}")));
    }
    if x.kind() != kind {
        return Err(LayerError::input(
            "x",
            format!("dtype {kind:?} (the layer's parameters)"),
            format!("{:?}", x.kind()),
        ));
    }
    Ok(size[2..].to_vec())
}

/// Checks that `device` of the input matches the parameters.
pub(crate) fn check_device(x: &Tensor, device: Device) -> Result<()> {
    if x.device() != device {
        return Err(LayerError::input(
            "x",
            format!("device {device:?} (the layer's parameters)"),
            format!("{:?}", x.device()),
        ));
    }
    Ok(())
}

/// Checks `channels > 0`, `groups > 0` and that `groups` divides both channel counts.
pub(crate) fn check_channels(in_channels: i64, out_channels: i64, groups: i64) -> Result<()> {
    if in_channels <= 0 {
        return Err(LayerError::parameter("in_channels", "at least 1", in_channels));
    }
    if out_channels <= 0 {
        return Err(LayerError::parameter("out_channels", "at least 1", out_channels));
    }
    if groups <= 0 || in_channels % groups != 0 || out_channels % groups != 0 {
        return Err(LayerError::parameter(
            "groups",
            format!(
                "a positive divisor of in_channels ({in_channels}) and out_channels ({out_channels})"
            ),
            groups,
        ));
    }
    Ok(())
}

/// Checks that `lengths` has `n` (if given) finite positive entries.
pub(crate) fn check_lengths(name: &'static str, lengths: &[f64]) -> Result<()> {
    if lengths.is_empty() || lengths.len() > 3 {
        return Err(LayerError::parameter(
            name,
            "1 to 3 entries (one per spatial dim)",
            lengths.len(),
        ));
    }
    if let Some(l) = lengths.iter().find(|l| !(l.is_finite() && **l > 0.0)) {
        return Err(LayerError::parameter(name, "finite lengths > 0", l));
    }
    Ok(())
}

/// Cross-correlation of `x` (B, C, d…) with `kernel` (O, C/groups, k…), padding each spatial dim
/// `d` by `half[d]` on both sides with `padding`; N-d by the kernel's rank.
pub(crate) fn conv_nd(
    x: &Tensor,
    kernel: &Tensor,
    bias: Option<&Tensor>,
    padding: Padding,
    half: &[i64],
    stride: &[i64],
    groups: i64,
) -> Result<Tensor> {
    let n = half.len();
    let (x, conv_pad): (Tensor, Vec<i64>) = match padding.torch_mode() {
        None => (x.shallow_clone(), half.to_vec()),
        Some(mode) => {
            // `pad` lists (left, right) pairs starting from the last dim.
            let pads: Vec<i64> = half.iter().rev().flat_map(|&c| [c, c]).collect();
            (x.f_pad(pads.as_slice(), mode, None)?, vec![0; n])
        }
    };
    let dilation = vec![1i64; n];
    let y = match n {
        1 => x.f_conv1d(kernel, bias, stride, conv_pad.as_slice(), dilation.as_slice(), groups)?,
        2 => x.f_conv2d(kernel, bias, stride, conv_pad.as_slice(), dilation.as_slice(), groups)?,
        3 => x.f_conv3d(kernel, bias, stride, conv_pad.as_slice(), dilation.as_slice(), groups)?,
        _ => return Err(LayerError::parameter("n_dim", "1, 2 or 3", n)),
    };
    Ok(y)
}

/// A tensor from f64 host data, cast once to `kind` and moved to `device` (the f64 → f32
/// boundary of the crate's geometry).
pub(crate) fn tensor_from_f64(
    data: &[f64],
    shape: &[i64],
    kind: Kind,
    device: Device,
) -> Result<Tensor> {
    Ok(Tensor::from_slice(data).f_view(shape)?.f_to_kind(kind)?.f_to_device(device)?)
}

/// Expands a grouped kernel `(O, C/G, k…)` into the equivalent dense one `(O, C, k…)` (zero
/// blocks off the group diagonal), so that kernels with different group counts can be summed.
pub(crate) fn grouped_to_dense(kernel: &Tensor, groups: i64) -> Result<Tensor> {
    if groups == 1 {
        return Ok(kernel.shallow_clone());
    }
    let size = kernel.size();
    let (o, cg) = (size[0], size[1]);
    let spatial = &size[2..];
    let flat: i64 = spatial.iter().product();
    let k = kernel.f_reshape([groups, o / groups, cg, flat])?;
    let eye = Tensor::f_eye(groups, (kernel.kind(), kernel.device()))?;
    // dense[g, o, h, c, s] = δ_gh · k[g, o, c, s]
    let dense = Tensor::f_einsum("gocs,gh->gohcs", &[&k, &eye], None::<&[i64]>)?;
    let mut shape = vec![o, cg * groups];
    shape.extend_from_slice(spatial);
    Ok(dense.f_reshape(shape.as_slice())?)
}

/// Pads a kernel `(O, C, k…)` with zeros, centred, to the odd spatial `sizes`.
pub(crate) fn embed_centred(kernel: &Tensor, sizes: &[i64]) -> Result<Tensor> {
    let own = &kernel.size()[2..];
    let pads: Vec<i64> = own
        .iter()
        .zip(sizes)
        .rev()
        .flat_map(|(&k, &s)| {
            let c = (s - k) / 2;
            [c, c]
        })
        .collect();
    if pads.iter().all(|&p| p == 0) {
        return Ok(kernel.shallow_clone());
    }
    Ok(kernel.f_constant_pad_nd(pads.as_slice())?)
}

/// Runs `f`, panicking with the layer's name and the error; used by the infallible
/// `Module::forward` implementations (whose trait signature cannot return an error).
pub(crate) fn expect_forward(layer: &str, r: Result<Tensor>) -> Tensor {
    match r {
        Ok(y) => y,
        Err(e) => panic!("{layer}::forward: {e} (use f_forward for a Result)"),
    }
}
