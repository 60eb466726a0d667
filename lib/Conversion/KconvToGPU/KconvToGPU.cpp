//===- KconvToGPU.cpp - convert-kconv-to-gpu ------------------------------===//
//
// Lowers every kconv.reduction to CUDA kernels (gpu.func in one gpu.module). The kernel:
//
//   thread t of block (bx, by) owns output rows  bx·B·R + t + r·B,  r < R      (B threads, R rows)
//   its reduced range is chunk by: [by·jChunk, min(nRed, (by+1)·jChunk))
//   for each tile of B reduced rows:
//     barrier; thread t loads reduced row (tile + t) of every reduced variable from the caller's
//     row-major arrays into one shared-memory record (float4 vectors, pre-scaled where the formula
//     allows folding a constant in); barrier
//     partial[r] = Σ_{j in tile} F(x_r, y_j, p)   (unrolled; one shared-memory load per j serves R rows)
//     acc[r] += partial[r]                          (block sum: keeps float32 error ~1e-6 at 1e6 rows)
//   out[row] = acc       (plain variant)   or   atomicAdd(out[row], acc)  (split-j variant)
//
// The kernel ABI (argument order, launch geometry) is in docs/architecture.md, "GPU kernel ABI".
//
//===----------------------------------------------------------------------===//
#include "kconv/Conversion/KconvToGPU/Passes.h"
#include "kconv/Dialect/Kconv/IR/KconvDialect.h"
#include "kconv/Dialect/Kconv/IR/KconvOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SmallSet.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <cstring>
#include <iterator>
#include <limits>
#include <functional>
#include <map>
#include <set>

namespace mlir::kconv {
#define GEN_PASS_DEF_CONVERTKCONVTOGPU
#include "kconv/Conversion/KconvToGPU/Passes.h.inc"
} // namespace mlir::kconv

using namespace mlir;
using namespace mlir::kconv;

namespace {

constexpr double kLog2E = 1.4426950408889634;
constexpr double kLn2 = 0.6931471805599453;

using Comps = SmallVector<Value, 4>; // the scalar components of one formula value

//===----------------------------------------------------------------------===//
// Scale folding
//===----------------------------------------------------------------------===//
//
// The fast exp is ex2(x · log2 e). Instead of one multiply per pair, the constant is pushed down
// the formula towards the variables: c·(-a) = (-c)·a, c·(k·a) = (ck)·a, c·|a − b|² = |√c·a − √c·b|²
// (c > 0; negated for c < 0), c·√a = √(c²·a), ... A variable then needs a scaled copy: free for
// output-category variables and parameters (scaled once per thread, outside the loop) and for a
// reduced variable whose every use wants the same scale (it is stored scaled in the shared tile).
// A reduced variable wanted at two scales is "pinned" (stored unscaled) and absorbs nothing.

static std::optional<double> constantOf(Value v) {
  if (auto c = v.getDefiningOp<kconv::ConstantOp>())
    return c.getValue().convertToDouble();
  return std::nullopt;
}

class ScaleRules {
public:
  ScaleRules(ArrayRef<VariableAttr> vars, VarCategory reduced, const std::set<unsigned> &pinned)
      : vars(vars), reduced(reduced), pinned(pinned) {}

  /// Can `c · v` be computed with the constant pushed into the leaves at no per-pair cost?
  bool canAbsorb(Value v) {
    auto it = memo.find(v);
    if (it != memo.end())
      return it->second;
    bool result = compute(v);
    memo[v] = result;
    return result;
  }

private:
  bool compute(Value v) {
    if (auto arg = dyn_cast<BlockArgument>(v)) {
      unsigned k = arg.getArgNumber();
      return vars[k].getCategory() != reduced || !pinned.count(k);
    }
    Operation *op = v.getDefiningOp();
    return TypeSwitch<Operation *, bool>(op)
        .Case<kconv::ConstantOp>([](auto) { return true; })
        .Case<NegOp, SqNorm2Op, SquareOp, SumOp, ElemOp, SqrtOp>(
            [&](Operation *o) { return canAbsorb(o->getOperand(0)); })
        .Case<MulOp, ScalprodOp>([&](Operation *o) {
          return constantOf(o->getOperand(0)) || constantOf(o->getOperand(1)) ||
                 canAbsorb(o->getOperand(0)) || canAbsorb(o->getOperand(1));
        })
        .Case<DivOp>([&](DivOp o) { return constantOf(o.getRhs()) || canAbsorb(o.getLhs()); })
        .Case<AddOp, SubOp, SqDistOp, ConcatOp>([&](Operation *o) {
          return canAbsorb(o->getOperand(0)) && canAbsorb(o->getOperand(1));
        })
        .Default([](Operation *) { return false; });
  }

  ArrayRef<VariableAttr> vars;
  VarCategory reduced;
  const std::set<unsigned> &pinned;
  DenseMap<Value, bool> memo;
};

//===----------------------------------------------------------------------===//
// Formula emission (scalarized: a dim-D value is D f32 scalars)
//===----------------------------------------------------------------------===//

class FormulaEmitter {
public:
  /// Provides the components of variable `k` scaled by `scale`.
  using LeafFn = std::function<Comps(unsigned k, double scale)>;

  FormulaEmitter(ImplicitLocOpBuilder &b, bool fastMath, ScaleRules &rules, LeafFn leaf)
      : b(b), fastMath(fastMath), rules(rules), leaf(std::move(leaf)) {}

  /// The components of `scale · v`.
  Comps emit(Value v, double scale = 1.0) {
    auto key = std::make_pair(v.getAsOpaquePointer(), scale);
    auto it = cache.find(key);
    if (it != cache.end())
      return it->second;
    Comps result = emitUncached(v, scale);
    cache[key] = result;
    return result;
  }

private:
  Value cst(double x) { return arith::ConstantOp::create(b, b.getF32FloatAttr(x)); }
  // `contract` (CUDA's default --fmad=true): a product feeding a sum becomes one FFMA.
  arith::FastMathFlagsAttr contract() {
    return arith::FastMathFlagsAttr::get(b.getContext(), arith::FastMathFlags::contract);
  }
  Value add(Value x, Value y) { return arith::AddFOp::create(b, x, y, contract()); }
  Value sub(Value x, Value y) { return arith::SubFOp::create(b, x, y, contract()); }
  Value mul(Value x, Value y) { return arith::MulFOp::create(b, x, y, contract()); }
  Value neg(Value x) { return arith::NegFOp::create(b, x); }
  // llvm.intr.fma, not math.fma: the NVVM lowering turns math.fma into a libdevice call.
  Value fma(Value x, Value y, Value z) { return LLVM::FMAOp::create(b, x, y, z); }
  Value intrinsic(StringRef name, ValueRange args) {
    return LLVM::CallIntrinsicOp::create(b, b.getF32Type(), b.getStringAttr(name), args)
        .getResult(0);
  }

