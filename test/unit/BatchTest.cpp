//===- BatchTest.cpp - batch dimensions on the CPU path -------------------===//
//
// Batched calls (Input::batch, docs/runtime.md "Batch dimensions") against one unbatched call per
// problem (bit-identical: same kernel, same rows) and against the float64 reference, on the test
// artifacts' hand-written kernels (TestArtifacts.h): every variable category batched, broadcast
// (size 1 and missing dimensions), strided (expanded, stride 0), several batch dimensions,
// parameters per problem, index kinds, axis 0; the errors for shapes that do not broadcast.
// The GPU kernels' batch decoding is checked by kconv-gpu-emulate --batch (test/Execution/GPU).
//
//===----------------------------------------------------------------------===//
#include "TestArtifacts.h"
#include "kconv/ABI/BatchLayout.h"
#include "kconv/Runtime/Runtime.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

using namespace kconv;

namespace {

int64_t product(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t s : shape)
    n *= s;
  return n;
}

class BatchTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string why;
    const std::string &bytes = test::testArtifactBytes(why);
    const std::string &indexBytes = test::testIndexArtifactBytes(why);
    if (bytes.empty() || indexBytes.empty())
      GTEST_SKIP() << "cannot build the test kernels: " << why;
    art_ = Artifact::fromBytes(bytes, "test.kca");
    indexArt_ = Artifact::fromBytes(indexBytes, "index.kca");
  }

  const Artifact &artifactOf(const std::string &name) const {
    for (const ReductionInfo &r : art_->reductions())
      if (r.name == name)
        return *art_;
    return *indexArt_;
  }

  /// Runs `name` with variable k's batch shape `shapes[k]` (packed, or `strides[k]` when given)
  /// and checks every problem of the broadcast batch against an unbatched call on that problem's
  /// arrays and against the reference.
  void check(const std::string &name, int64_t nI, int64_t nJ,
             const std::vector<std::vector<int64_t>> &shapes,
             const std::vector<std::vector<int64_t>> &strides = {}, int threads = 0) {
    SCOPED_TRACE(name + " nI=" + std::to_string(nI) + " nJ=" + std::to_string(nJ));
    const Artifact &art = artifactOf(name);
    const ReductionInfo &r = art.reduction(name);
    std::mt19937_64 rng(uint64_t(nI * 31 + nJ));
    std::normal_distribution<float> normal;
    std::vector<std::vector<float>> data(r.variables.size());
    std::vector<Input> inputs;
    for (size_t k = 0; k < r.variables.size(); ++k) {
      const VariableInfo &v = r.variables[k];
      int64_t rows = v.category == VarCategory::Vi ? nI : v.category == VarCategory::Vj ? nJ : 1;
      // The array's extent: its last problem's block ends there.
      int64_t floats = product(shapes[k]) * rows * v.dim;
      if (k < strides.size() && !strides[k].empty()) {
        floats = rows * v.dim;
        for (size_t d = 0; d < shapes[k].size(); ++d)
          floats += (shapes[k][d] - 1) * strides[k][d];
      }
      data[k].resize(size_t(std::max<int64_t>(floats, 1)));
      for (float &x : data[k])
        x = v.category == VarCategory::Pm ? std::fabs(normal(rng)) + 0.1f : normal(rng);
      Input in(data[k].data(), shapes[k]);
      if (k < strides.size())
        in.batchStrides = strides[k];
      inputs.push_back(in);
    }
    const std::vector<int64_t> batch = art.broadcastBatchShape(name, inputs);
    const int64_t problems = product(batch);
    const int64_t nOut = art.outputRows(name, nI, nJ);
    const int64_t valueCount = nOut * r.valueDim, indexCount = nOut * r.indexDim;
    std::vector<float> values(size_t(problems * valueCount) + 4,
                              std::numeric_limits<float>::quiet_NaN());
    std::vector<int64_t> indices(size_t(problems * indexCount) + 4, -7);
    RunOptions options;
    options.threads = threads;
    art.run(name, inputs, Outputs{r.valueDim ? values.data() : nullptr,
                                  r.indexDim ? indices.data() : nullptr},
            nI, nJ, options);
    for (size_t k = size_t(problems * valueCount); k < values.size(); ++k)
      ASSERT_TRUE(std::isnan(values[k])) << "wrote past the values at " << k;
    for (size_t k = size_t(problems * indexCount); k < indices.size(); ++k)
      ASSERT_EQ(indices[k], -7) << "wrote past the indices at " << k;

    // Each problem: its arrays by NumPy broadcasting (index 0 along a variable's size-1 or
    // missing dimensions), run alone.
    std::vector<int64_t> allRows(static_cast<size_t>(nOut));
    for (int64_t i = 0; i < nOut; ++i)
      allRows[size_t(i)] = i;
    for (int64_t e = 0; e < problems; ++e) {
      SCOPED_TRACE("problem " + std::to_string(e));
      std::vector<int64_t> digits(batch.size());
      for (size_t d = batch.size(), rest = size_t(e); d-- > 0;) {
        digits[d] = int64_t(rest % size_t(batch[d]));
        rest /= size_t(batch[d]);
      }
      std::vector<const float *> pointers;
      std::vector<Input> single;
      for (size_t k = 0; k < r.variables.size(); ++k) {
        const VariableInfo &v = r.variables[k];
        int64_t rows = v.category == VarCategory::Vi ? nI : v.category == VarCategory::Vj ? nJ : 1;
        const std::vector<int64_t> &shape = shapes[k];
        int64_t offset = 0, packed = rows * v.dim;
        for (size_t d = shape.size(); d-- > 0;) {
          int64_t stride = k < strides.size() && !strides[k].empty() ? strides[k][d] : packed;
          int64_t digit = shape[d] == 1 ? 0 : digits[batch.size() - shape.size() + d];
          offset += digit * stride;
          packed *= shape[d];
        }
        pointers.push_back(data[k].data() + offset);
        single.push_back(pointers.back());
      }
      std::vector<float> want(size_t(std::max<int64_t>(valueCount, 1)));
      std::vector<int64_t> wantIndices(size_t(std::max<int64_t>(indexCount, 1)));
      art.run(name, single, Outputs{r.valueDim ? want.data() : nullptr,
                                    r.indexDim ? wantIndices.data() : nullptr},
              nI, nJ);
      if (r.valueDim) {
        ASSERT_EQ(std::memcmp(want.data(), values.data() + e * valueCount,
                              size_t(valueCount) * sizeof(float)),
                  0)
            << "values differ from the unbatched call: " << [&] {
                 for (int64_t q = 0; q < valueCount; ++q)
                   if (want[size_t(q)] != values[size_t(e * valueCount + q)])
                     return "element " + std::to_string(q) + ": " +
                            std::to_string(values[size_t(e * valueCount + q)]) + " batched, " +
                            std::to_string(want[size_t(q)]) + " alone";
                 return std::string("?");
               }();
      }
      if (r.indexDim) {
        ASSERT_EQ(std::memcmp(wantIndices.data(), indices.data() + e * indexCount,
                              size_t(indexCount) * sizeof(int64_t)),
                  0)
            << "indices differ from the unbatched call";
      }
      ReferenceOutputs ref = referenceRun(r, pointers, nI, nJ, allRows);
      if (r.valueDim) {
        ValueCheck c = checkValues(r, allRows, ref, values.data() + e * valueCount);
        EXPECT_TRUE(c.ok(1e-5)) << "relative error " << c.error;
      }
      if (r.indexDim) {
        IndexCheck c =
            checkIndices(r, pointers, nI, nJ, allRows, ref, indices.data() + e * indexCount, 1e-5);
        EXPECT_TRUE(c.ok()) << c.offValue << " off, " << c.invalid << " invalid";
      }
    }
  }

  template <typename F> static void expectError(const std::string &fragment, F f) {
    try {
      f();
      FAIL() << "no error; expected '" << fragment << "'";
    } catch (const Error &e) {
      EXPECT_EQ(int(e.code()), int(ErrorCode::InvalidArgument)) << e.what();
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  }

  std::shared_ptr<Artifact> art_, indexArt_;
};

