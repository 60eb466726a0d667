"""Fixtures: the runtime tests' artifact, made by kconv-make-test-artifact (a C++ test tool that
compiles hand-written C kernels with cc and wraps them with the one format writer,
kconv::serializeArtifact)."""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _tool(env_var, name, builds):
    """A built tool: $env_var if set, else the first build directory that has it; or None."""
    env = os.environ.get(env_var)
    if env:
        return pathlib.Path(env)
    for build in builds:
        path = ROOT / build / "bin" / name
        if path.exists():
            return path
    return None


@pytest.fixture(scope="session")
def kconv_compile():
    """kconv-compile ($KCONV_COMPILE, build/ or build-gpu/), or None (the compiler is off)."""
    return _tool("KCONV_COMPILE", "kconv-compile", ("build", "build-gpu"))


def _make(tmp_path_factory, name, *flags):
    maker = _tool("KCONV_MAKE_TEST_ARTIFACT", "kconv-make-test-artifact",
                  ("build", "build-nocompiler"))
    if maker is None or not maker.exists():
        pytest.skip("kconv-make-test-artifact not built (set KCONV_MAKE_TEST_ARTIFACT)")
    path = tmp_path_factory.mktemp("artifact") / name
    result = subprocess.run([str(maker), *flags, str(path)], capture_output=True, text=True)
    if result.returncode == 77:
        pytest.skip("no C compiler for the test kernels: " + result.stderr.strip())
    assert result.returncode == 0, result.stderr
    return path


@pytest.fixture(scope="session")
def artifact_path(tmp_path_factory):
    return _make(tmp_path_factory, "test.kca")


@pytest.fixture(scope="session")
def index_artifact_path(tmp_path_factory):
    """The kinds with indices (nearest, argmin_t, knn, argknn; test/unit/TestArtifacts.h)."""
    return _make(tmp_path_factory, "index-kinds.kca", "--index-kinds")


@pytest.fixture
def art(artifact_path):
    import kconv
    a = kconv.load(artifact_path)
    yield a
    a.close()
