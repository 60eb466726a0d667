#!/usr/bin/env python3
"""Wide variables on the GPU: the Gaussian exp(-g |x_i - y_j|^2) b_j in D = 100, 1000 and 65536
(b_j^2 at 65536; bench/gpu/formulas/wide.kconv), kconv against KeOps 2.3 (Genred, the same formula
with g as a parameter), in one process, size by size.

  python3 bench/gpu/wide.py ARTIFACT_DIR [--out DIR] [--quick]

- Inputs: float32 random normal torch CUDA tensors, N = M; time = wall time per synchronized
  call, median after a warm-up; error = max |out - ref| / max |ref| on 64 rows against float64.
- KeOps where `import pykeops` works (shared/GPU.md says how to carry it); its first call
  compiles (not timed).
- Writes wide.md to --out (default $OUT or .).
"""
import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

CASES = [  # reduction, D, g, weight (B or Square(B): wide.kconv), sizes
    ("gaussian100", 100, 0.01, "B", [10000, 100000]),
    ("gaussian1000", 1000, 0.001, "B", [10000, 50000]),
    ("gaussian65536", 65536, 0.00001, "Square(B)", [1000, 5000]),
]
sys.path.insert(0, HERE)
from timing import timed  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("artifacts", help="folder with wide.kca (scripts/build-gpu-artifacts.sh)")
    ap.add_argument("--out", default=os.environ.get("OUT", "."))
    ap.add_argument("--quick", action="store_true", help="3 repeats instead of 10")
    args = ap.parse_args()
    import torch
    import kconv
    try:
        from pykeops.torch import Genred
    except Exception as e:  # noqa: BLE001 - any import failure means no KeOps here
        Genred = None
        print(f"KeOps not available ({e}): kconv only")
    art = kconv.load(os.path.join(args.artifacts, "wide.kca"))
    repeats = 3 if args.quick else 10
    sync = torch.cuda.synchronize
    rows = ["| reduction | D | N | kconv ms | error | KeOps ms | error | kconv / KeOps |",
            "|---|---|---|---|---|---|---|---|"]
    for name, dim, g, weight, sizes in CASES:
        keops = None
        if Genred is not None:
            keops = Genred(f"Exp(-SqDist(X, Y) * G) * {weight}",
                           [f"X = Vi({dim})", f"Y = Vj({dim})", "B = Vj(1)", "G = Pm(1)"],
                           reduction_op="Sum", axis=1)
        for n in sizes:
            gen = torch.Generator(device="cuda").manual_seed(n)
            x = torch.randn(n, dim, device="cuda", generator=gen)
            y = torch.randn(n, dim, device="cuda", generator=gen)
            b = torch.randn(n, 1, device="cuda", generator=gen)
            gp = torch.tensor([g], device="cuda")
            rows64 = torch.arange(0, n, max(1, n // 64), device="cuda")[:64]
            d2 = torch.cdist(x[rows64].double(), y.double(),
                             compute_mode="donot_use_mm_for_euclid_dist") ** 2
            w = b.double() ** 2 if weight == "Square(B)" else b.double()
            ref = (torch.exp(-g * d2) @ w).squeeze(1)

            def err(out):
                return float((out[rows64].double().squeeze(1) - ref).abs().max() / ref.abs().max())

            # The reduction's arguments in its variables' order (i: x, j of dimension D: y, b).
            order = [x if v.category == "i" else y if v.dim == dim else b
                     for v in art.reductions[name].variables]
            out = art.run(name, *order, device="gpu")
            t_k = timed(lambda: art.run(name, *order, device="gpu"), sync, repeats)
            cells = [name, str(dim), str(n), f"{t_k * 1e3:.3f}", f"{err(out):.1e}"]
            if keops is not None:
                try:
                    out_keops = keops(x, y, b, gp)
                    t_o = timed(lambda: keops(x, y, b, gp), sync, repeats)
                    cells += [f"{t_o * 1e3:.3f}", f"{err(out_keops):.1e}", f"{t_k / t_o:.2f}"]
                except Exception as e:  # noqa: BLE001 - report and go on
                    cells += [f"failed: {str(e).splitlines()[0][:60]}", "", ""]
            else:
                cells += ["", "", ""]
            rows.append("| " + " | ".join(cells) + " |")
            print(rows[-1], flush=True)
            del x, y, b, d2
            torch.cuda.empty_cache()
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "wide.md"), "w") as f:
        f.write("\n".join(rows) + "\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
