//===- Combiner.cpp - the arithmetic of each reduction kind ---------------===//
//
// Semantics: docs/reductions.md (KeOps' keopscore/formulas/reductions, with ties to the smallest
// index on every split and -1 for "no index").
//
//===----------------------------------------------------------------------===//
#include "kconv/Conversion/Combiner/Combiner.h"
#include "kconv/ABI/Builtins.h"
#include "kconv/Conversion/FormulaToArith/FormulaToArith.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/APFloat.h"

using namespace mlir;
using namespace mlir::kconv;

//===----------------------------------------------------------------------===//
// CombinerBuilder
//===----------------------------------------------------------------------===//

CombinerBuilder::CombinerBuilder(OpBuilder &b, Location loc, Type elementType, int64_t lanes)
    : b(b), loc(loc), elementType(elementType), lanes(lanes) {
  valueType = getComponentType(elementType, lanes);
  indexType = getComponentType(b.getI32Type(), lanes);
}

Value CombinerBuilder::value(double v) const { return createConstantLike(b, loc, valueType, v); }
Value CombinerBuilder::index(int64_t v) const {
  return createConstantLike(b, loc, indexType, double(v));
}
Value CombinerBuilder::lowest() const {
  auto type = cast<FloatType>(elementType);
  APFloat lowest = APFloat::getLargest(type.getFloatSemantics(), /*Negative=*/true);
  TypedAttr attr = b.getFloatAttr(type, lowest);
  if (lanes)
    attr = DenseElementsAttr::get(cast<ShapedType>(valueType), attr);
  return arith::ConstantOp::create(b, loc, attr);
}
Value CombinerBuilder::less(Value x, Value y) const {
  return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, x, y);
}
Value CombinerBuilder::lessEqual(Value x, Value y) const {
  return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLE, x, y);
}
Value CombinerBuilder::equal(Value x, Value y) const {
  if (isa<FloatType>(getElementTypeOrSelf(x.getType())))
    return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, x, y);
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, x, y);
}
Value CombinerBuilder::indexLess(Value x, Value y) const {
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, x, y);
}
Value CombinerBuilder::logicalAnd(Value x, Value y) const {
  return arith::AndIOp::create(b, loc, x, y);
}
Value CombinerBuilder::logicalOr(Value x, Value y) const {
  return arith::OrIOp::create(b, loc, x, y);
}
Value CombinerBuilder::select(Value c, Value x, Value y) const {
  return arith::SelectOp::create(b, loc, c, x, y);
}
Value CombinerBuilder::add(Value x, Value y) const {
  return arith::AddFOp::create(b, loc, x, y, arith::FastMathFlags::contract);
}
Value CombinerBuilder::sub(Value x, Value y) const {
  return arith::SubFOp::create(b, loc, x, y, arith::FastMathFlags::contract);
}
Value CombinerBuilder::mul(Value x, Value y) const {
  return arith::MulFOp::create(b, loc, x, y, arith::FastMathFlags::contract);
}
Value CombinerBuilder::neg(Value x) const { return arith::NegFOp::create(b, loc, x); }
Value CombinerBuilder::abs(Value x) const { return formulaUnary("abs", x); }
Value CombinerBuilder::max(Value x, Value y) const { return select(less(x, y), y, x); }
Value CombinerBuilder::maxNum(Value x, Value y) const {
  return arith::MaxNumFOp::create(b, loc, x, y);
}
Value CombinerBuilder::minNum(Value x, Value y) const {
  return arith::MinNumFOp::create(b, loc, x, y);
}
Value CombinerBuilder::exp(Value x) const { return formulaUnary("exp", x); }
Value CombinerBuilder::exp2(Value x) const { return formulaUnary("exp2", x); }
Value CombinerBuilder::log(Value x) const { return formulaUnary("log", x); }

Value CombinerBuilder::formulaUnary(StringRef kind, Value x) const {
  auto type = getFormulaType(1, elementType);
  Value packed = packFormulaValue(b, loc, type, x);
  Value result = kind == "exp"    ? ExpOp::create(b, loc, type, packed).getResult()
                 : kind == "exp2" ? Exp2Op::create(b, loc, type, packed).getResult()
                 : kind == "log"  ? LogOp::create(b, loc, type, packed).getResult()
                                  : AbsOp::create(b, loc, type, packed).getResult();
  return unpackFormulaValue(b, loc, result, lanes)[0];
}

