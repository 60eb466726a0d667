//===- ReferenceTest.cpp - the float64 reference evaluator vs hand-computed values ===//
#include "TestArtifacts.h"
#include "kconv/ABI/Builtins.h"
#include "kconv/Runtime/Runtime.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

using namespace kconv;

namespace {

/// A reduction with the given variables whose formula is built op by op.
struct Builder {
  ReductionInfo r;
  explicit Builder(std::vector<VariableInfo> vars) {
    r.name = "t";
    r.variables = std::move(vars);
  }
  int64_t op(const char *name, int64_t dim, std::vector<int64_t> operands,
             std::optional<int64_t> integer = std::nullopt,
             std::optional<double> real = std::nullopt) {
    FormulaOp o;
    o.name = name;
    o.dim = dim;
    o.operands = std::move(operands);
    o.integer = integer;
    o.real = real;
    r.formula.push_back(o);
    return int64_t(r.variables.size() + r.formula.size() - 1);
  }
  ReductionInfo yield(int64_t value, int64_t dim) {
    r.yield = value;
    r.valueDim = dim;
    return r;
  }
};

VariableInfo var(const char *name, VarCategory c, int64_t dim) {
  VariableInfo v;
  v.name = name;
  v.category = c;
  v.dim = dim;
  return v;
}

/// Evaluates `op` applied to a (dim da) and optionally b (dim db) for one pair.
std::vector<double> apply(const char *name, int64_t dim, std::vector<double> a,
                          std::vector<double> b = {}, std::optional<int64_t> integer = {},
                          std::optional<double> real = {}) {
  std::vector<VariableInfo> vars = {var("A", VarCategory::Vi, int64_t(a.size()))};
  if (!b.empty())
    vars.push_back(var("B", VarCategory::Vj, int64_t(b.size())));
  Builder builder(vars);
  std::vector<int64_t> operands = {0};
  if (!b.empty())
    operands.push_back(1);
  if (std::string(name) == "constant")
    operands.clear();
  int64_t v = builder.op(name, dim, operands, integer, real);
  ReductionInfo r = builder.yield(v, dim);
  std::vector<const double *> values = {a.data()};
  if (!b.empty())
    values.push_back(b.data());
  return evaluateFormula(r, values);
}

void expectNear(const std::vector<double> &got, const std::vector<double> &want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t k = 0; k < got.size(); ++k)
    EXPECT_NEAR(got[k], want[k], 1e-12 * std::max(1.0, std::fabs(want[k]))) << "component " << k;
}

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Exact comparison for special values: NaN matches NaN, infinities and zeros match with sign.
void expectSame(const std::vector<double> &got, const std::vector<double> &want,
                const char *what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t k = 0; k < got.size(); ++k) {
    if (std::isnan(want[k])) {
      EXPECT_TRUE(std::isnan(got[k])) << what << " component " << k << ": got " << got[k];
      continue;
    }
    EXPECT_EQ(got[k], want[k]) << what << " component " << k;
    EXPECT_EQ(std::signbit(got[k]), std::signbit(want[k])) << what << " component " << k;
  }
}

} // namespace

TEST(Reference, BinaryOpsWithBroadcasting) {
  expectNear(apply("add", 3, {1, 2, 3}, {10, 20, 30}), {11, 22, 33});
  expectNear(apply("sub", 3, {1, 2, 3}, {10, 20, 30}), {-9, -18, -27});
  expectNear(apply("mul", 3, {1, 2, 3}, {10, 20, 30}), {10, 40, 90});
  expectNear(apply("div", 3, {1, 2, 3}, {10, 20, 30}), {0.1, 0.1, 0.1});
  // dim-1 operand on either side broadcasts.
  expectNear(apply("mul", 3, {2}, {10, 20, 30}), {20, 40, 60});
  expectNear(apply("sub", 3, {1, 2, 3}, {1}), {0, 1, 2});
  expectNear(apply("div", 2, {1}, {4, 8}), {0.25, 0.125});
  expectNear(apply("add", 1, {1}, {2}), {3});
}

TEST(Reference, UnaryOps) {
  expectNear(apply("neg", 2, {1.5, -2}), {-1.5, 2});
  expectNear(apply("exp", 2, {0, 1}), {1, std::exp(1.0)});
  expectNear(apply("log", 2, {1, std::exp(2.0)}), {0, 2});
  expectNear(apply("sqrt", 2, {4, 2.25}), {2, 1.5});
  expectNear(apply("rsqrt", 2, {4, 0.25}), {0.5, 2});
  expectNear(apply("square", 2, {-3, 0.5}), {9, 0.25});
  expectNear(apply("inv", 2, {4, -0.5}), {0.25, -2});
  expectNear(apply("abs", 3, {-3, 0, 2}), {3, 0, 2});
  expectNear(apply("pow", 2, {2, -3}, {}, 3), {8, -27});
  expectNear(apply("pow", 2, {2, 4}, {}, -2), {0.25, 0.0625});
  expectNear(apply("pow", 1, {7}, {}, 0), {1});
}

