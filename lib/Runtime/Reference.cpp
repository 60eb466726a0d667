//===- Reference.cpp - the float64 reference evaluator --------------------===//
//
// Interprets a reduction's serialized formula (ReductionInfo::formula, the `op` lines of the
// artifact metadata) in double precision, independently of the generated code. To keep the
// interpretation overhead low without giving up obviousness, each op is applied to a block of up
// to kBlock pairs at a time; values are stored pair-major ([pair][component]).
//
// The op names, operand counts, integer arguments and dimension rules come from the op table
// (kconv/ABI/Builtins.def); the semantics at special points (0, +-inf, NaN) are keopscore's, as
// docs/formula-language.md lists them. The per-pair values of a row are reduced in index order
// by an Accumulator, with the semantics of docs/reductions.md (ties to the smallest index, NaN
// skipped by the min/max kinds, the identities of empty ranges, a stable online LogSumExp).
//
//===----------------------------------------------------------------------===//
#include "kconv/ABI/Builtins.h"
#include "kconv/Runtime/Runtime.h"
#include "ThreadPool.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

namespace kconv {
namespace {

constexpr int64_t kBlock = 128;

struct Instr {
  BuiltinOp code;
  int64_t dim;
  std::vector<int64_t> operands;
  int64_t integer = 0;
  double real = 0;
};

struct Program {
  const ReductionInfo *reduction = nullptr;
  const BuiltinReductionInfo *kind = nullptr;
  int64_t yieldDim = 0;
  int64_t formulaDim = 0; // F: the yield's, or dim(g) for a weighted kind
  std::vector<Instr> instrs;
  std::vector<int64_t> dims;    // per value
  std::vector<int64_t> offsets; // per value: start in a scratch of (totalDim * block) doubles
  int64_t totalDim = 0;
};

Program compile(const ReductionInfo &r) {
  Program p;
  p.reduction = &r;
  const std::string where = "reduction '" + r.name + "'";
  p.kind = lookupReductionByMnemonic(r.kind);
  if (!p.kind)
    throw Error(ErrorCode::Unsupported, where + ": the reference evaluator does not know "
                                                "reduction kind '" + r.kind + "'");
  // Dimensions as the language bounds them, so that the scratch size cannot overflow.
  auto checkDim = [&](int64_t dim, const std::string &what) {
    if (dim < 1 || dim > kMaxFormulaDim)
      throw Error(ErrorCode::InvalidArtifact, where + ": " + what + " has dimension " +
                                                  std::to_string(dim) + ", outside [1, " +
                                                  std::to_string(kMaxFormulaDim) + "]");
  };
  for (const VariableInfo &v : r.variables) {
    checkDim(v.dim, "variable '" + v.name + "'");
    p.dims.push_back(v.dim);
  }
  for (size_t k = 0; k < r.formula.size(); ++k) {
    const FormulaOp &op = r.formula[k];
    const int64_t id = int64_t(r.variables.size() + k);
    auto bad = [&](const std::string &why) {
      throw Error(ErrorCode::InvalidArtifact,
                  where + ": op " + std::to_string(k) + " ('" + op.name + "', value " +
                      std::to_string(id) + "): " + why);
    };
    auto expectOperands = [&](size_t n) {
      if (op.operands.size() != n)
        bad("expects " + std::to_string(n) + " operand(s), has " +
            std::to_string(op.operands.size()));
    };
    std::vector<int64_t> d;
    for (int64_t operand : op.operands) {
      if (operand < 0 || operand >= id)
        bad("operand " + std::to_string(operand) + " is not defined before it");
      d.push_back(p.dims[size_t(operand)]);
    }
    const BuiltinInfo *info = lookupBuiltinByMnemonic(op.name);
    if (!info) {
      std::string known;
      for (const BuiltinInfo &row : kBuiltinOps)
        known += (known.empty() ? "" : " ") + std::string(row.mnemonic);
      throw Error(ErrorCode::Unsupported, where + ": op " + std::to_string(k) + ": unknown op '" +
                                              op.name + "' (the reference evaluator knows " +
                                              known + ")");
    }
    expectOperands(info->operands);
    Instr in;
    in.code = info->op;
    in.operands = op.operands;
    switch (info->intArg) {
    case IntArg::None:
      break;
    case IntArg::PowExponent:
      if (!op.integer)
        bad("needs an integer exponent (int=N)");
      in.integer = *op.integer;
      break;
    case IntArg::ElemIndex:
      if (!op.integer || *op.integer < 0 || *op.integer >= d[0])
        bad("needs an index int=K with 0 <= K < " + std::to_string(d[0]));
      in.integer = *op.integer;
      break;
    case IntArg::Value:
      if (!op.real && !op.integer)
        bad("needs a value (real=X or int=N)");
      in.real = op.real ? *op.real : double(*op.integer);
      break;
    }
    int64_t dim = 0;
    switch (info->dim) {
    case DimRule::Same:
      dim = d[0];
      break;
    case DimRule::Broadcast:
    case DimRule::BroadcastToScalar:
      if (d[0] != d[1] && d[0] != 1 && d[1] != 1)
        bad("operand dimensions " + std::to_string(d[0]) + " and " + std::to_string(d[1]) +
            " do not broadcast");
      dim = info->dim == DimRule::Broadcast ? std::max(d[0], d[1]) : 1;
      break;
    case DimRule::Scalprod:
      if (d[0] != d[1] && d[0] != 1 && d[1] != 1)
        bad("operand dimensions " + std::to_string(d[0]) + " and " + std::to_string(d[1]) +
            " differ and neither is 1");
      dim = 1;
      break;
    case DimRule::Scalar:
      dim = 1;
      break;
    case DimRule::Concat:
      for (int64_t x : d)
        dim += x;
      break;
    }
    checkDim(dim, "op " + std::to_string(k) + " ('" + op.name + "')");
    if (dim != op.dim)
      bad("declares dimension " + std::to_string(op.dim) + ", its operands give " +
          std::to_string(dim));
    in.dim = dim;
    p.instrs.push_back(std::move(in));
    p.dims.push_back(dim);
  }
  if (r.yield < 0 || r.yield >= int64_t(p.dims.size()))
    throw Error(ErrorCode::InvalidArtifact, where + ": yield of an undefined value");
  // The output dimensions follow from the yield's and K as the kind says (Builtins.def).
  p.yieldDim = p.dims[size_t(r.yield)];
  p.formulaDim = reducedFormulaDim(*p.kind, p.yieldDim);
  const std::string kindName = "'" + std::string(p.kind->keops) + "'";
  if (p.formulaDim < 1)
    throw Error(ErrorCode::InvalidArtifact,
                where + ": " + kindName + " reduces Concat(f, g), but the yielded value has " +
                    "dimension " + std::to_string(p.yieldDim));
  if (p.kind->takesK ? r.k < 1 || r.k > kMaxReductionK : r.k != 1)
    throw Error(ErrorCode::InvalidArtifact,
                where + ": k = " + std::to_string(r.k) + " for " + kindName +
                    (p.kind->takesK ? ", outside [1, " + std::to_string(kMaxReductionK) + "]"
                                    : ", which takes no K (k must be 1)"));
  const ReductionOutputDims out = reductionOutputDims(*p.kind, p.yieldDim, r.k);
  if (out.values != r.valueDim || out.indices != r.indexDim)
    throw Error(ErrorCode::InvalidArtifact,
                where + ": the yielded value has dimension " + std::to_string(p.yieldDim) +
                    ", so " + kindName + " has value_dim " + std::to_string(out.values) +
                    " and index_dim " + std::to_string(out.indices) + "; the metadata says " +
                    std::to_string(r.valueDim) + " and " + std::to_string(r.indexDim));
  for (int64_t dim : p.dims) {
    p.offsets.push_back(p.totalDim);
    p.totalDim += dim;
  }
  return p;
}

/// x**n by squaring; |n| is taken in uint64_t, where INT64_MIN's magnitude (2**63) fits.
double ipow(double x, int64_t n) {
  double result = 1;
  double base = n < 0 ? 1 / x : x;
  const uint64_t magnitude = n < 0 ? uint64_t(0) - uint64_t(n) : uint64_t(n);
  for (uint64_t e = magnitude; e; e >>= 1, base *= base)
    if (e & 1)
      result *= base;
  return result;
}

/// Evaluates all instructions for `count` pairs; the variables' values are already in `s`
/// (value v at s + offsets[v] * block, pair b's components at [b * dim, (b + 1) * dim)).
void evalBlock(const Program &p, double *s, int64_t block, int64_t count) {
  const size_t nVars = p.reduction->variables.size();
  for (size_t k = 0; k < p.instrs.size(); ++k) {
    const Instr &in = p.instrs[k];
    const int64_t d = in.dim;
    double *out = s + p.offsets[nVars + k] * block;
    auto val = [&](size_t i) { return s + p.offsets[size_t(in.operands[i])] * block; };
    auto dimOf = [&](size_t i) { return p.dims[size_t(in.operands[i])]; };
    switch (in.code) {
    case BuiltinOp::Add:
    case BuiltinOp::Sub:
    case BuiltinOp::Mul:
    case BuiltinOp::Div:
    case BuiltinOp::SqDist: {
      const double *a = val(0), *b = val(1);
      const int64_t da = dimOf(0), db = dimOf(1), w = std::max(da, db);
      for (int64_t t = 0; t < count; ++t) {
        double acc = 0;
        for (int64_t c = 0; c < w; ++c) {
          double x = a[t * da + (da == 1 ? 0 : c)], y = b[t * db + (db == 1 ? 0 : c)];
          switch (in.code) {
          case BuiltinOp::Add: out[t * d + c] = x + y; break;
          case BuiltinOp::Sub: out[t * d + c] = x - y; break;
          case BuiltinOp::Mul: out[t * d + c] = x * y; break;
          case BuiltinOp::Div: out[t * d + c] = x / y; break;
          default: acc += (x - y) * (x - y); break;
          }
        }
        if (in.code == BuiltinOp::SqDist)
          out[t] = acc;
      }
      break;
    }
    case BuiltinOp::Neg:
    case BuiltinOp::Exp:
    case BuiltinOp::Log:
    case BuiltinOp::Sqrt:
    case BuiltinOp::Rsqrt:
    case BuiltinOp::Square:
    case BuiltinOp::Inv:
    case BuiltinOp::Abs:
    case BuiltinOp::Pow: {
      const double *a = val(0);
      for (int64_t e = 0; e < count * d; ++e) {
        double x = a[e];
        double y = 0;
        switch (in.code) {
        case BuiltinOp::Neg: y = -x; break;
        case BuiltinOp::Exp: y = std::exp(x); break;
        case BuiltinOp::Log: y = std::log(x); break;
        case BuiltinOp::Sqrt: y = std::sqrt(x); break;
        // keopscore: x == 0 ? 0 : 1/sqrt(x), so Rsqrt(+-0) = 0 (and Rsqrt(SqDist(x, x)) is finite).
        case BuiltinOp::Rsqrt: y = x == 0 ? 0 : 1 / std::sqrt(x); break;
        case BuiltinOp::Square: y = x * x; break;
        case BuiltinOp::Inv: y = 1 / x; break;
        case BuiltinOp::Abs: y = std::fabs(x); break;
        default: y = ipow(x, in.integer); break;
        }
        out[e] = y;
      }
      break;
    }
    case BuiltinOp::SqNorm2:
    case BuiltinOp::Norm2:
    case BuiltinOp::Sum: {
      const double *a = val(0);
      const int64_t da = dimOf(0);
      for (int64_t t = 0; t < count; ++t) {
        double acc = 0;
        for (int64_t c = 0; c < da; ++c)
          acc += in.code == BuiltinOp::Sum ? a[t * da + c] : a[t * da + c] * a[t * da + c];
        out[t] = in.code == BuiltinOp::Norm2 ? std::sqrt(acc) : acc;
      }
      break;
    }
    case BuiltinOp::Scalprod: {
      // Equal dims: the dot product. One operand a of dimension 1: KeOps' a * Sum(x).
      const double *a = val(0), *b = val(1);
      const int64_t da = dimOf(0), db = dimOf(1), w = std::max(da, db);
      for (int64_t t = 0; t < count; ++t) {
        double acc = 0;
        if (da == db) {
          for (int64_t c = 0; c < w; ++c)
            acc += a[t * da + c] * b[t * db + c];
        } else {
          const double *scalar = da == 1 ? a + t : b + t;
          const double *vector = da == 1 ? b + t * db : a + t * da;
          for (int64_t c = 0; c < w; ++c)
            acc += vector[c];
          acc = da == 1 ? *scalar * acc : acc * *scalar;
        }
        out[t] = acc;
      }
      break;
    }
    case BuiltinOp::Elem: {
      const double *a = val(0);
      const int64_t da = dimOf(0);
      for (int64_t t = 0; t < count; ++t)
        out[t] = a[t * da + in.integer];
      break;
    }
    case BuiltinOp::Concat: {
      for (int64_t t = 0; t < count; ++t) {
        int64_t c0 = 0;
        for (size_t i = 0; i < in.operands.size(); ++i) {
          const int64_t di = dimOf(i);
          std::copy(val(i) + t * di, val(i) + (t + 1) * di, out + t * d + c0);
          c0 += di;
        }
      }
      break;
    }
    case BuiltinOp::Constant:
      std::fill(out, out + count * d, in.real);
      break;
    }
  }
}

/// One output row's reduction of the per-pair values (yieldDim components each), fed in index
/// order: Sum; the k best per component (Min/Max and their Arg forms are K = 1); or the shift-exp
/// sums of the weighted kinds. docs/reductions.md, Semantics.
class Accumulator {
public:
  Accumulator(const Program &p) : kind(p.kind->kind), f(p.formulaDim), k(p.reduction->k) {
    switch (kind) {
    case BuiltinReduction::Sum:
      mode = Mode::Sum;
      sums.assign(size_t(f), 0.0);
      break;
    case BuiltinReduction::Max:
    case BuiltinReduction::ArgMax:
    case BuiltinReduction::MaxArgMax:
      mode = Mode::Max;
      break;
    case BuiltinReduction::LogSumExp:
    case BuiltinReduction::MaxSumShiftExp:
      mode = Mode::ShiftExp;
      sums.assign(size_t(f), 0.0);
      break;
    case BuiltinReduction::SumSoftMaxWeight:
      mode = Mode::ShiftExp;
      sums.assign(size_t(1 + f), 0.0); // Sum exp(f - m), then Sum exp(f - m) * g
      break;
    default: // Min, ArgMin, Min_ArgMin, the KMin kinds
      mode = Mode::Min;
      break;
    }
    if (mode == Mode::Min || mode == Mode::Max) {
      if (!p.kind->takesK)
        k = 1;
      // Unfilled places: the identity and "no index".
      best.assign(size_t(k * f), mode == Mode::Min ? kInf : -kInf);
      bestIndex.assign(size_t(k * f), -1);
    }
  }

