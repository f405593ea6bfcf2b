#!/usr/bin/env python3
"""Times torch-harmonics' RealSHT + InverseRealSHT (float64, CPU) on one 256x512 field, the
reference for lno-quadrature's `sht_256x512/*/forward+inverse` criterion benchmarks.

Usage: ~/.cache/lno/venv-th093/bin/python tools/bench_reference_sht.py [--threads 2]
Environment: torch 2.14.1, torch-harmonics 0.9.3 in their own venv:
  python3 -m venv ~/.cache/lno/venv-th093
  ~/.cache/lno/venv-th093/bin/pip install torch==2.14.1 torch-harmonics==0.9.3
Prints the median and minimum over repeated runs after warm-up, per grid (`--grids` picks them),
and a `LNO_BENCH_RESULT` JSON line per grid (tools/bench_json.py) for `cargo xtask bench`.
"""
import argparse
import statistics
import time

import torch
import torch_harmonics as th

from bench_json import emit

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--repeats", type=int, default=50)
parser.add_argument("--grids", default="legendre-gauss,equiangular")
args = parser.parse_args()
torch.set_num_threads(args.threads)

nlat, nlon = 256, 512
k = torch.arange(nlat, dtype=torch.float64)[:, None] / nlat
p = torch.arange(nlon, dtype=torch.float64)[None, :] / nlon
x = torch.sin(6 * k) * torch.cos(2 * torch.pi * p) + 0.1 * k
print(f"torch {torch.__version__}, torch-harmonics {th.__version__}, threads {args.threads}")
# legendre-gauss: lmax = 256 is the default and the exact maximum; equiangular: lmax = 128,
# the largest exact truncation (torch-harmonics' default there, nlat, aliases).
for grid, lmax in (("legendre-gauss", 256), ("equiangular", 128)):
    if grid not in args.grids.split(","):
        continue
    sht = th.RealSHT(nlat, nlon, lmax=lmax, mmax=lmax, grid=grid).double()
    isht = th.InverseRealSHT(nlat, nlon, lmax=lmax, mmax=lmax, grid=grid).double()
    times = []
    with torch.inference_mode():
        for _ in range(5):
            isht(sht(x))
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            isht(sht(x))
            times.append(time.perf_counter() - t0)
    err = (isht(sht(x)) - x).abs().max().item()
    print(f"{grid} lmax={lmax}: median {statistics.median(times) * 1e3:.2f} ms, "
          f"min {min(times) * 1e3:.2f} ms (round-trip max error on a non-band-limited field {err:.2e})")
    emit(f"sht_f64_{grid}", times, lmax=lmax, threads=torch.get_num_threads())
