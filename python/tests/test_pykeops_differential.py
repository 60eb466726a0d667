"""Differential tests: kconv against KeOps itself (pykeops 2.3, its CPU backend), and both against
a float64 NumPy evaluation of the same formula.

Every formula below is compiled once by kconv-compile (one artifact holds all the reductions,
CPU code only) and once by pykeops' `Genred` (float32, backend="CPU": KeOps generates C++ and
builds it with g++ at first use, ~6 s per distinct formula, cached under ~/.cache/keops2.3 or
$KEOPS_CACHE_FOLDER; the 25 formulas are built in parallel over the CPUs). To keep that bounded
the formula ops are packed: one Sum reduction per group of ops and axis reduces
`Concat(op1, Concat(op2, ...))`, and each op is a test case of its own that checks its columns.
Then one reduction per kind (and layout/axis variant), compared as pykeops returns them
(docs/reductions.md: kconv's Python binding returns what pykeops returns); then NaN, +-inf and 0
inputs through all of them.

Tolerance: |got - want| <= RTOL * |want| + SAFETY * (a first-order bound of the float32 error of
the computation: the terms' rounding through their ops, and the partial sums of a sum), between
kconv and KeOps and between each of them and the float64 reference. An index is checked by the
value it selects (the float64 formula value at the returned index must be the reference's
selected value within the tolerance), so float32 near-ties are not failures.

Skipped, with the reason, where pykeops is not installed or not importable (scripts/setup.sh
installs it when it can), where it cannot build its CPU code (no g++, a broken compiler), or where
kconv-compile is not built. A disagreement with KeOps is a KeOpsDisagreement, and the known ones
are xfail(strict=True) tests that say where KeOps' code differs (the LogSumExp family at -inf and
NaN terms, below), never a loosened tolerance.
"""
import json
import os
import re
import subprocess
import sys
from typing import NamedTuple, Optional, Tuple

import numpy as np
import pytest

import kconv

from keops_support import import_genred

Genred = import_genred()
import pykeops  # noqa: E402 - importable: import_genred did not skip

RTOL = 1e-4

# ---------------------------------------------------------------------------------------------
# The variables: one declaration list for the .kconv file, the pykeops aliases and the inputs.
# Ranges keep every op in its domain: U, V, Q are positive (Log, Sqrt, Rsqrt, Inv, negative
# powers, divisors), the others signed.


class Decl(NamedTuple):
    name: str
    cat: str  # "i", "j" or "p"
    dim: int
    low: float
    high: float


DECLS = (
    Decl("X", "i", 3, -1.0, 1.0),
    Decl("Y", "j", 3, -1.0, 1.0),
    Decl("U", "i", 2, 0.5, 2.0),
    Decl("V", "j", 2, 0.5, 2.0),
    Decl("A", "i", 1, -1.0, 1.0),
    Decl("B", "j", 1, -1.0, 1.0),
    Decl("P", "p", 3, -1.0, 1.0),
    Decl("Q", "p", 1, 0.5, 2.0),
)
KEOPS_CATEGORY = {"i": "Vi", "j": "Vj", "p": "Pm"}


def inputs(n_i, n_j, seed):
    """float32 inputs: (n, dim) arrays for Vi / Vj variables, (dim,) for parameters."""
    rng = np.random.default_rng(seed)
    rows = {"i": n_i, "j": n_j}
    out = {}
    for d in DECLS:
        shape = (d.dim,) if d.cat == "p" else (rows[d.cat], d.dim)
        out[d.name] = rng.uniform(d.low, d.high, shape).astype(np.float32)
    return out


# ---------------------------------------------------------------------------------------------
# The float64 reference: the formula string itself (kconv's spelling, which is Python's syntax),
# evaluated on [nI, nJ, D] arrays with KeOps' broadcasting and KeOps' op definitions
# (keopscore/formulas/maths, keopscore/utils/math_functions.py). Along with each value it carries
# a first-order bound of the error of a float32 evaluation of it, in units of U = 2^-24 (the
# float32 unit roundoff): 3*X - 2 near 0, or a sum that cancels, is only as accurate as its
# operands' magnitudes allow, so the tolerances below add that bound (times SAFETY) to
# RTOL * |value|.

U = 2.0 ** -24
SAFETY = 4.0


class T:
    """A formula value: a float64 array broadcastable to [nI, nJ, D], and the bound `e` (in units
    of U) of the error of its float32 evaluation."""

    def __init__(self, a, e=None):
        a = np.asarray(a, dtype=np.float64)
        self.a = a.reshape(1, 1, 1) if a.ndim == 0 else a
        self.e = np.zeros_like(self.a) if e is None else np.asarray(e, dtype=np.float64)

    @property
    def dim(self):
        return self.a.shape[-1]

    def __add__(self, o):
        o = _t(o)
        r = self.a + o.a
        return T(r, self.e + o.e + np.abs(r))

    def __radd__(self, o):
        return _t(o) + self

    def __sub__(self, o):
        return self + (-_t(o))

    def __rsub__(self, o):
        return _t(o) - self

    def __mul__(self, o):
        o = _t(o)
        r = self.a * o.a
        return T(r, np.abs(o.a) * self.e + np.abs(self.a) * o.e + np.abs(r))

    def __rmul__(self, o):
        return _t(o) * self

    def __truediv__(self, o):
        o = _t(o)
        r = self.a / o.a
        return T(r, (self.e + np.abs(r) * o.e) / np.abs(o.a) + np.abs(r))

    def __rtruediv__(self, o):
        return _t(o) / self

    def __neg__(self):
        return T(-self.a, self.e)

    def __pow__(self, n):
        if n == 0.5:
            return _sqrt(self)
        if n == -0.5:
            return _rsqrt(self)
        assert float(n).is_integer(), n
        return _pow(self, int(n))

    def __or__(self, o):
        return _scalprod(self, o)


def _t(v):
    if isinstance(v, T):
        return v
    exact = float(np.float32(v)) == float(v)
    return T(v, 0.0 if exact else abs(float(v)))


