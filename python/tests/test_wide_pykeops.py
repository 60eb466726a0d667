"""Wide variables against KeOps (pykeops 2.3, CPU backend) and float64 NumPy: dimensions past 128,
which kconv computes chunk by chunk (kconv-chunk-dimensions: component sums as loops over chunks,
wide outputs as loops over output chunks; docs/passes.md). kconv-compile builds one artifact per
case (CPU code); pykeops builds each formula with g++ at first use (cached).

Tolerance: RTOL relative to the largest reference value of the output (the terms' float32 error
grows with D: a sum of D products). Indices are checked by the distance they select. Skipped,
with the reason, where pykeops or kconv-compile is missing.
"""
import subprocess

import numpy as np
import pytest

import kconv

from keops_support import import_genred

Genred = import_genred()

RTOL = 2e-5

# name, kconv statement, pykeops (formula, aliases, reduction_op, axis, opt_arg), NumPy reference
# of (x, y, b, g) in float64 -> output.
CASES = {
    # Inputs of dimension 300 (chunks, and a last chunk of 12 on the CPU: 300 = 9 * 32 + 12).
    "gauss300": ("Sum_Reduction(Exp(-SqDist(X, Y) * G) * B, axis=1)",
                 "Exp(-SqDist(X, Y) * G) * B", "Sum", 1, None),
    # Norm2, a scalar product and a parameter, reduced over i (one output row per j).
    "mixed1000": ("Sum_Reduction(Norm2(X - Y) * B + (X | Y) * G, axis=0)",
                  "Norm2(X - Y) * B + (X | Y) * G", "Sum", 0, None),
    # A wide output: 500 columns (62 output chunks of 8, then 4).
    "out500": ("Sum_Reduction(Exp(-SqDist(A, Z)) * H, axis=1)",
               "Exp(-SqDist(A, Z)) * H", "Sum", 1, None),
    # k nearest neighbours in dimension 257.
    "knn257": ("ArgKMin_Reduction(SqDist(X, Y), 3, axis=1)", "SqDist(X, Y)", "ArgKMin", 1, 3),
}
DIMS = {"gauss300": 300, "mixed1000": 1000, "out500": 3, "knn257": 257}


def aliases(case):
    d = DIMS[case]
    if case == "out500":
        return ["A = Vi(3)", "Z = Vj(3)", "H = Vj(500)"]
    names = ["X = Vi(%d)" % d, "Y = Vj(%d)" % d]
    if case in ("gauss300", "mixed1000"):
        names += ["B = Vj(1)", "G = Pm(1)"]
    return names


def inputs(case, n, m, seed):
    rng = np.random.default_rng(seed)
    d = DIMS[case]
    scale = 1 / np.sqrt(d)  # |x - y|^2 ~ 2: the Gaussian stays away from 0
    arrays = []
    for alias in aliases(case):
        name, decl = [s.strip() for s in alias.split("=")]
        cat, dim = decl[:2], int(decl[3:-1])
        rows = {"Vi": n, "Vj": m, "Pm": None}[cat]
        if cat == "Pm":
            arrays.append(np.array([0.7], np.float32))
        else:
            s = scale if dim == d and case != "out500" else 1.0
            arrays.append((rng.standard_normal((rows, dim)) * s).astype(np.float32))
    return arrays


def reference(case, arrays):
    a = [np.asarray(v, np.float64) for v in arrays]
    if case == "out500":
        x, y, h = a
        return np.exp(-((x[:, None] - y[None]) ** 2).sum(-1)) @ h
    x, y = a[0], a[1]
    d2 = ((x[:, None] - y[None]) ** 2).sum(-1)
    if case == "gauss300":
        b, g = a[2], a[3][0]
        return np.exp(-d2 * g) @ b
    if case == "mixed1000":
        b, g = a[2], a[3][0]
        f = np.sqrt(d2) * b[None, :, 0] + (x @ y.T) * g  # [i, j]
        return f.sum(0)[:, None]
    return d2  # knn257: the distances the indices select


@pytest.fixture(scope="module")
def wide_artifacts(tmp_path_factory, kconv_compile):
    """One artifact per case (the cases declare X and Y at different dimensions)."""
    if kconv_compile is None or not kconv_compile.exists():
        pytest.skip("kconv-compile not built (set KCONV_COMPILE)")
    folder = tmp_path_factory.mktemp("wide")
    loaded = {}
    for case, (statement, *_) in CASES.items():
        src = folder / f"{case}.kconv"
        src.write_text("\n".join(a.replace(" ", "") for a in aliases(case)) +
                       f"\n{case} = {statement}\n")
        out = src.with_suffix(".kca")
        r = subprocess.run([str(kconv_compile), str(src), "--no-gpu", "-o", str(out)],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        loaded[case] = kconv.load(out)
    yield loaded
    for a in loaded.values():
        a.close()


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("n,m", [(1, 1), (37, 300), (200, 129)])
def test_wide_against_keops(wide_artifacts, case, n, m):
    _, formula, op, axis, k = CASES[case]
    arrays = inputs(case, n, m, seed=n + m)
    try:
        keops = Genred(formula, aliases(case), reduction_op=op, axis=axis, opt_arg=k)
        got_keops = keops(*arrays, backend="CPU")
    except Exception as e:  # a failed g++ build surfaces as an ImportError of its module
        pytest.skip(f"pykeops cannot build its CPU code here: {type(e).__name__}: "
                    f"{str(e).strip().splitlines()[0] if str(e).strip() else ''}")
    got = wide_artifacts[case].run(case, *arrays, device="cpu")
    want = reference(case, arrays)
    if op == "ArgKMin":
        assert got.shape == (n, k) and got.dtype == np.int64
        filled = min(k, m)  # fewer reduced rows than K: kconv's other indices are -1
        assert (got[:, filled:] == -1).all()
        best = np.sort(want, axis=1)[:, :filled]
        scale = np.abs(best).max()
        for idx in (got[:, :filled], np.asarray(got_keops).astype(np.int64)[:, :filled]):
            np.testing.assert_allclose(np.take_along_axis(want, idx, axis=1), best,
                                       rtol=0, atol=RTOL * scale)
        return
    assert got.shape == want.shape == np.asarray(got_keops).shape
    scale = np.abs(want).max()
    np.testing.assert_allclose(got, want, rtol=0, atol=RTOL * scale)
    np.testing.assert_allclose(got_keops, want, rtol=0, atol=RTOL * scale)
    np.testing.assert_allclose(got, got_keops, rtol=0, atol=2 * RTOL * scale)
