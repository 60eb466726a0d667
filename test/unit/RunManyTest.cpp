//===- RunManyTest.cpp - fused reductions: compile, validate, Artifact::runMany ===//
//
// kconv-fuse-reductions end to end on the CPU: the compiler adds the fused reduction, the
// runtime's runMany runs it and gives each member its columns. Each member's outputs are
// compared with its own run() and with the float64 reference (referenceRun), on random inputs.
//
//===----------------------------------------------------------------------===//
#include "kconv/Driver/Compile.h"
#include "kconv/Runtime/Runtime.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace kconv;

namespace {

// Value and gradient-style pair of the Gaussian (one kind, axis and variable set: fused), a
// Min_ArgMin pair (fused, with indices), a transposed sum (axis 0: alone) and a KMin (its kind
// does not concatenate: alone).
constexpr const char *kSource = R"(X = Vi(3)
Y = Vj(3)
B = Vj(1)
S = Pm(1)
value = Sum_Reduction(Exp(-S * SqDist(X, Y)) * B, axis=1)
grad = Sum_Reduction(Exp(-S * SqDist(X, Y)) * (X - Y) * B, axis=1)
nearest = Min_ArgMin_Reduction(SqDist(X, Y), axis=1)
nearest_abs = Min_ArgMin_Reduction(Abs(X - Y), axis=1)
transposed = Sum_Reduction(Exp(-SqDist(X, Y)), axis=0)
knn = KMin_Reduction(SqDist(X, Y), K=2, axis=1)
)";

std::string compile(bool fuse = true) {
  CompileOptions options;
  options.gpu = false;
  options.fuse = fuse;
  CompileResult result = compileArtifact(kSource, "fused.kconv", options);
  std::string text;
  for (const CompileMessage &message : result.messages)
    text += message.text + "\n";
  EXPECT_TRUE(result.succeeded) << text;
  return result.output;
}

std::vector<float> random(size_t count, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> values(count);
  for (float &v : values)
    v = normal(rng);
  return values;
}

struct Problem {
  int64_t nI = 0, nJ = 0;
  std::vector<float> x, y, b, s{0.7f};
  Problem(int64_t nI, int64_t nJ) : nI(nI), nJ(nJ) {
    x = random(size_t(nI * 3), 1);
    y = random(size_t(nJ * 3), 2);
    b = random(size_t(nJ), 3);
  }
  std::map<std::string, Input, std::less<>> inputs() const {
    return {{"X", x.data()}, {"Y", y.data()}, {"B", b.data()}, {"S", s.data()}};
  }
  /// The inputs of the reductions `names` (runMany refuses others, as run() does).
  std::map<std::string, Input, std::less<>> inputsOf(const Artifact &artifact,
                                                     const std::vector<std::string> &names) const {
    std::map<std::string, Input, std::less<>> all = inputs(), used;
    for (const std::string &name : names)
      for (const VariableInfo &v : artifact.reduction(name).variables)
        used[v.name] = all.at(v.name);
    return used;
  }
  std::vector<Input> ordered(const ReductionInfo &r) const {
    std::vector<Input> in;
    for (const VariableInfo &v : r.variables)
      in.push_back(inputs().at(v.name));
    return in;
  }
  std::vector<const float *> pointers(const ReductionInfo &r) const {
    std::vector<const float *> in;
    for (const VariableInfo &v : r.variables)
      in.push_back(inputs().at(v.name).data);
    return in;
  }
};

/// One member's outputs, sized for `rows` output rows.
struct Result {
  std::vector<float> values;
  std::vector<int64_t> indices;
  Result(const ReductionInfo &r, int64_t rows)
      : values(size_t(rows * r.valueDim), NAN), indices(size_t(rows * r.indexDim), -7) {}
  Outputs outputs() {
    return {values.empty() ? nullptr : values.data(), indices.empty() ? nullptr : indices.data()};
  }
};

} // namespace

