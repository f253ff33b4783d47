#!/usr/bin/env python3
"""Writes tests/golden/optim/optim.json: parameter trajectories of HF Adafactor and torch Adam/AdamW
for fixed gradients, the reference for train/optimizer.cpp.  python3 tests/golden/gen_optim_goldens.py"""
import json
import os

import torch
from transformers.optimization import Adafactor

torch.manual_seed(0)
out = {"cases": []}


def run(name, make_opt, shape, steps=6, lrs=None):
    p0 = torch.randn(*shape) * 0.5
    grads = [torch.randn(*shape) * (0.1 + 0.3 * i) for i in range(steps)]
    p = torch.nn.Parameter(p0.clone())
    opt = make_opt([p])
    traj = []
    for i, g in enumerate(grads):
        if lrs is not None:
            for gr in opt.param_groups:
                gr["lr"] = lrs[i]
        p.grad = g.clone()
        opt.step()
        traj.append(p.detach().flatten().tolist())
    out["cases"].append({"name": name, "shape": list(shape), "init": p0.flatten().tolist(),
                         "grads": [g.flatten().tolist() for g in grads], "lrs": lrs, "params": traj})


paper = dict(lr=0.3, scale_parameter=False, relative_step=False, warmup_init=False, decay_rate=-0.8,
             clip_threshold=1.0, beta1=None, weight_decay=1e-5)
run("adafactor_paper_2d", lambda ps: Adafactor(ps, **paper), (7, 11))
run("adafactor_paper_1d", lambda ps: Adafactor(ps, **paper), (13,))
run("adafactor_beta1_scaled", lambda ps: Adafactor(ps, **{**paper, "beta1": 0.9, "scale_parameter": True}), (5, 9))
run("adafactor_lr_schedule", lambda ps: Adafactor(ps, **paper), (4, 6), lrs=[0.05, 0.1, 0.15, 0.2, 0.25, 0.3])
run("adam", lambda ps: torch.optim.Adam(ps, lr=1e-2), (7, 11))
run("adamw", lambda ps: torch.optim.AdamW(ps, lr=1e-2, weight_decay=0.01), (7, 11))

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optim", "optim.json")
with open(path, "w") as f:
    json.dump(out, f)
print("wrote", path, "torch", torch.__version__)
