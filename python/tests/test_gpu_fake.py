"""The GPU backend's host side against a CPU stand-in for the CUDA driver (test/gpu-fake/fake_cuda.c,
loaded through $KCONV_LIBCUDA): driver loading, device and module setup, launch plans and split-j
(the fake computes the Gaussian kernels over the rows and reduced range each launch covers),
buffers, device-pointer checks, and the error messages for no GPU, out of memory, failed launches
and modules. Each case runs in a fresh process (the driver is opened once per process)."""
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _find(env, *candidates):
    if os.environ.get(env):
        return pathlib.Path(os.environ[env])
    for c in candidates:
        if c.exists():
            return c
    return None


FAKE = _find("KCONV_FAKE_CUDA", ROOT / "build" / "lib" / "libkconv_fake_cuda.so")
RUN = _find("KCONV_RUN", ROOT / "build" / "bin" / "kconv-run")


@pytest.fixture(scope="module")
def gaussian(tmp_path_factory):
    """A Gaussian artifact with GPU code (built artifacts, or kconv-compile here)."""
    if FAKE is None or RUN is None:
        pytest.skip("the fake CUDA driver or kconv-run is not built")
    for d in (os.environ.get("KCONV_GPU_ARTIFACTS"), ROOT / "build" / "artifacts"):
        if d and (pathlib.Path(d) / "gaussian.kca").exists():
            return pathlib.Path(d) / "gaussian.kca"
    compile_ = ROOT / "build" / "bin" / "kconv-compile"
    if not compile_.exists():
        pytest.skip("no GPU artifact and no kconv-compile to make one")
    path = tmp_path_factory.mktemp("fake") / "gaussian.kca"
    subprocess.run([str(compile_), str(ROOT / "bench/gpu/formulas/gaussian.kconv"), "-o",
                    str(path), "--cpu=x86-64-v3"], check=True, capture_output=True)
    return path


def env(mode="ok", **extra):
    e = dict(os.environ, KCONV_LIBCUDA=str(FAKE), FAKE_CUDA_MODE=mode)
    e.pop("KCONV_GPU_PLAN", None)
    e.update({k: str(v) for k, v in extra.items()})
    return e


def kconv_run(artifact, *args, **kw):
    return subprocess.run([str(RUN), str(artifact), *args], capture_output=True, text=True,
                          env=env(**kw))


@pytest.mark.parametrize("n,m", [(1, 1), (100, 300), (1500, 777), (3000, 2500), (20000, 300)])
@pytest.mark.parametrize("plan", [None, "0:1", "0:3", "1:1", "1:4", "0:1000", "2:1"])
def test_launch_plans_cover_everything(gaussian, tmp_path, n, m, plan):
    extra = {"FAKE_CUDA_LOG": tmp_path / "launches"}
    if plan:
        extra["KCONV_GPU_PLAN"] = plan
    r = kconv_run(gaussian, "--random", f"{n},{m}", "--device", "gpu", "--check",
                  "--check-rows", "4000", **extra)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "OK" in r.stdout
    launches = (tmp_path / "launches").read_text().split("\n")
    assert any(line.startswith("kconv_gpu_gaussian_conv") for line in launches)


def test_auto_plan_splits_small_problems(gaussian, tmp_path):
    log = tmp_path / "launches"
    # An H100-like device (132 SMs, 5 blocks of the R-row kernel per SM); plans only.
    h100 = dict(FAKE_CUDA_LOG=log, FAKE_CUDA_SMS=132, FAKE_CUDA_OCCUPANCY=5,
                FAKE_CUDA_NOCOMPUTE=1)
    plans = {}
    for n in (2000, 1000000):
        r = kconv_run(gaussian, "--random", str(n), "--device", "gpu", **h100)
        assert r.returncode == 0, r.stdout + r.stderr
        plans[n] = log.read_text().split("\n")[-2].split()[:6]
    # 2000 rows would fill 2 (R = 4) or 8 (one row per thread) of 132 SMs: the small kernel, 32
    # rows per block with the reduced range split among the block's threads (one launch, no memset).
    name, gx, gy, n_out, n_red, chunk = plans[2000]
    assert name == "kconv_gpu_gaussian_conv_small" and int(gx) == 63 and int(gy) == 1
    # 1e6 rows: 4 rows per thread.
    name, gx, gy, n_out, n_red, chunk = plans[1000000]
    assert name.startswith("kconv_gpu_gaussian_conv") and "_r1" not in name and int(gx) == 977


