"""Why lno-layers' pointwise maps are a broadcast `bmm` (docs/layers.md, "Blocks").

Times forward + backward of `W @ x` for a 2-D weight `W (32, 32)` and a 3-D input
`x (8, 32, 4096)` (a LocalNO pointwise layer at 64², batch 8, hidden 32), both requiring grad,
two ways: `W.matmul(x)`, which folds the batch into rows and copies, and
`W.expand(8, -1, -1).bmm(x)`, which does not; then lists the ops of one `matmul` pass with
PyTorch's profiler (the `aten::copy_` calls). Run with the reference venv's torch 2.11:

    ~/.cache/lno/venv-ref/bin/python tools/bench_matmul_fold.py --threads 2
"""

import argparse
import time

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    w = torch.randn(32, 32, requires_grad=True)
    x = torch.randn(8, 32, 4096, requires_grad=True)
    ways = {
        "matmul": lambda: w.matmul(x),
        "bmm": lambda: w.unsqueeze(0).expand(8, -1, -1).bmm(x),
    }
    # Two rounds each, interleaved, so that drift shows as a spread rather than a bias.
    for name in ["matmul", "bmm", "matmul", "bmm"]:
        f = ways[name]
        for _ in range(5):
            f().sum().backward()
        t = time.perf_counter()
        for _ in range(args.repeats):
            f().sum().backward()
        print(f"{name}: {(time.perf_counter() - t) / args.repeats * 1e3:.2f} ms per forward + backward")
    with torch.autograd.profiler.profile() as prof:
        ways["matmul"]().sum().backward()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=8))


if __name__ == "__main__":
    main()