TEST(Reference, ReductionsToScalars) {
  expectNear(apply("sqdist", 1, {1, 2, 3}, {4, 6, 3}), {9 + 16});
  expectNear(apply("sqdist", 1, {1}, {4, 6, 3}), {9 + 25 + 4}); // broadcasting
  expectNear(apply("sqnorm2", 1, {3, 4}), {25});
  expectNear(apply("norm2", 1, {3, 4}), {5});
  expectNear(apply("scalprod", 1, {1, 2, 3}, {4, 5, 6}), {32});
  expectNear(apply("sum", 1, {1, 2, 3.5}), {6.5});
  expectNear(apply("elem", 1, {7, 8, 9}, {}, 2), {9});
  expectNear(apply("elem", 1, {7, 8, 9}, {}, 0), {7});
}

// KeOps' (a | x) with dim(a) = 1 is a * Sum(x) (keopscore formulas/maths/Scalprod.py), either side.
TEST(Reference, ScalprodWithADimensionOneOperand) {
  expectNear(apply("scalprod", 1, {2}, {1, 2, 3.5}), {2 * 6.5});
  expectNear(apply("scalprod", 1, {1, 2, 3.5}, {-3}), {-3 * 6.5});
  expectNear(apply("scalprod", 1, {4}, {0.5}), {2});
}

// Every op at 0, +-inf and NaN, as keopscore defines it (utils/math_functions.py: IEEE libm
// functions, except Rsqrt(x) = x == 0 ? 0 : 1/sqrt(x)); docs/formula-language.md has the table.
TEST(Reference, SpecialPointsFollowKeOps) {
  expectSame(apply("rsqrt", 6, {0, -0.0, kInf, -1, kNaN, 4}), {0, 0, 0, kNaN, kNaN, 0.5}, "rsqrt");
  expectSame(apply("sqrt", 5, {0, -0.0, kInf, -1, kNaN}), {0, -0.0, kInf, kNaN, kNaN}, "sqrt");
  expectSame(apply("inv", 5, {0, -0.0, kInf, -kInf, kNaN}), {kInf, -kInf, 0, -0.0, kNaN}, "inv");
  expectSame(apply("log", 5, {0, -0.0, kInf, -1, kNaN}), {-kInf, -kInf, kInf, kNaN, kNaN}, "log");
  expectSame(apply("exp", 4, {0, -kInf, kInf, kNaN}), {1, 0, kInf, kNaN}, "exp");
  expectSame(apply("abs", 4, {-0.0, -kInf, kInf, kNaN}), {0, kInf, kInf, kNaN}, "abs");
  expectSame(apply("neg", 4, {0, -kInf, kInf, kNaN}), {-0.0, kInf, -kInf, kNaN}, "neg");
  expectSame(apply("square", 4, {-0.0, -kInf, kInf, kNaN}), {0, kInf, kInf, kNaN}, "square");
  // C pow with an integer exponent: pow(+-0, -1) = +-inf, pow(x, 0) = 1 even for NaN.
  expectSame(apply("pow", 3, {0, -0.0, kInf}, {}, -1), {kInf, -kInf, 0}, "pow -1");
  expectSame(apply("pow", 3, {kNaN, kInf, 0}, {}, 0), {1, 1, 1}, "pow 0");
  expectSame(apply("pow", 2, {-kInf, kNaN}, {}, 3), {-kInf, kNaN}, "pow 3");
  expectSame(apply("div", 4, {0, 1, -1, kInf}, {0}), {kNaN, kInf, -kInf, kInf}, "div by 0");
  expectSame(apply("mul", 2, {0, kNaN}, {kInf}), {kNaN, kNaN}, "mul");
  expectSame(apply("add", 2, {kInf, kNaN}, {-kInf}), {kNaN, kNaN}, "add");
  // Reductions to a scalar: a NaN (or inf - inf) anywhere makes the result NaN.
  expectSame(apply("sum", 1, {1, kNaN, 2}), {kNaN}, "sum");
  expectSame(apply("sqnorm2", 1, {1, -kInf}), {kInf}, "sqnorm2");
  expectSame(apply("norm2", 1, {kNaN, 0}), {kNaN}, "norm2");
  expectSame(apply("sqdist", 1, {kInf, 0}, {kInf, 0}), {kNaN}, "sqdist inf - inf");
  expectSame(apply("sqdist", 1, {0, 0}, {0, 0}), {0}, "sqdist 0");
  expectSame(apply("scalprod", 1, {0, 1}, {kInf, 1}), {kNaN}, "scalprod 0 * inf");
}

// Rsqrt(SqDist(x, y)) at x = y is 0 (KeOps), Inv(Sqrt(0)) is +inf (KeOps and IEEE).
TEST(Reference, RsqrtOfZeroDistanceAndInvOfSqrtZero) {
  Builder b({var("X", VarCategory::Vi, 3), var("Y", VarCategory::Vj, 3)});
  int64_t d = b.op("sqdist", 1, {0, 1});
  int64_t r = b.op("rsqrt", 1, {d});
  int64_t s = b.op("sqrt", 1, {d});
  int64_t i = b.op("inv", 1, {s});
  int64_t c = b.op("concat", 2, {r, i});
  ReductionInfo red = b.yield(c, 2);
  std::vector<double> x = {1, 2, 3};
  expectSame(evaluateFormula(red, {x.data(), x.data()}), {0, kInf}, "x = y");
  std::vector<double> y = {1, 2, 5};
  expectNear(evaluateFormula(red, {x.data(), y.data()}), {0.5, 0.5});
}

