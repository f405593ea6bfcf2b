"""Reference timings for the local layers benches (crates/layers/benches/local.rs).

Run by hand in the reference venv (neuraloperator 2.0.0, torch-harmonics 0.7.4, torch 2.11.0):

    ~/.cache/lno/venv-ref/bin/python tools/bench_reference_layers.py

Times forward + backward (sum of the output, input requiring grad) in float32 on the CPU with
torch's default thread count, median of 10 runs after 2 warm-ups:

* FiniteDifferenceConvolution(32, 32, n_dim=2, kernel_size=3, periodic) on (8, 32, 128, 128);
* the LocalNO local branch at 64², hidden 32, batch 8: FD (grid_width 1) plus
  EquidistantDiscreteContinuousConv2d(kernel_shape=[3, 4], radius_cutoff = 3 cells of [2, 2]).
"""

import statistics
import time

import torch

from neuralop.layers.differential_conv import FiniteDifferenceConvolution
from neuralop.layers.discrete_continuous_convolution import EquidistantDiscreteContinuousConv2d


def timeit(fn, reps=10, warm=2):
    for _ in range(warm):
        fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def fwd_bwd(x, f):
    def run():
        y = f(x)
        y.sum().backward()

    return run


print("torch", torch.__version__, "threads", torch.get_num_threads())

fd = FiniteDifferenceConvolution(32, 32, 2, kernel_size=3, padding="periodic")
x = torch.randn(8, 32, 128, 128, requires_grad=True)
t = timeit(fwd_bwd(x, lambda x: fd(x, 1.0)))
print(f"fd_conv_fwd_bwd_8x32x128x128_k3: {t:.4f} s")

fd64 = FiniteDifferenceConvolution(32, 32, 2, kernel_size=3, padding="periodic")
disco = EquidistantDiscreteContinuousConv2d(
    32, 32, in_shape=(64, 64), out_shape=(64, 64), kernel_shape=[3, 4], radius_cutoff=3 * 2 / 64
)
x = torch.randn(8, 32, 64, 64, requires_grad=True)
t = timeit(fwd_bwd(x, lambda x: fd64(x, 1.0) + disco(x)))
print(f"local_branch_fwd_bwd_8x32x64x64 (FD + equidistant DISCO): {t:.4f} s")
