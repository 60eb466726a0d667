//===- Reference.cpp - the float64 reference evaluator --------------------===//
//
// Interprets a reduction's serialized formula (ReductionInfo::formula, the `op` lines of the
// artifact metadata) in double precision, independently of the generated code. To keep the
// interpretation overhead low without giving up obviousness, each op is applied to a block of up
// to kBlock pairs at a time; values are stored pair-major ([pair][component]).
//
//===----------------------------------------------------------------------===//
#include "kconv/Runtime/Runtime.h"
#include "ThreadPool.h"

#include <algorithm>
#include <cmath>

namespace kconv {
namespace {

constexpr int64_t kBlock = 128;

enum class OpCode {
  Add, Sub, Mul, Div,                                      // broadcasting binary
  Neg, Exp, Log, Sqrt, Rsqrt, Square, Inv, Abs, Pow,       // elementwise unary
  SqDist, SqNorm2, Norm2, Scalprod, Sum, Elem, Concat, Constant
};

struct Instr {
  OpCode code;
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
  for (const VariableInfo &v : r.variables)
    p.dims.push_back(v.dim);
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
    Instr in;
    in.operands = op.operands;
    int64_t dim = 0;
    const std::string &n = op.name;
    auto broadcast = [&]() {
      expectOperands(2);
      if (d[0] != d[1] && d[0] != 1 && d[1] != 1)
        bad("operand dimensions " + std::to_string(d[0]) + " and " + std::to_string(d[1]) +
            " do not broadcast");
      return std::max(d[0], d[1]);
    };
    if (n == "add" || n == "sub" || n == "mul" || n == "div") {
      in.code = n == "add" ? OpCode::Add : n == "sub" ? OpCode::Sub
                : n == "mul" ? OpCode::Mul : OpCode::Div;
      dim = broadcast();
    } else if (n == "neg" || n == "exp" || n == "log" || n == "sqrt" || n == "rsqrt" ||
               n == "square" || n == "inv" || n == "abs") {
      expectOperands(1);
      in.code = n == "neg" ? OpCode::Neg : n == "exp" ? OpCode::Exp : n == "log" ? OpCode::Log
                : n == "sqrt" ? OpCode::Sqrt : n == "rsqrt" ? OpCode::Rsqrt
                : n == "square" ? OpCode::Square : n == "inv" ? OpCode::Inv : OpCode::Abs;
      dim = d[0];
    } else if (n == "pow") {
      expectOperands(1);
      if (!op.integer)
        bad("needs an integer exponent (int=N)");
      in.code = OpCode::Pow;
      in.integer = *op.integer;
      dim = d[0];
    } else if (n == "sqdist") {
      in.code = OpCode::SqDist;
      broadcast();
      dim = 1;
    } else if (n == "sqnorm2" || n == "norm2" || n == "sum") {
      expectOperands(1);
      in.code = n == "sqnorm2" ? OpCode::SqNorm2 : n == "norm2" ? OpCode::Norm2 : OpCode::Sum;
      dim = 1;
    } else if (n == "scalprod") {
      expectOperands(2);
      if (d[0] != d[1])
        bad("operand dimensions " + std::to_string(d[0]) + " and " + std::to_string(d[1]) +
            " differ");
      in.code = OpCode::Scalprod;
      dim = 1;
    } else if (n == "elem") {
      expectOperands(1);
      if (!op.integer || *op.integer < 0 || *op.integer >= d[0])
        bad("needs an index int=K with 0 <= K < " + std::to_string(d[0]));
      in.code = OpCode::Elem;
      in.integer = *op.integer;
      dim = 1;
    } else if (n == "concat") {
      if (op.operands.empty())
        bad("expects operands");
      in.code = OpCode::Concat;
      for (int64_t x : d)
        dim += x;
    } else if (n == "constant") {
      expectOperands(0);
      if (!op.real && !op.integer)
        bad("needs a value (real=X or int=N)");
      in.code = OpCode::Constant;
      in.real = op.real ? *op.real : double(*op.integer);
      dim = op.dim;
    } else {
      throw Error(ErrorCode::Unsupported, where + ": op " + std::to_string(k) + ": unknown op '" +
                                              n + "' (the reference evaluator knows add sub mul "
                                              "div neg exp log sqrt rsqrt square inv abs pow "
                                              "sqdist sqnorm2 norm2 scalprod sum elem concat "
                                              "constant)");
    }
    if (dim != op.dim)
      bad("declares dimension " + std::to_string(op.dim) + ", its operands give " +
          std::to_string(dim));
    in.dim = dim;
    p.instrs.push_back(std::move(in));
    p.dims.push_back(dim);
  }
  if (r.yield < 0 || r.yield >= int64_t(p.dims.size()))
    throw Error(ErrorCode::InvalidArtifact, where + ": yield of an undefined value");
  if (p.dims[size_t(r.yield)] != r.outputDim)
    throw Error(ErrorCode::InvalidArtifact,
                where + ": the yielded value has dimension " +
                    std::to_string(p.dims[size_t(r.yield)]) + ", output_dim is " +
                    std::to_string(r.outputDim));
  for (int64_t dim : p.dims) {
    p.offsets.push_back(p.totalDim);
    p.totalDim += dim;
  }
  return p;
}

double ipow(double x, int64_t n) {
  double result = 1;
  double base = n < 0 ? 1 / x : x;
  for (uint64_t e = n < 0 ? uint64_t(-n) : uint64_t(n); e; e >>= 1, base *= base)
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
    case OpCode::Add:
    case OpCode::Sub:
    case OpCode::Mul:
    case OpCode::Div:
    case OpCode::SqDist: {
      const double *a = val(0), *b = val(1);
      const int64_t da = dimOf(0), db = dimOf(1), w = std::max(da, db);
      for (int64_t t = 0; t < count; ++t) {
        double acc = 0;
        for (int64_t c = 0; c < w; ++c) {
          double x = a[t * da + (da == 1 ? 0 : c)], y = b[t * db + (db == 1 ? 0 : c)];
          switch (in.code) {
          case OpCode::Add: out[t * d + c] = x + y; break;
          case OpCode::Sub: out[t * d + c] = x - y; break;
          case OpCode::Mul: out[t * d + c] = x * y; break;
          case OpCode::Div: out[t * d + c] = x / y; break;
          default: acc += (x - y) * (x - y); break;
          }
        }
        if (in.code == OpCode::SqDist)
          out[t] = acc;
      }
      break;
    }
    case OpCode::Neg:
    case OpCode::Exp:
    case OpCode::Log:
    case OpCode::Sqrt:
    case OpCode::Rsqrt:
    case OpCode::Square:
    case OpCode::Inv:
    case OpCode::Abs:
    case OpCode::Pow: {
      const double *a = val(0);
      for (int64_t e = 0; e < count * d; ++e) {
        double x = a[e];
        double y = 0;
        switch (in.code) {
        case OpCode::Neg: y = -x; break;
        case OpCode::Exp: y = std::exp(x); break;
        case OpCode::Log: y = std::log(x); break;
        case OpCode::Sqrt: y = std::sqrt(x); break;
        case OpCode::Rsqrt: y = 1 / std::sqrt(x); break;
        case OpCode::Square: y = x * x; break;
        case OpCode::Inv: y = 1 / x; break;
        case OpCode::Abs: y = std::fabs(x); break;
        default: y = ipow(x, in.integer); break;
        }
        out[e] = y;
      }
      break;
    }
    case OpCode::SqNorm2:
    case OpCode::Norm2:
    case OpCode::Sum: {
      const double *a = val(0);
      const int64_t da = dimOf(0);
      for (int64_t t = 0; t < count; ++t) {
        double acc = 0;
        for (int64_t c = 0; c < da; ++c)
          acc += in.code == OpCode::Sum ? a[t * da + c] : a[t * da + c] * a[t * da + c];
        out[t] = in.code == OpCode::Norm2 ? std::sqrt(acc) : acc;
      }
      break;
    }
    case OpCode::Scalprod: {
      const double *a = val(0), *b = val(1);
      const int64_t da = dimOf(0);
      for (int64_t t = 0; t < count; ++t) {
        double acc = 0;
        for (int64_t c = 0; c < da; ++c)
          acc += a[t * da + c] * b[t * da + c];
        out[t] = acc;
      }
      break;
    }
    case OpCode::Elem: {
      const double *a = val(0);
      const int64_t da = dimOf(0);
      for (int64_t t = 0; t < count; ++t)
        out[t] = a[t * da + in.integer];
      break;
    }
    case OpCode::Concat: {
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
    case OpCode::Constant:
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
  const int64_t outDim = r.outputDim;
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
  return std::vector<double>(y, y + reduction.outputDim);
}

} // namespace kconv