  Value exp(Value x /* already scaled by log2 e in fast mode */) {
    if (fastMath)
      return intrinsic("llvm.nvvm.ex2.approx.ftz.f32", x);
    return accurateExp(x);
  }
  Value log(Value x) {
    if (fastMath)
      return intrinsic("llvm.nvvm.lg2.approx.ftz.f", x); // ×ln 2 by the caller
    return accurateLog(x);
  }

  // math.exp / math.log would become libdevice calls (__nv_expf, __nv_logf) in the NVVM lowering;
  // libdevice ships with the CUDA toolkit, not with Debian's LLVM, so kconv emits its own inline
  // sequences (both within ~1 ulp of the correctly rounded result plus ex2.approx's error; checked
  // against float64 on 2e5 samples when written).
  Value i32c(int32_t v) { return arith::ConstantIntOp::create(b, b.getI32Type(), v); }
  Value bitsToFloat(Value i) { return arith::BitcastOp::create(b, b.getF32Type(), i); }
  Value floatToBits(Value f) { return arith::BitcastOp::create(b, b.getI32Type(), f); }
  Value select(Value c, Value t, Value f) { return arith::SelectOp::create(b, c, t, f); }
  Value cmp(arith::CmpFPredicate p, Value x, Value y) { return arith::CmpFOp::create(b, p, x, y); }

  /// e^x = 2^j · 2^r with j = rint(x·log2 e) and r = x·log2 e − j computed with a two-part log2 e
  /// (fma), 2^r by ex2.approx.ftz (|r| ≤ 1/2), 2^j applied as two exact powers of two so that
  /// overflow gives inf and underflow gradual zero.
  Value accurateExp(Value x) {
    Value xc = arith::MaximumFOp::create(b, arith::MinimumFOp::create(b, x, cst(170.0)),
                                         cst(-170.0)); // NaN propagates
    Value log2eHi = cst(1.4426950216293335), log2eLo = cst(1.925963033500011e-08);
    Value j = intrinsic("llvm.rint.f32", arith::MulFOp::create(b, xc, log2eHi).getResult());
    Value r = fma(xc, log2eHi, neg(j));
    r = fma(xc, log2eLo, r);
    Value e = intrinsic("llvm.nvvm.ex2.approx.ftz.f32", r);
    Value ji = arith::FPToSIOp::create(b, b.getI32Type(), j);
    Value j1 = arith::ShRSIOp::create(b, ji, i32c(1));
    Value j2 = arith::SubIOp::create(b, ji, j1);
    auto pow2 = [&](Value k) {
      return bitsToFloat(arith::ShLIOp::create(b, arith::AddIOp::create(b, k, i32c(127)), i32c(23)));
    };
    return arith::MulFOp::create(b, arith::MulFOp::create(b, e, pow2(j1)), pow2(j2));
  }

  /// log x = k·ln 2 + log1p(f), x = 2^k (1 + f), 1 + f in [2/3, 4/3): log1p(f) = f + f²·p(f) with
  /// a degree-8 polynomial fitted (weighted least squares, Lawson iterations) on [-1/3, 1/3].
  /// Denormals are scaled by 2^23 first; x = 0 → -inf, x < 0 or NaN → NaN, +inf → +inf.
  Value accurateLog(Value x) {
    Value tiny = cmp(arith::CmpFPredicate::OLT, x, cst(1.1754943508222875e-38));
    Value xs = select(tiny, arith::MulFOp::create(b, x, cst(8388608.0)), x);
    Value k0 = select(tiny, cst(-23.0), cst(0.0));
    Value bits = floatToBits(xs);
    Value kBits = arith::AndIOp::create(
        b, arith::SubIOp::create(b, bits, i32c(0x3f2aaaab)), i32c(static_cast<int32_t>(0xff800000)));
    Value m = bitsToFloat(arith::SubIOp::create(b, bits, kBits));
    Value k = fma(arith::SIToFPOp::create(b, b.getF32Type(), kBits), cst(1.1920928955078125e-07), k0);
    Value f = arith::SubFOp::create(b, m, cst(1.0));
    static const uint32_t coefficients[] = {0xbe04d036, 0x3e0f9e19, 0xbdf91741, 0x3e0f5530, 0xbe2ad47a,
                                            0x3e4ce987, 0xbe7fff3d, 0x3eaaaa80, 0xbf000000};
    auto coeff = [&](uint32_t bitsValue) {
      float value;
      std::memcpy(&value, &bitsValue, sizeof(value));
      return cst(value);
    };
    Value p = coeff(coefficients[0]);
    for (size_t i = 1; i < std::size(coefficients); ++i)
      p = fma(p, f, coeff(coefficients[i]));
    Value r = fma(arith::MulFOp::create(b, f, p), f, f);
    r = fma(k, cst(0.6931471824645996), r);
    // Special cases: bits > 0x7f7fffff as unsigned: +inf, NaN or negative → x·inf + inf gives
    // +inf for +inf and NaN otherwise; zero → -inf.
    Value special = arith::CmpIOp::create(b, arith::CmpIPredicate::ugt, bits, i32c(0x7f7fffff));
    Value inf = cst(std::numeric_limits<double>::infinity());
    r = select(special, fma(xs, inf, inf), r);
    Value zero = cmp(arith::CmpFPredicate::OEQ, xs, cst(0.0));
    return select(zero, cst(-std::numeric_limits<double>::infinity()), r);
  }
  Value sqrt(Value x) {
    if (fastMath)
      return intrinsic("llvm.nvvm.sqrt.approx.ftz.f", x);
    // sqrt.rn.f32 (llvm.intr.sqrt itself is marked illegal by the NVVM lowering, which would
    // turn it into a libdevice call).
    return intrinsic("llvm.sqrt.f32", x);
  }
  Value rsqrt(Value x) {
    if (fastMath)
      return intrinsic("llvm.nvvm.rsqrt.approx.ftz.f", x);
    return arith::DivFOp::create(b, cst(1.0), sqrt(x));
  }
  Value inv(Value x) {
    if (fastMath)
      return NVVM::RcpApproxFtzF32Op::create(b, b.getF32Type(), x);
    return arith::DivFOp::create(b, cst(1.0), x);
  }
  Value div(Value x, Value y) {
    if (fastMath)
      return intrinsic("llvm.nvvm.div.approx.ftz.f", ValueRange{x, y});
    return arith::DivFOp::create(b, x, y);
  }

