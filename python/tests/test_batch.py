"""Batch dimensions through the Python binding (docs/runtime.md, "Batch dimensions").

A Vi/Vj array (*batch, n, D) or a parameter (*batch, D) holds a batch of problems; the batch
shapes broadcast NumPy-style and the results are (*broadcast, nOut, ...), as pykeops returns them.
Every batched result is checked problem by problem against the unbatched call on that problem's
arrays (np.array_equal: the same kernel on the same rows), and against a float64 NumPy reference:
values within rtol 1e-5 and atol 1e-6 element by element (the inputs keep the sums well
conditioned: positive weights, points of norm ~1), indices by the value they select (the float64
value at the returned index equals the reference's minimum within 1e-5: float32 near-ties may pick
another index).

Artifacts: examples/gaussian.kconv and a formula with a parameter and index kinds, compiled by
kconv-compile (the kconv_compile fixture; $KCONV_BATCH_ARTIFACTS names a folder holding
gaussian.kca and batch.kca made beforehand, for a host without the compiler), and the runtime
tests' hand-written kernels (the `art` fixture) for what needs no compiler.
"""
import os
import pathlib
import subprocess

import numpy as np
import pytest

import kconv
from kconv.artifact import _as_host_batch

ROOT = pathlib.Path(__file__).resolve().parents[2]

# A parameter and the index kinds: X, Y, W, G are the arguments of `scaled`; `nearest` and
# `closest` take X, Y, G.
BATCH_FORMULAS = """\
X = Vi(3)
Y = Vj(3)
W = Vj(2)
G = Pm(1)
scaled = Sum_Reduction(Exp(-G * SqDist(X, Y)) * W, axis=1)
nearest = ArgMin_Reduction(SqDist(X, G * Y), axis=1)
closest = Min_ArgMin_Reduction(SqDist(G * X, Y), axis=0)
"""

RTOL, ATOL, INDEX_TOL = 1e-5, 1e-6, 1e-5


@pytest.fixture(scope="session")
def compiled_dir(tmp_path_factory, kconv_compile):
    """A folder with gaussian.kca (examples/gaussian.kconv) and batch.kca (BATCH_FORMULAS), each
    with CPU code for x86-64-v3 and GPU code."""
    given = os.environ.get("KCONV_BATCH_ARTIFACTS")
    if given:
        return pathlib.Path(given)
    if kconv_compile is None or not pathlib.Path(kconv_compile).exists():
        pytest.skip("kconv-compile not built (set KCONV_COMPILE or KCONV_BATCH_ARTIFACTS)")
    out = tmp_path_factory.mktemp("batch")
    (out / "batch.kconv").write_text(BATCH_FORMULAS)
    for src, kca in ((ROOT / "examples" / "gaussian.kconv", "gaussian.kca"),
                     (out / "batch.kconv", "batch.kca")):
        r = subprocess.run([str(kconv_compile), str(src), "--cpu=x86-64-v3", "-o", str(out / kca)],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    return out


def _load(path):
    a = kconv.load(path)
    if not a.reductions[next(iter(a.reductions))].cpu_available:
        pytest.skip("the artifact's CPU code cannot run here: "
                    + a.reductions[next(iter(a.reductions))].cpu_unavailable_reason)
    return a


@pytest.fixture(scope="session")
def gaussian(compiled_dir):
    a = _load(compiled_dir / "gaussian.kca")
    yield a
    a.close()


@pytest.fixture(scope="session")
def batch_art(compiled_dir):
    a = _load(compiled_dir / "batch.kca")
    yield a
    a.close()


@pytest.fixture(params=["compiled", "test-kernels"])
def gauss(request):
    """gaussian_conv (X i 3, Y j 3, B j 1 -> sum_j exp(-|x_i - y_j|^2) b_j) from kconv-compile
    and from the hand-written kernels."""
    return request.getfixturevalue("gaussian" if request.param == "compiled" else "art")


def rng(seed):
    return np.random.default_rng(seed)


def points(*shape, seed=0):
    return (0.5 * rng(seed).standard_normal(shape)).astype(np.float32)


def weights(*shape, seed=0):
    return rng(seed).uniform(0.5, 1.5, shape).astype(np.float32)


# float64 references of one problem.
def sqdist(x, y):
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    return ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)