def _sum(x):
    return T(x.a.sum(-1, keepdims=True),
             x.e.sum(-1, keepdims=True) + x.dim * np.abs(x.a).sum(-1, keepdims=True))


def _sqrt(x):
    r = np.sqrt(x.a)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.minimum(np.where(x.e == 0, 0.0, x.e / (2 * r)), np.sqrt(x.e / U))
    return T(r, d + np.abs(r))


def _rsqrt(x):  # keops_rsqrt: x == 0 ? 0 : 1/sqrt(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(x.a == 0, 0.0, 1.0 / np.sqrt(x.a))
        d = np.where(x.e == 0, 0.0, np.abs(r) * x.e / (2 * np.abs(x.a)))
    return T(r, d + 2 * np.abs(r))


def _pow(x, n):
    r = x.a ** n
    if n == 0:
        return T(r)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(x.e == 0, 0.0, abs(n) * np.abs(x.a) ** (n - 1) * x.e)
    return T(r, d + abs(n) * np.abs(r))


def _exp(x):
    r = np.exp(x.a)
    return T(r, r * (x.e + 2))


def _log(x):
    r = np.log(x.a)
    return T(r, x.e / np.abs(x.a) + 2 * np.abs(r) + 1)


def _scalprod(x, y):  # keopscore Scalprod: (a | x) with dim(a) = 1 is a * Sum(x)
    if x.dim == 1:
        return x * _sum(y)
    if y.dim == 1:
        return _sum(x) * y
    assert x.dim == y.dim
    return _sum(x * y)


def _concat(x, y):
    lead = np.broadcast_shapes(x.a.shape[:2], y.a.shape[:2])

    def cat(u, v):
        return np.concatenate([np.broadcast_to(u, lead + (x.dim,)),
                               np.broadcast_to(v, lead + (y.dim,))], axis=-1)
    return T(cat(x.a, y.a), cat(x.e, y.e))


FUNCS = {
    "Exp": _exp,
    "Log": _log,
    "Sqrt": _sqrt,
    "Rsqrt": _rsqrt,
    "Square": lambda x: x * x,
    "Inv": lambda x: 1 / x,
    "Abs": lambda x: T(np.abs(x.a), x.e),
    "Pow": _pow,
    "SqDist": lambda x, y: _sum((x - y) * (x - y)),
    "SqNorm2": lambda x: _sum(x * x),
    "Norm2": lambda x: _sqrt(_sum(x * x)),
    "Sum": _sum,
    "Scalprod": _scalprod,
    "Elem": lambda x, k: T(x.a[..., k:k + 1], x.e[..., k:k + 1]),
    "Concat": _concat,
    "IntCst": lambda n: _t(float(n)),
}


class Ref(NamedTuple):
    f: np.ndarray  # float64 values [nOut, nReduced, D]
    e: np.ndarray  # error bounds of their float32 evaluation, units of U


def evaluate(formula, arrays, n_i, n_j, axis):
    """The formula for every pair, float64, oriented [nOut, nReduced, D] (nOut = nI for axis 1)."""
    ns = dict(FUNCS)
    for d in DECLS:
        a = arrays[d.name].astype(np.float64)
        ns[d.name] = T({"i": lambda: a[:, None, :], "j": lambda: a[None, :, :],
                        "p": lambda: a[None, None, :]}[d.cat]())
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        value = _t(eval(formula, {"__builtins__": {}}, ns))  # noqa: S307 - our own formulas
    shape = (n_i, n_j, value.dim)
    f, e = np.broadcast_to(value.a, shape), np.broadcast_to(value.e, shape)
    if axis == 0:
        f, e = np.transpose(f, (1, 0, 2)), np.transpose(e, (1, 0, 2))
    return Ref(f, e)


def used_variables(*formulas):
    """The declared variables the formulas use, in declaration order (kconv's argument order)."""
    names = set()
    for f in formulas:
        if f:
            names.update(re.findall(r"\b[A-Z]\b", f))
    return [d for d in DECLS if d.name in names]


# ---------------------------------------------------------------------------------------------
# The cases. A group of ops: (label, kconv term, KeOps term when KeOps spells it differently).
# KeOps' formula strings have no real literals (its Python parser turns only ints into IntCst)
# and no `**0.5` (it raises Powf): its spellings are IntInv(n) (RatCst 1/n), Sqrt and Rsqrt.

