#!/usr/bin/env python3
"""Times the FNO reference Navier–Stokes generator on this CPU, for docs/benchmarks.md.

A re-implementation, written for lno from the description in
shared/reference/data-recipes.md §4.2, of FNO's `data_generation/navier_stokes/ns_2d.py`:
vorticity form on [0,1]², rfft2 pseudo-spectral, 2/3 dealiasing of the advection term,
forward Euler for advection and forcing, Crank–Nicolson for viscosity, dt = 1e-4,
forcing 0.1(sin 2π(x+y) + cos 2π(x+y)), initial vorticity from the GRF with
α = 2.5, τ = 7, σ = 7^1.5. One simulated time unit is 10⁴ steps; this script times a
few hundred steps and reports the median per step and the implied time per time unit.

Usage (PyTorch 2.11.0 in its own venv, as the rest of lno's reference timings):
    python3 -m venv /tmp/venv-ns && /tmp/venv-ns/bin/pip install torch==2.11.0 numpy
    /tmp/venv-ns/bin/python tools/bench_reference_ns.py --threads 2 [--dtype float64]
    /tmp/venv-ns/bin/python tools/bench_reference_ns.py --backend numpy
    /tmp/venv-ns/bin/python tools/bench_reference_ns.py --golden   # values for the Rust test

Each run also prints a `LNO_BENCH_RESULT` JSON line (tools/bench_json.py) with the per-step
times, for `cargo xtask bench`.

`--golden` runs the reference step in float64 at 32², ν = 1e-3, Δt = 1e-3 for 100 steps from
ω₀ = sin 2πx cos 4πy + ½ cos 2π(3x + y) with the FNO forcing, and prints ω at a few grid
points; `tests/navier_stokes.rs` checks lno's Euler/CN scheme against them.
"""

import argparse
import math
import statistics
import time

import numpy as np

from bench_json import emit


