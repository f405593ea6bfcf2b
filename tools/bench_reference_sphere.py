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

Usage:
    ~/.cache/lno/venv-th093/bin/python tools/bench_reference_sphere.py --threads 2
    ~/.cache/lno/venv-ref/bin/python tools/bench_reference_sphere.py --threads 2 --skip-disco-slow
"""

import argparse
import statistics
import time

import torch
import torch_harmonics as th


def timed(fn, repeats):
    for _ in range(2):
        fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), min(ts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--skip-disco-slow", action="store_true",
                    help="skip DISCO when torch-harmonics has no compiled CPU kernel (0.7.4: ~26 s per step)")
    ap.add_argument("--only", choices=["disco", "sht"], default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, torch-harmonics {th.__version__}, threads {torch.get_num_threads()}")

    if args.only in (None, "disco") and not (args.skip_disco_slow and th.__version__.startswith("0.7")):
        b, c, h, w = 4, 32, 128, 256
        conv = th.DiscreteContinuousConvS2(c, c, (h, w), (h, w), (3, 4), bias=False)
        x = torch.randn(b, c, h, w, requires_grad=True)

        def fwd():
            with torch.no_grad():
                conv(x)

        def fwd_bwd():
            y = conv(x)
            y.square().sum().backward()
            x.grad = None
            conv.weight.grad = None

        for name, fn in [("disco forward", fwd), ("disco forward+backward", fwd_bwd)]:
            med, mn = timed(fn, args.repeats)
            print(f"{name} {h}x{w} b{b} {c}->{c} [3,4]: median {med:.4f} s, min {mn:.4f} s")

    if args.only in (None, "sht"):
        b, c, h, w = 4, 32, 256, 512
        sht = th.RealSHT(h, w, grid="equiangular")
        isht = th.InverseRealSHT(h, w, grid="equiangular")
        x = torch.randn(b, c, h, w)

        def round_trip():
            with torch.no_grad():
                isht(sht(x))

        med, mn = timed(round_trip, args.repeats)
        print(f"sht round trip {h}x{w} b{b}x{c} (lmax {sht.lmax}, mmax {sht.mmax}): median {med:.4f} s, min {mn:.4f} s")


if __name__ == "__main__":
    main()
