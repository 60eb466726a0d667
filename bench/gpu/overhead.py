#!/usr/bin/env python3
"""Where a small call's time goes (GPU host): the per-call pieces of `art.run` on CUDA tensors at
N = M = 100, each timed over many calls (median of 5 batches, µs per call).

  python3 bench/gpu/overhead.py ARTIFACT [REDUCTION]
"""
import ctypes
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))


def per_call(fn, calls=2000, batches=5):
    out = []
    for _ in range(batches):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        out.append((time.perf_counter() - t0) / calls * 1e6)
    return statistics.median(out)


def main():
    import torch
    import kconv
    art = kconv.load(sys.argv[1])
    name = sys.argv[2] if len(sys.argv) > 2 else next(iter(art.reductions))
    dev = torch.device("cuda")
    x, y, b = (torch.randn(100, d, device=dev) for d in (3, 3, 1))
    art.run(name, x, y, b)
    torch.cuda.synchronize()
    sync = torch.cuda.synchronize
    out = torch.empty((100, 1), device=dev)
    ptr_array, row_array, dim_array, options, ptr_arg, options_arg = art._tls.cuda_calls[3]
    handle, encoded = art._handle, name.encode()
    c_run = art._lib.kconv_run

    def c_call():  # the C API call alone, arguments prepared (what the Python wrapper adds is the rest)
        c_run(handle, encoded, ptr_arg, 3, out.data_ptr(), 100, 100, options_arg)

    rows = [
        ("kconv_run C call alone (queued, no sync)", c_call),
        ("kconv_run C call + synchronize", lambda: (c_call(), sync())),
        ("torch.cuda.synchronize() (idle GPU)", sync),
        ("torch.empty((100, 1), device='cuda')", lambda: torch.empty((100, 1), device=dev)),
        ("torch.cuda.current_stream().cuda_stream", lambda: torch.cuda.current_stream(dev).cuda_stream),
        ("art.run (queued, no sync)", lambda: art.run(name, x, y, b)),
        ("art.run + synchronize", lambda: (art.run(name, x, y, b), sync())),
        ("torch x + 1 + synchronize (a torch op, for scale)", lambda: (x + 1, sync())),
    ]
    print("| per call | µs |\n|---|---|")
    for label, fn in rows:
        fn()
        sync()
        us = per_call(fn, calls=500 if "sync" in label else 2000)
        sync()
        print(f"| {label} | {us:.1f} |", flush=True)


if __name__ == "__main__":
    main()