Value CombinerBuilder::div(Value x, Value y) const {
  auto type = getFormulaType(1, elementType);
  // Each op in its own statement: argument evaluation order would make the IR compiler-dependent.
  Value packedX = packFormulaValue(b, loc, type, x);
  Value packedY = packFormulaValue(b, loc, type, y);
  Value q = DivOp::create(b, loc, packedX, packedY);
  return unpackFormulaValue(b, loc, q, lanes)[0];
}

Value CombinerBuilder::any(Value c) const {
  if (!lanes)
    return c;
  return vector::ReductionOp::create(b, loc, vector::CombiningKind::OR, c);
}

SmallVector<Value> CombinerBuilder::ifElse(Value c, TypeRange types,
                                           llvm::function_ref<SmallVector<Value>()> then,
                                           llvm::function_ref<SmallVector<Value>()> otherwise) const {
  auto op = scf::IfOp::create(b, loc, types, c, /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(op.thenBlock());
  scf::YieldOp::create(b, loc, then());
  b.setInsertionPointToStart(op.elseBlock());
  scf::YieldOp::create(b, loc, otherwise());
  return SmallVector<Value>(op.getResults());
}

//===----------------------------------------------------------------------===//
// Combiner (shared parts)
//===----------------------------------------------------------------------===//

Combiner::~Combiner() = default;

SmallVector<Type> Combiner::stateTypes(const CombinerBuilder &cb) const {
  SmallVector<Type> types;
  for (bool index : isIndex)
    types.push_back(index ? cb.getIndexType() : cb.getValueType());
  return types;
}

SmallVector<Value> Combiner::combineMasked(const CombinerBuilder &cb, ValueRange state,
                                           ValueRange pair, Value j, Value mask) const {
  SmallVector<Value> next = combine(cb, state, pair, j);
  for (auto [n, old] : llvm::zip(next, state))
    n = cb.select(mask, n, old);
  return next;
}

SmallVector<Value> Combiner::combineBatch(const CombinerBuilder &cb, ValueRange state,
                                          ArrayRef<SmallVector<Value>> pairs,
                                          ArrayRef<Value> js) const {
  SmallVector<Value> s(state);
  for (auto [pair, j] : llvm::zip(pairs, js))
    s = combine(cb, s, pair, j);
  return s;
}

SmallVector<Value> Combiner::combineRows(const CombinerBuilder &cb, ValueRange states,
                                         ArrayRef<SmallVector<SmallVector<Value>>> pairs,
                                         ArrayRef<Value> js) const {
  const size_t slots = numSlots();
  SmallVector<Value> next;
  for (auto [r, rowPairs] : llvm::enumerate(pairs))
    next.append(combineBatch(cb, states.slice(r * slots, slots), rowPairs, js));
  return next;
}

SmallVector<Value> Combiner::reduceLanes(const CombinerBuilder &cb, ValueRange state) const {
  SmallVector<Value> s(state);
  const int64_t lanes = cb.getLanes();
  for (int64_t step = lanes / 2; step >= 1; step /= 2) {
    SmallVector<int64_t> rotation(lanes);
    for (int64_t l = 0; l < lanes; ++l)
      rotation[l] = (l + step) % lanes;
    SmallVector<Value> rotated;
    for (Value slot : s)
      rotated.push_back(
          vector::ShuffleOp::create(cb.builder(), cb.getLoc(), slot, slot, rotation));
    s = merge(cb, s, rotated);
  }
  return s;
}

namespace {

//===----------------------------------------------------------------------===//
// Sum
//===----------------------------------------------------------------------===//

class SumCombiner final : public Combiner {
public:
  explicit SumCombiner(int64_t dim) {
    isIndex.assign(dim, false);
  }
  SmallVector<Value> identity(const CombinerBuilder &cb) const override {
    return SmallVector<Value>(numSlots(), cb.value(0.0));
  }
  SmallVector<Value> combine(const CombinerBuilder &cb, ValueRange state, ValueRange pair,
                             Value) const override {
    return merge(cb, state, pair);
  }
  SmallVector<Value> merge(const CombinerBuilder &cb, ValueRange a, ValueRange b) const override {
    SmallVector<Value> r;
    for (auto [x, y] : llvm::zip(a, b))
      r.push_back(cb.add(x, y));
    return r;
  }
  void finalize(const CombinerBuilder &, ValueRange state, SmallVectorImpl<Value> &values,
                SmallVectorImpl<Value> &) const override {
    values.append(state.begin(), state.end());
  }
  bool mergesByAddition() const override { return true; }
  /// Masked lanes add 0: the select comes before the add, which may then fuse with the formula's
  /// last product.
  SmallVector<Value> combineMasked(const CombinerBuilder &cb, ValueRange state, ValueRange pair,
                                   Value, Value mask) const override {
    Value zero = cb.value(0.0);
    SmallVector<Value> kept;
    for (Value v : pair)
      kept.push_back(cb.select(mask, v, zero));
    return merge(cb, state, kept);
  }
};

//===----------------------------------------------------------------------===//
// Min, Max, ArgMin, ArgMax, Min_ArgMin, Max_ArgMax, KMin, ArgKMin, KMin_ArgKMin
//===----------------------------------------------------------------------===//

/// The K smallest (or largest) values of each of the F components, in order, with their indices
/// (K = 1 for Min/Max/ArgMin/...). Slots: values [K][F], then, when indices are kept, indices
/// [K][F]. Unfilled entries hold +inf (-inf for max) and index -1.
class SelectCombiner final : public Combiner {
public:
  SelectCombiner(int64_t dim, int64_t k, bool largest, bool trackIndices, bool outputValues,
                 bool outputIndices)
      : dim(dim), k(k), largest(largest), trackIndices(trackIndices), outputValues(outputValues),
        outputIndices(outputIndices) {
    isIndex.assign(k * dim, false);
    if (trackIndices)
      isIndex.append(k * dim, true);
  }

  SmallVector<Value> identity(const CombinerBuilder &cb) const override {
    SmallVector<Value> s(k * dim, cb.value(largest ? -INFINITY : INFINITY));
    if (trackIndices)
      s.append(k * dim, cb.index(-1));
    return s;
  }

  SmallVector<Value> combine(const CombinerBuilder &cb, ValueRange state, ValueRange pair,
                             Value j) const override {
    SmallVector<Value> s(state);
    for (int64_t c = 0; c < dim; ++c) {
      // Pairs come in increasing j: a value equal to an entry goes after it (strict order).
      auto before = [&](Value v, Value, int64_t entry) {
        return better(cb, v, s[entry * dim + c]);
      };
      if (k == 1) {
        Value takes = before(pair[c], j, 0);
        s[c] = cb.select(takes, pair[c], s[c]);
        if (trackIndices)
          s[k * dim + c] = cb.select(takes, j, s[k * dim + c]);
        continue;
      }
      // K-lists: insertion only when the candidate beats the last entry (rare for random data
      // once the list holds K values), branch-free within the insertion.
      Value enters = cb.any(before(pair[c], j, k - 1));
      SmallVector<Value> column = columnOf(s, c);
      SmallVector<Value> inserted = cb.ifElse(
          enters, ValueRange(column).getTypes(),
          [&] { return insert(cb, column, pair[c], j, /*withIndexTies=*/false); },
          [&] { return column; });
      setColumn(s, c, inserted);
    }
    return s;
  }

  /// K-lists: batches of 4 pairs per test, 2 for long lists in one-row kernels (the small-N
  /// ones, where candidates still enter often and a taken batch inserts each of its pairs). H200:
  /// ArgKMin K = 10 at 10^4 (one row) 0.306 -> 0.291 ms with 2; batches of 2 with 2 rows at 10^6:
  /// 383 ms against 330; KMin_ArgKMin K = 3 at 10^5 (one row): 5.41 ms with 4, 6.23 with 2.
  unsigned preferredBatch(int64_t rows) const override {
    return k == 1 ? 1 : rows == 1 && k >= 8 ? 2 : 4;
  }
  /// K-lists: one test per batch whether its best candidate beats the last entry (a branch
  /// rarely taken for random data), then the batch's candidates inserted in index order.
  SmallVector<Value> combineBatch(const CombinerBuilder &cb, ValueRange state,
                                  ArrayRef<SmallVector<Value>> pairs,
                                  ArrayRef<Value> js) const override {
    if (k == 1 || pairs.size() == 1)
      return Combiner::combineBatch(cb, state, pairs, js);
    SmallVector<Value> s(state);
    for (int64_t c = 0; c < dim; ++c) {
      Value enters = cb.any(batchEnters(cb, s, pairs, c));
      SmallVector<Value> column = columnOf(s, c);
      SmallVector<Value> inserted = cb.ifElse(
          enters, ValueRange(column).getTypes(),
          [&] {
            SmallVector<Value> updated = column;
            for (auto [pair, j] : llvm::zip(pairs, js))
              updated = insert(cb, updated, pair[c], j, /*withIndexTies=*/false);
            return updated;
          },
          [&] { return column; });
      setColumn(s, c, inserted);
    }
    return s;
  }

  /// K-lists of several rows: one test for all rows' batches, the rows' own tests inside it.
  /// The fast path is one branch per batch, and the batch's indices, used by insertions only,
  /// are computed in the rare path (H200, ArgKMin K = 10 at 10^6, 2 rows: 9.1 -> 8.2 SASS
  /// instructions per pair, 334.6 -> 319.6 ms).
  SmallVector<Value> combineRows(const CombinerBuilder &cb, ValueRange states,
                                 ArrayRef<SmallVector<SmallVector<Value>>> pairs,
                                 ArrayRef<Value> js) const override {
    if (k == 1 || pairs.size() == 1 || js.size() == 1)
      return Combiner::combineRows(cb, states, pairs, js);
    const size_t slots = numSlots();
    Value enters;
    for (auto [r, rowPairs] : llvm::enumerate(pairs))
      for (int64_t c = 0; c < dim; ++c) {
        Value row = cb.any(batchEnters(cb, states.slice(r * slots, slots), rowPairs, c));
        enters = enters ? cb.logicalOr(enters, row) : row;
      }
    return cb.ifElse(
        enters, states.getTypes(), [&] { return Combiner::combineRows(cb, states, pairs, js); },
        [&] { return SmallVector<Value>(states); });
  }

  SmallVector<Value> merge(const CombinerBuilder &cb, ValueRange a,
                           ValueRange b) const override {
    SmallVector<Value> s(a);
    for (int64_t c = 0; c < dim; ++c) {
      SmallVector<Value> column = columnOf(s, c), other = columnOf(b, c);
      for (int64_t e = 0; e < k; ++e)
        column = insert(cb, column, other[e], trackIndices ? other[k + e] : Value(),
                        /*withIndexTies=*/true);
      setColumn(s, c, column);
    }
    return s;
  }

  void finalize(const CombinerBuilder &, ValueRange state, SmallVectorImpl<Value> &values,
                SmallVectorImpl<Value> &indices) const override {
    if (outputValues)
      values.append(state.begin(), state.begin() + k * dim);
    if (outputIndices)
      indices.append(state.begin() + k * dim, state.end());
  }

  bool combinesExactly() const override { return true; }

private:
  /// v strictly better than w (NaN never is).
  Value better(const CombinerBuilder &cb, Value v, Value w) const {
    return largest ? cb.less(w, v) : cb.less(v, w);
  }
  /// Whether the best of a batch's candidates for component c beats the K-list's last entry.
  /// minNum/maxNum skip NaN candidates; the best is NaN only when all are, and then never better.
  Value batchEnters(const CombinerBuilder &cb, ValueRange state,
                    ArrayRef<SmallVector<Value>> pairs, int64_t c) const {
    Value best = pairs.front()[c];
    for (const SmallVector<Value> &pair : pairs.drop_front())
      best = largest ? cb.maxNum(best, pair[c]) : cb.minNum(best, pair[c]);
    return better(cb, best, state[(k - 1) * dim + c]);
  }
  /// (v, i) goes before (w, l): better, or equal with a smaller index.
  Value goesBefore(const CombinerBuilder &cb, Value v, Value i, Value w, Value l,
                   bool withIndexTies) const {
    Value b = better(cb, v, w);
    if (!withIndexTies || !trackIndices)
      return b;
    Value tie = cb.equal(v, w);
    Value earlier = indexBefore(cb, i, l);
    return cb.logicalOr(b, cb.logicalAnd(tie, earlier));
  }
  /// Index i before index l, with -1 ("none") after everything.
  Value indexBefore(const CombinerBuilder &cb, Value i, Value l) const {
    Value none = cb.index(-1);
    Value iValid = arith::CmpIOp::create(cb.builder(), cb.getLoc(), arith::CmpIPredicate::ne, i,
                                         none);
    Value lNone = cb.equal(l, none);
    Value smaller = cb.indexLess(i, l);
    return cb.logicalAnd(iValid, cb.logicalOr(lNone, smaller));
  }
  /// Component c's entries: K values, then K indices.
  SmallVector<Value> columnOf(ValueRange s, int64_t c) const {
    SmallVector<Value> column;
    for (int64_t e = 0; e < k; ++e)
      column.push_back(s[e * dim + c]);
    if (trackIndices)
      for (int64_t e = 0; e < k; ++e)
        column.push_back(s[k * dim + e * dim + c]);
    return column;
  }
  void setColumn(SmallVectorImpl<Value> &s, int64_t c, ArrayRef<Value> column) const {
    for (int64_t e = 0; e < k; ++e)
      s[e * dim + c] = column[e];
    if (trackIndices)
      for (int64_t e = 0; e < k; ++e)
        s[k * dim + e * dim + c] = column[k + e];
  }
  /// The sorted column with (v, i) inserted at its place and the last entry dropped: entry e
  /// becomes v where (v, i) goes before entry e but not before entry e-1, entry e-1 where it goes
  /// before entry e-1, else stays (the goes-before flags are monotone in e on a sorted column).
  SmallVector<Value> insert(const CombinerBuilder &cb, ArrayRef<Value> column, Value v, Value i,
                            bool withIndexTies) const {
    SmallVector<Value> flags;
    for (int64_t e = 0; e < k; ++e)
      flags.push_back(goesBefore(cb, v, i, column[e], trackIndices ? column[k + e] : Value(),
                                 withIndexTies));
    SmallVector<Value> out(column);
    for (int64_t e = 0; e < k; ++e) {
      Value here = cb.select(flags[e], v, column[e]);
      out[e] = e ? cb.select(flags[e - 1], column[e - 1], here) : here;
      if (trackIndices) {
        Value hereIndex = cb.select(flags[e], i, column[k + e]);
        out[k + e] = e ? cb.select(flags[e - 1], column[k + e - 1], hereIndex) : hereIndex;
      }
    }
    return out;
  }

  int64_t dim, k;
  bool largest, trackIndices, outputValues, outputIndices;
};

//===----------------------------------------------------------------------===//
// LogSumExp, Max_SumShiftExpWeight, SumSoftMaxWeight
//===----------------------------------------------------------------------===//

constexpr double kLog2E = 1.4426950408889634, kLn2 = 0.69314718055994531;

/// KeOps' Max_SumShiftExpWeight on Concat(f, g): m = max f, s = Σ exp(f - m)·w with w = g, or
/// w = Concat(1, g) for SumSoftMaxWeight. m starts at the lowest finite value rather than -inf,
/// so that f = -inf terms give exp(-inf) = 0 exactly instead of exp(-inf + inf) = NaN. With
/// `log2_exponent` (kconv-fold-exp-scale) f and m are in log2 units and every exp is 2^x.
/// Only the outputs fix m: for LogSumExp and SumSoftMaxWeight any m with s = Σ exp(f - m)·w is
/// the same state, so a partial state may start at the running m and s = 0.
class ShiftExpCombiner final : public Combiner {
public:
  enum class Output { LogSumExp, MaxAndSums, SoftMax };
  /// `unitWeight`: g is the constant 1 (LogSumExp without g), so that the first sum is Σ exp.
  ShiftExpCombiner(int64_t weightDim, Output output, bool log2Exponent, bool unitWeight)
      : weightDim(weightDim), output(output), leadingOne(output == Output::SoftMax),
        log2Exponent(log2Exponent),
        boundedBySum(output != Output::MaxAndSums && (leadingOne || unitWeight)) {
    isIndex.assign(1 + sums(), false);
  }

  SmallVector<Value> identity(const CombinerBuilder &cb) const override {
    SmallVector<Value> s = {cb.lowest()};
    s.append(sums(), cb.value(0.0));
    return s;
  }

  SmallVector<Value> partialIdentity(const CombinerBuilder &cb,
                                     ValueRange running) const override {
    if (output == Output::MaxAndSums)
      return identity(cb);
    SmallVector<Value> s = {running[0]};
    s.append(sums(), cb.value(0.0));
    return s;
  }

  SmallVector<Value> combine(const CombinerBuilder &cb, ValueRange state, ValueRange pair,
                             Value) const override {
    Value m = state[0], f = pair[0];
    SmallVector<Value> w = weights(cb, pair);
    SmallVector<Type> types = stateTypes(cb);
    // A new maximum (rare once the running maximum is near the top): rescale the sums.
    return cb.ifElse(
        cb.any(cb.less(m, f)), types,
        [&] {
          // Lane by lane: the larger of (m, f) stays the shift, the other's terms are scaled by
          // e = exp(-|f - m|) <= 1.
          Value grows = cb.less(m, f);
          Value e = expOf(cb, cb.neg(cb.abs(cb.sub(f, m))));
          SmallVector<Value> s = {cb.select(grows, f, m)};
          for (int64_t k = 0; k < sums(); ++k) {
            Value rescaled = cb.add(cb.mul(state[1 + k], e), w[k]);
            Value added = cb.add(state[1 + k], cb.mul(w[k], e));
            s.push_back(cb.select(grows, rescaled, added));
          }
          return s;
        },
        [&] {
          Value e = expOf(cb, cb.sub(f, m));
          SmallVector<Value> s = {m};
          for (int64_t k = 0; k < sums(); ++k)
            s.push_back(cb.add(state[1 + k], leadingOne && k == 0 ? e : cb.mul(w[k], e)));
          return s;
        });
  }

  /// H200, LogSumExp at N = 10^6: 8 pairs for up to 2 rows (2 rows: 354 ms; 4 pairs: 374), 4
  /// for more (4 rows: 8 pairs need 80 registers, 408 ms; 4 pairs 64 registers, 386 ms).
  unsigned preferredBatch(int64_t rows) const override { return rows > 2 ? 4 : 8; }
  /// Where the first sum is Σ exp(f - m) (it bounds every term), the batch is added at the
  /// running m with no test before it: the sum reaches 2^32 only when some f exceeds m by ~22
  /// (m is still the initial lowest, or a larger f arrived), and then the batch is redone from
  /// `state` the exact way. No pair waits on a maximum; one comparison per batch. (2^32, not
  /// more: a weight g times a term stays finite for |g| < 2^96.)
  SmallVector<Value> combineBatch(const CombinerBuilder &cb, ValueRange state,
                                  ArrayRef<SmallVector<Value>> pairs,
                                  ArrayRef<Value> js) const override {
    return combineRows(cb, state, {SmallVector<SmallVector<Value>>(pairs)}, js);
  }
  /// One test for all rows: the rows' exact redo is the rare path.
  SmallVector<Value> combineRows(const CombinerBuilder &cb, ValueRange states,
                                 ArrayRef<SmallVector<SmallVector<Value>>> pairs,
                                 ArrayRef<Value> js) const override {
    const size_t slots = numSlots();
    auto rowState = [&](size_t r) { return states.slice(r * slots, slots); };
    SmallVector<Value> fast;
    if (js.size() == 1 || !boundedBySum) {
      for (auto [r, rowPairs] : llvm::enumerate(pairs))
        fast.append(js.size() == 1 ? combine(cb, rowState(r), rowPairs[0], js[0])
                                   : exactBatch(cb, rowState(r), rowPairs));
      return fast;
    }
    Value redo;
    for (auto [r, rowPairs] : llvm::enumerate(pairs)) {
      SmallVector<Value> s = addTerms(cb, rowState(r), rowPairs);
      // Ordered: a NaN sum (a NaN f) stays, as the exact way would leave it.
      Value big = cb.any(cb.lessEqual(cb.value(0x1p32), s[1]));
      redo = redo ? cb.logicalOr(redo, big) : big;
      fast.append(s);
    }
    SmallVector<Type> types;
    for (size_t r = 0; r < pairs.size(); ++r)
      types.append(stateTypes(cb));
    return cb.ifElse(
        redo, types,
        [&] {
          SmallVector<Value> exact;
          for (auto [r, rowPairs] : llvm::enumerate(pairs))
            exact.append(normalized(cb, exactBatch(cb, rowState(r), rowPairs)));
          return exact;
        },
        [&] { return fast; });
  }

  SmallVector<Value> merge(const CombinerBuilder &cb, ValueRange a, ValueRange b) const override {
    Value aLarger = cb.lessEqual(b[0], a[0]);
    Value e = expOf(cb, cb.neg(cb.abs(cb.sub(a[0], b[0]))));
    SmallVector<Value> s = {cb.select(aLarger, a[0], b[0])};
    for (int64_t k = 1; k <= sums(); ++k) {
      Value intoA = cb.add(a[k], cb.mul(b[k], e));
      Value intoB = cb.add(cb.mul(a[k], e), b[k]);
      s.push_back(cb.select(aLarger, intoA, intoB));
    }
    return s;
  }

  void finalize(const CombinerBuilder &cb, ValueRange state, SmallVectorImpl<Value> &values,
                SmallVectorImpl<Value> &) const override {
    Value m = state[0];
    switch (output) {
    case Output::LogSumExp:
      // log 0 = -inf: an empty (or all -inf) range gives -inf.
      if (log2Exponent)
        m = cb.mul(m, cb.value(kLn2));
      for (int64_t k = 0; k < weightDim; ++k)
        values.push_back(cb.add(m, cb.log(state[1 + k])));
      break;
    case Output::MaxAndSums: {
      Value empty = cb.equal(m, cb.lowest());
      Value minusInf = cb.value(-INFINITY);
      values.push_back(cb.select(empty, minusInf, m));
      values.append(state.begin() + 1, state.end());
      break;
    }
    case Output::SoftMax:
      for (int64_t k = 0; k < weightDim; ++k)
        values.push_back(cb.div(state[2 + k], state[1]));
      break;
    }
  }

private:
  int64_t sums() const { return weightDim + (leadingOne ? 1 : 0); }
  /// exp(x), with x in log2 units under log2_exponent.
  Value expOf(const CombinerBuilder &cb, Value x) const {
    return log2Exponent ? cb.exp2(x) : cb.exp(x);
  }
  /// The weight of each sum: pair = Concat(f, g); SumSoftMaxWeight's first sum weighs 1.
  SmallVector<Value> weights(const CombinerBuilder &cb, ValueRange pair) const {
    SmallVector<Value> w;
    if (leadingOne)
      w.push_back(cb.value(1.0));
    w.append(pair.begin() + 1, pair.end());
    return w;
  }
  /// `state` plus each pair's w·exp(f - m) at the state's m: one fused multiply-add and a
  /// native 2^x per pair (exp(f - m) = 2^(f log2 e - m log2 e) when f is in natural units).
  SmallVector<Value> addTerms(const CombinerBuilder &cb, ValueRange state,
                              ArrayRef<SmallVector<Value>> pairs) const {
    SmallVector<Value> s(state);
    Value log2e = cb.value(kLog2E);
    // Clamped: m log2 e of the initial lowest m overflows to -inf, and -inf - -inf is NaN.
    Value shift = log2Exponent ? s[0] : cb.max(cb.mul(s[0], log2e), cb.lowest());
    for (const SmallVector<Value> &pair : pairs) {
      Value e = cb.exp2(cb.sub(log2Exponent ? pair[0] : cb.mul(pair[0], log2e), shift));
      for (int64_t k = 0; k < sums(); ++k) {
        Value w = leadingOne ? (k == 0 ? Value() : pair[k]) : pair[1 + k];
        s[1 + k] = cb.add(s[1 + k], w ? cb.mul(w, e) : e);
      }
    }
    return s;
  }
  /// The batch's largest f first: one (rare) rescaling per batch, then every pair adds
  /// w·exp(f - m) with no branch between them.
  SmallVector<Value> exactBatch(const CombinerBuilder &cb, ValueRange state,
                                ArrayRef<SmallVector<Value>> pairs) const {
    Value top = pairs[0][0];
    for (const SmallVector<Value> &pair : pairs.drop_front())
      top = cb.maxNum(top, pair[0]); // a NaN f is not a maximum (it reaches the sums)
    Value grows = cb.less(state[0], top);
    SmallVector<Value> s = cb.ifElse(
        cb.any(grows), stateTypes(cb),
        [&] {
          Value m = cb.select(grows, top, state[0]);
          Value e = expOf(cb, cb.sub(state[0], m));
          SmallVector<Value> r = {m};
          for (int64_t k = 0; k < sums(); ++k)
            r.push_back(cb.mul(state[1 + k], e));
          return r;
        },
        [&] { return SmallVector<Value>(state); });
    return addTerms(cb, s, pairs);
  }
  /// The same state with m raised by log Σ exp(f - m) when that sum exceeds 1 (terms added
  /// above m by the optimistic batches), so that the next batches start below the 2^32 test.
  SmallVector<Value> normalized(const CombinerBuilder &cb, ValueRange state) const {
    Value logSum = log2Exponent ? cb.mul(cb.log(state[1]), cb.value(kLog2E))
                                : cb.log(state[1]);
    Value m = cb.max(state[0], cb.add(state[0], logSum));
    Value e = expOf(cb, cb.sub(state[0], m));
    SmallVector<Value> s = {m};
    for (int64_t k = 0; k < sums(); ++k)
      s.push_back(cb.mul(state[1 + k], e));
    return s;
  }

  int64_t weightDim;
  Output output;
  bool leadingOne, log2Exponent, boundedBySum;
};

} // namespace

/// Whether a weighted kind's yield is Concat(f, 1): the frontend's form of a kind without g.
static bool hasUnitWeight(ReductionOp reduction) {
  auto cat = reduction.getYield().getValue().getDefiningOp<ConcatOp>();
  auto one = cat ? cat.getRhs().getDefiningOp<mlir::kconv::ConstantOp>() : mlir::kconv::ConstantOp();
  return one && one.getValue().convertToDouble() == 1.0;
}

std::unique_ptr<Combiner> Combiner::get(ReductionOp reduction) {
  return get(reduction, reduction.getReducedFormulaDim());
}

std::unique_ptr<Combiner> Combiner::get(ReductionOp reduction, int64_t f) {
  int64_t k = reduction.getKOrOne();
  using Kind = ReductionKind;
  auto shiftExp = [&](ShiftExpCombiner::Output output) {
    return std::make_unique<ShiftExpCombiner>(f, output, reduction.getLog2Exponent(),
                                              hasUnitWeight(reduction));
  };
  switch (reduction.getKind()) {
  case Kind::Sum:
    return std::make_unique<SumCombiner>(f);
  case Kind::Min:
  case Kind::Max:
    return std::make_unique<SelectCombiner>(f, 1, reduction.getKind() == Kind::Max,
                                            /*trackIndices=*/false, true, false);
  case Kind::ArgMin:
  case Kind::ArgMax:
    return std::make_unique<SelectCombiner>(f, 1, reduction.getKind() == Kind::ArgMax, true,
                                            false, true);
  case Kind::MinArgMin:
  case Kind::MaxArgMax:
    return std::make_unique<SelectCombiner>(f, 1, reduction.getKind() == Kind::MaxArgMax, true,
                                            true, true);
  case Kind::KMin:
    return std::make_unique<SelectCombiner>(f, k, false, true, true, false);
  case Kind::ArgKMin:
    return std::make_unique<SelectCombiner>(f, k, false, true, false, true);
  case Kind::KMinArgKMin:
    return std::make_unique<SelectCombiner>(f, k, false, true, true, true);
  case Kind::LogSumExp:
    return shiftExp(ShiftExpCombiner::Output::LogSumExp);
  case Kind::MaxSumShiftExp:
    return shiftExp(ShiftExpCombiner::Output::MaxAndSums);
  case Kind::SumSoftMaxWeight:
    return shiftExp(ShiftExpCombiner::Output::SoftMax);
  }
  llvm_unreachable("a reduction kind without a combiner");
}
