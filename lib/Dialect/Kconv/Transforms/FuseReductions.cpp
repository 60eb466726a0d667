//===- FuseReductions.cpp - kconv-fuse-reductions -------------------------===//
//
// Reductions of a file with the same kind and axis over the same variables read the same rows:
// one kernel can compute them all. For each such group this pass adds a reduction whose yield is
// the Concat of the members' yields (kconv-simplify's CSE then computes what they share once) and
// marks it `fuses = [@members...]`; the members stay, callable alone. The runtime's run-many call
// runs the fused reduction and hands each member its block of output columns.
//
//===----------------------------------------------------------------------===//
#include "kconv/Dialect/Kconv/Transforms/Passes.h"

#include "kconv/ABI/Builtins.h"
#include "kconv/Dialect/Kconv/IR/KconvOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringMap.h"

#include <set>

namespace mlir::kconv {
#define GEN_PASS_DEF_KCONVFUSEREDUCTIONS
#include "kconv/Dialect/Kconv/Transforms/Passes.h.inc"
} // namespace mlir::kconv

using namespace mlir;
using namespace mlir::kconv;

namespace {

/// Most variables of a fused reduction (a GPU kernel's parameters grow with them).
constexpr size_t kMaxFusedVariables = 32;
/// Longest fused name made of the members' names (a longer one is abbreviated).
constexpr size_t kMaxNameLength = 200;

/// Reductions that one kernel can compute together.
struct Group {
  ReductionKind kind;
  uint64_t axis;
  Type element;
  SmallVector<ReductionOp> members;
  SmallVector<VariableAttr> variables; // the union, in order of first use
  llvm::StringMap<VariableAttr> byName;
  int64_t yieldDim = 0;
  int64_t reducedDim = 0; // components of the reduced-category variables of the union
};

struct KconvFuseReductionsPass
    : mlir::kconv::impl::KconvFuseReductionsBase<KconvFuseReductionsPass> {
  using Base::Base;

  static bool isReduced(const Group &group, VariableAttr var) {
    VarCategory output = group.axis == 1 ? VarCategory::Vi : VarCategory::Vj;
    return var.getCategory() != output && var.getCategory() != VarCategory::Pm;
  }

  /// Adds `reduction` to `group` if it fits (same kind, axis and element type, every shared
  /// variable name the same variable, within the size limits).
  bool tryAdd(Group &group, ReductionOp reduction) {
    if (reduction.getKind() != group.kind || reduction.getAxis() != group.axis ||
        reduction.getElementType() != group.element ||
        int64_t(group.members.size()) >= maxMembers ||
        group.yieldDim + reduction.getYieldDim() > maxDim)
      return false;
    SmallVector<VariableAttr> added;
    int64_t reducedDim = group.reducedDim;
    for (VariableAttr var : reduction.getVariableAttrs()) {
      auto known = group.byName.find(var.getName());
      if (known == group.byName.end()) {
        added.push_back(var);
        if (isReduced(group, var))
          reducedDim += var.getDim();
      } else if (known->second != var) {
        return false;
      }
    }
    if (reducedDim > maxDim || group.variables.size() + added.size() > kMaxFusedVariables)
      return false;
    for (VariableAttr var : added) {
      group.variables.push_back(var);
      group.byName[var.getName()] = var;
    }
    group.reducedDim = reducedDim;
    group.yieldDim += reduction.getYieldDim();
    group.members.push_back(reduction);
    return true;
  }

  static std::vector<std::string> memberNames(ArrayRef<ReductionOp> members) {
    std::vector<std::string> names;
    for (ReductionOp member : members)
      names.push_back(member.getSymName().str());
    return names;
  }

  void fuse(ModuleOp module, SymbolTable &symbols, Group &group) {
    MLIRContext *context = module.getContext();
    std::string name = "fused";
    SmallVector<Attribute> members;
    SmallVector<Location> memberLocs;
    for (ReductionOp member : group.members) {
      name += "__" + member.getSymName().str();
      members.push_back(FlatSymbolRefAttr::get(member.getSymNameAttr()));
      memberLocs.push_back(member.getLoc());
    }
    // Artifact names are at most 256 characters.
    if (name.size() > kMaxNameLength)
      name = "fused__" + group.members.front().getSymName().str() + "__and_" +
             std::to_string(group.members.size() - 1) + "_more";
    std::string unique = name;
    for (int suffix = 2; symbols.lookup(unique); ++suffix)
      unique = name + "_" + std::to_string(suffix);

    OpBuilder b(context);
    b.setInsertionPointAfter(group.members.back().getOperation());
    SmallVector<Attribute> variables(group.variables.begin(), group.variables.end());
    auto fused = ReductionOp::create(b, FusedLoc::get(context, memberLocs), unique, group.kind,
                                     IntegerAttr(), group.axis, b.getArrayAttr(variables),
                                     b.getArrayAttr(members));
    SmallVector<Type> types;
    SmallVector<Location> locs;
    for (VariableAttr var : group.variables) {
      types.push_back(getFormulaType(var.getDim(), group.element));
      locs.push_back(fused.getLoc());
    }
    Block *body = b.createBlock(&fused.getBody(), {}, types, locs);
    llvm::StringMap<Value> argByName;
    for (auto [var, arg] : llvm::zip(group.variables, body->getArguments()))
      argByName[var.getName()] = arg;

    Value yield;
    for (ReductionOp member : group.members) {
      Block &memberBody = member.getBody().front();
      IRMapping mapping;
      for (auto [var, arg] : llvm::zip(member.getVariableAttrs(), memberBody.getArguments()))
        mapping.map(arg, argByName[var.getName()]);
      for (Operation &op : memberBody.without_terminator())
        b.clone(op, mapping);
      Value value = mapping.lookup(member.getYield().getValue());
      yield = yield ? ConcatOp::create(b, member.getLoc(), yield, value).getResult() : value;
    }
    YieldOp::create(b, fused.getLoc(), yield);
    symbols.insert(fused);
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    // The member lists of the fused reductions already there: running the pass again adds none.
    std::set<std::vector<std::string>> existing;
    SmallVector<ReductionOp> candidates;
    for (ReductionOp reduction : module.getOps<ReductionOp>()) {
      if (ArrayAttr fuses = reduction.getFusesAttr()) {
        std::vector<std::string> names;
        for (auto member : fuses.getAsRange<FlatSymbolRefAttr>())
          names.push_back(member.getValue().str());
        existing.insert(names);
        continue;
      }
      const auto &info =
          ::kconv::getReductionInfo(::kconv::BuiltinReduction(uint32_t(reduction.getKind())));
      if (::kconv::concatenatesFormulas(info))
        candidates.push_back(reduction);
    }
    // First fit, in file order.
    std::vector<Group> groups;
    for (ReductionOp reduction : candidates) {
      bool placed = false;
      for (Group &group : groups)
        if ((placed = tryAdd(group, reduction)))
          break;
      if (placed)
        continue;
      Group group{reduction.getKind(), reduction.getAxis(), reduction.getElementType()};
      if (tryAdd(group, reduction))
        groups.push_back(std::move(group));
    }
    for (Group &group : groups)
      if (group.members.size() >= 2 && !existing.count(memberNames(group.members)))
        fuse(module, symbols, group);
  }
};

} // namespace