  /// Broadcast-aware elementwise combination of two component lists.
  template <typename F> Comps zip(const Comps &x, const Comps &y, F f) {
    size_t n = std::max(x.size(), y.size());
    Comps r;
    for (size_t k = 0; k < n; ++k)
      r.push_back(f(x[x.size() == 1 ? 0 : k], y[y.size() == 1 ? 0 : k]));
    return r;
  }
  Comps scaleAll(Comps x, double c) {
    if (c == 1.0)
      return x;
    if (c == -1.0) {
      for (Value &v : x)
        v = neg(v);
      return x;
    }
    Value k = cst(c);
    for (Value &v : x)
      v = mul(v, k);
    return x;
  }
  /// Σ (x_k − y_k)² with broadcasting (y empty: Σ x_k²).
  Value sumOfSquares(const Comps &x, const Comps &y) {
    Comps d = y.empty() ? x : zip(x, y, [&](Value a, Value c) { return sub(a, c); });
    Value s = mul(d[0], d[0]);
    for (size_t k = 1; k < d.size(); ++k)
      s = fma(d[k], d[k], s);
    return s;
  }
  Value dot(const Comps &x, const Comps &y) {
    Value s = mul(x[0], y[0]);
    for (size_t k = 1; k < x.size(); ++k)
      s = fma(x[k], y[k], s);
    return s;
  }
  Comps pow(Comps x, int64_t n) {
    if (n == 0) {
      Comps ones;
      for (size_t k = 0; k < x.size(); ++k)
        ones.push_back(cst(1.0));
      return ones;
    }
    bool negative = n < 0;
    uint64_t e = negative ? -static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
    Comps r;
    for (Value base : x) {
      Value acc;
      Value p = base;
      for (uint64_t m = e; m; m >>= 1) {
        if (m & 1)
          acc = acc ? mul(acc, p) : p;
        if (m > 1)
          p = mul(p, p);
      }
      r.push_back(negative ? inv(acc) : acc);
    }
    return r;
  }

  Comps emitUncached(Value v, double c) {
    if (auto arg = dyn_cast<BlockArgument>(v))
      return leaf(arg.getArgNumber(), c);
    Operation *op = v.getDefiningOp();
    // A negation or a product with a constant passes the factor on for free in any case.
    bool passOn = isa<NegOp>(op) || (isa<MulOp>(op) && (constantOf(op->getOperand(0)) ||
                                                        constantOf(op->getOperand(1)))) ||
                  (isa<DivOp>(op) && constantOf(op->getOperand(1)));
    if (c != 1.0 && (passOn || rules.canAbsorb(v)))
      return emitAbsorbed(op, c);
    return scaleAll(emitPlain(op), c);
  }

  /// c · op with the constant pushed into the operands (rules.canAbsorb(op) holds).
  Comps emitAbsorbed(Operation *op, double c) {
    double s = std::sqrt(std::fabs(c));
    auto signFix = [&](Value x) { return c < 0 ? neg(x) : x; };
    return TypeSwitch<Operation *, Comps>(op)
        .Case<kconv::ConstantOp>(
            [&](kconv::ConstantOp o) { return Comps{cst(c * o.getValue().convertToDouble())}; })
        .Case<NegOp>([&](NegOp o) { return emit(o.getOperand(), -c); })
        .Case<MulOp>([&](MulOp o) {
          if (auto k = constantOf(o.getRhs()))
            return emit(o.getLhs(), c * *k);
          if (auto k = constantOf(o.getLhs()))
            return emit(o.getRhs(), c * *k);
          bool left = rules.canAbsorb(o.getLhs());
          Comps x = emit(o.getLhs(), left ? c : 1.0), y = emit(o.getRhs(), left ? 1.0 : c);
          return zip(x, y, [&](Value a, Value d) { return mul(a, d); });
        })
        .Case<DivOp>([&](DivOp o) {
          if (auto k = constantOf(o.getRhs()))
            return emit(o.getLhs(), c / *k);
          Comps x = emit(o.getLhs(), c), y = emit(o.getRhs());
          return zip(x, y, [&](Value a, Value d) { return div(a, d); });
        })
        .Case<AddOp>([&](AddOp o) {
          return zip(emit(o.getLhs(), c), emit(o.getRhs(), c),
                     [&](Value a, Value d) { return add(a, d); });
        })
        .Case<SubOp>([&](SubOp o) {
          return zip(emit(o.getLhs(), c), emit(o.getRhs(), c),
                     [&](Value a, Value d) { return sub(a, d); });
        })
        .Case<SqDistOp>([&](SqDistOp o) {
          return Comps{signFix(sumOfSquares(emit(o.getLhs(), s), emit(o.getRhs(), s)))};
        })
        .Case<SqNorm2Op>([&](SqNorm2Op o) {
          return Comps{signFix(sumOfSquares(emit(o.getOperand(), s), {}))};
        })
        .Case<SquareOp>([&](SquareOp o) {
          Comps r;
          for (Value x : emit(o.getOperand(), s))
            r.push_back(signFix(mul(x, x)));
          return r;
        })
        .Case<SqrtOp>([&](SqrtOp o) {
          Comps r;
          for (Value x : emit(o.getOperand(), c * c))
            r.push_back(signFix(sqrt(x)));
          return r;
        })
        .Case<ScalprodOp>([&](ScalprodOp o) {
          bool left = rules.canAbsorb(o.getLhs());
          return Comps{dot(emit(o.getLhs(), left ? c : 1.0), emit(o.getRhs(), left ? 1.0 : c))};
        })
        .Case<SumOp>([&](SumOp o) {
          Comps x = emit(o.getOperand(), c);
          Value r = x[0];
          for (size_t k = 1; k < x.size(); ++k)
            r = add(r, x[k]);
          return Comps{r};
        })
        .Case<ElemOp>([&](ElemOp o) {
          return Comps{emit(o.getOperand(), c)[o.getIndex()]};
        })
        .Case<ConcatOp>([&](ConcatOp o) {
          Comps r = emit(o.getLhs(), c);
          r.append(emit(o.getRhs(), c));
          return r;
        })
        .Default([&](Operation *o) { return scaleAll(emitPlain(o), c); });
  }

