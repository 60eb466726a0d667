"""Artifacts and reductions over the C API (NumPy arrays, torch CPU and CUDA tensors)."""
import ctypes
import operator
import threading
from typing import NamedTuple, Tuple

import numpy as np

from . import _capi
from ._capi import KconvError, check, library


class Variable(NamedTuple):
    name: str
    category: str  # "i", "j" or "p"
    dim: int


class Reduction(NamedTuple):
    name: str
    kind: str
    axis: int  # 1: reduce over j, one output row per i; 0: the other way round
    output_dim: int
    variables: Tuple[Variable, ...]
    cpu_unavailable_reason: str  # "" when the CPU code can run on this host

    @property
    def cpu_available(self):
        return not self.cpu_unavailable_reason

    @property
    def signature(self):
        args = ", ".join(f"{v.name}: {v.category} {v.dim}" for v in self.variables)
        out = "i" if self.axis == 1 else "j"
        reduced = "j" if self.axis == 1 else "i"
        return f"{args} -> {out} {self.output_dim} ({self.kind} over {reduced})"

    def __repr__(self):
        return f"Reduction({self.name}: {self.signature})"


def version():
    """The C runtime's version string."""
    return library().kconv_version().decode()


def load(path):
    """Loads an artifact file; raises KconvError (IO_ERROR, INVALID_ARTIFACT) on failure."""
    handle = ctypes.c_void_p()
    check(library().kconv_load(str(path).encode(), ctypes.byref(handle)))
    return Artifact(handle, str(path))


def load_bytes(data, name="<memory>"):
    """Loads an artifact from its bytes."""
    data = bytes(data)
    handle = ctypes.c_void_p()
    check(library().kconv_load_memory(data, len(data), name.encode(), ctypes.byref(handle)))
    return Artifact(handle, name)


def _is_torch(value):
    return (type(value).__module__ or "").startswith("torch")


def _device_array(devices):
    """RunOptions.devices from None, "all" or a list of ordinals (kept alive by the caller)."""
    if devices is None:
        return None
    if isinstance(devices, str):
        if devices != "all":
            raise KconvError(_capi.INVALID_ARGUMENT,
                             f"devices must be a list of GPU ordinals or 'all', got '{devices}'")
        devices = [-1]
    devices = [int(d) for d in devices]
    return (ctypes.c_int * max(len(devices), 1))(*devices) if devices else None


def _is_cuda_tensor(value):
    return _is_torch(value) and getattr(value, "is_cuda", False)


def _as_host_float32(value, what):
    """The array the C runtime reads: float32, C-contiguous, on the host.

    float32 C-contiguous NumPy arrays are used as they are (no copy); anything else that NumPy can
    convert (float64, integers, non-contiguous views, lists, CPU torch tensors) is copied. CUDA
    tensors take the device path of Artifact.run instead.
    """
    if _is_torch(value):
        if str(getattr(value, "device", "cpu")) != "cpu":
            raise KconvError(_capi.INVALID_ARGUMENT,
                             f"{what}: a tensor on {value.device} mixed with host arrays: give "
                             f"every array on the same CUDA device, or every array on the host")
        value = value.detach().numpy()
    array = np.asarray(value)
    if array.dtype.kind not in "fiub":
        raise KconvError(_capi.INVALID_ARGUMENT,
                         f"{what}: dtype {array.dtype} cannot be converted to float32")
    if array.dtype != np.float32 or not array.flags.c_contiguous:
        array = np.ascontiguousarray(array, dtype=np.float32)
    return array


_C_INT_MAX = 2**31 - 1
_INT64_MAX = 2**63 - 1


def _c_integer(value, what, high):
    """`value` as a Python int in [0, high]: ctypes would silently truncate a larger one (2**40
    threads would become 0, "the default")."""
    try:
        number = operator.index(value)
    except TypeError:
        raise KconvError(_capi.INVALID_ARGUMENT,
                         f"{what} must be an integer, got {value!r}") from None
    if not 0 <= number <= high:
        raise KconvError(_capi.INVALID_ARGUMENT,
                         f"{what} must be >= 0 and at most {high}, got {number}")
    return number