  /// The pairs j0 .. j0 + count - 1, pair t's value at y + t * yieldDim.
  void add(const double *y, int64_t yieldDim, int64_t count, int64_t j0) {
    switch (mode) {
    case Mode::Sum:
      for (int64_t c = 0; c < f; ++c) {
        double partial = 0;
        for (int64_t t = 0; t < count; ++t)
          partial += y[t * yieldDim + c];
        sums[size_t(c)] += partial;
      }
      return;
    case Mode::Min:
    case Mode::Max:
      for (int64_t t = 0; t < count; ++t)
        for (int64_t c = 0; c < f; ++c)
          insert(c, y[t * yieldDim + c], j0 + t);
      return;
    case Mode::ShiftExp:
      for (int64_t t = 0; t < count; ++t)
        shiftExp(y + t * yieldDim);
      return;
    }
  }

  void finish(double *values, int64_t *indices) const {
    switch (mode) {
    case Mode::Sum:
      std::copy(sums.begin(), sums.end(), values);
      return;
    case Mode::Min:
    case Mode::Max:
      // [K][F] as kept; Min/Max/ArgMin/ArgMax (K = 1) are [F].
      if (values)
        std::copy(best.begin(), best.end(), values);
      if (indices)
        std::copy(bestIndex.begin(), bestIndex.end(), indices);
      return;
    case Mode::ShiftExp:
      break;
    }
    switch (kind) {
    case BuiltinReduction::LogSumExp:
      // Empty or all -inf: m = -inf, s = 0, so -inf.
      for (int64_t c = 0; c < f; ++c)
        values[c] = m + std::log(sums[size_t(c)]);
      return;
    case BuiltinReduction::MaxSumShiftExp:
      values[0] = m;
      std::copy(sums.begin(), sums.end(), values + 1);
      return;
    default: // SumSoftMaxWeight: 0 / 0 = NaN when empty, as KeOps
      for (int64_t c = 0; c < f; ++c)
        values[c] = sums[size_t(1 + c)] / sums[0];
      return;
    }
  }

private:
  enum class Mode { Sum, Min, Max, ShiftExp };
  static constexpr double kInf = std::numeric_limits<double>::infinity();