  Comps emitPlain(Operation *op) {
    auto unary = [&](Value x, auto f) {
      Comps r;
      for (Value v : emit(x))
        r.push_back(f(v));
      return r;
    };
    return TypeSwitch<Operation *, Comps>(op)
        .Case<kconv::ConstantOp>(
            [&](kconv::ConstantOp o) { return Comps{cst(o.getValue().convertToDouble())}; })
        .Case<AddOp>([&](AddOp o) {
          return zip(emit(o.getLhs()), emit(o.getRhs()), [&](Value a, Value d) { return add(a, d); });
        })
        .Case<SubOp>([&](SubOp o) {
          return zip(emit(o.getLhs()), emit(o.getRhs()), [&](Value a, Value d) { return sub(a, d); });
        })
        .Case<MulOp>([&](MulOp o) {
          return zip(emit(o.getLhs()), emit(o.getRhs()), [&](Value a, Value d) { return mul(a, d); });
        })
        .Case<DivOp>([&](DivOp o) {
          return zip(emit(o.getLhs()), emit(o.getRhs()), [&](Value a, Value d) { return div(a, d); });
        })
        .Case<NegOp>([&](NegOp o) { return unary(o.getOperand(), [&](Value x) { return neg(x); }); })
        .Case<ExpOp>([&](ExpOp o) {
          // Fast: 2^(log2(e)·x), the factor folded into x where the formula allows it.
          Comps x = emit(o.getOperand(), fastMath ? kLog2E : 1.0);
          for (Value &v : x)
            v = exp(v);
          return x;
        })
        .Case<LogOp>([&](LogOp o) {
          return unary(o.getOperand(), [&](Value x) {
            Value l = log(x);
            return fastMath ? mul(l, cst(kLn2)) : l;
          });
        })
        .Case<SqrtOp>([&](SqrtOp o) { return unary(o.getOperand(), [&](Value x) { return sqrt(x); }); })
        .Case<RsqrtOp>(
            [&](RsqrtOp o) { return unary(o.getOperand(), [&](Value x) { return rsqrt(x); }); })
        .Case<SquareOp>(
            [&](SquareOp o) { return unary(o.getOperand(), [&](Value x) { return mul(x, x); }); })
        .Case<InvOp>([&](InvOp o) { return unary(o.getOperand(), [&](Value x) { return inv(x); }); })
        .Case<AbsOp>([&](AbsOp o) {
          return unary(o.getOperand(), [&](Value x) { return intrinsic("llvm.fabs.f32", x); });
        })
        .Case<PowOp>([&](PowOp o) { return pow(emit(o.getOperand()), o.getExponent()); })
        .Case<SumOp>([&](SumOp o) {
          Comps x = emit(o.getOperand());
          Value r = x[0];
          for (size_t k = 1; k < x.size(); ++k)
            r = add(r, x[k]);
          return Comps{r};
        })
        .Case<SqNorm2Op>([&](SqNorm2Op o) { return Comps{sumOfSquares(emit(o.getOperand()), {})}; })
        .Case<Norm2Op>(
            [&](Norm2Op o) { return Comps{sqrt(sumOfSquares(emit(o.getOperand()), {}))}; })
        .Case<SqDistOp>([&](SqDistOp o) {
          return Comps{sumOfSquares(emit(o.getLhs()), emit(o.getRhs()))};
        })
        .Case<ScalprodOp>(
            [&](ScalprodOp o) { return Comps{dot(emit(o.getLhs()), emit(o.getRhs()))}; })
        .Case<ElemOp>([&](ElemOp o) { return Comps{emit(o.getOperand())[o.getIndex()]}; })
        .Case<ConcatOp>([&](ConcatOp o) {
          Comps r = emit(o.getLhs());
          r.append(emit(o.getRhs()));
          return r;
        })
        .Default([&](Operation *o) -> Comps {
          llvm::report_fatal_error(llvm::Twine("convert-kconv-to-gpu: unhandled op ") +
                                   o->getName().getStringRef());
        });
  }

  ImplicitLocOpBuilder &b;
  bool fastMath;
  ScaleRules &rules;
  LeafFn leaf;
  std::map<std::pair<const void *, double>, Comps> cache;
};

//===----------------------------------------------------------------------===//
// Kernel construction
//===----------------------------------------------------------------------===//

struct KernelConfig {
  unsigned blockSize;     // threads per block = rows per shared-memory tile
  unsigned rowsPerThread; // R
  unsigned unroll;
  bool fastMath;
};

/// Where each reduced variable lives in the shared-memory record of one reduced row.
struct TileLayout {
  SmallVector<int64_t> offset;  // per variable (reduced ones only), in floats
  SmallVector<double> scale;    // stored scaled by this (1 unless folded)
  int64_t recordFloats = 0;     // padded: 1, 2 or a multiple of 4
  int64_t vecWidth = 1;         // floats per shared-memory vector access
};

class ReductionLowering {
public:
  ReductionLowering(ReductionOp red, const KernelConfig &cfg) : red(red), cfg(cfg) {
    vars = red.getVariableAttrs();
    outCat = red.getOutputCategory();
    redCat = outCat == VarCategory::Vi ? VarCategory::Vj : VarCategory::Vi;
    outDim = red.getOutputDim();
  }

  LogicalResult analyze();
  /// Builds one kernel: `rows` output rows per thread, the tile loop unrolled `unroll` times.
  gpu::GPUFuncOp build(OpBuilder &moduleBuilder, bool splitJ, unsigned rows, unsigned unroll,
                       unsigned slices = 1);
  /// Builds every variant: plain and split-j with the configured rows per thread, and when that
  /// is more than 1, plain and split-j with one row per thread (for problems too small to fill
  /// the GPU with R-row threads), and the "small" kernel (a block's threads split the reduced
  /// range of B/S rows S ways and add up in shared memory: no atomics, no zeroed output).
  void buildAll(OpBuilder &moduleBuilder);
  const TileLayout &tileLayout() const { return layout; }

private:
  /// Dry-runs the emission to find which scale each reduced variable is wanted at; pins the ones
  /// wanted at several; repeats until stable. Fills `pinned`, `leafScales`.
  void foldScales();
  Comps emitPair(ImplicitLocOpBuilder &b, ScaleRules &rules,
                 const std::function<Comps(unsigned, double)> &leaf);

