#!/usr/bin/env python3
"""Golden fixtures for the lno-layers sphere tests, from torch-harmonics 0.7.4 (torch 2.11, CPU, float32).

Cases (layers-spec §14.1 R4a–R4c, R5): sphere DISCO forward and transpose on small grids with
deterministic weights, and RealSHT / InverseRealSHT. Inputs use the spec's `field(B, C, H, W)`;
weights are set to `0.1·sin(0.7 j + i)` over the flattened parameter i (the spec's `detfill`).
Writes crates/layers/tests/data/sphere_golden.npz (inputs and outputs).

Usage: ~/.cache/lno/venv-ref/bin/python tools/golden/layers_sphere.py
"""

import math
import pathlib

import numpy as np
import torch
import torch_harmonics as th


def field(b, c, h, w):
    i = np.arange(h)[:, None] / h
    j = np.arange(w)[None, :] / w
    x = np.zeros((b, c, h, w))
    for bi in range(b):
        for ci in range(c):
            x[bi, ci] = np.sin(2 * math.pi * i * (ci + 1)) * np.cos(2 * math.pi * j) + 0.1 * bi + 0.05 * ci
    return torch.tensor(x, dtype=torch.float32)


def detfill(module, amp=0.1):
    with torch.no_grad():
        for i, (_, p) in enumerate(module.named_parameters()):
            j = np.arange(p.numel(), dtype=np.float64)
            p.copy_(torch.tensor(amp * np.sin(0.7 * j + i)).reshape(p.shape).to(p.dtype))


def main():
    torch.manual_seed(0)
    out = {}
    cases = {
        "r4a": (th.DiscreteContinuousConvS2, dict(in_channels=2, out_channels=3, in_shape=(16, 32), out_shape=(16, 32), kernel_shape=[3, 4], bias=True), (2, 2, 16, 32)),
        "r4b": (th.DiscreteContinuousConvS2, dict(in_channels=2, out_channels=3, in_shape=(16, 32), out_shape=(8, 16), kernel_shape=[2, 4], grid_in="equiangular", grid_out="legendre-gauss", bias=False), (2, 2, 16, 32)),
        "r4c": (th.DiscreteContinuousConvTransposeS2, dict(in_channels=2, out_channels=3, in_shape=(8, 16), out_shape=(16, 32), kernel_shape=[3, 4], grid_in="legendre-gauss", grid_out="equiangular", bias=False), (2, 2, 8, 16)),
        "r4d": (th.DiscreteContinuousConvS2, dict(in_channels=2, out_channels=3, in_shape=(16, 32), out_shape=(16, 32), kernel_shape=3, theta_cutoff=0.5, bias=False), (2, 2, 16, 32)),
        "r4e": (th.DiscreteContinuousConvS2, dict(in_channels=2, out_channels=2, in_shape=(12, 24), out_shape=(12, 24), kernel_shape=[3, 4], grid_in="lobatto", grid_out="lobatto", groups=2, bias=False), (1, 2, 12, 24)),
    }
    for name, (cls, kw, xs) in cases.items():
        layer = cls(**kw)
        detfill(layer)
        x = field(*xs)
        with torch.no_grad():
            y = layer(x)
        out[f"{name}.x"] = x
        out[f"{name}.weight"] = layer.weight.detach().clone()
        if layer.bias is not None:
            out[f"{name}.bias"] = layer.bias.detach().clone()
        out[f"{name}.y"] = y.contiguous()
        print(name, tuple(y.shape), float(y.double().sum()))
    for name, (h, w, grid, lmax, mmax) in {"r5": (16, 32, "equiangular", None, None), "r5b": (16, 32, "legendre-gauss", 8, 8), "r5c": (13, 26, "lobatto", None, None)}.items():
        sht = th.RealSHT(h, w, lmax=lmax, mmax=mmax, grid=grid)
        isht = th.InverseRealSHT(h, w, lmax=sht.lmax, mmax=sht.mmax, grid=grid)
        x = field(1, 2, h, w)
        with torch.no_grad():
            a = sht(x)
            xr = isht(a)
        out[f"{name}.x"] = x
        out[f"{name}.coeffs"] = torch.view_as_real(a).contiguous()
        out[f"{name}.roundtrip"] = xr.contiguous()
        print(name, tuple(a.shape), sht.lmax, sht.mmax)
    path = pathlib.Path(__file__).resolve().parents[2] / "crates/layers/tests/data/sphere_golden.npz"
    np.savez(path, **{k: v.numpy() for k, v in out.items()})
    print("wrote", path, path.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
