"""ctypes declarations of the kconv C API (include/kconv/Runtime/kconv.h) and library lookup."""
import ctypes
import ctypes.util
import os
import threading

LIBRARY_NAME = "libkconv_runtime.so"

# kconv_status
OK, INVALID_ARGUMENT, INVALID_ARTIFACT, IO_ERROR, UNSUPPORTED, DEVICE_ERROR, INTERNAL = range(7)
STATUS_NAMES = {
    OK: "ok",
    INVALID_ARGUMENT: "invalid argument",
    INVALID_ARTIFACT: "invalid artifact",
    IO_ERROR: "I/O error",
    UNSUPPORTED: "unsupported",
    DEVICE_ERROR: "device error",
    INTERNAL: "internal error",
}
# kconv_device
DEVICES = {"cpu": 0, "gpu": 1, "auto": 2}
# kconv_memory
MEMORY_HOST, MEMORY_DEVICE = 0, 1
# kconv_category
CATEGORIES = {0: "i", 1: "j", 2: "p"}


class KconvError(Exception):
    """An error reported by the kconv runtime: `code` is a kconv_status, str() the C message."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def status(self):
        return STATUS_NAMES.get(self.code, str(self.code))


class ReductionInfo(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("kind", ctypes.c_char_p),
        ("axis", ctypes.c_int),
        ("value_dim", ctypes.c_int64),
        ("index_dim", ctypes.c_int64),
        ("k", ctypes.c_int64),
        ("num_variables", ctypes.c_int64),
    ]


class VariableInfo(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("category", ctypes.c_int),
        ("dim", ctypes.c_int64),
    ]


class RunOptions(ctypes.Structure):
    _fields_ = [
        ("device", ctypes.c_int),
        ("threads", ctypes.c_int),
        ("input_rows", ctypes.POINTER(ctypes.c_int64)),
        ("input_dims", ctypes.POINTER(ctypes.c_int64)),
        ("memory", ctypes.c_int),
        ("stream", ctypes.c_void_p),
        ("devices", ctypes.POINTER(ctypes.c_int)),
        ("num_devices", ctypes.c_int),
        # Batch dimensions, one entry per input (NULL: none): rank, shape and strides (elements).
        ("input_batch_rank", ctypes.POINTER(ctypes.c_int64)),
        ("input_batch", ctypes.POINTER(ctypes.POINTER(ctypes.c_int64))),
        ("input_batch_strides", ctypes.POINTER(ctypes.POINTER(ctypes.c_int64))),
    ]


def candidate_paths():
    """Where libkconv_runtime.so is looked for, in order."""
    paths = []
    env = os.environ.get("KCONV_LIBRARY")
    if env:
        paths.append(os.path.join(env, LIBRARY_NAME) if os.path.isdir(env) else env)
    here = os.path.dirname(os.path.abspath(__file__))
    paths.append(os.path.join(here, LIBRARY_NAME))
    source_root = os.path.dirname(os.path.dirname(here))  # python/kconv -> repository root
    for build in ("build", "build-nocompiler"):
        paths.append(os.path.join(source_root, build, "lib", LIBRARY_NAME))
    return paths


_lib = None
_lock = threading.Lock()


def _declare(lib):
    c_int64_p = ctypes.POINTER(ctypes.c_int64)
    opaque = ctypes.c_void_p
    sigs = {
        "kconv_last_error": (ctypes.c_char_p, []),
        "kconv_version": (ctypes.c_char_p, []),
        "kconv_default_threads": (ctypes.c_int, []),
        "kconv_load": (ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(opaque)]),
        "kconv_load_memory": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p,
                                             ctypes.POINTER(opaque)]),
        "kconv_free": (None, [opaque]),
        "kconv_set_threads": (ctypes.c_int, [opaque, ctypes.c_int]),
        "kconv_num_reductions": (ctypes.c_int, [opaque, c_int64_p]),
        "kconv_reduction_at": (ctypes.c_int, [opaque, ctypes.c_int64,
                                                   ctypes.POINTER(ReductionInfo)]),
        "kconv_reduction_by_name": (ctypes.c_int, [opaque, ctypes.c_char_p,
                                                        ctypes.POINTER(ReductionInfo)]),
        "kconv_variable_at": (ctypes.c_int, [opaque, ctypes.c_char_p, ctypes.c_int64,
                                               ctypes.POINTER(VariableInfo)]),
        "kconv_cpu_available": (ctypes.c_int, [opaque, ctypes.c_char_p,
                                               ctypes.POINTER(ctypes.c_int),
                                               ctypes.POINTER(ctypes.c_char_p)]),
        "kconv_gpu_available": (ctypes.c_int, [opaque, ctypes.c_char_p,
                                               ctypes.POINTER(ctypes.c_int),
                                               ctypes.POINTER(ctypes.c_char_p)]),
        "kconv_run_options_init": (None, [ctypes.POINTER(RunOptions)]),
        "kconv_broadcast_batch_shape": (ctypes.c_int, [opaque, ctypes.c_char_p, ctypes.c_int64,
                                                       ctypes.POINTER(c_int64_p), c_int64_p,
                                                       c_int64_p, ctypes.c_int64, c_int64_p]),
        # out as void*: a float pointer (host arrays) or a device address (an int, CUDA tensors).
        "kconv_run": (ctypes.c_int, [opaque, ctypes.c_char_p,
                                     ctypes.POINTER(ctypes.POINTER(ctypes.c_float)),
                                     ctypes.c_int64, ctypes.c_void_p,
                                     ctypes.c_int64, ctypes.c_int64,
                                     ctypes.POINTER(RunOptions)]),
        # values (float) and indices (int64) as void*, for the same reason.
        "kconv_run_outputs": (ctypes.c_int, [opaque, ctypes.c_char_p,
                                             ctypes.POINTER(ctypes.POINTER(ctypes.c_float)),
                                             ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p,
                                             ctypes.c_int64, ctypes.c_int64,
                                             ctypes.POINTER(RunOptions)]),
        "kconv_fused_reduction": (ctypes.c_int, [opaque, ctypes.c_int64,
                                                 ctypes.POINTER(ctypes.c_char_p),
                                                 ctypes.POINTER(ctypes.c_char_p),
                                                 c_int64_p, c_int64_p]),
    }
    for name, (restype, argtypes) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


def library():
    """The loaded C library (loaded on first use)."""
    global _lib
    with _lock:
        if _lib is not None:
            return _lib
        tried = []
        for path in candidate_paths():
            if os.path.exists(path):
                try:
                    _lib = _declare(ctypes.CDLL(path))
                    return _lib
                except OSError as e:
                    tried.append(f"{path} ({e})")
            else:
                tried.append(f"{path} (not found)")
        found = ctypes.util.find_library("kconv_runtime")
        for name in ([found] if found else []) + [LIBRARY_NAME]:
            try:
                _lib = _declare(ctypes.CDLL(name))
                return _lib
            except OSError as e:
                tried.append(f"{name} ({e})")
        raise KconvError(IO_ERROR, "cannot find the kconv runtime library (libkconv_runtime.so); "
                                   "set KCONV_LIBRARY. Tried: " + "; ".join(tried))


def check(status):
    """Raises KconvError with the C message for a non-zero status."""
    if status != OK:
        message = library().kconv_last_error().decode("utf-8", "replace")
        raise KconvError(status, message)