// gaussian_conv: X i 3, Y j 3, B j 1.
TEST_F(BatchTest, EveryVariableBatched) {
  for (auto [nI, nJ] : {std::pair<int64_t, int64_t>{1, 1}, {17, 33}, {300, 257}})
    for (std::vector<int64_t> shape : {std::vector<int64_t>{1}, {7}, {2, 3}})
      check("gaussian_conv", nI, nJ, {shape, shape, shape});
}

TEST_F(BatchTest, BroadcastEachVariable) {
  // One variable of size 1 (or with no batch dimension) against 5 for the others.
  for (size_t broadcast = 0; broadcast < 3; ++broadcast)
    for (std::vector<int64_t> small : {std::vector<int64_t>{1}, std::vector<int64_t>{}}) {
      std::vector<std::vector<int64_t>> shapes(3, {5});
      shapes[broadcast] = small;
      check("gaussian_conv", 40, 70, shapes);
    }
  // Every pair of batches: X (2, 1), Y and B (1, 3): a layout that does not collapse.
  check("gaussian_conv", 30, 50, {{2, 1}, {1, 3}, {1, 3}});
  // Leading dimensions missing: X (4, 2, 3), Y (3,), B (2, 1).
  check("gaussian_conv", 9, 11, {{4, 2, 3}, {3}, {2, 1}});
}

