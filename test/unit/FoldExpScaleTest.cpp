//===- FoldExpScaleTest.cpp - kconv-fold-exp-scale keeps the formula's value ----------------===//
//
// kconv-fold-exp-scale is an algebraic identity (Exp(x) = Exp2(log2(e)·x) and the factor moved
// through the formula), so the folded formula must compute what the original does up to rounding.
// A small float64 interpreter of the kconv ops evaluates both on random inputs: every formula of
// the test inputs the GPU lowering folds today (lit tests, examples, benchmark formulas), random
// formulas, and a 10,000-op chain. Tolerance: 1e-12 relative to the result (float64 rounding of
// a few dozen operations, no cancellation: positive variables), for the random formulas, which
// subtract values of any size, relative to the largest intermediate value.
//
//===----------------------------------------------------------------------===//
#include "kconv/Dialect/Kconv/IR/KconvDialect.h"
#include "kconv/Dialect/Kconv/IR/KconvOps.h"
#include "kconv/Dialect/Kconv/Transforms/Passes.h"
#include "kconv/Frontend/FormulaParser.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace mlir;
using namespace mlir::kconv;

namespace {

using Vec = std::vector<double>;

/// Elementwise with KeOps broadcasting (one side of dimension 1).
template <typename F> Vec zip(const Vec &a, const Vec &b, F f) {
  size_t n = std::max(a.size(), b.size());
  Vec r(n);
  for (size_t k = 0; k < n; ++k)
    r[k] = f(a[a.size() == 1 ? 0 : k], b[b.size() == 1 ? 0 : k]);
  return r;
}
template <typename F> Vec map(Vec a, F f) {
  for (double &x : a)
    x = f(x);
  return a;
}

/// Evaluates one pair of the reduction's formula in float64. `vars[k]` is block argument k.
/// `magnitude`, if given, receives the largest |component| of the yield and of every value it
/// depends on: the scale of the rounding errors where a difference cancels.
Vec evaluate(ReductionOp red, const std::vector<Vec> &vars, double *magnitude = nullptr) {
  Block &body = red.getBody().front();
  llvm::DenseMap<Value, Vec> values;
  llvm::DenseMap<Value, double> magnitudes;
  auto largest = [](const Vec &v) {
    double m = 0;
    for (double x : v)
      m = std::max(m, std::fabs(x));
    return m;
  };
  for (BlockArgument arg : body.getArguments()) {
    values[arg] = vars[arg.getArgNumber()];
    magnitudes[arg] = largest(values[arg]);
  }
  auto in = [&](Operation *op, unsigned k) -> const Vec & { return values.at(op->getOperand(k)); };
  auto dot = [](const Vec &a, const Vec &b) {
    double s = 0;
    for (double x : zip(a, b, [](double p, double q) { return p * q; }))
      s += x;
    return s;
  };
  for (Operation &op : body.without_terminator()) {
    Vec r =
        llvm::TypeSwitch<Operation *, Vec>(&op)
            .Case<mlir::kconv::ConstantOp>(
                [](mlir::kconv::ConstantOp o) { return Vec{o.getValue().convertToDouble()}; })
            .Case<AddOp>([&](Operation *o) {
              return zip(in(o, 0), in(o, 1), [](double a, double b) { return a + b; });
            })
            .Case<SubOp>([&](Operation *o) {
              return zip(in(o, 0), in(o, 1), [](double a, double b) { return a - b; });
            })
            .Case<MulOp>([&](Operation *o) {
              return zip(in(o, 0), in(o, 1), [](double a, double b) { return a * b; });
            })
            .Case<DivOp>([&](Operation *o) {
              return zip(in(o, 0), in(o, 1), [](double a, double b) { return a / b; });
            })
            .Case<NegOp>([&](Operation *o) { return map(in(o, 0), [](double x) { return -x; }); })
            .Case<ExpOp>(
                [&](Operation *o) { return map(in(o, 0), [](double x) { return std::exp(x); }); })
            .Case<Exp2Op>(
                [&](Operation *o) { return map(in(o, 0), [](double x) { return std::exp2(x); }); })
            .Case<LogOp>(
                [&](Operation *o) { return map(in(o, 0), [](double x) { return std::log(x); }); })
            .Case<SqrtOp>(
                [&](Operation *o) { return map(in(o, 0), [](double x) { return std::sqrt(x); }); })
            .Case<RsqrtOp>([&](Operation *o) {
              return map(in(o, 0), [](double x) { return x == 0 ? 0.0 : 1 / std::sqrt(x); });
            })
            .Case<SquareOp>(
                [&](Operation *o) { return map(in(o, 0), [](double x) { return x * x; }); })
            .Case<InvOp>(
                [&](Operation *o) { return map(in(o, 0), [](double x) { return 1 / x; }); })
            .Case<AbsOp>(
                [&](Operation *o) { return map(in(o, 0), [](double x) { return std::fabs(x); }); })
            .Case<PowOp>([&](PowOp o) {
              // (The I64Attr getter returns it unsigned.)
              double n = static_cast<double>(static_cast<int64_t>(o.getExponent()));
              return map(in(o, 0), [n](double x) { return std::pow(x, n); });
            })
            .Case<SumOp>([&](Operation *o) {
              double s = 0;
              for (double x : in(o, 0))
                s += x;
              return Vec{s};
            })
            .Case<SqNorm2Op>([&](Operation *o) { return Vec{dot(in(o, 0), in(o, 0))}; })
            .Case<Norm2Op>([&](Operation *o) { return Vec{std::sqrt(dot(in(o, 0), in(o, 0)))}; })
            .Case<SqDistOp>([&](Operation *o) {
              Vec d = zip(in(o, 0), in(o, 1), [](double a, double b) { return a - b; });
              return Vec{dot(d, d)};
            })
            .Case<ScalprodOp>([&](Operation *o) { return Vec{dot(in(o, 0), in(o, 1))}; })
            .Case<ElemOp>([&](ElemOp o) { return Vec{in(o, 0)[o.getIndex()]}; })
            .Case<ConcatOp>([&](Operation *o) {
              Vec r = in(o, 0);
              const Vec &b = in(o, 1);
              r.insert(r.end(), b.begin(), b.end());
              return r;
            })
            .Default([](Operation *o) -> Vec {
              ADD_FAILURE() << "the interpreter does not know "
                            << o->getName().getStringRef().str();
              return Vec{NAN};
            });
    double m = largest(r);
    for (Value v : op.getOperands())
      m = std::max(m, magnitudes.at(v));
    magnitudes[op.getResult(0)] = m;
    values[op.getResult(0)] = std::move(r);
  }
  if (magnitude)
    *magnitude = magnitudes.at(red.getYield().getValue());
  Vec yield = values.at(red.getYield().getValue());
  // The pass gives a LogSumExp / SumSoftMaxWeight f in log2 units (log2_exponent).
  if (red.getLog2Exponent())
    yield[0] /= 1.4426950408889634;
  return yield;
}

/// The number of Exps that the yield depends on (the pass erases dead ones, live ones become Exp2).
int liveExps(ReductionOp red) {
  Block &body = red.getBody().front();
  llvm::DenseSet<Value> live{red.getYield().getValue()};
  int count = 0;
  for (Operation &op : llvm::reverse(body.without_terminator())) {
    if (!live.contains(op.getResult(0)))
      continue;
    count += isa<ExpOp>(op);
    for (Value v : op.getOperands())
      live.insert(v);
  }
  return count;
}

class FoldExpScaleTest : public ::testing::Test {
protected:
  FoldExpScaleTest() { context.loadDialect<KconvDialect>(); }

