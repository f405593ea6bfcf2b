#!/usr/bin/env python3
"""Times the reference sphere layers on this CPU, for docs/benchmarks.md (lno-layers, sphere).

Workloads (the same as `cargo bench -p lno-layers --bench sphere_layers`):
  * sphere DISCO forward and forward + backward: 128×256 → 128×256, batch 4, 32 → 32 channels,
    kernel [3, 4] (piecewise linear), equiangular grids, default cutoff;
  * RealSHT + InverseRealSHT round trip: 256×512 equiangular, batch 4 × 32 channels, float32,
    forward + inverse (no backward).

The reference is torch-harmonics (0.9.3 with its C++ CPU DISCO kernels, or 0.7.4 with the
pure-PyTorch contraction); the loss for the backward is `y.square().sum()`. Median and minimum of
`--repeats` runs after two warm-ups, `torch.set_num_threads(--threads)`.

`--device cuda` runs on the GPU and synchronises before reading the clock. Each workload also
prints a `LNO_BENCH_RESULT` JSON line (tools/bench_json.py) for `cargo xtask bench`.

Usage:
    ~/.cache/lno/venv-th093/bin/python tools/bench_reference_sphere.py --threads 2
    ~/.cache/lno/venv-ref/bin/python tools/bench_reference_sphere.py --threads 2 --skip-disco-slow
"""

import argparse
import statistics
import time

import torch
import torch_harmonics as th

from bench_json import emit, synchronize


def timed(fn, repeats, device):
    for _ in range(2):
        fn()
    synchronize(device)
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        synchronize(device)
        ts.append(time.perf_counter() - t0)
    return ts


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--skip-disco-slow", action="store_true",
                    help="skip DISCO when torch-harmonics has no compiled CPU kernel (0.7.4: ~26 s per step)")
    ap.add_argument("--only", choices=["disco", "disco-forward", "disco-forward-backward", "sht"], default=None)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    args = ap.parse_args()
    dev = torch.device(args.device)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, torch-harmonics {th.__version__}, threads {torch.get_num_threads()}")

    if args.only in (None, "disco", "disco-forward", "disco-forward-backward") and not (args.skip_disco_slow and th.__version__.startswith("0.7")):
        b, c, h, w = 4, 32, 128, 256
        conv = th.DiscreteContinuousConvS2(c, c, (h, w), (h, w), (3, 4), bias=False).to(dev)
        x = torch.randn(b, c, h, w, device=dev, requires_grad=True)

        def fwd():
            with torch.no_grad():
                conv(x)

        def fwd_bwd():
            y = conv(x)
            y.square().sum().backward()
            x.grad = None
            conv.weight.grad = None

        for name, key, fn in [("disco forward", "disco-forward", fwd), ("disco forward+backward", "disco-forward-backward", fwd_bwd)]:
            if args.only not in (None, "disco", key):
                continue
            ts = timed(fn, args.repeats, dev)
            med, mn = statistics.median(ts), min(ts)
            print(f"{name} {h}x{w} b{b} {c}->{c} [3,4]: median {med:.4f} s, min {mn:.4f} s")
            emit(f"sphere_{key.replace('-', '_')}", ts, device=args.device, threads=torch.get_num_threads())

    if args.only in (None, "sht"):
        b, c, h, w = 4, 32, 256, 512
        sht = th.RealSHT(h, w, grid="equiangular").to(dev)
        isht = th.InverseRealSHT(h, w, grid="equiangular").to(dev)
        x = torch.randn(b, c, h, w, device=dev)

        def round_trip():
            with torch.no_grad():
                isht(sht(x))

        ts = timed(round_trip, args.repeats, dev)
        med, mn = statistics.median(ts), min(ts)
        emit("sphere_sht_round_trip", ts, device=args.device, threads=torch.get_num_threads())
        print(f"sht round trip {h}x{w} b{b}x{c} (lmax {sht.lmax}, mmax {sht.mmax}): median {med:.4f} s, min {mn:.4f} s")


if __name__ == "__main__":
    main()
