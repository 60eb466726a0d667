//===- TargetMath.cpp - the target-math hook: generic, NVVM, CPU ----------===//
//
// Each target's way of computing exp, log, sqrt, division, ... on formula components (see
// FormulaToArith.h). Everything here keeps NaN: a NaN input gives a NaN result on every target and
// in fast math too ("fast" means approximate functions and flushed denormals, not "NaN-free").
//
//===----------------------------------------------------------------------===//
#include "kconv/Conversion/FormulaToArith/FormulaToArith.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>
#include <cstring>
#include <iterator>
#include <limits>

using namespace mlir;
using namespace mlir::kconv;

namespace {

constexpr double kLog2E = 1.4426950408889634;
constexpr double kLn2 = 0.6931471805599453;
constexpr double kInf = std::numeric_limits<double>::infinity();

/// The i32 (vector) type of the same shape as f32 `like`.
Type intTypeLike(OpBuilder &b, Type like) {
  if (auto vec = dyn_cast<VectorType>(like))
    return VectorType::get(vec.getShape(), b.getI32Type());
  return b.getI32Type();
}

Value isZero(OpBuilder &b, Location loc, Value x) {
  return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, x,
                               createConstantLike(b, loc, x.getType(), 0.0));
}

} // namespace

Value mlir::kconv::createConstantLike(OpBuilder &b, Location loc, Type like, double value) {
  Type element = getElementTypeOrSelf(like);
  TypedAttr scalar = isa<FloatType>(element) ? TypedAttr(b.getFloatAttr(element, value))
                                             : TypedAttr(b.getIntegerAttr(element, int64_t(value)));
  if (auto vec = dyn_cast<VectorType>(like))
    return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(vec, scalar));
  return arith::ConstantOp::create(b, loc, scalar);
}

//===----------------------------------------------------------------------===//
// Generic: the math dialect, IEEE
//===----------------------------------------------------------------------===//

TargetMath::~TargetMath() = default;

Value TargetMath::exp(OpBuilder &b, Location loc, Value x, bool) const {
  return math::ExpOp::create(b, loc, x);
}
Value TargetMath::exp2(OpBuilder &b, Location loc, Value x) const {
  return math::Exp2Op::create(b, loc, x);
}
Value TargetMath::log(OpBuilder &b, Location loc, Value x) const {
  return math::LogOp::create(b, loc, x);
}
Value TargetMath::sqrt(OpBuilder &b, Location loc, Value x) const {
  return math::SqrtOp::create(b, loc, x);
}
Value TargetMath::rsqrt(OpBuilder &b, Location loc, Value x) const {
  Value r = reciprocal(b, loc, sqrt(b, loc, x));
  Value zero = createConstantLike(b, loc, x.getType(), 0.0);
  return arith::SelectOp::create(b, loc, isZero(b, loc, x), zero, r);
}
Value TargetMath::reciprocal(OpBuilder &b, Location loc, Value x) const {
  return div(b, loc, createConstantLike(b, loc, x.getType(), 1.0), x);
}
Value TargetMath::div(OpBuilder &b, Location loc, Value x, Value y) const {
  return arith::DivFOp::create(b, loc, x, y);
}
Value TargetMath::abs(OpBuilder &b, Location loc, Value x) const {
  return math::AbsFOp::create(b, loc, x);
}
Value TargetMath::fma(OpBuilder &b, Location loc, Value x, Value y, Value z) const {
  // The formula's flags (CPU fast math: nsz lets a negated FMA become vfnmsub).
  return math::FmaOp::create(b, loc, x, y, z, arithFlags());
}
void TargetMath::finalize(Operation *) const {}

//===----------------------------------------------------------------------===//
// NVVM
//===----------------------------------------------------------------------===//

namespace {

/// PTX, f32 components. math.exp / math.log / math.sqrt / math.fma would become libdevice calls in
/// the NVVM lowering; libdevice ships with the CUDA toolkit, not with Debian's LLVM, so this hook
/// emits intrinsics and inline sequences only.
class NVVMTargetMath : public TargetMath {
public:
  using TargetMath::TargetMath;

