#!/usr/bin/env python3
"""Writes Gauss-Legendre nodes and weights computed in 40-digit arithmetic (mpmath), rounded
to float64, as golden fixtures for lno-quadrature.

numpy's leggauss loses accuracy in the weights near x = +-1 for large n (about 1e-8 relative
at n = 1000), so these are the fixtures the weights are checked against to 1e-14 relative.

Usage: python tools/golden/leggauss_mp.py [OUTDIR]   (default crates/quadrature/tests/data)
Needs numpy and mpmath. Newton's method in x with the three-term recurrence, started from
numpy's nodes, three steps at 40 digits (each step squares the ~1e-16 error).
Format: as leggauss.py: a comment line, then `node weight` per line, nodes ascending.
"""
import pathlib
import sys

import mpmath as mp
import numpy as np

mp.mp.dps = 40
out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "crates/quadrature/tests/data")
out.mkdir(parents=True, exist_ok=True)


def legendre_and_derivative(n, x):
    p0, p1 = mp.mpf(1), x
    for k in range(2, n + 1):
        p0, p1 = p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k
    return p1, n * (x * p1 - p0) / (x * x - 1)


for n in (100, 1000):
    start, _ = np.polynomial.legendre.leggauss(n)
    rows = []
    for x0 in start:
        x = mp.mpf(float(x0))
        for _ in range(3):
            p, dp = legendre_and_derivative(n, x)
            x -= p / dp
        _, dp = legendre_and_derivative(n, x)
        w = 2 / ((1 - x * x) * dp * dp)
        rows.append(f"{float(x)!r} {float(w)!r}")
    header = f"# mpmath {mp.__version__} dps=40 Gauss-Legendre n={n}, rounded to float64"
    (out / f"leggauss_mp_{n}.txt").write_text("\n".join([header] + rows) + "\n")
