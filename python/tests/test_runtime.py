"""The Python binding against a NumPy float64 computation."""
import threading
import time

import numpy as np
import pytest

import kconv


def gauss_ref(x, y, b, s=1.0):
    x, y, b = (np.asarray(a, dtype=np.float64) for a in (x, y, b))
    d2 = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    return np.exp(-s * d2) @ b.reshape(len(y), -1)


def rel_err(got, want):
    norm = np.linalg.norm(want)
    return np.linalg.norm(got - want) / norm if norm > 0 else np.linalg.norm(got)


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_version_and_reductions(art):
    assert kconv.version() == "0.1.0"
    assert list(art.reductions) == ["gaussian_conv", "gaussian_vec", "transposed", "no_cpu"]
    g = art.reductions["gaussian_conv"]
    assert g.axis == 1 and g.value_dim == 1 and g.index_dim == 0 and g.k == 1
    assert g.kind == "sum"
    assert g.variables == (kconv.Variable("X", "i", 3), kconv.Variable("Y", "j", 3),
                           kconv.Variable("B", "j", 1))
    assert g.signature == "X: i 3, Y: j 3, B: j 1 -> i 1 (sum over j)"
    assert g.cpu_available
    assert not art.reductions["no_cpu"].cpu_available
    assert "no CPU code" in art.reductions["no_cpu"].cpu_unavailable_reason
    assert art.reductions["transposed"].axis == 0
    assert "gaussian_conv" in repr(art)


@pytest.mark.parametrize("n,m", [(1, 1), (1, 17), (17, 1), (100, 37), (513, 1000), (1000, 999)])
def test_gaussian_matches_numpy(art, n, m):
    x, y, b = randn(n, 3, seed=1), randn(m, 3, seed=2), randn(m, 1, seed=3)
    out = art.run("gaussian_conv", x, y, b)
    assert out.shape == (n, 1) and out.dtype == np.float32
    assert rel_err(out, gauss_ref(x, y, b)) < 1e-5


def test_vector_output_and_axis0(art):
    x, y, v = randn(200, 3, seed=1), randn(300, 3, seed=2), randn(300, 3, seed=3)
    out = art.run("gaussian_vec", x, y, v)
    assert out.shape == (200, 3)
    assert rel_err(out, gauss_ref(x, y, v)) < 1e-5
    a, s = randn(200, seed=4), np.array([0.7], dtype=np.float32)
    out = art.run("transposed", x, a, y, s)
    assert out.shape == (300, 1)
    assert rel_err(out, gauss_ref(y, x, a, s=0.7)) < 1e-5


def test_by_name_and_conversions(art):
    x, y, b = randn(50, 3, seed=1), randn(60, 3, seed=2), randn(60, seed=3)
    want = gauss_ref(x, y, b)
    assert rel_err(art.run("gaussian_conv", B=b, X=x, Y=y), want) < 1e-5
    # float64 and non-contiguous inputs are converted (copied).
    x64 = x.astype(np.float64)
    yt = np.asfortranarray(y)
    bs = np.repeat(b, 2)[::2]
    assert not yt.flags.c_contiguous and not bs.flags.c_contiguous
    assert rel_err(art.run("gaussian_conv", x64, yt, bs), want) < 1e-5
    # Lists too.
    out = art.run("gaussian_conv", x.tolist(), y, b.reshape(-1, 1))
    assert rel_err(out, want) < 1e-5
    # out= is filled and returned.
    buf = np.full((50, 1), np.nan, dtype=np.float32)
    assert art.run("gaussian_conv", x, y, b, out=buf) is buf
    assert rel_err(buf, want) < 1e-5


def test_threads(art):
    x, y, b = randn(700, 3, seed=1), randn(800, 3, seed=2), randn(800, 1, seed=3)
    want = art.run("gaussian_conv", x, y, b, threads=1)
    for t in (2, 3, 8):
        np.testing.assert_array_equal(art.run("gaussian_conv", x, y, b, threads=t), want)
    art.set_threads(2)
    np.testing.assert_array_equal(art.run("gaussian_conv", x, y, b), want)


def test_empty_sizes(art):
    y, b = randn(10, 3), randn(10, 1)
    out = art.run("gaussian_conv", np.zeros((0, 3), np.float32), y, b)
    assert out.shape == (0, 1)
    out = art.run("gaussian_vec", randn(4, 3), np.zeros((0, 3)), np.zeros((0, 3)))
    assert out.shape == (4, 3) and not out.any()