OP_GROUPS = {
    "arith": [
        ("add", "X + Y", None),
        ("sub", "X - Y", None),
        ("mul", "X * Y", None),
        ("div", "U / V", None),
        ("neg", "-X", None),
        ("neg_of_sum", "-(A + B)", None),
        ("bcast_add_1_d", "A + Y", None),
        ("bcast_sub_d_1", "X - B", None),
        ("bcast_mul_1_d", "A * V", None),
        ("bcast_div_param", "X / Q", None),
        ("bcast_div_1_d", "A / V", None),
        ("param_mul", "X * P", None),
        ("param_sub", "P - Y", None),
        ("int_literals", "3*X - 2", None),
        ("intcst", "IntCst(2) * Y + IntCst(-1)", None),
        ("real_literals", "0.5*X + 1.5", "IntInv(2)*X + IntCst(3)*IntInv(2)"),
        ("negative_real_literal", "-0.25*Y", "-IntInv(4)*Y"),
        ("exponent_literal", "1e-1 * A * B", "IntInv(10) * A * B"),
        ("left_assoc", "A - B - A*B/Q", None),
        ("unary_minus_power_precedence", "-A**2 + 2*B**3", None),
        ("left_assoc_div", "U / V / 2", None),
    ],
    "unary": [
        ("exp", "Exp(X - Y)", None),
        ("log", "Log(U * V)", None),
        ("sqrt", "Sqrt(U + V)", None),
        ("rsqrt", "Rsqrt(U + V)", None),
        ("inv", "Inv(U + V)", None),
        ("abs", "Abs(X - Y)", None),
        ("square", "Square(X - Y)", None),
        ("pow3", "Pow(X - Y, 3)", None),
        ("pow_neg2", "Pow(U + V, -2)", None),
        ("pow0", "Pow(X - Y, 0)", None),
        ("pow1", "Pow(A - B, 1)", None),
        ("pow5", "Pow(A * B, 5)", None),
        ("starstar2", "(X - Y)**2", None),
        ("starstar2_real", "(A - B)**2.0", None),
        ("starstar3", "(A + B)**3", None),
        ("starstar_minus1", "(U + V)**-1", None),
        ("starstar_minus3", "(U * V)**(-3)", None),
        ("starstar_half", "(U + V)**0.5", "Sqrt(U + V)"),
        ("starstar_minus_half", "(U + V)**-0.5", "Rsqrt(U + V)"),
        ("exp_log_powf", "Exp(Log(U) * B)", None),
    ],
    "vector": [
        ("sqdist", "SqDist(X, Y)", None),
        ("sqdist_bcast", "SqDist(A, Y)", None),
        ("sqnorm2", "SqNorm2(X - Y)", None),
        ("norm2", "Norm2(X - Y)", None),
        ("sum", "Sum(X * Y)", None),
        ("scalprod", "(X | Y)", None),
        ("scalprod_exprs", "(X + Y | X - Y)", None),
        ("scalprod_fn", "Scalprod(U, V)", None),
        ("scalprod_dim1_left", "(A | Y)", None),
        ("scalprod_dim1_right", "(X | B)", None),
        ("scalprod_param", "(P | Y)", None),
        ("elem", "Elem(X - Y, 2)", None),
        ("elem0", "Elem(X * Y, 0)", None),
        ("concat", "Concat(A, B)", None),
        ("concat_nested", "Norm2(Concat(X, U) - Concat(Y, V))", None),
        ("gaussian", "Exp(-SqDist(X, Y) / Q) * B", None),
        ("cauchy", "Inv(1 + SqDist(X, Y))", None),
        ("rsqrt_sqdist", "Rsqrt(SqDist(X, Y))", None),
        ("laplace_vector", "Exp(-Norm2(X - Y)) * V", None),
        ("matern32", "(1 + Sqrt(3 * SqDist(X, Y))) * Exp(-Sqrt(3 * SqDist(X, Y)))", None),
    ],
}


def concat_all(terms):
    out = terms[-1]
    for t in reversed(terms[:-1]):
        out = f"Concat({t}, {out})"
    return out


# kconv kind -> (kconv's reduction name, pykeops' reduction_op).
KINDS = {
    "sum": ("Sum", "Sum"),
    "min": ("Min", "Min"),
    "max": ("Max", "Max"),
    "argmin": ("ArgMin", "ArgMin"),
    "argmax": ("ArgMax", "ArgMax"),
    "min_argmin": ("Min_ArgMin", "Min_ArgMin"),
    "max_argmax": ("Max_ArgMax", "Max_ArgMax"),
    "kmin": ("KMin", "KMin"),
    "argkmin": ("ArgKMin", "ArgKMin"),
    "kmin_argkmin": ("KMin_ArgKMin", "KMin_ArgKMin"),
    "logsumexp": ("LogSumExp", "LogSumExp"),
    "max_sumshiftexp": ("Max_SumShiftExpWeight", "Max_SumShiftExpWeight"),
    "sumsoftmaxweight": ("SumSoftMaxWeight", "SumSoftMaxWeight"),
}


class Case(NamedTuple):
    id: str  # also the kconv reduction's name
    kind: str
    axis: int
    f: str
    keops_f: Optional[str] = None  # KeOps' spelling of f, when different
    k: int = 0
    g: Optional[str] = None
    # The kconv statement is pykeops' own reduction string (Genred(...).formula: KeOps'
    # positional t = 1 - axis, K and g positional), which kconv reads verbatim.
    verbatim: bool = False
    columns: Tuple = ()  # op groups: (label, kconv term) per term, in column order

    @property
    def variables(self):
        return used_variables(self.f, self.keops_f, self.g)

    @property
    def keops_op(self):
        if self.kind == "max_sumshiftexp" and self.g is None:
            return "Max_SumShiftExp"
        return KINDS[self.kind][1]

    def genred_args(self):
        aliases = [f"{d.name}={KEOPS_CATEGORY[d.cat]}({d.dim})" for d in self.variables]
        return dict(formula=self.keops_f or self.f, aliases=aliases, reduction_op=self.keops_op,
                    axis=self.axis, opt_arg=self.k or None, formula2=self.g)

    def genred(self):
        return Genred(**self.genred_args())

    def kconv_statement(self):
        if self.verbatim:
            assert self.keops_f is None
            return f"{self.id} = {self.genred().formula}"
        name = KINDS[self.kind][0]
        if self.kind == "max_sumshiftexp" and self.g is None:
            name = "Max_SumShiftExp"  # the alias
        args = [self.f]
        if self.k:
            args.append(f"K={self.k}")
        if self.g:
            args.append(self.g)
        args.append(f"axis={self.axis}")
        return f"{self.id} = {name}_Reduction({', '.join(args)})"


def _group_case(group, axis):
    terms = OP_GROUPS[group]
    keops = [kt or t for _, t, kt in terms]
    kconv_f = concat_all([t for _, t, _ in terms])
    keops_f = concat_all(keops)
    return Case(f"ops_{group}_axis{axis}", "sum", axis, kconv_f,
                keops_f=None if keops_f == kconv_f else keops_f,
                verbatim=(group == "vector" and axis == 0),
                columns=tuple((label, t) for label, t, _ in terms))


GROUP_CASES = {(g, a): _group_case(g, a) for g in OP_GROUPS for a in (1, 0)}

