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


# The kinds whose outputs hold K entries per component, laid out [K][F] (Builtins.def: K = Yes).
_K_KINDS = frozenset({"kmin", "argkmin", "kmin_argkmin"})


class Reduction(NamedTuple):
    name: str
    kind: str  # "sum", "min", "argmin", "min_argmin", "kmin", ... (docs/reductions.md)
    axis: int  # 1: reduce over j, one output row per i; 0: the other way round
    value_dim: int  # float32 components per output row; 0: no values (argmin, argkmin)
    index_dim: int  # int64 components per output row; 0: no indices (sum, min, ...)
    k: int  # K of the k-min kinds, else 1
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
        dims = [str(self.value_dim)] if self.value_dim else []
        if self.index_dim:
            dims.append(f"{self.index_dim} indices")
        return f"{args} -> {out} {' + '.join(dims)} ({self.kind} over {reduced})"

    def output_shape(self, n_out, dim):
        """The shape of an output of `dim` components per row, as pykeops returns it: (n_out,
        dim), or for the k-min kinds (n_out, K, F), squeezed to (n_out, K) when F = 1."""
        if self.kind in _K_KINDS:
            f = dim // self.k
            return (n_out, self.k, f) if f > 1 else (n_out, self.k)
        return (n_out, dim)

    def outputs(self):
        """(name, components per row, NumPy dtype) of each output the kind has: values, indices."""
        specs = []
        if self.value_dim:
            specs.append(("values", self.value_dim, np.float32))
        if self.index_dim:
            specs.append(("indices", self.index_dim, np.int64))
        return specs

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


def _host_numpy(value, what):
    """`value` as a NumPy array on the host (a CPU torch tensor's, without a copy), of a dtype that
    converts to float32."""
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
    return array


def _as_host_float32(value, what):
    """The array the C runtime reads: float32, C-contiguous, on the host.

    float32 C-contiguous NumPy arrays are used as they are (no copy); anything else that NumPy can
    convert (float64, integers, non-contiguous views, lists, CPU torch tensors) is copied. CUDA
    tensors take the device path of Artifact.run instead.
    """
    array = _host_numpy(value, what)
    if array.dtype != np.float32 or not array.flags.c_contiguous:
        array = np.ascontiguousarray(array, dtype=np.float32)
    return array


def _is_batched(v, shape):
    """Whether an array of shape `shape` for variable `v` has batch dimensions: a Vi/Vj array of
    3 dimensions or more, a parameter of 2 or more, (1, D) excepted: the unbatched form it had
    before batch dimensions existed (against a batch it broadcasts like (1,) anyway)."""
    if v is None:
        return False
    if v.category == "p":
        return len(shape) > 2 or (len(shape) == 2 and shape[0] != 1)
    return len(shape) > 2


