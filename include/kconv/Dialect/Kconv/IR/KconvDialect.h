//===- KconvDialect.h - kconv dialect ---------------------------*- C++ -*-===//
#ifndef KCONV_DIALECT_KCONV_IR_KCONVDIALECT_H
#define KCONV_DIALECT_KCONV_IR_KCONVDIALECT_H

#include "mlir/IR/Dialect.h"

#include "kconv/Dialect/Kconv/IR/KconvOpsDialect.h.inc"

#endif // KCONV_DIALECT_KCONV_IR_KCONVDIALECT_H