  /// Component c's sorted list of K: strictly better values only (NaN and ties with the last
  /// place never enter), after the equal values already there (ties in index order).
  void insert(int64_t c, double v, int64_t j) {
    auto better = [&](double a, double b) { return mode == Mode::Min ? a < b : a > b; };
    if (!better(v, best[size_t((k - 1) * f + c)]))
      return;
    int64_t place = k - 1;
    for (; place > 0 && better(v, best[size_t((place - 1) * f + c)]); --place) {
      best[size_t(place * f + c)] = best[size_t((place - 1) * f + c)];
      bestIndex[size_t(place * f + c)] = bestIndex[size_t((place - 1) * f + c)];
    }
    best[size_t(place * f + c)] = v;
    bestIndex[size_t(place * f + c)] = j;
  }

  /// y = (f, g): a running maximum m with the sums rescaled when it grows. f = -inf adds exactly
  /// 0; f = m (+inf included) adds exactly g; a NaN f makes the sums NaN.
  void shiftExp(const double *y) {
    const double x = y[0];
    if (x == -kInf)
      return;
    if (x > m) {
      const double scale = std::exp(m - x); // 0 when m = -inf
      for (double &s : sums)
        s *= scale;
      m = x;
    }
    const double e = x == m ? 1.0 : std::exp(x - m);
    const double *g = y + 1;
    if (kind == BuiltinReduction::SumSoftMaxWeight) {
      sums[0] += e;
      for (int64_t c = 0; c < f; ++c)
        sums[size_t(1 + c)] += e * g[c];
    } else {
      for (int64_t c = 0; c < f; ++c)
        sums[size_t(c)] += e * g[c];
    }
  }

