//===- Combiner.h - the arithmetic of a reduction kind ----------*- C++ -*-===//
//
// What the loop nests of convert-kconv-to-cpu and convert-kconv-to-gpu do with the per-pair
// values, for every reduction kind (docs/reductions.md): a state per output row, its identity,
// how a pair value enters it (`combine`), how two partial states of disjoint reduced ranges meet
// (`merge`: block sums, tile partials, CPU lanes, the small kernel's slices), and the outputs it
// ends as (`finalize`). The backends never test the kind; they ask its Combiner.
//
// A state is a list of slots, each one component: a value (the formula's element type) or an
// index (i32); a component is a scalar (GPU: one thread, one pair) or a vector of L lanes (CPU: L
// reduced rows). Functions whose best form is the target's (exp, log, division) are emitted as
// kconv formula ops on packed components, so that convert-kconv-formula-to-arith lowers them
// with the target's math like the formula itself.
//
//===----------------------------------------------------------------------===//
#ifndef KCONV_CONVERSION_COMBINER_COMBINER_H
#define KCONV_CONVERSION_COMBINER_COMBINER_H

#include "kconv/Dialect/Kconv/IR/KconvOps.h"
#include "mlir/IR/Builders.h"

#include <functional>
#include <memory>

namespace mlir::kconv {

/// Where a combiner emits its arithmetic: a builder, a location, and the component types.
class CombinerBuilder {
public:
  /// `lanes` = 0: scalar components; else vector<lanes x T> components.
  CombinerBuilder(OpBuilder &b, Location loc, Type elementType, int64_t lanes);

  OpBuilder &builder() const { return b; }
  Location getLoc() const { return loc; }
  int64_t getLanes() const { return lanes; }
  Type getElementType() const { return elementType; }
  Type getValueType() const { return valueType; }
  Type getIndexType() const { return indexType; }
  /// The same builder with scalar components (what the CPU's lanes merge into).
  CombinerBuilder scalar() const { return CombinerBuilder(b, loc, elementType, 0); }

  Value value(double v) const;
  Value index(int64_t v) const;
  Value lowest() const; // the largest finite negative value of the element type
  Value less(Value x, Value y) const;      // x < y (ordered: false with a NaN)
  Value lessEqual(Value x, Value y) const; // x <= y (ordered)
  Value equal(Value x, Value y) const;     // x == y (values, ordered; or indices)
  Value indexLess(Value x, Value y) const;
  Value logicalAnd(Value x, Value y) const;
  Value logicalOr(Value x, Value y) const;
  Value select(Value c, Value x, Value y) const;
  Value add(Value x, Value y) const; // contract: a product feeding it may fuse
  Value sub(Value x, Value y) const;
  Value mul(Value x, Value y) const;
  Value neg(Value x) const;
  Value abs(Value x) const;
  Value max(Value x, Value y) const; // x >= y ? x : y
  /// The larger (smaller) of x and y, the other one when one is NaN: one instruction (FMNMX).
  Value maxNum(Value x, Value y) const;
  Value minNum(Value x, Value y) const;
  /// e^x, log x, x / y with the target's math (kconv ops, lowered later).
  Value exp(Value x) const;
  Value exp2(Value x) const;
  Value log(Value x) const;
  Value div(Value x, Value y) const;
  /// Whether `c` holds in some lane (the scalar itself without lanes).
  Value any(Value c) const;
  /// scf.if `c` { then() } else { otherwise() } yielding states of `types`.
  SmallVector<Value> ifElse(Value c, TypeRange types,
                            llvm::function_ref<SmallVector<Value>()> then,
                            llvm::function_ref<SmallVector<Value>()> otherwise) const;

private:
  Value formulaUnary(StringRef kind, Value x) const;
  OpBuilder &b;
  Location loc;
  Type elementType, valueType, indexType;
  int64_t lanes;
};

class Combiner {
public:
  virtual ~Combiner();
  /// The combiner of `reduction`'s kind (its yield dimension and K fix the state's layout).
  static std::unique_ptr<Combiner> get(ReductionOp reduction);
  /// The same kind on a reduced formula of dimension `formulaDim`: one output chunk of a wide
  /// yield (kconv.chunk_map), whose components the kind reduces each on its own.
  static std::unique_ptr<Combiner> get(ReductionOp reduction, int64_t formulaDim);

