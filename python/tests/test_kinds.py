"""Every reduction kind through the Python binding (docs/reductions.md): pykeops' result shapes and
dtypes, out=, the checks, against NumPy float64 references.

Two artifacts: the runtime tests' hand-written kernels of kinds with indices (always), and each
kind compiled by kconv-compile (skipped, with the compiler's message, for a kind it cannot
compile yet).
"""
import subprocess

import numpy as np
import pytest

import kconv

INF = np.inf


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def kmin_ref(f, k):
    """f [nOut, nReduced, F] (float64) -> (values, indices) [nOut, K, F]: the K smallest per
    component, ascending, ties to the smaller index, NaN skipped, +inf / -1 where not filled."""
    n_out, n_red, dims = f.shape
    values = np.full((n_out, k, dims), INF)
    indices = np.full((n_out, k, dims), -1, dtype=np.int64)
    for o in range(n_out):
        for c in range(dims):
            col = f[o, :, c]
            keep = np.flatnonzero(~np.isnan(col) & (col < INF))
            order = keep[np.argsort(col[keep], kind="stable")][:k]
            values[o, :len(order), c] = col[order]
            indices[o, :len(order), c] = order
    return values, indices


def check_indices(got, want_values, want_indices, f, tol=1e-5):
    """Each index by the value it selects (a float32 near-tie may pick the other index): got
    int64, [nOut, K, F] once reshaped, against the reference's selected values; -1 exactly where
    the reference selects nothing."""
    assert got.dtype == np.int64
    got = got.reshape(want_indices.shape)
    empty = want_indices < 0
    np.testing.assert_array_equal(got[empty], -1)
    o, q, c = np.nonzero(~empty)
    j = got[o, q, c]
    assert ((j >= 0) & (j < f.shape[1])).all(), j
    np.testing.assert_allclose(f[o, j, c], want_values[o, q, c], rtol=tol, atol=tol)


# ---------------------------------------------------------------------------------------------
# The hand-written kernels (test/unit/TestArtifacts.h): nearest (min_argmin of x - y, F = 3),
# argmin_t (argmin over i of (x - y)^2, axis 0), knn (kmin_argkmin K = 3 of |x - y|, F = 2),
# argknn (argkmin K = 2 of (x - y)^2, F = 1).


@pytest.fixture
def kinds(index_artifact_path):
    a = kconv.load(index_artifact_path)
    yield a
    a.close()


def test_reduction_info(kinds):
    knn = kinds.reductions["knn"]
    assert (knn.kind, knn.value_dim, knn.index_dim, knn.k) == ("kmin_argkmin", 6, 6, 3)
    assert knn.signature == "X: i 2, Y: j 2 -> i 6 + 6 indices (kmin_argkmin over j)"
    a = kinds.reductions["argmin_t"]
    assert (a.kind, a.axis, a.value_dim, a.index_dim, a.k) == ("argmin", 0, 0, 1, 1)
    assert a.signature == "X: i 1, Y: j 1 -> j 1 indices (argmin over i)"


@pytest.mark.parametrize("n,m", [(1, 1), (37, 100), (300, 257)])
def test_shapes_and_values(kinds, n, m):
    x3, y3 = randn(n, 3, seed=1), randn(m, 3, seed=2)
    values, indices = kinds.run("nearest", x3, y3)
    assert values.shape == (n, 3) and values.dtype == np.float32
    assert indices.shape == (n, 3) and indices.dtype == np.int64
    f = x3.astype(np.float64)[:, None, :] - y3.astype(np.float64)[None, :, :]
    want, want_i = kmin_ref(f, 1)
    np.testing.assert_allclose(values, want[:, 0, :], rtol=1e-5, atol=1e-5)
    check_indices(indices, want, want_i, f)

    x1, y1 = randn(n, seed=3), randn(m, seed=4)
    got = kinds.run("argmin_t", x1, y1)  # axis 0: one row per y_j
    assert got.shape == (m, 1) and got.dtype == np.int64
    f = (y1.astype(np.float64)[:, None] - x1.astype(np.float64)[None, :])[:, :, None] ** 2
    check_indices(got, *kmin_ref(f, 1), f)

    x2, y2 = randn(n, 2, seed=5), randn(m, 2, seed=6)
    values, indices = kinds.run("knn", x2, y2)
    assert values.shape == (n, 3, 2) and indices.shape == (n, 3, 2)  # (nOut, K, F)
    f = np.abs(x2.astype(np.float64)[:, None, :] - y2.astype(np.float64)[None, :, :])
    want, want_i = kmin_ref(f, 3)
    np.testing.assert_allclose(values, want, rtol=1e-5, atol=1e-5)
    check_indices(indices, want, want_i, f)

    got = kinds.run("argknn", x1, y1)
    assert got.shape == (n, 2) and got.dtype == np.int64  # F = 1: squeezed to (nOut, K)
    f = ((x1.astype(np.float64)[:, None] - y1.astype(np.float64)[None, :]) ** 2)[:, :, None]
    check_indices(got, *kmin_ref(f, 2), f)


