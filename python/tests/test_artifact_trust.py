"""An artifact is code (issue 11): a compiled artifact whose metadata was edited is refused at
load time, naming the mismatch, before its CPU object is mapped; launch parameters of 0 are
refused instead of dividing by zero in the GPU launch planning (checked through the fake CUDA
driver, test/gpu-fake). The artifacts come from kconv-compile, so this also checks that the
compiler emits the CPU ABI descriptor (kconv_cpu_NAME_abi) the runtime compares with."""
import os
import pathlib
import struct
import subprocess

import pytest

import kconv

ROOT = pathlib.Path(__file__).resolve().parents[2]
COMPILE = ROOT / "build" / "bin" / "kconv-compile"
RUN = pathlib.Path(os.environ.get("KCONV_RUN", ROOT / "build" / "bin" / "kconv-run"))
FAKE = pathlib.Path(os.environ.get("KCONV_FAKE_CUDA",
                                   ROOT / "build" / "lib" / "libkconv_fake_cuda.so"))


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    if not COMPILE.exists():
        pytest.skip("kconv-compile not built (the compiler is off)")
    path = tmp_path_factory.mktemp("trust") / "gaussian.kca"
    subprocess.run([str(COMPILE), str(ROOT / "examples" / "gaussian.kconv"), "-o", str(path),
                    "--cpu=x86-64-v3"], check=True, capture_output=True)
    return path.read_bytes()


def _fnv1a(data, h=0xcbf29ce484222325):
    for c in data:
        h = ((h ^ c) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def edit_metadata(artifact, old, new, drop_kinds=()):
    """The artifact with `old` replaced by `new` in its metadata section, without the sections of
    `drop_kinds`, with a matching content hash (format: docs/architecture.md): what an attacker or
    a careless script can do."""
    count = struct.unpack_from("<I", artifact, 12)[0]
    sections = []
    for i in range(count):
        kind, _, offset, size = struct.unpack_from("<IIQQ", artifact, 24 + 24 * i)
        if kind not in drop_kinds:
            sections.append([kind, artifact[offset:offset + size]])
    for s in sections:
        if s[0] == 1:
            assert old in s[1], (old, s[1].decode())
            s[1] = s[1].replace(old, new)
    count = len(sections)
    version = struct.unpack_from("<I", artifact, 8)[0]  # kept: the edit is the metadata's
    out = bytearray(b"KCONVART" + struct.pack("<II", version, count) + b"\0" * 8)
    offset = 24 + 24 * count
    for kind, payload in sections:
        out += struct.pack("<IIQQ", kind, 0, offset, len(payload))
        offset += len(payload)
    h = 0xcbf29ce484222325
    for _, payload in sections:
        h = _fnv1a(payload, h)
        out += payload
    struct.pack_into("<Q", out, 16, h)
    return bytes(out)


def test_compiled_artifact_loads_and_runs(compiled):
    import numpy as np
    art = kconv.load_bytes(compiled, "gaussian.kca")
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    y = np.random.default_rng(1).standard_normal((7, 3)).astype(np.float32)
    b = np.random.default_rng(2).standard_normal((7, 1)).astype(np.float32)
    want = np.exp(-((x[:, None, :].astype(np.float64) - y[None]) ** 2).sum(-1)) @ b
    got = art.run("gaussian_conv", x, y, b, device="cpu")
    assert np.linalg.norm(got - want) / np.linalg.norm(want) < 1e-5  # float32 kernel


@pytest.mark.parametrize("old,new,message", [
    (b"var X i 3", b"var X i 1",
     "variable 0 (X) is i 1 in the metadata but i 3 in the code"),
    (b"var B j 1", b"var B p 1", "variable 2 (B) is p 1 in the metadata but j 1 in the code"),
    (b"var Y j 3", b"var Y j 2305843009213693952",
     "variable 'Y' has dimension 2305843009213693952 (the language allows 1 to 65536)"),
    (b"attr cpu.symbol kconv_cpu_gaussian_conv", b"attr cpu.symbol abort",
     "attr cpu.symbol must be the ABI's name kconv_cpu_gaussian_conv, got 'abort'"),
    (b"attr cpu.lanes 8", b"attr cpu.lanes 1", "cpu.lanes is 1 in the metadata but 8 in the code"),
    (b"attr gpu.block 256", b"attr gpu.block 0",
     "attribute gpu.block must be an integer from 1 to 1024, got '0'"),
    (b"attr gpu.tile 256", b"attr gpu.tile 0", "attribute gpu.tile must be an integer from 1"),
    (b"attr gpu.rows_per_thread 4", b"attr gpu.rows_per_thread 0",
     "attribute gpu.rows_per_thread must be an integer from 1 to 64, got '0'"),
    (b"attr gpu.kernel kconv_gpu_gaussian_conv\n", b"attr gpu.kernel kconv_gpu_gaussian_conv_r1\n",
     "attr gpu.kernel must be the ABI's name kconv_gpu_gaussian_conv"),
])
def test_edited_metadata_is_refused(compiled, tmp_path, old, new, message):
    edited = edit_metadata(compiled, old, new)
    with pytest.raises(kconv.KconvError) as e:
        kconv.load_bytes(edited, "edited.kca")
    assert message in str(e.value) and e.value.code == 2
    # kconv-run --list, --device gpu through the fake driver: an error (exit 1), never a signal.
    path = tmp_path / "edited.kca"
    path.write_bytes(edited)
    env = dict(os.environ, KCONV_LIBCUDA=str(FAKE), FAKE_CUDA_MODE="ok")
    for args in (["--list"], ["--random", "100,300", "--device", "gpu"]):
        r = subprocess.run([str(RUN), str(path), *args], capture_output=True, text=True, env=env)
        assert r.returncode == 1 and message in r.stderr, (args, r.returncode, r.stderr)


def test_ptx_parameters_are_checked(compiled):
    # A fourth variable the kernels do not take.
    edited = edit_metadata(compiled, b"var B j 1\n", b"var B j 1\nvar C j 1\n")
    with pytest.raises(kconv.KconvError) as e:
        kconv.load_bytes(edited, "edited.kca")
    assert "the variable count is 4 in the metadata but 3 in the code" in str(e.value)
    # Without the CPU code (section kind 2), the PTX's .entry parameters are what disagrees.
    edited = edit_metadata(compiled, b"var B j 1\n", b"var B j 1\nvar C j 1\n", drop_kinds=(2,))
    with pytest.raises(kconv.KconvError) as e:
        kconv.load_bytes(edited, "edited.kca")
    assert ("the PTX kernel kconv_gpu_gaussian_conv takes 25 parameters, but the metadata's 4 "
            "variables make 30") in str(e.value)
    assert kconv.load_bytes(edit_metadata(compiled, b"", b"", drop_kinds=(2,)), "nocpu.kca")
