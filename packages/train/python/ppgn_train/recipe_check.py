"""Measurements of the v2 recipe's pieces for the test suite (packages/train/test): writes <out>/recipe.json.

    python3 -m ppgn_train.recipe_check --out DIR
"""
import argparse
import json
import math
import os

import torch

from . import configs
from .netspec import SpecNet
from .compare import sharpness
from .recipe import Ema, diff_augment, spectral_normalise, widen_generator
from .train import augment, d_score, edge_l1, erase, focal_frequency_loss, projection, spectrum_loss


def g_spec(widths, code=6):
    layers = [{"type": "dense", "units": 2 * 2 * widths[0], "name": "fc"},
              {"type": "reshape", "shape": [2, 2, widths[0]]}, {"type": "leakyRelu", "alpha": 0.2}]
    for i, c in enumerate(widths[1:]):
        layers += [{"type": "upsample", "factor": 2}, {"type": "conv2d", "filters": c, "kernel": 3, "stride": 1,
                                                       "padding": "same", "name": f"up{i + 1}"},
                   {"type": "leakyRelu", "alpha": 0.2}]
    layers += [{"type": "conv2d", "filters": 3, "kernel": 3, "stride": 1, "padding": "same", "name": "rgb"},
               {"type": "sigmoid", "name": "image"}]
    return {"name": "G", "input": [code], "layers": layers}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.manual_seed(0)
    res = {}
    small, wide = SpecNet(g_spec([8, 6, 4])), SpecNet(g_spec([13, 9, 7]))
    for l in small.layers:  # non-zero biases, so that copying them is tested too
        for m in (getattr(l, "conv", None), getattr(l, "lin", None)):
            if m is not None:
                torch.nn.init.normal_(m.bias, std=0.3)
    h = torch.randn(5, 6)
    with torch.no_grad():
        widen_generator(small, wide, noise=0.0)
        res["widenMaxDiff"] = (small(h)[0] - wide(h)[0]).abs().max().item()
        res["widenTapShape"] = list(wide(h, taps=["up1"])[1]["up1"].shape)
        widen_generator(small, wide, noise=0.05)
        res["widenNoisyMaxDiff"] = (small(h)[0] - wide(h)[0]).abs().max().item()
    try:
        widen_generator(wide, small)
        res["narrowRefused"] = False
    except ValueError as e:
        res["narrowRefused"] = str(e)
    x = torch.ones(4, 3, 32, 32)
    x[:, :, 12:16, 14:18] = 0.0
    g = torch.Generator().manual_seed(3)
    t = diff_augment(x, g, translate=0.125, cutout=0, colour=False)
    res["translateDarkBefore"] = int((x < 0.5).sum())
    res["translateDarkAfter"] = int((t < 0.5).sum())
    res["translateMoved"] = int((t != x).flatten(1).any(1).sum())
    c = diff_augment(torch.ones(4, 3, 32, 32), g, translate=0, cutout=0.25, colour=False)
    res["cutoutFraction"] = ((c == 0).float().mean()).item()
    # random erasing (erase-j): about `prob` of the pictures get one grey rectangle, ¼–¾ of each side, all channels
    ones = torch.ones(400, 3, 32, 32)
    er = erase(ones, g, 0.5)
    touched = (er != 1).flatten(1).any(1)
    area = (er[:, 0] == 0.5).flatten(1).float().mean(1)[touched]
    res["eraseTouched"] = touched.float().mean().item()
    res["eraseAreaMin"], res["eraseAreaMax"] = area.min().item(), area.max().item()
    res["eraseOnlyGrey"] = bool(((er == 1) | (er == 0.5)).all()) and bool((er[:, 0] == er[:, 2]).all())
    res["eraseNoneAtZero"] = bool((erase(ones, g, 0.0) == 1).all())
    xr = torch.rand(4, 3, 32, 32, requires_grad=True)
    diff_augment(xr, g).square().sum().backward()
    res["augmentGradNonZero"] = float((xr.grad != 0).float().mean())
    d = spectral_normalise(SpecNet({"name": "D", "input": [8, 8, 3], "layers": [
        {"type": "conv2d", "filters": 4, "kernel": 3, "stride": 2, "padding": "same"}, {"type": "flatten"},
        {"type": "dense", "units": 1}]}))
    for _ in range(30):  # power iterations run in training mode
        d(torch.randn(2, 3, 8, 8))
    d.eval()
    lin = [l for l in d.layers if hasattr(l, "lin")][0].lin
    res["spectralNorm"] = torch.linalg.matrix_norm(lin.weight.detach(), ord=2).item()
    net = SpecNet(g_spec([4, 3]))
    ema = Ema(net, 0.9)
    target = {k: v.clone() + 1.0 for k, v in net.state_dict().items()}
    net.load_state_dict(target)
    for _ in range(300):
        ema.update(net)
    res["emaMaxDiff"] = max((ema.shadow[k] - target[k]).abs().max().item() for k in target)
    # edge L1 (sharper-G configs): a vertical edge, the same edge one pixel to the right, the edge blurred
    e = torch.zeros(1, 3, 16, 16)
    e[..., 8:] = 1.0
    moved = torch.roll(e, 1, dims=3)
    moved[..., 0] = 0.0
    blurred = e.clone()
    blurred[..., 7] = 0.25
    blurred[..., 8] = 0.75
    res["edgeSame"] = edge_l1(e, e).item()
    res["edgeMoved"] = edge_l1(moved, e).item()
    res["edgeBlurred"] = edge_l1(blurred, e).item()
    # augmentation: at fractional shifts and scales bilinear resampling blurs; whole-pixel shifts (`whole`) copy
    # pixels, so each picture is the original moved by whole pixels (and maybe mirrored), white where it came in
    ag = torch.Generator().manual_seed(3)
    art = torch.ones(6, 3, 16, 16)
    art[:, :, 5:11, 3:9] = 0.0
    art[:, 0, 6:8, 4:12] = 0.7
    frac = augment(art, ag, 2, 0.05)
    res["fractionalSharpness"] = sharpness(frac) / sharpness(art)
    whole = augment(art, ag, 2, 0.05, flip=True, whole=True)
    found = 0
    for i in range(len(art)):
        hit = False
        for fl in (False, True):
            src = art[i].flip(-1) if fl else art[i]
            for dy in range(-2, 3):
                for dx in range(-2, 3):
                    moved = torch.ones_like(src)
                    ys, yd = (slice(0, 16 - dy), slice(dy, 16)) if dy >= 0 else (slice(-dy, 16), slice(0, 16 + dy))
                    xs, xd = (slice(0, 16 - dx), slice(dx, 16)) if dx >= 0 else (slice(-dx, 16), slice(0, 16 + dx))
                    moved[:, yd, xd] = src[:, ys, xs]
                    hit = hit or (moved - whole[i]).abs().max().item() < 1e-5
        found += hit
    res["wholeExact"] = found / len(art)
    res["wholeSharpness"] = sharpness(whole) / sharpness(art)
    # focal frequency loss (ffl): 0 for the same picture; of two errors with the same pixel MSE, one in a single spatial
    # frequency (fine stripes lost) costs more than one spread over all of them (white noise)
    gen = torch.Generator().manual_seed(5)
    pic = torch.zeros(2, 3, 16, 16)  # flat shapes with sharp edges, as emoji are
    pic[:, :, 4:12, 4:12] = 1.0
    pic[1, 1, 2:6, 9:14] = 0.5
    stripes = 0.2 * torch.cos(torch.arange(16.0) * 2 * math.pi * 5 / 16).view(1, 1, 1, 16)
    striped = pic + stripes
    noise = torch.randn(pic.shape, generator=gen)
    noisy = pic + noise * ((striped - pic).pow(2).mean() / noise.pow(2).mean()).sqrt()
    res["fflSame"] = focal_frequency_loss(pic, pic).item()
    res["fflMseStripesNoise"] = [(striped - pic).pow(2).mean().item(), (noisy - pic).pow(2).mean().item()]
    res["fflStripes"] = focal_frequency_loss(striped, pic).item()
    res["fflNoise"] = focal_frequency_loss(noisy, pic).item()
    moving = striped.clone().requires_grad_(True)
    focal_frequency_loss(moving, pic).backward()
    res["fflGradNonZero"] = int(moving.grad.abs().sum().item() > 0)
    # spectrum loss (spec): 0 for the same picture and for the picture moved (circularly: the same energy at each
    # frequency), which the pixel losses count; more than 0 for the picture blurred
    moved_pic = torch.roll(pic, (3, 2), dims=(2, 3))
    blurred_pic = torch.nn.functional.avg_pool2d(torch.nn.functional.pad(pic, (1, 1, 1, 1), mode="circular"), 3, stride=1)
    res["specSame"] = spectrum_loss(pic, pic).item()
    res["specMoved"] = spectrum_loss(moved_pic, pic).item()
    res["pixMoved"] = (moved_pic - pic).abs().mean().item()
    res["specBlurred"] = spectrum_loss(blurred_pic, pic).item()
    sizes = dict(image=[64, 64, 3], classes=3, keywords=2, vendors=2, colours=2)
    small_d = lambda patch: SpecNet(
        configs.conv_nets(8, [4, 4, 4, 4], [8, 4, 4, 4, 4], [4], [4, 4], d_patch=patch)(sizes)["D"])
    for key, patch in (("patchLogits", True), ("globalLogits", False)):
        res[key] = list(small_d(patch)(torch.rand(2, 3, 64, 64))[0].shape)
    # projection D (sharp-p): at the start it scores like the unconditional D; once V has learnt, by class
    dnet = small_d(False)
    proj = projection(dnet, ["a", "b", "c"], torch.device("cpu"))
    xs, ys = torch.rand(4, 3, 64, 64), torch.tensor([0, 1, 2, 0])
    res["projStartDiff"] = (d_score(dnet, proj, xs, ys) - d_score(dnet, None, xs, ys)).abs().max().item()
    opt = torch.optim.Adam(proj.parameters(), lr=0.05)
    for _ in range(20):  # D learns that pictures xs[0] are class 0 and xs[1] are not
        loss = (torch.nn.functional.softplus(-d_score(dnet, proj, xs[:1], ys[:1]))
                + torch.nn.functional.softplus(d_score(dnet, proj, xs[:1], torch.tensor([1])))).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        own, other = d_score(dnet, proj, xs[:1], ys[:1]), d_score(dnet, proj, xs[:1], torch.tensor([1]))
    res["projClassGap"] = (own - other).item()
    try:
        projection(small_d(True), ["a"], torch.device("cpu"))
        res["projPatchRefused"] = False
    except ValueError as e:
        res["projPatchRefused"] = str(e)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "recipe.json"), "w") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
