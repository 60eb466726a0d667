//===- KconvFold.cpp - folders of the kconv formula ops -----------------===//
//
// Constant folding and the identities that return an existing value (x + 0 -> x, x * 1 -> x, ...).
// --x and Inv(Inv(x)) are folded by the Involution trait, Abs(Abs(x)) by Idempotent.
//
// Two rules keep every fold type-correct under KeOps broadcasting:
//  * a fold to a constant (an Attribute) happens only for a dimension-1 result: the dialect
//    materializes dimension-1 `kconv.constant`s only, and a dim-3 `x * 0` is a dim-3 zero;
//  * a fold to an existing value happens only when that value has exactly the result type. The
//    constants are dimension 1, so `x + 0`, `x * 1`, ... always keep x's type; the check guards the
//    folds that drop an op (Sum, Elem) and any future constant of another dimension.
// Constants are folded in double precision, and only when the result is finite: Log(0), Sqrt(-1),
// 1/0 stay in the IR as written.
//
//===----------------------------------------------------------------------===//
#include "kconv/Dialect/Kconv/IR/KconvOps.h"

#include "mlir/IR/Matchers.h"

#include <cmath>
#include <optional>

using namespace mlir;
using namespace mlir::kconv;

/// The value of a constant operand (always dimension 1), if the operand is one.
static std::optional<double> constantValue(Attribute attr) {
  if (auto floatAttr = dyn_cast_or_null<FloatAttr>(attr))
    return floatAttr.getValueAsDouble();
  return std::nullopt;
}

static bool isConstant(Attribute attr, double value) {
  std::optional<double> constant = constantValue(attr);
  return constant && *constant == value;
}

/// Folds `op` to the scalar `value`: only for a dimension-1 result and a finite value.
static OpFoldResult scalarResult(Operation *op, double value) {
  if (getFormulaDim(op->getResult(0).getType()) != 1 || !std::isfinite(value))
    return {};
  return FloatAttr::get(Float64Type::get(op->getContext()), value);
}

/// Folds `op` to the existing `value`: only if it has exactly the result type.
static OpFoldResult existingValue(Operation *op, Value value) {
  if (value.getType() != op->getResult(0).getType())
    return {};
  return value;
}

template <typename Fn>
static OpFoldResult foldUnaryConstant(Operation *op, Attribute operand, Fn fn) {
  if (std::optional<double> x = constantValue(operand))
    return scalarResult(op, fn(*x));
  return {};
}

template <typename Fn>
static OpFoldResult foldBinaryConstants(Operation *op, Attribute lhs, Attribute rhs, Fn fn) {
  std::optional<double> x = constantValue(lhs), y = constantValue(rhs);
  if (x && y)
    return scalarResult(op, fn(*x, *y));
  return {};
}

//===----------------------------------------------------------------------===//
// Binary elementwise ops
//===----------------------------------------------------------------------===//

OpFoldResult AddOp::fold(FoldAdaptor adaptor) {
  if (OpFoldResult folded = foldBinaryConstants(
          *this, adaptor.getLhs(), adaptor.getRhs(), [](double x, double y) { return x + y; }))
    return folded;
  // x + 0 -> x, 0 + x -> x.
  if (isConstant(adaptor.getRhs(), 0.0))
    return existingValue(*this, getLhs());
  if (isConstant(adaptor.getLhs(), 0.0))
    return existingValue(*this, getRhs());
  return {};
}

OpFoldResult SubOp::fold(FoldAdaptor adaptor) {
  if (OpFoldResult folded = foldBinaryConstants(
          *this, adaptor.getLhs(), adaptor.getRhs(), [](double x, double y) { return x - y; }))
    return folded;
  // x - 0 -> x.
  if (isConstant(adaptor.getRhs(), 0.0))
    return existingValue(*this, getLhs());
  return {};
}

OpFoldResult MulOp::fold(FoldAdaptor adaptor) {
  if (OpFoldResult folded = foldBinaryConstants(
          *this, adaptor.getLhs(), adaptor.getRhs(), [](double x, double y) { return x * y; }))
    return folded;
  // x * 1 -> x, 1 * x -> x.
  if (isConstant(adaptor.getRhs(), 1.0))
    return existingValue(*this, getLhs());
  if (isConstant(adaptor.getLhs(), 1.0))
    return existingValue(*this, getRhs());
  // x * 0 -> 0, only for a dimension-1 result (x of dimension D > 1 gives a dim-D zero).
  if (isConstant(adaptor.getRhs(), 0.0) || isConstant(adaptor.getLhs(), 0.0))
    return scalarResult(*this, 0.0);
  return {};
}

