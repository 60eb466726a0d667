"""run_many and fused reductions (kconv-fuse-reductions) from Python, on the CPU: each result
against its own run() and NumPy float64, NumPy and torch inputs, batches, index kinds, the
fallback when no fused reduction exists, and the errors. Needs kconv-compile (skipped without)."""
import subprocess

import numpy as np
import pytest

import kconv

SOURCE = """X = Vi(3)
Y = Vj(3)
B = Vj(1)
value = Sum_Reduction(Exp(-SqDist(X, Y)) * B, axis=1)
grad = Sum_Reduction(Exp(-SqDist(X, Y)) * (X - Y) * B, axis=1)
nearest = Min_ArgMin_Reduction(SqDist(X, Y), axis=1)
nearest_abs = Min_ArgMin_Reduction(Abs(X - Y), axis=1)
transposed = Sum_Reduction(Exp(-SqDist(X, Y)) * B, axis=0)
"""


@pytest.fixture(scope="module")
def fused(tmp_path_factory, kconv_compile):
    if kconv_compile is None:
        pytest.skip("kconv-compile not built")
    d = tmp_path_factory.mktemp("fused")
    (d / "fused.kconv").write_text(SOURCE)
    result = subprocess.run([str(kconv_compile), str(d / "fused.kconv"), "--no-gpu", "-o",
                             str(d / "fused.kca")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    a = kconv.load(d / "fused.kca")
    yield a
    a.close()


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def refs(x, y, b):
    x, y, b = (np.asarray(a, np.float64) for a in (x, y, b))
    diff = x[..., :, None, :] - y[..., None, :, :]
    k = np.exp(-(diff ** 2).sum(-1))
    return k @ b, np.einsum("...ij,...ijk->...ik", k * np.swapaxes(b, -1, -2), diff)


def rel(got, want):
    return np.abs(np.asarray(got, np.float64) - want).max() / np.abs(want).max()


def test_fused_reduction_lookup(fused):
    name, values, indices = fused.fused_reduction(["grad", "value"])
    assert name == "fused__value__grad"
    assert values == [1, 0] and indices == [0, 0]  # grad's columns follow value's
    assert fused.reduction(name).value_dim == 4
    assert fused.fused_reduction(["value"]) is None
    assert fused.fused_reduction(["value", "transposed"]) is None
    _, values, indices = fused.fused_reduction(["nearest", "nearest_abs"])
    assert values == [0, 1] and indices == [0, 1]


@pytest.mark.parametrize("n,m", [(1, 1), (17, 1025), (1000, 300)])
def test_run_many_matches_run_and_numpy(fused, n, m):
    x, y, b = randn(n, 3, seed=1), randn(m, 3, seed=2), randn(m, 1, seed=3)
    out = fused.run_many(["grad", "value"], X=x, Y=y, B=b)
    ref_v, ref_g = refs(x, y, b)
    assert out["value"].shape == (n, 1) and out["grad"].shape == (n, 3)
    assert rel(out["value"], ref_v) < 1e-5 and rel(out["grad"], ref_g) < 1e-5
    np.testing.assert_allclose(out["grad"], fused.run("grad", X=x, Y=y, B=b), rtol=1e-6,
                               atol=1e-7)


def test_run_many_index_kind(fused):
    x, y = randn(200, 3, seed=4), randn(333, 3, seed=5)
    out = fused.run_many(["nearest", "nearest_abs"], X=x, Y=y)
    for name in ("nearest", "nearest_abs"):
        values, indices = out[name]
        want_v, want_i = fused.run(name, X=x, Y=y)
        np.testing.assert_array_equal(indices, want_i)
        np.testing.assert_allclose(values, want_v, rtol=1e-6)
    d = np.abs(x[:, None, :].astype(np.float64) - y[None, :, :])
    np.testing.assert_array_equal(out["nearest_abs"][1], d.argmin(1))


def test_run_many_batch_and_torch(fused):
    x, y, b = randn(4, 50, 3, seed=6), randn(40, 3, seed=7), randn(4, 40, 1, seed=8)
    out = fused.run_many(["value", "grad"], X=x, Y=y, B=b)
    ref_v, ref_g = refs(x, y, b)
    assert out["value"].shape == (4, 50, 1) and out["grad"].shape == (4, 50, 3)
    assert rel(out["value"], ref_v) < 1e-5 and rel(out["grad"], ref_g) < 1e-5
    torch = pytest.importorskip("torch")
    got = fused.run_many(["value", "grad"], X=torch.from_numpy(x), Y=torch.from_numpy(y),
                         B=torch.from_numpy(b))
    assert isinstance(got["grad"], torch.Tensor)
    assert rel(got["grad"].numpy(), ref_g) < 1e-5


def test_run_many_without_fused_reduction(fused):
    """value (axis 1) and transposed (axis 0) cannot share a kernel: two calls, same results."""
    x, y, b = randn(30, 3, seed=9), randn(30, 3, seed=10), randn(30, 1, seed=11)
    out = fused.run_many(["value", "transposed"], X=x, Y=y, B=b)
    np.testing.assert_array_equal(out["value"], fused.run("value", X=x, Y=y, B=b))
    np.testing.assert_array_equal(out["transposed"], fused.run("transposed", X=x, Y=y, B=b))


def test_run_many_errors(fused):
    x, y, b = randn(5, 3), randn(6, 3), randn(6, 1)
    with pytest.raises(kconv.KconvError, match="no reductions given"):
        fused.run_many([], X=x)
    with pytest.raises(kconv.KconvError, match="'value' is given twice"):
        fused.run_many(["value", "value"], X=x, Y=y, B=b)
    with pytest.raises(kconv.KconvError, match="no reduction of the call has a variable 'Z'"):
        fused.run_many(["value", "grad"], X=x, Y=y, B=b, Z=x)
    with pytest.raises(kconv.KconvError, match="no input given for variable 'B'"):
        fused.run_many(["value", "grad"], X=x, Y=y)
    with pytest.raises(kconv.KconvError, match="no reduction named 'nope'"):
        fused.run_many(["value", "nope"], X=x, Y=y, B=b)
    with pytest.raises(kconv.KconvError, match="rows"):
        fused.run_many(["value", "grad"], X=x, Y=y, B=b[:3])
