"""Runs the special-values formulas through kconv-run and checks KeOps' values at the special
points: a NaN input gives NaN in its row (fast math too), Rsqrt(0) = 0, Inv(Sqrt(0)) = +inf,
Exp(-inf) = 0, Exp(+inf) = +inf, Log(0) = -inf. Usage: special_values.py KCONV_RUN ARTIFACT TMPDIR"""
import subprocess
import sys

import numpy as np

run, artifact, tmp = sys.argv[1:4]


def call(name, **inputs):
    args = [run, artifact, name, "--device", "cpu", "--output", f"{tmp}/out.npy"]
    for var, value in inputs.items():
        path = f"{tmp}/{var}.npy"
        np.save(path, np.asarray(value, dtype=np.float32))
        args += ["--input", f"{var}={path}"]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return np.load(f"{tmp}/out.npy")[:, 0]


rng = np.random.default_rng(7)
failures = []


def expect(label, got, want):
    ok = np.array_equal(got, want, equal_nan=True) if want.dtype.kind == "f" else got == want
    if not np.all(ok):
        failures.append(f"{label}: got {got}, want {want}")


# 40 rows, 37 reduced rows (more than one vector and a masked tail).
x = rng.normal(size=(40, 3)).astype(np.float32)
y = rng.normal(size=(37, 3)).astype(np.float32)
b = rng.normal(size=(37, 1)).astype(np.float32)

# NaN in one row of X: that row is NaN, the others finite (fast math must not clamp NaN away).
xn = x.copy()
xn[5, 0] = np.nan
out = call("gauss", X=xn, Y=y, B=b)
expect("gauss NaN row", np.isnan(out), np.arange(40) == 5)
# NaN in one reduced row: every output row is NaN.
yn = y.copy()
yn[36, 2] = np.nan
expect("gauss NaN in Y", np.isnan(call("gauss", X=x, Y=yn, B=b)), np.ones(40, bool))

# x_i = y_j for one pair: SqDist = 0 there.
xs = x.copy()
xs[3] = y[10]
with np.errstate(divide="ignore"):
    ref_rsqrt = (1 / np.sqrt(((xs[:, None, :].astype(np.float64) - y[None]) ** 2).sum(-1)))
ref_rsqrt[3, 10] = 0  # KeOps: Rsqrt(0) = 0
got = call("rsqrt_dist", X=xs, Y=y)
if not np.allclose(got, ref_rsqrt.sum(1), rtol=1e-4):
    failures.append(f"rsqrt_dist: row 3 = {got[3]}, want {ref_rsqrt.sum(1)[3]}")
got = call("inv_sqrt_dist", X=xs, Y=y)
expect("Inv(Sqrt(0)) = +inf", np.isposinf(got), np.arange(40) == 3)
got = call("log_dist", X=xs, Y=y)
expect("Log(0) = -inf", np.isneginf(got), np.arange(40) == 3)

# Exp(+-inf): rows of X at +inf and -inf.
xi = x.copy()
xi[0] = np.inf
xi[1] = -np.inf
got = call("exp_plain", X=xi, Y=y)
expect("Exp(+inf)", np.isposinf(got[0]), np.bool_(True))
expect("Exp(-inf) = 0", got[1], np.float32(0))

if failures:
    print("\n".join(failures))
    sys.exit(1)
print("special values: OK")
