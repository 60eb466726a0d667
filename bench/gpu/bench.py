#!/usr/bin/env python3
"""The seed benchmark on the GPU: Gaussian convolution out_i = sum_j exp(-|x_i - y_j|^2) b_j on 3-D
points, kconv against PyTorch (eager matmul form, cdist, torch.compile(dynamic=True)), in one
process. Docs: shared/BENCHMARKS.md's method.

  python3 bench/gpu/bench.py ARTIFACT.kca [--out DIR] [--sizes 100,1000,...] [--quick] [--batch B]

- Inputs: float32 random normal, already on the GPU; N = M.
- Time: wall time per call from Python, synchronized (torch.cuda.synchronize), median over repeats
  after a warm-up.
- Error: |out - ref| / |ref| on 256 sampled rows against a float64 evaluation (on the GPU).
- PyTorch is skipped past out-of-memory or 1.2 s per call (and for every larger N).
- Writes bench.md (the table), bench.json and bench.png (log-log) to --out (default $OUT or .).
- --batch B: every input with a batch dimension of B problems, x (B, N, 3) ... -> (B, N, 1), one
  call for all of them (kconv's batch dimensions; PyTorch's batched matmul and cdist); the table
  adds the time per problem; the error is the worst of problems 0 and B - 1.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

SIZES = [100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000,
         1000000, 10000000]
KCONV_ONLY_FROM = 10000000  # N = 1e7: kconv only
TORCH_LIMIT_S = 1.2
GOALS = {  # N: (ms, error) from shared/BENCHMARKS.md
    1000000: (280.0, 2e-6),
    100000: (3.5, None),
    10000: (0.050, None),
    2000: (0.020, None), 1000: (0.020, None), 500: (0.020, None), 200: (0.020, None),
    100: (0.020, None),
}


def parse():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("artifact", help="artifact with reduction gaussian_conv (X i 3, Y j 3, B j 1)")
    ap.add_argument("--reduction", default="gaussian_conv")
    ap.add_argument("--out", default=os.environ.get("OUT", "."))
    ap.add_argument("--sizes", default=None, help="comma-separated N list")
    ap.add_argument("--quick", action="store_true", help="fewer repeats, no torch.compile")
    ap.add_argument("--no-torch", action="store_true", help="kconv only")
    ap.add_argument("--batch", type=int, default=0, help="problems per call (0: unbatched)")
    ap.add_argument("--min-time", type=float, default=0.25,
                    help="seconds of timed calls per measurement (at least 3 calls)")
    return ap.parse_args()


def timed(fn, sync, min_time, warmup=2, max_calls=200):
    """Median wall time (s) of fn() + sync() after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
        sync()
    times = []
    total = 0.0
    while len(times) < 3 or (total < min_time and len(times) < max_calls):
        t0 = time.perf_counter()
        fn()
        sync()
        dt = time.perf_counter() - t0
        times.append(dt)
        total += dt
        if dt > 5.0 and len(times) >= 1:
            break  # very long calls: one timed call is enough
    return statistics.median(times), len(times)