def ref_gaussian(x, y, b):
    return np.exp(-sqdist(x, y)) @ np.asarray(b, np.float64)


def ref_scaled(x, y, w, g):
    return np.exp(-float(g[0]) * sqdist(x, y)) @ np.asarray(w, np.float64)


def ref_nearest(x, y, g):
    """(min over j, the [nI, nJ] values) of |x_i - g y_j|^2."""
    f = sqdist(x, float(g[0]) * np.asarray(y, np.float64))
    return f.min(1), f


def ref_closest(x, y, g):
    """(min over i, the [nJ, nI] values) of |g x_i - y_j|^2 (axis 0)."""
    f = sqdist(float(g[0]) * np.asarray(x, np.float64), y).T
    return f.min(1), f


def check_selected(indices, f, minimum):
    """indices [nOut, 1] int64 select, in f [nOut, nReduced], the minimum (within INDEX_TOL)."""
    j = indices[:, 0]
    assert indices.dtype == np.int64
    assert ((j >= 0) & (j < f.shape[1])).all(), j
    np.testing.assert_allclose(f[np.arange(len(j)), j], minimum, rtol=INDEX_TOL, atol=INDEX_TOL)


def inner_dims(art, name, k):
    return 1 if art.reductions[name].variables[k].category == "p" else 2


def problem(arrays, art, name, batch, index):
    """Problem `index` of the broadcast batch: each array's (n, D) / (D,) block by NumPy
    broadcasting (index 0 along its size-1 and missing batch dimensions), as a packed copy."""
    out = []
    for k, a in enumerate(arrays):
        a = np.asarray(a)
        inner = inner_dims(art, name, k)
        if a.ndim <= inner or (inner == 1 and a.ndim == 2 and a.shape[0] == 1):
            out.append(np.ascontiguousarray(a.reshape(a.shape[-inner:]) if a.ndim > inner else a))
            continue
        full = np.broadcast_to(a, tuple(batch) + a.shape[-inner:])
        out.append(np.ascontiguousarray(full[index]))
    return out


def as_tuple(result):
    return result if isinstance(result, tuple) else (result,)


def check_batch(art, name, arrays, ref, batch, **kwargs):
    """Runs `name` on the batched `arrays`; checks the result's shapes ((*batch, nOut, F)), each
    problem against the unbatched call (bit for bit) and against ref(*problem arrays) (values:
    an array; index kinds: (minimum, f) for check_selected; min_argmin: both)."""
    r = art.reductions[name]
    result = art.run(name, *arrays, **kwargs)
    outputs = as_tuple(result)
    assert art.batch_shape(name, *[np.shape(a) for a in arrays]) == tuple(batch)
    n_out = None
    for out, (_, dim, dtype) in zip(outputs, r.outputs()):
        assert out.dtype == dtype
        assert out.shape[:len(batch)] == tuple(batch), (out.shape, batch)
        assert out.shape[len(batch) + 1:] == (dim,)
        n_out = out.shape[len(batch)]
    checked = 0
    for index in np.ndindex(*batch):
        single = problem(arrays, art, name, batch, index)
        want = as_tuple(art.run(name, *single, **kwargs))
        for got, one in zip(outputs, want):
            assert one.shape == (n_out,) + got.shape[len(batch) + 1:]
            assert np.array_equal(got[index], one, equal_nan=True), index
        expected = ref(*single)
        if r.kind == "sum":
            np.testing.assert_allclose(outputs[0][index], expected, rtol=RTOL, atol=ATOL)
        elif r.kind == "argmin":
            check_selected(outputs[0][index], expected[1], expected[0])
        else:  # min_argmin
            np.testing.assert_allclose(outputs[0][index][:, 0], expected[0], rtol=RTOL,
                                       atol=ATOL)
            check_selected(outputs[1][index], expected[1], expected[0])
        checked += 1
    assert checked == int(np.prod(batch, dtype=np.int64))
    return result


# ---------------------------------------------------------------------------------------------
# Shapes, broadcasting, empty batches.