TEST(FuseReductions, CompilerAddsOneFusedReductionPerGroup) {
  std::shared_ptr<Artifact> artifact = Artifact::fromBytes(compile(), "fused.kca");
  const ReductionInfo *sums = artifact->fusedReduction({"grad", "value"});
  ASSERT_NE(sums, nullptr);
  EXPECT_EQ(sums->name, "fused__value__grad");
  EXPECT_EQ(sums->fuses, (std::vector<std::string>{"value", "grad"}));
  EXPECT_EQ(sums->valueDim, 4);
  // The Exp of the shared distance is computed once: one exp in the fused formula.
  int exps = 0;
  for (const FormulaOp &op : sums->formula)
    exps += op.name == "exp";
  EXPECT_EQ(exps, 1);
  const ReductionInfo *nearest = artifact->fusedReduction({"nearest", "nearest_abs"});
  ASSERT_NE(nearest, nullptr);
  EXPECT_EQ(nearest->valueDim, 4); // SqDist (1) + Abs(X - Y) (3)
  EXPECT_EQ(nearest->indexDim, 4);
  // Not fused: another axis, a kind with K, a set that is no fused reduction's.
  EXPECT_EQ(artifact->fusedReduction({"value", "transposed"}), nullptr);
  EXPECT_EQ(artifact->fusedReduction({"knn", "nearest"}), nullptr);
  EXPECT_EQ(artifact->fusedReduction({"value"}), nullptr);
  EXPECT_EQ(artifact->reductions().size(), 8u); // 6 reductions + 2 fused

  std::shared_ptr<Artifact> unfused = Artifact::fromBytes(compile(false), "unfused.kca");
  EXPECT_EQ(unfused->reductions().size(), 6u);
  EXPECT_EQ(unfused->fusedReduction({"value", "grad"}), nullptr);
}

TEST(FuseReductions, RunManyEqualsEachRunAndTheReference) {
  std::shared_ptr<Artifact> artifact = Artifact::fromBytes(compile(), "fused.kca");
  for (auto [nI, nJ] : {std::pair<int64_t, int64_t>{1, 1}, {17, 1025}, {1025, 300}, {300, 0}}) {
    Problem p(nI, nJ);
    for (std::vector<std::string> names :
         {std::vector<std::string>{"grad", "value"}, {"nearest", "nearest_abs"},
          {"value", "transposed", "knn"}}) {
      std::vector<Result> many;
      std::vector<Outputs> outputs;
      for (const std::string &name : names)
        many.emplace_back(artifact->reduction(name), artifact->outputRows(name, nI, nJ));
      for (Result &result : many)
        outputs.push_back(result.outputs());
      artifact->runMany(names, p.inputsOf(*artifact, names), outputs, nI, nJ);
      for (size_t k = 0; k < names.size(); ++k) {
        SCOPED_TRACE(names[k] + " nI = " + std::to_string(nI) + " nJ = " + std::to_string(nJ));
        const ReductionInfo &r = artifact->reduction(names[k]);
        const int64_t rows = artifact->outputRows(names[k], nI, nJ);
        Result alone(r, rows);
        artifact->run(names[k], p.ordered(r), alone.outputs(), nI, nJ);
        ReferenceOutputs ref = referenceRun(r, p.pointers(r), nI, nJ);
        for (size_t e = 0; e < alone.values.size(); ++e) {
          const double scale = std::max(1.0, std::abs(ref.values[e]));
          if (std::isinf(ref.values[e])) { // an empty range's min
            EXPECT_EQ(many[k].values[e], ref.values[e]);
            continue;
          }
          EXPECT_NEAR(many[k].values[e], ref.values[e], 1e-5 * scale) << "component " << e;
          // Float32 sums in another order (the fused kernel's j-blocks): a few ulps per term.
          EXPECT_NEAR(many[k].values[e], alone.values[e], 1e-5 * scale) << "component " << e;
        }
        // Random data has no ties: the indices are exact.
        EXPECT_EQ(many[k].indices, ref.indices);
        EXPECT_EQ(many[k].indices, alone.indices);
      }
    }
  }
}

TEST(FuseReductions, RunManyWithABatch) {
  std::shared_ptr<Artifact> artifact = Artifact::fromBytes(compile(), "fused.kca");
  const int64_t batch = 3, nI = 40, nJ = 33;
  std::vector<float> x = random(size_t(batch * nI * 3), 4), y = random(size_t(nJ * 3), 5),
                     b = random(size_t(batch * nJ), 6), s{0.5f, 1.0f, 2.0f};
  std::map<std::string, Input, std::less<>> inputs = {
      {"X", Input(x.data(), {batch})}, {"Y", y.data()}, {"B", Input(b.data(), {batch})},
      {"S", Input(s.data(), {batch})}};
  std::vector<float> value(size_t(batch * nI)), grad(size_t(batch * nI * 3));
  artifact->runMany({"value", "grad"}, inputs, {Outputs{value.data()}, Outputs{grad.data()}}, nI,
                    nJ);
  for (int64_t e = 0; e < batch; ++e) {
    for (const char *name : {"value", "grad"}) {
      const ReductionInfo &r = artifact->reduction(name);
      std::vector<const float *> in;
      for (const VariableInfo &v : r.variables)
        in.push_back(v.name == "X"   ? x.data() + e * nI * 3
                     : v.name == "Y" ? y.data()
                     : v.name == "B" ? b.data() + e * nJ
                                     : s.data() + e);
      ReferenceOutputs ref = referenceRun(r, in, nI, nJ);
      const float *out = std::string(name) == "value" ? value.data() + e * nI
                                                      : grad.data() + e * nI * 3;
      for (size_t c = 0; c < ref.values.size(); ++c)
        EXPECT_NEAR(out[c], ref.values[c], 1e-5 * std::max(1.0, std::abs(ref.values[c])))
            << name << " entry " << e << " component " << c;
    }
  }
}