def test_empty_and_short(kinds):
    values, indices = kinds.run("nearest", randn(4, 3), np.zeros((0, 3), np.float32))
    assert (values == INF).all() and (indices == -1).all()
    values, indices = kinds.run("knn", randn(4, 2), randn(2, 2))  # fewer than K = 3
    assert (values[:, 2] == INF).all() and (indices[:, 2] == -1).all()
    assert (indices[:, :2] >= 0).all()
    assert (kinds.run("argmin_t", np.zeros(0, np.float32), randn(3)) == -1).all()
    values, indices = kinds.run("nearest", np.zeros((0, 3), np.float32), randn(5, 3))
    assert values.shape == (0, 3) and indices.shape == (0, 3)


def test_out(kinds):
    x, y = randn(20, 3, seed=1), randn(30, 3, seed=2)
    want = kinds.run("nearest", x, y)
    given = (np.empty((20, 3), np.float32), np.empty((20, 3), np.int64))
    got = kinds.run("nearest", x, y, out=given)
    assert got is given
    np.testing.assert_array_equal(given[0], want[0])
    np.testing.assert_array_equal(given[1], want[1])
    index_out = np.empty(20 * 2, np.int64)
    assert kinds.run("argknn", x[:, 0], y[:, 0], out=index_out) is index_out
    with pytest.raises(kconv.KconvError, match=r"out must be a \(values, indices\) tuple for a "
                                               r"min_argmin reduction"):
        kinds.run("nearest", x, y, out=given[0])
    with pytest.raises(kconv.KconvError, match="out indices must be a writable int64 "
                                               "C-contiguous array of 20 x 3 elements"):
        kinds.run("nearest", x, y, out=(given[0], given[0]))
    with pytest.raises(kconv.KconvError, match="out must be a writable int64"):
        kinds.run("argknn", x[:, 0], y[:, 0], out=np.empty(40, np.float32))


def test_torch_cpu_gives_long_indices(kinds):
    torch = pytest.importorskip("torch")
    x, y = torch.randn(10, 3), torch.randn(12, 3)
    values, indices = kinds.run("nearest", x, y)
    assert values.dtype == torch.float32 and indices.dtype == torch.long
    assert tuple(indices.shape) == (10, 3)
    assert kinds.run("argknn", x[:, 0].contiguous(), y[:, 0].contiguous()).dtype == torch.long


# ---------------------------------------------------------------------------------------------
# Each kind compiled by kconv-compile, against NumPy (CPU; and GPU where one can run it).


def _f(name, x, y):
    """The per-pair f of the formulas below, float64: [nI, nJ, F]."""
    x, y = x.astype(np.float64), y.astype(np.float64)
    diff = x[:, None, :] - y[None, :, :]
    sq = (diff ** 2).sum(-1, keepdims=True)
    return {"diff": diff, "sqdist": sq, "-sqdist": -sq}[name]


# name: (formula over X = Vi(3), Y = Vj(3), B = Vj(2), its f). The weighted kinds take g = Exp(B)
# (positive: log sum exp(f) g is real).
KINDS = {
    "min": ("Min_Reduction(X - Y, axis=1)", "diff"),
    "max": ("Max_Reduction(X - Y, axis=1)", "diff"),
    "argmin": ("ArgMin_Reduction(SqDist(X, Y), axis=1)", "sqdist"),
    "argmax": ("ArgMax_Reduction(X - Y, axis=1)", "diff"),
    "min_argmin": ("Min_ArgMin_Reduction(X - Y, axis=1)", "diff"),
    "max_argmax": ("Max_ArgMax_Reduction(SqDist(X, Y), axis=0)", "sqdist"),
    "kmin": ("KMin_Reduction(SqDist(X, Y), 5, axis=1)", "sqdist"),
    "argkmin": ("ArgKMin_Reduction(X - Y, K=4, axis=1)", "diff"),
    "kmin_argkmin": ("KMin_ArgKMin_Reduction(SqDist(X, Y), K=3, axis=1)", "sqdist"),
    "logsumexp": ("LogSumExp_Reduction(-SqDist(X, Y), axis=1)", "-sqdist"),
    "logsumexp_weighted": ("LogSumExp_Reduction(-SqDist(X, Y), Exp(B), axis=1)", "-sqdist"),
    "max_sumshiftexp": ("Max_SumShiftExpWeight_Reduction(-SqDist(X, Y), Exp(B), axis=1)",
                        "-sqdist"),
    "sumsoftmaxweight": ("SumSoftMaxWeight_Reduction(-SqDist(X, Y), Exp(B), axis=1)", "-sqdist"),
}
K_OF = {"kmin": 5, "argkmin": 4, "kmin_argkmin": 3}