  OwningOpRef<ModuleOp> parseMlir(const std::string &text, const std::string &name) {
    return parseSourceString<ModuleOp>(text, &context, name);
  }

  OwningOpRef<ModuleOp> parseFile(const std::string &relative) {
    std::string path = std::string(KCONV_SOURCE_DIR) + "/" + relative;
    auto buffer = llvm::MemoryBuffer::getFile(path);
    if (!buffer) {
      ADD_FAILURE() << "cannot read " << path;
      return nullptr;
    }
    if (llvm::StringRef(path).ends_with(".kconv")) {
      llvm::SourceMgr sourceMgr;
      sourceMgr.AddNewSourceBuffer(std::move(*buffer), llvm::SMLoc());
      return ::kconv::parseFormulaFile(sourceMgr, &context);
    }
    return parseMlir((*buffer)->getBuffer().str(), path);
  }

  /// Runs the pass (after kconv-simplify if `simplify`) on a copy of `module`.
  OwningOpRef<ModuleOp> fold(ModuleOp module, bool simplify) {
    OwningOpRef<ModuleOp> copy = module.clone();
    PassManager pm(&context);
    if (simplify)
      pm.addNestedPass<ReductionOp>(createKconvSimplify());
    pm.addNestedPass<ReductionOp>(createKconvFoldExpScale());
    EXPECT_TRUE(succeeded(pm.run(*copy)));
    return copy;
  }

