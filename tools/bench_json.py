"""Machine-readable results of the reference timing scripts, read by `cargo xtask bench`.

Every `tools/bench_reference_*.py` script keeps its human-readable lines and, for each workload it
times, also prints one line `LNO_BENCH_RESULT {json}` with the workload key, the median and
minimum wall time in seconds, the number of timed runs and the reference stack's versions.
xtask/src/bench/report.rs parses these lines; the key names match its workload table.
"""

import json
import statistics

PREFIX = "LNO_BENCH_RESULT "


def stack():
    """Versions of the reference stack this interpreter runs (whatever of it is importable)."""
    parts = {}
    for module, name in (("torch", "torch"), ("torch_harmonics", "torch-harmonics"), ("neuralop", "neuraloperator"),
                         ("numpy", "numpy"), ("scipy", "scipy")):
        try:
            parts[name] = __import__(module).__version__
        except Exception:  # not installed in this venv: not part of the stack
            pass
    return parts


def emit(workload, times_s, **extra):
    """Prints the result line for `workload` from the list of timed runs (seconds)."""
    record = {
        "workload": workload,
        "median_s": statistics.median(times_s),
        "min_s": min(times_s),
        "runs": len(times_s),
        "stack": stack(),
    }
    record.update(extra)
    print(PREFIX + json.dumps(record), flush=True)


def synchronize(device):
    """Waits for queued GPU work, so that wall times include it (no-op on the CPU)."""
    if str(device).startswith("cuda"):
        import torch

        torch.cuda.synchronize()
