#!/usr/bin/env python3
"""NumPy tensorized Gaussian convolution, the benchmark's baseline.

    out = exp(-(|x|^2 - 2 x.y^T + |y|^2)) @ b      (float32, D = 3, N = M)

Usage: numpy_gauss.py N REPEATS  ->  prints "numpy N=... median_ms=... rel_error=..."
(relative error ||out - ref|| / ||ref|| against float64 on 256 sampled rows).
"""
import sys
import time

import numpy as np


def gauss(x, y, b):
    d = (x * x).sum(1)[:, None] - 2 * (x @ y.T) + (y * y).sum(1)[None, :]
    np.exp(-d, out=d)
    return d @ b


def main():
    n, repeats = int(sys.argv[1]), int(sys.argv[2])
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((n, 3), np.float32), rng.standard_normal((n, 3), np.float32)
    b = rng.standard_normal((n, 1), np.float32)
    out = gauss(x, y, b)  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = gauss(x, y, b)
        times.append((time.perf_counter() - t0) * 1e3)
    rows = rng.choice(n, size=min(n, 256), replace=False)
    x64, y64, b64 = x.astype(np.float64), y.astype(np.float64), b.astype(np.float64)
    ref = np.exp(-((x64[rows, None, :] - y64[None, :, :]) ** 2).sum(-1)) @ b64
    err = np.linalg.norm(out[rows] - ref) / np.linalg.norm(ref)
    print(f"numpy N={n} median_ms={np.median(times):.4f} rel_error={err:.3g}")


if __name__ == "__main__":
    main()