  ReductionOp red;
  KernelConfig cfg;
  SmallVector<VariableAttr> vars;
  VarCategory outCat, redCat;
  int64_t outDim;
  unsigned unrollOne = 1; // unroll factor of the one-row-per-thread variants
  unsigned smallSlices = 1, smallUnroll = 1; // the small kernel (1: not built)
  std::set<unsigned> pinned;
  /// Per variable: the scales it is requested at.
  std::map<unsigned, std::set<double>> leafScales;
  TileLayout layout;
};

Comps ReductionLowering::emitPair(ImplicitLocOpBuilder &b, ScaleRules &rules,
                                  const std::function<Comps(unsigned, double)> &leaf) {
  FormulaEmitter emitter(b, cfg.fastMath, rules, leaf);
  return emitter.emit(red.getYield().getValue());
}

void ReductionLowering::foldScales() {
  MLIRContext *ctx = red.getContext();
  for (unsigned iteration = 0; iteration <= vars.size(); ++iteration) {
    leafScales.clear();
    // Emit into a scratch block that is thrown away.
    OpBuilder scratch(ctx);
    Block *block = new Block();
    Value placeholder = block->addArgument(Float32Type::get(ctx), red.getLoc());
    ImplicitLocOpBuilder b(red.getLoc(), scratch);
    b.setInsertionPointToStart(block);
    ScaleRules rules(vars, redCat, pinned);
    emitPair(b, rules, [&](unsigned k, double scale) {
      leafScales[k].insert(scale);
      return Comps(vars[k].getDim(), placeholder);
    });
    block->dropAllDefinedValueUses();
    for (Operation &op : llvm::make_early_inc_range(llvm::reverse(*block)))
      op.erase();
    delete block;
    bool changed = false;
    for (auto &[k, scales] : leafScales)
      if (vars[k].getCategory() == redCat && scales.size() > 1 && !pinned.count(k)) {
        pinned.insert(k);
        changed = true;
      }
    if (!changed)
      return;
  }
}

LogicalResult ReductionLowering::analyze() {
  if (red.getKind() != ReductionKind::Sum)
    return red.emitOpError("the GPU lowering supports sum reductions only, got ")
           << stringifyReductionKind(red.getKind());
  for (Operation &op : red.getBody().front().without_terminator())
    if (!isa<kconv::ConstantOp, AddOp, SubOp, MulOp, DivOp, NegOp, ExpOp, LogOp, SqrtOp, RsqrtOp,
             SquareOp, InvOp, AbsOp, PowOp, SumOp, SqNorm2Op, Norm2Op, SqDistOp, ScalprodOp, ElemOp,
             ConcatOp>(op))
      return op.emitOpError("is not supported by the GPU lowering");
  if (!red.getElementType().isF32())
    return red.emitOpError("the GPU lowering supports f32 formulas only, got ")
           << red.getElementType();
  if (cfg.blockSize % 32 || cfg.blockSize == 0 || cfg.blockSize > 1024)
    return red.emitOpError("block-size must be a multiple of 32 in [32, 1024], got ")
           << cfg.blockSize;
  // Automatic register blocking and unrolling. The per-pair cost of the formula is estimated in
  // scalar instructions (accurate transcendentals are inline sequences of ~10-40). Cheap formulas
  // get R = 4 rows per thread (one shared-memory load serves 4 pairs) and 16 pairs unrolled;
  // expensive ones fewer, so that the loop body (U·R formula copies) stays near 1-2K instructions
  // and the registers (R copies of the output-category values, partials and accumulators) fit.
  int64_t rowRegs = 2 * red.getOutputDim();
  for (VariableAttr var : vars)
    if (var.getCategory() == outCat)
      rowRegs += var.getDim();
  int64_t cost = 0;
  for (Operation &op : red.getBody().front().without_terminator()) {
    int64_t width = 1;
    for (Value v : op.getOperands())
      width = std::max(width, getFormulaDim(v.getType()));
    for (Value v : op.getResults())
      width = std::max(width, getFormulaDim(v.getType()));
    int64_t weight = 1;
    if (isa<ExpOp, LogOp>(op))
      weight = cfg.fastMath ? 2 : 24;
    else if (isa<SqrtOp, RsqrtOp, InvOp, DivOp, Norm2Op>(op))
      weight = cfg.fastMath ? 2 : 10;
    else if (auto pow = dyn_cast<PowOp>(op))
      weight = 2 + 2 * llvm::Log2_64_Ceil(std::abs(static_cast<int64_t>(pow.getExponent())) + 1);
    cost += width * weight;
  }
  if (cfg.rowsPerThread == 0)
    cfg.rowsPerThread = (cost <= 64 && rowRegs <= 16) ? 4 : (cost <= 256 && rowRegs <= 32) ? 2 : 1;
  auto autoUnroll = [&](unsigned rows) {
    unsigned u = 16;
    while (u > 1 && u * rows * cost > 1024)
      u /= 2;
    return u;
  };
  if (cfg.unroll == 0)
    cfg.unroll = autoUnroll(cfg.rowsPerThread);
  unrollOne = std::min(autoUnroll(1), cfg.blockSize);
  if (cfg.blockSize % cfg.unroll)
    return red.emitOpError("unroll must divide block-size");
  if (cfg.rowsPerThread > 8)
    return red.emitOpError("rows-per-thread must be in [1, 8]");
  foldScales();
  // Shared-memory record of one reduced row: the reduced variables in argument order.
  int64_t floats = 0;
  layout.offset.assign(vars.size(), -1);
  layout.scale.assign(vars.size(), 1.0);
  for (auto [k, var] : llvm::enumerate(vars)) {
    if (var.getCategory() != redCat)
      continue;
    layout.offset[k] = floats;
    floats += var.getDim();
    auto it = leafScales.find(k);
    if (it != leafScales.end() && it->second.size() == 1)
      layout.scale[k] = *it->second.begin();
  }
  if (floats == 0)
    floats = 1; // no reduced variable (e.g. a count): keep a 1-float dummy record
  layout.recordFloats = floats <= 2 ? floats : (floats + 3) / 4 * 4;
  layout.vecWidth = std::min<int64_t>(layout.recordFloats, 4);
  int64_t sharedBytes = layout.recordFloats * 4 * cfg.blockSize;
  // The small kernel: S = 8 slices of the reduced range (32 rows per block of 256 threads), when
  // its reduction buffer (B · outputDim floats) fits beside the tile.
  if (cfg.blockSize % 8 == 0 && cfg.blockSize / 8 >= 32 &&
      sharedBytes + int64_t(cfg.blockSize) * red.getOutputDim() * 4 <= 48 * 1024) {
    smallSlices = 8;
    smallUnroll = 1;
    while (smallUnroll < unrollOne && cfg.blockSize / smallSlices % (smallUnroll * 2) == 0)
      smallUnroll *= 2;
  }
  if (sharedBytes > 48 * 1024)
    return red.emitOpError("the reduced variables need ")
           << layout.recordFloats << " floats per row: a " << cfg.blockSize
           << "-row shared-memory tile (" << sharedBytes
           << " bytes) exceeds 48 KiB; use a smaller block-size";
  return success();
}

void ReductionLowering::buildAll(OpBuilder &moduleBuilder) {
  build(moduleBuilder, /*splitJ=*/false, cfg.rowsPerThread, cfg.unroll);
  build(moduleBuilder, /*splitJ=*/true, cfg.rowsPerThread, cfg.unroll);
  if (cfg.rowsPerThread > 1) {
    build(moduleBuilder, /*splitJ=*/false, 1, unrollOne);
    build(moduleBuilder, /*splitJ=*/true, 1, unrollOne);
  }
  if (smallSlices > 1)
    build(moduleBuilder, /*splitJ=*/false, 1, smallUnroll, smallSlices);
}

gpu::GPUFuncOp ReductionLowering::build(OpBuilder &moduleBuilder, bool splitJ,
                                        unsigned rowsPerThread, unsigned unroll, unsigned slices) {
  MLIRContext *ctx = red.getContext();
  Location loc = red.getLoc();
  ImplicitLocOpBuilder b(loc, moduleBuilder);
  Type f32 = b.getF32Type(), i32 = b.getI32Type(), i64 = b.getI64Type(), idx = b.getIndexType();
  auto gptr = LLVM::LLVMPointerType::get(ctx, /*addressSpace=*/1);
  const int64_t B = cfg.blockSize, R = rowsPerThread, U = unroll, S = slices;
  const int64_t W = layout.recordFloats, V = layout.vecWidth;
  const int64_t lanes = B / S; // rows of a block per slice (all rows of the block: S = 1)
  assert((S == 1 || (R == 1 && !splitJ)) && "the small kernel has one row per thread, no split");

  // Signature: one pointer per variable, the output, nOut, nRed, jChunk.
  SmallVector<Type> argTypes(vars.size() + 1, gptr);
  argTypes.append({i32, i32, i32});
  auto vecType = VectorType::get({V}, f32);
  auto wgSpace = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  auto tileType = MemRefType::get({B * W / V}, vecType, MemRefLayoutAttrInterface(), wgSpace);
  std::string name = ("kconv_gpu_" + red.getSymName() +
                      (S > 1                     ? std::string("_small")
                       : R != cfg.rowsPerThread ? "_r" + std::to_string(R)
                                                : std::string()) +
                      (splitJ ? "_splitj" : ""))
                         .str();
  SmallVector<Type> workgroup = {tileType};
  if (S > 1) // the slices' partial sums, added up at the end
    workgroup.push_back(MemRefType::get({B * outDim}, f32, MemRefLayoutAttrInterface(), wgSpace));
  auto func = gpu::GPUFuncOp::create(b, name, b.getFunctionType(argTypes, {}), workgroup);
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  func.setKnownBlockSizeAttr(b.getDenseI32ArrayAttr({static_cast<int32_t>(B), 1, 1}));
  func->setAttr(kReductionAttrName, b.getStringAttr(red.getSymName()));
  func->setAttr(kVariantAttrName, b.getStringAttr(S > 1 ? "small" : splitJ ? "splitj" : "plain"));
  func->setAttr(kRowsPerBlockAttrName, b.getI64IntegerAttr(lanes * R));
  func->setAttr(kBlockSizeAttrName, b.getI64IntegerAttr(B));
  func->setAttr(kRowsPerThreadAttrName, b.getI64IntegerAttr(R));
  func->setAttr(kTileRowsAttrName, b.getI64IntegerAttr(B));
  func->setAttr(kSharedBytesAttrName, b.getI64IntegerAttr(B * W * 4 + (S > 1 ? B * outDim * 4 : 0)));
  // Inputs are read-only and do not alias the output.
  for (unsigned k = 0; k <= vars.size(); ++k) {
    func.setArgAttr(k, LLVM::LLVMDialect::getNoAliasAttrName(), b.getUnitAttr());
    if (k < vars.size())
      func.setArgAttr(k, LLVM::LLVMDialect::getReadonlyAttrName(), b.getUnitAttr());
  }

  Block &entry = func.getBody().front();
  b.setInsertionPointToStart(&entry);
  Value tile = func.getWorkgroupAttributions()[0];
  Value outPtr = entry.getArgument(vars.size());
  auto toIndex = [&](Value v) { return arith::IndexCastOp::create(b, idx, v).getResult(); };
  Value nOut = toIndex(entry.getArgument(vars.size() + 1));
  Value nRed = toIndex(entry.getArgument(vars.size() + 2));
  Value jChunk = toIndex(entry.getArgument(vars.size() + 3));
  auto cIdx = [&](int64_t v) { return arith::ConstantIndexOp::create(b, v).getResult(); };
  auto cF32 = [&](double v) { return arith::ConstantOp::create(b, b.getF32FloatAttr(v)).getResult(); };

  // Global element address: base + (row·dim + c) floats, computed in 64 bits.
  auto gload = [&](Value base, Value row, int64_t dim, int64_t c) -> Value {
    Value r64 = arith::IndexCastOp::create(b, i64, row);
    Value off = arith::AddIOp::create(
        b, arith::MulIOp::create(b, r64, arith::ConstantIntOp::create(b, i64, dim)),
        arith::ConstantIntOp::create(b, i64, c));
    Value p = LLVM::GEPOp::create(b, gptr, f32, base, ValueRange{off});
    return LLVM::LoadOp::create(b, f32, p);
  };
  auto gaddr = [&](Value base, Value row, int64_t dim, int64_t c) -> Value {
    Value r64 = arith::IndexCastOp::create(b, i64, row);
    Value off = arith::AddIOp::create(
        b, arith::MulIOp::create(b, r64, arith::ConstantIntOp::create(b, i64, dim)),
        arith::ConstantIntOp::create(b, i64, c));
    return LLVM::GEPOp::create(b, gptr, f32, base, ValueRange{off});
  };

  Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value bx = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  Value by = gpu::BlockIdOp::create(b, gpu::Dimension::y);

  // Output rows of this thread, clamped for the loads (rows past the end compute garbage that is
  // never stored: they must still take part in the tile loads and barriers).
  // Thread t: lane t mod (B/S) of slice t div (B/S) (S = 1: lane t).
  Value lane = S > 1 ? arith::RemUIOp::create(b, tid, cIdx(lanes)).getResult() : tid;
  Value slice = S > 1 ? arith::DivUIOp::create(b, tid, cIdx(lanes)).getResult() : cIdx(0);
  Value rowBase = arith::AddIOp::create(b, arith::MulIOp::create(b, bx, cIdx(lanes * R)), lane);
  Value lastRow = arith::SubIOp::create(b, nOut, cIdx(1));
  SmallVector<Value> rows, valid;
  // Leaf values of output-category variables and parameters, per row, per requested scale.
  SmallVector<std::map<std::pair<unsigned, double>, Comps>> outLeaves(R);
  std::map<std::pair<unsigned, double>, Comps> paramLeaves;
  for (int64_t r = 0; r < R; ++r) {
    Value row = arith::AddIOp::create(b, rowBase, cIdx(r * B));
    rows.push_back(row);
    valid.push_back(arith::CmpIOp::create(b, arith::CmpIPredicate::slt, row, nOut));
    Value rowc = arith::MinSIOp::create(b, row, lastRow);
    for (auto [k, var] : llvm::enumerate(vars)) {
      if (var.getCategory() != outCat)
        continue;
      Comps raw;
      for (int64_t c = 0; c < var.getDim(); ++c)
        raw.push_back(gload(entry.getArgument(k), rowc, var.getDim(), c));
      outLeaves[r][{static_cast<unsigned>(k), 1.0}] = raw;
    }
  }
  for (auto [k, var] : llvm::enumerate(vars)) {
    if (var.getCategory() != VarCategory::Pm)
      continue;
    Comps raw;
    for (int64_t c = 0; c < var.getDim(); ++c)
      raw.push_back(gload(entry.getArgument(k), cIdx(0), var.getDim(), c));
    paramLeaves[{static_cast<unsigned>(k), 1.0}] = raw;
  }
  // Scaled copies, once per thread.
  auto scaled = [&](const Comps &raw, double s) {
    Comps r;
    Value k = cF32(s);
    for (Value v : raw)
      r.push_back(arith::MulFOp::create(b, v, k));
    return r;
  };
  for (auto &[k, scales] : leafScales)
    for (double s : scales) {
      if (s == 1.0)
        continue;
      if (vars[k].getCategory() == outCat)
        for (int64_t r = 0; r < R; ++r)
          outLeaves[r][{k, s}] = scaled(outLeaves[r][{k, 1.0}], s);
      else if (vars[k].getCategory() == VarCategory::Pm)
        paramLeaves[{k, s}] = scaled(paramLeaves[{k, 1.0}], s);
    }

  // The reduced range of this block (split-j: chunk `by`).
  Value jBegin = arith::MulIOp::create(b, by, jChunk);
  Value jLen = arith::MinSIOp::create(b, jChunk, arith::SubIOp::create(b, nRed, jBegin));
  jLen = arith::MaxSIOp::create(b, jLen, cIdx(0));
  Value nFull = arith::DivSIOp::create(b, jLen, cIdx(B));
  Value rem = arith::SubIOp::create(b, jLen, arith::MulIOp::create(b, nFull, cIdx(B)));

  // Loads reduced row `row` into the record of thread `tid` (scaled as the layout says).
  auto loadTileRow = [&](ImplicitLocOpBuilder &lb, Value row) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(lb.getInsertionBlock(), lb.getInsertionPoint());
    SmallVector<Value> record(W, Value());
    for (auto [k, var] : llvm::enumerate(vars)) {
      if (layout.offset[k] < 0)
        continue;
      for (int64_t c = 0; c < var.getDim(); ++c) {
        Value v = gload(entry.getArgument(k), row, var.getDim(), c);
        if (layout.scale[k] != 1.0)
          v = arith::MulFOp::create(b, v, cF32(layout.scale[k]));
        record[layout.offset[k] + c] = v;
      }
    }
    Value zero = cF32(0.0);
    for (int64_t q = 0; q < W / V; ++q) {
      SmallVector<Value> elems;
      for (int64_t e = 0; e < V; ++e)
        elems.push_back(record[q * V + e] ? record[q * V + e] : zero);
      Value vec = vector::FromElementsOp::create(b, vecType, elems);
      Value slot = arith::AddIOp::create(b, arith::MulIOp::create(b, tid, cIdx(W / V)), cIdx(q));
      memref::StoreOp::create(b, vec, tile, ValueRange{slot});
    }
  };