@pytest.mark.parametrize("batch", [(1,), (7,), (2, 3)], ids=str)
def test_every_variable_batched(gauss, batch):
    n, m = 37, 50
    x = points(*batch, n, 3, seed=1)
    y = points(*batch, m, 3, seed=2)
    b = weights(*batch, m, 1, seed=3)
    out = check_batch(gauss, "gaussian_conv", (x, y, b), ref_gaussian, batch)
    assert out.shape == batch + (n, 1)
    # The problems differ: a batch is not one problem repeated.
    flat = out.reshape(-1, n)
    assert len(flat) == 1 or not np.array_equal(flat[0], flat[-1])


def test_by_name_and_threads(gauss):
    x, y, b = points(2, 3, 20, 3, seed=4), points(3, 30, 3, seed=5), weights(30, 1, seed=6)
    ordered = gauss.run("gaussian_conv", x, y, b)
    assert ordered.shape == (2, 3, 20, 1)
    assert np.array_equal(gauss.run("gaussian_conv", X=x, Y=y, B=b, threads=1), ordered)


@pytest.mark.parametrize("small", ["size 1", "missing"])
@pytest.mark.parametrize("which", [0, 1, 2])
def test_broadcast_gaussian(gauss, which, small):
    """One of X (Vi), Y (Vj), B (Vj) with batch (1,) or none against 5 for the others, and the
    reverse: 5 for one against (1,) for the others."""
    n, m = 23, 31
    shapes = [(n, 3), (m, 3), (m, 1)]
    arrays = [points(5, *s, seed=10 + k) if k < 2 else weights(5, *s, seed=10 + k)
              for k, s in enumerate(shapes)]
    arrays[which] = arrays[which][0] if small == "missing" else arrays[which][:1]
    check_batch(gauss, "gaussian_conv", arrays, ref_gaussian, (5,))
    reverse = [a[:1] for a in (points(5, n, 3, seed=20), points(5, m, 3, seed=21),
                               weights(5, m, 1, seed=22))]
    reverse[which] = [points(5, n, 3, seed=23), points(5, m, 3, seed=24),
                      weights(5, m, 1, seed=25)][which]
    check_batch(gauss, "gaussian_conv", reverse, ref_gaussian, (5,))


def test_broadcast_several_dimensions(gauss):
    # X (4, 1, 2), Y (3, 1) and B (2,): (4, 3, 2); leading dimensions missing.
    n, m = 9, 14
    x = points(4, 1, 2, n, 3, seed=30)
    y = points(3, 1, m, 3, seed=31)
    b = weights(2, m, 1, seed=32)
    check_batch(gauss, "gaussian_conv", (x, y, b), ref_gaussian, (4, 3, 2))


@pytest.mark.parametrize("which", ["X", "Y", "W", "G"])
def test_broadcast_parameter_and_each_variable(batch_art, which):
    """scaled (X i 3, Y j 3, W j 2, G p 1): one variable with 5 problems against size 1 for the
    others, then one with size 1 (a parameter: (1, 1), its unbatched row form, or (1,) of a
    rank-3 shape) against 5."""
    n, m = 17, 26
    big = {"X": points(5, n, 3, seed=40), "Y": points(5, m, 3, seed=41),
           "W": weights(5, m, 2, seed=42), "G": weights(5, 1, seed=43)}
    one = {k: v[:1] for k, v in big.items()}
    order = ["X", "Y", "W", "G"]
    arrays = [big[k] if k == which else one[k] for k in order]
    out = check_batch(batch_art, "scaled", arrays, ref_scaled, (5,))
    assert out.shape == (5, n, 2)
    arrays = [one[k] if k == which else big[k] for k in order]
    check_batch(batch_art, "scaled", arrays, ref_scaled, (5,))
    if which == "G":
        arrays[3] = one["G"].reshape(1, 1, 1)  # batch (1, 1): the result gets a leading 1
        check_batch(batch_art, "scaled", arrays, ref_scaled, (1, 5))


def test_parameter_per_problem_differs(batch_art):
    x, y, w = points(20, 3, seed=50), points(30, 3, seed=51), weights(30, 2, seed=52)
    g = np.array([[0.5], [1.0], [2.0]], np.float32)
    out = check_batch(batch_art, "scaled", (x, y, w, g), ref_scaled, (3,))
    assert not np.array_equal(out[0], out[1])


