"""Training configurations: network specs (the ppgn-net/1 JSON @ppgn/core runs) and phase hyper-parameters."""
from __future__ import annotations

from types import SimpleNamespace


def dense(units, name=None, frm=None, bias=True):
    l = {"type": "dense", "units": units}
    if not bias:
        l["bias"] = False
    if name:
        l["name"] = name
    if frm:
        l["from"] = frm
    return l


def conv(filters, kernel=3, stride=1, name=None, padding="same"):
    l = {"type": "conv2d", "filters": filters, "kernel": kernel, "stride": stride, "padding": padding}
    if name:
        l["name"] = name
    return l


def act(t, name=None, **kw):
    l = {"type": t, **kw}
    if name:
        l["name"] = name
    return l


def conv_nets(code_dim, e_ch, g_ch, small_ch, eval_ch, d_patch=False):
    """the pack's networks; d_patch: D scores 8×8 overlapping patches (PatchGAN, Isola et al. 2017) instead of
    the whole picture, so its loss is about local edges and texture, where a blurry G is easy to tell apart"""
    def nets(s):
        img = s["image"]
        H = img[0]
        E = {"name": "E", "input": img, "layers": [
            *[l for i, c in enumerate(e_ch) for l in (conv(c, 3, 2, f"conv{i + 1}"), act("relu", f"relu{i + 1}"))],
            {"type": "flatten"},
            dense(512, "fc5"), act("relu", "relu5"),
            dense(code_dim, "code"),
            {"type": "dropout", "rate": 0.3, "from": "code", "name": "codeDrop"},
            dense(s["classes"], "logits", "codeDrop"),
            dense(s["keywords"], "keywords", "codeDrop"),
        ]}
        g0 = H // 2 ** (len(g_ch) - 1)
        G = {"name": "G", "input": [code_dim], "layers": [
            dense(g0 * g0 * g_ch[0], "fc"),
            {"type": "reshape", "shape": [g0, g0, g_ch[0]]},
            act("leakyRelu", alpha=0.2),
            *[l for i, c in enumerate(g_ch[1:]) for l in (
                {"type": "upsample", "factor": 2}, conv(c, 3, 1, f"up{i + 1}"), act("leakyRelu", alpha=0.2))],
            conv(3, 3, 1, "rgb"),
            act("sigmoid", "image"),
        ]}
        D = {"name": "D", "input": img, "layers": [
            *[l for c in (32, 64, 128) for l in (conv(c, 3, 2), act("leakyRelu", alpha=0.2))],
            conv(256, 3, 1), act("leakyRelu", alpha=0.2),
            conv(1, 3, 1, "logit"),
        ]} if d_patch else {"name": "D", "input": img, "layers": [
            *[l for c in (32, 64, 128, 256) for l in (conv(c, 3, 2), act("leakyRelu", alpha=0.2))],
            {"type": "flatten", "name": "features"},
            dense(1, "logit"),
        ]}

        def small(name, out):
            return {"name": name, "input": img, "layers": [
                {"type": "avgPool", "size": 2, "padding": "valid"},
                *[l for c in small_ch for l in (conv(c, 3, 2), act("relu"))],
                {"type": "flatten"},
                dense(64, "fc"), act("relu"),
                dense(out, "logits"),
            ]}

        evalC = {"name": "evalC", "input": img, "layers": [
            conv(eval_ch[0], 3, 2, "conv1", ), act("batchnorm", epsilon=1e-3), act("relu"),
            *[l for i, c in enumerate(eval_ch[1:]) for l in (
                conv(c, 3, 1, f"conv{i + 2}"), act("batchnorm", epsilon=1e-3), act("relu"),
                {"type": "maxPool", "size": 2, "padding": "valid"})],
            {"type": "globalAvgPool", "name": "features"},
            {"type": "dropout", "rate": 0.3},
            dense(s["classes"], "logits"),
        ]}
        return {
            "E": E, "G": G, "D": D,
            "hdae": {"name": "hdae", "input": [code_dim], "layers": [
                dense(512, "fc1"), act("relu"), dense(512, "fc2"), act("relu"), dense(code_dim, "out")]},
            "fastMlp": {"name": "fastMlp", "input": [code_dim], "layers": [
                dense(256, "fc1"), act("relu"), dense(s["classes"], "logits")]},
            "style": small("style", s["vendors"]),
            "colour": small("colour", s["colours"]),
            "evalC": evalC,
        }
    return nets


LICENCE = "Apache-2.0 AND CC-BY-4.0 AND CC-BY-SA-4.0"
ATTRIBUTION = (
    "Trained on emoji art from Noto Emoji by Google (Apache License 2.0, https://github.com/googlefonts/noto-emoji), "
    "Twemoji by Twitter, Inc and other contributors (graphics licensed under CC-BY 4.0, "
    "https://creativecommons.org/licenses/by/4.0/, https://github.com/jdecked/twemoji), via the emoji-datasource-google / "
    "emoji-datasource-twitter packages by Cal Henderson (MIT), and OpenMoji by HfG Schwäbisch Gmünd and contributors "
    "(CC BY-SA 4.0, https://openmoji.org, https://creativecommons.org/licenses/by-sa/4.0/; the weights trained on it are "
    "shared under the same licence); keywords from emojilib by Mu-An Chiou (MIT)."
)

