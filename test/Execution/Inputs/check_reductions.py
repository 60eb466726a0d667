"""Runs every reduction of an artifact through `kconv-run --check` (float64 reference: values
within the tolerance, indices by the value they select) at sizes around the vector width, the
tile and j-block sizes, and 20000; then on inputs with exact ties (integer coordinates), where the
indices must be the smallest of each tie: kconv-run --output vs a NumPy float64 computation.

usage: check_reductions.py KCONV_RUN ARTIFACT TMPDIR [DEVICE]   (DEVICE: cpu (default) or gpu)
"""
import subprocess
import sys

import numpy as np

KCONV_RUN, ARTIFACT, TMP = sys.argv[1:4]
DEVICE = sys.argv[4] if len(sys.argv) > 4 else "cpu"
SIZES = ["1,1", "16,17", "15,0", "1025,1023", "20000,20000"]


def run(*args):
    device = ["--device", DEVICE] if args and args[0] != "--list" else []
    return subprocess.run([KCONV_RUN, ARTIFACT, *args, *device], capture_output=True, text=True)


# --list: a header line, then "  NAME: signature" and an indented availability line each.
names = [line.split(":")[0].strip() for line in run("--list").stdout.splitlines()
         if line.startswith("  ") and not line.startswith("   ")]
assert names, "no reductions listed"
failures = 0
for name in names:
    for size in SIZES:
        r = run(name, "--random", size, "--check", "--check-rows", "300")
        ok = r.returncode == 0 and "FAILED" not in r.stdout
        failures += not ok
        print(f"{name} {size}: {'OK' if ok else 'FAILED'}")
        if not ok:
            print(r.stdout + r.stderr)

# Ties: X, Y on a small integer grid (many equal distances), B = 1: ArgMin and ArgKMin must give
# the smallest index of each tie, as numpy's stable sort does.
rng = np.random.default_rng(3)
n, m = 50, 400
x = rng.integers(-2, 3, (n, 3)).astype(np.float32)
y = rng.integers(-2, 3, (m, 3)).astype(np.float32)
np.save(f"{TMP}/x.npy", x)
np.save(f"{TMP}/y.npy", y)
d = ((x[:, None, :].astype(np.float64) - y[None]) ** 2).sum(-1)
order = np.argsort(d, axis=1, kind="stable")
for name, want in [("nearest", order[:, :1]), ("knn", order[:, :10])]:
    r = run(name, "--input", f"X={TMP}/x.npy", "--input", f"Y={TMP}/y.npy", "--random", f"{n},{m}",
            "--output", f"{TMP}/{name}.npy")
    got = np.load(f"{TMP}/{name}.npy") if r.returncode == 0 else None
    ok = got is not None and got.dtype == np.int64 and np.array_equal(got, want)
    failures += not ok
    print(f"{name} ties: {'OK' if ok else 'FAILED'}")
    if not ok:
        print(r.stdout + r.stderr, got[:3] if got is not None else None, want[:3])
print("reductions:", "OK" if failures == 0 else f"{failures} FAILED")