@pytest.mark.parametrize("batch", [(1,), (7,), (2, 3)], ids=str)
def test_index_kinds(batch_art, batch):
    """ArgMin (axis 1) and Min_ArgMin (axis 0) with the parameter batched too: indices are per
    problem, 0..nReduced-1."""
    n, m = 29, 41
    x = points(*batch, n, 3, seed=60)
    y = points(*batch, m, 3, seed=61)
    g = weights(*batch, 1, seed=62)
    idx = check_batch(batch_art, "nearest", (x, y, g), ref_nearest, batch)
    assert idx.shape == batch + (n, 1) and idx.dtype == np.int64
    assert idx.min() >= 0 and idx.max() < m
    values, idx = check_batch(batch_art, "closest", (x, y, g), ref_closest, batch)
    assert values.shape == batch + (m, 1) and idx.shape == batch + (m, 1)
    assert idx.min() >= 0 and idx.max() < n
    # Broadcast: one y for all, a g per problem.
    check_batch(batch_art, "closest", (x, y.reshape(-1, m, 3)[0], g), ref_closest, batch)


def test_empty_batch(gauss, batch_art):
    n, m = 10, 12
    out = gauss.run("gaussian_conv", points(0, n, 3), points(0, m, 3), weights(m, 1))
    assert out.shape == (0, n, 1) and out.dtype == np.float32
    out = gauss.run("gaussian_conv", points(2, 0, n, 3), points(m, 3), weights(1, m, 1))
    assert out.shape == (2, 0, n, 1)
    idx = batch_art.run("nearest", points(1, n, 3), points(m, 3), weights(0, 1))
    assert idx.shape == (0, n, 1) and idx.dtype == np.int64
    values, idx = batch_art.run("closest", points(0, n, 3), points(m, 3), weights(1))
    assert values.shape == (0, m, 1) and idx.shape == (0, m, 1)
    # B = 0 against 5 does not broadcast (NumPy's rule too).
    with pytest.raises(kconv.KconvError, match="do not broadcast"):
        gauss.run("gaussian_conv", points(0, n, 3), points(5, m, 3), weights(m, 1))
    # Empty problems in a batch: nOut = 0 and nReduced = 0.
    assert gauss.run("gaussian_conv", points(3, 0, 3), points(3, m, 3),
                     weights(3, m, 1)).shape == (3, 0, 1)
    empty = gauss.run("gaussian_conv", points(3, n, 3), points(3, 0, 3), weights(3, 0, 1))
    assert empty.shape == (3, n, 1) and not empty.any()


def test_mismatched_shapes_are_clear_errors(gauss, batch_art):
    x, y, b = points(2, 10, 3), points(3, 12, 3), weights(12, 1)
    with pytest.raises(kconv.KconvError) as e:
        gauss.run("gaussian_conv", x, y, b)
    assert e.value.code == kconv._capi.INVALID_ARGUMENT
    assert ("reduction 'gaussian_conv': input 1 (Y, j, dim 3) has batch shape (3,), input 0 "
            "(X, i, dim 3) has (2,): they do not broadcast" in str(e.value))
    with pytest.raises(kconv.KconvError, match=r"has batch shape \(4, 3\), input 0 .* has "
                                               r"\(2, 1\)"):
        gauss.batch_shape("gaussian_conv", (2, 1, 10, 3), (3, 12, 3), (4, 3, 12, 1))
    with pytest.raises(kconv.KconvError, match=r"input 3 \(G, p, dim 1\) has batch shape \(4,\)"):
        batch_art.run("scaled", points(3, 10, 3), points(12, 3), weights(12, 2), weights(4, 1))
    # Problems of one batch share nI and nJ, and the dimensions are checked as before.
    with pytest.raises(kconv.KconvError, match="has 13 rows, expected nJ = 12"):
        gauss.run("gaussian_conv", points(2, 10, 3), points(2, 12, 3), weights(2, 13, 1))
    with pytest.raises(kconv.KconvError, match="has dimension 2, expected 3"):
        gauss.run("gaussian_conv", points(2, 10, 2), points(2, 12, 3), weights(2, 12, 1))
    with pytest.raises(kconv.KconvError, match="expected 3 shapes"):
        gauss.batch_shape("gaussian_conv", (2, 10, 3))