  /// Compares every reduction of `original` and `folded` (same order) on `trials` random pairs,
  /// with a tolerance of 1e-12 relative to the result, or where `cancels` (random formulas
  /// subtract values of any size) to the largest intermediate value. Returns the number of
  /// reductions that had an Exp.
  int compare(ModuleOp original, ModuleOp folded, const std::string &what, double lo, double hi,
              int trials, bool cancels) {
    auto a = llvm::to_vector(original.getOps<ReductionOp>());
    auto b = llvm::to_vector(folded.getOps<ReductionOp>());
    EXPECT_EQ(a.size(), b.size()) << what;
    int withExp = 0;
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> dist(lo, hi);
    for (auto [x, y] : llvm::zip(a, b)) {
      std::string name = what + " @" + x.getSymName().str();
      bool hadExp = liveExps(x) > 0;
      withExp += hadExp;
      y.walk([&](ExpOp op) { ADD_FAILURE() << name << ": an Exp is left"; });
      if (hadExp) {
        bool hasExp2 = false;
        y.walk([&](Exp2Op) { hasExp2 = true; });
        EXPECT_TRUE(hasExp2) << name;
      }
      for (int t = 0; t < trials; ++t) {
        std::vector<Vec> vars;
        for (VariableAttr var : x.getVariableAttrs()) {
          Vec v(var.getDim());
          for (double &c : v)
            c = dist(rng);
          vars.push_back(v);
        }
        double magnitude;
        Vec ref = evaluate(x, vars, &magnitude), got = evaluate(y, vars);
        EXPECT_EQ(ref.size(), got.size()) << name;
        for (size_t k = 0; k < std::min(ref.size(), got.size()); ++k) {
          EXPECT_TRUE(std::isfinite(ref[k])) << name << " component " << k;
          EXPECT_LE(std::fabs(got[k] - ref[k]), 1e-12 * (cancels ? magnitude : std::fabs(ref[k])))
              << name << " component " << k << ": folded " << got[k] << ", original " << ref[k];
        }
      }
    }
    return withExp;
  }

  MLIRContext context;
};

/// Splits an .mlir test file at `// -----` like --split-input-file.
std::vector<std::string> splitInput(const std::string &text) {
  std::vector<std::string> chunks(1);
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("// -----", 0) == 0)
      chunks.emplace_back();
    else
      chunks.back() += line + "\n";
  }
  return chunks;
}

// Every formula the GPU lowering folds in today's tests, examples and benchmarks, with and
// without kconv-simplify first. Inputs positive (Log, Sqrt, Inv of the test formulas are defined).
TEST_F(FoldExpScaleTest, FormulasOfTheTestSuite) {
  const char *files[] = {
      "test/Dialect/Kconv/fold-exp-scale.mlir", "test/Conversion/KconvToGPU/gaussian.mlir",
      "test/Conversion/KconvToGPU/ops.mlir",    "test/Conversion/KconvToGPU/wide.mlir",
      "test/Execution/axis0-multidim.mlir",     "test/Execution/exp-log-accuracy.mlir",
      "test/Execution/gaussian.mlir",           "test/Execution/ops.mlir",
      "test/Target/GPU/Inputs/kernels.mlir",    "examples/gaussian.kconv",
      "bench/gpu/formulas/gaussian.kconv",      "bench/gpu/formulas/ops.kconv",
  };
  int withExp = 0;
  for (const char *file : files) {
    std::vector<OwningOpRef<ModuleOp>> modules;
    if (llvm::StringRef(file).ends_with(".mlir")) {
      std::string path = std::string(KCONV_SOURCE_DIR) + "/" + file;
      auto buffer = llvm::MemoryBuffer::getFile(path);
      ASSERT_TRUE(bool(buffer)) << path;
      for (const std::string &chunk : splitInput((*buffer)->getBuffer().str()))
        modules.push_back(parseMlir(chunk, file));
    } else {
      modules.push_back(parseFile(file));
    }
    for (auto &module : modules) {
      ASSERT_TRUE(module) << file;
      for (bool simplify : {false, true}) {
        OwningOpRef<ModuleOp> folded = fold(*module, simplify);
        std::string what = std::string(file) + (simplify ? " (simplified)" : "");
        withExp += compare(*module, *folded, what, 0.1, 1.1, 20, false);
      }
    }
  }
  // Not vacuous: the files hold a few dozen formulas with an Exp.
  EXPECT_GE(withExp, 40);
}

/// Random formulas: a DAG over the variables and earlier values, built so that every value stays
/// finite and moderate (|v| ≤ bound), Sqrt and Log apply to values bounded away from 0 and below.
class RandomFormula {
public:
  explicit RandomFormula(uint64_t seed) : rng(seed) {}

