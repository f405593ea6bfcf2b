#!/usr/bin/env python3
"""Time the FNO reference Darcy generator (numpy/scipy port of GRF.m + solve_gwf.m).

The reference (neuraloperator data_generation/darcy, data-recipes.md section 4.1) draws a
Neumann GRF by an orthonormal inverse DCT, thresholds it to 12/3, spline-interpolates the
coefficient from cell centres to the K x K vertex grid, assembles the 5-point operator with
arithmetic face means scaled by (K-1)^2, solves the sparse system directly, and splines the
solution back to cell centres. Here scipy's spsolve (SuperLU, COLAMD ordering) is the sparse
direct solver, as a scipy user would write it.

Timed per solve (median of --repeats runs, after one warm-up):
  core  = assembly + spsolve, the part lno's solve_darcy does;
  full  = core + both spline interpolations, the whole solve_gwf.

Also prints `LNO_BENCH_RESULT` JSON lines (tools/bench_json.py) for `cargo xtask bench`.

Usage: python3 tools/bench_reference_darcy.py [--s 421] [--repeats 5] [--seed 0]
Needs numpy and scipy, e.g. python3 -m venv /tmp/venv-sci && /tmp/venv-sci/bin/pip install numpy scipy
"""

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np
import scipy
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.fft import idctn

from bench_json import emit
from scipy.interpolate import RectBivariateSpline


def grf_neumann(s, alpha, tau, rng):
    """GRF.m: KL expansion in cosines, c_k = tau^(alpha-1) (pi^2 |k|^2 + tau^2)^(-alpha/2)."""
    k1, k2 = np.meshgrid(np.arange(s), np.arange(s), indexing="ij")
    coef = tau ** (alpha - 1) * (np.pi**2 * (k1**2 + k2**2) + tau**2) ** (-alpha / 2)
    modes = s * coef * rng.standard_normal((s, s))
    modes[0, 0] = 0.0
    return idctn(modes, type=2, norm="ortho")


def assemble(coef):
    """5-point operator on the (K-2)^2 interior vertices, arithmetic face means, times (K-1)^2."""
    k = coef.shape[0]
    c = coef[1:-1, 1:-1]
    west = 0.5 * (c + coef[:-2, 1:-1])
    east = 0.5 * (c + coef[2:, 1:-1])
    south = 0.5 * (c + coef[1:-1, :-2])
    north = 0.5 * (c + coef[1:-1, 2:])
    n = k - 2
    diag = (west + east + south + north).ravel()
    # Unknown (i, j) -> i * n + j; zero the couplings that would cross a grid line.
    off_j = -north.copy()
    off_j[:, -1] = 0.0
    off_i = -east[:-1, :]
    main = sp.diags(
        [diag, off_j.ravel()[:-1], off_j.ravel()[:-1], off_i.ravel(), off_i.ravel()],
        [0, 1, -1, n, -n],
        format="csc",
    )
    return main * (k - 1) ** 2


def solve_core(coef, f):
    k = coef.shape[0]
    a = assemble(coef)
    u = np.zeros((k, k))
    u[1:-1, 1:-1] = spla.spsolve(a, f[1:-1, 1:-1].ravel()).reshape(k - 2, k - 2)
    return u


def solve_full(coef_cells, f_cells):
    k = coef_cells.shape[0]
    centres = (np.arange(k) + 0.5) / k
    vertices = np.linspace(0.0, 1.0, k)
    coef = RectBivariateSpline(centres, centres, coef_cells)(vertices, vertices)
    f = RectBivariateSpline(centres, centres, f_cells)(vertices, vertices)
    u = solve_core(coef, f)
    return RectBivariateSpline(vertices, vertices, u)(centres, centres)


def median_time(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--s", type=int, default=421)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    field = grf_neumann(args.s, 2.0, 3.0, rng)
    coef = np.where(field >= 0.0, 12.0, 3.0)
    ones = np.ones_like(coef)

    t_grf, _ = median_time(lambda: grf_neumann(args.s, 2.0, 3.0, rng), args.repeats)
    t_core, core_runs = median_time(lambda: solve_core(coef, ones), args.repeats)
    t_full, full_runs = median_time(lambda: solve_full(coef, ones), args.repeats)

    # Sanity: the discrete torsion problem's centre value approaches 0.0736713532.
    mid = args.s // 2
    torsion = solve_core(np.ones_like(coef), ones)[mid, mid]
    emit(f"darcy_solve_core_{args.s}", core_runs)
    emit(f"darcy_solve_full_{args.s}", full_runs)
    print(
        json.dumps(
            {
                "s": args.s,
                "numpy": np.__version__,
                "scipy": scipy.__version__,
                "python": platform.python_version(),
                "threads_env": {v: os.environ.get(v) for v in ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"]},
                "grf_s": t_grf,
                "solve_core_s": t_core,
                "solve_core_runs": core_runs,
                "solve_full_s": t_full,
                "solve_full_runs": full_runs,
                "torsion_centre": torsion,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