// The exponent's magnitude is taken without negating INT64_MIN (which is undefined behaviour:
// UBSan reports it); x**INT64_MIN is 1 / x**(2**63).
TEST(Reference, PowWithExtremeExponents) {
  const int64_t min = std::numeric_limits<int64_t>::min();
  const int64_t max = std::numeric_limits<int64_t>::max();
  expectSame(apply("pow", 5, {1, -1, 2, 0.5, 0}, {}, min), {1, 1, 0, kInf, kInf}, "INT64_MIN");
  expectSame(apply("pow", 4, {1, -1, 2, 0.5}, {}, max), {1, -1, kInf, 0}, "INT64_MAX");
  // Through the metadata text, as an artifact carries it.
  ArtifactContents c = test::testArtifactContents();
  ReductionInfo &r = c.reductions[0];
  FormulaOp pow;
  pow.name = "pow";
  pow.dim = 1;
  pow.operands = {r.yield};
  pow.integer = min;
  r.formula.push_back(pow);
  r.yield = int64_t(r.variables.size() + r.formula.size() - 1);
  ArtifactContents parsed = parseArtifact(serializeArtifact(c), "pow.kca");
  ASSERT_EQ(parsed.reductions[0].formula.back().integer, min);
  std::vector<double> x = {0, 0, 0}, y = {0, 0, 0}, b = {-1};
  expectSame(evaluateFormula(parsed.reductions[0], {x.data(), y.data(), b.data()}), {1},
             "(-1)**INT64_MIN");
}

TEST(Reference, ConcatAndConstant) {
  expectNear(apply("concat", 5, {1, 2}, {3, 4, 5}), {1, 2, 3, 4, 5});
  expectNear(apply("constant", 1, {99}, {}, std::nullopt, -0.5), {-0.5});
  expectNear(apply("constant", 1, {99}, {}, 3), {3}); // an integer constant
}

TEST(Reference, ComposedFormula) {
  // exp(-|x - y|^2) * b for x = (1, 0, 0), y = (0, 0, 2), b = 3: exp(-5) * 3.
  ReductionInfo r = test::testArtifactContents().reductions[0];
  std::vector<double> x = {1, 0, 0}, y = {0, 0, 2}, b = {3};
  expectNear(evaluateFormula(r, {x.data(), y.data(), b.data()}), {3 * std::exp(-5.0)});
}

TEST(Reference, GaussianSumByHand) {
  ReductionInfo r = test::testArtifactContents().reductions[0];
  // Two points x, three points y.
  std::vector<float> x = {0, 0, 0, 1, 1, 1};
  std::vector<float> y = {0, 0, 0, 1, 0, 0, 0, 2, 0};
  std::vector<float> b = {1, 2, -1};
  std::vector<double> out = referenceRun(r, {x.data(), y.data(), b.data()}, 2, 3).values;
  ASSERT_EQ(out.size(), 2u);
  EXPECT_NEAR(out[0], 1 + 2 * std::exp(-1.0) - std::exp(-4.0), 1e-12);
  EXPECT_NEAR(out[1], std::exp(-3.0) + 2 * std::exp(-2.0) - std::exp(-3.0), 1e-12);
  // Rows in the order asked, each at most once computed the same.
  std::vector<double> some =
      referenceRun(r, {x.data(), y.data(), b.data()}, 2, 3, {1, 0, 1}).values;
  ASSERT_EQ(some.size(), 3u);
  EXPECT_DOUBLE_EQ(some[0], out[1]);
  EXPECT_DOUBLE_EQ(some[1], out[0]);
  EXPECT_DOUBLE_EQ(some[2], out[1]);
  // Empty reduced range: zeros.
  std::vector<double> empty = referenceRun(r, {x.data(), nullptr, nullptr}, 2, 0).values;
  EXPECT_EQ(empty, std::vector<double>({0, 0}));
}

TEST(Reference, AxisZeroAndParameterAndVectorOutput) {
  ArtifactContents c = test::testArtifactContents();
  const ReductionInfo &vec = c.reductions[1], &t = c.reductions[2];
  std::vector<float> x = {0, 0, 0, 1, 0, 0};
  std::vector<float> y = {0, 0, 0};
  std::vector<float> v = {1, 2, 3};
  std::vector<double> out = referenceRun(vec, {x.data(), y.data(), v.data()}, 2, 1).values;
  double e = std::exp(-1.0);
  ASSERT_EQ(out.size(), 6u);
  for (int c3 = 0; c3 < 3; ++c3) {
    EXPECT_NEAR(out[size_t(c3)], v[size_t(c3)], 1e-12);
    EXPECT_NEAR(out[size_t(3 + c3)], e * v[size_t(c3)], 1e-12);
  }
  // transposed: out_j = sum_i exp(-s |x_i - y_j|^2) a_i with s = 2.
  std::vector<float> a = {5, 7}, s = {2};
  std::vector<double> t1 =
      referenceRun(t, {x.data(), a.data(), y.data(), s.data()}, 2, 1).values;
  ASSERT_EQ(t1.size(), 1u);
  EXPECT_NEAR(t1[0], 5 + 7 * std::exp(-2.0), 1e-12);
  // Many reduced rows (several evaluation blocks), double inputs.
  const int64_t n = 1000;
  std::vector<double> xs(static_cast<size_t>(3 * n)), as(static_cast<size_t>(n)), ys = {0.5, -0.5, 0}, ss = {0.5};
  double want = 0;
  for (int64_t i = 0; i < n; ++i) {
    xs[size_t(3 * i)] = double(i % 7) / 7;
    xs[size_t(3 * i + 1)] = double(i % 5) / 5;
    xs[size_t(3 * i + 2)] = double(i % 3) / 3;
    as[size_t(i)] = double(i % 11) - 5;
    double d0 = xs[size_t(3 * i)] - 0.5, d1 = xs[size_t(3 * i + 1)] + 0.5,
           d2 = xs[size_t(3 * i + 2)];
    want += std::exp(-0.5 * (d0 * d0 + d1 * d1 + d2 * d2)) * as[size_t(i)];
  }
  std::vector<double> got =
      referenceRun(t, {xs.data(), as.data(), ys.data(), ss.data()}, n, 1, {0}).values;
  EXPECT_NEAR(got[0], want, 1e-9 * std::fabs(want));
}