def test_errors(art):
    x, y, b = randn(5, 3), randn(6, 3), randn(6, 1)
    with pytest.raises(kconv.KconvError, match=r"expected 3 inputs \(X, Y, B\), got 2") as e:
        art.run("gaussian_conv", x, y)
    assert e.value.code == 1 and e.value.status == "invalid argument"
    with pytest.raises(kconv.KconvError, match="no reduction named 'nope'"):
        art.run("nope", x, y, b)
    with pytest.raises(kconv.KconvError, match=r"input 0 \(X, i, dim 3\) has dimension 2"):
        art.run("gaussian_conv", randn(5, 2), y, b)
    with pytest.raises(kconv.KconvError, match="has 5 rows, expected nJ = 6"):
        art.run("gaussian_conv", x, y, randn(5, 1))
    with pytest.raises(kconv.KconvError, match="has no variable 'Z'"):
        art.run("gaussian_conv", X=x, Y=y, Z=b)
    with pytest.raises(kconv.KconvError, match="no input given for variable 'B'"):
        art.run("gaussian_conv", X=x, Y=y)
    with pytest.raises(kconv.KconvError, match="no GPU path") as e:
        art.run("gaussian_conv", x, y, b, device="gpu")
    assert e.value.code == 4
    with pytest.raises(kconv.KconvError, match="unknown device 'tpu'"):
        art.run("gaussian_conv", x, y, b, device="tpu")
    with pytest.raises(kconv.KconvError, match="no backend can run it"):
        art.run("no_cpu", x, y, b)
    with pytest.raises(kconv.KconvError, match="threads must be >= 0"):
        art.run("gaussian_conv", x, y, b, threads=-1)
    with pytest.raises(kconv.KconvError, match="out must be"):
        art.run("gaussian_conv", x, y, b, out=np.zeros(4, np.float32))
    with pytest.raises(kconv.KconvError, match="cannot be converted to float32"):
        art.run("gaussian_conv", np.array([["a", "b", "c"]]), y, b)


def test_load_errors(tmp_path):
    with pytest.raises(kconv.KconvError, match="cannot open the artifact") as e:
        kconv.load(tmp_path / "missing.kca")
    assert e.value.code == 3
    bad = tmp_path / "bad.kca"
    bad.write_bytes(b"not an artifact at all, not at all, not at all")
    with pytest.raises(kconv.KconvError, match="bad magic") as e:
        kconv.load(bad)
    assert e.value.code == 2
    with pytest.raises(kconv.KconvError, match="mem.kca: not a valid kconv artifact"):
        kconv.load_bytes(b"\0" * 64, "mem.kca")


def test_load_bytes_and_close(artifact_path):
    a = kconv.load_bytes(artifact_path.read_bytes(), "mem.kca")
    assert "transposed" in a.reductions
    with a:
        pass
    with pytest.raises(kconv.KconvError, match="closed"):
        a.run("gaussian_conv", randn(2, 3), randn(2, 3), randn(2, 1))


def test_concurrent_threads(art):
    x, y, b = randn(400, 3, seed=1), randn(500, 3, seed=2), randn(500, 1, seed=3)
    want = art.run("gaussian_conv", x, y, b)
    failures = []

    def worker(t):
        for _ in range(10):
            got = art.run("gaussian_conv", x, y, b, threads=t)
            if not np.array_equal(got, want):
                failures.append(t)

    threads = [threading.Thread(target=worker, args=(t,)) for t in (1, 2, 3, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures


def test_close_waits_for_running_calls(artifact_path):
    # Closing (or leaving a `with` block) while another thread is inside run() used to free the
    # artifact under the call (SIGSEGV). close() now waits for it; later calls raise.
    a = kconv.load(artifact_path)
    n, m = 2000, 40000  # ~0.5 s on one thread: close() comes in the middle of the call
    x, y, b = randn(n, 3, seed=1), randn(m, 3, seed=2), randn(m, 1, seed=3)
    started, result = threading.Event(), {}

    def worker():
        started.set()
        try:
            result["out"] = a.run("gaussian_conv", x, y, b, threads=1)
        except kconv.KconvError as e:  # close() got there first: refused, not a crash
            result["error"] = e
        result["finished"] = time.monotonic()

    t = threading.Thread(target=worker)
    t.start()
    started.wait()
    time.sleep(0.05)
    a.close()
    closed = time.monotonic()
    t.join()
    if "out" in result:
        assert result["finished"] <= closed  # close() returned only after the call
        assert rel_err(result["out"], gauss_ref(x, y, b)) < 1e-5
    else:
        assert "closed" in str(result["error"])
    with pytest.raises(kconv.KconvError, match="closed"):
        a.run("gaussian_conv", x[:2], y[:2], b[:2])
    a.close()  # twice is fine


def test_out_of_range_integers_are_refused(art):
    # ctypes truncates silently: threads=2**40 used to become 0 ("the default").
    x, y, b = randn(4, 3), randn(5, 3), randn(5, 1)
    for bad in (2**40, 2**31, -1):
        with pytest.raises(kconv.KconvError, match="threads must be >= 0 and at most 2147483647"):
            art.run("gaussian_conv", x, y, b, threads=bad)
        with pytest.raises(kconv.KconvError, match="threads must be >= 0"):
            art.set_threads(bad)
    with pytest.raises(kconv.KconvError, match="threads must be an integer"):
        art.run("gaussian_conv", x, y, b, threads=1.5)
    with pytest.raises(kconv.KconvError, match="n_i must be >= 0 and at most"):
        art.run("gaussian_conv", np.zeros((0, 3), np.float32), y, b, n_i=2**64)
    assert art.run("gaussian_conv", x, y, b, threads=2**31 - 1).shape == (4, 1)
