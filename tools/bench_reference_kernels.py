#!/usr/bin/env python3
"""Times the reference DISCO tensor precomputations on this CPU (for docs/benchmarks.md).

    ~/.cache/lno/venv-ref/bin/python   tools/bench_reference_kernels.py   # th 0.7.4 + neuralop 2.0.0
    ~/.cache/lno/venv-th093/bin/python tools/bench_reference_kernels.py   # th 0.9.3 (sphere only)
    ... --irregular 10000   # neuralop irregular precompute at n points (~90 s, ~8 GB at 1e4!)

Sphere: 256x512 -> 256x512 equiangular, piecewise-linear [3,4], default cutoff pi/255, the
precompute function the layer calls (0.9.3 memoises it with an LRU cache, so the cutoff is
perturbed by 1e-12 relative per call). Median of 5 after one warm-up. Irregular: neuralop's
_precompute_convolution_filter_matrix on a quasi-random cloud in [0,1]^2 with ~30 neighbours.
`--no-sphere` skips the sphere; `--threads` sets torch's threads (default 2). Each workload also
prints a `LNO_BENCH_RESULT` JSON line (tools/bench_json.py) for `cargo xtask bench`.
"""
import argparse
import math
import resource
import statistics
import time

import torch
import torch_harmonics

from bench_json import emit

V = torch_harmonics.__version__


def sphere(reps=5):
    from torch_harmonics.filter_basis import get_filter_basis
    if V.startswith("0.7"):
        from torch_harmonics.convolution import _precompute_convolution_tensor_s2 as pre
    else:
        from torch_harmonics.disco.convolution import _precompute_convolution_tensor_s2 as pre
    basis = get_filter_basis((3, 4), "piecewise linear")
    times = []
    for i in range(reps + 1):
        tc = math.pi / 255 * (1 + 1e-12 * i)
        t0 = time.perf_counter()
        out = pre((256, 512), (256, 512), basis, "equiangular", "equiangular", tc, 1e-3, False, "mean", True)
        times.append(time.perf_counter() - t0)
    nnz = out[1].numel() if isinstance(out, tuple) else None
    print(f"torch-harmonics {V}, torch {torch.__version__}: sphere 256x512 [3,4] psi precompute "
          f"median {statistics.median(times[1:]):.4f} s (min {min(times[1:]):.4f}), nnz {nnz}")
    emit("psi_sphere_256x512", times[1:], nnz=nnz)


def irregular(n):
    from neuralop.layers.discrete_continuous_convolution import _precompute_convolution_filter_matrix
    k = torch.arange(n, dtype=torch.float64)
    pts = torch.stack([(0.618033988749895 * k) % 1.0, (0.7548776662466927 * k) % 1.0]).float()
    rc = math.sqrt(30 / (math.pi * n))
    q = torch.full((n,), 1.0 / n)
    t0 = time.perf_counter()
    idx, vals = _precompute_convolution_filter_matrix(pts, pts, [3, 4], q, radius_cutoff=rc)
    dt = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"neuralop irregular psi, n={n}, rc={rc:.5f}: {dt:.2f} s, nnz {vals.numel()}, peak RSS {rss:.2f} GB")
    emit(f"psi_cloud_{n}", [dt], nnz=vals.numel(), peak_rss_gb=rss)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--irregular", type=int, default=0, help="also time neuralop's irregular precompute at n points")
    ap.add_argument("--no-sphere", action="store_true", help="skip the sphere precompute")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5, help="sphere runs after the warm-up")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if not a.no_sphere:
        sphere(a.repeats)
    if a.irregular:
        irregular(a.irregular)