# first guesses; `npm run eval -- --pack emoji64 --tune` measures and rewrites them
SAMPLER = {
    "classes": {"eps1": 1.0, "eps2": 1.0, "eps3": 0.02, "lr": 0.5, "lrEnd": 0.1, "steps": 200},
    "keywords": {"eps1": 1.0, "eps2": 1.0, "eps3": 0.02, "lr": 0.5, "lrEnd": 0.1, "steps": 200},
    "units": {"eps1": 1.0, "eps2": 1.0, "eps3": 0.02, "lr": 0.5, "lrEnd": 0.1, "steps": 300, "resetEvery": 0},
    "context": {"eps1": 1.0, "eps2": 1.0, "eps3": 0.0, "eps4": 1.0, "lr": 0.5, "lrEnd": 0.1, "steps": 100},
    "imageRef": {"eps1": 1.0, "eps2": 1.0, "eps3": 0.02, "lr": 0.5, "lrEnd": 0.1, "steps": 200},
    # the exact samplers: a step τ that accepts about half of MALA's proposals and ~3/4 of HMC's on emoji64
    "mala": {"stepSize": 0.2},
    "hmc": {"stepSize": 0.2, "leapfrog": 10},
}

EMOJI64 = SimpleNamespace(
    name="emoji64",
    version="1.0.0",
    description="64×64 emoji pack: conv E/G trained jointly (PyTorch), h-DAE, fast-mode MLP, keyword, style and colour plug-ins",
    licence=LICENCE,
    attribution=ATTRIBUTION,
    code_dim=128,
    nets=conv_nets(128, [32, 64, 128, 256], [256, 160, 96, 48, 24], [16, 32, 64], [24, 48, 96, 192]),
    feature_taps=["relu2", "relu3"],
    unit_taps=["relu2", "relu3", "relu4", "relu5"],
    steps={"joint": 4500, "gref": 1500, "hdae": 3000, "fast": 3000, "style": 1200, "colour": 1200, "evalC": 2500},
    joint=dict(lr=1e-3, batch=32, shift=2, scale=0.05, noise=0.3, w_pix=1.0, w_cls=0.2, w_kw=0.1, w_mm=0.05,
               w_cyc=0.05, w_rcls=0.05, w_feat=0.02),
    gref=dict(lrG=3e-4, lrD=2e-4, batch=32, shift=2, scale=0.05, noise=0.3, w_pix=1.0, w_feat=0.05, w_gan=0.004,
              w_cyc=0.05, w_rcls=0.05),
    hdae=dict(lr=1e-3, batch=128, noise=1.0),
    fast=dict(lr=1e-3, batch=128, noise=0.6, wd=1e-5),
    style=dict(lr=1e-3, batch=64, shift=3, scale=0.1),
    colour=dict(lr=1e-3, batch=64, shift=3, scale=0.1),
    evalC=dict(lr=2e-3, batch=64, shift=4, scale=0.15, flip=True, jitter=0.15, wd=1e-4, balance=0.75),
    # optional phase (runs only where `steps` gives it steps): E refined to invert the final G
    eref=dict(lr=1e-4, batch=32, shift=2, scale=0.05, w_pix=1.0, w_feat=1.0, w_cls=0.2, w_kw=0.1, w_mm=0.05,
              w_cyc=0.05, feature_taps=["relu1", "relu2", "relu3", "relu4"]),
    checkpoint_every=250,
    sampler_defaults=SAMPLER,
)

TINY = SimpleNamespace(**{**vars(EMOJI64),
    "name": "tiny", "description": "tiny conv pack for tests", "code_dim": 16,
    "nets": conv_nets(16, [4, 8], [8, 4, 4], [4], [4, 8]),
    "feature_taps": ["relu2"], "unit_taps": ["relu1", "relu2"],
    "steps": {"joint": 20, "gref": 10, "eref": 5, "hdae": 10, "fast": 10, "style": 5, "colour": 5, "evalC": 10},
    # the projection D (sharp-p), mirrored pictures in joint and gref (flip-j, sharp-x) and eref's adversarial term
    # (eref-d) run in the tests
    "eref": {**EMOJI64.eref, "feature_taps": ["relu1", "relu2"], "w_gan": 0.5, "diffaug": True},
    "gref": {**EMOJI64.gref, "proj": True, "flip": True},
    "joint": {**EMOJI64.joint, "flip": True},
    "checkpoint_every": 10,
})