@pytest.fixture(scope="session")
def compiled(tmp_path_factory, kconv_compile):
    """compiled(name) -> the loaded artifact of KINDS[name] (skips when it does not compile)."""
    compiler = kconv_compile
    if compiler is None:
        pytest.skip("kconv-compile not built")
    out = tmp_path_factory.mktemp("kinds")
    cache = {}

    def get(name):
        if name not in cache:
            formula = KINDS[name][0]
            src = out / f"{name}.kconv"
            src.write_text("X = Vi(3)\nY = Vj(3)\n" + ("B = Vj(2)\n" if "B" in formula else "")
                           + f"{name} = {formula}\n")
            kca = out / f"{name}.kca"
            r = subprocess.run([str(compiler), str(src), "-o", str(kca)], capture_output=True,
                               text=True)
            if r.returncode == 0:
                cache[name] = kconv.load(kca)
            else:
                lines = (r.stdout + r.stderr).strip().splitlines()
                cache[name] = lines[0] if lines else f"exit status {r.returncode}"
        got = cache[name]
        if isinstance(got, str):
            pytest.skip(f"kconv-compile cannot compile {name} yet: {got}")
        return got
    return get


def reference(name, x, y, b):
    """What docs/reductions.md says `name` computes, float64: (values, indices) [nOut, K, F] for
    the min/max kinds (K = 1 without K), else the values [nOut, value_dim]; and f [nOut,
    nReduced, F], to check indices by the value they select."""
    f = _f(KINDS[name][1], x, y)
    if KINDS[name][0].endswith("axis=0)"):  # rows are j
        f = np.transpose(f, (1, 0, 2))
    if name in ("min", "argmin", "min_argmin", "kmin", "argkmin", "kmin_argkmin"):
        return kmin_ref(f, K_OF.get(name, 1)), f
    if name in ("max", "argmax", "max_argmax"):
        values, indices = kmin_ref(-f, 1)  # ties to the smaller index, empty: -inf / -1
        return (-values, indices), f
    g = np.exp(b.astype(np.float64))[None, :, :]
    n_out, n_red = f.shape[:2]
    m = f.max(axis=1, keepdims=True) if n_red else np.full((n_out, 1, 1), -INF)
    shifted = np.exp(f - m)  # [nOut, nReduced, 1]
    with np.errstate(divide="ignore", invalid="ignore"):  # log 0 = -inf, 0 / 0 = NaN (KeOps)
        if name == "logsumexp":
            return (m + np.log(shifted.sum(1, keepdims=True)))[:, 0, :], f
        if name == "logsumexp_weighted":
            return (m + np.log((shifted * g).sum(1, keepdims=True)))[:, 0, :], f
        if name == "max_sumshiftexp":
            return np.concatenate([m[:, 0, :], (shifted * g).sum(1)], axis=1), f
        return (shifted * g).sum(1) / shifted.sum(1), f


@pytest.mark.parametrize("name", list(KINDS))
@pytest.mark.parametrize("n,m", [(40, 70), (5, 1), (3, 0)])
def test_compiled_kind(compiled, name, n, m):
    """n output rows, m reduced rows (so m = 0 is the empty reduced range on either axis)."""
    art = compiled(name)
    r = art.reductions[name]
    axis0 = r.axis == 0
    x = randn(m if axis0 else n, 3, seed=n)
    y = randn(n if axis0 else m, 3, seed=m + 1)
    b = randn(len(y), 2, seed=m + 2)
    args = [{"X": x, "Y": y, "B": b}[v.name] for v in r.variables]
    want, f = reference(name, x, y, b)
    for device in ["cpu"] + (["gpu"] if art.gpu_available(name) else []):
        got = art.run(name, *args, device=device)
        if not isinstance(want, tuple):
            assert got.dtype == np.float32 and got.shape == want.shape, (device, got.shape)
            np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5, err_msg=device)
            continue
        values, indices = want
        k, dims = values.shape[1:]
        shape = (n, k, dims) if name in K_OF else (n, dims)
        if name in K_OF and dims == 1:
            shape = (n, k)
        outs = list(got) if r.value_dim and r.index_dim else [got]
        assert [o.shape for o in outs] == [shape] * len(outs), device
        if r.value_dim:
            assert outs[0].dtype == np.float32
            np.testing.assert_allclose(outs[0].reshape(values.shape), values, rtol=2e-5,
                                       atol=2e-5, err_msg=device)
        if r.index_dim:
            check_indices(outs[-1], values, indices, f, tol=2e-5)