REDUCTION_CASES = [
    Case("min_diff", "min", 1, "X - Y", verbatim=True),
    Case("max_concat", "max", 0, "Concat(Exp(-SqDist(X, Y)), X * B)"),
    Case("argmin_sqdist", "argmin", 1, "SqDist(X, Y)"),
    Case("argmin_concat", "argmin", 0, "Concat(SqDist(X, Y), Abs(A - B))"),
    Case("argmax_scalprod", "argmax", 1, "(X | Y) - B", verbatim=True),
    Case("min_argmin_mul", "min_argmin", 1, "X * Y"),
    Case("max_argmax_concat", "max_argmax", 0, "Concat(-SqDist(X, Y), Log(U * V))"),
    Case("kmin_sqdist", "kmin", 1, "SqDist(X, Y)", k=5, verbatim=True),
    Case("argkmin_diff", "argkmin", 0, "X - Y", k=4),
    Case("kmin_argkmin_sqdist", "kmin_argkmin", 1, "SqDist(X, Y)", k=3),
    Case("kmin_argkmin_abs", "kmin_argkmin", 0, "Abs(U - V)", k=7),
    Case("logsumexp", "logsumexp", 1, "-SqDist(X, Y)"),
    Case("logsumexp_weight", "logsumexp", 1, "-SqDist(X, Y)", g="Exp(B)"),
    Case("logsumexp_weight_dim2", "logsumexp", 0, "(X | Y)", g="V"),
    Case("max_sumshiftexp_weight", "max_sumshiftexp", 1, "-SqDist(X, Y)", g="Concat(B, Y)",
         verbatim=True),
    Case("max_sumshiftexp", "max_sumshiftexp", 0, "-SqDist(X, Y) / Q"),
    Case("sumsoftmaxweight", "sumsoftmaxweight", 1, "-SqDist(X, Y)", g="Y"),
    Case("sumsoftmaxweight_axis0", "sumsoftmaxweight", 0, "2 * (X | Y)", g="Concat(A, X)"),
]
PROBE = REDUCTION_CASES[2]  # argmin_sqdist: also KeOps' probe (its compiled code is reused)
ALL_CASES = list(GROUP_CASES.values()) + REDUCTION_CASES

# (nI, nJ): odd sizes (not multiples of the vector lanes), one output row, one reduced row.
SIZES = [(257, 257), (1, 129), (63, 1)]
SIZE_IDS = [f"{n}x{m}" for n, m in SIZES]


# ---------------------------------------------------------------------------------------------
# Running both.


@pytest.fixture(scope="module")
def keops_ok():
    """Skips the module, visibly, where pykeops cannot build its CPU code (no or broken g++)."""
    x = inputs(3, 4, seed=0)
    try:
        PROBE.genred()(x["X"], x["Y"], backend="CPU")
    except Exception as e:  # a failed g++ run surfaces as an ImportError of the module it built
        try:
            from keopscore.config import config
            compiler = config.get_cxx_compiler()
        except Exception:
            compiler = "?"
        lines = [line for line in str(e).strip().splitlines() if line.strip()]
        pytest.skip(f"pykeops {pykeops.__version__} cannot build its CPU code here (C++ compiler "
                    f"{compiler!r}, $CXX to change it): {type(e).__name__}: "
                    f"{lines[0] if lines else ''}")
    return True


@pytest.fixture(scope="module")
def artifact(tmp_path_factory, kconv_compile):
    """All the cases' reductions in one .kconv file, compiled once (CPU code only)."""
    if kconv_compile is None:
        pytest.skip("kconv-compile not built")
    out = tmp_path_factory.mktemp("pykeops-diff")
    src = out / "differential.kconv"
    lines = ["# generated by python/tests/test_pykeops_differential.py"]
    lines += [f"{d.name} = {'Pm' if d.cat == 'p' else 'V' + d.cat}({d.dim})" for d in DECLS]
    lines += [c.kconv_statement() for c in ALL_CASES]
    src.write_text("\n".join(lines) + "\n")
    kca = out / "differential.kca"
    r = subprocess.run([str(kconv_compile), str(src), "--no-gpu", "-o", str(kca)],
                       capture_output=True, text=True)
    assert r.returncode == 0, f"kconv-compile {src} failed:\n{r.stdout}{r.stderr}"
    art = kconv.load(kca)
    yield art
    art.close()


class Run(NamedTuple):
    kconv: object  # what art.run returned
    keops: object  # what Genred returned (after pykeops' postprocessing)
    arrays: dict
    n_i: int
    n_j: int
    refs: dict  # formula -> its Ref (evaluated once per run)

    def ref(self, formula, axis):
        if formula not in self.refs:
            self.refs[formula] = evaluate(formula, self.arrays, self.n_i, self.n_j, axis)
        return self.refs[formula]


# Builds KeOps' code for the given Genred arguments (a JSON list on stdin) into pykeops' cache, on
# tiny inputs; errors are left to the test process, which builds (or fails to build) again.
_BUILD_WORKER = r"""
import json, re, sys
import numpy as np
import pykeops
pykeops.set_verbose(False)
from pykeops.numpy import Genred
for spec in json.load(sys.stdin):
    try:
        arrays = []
        for alias in spec["aliases"]:
            cat, dim = re.fullmatch(r"\w+=(Vi|Vj|Pm)\((\d+)\)", alias).groups()
            shape = (int(dim),) if cat == "Pm" else ({"Vi": 3, "Vj": 4}[cat], int(dim))
            arrays.append(np.full(shape, 0.5, np.float32))
        Genred(**spec)(*arrays, backend="CPU")
    except Exception:
        pass
"""