# experiment: the same E with a generator of about half the multiply-adds (78 M vs 147 M per image), for the speed
# targets; train its G against the shipped E with --init-from models/emoji64 --again gref:N
EMOJI64_LITE = SimpleNamespace(**{**vars(EMOJI64),
    "name": "emoji64-lite",
    "description": "emoji64 with a lighter generator (experiment)",
    "nets": conv_nets(128, [32, 64, 128, 256], [256, 128, 64, 32, 16], [16, 32, 64], [24, 48, 96, 192]),
})

CONFIGS = {"emoji64": EMOJI64, "emoji64-lite": EMOJI64_LITE, "tiny": TINY}

# v2 (issue 22): a generator of ≈ 2.3× the multiply-adds (345 M vs 147 M per image), started from the shipped G by
# function-preserving widening (`--init-from models/emoji64`), refined against the shipped E with a spectrally
# normalised D that sees DiffAugment'ed images, a heavier adversarial weight, feature matching at every E stage,
# and the shipped G taken as the moving average of its weights.
EMOJI64_V2 = SimpleNamespace(**{**vars(EMOJI64),
    "name": "emoji64-v2",
    "version": "2.0.0",
    "description": "64×64 emoji pack v2: wider G (EMA, DiffAugment + spectral-norm D), the v1 E, h-DAE and plug-ins",
    "nets": conv_nets(128, [32, 64, 128, 256], [320, 224, 144, 80, 40], [16, 32, 64], [24, 48, 96, 192]),
    "steps": {**EMOJI64.steps, "gref": 8000},
    "gref": dict(lrG=2e-4, lrD=2e-4, batch=32, shift=2, scale=0.05, noise=0.3, w_pix=1.0, w_feat=0.1, w_gan=0.02,
                 w_cyc=0.05, w_rcls=0.05, feature_taps=["relu1", "relu2", "relu3", "relu4"],
                 sn=True, diffaug=True, ema=0.999, widen=True),
})

CONFIGS["emoji64-v2"] = EMOJI64_V2

# v3 (issue 22, next): the v2 interim showed that a wider G on the v1 code reconstructs no better (evalC on
# G(E(x)) 0.46 of 0.60 either way; shapes and identity are lost before G sees them): E's 128-d code is what
# loses detail. A 512-d code from a wider E, trained jointly with the v2 generator from scratch, then refined
# with the v2 recipe (spectral-norm D, DiffAugment, EMA).
EMOJI64_V3 = SimpleNamespace(**{**vars(EMOJI64_V2),
    "name": "emoji64-v3",
    "version": "3.0.0",
    "description": "64×64 emoji pack v3: a 512-d code from a wider E, the v2 generator and GAN recipe",
    "code_dim": 512,
    "nets": conv_nets(512, [48, 96, 192, 384], [320, 224, 144, 80, 40], [16, 32, 64], [24, 48, 96, 192]),
    "gref": {**EMOJI64_V2.gref, "widen": False},
})

CONFIGS["emoji64-v3"] = EMOJI64_V3

# issue 22, session 12: the shipped v1 networks with a sharper G. Reconstructions are soft (sharpness 0.24 of real)
# because G regresses pixels of noisy codes (L1 + L2 of G(h + 0.3·n)) and the adversarial term is too weak to pull it
# off the average (w_gan 0.004; v2's 0.02 did not sharpen either). Only G changes, so E, the h-DAE, the fast-mode MLP,
# the plug-ins and evalC stay valid: `--init-from models/emoji64 --again gref:N`. Two pilots, compared per CPU-hour
# with `ppgn_train.compare`:
#   sharp-a: v2's GAN recipe (spectral-norm D, DiffAugment, EMA, features at four E stages) with w_gan 0.1;
#   sharp-b: the same with a patch D, less code noise (0.15), L1 only and an L1 term on image gradients (edges).
_V1_NETS = dict(code_dim=128, e_ch=[32, 64, 128, 256], g_ch=[256, 160, 96, 48, 24], small_ch=[16, 32, 64],
                eval_ch=[24, 48, 96, 192])
_SHARP_GREF = dict(lrG=2e-4, lrD=2e-4, batch=32, shift=2, scale=0.05, noise=0.3, w_pix=1.0, w_feat=0.1, w_gan=0.1,
                   w_cyc=0.05, w_rcls=0.05, feature_taps=["relu1", "relu2", "relu3", "relu4"], sn=True, diffaug=True,
                   ema=0.999)
