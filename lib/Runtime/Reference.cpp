//===- Reference.cpp - the float64 reference evaluator --------------------===//
//
// Interprets a reduction's serialized formula (ReductionInfo::formula, the `op` lines of the
// artifact metadata) in double precision, independently of the generated code. To keep the
// interpretation overhead low without giving up obviousness, each op is applied to a block of up
// to kBlock pairs at a time; values are stored pair-major ([pair][component]).
//
// The op names, operand counts, integer arguments and dimension rules come from the op table
// (kconv/ABI/Builtins.def); the semantics at special points (0, +-inf, NaN) are keopscore's, as
// docs/formula-language.md lists them.
//
//===----------------------------------------------------------------------===//
#include "kconv/ABI/Builtins.h"
#include "kconv/Runtime/Runtime.h"
#include "ThreadPool.h"

#include <algorithm>
#include <cmath>

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
  std::vector<Instr> instrs;
  std::vector<int64_t> dims;    // per value
  std::vector<int64_t> offsets; // per value: start in a scratch of (totalDim * block) doubles
  int64_t totalDim = 0;
};

Program compile(const ReductionInfo &r) {
  Program p;
  p.reduction = &r;
  const std::string where = "reduction '" + r.name + "'";
  if (r.kind != "sum")
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
  if (p.dims[size_t(r.yield)] != r.valueDim)
    throw Error(ErrorCode::InvalidArtifact,
                where + ": the yielded value has dimension " +
                    std::to_string(p.dims[size_t(r.yield)]) + ", value_dim is " +
                    std::to_string(r.valueDim));
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

template <typename T>
std::vector<double> referenceRunImpl(const ReductionInfo &r, const std::vector<const T *> &inputs,
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
  const int64_t outDim = r.valueDim;
  std::vector<double> result(rows.size() * size_t(outDim), 0.0);
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
    double *acc = result.data() + index * outDim;
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
      const double *y = s + yieldOffset * kBlock;
      for (int64_t c = 0; c < outDim; ++c) {
        double partial = 0;
        for (int64_t t = 0; t < count; ++t)
          partial += y[t * outDim + c];
        acc[c] += partial;
      }
    }
  };
  ThreadPool::global().parallelFor(int64_t(rows.size()), defaultThreadCount(), body);
  return result;
}

} // namespace

void validateFormula(const ReductionInfo &reduction) { compile(reduction); }

std::vector<double> referenceRun(const ReductionInfo &reduction,
                                 const std::vector<const float *> &inputs, int64_t nI, int64_t nJ,
                                 const std::vector<int64_t> &rows) {
  return referenceRunImpl(reduction, inputs, nI, nJ, rows);
}

std::vector<double> referenceRun(const ReductionInfo &reduction,
                                 const std::vector<const double *> &inputs, int64_t nI,
                                 int64_t nJ, const std::vector<int64_t> &rows) {
  return referenceRunImpl(reduction, inputs, nI, nJ, rows);
}

std::vector<double> referenceRun(const ReductionInfo &reduction,
                                 const std::vector<const float *> &inputs, int64_t nI,
                                 int64_t nJ) {
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
  return std::vector<double>(y, y + reduction.valueDim);
}

} // namespace kconv