def build_keops_in_parallel(cases, build_here):
    """KeOps builds each formula with g++ (several seconds each, one core): spread the cases over
    the CPUs, one shard built by build_here(case) in this process and the others by worker
    processes into the same cache (one formula, one file set: no two builders share a file)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    n = max(1, min(cpus, 8, len(cases)))
    shards = [cases[k::n] for k in range(n)]
    workers = []
    try:
        for shard in shards[1:]:
            w = subprocess.Popen([sys.executable, "-c", _BUILD_WORKER], stdin=subprocess.PIPE,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
            workers.append(w)
            try:
                w.stdin.write(json.dumps([c.genred_args() for c in shard]))
                w.stdin.close()
            except OSError:  # the worker died at start: this process builds those later
                pass
        for case in shards[0]:
            try:
                build_here(case)
            except Exception:  # reported by the case's own tests
                pass
        for w in workers:
            try:
                w.wait(timeout=600)
            except subprocess.TimeoutExpired:
                break
    finally:
        for w in workers:  # interrupted, or a worker that hangs
            if w.poll() is None:
                w.kill()
                w.wait()


@pytest.fixture(scope="module")
def runner(artifact, keops_ok):
    genreds, runs = {}, {}

    def genred(case):
        if case.id not in genreds:
            genreds[case.id] = case.genred()
        return genreds[case.id]

    def build_here(case):
        x = inputs(3, 4, seed=0)
        genred(case)(*[x[d.name] for d in case.variables], backend="CPU")

    build_keops_in_parallel([c for c in ALL_CASES if c is not PROBE], build_here)

    def run(case, n_i, n_j, arrays=None, key=None):
        key = key or (case.id, n_i, n_j)
        if key not in runs:
            r = artifact.reductions[case.id]
            want_vars = [(d.name, d.cat, d.dim) for d in case.variables]
            assert [tuple(v) for v in r.variables] == want_vars, (case.id, r.variables)
            if arrays is None:
                arrays = inputs(n_i, n_j, seed=1000 * n_i + n_j)
            args = [arrays[d.name] for d in case.variables]
            with np.errstate(divide="ignore", invalid="ignore"):  # pykeops' log(0), 0 / 0
                got_keops = genred(case)(*args, backend="CPU")
            got_kconv = artifact.run(case.id, *args, device="cpu")
            runs[key] = Run(got_kconv, got_keops, arrays, n_i, n_j, {})
        return runs[key]
    return run


class KeOpsDisagreement(AssertionError):
    """kconv and KeOps give different results (the tests marked xfail for a known disagreement
    expect exactly this, so that any other failure in them still fails)."""


def assert_close(what, got, want, atol, exc=AssertionError, equal_nan=False):
    """|got - want| <= RTOL * |want| + atol elementwise (equal infinities pass; NaN fails, unless
    equal_nan and NaN in both)."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    tol = RTOL * np.abs(want) + np.broadcast_to(np.asarray(atol, dtype=np.float64), want.shape)
    with np.errstate(invalid="ignore"):
        ok = (got == want) | (np.abs(got - want) <= tol)
    if equal_nan:
        ok |= np.isnan(got) & np.isnan(want)
    if not ok.all():
        bad = [tuple(int(v) for v in b) for b in np.argwhere(~ok)]
        rows = "; ".join(f"at {b}: got {got[b]!r}, want {want[b]!r} (tol {tol[b]:.3g})"
                         for b in bad[:5])
        raise exc(f"{what}: {len(bad)} of {ok.size} values differ beyond RTOL = {RTOL} "
                  f"+ the float32 error bound: {rows}")


def check_three_ways(what, got_kconv, got_keops, want, atol):
    """kconv vs KeOps, then each against the float64 reference."""
    assert_close(f"{what}: kconv vs KeOps", got_kconv, got_keops, atol, exc=KeOpsDisagreement)
    assert_close(f"{what}: kconv vs float64 reference", got_kconv, want, atol)
    assert_close(f"{what}: KeOps vs float64 reference", got_keops, want, atol)


def sum_atol(ref):
    """The float32 error bound of Sum_j f_ij: the terms' own bounds, plus (nReduced - 1)
    roundings of partial sums, each at most Sum_j |f_ij| (any summation order)."""
    n_red = ref.f.shape[1]
    return SAFETY * U * (ref.e.sum(axis=1) + max(n_red - 1, 1) * np.abs(ref.f).sum(axis=1))


# ---------------------------------------------------------------------------------------------
# The ops, through Sum reductions of the groups (each op a test of its columns).

OP_PARAMS = [pytest.param(g, a, label, id=f"{g}-axis{a}-{label}")
             for g in OP_GROUPS for a in (1, 0) for label, _, _ in OP_GROUPS[g]]


def check_group_columns(run, case, labels=None):
    refs = [(label, run.ref(term, case.axis)) for label, term in case.columns]
    n_out = refs[0][1].f.shape[0]
    total = sum(ref.f.shape[2] for _, ref in refs)
    for name, got in (("kconv", run.kconv), ("KeOps", run.keops)):
        assert isinstance(got, np.ndarray) and got.dtype == np.float32, (name, type(got))
        assert got.shape == (n_out, total), (name, got.shape)
    col = 0
    for label, ref in refs:
        cols = slice(col, col + ref.f.shape[2])
        col += ref.f.shape[2]
        if labels is None or label in labels:
            check_three_ways(f"{case.id} column {label}", run.kconv[:, cols],
                             run.keops[:, cols], ref.f.sum(axis=1), sum_atol(ref))


@pytest.mark.parametrize("n_i,n_j", SIZES, ids=SIZE_IDS)
@pytest.mark.parametrize("group,axis,label", OP_PARAMS)
def test_op(runner, group, axis, label, n_i, n_j):
    case = GROUP_CASES[(group, axis)]
    check_group_columns(runner(case, n_i, n_j), case, labels={label})


def test_special_points_duplicate_points(runner):
    """y_j = x_i and v_j = u_i for j = i: SqDist is exactly 0 there, so Rsqrt(SqDist(X, Y)) is
    KeOps' Rsqrt(0) = 0 (keops_rsqrt, keopscore/utils/math_functions.py), Norm2(0) = 0, and the
    other columns of the group are regular."""
    n = 40
    arrays = inputs(n, n, seed=7)
    arrays["Y"] = arrays["X"].copy()
    arrays["V"] = arrays["U"].copy()
    case = GROUP_CASES[("vector", 1)]
    check_group_columns(runner(case, n, n, arrays=arrays, key="duplicates"), case)