def test_out_batched(gauss, batch_art):
    n, m = 15, 21
    x, y, b = points(2, 3, n, 3, seed=70), points(3, m, 3, seed=71), weights(m, 1, seed=72)
    want = gauss.run("gaussian_conv", x, y, b)
    out = np.full((2, 3, n, 1), np.nan, np.float32)
    assert gauss.run("gaussian_conv", x, y, b, out=out) is out
    assert np.array_equal(out, want)
    flat = np.zeros(2 * 3 * n, np.float32)  # any shape of the right size, as unbatched
    gauss.run("gaussian_conv", x, y, b, out=flat)
    assert np.array_equal(flat, want.ravel())
    with pytest.raises(kconv.KconvError, match=r"out must be a writable float32 C-contiguous "
                                               r"array of 2 x 3 x 15 x 1 elements"):
        gauss.run("gaussian_conv", x, y, b, out=np.zeros((3, n, 1), np.float32))
    with pytest.raises(kconv.KconvError, match="of 2 x 3 x 15 x 1 elements"):
        gauss.run("gaussian_conv", x, y, b, out=np.zeros((2, 3, 2 * n, 1), np.float32)[:, :, ::2])
    g = weights(2, 3, 1, seed=73)
    values = np.zeros((2, 3, m, 1), np.float32)
    indices = np.zeros((2, 3, m, 1), np.int64)
    got = batch_art.run("closest", x, y, g, out=(values, indices))
    assert got[0] is values and got[1] is indices
    want_v, want_i = batch_art.run("closest", x, y, g)
    assert np.array_equal(values, want_v) and np.array_equal(indices, want_i)
    with pytest.raises(kconv.KconvError, match="out indices must be .* of 2 x 3 x 21 x 1"):
        batch_art.run("closest", x, y, g, out=(values, np.zeros((3, m, 1), np.int64)))


def test_unbatched_shapes_unchanged(gauss, batch_art):
    """2-D Vi/Vj arrays and 1-D parameters give the unbatched result; so does a (1, D) parameter
    (its row form from before batch dimensions)."""
    x, y, b = points(10, 3), points(12, 3), weights(12, 1)
    assert gauss.run("gaussian_conv", x, y, b).shape == (10, 1)
    assert gauss.run("gaussian_conv", x, y, b[:, 0]).shape == (10, 1)
    assert gauss.batch_shape("gaussian_conv", x.shape, y.shape, b.shape) == ()
    w, g = weights(12, 2), weights(1)
    out = batch_art.run("scaled", x, y, w, g)
    assert out.shape == (10, 2)
    assert np.array_equal(batch_art.run("scaled", x, y, w, g.reshape(1, 1)), out)
    assert batch_art.batch_shape("scaled", x.shape, y.shape, w.shape, (1, 1)) == ()


# ---------------------------------------------------------------------------------------------
# Strides: passed when each problem's block is packed, else a copy.


def test_strided_arrays_are_passed_without_copies():
    base = points(6, 10, 3, seed=80)
    for view, strides in [(base[::2], [60]),  # every other problem
                          (base.reshape(2, 3, 10, 3).transpose(1, 0, 2, 3), [30, 90]),
                          (np.broadcast_to(base[:1], (4, 10, 3)), [0]),
                          (base[2:3], None)]:  # C-contiguous: packed
        a, s = _as_host_batch(view, "x", 2)
        assert np.shares_memory(a, base) and a.ctypes.data == view.ctypes.data
        assert s == strides, (s, strides)
    # Packed: no strides passed.
    a, s = _as_host_batch(base, "x", 2)
    assert a is base and s is None
    # Not packed per problem, negative or float64: copied.
    for view in [base[:, ::2], base[:, :, :2], base[::-1], base.astype(np.float64),
                 np.asfortranarray(base)]:
        a, s = _as_host_batch(view, "x", 2)
        assert not np.shares_memory(a, base) and s is None and a.flags.c_contiguous
        assert a.dtype == np.float32 and np.array_equal(a, view.astype(np.float32))


