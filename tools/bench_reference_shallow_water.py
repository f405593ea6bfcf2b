#!/usr/bin/env python3
"""Times one step of torch-harmonics' ShallowWaterSolver (CPU) at 256x512, lmax = mmax = 86,
dt = 150 s, the reference for lno-solvers' `shallow_water_256x512/step_*` criterion benchmarks.

Usage: ~/.cache/lno/venv-ref/bin/python tools/bench_reference_shallow_water.py [--threads 2]
Environment: torch 2.11, torch-harmonics 0.7.4 (the venv of stack A, perf-notes.md).
Times `solver.timestep(uspec, 1)`, i.e. one tendency evaluation (isht x3, ivsht, vsht x2,
sht) plus the update, in float64 (the solver's default buffers) and in float32 (what
`PdeDataset` uses after `.float()`), on the equiangular and the legendre-gauss grid.
Prints the median and minimum over repeated runs after warm-up, and a `LNO_BENCH_RESULT` JSON
line per grid and dtype (tools/bench_json.py) for `cargo xtask bench`.
"""
import argparse
import math
import statistics
import time

import torch
import torch_harmonics as th
from torch_harmonics.examples.shallow_water_equations import ShallowWaterSolver

from bench_json import emit

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--repeats", type=int, default=30)
parser.add_argument("--grids", default="equiangular,legendre-gauss")
parser.add_argument("--dtypes", default="float64,float32")
args = parser.parse_args()
torch.set_num_threads(args.threads)

nlat, nlon, dt = 256, 512, 150.0
lmax = math.ceil(nlat / 3)
print(f"torch {torch.__version__}, torch-harmonics {th.__version__}, threads {args.threads}")
for grid in args.grids.split(","):
    for dtype in args.dtypes.split(","):
        solver = ShallowWaterSolver(nlat, nlon, dt, lmax=lmax, mmax=lmax, grid=grid)
        if dtype == "float32":
            solver = solver.float()
        torch.manual_seed(0)
        times, cpu = [], []
        with torch.inference_mode():
            uspec = solver.random_initial_condition(mach=0.2)
            for _ in range(3):
                uspec = solver.timestep(uspec, 1)
            for _ in range(args.repeats):
                t0, c0 = time.perf_counter(), time.process_time()
                uspec = solver.timestep(uspec, 1)
                times.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
        print(f"{grid} {dtype}: median {statistics.median(times) * 1e3:.2f} ms, "
              f"min {min(times) * 1e3:.2f} ms per step; CPU time median "
              f"{statistics.median(cpu) * 1e3:.2f} ms", flush=True)
        emit(f"sw_step_{grid}_{dtype}", times, cpu_median_s=statistics.median(cpu), threads=torch.get_num_threads())