# ---------------------------------------------------------------------------------------------
# The reduction kinds.


def select_ref(f, k, largest):
    """f [nOut, nReduced, F] float64 -> (values, indices) [nOut, K, F]: the K smallest (largest)
    per component, in order, ties to the smaller index; +inf (-inf) / -1 where not filled."""
    n_out, n_red, dims = f.shape
    order = np.argsort(-f if largest else f, axis=1, kind="stable")
    values = np.full((n_out, k, dims), -np.inf if largest else np.inf)
    indices = np.full((n_out, k, dims), -1, dtype=np.int64)
    kk = min(k, n_red)
    values[:, :kk] = np.take_along_axis(f, order[:, :kk], axis=1)
    indices[:, :kk] = order[:, :kk]
    return values, indices


def normalize(case, got, n_out, dims):
    """A result as pykeops returns it -> (values or None, indices or None), each [nOut, K, F]."""
    k = case.k or 1
    if case.kind in ("argmin", "argmax", "argkmin"):
        return None, got.reshape(n_out, k, dims)
    if case.kind in ("min_argmin", "max_argmax", "kmin_argkmin"):
        assert isinstance(got, tuple) and len(got) == 2, type(got)
        return got[0].reshape(n_out, k, dims), got[1].reshape(n_out, k, dims)
    return got.reshape(n_out, k, dims), None


def check_indices(what, idx, f, want_values, atol):
    """Each index by the value it selects (float64 f at the index = the reference's selected
    value within the tolerance: float32 near-ties may select another index); the K places of a
    row distinct."""
    filled = np.isfinite(want_values)
    assert ((idx[filled] >= 0) & (idx[filled] < f.shape[1])).all(), f"{what}: index out of range"
    picked = np.take_along_axis(f, np.where(filled, idx, 0), axis=1)
    assert_close(f"{what}: the formula's value at the index",
                 np.where(filled, picked, want_values), want_values, atol)
    if idx.shape[1] > 1:
        for o, c in zip(*np.nonzero(filled.all(axis=1))):
            assert len(set(idx[o, :, c].tolist())) == idx.shape[1], (what, o, c, idx[o, :, c])


def check_min_max_kind(case, run):
    ref = run.ref(case.f, case.axis)
    f = ref.f
    n_out, _, dims = f.shape
    largest = case.kind in ("max", "argmax", "max_argmax")
    want_values, _ = select_ref(f, case.k or 1, largest)
    # Any selected value is off by at most its own float32 error, and a near-tie can swap two
    # values within twice the largest bound of the row.
    atol = 2 * SAFETY * U * ref.e.max(axis=1, keepdims=True)
    kv, ki = normalize(case, run.kconv, n_out, dims)
    pv, pi = normalize(case, run.keops, n_out, dims)
    if kv is not None:
        check_three_ways(f"{case.id} values", kv, pv, want_values, atol)
    if ki is None:
        return
    assert ki.dtype == np.int64 and pi.dtype == np.int64, (ki.dtype, pi.dtype)
    check_indices(f"{case.id} kconv indices", ki, f, want_values, atol)
    check_indices(f"{case.id} KeOps indices", pi, f, want_values, atol)
    # Places not filled (fewer than K reduced rows): kconv's index is -1 ("none",
    # docs/reductions.md); KeOps leaves its initial index 0 (KMin_ArgKMin_Reduction.
    # InitializeReduction: acc[l + fdim] = 0), a documented difference.
    empty = ~np.isfinite(want_values)
    np.testing.assert_array_equal(ki[empty], -1)
    np.testing.assert_array_equal(pi[empty], 0)


def check_weighted_kind(case, run):
    ref_f = run.ref(case.f, case.axis)
    f, ef = ref_f.f, ref_f.e
    if case.g:
        ref_g = run.ref(case.g, case.axis)
        g, eg = ref_g.f, ref_g.e
    else:
        g, eg = np.ones_like(f), np.zeros_like(f)
    n_out, n_red, _ = f.shape
    m = f.max(axis=1)  # [nOut, 1]
    e = np.exp(f - m[:, None, :])  # [nOut, nReduced, 1]
    # f - m is off by ef + the error of m; exp(f - m) by its relative error (that + 2 ulps).
    rel_e = ef + ef.max(axis=1, keepdims=True) + 2
    s = (e * g).sum(axis=1)
    err_s = (e * (np.abs(g) * rel_e + eg)).sum(axis=1) + n_red * (e * np.abs(g)).sum(axis=1)
    if case.kind == "logsumexp":
        want = m + np.log(s)
        atol = SAFETY * U * (err_s / np.abs(s) + np.abs(want) + 1)
    elif case.kind == "max_sumshiftexp":
        want = np.concatenate([m, s], axis=1)
        atol = SAFETY * U * np.concatenate([ef.max(axis=1), err_s], axis=1)
    else:  # sumsoftmaxweight: s / z
        z = e.sum(axis=1)
        err_z = (e * rel_e).sum(axis=1) + n_red * z
        want = s / z
        atol = SAFETY * U * (err_s + np.abs(want) * err_z) / z
    for name, got in (("kconv", run.kconv), ("KeOps", run.keops)):
        assert isinstance(got, np.ndarray) and got.dtype == np.float32, (name, type(got))
        assert got.shape == (n_out, want.shape[1]), (name, got.shape)
    check_three_ways(f"{case.id} values", run.kconv, run.keops, want, atol)


@pytest.mark.parametrize("n_i,n_j", SIZES, ids=SIZE_IDS)
@pytest.mark.parametrize("case", REDUCTION_CASES, ids=[c.id for c in REDUCTION_CASES])
def test_reduction(runner, case, n_i, n_j):
    run = runner(case, n_i, n_j)
    # The Python result has pykeops' layout (docs/reductions.md, "The runtime").
    kc = run.kconv if isinstance(run.kconv, tuple) else (run.kconv,)
    pk = run.keops if isinstance(run.keops, tuple) else (run.keops,)
    assert [(a.shape, a.dtype) for a in kc] == [(a.shape, a.dtype) for a in pk]
    if case.kind in ("logsumexp", "max_sumshiftexp", "sumsoftmaxweight"):
        check_weighted_kind(case, run)
    else:
        check_min_max_kind(case, run)


