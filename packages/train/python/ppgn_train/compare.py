"""Compare candidate E/G pairs on held-out emoji: how much of a picture survives the code (G(E(x)) against x).

    python3 -m ppgn_train.compare --dataset FILE.u8.bin --evalc models/emoji64 \
        --candidate v1=pack:models/emoji64 --candidate v3=run:emoji64-v3:~/.cache/ppgn/train-runs/emoji64-v3-s1 \
        [--sheet out.png] [--json out.json] [--threads N] [--split test|train] [--subset K]
        [--search STEPS [--search-features W]]

For each candidate: reconstruction MSE, the held-out evaluation classifier's accuracy on G(E(x)) as a share of its
accuracy on the real pictures, and sharpness (mean squared Laplacian of the luminance) as a share of the real
pictures', also by band of spatial frequency (|f| 0–8, 8–16, 16–24, 24–32, 32 and up, of 45; the real row gives each
band's share of the real pictures' Laplacian energy). The sheet shows the same held-out pictures: the real row first,
then one row per candidate.

`--split train` judges training pictures instead (with `--subset K`, K of them): the gap between the two splits is
how much of a reconstruction G and E have memorised rather than learnt (session 16: 1.3.0 reads 0.908 × real on
training emoji against 0.836 × on held-out ones).

`--search STEPS` adds a row per candidate whose codes are not E(x) but found for each picture by Adam, starting at
E(x), to make G draw it: pixel MSE plus W × the squared difference of E's features at four stages (`--search-features
W`, 0 = pixels only). It asks whether G can draw a picture that E's code does not reach (session 14: it can, and the
closer pictures are softer). `--subset K` judges K random held-out pictures instead of all (the search is slow).
"""
from __future__ import annotations

import argparse
import json
import os
import struct
import zlib

import torch
import torch.nn.functional as F

from . import configs
from .netspec import SpecNet, load_net
from .train import Data, feature_loss, laplacian_rings, predict, trainable

LAPLACE = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]).view(1, 1, 3, 3)


def load_pair(source: str, data: Data) -> tuple[SpecNet, SpecNet]:
    kind, _, rest = source.partition(":")
    if kind == "pack":
        return load_net(os.path.join(rest, "E.net.json")), load_net(os.path.join(rest, "G.net.json"))
    if kind == "run":  # a run's checkpoints (G: its EMA when the run keeps one)
        name, _, run_dir = rest.partition(":")
        cfg = configs.CONFIGS[name]
        sizes = dict(image=[data.size, data.size, 3], classes=len(data.class_names), keywords=len(data.vocab),
                     vendors=len(data.vendor_names), colours=len(data.colour_names))
        specs = cfg.nets(sizes)
        out = []
        run_dir = os.path.expanduser(run_dir)
        for k in ("E", "G"):
            net = SpecNet(specs[k])
            net.load_state_dict(torch.load(os.path.join(run_dir, f"{k}.pt"), map_location="cpu"))
            out.append(net)
        # during and after gref the G that would ship is the moving average of its weights
        ema = os.path.join(run_dir, "gref_Gema.pt")
        if os.path.exists(ema):
            out[1].load_state_dict(torch.load(ema, map_location="cpu")["shadow"])
        return out[0], out[1]
    raise SystemExit(f"--candidate NAME=pack:DIR or NAME=run:CONFIG:RUN_DIR (got {source})")


SEARCH_TAPS = ["relu1", "relu2", "relu3", "relu4"]


def search_codes(E: SpecNet, G: SpecNet, x: torch.Tensor, steps: int, w_feat: float, chunk: int = 256) -> torch.Tensor:
    """per picture, the code G draws closest to it (pixels + w_feat × E features), by Adam from E(x)"""
    taps = [t for t in SEARCH_TAPS if t in E.tap_shapes] if w_feat else []
    trainable(False, E, G)
    with torch.no_grad():
        h = predict(E, x, "code")
        target = [E(x[s : s + chunk], taps=taps)[1] if taps else {} for s in range(0, len(x), chunk)]
    h.requires_grad_(True)
    opt = torch.optim.Adam([h], lr=0.05)
    with torch.enable_grad():
        for _ in range(steps):
            opt.zero_grad()
            for k, s in enumerate(range(0, len(x), chunk)):
                xr = G(h[s : s + chunk])[0]
                loss = ((xr - x[s : s + chunk]) ** 2).mean()
                if taps:
                    tr = E(xr, taps=taps)[1]
                    loss = loss + w_feat * feature_loss(tr, target[k], taps)
                (loss * xr.shape[0] / len(x)).backward()
            opt.step()
    return h.detach()


