"""GPU execution tests: every formula op on the GPU against the float64 reference evaluator
(kconv-run --device gpu --check), every kernel variant (KCONV_GPU_PLAN), the zero-copy torch CUDA
path, the host path, and the error messages.

Artifacts: $KCONV_GPU_ARTIFACTS (scripts/build-gpu-artifacts.sh writes build/artifacts), else
built here from bench/gpu/formulas when the compiler tools are built. Tests that need a GPU skip,
with the runtime's reason, where there is none; the no-GPU error tests run everywhere.
"""
import ctypes
import os
import pathlib
import shutil
import subprocess
import threading

import numpy as np
import pytest

import kconv
from kconv import _capi

ROOT = pathlib.Path(__file__).resolve().parents[2]
FORMULAS = ROOT / "bench" / "gpu" / "formulas"


def _tool(name, env):
    if os.environ.get(env):
        return pathlib.Path(os.environ[env])
    for build in ("build", "build-gpu", "build-nocompiler"):
        path = ROOT / build / "bin" / name
        if path.exists():
            return path
    return None


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory):
    env = os.environ.get("KCONV_GPU_ARTIFACTS")
    if env:
        path = pathlib.Path(env)
        if not (path / "ops.kca").exists():
            pytest.skip(f"KCONV_GPU_ARTIFACTS={env} has no ops.kca "
                        f"(scripts/build-gpu-artifacts.sh makes it)")
        return path
    default = ROOT / "build" / "artifacts"
    if (default / "ops.kca").exists():
        return default
    script = ROOT / "scripts" / "build-gpu-artifacts.sh"
    if _tool("kconv-opt", "KCONV_OPT") is None:
        pytest.skip("no GPU artifacts (set KCONV_GPU_ARTIFACTS or run "
                    "scripts/build-gpu-artifacts.sh) and no compiler here to build them")
    out = tmp_path_factory.mktemp("gpu-artifacts")
    result = subprocess.run(["bash", str(script), str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.fixture(scope="session")
def ops(artifacts):
    a = kconv.load(artifacts / "ops.kca")
    yield a
    a.close()


@pytest.fixture(scope="session")
def gpu(ops):
    """Skips (with the runtime's reason) where no GPU can run the artifact."""
    why = ops.gpu_unavailable_reason("op_exp")
    if why:
        pytest.skip(f"no GPU: {why}")
    return True


def kconv_run():
    path = _tool("kconv-run", "KCONV_RUN")
    if path is None:
        pytest.skip("kconv-run not built")
    return path


def reductions(path):
    a = kconv.load(path)
    names = list(a.reductions)
    a.close()
    return names


def _names(file):
    """Reduction names of a formula file (the tests' parameters, known without artifacts)."""
    names = []
    for line in (FORMULAS / file).read_text().splitlines():
        line = line.split("#")[0]
        if "Sum_Reduction" in line:
            names.append(line.split("=")[0].strip())
    return names


OPS = _names("ops.kconv")


# ---------------------------------------------------------------------------------------------
# Without a GPU: clear errors, never a crash.


def test_no_gpu_errors_are_clear(ops):
    why = ops.gpu_unavailable_reason("op_exp")
    if not why:
        pytest.skip("a GPU is present: the no-GPU messages are not reachable here")
    assert "CUDA" in why or "GPU" in why
    x = np.ones((4, 3), np.float32)
    with pytest.raises(kconv.KconvError) as e:
        ops.run("op_exp", x, x, np.ones(4, np.float32), device="gpu")
    assert e.value.code == _capi.DEVICE_ERROR
    assert why in str(e.value)
    # Auto takes the CPU code where the artifact has usable CPU code; otherwise it says why neither
    # backend can run it.
    if ops.reductions["op_exp"].cpu_available:
        assert ops.run("op_exp", x, x, np.ones(4, np.float32)).shape == (4, 1)
    else:
        with pytest.raises(kconv.KconvError) as e:
            ops.run("op_exp", x, x, np.ones(4, np.float32))
        assert "GPU" in str(e.value)


# ---------------------------------------------------------------------------------------------
# Every op against the float64 reference, on every kernel variant.


PLANS = ["auto", "0:1", "0:3", "1:1", "1:2", "2:1"]


@pytest.mark.parametrize("reduction", OPS)
@pytest.mark.parametrize("accurate", [False, True], ids=["fast", "accurate"])
def test_op_vs_reference(artifacts, gpu, reduction, accurate):
    artifact = artifacts / ("ops_accurate.kca" if accurate else "ops.kca")
    if not artifact.exists():
        pytest.skip(f"{artifact.name} not built")
    tolerance = "1e-5" if accurate else "3e-5"
    runs = [((1, 1), "auto"), ((37, 1000), "auto"), ((3000, 2500), "auto")]
    if not accurate:  # every kernel variant and splits (the accurate kernels differ in math only)
        runs += [((1500, 777), plan) for plan in PLANS[1:]]
    for (n, m), plan in runs:
        env = dict(os.environ)
        env.pop("KCONV_GPU_PLAN", None)
        if plan != "auto":
            env["KCONV_GPU_PLAN"] = plan
        cmd = [str(kconv_run()), str(artifact), reduction, "--random", f"{n},{m}",
               "--device", "gpu", "--check", "--tolerance", tolerance, "--seed", str(n + m)]
        result = subprocess.run(cmd, capture_output=True, text=True, env=env)
        assert result.returncode == 0, (
            f"{reduction} n={n} m={m} plan={plan}:\n{result.stdout}{result.stderr}")
        assert "OK" in result.stdout


# Wide variables (bench/gpu/formulas/wide.kconv, wide_output.kconv; 100 to 65536 components):
# chunked component sums and output chunks, against the float64 reference evaluator.
WIDE_RUNS = [("gaussian1000", (300, 2000)), ("mixed1000", (1000, 300)),
             ("nearest1000", (2000, 129)), ("lse1000", (257, 1000)),
             ("laplace4099", (100, 300)), ("gaussian65536", (40, 70)),
             ("gaussian100", (3000, 2500)), ("smooth4099", (100, 300)),
             ("kmin4099", (100, 300)), ("conv_out1000", (1000, 2000)),
             ("nearest_out1000", (1000, 2000)), ("wide_output:conv_out65536", (64, 300)),
             ("wide_output:rows65536", (64, 100))]


@pytest.mark.parametrize("reduction,size", WIDE_RUNS, ids=[r for r, _ in WIDE_RUNS])
def test_wide_vs_reference(artifacts, gpu, reduction, size):
    file, _, reduction = reduction.rpartition(":")
    artifact = artifacts / f"{file or 'wide'}.kca"
    if not artifact.exists():
        pytest.skip(f"{artifact.name} not built (scripts/build-gpu-artifacts.sh)")
    n, m = size
    for plan in ("auto", "0:1", "0:3", "2:1"):
        env = dict(os.environ)
        env.pop("KCONV_GPU_PLAN", None)
        if plan != "auto":
            env["KCONV_GPU_PLAN"] = plan
        cmd = [str(kconv_run()), str(artifact), reduction, "--random", f"{n},{m}",
               "--device", "gpu", "--check", "--tolerance", "3e-5", "--check-rows", "64"]
        result = subprocess.run(cmd, capture_output=True, text=True, env=env)
        assert result.returncode == 0, f"{reduction} plan={plan}:\n{result.stdout}{result.stderr}"
        assert "OK" in result.stdout


# ---------------------------------------------------------------------------------------------
# The host path (NumPy arrays on device="gpu").


def gauss_ref(x, y, b):
    x, y, b = (np.asarray(a, dtype=np.float64) for a in (x, y, b))
    d2 = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    return np.exp(-d2) @ b.reshape(len(y), -1)


def rel_err(got, want):
    got = np.asarray(got, dtype=np.float64).reshape(want.shape)
    return np.linalg.norm(got - want) / np.linalg.norm(want)


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("n,m", [(1, 1), (5, 3000), (2000, 7), (1025, 1023), (4096, 4096)])
def test_host_path(ops, gpu, n, m):
    x, y, b = randn(n, 3, seed=1), randn(m, 3, seed=2), randn(m, 1, seed=3)
    out = ops.run("op_exp", x, y, b, device="gpu")
    assert out.shape == (n, 1) and out.dtype == np.float32
    assert rel_err(out, gauss_ref(x, y, b)) < 1e-5


@pytest.mark.parametrize("accurate", [False, True], ids=["fast", "accurate"])
def test_special_values(artifacts, gpu, accurate):
    """KeOps' values at the special points on the GPU, fast math too: a NaN input gives NaN in
    its rows (not 0), Rsqrt(0) = 0, Inv(Sqrt(0)) = +inf."""
    artifact = artifacts / ("ops_accurate.kca" if accurate else "ops.kca")
    if not artifact.exists():
        pytest.skip(f"{artifact.name} not built")
    with kconv.load(artifact) as a:
        x, y, b = randn(300, 3, seed=4), randn(700, 3, seed=5), randn(700, 1, seed=6)
        xn = x.copy()
        xn[17, 1] = np.nan
        out = a.run("op_exp", xn, y, b, device="gpu")[:, 0]
        assert np.isnan(out[17]) and np.isfinite(np.delete(out, 17)).all()
        yn = y.copy()
        yn[699, 0] = np.nan
        assert np.isnan(a.run("op_exp", x, yn, b, device="gpu")).all()
        xs = x.copy()
        xs[3] = y[10]
        d = ((xs[:, None, :].astype(np.float64) - y[None]) ** 2).sum(-1)
        with np.errstate(divide="ignore"):
            want = np.where(d == 0, 0.0, 1 / np.sqrt(d)).sum(1)
        got = a.run("sv_rsqrt", xs, y, device="gpu")[:, 0]
        assert np.isfinite(got).all() and rel_err(got, want) < 1e-4
        got = a.run("sv_inv_sqrt", xs, y, device="gpu")[:, 0]
        assert np.isposinf(got[3]) and np.isfinite(np.delete(got, 3)).all()


def batch_gauss_ref(x, y, b):
    x, y, b = (np.asarray(a, dtype=np.float64) for a in (x, y, b))
    d2 = ((x[..., :, None, :] - y[..., None, :, :]) ** 2).sum(-1)
    return np.exp(-d2) @ b


@pytest.mark.parametrize("plan", PLANS)
def test_batch_every_kernel_variant(artifacts, gpu, plan, monkeypatch):
    """Batch dimensions (docs/runtime.md) on every kernel variant and split: a (2, 3) batch with y
    broadcast along the first dimension (the kernels decode two batch dimensions), per problem
    against the float64 reference; host arrays, then device arrays when torch has CUDA."""
    if plan == "auto":
        monkeypatch.delenv("KCONV_GPU_PLAN", raising=False)
    else:
        monkeypatch.setenv("KCONV_GPU_PLAN", plan)
    art = kconv.load(artifacts / "ops.kca")  # the plan is read at load
    try:
        for n, m in [(1, 1), (37, 1000), (1500, 777)]:
            x, y, b = randn(2, 3, n, 3, seed=n), randn(1, 3, m, 3, seed=m), randn(3, m, 1, seed=7)
            out = art.run("op_exp", x, y, b, device="gpu")
            want = batch_gauss_ref(x, y, b)
            assert out.shape == want.shape == (2, 3, n, 1)
            for p in np.ndindex(2, 3):
                assert rel_err(out[p], want[p]) < 3e-5, (plan, n, m, p)
                if plan in ("0:1", "1:1", "2:1"):
                    # One plan, no split: each problem's bits are those of its unbatched call.
                    alone = art.run("op_exp", x[p], y[0, p[1]], b[p[1]], device="gpu")
                    assert np.array_equal(alone, out[p]), (plan, n, m, p)
    finally:
        art.close()


def test_batch_launch_limits_and_index_kinds(artifacts, gpu):
    """More problems than blockIdx.z holds (70000: two launches), a batch of rank 6 that does not
    collapse (the runtime launches per entry of its 2 leading dimensions), and k-NN indices per
    problem (0 ... nJ - 1, each selecting one of the K smallest distances)."""
    x, y, b = randn(70000, 3, 3, seed=1), randn(70000, 5, 3, seed=2), randn(70000, 5, 1, seed=3)
    ops_run = kconv.load(artifacts / "ops.kca")
    try:
        out = ops_run.run("op_exp", x, y, b, device="gpu")
        want = batch_gauss_ref(x, y, b)
        assert np.abs(out - want).max() < 3e-5 * np.abs(want).max()
        x, y = randn(2, 1, 2, 1, 2, 1, 20, 3, seed=4), randn(1, 2, 1, 2, 1, 2, 30, 3, seed=5)
        b = randn(30, 1, seed=6)
        out = ops_run.run("op_exp", x, y, b, device="gpu")
        want = batch_gauss_ref(x, y, b)
        assert out.shape == (2,) * 6 + (20, 1)
        assert np.abs(out - want).max() < 3e-5 * np.abs(want).max()
    finally:
        ops_run.close()
    art = kconv.load(artifacts / "reductions.kca")
    try:
        # knn = ArgKMin_Reduction(SqDist(X, Y), 10, 0) (KeOps' positional t = 0: over j): for
        # each x_i the 10 nearest y_j of its problem.
        x, y = randn(4, 300, 3, seed=8), randn(4, 200, 3, seed=9)
        idx = art.run("knn", x, y, device="gpu")
        assert idx.shape == (4, 300, 10) and idx.dtype == np.int64
        for p in range(4):
            d2 = ((x[p][:, None, :].astype(np.float64) - y[p][None, :, :]) ** 2).sum(-1)
            assert idx[p].min() >= 0 and idx[p].max() < 200
            got = np.take_along_axis(d2, idx[p], axis=1)
            want = np.sort(d2, axis=1)[:, :10]
            assert np.allclose(got, want, rtol=1e-4, atol=1e-5), p
    finally:
        art.close()


def test_host_path_buffers_reused_and_threads(ops, gpu):
    # Growing and shrinking sizes reuse the device buffers; concurrent calls are serialized.
    errors = []

    def worker(seed):
        try:
            for n in (100, 3000, 10, 2000):
                x, y, b = randn(n, 3, seed=seed), randn(n + 1, 3, seed=seed + 1), randn(n + 1, seed=2)
                got = ops.run("op_exp", x, y, b, device="gpu")
                if rel_err(got, gauss_ref(x, y, b)) > 1e-5:
                    errors.append((seed, n))
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_empty_sizes_gpu(ops, gpu):
    x = randn(5, 3)
    out = ops.run("op_exp", x, np.zeros((0, 3), np.float32), np.zeros((0, 1), np.float32),
                  device="gpu")
    assert out.shape == (5, 1) and not out.any()
    out = ops.run("op_exp", np.zeros((0, 3), np.float32), x, randn(5), device="gpu")
    assert out.shape == (0, 1)


# ---------------------------------------------------------------------------------------------
# The zero-copy path: torch CUDA tensors.


@pytest.fixture(scope="session")
def torch_cuda(gpu):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch sees no CUDA device")
    return torch


def test_torch_cuda_tensors(ops, torch_cuda):
    torch = torch_cuda
    for n, m in [(1, 1), (100, 300), (5000, 4000), (20000, 500)]:
        x = torch.randn(n, 3, device="cuda")
        y = torch.randn(m, 3, device="cuda")
        b = torch.randn(m, 1, device="cuda")
        out = ops.run("op_exp", x, y, b)
        assert out.is_cuda and out.shape == (n, 1) and out.dtype == torch.float32
        torch.cuda.synchronize()
        want = gauss_ref(x.cpu().numpy(), y.cpu().numpy(), b.cpu().numpy())
        assert rel_err(out.cpu().numpy(), want) < 1e-5
        # By name, into a given output, on a side stream.
        s = torch.cuda.Stream()
        given = torch.full((n, 1), float("nan"), device="cuda")
        with torch.cuda.stream(s):
            got = ops.run("op_exp", B=b, X=x, Y=y, out=given, stream=s)
        s.synchronize()
        assert got is given
        assert rel_err(given.cpu().numpy(), want) < 1e-5
    # nReduced = 0 on device memory: zeros without a kernel.
    x = torch.randn(7, 3, device="cuda")
    out = ops.run("op_exp", x, torch.zeros(0, 3, device="cuda"), torch.zeros(0, 1, device="cuda"))
    torch.cuda.synchronize()
    assert out.shape == (7, 1) and not out.any()


def test_torch_cuda_checks(ops, torch_cuda):
    torch = torch_cuda
    x = torch.randn(10, 3, device="cuda")
    y = torch.randn(12, 3, device="cuda")
    b = torch.randn(12, 1, device="cuda")
    with pytest.raises(kconv.KconvError, match="float32"):
        ops.run("op_exp", x.double(), y, b)
    with pytest.raises(kconv.KconvError, match="contiguous"):
        ops.run("op_exp", torch.randn(3, 10, device="cuda").T, y, b)
    with pytest.raises(kconv.KconvError, match="same CUDA device|host"):
        ops.run("op_exp", x, y.cpu(), b)
    with pytest.raises(kconv.KconvError, match="CUDA tensors run on the GPU"):
        ops.run("op_exp", x, y, b, device="cpu")
    with pytest.raises(kconv.KconvError, match="rows"):
        ops.run("op_exp", x, y, b[:5])


def test_host_pointer_as_device_pointer(ops, gpu):
    """The C API checks every pointer of a memory=device call: host memory is refused."""
    lib = _capi.library()
    x, y, b = randn(10, 3), randn(12, 3), randn(12, 1)
    out = np.empty((10, 1), np.float32)
    float_p = ctypes.POINTER(ctypes.c_float)
    ptrs = (float_p * 3)(*[a.ctypes.data_as(float_p) for a in (x, y, b)])
    options = _capi.RunOptions()
    lib.kconv_run_options_init(ctypes.byref(options))
    options.memory = _capi.MEMORY_DEVICE
    status = lib.kconv_run(ops._handle, b"op_exp", ptrs, 3, out.ctypes.data_as(float_p), 10, 12,
                           ctypes.byref(options))
    assert status == _capi.INVALID_ARGUMENT
    message = lib.kconv_last_error().decode()
    assert "input 0 (X) is not CUDA device memory" in message
    options.device = 0  # cpu with device memory: refused
    status = lib.kconv_run(ops._handle, b"op_exp", ptrs, 3, out.ctypes.data_as(float_p), 10, 12,
                           ctypes.byref(options))
    assert status == _capi.INVALID_ARGUMENT
    assert "cannot be read on the CPU" in lib.kconv_last_error().decode()


# ---------------------------------------------------------------------------------------------
# Fused reductions (kconv-fuse-reductions, run_many) on the GPU.


def _fused_refs(x, y, b):
    x, y, b = (np.asarray(a, dtype=np.float64) for a in (x, y, b))
    diff = x[:, None, :] - y[None, :, :]
    k = np.exp(-(diff ** 2).sum(-1))
    return k @ b, np.einsum("ij,ijk->ik", k * b[:, 0][None, :], diff)


@pytest.fixture(scope="session")
def fused(artifacts, gpu):
    path = artifacts / "fused.kca"
    if not path.exists():
        pytest.skip("fused.kca not built (scripts/build-gpu-artifacts.sh)")
    a = kconv.load(path)
    assert a.fused_reduction(["value", "grad"]) is not None
    yield a
    a.close()


@pytest.mark.parametrize("plan", PLANS)
def test_fused_host_arrays(fused, plan, monkeypatch):
    """run_many of host arrays on the GPU, every kernel variant: each output equals its own
    call's and the float64 reference."""
    if plan != "auto":
        monkeypatch.setenv("KCONV_GPU_PLAN", plan)
    for n, m in [(1, 1), (17, 1025), (3000, 2000)]:
        x, y, b = randn(n, 3, seed=1), randn(m, 3, seed=2), randn(m, 1, seed=3)
        out = fused.run_many(["grad", "value"], X=x, Y=y, B=b, device="gpu")
        ref_v, ref_g = _fused_refs(x, y, b)
        assert rel_err(out["value"], ref_v) < 1e-5 and rel_err(out["grad"], ref_g) < 1e-5
        alone = fused.run("grad", X=x, Y=y, B=b, device="gpu")
        assert np.allclose(out["grad"], alone, rtol=1e-5, atol=1e-6)


def test_fused_c_api_device_memory(fused, torch_cuda):
    """kconv_run_many on CUDA device pointers: the fused kernel's scratch and the column copies
    on the call's stream (GpuBackend::runFused), against the float64 reference; an output on the
    host is refused."""
    torch = torch_cuda
    lib = _capi.library()
    n, m = 4000, 3000
    x, y, b = (torch.randn(*s, device="cuda") for s in ((n, 3), (m, 3), (m, 1)))
    value = torch.full((n, 1), float("nan"), device="cuda")
    grad = torch.full((n, 3), float("nan"), device="cuda")
    names = (ctypes.c_char_p * 2)(b"value", b"grad")
    inputs = (ctypes.c_char_p * 3)(b"X", b"Y", b"B")
    float_p = ctypes.POINTER(ctypes.c_float)
    ptrs = (float_p * 3)(*[ctypes.cast(t.data_ptr(), float_p) for t in (x, y, b)])
    options = _capi.RunOptions()
    lib.kconv_run_options_init(ctypes.byref(options))
    options.memory = 1  # KCONV_MEMORY_DEVICE
    fn = lib.kconv_run_many
    fn.restype = ctypes.c_int
    fn.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.POINTER(ctypes.c_char_p),
                   ctypes.c_int64, ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(float_p),
                   ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_void_p),
                   ctypes.c_int64, ctypes.c_int64, ctypes.POINTER(_capi.RunOptions)]
    values = (ctypes.c_void_p * 2)(value.data_ptr(), grad.data_ptr())
    status = fused._c_call(fn, 2, names, 3, inputs, ptrs, values, None, n, m,
                           ctypes.byref(options))
    assert status == 0, lib.kconv_last_error().decode()
    torch.cuda.synchronize()
    ref_v, ref_g = _fused_refs(x.cpu().numpy(), y.cpu().numpy(), b.cpu().numpy())
    assert rel_err(value.cpu().numpy(), ref_v) < 1e-5
    assert rel_err(grad.cpu().numpy(), ref_g) < 1e-5
    host = np.empty((n, 3), np.float32)
    values = (ctypes.c_void_p * 2)(value.data_ptr(), host.ctypes.data)
    status = fused._c_call(fn, 2, names, 3, inputs, ptrs, values, None, n, m,
                           ctypes.byref(options))
    assert status != 0 and "not CUDA device memory" in lib.kconv_last_error().decode()


def test_fused_torch_cuda(fused, torch_cuda):
    """run_many of torch CUDA tensors: views of the fused output on the current stream."""
    torch = torch_cuda
    x, y, b = (torch.randn(*s, device="cuda") for s in ((2500, 3), (1800, 3), (1800, 1)))
    out = fused.run_many(["value", "grad"], X=x, Y=y, B=b)
    torch.cuda.synchronize()
    assert out["value"].is_cuda and out["value"].shape == (2500, 1)
    assert out["grad"].shape == (2500, 3)
    ref_v, ref_g = _fused_refs(x.cpu().numpy(), y.cpu().numpy(), b.cpu().numpy())
    assert rel_err(out["value"].cpu().numpy(), ref_v) < 1e-5
    assert rel_err(out["grad"].cpu().numpy(), ref_g) < 1e-5