def test_no_gpu(gaussian):
    r = kconv_run(gaussian, "--random", "10", "--device", "gpu", mode="nodevice")
    assert r.returncode == 1
    assert "no CUDA GPU: cuInit: CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)" in r.stderr
    r = kconv_run(gaussian, "--list", mode="nodevice")
    assert "gpu: no (reduction 'gaussian_conv': no CUDA GPU" in r.stdout


def test_no_driver(gaussian):
    r = subprocess.run([str(RUN), str(gaussian), "--random", "10", "--device", "gpu"],
                       capture_output=True, text=True,
                       env=dict(os.environ, KCONV_LIBCUDA="/nonexistent/libcuda.so.1"))
    assert r.returncode == 1
    assert "no CUDA driver: cannot load /nonexistent/libcuda.so.1" in r.stderr


def test_out_of_memory(gaussian):
    r = kconv_run(gaussian, "--random", "1000", "--device", "gpu", mode="oom")
    assert r.returncode == 1
    assert "out of device memory allocating" in r.stderr and "input X" in r.stderr


def test_launch_failure(gaussian):
    r = kconv_run(gaussian, "--random", "1000", "--device", "gpu", mode="launchfail")
    assert r.returncode == 1
    assert "cuLaunchKernel" in r.stderr and "CUDA_ERROR_LAUNCH_FAILED" in r.stderr


def test_module_failure(gaussian):
    r = kconv_run(gaussian, "--random", "1000", "--device", "gpu", mode="badmodule")
    assert r.returncode == 1
    assert "did not load" in r.stderr and "could not compile the PTX" in r.stderr


