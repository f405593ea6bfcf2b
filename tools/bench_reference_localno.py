"""Reference timings for the grid-model benches (crates/models/benches/local_no.rs).

Run by hand in the reference venv (neuraloperator 2.0.0, torch-harmonics 0.7.4, torch 2.11.0):

    ~/.cache/lno/venv-ref/bin/python tools/bench_reference_localno.py [--threads 2] [--repeats 10] [--n 64]

Float32 on the CPU, median of `--repeats` runs after 3 warm-ups. The configuration matches the
Rust bench: 64 x 64 grid, batch 8, 1 input and 1 output channel, hidden 32, 4 layers,
n_modes (16, 16), FD kernel 3, DISCO kernel_shape [3, 4] with radius_cutoff = 3 cells of the
[2, 2] domain (3 * 2 / 64), periodic padding, grid positional embedding, lifting/projection
ratio 2, linear skips, no norm (all other arguments at neuralop's defaults):

* one LocalNOBlocks layer, forward + backward of the sum (input requiring grad);
* a LocalNO training step: forward, MSE loss, backward, torch.optim.AdamW step, zero_grad;
* the same step for neuralop's FNO (no local branches).

`--n 128` runs the same at 128² (cutoff 3 cells = 3 * 2 / 128); `--only` picks one workload;
`--device cuda` synchronises before reading the clock. Each workload also prints a
`LNO_BENCH_RESULT` JSON line (tools/bench_json.py) for `cargo xtask bench`.
"""

import argparse
import statistics
import time

import torch

from bench_json import emit, synchronize
from neuralop.models import FNO, LocalNO
from neuralop.utils import count_model_params


def timeit(fn, repeats, device, warm=3):
    for _ in range(warm):
        fn()
    synchronize(device)
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        synchronize(device)
        ts.append(time.perf_counter() - t0)
    return ts


def train_step(model, x, y, opt):
    def run():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()

    return run


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--n", type=int, default=64, help="grid size n (n x n)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--only", choices=["block", "localno", "fno"], default=None)
    args = ap.parse_args()
    dev = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    print("torch", torch.__version__, "threads", torch.get_num_threads())
    torch.manual_seed(0)

    n, hidden, batch = args.n, 32, 8
    local = LocalNO(
        n_modes=(16, 16),
        in_channels=1,
        out_channels=1,
        hidden_channels=hidden,
        default_in_shape=(n, n),
        n_layers=4,
        disco_kernel_shape=[3, 4],
        radius_cutoff=3 * 2 / n,
        domain_length=[2, 2],
    ).to(dev)
    fno = FNO(n_modes=(16, 16), in_channels=1, out_channels=1, hidden_channels=hidden, n_layers=4).to(dev)
    # count_model_params counts a complex weight as two real parameters, as lno does.
    print("parameters: LocalNO", count_model_params(local), "FNO", count_model_params(fno))

    x = torch.randn(batch, 1, n, n, device=dev)
    y = torch.randn(batch, 1, n, n, device=dev)

    h = torch.randn(batch, hidden, n, n, device=dev, requires_grad=True)

    def block():
        local.local_no_blocks(h, 0).sum().backward()

    def report(key, ts):
        print(f"{key}: median {statistics.median(ts):.4f} s (min {min(ts):.4f})")
        emit(key, ts, device=args.device, threads=torch.get_num_threads())

    if args.only in (None, "block"):
        report(f"localno_block_fwd_bwd_8x32x{n}x{n}", timeit(block, args.repeats, dev))

    for name, model in [("localno", local), ("fno", fno)]:
        if args.only not in (None, name):
            continue
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        report(f"{name}_train_step_8x1x{n}x{n}_h32", timeit(train_step(model, x, y, opt), args.repeats, dev))


if __name__ == "__main__":
    main()
