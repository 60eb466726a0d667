//===- MLIRGen.cpp - a checked .kconv Module to kconv IR ------------------===//
//
// Every formula node is one Builtins.def op: it is created generically, by its mnemonic, with
// its formula operands and its integer (or constant) attribute, so a new table row needs no code
// here. The result types are Sema's dimensions over the file's element type.
//
//===----------------------------------------------------------------------===//
#include "kconv/Frontend/MLIRGen.h"

#include "kconv/Dialect/Kconv/IR/KconvDialect.h"
#include "kconv/Dialect/Kconv/IR/KconvOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/DenseMap.h"

using namespace mlir;
namespace kd = mlir::kconv;

namespace kconv::frontend {
namespace {

kd::VarCategory toDialect(VarCategory category) {
  switch (category) {
  case VarCategory::Vi:
    return kd::VarCategory::Vi;
  case VarCategory::Vj:
    return kd::VarCategory::Vj;
  case VarCategory::Pm:
    break;
  }
  return kd::VarCategory::Pm;
}

kd::ReductionKind toDialect(BuiltinReduction kind) {
  switch (kind) {
#define KCONV_REDUCTION(Kind, KeOps, Mnemonic, K, Weight, Values, Indices)                                                         \
  case BuiltinReduction::Kind:                                                                     \
    return kd::ReductionKind::Kind;
#include "kconv/ABI/Builtins.def"
  }
  llvm_unreachable("a BuiltinReduction without a dialect kind");
}

Type toDialect(ElementType type, MLIRContext *context) {
  switch (type) {
  case ElementType::F16:
    return Float16Type::get(context);
  case ElementType::F32:
    return Float32Type::get(context);
  case ElementType::F64:
    break;
  }
  return Float64Type::get(context);
}

class MLIRGen {
public:
  explicit MLIRGen(Diagnoser &diag) : diag(diag), builder(diag.context) {}

  OwningOpRef<ModuleOp> gen(const Module &m) {
    MLIRContext *context = diag.context;
    OwningOpRef<ModuleOp> module = ModuleOp::create(FileLineColLoc::get(diag.filename, 1, 1));
    builder.setInsertionPointToEnd(module->getBody());
    for (const ReductionDecl &reduction : m.reductions) {
      elementType = toDialect(reduction.elementType, context);
      SmallVector<Attribute> variables;
      SmallVector<Type> types;
      SmallVector<Location> locs;
      for (const VarDecl *var : reduction.vars) {
        variables.push_back(
            kd::VariableAttr::get(context, var->name.text, toDialect(var->category), var->dim));
        types.push_back(type(var->dim));
        locs.push_back(diag.loc(var->name));
      }
      OpBuilder::InsertionGuard guard(builder);
      const BuiltinReductionInfo &info = getReductionInfo(reduction.kind);
      IntegerAttr k = info.takesK ? builder.getI64IntegerAttr(reduction.k) : IntegerAttr();
      auto op = kd::ReductionOp::create(builder, diag.loc(reduction.name), reduction.name.text,
                                        toDialect(reduction.kind), k,
                                        static_cast<uint64_t>(reduction.axis),
                                        builder.getArrayAttr(variables), /*fuses=*/ArrayAttr());
      Block *body = builder.createBlock(&op.getBody(), {}, types, locs);
      args.clear();
      for (auto [var, arg] : llvm::zip(reduction.vars, body->getArguments()))
        args[var] = arg;
      Value result = genExpr(*reduction.formula);
      if (!result)
        return nullptr;
      if (info.weight != ReductionWeight::None) {
        // KeOps' internal form Concat(f, g); an absent g is IntCst(1).
        Location loc = diag.loc(reduction.head);
        Value weight = reduction.weight
                           ? genExpr(*reduction.weight)
                           : create(loc, getBuiltinInfo(BuiltinOp::Constant), {}, 1, 0, 1.0);
        if (!weight)
          return nullptr;
        int64_t dim = 1 + cast<VectorType>(weight.getType()).getDimSize(0);
        result = create(loc, getBuiltinInfo(BuiltinOp::Concat), {result, weight}, dim, 0, 0);
      }
      kd::YieldOp::create(builder, diag.loc(reduction.name), result);
    }
    // Sema mirrors the op verifiers; this only guards against a disagreement.
    if (failed(verify(*module)))
      return nullptr;
    return module;
  }

private:
  VectorType type(int64_t dim) { return kd::getFormulaType(dim, elementType); }

  Value genExpr(const Expr &e) {
    if (e.var)
      return args.lookup(e.var);
    Location loc = diag.loc(e.tok);
    if (!e.builtin) {
      diag.error(e.tok) << "internal error: unchecked formula node";
      return nullptr;
    }
    const BuiltinInfo &info = *e.builtin;
    // Operands first, left to right (C++ leaves the order of call arguments unspecified).
    SmallVector<Value, 2> operands;
    for (unsigned k = 0; k < info.operands; ++k) {
      Value operand = genExpr(*e.operands[k]);
      if (!operand)
        return nullptr;
      operands.push_back(operand);
    }
    return create(loc, info, operands, e.dim, e.intAttr, e.value);
  }

  /// The op of `info` on `operands`, of dimension `dim`, with its integer or constant argument.
  Value create(Location loc, const BuiltinInfo &info, ValueRange operands, int64_t dim,
               int64_t integer, double value) {
    OperationState state(loc, std::string("kconv.").append(info.mnemonic));
    state.addOperands(operands);
    state.addTypes(type(dim));
    StringRef attrName(getIntArgAttrName(info.intArg));
    switch (info.intArg) {
    case IntArg::None:
      break;
    case IntArg::PowExponent:
    case IntArg::ElemIndex:
      state.addAttribute(attrName, builder.getI64IntegerAttr(integer));
      break;
    case IntArg::Value:
      state.addAttribute(attrName, builder.getF64FloatAttr(value));
      break;
    }
    return builder.create(state)->getResult(0);
  }

  Diagnoser &diag;
  OpBuilder builder;
  Type elementType;
  llvm::DenseMap<const VarDecl *, Value> args;
};

} // namespace

OwningOpRef<ModuleOp> mlirGen(const Module &module, Diagnoser &diag) {
  diag.context->getOrLoadDialect<kd::KconvDialect>();
  return MLIRGen(diag).gen(module);
}

} // namespace kconv::frontend