EMOJI64_SHARP_A = SimpleNamespace(**{**vars(EMOJI64),
    "name": "emoji64-sharp-a",
    "version": "1.2.0",
    "nets": conv_nets(**_V1_NETS),
    "steps": {**EMOJI64.steps, "gref": 6000},
    "gref": dict(_SHARP_GREF),
})
EMOJI64_SHARP_B = SimpleNamespace(**{**vars(EMOJI64_SHARP_A),
    "name": "emoji64-sharp-b",
    "nets": conv_nets(**_V1_NETS, d_patch=True),
    "gref": {**_SHARP_GREF, "noise": 0.15, "w_l2": 0.0, "w_edge": 1.0},
})
CONFIGS["emoji64-sharp-a"] = EMOJI64_SHARP_A
CONFIGS["emoji64-sharp-b"] = EMOJI64_SHARP_B
#   sharp-c: sharp-a with three times the adversarial weight (w_gan 0.3), continued from sharp-a's step 1 250
#   (after 1 000 steps sharp-a was the sharper pilot: 0.34 of real against v1's 0.24 and sharp-b's 0.19).
EMOJI64_SHARP_C = SimpleNamespace(**{**vars(EMOJI64_SHARP_A),
    "name": "emoji64-sharp-c",
    "gref": {**_SHARP_GREF, "w_gan": 0.3},
})
CONFIGS["emoji64-sharp-c"] = EMOJI64_SHARP_C
#   sharp-d: w_gan 1.0, continued from sharp-c's step 2 500 (at 2 500 steps: sharp-c 0.52 of real sharpness and
#   evalC 0.81 of real, sharp-a 0.38 and 0.80: the adversarial weight is what sharpens, and it did not cost accuracy).
EMOJI64_SHARP_D = SimpleNamespace(**{**vars(EMOJI64_SHARP_A),
    "name": "emoji64-sharp-d",
    "gref": {**_SHARP_GREF, "w_gan": 1.0},
})
CONFIGS["emoji64-sharp-d"] = EMOJI64_SHARP_D

# next (session 12 → 13): sharp-c's adversarial weight on v3's G (512-d code: reconstructions 0.80 × real but soft,
# sharpness 0.26 ×). Started from a copy of the finished v3 run: `--config emoji64-v3-sharp --resume --again gref:6000`;
# judge it with `ppgn_train.compare` and `ppgn_train.candidate --base ~/.cache/ppgn/packs/emoji64-v3`.
EMOJI64_V3_SHARP = SimpleNamespace(**{**vars(EMOJI64_V3),
    "name": "emoji64-v3-sharp",
    "version": "3.1.0",
    "gref": {**EMOJI64_V3.gref, "w_gan": 0.3},
})
CONFIGS["emoji64-v3-sharp"] = EMOJI64_V3_SHARP

# session 13: the v3 run's checkpoints were lost with session 12's machine, so v3-sharp cannot be finished without
# retraining v3 from scratch (hours). Two pilots continue the shipped 1.2.0 G instead (`--init-from models/emoji64
# --again gref:6000`; a fresh D), one lever each:
#   sharp-e: a stronger adversarial weight (w_gan 0.5, between sharp-c's 0.3 and sharp-d's 1.0, whose artefacts
#            came with its sharpness) — for the sharpness targets (reconstructions ≥ 0.7 ×, fast mode ≥ 0.6 ×);
#   sharp-f: the same weight with more of the content losses (E-feature matching 0.3, E's class loss on G's picture
#            0.3, code noise 0.2) — for reconstructions ≥ 0.9 × real, which sharp-c left at 0.82 ×.
EMOJI64_SHARP_E = SimpleNamespace(**{**vars(EMOJI64_SHARP_A),
    "name": "emoji64-sharp-e",
    "version": "1.3.0",  # shipped as emoji64 1.3.0's G
    "gref": {**_SHARP_GREF, "w_gan": 0.5},
})
EMOJI64_SHARP_F = SimpleNamespace(**{**vars(EMOJI64_SHARP_A),
    "name": "emoji64-sharp-f",
    "gref": {**_SHARP_GREF, "w_gan": 0.5, "w_feat": 0.3, "w_rcls": 0.3, "noise": 0.2},
})
CONFIGS["emoji64-sharp-e"] = EMOJI64_SHARP_E
CONFIGS["emoji64-sharp-f"] = EMOJI64_SHARP_F