def main():
    args = parse()
    import torch
    import kconv

    if not torch.cuda.is_available():
        print("SKIPPED: torch sees no CUDA GPU")
        return 77
    dev = torch.device("cuda")
    art = kconv.load(args.artifact)
    why = art.gpu_unavailable_reason(args.reduction)
    if why:
        print(f"SKIPPED: kconv cannot run {args.reduction} on the GPU: {why}")
        return 77
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else SIZES
    os.makedirs(args.out, exist_ok=True)
    sync = torch.cuda.synchronize
    props = torch.cuda.get_device_properties(dev)
    gpu = f"{props.name}, {props.multi_processor_count} SMs"
    print(f"# {gpu}; torch {torch.__version__}; kconv artifact {args.artifact}", flush=True)

    def torch_matmul(x, y, b):
        d2 = ((x * x).sum(-1, keepdim=True) - 2.0 * (x @ y.transpose(-1, -2))
              + (y * y).sum(-1).unsqueeze(-2))
        return torch.exp(-d2) @ b

    def torch_cdist(x, y, b):
        return torch.exp(-torch.cdist(x, y) ** 2) @ b

    methods = {"torch matmul": torch_matmul, "torch cdist": torch_cdist}
    if not args.quick and not args.no_torch:
        methods["torch.compile"] = torch.compile(torch_matmul, dynamic=True)
    if args.no_torch:
        methods = {}
    dead = set()  # methods past OOM or the time limit

    def reference(x, y, b, rows):
        """float64 on the GPU, sampled rows, chunked over j."""
        xs = x[rows].double()
        acc = torch.zeros(len(rows), 1, dtype=torch.float64, device=dev)
        step = max(1, (1 << 26) // max(len(rows), 1))
        for j0 in range(0, y.shape[0], step):
            yj = y[j0:j0 + step].double()
            d2 = ((xs[:, None, :] - yj[None, :, :]) ** 2).sum(-1)
            acc += torch.exp(-d2) @ b[j0:j0 + step].double()
        return acc

    def rel_err(out, ref, rows):
        got = out.reshape(-1, 1)[rows].double()
        return float(torch.linalg.norm(got - ref) / torch.linalg.norm(ref))

    batch = max(args.batch, 1)
    shape = (args.batch,) if args.batch else ()

    def errors(out, refs, rows):
        """The worst of the checked problems (0 and B - 1) against their references."""
        if not args.batch:
            return rel_err(out, refs[0], rows)
        return max(rel_err(out[p], ref, rows) for p, ref in zip((0, batch - 1), refs))

    results = []
    for n in sizes:
        gen = torch.Generator(device=dev).manual_seed(n)
        x = torch.randn(*shape, n, 3, device=dev, generator=gen)
        y = torch.randn(*shape, n, 3, device=dev, generator=gen)
        b = torch.randn(*shape, n, 1, device=dev, generator=gen)
        rows = torch.randperm(n, device=dev, generator=gen)[:256]
        refs = ([reference(x[p], y[p], b[p], rows) for p in (0, batch - 1)] if args.batch
                else [reference(x, y, b, rows)])
        row = {"N": n, "B": batch}
        min_time = args.min_time if n < 1000000 else 0.0
        # kconv
        out = art.run(args.reduction, x, y, b)
        sync()
        err = errors(out, refs, rows)
        # (For N = 1e7 the correctness run above is the warm-up: each call takes ~30 s.)
        t, calls = timed(lambda: art.run(args.reduction, x, y, b), sync, min_time,
                         warmup=0 if n >= KCONV_ONLY_FROM else 2)
        row["kconv"] = {"ms": t * 1e3, "err": err, "calls": calls,
                        "pairs_per_s": batch * n * n / t, "us_per_problem": t * 1e6 / batch}
        print(f"N={n}: kconv {t * 1e3:.4f} ms ({batch * n * n / t:.3e} pairs/s, err {err:.1e}"
              + (f", {t * 1e6 / batch:.3f} us per problem" if args.batch else "") + ")",
              flush=True)
        # PyTorch
        for name, fn in methods.items():
            if name in dead or n >= KCONV_ONLY_FROM:
                row[name] = None
                continue
            try:
                out = fn(x, y, b)
                sync()
                err = errors(out, refs, rows)
                del out
                t, calls = timed(lambda: fn(x, y, b), sync, min_time,
                                 warmup=1 if name == "torch.compile" else 2, max_calls=50)
                row[name] = {"ms": t * 1e3, "err": err, "calls": calls,
                             "us_per_problem": t * 1e6 / batch}
                print(f"N={n}: {name} {t * 1e3:.4f} ms (err {err:.1e})", flush=True)
                if t > TORCH_LIMIT_S:
                    dead.add(name)
            except torch.cuda.OutOfMemoryError:
                row[name] = None
                dead.add(name)
                print(f"N={n}: {name} out of memory", flush=True)
            except Exception as e:  # e.g. torch.compile failing on this host
                row[name] = None
                dead.add(name)
                print(f"N={n}: {name} failed: {type(e).__name__}: {e}", flush=True)
            torch.cuda.empty_cache()
        results.append(row)
        del x, y, b
        torch.cuda.empty_cache()

    # Table.
    names = list(methods)
    per = " | kconv us/problem" if args.batch else ""
    lines = [f"GPU: {gpu}, torch {torch.__version__}. ms per call (median, synchronized, inputs "
             f"on the GPU)" + (f" of a batch of {batch} problems" if args.batch else "") +
             f"; error |out - ref| / |ref| on 256 rows vs float64; '-': OOM or past "
             f"{TORCH_LIMIT_S} s.", "",
             "| N | kconv ms" + per + " | kconv pairs/s | kconv error | "
             + " | ".join(f"{m} ms" for m in names)
             + (" | speedup vs best torch" if names else "") + " | goal |",
             "|---|---|" + ("---|" if per else "") + "---|---|" + "---|" * len(names)
             + ("---|" if names else "") + "---|"]
    for row in results:
        k = row["kconv"]
        cells = [f"{row['N']}", f"{k['ms']:.4g}"] + (
            [f"{k['us_per_problem']:.4g}"] if per else []) + [
            f"{k['pairs_per_s']:.3g}", f"{k['err']:.1e}"]
        best = None
        for m in names:
            r = row.get(m)
            cells.append(f"{r['ms']:.4g}" if r else "-")
            if r and (best is None or r["ms"] < best):
                best = r["ms"]
        if names:
            cells.append(f"{best / k['ms']:.1f}x" if best else "-")
        goal = None if args.batch else GOALS.get(row["N"])
        if goal:
            ok = k["ms"] <= goal[0] and (goal[1] is None or k["err"] <= goal[1])
            cells.append(("ok" if ok else "MISSED") + f" (<= {goal[0]:g} ms"
                         + (f", err <= {goal[1]:g}" if goal[1] else "") + ")")
        elif row["N"] >= KCONV_ONLY_FROM:
            cells.append("ok (runs)" if math.isfinite(k["err"]) and k["err"] < 1e-4 else "MISSED")
        else:
            cells.append("")
        lines.append("| " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    with open(os.path.join(args.out, "bench.md"), "w") as f:
        f.write(table + "\n")
    with open(os.path.join(args.out, "bench.json"), "w") as f:
        json.dump({"gpu": gpu, "torch": torch.__version__, "results": results}, f, indent=1)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(7, 5))
        ns = [r["N"] for r in results]
        ax.loglog(ns, [r["kconv"]["ms"] for r in results], "o-", label="kconv")
        for m in names:
            pts = [(r["N"], r[m]["ms"]) for r in results if r.get(m)]
            if pts:
                ax.loglog(*zip(*pts), "s--", label=m)
        ax.set_xlabel("N = M (points)")
        ax.set_ylabel("ms per call")
        ax.set_title(f"Gaussian convolution, 3-D, float32 — {props.name}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(os.path.join(args.out, "bench.png"), dpi=120)
    except Exception as e:
        print(f"(no plot: {e})")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