class Artifact:
    """A loaded artifact. Thread-safe: several Python threads may call run() at once (ctypes
    releases the GIL during the call); close() waits for the calls that are running and makes
    later ones fail."""

    def __init__(self, handle, path):
        self._handle = handle
        # Guards _handle and _running: close() frees the handle only once no C call uses it.
        self._calls = threading.Condition()
        self._running = 0
        self.path = path
        self._lib = library()
        self._tls = threading.local()
        self._names = {}
        self.reductions = {}
        count = ctypes.c_int64()
        check(self._lib.kconv_num_reductions(handle, ctypes.byref(count)))
        for index in range(count.value):
            info = _capi.ReductionInfo()
            check(self._lib.kconv_reduction_at(handle, index, ctypes.byref(info)))
            variables = []
            for k in range(info.num_variables):
                v = _capi.VariableInfo()
                check(self._lib.kconv_variable_at(handle, info.name, k, ctypes.byref(v)))
                variables.append(Variable(v.name.decode(), _capi.CATEGORIES[v.category], v.dim))
            available = ctypes.c_int()
            reason = ctypes.c_char_p()
            check(self._lib.kconv_cpu_available(handle, info.name, ctypes.byref(available),
                                                ctypes.byref(reason)))
            name = info.name.decode()
            self.reductions[name] = Reduction(name, info.kind.decode(), info.axis,
                                              info.output_dim, tuple(variables),
                                              "" if available.value else reason.value.decode())

    def close(self):
        """Unloads the artifact (also done when it is garbage-collected, or when a `with` block
        ends). Calls running in other threads finish first; calls made afterwards raise."""
        with self._calls:
            handle, self._handle = self._handle, None  # new calls are refused from here on
            while self._running:
                self._calls.wait()
        if handle:
            self._lib.kconv_free(handle)

    def _c_call(self, function, *args):
        """function(handle, *args) with the handle kept alive (close() waits) during the call."""
        with self._calls:
            handle = self._handle
            if not handle:
                raise KconvError(_capi.INVALID_ARGUMENT, f"{self.path}: the artifact is closed")
            self._running += 1
        try:
            return function(handle, *args)
        finally:
            with self._calls:
                self._running -= 1
                if not self._running:
                    self._calls.notify_all()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"kconv.Artifact({self.path!r}, reductions={list(self.reductions)})"

    def set_threads(self, threads):
        """Default threads for this artifact's calls (0: all CPUs or $KCONV_NUM_THREADS)."""
        self._check_open()
        check(self._c_call(self._lib.kconv_set_threads,
                           _c_integer(threads, "threads", _C_INT_MAX)))

    def _check_open(self):
        if not self._handle:
            raise KconvError(_capi.INVALID_ARGUMENT, f"{self.path}: the artifact is closed")

    def reduction(self, name):
        self._check_open()
        if name not in self.reductions:
            info = _capi.ReductionInfo()
            check(self._c_call(self._lib.kconv_reduction_by_name, str(name).encode(),
                               ctypes.byref(info)))
        return self.reductions[name]

    def gpu_unavailable_reason(self, name):
        """"" when reduction `name` can run on a GPU here, else why not (no GPU code in the
        artifact, no CUDA driver, no GPU)."""
        self._check_open()
        available = ctypes.c_int()
        reason = ctypes.c_char_p()
        check(self._c_call(self._lib.kconv_gpu_available, str(name).encode(),
                           ctypes.byref(available), ctypes.byref(reason)))
        return "" if available.value else reason.value.decode()

    def gpu_available(self, name):
        return not self.gpu_unavailable_reason(name)

    def run(self, name, *arrays, threads=None, device="auto", out=None, n_i=None, n_j=None,
            stream=None, devices=None, **by_name):
        """Runs reduction `name` and returns its result, (nOut, output_dim) float32.

        Inputs in argument order (`*arrays`) or by variable name (`**by_name`): a Vi/Vj variable
        of dimension D is an (n, D) array, or (n,) when D = 1; a parameter is (D,). nI and nJ are
        taken from the arrays (n_i / n_j give them when no array says). `out`, if given, must be
        a float32 C-contiguous array of nOut * output_dim elements; it is filled and returned.
        nOut = 0 gives an empty result; nReduced = 0 gives zeros.

        Host arrays (NumPy arrays, CPU torch tensors, anything NumPy converts) run on `device`
        ("cpu", "gpu" or "auto"); the result is a NumPy array (a CPU tensor if every input was a
        torch tensor). CUDA torch tensors (all on one device, float32, contiguous: checked) run on
        that GPU without copies, queued on `stream` (a torch.cuda.Stream or a CUstream handle;
        default: torch's current stream) without waiting, like a torch operation; the result is a
        CUDA tensor.

        `devices` (host arrays on the GPU): the GPUs to shard the output rows over, a list of
        CUDA ordinals ([0, 1]) or "all"; None: one GPU (or $KCONV_GPU_DEVICES).
        """
        r = self.reduction(name)
        if arrays and by_name:
            raise KconvError(_capi.INVALID_ARGUMENT,
                             f"reduction '{name}': give inputs either in order or by name, not both")
        names = [v.name for v in r.variables]
        if by_name:
            for key in by_name:
                if key not in names:
                    raise KconvError(_capi.INVALID_ARGUMENT,
                                     f"reduction '{name}' has no variable '{key}' "
                                     f"(its variables: {', '.join(names)})")
            for v in r.variables:
                if v.name not in by_name:
                    raise KconvError(_capi.INVALID_ARGUMENT,
                                     f"reduction '{name}': no input given for variable '{v.name}'")
            arrays = tuple(by_name[n] for n in names)
        # ctypes would truncate an int64 overflow silently, like threads.
        n_i = None if n_i is None else _c_integer(n_i, "n_i", _INT64_MAX)
        n_j = None if n_j is None else _c_integer(n_j, "n_j", _INT64_MAX)
        if any(_is_cuda_tensor(a) for a in arrays):
            return self._run_cuda(r, arrays, device, out, n_i, n_j, stream, devices)

        host, rows, dims = [], [], []
        counts = {"i": n_i, "j": n_j}
        for k, value in enumerate(arrays):
            v = r.variables[k] if k < len(r.variables) else None
            what = f"reduction '{name}': input {k}" + (f" ({v.name})" if v else "")
            a = _as_host_float32(value, what)
            if v is not None and v.category == "p":
                if a.ndim > 2 or (a.ndim == 2 and a.shape[0] != 1):
                    raise KconvError(_capi.INVALID_ARGUMENT,
                                     f"{what}: a parameter is a ({v.dim},) array, got shape "
                                     f"{a.shape}")
                rows.append(1)
                dims.append(a.size)
            else:
                if a.ndim not in (1, 2):
                    raise KconvError(_capi.INVALID_ARGUMENT,
                                     f"{what}: expected an (n, dim) array, got shape {a.shape}")
                rows.append(a.shape[0])
                dims.append(a.shape[1] if a.ndim == 2 else 1)
                if v is not None and counts[v.category] is None:
                    counts[v.category] = a.shape[0]
            host.append(a)
        n_i = counts["i"] if counts["i"] is not None else 0
        n_j = counts["j"] if counts["j"] is not None else 0
        n_out = n_i if r.axis == 1 else n_j
        all_torch = bool(arrays) and all(_is_torch(a) for a in arrays) and out is None

        if out is None:
            out = np.empty((n_out, r.output_dim), dtype=np.float32)
        else:
            if (not isinstance(out, np.ndarray) or out.dtype != np.float32
                    or not out.flags.c_contiguous or not out.flags.writeable
                    or out.size != n_out * r.output_dim):
                raise KconvError(_capi.INVALID_ARGUMENT,
                                 f"reduction '{name}': out must be a writable float32 "
                                 f"C-contiguous array of {n_out} x {r.output_dim} elements")

        float_p = ctypes.POINTER(ctypes.c_float)
        pointers = (float_p * max(len(host), 1))(*[a.ctypes.data_as(float_p) for a in host])
        row_array = (ctypes.c_int64 * max(len(host), 1))(*rows)
        dim_array = (ctypes.c_int64 * max(len(host), 1))(*dims)
        options = _capi.RunOptions()
        self._lib.kconv_run_options_init(ctypes.byref(options))
        if device not in _capi.DEVICES:
            raise KconvError(_capi.INVALID_ARGUMENT,
                             f"unknown device '{device}' (expected cpu, gpu or auto)")
        options.device = _capi.DEVICES[device]
        options.threads = 0 if threads is None else _c_integer(threads, "threads", _C_INT_MAX)
        options.input_rows = row_array
        options.input_dims = dim_array
        device_array = _device_array(devices)
        if device_array is not None:
            options.devices = device_array
            options.num_devices = len(device_array)
        self._check_open()
        check(self._c_call(self._lib.kconv_run, name.encode(), pointers, len(host),
                           out.ctypes.data_as(float_p) if out.size else None,
                           n_i, n_j, ctypes.byref(options)))
        if all_torch:
            import torch
            return torch.from_numpy(out)
        return out

    def _run_cuda(self, r, arrays, device, out, n_i, n_j, stream, devices=None):
        """The zero-copy path: every array (in argument order) a float32 contiguous CUDA tensor of
        one device."""
        import torch
        name = r.name
        if device not in ("gpu", "auto"):
            raise KconvError(_capi.INVALID_ARGUMENT,
                             f"reduction '{name}': CUDA tensors run on the GPU, not on '{device}'")
        names = [v.name for v in r.variables]
        if len(arrays) != len(r.variables):
            raise KconvError(_capi.INVALID_ARGUMENT,
                             f"reduction '{name}': expected {len(r.variables)} inputs "
                             f"({', '.join(names)}), got {len(arrays)}")
        dev = None
        counts = {"i": n_i, "j": n_j}
        rows, dims, pointers = [], [], []
        for k, (t, v) in enumerate(zip(arrays, r.variables)):
            what = f"reduction '{name}': input {k} ({v.name})"
            if not _is_cuda_tensor(t):
                raise KconvError(_capi.INVALID_ARGUMENT,
                                 f"{what}: a host array mixed with CUDA tensors: give every array "
                                 f"on the same CUDA device, or every array on the host")
            # Device ordinals as ints: comparing torch.device objects costs a microsecond each.
            ordinal = t.get_device()
            if dev is None:
                dev = ordinal
            elif ordinal != dev:
                raise KconvError(_capi.INVALID_ARGUMENT,
                                 f"{what}: on cuda:{ordinal}, other inputs on cuda:{dev}")
            if t.dtype != torch.float32:
                raise KconvError(_capi.INVALID_ARGUMENT,
                                 f"{what}: dtype {t.dtype}, expected torch.float32 (use .float())")
            if not t.is_contiguous():
                raise KconvError(_capi.INVALID_ARGUMENT,
                                 f"{what}: not contiguous (use .contiguous())")
            if v.category == "p":
                if t.dim() > 2 or (t.dim() == 2 and t.shape[0] != 1):
                    raise KconvError(_capi.INVALID_ARGUMENT,
                                     f"{what}: a parameter is a ({v.dim},) tensor, got shape "
                                     f"{tuple(t.shape)}")
                rows.append(1)
                dims.append(t.numel())
            else:
                if t.dim() not in (1, 2):
                    raise KconvError(_capi.INVALID_ARGUMENT,
                                     f"{what}: expected an (n, dim) tensor, got shape "
                                     f"{tuple(t.shape)}")
                rows.append(t.shape[0])
                dims.append(t.shape[1] if t.dim() == 2 else 1)
                if counts[v.category] is None:
                    counts[v.category] = t.shape[0]
            pointers.append(t.data_ptr())
        n_i = counts["i"] if counts["i"] is not None else 0
        n_j = counts["j"] if counts["j"] is not None else 0
        n_out = n_i if r.axis == 1 else n_j
        if out is None:
            out = torch.empty((n_out, r.output_dim), device=arrays[0].device, dtype=torch.float32)
        elif (not _is_cuda_tensor(out) or out.get_device() != dev or out.dtype != torch.float32
              or not out.is_contiguous() or out.numel() != n_out * r.output_dim):
            raise KconvError(_capi.INVALID_ARGUMENT,
                             f"reduction '{name}': out must be a contiguous float32 tensor on "
                             f"cuda:{dev} of {n_out} x {r.output_dim} elements")
        if stream is None:
            # torch's current stream as a raw handle; torch.cuda.current_stream() builds a Stream
            # object on the way (~10 µs, as long as the small kernels themselves).
            raw = getattr(getattr(torch, "_C", None), "_cuda_getCurrentRawStream", None)
            stream = raw(dev) if raw else torch.cuda.current_stream(dev).cuda_stream
        elif hasattr(stream, "cuda_stream"):
            stream = stream.cuda_stream
        # The ctypes argument blocks are made once per thread and input count, then refilled: a
        # small call's cost is mostly this Python code, so it stays lean.
        count = len(pointers)
        cache = self._tls.__dict__.setdefault("cuda_calls", {})
        call = cache.get(count)
        if call is None:
            n = max(count, 1)
            ptr_array = (ctypes.c_void_p * n)()
            row_array = (ctypes.c_int64 * n)()
            dim_array = (ctypes.c_int64 * n)()
            options = _capi.RunOptions()
            self._lib.kconv_run_options_init(ctypes.byref(options))
            options.device = _capi.DEVICES["gpu"]
            options.input_rows = row_array
            options.input_dims = dim_array
            options.memory = _capi.MEMORY_DEVICE
            call = cache[count] = (ptr_array, row_array, dim_array, options,
                                   ctypes.cast(ptr_array, ctypes.POINTER(ctypes.POINTER(
                                       ctypes.c_float))), ctypes.byref(options))
        ptr_array, row_array, dim_array, options, ptr_arg, options_arg = call
        for k in range(count):
            ptr_array[k] = pointers[k]
            row_array[k] = rows[k]
            dim_array[k] = dims[k]
        options.stream = stream
        device_array = _device_array(devices)
        options.devices = device_array
        options.num_devices = len(device_array) if device_array is not None else 0
        self._check_open()
        check(self._c_call(self._lib.kconv_run, self._names.get(name) or self._encode(name),
                           ptr_arg, count, out.data_ptr() or None, n_i, n_j, options_arg))
        return out

    def _encode(self, name):
        encoded = self._names[name] = name.encode()
        return encoded