def test_non_contiguous_inputs(gauss, batch_art):
    n, m = 12, 19
    big = points(4, 2 * n, 6, seed=81)
    y_all = points(8, m, 3, seed=82)
    b = weights(m, 1, seed=83)
    cases = [
        (big[:, ::2, :3], y_all[::2]),                        # X rows, columns strided: copy
        (big[:, :n, :3].copy(), y_all[::2]),                  # Y a strided batch: passed
        (np.asfortranarray(big[:, :n, :3]), y_all[1:5]),      # Fortran order: copy
        (big[:, :n, :3].astype(np.float64), y_all[:4][::-1]),  # float64, negative stride
        (np.broadcast_to(big[:1, :n, :3], (3, n, 3)), np.broadcast_to(y_all[:1], (3, m, 3))),
    ]
    for x, y in cases:
        batch = (x.shape[0],)
        check_batch(gauss, "gaussian_conv", (x, y, b), ref_gaussian, batch)
    g = weights(8, 1, seed=84)[::2]  # a strided parameter batch
    check_batch(batch_art, "closest", (big[:, :n, :3], y_all[:4], g), ref_closest, (4,))
    w = weights(4, m, 4, seed=85)[:, :, 1:3]  # W's rows not packed: copied
    check_batch(batch_art, "scaled", (big[:, :n, :3], y_all[0], w, g), ref_scaled, (4,))


# ---------------------------------------------------------------------------------------------
# torch: CPU tensors go through NumPy (strides included); CUDA tensors with their strides.


def test_torch_cpu_expanded(gauss, batch_art):
    torch = pytest.importorskip("torch")
    n, m = 16, 25
    x = torch.from_numpy(points(4, n, 3, seed=90))
    y = torch.from_numpy(points(m, 3, seed=91)).expand(4, m, 3)  # stride 0
    b = torch.from_numpy(weights(1, m, 1, seed=92)).expand(4, m, 1)
    assert y.stride()[0] == 0
    a, s = _as_host_batch(y, "y", 2)
    assert s == [0]
    out = gauss.run("gaussian_conv", x, y, b)
    assert isinstance(out, torch.Tensor) and tuple(out.shape) == (4, n, 1)
    want = check_batch(gauss, "gaussian_conv", (x.numpy(), y.numpy(), b.numpy()), ref_gaussian,
                       (4,))
    assert np.array_equal(out.numpy(), want)
    g = torch.tensor([0.5, 9.0, 1.5])[::2, None]  # (2, 1), batch stride 2
    values, idx = batch_art.run("closest", x[:2], y[:2], g)
    assert idx.dtype == torch.int64 and tuple(idx.shape) == (2, m, 1)
    want_v, want_i = batch_art.run("closest", x[:2].numpy(), y[:2].numpy(), g.numpy())
    assert np.array_equal(values.numpy(), want_v) and np.array_equal(idx.numpy(), want_i)


@pytest.fixture
def torch_cuda(batch_art, gaussian):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch sees no CUDA device")
    for a, name in ((gaussian, "gaussian_conv"), (batch_art, "scaled")):
        why = a.gpu_unavailable_reason(name)
        if why:
            pytest.skip(why)
    return torch


