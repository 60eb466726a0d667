#!/usr/bin/env python3
"""Strong scaling over several GPUs in one process: the Gaussian convolution
out_i = sum_j exp(-|x_i - y_j|^2) b_j at N = M (default 1e7), host arrays, the output rows sharded
over 1, 2, ... GPUs by the runtime (RunOptions::devices, art.run(..., devices=[0, 1])).

  python3 bench/gpu/multi_gpu.py ARTIFACT.kca [--n 10000000] [--gpus 1,2] [--repeats 3]
                                 [--rows 64] [--plan VARIANT:CHUNKS] [--out DIR]

- Time: wall time per call (host arrays: copies in, kernels, copies out, all GPUs joined), median
  over --repeats after one warm-up.
- Error: |out - ref| / |ref| on --rows sampled rows against a float64 NumPy evaluation.
- "same as 1 GPU": whether the result is bit-identical to the 1-GPU run (it is when every slice
  gets the same launch plan: pass --plan, e.g. 0:1, to force one; docs/scale-out.md).
- Prints a markdown table and writes multi-gpu.md to --out (default $OUT or .).
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))


def reference(x, y, b, rows, chunk=200000):
    xs = x[rows].astype(np.float64)
    acc = np.zeros((len(rows), 1))
    for j0 in range(0, len(y), chunk):
        yj = y[j0:j0 + chunk].astype(np.float64)
        d2 = (xs * xs).sum(1)[:, None] + (yj * yj).sum(1)[None, :] - 2.0 * xs @ yj.T
        acc += np.exp(-np.maximum(d2, 0.0)) @ b[j0:j0 + chunk].astype(np.float64)
    return acc


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("artifact")
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--gpus", default="1,2", help="GPU counts to time (first counts are ordinals 0..k-1)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rows", type=int, default=64)
    ap.add_argument("--plan", default=None, help="KCONV_GPU_PLAN for every slice (VARIANT:CHUNKS)")
    ap.add_argument("--out", default=os.environ.get("OUT", "."))
    args = ap.parse_args()
    if args.plan:
        os.environ["KCONV_GPU_PLAN"] = args.plan  # read when the artifact is loaded
    import kconv

    art = kconv.load(args.artifact)
    rng = np.random.default_rng(0)
    n = args.n
    x = rng.standard_normal((n, 3)).astype(np.float32)
    y = rng.standard_normal((n, 3)).astype(np.float32)
    b = rng.standard_normal((n, 1)).astype(np.float32)
    rows = np.sort(rng.choice(n, size=min(args.rows, n), replace=False))
    ref = reference(x, y, b, rows)

    counts = [int(c) for c in args.gpus.split(",")]
    results, base, first = [], None, None
    for count in counts:
        devices = list(range(count))
        out = np.empty((n, 1), np.float32)
        art.run("gaussian_conv", x, y, b, device="gpu", devices=devices, out=out)  # warm-up
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            art.run("gaussian_conv", x, y, b, device="gpu", devices=devices, out=out)
            times.append((time.perf_counter() - t0) * 1e3)
        ms = statistics.median(times)
        err = float(np.linalg.norm(out[rows] - ref) / np.linalg.norm(ref))
        if first is None:
            first, base = out.copy(), ms
        same = "yes" if np.array_equal(out, first) else "no"
        results.append((count, ms, base / ms, n * n / (ms * 1e-3), err, same))
        print(f"{count} GPU(s): {ms:.1f} ms, rel. error {err:.2e}", file=sys.stderr, flush=True)

    lines = [f"Gaussian convolution, N = M = {n:.0e}, host arrays, {args.repeats} runs (median)"
             + (f", plan {args.plan}" if args.plan else ""),
             "", "| GPUs | ms | speed-up | pairs/s | rel. error | same as 1 GPU |",
             "|---:|---:|---:|---:|---:|:---:|"]
    for count, ms, speedup, rate, err, same in results:
        lines.append(f"| {count} | {ms:.1f} | {speedup:.2f}x | {rate:.3e} | {err:.1e} | {same} |")
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "multi-gpu.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
