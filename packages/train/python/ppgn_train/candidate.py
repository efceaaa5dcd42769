"""Put a run's generator into a copy of a trained pack, to evaluate it with `npm run eval` as users would run it.

    python3 -m ppgn_train.candidate --base models/emoji64 --dataset FILE.u8.bin --run emoji64-sharp-a:~/.cache/ppgn/train-runs/emoji64-sharp-a \
        --out ~/.cache/ppgn/packs/emoji64-sharp-a

For runs that refine G only (`--init-from PACK --again gref:N`): E, the h-DAE, the fast-mode MLP, the plug-ins and the
evaluation classifier stay the base pack's, so the candidate differs from it in G alone (the moving average of G's
weights when the run keeps one, as the trainer would export it). The copy's manifest says where its G came from.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil

from .compare import load_pair
from .netspec import export_net, load_net
from .train import Data


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", required=True, help="the trained pack folder to copy")
    ap.add_argument("--run", required=True, help="CONFIG:RUN_DIR of a run whose G (or its moving average) to use")
    ap.add_argument("--out", required=True)
    ap.add_argument("--dataset", required=True, help="the run's dataset file (it sizes the networks)")
    a = ap.parse_args(argv)
    base = os.path.abspath(a.base)
    out = os.path.abspath(os.path.expanduser(a.out))
    if out == base:
        raise SystemExit("--out must differ from --base (the base pack is left as it is)")
    old_g = load_net(os.path.join(base, "G.net.json"))
    _, G = load_pair(f"run:{a.run}", Data(a.dataset))
    if G.spec != old_g.spec:
        raise SystemExit("the run's G has another architecture than the base pack's: export the run as a pack instead")
    if os.path.exists(out):
        shutil.rmtree(out)
    shutil.copytree(base, out)
    export_net(G, out, "G")
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
        if "gref" in st.get("done", []):
            with open(os.path.join(out, "eval", "training.json"), "w") as f:
                json.dump({k: st.get(k, {}) for k in ("metrics", "timings", "steps")}, f, indent=1)
            for k in ("steps", "timings"):
                if st.get(k):
                    training[k] = st[k]
    manifest["name"] = os.path.basename(out)
    training["generatorFrom"] = a.run
    with open(mf, "w") as f:
        json.dump(manifest, f, indent=1)
    print(f"{out}: {os.path.basename(base)} with G from {a.run}")


if __name__ == "__main__":
    main()
