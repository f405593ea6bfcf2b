#!/usr/bin/env python3
"""Writes numpy's Gauss-Legendre nodes and weights as golden fixtures for lno-quadrature.

Usage: python tools/golden/leggauss.py [OUTDIR]   (default crates/quadrature/tests/data)
Needs numpy (any 2.x); CI does not run this, it only reads the committed files.
Format: a comment line with the numpy version, then one `node weight` pair per line, nodes
ascending, each number as Python's repr (shortest string that round-trips the float64).
"""
import pathlib
import sys

import numpy as np

out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "crates/quadrature/tests/data")
out.mkdir(parents=True, exist_ok=True)
for n in (10, 100, 1000):
    x, w = np.polynomial.legendre.leggauss(n)
    lines = [f"# numpy {np.__version__} numpy.polynomial.legendre.leggauss({n})"]
    lines += [f"{float(a)!r} {float(b)!r}" for a, b in zip(x, w)]
    (out / f"leggauss_{n}.txt").write_text("\n".join(lines) + "\n")