def _packed_block_strides(array, inner):
    """The batch strides (elements) of a float32 array whose last `inner` dimensions (one
    problem's block) are packed, None if they are not or a batch stride is negative or not a
    whole number of elements: such an array must be copied. Sizes 1 and 0 have stride 0 (any
    stride of theirs is never followed)."""
    shape, strides = array.shape, array.strides
    expected = 4
    for d in range(array.ndim - 1, array.ndim - inner - 1, -1):
        if shape[d] > 1 and strides[d] != expected:
            return None
        expected *= shape[d]
    batch = []
    for d in range(array.ndim - inner):
        if shape[d] <= 1:
            batch.append(0)
        elif strides[d] < 0 or strides[d] % 4:
            return None
        else:
            batch.append(strides[d] // 4)
    return batch


def _as_host_batch(value, what, inner):
    """A batched host array for the C runtime: (float32 array, batch strides in elements or None
    for packed). float32 arrays whose problem blocks (the last `inner` dimensions) are packed are
    used as they are, with their strides (an expanded or sliced batch: no copy); anything else is
    copied to a C-contiguous float32 array."""
    array = _host_numpy(value, what)
    if array.dtype == np.float32 and array.flags.c_contiguous:
        return array, None
    if array.dtype == np.float32 and array.flags.aligned:
        strides = _packed_block_strides(array, inner)
        if strides is not None:
            return array, strides
    return np.ascontiguousarray(array, dtype=np.float32), None


def _batch_options(batches, strides):
    """ctypes arrays for RunOptions.input_batch_rank / input_batch / input_batch_strides (and
    kconv_broadcast_batch_shape): (rank, shapes, strides or None, the arrays to keep alive)."""
    n = max(len(batches), 1)
    c_int64_p = ctypes.POINTER(ctypes.c_int64)
    rank = (ctypes.c_int64 * n)(*[len(b) for b in batches])
    keep = []

    def array(values):
        a = (ctypes.c_int64 * max(len(values), 1))(*values)
        keep.append(a)
        return ctypes.cast(a, c_int64_p)
    shapes = (c_int64_p * n)(*[array(b) if b else None for b in batches])
    stride_array = None
    if any(st is not None for st in strides):
        stride_array = (c_int64_p * n)(*[array(st) if st is not None and len(st) else None
                                         for st in strides])
    return rank, shapes, stride_array, keep


def _batch_label(batch, n_out, dim):
    return " x ".join(str(d) for d in (*batch, n_out, dim))


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


def _outputs(r, n_out, out, new, valid, what, batch=()):
    """The output arrays of a call: ([values or None, indices or None], the result to return).

    `out` None: new(shape, numpy dtype) makes each, of shape (*batch, *output_shape); else `out`
    (one array, or a (values, indices) tuple for a kind with both) is checked with valid(array,
    numpy dtype, element count) and returned as given. `what` describes a valid array ("{dtype}"
    is replaced)."""
    specs = r.outputs()
    problems = 1
    for size in batch:
        problems *= size
    if out is None:
        made = [new(tuple(batch) + r.output_shape(n_out, dim), dtype) for _, dim, dtype in specs]
        given = made
        result = tuple(made) if len(made) == 2 else made[0]
    else:
        if len(specs) == 2:
            if not isinstance(out, (tuple, list)) or len(out) != 2:
                raise KconvError(_capi.INVALID_ARGUMENT,
                                 f"reduction '{r.name}': out must be a (values, indices) tuple "
                                 f"for a {r.kind} reduction")
            given = list(out)
        else:
            given = [out]
        for array, (label, dim, dtype) in zip(given, specs):
            if not valid(array, dtype, problems * n_out * dim):
                kind = "float32" if dtype is np.float32 else "int64"
                name = "out" if len(specs) == 1 else f"out {label}"
                raise KconvError(_capi.INVALID_ARGUMENT,
                                 f"reduction '{r.name}': {name} must be "
                                 f"{what.format(dtype=kind)} of {_batch_label(batch, n_out, dim)} "
                                 f"elements")
        result = out
    by_name = dict(zip((label for label, _, _ in specs), given))
    return [by_name.get("values"), by_name.get("indices")], result


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
        self._batches = {}  # _broadcast_batch's results by shapes
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
                                              info.value_dim, info.index_dim, info.k,
                                              tuple(variables),
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

    def _broadcast_batch(self, r, batches, strides):
        """None when no input has batch dimensions, else (the outputs' batch shape, the ctypes
        batch options of the call: _batch_options). The shape comes from the C runtime
        (kconv_broadcast_batch_shape), whose error names both inputs when two do not
        broadcast."""
        if not any(batches):
            return None
        # Calls repeat their shapes: the shape and the (read-only) ctypes options are kept per
        # (reduction, shapes, strides), which takes the C query and the arrays off a call's cost.
        key = (r.name, tuple(tuple(b) for b in batches),
               tuple(None if st is None else tuple(st) for st in strides))
        known = self._batches.get(key)
        if known is not None:
            return known
        options = _batch_options(batches, strides)
        if len(batches) != len(r.variables):
            return (), options  # the call reports the count
        rank_out = ctypes.c_int64()
        rank = max(len(b) for b in batches)
        shape = (ctypes.c_int64 * rank)()
        check(self._c_call(self._lib.kconv_broadcast_batch_shape, r.name.encode(), len(batches),
                           options[1], options[0], shape, rank, ctypes.byref(rank_out)))
        if len(self._batches) >= 64:
            self._batches.clear()
        self._batches[key] = known = (tuple(shape[:rank_out.value]), options)
        return known

    def batch_shape(self, name, *shapes):
        """The batch shape of the result of run(name, *arrays) for arrays of the given shapes
        (argument order; the leading dimensions beyond (n, dim), a parameter's beyond (dim,)):
        their NumPy-style broadcast, () when none has batch dimensions. Raises KconvError naming
        both inputs when two do not broadcast."""
        r = self.reduction(name)
        if len(shapes) != len(r.variables):
            raise KconvError(_capi.INVALID_ARGUMENT,
                             f"reduction '{name}': expected {len(r.variables)} shapes "
                             f"({', '.join(v.name for v in r.variables)}), got {len(shapes)}")
        batches = []
        for shape, v in zip(shapes, r.variables):
            shape = tuple(int(d) for d in shape)
            inner = 1 if v.category == "p" else 2
            batches.append(shape[:-inner] if _is_batched(v, shape) else ())
        result = self._broadcast_batch(r, batches, [None] * len(batches))
        return result[0] if result else ()

    def run(self, name, *arrays, threads=None, device="auto", out=None, n_i=None, n_j=None,
            stream=None, devices=None, **by_name):
        """Runs reduction `name` and returns its result, as pykeops does (docs/reductions.md):
        values (nOut, F) float32 (sum, min, max, logsumexp, ...); indices (nOut, F) int64
        (argmin, argmax); a tuple (values, indices) for min_argmin / max_argmax; for kmin /
        argkmin (nOut, K, F), (nOut, K) when F = 1, and a tuple of those for kmin_argkmin.

        Inputs in argument order (`*arrays`) or by variable name (`**by_name`): a Vi/Vj variable
        of dimension D is an (n, D) array, or (n,) when D = 1; a parameter is (D,). nI and nJ are
        taken from the arrays (n_i / n_j give them when no array says). `out`, if given, is
        filled and returned: a C-contiguous array (float32 for values, int64 for indices) of as
        many elements as the output, or a (values, indices) tuple of them for a kind with both.
        nOut = 0 gives an empty result; nReduced = 0 the kind's empty result (sum 0, min +inf,
        argmin -1, ...).

        Host arrays (NumPy arrays, CPU torch tensors, anything NumPy converts) run on `device`
        ("cpu", "gpu" or "auto"); the result is a NumPy array (a CPU tensor if every input was a
        torch tensor). CUDA torch tensors (all on one device, float32, contiguous: checked) run on
        that GPU without copies, queued on `stream` (a torch.cuda.Stream or a CUstream handle;
        default: torch's current stream) without waiting, like a torch operation; the result is a
        CUDA tensor.

        `devices` (host arrays on the GPU): the GPUs to shard the output rows over, a list of
        CUDA ordinals ([0, 1]) or "all"; None: one GPU (or $KCONV_GPU_DEVICES).

        Batch dimensions (docs/runtime.md, "Batch dimensions"): a Vi/Vj array of shape
        (*batch, n, D) (3 or more dimensions) or a parameter of shape (*batch, D) (2 or more,
        (1, D) excepted: that is still an unbatched parameter) holds a batch of problems, all
        with the same nI and nJ. The batch shapes broadcast NumPy-style (batch_shape() gives the
        result's); every result above gets the leading dimensions (*batch, nOut, ...), `out`
        likewise (its element count is checked). Indices are per problem (0..nReduced-1). Host
        float32 arrays whose (n, D) blocks are contiguous are passed with their strides (an
        expanded or sliced batch is not copied), others are copied; CUDA tensors likewise, an
        uncontiguous block being refused.
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

        host, rows, dims, batches, strides = [], [], [], [], []
        counts = {"i": n_i, "j": n_j}
        for k, value in enumerate(arrays):
            v = r.variables[k] if k < len(r.variables) else None
            what = f"reduction '{name}': input {k}" + (f" ({v.name})" if v else "")
            shape = getattr(value, "shape", None)
            if shape is None:
                shape = np.shape(value)
            if _is_batched(v, tuple(shape)):
                # (..., n, dim) / a parameter (..., dim): the leading dimensions are the batch.
                inner = 1 if v.category == "p" else 2
                a, batch_strides = _as_host_batch(value, what, inner)
                batches.append(tuple(int(d) for d in a.shape[:-inner]))
                strides.append(batch_strides)
                rows.append(1 if inner == 1 else a.shape[-2])
                dims.append(a.shape[-1])
                if inner == 2 and counts[v.category] is None:
                    counts[v.category] = a.shape[-2]
                host.append(a)
                continue
            batches.append(())
            strides.append(None)
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
        batch = self._broadcast_batch(r, batches, strides)

        def valid(array, dtype, count):
            return (isinstance(array, np.ndarray) and array.dtype == dtype
                    and array.flags.c_contiguous and array.flags.writeable
                    and array.size == count)
        outputs, result = _outputs(r, n_out, out, lambda shape, dtype: np.empty(shape, dtype),
                                   valid, "a writable {dtype} C-contiguous array",
                                   batch[0] if batch else ())

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
        if batch:
            _, (options.input_batch_rank, options.input_batch,
                options.input_batch_strides, _) = batch
        self._check_open()
        values, indices = (a.ctypes.data if a is not None and a.size else None for a in outputs)
        check(self._c_call(self._lib.kconv_run_outputs, name.encode(), pointers, len(host),
                           values, indices, n_i, n_j, ctypes.byref(options)))
        if all_torch:
            import torch
            if isinstance(result, tuple):
                return tuple(torch.from_numpy(a) for a in result)
            return torch.from_numpy(result)
        return result

    def fused_reduction(self, names):
        """The artifact's fused reduction of exactly the reductions `names` (in any order;
        kconv-fuse-reductions), as (name, value_offsets, index_offsets): the first column of each
        one's values and indices in the fused outputs. None when it has none."""
        self._check_open()
        names = [str(n) for n in names]
        count = max(len(names), 1)
        array = (ctypes.c_char_p * count)(*[n.encode() for n in names])
        fused = ctypes.c_char_p()
        values, indices = (ctypes.c_int64 * count)(), (ctypes.c_int64 * count)()
        check(self._c_call(self._lib.kconv_fused_reduction, len(names), array,
                           ctypes.byref(fused), values, indices))
        if not fused.value:
            return None
        return fused.value.decode(), list(values)[:len(names)], list(indices)[:len(names)]

    def run_many(self, names, *, threads=None, device="auto", n_i=None, n_j=None, stream=None,
                 devices=None, **inputs):
        """Runs the reductions `names` on one set of inputs, given by variable name (the union
        of their variables, each once; the same array conventions as run()), and returns
        {name: result}, each result as run() returns it. When the artifact has their fused
        reduction (fused_reduction: kconv-compile makes one per group of reductions of one kind,
        axis and variables) one kernel computes them all, sharing their common sub-formulas, and
        the results are views of its outputs' columns; otherwise each runs on its own."""
        names = [str(n) for n in names]
        if not names:
            raise KconvError(_capi.INVALID_ARGUMENT, "run_many: no reductions given")
        for n in names:
            if names.count(n) > 1:
                raise KconvError(_capi.INVALID_ARGUMENT,
                                 f"run_many: reduction '{n}' is given twice")
        members = [self.reduction(n) for n in names]
        known = {v.name for r in members for v in r.variables}
        for key in inputs:
            if key not in known:
                raise KconvError(_capi.INVALID_ARGUMENT,
                                 f"run_many: no reduction of the call has a variable '{key}'")
        options = dict(threads=threads, device=device, n_i=n_i, n_j=n_j, stream=stream,
                       devices=devices)

        def own(r):
            return {v.name: inputs[v.name] for v in r.variables if v.name in inputs}
        fused = self.fused_reduction(names)
        if fused is None:
            return {r.name: self.run(r.name, **options, **own(r)) for r in members}
        fused_name, value_offsets, index_offsets = fused
        f = self.reduction(fused_name)
        result = self.run(fused_name, **options, **own(f))
        values = result[0] if f.value_dim and f.index_dim else result if f.value_dim else None
        indices = result[1] if f.value_dim and f.index_dim else result if f.index_dim else None
        results = {}
        for r, vo, io in zip(members, value_offsets, index_offsets):
            parts = []
            if r.value_dim:
                parts.append(values[..., vo:vo + r.value_dim])
            if r.index_dim:
                parts.append(indices[..., io:io + r.index_dim])
            results[r.name] = tuple(parts) if len(parts) == 2 else parts[0]
        return results

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
        batches, strides = None, None  # lists once an input has batch dimensions
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
            if _is_batched(v, t.shape):
                # (..., n, dim) / a parameter (..., dim): the batch may be strided (expand(),
                # slices: torch's strides, in elements, are passed), each problem's block must be
                # packed. Nothing is copied on the device (a copy would be queued on torch's
                # stream, not necessarily `stream`).
                inner = 1 if v.category == "p" else 2
                shape, stride = tuple(t.shape), t.stride()
                expected = 1
                for d in range(t.dim() - 1, t.dim() - inner - 1, -1):
                    if shape[d] > 1 and stride[d] != expected:
                        raise KconvError(_capi.INVALID_ARGUMENT,
                                         f"{what}: shape {shape} with strides {stride}: the last "
                                         f"{inner} dimension(s) (one problem's array) must be "
                                         f"contiguous (use .contiguous())")
                    expected *= shape[d]
                if batches is None:
                    batches, strides = [()] * k, [None] * k
                batches.append(shape[:-inner])
                strides.append([0 if n <= 1 else st for n, st in zip(shape[:-inner], stride)])
                rows.append(1 if inner == 1 else shape[-2])
                dims.append(shape[-1])
                if inner == 2 and counts[v.category] is None:
                    counts[v.category] = shape[-2]
                pointers.append(t.data_ptr())
                continue
            if batches is not None:
                batches.append(())
                strides.append(None)
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
        torch_dtypes = {np.float32: torch.float32, np.int64: torch.int64}
        batch = self._broadcast_batch(r, batches, strides) if batches is not None else None

        def valid(tensor, dtype, count):
            return (_is_cuda_tensor(tensor) and tensor.get_device() == dev
                    and tensor.dtype == torch_dtypes[dtype] and tensor.is_contiguous()
                    and tensor.numel() == count)
        outputs, result = _outputs(
            r, n_out, out,
            lambda shape, dtype: torch.empty(shape, device=arrays[0].device,
                                             dtype=torch_dtypes[dtype]),
            valid, "a contiguous {dtype} tensor on cuda:" + str(dev), batch[0] if batch else ())
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
        if batch:
            _, (options.input_batch_rank, options.input_batch,
                options.input_batch_strides, _) = batch
        elif options.input_batch_rank:  # the cached options of an earlier batched call
            options.input_batch_rank = None
            options.input_batch = None
            options.input_batch_strides = None
        self._check_open()
        values, indices = (a.data_ptr() or None if a is not None else None for a in outputs)
        check(self._c_call(self._lib.kconv_run_outputs,
                           self._names.get(name) or self._encode(name), ptr_arg, count, values,
                           indices, n_i, n_j, options_arg))
        return result

    def _encode(self, name):
        encoded = self._names[name] = name.encode()
        return encoded
