//===- KconvDialect.cpp - kconv dialect ---------------------------------===//
#include "kconv/Dialect/Kconv/IR/KconvDialect.h"
#include "kconv/Dialect/Kconv/IR/KconvOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::kconv;

#include "kconv/Dialect/Kconv/IR/KconvOpsDialect.cpp.inc"
#include "kconv/Dialect/Kconv/IR/KconvOpsEnums.cpp.inc"
#define GET_ATTRDEF_CLASSES
#include "kconv/Dialect/Kconv/IR/KconvOpsAttributes.cpp.inc"

void KconvDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "kconv/Dialect/Kconv/IR/KconvOpsAttributes.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "kconv/Dialect/Kconv/IR/KconvOps.cpp.inc"
      >();
}

Operation *KconvDialect::materializeConstant(OpBuilder &builder, Attribute value, Type type,
                                             Location loc) {
  auto floatAttr = dyn_cast<FloatAttr>(value);
  auto vectorType = dyn_cast<VectorType>(type);
  if (!floatAttr || !vectorType || vectorType.getRank() != 1 || vectorType.getDimSize(0) != 1)
    return nullptr;
  return ConstantOp::create(builder, loc, vectorType,
                            builder.getF64FloatAttr(floatAttr.getValueAsDouble()));
}
