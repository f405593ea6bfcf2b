"""Golden fixtures for lno-layers from the reference stack (neuraloperator 2.0.0, torch-harmonics 0.7.4).

Run by hand in the reference venv (torch 2.11.0, CPU, float32):

    ~/.cache/lno/venv-ref/bin/python tools/golden/layers_golden.py

Writes one uncompressed ``.npz`` per case to ``tools/golden/layers/``, read by
``crates/layers/tests/golden.rs`` with ``tch::Tensor::read_npz``. Every file holds the input ``x``,
the reference output ``y`` and the layer's parameters already mapped to lno's layouts:

* FD: ``weight`` (out, in/groups, k, ..., k); lno's domain length is ``grid_width * n`` so that the
  physical width ``L / n`` equals the reference's ``grid_width``.
* Equidistant DISCO (``EquidistantDiscreteContinuousConv2d``): ``weight[:, :, :K]`` where
  ``K = (k0 // 2) * k1 + k0 % 2`` is the basis count (the reference allocates ``(k0 - 1) * k1 + 1``
  slots; the rest multiply all-zero filters), ``bias``. Only cases whose local grid is not
  stretched (``2 rc N / L`` an integer, odd P) are included: elsewhere lno differs by design.
* Point-cloud DISCO (``DiscreteContinuousConv2d`` / ``...Transpose2d``): the same weight slice,
  ``bias``, the clouds ``pts_in``/``pts_out`` (float32 values, as the reference computes with them)
  and ``q``.
* ``SpectralConv``: ``weight`` as ``view_as_real`` of the complex (in, out, m0, ..., m_last//2+1)
  tensor, ``bias`` flattened to (out,). Even sizes only (odd sizes hit the reference's
  fftshift/ifftshift bug, see docs/layers.md).

Parameters are filled deterministically (``detfill``: parameter #i, flat index j: real part
``0.1 sin(0.7 j + i)``, imaginary part ``0.1 cos(0.3 j + i)``), inputs with ``field`` (layers-spec §14.1).
"""

import math
import os

import numpy as np
import torch

import neuralop
import torch_harmonics
from neuralop.layers.differential_conv import FiniteDifferenceConvolution
from neuralop.layers.discrete_continuous_convolution import (
    DiscreteContinuousConv2d,
    DiscreteContinuousConvTranspose2d,
    EquidistantDiscreteContinuousConv2d,
)
from neuralop.layers.spectral_convolution import SpectralConv

assert torch.__version__.startswith("2.11.0"), torch.__version__
assert neuralop.__version__ == "2.0.0", neuralop.__version__
assert torch_harmonics.__version__ == "0.7.4", torch_harmonics.__version__

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "layers")
os.makedirs(OUT, exist_ok=True)
torch.set_default_dtype(torch.float32)


def detfill(module, amp=0.1):
    with torch.no_grad():
        for i, (_, p) in enumerate(module.named_parameters()):
            j = torch.arange(p.numel(), dtype=torch.float64)
            re = amp * torch.sin(0.7 * j + i)
            if p.is_complex():
                im = amp * torch.cos(0.3 * j + i)
                p.copy_(torch.complex(re, im).reshape(p.shape).to(p.dtype))
            else:
                p.copy_(re.reshape(p.shape).to(p.dtype))


def field(b, c, h, w):
    i = torch.arange(h, dtype=torch.float64).reshape(1, 1, h, 1)
    j = torch.arange(w, dtype=torch.float64).reshape(1, 1, 1, w)
    bb = torch.arange(b, dtype=torch.float64).reshape(b, 1, 1, 1)
    cc = torch.arange(c, dtype=torch.float64).reshape(1, c, 1, 1)
    x = torch.sin(2 * math.pi * (i / h) * (cc + 1)) * torch.cos(2 * math.pi * j / w) + 0.1 * bb + 0.05 * cc
    return x.to(torch.float32)


def field3(b, c, n0, n1, n2):
    k = torch.arange(n2, dtype=torch.float64).reshape(1, 1, 1, 1, n2)
    x = field(b, c, n0, n1).to(torch.float64).unsqueeze(-1) * torch.cos(2 * math.pi * k / n2 + 0.3)
    return x.to(torch.float32)


def save(name, **arrays):
    path = os.path.join(OUT, name + ".npz")
    np.savez(path, **{k: v.detach().contiguous().numpy() for k, v in arrays.items()})
    print(f"{name}: " + ", ".join(f"{k}{tuple(v.shape)}" for k, v in arrays.items()))