# session 14: the code, not only G, limits reconstructions. On 1.3.0, optimising each held-out picture's code for
# pixels + E features (Adam, 100 steps; G and E fixed) took the held-out classifier on G's picture from 0.81 to
# 0.87 × real, while pixels alone (MSE 3.5× lower) did not help (0.81 ×). `eref` amortises that search into E:
# G (1.3.0's) frozen, E fine-tuned so that G(E(x)) matches x in pixels and in the starting E's features at four
# stages; E keeps classifying, its codes stay near N(0, 1) and E(G(h)) ≈ h. hdae and fast are retrained on the new
# codes after it. `--init-from models/emoji64 --again eref:N`.
EMOJI64_EREF = SimpleNamespace(**{**vars(EMOJI64_SHARP_E),
    "name": "emoji64-eref",
    "version": "1.4.0",
    "steps": {**EMOJI64_SHARP_E.steps, "eref": 2000},
    "eref": {**EMOJI64.eref, "w_feat": 3.0},
})
CONFIGS["emoji64-eref"] = EMOJI64_EREF
#   eref-b: features only (no pixel loss). eref (pixels L1 + L2 and features ×3, 2 000 steps) lowered the reconstruction
#   MSE 0.0365 → 0.0320 but blurred: held-out classifier 0.836 → 0.783 × real, sharpness 0.556 → 0.355 × real.
#   eref-b was stopped at step 750 going the same way (0.809 ×, sharpness 0.379 ×): neither ships; an E fitted to
#   this G finds codes that G draws closer in pixels and softer.
EMOJI64_EREF_B = SimpleNamespace(**{**vars(EMOJI64_EREF),
    "name": "emoji64-eref-b",
    "eref": {**EMOJI64_EREF.eref, "w_pix": 0.0},
})
CONFIGS["emoji64-eref-b"] = EMOJI64_EREF_B
#   eref-d (session 16): eref with G's adversary in the loss. The per-picture search and both erefs drew closer and
#   softer; here the D trained against 1.3.0's G (kept in sharp-e's run; frozen) also scores G(E(x)), so E is asked for
#   codes G draws both close (features) and as a real emoji. `--config emoji64-eref-d --resume --again eref:N` on a copy
#   of the emoji64-sharp-e run dir (which holds D).
EMOJI64_EREF_D = SimpleNamespace(**{**vars(EMOJI64_EREF),
    "name": "emoji64-eref-d",
    "eref": {**EMOJI64_EREF.eref, "w_gan": 0.5, "diffaug": True},
})
CONFIGS["emoji64-eref-d"] = EMOJI64_EREF_D
#   session 16, `ppgn_train.compare`: held-out classifier on G(E(x)) 0.813 × real at step 750, 0.803 × at 1 500 (1.3.0
#   0.836), sharpness 0.504 / 0.507 × (eref 0.355): D kept the pictures from blurring as much, but E's new codes are
#   still less recognisable. Not shipped.
#   sharp-g (session 14): 1.3.0's G continued from sharp-e's run (D kept, fresh optimiser and moving average) at w_gan
#   0.75, beside sharp-e itself continued at 0.5 (`--config emoji64-sharp-e --resume --again gref:8000` on a copy of its
#   run dir). Both stopped, neither ships: held-out classifier on reconstructions 0.836 → 0.813 (e2, step 3 750) and
#   0.788 (g, step 2 750), sharpness 0.556 → 0.565 and 0.599 × real.
EMOJI64_SHARP_G = SimpleNamespace(**{**vars(EMOJI64_SHARP_A),
    "name": "emoji64-sharp-g",
    "gref": {**_SHARP_GREF, "w_gan": 0.75},
})
CONFIGS["emoji64-sharp-g"] = EMOJI64_SHARP_G

# v2-sharp (started at the end of session 14, to run across sessions): session 14 points at G's drawing, not the code,
# so the next bet is capacity plus the adversarial recipe that sharpened 1.3.0 — v2's wider G (345 M multiply-adds per
# image against 147 M), widened function-preservingly from 1.3.0's G, refined with sharp-e's recipe (w_gan 0.5) against
# the shipped E. `--init-from models/emoji64 --again gref:20000`, then `--resume --again gref:20000` with the run dir.
EMOJI64_V2_SHARP = SimpleNamespace(**{**vars(EMOJI64_SHARP_A),
    "name": "emoji64-v2-sharp",
    "version": "1.4.0",
    "nets": EMOJI64_V2.nets,
    "gref": {**_SHARP_GREF, "w_gan": 0.5, "widen": True},
})
CONFIGS["emoji64-v2-sharp"] = EMOJI64_V2_SHARP

# sharp-p (session 15): every continuation at a stronger adversarial weight sharpened G's pictures and made them less
# recognisable (e2, g above): an unconditional D rewards any sharp emoji, whichever class the code came from. A
# class-conditional D (projection discriminator, Miyato & Koyama 2018: D(x, y) = ψ(φ(x)) + ⟨V_y, φ(x)⟩, the embedding
# V zero-initialised, so D starts as the unconditional one) asks G's picture to look like a sharp emoji *of the
# picture's class*. 1.3.0's G continued from sharp-e's run (its D kept) at sharp-e's weight: `--config emoji64-sharp-p
# --resume --again gref:6000` on a copy of the emoji64-sharp-e run dir.
EMOJI64_SHARP_P = SimpleNamespace(**{**vars(EMOJI64_SHARP_A),
    "name": "emoji64-sharp-p",
    "version": "1.4.0",
    "gref": {**_SHARP_GREF, "w_gan": 0.5, "proj": True},
})
CONFIGS["emoji64-sharp-p"] = EMOJI64_SHARP_P
#   session 15, judged at gref step 2 500 by `ppgn_train.compare`: held-out classifier on reconstructions 0.809 × real
#   (1.3.0: 0.836; sharp-e2, the same continuation with the unconditional D, 0.824 at 1 750), sharpness 0.553 (0.556).
#   Stopped there: the class-conditional D did not make G's pictures more recognisable.