  size_t numSlots() const { return isIndex.size(); }
  /// The component type of each slot.
  SmallVector<Type> stateTypes(const CombinerBuilder &cb) const;

  /// The state of an empty range.
  virtual SmallVector<Value> identity(const CombinerBuilder &cb) const = 0;
  /// The state of an empty range that will be merged into `running` (a tile's partial state): the
  /// identity, or one closer to `running` where the kind's state has several forms (the shift-exp
  /// kinds start at the running maximum).
  virtual SmallVector<Value> partialIdentity(const CombinerBuilder &cb, ValueRange running) const {
    return identity(cb);
  }
  /// `state` after the pair whose per-pair value (the yield's components) is `pair` and whose
  /// reduced index is `j` (an index component). Within one state, pairs come in increasing j.
  virtual SmallVector<Value> combine(const CombinerBuilder &cb, ValueRange state, ValueRange pair,
                                     Value j) const = 0;
  /// `state` after several pairs (`pairs[u]` at reduced index `js[u]`, increasing): the GPU's
  /// unrolled tile steps. The default combines them one by one; a kind may do better (the
  /// shift-exp kinds take the batch's maximum first, so that no pair waits on a branch).
  virtual SmallVector<Value> combineBatch(const CombinerBuilder &cb, ValueRange state,
                                          ArrayRef<SmallVector<Value>> pairs,
                                          ArrayRef<Value> js) const;
  /// The states of several output rows (`states`: numSlots() each, row after row), each after its
  /// own batch `pairs[r]` at the same reduced indices `js`: the GPU's rows of one thread. The
  /// default is combineBatch row after row; a kind whose batch ends in a rare branch may take one
  /// branch for all rows, so that every row's pair arithmetic stays in one basic block (where
  /// LLVM fuses a product into the subtraction that uses it).
  virtual SmallVector<Value> combineRows(const CombinerBuilder &cb, ValueRange states,
                                         ArrayRef<SmallVector<SmallVector<Value>>> pairs,
                                         ArrayRef<Value> js) const;
  /// How many pairs combineBatch wants at once when a thread combines `rows` rows at a time (1:
  /// it does no better than one combine after the other, and the GPU emits each pair's formula
  /// right before its combine, what the Sum kernels' schedule is tuned on). A batch's values of
  /// all rows are live together: registers bound it.
  virtual unsigned preferredBatch(int64_t rows) const { return 1; }
  /// The state of the union of two disjoint reduced ranges, in either order (ties are decided
  /// by the indices, so that every split gives the same result).
  virtual SmallVector<Value> merge(const CombinerBuilder &cb, ValueRange a,
                                   ValueRange b) const = 0;
  /// The outputs: ReductionOp::getValueDim() value components and getIndexDim() index
  /// components (i32).
  virtual void finalize(const CombinerBuilder &cb, ValueRange state, SmallVectorImpl<Value> &values,
                        SmallVectorImpl<Value> &indices) const = 0;
  /// True when the state is the value output and merges by addition (Sum): partial results can be
  /// added into the output (the CPU's j-blocks, the GPU's split-j atomics).
  virtual bool mergesByAddition() const { return false; }
  /// True when combining is exact whatever the grouping (min/max kinds): a kernel may combine
  /// straight into its running state instead of merging per-tile partial states.
  virtual bool combinesExactly() const { return false; }

  /// `state` with lanes where `mask` is false unchanged (the CPU's partial last vector).
  virtual SmallVector<Value> combineMasked(const CombinerBuilder &cb, ValueRange state,
                                           ValueRange pair, Value j, Value mask) const;
  /// A vector state whose lane 0 holds the merge of all lanes of `state` (CPU; log2 L merges of
  /// rotated copies). It stays a vector state, so that finalize can run on it with the same
  /// component types as the rest of the kernel.
  SmallVector<Value> reduceLanes(const CombinerBuilder &cb, ValueRange state) const;

protected:
  /// Per slot: whether it holds an index (i32) rather than a value.
  SmallVector<bool> isIndex;
};

} // namespace mlir::kconv

#endif // KCONV_CONVERSION_COMBINER_COMBINER_H