TEST(FuseReductions, RunManyRefusesBadCalls) {
  std::shared_ptr<Artifact> artifact = Artifact::fromBytes(compile(), "fused.kca");
  Problem p(10, 12);
  std::vector<float> v(10), g(30);
  auto expectInvalid = [&](auto call, const std::string &needle) {
    try {
      call();
      ADD_FAILURE() << "no error; expected one containing '" << needle << "'";
    } catch (const Error &e) {
      EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  const std::vector<Outputs> both = {Outputs{v.data()}, Outputs{g.data()}};
  expectInvalid([&] { artifact->runMany({}, p.inputs(), {}, 10, 12); }, "no reductions given");
  expectInvalid([&] { artifact->runMany({"value", "grad"}, p.inputs(), {both[0]}, 10, 12); },
                "2 reductions but 1 outputs");
  expectInvalid([&] { artifact->runMany({"value", "value"}, p.inputs(), both, 10, 12); },
                "'value' is given twice");
  expectInvalid([&] { artifact->runMany({"value", "nope"}, p.inputs(), both, 10, 12); },
                "no reduction named 'nope'");
  auto extra = p.inputs();
  extra["Z"] = p.x.data();
  expectInvalid([&] { artifact->runMany({"value", "grad"}, extra, both, 10, 12); },
                "no reduction of the call has a variable 'Z'");
  auto missing = p.inputs();
  missing.erase("B");
  expectInvalid([&] { artifact->runMany({"value", "grad"}, missing, both, 10, 12); },
                "no input given for variable 'B'");
  expectInvalid(
      [&] {
        artifact->runMany({"value", "grad"}, p.inputs(), {Outputs{v.data()}, Outputs{}}, 10, 12);
      },
      "reduction 'grad': values is a null pointer");
  // Nothing was written by the refused calls.
  for (float value : v)
    EXPECT_EQ(value, 0.0f);
  // nOut = 0: nothing to compute, no error.
  artifact->runMany({"value", "grad"}, p.inputs(), {Outputs{}, Outputs{}}, 0, 12);
}

TEST(FuseReductions, ValidationRefusesInconsistentFusedMetadata) {
  const std::string bytes = compile();
  auto tampered = [&](auto edit, const std::string &needle) {
    ArtifactContents contents = parseArtifact(bytes, "fused.kca");
    for (ReductionInfo &r : contents.reductions)
      if (r.name == "fused__value__grad")
        edit(r);
    try {
      validateArtifact(contents, "fused.kca");
      ADD_FAILURE() << "accepted; expected an error containing '" << needle << "'";
    } catch (const Error &e) {
      EXPECT_EQ(e.code(), ErrorCode::InvalidArtifact);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  tampered([](ReductionInfo &r) { r.fuses = {"value"}; }, "at least 2");
  tampered([](ReductionInfo &r) { r.fuses = {"value", "missing"}; }, "not an unfused reduction");
  tampered([](ReductionInfo &r) { r.fuses = {"value", "value"}; }, "twice");
  tampered([](ReductionInfo &r) { r.fuses = {"value", "nearest"}; }, "another kind");
  tampered([](ReductionInfo &r) { r.fuses = {"value", "fused__value__grad"}; },
           "not an unfused reduction");
  tampered([](ReductionInfo &r) { r.fuses = {"grad", "transposed"}; }, "another kind, axis");
  // A metadata round trip keeps the line.
  ArtifactContents contents = parseArtifact(bytes, "fused.kca");
  EXPECT_NE(printMetadata(contents).find("fuses value grad\n"), std::string::npos);
}