# sharp-n, sharp-z (session 15): less code noise in G's training. gref draws G(E(x) + σ·n) with σ 0.3: the noise is
# about 30 % of a code's norm, so G learns to draw one picture for a wide ball of codes — the average of the pictures
# whose codes fall in it, which is what a soft, generic reconstruction looks like. σ 0.1 and 0 (G sees E's codes of
# augmented pictures only), sharp-e's recipe otherwise, continued from sharp-e's run like sharp-p.
EMOJI64_SHARP_N = SimpleNamespace(**{**vars(EMOJI64_SHARP_A),
    "name": "emoji64-sharp-n",
    "version": "1.4.0",
    "gref": {**_SHARP_GREF, "w_gan": 0.5, "noise": 0.1},
})
EMOJI64_SHARP_Z = SimpleNamespace(**{**vars(EMOJI64_SHARP_N),
    "name": "emoji64-sharp-z",
    "gref": {**_SHARP_GREF, "w_gan": 0.5, "noise": 0.0},
})
CONFIGS["emoji64-sharp-n"] = EMOJI64_SHARP_N
CONFIGS["emoji64-sharp-z"] = EMOJI64_SHARP_Z

# sharp-x (session 16): 1.3.0 reconstructs its training emoji far better than held-out ones (held-out classifier 0.908 ×
# against 0.836 × real; pixel MSE 0.026 against 0.036): after ≈ 136 passes over 5 637 training pictures in gref, G
# draws what it has memorised. Mirrored pictures (most emoji read the same either way) double what G sees: 1.3.0's G
# continued from sharp-e's run (its D kept) with horizontal flips in gref, sharp-e's recipe otherwise.
EMOJI64_SHARP_X = SimpleNamespace(**{**vars(EMOJI64_SHARP_A),
    "name": "emoji64-sharp-x",
    "version": "1.4.0",
    "gref": {**_SHARP_GREF, "w_gan": 0.5, "flip": True},
})
CONFIGS["emoji64-sharp-x"] = EMOJI64_SHARP_X
#   session 16, `ppgn_train.compare` on held-out emoji (1.3.0: 0.836 × real, sharpness 0.556): 0.834 / 0.589 at step
#   750, 0.834 / 0.597 at 1 500, 0.848 / 0.594 at 2 500, 0.846 / 0.590 at 3 250, 0.843 / 0.579 finished (6 000); on
#   training emoji 0.901–0.915 (1.3.0 0.908). The only G-only continuation that did not lose recognisability while
#   sharpening. `npm run eval` (the card's protocol): PPGN Fréchet 6.87 (1.3.0 7.41), fast sharpness 0.64 (0.62),
#   DGN-AM 0.85 × (0.77); PPGN 1.01 × (1.06), MS-SSIM 0.224 (0.214; seed 2 0.234 against 0.214), inpainting 0.61 ×
#   (0.63; 0.638 against 0.648 at 12 per class). Less PPGN variety on both seeds: not shipped (model card, session 16).

# flip-j (started at the end of session 16, to run across sessions): 1.3.0 reconstructs training emoji at 0.908 × real
# and held-out ones at 0.836 ×, so the limit is how E and G generalise, and sharp-x showed mirrored pictures to G only.
# Here E and G see them together: 1.3.0's E and G continued in the joint phase with flips and a little more shift and
# scale (`--init-from models/emoji64 --again joint:4000`; the h-DAE and fast MLP follow on the new codes), then G
# re-sharpened by sharp-x's gref (`--resume --again gref:N`), since the joint phase has no adversarial loss.
EMOJI64_FLIP_J = SimpleNamespace(**{**vars(EMOJI64_SHARP_X),
    "name": "emoji64-flip-j",
    "joint": {**EMOJI64.joint, "lr": 3e-4, "flip": True, "shift": 3, "scale": 0.1},
})
CONFIGS["emoji64-flip-j"] = EMOJI64_FLIP_J
#   session 17, gref 6 000 steps (1 h 05 min at one thread, D from sharp-x's run): `compare` held-out 0.843 / 0.856 /
#   0.853 × real at steps ≈ 1 900 / 4 500 / 6 000, sharpness 0.576–0.586, MSE 0.0381 (1.3.0 0.836, 0.556, 0.0365);
#   training emoji 0.914 × (1.3.0 0.908): the gap to held-out 0.061 (1.3.0 0.072).
#   session 18: shipped as emoji64 1.4.0 (`ppgn_train.candidate --nets G,E,hdae,fastMlp` on 1.3.0, fast mode's noise
#   eps2 0.1 → 0.2 in the manifest), once the card's inpainting test used 24 held-out emoji per class instead of 6.

