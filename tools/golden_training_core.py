"""Prints the torch 2.11 values inlined in crates/models/tests/training_core.rs.

Run with the reference venv: ~/.cache/lno/venv-ref/bin/python tools/golden_training_core.py
"""

import torch

torch.set_default_dtype(torch.float64)

# AdamW on sum(c * (w - t)^2), 25 steps.
c = torch.tensor([1.0, 3.0, 0.5, 2.0, 10.0])
t = torch.tensor([0.3, -1.0, 2.0, 0.0, 0.7])
w = torch.nn.Parameter(torch.tensor([0.1, 0.2, -0.3, 0.4, -0.5]))
opt = torch.optim.AdamW([w], lr=0.05, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.1)
for _ in range(25):
    opt.zero_grad()
    (c * (w - t) ** 2).sum().backward()
    opt.step()
print("adamw", [repr(x) for x in w.detach().tolist()])


def plateau(metrics, base, **kw):
    p = torch.nn.Parameter(torch.zeros(1))
    o = torch.optim.SGD([p], lr=base)
    s = torch.optim.lr_scheduler.ReduceLROnPlateau(o, **kw)
    out = []
    for m in metrics:
        s.step(m)
        out.append(o.param_groups[0]["lr"])
    return out


print("plateau a", plateau([1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8], 1.0,
                           factor=0.5, patience=2, cooldown=1, threshold=0.0))
print("plateau b", plateau([3.0, 2.0, 2.5, 2.4, 2.6, 1.0, 1.1, 1.2, 1.3], 0.01, patience=1))
