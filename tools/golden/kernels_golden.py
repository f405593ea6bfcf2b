#!/usr/bin/env python3
"""Golden fixtures for lno-kernels (crates/kernels/tests/golden.rs).

Run by hand in a venv with the pinned reference stack:
    python3 -m venv ~/.cache/lno/venv-ref
    ~/.cache/lno/venv-ref/bin/pip install torch==2.11.0 neuraloperator==2.0.0 torch-harmonics==0.7.4
    ~/.cache/lno/venv-ref/bin/python tools/golden/kernels_golden.py

Writes tools/golden/kernels/*.json (compact JSON, float values printed with repr). The reference
packages are used only as oracles: this script calls their public classes / precompute functions
and records what they produce, together with the exact grids and weights they used.
"""
import json
import math
import os

import numpy as np
import torch
import torch_harmonics
import neuralop
from torch_harmonics.convolution import DiscreteContinuousConvS2, DiscreteContinuousConvTransposeS2
from torch_harmonics.quadrature import _precompute_latitudes
from torch_harmonics.filter_basis import get_filter_basis
from neuralop.layers.discrete_continuous_convolution import (
    DiscreteContinuousConv2d,
    DiscreteContinuousConvTranspose2d,
    EquidistantDiscreteContinuousConv2d,
    _precompute_convolution_filter_matrix,
)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernels")
VERSIONS = {
    "torch": torch.__version__,
    "torch_harmonics": torch_harmonics.__version__,
    "neuraloperator": getattr(neuralop, "__version__", "2.0.0"),
}


def fl(t):
    return [float(x) for x in np.asarray(t, dtype=np.float64).ravel()]


def it(t):
    return [int(x) for x in np.asarray(t).ravel()]


def dump(name, obj):
    obj["versions"] = VERSIONS
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(obj, f, separators=(",", ":"))


def basis_cases():
    cases = []
    rc = 0.7
    r = torch.linspace(0.0, 0.75, 14, dtype=torch.float64)
    phi = torch.linspace(0.0, 2 * math.pi, 19, dtype=torch.float64)
    R, P = torch.meshgrid(r, phi, indexing="ij")
    R, P = R.reshape(1, -1), P.reshape(1, -1)
    for btype, shape in [
        ("piecewise linear", [3, 4]), ("piecewise linear", [2, 4]), ("piecewise linear", [3, 1]),
        ("piecewise linear", [4, 1]), ("piecewise linear", [4, 3]), ("piecewise linear", [2, 2]),
        ("morlet", [3, 3]), ("zernike", [4]),
    ]:
        b = get_filter_basis(shape if btype != "zernike" else shape[0], btype)
        idx, vals = b.compute_support_vals(R, P, r_cutoff=rc)
        cases.append({"basis": btype, "shape": shape, "kernel_size": int(b.kernel_size), "rc": rc,
                      "r": fl(R), "phi": fl(P), "k": it(idx[:, 0]), "i": it(idx[:, 2]), "vals": fl(vals)})
    dump("basis", {"cases": cases})


def sphere_case(name, cls, in_shape, out_shape, kernel_shape, grid_in, grid_out, **kw):
    conv = cls(1, 1, in_shape, out_shape, kernel_shape=kernel_shape, grid_in=grid_in, grid_out=grid_out, bias=False, **kw)
    lats_in, w_in = _precompute_latitudes(in_shape[0], grid=grid_in)
    lats_out, w_out = _precompute_latitudes(out_shape[0], grid=grid_out)
    transpose = cls is DiscreteContinuousConvTransposeS2
    theta_cutoff = kw.get("theta_cutoff", math.pi / ((in_shape[0] if transpose else out_shape[0]) - 1))
    return {
        "name": name, "transpose": transpose, "kernel_shape": kernel_shape, "basis": "piecewise linear",
        "in_shape": list(in_shape), "out_shape": list(out_shape), "theta_cutoff": theta_cutoff,
        "lats_in": fl(lats_in), "w_in": fl(w_in), "lats_out": fl(lats_out), "w_out": fl(w_out),
        "kernel_size": int(conv.kernel_size),
        "ker": it(conv.psi_ker_idx), "row": it(conv.psi_row_idx), "col": it(conv.psi_col_idx), "vals": fl(conv.psi_vals),
    }