TEST_F(BatchTest, ParametersPerProblemAndAxisZero) {
  // transposed: X i 3, A i 1, Y j 3, S p 1 -> j (axis 0). One parameter per problem.
  check("transposed", 50, 23, {{3}, {3}, {3}, {3}});
  check("transposed", 50, 23, {{3}, {1}, {}, {2, 3}});
  check("transposed", 1, 1, {{6}, {6}, {6}, {6}});
}

TEST_F(BatchTest, IndexKinds) {
  check("nearest", 33, 65, {{2, 3}, {2, 3}});
  check("nearest", 33, 65, {{4}, {1}});
  check("knn", 20, 41, {{3}, {3}});
  check("argmin_t", 37, 19, {{1, 5}, {2, 1}});
}

TEST_F(BatchTest, StridedInputs) {
  // Y expanded along the batch (stride 0: the same array for all 4 problems) is the same as
  // broadcasting a size-1 dimension; X with a gap between problems (stride 200 floats > 40 x 3).
  check("gaussian_conv", 40, 30, {{4}, {4}, {4}}, {{200}, {0}, {30}});
  // Column-major batch of X: (2, 3) with strides (1 x 120, 2 x 120).
  check("gaussian_conv", 40, 30, {{2, 3}, {2, 3}, {}}, {{120, 240}, {}});
}

TEST_F(BatchTest, ManyProblemsShareTheThreads) {
  // 100 small problems: tasks from every problem on the pool; 1 thread gives the same bits.
  check("gaussian_conv", 100, 100, {{100}, {100}, {100}});
  check("gaussian_conv", 100, 100, {{100}, {100}, {100}}, {}, /*threads=*/1);
}

TEST_F(BatchTest, EmptyBatchWritesNothing) {
  std::vector<float> x(30), y(30), b(10), out(4, 42.0f);
  art_->run("gaussian_conv", {Input(x.data(), {0}), Input(y.data(), {0}), Input(b.data(), {0})},
            out.data(), 10, 10);
  art_->run("gaussian_conv", {Input(nullptr, {2, 0}), Input(y.data(), {1}), Input(b.data())},
            nullptr, 10, 10);
  for (float v : out)
    EXPECT_EQ(v, 42.0f);
  EXPECT_EQ(art_->broadcastBatchShape("gaussian_conv",
                                      {Input(x.data(), {2, 0}), Input(y.data(), {1}), b.data()}),
            (std::vector<int64_t>{2, 0}));
}