  Value exp(OpBuilder &b, Location loc, Value x, bool) const override {
    if (fastMath)
      return exp2(b, loc, arith::MulFOp::create(b, loc, x, cst(b, loc, kLog2E), contract(b)));
    return accurateExp(b, loc, x);
  }
  Value exp2(OpBuilder &b, Location loc, Value x) const override {
    if (fastMath)
      return intrinsic(b, loc, "llvm.nvvm.ex2.approx.ftz.f32", x);
    return accurateExp(b, loc, arith::MulFOp::create(b, loc, x, cst(b, loc, kLn2)));
  }
  Value log(OpBuilder &b, Location loc, Value x) const override {
    if (fastMath)
      return arith::MulFOp::create(b, loc, intrinsic(b, loc, "llvm.nvvm.lg2.approx.ftz.f", x),
                                   cst(b, loc, kLn2), contract(b));
    return accurateLog(b, loc, x);
  }
  Value sqrt(OpBuilder &b, Location loc, Value x) const override {
    if (fastMath)
      return intrinsic(b, loc, "llvm.nvvm.sqrt.approx.ftz.f", x);
    // sqrt.rn.f32 (math.sqrt is illegal in the NVVM lowering, which makes it a libdevice call).
    return intrinsic(b, loc, "llvm.sqrt.f32", x);
  }
  Value rsqrt(OpBuilder &b, Location loc, Value x) const override {
    if (!fastMath)
      return TargetMath::rsqrt(b, loc, x);
    Value r = intrinsic(b, loc, "llvm.nvvm.rsqrt.approx.ftz.f", x);
    return arith::SelectOp::create(b, loc, isZero(b, loc, x), cst(b, loc, 0.0), r);
  }
  Value reciprocal(OpBuilder &b, Location loc, Value x) const override {
    if (fastMath)
      return NVVM::RcpApproxFtzF32Op::create(b, loc, b.getF32Type(), x);
    return TargetMath::reciprocal(b, loc, x);
  }
  Value div(OpBuilder &b, Location loc, Value x, Value y) const override {
    if (fastMath)
      return intrinsic(b, loc, "llvm.nvvm.div.approx.ftz.f", ValueRange{x, y});
    return TargetMath::div(b, loc, x, y);
  }
  Value abs(OpBuilder &b, Location loc, Value x) const override {
    return intrinsic(b, loc, "llvm.fabs.f32", x);
  }
  // llvm.intr.fma, not math.fma (a libdevice call in the NVVM lowering).
  Value fma(OpBuilder &b, Location loc, Value x, Value y, Value z) const override {
    return LLVM::FMAOp::create(b, loc, x, y, z);
  }

private:
  static Value cst(OpBuilder &b, Location loc, double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  static Value i32c(OpBuilder &b, Location loc, int32_t v) {
    return arith::ConstantIntOp::create(b, loc, b.getI32Type(), v);
  }
  // `contract` (CUDA's default --fmad=true): a product feeding a sum becomes one FFMA.
  static arith::FastMathFlags contract(OpBuilder &) { return arith::FastMathFlags::contract; }
  static Value intrinsic(OpBuilder &b, Location loc, StringRef name, ValueRange args) {
    return LLVM::CallIntrinsicOp::create(b, loc, b.getF32Type(), b.getStringAttr(name), args)
        .getResult(0);
  }

  /// e^x = 2^j · 2^r with j = rint(x·log2 e) and r = x·log2 e − j computed with a two-part log2 e
  /// (fma), 2^r by ex2.approx.ftz (|r| ≤ 1/2), 2^j applied as two exact powers of two so that
  /// overflow gives inf and underflow gradual zero. Within ~1 ulp + ex2.approx's error.
  Value accurateExp(OpBuilder &b, Location loc, Value x) const {
    Value xc = arith::MaximumFOp::create(
        b, loc, arith::MinimumFOp::create(b, loc, x, cst(b, loc, 170.0)), cst(b, loc, -170.0));
    Value log2eHi = cst(b, loc, 1.4426950216293335), log2eLo = cst(b, loc, 1.925963033500011e-08);
    Value j = intrinsic(b, loc, "llvm.rint.f32",
                        arith::MulFOp::create(b, loc, xc, log2eHi).getResult());
    Value r = fma(b, loc, xc, log2eHi, arith::NegFOp::create(b, loc, j));
    r = fma(b, loc, xc, log2eLo, r);
    Value e = intrinsic(b, loc, "llvm.nvvm.ex2.approx.ftz.f32", r);
    Value ji = arith::FPToSIOp::create(b, loc, b.getI32Type(), j);
    Value j1 = arith::ShRSIOp::create(b, loc, ji, i32c(b, loc, 1));
    Value j2 = arith::SubIOp::create(b, loc, ji, j1);
    auto pow2 = [&](Value k) {
      return arith::BitcastOp::create(
          b, loc, b.getF32Type(),
          arith::ShLIOp::create(b, loc, arith::AddIOp::create(b, loc, k, i32c(b, loc, 127)),
                                i32c(b, loc, 23)));
    };
    return arith::MulFOp::create(b, loc, arith::MulFOp::create(b, loc, e, pow2(j1)), pow2(j2));
  }

  /// log x = k·ln 2 + log1p(f), x = 2^k (1 + f), 1 + f in [2/3, 4/3): log1p(f) = f + f²·p(f) with
  /// a degree-8 polynomial fitted on [-1/3, 1/3]. Denormals are scaled by 2^23 first; x = 0 →
  /// -inf, x < 0 or NaN → NaN, +inf → +inf.
  Value accurateLog(OpBuilder &b, Location loc, Value x) const {
    auto select = [&](Value c, Value t, Value f) { return arith::SelectOp::create(b, loc, c, t, f); };
    Value tiny = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, x,
                                       cst(b, loc, 1.1754943508222875e-38));
    Value xs = select(tiny, arith::MulFOp::create(b, loc, x, cst(b, loc, 8388608.0)), x);
    Value k0 = select(tiny, cst(b, loc, -23.0), cst(b, loc, 0.0));
    Value bits = arith::BitcastOp::create(b, loc, b.getI32Type(), xs);
    Value kBits = arith::AndIOp::create(
        b, loc, arith::SubIOp::create(b, loc, bits, i32c(b, loc, 0x3f2aaaab)),
        i32c(b, loc, static_cast<int32_t>(0xff800000)));
    Value m = arith::BitcastOp::create(b, loc, b.getF32Type(),
                                       arith::SubIOp::create(b, loc, bits, kBits));
    Value k = fma(b, loc, arith::SIToFPOp::create(b, loc, b.getF32Type(), kBits),
                  cst(b, loc, 1.1920928955078125e-07), k0);
    Value f = arith::SubFOp::create(b, loc, m, cst(b, loc, 1.0));
    static const uint32_t coefficients[] = {0xbe04d036, 0x3e0f9e19, 0xbdf91741,
                                            0x3e0f5530, 0xbe2ad47a, 0x3e4ce987,
                                            0xbe7fff3d, 0x3eaaaa80, 0xbf000000};
    auto coeff = [&](uint32_t bitsValue) {
      float value;
      std::memcpy(&value, &bitsValue, sizeof(value));
      return cst(b, loc, value);
    };
    Value p = coeff(coefficients[0]);
    for (size_t i = 1; i < std::size(coefficients); ++i)
      p = fma(b, loc, p, f, coeff(coefficients[i]));
    Value r = fma(b, loc, arith::MulFOp::create(b, loc, f, p), f, f);
    r = fma(b, loc, k, cst(b, loc, 0.6931471824645996), r);
    // bits > 0x7f7fffff as unsigned: +inf, NaN or negative → x·inf + inf gives +inf for +inf and
    // NaN otherwise; zero → -inf.
    Value special = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, bits,
                                          i32c(b, loc, 0x7f7fffff));
    Value inf = cst(b, loc, kInf);
    r = select(special, fma(b, loc, xs, inf, inf), r);
    Value zero = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, xs, cst(b, loc, 0.0));
    return select(zero, cst(b, loc, -kInf), r);
  }
};

