//===- FormulaToArith.h - kconv formula ops to arith/math -------*- C++ -*-===//
//
// The one lowering of kconv's formula ops, shared by the CPU and GPU backends. A formula value of
// type vector<D x T> is D *components*; a component is a scalar T (GPU: one thread, one pair) or a
// vector<L x T> (CPU: L reduced rows in the lanes). The backends build their loop nests with the
// formula ops cloned inside, bind the variables to components (packFormulaValue), read the results
// back (unpackFormulaValue), and run lowerFormulaOps: a 1:N dialect conversion whose patterns
// (populateKconvFormulaToArithPatterns) do broadcasting, reductions over components and the
// elementwise arithmetic generically over T and L, and ask a TargetMath for everything a target
// does its own way (exp, log, sqrt, division, FMA, ...).
//
//===----------------------------------------------------------------------===//
#ifndef KCONV_CONVERSION_FORMULATOARITH_FORMULATOARITH_H
#define KCONV_CONVERSION_FORMULATOARITH_FORMULATOARITH_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/DialectConversion.h"

#include <memory>

namespace mlir::kconv {

class ChunkMapOp;

/// What is known of a formula value's sign (from the ops that define it). The fast exp drops a
/// clamp for arguments known to be <= 0.
class SignFacts {
public:
  /// Computes the facts of every kconv formula value under `root` (one forward walk).
  explicit SignFacts(Operation *root);
  bool isNonPositive(Value v) const { return facts.lookup(v) & kNonPositive; }
  bool isNonNegative(Value v) const { return facts.lookup(v) & kNonNegative; }

private:
  static constexpr unsigned kNonNegative = 1, kNonPositive = 2;
  DenseMap<Value, unsigned> facts;
};

/// The target-math hook: how one target computes the component-wise functions whose best
/// implementation differs between targets (approximate PTX instructions, inline polynomials,
/// libm). `x` is a component (scalar or vector). The defaults are the math dialect's ops with
/// IEEE semantics; every implementation keeps KeOps' values at the special points: NaN in → NaN
/// out, Exp(-inf) = 0, Log(0) = -inf, Rsqrt(0) = 0, 1/0 = inf.
class TargetMath {
public:
  explicit TargetMath(bool fastMath) : fastMath(fastMath) {}
  virtual ~TargetMath();
  bool isFastMath() const { return fastMath; }
  /// Flags of the formula's add/sub/mul (never nnan/ninf: NaN and inf inputs must come through).
  virtual arith::FastMathFlags arithFlags() const { return arith::FastMathFlags::contract; }
  /// e^x; `nonPositive`: x <= 0 is known.
  virtual Value exp(OpBuilder &b, Location loc, Value x, bool nonPositive) const;
  /// 2^x (kconv.exp2, what kconv-fold-exp-scale produces).
  virtual Value exp2(OpBuilder &b, Location loc, Value x) const;
  virtual Value log(OpBuilder &b, Location loc, Value x) const;
  virtual Value sqrt(OpBuilder &b, Location loc, Value x) const;
  /// KeOps' Rsqrt: 0 at 0, 1/sqrt(x) elsewhere.
  virtual Value rsqrt(OpBuilder &b, Location loc, Value x) const;
  virtual Value reciprocal(OpBuilder &b, Location loc, Value x) const;
  virtual Value div(OpBuilder &b, Location loc, Value x, Value y) const;
  virtual Value abs(OpBuilder &b, Location loc, Value x) const;
  /// x * y + z, fused.
  virtual Value fma(OpBuilder &b, Location loc, Value x, Value y, Value z) const;
  /// Rewrites what the hook emitted as placeholders once the formula is lowered (CPU fast math:
  /// math.log → the math dialect's polynomial).
  virtual void finalize(Operation *root) const;

protected:
  bool fastMath;
};

/// NVVM (PTX): fast math uses ex2/lg2/sqrt/rsqrt/rcp/div.approx.ftz; accurate math uses kconv's
/// inline exp/log (no libdevice) and the IEEE sqrt/division.
std::unique_ptr<TargetMath> createNVVMTargetMath(bool fastMath);
/// CPU (LLVM): fast math inlines a Cody-Waite + polynomial exp (AVX-512: 2^n by vscalefps when
/// `avx512Scalef` and the components are 16 f32 lanes) and leaves math.log to the math dialect's
/// polynomial expansion; accurate math keeps math.exp/math.log (libm).
std::unique_ptr<TargetMath> createCPUTargetMath(bool fastMath, bool avx512Scalef);

/// The type of one component of a formula value with element type `elementType`: the scalar
/// (lanes = 0) or vector<lanes x elementType>.
Type getComponentType(Type elementType, int64_t lanes);

/// A constant of type `like` (a scalar, or a vector splat; float or integer elements): the
/// constants of component arithmetic.
Value createConstantLike(OpBuilder &b, Location loc, Type like, double value);

/// vector<D x T> → D components (getComponentType(T, lanes)).
class FormulaTypeConverter : public TypeConverter {
public:
  explicit FormulaTypeConverter(int64_t lanes);
  int64_t getLanes() const { return lanes; }

private:
  int64_t lanes;
};

/// The patterns that lower every kconv formula op (not kconv.reduction / kconv.yield).
void populateKconvFormulaToArithPatterns(const FormulaTypeConverter &converter,
                                         const TargetMath &math, const SignFacts &signs,
                                         RewritePatternSet &patterns);

/// Binds components to a formula value (an unrealized_conversion_cast that lowerFormulaOps
/// consumes): the leaves of the formula ops a backend clones into its kernels.
Value packFormulaValue(OpBuilder &b, Location loc, VectorType formulaType, ValueRange components);
/// The components of formula value `v` (an unrealized_conversion_cast that lowerFormulaOps
/// resolves to the lowered components).
SmallVector<Value> unpackFormulaValue(OpBuilder &b, Location loc, Value v, int64_t lanes);

/// Reads `width` components of variable `variable` (the reduction's block argument number), from
/// component `offset` (an index value) on, packed as a vector<width x T> formula value: how a
/// backend binds the chunks of a variable that a kconv.chunk_sum reads.
using ChunkReader =
    llvm::function_ref<Value(OpBuilder &b, unsigned variable, Value offset, int64_t width)>;

/// Clones the formula of `body` (a kconv.reduction's block, its terminator excepted) at `b`'s
/// insertion point, `mapping` binding the variables read whole; ops whose result is already
/// mapped (a prescaled tile value) are skipped, and on return `mapping` holds every formula
/// value. A kconv.chunk_sum becomes an scf.for over its full chunks whose body reads the
/// operands through `readChunk` and adds the chunk's term (components of `lanes`, as in
/// FormulaTypeConverter), then the narrower last chunk: the code does not grow with the width.
void cloneFormula(OpBuilder &b, Block &body, IRMapping &mapping, int64_t lanes,
                  ChunkReader readChunk);

/// Components [offset, offset + width) of the yield that `chunkMap` computes (a wide output): its
/// body cloned with its variables read by `readChunk`. The formula's other ops must be cloned
/// already (cloneFormula skips the chunk_map itself).
SmallVector<Value> emitChunkMapTerm(OpBuilder &b, ChunkMapOp chunkMap, IRMapping &mapping,
                                    int64_t lanes, ChunkReader readChunk, Value offset,
                                    int64_t width);

/// Reads a chunk in context `context` of fuseChunkSums (one of the backend's register rows or
/// pairs); otherwise as ChunkReader.
using ContextChunkReader = llvm::function_ref<Value(OpBuilder &b, size_t context,
                                                    unsigned variable, Value offset, int64_t width)>;

/// Computes the kconv.chunk_sums of `body` whose terms take nothing from above but variables and
/// constants, in every context at once (`mappings[c]` binds context c's variables): one scf.for
/// per (dimension, chunk) carrying one sum per (context, chunk_sum), so that a chunk of a variable
/// that several contexts share is read once per iteration (the reads of one address CSE) and the
/// loop overhead is paid once. On return each `mappings[c]` maps those chunk_sums, which
/// cloneFormula then skips; the others stay for cloneFormula.
void fuseChunkSums(OpBuilder &b, Block &body, MutableArrayRef<IRMapping> mappings, int64_t lanes,
                   ContextChunkReader readChunk);

/// Lowers every kconv formula op under `root` to arith/math/llvm/vector ops on components and
/// removes the pack/unpack casts. Fails (with a diagnostic) on an op it cannot lower.
LogicalResult lowerFormulaOps(Operation *root, int64_t lanes, const TargetMath &math);

} // namespace mlir::kconv

#endif // KCONV_CONVERSION_FORMULATOARITH_FORMULATOARITH_H