  std::string build(int ops) {
    std::ostringstream text;
    // X: output (i), Y, Z: reduced (j), P: parameter.
    text << "kconv.reduction @random sum axis = 1 vars [#kconv.var<\"X\", i, 3>, "
            "#kconv.var<\"Y\", j, 3>, #kconv.var<\"Z\", j, 1>, #kconv.var<\"P\", p, 1>] {\n"
            "^bb0(%a0: vector<3xf32>, %a1: vector<3xf32>, %a2: vector<1xf32>, %a3: "
            "vector<1xf32>):\n";
    values = {{"%a0", 3, 1.0, false},
              {"%a1", 3, 1.0, false},
              {"%a2", 1, 1.0, false},
              {"%a3", 1, 1.0, false}};
    for (int k = 0; k < ops; ++k)
      step(text);
    // The yield: the sum of the last few values (every one is used, so little is dead).
    std::string acc = scalar(text, values.back());
    for (size_t k = values.size() - 1; k-- > std::max<size_t>(4, values.size() - 4);)
      acc = emit(text, "kconv.add " + acc + ", " + scalar(text, values[k]) +
                           " : vector<1xf32>, vector<1xf32>");
    text << "  kconv.yield " << acc << " : vector<1xf32>\n}\n";
    return text.str();
  }

private:
  struct V {
    std::string name;
    int64_t dim;
    double bound;  // |v| ≤ bound
    bool positive; // v > 0, bounded away from 0 (a Log of it is moderate)
  };

  std::string type(int64_t d) { return "vector<" + std::to_string(d) + "xf32>"; }
  std::string emit(std::ostringstream &text, const std::string &rhs) {
    std::string name = "%v" + std::to_string(counter++);
    text << "  " << name << " = " << rhs << "\n";
    return name;
  }
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); }
  const V &any() {
    // Biased to recent values: deep chains with sharing.
    int n = values.size();
    int k = pick(3) ? n - 1 - pick(std::min(n, 6)) : pick(n);
    return values[k];
  }
  std::string constant(std::ostringstream &text, double c) {
    std::ostringstream s;
    s.precision(17);
    s << "kconv.constant " << std::scientific << c << " : vector<1xf32>";
    return emit(text, s.str());
  }
  double randomConstant() {
    double m = std::uniform_real_distribution<double>(0.25, 3.0)(rng);
    return pick(2) ? m : -m;
  }
  std::string scalar(std::ostringstream &text, const V &v) {
    return v.dim == 1 ? v.name : emit(text, "kconv.sum " + v.name + " : " + type(v.dim));
  }
  void push(const std::string &name, int64_t dim, double bound, bool positive = false) {
    values.push_back({name, dim, bound, positive});
  }

  void step(std::ostringstream &text) {
    const V a = any();
    const V b = any();
    bool sameOrOne = a.dim == b.dim || a.dim == 1 || b.dim == 1;
    int64_t d = std::max(a.dim, b.dim);
    std::string binTypes = " : " + type(a.dim) + ", " + type(b.dim);
    switch (pick(14)) {
    case 0:
      push(emit(text, "kconv.neg " + a.name + " : " + type(a.dim)), a.dim, a.bound);
      return;
    case 1: {
      double c = randomConstant();
      std::string k = constant(text, c);
      bool divide = pick(2);
      push(emit(text, std::string(divide ? "kconv.div " : "kconv.mul ") + a.name + ", " + k +
                          " : " + type(a.dim) + ", vector<1xf32>"),
           a.dim, a.bound * (divide ? 1 / std::fabs(c) : std::fabs(c)), a.positive && c > 0);
      return;
    }
    case 2:
    case 3:
      if (sameOrOne && a.bound + b.bound < 1e3) {
        bool add = pick(2);
        push(emit(text, std::string(add ? "kconv.add " : "kconv.sub ") + a.name + ", " + b.name +
                            binTypes),
             d, a.bound + b.bound, false);
      }
      return;
    case 4:
      if (sameOrOne && a.bound * b.bound < 1e3)
        push(emit(text, "kconv.mul " + a.name + ", " + b.name + binTypes), d, a.bound * b.bound);
      return;
    case 5:
      if (a.dim == b.dim && a.bound + b.bound < 30)
        push(emit(text, "kconv.sqdist " + a.name + ", " + b.name + binTypes), 1,
             a.dim * (a.bound + b.bound) * (a.bound + b.bound));
      return;
    case 6:
      if (a.bound < 30) {
        double bound = a.dim * a.bound * a.bound;
        if (pick(2))
          push(emit(text, "kconv.sqnorm2 " + a.name + " : " + type(a.dim)), 1, bound);
        else
          push(emit(text, "kconv.square " + a.name + " : " + type(a.dim)), a.dim, bound);
      }
      return;
    case 7:
      // Sqrt of a value made positive: 0.5 + Square(a)
      if (a.bound < 30) {
        std::string sq = emit(text, "kconv.square " + a.name + " : " + type(a.dim));
        std::string h = constant(text, 0.5);
        std::string p =
            emit(text, "kconv.add " + sq + ", " + h + " : " + type(a.dim) + ", vector<1xf32>");
        push(emit(text, "kconv.sqrt " + p + " : " + type(a.dim)), a.dim,
             std::sqrt(0.5 + a.bound * a.bound), true);
      }
      return;
    case 8:
      if (a.dim == b.dim && a.bound * b.bound * a.dim < 1e3)
        push(emit(text, "kconv.scalprod " + a.name + ", " + b.name + binTypes), 1,
             a.dim * a.bound * b.bound);
      return;
    case 9:
      push(emit(text, "kconv.sum " + a.name + " : " + type(a.dim)), 1, a.dim * a.bound);
      return;
    case 10: {
      int64_t k = pick(a.dim);
      push(emit(text, "kconv.elem " + a.name + ", " + std::to_string(k) + " : " + type(a.dim)), 1,
           a.bound);
      return;
    }
    case 11:
      if (a.dim + b.dim <= 6)
        push(emit(text, "kconv.concat " + a.name + ", " + b.name + binTypes), a.dim + b.dim,
             std::max(a.bound, b.bound));
      return;
    case 12:
    case 13:
      // The point of the test: Exp of moderate values, Log of positive ones (not absorbable).
      if (a.positive && pick(3) == 0) {
        push(emit(text, "kconv.log " + a.name + " : " + type(a.dim)), a.dim,
             std::fabs(std::log(a.bound)) + 10);
      } else if (a.bound <= 8) {
        push(emit(text, "kconv.exp " + a.name + " : " + type(a.dim)), a.dim, std::exp(a.bound),
             false);
      }
      return;
    }
  }

  std::mt19937_64 rng;
  std::vector<V> values;
  int counter = 0;
};