//===----------------------------------------------------------------------===//
// CPU
//===----------------------------------------------------------------------===//

class CPUTargetMath : public TargetMath {
public:
  CPUTargetMath(bool fastMath, bool avx512Scalef)
      : TargetMath(fastMath), avx512Scalef(avx512Scalef) {}

  /// Fast math ignores the sign of zero (nsz): a negated sum of squares becomes one vfnmsub.
  arith::FastMathFlags arithFlags() const override {
    return fastMath ? arith::FastMathFlags::contract | arith::FastMathFlags::nsz
                    : arith::FastMathFlags::contract;
  }
  Value exp(OpBuilder &b, Location loc, Value x, bool nonPositive) const override {
    if (!fastMath || !getElementTypeOrSelf(x.getType()).isF32())
      return TargetMath::exp(b, loc, x, nonPositive);
    return fastExp(b, loc, x, nonPositive);
  }
  Value exp2(OpBuilder &b, Location loc, Value x) const override {
    if (!fastMath || !getElementTypeOrSelf(x.getType()).isF32())
      return TargetMath::exp2(b, loc, x);
    Value scaled = arith::MulFOp::create(b, loc, x, createConstantLike(b, loc, x.getType(), kLn2));
    return fastExp(b, loc, scaled, /*nonPositive=*/false);
  }
  Value log(OpBuilder &b, Location loc, Value x) const override {
    // Fast: expanded into the math dialect's vector polynomial by finalize().
    return math::LogOp::create(b, loc, x);
  }
  void finalize(Operation *root) const override {
    if (!fastMath)
      return;
    SmallVector<Operation *> logs;
    root->walk([&](math::LogOp op) { logs.push_back(op); });
    if (logs.empty())
      return;
    RewritePatternSet patterns(root->getContext());
    populateMathPolynomialApproximationPatterns(
        patterns, [](StringRef name) { return name == "log" || name == "math.log"; });
    GreedyRewriteConfig greedy;
    greedy.setStrictness(GreedyRewriteStrictness::ExistingAndNewOps);
    (void)applyOpPatternsGreedily(logs, std::move(patterns), greedy);
  }

private:
  /// exp(x) in f32 lanes without libm: x = n ln2 + r, |r| <= ln2/2 (Cody-Waite, two-part ln2),
  /// exp(r) by a degree-6 polynomial (relative minimax error 3e-9 on the reduced range), then
  /// exp(x) = 2^n exp(r). Max error 1.06 ulp over the normal range.
  ///  - AVX-512 (16 lanes): 2^n by vscalefps, which underflows to 0 and overflows to +inf exactly;
  ///    x is clamped to [-104, 89] only so that the reduction stays exact (and exp(-inf) = 0).
  ///  - otherwise: 2^n built in the exponent bits; x clamped to [-88, 88.72]: x < -87.68 gives 0
  ///    (n = -127: zero scale), x > 88.38 gives +inf (n = 128: the +inf bits).
  /// The clamps are `x < lo ? lo : x` selects, one vmaxps/vminps each, which keep a NaN x (a
  /// min/max with nnan would turn it into the bound, and the result into 0 or inf).
  /// `nonPositive`: x <= 0 is known (e.g. -|x - y|^2): the upper clamp is dropped.
  Value fastExp(OpBuilder &b, Location loc, Value x, bool nonPositive) const {
    Type type = x.getType();
    auto vec = dyn_cast<VectorType>(type);
    bool scalef = avx512Scalef && vec && vec.getNumElements() == 16;
    auto splat = [&](double v) { return createConstantLike(b, loc, type, v); };
    auto clamp = [&](arith::CmpFPredicate beyond, double bound) {
      Value c = splat(bound);
      Value out = arith::CmpFOp::create(b, loc, beyond, x, c);
      x = arith::SelectOp::create(b, loc, out, c, x);
    };
    if (!nonPositive)
      clamp(arith::CmpFPredicate::OGT, scalef ? 89.0 : 88.72283935546875);
    clamp(arith::CmpFPredicate::OLT, scalef ? -104.0 : -88.0);
    // t = x log2(e) + 1.5 2^23: the rounded n sits in the low mantissa bits of t.
    Value magic = splat(12582912.0);
    Value t = math::FmaOp::create(b, loc, x, splat(1.44269502162933349609375), magic);
    Value n = arith::SubFOp::create(b, loc, t, magic);
    Value r = math::FmaOp::create(b, loc, n, splat(-0.693359375), x);
    r = math::FmaOp::create(b, loc, n, splat(2.12194440e-4), r);
    static const double coefficients[] = {0.0013814540579915047, 0.00836874544620514,
                                          0.04166838899254799,   0.1666652113199234,
                                          0.4999999403953552,    1.0,
                                          1.0};
    Value p = splat(coefficients[0]);
    for (double c : ArrayRef(coefficients).drop_front())
      p = math::FmaOp::create(b, loc, p, r, splat(c));
    if (scalef) {
      // vscalefps: p * 2^floor(n), all lanes, current rounding mode.
      Value allLanes = arith::ConstantOp::create(b, loc, b.getI16IntegerAttr(-1));
      Value currentRounding = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(4));
      return LLVM::CallIntrinsicOp::create(b, loc, type,
                                           b.getStringAttr("llvm.x86.avx512.mask.scalef.ps.512"),
                                           ValueRange{p, n, p, allLanes, currentRounding})
          .getResult(0);
    }
    // 2^n: (bits(t) << 23) = n << 23 (mod 2^32) since the magic's low 9 bits are zero.
    Type intType = intTypeLike(b, type);
    Value bits = arith::BitcastOp::create(b, loc, intType, t);
    Value scaleBits = arith::AddIOp::create(
        b, loc, arith::ShLIOp::create(b, loc, bits, createConstantLike(b, loc, intType, 23)),
        createConstantLike(b, loc, intType, 0x3F800000));
    Value scale = arith::BitcastOp::create(b, loc, type, scaleBits);
    return arith::MulFOp::create(b, loc, p, scale);
  }

  bool avx512Scalef;
};

} // namespace

std::unique_ptr<TargetMath> mlir::kconv::createNVVMTargetMath(bool fastMath) {
  return std::make_unique<NVVMTargetMath>(fastMath);
}
std::unique_ptr<TargetMath> mlir::kconv::createCPUTargetMath(bool fastMath, bool avx512Scalef) {
  return std::make_unique<CPUTargetMath>(fastMath, avx512Scalef);
}