TEST_F(BatchTest, ShapesThatDoNotBroadcastAreRefused) {
  std::vector<float> x(1000), y(1000), b(1000), out(1000);
  expectError("input 1 (Y, j, dim 3) has batch shape (3,), input 0 (X, i, dim 3) has (2,): "
              "they do not broadcast",
              [&] {
                art_->run("gaussian_conv",
                          {Input(x.data(), {2}), Input(y.data(), {3}), Input(b.data())},
                          out.data(), 10, 10);
              });
  expectError("input 2 (B, j, dim 1) has batch shape (4, 3), input 0 (X, i, dim 3) has (2, 1)",
              [&] {
                art_->broadcastBatchShape("gaussian_conv", {Input(x.data(), {2, 1}),
                                                            Input(y.data(), {3}),
                                                            Input(b.data(), {4, 3})});
              });
  expectError("sizes must be >= 0", [&] {
    art_->run("gaussian_conv", {Input(x.data(), {-1}), y.data(), b.data()}, out.data(), 10, 10);
  });
  Input strided(x.data(), {2});
  strided.batchStrides = {30, 1};
  expectError("has 2 batch strides for batch shape (2,)", [&] {
    art_->run("gaussian_conv", {strided, y.data(), b.data()}, out.data(), 10, 10);
  });
  strided.batchStrides = {-30};
  expectError("strides must be >= 0", [&] {
    art_->run("gaussian_conv", {strided, y.data(), b.data()}, out.data(), 10, 10);
  });
  expectError("values is a null pointer (batch (2,) of 10 output rows", [&] {
    art_->run("gaussian_conv", {Input(x.data(), {2}), y.data(), b.data()}, nullptr, 10, 10);
  });
  // The batch's size in bytes must fit in 64 bits.
  expectError("does not fit in 64 bits", [&] {
    art_->run("gaussian_conv",
              {Input(x.data(), {int64_t(1) << 40, int64_t(1) << 30}), y.data(), b.data()},
              out.data(), 10, 10);
  });
}

TEST(BatchLayout, CollapsesNestedDimensions) {
  using kconv::abi::BatchLayout;
  // Packed (2, 3) of 12-float problems for two variables: one dimension of 6.
  BatchLayout l = BatchLayout::collapse({2, 3}, {{36, 12}, {30, 10}});
  EXPECT_EQ(l.shape, (std::vector<int64_t>{6}));
  EXPECT_EQ(l.strides[1], (std::vector<int64_t>{10}));
  EXPECT_EQ(l.offset(1, 5), 50);
  // A variable broadcast along the first: two dimensions.
  l = BatchLayout::collapse({2, 1, 3}, {{36, 0, 12}, {0, 0, 10}});
  EXPECT_EQ(l.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(l.offset(0, 4), 36 + 12);
  EXPECT_EQ(l.offset(1, 4), 10);
  EXPECT_EQ(l.count(), 6);
  EXPECT_TRUE(BatchLayout::collapse({3, 0}, {{1, 1}}).empty);
  EXPECT_EQ(BatchLayout::collapse({3, 0}, {{1, 1}}).count(), 0);
  // Rank 6 alternating patterns: the kernels take 4, the runtime loops over the other 2.
  l = BatchLayout::collapse({2, 2, 2, 2, 2, 2}, {{32, 0, 8, 0, 2, 0}, {0, 16, 0, 4, 0, 1}});
  ASSERT_EQ(l.shape.size(), 6u);
  BatchLayout outer;
  BatchLayout inner = l.splitOuter(outer);
  EXPECT_EQ(outer.shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(inner.shape, (std::vector<int64_t>{2, 2, 2, 2}));
  for (int64_t e = 0; e < l.count(); ++e)
    for (size_t k = 0; k < 2; ++k)
      EXPECT_EQ(l.offset(k, e), outer.offset(k, e / 16) + inner.offset(k, e % 16));
  int32_t sizes[kconv::abi::kGpuBatchRank];
  std::vector<int64_t> strides;
  BatchLayout::collapse({2, 1, 3}, {{36, 0, 12}, {0, 0, 10}}).gpuParams(2, sizes, strides);
  EXPECT_EQ(std::vector<int32_t>(sizes, sizes + 4), (std::vector<int32_t>{1, 1, 2, 3}));
  EXPECT_EQ(strides, (std::vector<int64_t>{0, 0, 36, 12, 0, 0, 0, 10}));
}

} // namespace