// Every op of the table (ABI/Builtins.def) is known to the evaluator, with the table's operand
// count and dimension rule; the values of each are checked by the tests above.
TEST(Reference, KnowsEveryOpOfTheTable) {
  for (const BuiltinInfo &info : kBuiltinOps) {
    Builder b({var("X", VarCategory::Vi, 3), var("Y", VarCategory::Vj, 3)});
    std::vector<int64_t> operands = {0, 1};
    operands.resize(info.operands);
    std::optional<int64_t> integer;
    std::optional<double> real;
    if (info.intArg == IntArg::PowExponent || info.intArg == IntArg::ElemIndex)
      integer = 1;
    if (info.intArg == IntArg::Value)
      real = 1.5;
    int64_t dim = info.dim == DimRule::Same || info.dim == DimRule::Broadcast ? 3
                  : info.dim == DimRule::Concat                               ? 6
                                                                              : 1;
    std::string name(info.mnemonic);
    int64_t v = b.op(name.c_str(), dim, operands, integer, real);
    ReductionInfo r = b.yield(v, dim);
    std::vector<double> x = {1, 2, 3}, y = {4, 5, 6};
    std::vector<double> out;
    EXPECT_NO_THROW(out = evaluateFormula(r, {x.data(), y.data()})) << name;
    EXPECT_EQ(out.size(), size_t(dim)) << name;
  }
}