# fl (session 17): flip-j's recipe on more pictures: dataset `emoji64-fl` adds Fluent Emoji's flat drawings of the
# training emoji (1 701 pictures, +30 %; the held-out pictures are the same 996). Compared with flip-j it changes only
# the data. The style classifier gains a fourth art set, so it starts fresh and trains after the joint phase
# (`--init-from models/emoji64 --again joint:4000`, then `--resume` for style, then `--resume --again gref:N`).
EMOJI64_FL = SimpleNamespace(**{**vars(EMOJI64_FLIP_J), "name": "emoji64-fl"})
CONFIGS["emoji64-fl"] = EMOJI64_FL
#   session 17: after the joint phase (33 min at one thread) E held-out 0.605 (flip-j 0.610), `compare` held-out 0.758 ×
#   (flip-j 0.764), training 0.836 × (0.838): no gain yet. After gref 3 000 steps (34 min): held-out 0.858 ×, sharpness
#   0.586, MSE 0.0394; training emoji 0.893 × — the smallest gap to held-out yet (0.035; flip-j 0.061, 1.3.0 0.072).

# erase-j (session 19): flip-j's joint recipe continued from 1.4.0 with random erasing on E's input (half the pictures
# get a grey rectangle, ¼–¾ of each side; `erase` in train.py): E must give the code of the whole picture from part of
# it, a regulariser against memorising the 1 417 training emoji and the skill inpainting asks of it. G is then
# re-sharpened by sharp-x's gref as for flip-j (on a copy of flip-j's run, its D kept: `--resume --again joint:2500`,
# then `--resume --again gref:N`).
EMOJI64_ERASE_J = SimpleNamespace(**{**vars(EMOJI64_FLIP_J),
    "name": "emoji64-erase-j",
    "joint": {**EMOJI64_FLIP_J.joint, "erase": 0.5},
})
CONFIGS["emoji64-erase-j"] = EMOJI64_ERASE_J
#   session 19 (joint 23 min, gref 4 000 steps 43 min, one thread): `compare` held-out 0.871 × real (1.4.0 0.853),
#   sharpness 0.570 (0.576), MSE 0.0391 (0.0381), training emoji 0.906 × — the most recognisable reconstructions yet.
#   `npm run eval` (card protocol, seeds 1 / 2): PPGN 1.041 / 1.106 ×, Fréchet 6.97 / 8.31 (1.4.0 6.81 / 7.85); fast
#   1.098 / 1.077 ×, sharpness 0.624 / 0.595 (0.670 / 0.691); inpainting 0.660 / 0.654 × (0.675 / 0.693). Everything
#   sampled is worse or level: not shipped (model card, session 19).
#   session 20, `--resume --again gref:4000` more (43 min): `compare` 0.868 × / sharpness 0.563; `npm run eval` seeds
#   1 / 2: PPGN 1.113 / 1.055 ×, Fréchet 6.57 / 7.28 (the best yet); fast 1.106 / 1.098 ×, sharpness 0.614 / 0.585;
#   DGN-AM 0.826 / 0.790; inpainting from E's guess 0.708 (1.4.0 0.696). Softer reconstructions and fast mode than
#   1.4.0: not shipped (model card, session 20).

# erase-j-g (session 20): erase-j after its second gref round (8 000 steps in all: PPGN samples the best yet, Fréchet
# 6.57, but reconstructions' sharpness 0.563 against 1.4.0's 0.576) continued at sharp-g's adversarial weight (w_gan
# 0.75), to see whether sharpness can be bought back without losing the reconstructions' lead (on a copy of
# erase-j's run: `--config emoji64-erase-j-g --resume --again gref:N`).
EMOJI64_ERASE_J_G = SimpleNamespace(**{**vars(EMOJI64_ERASE_J),
    "name": "emoji64-erase-j-g",
    "gref": {**EMOJI64_ERASE_J.gref, "w_gan": 0.75},
})
CONFIGS["emoji64-erase-j-g"] = EMOJI64_ERASE_J_G
#   session 20, gref 2 000 steps (25 min, one thread): `compare` held-out 0.858 × (ej2 0.868), sharpness 0.571 (ej2
#   0.563, 1.4.0 0.576): it trades recognisability for sharpness about one for one, as sharp-g did, and stays under
#   1.4.0's sharpness. Stopped; not evaluated further.

# ffl (session 21): every adversarial weight that sharpened reconstructions made them less recognisable, and the pixel
# losses (L1 + L2) weigh every spatial frequency alike, so the fine detail a soft G misses is a small share of them.
# The focal frequency loss (Jiang et al. 2021; `focal_frequency_loss` in train.py) weighs the frequencies G gets most
# wrong most. 1.4.0's G continued by flip-j's gref with it (w_ffl 10: as large as the pixel loss on 1.4.0's held-out
# reconstructions, 0.011 against 0.107), beside the same continuation without it as the control (fresh D in both):
# `--init-from models/emoji64 --again gref:N` with `--config emoji64-ffl` and `--config emoji64-flip-j`.
EMOJI64_FFL = SimpleNamespace(**{**vars(EMOJI64_FLIP_J),
    "name": "emoji64-ffl",
    "gref": {**EMOJI64_FLIP_J.gref, "w_ffl": 10.0},
})
CONFIGS["emoji64-ffl"] = EMOJI64_FFL

