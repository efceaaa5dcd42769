"""Sampler tuning on a trained pack, in PyTorch (the same update rules as @ppgn/core's sampler, batched, so a
grid of settings runs in minutes on CPU). The chosen settings are confirmed with the studio's own sampler by
`npm run eval`, which is what the model card reports.

    python3 -m ppgn_train.tune --pack models/emoji64 --dataset FILE.u8.bin [--chains 6] [--steps 100]
                               [--classes 0,5,9] [--grid ppgn|ppgn2|long|fast|fast2|dgnam] [--threads 2] [--schedule N]
Prints one JSON line per setting: held-out classifier accuracy of the samples (× real), diversity in the
classifier's feature space (mean pairwise distance, × real), p(y) under E.
"""
import argparse
import itertools
import json
import math
import os
import time

import torch
import torch.nn.functional as F

from .netspec import load_net
from .train import Data, trainable


def lr_at(c, step):
    t = min(step / max(c["steps"] - 1, 1), 1.0)
    return c["lr"] + (c["lrEnd"] - c["lr"]) * t


def sample(nets, mode, c, y, steps, g, clip, h0=None, ctx=None):
    E, G = nets["E"], nets["G"]
    B = y.shape[0]
    D = nets["dim"]
    h = torch.randn(B, D, generator=g) if h0 is None else h0.clone()
    h = h.clamp(clip[0], clip[1])
    for s in range(steps):
        h = h.detach().requires_grad_(True)
        if mode == "fast":
            logits, _ = nets["fastMlp"](h)
            lp = F.log_softmax(logits, 1).gather(1, y[:, None]).sum()
            (grad,) = torch.autograd.grad(lp * c["eps1"], h)
            with torch.no_grad():
                d = grad + torch.randn(h.shape, generator=g) * math.sqrt(c["eps2"])
                if c.get("fastPrior", 0) > 0:
                    r, _ = nets["hdae"](h)
                    d += c["fastPrior"] * (r - h)
                h = (h + lr_at(c, s) * d).clamp(clip[0], clip[1])
            continue
        x, _ = G(h)
        _, t = E(x, taps=["code", "logits"])
        obj = 0
        if y is not None and c.get("eps2", 0) > 0 and ctx is None:
            obj = F.log_softmax(t["logits"], 1).gather(1, y[:, None]).sum() * c["eps2"]
        if ctx is not None:
            img, m = ctx
            obj = obj - c["eps4"] * ((x - img) ** 2 * m).sum()
        (grad,) = torch.autograd.grad(obj, h) if torch.is_tensor(obj) else (torch.zeros_like(h),)
        with torch.no_grad():
            d = grad + torch.randn(h.shape, generator=g) * c["eps3"]
            if mode == "ppgn" and c["eps1"] > 0:
                d += c["eps1"] * (t["code"] - h)
            scale = lr_at(c, s) / d.abs().mean(1, keepdim=True).clamp(min=1e-12)
            keep = 1 - c.get("decay", 0) if mode == "dgnam" else 1
            h = (keep * h + scale * d).clamp(clip[0], clip[1])
    with torch.no_grad():
        x, _ = G(h.detach())
    return x


