"""PPGN pack trainer (PyTorch): dataset file → E, G (+D), h-DAE, fast-mode MLP, style/colour plug-ins and a
held-out evaluation classifier → a model pack folder that @ppgn/core loads.

    python3 -m ppgn_train.train --dataset FILE.u8.bin --out models/emoji64 --run-dir DIR [--config emoji64]
                                [--device cpu|cuda] [--threads N] [--resume] [--steps-scale F] [--phases a,b]

Phases (each checkpointed, `--resume` continues where the run stopped):
  joint  E and G together: E classifies (class + keyword heads on the code h) while G reconstructs the image
         from a noisy h; h is kept near N(0, 1) per unit (moment matching) and E(G(h)) ≈ h (cycle), so that
         E∘G acts as the denoiser the PPGN prior term ε1·(E(G(h)) − h) needs.
  gref   E frozen; G refined with pixel + E-feature + GAN losses (the paper's Noiseless Joint recipe).
  eref   G frozen; E refined to invert the final G: G(E(x)) ≈ x in pixels and in the features of the E the phase
         started from, E still classifies, its codes stay near N(0, 1) and E(G(h)) ≈ h (optional: only configs
         that give it steps run it; the code nets hdae and fast are retrained after it, its codes being new).
  hdae   denoising autoencoder on codes (the h-DAE prior).
  fast   MLP p(y|h) on noisy codes (fast mode: G out of the loop).
  style  art-style (vendor) classifier on images (a plug-in condition G never saw).
  colour dominant-colour classifier on images (plug-in condition).
  evalC  held-out evaluation classifier: another architecture (BN + max-pool + global pooling), another
         seed, trained with stronger augmentation; used for metrics only, never for steering.
The live thread count can be changed while training by writing a number to <run-dir>/threads.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from typing import Dict, List

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .netspec import SpecNet, export_net
from .recipe import Ema, diff_augment, spectral_normalise, widen_generator
from . import configs

PHASES = ["joint", "gref", "eref", "hdae", "fast", "style", "colour", "evalC"]
# phases that change E's codes make the networks trained on codes stale: they run again after them
CODE_NETS_AFTER = {"joint": ["hdae", "fast"], "eref": ["hdae", "fast"]}


# ------------------------------------------------------------------------------------------------
# data


class Data:
    def __init__(self, bin_file: str):
        gz = bin_file.endswith(".u8.bin.gz")
        if not (bin_file.endswith(".u8.bin") or gz) or not os.path.exists(bin_file):
            raise SystemExit(f"{bin_file}: expected a dataset file <key>.u8.bin or <key>.u8.bin.gz (written by `npm run train`)")
        meta_file = bin_file[: -len(".u8.bin.gz" if gz else ".u8.bin")] + ".json"
        if not os.path.exists(meta_file):
            raise SystemExit(f"{meta_file}: missing (the dataset's metadata beside {bin_file})")
        with open(meta_file) as f:
            m = json.load(f)
        self.meta = m
        n, s = m["n"], m["size"]
        k = max(len(m["vocab"]), 1)
        if gz:  # the 64² set: 84 MB → 17 MB, small enough to carry to a GPU host
            import gzip

            with gzip.open(bin_file, "rb") as f:
                raw = np.frombuffer(f.read(), dtype=np.uint8)
        else:
            raw = np.fromfile(bin_file, dtype=np.uint8)
        off = 0

        def take(count, dtype):
            nonlocal off
            nbytes = count * np.dtype(dtype).itemsize
            a = raw[off : off + nbytes].view(dtype).copy()
            off += nbytes
            return a

        self.images = torch.from_numpy(take(n * s * s * 3, np.uint8).reshape(n, s, s, 3))
        self.cls = torch.from_numpy(take(n, "<i4").astype(np.int64))
        self.vendor = torch.from_numpy(take(n, "<i4").astype(np.int64))
        self.colour = torch.from_numpy(take(n, "<i4").astype(np.int64))
        self.keywords = torch.from_numpy(take(n * k, np.uint8).reshape(n, k).astype(np.float32))
        if off != raw.size:
            raise SystemExit(f"{bin_file}: size {raw.size} does not match its metadata ({off} bytes expected)")
        self.n, self.size = n, s
        self.train = torch.tensor(m["train"], dtype=torch.long)
        self.test = torch.tensor(m["test"], dtype=torch.long)
        self.class_names = m["classNames"]
        self.vocab = m["vocab"]
        self.vendor_names = m["vendorNames"]
        self.colour_names = m["colourNames"]
        # sampling weights over training images: class frequency ^ -0.75 (rare classes seen more often)
        counts = torch.bincount(self.cls[self.train], minlength=len(self.class_names)).float().clamp(min=1)
        self.train_weights = counts[self.cls[self.train]] ** -0.75

    def batch_images(self, idx: torch.Tensor, device) -> torch.Tensor:
        """NCHW float in [0,1]"""
        return self.images[idx].to(device).permute(0, 3, 1, 2).float().div_(255.0)

    def sample(self, g: torch.Generator, b: int, balanced=True) -> torch.Tensor:
        if balanced:
            j = torch.multinomial(self.train_weights, b, replacement=True, generator=g)
        else:
            j = torch.randint(0, len(self.train), (b,), generator=g)
        return self.train[j]


def augment(x: torch.Tensor, g: torch.Generator, shift: float, scale: float, flip: bool = False, jitter: float = 0.0,
            whole: bool = False):
    """random scale/translate (white fill), optional horizontal flip and brightness/contrast jitter. `whole`: shifts by
    whole pixels and no scaling, so every pixel is copied, not interpolated. Bilinear resampling at a fractional shift
    or scale blurs: the pictures that shift 2 / scale 0.05 give have 0.54 of the real pictures' sharpness (session 21),
    which is as soft as every G trained against such targets has drawn (0.55–0.60 × real)."""
    b = x.shape[0]
    dev = x.device
    r = lambda *s: torch.rand(*s, generator=g).to(dev)
    if whole:
        n = int(shift)
        px = lambda: torch.randint(-n, n + 1, (b,), generator=g).to(dev).float() if n > 0 else torch.zeros(b, device=dev)
        sc = torch.ones(b, device=dev)
        tx = px() * 2 / x.shape[3]
        ty = px() * 2 / x.shape[2]
    else:
        sc = 1 + (r(b) * 2 - 1) * scale
        tx = (r(b) * 2 - 1) * shift * 2 / x.shape[3]
        ty = (r(b) * 2 - 1) * shift * 2 / x.shape[2]
    fl = torch.where(r(b) < 0.5, -1.0, 1.0) if flip else torch.ones(b, device=dev)
    theta = torch.zeros(b, 2, 3, device=dev)
    theta[:, 0, 0] = fl / sc
    theta[:, 1, 1] = 1 / sc
    theta[:, 0, 2] = tx
    theta[:, 1, 2] = ty
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    y = F.grid_sample(x - 1, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + 1
    if jitter > 0:
        c = 1 + (r(b, 1, 1, 1) * 2 - 1) * jitter
        br = (r(b, 1, 1, 1) * 2 - 1) * jitter * 0.5
        y = ((y - 0.5) * c + 0.5 + br).clamp(0, 1)
    return y


def erase(x: torch.Tensor, g: torch.Generator, prob: float, fill: float = 0.5) -> torch.Tensor:
    """random erasing: with probability `prob` a picture gets one rectangle (¼–¾ of its height and of its width, anywhere)
    painted `fill` — what an inpainting context looks like with its unknown part left grey"""
    b, _, H, W = x.shape
    dev = x.device
    r = lambda *s: torch.rand(*s, generator=g).to(dev)
    hit = r(b) < prob
    h, w = (0.25 + 0.5 * r(b)) * H, (0.25 + 0.5 * r(b)) * W
    y0, x0 = r(b) * (H - h), r(b) * (W - w)
    rows = torch.arange(H, device=dev).float()[None, :]
    cols = torch.arange(W, device=dev).float()[None, :]
    in_r = (rows >= y0[:, None]) & (rows < (y0 + h)[:, None])
    in_c = (cols >= x0[:, None]) & (cols < (x0 + w)[:, None])
    m = in_r[:, :, None] & in_c[:, None, :] & hit[:, None, None]
    return torch.where(m[:, None], torch.full_like(x, fill), x)


def augment_as(x: torch.Tensor, g: torch.Generator, p: dict) -> torch.Tensor:
    """`augment` with a phase config's settings: shift, scale, and where it gives them flip, jitter and whole-pixel
    shifts (`whole`)"""
    return augment(x, g, p["shift"], p["scale"], flip=p.get("flip", False), jitter=p.get("jitter", 0.0),
                   whole=p.get("whole", False))


def trainable(flag: bool, *nets: nn.Module):
    """switch gradients for every parameter of these networks (a phase freezes the networks it only reads)"""
    for net in nets:
        for q in net.parameters():
            q.requires_grad_(flag)


# ------------------------------------------------------------------------------------------------
# run state


class Run:
    def __init__(self, args, cfg, data: Data):
        self.args = args
        self.cfg = cfg
        self.data = data
        self.device = torch.device(args.device)
        self.dir = args.run_dir
        os.makedirs(self.dir, exist_ok=True)
        sizes = dict(image=[data.size, data.size, 3], classes=len(data.class_names), keywords=len(data.vocab),
                     vendors=len(data.vendor_names), colours=len(data.colour_names))
        self.specs = cfg.nets(sizes)
        self.nets: Dict[str, SpecNet] = {k: SpecNet(v) for k, v in self.specs.items()}
        if cfg.gref.get("sn"):
            spectral_normalise(self.nets["D"])
        for net in self.nets.values():
            net.to(self.device)
        self.state = {"done": [], "metrics": {}, "timings": {}}
        self.state_file = os.path.join(self.dir, "state.json")
        if args.resume and os.path.exists(self.state_file):
            with open(self.state_file) as f:
                self.state = json.load(f)
            for k, net in self.nets.items():
                p = os.path.join(self.dir, f"{k}.pt")
                if os.path.exists(p):
                    net.load_state_dict(torch.load(p, map_location=self.device))
            log(f"[run] resumed {self.dir}: done {self.state['done'] or 'nothing'}")
        elif getattr(args, "init_from", None):
            self.init_from(args.init_from)
        self.threads_file = os.path.join(self.dir, "threads")

    def init_from(self, pack: str):
        """start a run from a trained pack's weights (its checkpoints may be gone, e.g. on a new machine): every
        network the pack holds is loaded, the phases that trained them count as done and the pack's training
        history (steps, timings, code statistics) carries over; D, which packs do not hold, starts fresh."""
        from .netspec import load_net

        loaded = []
        for k, net in self.nets.items():
            for p in (os.path.join(pack, f"{k}.net.json"), os.path.join(pack, "eval", f"{k}.net.json")):
                if os.path.exists(p):
                    src = load_net(p)
                    if src.spec != net.spec:
                        if k == "G" and self.cfg.gref.get("widen"):
                            try:
                                widen_generator(src, net, seed=self.args.seed)
                                net.to(self.device)
                                log(f"[run] --init-from: G widened from {p} (function-preserving; gref trains it)")
                                break  # widened, not loaded: gref still has to run
                            except ValueError as e:
                                log(f"[run] --init-from: cannot widen {p} ({e}); G starts fresh")
                                break
                        log(f"[run] --init-from: {p} differs from config {self.cfg.name}'s {k}; {k} starts fresh")
                        break
                    net.load_state_dict(src.state_dict())
                    loaded.append(k)
                    break
        # joint counts as done once E is there: a fresh G (another architecture) is then trained by gref against it
        trained_by = {"joint": ["E"], "gref": ["G"], "eref": ["E"], "hdae": ["hdae"], "fast": ["fastMlp"], "style": ["style"],
                      "colour": ["colour"], "evalC": ["evalC"]}
        self.state["done"] = [ph for ph in PHASES if all(k in loaded for k in trained_by[ph])]
        hist = os.path.join(pack, "eval", "training.json")
        if os.path.exists(hist):
            with open(hist) as f:
                h = json.load(f)
            self.state["metrics"] = h.get("metrics", {})
            self.state["timings"] = h.get("timings", {})
            self.state["steps"] = h.get("steps", {})
        log(f"[run] initialised from {pack}: loaded {', '.join(loaded)}; done {', '.join(self.state['done'])}")
        # the run holds everything it resumes from: a later --resume must not depend on the pack (or start
        # the networks the pack gave it afresh)
        self.save(loaded + (["G"] if "G" not in loaded else []))

    def save(self, names: List[str], extra: Dict[str, object] | None = None):
        for k in names:
            tmp = os.path.join(self.dir, f"{k}.pt.tmp")
            torch.save(self.nets[k].state_dict(), tmp)
            os.replace(tmp, os.path.join(self.dir, f"{k}.pt"))
        if extra:
            for k, v in extra.items():
                tmp = os.path.join(self.dir, f"{k}.pt.tmp")
                torch.save(v, tmp)
                os.replace(tmp, os.path.join(self.dir, f"{k}.pt"))
        tmp = self.state_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.state, f, indent=1)
        os.replace(tmp, self.state_file)

    def load_extra(self, name):
        p = os.path.join(self.dir, f"{name}.pt")
        return torch.load(p, map_location=self.device) if os.path.exists(p) else None

    def restore(self, obj, name: str):
        """load the state kept beside the run under `name` (an optimiser's, a moving average's, a module's) into
        `obj`, where there is one (a phase resuming part-way)"""
        st = self.load_extra(name)
        if st is not None:
            obj.load_state_dict(st)

    def after_step(self, phase: str, step: int, steps: int, nets: List[str], extra):
        """every 25 steps: the live thread count; every checkpoint_every steps and at the end: a checkpoint
        (`extra()` gives the optimizer states)"""
        if step % 25 == 0:
            self.check_threads()
        if step % self.cfg.checkpoint_every == 0 or step == steps:
            self.state["progress"] = {"phase": phase, "step": step}
            self.save(nets, extra())

    def check_threads(self):
        if self.device.type != "cpu" or not os.path.exists(self.threads_file):
            return
        try:
            n = int(open(self.threads_file).read().strip())
        except ValueError:
            return
        if n > 0 and n != torch.get_num_threads():
            torch.set_num_threads(n)
            log(f"[run] threads → {n}")


def log(m: str):
    sys.stderr.write(m + "\n")
    sys.stderr.flush()


class Progress:
    def __init__(self, name: str, total: int, start: int = 0):
        self.name, self.total, self.start = name, total, start
        self.t0 = time.time()
        self.last = 0.0

    def tick(self, step: int, parts: Dict[str, float], force=False):
        now = time.time()
        if not force and now - self.last < 20 and step != self.total:
            return
        self.last = now
        done = step - self.start
        rate = (now - self.t0) / max(done, 1)
        eta = rate * (self.total - step)
        w = 24
        f = int(w * step / max(self.total, 1))
        bar = "█" * f + "░" * (w - f)
        ps = " ".join(f"{k} {v:.4g}" for k, v in parts.items())
        log(f"[{self.name}] {bar} {step}/{self.total} {rate:.3f} s/step eta {fmt_time(eta)} | {ps}")


def fmt_time(s: float) -> str:
    s = int(s)
    return f"{s // 3600}h{(s % 3600) // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def set_lr(opt, lr):
    for g in opt.param_groups:
        g["lr"] = lr


def cosine(lr, step, total, warm=200):
    if step < warm:
        return lr * (step + 1) / warm
    return lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(total - warm, 1))))


# ------------------------------------------------------------------------------------------------
# phases


def pixel_loss(xr: torch.Tensor, x: torch.Tensor, w_l2: float = 1.0) -> torch.Tensor:
    """L1 + w_l2 · L2 between G's picture and the target"""
    return (xr - x).abs().mean() + w_l2 * ((xr - x) ** 2).mean()


def feature_loss(a: Dict[str, torch.Tensor], b: Dict[str, torch.Tensor], taps: List[str]) -> torch.Tensor:
    """mean over taps of the squared difference of two sets of activations"""
    return sum(((a[k] - b[k]) ** 2).mean() for k in taps) / len(taps)


def code_range(cs: dict) -> float:
    """the |h| bound the manifest gives the sampler (it clips h to ±this), from a run's code statistics"""
    return round(max(cs["absP999"] * 1.15, 1.0), 2)


def moment_loss(c: torch.Tensor) -> torch.Tensor:
    mu = c.mean(0)
    var = c.var(0)
    return (mu ** 2).mean() + ((var - 1) ** 2).mean()


def phase_joint(run: Run, steps: int, start: int):
    p = run.cfg.joint
    E, G = run.nets["E"], run.nets["G"]
    E.train(); G.train()
    opt = torch.optim.Adam(list(E.parameters()) + list(G.parameters()), lr=p["lr"], betas=(0.9, 0.999))
    if start > 0:
        run.restore(opt, "joint_opt")
    g = torch.Generator().manual_seed(run.args.seed * 1000 + 1 + start)
    d = run.data
    prog = Progress("joint", steps, start)
    ft = run.cfg.feature_taps
    for step in range(start, steps):
        set_lr(opt, cosine(p["lr"], step, steps))
        idx = d.sample(g, p["batch"])
        x = augment_as(d.batch_images(idx, run.device), g, p)
        y = d.cls[idx].to(run.device)
        kw = d.keywords[idx].to(run.device)
        if p.get("erase", 0) > 0:
            # E sees some pictures with a part painted grey and must still give the code G draws the whole from;
            # the feature targets stay E's features of the whole picture
            _, t = E(erase(x, g, p["erase"]), taps=["code", "logits", "keywords"])
            with torch.no_grad():
                _, tc = E(x, taps=ft)
            t.update({k: tc[k] for k in ft})
        else:
            _, t = E(x, taps=["code", "logits", "keywords"] + ft)
        c = t["code"]
        noise = torch.randn(c.shape, generator=g).to(run.device) * p["noise"]
        xr, _ = G(c + noise)
        _, tr = E(xr, taps=["code", "logits"] + ft)
        l_pix = pixel_loss(xr, x, p.get("w_l2", 1.0))
        l_cls = F.cross_entropy(t["logits"], y, label_smoothing=0.05)
        l_kw = F.binary_cross_entropy_with_logits(t["keywords"], kw)
        l_mm = moment_loss(c)
        l_cyc = ((tr["code"] - c.detach()) ** 2).mean()
        l_rcls = F.cross_entropy(tr["logits"], y)
        l_feat = feature_loss(tr, {k: t[k].detach() for k in ft}, ft)
        loss = (p["w_pix"] * l_pix + p["w_cls"] * l_cls + p["w_kw"] * l_kw + p["w_mm"] * l_mm + p["w_cyc"] * l_cyc
                + p["w_rcls"] * l_rcls + p["w_feat"] * l_feat)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        acc = (t["logits"].argmax(1) == y).float().mean().item()
        prog.tick(step + 1, {"pix": l_pix.item(), "cls": l_cls.item(), "acc": acc, "kw": l_kw.item(), "mm": l_mm.item(),
                             "cyc": l_cyc.item(), "feat": l_feat.item()})
        run.after_step("joint", step + 1, steps, ["E", "G"], lambda: {"joint_opt": opt.state_dict()})


def phase_gref(run: Run, steps: int, start: int):
    p = run.cfg.gref
    E, G, D = run.nets["E"], run.nets["G"], run.nets["D"]
    E.eval()
    trainable(False, E)
    G.train(); D.train()
    optG = torch.optim.Adam(G.parameters(), lr=p["lrG"], betas=(0.5, 0.999))
    optD = torch.optim.Adam(D.parameters(), lr=p["lrD"], betas=(0.5, 0.999))
    ema = Ema(G, p["ema"]) if p.get("ema") else None
    proj = projection(D, run.data.class_names, run.device) if p.get("proj") else None
    if proj is not None:
        optD.add_param_group({"params": list(proj.parameters())})
    if start > 0:
        for obj, name in ((optG, "gref_optG"), (optD, "gref_optD"), (ema, "gref_Gema"), (proj, "gref_Dproj")):
            if obj is not None:
                run.restore(obj, name)
    aug = (lambda im: diff_augment(im, g)) if p.get("diffaug") else (lambda im: im)
    score = lambda im, y: d_score(D, proj, aug(im), y)
    g = torch.Generator().manual_seed(run.args.seed * 1000 + 2 + start)
    d = run.data
    prog = Progress("gref", steps, start)
    ft = p.get("feature_taps", run.cfg.feature_taps)
    extra = lambda: {"gref_optG": optG.state_dict(), "gref_optD": optD.state_dict(),
                     **({"gref_Gema": ema.state_dict()} if ema is not None else {}),
                     **({"gref_Dproj": proj.state_dict()} if proj is not None else {})}
    for step in range(start, steps):
        set_lr(optG, cosine(p["lrG"], step, steps, warm=50))
        idx = d.sample(g, p["batch"])
        x = augment_as(d.batch_images(idx, run.device), g, p)
        y = d.cls[idx].to(run.device)
        with torch.no_grad():
            _, t = E(x, taps=["code"] + ft)
        c = t["code"]
        noise = torch.randn(c.shape, generator=g).to(run.device) * p["noise"]
        xr, _ = G(c + noise)
        # D step (non-saturating GAN loss)
        dr = score(x, y)
        df = score(xr.detach(), y)
        l_d = F.softplus(-dr).mean() + F.softplus(df).mean()
        optD.zero_grad(set_to_none=True)
        l_d.backward()
        optD.step()
        # G step
        _, tr = E(xr, taps=["code", "logits"] + ft)
        gf = score(xr, y)
        l_gan = F.softplus(-gf).mean()
        l_pix = pixel_loss(xr, x, p.get("w_l2", 1.0))
        l_feat = feature_loss(tr, t, ft)
        l_cyc = ((tr["code"] - c) ** 2).mean()
        l_rcls = F.cross_entropy(tr["logits"], y)
        loss = p["w_pix"] * l_pix + p["w_feat"] * l_feat + p["w_gan"] * l_gan + p["w_cyc"] * l_cyc + p["w_rcls"] * l_rcls
        if p.get("w_edge"):  # L1 between image gradients: an edge in the wrong place costs, a missing edge too
            l_edge = edge_l1(xr, x)
            loss = loss + p["w_edge"] * l_edge
        if p.get("w_ffl"):  # focal frequency loss: the spatial frequencies G gets most wrong weigh most
            l_ffl = focal_frequency_loss(xr, x, p.get("ffl_alpha", 1.0))
            loss = loss + p["w_ffl"] * l_ffl
        if p.get("w_spec"):  # the picture's energy at each spatial frequency (not where it lies): its fine detail
            l_spec = spectrum_loss(xr, x)
            loss = loss + p["w_spec"] * l_spec
        optG.zero_grad(set_to_none=True)
        loss.backward()
        optG.step()
        if ema is not None:
            ema.update(G)
        prog.tick(step + 1, {"pix": l_pix.item(), "feat": l_feat.item(), "gan": l_gan.item(), "d": l_d.item(),
                             "cyc": l_cyc.item(), "rcls": l_rcls.item(), **({"ffl": l_ffl.item()} if p.get("w_ffl") else {}),
                             **({"spec": l_spec.item()} if p.get("w_spec") else {})})
        run.after_step("gref", step + 1, steps, ["G", "D"], extra)
    if ema is not None:  # the shipped G is the average of the run's last few thousand steps
        G.load_state_dict(ema.shadow)
        run.save(["G"])
    trainable(True, E)


def projection(D: SpecNet, class_names, device) -> nn.Module:
    """the class embedding V of a projection discriminator (Miyato & Koyama 2018) over D's flattened features,
    zero at the start, so D begins as the unconditional D it extends (which is why it is not spectrally normalised:
    a zero matrix has no spectral norm; D's own layers are, so its features stay bounded)"""
    if "features" not in D.tap_shapes:
        raise ValueError("a projection D needs D's flattened features as the tap 'features' (conv_nets' D has it; "
                         "the patch D has none)")
    emb = nn.Embedding(len(class_names), math.prod(D.tap_shapes["features"]))
    nn.init.zeros_(emb.weight)
    return emb.to(device)


def d_score(D: SpecNet, proj, x, y):
    """D's logit for pictures x of classes y: ψ(φ(x)), plus ⟨V_y, φ(x)⟩ with a projection `proj`"""
    out, t = D(x, taps=["features"] if proj is not None else None)
    if proj is None:
        return out
    return out + (proj(y) * t["features"].flatten(1)).sum(1, keepdim=True)


def phase_eref(run: Run, steps: int, start: int):
    """E refined to invert the final G (G frozen). Per picture, the code that G draws best is not E's code: on
    emoji64 1.3.0 optimising each held-out code for pixels + E features took the evaluation classifier from 0.81 to
    0.87 × real on G's picture (session 14). This phase amortises that search into E. On 1.3.0 it did not pay
    (docs/model-card.md, session 14): E's new codes are drawn closer in pixels but softer and less recognisable."""
    p = run.cfg.eref
    E, G = run.nets["E"], run.nets["G"]
    judge = SpecNet(run.specs["E"]).to(run.device)  # the E the phase started from: its features judge G's picture
    first = run.load_extra("eref_E0")
    judge.load_state_dict(first if first is not None else E.state_dict())
    # optional: D (kept beside the run from gref, frozen) judges G's picture of E's code, so E is also asked for codes
    # that G draws as a real emoji, not only close ones (closer codes alone drew softer pictures)
    D = run.nets["D"] if p.get("w_gan") else None
    frozen = [G] + ([D] if D is not None else [])
    for net in [judge] + frozen:
        net.eval()
    trainable(False, judge, *frozen)
    E.train()
    opt = torch.optim.Adam(E.parameters(), lr=p["lr"], betas=(0.9, 0.999))
    if start > 0:
        run.restore(opt, "eref_opt")
    g = torch.Generator().manual_seed(run.args.seed * 1000 + 3 + start)
    d = run.data
    prog = Progress("eref", steps, start)
    ft = p["feature_taps"]
    extra = lambda: {"eref_opt": opt.state_dict(), "eref_E0": judge.state_dict()}
    for step in range(start, steps):
        set_lr(opt, cosine(p["lr"], step, steps, warm=50))
        idx = d.sample(g, p["batch"])
        x = augment_as(d.batch_images(idx, run.device), g, p)
        y = d.cls[idx].to(run.device)
        kw = d.keywords[idx].to(run.device)
        _, t = E(x, taps=["code", "logits", "keywords"])
        c = t["code"]
        xr, _ = G(c)
        with torch.no_grad():
            _, tx = judge(x, taps=ft)
        _, tj = judge(xr, taps=ft)
        _, tr = E(xr, taps=["code"])
        l_pix = pixel_loss(xr, x)
        l_feat = feature_loss(tj, tx, ft)
        l_cls = F.cross_entropy(t["logits"], y, label_smoothing=0.05)
        l_kw = F.binary_cross_entropy_with_logits(t["keywords"], kw)
        l_mm = moment_loss(c)
        l_cyc = ((tr["code"] - c.detach()) ** 2).mean()
        loss = (p["w_pix"] * l_pix + p["w_feat"] * l_feat + p["w_cls"] * l_cls + p["w_kw"] * l_kw
                + p["w_mm"] * l_mm + p["w_cyc"] * l_cyc)
        l_gan = torch.zeros(())
        if D is not None:
            l_gan = F.softplus(-d_score(D, None, diff_augment(xr, g) if p.get("diffaug") else xr, y)).mean()
            loss = loss + p["w_gan"] * l_gan
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        acc = (t["logits"].argmax(1) == y).float().mean().item()
        prog.tick(step + 1, {"pix": l_pix.item(), "feat": l_feat.item(), "cls": l_cls.item(), "acc": acc,
                             "mm": l_mm.item(), "cyc": l_cyc.item(), **({"gan": l_gan.item()} if D is not None else {})})
        run.after_step("eref", step + 1, steps, ["E"], extra)
    trainable(True, *frozen)


def edge_l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """mean absolute difference of horizontal and vertical pixel differences (NCHW)"""
    dx = lambda t: t[..., :, 1:] - t[..., :, :-1]
    dy = lambda t: t[..., 1:, :] - t[..., :-1, :]
    return (dx(a) - dx(b)).abs().mean() + (dy(a) - dy(b)).abs().mean()


def focal_frequency_loss(a: torch.Tensor, b: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """focal frequency loss (Jiang et al., ICCV 2021) between pictures a and b (NCHW): the squared distance of their
    2-D spectra (orthonormal FFT, each channel), each frequency weighted by its own distance to the power alpha, scaled
    so the worst frequency of each picture weighs 1 (the weights are not differentiated). Pixel losses weigh every
    frequency alike, and the fine detail a blurry G misses is a small share of a picture's energy; here the frequencies
    G gets most wrong, mostly the high ones, weigh most."""
    fa = torch.fft.fft2(a.float(), norm="ortho")
    fb = torch.fft.fft2(b.float(), norm="ortho")
    dist = (fa - fb).abs() ** 2
    with torch.no_grad():
        w = dist.sqrt() ** alpha
        w = w / w.flatten(1).amax(1).clamp_min(1e-12).view(-1, 1, 1, 1)
    return (w * dist).mean()


_RINGS: Dict[tuple, tuple] = {}


def laplacian_rings(x: torch.Tensor) -> torch.Tensor:
    """the energy of the Laplacian of each picture's luminance (what the sharpness measure adds up), split into rings
    of equal spatial frequency |f| (whole-number radii: 46 for 64×64, lowest first): N×R. By Parseval, the rings sum to
    the picture's Laplacian energy; the discrete 5-point Laplacian weighs the frequency f by (4 − 2 cos 2πfx − 2 cos
    2πfy)²."""
    h, w = x.shape[-2:]
    key = (h, w, str(x.device))
    if key not in _RINGS:
        fy = torch.fft.fftfreq(h).view(-1, 1)
        fx = torch.fft.fftfreq(w).view(1, -1)
        ring = ((fy * h) ** 2 + (fx * w) ** 2).sqrt().round().long().flatten()
        lap = ((4 - 2 * torch.cos(2 * math.pi * fx) - 2 * torch.cos(2 * math.pi * fy)) ** 2).flatten()
        _RINGS[key] = (ring.to(x.device), lap.to(x.device), int(ring.max()) + 1)
    ring, lap, n = _RINGS[key]
    lum = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    energy = torch.fft.fft2(lum.float(), norm="ortho").abs().pow(2).flatten(1) * lap
    return torch.zeros(x.shape[0], n, device=x.device).index_add_(1, ring, energy)


def spectrum_loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """how far each picture of a is from its picture in b in the energy of its Laplacian at each spatial frequency,
    wherever that energy lies: the L1 distance of their ring energies (`laplacian_rings`) as a share of b's total
    (spectral regularisation, after Durall et al. 2020). A soft reconstruction lacks energy at the middle frequencies,
    where most of an emoji's edges are; a picture moved by a few pixels costs nothing, unlike the pixel losses, which
    blur what G cannot place. In session 21 it lowered sharpness in gref (0.41–0.44 × at step 750, in this form and as
    the log power of each ring per RGB channel or of luminance): it matched the spectra of gref's targets, which its
    bilinear augmentation had blurred to 0.54 of the real pictures' sharpness (`augment`'s `whole` avoids that)."""
    ea, eb = laplacian_rings(a), laplacian_rings(b)
    return ((ea - eb).abs().sum(1) / eb.sum(1).clamp_min(1e-8)).mean()


@torch.no_grad()
def encode(run: Run, idx: torch.Tensor) -> torch.Tensor:
    E = run.nets["E"]
    E.eval()
    out = []
    for s in range(0, len(idx), 256):
        x = run.data.batch_images(idx[s : s + 256], run.device)
        _, t = E(x, taps=["code"], taps_only=True)
        out.append(t["code"])
    return torch.cat(out)


def train_code_net(run: Run, name: str, steps: int, target: str):
    """hdae (denoise codes) or fast (p(y|h) on noisy codes)"""
    p = getattr(run.cfg, name)
    net = run.nets["hdae" if name == "hdae" else "fastMlp"]
    net.train()
    codes = encode(run, run.data.train)
    ys = run.data.cls[run.data.train].to(run.device)
    w = run.data.train_weights
    opt = torch.optim.Adam(net.parameters(), lr=p["lr"], weight_decay=p.get("wd", 0))
    g = torch.Generator().manual_seed(run.args.seed * 1000 + 3 + len(name))
    prog = Progress(name, steps)
    for step in range(steps):
        set_lr(opt, cosine(p["lr"], step, steps, warm=50))
        j = torch.multinomial(w, p["batch"], replacement=True, generator=g).to(run.device)
        c = codes[j]
        sig = p["noise"] * torch.rand(c.shape[0], 1, generator=g).to(run.device)
        cn = c + torch.randn(c.shape, generator=g).to(run.device) * sig
        out, _ = net(cn)
        if target == "codes":
            loss = ((out - c) ** 2).mean()
            parts = {"mse": loss.item()}
        else:
            loss = F.cross_entropy(out, ys[j], label_smoothing=0.05)
            parts = {"ce": loss.item(), "acc": (out.argmax(1) == ys[j]).float().mean().item()}
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        prog.tick(step + 1, parts)
    net.eval()
    run.save(["hdae" if name == "hdae" else "fastMlp"])


def train_image_classifier(run: Run, key: str, labels: torch.Tensor, p: dict, steps: int, seed_off: int):
    net = run.nets[key]
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=p["lr"], weight_decay=p.get("wd", 0))
    g = torch.Generator().manual_seed(run.args.seed * 1000 + seed_off)
    d = run.data
    prog = Progress(key, steps)
    # class-balanced for the target labels
    tl = labels[d.train]
    counts = torch.bincount(tl).float().clamp(min=1)
    w = counts[tl] ** -p.get("balance", 0.75)
    for step in range(steps):
        set_lr(opt, cosine(p["lr"], step, steps, warm=100))
        j = torch.multinomial(w, p["batch"], replacement=True, generator=g)
        idx = d.train[j]
        x = augment_as(d.batch_images(idx, run.device), g, p)
        y = labels[idx].to(run.device)
        out, _ = net(x)
        loss = F.cross_entropy(out, y, label_smoothing=0.05)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        prog.tick(step + 1, {"ce": loss.item(), "acc": (out.argmax(1) == y).float().mean().item()})
    net.eval()
    run.save([key])


# ------------------------------------------------------------------------------------------------
# metrics


@torch.no_grad()
def predict(net: SpecNet, x: torch.Tensor, tap: str | None = None) -> torch.Tensor:
    net.eval()
    outs = []
    for s in range(0, x.shape[0], 256):
        o, t = net(x[s : s + 256], taps=[tap] if tap else None)
        outs.append(t[tap] if tap else o)
    return torch.cat(outs)


@torch.no_grad()
def metrics(run: Run) -> dict:
    d = run.data
    dev = run.device
    E, G = run.nets["E"], run.nets["G"]
    E.eval(); G.eval()
    xt = d.batch_images(d.test, dev)
    yt = d.cls[d.test].to(dev)
    nc = len(d.class_names)

    def per_class(pred, y):
        out = {}
        for k, n in enumerate(d.class_names):
            m = y == k
            out[n] = round((pred[m] == k).float().mean().item(), 4) if m.any() else None
        return out

    logits = predict(E, xt, "logits")
    codes = predict(E, xt, "code")
    xr = torch.cat([G(codes[s : s + 256])[0] for s in range(0, codes.shape[0], 256)])
    res = {
        "E_test_accuracy": round((logits.argmax(1) == yt).float().mean().item(), 4),
        "E_test_accuracy_per_class": per_class(logits.argmax(1), yt),
        "recon_mse_test": round(((xr - xt) ** 2).mean().item(), 5),
    }
    if "evalC" in run.state["done"]:
        ev = run.nets["evalC"]
        pr = predict(ev, xt).argmax(1)
        prr = predict(ev, xr).argmax(1)
        res["evalC_test_accuracy"] = round((pr == yt).float().mean().item(), 4)
        res["evalC_test_accuracy_per_class"] = per_class(pr, yt)
        res["evalC_recon_accuracy"] = round((prr == yt).float().mean().item(), 4)
    if "fast" in run.state["done"]:
        fl = predict(run.nets["fastMlp"], codes)
        res["fastMlp_test_accuracy"] = round((fl.argmax(1) == yt).float().mean().item(), 4)
    for key, lab in (("style", d.vendor), ("colour", d.colour)):
        if key in run.state["done"]:
            pr = predict(run.nets[key], xt).argmax(1)
            res[f"{key}_test_accuracy"] = round((pr == lab[d.test].to(dev)).float().mean().item(), 4)
    return res


@torch.no_grad()
def code_stats(run: Run) -> dict:
    c = encode(run, run.data.train)
    a = c.abs().flatten()
    q = torch.quantile(a[torch.randperm(a.numel())[:200000]], 0.999).item()
    return {"mean": round(c.mean().item(), 4), "std": round(c.std().item(), 4), "absP999": round(q, 4),
            "unitStdMin": round(c.std(0).min().item(), 4), "unitStdMax": round(c.std(0).max().item(), 4)}


# ------------------------------------------------------------------------------------------------
# export


def export_pack(run: Run, out: str):
    d = run.data
    cfg = run.cfg
    for f in os.listdir(out) if os.path.exists(out) else []:
        if f.endswith(".net.json") or f.endswith(".weights.bin"):
            os.remove(os.path.join(out, f))
    os.makedirs(out, exist_ok=True)
    for k in ["E", "G", "hdae", "fastMlp", "style", "colour"]:
        export_net(run.nets[k].cpu(), out, k)
        run.nets[k].to(run.device)
    ev_dir = os.path.join(out, "eval")
    os.makedirs(ev_dir, exist_ok=True)
    export_net(run.nets["evalC"].cpu(), ev_dir, "evalC")
    run.nets["evalC"].to(run.device)
    with open(os.path.join(ev_dir, "eval.json"), "w") as f:
        json.dump({
            "note": "Held-out evaluation classifier: a different architecture (conv + batch norm + max-pool + global pooling) "
                    "and seed from E, trained with stronger augmentation (flips, scale, shift, brightness/contrast); used only "
                    "for metrics, never for steering. Not listed in manifest.json.",
            "network": "evalC.net.json",
            "featureTap": "features",
            "labels": d.class_names,
            "image": {"size": d.size, "range": "[0,1]"},
            "dataset": d.meta["options"],
        }, f, indent=1)
    cs = run.state["metrics"].get("codeStats") or code_stats(run)
    lim = code_range(cs)
    unit_layers = [{"name": t, "channels": run.nets["E"].tap_shapes[t][-1]} for t in cfg.unit_taps]
    manifest = {
        "format": "ppgn-pack/1",
        "name": os.path.basename(os.path.normpath(out)),
        "version": cfg.version,
        "description": cfg.description,
        "licence": cfg.licence,
        "attribution": cfg.attribution,
        "image": {"height": d.size, "width": d.size, "channels": 3, "range": "[0,1]"},
        "code": {"dim": cfg.code_dim, "min": -lim, "max": lim, "encoderTap": "code", "init": {"mean": 0, "std": 1}},
        "networks": {
            "G": {"file": "G.net.json"}, "E": {"file": "E.net.json"}, "hdae": {"file": "hdae.net.json"},
            "fastMlp": {"file": "fastMlp.net.json", "condition": "class"},
            "style": {"file": "style.net.json"}, "colour": {"file": "colour.net.json"},
        },
        "conditions": [
            {"id": "class", "kind": "classes", "net": "E", "output": "logits", "labels": d.class_names,
             "description": "emoji class (E, the encoder G was trained to invert)"},
            {"id": "keywords", "kind": "keywords", "net": "E", "output": "keywords", "vocabulary": d.vocab,
             "description": "multi-label keyword head of E (emojilib keywords and short names with ≥ 20 images)"},
            {"id": "style", "kind": "classes", "net": "style", "output": "logits", "labels": d.vendor_names,
             "description": "art style (Noto, Twemoji, OpenMoji) classifier on the image; G never trained against it"},
            {"id": "colour", "kind": "classes", "net": "colour", "output": "logits", "labels": d.colour_names,
             "description": "dominant colour classifier on the image; G never trained against it"},
            {"id": "units", "kind": "units", "net": "E", "layers": unit_layers},
        ],
        "defaults": cfg.sampler_defaults,
        "training": {
            "trainer": "packages/train/python (PyTorch)",
            "config": cfg.name,
            "seed": run.args.seed,
            "device": str(run.device),
            "torch": torch.__version__,
            "dataset": d.meta["options"],
            "featureTaps": cfg.feature_taps,
            "codeStats": cs,
            "steps": run.state.get("steps", {}),
            "timings": run.state["timings"],
            "metrics": run.state["metrics"].get("final", {}),
            "evalClassifier": "eval/evalC.net.json (held-out evaluation only; not a condition)",
        },
    }
    old = os.path.join(out, "manifest.json")
    if os.path.exists(old):
        # keep sampler defaults that were tuned on the shipped pack (npm run eval -- --tune writes them)
        try:
            prev = json.load(open(old))
            if prev.get("training", {}).get("samplerTuned"):
                manifest["defaults"] = prev["defaults"]
                manifest["training"]["samplerTuned"] = prev["training"]["samplerTuned"]
        except (OSError, ValueError):
            pass
    with open(old, "w") as f:
        json.dump(manifest, f, indent=1)
    log(f"[export] {out}: manifest + {len(os.listdir(out))} files")


# ------------------------------------------------------------------------------------------------


def main(argv=None):
    ap = argparse.ArgumentParser(prog="ppgn_train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--out", required=True, help="pack folder to write")
    ap.add_argument("--run-dir", required=True, help="checkpoints (keep outside the work tree)")
    ap.add_argument("--config", default="emoji64", choices=sorted(configs.CONFIGS))
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (0 = torch default)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--steps-scale", type=float, default=1.0, help="multiply every phase's steps (quick runs)")
    ap.add_argument("--phases", default=",".join(PHASES), help="comma-separated subset to run")
    ap.add_argument("--export-only", action="store_true")
    ap.add_argument("--init-from", default="", metavar="PACK",
                    help="start a new run from a trained pack's weights (no checkpoints needed); with --again")
    ap.add_argument("--again", default="", metavar="PHASE:STEPS",
                    help="run a finished phase again from the current weights with a fresh schedule "
                         "(e.g. gref:3000 refines G longer; after joint or eref, which change the codes, hdae and "
                         "fast run again too), then export; --resume continues it")
    a = ap.parse_args(argv)
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    cfg = configs.CONFIGS[a.config]
    data = Data(a.dataset)
    run = Run(a, cfg, data)
    log(f"[train] {cfg.name}: {data.n} images ({len(data.train)} train / {len(data.test)} test), "
        f"{len(data.class_names)} classes, {len(data.vocab)} keywords; device {a.device}, torch {torch.__version__}, "
        f"threads {torch.get_num_threads()}; params " + ", ".join(f"{k} {v.param_count()}" for k, v in run.nets.items()))
    want = [p for p in a.phases.split(",") if p]
    for p in want:
        if p not in PHASES:
            raise SystemExit(f"unknown phase {p} (phases: {', '.join(PHASES)})")
    steps_of = {k: max(1, int(round(v * a.steps_scale))) for k, v in cfg.steps.items()}
    run.state.setdefault("steps", {})
    for k, v in steps_of.items():
        if k not in run.state["done"]:
            run.state["steps"][k] = v
    if a.again:
        ph, _, n = a.again.partition(":")
        if ph not in PHASES or not n.isdigit() or int(n) < 1:
            raise SystemExit(f"--again wants PHASE:STEPS with PHASE one of {', '.join(PHASES)} (got {a.again!r})")
        ag = run.state.get("again")
        # unfinished (the phase itself, or the code nets it left stale): --resume carries on; else a new round
        pending = bool(ag) and ag.get("phase") == ph and (
            not ag.get("finished") or any(k not in run.state["done"] for k in ag.get("stale", {})))
        if not pending:
            stale = [k for k in CODE_NETS_AFTER.get(ph, []) if k in steps_of]
            run.state["again"] = {"phase": ph, "steps": int(n), "before": run.state["steps"].get(ph, 0),
                                  "stale": {k: run.state["steps"].get(k, 0) for k in stale}}
            for k in [ph] + stale:
                if k in run.state["done"]:
                    run.state["done"].remove(k)
            run.state["progress"] = {}
            log(f"[train] again: {ph} for {n} more steps from the current weights"
                + (f", then {', '.join(stale)} (trained on codes, which {ph} changes)" if stale else ""))
        steps_of[ph] = run.state["again"]["steps"]
        run.state["steps"][ph] = steps_of[ph]
        want = [ph] + list(run.state["again"].get("stale", {}))
    t_all = time.time()
    if not a.export_only:
        for ph in PHASES:
            if ph not in want or ph in run.state["done"] or ph not in steps_of:
                continue  # (a phase the config gives no steps, such as eref, is optional)
            t0 = time.time()
            n = steps_of[ph]
            start = run.state.get("progress", {}).get("step", 0) if run.state.get("progress", {}).get("phase") == ph else 0
            log(f"[train] phase {ph}: {n} steps" + (f" (from {start})" if start else ""))
            if ph == "joint":
                phase_joint(run, n, start)
            elif ph == "gref":
                phase_gref(run, n, start)
            elif ph == "eref":
                phase_eref(run, n, start)
            elif ph == "hdae":
                train_code_net(run, "hdae", n, "codes")
            elif ph == "fast":
                train_code_net(run, "fast", n, "classes")
            elif ph == "style":
                train_image_classifier(run, "style", data.vendor, cfg.style, n, 11)
            elif ph == "colour":
                train_image_classifier(run, "colour", data.colour, cfg.colour, n, 12)
            elif ph == "evalC":
                train_image_classifier(run, "evalC", data.cls, cfg.evalC, n, 13)
            run.state["done"].append(ph)
            run.state["progress"] = {}
            ag = run.state.get("again")
            if ag and ag.get("phase") == ph and not ag.get("finished"):
                ag["finished"] = True
                run.state["steps"][ph] = ag["before"] + ag["steps"]
            elif ag and ph in ag.get("stale", {}):
                run.state["steps"][ph] = ag["stale"][ph] + n
            run.state["timings"][ph] = round(time.time() - t0 + run.state["timings"].get(ph, 0), 1)
            if ph in CODE_NETS_AFTER:
                run.state["metrics"]["codeStats"] = code_stats(run)
            run.state["metrics"]["final"] = metrics(run)
            run.save([])
            log(f"[train] {ph} done in {fmt_time(time.time() - t0)}: {json.dumps(run.state['metrics']['final'])[:600]}")
    if a.export_only and "gref" not in run.state["done"]:
        # an interim pack from a gref run still in progress: its moving average of G, as it would ship
        ema = run.load_extra("gref_Gema")
        if ema is not None:
            run.nets["G"].load_state_dict(ema["shadow"])
            step = run.state.get("progress", {}).get("step", 0)
            log(f"[train] export: G is the moving average at gref step {step} of {steps_of['gref']} (interim)")
            run.state["metrics"]["interim"] = {"phase": "gref", "step": step, "of": steps_of["gref"]}
    if all(p in run.state["done"] for p in PHASES if p in steps_of) or a.export_only:
        run.state["metrics"]["final"] = metrics(run)
        export_pack(run, a.out)
        with open(os.path.join(a.out, "eval", "training.json"), "w") as f:
            json.dump({"metrics": run.state["metrics"], "timings": run.state["timings"], "steps": run.state["steps"]}, f, indent=1)
    log(f"[train] finished in {fmt_time(time.time() - t_all)}")


if __name__ == "__main__":
    main()
