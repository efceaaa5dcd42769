"""Pieces of the v2 generator recipe (emoji64-v2): function-preserving widening of a trained generator, DiffAugment
for the discriminator, spectral normalisation and an exponential moving average of G's weights.

- widen_generator: Net2WiderNet (Chen, Goodfellow & Shlens 2016) for the G layout (dense → reshape → [upsample,
  conv, activation]* → rgb conv). Every new channel copies an existing one and the layer reading it divides that
  channel's incoming weights by the number of copies, so the wider G starts out computing what the trained G did
  (plus a little noise that lets the copies drift apart); training then spends its steps on what capacity adds.
- diff_augment: the same random translation, cutout and colour change applied to real and generated images before
  D sees them (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training"); the transforms
  are differentiable, so G's gradient flows through them. Keeps D from memorising 6.6 k images.
"""
from __future__ import annotations

from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .netspec import SpecNet


def _extend(old: int, new: int, g: torch.Generator) -> torch.Tensor:
    """channel map for widening old → new channels: identity, then random copies of existing channels"""
    if new < old:
        raise ValueError(f"cannot widen {old} channels to {new}")
    extra = torch.randint(0, old, (new - old,), generator=g)
    return torch.cat([torch.arange(old), extra])


@torch.no_grad()
def widen_generator(src: SpecNet, dst: SpecNet, seed: int = 0, noise: float = 0.01) -> None:
    """load `src`'s function into the wider `dst` (same layer types in the same order, each width ≥ src's)"""
    if len(src.layers) != len(dst.layers) or any(a.type != b.type for a, b in zip(src.layers, dst.layers)):
        raise ValueError("widen: the two networks differ in layer structure")
    g = torch.Generator().manual_seed(seed)
    cur: Optional[torch.Tensor] = None  # new channel → old channel, for the activation flowing in
    ls, ld = list(src.layers), list(dst.layers)
    for i, (a, b) in enumerate(zip(ls, ld)):
        if a.type == "dense":
            w = a.lin.weight  # [out, in]
            win = w if cur is None else w[:, cur] / torch.bincount(cur, minlength=w.shape[1]).float()[cur]
            nxt = ls[i + 1] if i + 1 < len(ls) else None
            if nxt is not None and nxt.type == "reshape" and len(nxt.out_shape) == 3:
                hw = nxt.out_shape[0] * nxt.out_shape[1]
                c_old, c_new = nxt.out_shape[2], ld[i + 1].out_shape[2]
                cur = _extend(c_old, c_new, g)
                unit = (torch.arange(hw).unsqueeze(1) * c_old + cur.unsqueeze(0)).reshape(-1)  # NHWC unit order
            else:
                cur = _extend(w.shape[0], b.lin.weight.shape[0], g)
                unit = cur
            b.lin.weight.copy_(win[unit] * (1 + noise * torch.randn(len(unit), win.shape[1], generator=g)))
            if a.lin.bias is not None:
                b.lin.bias.copy_(a.lin.bias[unit])
        elif a.type == "conv2d":
            w = a.conv.weight  # [out, in, k, k]
            if cur is not None:
                w = w[:, cur] / torch.bincount(cur, minlength=w.shape[1]).float()[cur].view(1, -1, 1, 1)
            cur = _extend(w.shape[0], b.conv.weight.shape[0], g)
            b.conv.weight.copy_(w[cur] * (1 + noise * torch.randn(b.conv.weight.shape, generator=g)))
            if a.conv.bias is not None:
                b.conv.bias.copy_(a.conv.bias[cur])
        elif a.type in ("batchnorm", "affine"):
            raise ValueError("widen: normalisation layers are not supported")
    if cur is not None and len(cur) != dst.output_shape[-1]:
        raise ValueError("widen: output widths differ")


def diff_augment(x: torch.Tensor, g: torch.Generator, translate: float = 0.125, cutout: float = 0.25,
                 colour: bool = True) -> torch.Tensor:
    """DiffAugment 'color,translation,cutout' on NCHW images in [0, 1] (white background kept white)"""
    b, _, h, w = x.shape
    dev = x.device
    r = lambda *s: torch.rand(*s, generator=g).to(dev)
    if colour:
        x = x + (r(b, 1, 1, 1) - 0.5) * 0.4  # brightness
        m = x.mean(1, keepdim=True)
        x = (x - m) * (r(b, 1, 1, 1) * 1.0 + 0.5) + m  # saturation
        m = x.mean((1, 2, 3), keepdim=True)
        x = (x - m) * (r(b, 1, 1, 1) * 0.5 + 0.75) + m  # contrast
    if translate > 0:
        sh, sw = int(h * translate + 0.5), int(w * translate + 0.5)
        ty = (r(b) * (2 * sh + 1)).long() - sh
        tx = (r(b) * (2 * sw + 1)).long() - sw
        yy = (torch.arange(h, device=dev).view(1, h, 1) + ty.view(b, 1, 1)).clamp(-1, h)
        xx = (torch.arange(w, device=dev).view(1, 1, w) + tx.view(b, 1, 1)).clamp(-1, w)
        pad = F.pad(x - 1, (1, 1, 1, 1)) + 1  # white border
        idx = (yy + 1) * (w + 2) + (xx + 1)  # [b, h, w] into the padded (h+2)×(w+2) image
        x = pad.flatten(2).gather(2, idx.view(b, 1, h * w).expand(-1, x.shape[1], -1)).view_as(x)
    if cutout > 0:
        ch, cw = int(h * cutout + 0.5), int(w * cutout + 0.5)
        cy = (r(b) * (h + 1 - ch % 2)).long()
        cx = (r(b) * (w + 1 - cw % 2)).long()
        yy = torch.arange(h, device=dev).view(1, h, 1)
        xx = torch.arange(w, device=dev).view(1, 1, w)
        inside = ((yy - cy.view(b, 1, 1)).abs() <= ch // 2) & ((xx - cx.view(b, 1, 1)).abs() <= cw // 2)
        x = x * (~inside).unsqueeze(1).float()
    return x


def spectral_normalise(net: SpecNet) -> SpecNet:
    """spectral normalisation on every conv and dense weight of a network (for D; Miyato et al. 2018)"""
    sn = nn.utils.parametrizations.spectral_norm
    for layer in net.layers:
        if hasattr(layer, "conv"):
            sn(layer.conv)
        elif hasattr(layer, "lin"):
            sn(layer.lin)
    return net


class Ema:
    """exponential moving average of a network's parameters (the shipped G), with warm-up"""

    def __init__(self, net: nn.Module, decay: float = 0.999):
        self.decay = decay
        self.shadow = {k: v.detach().clone() for k, v in net.state_dict().items()}
        self.n = 0

    @torch.no_grad()
    def update(self, net: nn.Module):
        self.n += 1
        d = min(self.decay, (1 + self.n) / (10 + self.n))
        for k, v in net.state_dict().items():
            if v.dtype.is_floating_point:
                self.shadow[k].mul_(d).add_(v.detach(), alpha=1 - d)
            else:
                self.shadow[k].copy_(v)

    def state_dict(self):
        return {"decay": self.decay, "n": self.n, "shadow": self.shadow}

    def load_state_dict(self, st):
        self.decay, self.n = st["decay"], st["n"]
        self.shadow = {k: v.clone() for k, v in st["shadow"].items()}