def sphere_cases():
    cases = [
        sphere_case("eq16x32_to_eq16x32_k34", DiscreteContinuousConvS2, (16, 32), (16, 32), [3, 4], "equiangular", "equiangular"),
        sphere_case("eq16x32_to_lg8x16_k24", DiscreteContinuousConvS2, (16, 32), (8, 16), [2, 4], "equiangular", "legendre-gauss"),
        sphere_case("transpose_lg8x16_to_eq16x32_k34", DiscreteContinuousConvTransposeS2, (8, 16), (16, 32), [3, 4], "legendre-gauss", "equiangular"),
        sphere_case("eq16x32_iso3_cutoff05", DiscreteContinuousConvS2, (16, 32), (16, 32), 3, "equiangular", "equiangular", theta_cutoff=0.5),
    ]
    dump("sphere", {"cases": cases})


def points():
    k_in = np.arange(200, dtype=np.float64)
    k_out = np.arange(50, dtype=np.float64)
    pin = np.stack([np.mod(0.618033988749895 * k_in, 1.0), np.mod(0.7548776662466927 * k_in, 1.0)])
    pout = np.stack([np.mod(0.41421356237309503 * k_out + 0.1, 1.0), np.mod(0.3247179572447460 * k_out + 0.2, 1.0)])
    return pin, pout


def planar_cases():
    pin, pout = points()
    cases = []
    # R3a: forward on the float32 point clouds.
    q = torch.full((200,), 1 / 200)
    conv = DiscreteContinuousConv2d(1, 1, grid_in=torch.tensor(pin, dtype=torch.float32), grid_out=torch.tensor(pout, dtype=torch.float32),
                                    kernel_shape=[3, 4], quadrature_weights=q, radius_cutoff=0.2)
    cases.append({"name": "R3a_forward_k34", "transpose": False, "periodic": False, "kernel_shape": [3, 4], "rc": 0.2,
                  "pts_in": fl(torch.tensor(pin, dtype=torch.float32)), "pts_out": fl(torch.tensor(pout, dtype=torch.float32)),
                  "q": fl(q), "kernel_size": int(conv.kernel_size), "row": it(conv.psi_idx[0]), "col": it(conv.psi_idx[1]), "vals": fl(conv.psi_vals)})
    # R3b: transpose, 50 -> 200 points.
    q50 = torch.full((50,), 1 / 50)
    conv = DiscreteContinuousConvTranspose2d(1, 1, grid_in=torch.tensor(pout, dtype=torch.float32), grid_out=torch.tensor(pin, dtype=torch.float32),
                                             kernel_shape=[3, 4], quadrature_weights=q50, radius_cutoff=0.2)
    cases.append({"name": "R3b_transpose_k34", "transpose": True, "periodic": False, "kernel_shape": [3, 4], "rc": 0.2,
                  "pts_in": fl(torch.tensor(pout, dtype=torch.float32)), "pts_out": fl(torch.tensor(pin, dtype=torch.float32)),
                  "q": fl(q50), "kernel_size": int(conv.kernel_size), "row": it(conv.psi_idx[0]), "col": it(conv.psi_idx[1]), "vals": fl(conv.psi_vals)})
    # Periodic wrap (period 1) and an even radial count, float64 clouds, via the precompute function.
    gi, go = torch.tensor(pin), torch.tensor(pout)
    qw = torch.full((200,), 1 / 200, dtype=torch.float64)
    idx, vals = _precompute_convolution_filter_matrix(gi, go, [2, 4], qw, normalize=True, basis_type="piecewise_linear",
                                                      radius_cutoff=0.25, periodic=True)
    cases.append({"name": "periodic_forward_k24_f64", "transpose": False, "periodic": True, "kernel_shape": [2, 4], "rc": 0.25,
                  "pts_in": fl(gi), "pts_out": fl(go), "q": fl(qw), "kernel_size": 4,
                  "row": it(idx[0] * 50 + idx[1]), "col": it(idx[2]), "vals": fl(vals)})
    dump("planar", {"cases": cases})


def taps_cases():
    cases = []
    for name, n, kshape, rc in [("R2a_16_k34_rc3cells", 16, [3, 4], 3 * 2 / 16), ("16_k24_rc2cells", 16, [2, 4], 0.25),
                                ("32_k34_rc4cells", 32, [3, 4], 0.25)]:
        conv = EquidistantDiscreteContinuousConv2d(1, 1, (n, n), (n, n), kernel_shape=kshape, radius_cutoff=rc)
        t = conv.get_local_filter_matrix()
        q_weight = 2.0 * 2.0 / n / n
        cases.append({"name": name, "n": n, "domain_length": [2.0, 2.0], "kernel_shape": kshape, "rc": rc, "q_weight": q_weight,
                      "shape": list(t.shape), "taps": fl(t)})
    dump("taps", {"cases": cases})


if __name__ == "__main__":
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    basis_cases()
    sphere_cases()
    planar_cases()
    taps_cases()
    for f in sorted(os.listdir(OUT)):
        print(f, os.path.getsize(os.path.join(OUT, f)))