def test_device_memory_path(gaussian):
    """memory=device through the C API: fake device buffers, asynchronous launch, pointer checks."""
    script = textwrap.dedent(f"""
        import ctypes, sys
        import numpy as np
        sys.path.insert(0, {str(ROOT / 'python')!r})
        import kconv
        from kconv import _capi
        fake = ctypes.CDLL({str(FAKE)!r})
        art = kconv.load({str(gaussian)!r})
        lib = _capi.library()
        rng = np.random.default_rng(0)
        n, m = 3000, 2000
        x = rng.standard_normal((n, 3)).astype(np.float32)
        y = rng.standard_normal((m, 3)).astype(np.float32)
        b = rng.standard_normal((m, 1)).astype(np.float32)
        def dev(a):
            p = ctypes.c_ulonglong()
            assert fake.cuMemAlloc_v2(ctypes.byref(p), ctypes.c_size_t(max(a.nbytes, 4))) == 0
            ctypes.memmove(p.value, a.ctypes.data, a.nbytes)
            return p.value
        out = np.full((n, 1), np.nan, np.float32)
        dx, dy, db, dout = dev(x), dev(y), dev(b), dev(out)
        float_p = ctypes.POINTER(ctypes.c_float)
        def run(ptrs, o, n, m):
            arr = (ctypes.c_void_p * 3)(*ptrs)
            opt = _capi.RunOptions()
            lib.kconv_run_options_init(ctypes.byref(opt))
            opt.memory = _capi.MEMORY_DEVICE
            return lib.kconv_run(art._handle, b"gaussian_conv",
                                 ctypes.cast(arr, ctypes.POINTER(float_p)), 3,
                                 ctypes.cast(ctypes.c_void_p(o), float_p), n, m, ctypes.byref(opt))
        assert run([dx, dy, db], dout, n, m) == 0, lib.kconv_last_error()
        ctypes.memmove(out.ctypes.data, dout, out.nbytes)
        d2 = ((x[:, None, :].astype(np.float64) - y[None, :, :]) ** 2).sum(-1)
        want = np.exp(-d2) @ b.astype(np.float64)
        err = np.linalg.norm(out - want) / np.linalg.norm(want)
        assert err < 1e-5, err
        # nReduced = 0: the kernel writes the empty sum.
        assert run([dx, dy, db], dout, n, 0) == 0
        ctypes.memmove(out.ctypes.data, dout, out.nbytes)
        assert not out.any()
        # A host pointer where device memory is promised: refused, naming the input.
        assert run([dx, y.ctypes.data, db], dout, n, m) == _capi.INVALID_ARGUMENT
        msg = lib.kconv_last_error().decode()
        assert "input 1 (Y) is not CUDA device memory" in msg, msg
        assert run([dx, dy, db], out.ctypes.data, n, m) == _capi.INVALID_ARGUMENT
        assert "values is not CUDA device memory" in lib.kconv_last_error().decode()
        print("device path OK")
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env())
    assert r.returncode == 0, r.stdout + r.stderr
    assert "device path OK" in r.stdout

# A stand-in `torch` whose CUDA tensors live in the fake driver's memory (`fake`, a CDLL of it,
# and numpy as np, ctypes, sys, types must be defined before it in a script).
FAKE_TORCH = """
torch = types.ModuleType("torch")
torch.float32, torch.float64, torch.int64 = "float32", "float64", "int64"
class Device:
    def __init__(self, s): self.s = s
    def __eq__(self, o): return isinstance(o, Device) and o.s == self.s
    def __repr__(self): return self.s
class Tensor:
    __module__ = "torch"
    def __init__(self, array, device="cuda:0", contiguous=True, dtype="float32"):
        self.shape = array.shape
        self.dtype = dtype
        self.device = Device(device)
        self.is_cuda = device.startswith("cuda")
        self._contiguous = contiguous
        p = ctypes.c_ulonglong()
        assert fake.cuMemAlloc_v2(ctypes.byref(p), ctypes.c_size_t(max(array.nbytes, 4))) == 0
        ctypes.memmove(p.value, array.ctypes.data, array.nbytes)
        self._ptr = p.value
    def data_ptr(self): return self._ptr
    def get_device(self): return int(self.device.s.split(":")[1]) if self.is_cuda else -1
    def is_contiguous(self): return self._contiguous
    def dim(self): return len(self.shape)
    def numel(self): return int(np.prod(self.shape))
    def numpy(self):
        a = np.empty(self.shape, np.dtype(self.dtype))
        ctypes.memmove(a.ctypes.data, self._ptr, a.nbytes)
        return a
def empty(shape, device=None, dtype="float32"):
    return Tensor(np.zeros(shape, np.dtype(dtype)), device=device.s, dtype=dtype)
class Stream:
    cuda_stream = 0
cuda = types.SimpleNamespace(current_stream=lambda dev=None: Stream())
torch.Tensor, torch.empty, torch.cuda = Tensor, empty, cuda
sys.modules["torch"] = torch

"""


def test_python_cuda_tensor_path(gaussian):
    """Artifact.run's CUDA-tensor path (checks, output allocation, stream, cached ctypes blocks),
    with a stand-in `torch` whose CUDA tensors live in the fake driver's memory."""
    script = textwrap.dedent(f"""
        import ctypes, sys, types
        import numpy as np
        sys.path.insert(0, {str(ROOT / 'python')!r})
        fake = ctypes.CDLL({str(FAKE)!r})

    """) + FAKE_TORCH + textwrap.dedent(f"""
        import kconv
        art = kconv.load({str(gaussian)!r})
        rng = np.random.default_rng(1)
        for n, m in [(1, 1), (300, 200), (2500, 3000)]:
            x = rng.standard_normal((n, 3)).astype(np.float32)
            y = rng.standard_normal((m, 3)).astype(np.float32)
            b = rng.standard_normal((m, 1)).astype(np.float32)
            d2 = ((x[:, None, :].astype(np.float64) - y[None, :, :]) ** 2).sum(-1)
            want = np.exp(-d2) @ b.astype(np.float64)
            tx, ty, tb = Tensor(x), Tensor(y), Tensor(b)
            out = art.run("gaussian_conv", tx, ty, tb)
            assert out.is_cuda and out.shape == (n, 1)
            got = out.numpy()
            assert np.linalg.norm(got - want) / np.linalg.norm(want) < 1e-5
            given = Tensor(np.full((n, 1), np.nan, np.float32))
            again = art.run("gaussian_conv", B=tb, X=tx, Y=ty, out=given, stream=Stream())
            assert again is given and np.allclose(given.numpy(), got)
        def fails(match, *args, **kw):
            try:
                art.run("gaussian_conv", *args, **kw)
            except kconv.KconvError as e:
                assert match in str(e), (match, str(e))
                return
            raise AssertionError("no error: " + match)
        x = rng.standard_normal((10, 3)).astype(np.float32)
        y = rng.standard_normal((12, 3)).astype(np.float32)
        b = rng.standard_normal((12, 1)).astype(np.float32)
        tx, ty, tb = Tensor(x), Tensor(y), Tensor(b)
        fails("expected torch.float32", Tensor(x, dtype="float64"), ty, tb)
        fails("not contiguous", Tensor(x, contiguous=False), ty, tb)
        fails("on cuda:1, other inputs on cuda:0", tx, Tensor(y, device="cuda:1"), tb)
        fails("a host array mixed with CUDA tensors", tx, y, tb)
        fails("CUDA tensors run on the GPU, not on 'cpu'", tx, ty, tb, device="cpu")
        fails("has 5 rows, expected nJ = 12", tx, ty, Tensor(b[:5]))
        fails("expected 3 inputs", tx, ty)
        print("python cuda path OK")
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env())
    assert r.returncode == 0, r.stdout + r.stderr
    assert "python cuda path OK" in r.stdout


def _launches(log):
    return [line.split() for line in log.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("gpus", ["0,1", "all", "0,1,2"])
@pytest.mark.parametrize("n,m", [(1001, 300), (20000, 700), (2, 50)])
def test_multi_gpu_shards_rows(gaussian, tmp_path, gpus, n, m):
    """--gpus: each fake GPU launched on its own contiguous slice (sizes differing by at most one),
    the gathered result bit-identical to one GPU's and within --check of the float64 reference."""
    ndev = 3 if gpus == "all" else gpus.count(",") + 1
    one, many = tmp_path / "one.npy", tmp_path / "many.npy"
    log = tmp_path / "launches"
    common = ["--random", f"{n},{m}", "--device", "gpu", "--check", "--check-rows", "4000"]
    # Same variant on every slice (the small kernel has no split-j), so rounding cannot differ.
    r = kconv_run(gaussian, *common, "-o", str(one), KCONV_GPU_PLAN="2:1")
    assert r.returncode == 0 and "OK" in r.stdout, r.stdout + r.stderr
    r = kconv_run(gaussian, *common, "--gpus", gpus, "-o", str(many), KCONV_GPU_PLAN="2:1",
                  FAKE_CUDA_DEVICES=3, FAKE_CUDA_LOG=log)
    assert r.returncode == 0 and "OK" in r.stdout, r.stdout + r.stderr
    np = pytest.importorskip("numpy")
    assert np.array_equal(np.load(one), np.load(many))
    launches = _launches(log)
    parts = min(ndev, n)
    assert sorted(int(l[7]) for l in launches) == list(range(parts))  # one launch per GPU
    sizes = sorted(int(l[3]) for l in launches)
    assert sum(sizes) == n and sizes[-1] - sizes[0] <= 1
    assert all(int(l[4]) == m for l in launches)  # every GPU gets all reduced rows


def test_multi_gpu_env_and_auto_plan(gaussian, tmp_path):
    """$KCONV_GPU_DEVICES=all with the automatic plan: still within tolerance of the reference."""
    log = tmp_path / "launches"
    r = kconv_run(gaussian, "--random", "30000,3000", "--device", "gpu", "--check",
                  KCONV_GPU_DEVICES="all", FAKE_CUDA_DEVICES=2, FAKE_CUDA_LOG=log)
    assert r.returncode == 0 and "OK" in r.stdout, r.stdout + r.stderr
    assert {l[7] for l in _launches(log)} == {"0", "1"}


def test_multi_gpu_errors(gaussian):
    r = kconv_run(gaussian, "--random", "100,30", "--device", "gpu", "--gpus", "0,2",
                  FAKE_CUDA_DEVICES=2)
    assert r.returncode == 1 and "GPU 2 does not exist (2 GPU(s) visible)" in r.stderr, r.stderr
    r = kconv_run(gaussian, "--random", "100,30", "--device", "gpu", "--gpus", "1",
                  FAKE_CUDA_DEVICES=1)
    assert r.returncode == 1 and "GPU 1 does not exist" in r.stderr, r.stderr
    r = kconv_run(gaussian, "--random", "100,30", "--device", "gpu", KCONV_GPU_DEVICES="0,x",
                  FAKE_CUDA_DEVICES=2)
    assert r.returncode == 1 and "KCONV_GPU_DEVICES" in r.stderr, r.stderr


def test_multi_gpu_python_and_device_memory(gaussian):
    """art.run(..., devices=[0, 1]) on host arrays; several devices with device memory refused."""
    script = textwrap.dedent(f"""
        import ctypes, sys
        import numpy as np
        sys.path.insert(0, {str(ROOT / 'python')!r})
        import kconv
        from kconv import _capi
        fake = ctypes.CDLL({str(FAKE)!r})
        art = kconv.load({str(gaussian)!r})
        lib = _capi.library()
        rng = np.random.default_rng(1)
        n, m = 2001, 500
        x = rng.standard_normal((n, 3)).astype(np.float32)
        y = rng.standard_normal((m, 3)).astype(np.float32)
        b = rng.standard_normal((m, 1)).astype(np.float32)
        one = art.run("gaussian_conv", x, y, b, device="gpu")
        two = art.run("gaussian_conv", x, y, b, device="gpu", devices=[0, 1])
        every = art.run("gaussian_conv", x, y, b, device="gpu", devices="all")
        assert np.array_equal(one, two) and np.array_equal(one, every)
        try:
            art.run("gaussian_conv", x, y, b, device="gpu", devices=[0, 5])
            raise SystemExit("no error for GPU 5")
        except kconv.KconvError as e:
            assert "GPU 5 does not exist" in str(e), e
        def dev(a):
            p = ctypes.c_ulonglong()
            assert fake.cuMemAlloc_v2(ctypes.byref(p), ctypes.c_size_t(max(a.nbytes, 4))) == 0
            ctypes.memmove(p.value, a.ctypes.data, a.nbytes)
            return p.value
        out = np.zeros((n, 1), np.float32)
        float_p = ctypes.POINTER(ctypes.c_float)
        arr = (ctypes.c_void_p * 3)(dev(x), dev(y), dev(b))
        devices = (ctypes.c_int * 2)(0, 1)
        opt = _capi.RunOptions()
        lib.kconv_run_options_init(ctypes.byref(opt))
        opt.memory = _capi.MEMORY_DEVICE
        opt.devices = devices
        opt.num_devices = 2
        rc = lib.kconv_run(art._handle, b"gaussian_conv", ctypes.cast(arr, ctypes.POINTER(float_p)),
                           3, ctypes.cast(ctypes.c_void_p(dev(out)), float_p), n, m,
                           ctypes.byref(opt))
        assert rc == _capi.INVALID_ARGUMENT, rc
        msg = lib.kconv_last_error().decode()
        assert "several GPUs" in msg and "host-memory" in msg, msg
        print("multi-gpu python OK")
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       env=env(FAKE_CUDA_DEVICES=2))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "multi-gpu python OK" in r.stdout


# ---------------------------------------------------------------------------------------------
# A kind with indices (min_argmin, no split-j kernels): the test artifact's `nearest` with stub
# GPU kernels that the fake driver computes (kconv-make-test-artifact --index-kinds-fake-gpu).


@pytest.fixture(scope="module")
def nearest(tmp_path_factory):
    maker = _find("KCONV_MAKE_TEST_ARTIFACT", ROOT / "build" / "bin" / "kconv-make-test-artifact")
    if FAKE is None or maker is None:
        pytest.skip("the fake CUDA driver or kconv-make-test-artifact is not built")
    path = tmp_path_factory.mktemp("fake") / "nearest.kca"
    r = subprocess.run([str(maker), "--index-kinds-fake-gpu", str(path)], capture_output=True,
                       text=True)
    if r.returncode == 77:
        pytest.skip("no C compiler for the test kernels: " + r.stderr.strip())
    assert r.returncode == 0, r.stderr
    return path


def test_index_kind_host_path_plans_and_gpus(nearest, tmp_path):
    """Values and indices copied back (one GPU and row slices over three), nReduced = 0 through
    the kernel (+inf / -1), and never a split reduced range whatever the plan asks."""
    log = tmp_path / "launches"
    script = textwrap.dedent(f"""
        import os, sys
        import numpy as np
        sys.path.insert(0, {str(ROOT / 'python')!r})
        import kconv
        rng = np.random.default_rng(2)
        for plan in [None, "0:1", "0:4", "1:3", "2:1", "0:1000"]:
            if plan:
                os.environ["KCONV_GPU_PLAN"] = plan
            else:
                os.environ.pop("KCONV_GPU_PLAN", None)
            art = kconv.load({str(nearest)!r})  # the plan is read at load
            for n, m in [(1, 1), (300, 2000), (3001, 700), (7, 0)]:
                x = rng.standard_normal((n, 3)).astype(np.float32)
                y = rng.standard_normal((m, 3)).astype(np.float32)
                want = art.run("nearest", x, y, device="cpu")
                for devices in (None, [0, 1, 2]):
                    got = art.run("nearest", x, y, device="gpu", devices=devices)
                    assert got[0].dtype == np.float32 and got[1].dtype == np.int64
                    assert np.array_equal(got[0], want[0]), (plan, n, m, devices)
                    assert np.array_equal(got[1], want[1]), (plan, n, m, devices)
                if m == 0:
                    assert (got[0] == np.inf).all() and (got[1] == -1).all()
            art.close()
        print("index kind OK")
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       env=env(FAKE_CUDA_DEVICES=3, FAKE_CUDA_LOG=log))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "index kind OK" in r.stdout
    launches = _launches(log)
    assert launches and all(l[2] == "1" and "splitj" not in l[0] for l in launches), launches
    assert {l[0] for l in launches} >= {"kconv_gpu_nearest", "kconv_gpu_nearest_small"}


def test_index_kind_device_memory(nearest):
    """kconv_run_outputs with device memory: both outputs written in place; a host indices
    pointer refused, naming it."""
    script = textwrap.dedent(f"""
        import ctypes, sys
        import numpy as np
        sys.path.insert(0, {str(ROOT / 'python')!r})
        import kconv
        from kconv import _capi
        fake = ctypes.CDLL({str(FAKE)!r})
        art = kconv.load({str(nearest)!r})
        lib = _capi.library()
        rng = np.random.default_rng(3)
        n, m = 1000, 300
        x = rng.standard_normal((n, 3)).astype(np.float32)
        y = rng.standard_normal((m, 3)).astype(np.float32)
        def dev(a):
            p = ctypes.c_ulonglong()
            assert fake.cuMemAlloc_v2(ctypes.byref(p), ctypes.c_size_t(max(a.nbytes, 4))) == 0
            ctypes.memmove(p.value, a.ctypes.data, a.nbytes)
            return p.value
        values = np.full((n, 3), np.nan, np.float32)
        indices = np.full((n, 3), -7, np.int64)
        dv, di = dev(values), dev(indices)
        arr = (ctypes.c_void_p * 2)(dev(x), dev(y))
        float_p = ctypes.POINTER(ctypes.c_float)
        opt = _capi.RunOptions()
        lib.kconv_run_options_init(ctypes.byref(opt))
        opt.memory = _capi.MEMORY_DEVICE
        def run(v, i, m=m):
            return lib.kconv_run_outputs(art._handle, b"nearest",
                                         ctypes.cast(arr, ctypes.POINTER(float_p)), 2, v, i, n, m,
                                         ctypes.byref(opt))
        assert run(dv, di) == 0, lib.kconv_last_error()
        ctypes.memmove(values.ctypes.data, dv, values.nbytes)
        ctypes.memmove(indices.ctypes.data, di, indices.nbytes)
        want = art.run("nearest", x, y, device="cpu")
        assert np.array_equal(values, want[0]) and np.array_equal(indices, want[1])
        assert run(dv, indices.ctypes.data) == _capi.INVALID_ARGUMENT
        msg = lib.kconv_last_error().decode()
        assert "indices is not CUDA device memory" in msg, msg
        assert run(dv, None) == _capi.INVALID_ARGUMENT
        assert "indices is a null pointer" in lib.kconv_last_error().decode()
        assert run(dv, di, m=0) == 0
        ctypes.memmove(indices.ctypes.data, di, indices.nbytes)
        assert (indices == -1).all()
        print("index device path OK")
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env())
    assert r.returncode == 0, r.stdout + r.stderr
    assert "index device path OK" in r.stdout


def test_index_kind_cuda_tensors(nearest):
    """CUDA tensors of an index kind: a (values, indices) tuple of float32 / int64 tensors, or
    out= tensors; the wrong out dtype refused."""
    script = textwrap.dedent(f"""
        import ctypes, sys, types
        import numpy as np
        sys.path.insert(0, {str(ROOT / 'python')!r})
        fake = ctypes.CDLL({str(FAKE)!r})
    """) + FAKE_TORCH + textwrap.dedent(f"""
        import kconv
        art = kconv.load({str(nearest)!r})
        rng = np.random.default_rng(4)
        x = rng.standard_normal((500, 3)).astype(np.float32)
        y = rng.standard_normal((80, 3)).astype(np.float32)
        want = art.run("nearest", x, y, device="cpu")
        values, indices = art.run("nearest", Tensor(x), Tensor(y))
        assert values.dtype == "float32" and indices.dtype == "int64", (values.dtype, indices.dtype)
        assert values.shape == (500, 3) and indices.shape == (500, 3)
        assert np.array_equal(values.numpy(), want[0]) and np.array_equal(indices.numpy(), want[1])
        given = (Tensor(np.zeros((500, 3), np.float32)),
                 Tensor(np.zeros((500, 3), np.int64), dtype="int64"))
        assert art.run("nearest", Tensor(x), Tensor(y), out=given) is given
        assert np.array_equal(given[1].numpy(), want[1])
        try:
            art.run("nearest", Tensor(x), Tensor(y), out=(given[0], given[0]))
            raise SystemExit("no error for float32 indices")
        except kconv.KconvError as e:
            assert "out indices must be a contiguous int64 tensor on cuda:0" in str(e), e
        print("index cuda tensors OK")
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env())
    assert r.returncode == 0, r.stdout + r.stderr
    assert "index cuda tensors OK" in r.stdout


# ---------------------------------------------------------------------------------------------
# Batch dimensions (docs/runtime.md): the fake computes each launch's blockIdx.z entries with the
# kernel ABI's batch parameters (batchBase, sizes, strides), so the host side's layouts, launch
# splits and GPU shares are checked against a float64 reference per problem.


def _batch_script(gaussian, body):
    return textwrap.dedent(f"""
        import sys
        import numpy as np
        sys.path.insert(0, {str(ROOT / 'python')!r})
        import kconv
        art = kconv.load({str(gaussian)!r})
        def ref(x, y, b):
            x, y, b = (np.asarray(a, np.float64) for a in (x, y, b))
            d2 = ((x[..., :, None, :] - y[..., None, :, :]) ** 2).sum(-1)
            return np.exp(-d2) @ b
        def check(out, want):
            assert out.shape == want.shape, (out.shape, want.shape)
            err = np.abs(out - want).max() / max(np.abs(want).max(), 1e-30)
            assert err < 1e-5, err
        rng = np.random.default_rng(5)
        def randn(*shape):
            return rng.standard_normal(shape).astype(np.float32)
    """) + textwrap.dedent(body) + '\nprint("batch OK")\n'


@pytest.mark.parametrize("gpus", [None, "0,1,2"])
def test_batch_host_path_and_gpu_shares(gaussian, tmp_path, gpus):
    """A (2, 3) batch with y broadcast along the first dimension (a layout that does not collapse):
    one launch of 6 entries on one GPU; over 3 GPUs, entries 0-1, 2-3, 4-5, one launch each."""
    log = tmp_path / "launches"
    script = _batch_script(gaussian, """
        x, y, b = randn(2, 3, 50, 3), randn(1, 3, 40, 3), randn(3, 40, 1)
        check(art.run("gaussian_conv", x, y, b, device="gpu"), ref(x, y, b))
    """)
    extra = dict(FAKE_CUDA_LOG=log, FAKE_CUDA_DEVICES=3)
    if gpus:
        extra["KCONV_GPU_DEVICES"] = gpus
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       env=env(**extra))
    assert r.returncode == 0 and "batch OK" in r.stdout, r.stdout + r.stderr
    launches = _launches(log)
    # name gx gy nOut nRed chunk device D batch GZ BASE
    if gpus is None:
        assert [(l[9], l[10]) for l in launches] == [("6", "0")], launches
    else:
        assert sorted((int(l[7]), int(l[9]), int(l[10])) for l in launches) == [
            (0, 2, 0), (1, 2, 2), (2, 2, 4)], launches


def test_batch_beyond_grid_z_and_rank(gaussian, tmp_path):
    """70000 problems: two launches (blockIdx.z holds 65535); a batch of rank 6 that collapses to
    nothing smaller (x and y broadcast along alternate dimensions): the kernels decode 4
    dimensions, the runtime launches once per entry of the other 2."""
    log = tmp_path / "launches"
    script = _batch_script(gaussian, """
        x, y, b = randn(70000, 2, 3), randn(70000, 3, 3), randn(70000, 3, 1)
        check(art.run("gaussian_conv", x, y, b, device="gpu"), ref(x, y, b))
        x, y = randn(2, 1, 2, 1, 2, 1, 5, 3), randn(1, 2, 1, 2, 1, 2, 4, 3)
        b = randn(4, 1)
        check(art.run("gaussian_conv", x, y, b, device="gpu"), ref(x, y, b))
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       env=env(FAKE_CUDA_LOG=log))
    assert r.returncode == 0 and "batch OK" in r.stdout, r.stdout + r.stderr
    launches = [(l[7], l[8]) for l in _launches(log)]  # (GZ, BASE)
    assert launches[:2] == [("65535", "0"), ("4465", "65535")], launches
    assert launches[2:] == [("16", "0")] * 4, launches