# spec (session 21): the spectrum loss (`spectrum_loss` in train.py, after Durall et al. 2020's spectral regularisation):
# the energy of each reconstruction's Laplacian (the sharpness measure's sum) at each spatial frequency, matched to its
# picture's wherever that energy lies. 1.4.0's held-out reconstructions have 0.46–0.73 of the real pictures' energy in
# the rings |f| 8–32 (of 45), where 92 % of the real pictures' Laplacian energy lies. flip-j's gref (the control above) +
# w_spec 0.1 / 0.3, from 1.4.0. Every form tried (this one at w_spec 0.3, and the log power of every ring per RGB channel
# and on luminance at 0.1) blurred: sharpness 0.41–0.44 × at step 750. It matches the spectra of gref's targets, and
# gref's bilinear augmentation had blurred them to 0.54 × real (sharp-w, below).
EMOJI64_SPEC = SimpleNamespace(**{**vars(EMOJI64_FLIP_J),
    "name": "emoji64-spec",
    "gref": {**EMOJI64_FLIP_J.gref, "w_spec": 0.1},
})
EMOJI64_SPEC3 = SimpleNamespace(**{**vars(EMOJI64_FLIP_J),
    "name": "emoji64-spec3",
    "gref": {**EMOJI64_FLIP_J.gref, "w_spec": 0.3},
})
CONFIGS["emoji64-spec"] = EMOJI64_SPEC
CONFIGS["emoji64-spec3"] = EMOJI64_SPEC3

# sharp-w (session 21): gref's augmentation blurs G's targets. Bilinear resampling at a fractional shift (up to 2 px)
# and scale (±5 %) leaves the pictures G is asked to draw with 0.54 of the real pictures' sharpness, and every G refined
# against them has drawn at 0.55–0.60 × real (the spectrum losses above, matching those targets' spectra, blurred
# further). Here shifts are whole pixels and there is no scaling (`whole`), so G's targets (and D's real pictures) are
# the pictures themselves, moved and mirrored: flip-j's gref otherwise, from 1.4.0 (`--init-from models/emoji64 --again
# gref:N`), beside the control above.
EMOJI64_SHARP_W = SimpleNamespace(**{**vars(EMOJI64_FLIP_J),
    "name": "emoji64-sharp-w",
    "gref": {**EMOJI64_FLIP_J.gref, "whole": True, "scale": 0.0},
})
CONFIGS["emoji64-sharp-w"] = EMOJI64_SHARP_W
#   session 21, `compare` (held-out × real / sharpness × real): 0.821 / 0.821 at step 750, 0.851 / 0.869 at 1 500, 0.873 /
#   0.921 at 2 500 (1.4.0 0.853 / 0.576; the control 0.863 / 0.544 at 5 000); the highest band of spatial frequency has
#   1.8× the real pictures' energy (speckle). `npm run eval` at 2 500: PPGN Fréchet 6.32 / 7.07 (seeds 1 / 2), inpainting
#   0.702, fast 1.106 / 1.063 × (1.4.0 1.141 / 1.149): not shipped (model card, session 21).
#   sharp-wl: sharp-w at half the adversarial weight (w_gan 0.25): with sharp targets D's real pictures are sharp too,
#   and at step 750 sharp-w's reconstructions were sharp (0.82 × real) but less recognisable (0.82 ×; control 0.85 ×).
EMOJI64_SHARP_WL = SimpleNamespace(**{**vars(EMOJI64_SHARP_W),
    "name": "emoji64-sharp-wl",
    "gref": {**EMOJI64_SHARP_W.gref, "w_gan": 0.25},
})
CONFIGS["emoji64-sharp-wl"] = EMOJI64_SHARP_WL

# whole-j (next, after session 21): the joint phase's targets are blurred as gref's were (shift 3 px / scale ±10 %:
# 0.538 × real sharpness), and E and G learn together there. flip-j's joint and sharp-w's gref, both with whole-pixel
# shifts: `--init-from models/emoji64 --again joint:2500` (the h-DAE and fast MLP follow on the new codes), then
# `--resume --again gref:N`.
EMOJI64_WHOLE_J = SimpleNamespace(**{**vars(EMOJI64_SHARP_W),
    "name": "emoji64-whole-j",
    "joint": {**EMOJI64_FLIP_J.joint, "whole": True, "scale": 0.0},
})
CONFIGS["emoji64-whole-j"] = EMOJI64_WHOLE_J