def wavenumbers(n):
    """Integer wavenumbers of the rfft2 layout: kx over rows (full), ky over columns (half)."""
    k = np.concatenate([np.arange(0, n // 2), np.arange(-n // 2, 0)])
    kx = np.repeat(k[:, None], n // 2 + 1, axis=1)
    ky = np.repeat(np.arange(0, n // 2 + 1)[None, :], n, axis=0)
    return kx, ky


def grf_sample(n, rng, alpha=2.5, tau=7.0):
    """FNO's periodic GRF: sqrt-eigenvalues n²·√2·σ·(4π²|k|² + τ²)^(−α/2), k = 0 dropped."""
    sigma = tau ** (0.5 * (2 * alpha - 2))
    k = np.concatenate([np.arange(0, n // 2), np.arange(-n // 2, 0)])
    kx, ky = np.meshgrid(k, k, indexing="ij")
    sqrt_eig = n * n * math.sqrt(2.0) * sigma * (4 * math.pi**2 * (kx**2 + ky**2) + tau**2) ** (-alpha / 2)
    sqrt_eig[0, 0] = 0.0
    xi = rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))
    return np.real(np.fft.ifft2(sqrt_eig * xi))


def forcing(n):
    x = np.arange(n) / n
    xx, yy = np.meshgrid(x, x, indexing="ij")
    return 0.1 * (np.sin(2 * np.pi * (xx + yy)) + np.cos(2 * np.pi * (xx + yy)))


class TorchNs:
    """The reference step with torch.fft (FNO's generator runs in PyTorch)."""

    def __init__(self, w0, f, visc, dt, dtype):
        import torch

        self.torch = torch
        n = w0.shape[-1]
        kx, ky = wavenumbers(n)
        self.kx = torch.tensor(kx, dtype=dtype)
        self.ky = torch.tensor(ky, dtype=dtype)
        lap = 4 * math.pi**2 * (kx**2 + ky**2)
        lap[0, 0] = 1.0
        self.lap = torch.tensor(lap, dtype=dtype)
        cutoff = (2.0 / 3.0) * (n // 2)
        self.dealias = torch.tensor((np.abs(kx) <= cutoff) & (np.abs(ky) <= cutoff), dtype=dtype)
        self.w_h = torch.fft.rfft2(torch.tensor(w0, dtype=dtype))
        self.f_h = torch.fft.rfft2(torch.tensor(f, dtype=dtype))
        self.n, self.visc, self.dt = n, visc, dt
        self.two_pi_i = 2j * math.pi

    def step(self):
        torch, n = self.torch, self.n
        w_h = self.w_h
        psi_h = w_h / self.lap
        u = torch.fft.irfft2(self.two_pi_i * self.ky * psi_h, s=(n, n))
        v = torch.fft.irfft2(-self.two_pi_i * self.kx * psi_h, s=(n, n))
        w_x = torch.fft.irfft2(self.two_pi_i * self.kx * w_h, s=(n, n))
        w_y = torch.fft.irfft2(self.two_pi_i * self.ky * w_h, s=(n, n))
        f_h = self.dealias * torch.fft.rfft2(u * w_x + v * w_y)
        half = 0.5 * self.dt * self.visc * self.lap
        self.w_h = (-self.dt * f_h + self.dt * self.f_h + (1.0 - half) * w_h) / (1.0 + half)

    def vorticity(self):
        return self.torch.fft.irfft2(self.w_h, s=(self.n, self.n)).numpy()


class NumpyNs:
    """The same step with numpy.fft (float64), the other common reference stack."""

    def __init__(self, w0, f, visc, dt):
        n = w0.shape[-1]
        self.kx, self.ky = wavenumbers(n)
        self.lap = 4 * math.pi**2 * (self.kx**2 + self.ky**2)
        self.lap[0, 0] = 1.0
        cutoff = (2.0 / 3.0) * (n // 2)
        self.dealias = ((np.abs(self.kx) <= cutoff) & (np.abs(self.ky) <= cutoff)).astype(float)
        self.w_h = np.fft.rfft2(w0)
        self.f_h = np.fft.rfft2(f)
        self.n, self.visc, self.dt = n, visc, dt

    def step(self):
        n, w_h = self.n, self.w_h
        psi_h = w_h / self.lap
        u = np.fft.irfft2(2j * np.pi * self.ky * psi_h, s=(n, n))
        v = np.fft.irfft2(-2j * np.pi * self.kx * psi_h, s=(n, n))
        w_x = np.fft.irfft2(2j * np.pi * self.kx * w_h, s=(n, n))
        w_y = np.fft.irfft2(2j * np.pi * self.ky * w_h, s=(n, n))
        f_h = self.dealias * np.fft.rfft2(u * w_x + v * w_y)
        half = 0.5 * self.dt * self.visc * self.lap
        self.w_h = (-self.dt * f_h + self.dt * self.f_h + (1.0 - half) * w_h) / (1.0 + half)

    def vorticity(self):
        return np.fft.irfft2(self.w_h, s=(self.n, self.n))


GOLDEN_POINTS = [(0, 0), (3, 17), (10, 5), (25, 30)]


def golden():
    import torch

    n, visc, dt, steps = 32, 1e-3, 1e-3, 100
    x = np.arange(n) / n
    xx, yy = np.meshgrid(x, x, indexing="ij")
    w0 = np.sin(2 * np.pi * xx) * np.cos(4 * np.pi * yy) + 0.5 * np.cos(2 * np.pi * (3 * xx + yy))
    solver = TorchNs(w0, forcing(n), visc, dt, torch.float64)
    for _ in range(steps):
        solver.step()
    w = solver.vorticity()
    for i, j in GOLDEN_POINTS:
        print(f"(({i}, {j}), {w[i, j]:.15e}),")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--visc", type=float, default=1e-3)
    parser.add_argument("--dt", type=float, default=1e-4)
    parser.add_argument("--steps", type=int, default=100, help="steps per timed repeat")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--backend", choices=["torch", "numpy"], default="torch")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--golden", action="store_true", help="print golden values and exit")
    args = parser.parse_args()
    if args.golden:
        golden()
        return

    rng = np.random.default_rng(0)
    w0 = grf_sample(args.n, rng)
    f = forcing(args.n)
    if args.backend == "torch":
        import torch

        torch.set_num_threads(args.threads)
        dtype = torch.float32 if args.dtype == "float32" else torch.float64
        solver = TorchNs(w0, f, args.visc, args.dt, dtype)
        label = f"torch {torch.__version__} {args.dtype}, {torch.get_num_threads()} threads"
    else:
        solver = NumpyNs(w0, f, args.visc, args.dt)
        label = f"numpy {np.__version__} float64"

    for _ in range(20):  # warm-up: plans, caches, allocator
        solver.step()
    per_step = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        for _ in range(args.steps):
            solver.step()
        per_step.append((time.perf_counter() - start) / args.steps)
    median = statistics.median(per_step)
    steps_per_unit = round(1.0 / args.dt)
    assert np.all(np.isfinite(solver.vorticity())), "reference run diverged"
    print(f"reference NS {args.n}² ({label}), Euler/CN dt = {args.dt:g}")
    print(f"  per step: median {median * 1e3:.3f} ms (min {min(per_step) * 1e3:.3f} ms, {args.repeats} × {args.steps} steps)")
    print(f"  per simulated time unit ({steps_per_unit} steps): {median * steps_per_unit:.2f} s")
    emit(f"ns_{args.n}_euler_cn_step", per_step, backend=args.backend, dtype=args.dtype, steps_per_unit=steps_per_unit)


if __name__ == "__main__":
    main()