  BuiltinReduction kind;
  int64_t f, k;
  Mode mode = Mode::Sum;
  std::vector<double> sums;
  double m = -kInf;
  std::vector<double> best;
  std::vector<int64_t> bestIndex;
};

template <typename T>
ReferenceOutputs referenceRunImpl(const ReductionInfo &r, const std::vector<const T *> &inputs,
                                     int64_t nI, int64_t nJ, const std::vector<int64_t> &rows) {
  Program p = compile(r);
  const std::string where = "reduction '" + r.name + "'";
  if (nI < 0 || nJ < 0)
    throw Error(ErrorCode::InvalidArgument, where + ": nI and nJ must be >= 0");
  if (inputs.size() != r.variables.size())
    throw Error(ErrorCode::InvalidArgument,
                where + ": expected " + std::to_string(r.variables.size()) + " inputs, got " +
                    std::to_string(inputs.size()));
  const int64_t nOut = r.axis == 1 ? nI : nJ;
  const int64_t nReduced = r.axis == 1 ? nJ : nI;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const VarCategory c = r.variables[k].category;
    int64_t n = c == VarCategory::Pm ? 1 : c == VarCategory::Vi ? nI : nJ;
    if (!inputs[k] && n > 0)
      throw Error(ErrorCode::InvalidArgument,
                  where + ": input " + std::to_string(k) + " (" + r.variables[k].name +
                      ") is a null pointer");
  }
  for (int64_t row : rows)
    if (row < 0 || row >= nOut)
      throw Error(ErrorCode::InvalidArgument,
                  where + ": row " + std::to_string(row) + " is out of range [0, " +
                      std::to_string(nOut) + ")");
  ReferenceOutputs result;
  result.values.assign(rows.size() * size_t(r.valueDim), 0.0);
  result.indices.assign(rows.size() * size_t(r.indexDim), 0);
  const VarCategory outCat = r.outputCategory();
  const int64_t yieldOffset = p.offsets[size_t(r.yield)];

