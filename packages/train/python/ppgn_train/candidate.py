"""Put a run's generator (or encoder) into a copy of a trained pack, to evaluate it with `npm run eval` as users would.

    python3 -m ppgn_train.candidate --base models/emoji64 --dataset FILE.u8.bin --run emoji64-sharp-a:~/.cache/ppgn/train-runs/emoji64-sharp-a \
        --out ~/.cache/ppgn/packs/emoji64-sharp-a

For runs that refine G only (`--init-from PACK --again gref:N`): E, the h-DAE, the fast-mode MLP, the plug-ins and the
evaluation classifier stay the base pack's, so the candidate differs from it in G alone (the moving average of G's
weights when the run keeps one, as the trainer would export it). The copy's manifest says where its G came from.

For runs that refine E (`--again eref:N`, which retrains the h-DAE and the fast-mode MLP on the new codes):
`--nets E,hdae,fastMlp` takes those three from the run instead (G stays the base's), and the manifest's code range
and statistics follow the run's new codes.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil

import torch

from . import configs
from .compare import load_pair
from .netspec import SpecNet, export_net, load_net
from .train import Data, code_range

NETS = ("G", "E", "hdae", "fastMlp")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", required=True, help="the trained pack folder to copy")
    ap.add_argument("--run", required=True, help="CONFIG:RUN_DIR of a run whose G (or its moving average) to use")
    ap.add_argument("--out", required=True)
    ap.add_argument("--dataset", required=True, help="the run's dataset file (it sizes the networks)")
    ap.add_argument("--nets", default="G", help=f"comma-separated networks to take from the run (of {', '.join(NETS)})")
    a = ap.parse_args(argv)
    base = os.path.abspath(a.base)
    out = os.path.abspath(os.path.expanduser(a.out))
    if out == base:
        raise SystemExit("--out must differ from --base (the base pack is left as it is)")
    nets = [n for n in a.nets.split(",") if n]
    bad = [n for n in nets if n not in NETS]
    if bad or not nets:
        raise SystemExit(f"--nets: {', '.join(bad) or 'nothing'} (choose from {', '.join(NETS)})")
    config, _, run_dir = a.run.partition(":")
    run_dir = os.path.expanduser(run_dir)
    data = Data(a.dataset)
    taken = {}
    for name in nets:
        old = load_net(os.path.join(base, f"{name}.net.json"))
        if name == "G":
            net = load_pair(f"run:{a.run}", data)[1]
        else:
            if config not in configs.CONFIGS:
                raise SystemExit(f"--run {a.run}: unknown config {config}")
            if not os.path.exists(os.path.join(run_dir, f"{name}.pt")):
                raise SystemExit(f"--run {a.run}: the run has no {name}.pt")
            net = SpecNet(old.spec)
            net.load_state_dict(torch.load(os.path.join(run_dir, f"{name}.pt"), map_location="cpu"))
        if net.spec != old.spec:
            raise SystemExit(f"the run's {name} has another architecture than the base pack's: export the run as a pack instead")
        taken[name] = net
    if os.path.exists(out):
        shutil.rmtree(out)
    shutil.copytree(base, out)
    for name, net in taken.items():
        export_net(net, out, name)
    mf = os.path.join(out, "manifest.json")
    with open(mf) as f:
        manifest = json.load(f)
    training = manifest.setdefault("training", {})
    # the run's training history (the base's, carried over by --init-from, plus its own refinement) when it finished;
    # the manifest's step and time totals follow it, so the card and the manifest say the same
    state_file = os.path.join(os.path.expanduser(a.run.partition(":")[2]), "state.json")
    if os.path.exists(state_file):
        with open(state_file) as f:
            st = json.load(f)
        if "E" in taken:  # new codes: their range (the sampler clips h to it) and statistics as the trainer exports them
            cs = st.get("metrics", {}).get("codeStats")
            if not cs:
                raise SystemExit(f"{state_file}: no code statistics (has the run finished its eref phase?)")
            lim = code_range(cs)
            manifest["code"].update({"min": -lim, "max": lim})
            training["codeStats"] = cs
        if all(ph in st.get("done", []) for ph in ("gref", "hdae", "fast")):
            with open(os.path.join(out, "eval", "training.json"), "w") as f:
                json.dump({k: st.get(k, {}) for k in ("metrics", "timings", "steps")}, f, indent=1)
            for k in ("steps", "timings"):
                if st.get(k):
                    training[k] = st[k]
    manifest["name"] = os.path.basename(out)
    if "G" in taken:
        training["generatorFrom"] = a.run
    if "E" in taken:
        training["encoderFrom"] = a.run
    with open(mf, "w") as f:
        json.dump(manifest, f, indent=1)
    print(f"{out}: {os.path.basename(base)} with {', '.join(taken)} from {a.run}")


if __name__ == "__main__":
    main()