# ---------------------------------------------------------------------------------------------
# Special points (docs/formula-language.md, "Special points"; docs/reductions.md, "Semantics"):
# NaN, +-inf and 0 in the inputs, through every case above (no new KeOps build). kconv against
# KeOps directly: NaN and infinities at the same places, finite values within RTOL (relative to
# the largest finite value of the component), an index by the value it selects.
#
# Two disagreements, both in KeOps' Max_SumShiftExpWeight_Reduction.ReducePair
# (keopscore/formulas/reductions/Max_SumShiftExpWeight_Reduction.py, lines 53-59 at the mirror's
# HEAD 0152630, identical in keopscore 2.3), which LogSumExp (with or without weight) and
# SumSoftMaxWeight are built on (pykeops/common/operations.py):
#
#     if (acc[0] > xi[0]) { tmpexp = exp(xi[0] - acc[0]); acc[k] += xi[k] * tmpexp; }
#     else { tmpexp = exp(acc[0] - xi[0]); acc[k] = xi[k] + tmpexp * acc[k]; acc[0] = xi[0]; }
#
# starting from (m, s) = (-inf, 0) (InitializeReduction).

NEG_INF_REASON = (
    "f = -inf as the first term of a row, or of one of KeOps' accumulation blocks (block_sum: a "
    "block restarts at (-inf, 0) every floor(sqrt(nJ)) terms, keopscore/formulas/reductions/"
    "sum_schemes.py), or as every term: KeOps' ReducePair takes its else branch with m = -inf and "
    "f = -inf, exp(-inf - (-inf)) = NaN, so s = g + NaN * 0 = NaN, and it stays NaN (0 * NaN): "
    "LogSumExp, Max_SumShiftExp(Weight) and SumSoftMaxWeight NaN. kconv ignores -inf terms "
    "(docs/reductions.md: 'f = -inf terms contribute exactly 0, and a row of only -inf gives -inf "
    "(not NaN)'): the finite result of the other terms; (-inf, 0) and -inf for a row of only -inf")
NAN_MAX_REASON = (
    "f = NaN in Max_SumShiftExp(Weight): KeOps' ReducePair sets m = f whenever !(m > f), so a NaN "
    "term makes m NaN and the next term resets it: KeOps' m is the max of the terms after the last "
    "NaN; kconv's m is the max of the non-NaN terms (as its Max skips NaN). s is NaN in both, so "
    "LogSumExp and SumSoftMaxWeight agree (NaN)")
KNOWN_SPECIAL_DISAGREEMENTS = {
    ("logsumexp", "inf_and_zero"): NEG_INF_REASON,
    ("logsumexp_weight", "inf_and_zero"): NEG_INF_REASON,
    ("max_sumshiftexp_weight", "inf_and_zero"): NEG_INF_REASON,
    ("max_sumshiftexp", "inf_and_zero"): NEG_INF_REASON,
    ("max_sumshiftexp_weight", "nan"): NAN_MAX_REASON,
    ("max_sumshiftexp", "nan"): NAN_MAX_REASON,
}


def poisoned_inputs(which):
    n_i, n_j = 37, 45
    a = inputs(n_i, n_j, seed=11)
    if which == "nan":  # min/max kinds skip NaN (KeOps compares f < acc); sums propagate it
        a["Y"][3, 0] = np.nan
        a["B"][8, 0] = np.nan
        a["X"][1, :] = np.nan  # one row of NaN only: a min over it has no candidate
    else:  # infinities and zeros, no NaN input
        a["X"][2, 0] = np.inf
        a["Y"][7, 1] = np.inf
        a["Y"][11, 2] = -np.inf
        a["A"][6, 0] = -np.inf
        a["U"][4, :] = 0.0  # with V[5] = 0: U + V = 0, U * V = 0, U / V = 0 / 0 at (4, 5)
        a["V"][5, :] = 0.0
    return a, n_i, n_j


def assert_same_special(what, got, want):
    """kconv (got) against KeOps (want): NaN and infinities at the same places; finite values
    within RTOL * (|want| + the largest finite |want| of the column)."""
    got = np.asarray(got, dtype=np.float64).reshape(len(want), -1)
    want = np.asarray(want, dtype=np.float64).reshape(len(want), -1)
    for name, mask in (("NaN", np.isnan), ("+inf", np.isposinf), ("-inf", np.isneginf)):
        g, w = mask(got), mask(want)
        if (g != w).any():
            o, c = np.argwhere(g != w)[0]
            raise KeOpsDisagreement(
                f"{what}: {name} at {int((g != w).sum())} places in only one of kconv and KeOps, "
                f"first at row {o}, column {c}: kconv {got[o].tolist()}, KeOps {want[o].tolist()}")
    finite = np.isfinite(want)
    scale = np.where(finite, np.abs(want), 0).max(axis=0, keepdims=True)
    assert_close(what, np.where(finite, got, 0), np.where(finite, want, 0), RTOL * scale,
                 exc=KeOpsDisagreement)


SPECIAL_PARAMS = [
    pytest.param(case, which, id=f"{case.id}-{which}", marks=(
        [pytest.mark.xfail(strict=True, raises=KeOpsDisagreement,
                           reason=KNOWN_SPECIAL_DISAGREEMENTS[(case.id, which)])]
        if (case.id, which) in KNOWN_SPECIAL_DISAGREEMENTS else []))
    for case in ALL_CASES for which in ("nan", "inf_and_zero")]


