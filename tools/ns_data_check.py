"""Navier–Stokes data-set check behind docs/results.md ("Why the quick profile changed").

For each shard of an `lno gen-data navier-stokes` data set (fields `a` [S, n, n] and
`u` [S, T, n, n]) prints the identity-map error of the one-step pairs ω(t) → ω(t + Δt), i.e.
how much the field changes per step, and the shell-summed enstrophy spectrum of the last
snapshot, which shows whether the data are resolved (a decaying tail) or grid noise (a flat
one). Needs only numpy (e.g. ~/.cache/lno/venv-ref/bin/python):

    python tools/ns_data_check.py data/navier-stokes/quick/train/shard-00000.safetensors
"""

import json
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "U8": np.uint8}
SHELLS = [1, 2, 4, 8, 12, 16, 20, 24, 28, 31]


def load_safetensors(path):
    """The tensors of a safetensors file as numpy arrays (no safetensors package needed)."""
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + n])
    out = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        start, end = spec["data_offsets"]
        data = np.frombuffer(raw[8 + n + start : 8 + n + end], dtype=DTYPES[spec["dtype"]])
        out[name] = data.reshape(spec["shape"])
    return out


def main(paths):
    for path in paths:
        d = load_safetensors(path)
        seq = np.concatenate([d["a"][:, None], d["u"]], 1).astype(np.float64)
        x, y = seq[:, :-1], seq[:, 1:]
        rel = np.sqrt(((y - x) ** 2).sum((2, 3)) / (y**2).sum((2, 3)))
        print(f"{path}: identity-map rel. L2 {rel.mean():.3f} (mean over pairs)")
        last = d["u"][:, -1].astype(np.float64)
        n = last.shape[-1]
        power = np.abs(np.fft.rfft2(last)) ** 2
        k = np.hypot(np.fft.fftfreq(n, 1 / n)[:, None], np.fft.rfftfreq(n, 1 / n)[None, :])
        spec = [power[:, (k >= s - 0.5) & (k < s + 0.5)].sum(-1).mean() for s in SHELLS]
        print("  enstrophy spectrum, shells k = " + ", ".join(map(str, SHELLS)) + ":")
        print("  " + " ".join(f"{s:.2e}" for s in spec))


if __name__ == "__main__":
    main(sys.argv[1:])