def pairwise_mean(f):
    n = f.shape[0]
    d = torch.cdist(f, f)
    return (d.sum() / (n * (n - 1))).item()


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--pack", required=True)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--chains", type=int, default=6)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--classes", default="")
    ap.add_argument("--grid", default="ppgn")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--schedule", type=int, default=0,
                    help="steps over which lr decays (default: --steps); fewer than --steps measures a live room that "
                         "keeps stepping at lrEnd after its schedule")
    ap.add_argument("--space", default="",
                    help='JSON object of setting -> list of values; the grid is their product over the pack defaults')
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    m = json.load(open(os.path.join(a.pack, "manifest.json")))
    nets = {k: load_net(os.path.join(a.pack, f"{k}.net.json")).eval() for k in ["E", "G", "hdae", "fastMlp"]}
    ev = load_net(os.path.join(a.pack, "eval", "evalC.net.json")).eval()
    trainable(False, *nets.values(), ev)
    nets["dim"] = m["code"]["dim"]
    clip = (m["code"]["min"], m["code"]["max"])
    d = Data(a.dataset)
    nc = len(d.class_names)
    classes = [int(c) for c in a.classes.split(",")] if a.classes else list(range(nc))
    y = torch.tensor([c for c in classes for _ in range(a.chains)])
    # real reference: held-out images of these classes
    sel = torch.cat([d.test[d.cls[d.test] == c][: a.chains] for c in classes])
    xr = d.batch_images(sel, "cpu")
    with torch.no_grad():
        pr = ev(xr)[0].argmax(1)
        real_acc = (pr == d.cls[sel]).float().mean().item()
        fr = ev(xr, taps=["features"])[1]["features"]
    real_div = sum(pairwise_mean(fr[d.cls[sel] == c]) for c in classes) / len(classes)
    base = m["defaults"]
    if a.space:
        space = json.loads(a.space)
        if not isinstance(space, dict) or not all(isinstance(v, list) and v for v in space.values()):
            raise SystemExit('--space must be a JSON object of setting -> non-empty list of values')
        start = dict(base.get("fast" if a.grid.startswith("fast") else "dgnam" if a.grid == "dgnam" else "classes", {}))
        start.pop("prior", None)
        grid = [dict(start, **dict(zip(space, vals))) for vals in itertools.product(*space.values())]
    elif a.grid == "ppgn2":
        grid = [dict(base["classes"], eps1=e1, eps2=e2, eps3=0.05, lr=0.1, lrEnd=0.025) for e1, e2 in
                [(0.1, 1), (0.03, 1), (0.1, 3), (0.3, 3)]]
    elif a.grid == "ppgn":
        grid = [dict(base["classes"], eps1=e1, eps3=e3, lr=lr, lrEnd=lr * le) for e1, e3, lr, le in
                itertools.product([0.3, 1.0], [0.01, 0.05], [0.05, 0.15, 0.4], [0.25])]
    elif a.grid == "long":
        # a live room: after the schedule it keeps stepping at lrEnd; does the picture hold up?
        grid = [dict(base["classes"], eps1=e1, eps3=e3) for e1, e3 in [(0.03, 0.05), (0.1, 0.05), (0.3, 0.05), (0.1, 0.02), (0.3, 0.02)]]
    elif a.grid == "dgnam":
        grid = [dict(base["classes"], eps1=0, eps3=e3, lr=lr, lrEnd=lr * 0.25, decay=dc) for e3, lr, dc in
                itertools.product([0.0, 0.05], [0.05, 0.15], [0.0, 0.01])]
    elif a.grid == "fast2":
        grid = [dict(eps1=e1, eps2=e2, fastPrior=0.3, lr=1, lrEnd=1, steps=a.steps) for e1, e2 in
                itertools.product([0.2, 0.5], [1e-3, 1e-2, 3e-2, 0.1])]
    elif a.grid == "fast":
        grid = [dict(eps1=e1, eps2=e2, fastPrior=fp, lr=1, lrEnd=1, steps=a.steps) for e1, e2, fp in
                itertools.product([0.05, 0.2], [1e-4, 1e-3], [0.0, 0.1, 0.3])]
    else:
        raise SystemExit(f"unknown grid {a.grid}")
    print(json.dumps({"real_acc": round(real_acc, 4), "real_div": round(real_div, 4), "classes": len(classes), "chains": a.chains}), flush=True)
    for c in grid:
        c = dict(c, steps=a.schedule or a.steps)
        t0 = time.time()
        g = torch.Generator().manual_seed(a.seed)
        x = sample(nets, "fast" if a.grid.startswith("fast") else "ppgn" if a.grid.startswith("ppgn") or a.grid == "long" else a.grid, c, y, a.steps, g, clip)
        with torch.no_grad():
            logits, taps = ev(x, taps=["features"])
            acc = (logits.argmax(1) == y).float().mean().item()
            pe = F.softmax(nets["E"](x, taps=["logits"])[1]["logits"], 1).gather(1, y[:, None]).mean().item()
            div = sum(pairwise_mean(taps["features"][y == cc]) for cc in classes) / len(classes)
        print(json.dumps({"cfg": c, "acc": round(acc, 4), "vs_real": round(acc / max(real_acc, 1e-9), 3),
                          "div_vs_real": round(div / max(real_div, 1e-9), 3), "pE": round(pe, 3),
                          "s": round(time.time() - t0, 1)}), flush=True)


if __name__ == "__main__":
    main()
