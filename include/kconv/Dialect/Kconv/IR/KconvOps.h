//===- KconvOps.h - kconv operations and attributes -------------*- C++ -*-===//
#ifndef KCONV_DIALECT_KCONV_IR_KCONVOPS_H
#define KCONV_DIALECT_KCONV_IR_KCONVOPS_H

#include "kconv/Dialect/Kconv/IR/KconvDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "kconv/Dialect/Kconv/IR/KconvOpsEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "kconv/Dialect/Kconv/IR/KconvOpsAttributes.h.inc"

#define GET_OP_CLASSES
#include "kconv/Dialect/Kconv/IR/KconvOps.h.inc"

namespace mlir::kconv {
/// Dimension of a formula value (its vector length).
inline int64_t getFormulaDim(Type type) {
  return cast<VectorType>(type).getDimSize(0);
}
/// The formula value type `vector<dim x elementType>`.
inline VectorType getFormulaType(int64_t dim, Type elementType) {
  return VectorType::get({dim}, elementType);
}
/// KeOps broadcasting: the dimension of an elementwise binary result, or failure when the dims
/// are neither equal nor one of them 1.
FailureOr<int64_t> broadcastDims(int64_t lhs, int64_t rhs);
/// Whether `op` is a formula op that means the same at every width: elementwise, a sum over
/// its components, or a constant. Elem and Concat address components, a chunk_sum has a fixed
/// width: what a kconv.chunk_sum body may hold, the body evaluated chunk by chunk.
bool isWidthPolymorphic(Operation *op);
/// Whether every use of `variable` (a reduction's block argument) is an operand of a
/// kconv.chunk_sum or kconv.chunk_map: the backends then read it chunk by chunk and never bind it
/// whole.
bool isReadByChunksOnly(Value variable);
} // namespace mlir::kconv

#endif // KCONV_DIALECT_KCONV_IR_KCONVOPS_H
