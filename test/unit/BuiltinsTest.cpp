//===- BuiltinsTest.cpp - the op table (ABI/Builtins.def) agrees with the dialect and frontend ===//
#include "kconv/ABI/Builtins.h"
#include "kconv/Dialect/Kconv/IR/KconvDialect.h"
#include "kconv/Dialect/Kconv/IR/KconvOps.h"
#include "kconv/Frontend/FormulaParser.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

#include <gtest/gtest.h>

#include <string>

using namespace kconv;

namespace {

/// A call of `info`'s KeOps function on X = Vi(3), Y = Vj(3) with valid literal arguments.
std::string call(const BuiltinInfo &info) {
  std::string name(info.keops);
  switch (info.intArg) {
  case IntArg::PowExponent:
    return name + "(X, 3)";
  case IntArg::ElemIndex:
    return name + "(X, 1)";
  case IntArg::Value:
    return name + "(2)";
  case IntArg::None:
    break;
  }
  return info.operands == 1 ? name + "(X)" : name + "(X, Y)";
}

} // namespace

TEST(Builtins, EveryRowIsARegisteredKconvOp) {
  mlir::MLIRContext context;
  context.loadDialect<mlir::kconv::KconvDialect>();
  for (const BuiltinInfo &info : kBuiltinOps) {
    std::string name = "kconv." + std::string(info.mnemonic);
    std::optional<mlir::RegisteredOperationName> op =
        mlir::RegisteredOperationName::lookup(name, &context);
    EXPECT_TRUE(op.has_value()) << name << " is not an op of the kconv dialect";
    std::string_view attr = getIntArgAttrName(info.intArg);
    if (op && !attr.empty()) {
      EXPECT_TRUE(llvm::is_contained(op->getAttributeNames(), llvm::StringRef(attr)))
          << name << " has no attribute '" << attr << "'";
    }
  }
}

TEST(Builtins, EveryKeOpsNameCompilesToItsOp) {
  for (const BuiltinInfo &info : kBuiltinOps) {
    if (info.keops.empty())
      continue; // an operator (-x, x + y, ...): test/Frontend/arithmetic.kconv
    std::string source = "X = Vi(3)\nY = Vj(3)\nf = Sum_Reduction(" + call(info) + ", axis=1)\n";
    mlir::MLIRContext context;
    llvm::SourceMgr sourceMgr;
    sourceMgr.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(source, "t.kconv"),
                                 llvm::SMLoc());
    std::string errors;
    mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &diagnostic) {
      errors += diagnostic.str() + "\n";
      return mlir::success();
    });
    mlir::OwningOpRef<mlir::ModuleOp> module = parseFormulaFile(sourceMgr, &context);
    ASSERT_TRUE(module) << source << errors;
    bool found = false;
    module->walk([&](mlir::Operation *op) {
      found |= op->getName().getStringRef() == "kconv." + std::string(info.mnemonic);
    });
    EXPECT_TRUE(found) << source << " has no kconv." << info.mnemonic;
  }
}

TEST(Builtins, LookupsAndReductions) {
  EXPECT_EQ(lookupBuiltinByKeOpsName("SqDist")->op, BuiltinOp::SqDist);
  EXPECT_EQ(lookupBuiltinByMnemonic("sqdist")->op, BuiltinOp::SqDist);
  EXPECT_EQ(lookupBuiltinByKeOpsName(""), nullptr); // operator rows are not callable
  EXPECT_EQ(lookupBuiltinByKeOpsName("Sin"), nullptr);
  EXPECT_EQ(lookupBuiltinByMnemonic("frobnicate"), nullptr);
  for (const BuiltinInfo &info : kBuiltinOps)
    EXPECT_EQ(&getBuiltinInfo(info.op), &info);
  // One dialect kind per table row, same order and spelling.
  for (const BuiltinReductionInfo &info : kReductions) {
    EXPECT_EQ(&getReductionInfo(info.kind), &info);
    EXPECT_EQ(mlir::kconv::stringifyReductionKind(mlir::kconv::ReductionKind(uint32_t(info.kind))),
              llvm::StringRef(info.mnemonic.data(), info.mnemonic.size()));
    EXPECT_EQ(lookupReductionByMnemonic(info.mnemonic), &info);
    EXPECT_EQ(lookupReductionByKeOpsName(info.keops), &info);
  }
  EXPECT_EQ(std::size(kReductions), size_t(mlir::kconv::getMaxEnumValForReductionKind()) + 1);
  EXPECT_EQ(lookupReductionByKeOpsName("Max_SumShiftExp_Reduction")->kind,
            BuiltinReduction::MaxSumShiftExp);
  EXPECT_TRUE(llvm::is_contained(kUnsupportedKeOpsReductions, std::string_view("Zero_Reduction")));
  // Output dimensions (F = 3, K = 5).
  using Dims = std::pair<int64_t, int64_t>;
  auto dims = [](BuiltinReduction kind, int64_t yield) {
    ReductionOutputDims d = reductionOutputDims(getReductionInfo(kind), yield, 5);
    return std::make_pair(d.values, d.indices);
  };
  EXPECT_EQ(dims(BuiltinReduction::Sum, 3), Dims(3, 0));
  EXPECT_EQ(dims(BuiltinReduction::ArgMin, 3), Dims(0, 3));
  EXPECT_EQ(dims(BuiltinReduction::MinArgMin, 3), Dims(3, 3));
  EXPECT_EQ(dims(BuiltinReduction::KMinArgKMin, 3), Dims(15, 15));
  EXPECT_EQ(dims(BuiltinReduction::LogSumExp, 4), Dims(3, 0));
  EXPECT_EQ(dims(BuiltinReduction::MaxSumShiftExp, 4), Dims(4, 0));
  EXPECT_EQ(dims(BuiltinReduction::SumSoftMaxWeight, 4), Dims(3, 0));
  EXPECT_EQ(reducedFormulaDim(getReductionInfo(BuiltinReduction::LogSumExp), 1), -1);
}