def n_basis(kernel_shape):
    k0, k1 = kernel_shape
    return (k0 // 2) * k1 + k0 % 2


# Finite differences: (name, in, out, n_dim, k, groups, padding, x, grid_width).
fd_cases = [
    ("fd_2d_periodic", 2, 3, 2, 3, 1, "periodic", field(1, 2, 16, 16), 1 / 16),
    ("fd_2d_zeros_k5", 2, 3, 2, 5, 1, "zeros", field(1, 2, 16, 16), 0.5),
    ("fd_1d_replicate_groups", 2, 2, 1, 3, 2, "replicate", field(1, 2, 16, 1)[:, :, :, 0], 1.0),
    ("fd_3d_reflect", 2, 2, 3, 3, 1, "reflect", field3(2, 2, 6, 8, 5), 0.25),
]
for name, cin, cout, n_dim, k, groups, padding, x, h in fd_cases:
    layer = FiniteDifferenceConvolution(cin, cout, n_dim, kernel_size=k, groups=groups, padding=padding)
    detfill(layer)
    y = layer(x, h)
    save(name, x=x, y=y, weight=layer.conv.weight, grid_width=torch.tensor([h], dtype=torch.float64))

# Equidistant DISCO at the training resolution (domain [2, 2]), square stencils only: with P_h != P_w
# the reference transposes its taps to (P_w, P_h) but pads as (P_h, P_w), so a 16x24 input comes
# back 14x26 (see docs/layers.md).
# (name, in, out, in_shape, out_shape, kernel_shape, rc, groups, batch).
eq_cases = [
    ("disco_grid_r2a", 2, 3, (16, 16), (16, 16), [3, 4], 3 * 2 / 16, 1, 2),
    ("disco_grid_stride2_groups", 2, 4, (16, 16), (8, 8), [2, 4], 2 * 2 / 16, 2, 2),
]
for name, cin, cout, sin, sout, ks, rc, groups, b in eq_cases:
    layer = EquidistantDiscreteContinuousConv2d(
        cin, cout, in_shape=sin, out_shape=sout, kernel_shape=ks, radius_cutoff=rc, groups=groups
    )
    detfill(layer)
    p = layer.local_filter_matrix.shape[1:]
    assert all(n % 2 == 1 for n in p), p
    x = field(b, cin, *sin)
    y = layer(x)
    K = n_basis(ks)
    save(
        name,
        x=x,
        y=y,
        weight=layer.weight[:, :, :K],
        bias=layer.bias,
        cutoff=torch.tensor([rc], dtype=torch.float64),
        kernel_shape=torch.tensor(ks, dtype=torch.int64),
    )

# Point-cloud DISCO (layers-spec §14.1, R3a / R3b).
ki = np.arange(200, dtype=np.float64)
pts_in = torch.from_numpy(np.stack([np.modf(0.618033988749895 * ki)[0], np.modf(0.7548776662466927 * ki)[0]]))
ko = np.arange(50, dtype=np.float64)
pts_out = torch.from_numpy(
    np.stack([np.modf(0.41421356237309503 * ko + 0.1)[0], np.modf(0.3247179572447460 * ko + 0.2)[0]])
)
pts_in, pts_out = pts_in.to(torch.float32), pts_out.to(torch.float32)
for name, cls, gin, gout, n in [
    ("disco_cloud_r3a", DiscreteContinuousConv2d, pts_in, pts_out, 200),
    ("disco_cloud_r3b_transpose", DiscreteContinuousConvTranspose2d, pts_out, pts_in, 50),
]:
    q = torch.full((n,), 1.0 / n)
    layer = cls(2, 3, grid_in=gin, grid_out=gout, kernel_shape=[3, 4], quadrature_weights=q, radius_cutoff=0.2)
    detfill(layer)
    x = field(2, 2, n, 1)[:, :, :, 0]
    y = layer(x)
    save(
        name,
        x=x,
        y=y,
        weight=layer.weight[:, :, : n_basis([3, 4])],
        bias=layer.bias,
        pts_in=gin,
        pts_out=gout,
        q=q,
    )

# FNO spectral convolution, even sizes: (name, in, out, n_modes, x).
sc_cases = [
    ("spectral_2d_r6", 2, 3, (8, 8), field(2, 2, 16, 16)),
    ("spectral_2d_r6b", 2, 3, (8, 8), field(2, 2, 32, 24)),
    ("spectral_1d", 2, 3, (6,), field(2, 2, 20, 1)[:, :, :, 0]),
    ("spectral_3d", 2, 2, (4, 4, 4), field3(1, 2, 8, 6, 8)),
]
for name, cin, cout, modes, x in sc_cases:
    layer = SpectralConv(cin, cout, n_modes=modes)
    detfill(layer)
    w = layer.weight.to_tensor() if hasattr(layer.weight, "to_tensor") else layer.weight
    y = layer(x)
    save(name, x=x, y=y, weight=torch.view_as_real(w.detach()), bias=layer.bias.reshape(-1))

print("torch", torch.__version__, "neuralop", neuralop.__version__, "torch_harmonics", torch_harmonics.__version__)
