"""Reference timings for the local layers benches (crates/layers/benches/local.rs).

Run by hand in the reference venv (neuraloperator 2.0.0, torch-harmonics 0.7.4, torch 2.11.0):

    ~/.cache/lno/venv-ref/bin/python tools/bench_reference_layers.py [--threads 2] [--only fd]

Times forward + backward (sum of the output, input requiring grad) in float32, median of
`--repeats` runs after 2 warm-ups (`--device cuda` synchronises before reading the clock):

* fd: FiniteDifferenceConvolution(32, 32, n_dim=2, kernel_size=3, periodic) on (8, 32, 128, 128);
* local-branch: the LocalNO local branch at 64², hidden 32, batch 8: FD (grid_width 1) plus
  EquidistantDiscreteContinuousConv2d(kernel_shape=[3, 4], radius_cutoff = 3 cells of [2, 2]);
* disco-grid: that regular-grid DISCO convolution alone.

Each workload also prints a `LNO_BENCH_RESULT` JSON line (tools/bench_json.py) for
`cargo xtask bench`.
"""

import argparse
import statistics
import time

import torch

from bench_json import emit, synchronize
from neuralop.layers.differential_conv import FiniteDifferenceConvolution
from neuralop.layers.discrete_continuous_convolution import EquidistantDiscreteContinuousConv2d


def timeit(fn, reps, device, warm=2):
    for _ in range(warm):
        fn()
    synchronize(device)
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        synchronize(device)
        ts.append(time.perf_counter() - t0)
    return ts


def fwd_bwd(x, f):
    def run():
        y = f(x)
        y.sum().backward()

    return run


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--only", choices=["fd", "local-branch", "disco-grid"], default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    print("torch", torch.__version__, "threads", torch.get_num_threads())

    def report(key, label, ts):
        print(f"{label}: {statistics.median(ts):.4f} s")
        emit(key, ts, device=args.device, threads=torch.get_num_threads())

    if args.only in (None, "fd"):
        fd = FiniteDifferenceConvolution(32, 32, 2, kernel_size=3, padding="periodic").to(dev)
        x = torch.randn(8, 32, 128, 128, device=dev, requires_grad=True)
        ts = timeit(fwd_bwd(x, lambda x: fd(x, 1.0)), args.repeats, dev)
        report("fd_conv", "fd_conv_fwd_bwd_8x32x128x128_k3", ts)

    if args.only in (None, "local-branch", "disco-grid"):
        disco = EquidistantDiscreteContinuousConv2d(
            32, 32, in_shape=(64, 64), out_shape=(64, 64), kernel_shape=[3, 4], radius_cutoff=3 * 2 / 64
        ).to(dev)
        x = torch.randn(8, 32, 64, 64, device=dev, requires_grad=True)
        if args.only in (None, "local-branch"):
            fd64 = FiniteDifferenceConvolution(32, 32, 2, kernel_size=3, padding="periodic").to(dev)
            ts = timeit(fwd_bwd(x, lambda x: fd64(x, 1.0) + disco(x)), args.repeats, dev)
            report("local_branch", "local_branch_fwd_bwd_8x32x64x64 (FD + equidistant DISCO)", ts)
        if args.only in (None, "disco-grid"):
            ts = timeit(fwd_bwd(x, disco), args.repeats, dev)
            report("disco_grid", "disco_grid_fwd_bwd_8x32x64x64_k34 (equidistant DISCO)", ts)


if __name__ == "__main__":
    main()