  std::function<void(int64_t)> body = [&](int64_t index) {
    const int64_t row = rows[size_t(index)];
    std::vector<double> scratch(static_cast<size_t>(p.totalDim * kBlock));
    double *s = scratch.data();
    // Output-category variables and parameters are the same for every pair of this row.
    for (size_t k = 0; k < r.variables.size(); ++k) {
      const VariableInfo &v = r.variables[k];
      if (v.category == r.reducedCategory())
        continue;
      const T *src = inputs[k] + (v.category == outCat ? row * v.dim : 0);
      double *dst = s + p.offsets[k] * kBlock;
      for (int64_t t = 0; t < kBlock; ++t)
        for (int64_t c = 0; c < v.dim; ++c)
          dst[t * v.dim + c] = double(src[c]);
    }
    Accumulator acc(p);
    for (int64_t j0 = 0; j0 < nReduced; j0 += kBlock) {
      const int64_t count = std::min(kBlock, nReduced - j0);
      for (size_t k = 0; k < r.variables.size(); ++k) {
        const VariableInfo &v = r.variables[k];
        if (v.category != r.reducedCategory())
          continue;
        const T *src = inputs[k] + j0 * v.dim;
        double *dst = s + p.offsets[k] * kBlock;
        for (int64_t e = 0; e < count * v.dim; ++e)
          dst[e] = double(src[e]);
      }
      evalBlock(p, s, kBlock, count);
      acc.add(s + yieldOffset * kBlock, p.yieldDim, count, j0);
    }
    acc.finish(result.values.data() + index * r.valueDim,
               r.indexDim ? result.indices.data() + index * r.indexDim : nullptr);
  };
  ThreadPool::global().parallelFor(int64_t(rows.size()), defaultThreadCount(), body);
  return result;
}

} // namespace

