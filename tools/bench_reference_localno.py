"""Reference timings for the grid-model benches (crates/models/benches/local_no.rs).

Run by hand in the reference venv (neuraloperator 2.0.0, torch-harmonics 0.7.4, torch 2.11.0):

    ~/.cache/lno/venv-ref/bin/python tools/bench_reference_localno.py [--threads 2] [--repeats 10]

Float32 on the CPU, median of `--repeats` runs after 3 warm-ups. The configuration matches the
Rust bench: 64 x 64 grid, batch 8, 1 input and 1 output channel, hidden 32, 4 layers,
n_modes (16, 16), FD kernel 3, DISCO kernel_shape [3, 4] with radius_cutoff = 3 cells of the
[2, 2] domain (3 * 2 / 64), periodic padding, grid positional embedding, lifting/projection
ratio 2, linear skips, no norm (all other arguments at neuralop's defaults):

* one LocalNOBlocks layer, forward + backward of the sum (input requiring grad);
* a LocalNO training step: forward, MSE loss, backward, torch.optim.AdamW step, zero_grad;
* the same step for neuralop's FNO (no local branches).
"""

import argparse
import statistics
import time

import torch

from neuralop.models import FNO, LocalNO
from neuralop.utils import count_model_params


def timeit(fn, repeats, warm=3):
    for _ in range(warm):
        fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), min(ts)


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
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print("torch", torch.__version__, "threads", torch.get_num_threads())
    torch.manual_seed(0)

    n, hidden, batch = 64, 32, 8
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
    )
    fno = FNO(n_modes=(16, 16), in_channels=1, out_channels=1, hidden_channels=hidden, n_layers=4)
    # count_model_params counts a complex weight as two real parameters, as lno does.
    print("parameters: LocalNO", count_model_params(local), "FNO", count_model_params(fno))

    x = torch.randn(batch, 1, n, n)
    y = torch.randn(batch, 1, n, n)

    h = torch.randn(batch, hidden, n, n, requires_grad=True)

    def block():
        local.local_no_blocks(h, 0).sum().backward()

    med, best = timeit(block, args.repeats)
    print(f"localno_block_fwd_bwd_8x32x64x64: median {med:.4f} s (min {best:.4f})")

    for name, model in [("localno", local), ("fno", fno)]:
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        med, best = timeit(train_step(model, x, y, opt), args.repeats)
        print(f"{name}_train_step_8x1x64x64_h32: median {med:.4f} s (min {best:.4f})")


if __name__ == "__main__":
    main()
