"""What the KeOps differential tests share: pykeops' NumPy Genred, or a visible skip."""
import pytest


def import_genred():
    """pykeops.numpy.Genred (pykeops 2.3, its CPU backend: g++ at first use, then cached), or a
    module-level skip naming why not. Like pytest.importorskip("pykeops"), but a pykeops that
    fails to import skips too."""
    try:
        import pykeops
        pykeops.set_verbose(False)
        from pykeops.numpy import Genred
    except Exception as e:  # noqa: BLE001 - any failure to import means no KeOps here
        pytest.skip(f"pykeops is not installed or not importable ({type(e).__name__}: {e}): "
                    "pip install pykeops==2.3 to run the differential tests against KeOps",
                    allow_module_level=True)
    return Genred