void validateFormula(const ReductionInfo &reduction) { compile(reduction); }

ReferenceOutputs referenceRun(const ReductionInfo &reduction,
                              const std::vector<const float *> &inputs, int64_t nI, int64_t nJ,
                              const std::vector<int64_t> &rows) {
  return referenceRunImpl(reduction, inputs, nI, nJ, rows);
}

ReferenceOutputs referenceRun(const ReductionInfo &reduction,
                              const std::vector<const double *> &inputs, int64_t nI, int64_t nJ,
                              const std::vector<int64_t> &rows) {
  return referenceRunImpl(reduction, inputs, nI, nJ, rows);
}

ReferenceOutputs referenceRun(const ReductionInfo &reduction,
                              const std::vector<const float *> &inputs, int64_t nI, int64_t nJ) {
  int64_t nOut = std::max<int64_t>(reduction.axis == 1 ? nI : nJ, 0);
  std::vector<int64_t> rows(static_cast<size_t>(nOut), 0);
  for (int64_t k = 0; k < nOut; ++k)
    rows[size_t(k)] = k;
  return referenceRunImpl(reduction, inputs, nI, nJ, rows);
}

std::vector<double> evaluateFormula(const ReductionInfo &reduction,
                                    const std::vector<const double *> &values) {
  Program p = compile(reduction);
  if (values.size() != reduction.variables.size())
    throw Error(ErrorCode::InvalidArgument,
                "reduction '" + reduction.name + "': expected " +
                    std::to_string(reduction.variables.size()) + " values, got " +
                    std::to_string(values.size()));
  std::vector<double> scratch(static_cast<size_t>(p.totalDim));
  for (size_t k = 0; k < values.size(); ++k) {
    if (!values[k])
      throw Error(ErrorCode::InvalidArgument, "evaluateFormula: value " + std::to_string(k) +
                                                  " is a null pointer");
    std::copy(values[k], values[k] + p.dims[k], scratch.data() + p.offsets[k]);
  }
  evalBlock(p, scratch.data(), 1, 1);
  const double *y = scratch.data() + p.offsets[size_t(reduction.yield)];
  return std::vector<double>(y, y + p.yieldDim);
}