  // Reads record `j` from the tile and evaluates the formula for every row of this thread;
  // returns the R·outDim values to add to the partial sums.
  auto pairValues = [&](ImplicitLocOpBuilder &lb, Value j) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(lb.getInsertionBlock(), lb.getInsertionPoint());
    SmallVector<Value> record;
    for (int64_t q = 0; q < W / V; ++q) {
      Value slot = arith::AddIOp::create(b, arith::MulIOp::create(b, j, cIdx(W / V)), cIdx(q));
      Value vec = memref::LoadOp::create(b, tile, ValueRange{slot});
      for (int64_t e = 0; e < V; ++e)
        record.push_back(vector::ExtractOp::create(b, vec, ArrayRef<int64_t>{e}));
    }
    SmallVector<Value> values;
    for (int64_t r = 0; r < R; ++r) {
      ScaleRules rules(vars, redCat, pinned);
      Comps f = emitPair(b, rules, [&](unsigned k, double s) -> Comps {
        VarCategory cat = vars[k].getCategory();
        if (cat == outCat)
          return outLeaves[r].at({k, s});
        if (cat == VarCategory::Pm)
          return paramLeaves.at({k, s});
        Comps comps(record.begin() + layout.offset[k],
                    record.begin() + layout.offset[k] + vars[k].getDim());
        double rest = s / layout.scale[k];
        if (rest != 1.0) {
          Value c = cF32(rest);
          for (Value &v : comps)
            v = arith::MulFOp::create(b, v, c);
        }
        return comps;
      });
      values.append(f.begin(), f.end());
    }
    return values;
  };

  // acc[r·outDim + c]
  SmallVector<Value> accInit(R * outDim, cF32(0.0));
  auto addAll = [&](ImplicitLocOpBuilder &lb, ValueRange x, ValueRange y) {
    SmallVector<Value> r;
    for (auto [p, q] : llvm::zip(x, y))
      r.push_back(arith::AddFOp::create(
          lb, p, q, arith::FastMathFlagsAttr::get(ctx, arith::FastMathFlags::contract)));
    return r;
  };
  /// Σ over this slice's records of a full tile: j = k·S + slice, k < B/S, `U` bodies per step.
  auto tileSum = [&](ImplicitLocOpBuilder &lb) -> SmallVector<Value> {
    auto loop = scf::ForOp::create(
        lb, cIdx(0), cIdx(lanes), cIdx(U), accInit,
        [&](OpBuilder &nb, Location nloc, Value kk, ValueRange partial) {
          ImplicitLocOpBuilder ib(nloc, nb);
          SmallVector<Value> p(partial.begin(), partial.end());
          for (int64_t u = 0; u < U; ++u) {
            Value k = u ? arith::AddIOp::create(ib, kk, cIdx(u)).getResult() : kk;
            Value j = S > 1 ? arith::AddIOp::create(ib, arith::MulIOp::create(ib, k, cIdx(S)), slice)
                                  .getResult()
                            : k;
            SmallVector<Value> v = pairValues(ib, j);
            p = addAll(ib, p, v);
          }
          scf::YieldOp::create(ib, p);
        });
    return SmallVector<Value>(loop.getResults());
  };
  /// Σ over this slice's records among the first `count` of the tile: j = slice, slice + S, ...
  auto partialTileSum = [&](ImplicitLocOpBuilder &lb, Value count) -> SmallVector<Value> {
    auto loop = scf::ForOp::create(
        lb, slice, count, cIdx(S), accInit,
        [&](OpBuilder &nb, Location nloc, Value j, ValueRange partial) {
          ImplicitLocOpBuilder ib(nloc, nb);
          SmallVector<Value> p(partial.begin(), partial.end());
          p = addAll(ib, p, pairValues(ib, j));
          scf::YieldOp::create(ib, p);
        });
    return SmallVector<Value>(loop.getResults());
  };

  // Full tiles.
  auto fullLoop = scf::ForOp::create(
      b, cIdx(0), nFull, cIdx(1), accInit,
      [&](OpBuilder &nb, Location nloc, Value t, ValueRange acc) {
        ImplicitLocOpBuilder ib(nloc, nb);
        Value row = arith::AddIOp::create(
            ib, arith::AddIOp::create(ib, jBegin, arith::MulIOp::create(ib, t, cIdx(B))), tid);
        gpu::BarrierOp::create(ib);
        loadTileRow(ib, row);
        gpu::BarrierOp::create(ib);
        SmallVector<Value> partial = tileSum(ib);
        scf::YieldOp::create(ib, addAll(ib, acc, partial));
      });
  SmallVector<Value> acc(fullLoop.getResults());

  // The last, partial tile (uniform branch: every thread of the block takes it or not).
  Value hasRem = arith::CmpIOp::create(b, arith::CmpIPredicate::sgt, rem, cIdx(0));
  SmallVector<Type> accTypes(R * outDim, f32);
  auto tailIf = scf::IfOp::create(b, accTypes, hasRem, /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(tailIf.thenBlock());
    Value row = arith::AddIOp::create(
        b, arith::AddIOp::create(b, jBegin, arith::MulIOp::create(b, nFull, cIdx(B))), tid);
    gpu::BarrierOp::create(b);
    Value inRange = arith::CmpIOp::create(b, arith::CmpIPredicate::slt, tid, rem);
    scf::IfOp::create(b, inRange, [&](OpBuilder &nb, Location nloc) {
      ImplicitLocOpBuilder ib(nloc, nb);
      loadTileRow(ib, row);
      scf::YieldOp::create(ib);
    });
    gpu::BarrierOp::create(b);
    SmallVector<Value> partial = partialTileSum(b, rem);
    scf::YieldOp::create(b, addAll(b, acc, partial));
    b.setInsertionPointToStart(tailIf.elseBlock());
    scf::YieldOp::create(b, acc);
  }
  acc.assign(tailIf.getResults().begin(), tailIf.getResults().end());

  // The small kernel: the S slices' sums of a row meet in shared memory; slice 0 adds them up in
  // slice order (deterministic) and writes the row.
  Value writer = valid[0];
  if (S > 1) {
    Value sums = func.getWorkgroupAttributions()[1];
    for (int64_t c = 0; c < outDim; ++c) {
      Value at = arith::AddIOp::create(
          b, arith::MulIOp::create(b, tid, cIdx(outDim)), cIdx(c));
      memref::StoreOp::create(b, acc[c], sums, ValueRange{at});
    }
    gpu::BarrierOp::create(b);
    Value first = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, slice, cIdx(0));
    writer = arith::AndIOp::create(b, valid[0], first);
    for (int64_t c = 0; c < outDim; ++c) {
      Value total;
      for (int64_t q = 0; q < S; ++q) {
        Value at = arith::AddIOp::create(
            b, arith::MulIOp::create(b, arith::AddIOp::create(b, lane, cIdx(q * lanes)),
                                     cIdx(outDim)),
            cIdx(c));
        Value part = memref::LoadOp::create(b, sums, ValueRange{at});
        total = total ? arith::AddFOp::create(b, total, part).getResult() : part;
      }
      acc[c] = total;
    }
  }

  // Write the rows.
  for (int64_t r = 0; r < R; ++r) {
    scf::IfOp::create(b, r == 0 ? writer : valid[r], [&](OpBuilder &nb, Location nloc) {
      ImplicitLocOpBuilder ib(nloc, nb);
      for (int64_t c = 0; c < outDim; ++c) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPoint(ib.getInsertionBlock(), ib.getInsertionPoint());
        Value p = gaddr(outPtr, rows[r], outDim, c);
        Value v = acc[r * outDim + c];
        if (splitJ)
          LLVM::AtomicRMWOp::create(b, LLVM::AtomicBinOp::fadd, p, v,
                                    LLVM::AtomicOrdering::monotonic);
        else
          LLVM::StoreOp::create(b, v, p);
      }
      scf::YieldOp::create(ib);
    });
  }
  gpu::ReturnOp::create(b);
  return func;
}

struct ConvertKconvToGPUPass : public kconv::impl::ConvertKconvToGPUBase<ConvertKconvToGPUPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<ReductionOp> reductions(module.getOps<ReductionOp>());
    if (reductions.empty())
      return;
    KernelConfig cfg{blockSize, rowsPerThread, unroll, fastMath};
    OpBuilder builder(module.getContext());
    builder.setInsertionPointToEnd(module.getBody());
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(), builder.getUnitAttr());
    auto gpuModule = gpu::GPUModuleOp::create(builder, module.getLoc(), moduleName);
    OpBuilder inner = OpBuilder::atBlockBegin(gpuModule.getBody());
    for (ReductionOp red : reductions) {
      ReductionLowering lowering(red, cfg);
      if (failed(lowering.analyze()))
        return signalPassFailure();
      inner.setInsertionPointToEnd(gpuModule.getBody());
      lowering.buildAll(inner);
      red.erase();
    }
  }
};

} // namespace
