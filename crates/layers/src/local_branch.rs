//! The local branch of a LocalNO block on a regular 2-D grid: the differential layer and the
//! regular-grid DISCO layer applied in **one** pass over the input.
//!
//! Both layers are cross-correlations of the same input with the same kind of padding, so their
//! sum is a single correlation with the sum of their kernels (the smaller kernel centred in the
//! larger one; padding by the larger half-width changes nothing for the smaller one, for every
//! padding mode). [`LocalBranch`] builds that fused kernel per input resolution,
//! `embed(FD effective kernel) + DISCO kernel`, and runs one `conv2d` plus the DISCO bias; when
//! the two layers use different channel groups, both kernels are expanded to dense ones first.

use tch::Tensor;
use tch::nn::Module;

use crate::common;
use crate::differential::FiniteDifferenceConv;
use crate::disco_grid::DiscoConvGrid;
use crate::error::{LayerError, Result};

/// `FiniteDifferenceConv(x) + DiscoConvGrid(x)` on a 2-D grid, computed as one convolution.
///
/// The two layers keep their own parameters (create them under their own paths as usual, e.g.
/// `path / "differential"` and `path / "disco"`) and can still be called on their own; the
/// branch only borrows them into one kernel per call, so gradients reach both.
///
/// Requirements (checked by [`LocalBranch::new`]): a 2-D FD layer, the same input and output
/// channel counts, the same padding mode, a DISCO stride of `[1, 1]`, and the same domain
/// lengths.
///
/// # Shapes
/// input `(B, in, n_0, n_1)` → output `(B, out, n_0, n_1)`.
#[derive(Debug)]
pub struct LocalBranch {
    fd: FiniteDifferenceConv,
    disco: DiscoConvGrid,
}

impl LocalBranch {
    /// Combines the two layers (see the type docs for the requirements).
    pub fn new(fd: FiniteDifferenceConv, disco: DiscoConvGrid) -> Result<Self> {
        if fd.n_dim() != 2 {
            return Err(LayerError::parameter("fd", "a 2-D differential layer", fd.n_dim()));
        }
        if (fd.in_channels(), fd.out_channels()) != (disco.in_channels(), disco.out_channels()) {
            return Err(LayerError::parameter(
                "disco",
                format!(
                    "in/out channels {}/{} (the FD layer's)",
                    fd.in_channels(),
                    fd.out_channels()
                ),
                format!("{}/{}", disco.in_channels(), disco.out_channels()),
            ));
        }
        if fd.config().padding != disco.config().padding {
            return Err(LayerError::parameter(
                "disco",
                format!("padding {:?} (the FD layer's)", fd.config().padding),
                format!("{:?}", disco.config().padding),
            ));
        }
        if disco.config().stride != [1, 1] {
            return Err(LayerError::parameter(
                "disco",
                "stride [1, 1]",
                format!("{:?}", disco.config().stride),
            ));
        }
        let (a, b) = (fd.domain_lengths(), disco.domain_lengths());
        if a != b.as_slice() {
            return Err(LayerError::parameter(
                "disco",
                format!("domain lengths {a:?} (the FD layer's)"),
                format!("{b:?}"),
            ));
        }
        Ok(Self { fd, disco })
    }

    /// The differential layer.
    pub fn fd(&self) -> &FiniteDifferenceConv {
        &self.fd
    }

    /// The DISCO layer.
    pub fn disco(&self) -> &DiscoConvGrid {
        &self.disco
    }

    /// The fused kernel for an input grid `[n_0, n_1]` and its group count: `(out, in/groups,
    /// P0, P1)` with `P = max` of the two stencils.
    pub fn fused_kernel(&self, grid: [i64; 2]) -> Result<(Tensor, i64)> {
        let mut fd = self.fd.effective_kernel(&grid)?;
        let mut disco = self.disco.kernel(grid)?;
        let (gf, gd) = (self.fd.config().groups, self.disco.config().groups);
        let groups = if gf == gd {
            gf
        } else {
            fd = common::grouped_to_dense(&fd, gf)?;
            disco = common::grouped_to_dense(&disco, gd)?;
            1
        };
        let (sf, sd) = (fd.size(), disco.size());
        let sizes = [sf[2].max(sd[2]), sf[3].max(sd[3])];
        let kernel = common::embed_centred(&fd, &sizes)? + common::embed_centred(&disco, &sizes)?;
        Ok((kernel, groups))
    }

    /// Fallible forward pass.
    pub fn f_forward(&self, x: &Tensor) -> Result<Tensor> {
        let spatial = common::check_input(x, 2, self.fd.in_channels(), self.fd.weight().kind())?;
        common::check_device(x, self.fd.weight().device())?;
        let (kernel, groups) = self.fused_kernel([spatial[0], spatial[1]])?;
        let p = kernel.size();
        let half = [p[2] / 2, p[3] / 2];
        let padding = self.fd.config().padding;
        padding.check_fits(&spatial, &half)?;
        common::conv_nd(x, &kernel, self.disco.bias(), padding, &half, &[1, 1], groups)
    }
}

impl Module for LocalBranch {
    /// # Panics
    /// On an input [`LocalBranch::f_forward`] rejects.
    fn forward(&self, x: &Tensor) -> Tensor {
        common::expect_forward("LocalBranch", self.f_forward(x))
    }
}