ValueCheck checkValues(const ReductionInfo &r, const std::vector<int64_t> &rows,
                       const ReferenceOutputs &ref, const float *values) {
  double diff = 0, norm = 0;
  ValueCheck check;
  for (size_t q = 0; q < rows.size(); ++q)
    for (int64_t c = 0; c < r.valueDim; ++c) {
      const double want = ref.values[q * size_t(r.valueDim) + size_t(c)];
      const double got = values[size_t(rows[q] * r.valueDim + c)];
      if (!std::isfinite(want)) {
        check.mismatched += !(got == want || (std::isnan(got) && std::isnan(want)));
        continue;
      }
      diff += (got - want) * (got - want);
      norm += want * want;
    }
  check.relative = norm > 0;
  check.error = check.relative ? std::sqrt(diff / norm) : std::sqrt(diff);
  return check;
}

IndexCheck checkIndices(const ReductionInfo &r, const std::vector<const float *> &inputs,
                        int64_t nI, int64_t nJ, const std::vector<int64_t> &rows,
                        const ReferenceOutputs &ref, const int64_t *indices, double tolerance) {
  const Program p = compile(r);
  const int64_t nReduced = r.axis == 1 ? nJ : nI;
  // The formula value of (row, j), memoized per row: an index list names few distinct j.
  auto formulaAt = [&](int64_t row, int64_t j) {
    std::vector<std::vector<double>> vars;
    std::vector<const double *> args;
    for (size_t k = 0; k < r.variables.size(); ++k) {
      const VariableInfo &v = r.variables[k];
      const int64_t at = v.category == VarCategory::Pm      ? 0
                         : v.category == r.outputCategory() ? row
                                                            : j;
      vars.emplace_back(inputs[k] + at * v.dim, inputs[k] + (at + 1) * v.dim);
    }
    for (const auto &v : vars)
      args.push_back(v.data());
    return evaluateFormula(r, args);
  };
  IndexCheck check;
  for (size_t q = 0; q < rows.size(); ++q) {
    std::map<int64_t, std::vector<double>> cache;
    auto at = [&](int64_t j) -> const std::vector<double> & {
      auto it = cache.find(j);
      if (it == cache.end())
        it = cache.emplace(j, formulaAt(rows[q], j)).first;
      return it->second;
    };
    for (int64_t e = 0; e < r.indexDim; ++e) {
      const int64_t want = ref.indices[q * size_t(r.indexDim) + size_t(e)];
      const int64_t got = indices[size_t(rows[q] * r.indexDim + e)];
      ++check.checked;
      if (want < 0 || got < 0 || got >= nReduced) {
        check.invalid += got != want;
        continue;
      }
      const size_t c = size_t(e % p.formulaDim); // [K][F]: entry e is component e mod F
      const double a = at(got)[c], b = at(want)[c];
      check.offValue += !(std::fabs(a - b) <= tolerance * std::max(1.0, std::fabs(b)));
    }
  }
  return check;
}

} // namespace kconv
