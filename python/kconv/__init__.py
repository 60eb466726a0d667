"""kconv: run kconv artifacts (compiled KeOps-style reductions) on NumPy arrays.

    import kconv
    art = kconv.load("gaussian.kca")
    out = art.run("gaussian_conv", x, y, b)         # arrays in argument order
    out = art.run("gaussian_conv", X=x, Y=y, B=b)   # or by variable name

A pure ctypes binding of the runtime's C API (libkconv_runtime.so, see _capi.candidate_paths for
where it is looked up). Errors are raised as KconvError with the runtime's message.
"""
from ._capi import KconvError
from .artifact import Artifact, Reduction, Variable, load, load_bytes, version

__all__ = ["Artifact", "KconvError", "Reduction", "Variable", "load", "load_bytes", "version"]
__version__ = "0.1.0"
