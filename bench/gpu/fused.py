#!/usr/bin/env python3
"""Fused reductions on the GPU: the value Sum(K*B) and the gradient-style Sum(K*(X-Y)*B) of one
Gaussian kernel K = exp(-|x_i - y_j|^2) in 3-D (bench/gpu/formulas/fused.kconv), computed by one
run_many call (the fused kernel: K once per pair) against the value alone and the two reductions
as two calls; KeOps 2.3 side by side where it imports (the two Genred calls, and one Genred of
their Concat: KeOps' own way to fuse).

  python3 bench/gpu/fused.py ARTIFACT_DIR [--out DIR] [--quick] [--sizes N,N,...]

- Inputs: float32 random normal torch CUDA tensors, N = M; time = wall time per synchronized
  call (or pair of calls), median after a warm-up; error = max |out - ref| / max |ref| over both
  outputs on 64 rows against float64.
- Writes fused.md to --out (default $OUT or .).
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
sys.path.insert(0, HERE)
from timing import timed  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("artifacts", help="folder with fused.kca (scripts/build-gpu-artifacts.sh)")
    ap.add_argument("--out", default=os.environ.get("OUT", "."))
    ap.add_argument("--quick", action="store_true", help="3 repeats instead of 10")
    ap.add_argument("--sizes", default="10000,100000,1000000")
    args = ap.parse_args()
    import torch
    import kconv
    try:
        from pykeops.torch import Genred
    except Exception as e:  # noqa: BLE001 - any import failure means no KeOps here
        Genred = None
        print(f"KeOps not available ({e}): kconv only")
    art = kconv.load(os.path.join(args.artifacts, "fused.kca"))
    fused = art.fused_reduction(["value", "grad"])
    assert fused is not None, "fused.kca has no fused reduction of value and grad"
    repeats = 3 if args.quick else 10
    sync = torch.cuda.synchronize
    keops = None
    if Genred is not None:
        aliases = ["X = Vi(3)", "Y = Vj(3)", "B = Vj(1)"]
        k = "Exp(-SqDist(X, Y))"
        keops = (Genred(f"{k} * B", aliases, reduction_op="Sum", axis=1),
                 Genred(f"{k} * (X - Y) * B", aliases, reduction_op="Sum", axis=1),
                 Genred(f"Concat({k} * B, {k} * (X - Y) * B)", aliases, reduction_op="Sum",
                        axis=1))
    header = ["N", "value alone ms", "value + grad, 2 calls ms", "run_many (fused) ms",
              "fused / value", "2 calls / value", "error"]
    if keops:
        header += ["KeOps 2 calls ms", "KeOps Concat ms", "kconv fused / KeOps Concat"]
    rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for n in [int(s) for s in args.sizes.split(",")]:
        gen = torch.Generator(device="cuda").manual_seed(n)
        x = torch.randn(n, 3, device="cuda", generator=gen)
        y = torch.randn(n, 3, device="cuda", generator=gen)
        b = torch.randn(n, 1, device="cuda", generator=gen)
        rows64 = torch.arange(0, n, max(1, n // 64), device="cuda")[:64]
        xd, yd, bd = x[rows64].double(), y.double(), b.double()
        kd = torch.exp(-torch.cdist(xd, yd, compute_mode="donot_use_mm_for_euclid_dist") ** 2)
        ref_v = kd @ bd
        ref_g = (kd * bd.T) @ yd
        ref_g = xd * (kd @ bd) - ref_g  # sum_j K (x - y) b

        def err(v, g):
            return max(float((v[rows64].double() - ref_v).abs().max() / ref_v.abs().max()),
                       float((g[rows64].double() - ref_g).abs().max() / ref_g.abs().max()))

        def two_calls():
            return (art.run("value", X=x, Y=y, B=b), art.run("grad", X=x, Y=y, B=b))

        def many():
            out = art.run_many(["value", "grad"], X=x, Y=y, B=b)
            return out["value"], out["grad"]
        v, g = many()
        t_one = timed(lambda: art.run("value", X=x, Y=y, B=b), sync, repeats)
        t_two = timed(two_calls, sync, repeats)
        t_fused = timed(many, sync, repeats)
        cells = [str(n), f"{t_one * 1e3:.3f}", f"{t_two * 1e3:.3f}", f"{t_fused * 1e3:.3f}",
                 f"{t_fused / t_one:.2f}", f"{t_two / t_one:.2f}", f"{err(v, g):.1e}"]
        if keops:
            value_k, grad_k, concat_k = keops
            t_k2 = timed(lambda: (value_k(x, y, b), grad_k(x, y, b)), sync, repeats)
            t_kc = timed(lambda: concat_k(x, y, b), sync, repeats)
            cells += [f"{t_k2 * 1e3:.3f}", f"{t_kc * 1e3:.3f}", f"{t_fused / t_kc:.2f}"]
        rows.append("| " + " | ".join(cells) + " |")
        print(rows[-1], flush=True)
        del x, y, b, kd
        torch.cuda.empty_cache()
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "fused.md"), "w") as f:
        f.write("\n".join(rows) + "\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