def test_torch_cuda_batches(torch_cuda, gaussian, batch_art):
    """CUDA tensors (expanded: stride 0; sliced: strided batches) against the CPU call on the
    same data (values within RTOL / ATOL: the GPU's rounding differs; indices by value), and each
    problem against an unbatched GPU call."""
    torch = torch_cuda
    n, m = 300, 257
    xh, yh, bh = points(2, 3, n, 3, seed=100), points(m, 3, seed=101), weights(3, m, 1, seed=102)
    x = torch.from_numpy(xh).cuda()
    y = torch.from_numpy(yh).cuda().expand(2, 3, m, 3)
    b = torch.from_numpy(np.stack([bh, bh], 1).reshape(6, m, 1)).cuda()[::2]  # stride 2 m
    assert y.stride()[:2] == (0, 0) and b.stride()[0] == 2 * m
    out = gaussian.run("gaussian_conv", x, y, b)
    assert out.is_cuda and tuple(out.shape) == (2, 3, n, 1)
    torch.cuda.synchronize()
    host = gaussian.run("gaussian_conv", xh, yh, bh, device="cpu")
    np.testing.assert_allclose(out.cpu().numpy(), host, rtol=RTOL, atol=ATOL)
    for p in range(2):
        for q in range(3):
            one = gaussian.run("gaussian_conv", x[p, q], y[p, q].contiguous(), b[q].contiguous())
            torch.cuda.synchronize()
            np.testing.assert_allclose(out[p, q].cpu().numpy(), one.cpu().numpy(), rtol=RTOL,
                                       atol=ATOL)
            np.testing.assert_allclose(host[p, q], ref_gaussian(xh[p, q], yh, bh[q]), rtol=RTOL,
                                       atol=ATOL)
    # out= a batched CUDA tensor; a wrong one is refused.
    dest = torch.empty((2, 3, n, 1), device="cuda")
    assert gaussian.run("gaussian_conv", x, y, b, out=dest) is dest
    torch.cuda.synchronize()
    assert torch.equal(dest, out)
    with pytest.raises(kconv.KconvError, match="of 2 x 3 x 300 x 1 elements"):
        gaussian.run("gaussian_conv", x, y, b, out=torch.empty((3, n, 1), device="cuda"))
    # A parameter per problem and the index kinds.
    g = torch.tensor([[0.5], [1.0], [2.0]], device="cuda")
    values, idx = batch_art.run("closest", x[0], y[0], g)
    torch.cuda.synchronize()
    assert idx.dtype == torch.int64 and tuple(idx.shape) == (3, m, 1)
    for q in range(3):
        minimum, f = ref_closest(xh[0, q], yh, g[q].cpu().numpy())
        np.testing.assert_allclose(values[q, :, 0].cpu().numpy(), minimum, rtol=RTOL, atol=ATOL)
        check_selected(idx[q].cpu().numpy(), f, minimum)
    nearest = batch_art.run("nearest", x, y, g.reshape(1, 3, 1))
    torch.cuda.synchronize()
    assert tuple(nearest.shape) == (2, 3, n, 1)
    for p in range(2):
        for q in range(3):
            minimum, f = ref_nearest(xh[p, q], yh, g[q].cpu().numpy())
            check_selected(nearest[p, q].cpu().numpy(), f, minimum)
    # Empty batch, mismatch, a problem block that is not contiguous.
    assert tuple(gaussian.run("gaussian_conv", x[:0], y[:0], b).shape) == (0, 3, n, 1)
    with pytest.raises(kconv.KconvError, match="do not broadcast"):
        gaussian.run("gaussian_conv", x, y, torch.ones((2, m, 1), device="cuda"))
    with pytest.raises(kconv.KconvError, match=r"input 0 \(X\): shape .* the last 2 "
                                               r"dimension\(s\) .* must be contiguous"):
        gaussian.run("gaussian_conv", x.transpose(2, 3).contiguous().transpose(2, 3), y, b)


# ---------------------------------------------------------------------------------------------
# pykeops itself (its CPU backend, float32), where it is installed: the same shapes, close values.


def test_same_shapes_as_pykeops(gaussian, batch_art):
    try:
        import pykeops
        pykeops.set_verbose(False)
        from pykeops.numpy import Genred
    except Exception as e:  # absent, or present but not importable
        pytest.skip(f"pykeops is not importable ({type(e).__name__}: {e})")
    n, m = 20, 30
    x = points(2, 3, n, 3, seed=110)
    y = points(1, 3, m, 3, seed=111)
    b = weights(2, 1, m, 1, seed=112)
    g = weights(2, 3, 1, seed=113)
    gauss_keops = Genred("Exp(-SqDist(X,Y)) * B", ["X = Vi(3)", "Y = Vj(3)", "B = Vj(1)"],
                         reduction_op="Sum", axis=1)
    want = gauss_keops(x, y, b, backend="CPU")
    got = gaussian.run("gaussian_conv", x, y, b)
    assert got.shape == want.shape == (2, 3, n, 1)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    # Index kind, parameter per problem, axis 0 (pykeops: axis=0 reduces over i).
    closest_keops = Genred("SqDist(G * X, Y)", ["X = Vi(3)", "Y = Vj(3)", "G = Pm(1)"],
                           reduction_op="Min_ArgMin", axis=0)
    want_v, want_i = closest_keops(x, y, g, backend="CPU")
    got_v, got_i = batch_art.run("closest", x, y, g)
    assert got_v.shape == want_v.shape == (2, 3, m, 1)
    assert got_i.shape == np.shape(want_i) == (2, 3, m, 1)
    np.testing.assert_allclose(got_v, want_v, rtol=1e-4, atol=1e-6)
    # Indices per problem, as KeOps counts them; equal where the minimum is not a near-tie.
    agree = np.mean(got_i == np.asarray(want_i).astype(np.int64))
    assert agree > 0.95, agree