TEST(Reference, RejectsBadFormulas) {
  auto expectError = [](const ReductionInfo &r, ErrorCode code, const std::string &fragment) {
    try {
      validateFormula(r);
      FAIL() << "accepted; expected '" << fragment << "'";
    } catch (const Error &e) {
      EXPECT_EQ(e.code(), code) << e.what();
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  {
    Builder b({var("X", VarCategory::Vi, 3)});
    int64_t v = b.op("frobnicate", 1, {0});
    expectError(b.yield(v, 1), ErrorCode::Unsupported, "unknown op 'frobnicate'");
  }
  {
    Builder b({var("X", VarCategory::Vi, 3), var("Y", VarCategory::Vj, 2)});
    int64_t v = b.op("add", 3, {0, 1});
    expectError(b.yield(v, 3), ErrorCode::InvalidArtifact, "do not broadcast");
  }
  {
    Builder b({var("X", VarCategory::Vi, 3)});
    int64_t v = b.op("exp", 2, {0});
    expectError(b.yield(v, 2), ErrorCode::InvalidArtifact, "declares dimension 2");
  }
  {
    Builder b({var("X", VarCategory::Vi, 3)});
    int64_t v = b.op("exp", 3, {0});
    expectError(b.yield(v, 1), ErrorCode::InvalidArtifact,
                "the yielded value has dimension 3, so 'Sum_Reduction' has value_dim 3 and "
                "index_dim 0; the metadata says 1 and 0");
  }
  {
    Builder b({var("X", VarCategory::Vi, 3)});
    int64_t v = b.op("elem", 1, {0}, 3);
    expectError(b.yield(v, 1), ErrorCode::InvalidArtifact, "0 <= K < 3");
  }
  {
    Builder b({var("X", VarCategory::Vi, int64_t(1) << 61)});
    int64_t v = b.op("sum", 1, {0});
    expectError(b.yield(v, 1), ErrorCode::InvalidArtifact,
                "variable 'X' has dimension 2305843009213693952, outside [1, 65536]");
  }
  {
    Builder b({var("X", VarCategory::Vi, 40000)});
    int64_t v = b.op("concat", 80000, {0, 0});
    expectError(b.yield(v, 80000), ErrorCode::InvalidArtifact,
                "op 0 ('concat') has dimension 80000, outside [1, 65536]");
  }
  {
    // A constant is a scalar (the dialect's rule): a huge declared dimension is refused, not
    // allocated.
    Builder b({var("X", VarCategory::Vi, 3)});
    int64_t v = b.op("constant", int64_t(1) << 61, {}, std::nullopt, 1.0);
    expectError(b.yield(v, int64_t(1) << 61), ErrorCode::InvalidArtifact,
                "declares dimension 2305843009213693952");
  }
  {
    Builder b({var("X", VarCategory::Vi, 3)});
    int64_t v = b.op("pow", 3, {0});
    expectError(b.yield(v, 3), ErrorCode::InvalidArtifact, "integer exponent");
  }
  {
    Builder b({var("X", VarCategory::Vi, 3)});
    int64_t v = b.op("exp", 3, {0, 0});
    expectError(b.yield(v, 3), ErrorCode::InvalidArtifact, "expects 1 operand");
  }
  {
    Builder b({var("X", VarCategory::Vi, 1)});
    int64_t v = b.op("exp", 1, {0});
    ReductionInfo r = b.yield(v, 1);
    r.kind = "median";
    expectError(r, ErrorCode::Unsupported, "reduction kind 'median'");
    // A weighted kind reduces Concat(f, g): a yield of dimension 1 cannot be one.
    r.kind = "logsumexp";
    expectError(r, ErrorCode::InvalidArtifact, "'LogSumExp_Reduction' reduces Concat(f, g)");
    r.kind = "argmin";
    expectError(r, ErrorCode::InvalidArtifact, "has value_dim 0 and index_dim 1");
    r.valueDim = 0;
    r.indexDim = 1;
    EXPECT_NO_THROW(validateFormula(r));
    r.k = 2;
    expectError(r, ErrorCode::InvalidArtifact, "k = 2 for 'ArgMin_Reduction', which takes no K");
    r.kind = "kmin_argkmin";
    r.valueDim = r.indexDim = 2;
    EXPECT_NO_THROW(validateFormula(r));
    r.k = 65;
    r.valueDim = r.indexDim = 65;
    expectError(r, ErrorCode::InvalidArtifact,
                "k = 65 for 'KMin_ArgKMin_Reduction', outside [1, 64]");
  }
}

TEST(Reference, RejectsBadCalls) {
  ReductionInfo r = test::testArtifactContents().reductions[0];
  std::vector<float> x(6), y(6), b(2);
  EXPECT_THROW(referenceRun(r, {x.data(), y.data()}, 2, 2), Error);
  EXPECT_THROW(referenceRun(r, {x.data(), nullptr, b.data()}, 2, 2), Error);
  EXPECT_THROW(referenceRun(r, {x.data(), y.data(), b.data()}, 2, 2, {2}), Error);
  EXPECT_THROW(referenceRun(r, {x.data(), y.data(), b.data()}, -1, 2), Error);
}

//===-- reduction kinds (docs/reductions.md, Semantics) ----------------------===//

namespace {

constexpr double kInfD = std::numeric_limits<double>::infinity();
constexpr double kNaND = std::numeric_limits<double>::quiet_NaN();

/// `kind` over f = X - Y (X: Vi, Y: Vj, dimension `dim`); a weighted kind over Concat(X - Y, G)
/// with X, Y of dimension 1 and G: Vj of dimension `dim`. Output dimensions from the table.
ReductionInfo kindOf(const char *kind, int64_t dim, int64_t k = 1, int axis = 1) {
  const BuiltinReductionInfo *info = lookupReductionByMnemonic(kind);
  EXPECT_NE(info, nullptr) << kind;
  const bool weighted = info->weight != ReductionWeight::None;
  const int64_t fdim = weighted ? 1 : dim;
  std::vector<VariableInfo> vars = {var("X", VarCategory::Vi, fdim),
                                    var("Y", VarCategory::Vj, fdim)};
  if (weighted)
    vars.push_back(var("G", axis == 1 ? VarCategory::Vj : VarCategory::Vi, dim));
  Builder b(vars);
  int64_t f = b.op("sub", fdim, {0, 1});
  int64_t y = weighted ? b.op("concat", 1 + dim, {f, 2}) : f;
  ReductionInfo r = b.yield(y, 0);
  r.kind = kind;
  r.axis = axis;
  r.k = info->takesK ? k : 1;
  ReductionOutputDims dims = reductionOutputDims(*info, weighted ? 1 + dim : dim, r.k);
  r.valueDim = dims.values;
  r.indexDim = dims.indices;
  return r;
}

/// The k best (value, index) of one component by a stable sort of the non-NaN values (ascending
/// for min, descending for max: equal values stay in index order), padded with (identity, -1).
std::vector<std::pair<double, int64_t>> kBest(const std::vector<double> &v, int64_t k, bool min) {
  std::vector<std::pair<double, int64_t>> list;
  for (size_t j = 0; j < v.size(); ++j)
    if (!std::isnan(v[j]) && v[j] != (min ? kInfD : -kInfD))
      list.push_back({v[j], int64_t(j)});
  std::stable_sort(list.begin(), list.end(), [&](const auto &a, const auto &b) {
    return min ? a.first < b.first : a.first > b.first;
  });
  list.resize(size_t(k), {min ? kInfD : -kInfD, -1});
  return list;
}

/// Two-pass shift-exp sums of one row: m = max f (-inf when every f is -inf or there is none),
/// s[c] = Sum exp(f - m) * g[c]; w = Sum exp(f - m).
struct ShiftExp {
  double m = -kInfD, w = 0;
  std::vector<double> s;
};
ShiftExp shiftExp(const std::vector<double> &f, const std::vector<std::vector<double>> &g,
                  size_t dim) {
  ShiftExp r;
  r.s.assign(dim, 0.0);
  for (double x : f)
    r.m = std::max(r.m, x);
  for (size_t j = 0; j < f.size(); ++j) {
    if (f[j] == -kInfD)
      continue;
    double e = std::exp(f[j] - r.m);
    r.w += e;
    for (size_t c = 0; c < dim; ++c)
      r.s[c] += e * g[j][c];
  }
  return r;
}

/// The float64 overload (a braced list of double pointers is ambiguous between the two).
ReferenceOutputs run64(const ReductionInfo &r, std::vector<const double *> inputs, int64_t nI,
                       int64_t nJ, const std::vector<int64_t> &rows) {
  return referenceRun(r, inputs, nI, nJ, rows);
}

bool same(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

} // namespace

// Min, Max, their Arg forms and the KMin kinds on inputs with many ties (small integers), NaN
// and infinite values, over several evaluation blocks (nJ = 300 > 128), against a stable sort;
// exact (x - y of small integers is exact). K = 5 < nJ and K = 64; and nJ = 3 < K.
TEST(ReferenceKinds, MinMaxArgAndKMinWithTiesNaNAndInf) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> small(-4, 4);
  const int64_t dim = 3;
  for (int64_t nJ : {int64_t(300), int64_t(3)}) {
    const int64_t nI = 5;
    std::vector<double> x(static_cast<size_t>(nI * dim)), y(static_cast<size_t>(nJ * dim));
    for (double &v : x)
      v = small(rng);
    for (size_t e = 0; e < y.size(); ++e)
      y[e] = e % 17 == 3 ? kNaND : e % 23 == 5 ? -kInfD : e % 29 == 7 ? kInfD : small(rng);
    for (const char *kind : {"min", "max", "argmin", "argmax", "min_argmin", "max_argmax", "kmin",
                             "argkmin", "kmin_argkmin"}) {
      for (int64_t k : {int64_t(5), int64_t(64)}) {
        ReductionInfo r = kindOf(kind, dim, k);
        const BuiltinReductionInfo &info = *lookupReductionByMnemonic(kind);
        if (!info.takesK && k != 5)
          continue;
        const bool min = std::string(kind).find("max") == std::string::npos;
        const int64_t kk = info.takesK ? k : 1;
        std::vector<int64_t> rows = {0, 1, 2, 3, 4};
        ReferenceOutputs out = run64(r, {x.data(), y.data()}, nI, nJ, rows);
        ASSERT_EQ(out.values.size(), size_t(nI * r.valueDim)) << kind;
        ASSERT_EQ(out.indices.size(), size_t(nI * r.indexDim)) << kind;
        for (int64_t i = 0; i < nI; ++i)
          for (int64_t c = 0; c < dim; ++c) {
            std::vector<double> v(static_cast<size_t>(nJ));
            for (int64_t j = 0; j < nJ; ++j)
              v[size_t(j)] = x[size_t(i * dim + c)] - y[size_t(j * dim + c)];
            auto want = kBest(v, kk, min);
            for (int64_t p = 0; p < kk; ++p) {
              const size_t at = size_t(p * dim + c);
              if (r.valueDim) {
                EXPECT_EQ(out.values[size_t(i * r.valueDim) + at], want[size_t(p)].first)
                    << kind << " k=" << kk << " nJ=" << nJ << " i=" << i << " c=" << c
                    << " place " << p;
              }
              if (r.indexDim) {
                EXPECT_EQ(out.indices[size_t(i * r.indexDim) + at], want[size_t(p)].second)
                    << kind << " k=" << kk << " nJ=" << nJ << " i=" << i << " c=" << c
                    << " place " << p;
              }
            }
          }
      }
    }
  }
}

// A row whose values are all NaN, or all +inf for Min (all -inf for Max): no index.
TEST(ReferenceKinds, RowsWithoutACandidate) {
  std::vector<double> x = {0, 1}, y = {kNaND, -kInfD, kNaND};
  // Row 0: NaN, +inf, NaN; row 1 the same.
  ReferenceOutputs m = run64(kindOf("min_argmin", 1), {x.data(), y.data()}, 2, 3, {0, 1});
  EXPECT_EQ(m.values, std::vector<double>({kInfD, kInfD}));
  EXPECT_EQ(m.indices, std::vector<int64_t>({-1, -1}));
  ReferenceOutputs k = run64(kindOf("kmin_argkmin", 1, 2), {x.data(), y.data()}, 2, 3, {1});
  EXPECT_EQ(k.values, std::vector<double>({kInfD, kInfD}));
  EXPECT_EQ(k.indices, std::vector<int64_t>({-1, -1}));
  std::vector<double> yMax = {kNaND, kInfD}; // x - inf = -inf
  ReferenceOutputs a = run64(kindOf("max_argmax", 1), {x.data(), yMax.data()}, 2, 2, {0});
  EXPECT_EQ(a.values, std::vector<double>({-kInfD}));
  EXPECT_EQ(a.indices, std::vector<int64_t>({-1}));
}

// nReduced = 0: every kind's identity (docs/reductions.md, Empty reduced range).
TEST(ReferenceKinds, EmptyReducedRangeGivesTheIdentities) {
  std::vector<double> x = {1, 2, 3, 4, 5, 6};
  auto run = [&](const ReductionInfo &r) {
    std::vector<const double *> in(r.variables.size(), nullptr);
    in[0] = x.data();
    return run64(r, in, 2, 0, {0, 1});
  };
  auto values = [&](const char *kind, int64_t k, std::vector<double> want) {
    ReferenceOutputs out = run(kindOf(kind, 2, k));
    ASSERT_EQ(out.values.size(), want.size()) << kind;
    for (size_t e = 0; e < want.size(); ++e)
      EXPECT_TRUE(same(out.values[e], want[e])) << kind << " " << e << ": " << out.values[e];
  };
  auto indices = [&](const char *kind, int64_t k, size_t count) {
    ReferenceOutputs out = run(kindOf(kind, 2, k));
    EXPECT_EQ(out.indices, std::vector<int64_t>(count, -1)) << kind;
  };
  values("sum", 1, {0, 0, 0, 0});
  values("min", 1, {kInfD, kInfD, kInfD, kInfD});
  values("max", 1, {-kInfD, -kInfD, -kInfD, -kInfD});
  values("min_argmin", 1, {kInfD, kInfD, kInfD, kInfD});
  values("kmin", 3, std::vector<double>(12, kInfD));
  values("kmin_argkmin", 3, std::vector<double>(12, kInfD));
  values("logsumexp", 1, {-kInfD, -kInfD, -kInfD, -kInfD});
  values("max_sumshiftexp", 1, {-kInfD, 0, 0, -kInfD, 0, 0});
  values("sumsoftmaxweight", 1, {kNaND, kNaND, kNaND, kNaND});
  indices("argmin", 1, 4);
  indices("argmax", 1, 4);
  indices("max_argmax", 1, 4);
  indices("argkmin", 3, 12);
  indices("kmin_argkmin", 3, 12);
}

// The weighted kinds on random f and g (nJ = 1000: several blocks, the running maximum moving)
// against a two-pass float64 computation: relative 1e-12. axis = 1 and axis = 0.
TEST(ReferenceKinds, ShiftExpKindsOnRandomInputs) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> normal(0, 3);
  const int64_t n = 1000, rows = 4, dim = 3;
  std::vector<double> xs(static_cast<size_t>(rows)), ys(static_cast<size_t>(n)),
      g(static_cast<size_t>(n * dim));
  for (double &v : xs)
    v = normal(rng);
  for (double &v : ys)
    v = normal(rng) * 10; // f spans about +-60: exp(f) alone would lose the small terms
  for (double &v : g)
    v = normal(rng);
  for (int axis : {1, 0}) {
    for (const char *kind : {"logsumexp", "max_sumshiftexp", "sumsoftmaxweight"}) {
      ReductionInfo r = kindOf(kind, dim, 1, axis);
      // axis = 0: the output rows are Y's (j), the reduced ones X's (i); f = x - y either way.
      const int64_t nI = axis == 1 ? rows : n, nJ = axis == 1 ? n : rows;
      std::vector<double> xv(static_cast<size_t>(nI)), yv(static_cast<size_t>(nJ));
      for (int64_t i = 0; i < nI; ++i)
        xv[size_t(i)] = axis == 1 ? xs[size_t(i)] : ys[size_t(i)];
      for (int64_t j = 0; j < nJ; ++j)
        yv[size_t(j)] = axis == 1 ? ys[size_t(j)] : -xs[size_t(j)];
      std::vector<int64_t> all = {0, 1, 2, 3};
      ReferenceOutputs out = run64(r, {xv.data(), yv.data(), g.data()}, nI, nJ, all);
      for (int64_t o = 0; o < rows; ++o) {
        std::vector<double> f(static_cast<size_t>(n));
        std::vector<std::vector<double>> gs(static_cast<size_t>(n));
        for (int64_t q = 0; q < n; ++q) {
          f[size_t(q)] = axis == 1 ? xv[size_t(o)] - yv[size_t(q)] : xv[size_t(q)] - yv[size_t(o)];
          gs[size_t(q)].assign(g.begin() + q * dim, g.begin() + (q + 1) * dim);
        }
        ShiftExp want = shiftExp(f, gs, size_t(dim));
        std::vector<double> expected;
        if (r.kind == "logsumexp")
          for (double s : want.s)
            expected.push_back(want.m + std::log(s));
        else if (r.kind == "max_sumshiftexp") {
          expected.push_back(want.m);
          expected.insert(expected.end(), want.s.begin(), want.s.end());
        } else
          for (double s : want.s)
            expected.push_back(s / want.w);
        ASSERT_EQ(size_t(r.valueDim), expected.size());
        for (size_t c = 0; c < expected.size(); ++c) {
          double got = out.values[size_t(o * r.valueDim) + c];
          if (std::isnan(expected[c])) // log of a negative weighted sum
            EXPECT_TRUE(std::isnan(got)) << kind << " axis " << axis << " row " << o;
          else
            EXPECT_NEAR(got, expected[c], 1e-12 * std::max(1.0, std::fabs(expected[c])))
                << kind << " axis " << axis << " row " << o << " c " << c;
        }
      }
    }
  }
}

// LogSumExp at extreme f: +-1000 neither overflows nor underflows, -inf terms add exactly 0, a row
// of only -inf is -inf (not NaN), NaN propagates; Max_SumShiftExp keeps (m, s) exact there.
TEST(ReferenceKinds, LogSumExpAtExtremeValues) {
  ReductionInfo lse = kindOf("logsumexp", 1);
  ReductionInfo shift = kindOf("max_sumshiftexp", 1);
  auto row = [&](const ReductionInfo &r, std::vector<double> y, std::vector<double> g) {
    std::vector<double> x = {0};
    return run64(r, {x.data(), y.data(), g.data()}, 1, int64_t(y.size()), {0}).values;
  };
  // f = -y: 1000, 1000 - log(2)... : log(exp(1000) + exp(1000)) = 1000 + log 2.
  EXPECT_NEAR(row(lse, {-1000, -1000}, {1, 1})[0], 1000 + std::log(2.0), 1e-12 * 1000);
  EXPECT_NEAR(row(lse, {1000, 1000, 1001}, {1, 1, 1})[0],
              -1000 + std::log(2 + std::exp(-1.0)), 1e-12 * 1000);
  // A new maximum arriving late rescales the earlier terms.
  EXPECT_NEAR(row(lse, {1000, -1000}, {1, 1})[0], 1000, 1e-12 * 1000);
  EXPECT_EQ(row(lse, {kInfD, 0, kInfD}, {5, 1, 7})[0], 0.0); // f = -inf, 0, -inf: log 1
  EXPECT_EQ(row(lse, {kInfD, kInfD}, {1, 1})[0], -kInfD);
  EXPECT_TRUE(std::isnan(row(lse, {0, kNaND, 1}, {1, 1, 1})[0]));
  // A -inf term with an infinite or NaN weight adds exactly 0 as well.
  EXPECT_EQ(row(lse, {0, kInfD}, {1, kNaND})[0], 0.0);
  EXPECT_EQ(row(shift, {-1000, -999}, {2, 3}), std::vector<double>({1000, 2 + 3 * std::exp(-1.0)}));
  EXPECT_EQ(row(shift, {kInfD, kInfD}, {2, 3}), std::vector<double>({-kInfD, 0}));
  // f = +inf: the maximum is +inf and its own weight counts once per term.
  EXPECT_EQ(row(shift, {-kInfD, 0, -kInfD}, {2, 5, 3}), std::vector<double>({kInfD, 5}));
}

// The index is that of the reduced axis: axis = 0 reduces over i.
TEST(ReferenceKinds, AxisZeroIndexesI) {
  ReductionInfo r = kindOf("min_argmin", 1, 1, /*axis=*/0);
  std::vector<double> x = {3, 1, 2, 1}, y = {0, 10};
  ReferenceOutputs out = run64(r, {x.data(), y.data()}, 4, 2, {0, 1});
  EXPECT_EQ(out.values, std::vector<double>({1, -9}));
  EXPECT_EQ(out.indices, std::vector<int64_t>({1, 1})); // the first of the tied minima
}

// The checks of kconv-run / kconv-cpu-bench --check: an index passes when it selects the
// reference's value (a tie), fails when it selects another value, is -1 where the reference has
// an index, or is out of range; non-finite reference values must be matched exactly.
TEST(ReferenceKinds, CheckingAgainstTheReference) {
  ReductionInfo r = kindOf("kmin_argkmin", 2, 2);
  // f = x - y per component; y_1 ties y_0 in component 0.
  std::vector<float> x = {0, 0}, y = {1, 5, 1, 6, 3, 4};
  const std::vector<const float *> in = {x.data(), y.data()};
  ReferenceOutputs ref = referenceRun(r, in, 1, 3, {0});
  ASSERT_EQ(ref.indices, std::vector<int64_t>({2, 1, 0, 0})); // [K][F]: place 0 then place 1
  std::vector<int64_t> got = ref.indices;
  EXPECT_TRUE(checkIndices(r, in, 1, 3, {0}, ref, got.data(), 0).ok());
  got[2] = 1; // place 1, component 0: f(y_1) = f(y_0) = -1, a tie
  EXPECT_TRUE(checkIndices(r, in, 1, 3, {0}, ref, got.data(), 0).ok());
  got[1] = 2; // component 1: -4 instead of -6
  IndexCheck off = checkIndices(r, in, 1, 3, {0}, ref, got.data(), 1e-3);
  EXPECT_EQ(off.offValue, 1);
  EXPECT_EQ(off.checked, 4);
  got = ref.indices;
  got[3] = -1;
  EXPECT_EQ(checkIndices(r, in, 1, 3, {0}, ref, got.data(), 0).invalid, 1);
  got[3] = 3; // out of [0, nJ)
  EXPECT_EQ(checkIndices(r, in, 1, 3, {0}, ref, got.data(), 0).invalid, 1);
  // Values: exact infinities of unfilled places; a finite error is relative.
  ReferenceOutputs few = referenceRun(r, in, 1, 1, {0});
  ASSERT_EQ(few.values, std::vector<double>({-1, -5, kInfD, kInfD}));
  std::vector<float> values = {-1, -5, INFINITY, INFINITY};
  ValueCheck v = checkValues(r, {0}, few, values.data());
  EXPECT_TRUE(v.ok(0)) << v.error;
  values[2] = 1e30f;
  EXPECT_EQ(checkValues(r, {0}, few, values.data()).mismatched, 1);
  values = {-1.0001f, -5, INFINITY, INFINITY};
  v = checkValues(r, {0}, few, values.data());
  EXPECT_TRUE(v.relative);
  EXPECT_NEAR(v.error, 1e-4 / std::sqrt(26.0), 1e-6);
  EXPECT_FALSE(v.ok(1e-5));
}
