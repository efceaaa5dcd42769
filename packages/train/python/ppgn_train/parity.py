"""Parity fixture: build a network with every layer type a pack uses, give it random weights (batch-norm with
non-trivial running statistics), export it in the pack format and write inputs, outputs and every tap (in the
spec's NHWC layout) to <out>/parity.json. The TypeScript test loads the net with @ppgn/core and compares.

    python3 -m ppgn_train.parity --out DIR
"""
import argparse
import json
import os

import torch

from .netspec import SpecNet, export_net, to_spec_layout

IMAGE_SPEC = {"name": "parity_image", "input": [12, 10, 3], "layers": [
    {"type": "conv2d", "filters": 5, "kernel": 3, "stride": 1, "padding": "same", "name": "c1"},
    {"type": "batchnorm", "epsilon": 1e-3, "name": "bn1"},
    {"type": "relu", "name": "r1"},
    {"type": "conv2d", "filters": 6, "kernel": 3, "stride": 2, "padding": "same", "name": "c2"},
    {"type": "leakyRelu", "alpha": 0.2, "name": "l2"},
    {"type": "conv2d", "filters": 4, "kernel": 4, "stride": 2, "padding": "same", "name": "c3"},
    {"type": "affine", "name": "aff"},
    {"type": "tanh", "name": "t3"},
    {"type": "upsample", "factor": 2, "name": "up"},
    {"type": "conv2d", "filters": 4, "kernel": 3, "stride": 1, "padding": "valid", "name": "cv"},
    {"type": "sigmoid", "name": "s4"},
    {"type": "avgPool", "size": 2, "padding": "valid", "name": "ap", "from": "r1"},
    {"type": "maxPool", "size": 2, "padding": "valid", "name": "mp"},
    {"type": "globalAvgPool", "name": "gap"},
    {"type": "flatten", "name": "flat", "from": "s4"},
    {"type": "dropout", "rate": 0.5, "name": "drop"},
    {"type": "dense", "units": 7, "name": "d1"},
    {"type": "dense", "units": 3, "bias": False, "name": "d2", "from": "gap"},
]}

CODE_SPEC = {"name": "parity_code", "input": [6], "layers": [
    {"type": "dense", "units": 3 * 2 * 4, "name": "fc"},
    {"type": "reshape", "shape": [3, 2, 4], "name": "rs"},
    {"type": "leakyRelu", "alpha": 0.1, "name": "lr"},
    {"type": "upsample", "factor": 2, "name": "up"},
    {"type": "conv2d", "filters": 3, "kernel": 3, "stride": 1, "padding": "same", "name": "rgb"},
    {"type": "batchnorm", "epsilon": 1e-5, "name": "bn"},
    {"type": "sigmoid", "name": "image"},
    {"type": "flatten", "name": "flat"},
    {"type": "dense", "units": 5, "name": "head", "from": "fc"},
]}


def build(spec, seed):
    torch.manual_seed(seed)
    net = SpecNet(spec)
    with torch.no_grad():
        for l in net.layers:
            if l.type == "batchnorm":
                l.bn.weight.uniform_(0.5, 1.5)
                l.bn.bias.uniform_(-0.5, 0.5)
                l.bn.running_mean.uniform_(-0.5, 0.5)
                l.bn.running_var.uniform_(0.5, 2.0)
            elif l.type == "affine":
                l.scale.uniform_(0.5, 1.5)
                l.shift.uniform_(-0.5, 0.5)
            elif l.type in ("dense", "conv2d"):
                b = l.lin.bias if l.type == "dense" else l.conv.bias
                if b is not None:
                    b.uniform_(-0.3, 0.3)
    net.eval()
    return net


def case(net, x_spec_layout, name, out_dir):
    x = x_spec_layout.permute(0, 3, 1, 2) if x_spec_layout.dim() == 4 else x_spec_layout
    taps = [l["name"] for l in net.spec["layers"] if l.get("name")]
    with torch.no_grad():
        y, t = net(x, taps=taps)
    export_net(net, out_dir, name)
    return {
        "net": f"{name}.net.json",
        "input": {"shape": list(x_spec_layout.shape), "data": x_spec_layout.flatten().tolist()},
        "output": {"shape": list(to_spec_layout(y).shape), "data": to_spec_layout(y).flatten().tolist()},
        "taps": {k: {"shape": list(to_spec_layout(v).shape), "data": to_spec_layout(v).flatten().tolist()} for k, v in t.items()},
    }


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    g = torch.Generator().manual_seed(3)
    cases = [
        case(build(IMAGE_SPEC, 1), torch.rand(2, 12, 10, 3, generator=g), "image", a.out),
        case(build(CODE_SPEC, 2), torch.randn(3, 6, generator=g), "code", a.out),
    ]
    with open(os.path.join(a.out, "parity.json"), "w") as f:
        json.dump({"torch": torch.__version__, "cases": cases}, f)


if __name__ == "__main__":
    main()