OpFoldResult DivOp::fold(FoldAdaptor adaptor) {
  if (OpFoldResult folded = foldBinaryConstants(
          *this, adaptor.getLhs(), adaptor.getRhs(), [](double x, double y) { return x / y; }))
    return folded;
  // x / 1 -> x.
  if (isConstant(adaptor.getRhs(), 1.0))
    return existingValue(*this, getLhs());
  return {};
}

//===----------------------------------------------------------------------===//
// Unary elementwise ops
//===----------------------------------------------------------------------===//

OpFoldResult NegOp::fold(FoldAdaptor adaptor) {
  return foldUnaryConstant(*this, adaptor.getOperand(), [](double x) { return -x; });
}
OpFoldResult ExpOp::fold(FoldAdaptor adaptor) {
  return foldUnaryConstant(*this, adaptor.getOperand(), [](double x) { return std::exp(x); });
}
OpFoldResult Exp2Op::fold(FoldAdaptor adaptor) {
  return foldUnaryConstant(*this, adaptor.getOperand(), [](double x) { return std::exp2(x); });
}
OpFoldResult LogOp::fold(FoldAdaptor adaptor) {
  return foldUnaryConstant(*this, adaptor.getOperand(), [](double x) { return std::log(x); });
}
OpFoldResult SqrtOp::fold(FoldAdaptor adaptor) {
  return foldUnaryConstant(*this, adaptor.getOperand(), [](double x) { return std::sqrt(x); });
}
OpFoldResult RsqrtOp::fold(FoldAdaptor adaptor) {
  return foldUnaryConstant(*this, adaptor.getOperand(),
                           [](double x) { return x == 0 ? 0.0 : 1.0 / std::sqrt(x); });
}
OpFoldResult SquareOp::fold(FoldAdaptor adaptor) {
  return foldUnaryConstant(*this, adaptor.getOperand(), [](double x) { return x * x; });
}
OpFoldResult InvOp::fold(FoldAdaptor adaptor) {
  return foldUnaryConstant(*this, adaptor.getOperand(), [](double x) { return 1.0 / x; });
}
OpFoldResult AbsOp::fold(FoldAdaptor adaptor) {
  return foldUnaryConstant(*this, adaptor.getOperand(), [](double x) { return std::fabs(x); });
}

OpFoldResult PowOp::fold(FoldAdaptor adaptor) {
  int64_t exponent = getExponentAttr().getInt();
  if (OpFoldResult folded = foldUnaryConstant(*this, adaptor.getOperand(), [&](double x) {
        return std::pow(x, static_cast<double>(exponent));
      }))
    return folded;
  // Pow(x, 1) -> x.
  if (exponent == 1)
    return getOperand();
  // Pow(x, 0) -> 1, only for a dimension-1 x.
  if (exponent == 0)
    return scalarResult(*this, 1.0);
  return {};
}

//===----------------------------------------------------------------------===//
// Ops with a dimension-1 result
//===----------------------------------------------------------------------===//

OpFoldResult SumOp::fold(FoldAdaptor) {
  // Sum(x) -> x for a dimension-1 x (constants included).
  return existingValue(*this, getOperand());
}

OpFoldResult SqNorm2Op::fold(FoldAdaptor adaptor) {
  return foldUnaryConstant(*this, adaptor.getOperand(), [](double x) { return x * x; });
}

OpFoldResult Norm2Op::fold(FoldAdaptor adaptor) {
  return foldUnaryConstant(*this, adaptor.getOperand(), [](double x) { return std::fabs(x); });
}

OpFoldResult SqDistOp::fold(FoldAdaptor adaptor) {
  return foldBinaryConstants(*this, adaptor.getLhs(), adaptor.getRhs(),
                             [](double x, double y) { return (x - y) * (x - y); });
}

OpFoldResult ScalprodOp::fold(FoldAdaptor adaptor) {
  return foldBinaryConstants(*this, adaptor.getLhs(), adaptor.getRhs(),
                             [](double x, double y) { return x * y; });
}

OpFoldResult ElemOp::fold(FoldAdaptor) {
  // Elem(x, 0) -> x for a dimension-1 x (the verifier rejects any other index).
  return existingValue(*this, getOperand());
}