@pytest.mark.parametrize("case,which", SPECIAL_PARAMS)
def test_special_points(runner, case, which):
    arrays, n_i, n_j = poisoned_inputs(which)
    run = runner(case, n_i, n_j, arrays=arrays, key=(case.id, which))
    kc = run.kconv if isinstance(run.kconv, tuple) else (run.kconv,)
    pk = run.keops if isinstance(run.keops, tuple) else (run.keops,)
    assert [(a.shape, a.dtype) for a in kc] == [(a.shape, a.dtype) for a in pk]
    if case.kind in ("sum", "min", "max", "kmin", "logsumexp", "max_sumshiftexp",
                     "sumsoftmaxweight"):
        assert_same_special(f"{case.id} ({which})", run.kconv, run.keops)
        return
    ref = run.ref(case.f, case.axis)
    n_out, _, dims = ref.f.shape
    kv, ki = normalize(case, run.kconv, n_out, dims)
    pv, pi = normalize(case, run.keops, n_out, dims)
    if kv is not None:
        assert_same_special(f"{case.id} values ({which})", kv.reshape(n_out, -1),
                            pv.reshape(n_out, -1))
    # No candidate (fewer than K non-NaN values): kconv -1, KeOps its initial 0 (documented).
    none = ki < 0
    if not (pi[none] == 0).all():
        raise KeOpsDisagreement(f"{case.id} ({which}): kconv -1 where KeOps has an index")
    if kv is not None:
        assert np.isinf(kv[none]).all() and np.isinf(pv[none]).all()
    # Elsewhere the same index, or one selecting the same value (float32 near-ties).
    found = ~none
    fk = np.take_along_axis(ref.f, np.where(found, ki, 0), axis=1)[found]
    fp = np.take_along_axis(ref.f, np.where(found, pi, 0), axis=1)[found]
    with np.errstate(invalid="ignore"):  # inf - inf
        same = (ki[found] == pi[found]) | (fk == fp) | (np.abs(fk - fp) <= RTOL * np.abs(fp))
    if not same.all():
        raise KeOpsDisagreement(f"{case.id} ({which}): kconv and KeOps select different values: "
                                f"{fk[~same][:5]} vs {fp[~same][:5]}")


# The two disagreements, each on its smallest input: first kconv's own documented result
# (a plain assertion: a change there is a failure), then KeOps' (KeOpsDisagreement: xfail).


def _neg_inf_inputs(trigger):
    a = inputs(3, 5, seed=5)
    if trigger == "first_term":
        a["Y"][0, 0] = np.inf  # f_i0 = -SqDist(x_i, y_0) = -inf for every i: the first term
    else:
        a["X"][1, 0] = np.inf  # f_1j = -inf for every j: a row of only -inf
    return a


def kconv_neg_inf_semantics(kind, f, g):
    """docs/reductions.md for f [nOut, nReduced] (no NaN; -inf terms) and g [nOut, nReduced, G]:
    -inf terms contribute 0; a row of only -inf: LogSumExp -inf, Max_SumShiftExp (-inf, 0),
    SumSoftMaxWeight 0 / 0 = NaN."""
    m = np.where(np.isfinite(f).any(axis=1), np.max(f, axis=1), -np.inf)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        e = np.where(f == -np.inf, 0.0, np.exp(f - m))[:, :, None]
        s = (e * g).sum(axis=1)
        if kind == "logsumexp":
            return m + np.log(s)
        if kind == "max_sumshiftexp":
            return np.concatenate([m, s], axis=1)
        return s / e.sum(axis=1)


@pytest.mark.xfail(strict=True, raises=KeOpsDisagreement, reason=NEG_INF_REASON)
@pytest.mark.parametrize("case_id,trigger", [
    ("logsumexp", "first_term"), ("logsumexp", "whole_row"), ("logsumexp_weight", "first_term"),
    ("max_sumshiftexp_weight", "first_term"), ("max_sumshiftexp_weight", "whole_row"),
    ("sumsoftmaxweight", "first_term")])  # a whole -inf row: NaN in both (0 / 0)
def test_keops_disagreement_neg_inf_terms(runner, case_id, trigger):
    arrays = _neg_inf_inputs(trigger)
    case = {c.id: c for c in REDUCTION_CASES}[case_id]
    run = runner(case, 3, 5, arrays=arrays, key=("neg-inf", case_id, trigger))
    f = run.ref(case.f, case.axis).f[:, :, 0]
    g = run.ref(case.g, case.axis).f if case.g else np.ones(f.shape + (1,))
    want = kconv_neg_inf_semantics(case.kind, f, g)
    assert_close(f"{case_id}: kconv vs its documented -inf semantics", run.kconv, want, 1e-6,
                 equal_nan=True)
    assert_same_special(f"{case_id}: kconv vs KeOps", run.kconv, run.keops)


@pytest.mark.xfail(strict=True, raises=KeOpsDisagreement, reason=NAN_MAX_REASON)
def test_keops_disagreement_max_sumshiftexp_nan_term(runner):
    rng = np.random.default_rng(6)
    x = rng.uniform(-1, 1, (2, 3)).astype(np.float32)
    y = rng.uniform(-1, 1, (6, 3)).astype(np.float32)
    y[2, 0] = np.nan  # f_i2 = NaN, between finite terms
    arrays = {"X": x, "Y": y, "B": rng.uniform(-1, 1, (6, 1)).astype(np.float32)}
    case = {c.id: c for c in REDUCTION_CASES}["max_sumshiftexp_weight"]
    run = runner(case, 2, 6, arrays=arrays, key="nan-term")
    f = -((x[:, None, :].astype(np.float64) - y[None, :, :]) ** 2).sum(-1)
    assert_close("kconv's m: the max of the non-NaN terms", run.kconv[:, 0],
                 np.nanmax(f, axis=1), SAFETY * U * 100)
    assert np.isnan(run.kconv[:, 1:]).all() and np.isnan(run.keops[:, 1:]).all()  # s: NaN
    assert_same_special("max_sumshiftexp_weight m: kconv vs KeOps", run.kconv[:, :1],
                        run.keops[:, :1])