def sharpness(x: torch.Tensor) -> float:
    lum = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).unsqueeze(1)
    return F.conv2d(lum, LAPLACE).pow(2).mean().item()


BANDS = [(0, 8), (8, 16), (16, 24), (24, 32), (32, 64)]


def laplacian_bands(x: torch.Tensor) -> list[float]:
    """the Laplacian energy of the pictures' luminance in bands of spatial frequency |f| (0–8, 8–16, 16–24, 24–32, 32 and
    up, of 45 for 64×64), summed over the pictures: where in the spectrum a reconstruction's sharpness is (missing)"""
    rings = torch.cat([laplacian_rings(x[s : s + 256]) for s in range(0, len(x), 256)]).sum(0)
    return [rings[a:b].sum().item() for a, b in BANDS]


def write_png(path: str, rows: list[torch.Tensor]):
    """rows of NCHW [0,1] images → one RGB PNG (no imaging library needed)"""
    grid = torch.cat([torch.cat(list(r), dim=2) for r in rows], dim=1)  # C, H*rows, W*n
    img = (grid.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).contiguous().numpy()
    h, w, _ = img.shape
    raw = b"".join(b"\x00" + img[y].tobytes() for y in range(h))

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


@torch.no_grad()
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--evalc", required=True, help="a pack folder whose eval/evalC.net.json judges the pictures")
    ap.add_argument("--candidate", action="append", required=True, help="NAME=pack:DIR or NAME=run:CONFIG:RUN_DIR")
    ap.add_argument("--sheet")
    ap.add_argument("--json")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--split", choices=["test", "train"], default="test", help="held-out (default) or training pictures")
    ap.add_argument("--subset", type=int, default=0, help="judge K random pictures of the split (0 = all)")
    ap.add_argument("--search", type=int, default=0, metavar="STEPS", help="also search each picture's code (Adam steps)")
    ap.add_argument("--search-features", type=float, default=1.0, metavar="W", help="weight of E's features in the search")
    a = ap.parse_args(argv)
    if a.search < 0 or a.subset < 0:
        raise SystemExit("--search and --subset take a count ≥ 0")
    torch.set_num_threads(a.threads)
    data = Data(a.dataset)
    evalc = load_net(os.path.join(a.evalc, "eval", "evalC.net.json"))
    test = data.test if a.split == "test" else data.train
    if a.subset:
        test = test[torch.randperm(len(test), generator=torch.Generator().manual_seed(0))[: a.subset]]
    xt = data.batch_images(test, "cpu")
    yt = data.cls[test]
    real_acc = (predict(evalc, xt).argmax(1) == yt).float().mean().item()
    real_sharp = sharpness(xt)
    real_bands = laplacian_bands(xt)
    show = torch.linspace(0, len(test) - 1, min(12, len(test))).long()
    rows = [xt[show]]
    results = {"real": {"split": a.split, "pictures": len(test), "evalC_accuracy": round(real_acc, 4),
                        "sharpness": round(real_sharp, 5),
                        "laplacian_share_by_band": [round(q / max(sum(real_bands), 1e-12), 3) for q in real_bands]}}
    for c in a.candidate:
        name, _, source = c.partition("=")
        E, G = load_pair(source, data)
        E.eval()
        G.eval()
        codes = predict(E, xt, "code")
        rounds = [(name, codes)]
        if a.search:
            rounds.append((f"{name}+search", search_codes(E, G, xt, a.search, a.search_features)))
        for key, h in rounds:
            xr = torch.cat([G(h[s : s + 256])[0] for s in range(0, h.shape[0], 256)])
            acc = (predict(evalc, xr).argmax(1) == yt).float().mean().item()
            results[key] = {
                "code_dim": h.shape[1],
                "G_params": sum(p.numel() for p in G.parameters()),
                "recon_mse": round(((xr - xt) ** 2).mean().item(), 5),
                "evalC_accuracy": round(acc, 4),
                "evalC_share_of_real": round(acc / real_acc, 3),
                "sharpness_share_of_real": round(sharpness(xr) / real_sharp, 3),
                "laplacian_by_band_share_of_real": [round(r / q, 2) if q > 0 else None
                                                    for r, q in zip(laplacian_bands(xr), real_bands)],
            }
            rows.append(xr[show])
            print(key, json.dumps(results[key]), flush=True)
    print("real", json.dumps(results["real"]))
    if a.sheet:
        write_png(a.sheet, rows)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
