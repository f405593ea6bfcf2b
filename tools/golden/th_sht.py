#!/usr/bin/env python3
"""Writes torch-harmonics RealSHT coefficients (float64) of a fixed field as golden fixtures
for lno-quadrature, to pin our conventions (normalisation, Condon-Shortley phase, grids,
latitude order, FFT scaling) to the reference.

Usage: python tools/golden/th_sht.py [OUTDIR]   (default crates/quadrature/tests/data)
Needs torch and torch-harmonics (measured with torch 2.14.1, torch-harmonics 0.9.3).
Field: f[k, p] = sin(2*pi*(k/H)*2) * cos(2*pi*p/W) + 0.3*cos(3*2*pi*p/W + 0.5)*k/H + 0.1,
H x W = 12 x 24, lmax = mmax = what the grid resolves exactly (6, 12, 11).
Format: a comment line, then `l m re im` for every l < lmax, m < mmax.
"""
import math
import pathlib
import sys

import torch
import torch_harmonics as th

out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "crates/quadrature/tests/data")
out.mkdir(parents=True, exist_ok=True)
H, W = 12, 24
f = torch.empty(H, W, dtype=torch.float64)
for k in range(H):
    for p in range(W):
        f[k, p] = (math.sin(2 * math.pi * (k / H) * 2) * math.cos(2 * math.pi * p / W)
                   + 0.3 * math.cos(3 * 2 * math.pi * p / W + 0.5) * k / H + 0.1)
for grid, lmax in (("equiangular", 6), ("legendre-gauss", 12), ("lobatto", 11)):
    sht = th.RealSHT(H, W, lmax=lmax, mmax=lmax, grid=grid, norm="ortho", csphase=True).double()
    a = sht(f)
    lines = [f"# torch-harmonics {th.__version__} RealSHT({H}, {W}, lmax={lmax}, mmax={lmax}, "
             f"grid={grid!r}, norm='ortho', csphase=True), float64"]
    for l in range(lmax):
        for m in range(lmax):
            c = complex(a[l, m])
            lines.append(f"{l} {m} {c.real!r} {c.imag!r}")
    (out / f"th_sht_{grid}.txt").write_text("\n".join(lines) + "\n")
