"""PyTorch implementation of the `ppgn-net/1` network format that @ppgn/core runs with TensorFlow.js.

A network is the same declarative JSON spec on both sides (`{input, layers: [...]}`, layers run in order,
`from` reads an earlier named layer, every named layer is a tap). Here the spec is built into a torch Module
for training; `export_net` writes `<name>.net.json` + `<name>.weights.bin` exactly as `Net.serialize` does.

Layout: the spec speaks NHWC (TensorFlow.js); inside, rank-3 activations are kept NCHW (fast convs in
PyTorch) and converted at flatten/reshape and when taps are handed out. Padding 'same' follows TensorFlow
(the extra row/column goes after), so stride-2 convs agree with tfjs. A parity test in packages/train runs
the same inputs through both implementations.
"""
from __future__ import annotations

import json
import math
import os
import struct
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F


def _prod(xs):
    p = 1
    for x in xs:
        p *= x
    return p


def _out_size(n, k, s, pad):
    return math.ceil(n / s) if pad == "same" else (n - k) // s + 1


def _same_pad(n, k, s):
    """TensorFlow 'same' padding along one axis: (before, after)."""
    out = math.ceil(n / s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


class Layer(nn.Module):
    def __init__(self, spec: dict, key: str, in_shape: List[int]):
        super().__init__()
        self.spec = spec
        self.key = key
        self.in_shape = list(in_shape)
        t = spec["type"]
        self.type = t
        ch = in_shape[-1]
        # variables in the order @ppgn/core's Net creates them (serialisation order)
        self.var_names: List[str] = []
        if t == "dense":
            assert len(in_shape) == 1, f"{key}: dense needs rank-1 input, got {in_shape}"
            self.lin = nn.Linear(in_shape[0], spec["units"], bias=spec.get("bias", True))
            nn.init.kaiming_normal_(self.lin.weight, nonlinearity="relu")
            if self.lin.bias is not None:
                nn.init.zeros_(self.lin.bias)
            self.out_shape = [spec["units"]]
            self.var_names = ["kernel"] + (["bias"] if self.lin.bias is not None else [])
        elif t == "conv2d":
            assert len(in_shape) == 3, f"{key}: conv2d needs rank-3 input, got {in_shape}"
            k, s = spec["kernel"], spec.get("stride", 1)
            pad = spec.get("padding", "same")
            self.conv = nn.Conv2d(ch, spec["filters"], k, stride=s, padding=0, bias=spec.get("bias", True))
            nn.init.kaiming_normal_(self.conv.weight, nonlinearity="relu")
            if self.conv.bias is not None:
                nn.init.zeros_(self.conv.bias)
            if pad == "same":
                ph, pw = _same_pad(in_shape[0], k, s), _same_pad(in_shape[1], k, s)
                self.pads = (pw[0], pw[1], ph[0], ph[1])
            else:
                self.pads = (0, 0, 0, 0)
            self.out_shape = [_out_size(in_shape[0], k, s, pad), _out_size(in_shape[1], k, s, pad), spec["filters"]]
            self.var_names = ["kernel"] + (["bias"] if self.conv.bias is not None else [])
        elif t == "upsample":
            f = spec.get("factor", 2)
            self.out_shape = [in_shape[0] * f, in_shape[1] * f, ch]
        elif t == "batchnorm":
            eps = spec.get("epsilon", 1e-3)
            self.bn = (nn.BatchNorm2d if len(in_shape) == 3 else nn.BatchNorm1d)(ch, eps=eps, momentum=0.05)
            self.out_shape = list(in_shape)
            self.var_names = ["gamma", "beta", "mean", "variance"]
        elif t == "affine":
            self.scale = nn.Parameter(torch.ones(ch))
            self.shift = nn.Parameter(torch.zeros(ch))
            self.out_shape = list(in_shape)
            self.var_names = ["scale", "shift"]
        elif t == "reshape":
            assert _prod(spec["shape"]) == _prod(in_shape), f"{key}: cannot reshape {in_shape} to {spec['shape']}"
            self.out_shape = list(spec["shape"])
        elif t == "flatten":
            self.out_shape = [_prod(in_shape)]
        elif t in ("avgPool", "maxPool"):
            size = spec.get("size", 2)
            st = spec.get("stride", size)
            if spec.get("padding", "same") != "valid" and (in_shape[0] % st or in_shape[1] % st or size != st):
                raise ValueError(f"{key}: only pools that tile the input exactly are supported by the trainer")
            self.out_shape = [_out_size(in_shape[0], size, st, "valid"), _out_size(in_shape[1], size, st, "valid"), ch]
        elif t == "globalAvgPool":
            self.out_shape = [ch]
        elif t in ("relu", "leakyRelu", "tanh", "sigmoid", "dropout"):
            self.out_shape = list(in_shape)
            if t == "dropout":
                self.drop = nn.Dropout(spec.get("rate", 0.5))
        else:
            raise ValueError(f"{key}: layer type {t} is not supported by the trainer")

    def forward(self, x):
        t, sp = self.type, self.spec
        if t == "dense":
            return self.lin(x)
        if t == "conv2d":
            if any(self.pads):
                x = F.pad(x, self.pads)
            return self.conv(x)
        if t == "upsample":
            return F.interpolate(x, scale_factor=sp.get("factor", 2), mode="nearest")
        if t == "relu":
            return F.relu(x)
        if t == "leakyRelu":
            return F.leaky_relu(x, sp.get("alpha", 0.2))
        if t == "tanh":
            return torch.tanh(x)
        if t == "sigmoid":
            return torch.sigmoid(x)
        if t == "batchnorm":
            return self.bn(x)
        if t == "affine":
            shape = (1, -1, 1, 1) if x.dim() == 4 else (1, -1)
            return x * self.scale.view(shape) + self.shift.view(shape)
        if t == "reshape":
            if x.dim() == 4:
                x = x.permute(0, 2, 3, 1)
            y = x.reshape(x.shape[0], *self.out_shape)
            return y.permute(0, 3, 1, 2) if len(self.out_shape) == 3 else y
        if t == "flatten":
            if x.dim() == 4:
                x = x.permute(0, 2, 3, 1)
            return x.reshape(x.shape[0], -1)
        if t == "avgPool":
            size = sp.get("size", 2)
            return F.avg_pool2d(x, size, sp.get("stride", size))
        if t == "maxPool":
            size = sp.get("size", 2)
            return F.max_pool2d(x, size, sp.get("stride", size))
        if t == "globalAvgPool":
            return x.mean(dim=(2, 3))
        if t == "dropout":
            return self.drop(x)
        raise ValueError(t)

    def variables(self) -> List[Tuple[str, torch.Tensor]]:
        """(name, value in tfjs layout) in serialisation order"""
        t = self.type
        out = []
        if t == "dense":
            out.append(("kernel", self.lin.weight.detach().t()))
            if self.lin.bias is not None:
                out.append(("bias", self.lin.bias.detach()))
        elif t == "conv2d":
            out.append(("kernel", self.conv.weight.detach().permute(2, 3, 1, 0)))
            if self.conv.bias is not None:
                out.append(("bias", self.conv.bias.detach()))
        elif t == "batchnorm":
            out += [("gamma", self.bn.weight.detach()), ("beta", self.bn.bias.detach()),
                    ("mean", self.bn.running_mean.detach()), ("variance", self.bn.running_var.detach())]
        elif t == "affine":
            out += [("scale", self.scale.detach()), ("shift", self.shift.detach())]
        return out

    def load_variables(self, vals: Dict[str, torch.Tensor]):
        t = self.type
        with torch.no_grad():
            if t == "dense":
                self.lin.weight.copy_(vals["kernel"].t())
                if self.lin.bias is not None:
                    self.lin.bias.copy_(vals["bias"])
            elif t == "conv2d":
                self.conv.weight.copy_(vals["kernel"].permute(3, 2, 0, 1))
                if self.conv.bias is not None:
                    self.conv.bias.copy_(vals["bias"])
            elif t == "batchnorm":
                self.bn.weight.copy_(vals["gamma"]); self.bn.bias.copy_(vals["beta"])
                self.bn.running_mean.copy_(vals["mean"]); self.bn.running_var.copy_(vals["variance"])
            elif t == "affine":
                self.scale.copy_(vals["scale"]); self.shift.copy_(vals["shift"])


def to_spec_layout(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 2, 3, 1) if x.dim() == 4 else x


def from_spec_layout(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 3, 1, 2) if x.dim() == 4 else x


class SpecNet(nn.Module):
    """A torch Module built from a ppgn-net/1 spec. `forward(x)` takes NCHW images (or [B, D] vectors)."""

    def __init__(self, spec: dict):
        super().__init__()
        self.spec = spec
        self.input_shape = list(spec["input"])
        shapes = {"input": self.input_shape}
        cur = self.input_shape
        layers = []
        self.tap_shapes: Dict[str, List[int]] = {}
        for i, l in enumerate(spec["layers"]):
            key = l.get("name") or f"{l['type']}_{i}"
            in_shape = shapes[l["from"]] if l.get("from") else cur
            layer = Layer(l, key, in_shape)
            layers.append(layer)
            cur = layer.out_shape
            if l.get("name"):
                if l["name"] in shapes:
                    raise ValueError(f"duplicate layer name {l['name']}")
                shapes[l["name"]] = cur
                self.tap_shapes[l["name"]] = cur
        self.layers = nn.ModuleList(layers)
        self.output_shape = cur

    def forward(self, x, taps: Optional[List[str]] = None, taps_only: bool = False):
        """returns (output, {tap: activation in internal layout})"""
        want = set(taps or [])
        outs = {"input": x}
        got = {}
        cur = x
        for layer in self.layers:
            inp = outs[layer.spec["from"]] if layer.spec.get("from") else cur
            cur = layer(inp)
            name = layer.spec.get("name")
            if name:
                outs[name] = cur
                if name in want:
                    got[name] = cur
                    if taps_only and len(got) == len(want):
                        return None, got
        return cur, got

    def param_count(self):
        return sum(_prod(v.shape) for l in self.layers for _, v in l.variables())

    def variables(self):
        for l in self.layers:
            for vn, v in l.variables():
                yield f"{l.key}/{vn}", v

    def load_variables(self, vals: Dict[str, torch.Tensor]):
        for l in self.layers:
            mine = {k.split("/", 1)[1]: v for k, v in vals.items() if k.split("/", 1)[0] == l.key}
            if l.var_names:
                missing = [n for n in l.var_names if n not in mine]
                if missing:
                    raise KeyError(f"{l.key}: missing {missing}")
                l.load_variables(mine)


def export_net(net: SpecNet, out_dir: str, name: str):
    """write <name>.net.json + <name>.weights.bin (float32 little-endian), like Net.serialize in @ppgn/core"""
    os.makedirs(out_dir, exist_ok=True)
    entries = []
    chunks = []
    off = 0
    for n, v in net.variables():
        a = v.detach().to("cpu", torch.float32).contiguous()
        entries.append({"name": n, "shape": list(a.shape), "offset": off})
        b = a.numpy().astype("<f4").tobytes()
        chunks.append(b)
        off += len(b)
    wfile = f"{name}.weights.bin"
    with open(os.path.join(out_dir, wfile), "wb") as f:
        for b in chunks:
            f.write(b)
    with open(os.path.join(out_dir, f"{name}.net.json"), "w") as f:
        json.dump({"format": "ppgn-net/1", "spec": net.spec, "weightsFile": wfile, "weights": entries}, f)
    return off


def load_net(path: str) -> SpecNet:
    """read a <name>.net.json (+ weights) into a SpecNet"""
    import numpy as np

    with open(path) as f:
        nf = json.load(f)
    net = SpecNet(nf["spec"])
    raw = open(os.path.join(os.path.dirname(path), nf["weightsFile"]), "rb").read()
    vals = {}
    for w in nf["weights"]:
        n = _prod(w["shape"])
        a = np.frombuffer(raw, dtype="<f4", count=n, offset=w["offset"]).reshape(w["shape"]).copy()
        vals[w["name"]] = torch.from_numpy(a)
    net.load_variables(vals)
    return net