TEST_F(FoldExpScaleTest, RandomFormulas) {
  int withExp = 0;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    std::string text = RandomFormula(seed).build(12 + seed % 25);
    OwningOpRef<ModuleOp> module = parseMlir(text, "random-" + std::to_string(seed));
    ASSERT_TRUE(module) << text;
    OwningOpRef<ModuleOp> folded = fold(*module, false);
    // Variables in [-1, 1]: signs matter for the folding of negative factors.
    withExp += compare(*module, *folded, "random formula " + std::to_string(seed) + ":\n" + text,
                       -1.0, 1.0, 5, true);
  }
  EXPECT_GE(withExp, 200);
}

// Deep formulas are walked, not recursed into (and the interpreter walks too).
TEST_F(FoldExpScaleTest, TenThousandOpChain) {
  std::ostringstream text;
  text << "kconv.reduction @chain sum axis = 1 vars [#kconv.var<\"X\", i, 3>, "
          "#kconv.var<\"Y\", j, 3>] {\n^bb0(%x: vector<3xf32>, %y: vector<3xf32>):\n"
          "  %h = kconv.constant 5.0e-1 : vector<1xf32>\n"
          "  %v0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>\n";
  const int n = 10000;
  for (int k = 1; k <= n; ++k) {
    // -(v · 0.5) + SqDist: the values stay near SqDist.
    if (k % 2)
      text << "  %v" << k << " = kconv.mul %v" << k - 1 << ", %h : vector<1xf32>, vector<1xf32>\n";
    else
      text << "  %v" << k << " = kconv.sub %v0, %v" << k - 1 << " : vector<1xf32>, vector<1xf32>\n";
  }
  text << "  %n = kconv.neg %v" << n << " : vector<1xf32>\n"
       << "  %e = kconv.exp %n : vector<1xf32>\n  kconv.yield %e : vector<1xf32>\n}\n";
  OwningOpRef<ModuleOp> module = parseMlir(text.str(), "chain");
  ASSERT_TRUE(module);
  OwningOpRef<ModuleOp> folded = fold(*module, false);
  EXPECT_EQ(compare(*module, *folded, "chain", 0.1, 1.1, 3, false), 1);
}

} // namespace
