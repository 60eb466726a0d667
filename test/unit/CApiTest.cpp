//===- CApiTest.cpp - the C API --------------------------------------------===//
#include "TestArtifacts.h"
#include "kconv/Runtime/Runtime.h"
#include "kconv/Runtime/kconv.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <thread>

namespace {

class CApiTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string why;
    bytes_ = &kconv::test::testArtifactBytes(why);
    if (bytes_->empty())
      GTEST_SKIP() << "cannot build the test kernels: " << why;
    ASSERT_EQ(kconv_load_memory(bytes_->data(), bytes_->size(), "c.kca", &art_), KCONV_OK)
        << kconv_last_error();
  }
  void TearDown() override { kconv_free(art_); }

  const std::string *bytes_ = nullptr;
  kconv_artifact *art_ = nullptr;
};

bool contains(const char *text, const char *fragment) {
  return std::strstr(text, fragment) != nullptr;
}

} // namespace

TEST_F(CApiTest, Queries) {
  int64_t count = 0;
  ASSERT_EQ(kconv_num_reductions(art_, &count), KCONV_OK);
  EXPECT_EQ(count, 4);
  kconv_reduction_info info;
  ASSERT_EQ(kconv_reduction_at(art_, 2, &info), KCONV_OK);
  EXPECT_STREQ(info.name, "transposed");
  EXPECT_STREQ(info.kind, "sum");
  EXPECT_EQ(info.axis, 0);
  EXPECT_EQ(info.value_dim, 1);
  EXPECT_EQ(info.index_dim, 0);
  EXPECT_EQ(info.k, 1);
  EXPECT_EQ(info.num_variables, 4);
  ASSERT_EQ(kconv_reduction_by_name(art_, "gaussian_vec", &info), KCONV_OK);
  EXPECT_EQ(info.value_dim, 3);

  kconv_variable_info var;
  ASSERT_EQ(kconv_variable_at(art_, "transposed", 3, &var), KCONV_OK);
  EXPECT_STREQ(var.name, "S");
  EXPECT_EQ(var.category, KCONV_CATEGORY_P);
  EXPECT_EQ(var.dim, 1);
  ASSERT_EQ(kconv_variable_at(art_, "transposed", 2, &var), KCONV_OK);
  EXPECT_EQ(var.category, KCONV_CATEGORY_J);
  EXPECT_EQ(var.dim, 3);
  int available = -1;
  const char *reason = nullptr;
  ASSERT_EQ(kconv_cpu_available(art_, "gaussian_conv", &available, &reason), KCONV_OK);
  EXPECT_EQ(available, 1);
  EXPECT_STREQ(reason, "");
  ASSERT_EQ(kconv_cpu_available(art_, "no_cpu", &available, &reason), KCONV_OK);
  EXPECT_EQ(available, 0);
  EXPECT_TRUE(contains(reason, "no CPU code"));
  EXPECT_STREQ(kconv_version(), "0.1.0");
  EXPECT_GE(kconv_default_threads(), 1);

  EXPECT_EQ(kconv_reduction_at(art_, 4, &info), KCONV_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(kconv_last_error(), "index 4 out of range [0, 4)"));
  EXPECT_EQ(kconv_reduction_by_name(art_, "nope", &info), KCONV_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(kconv_last_error(), "no reduction named 'nope'"));
  EXPECT_EQ(kconv_variable_at(art_, "transposed", 4, &var), KCONV_INVALID_ARGUMENT);
  EXPECT_EQ(kconv_num_reductions(nullptr, &count), KCONV_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(kconv_last_error(), "artifact is a null pointer"));
}

TEST_F(CApiTest, RunMatchesCpp) {
  const int64_t nI = 123, nJ = 77;
  std::vector<float> x(static_cast<size_t>(nI * 3)), y(static_cast<size_t>(nJ * 3)), b(static_cast<size_t>(nJ));
  for (size_t k = 0; k < x.size(); ++k)
    x[k] = float(std::sin(double(k)));
  for (size_t k = 0; k < y.size(); ++k)
    y[k] = float(std::cos(double(k)));
  for (size_t k = 0; k < b.size(); ++k)
    b[k] = float(k % 5) - 2;
  const float *inputs[] = {x.data(), y.data(), b.data()};
  std::vector<float> out(static_cast<size_t>(nI)), want(static_cast<size_t>(nI));
  ASSERT_EQ(kconv_run(art_, "gaussian_conv", inputs, 3, out.data(), nI, nJ, nullptr), KCONV_OK)
      << kconv_last_error();
  auto cpp = kconv::Artifact::fromBytes(*bytes_);
  cpp->run("gaussian_conv", {x.data(), y.data(), b.data()}, want.data(), nI, nJ);
  EXPECT_EQ(out, want);

  kconv_run_options options;
  kconv_run_options_init(&options);
  EXPECT_EQ(options.device, KCONV_DEVICE_AUTO);
  options.threads = 2;
  options.device = KCONV_DEVICE_CPU;
  int64_t rows[] = {nI, nJ, nJ}, dims[] = {3, 3, 1};
  options.input_rows = rows;
  options.input_dims = dims;
  std::fill(out.begin(), out.end(), 0.0f);
  ASSERT_EQ(kconv_run(art_, "gaussian_conv", inputs, 3, out.data(), nI, nJ, &options), KCONV_OK)
      << kconv_last_error();
  EXPECT_EQ(out, want);
  ASSERT_EQ(kconv_set_threads(art_, 3), KCONV_OK);
  ASSERT_EQ(kconv_run(art_, "gaussian_conv", inputs, 3, out.data(), nI, nJ, nullptr), KCONV_OK);
  EXPECT_EQ(out, want);
}

TEST_F(CApiTest, Errors) {
  std::vector<float> x(30), y(30), b(10), out(10, 5.0f);
  const float *inputs[] = {x.data(), y.data(), b.data()};
  EXPECT_EQ(kconv_run(art_, "gaussian_conv", inputs, 2, out.data(), 10, 10, nullptr),
            KCONV_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(kconv_last_error(), "expected 3 inputs (X, Y, B), got 2"));
  EXPECT_EQ(kconv_run(art_, "gaussian_conv", inputs, 3, nullptr, 10, 10, nullptr),
            KCONV_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(kconv_last_error(), "values is a null pointer"));
  EXPECT_EQ(kconv_run(art_, "gaussian_conv", nullptr, 3, out.data(), 10, 10, nullptr),
            KCONV_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(kconv_last_error(), "inputs is a null pointer"));
  const float *withNull[] = {x.data(), nullptr, b.data()};
  EXPECT_EQ(kconv_run(art_, "gaussian_conv", withNull, 3, out.data(), 10, 10, nullptr),
            KCONV_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(kconv_last_error(), "input 1 (Y, j, dim 3) is a null pointer"));
  EXPECT_EQ(kconv_run(art_, "gaussian_conv", inputs, 3, out.data(), -1, 10, nullptr),
            KCONV_INVALID_ARGUMENT);
  EXPECT_EQ(kconv_run(art_, "nope", inputs, 3, out.data(), 10, 10, nullptr),
            KCONV_INVALID_ARGUMENT);
  EXPECT_EQ(kconv_run(art_, nullptr, inputs, 3, out.data(), 10, 10, nullptr),
            KCONV_INVALID_ARGUMENT);
  EXPECT_EQ(kconv_run(nullptr, "gaussian_conv", inputs, 3, out.data(), 10, 10, nullptr),
            KCONV_INVALID_ARGUMENT);
  kconv_run_options options;
  kconv_run_options_init(&options);
  int64_t dims[] = {3, 2, 1};
  options.input_dims = dims;
  EXPECT_EQ(kconv_run(art_, "gaussian_conv", inputs, 3, out.data(), 10, 10, &options),
            KCONV_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(kconv_last_error(), "has dimension 2, expected 3"));
  kconv_run_options_init(&options);
  options.device = KCONV_DEVICE_GPU;
  EXPECT_EQ(kconv_run(art_, "gaussian_conv", inputs, 3, out.data(), 10, 10, &options),
            KCONV_UNSUPPORTED);
  EXPECT_TRUE(contains(kconv_last_error(), "no GPU path"));
  options.device = 7;
  EXPECT_EQ(kconv_run(art_, "gaussian_conv", inputs, 3, out.data(), 10, 10, &options),
            KCONV_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(kconv_last_error(), "unknown device 7"));
  for (float v : out)
    EXPECT_EQ(v, 5.0f);
  // N = 0 / M = 0.
  EXPECT_EQ(kconv_run(art_, "gaussian_conv", inputs, 3, nullptr, 0, 10, nullptr), KCONV_OK);
  const float *onlyX[] = {x.data(), nullptr, nullptr};
  EXPECT_EQ(kconv_run(art_, "gaussian_conv", onlyX, 3, out.data(), 10, 0, nullptr), KCONV_OK);
  for (float v : out)
    EXPECT_EQ(v, 0.0f);
  EXPECT_EQ(kconv_set_threads(art_, -1), KCONV_INVALID_ARGUMENT);
  kconv_free(nullptr);
}

TEST(CApi, LoadErrors) {
  kconv_artifact *art = nullptr;
  EXPECT_EQ(kconv_load("/nonexistent/file.kca", &art), KCONV_IO_ERROR);
  EXPECT_TRUE(contains(kconv_last_error(), "/nonexistent/file.kca: cannot open the artifact"));
  EXPECT_EQ(art, nullptr);
  const char junk[] = "definitely not an artifact, but long enough to have a header";
  EXPECT_EQ(kconv_load_memory(junk, sizeof(junk), "junk.kca", &art), KCONV_INVALID_ARTIFACT);
  EXPECT_TRUE(contains(kconv_last_error(), "junk.kca: not a valid kconv artifact: bad magic"));
  EXPECT_EQ(kconv_load(nullptr, &art), KCONV_INVALID_ARGUMENT);
  EXPECT_EQ(kconv_load_memory(junk, sizeof(junk), "junk.kca", nullptr), KCONV_INVALID_ARGUMENT);
}

TEST(CApi, LastErrorIsPerThread) {
  kconv_artifact *art = nullptr;
  EXPECT_EQ(kconv_load("/nonexistent/a.kca", &art), KCONV_IO_ERROR);
  std::string other;
  std::thread([&] {
    other = kconv_last_error();
    kconv_load("/nonexistent/b.kca", &art);
  }).join();
  EXPECT_EQ(other, "");
  EXPECT_TRUE(contains(kconv_last_error(), "/nonexistent/a.kca"));
}

TEST_F(CApiTest, LoadsFromFile) {
  std::string dir = kconv::test::makeTempDir();
  std::string path = dir + "/c.kca";
  {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes_->data(), std::streamsize(bytes_->size()));
  }
  kconv_artifact *art = nullptr;
  ASSERT_EQ(kconv_load(path.c_str(), &art), KCONV_OK) << kconv_last_error();
  int64_t count = 0;
  EXPECT_EQ(kconv_num_reductions(art, &count), KCONV_OK);
  EXPECT_EQ(count, 4);
  kconv_free(art);
  std::remove(path.c_str());
  ::rmdir(dir.c_str());
}

// kconv_run_outputs: both outputs of min_argmin; the pointer checks of Artifact::run.
TEST(CApiIndexKinds, RunOutputs) {
  std::string why;
  const std::string &bytes = kconv::test::testIndexArtifactBytes(why);
  if (bytes.empty())
    GTEST_SKIP() << "cannot build the test kernels: " << why;
  kconv_artifact *art_ = nullptr;
  ASSERT_EQ(kconv_load_memory(bytes.data(), bytes.size(), "index-kinds.kca", &art_), KCONV_OK)
      << kconv_last_error();
  kconv_reduction_info info;
  ASSERT_EQ(kconv_reduction_by_name(art_, "knn", &info), KCONV_OK);
  EXPECT_STREQ(info.kind, "kmin_argkmin");
  EXPECT_EQ(info.value_dim, 6);
  EXPECT_EQ(info.index_dim, 6);
  EXPECT_EQ(info.k, 3);
  ASSERT_EQ(kconv_reduction_by_name(art_, "argmin_t", &info), KCONV_OK);
  EXPECT_EQ(info.value_dim, 0);
  EXPECT_EQ(info.index_dim, 1);

  // x_i - y_j per component; its minimum over j is at the largest y_j.
  const int64_t nI = 2, nJ = 3;
  std::vector<float> x = {0, 0, 0, 1, 2, 3}, y = {1, 5, 2, 4, 2, 2, 3, 3, 9};
  const float *inputs[] = {x.data(), y.data()};
  std::vector<float> values(6, -7.0f);
  std::vector<int64_t> indices(6, -7);
  ASSERT_EQ(kconv_run_outputs(art_, "nearest", inputs, 2, values.data(), indices.data(), nI, nJ,
                              nullptr),
            KCONV_OK)
      << kconv_last_error();
  EXPECT_EQ(indices, (std::vector<int64_t>{1, 0, 2, 1, 0, 2}));
  EXPECT_EQ(values, (std::vector<float>{-4, -5, -9, -3, -3, -6}));

  std::fill(values.begin(), values.end(), -7.0f);
  std::fill(indices.begin(), indices.end(), -7);
  EXPECT_EQ(kconv_run_outputs(art_, "nearest", inputs, 2, values.data(), nullptr, nI, nJ,
                              nullptr),
            KCONV_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(kconv_last_error(), "indices is a null pointer (2 output rows of 3 int64)"))
      << kconv_last_error();
  EXPECT_EQ(kconv_run(art_, "nearest", inputs, 2, values.data(), nI, nJ, nullptr),
            KCONV_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(kconv_last_error(), "indices is a null pointer")) << kconv_last_error();
  EXPECT_EQ(kconv_run(art_, "argmin_t", inputs, 2, values.data(), nI, nJ, nullptr),
            KCONV_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(kconv_last_error(), "values given, but kind argmin has no values output"))
      << kconv_last_error();
  EXPECT_EQ(kconv_run_outputs(nullptr, "nearest", inputs, 2, values.data(), indices.data(), nI,
                              nJ, nullptr),
            KCONV_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(kconv_last_error(), "kconv_run_outputs: artifact is a null pointer"))
      << kconv_last_error();
  for (float v : values)
    EXPECT_EQ(v, -7.0f);
  for (int64_t v : indices)
    EXPECT_EQ(v, -7);
  // argmin (axis 0): indices only, values NULL.
  std::vector<int64_t> nearestI(3, -7);
  const float *scalars[] = {x.data(), y.data()};
  ASSERT_EQ(kconv_run_outputs(art_, "argmin_t", scalars, 2, nullptr, nearestI.data(), 6, 3,
                              nullptr),
            KCONV_OK)
      << kconv_last_error();
  // (x_i - y_j)^2 over x = {0, 0, 0, 1, 2, 3}: y = 1 -> i 3, y = 5 -> i 5, y = 2 -> i 4.
  EXPECT_EQ(nearestI, (std::vector<int64_t>{3, 5, 4}));
  kconv_free(art_);
}

TEST_F(CApiTest, SumRefusesIndices) {
  std::vector<float> x(30), y(30), b(10), out(10, 5.0f);
  std::vector<int64_t> indices(10, 5);
  const float *inputs[] = {x.data(), y.data(), b.data()};
  EXPECT_EQ(kconv_run_outputs(art_, "gaussian_conv", inputs, 3, out.data(), indices.data(), 10,
                              10, nullptr),
            KCONV_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(kconv_last_error(), "indices given, but kind sum has no indices output"))
      << kconv_last_error();
  ASSERT_EQ(kconv_run_outputs(art_, "gaussian_conv", inputs, 3, out.data(), nullptr, 10, 10,
                              nullptr),
            KCONV_OK);
  for (float v : out)
    EXPECT_EQ(v, 0.0f); // b = 0
  for (int64_t v : indices)
    EXPECT_EQ(v, 5);
}

namespace {

/// Deterministic pseudo-random floats in [-1, 1).
std::vector<float> pattern(size_t n, unsigned seed) {
  std::vector<float> v(n);
  uint32_t s = seed * 2654435761u + 1;
  for (float &x : v) {
    s = s * 1664525u + 1013904223u;
    x = float(s >> 8) / float(1u << 23) - 1.0f;
  }
  return v;
}

} // namespace

// Batch dimensions through kconv_run_options: one C call over a batch equals one unbatched call
// per problem, bit for bit; broadcast (a missing dimension, a size 1, a stride 0) and a strided
// input (a gap between problems) included.
TEST_F(CApiTest, BatchedRunEqualsPerProblemRuns) {
  // gaussian_conv: X i 3 with batch (2, 3), strided (3 problems of X per row of the batch, a gap
  // of 7 floats after each); Y j 3 batch (1, 3) packed; B j 1 batch (2, 1) with stride 0 along
  // the 2 (expanded: one array for both).
  const int64_t nI = 37, nJ = 29;
  const int64_t xStride = nI * 3 + 7;
  std::vector<float> x = pattern(size_t(6 * xStride), 1), y = pattern(size_t(3 * nJ * 3), 2),
                     b = pattern(size_t(nJ), 3);
  const int64_t xBatch[] = {2, 3}, yBatch[] = {1, 3}, bBatch[] = {2, 1};
  const int64_t xStrides[] = {3 * xStride, xStride}, bStrides[] = {0, 12345};
  const int64_t *batch[] = {xBatch, yBatch, bBatch};
  const int64_t *strides[] = {xStrides, nullptr, bStrides};
  const int64_t rank[] = {2, 2, 2};

  int64_t shape[4] = {-1, -1, -1, -1}, shapeRank = -1;
  ASSERT_EQ(kconv_broadcast_batch_shape(art_, "gaussian_conv", 3, batch, rank, nullptr, 0,
                                        &shapeRank),
            KCONV_OK)
      << kconv_last_error();
  EXPECT_EQ(shapeRank, 2);
  ASSERT_EQ(kconv_broadcast_batch_shape(art_, "gaussian_conv", 3, batch, rank, shape, 4,
                                        &shapeRank),
            KCONV_OK)
      << kconv_last_error();
  EXPECT_EQ(std::vector<int64_t>(shape, shape + 3), (std::vector<int64_t>{2, 3, -1}));

  kconv_run_options options;
  kconv_run_options_init(&options);
  EXPECT_EQ(options.input_batch_rank, nullptr);
  EXPECT_EQ(options.input_batch, nullptr);
  EXPECT_EQ(options.input_batch_strides, nullptr);
  options.device = KCONV_DEVICE_CPU;
  options.input_batch_rank = rank;
  options.input_batch = batch;
  options.input_batch_strides = strides;
  std::vector<float> out(size_t(6 * nI) + 1, -99.0f);
  const float *inputs[] = {x.data(), y.data(), b.data()};
  ASSERT_EQ(kconv_run(art_, "gaussian_conv", inputs, 3, out.data(), nI, nJ, &options), KCONV_OK)
      << kconv_last_error();
  EXPECT_EQ(out.back(), -99.0f) << "wrote past the (2, 3, nI, 1) output";
  for (int64_t p = 0; p < 2; ++p)
    for (int64_t q = 0; q < 3; ++q) {
      SCOPED_TRACE("problem (" + std::to_string(p) + ", " + std::to_string(q) + ")");
      const float *one[] = {x.data() + p * xStrides[0] + q * xStrides[1],
                            y.data() + q * nJ * 3, b.data()};
      std::vector<float> want(static_cast<size_t>(nI));
      ASSERT_EQ(kconv_run(art_, "gaussian_conv", one, 3, want.data(), nI, nJ, nullptr),
                KCONV_OK)
          << kconv_last_error();
      EXPECT_EQ(std::memcmp(want.data(), out.data() + (p * 3 + q) * nI, size_t(nI) * 4), 0);
      EXPECT_TRUE(std::isfinite(want[0]) && want[0] != 0.0f);
    }

  // The same call without strides: everything packed (X then holds 6 problems back to back).
  options.input_batch_strides = nullptr;
  const int64_t bPacked[] = {1};
  const int64_t *packed[] = {xBatch, yBatch, bPacked};
  const int64_t packedRank[] = {2, 2, 1};
  options.input_batch = packed;
  options.input_batch_rank = packedRank;
  ASSERT_EQ(kconv_run(art_, "gaussian_conv", inputs, 3, out.data(), nI, nJ, &options), KCONV_OK)
      << kconv_last_error();
  for (int64_t e = 0; e < 6; ++e) {
    const float *one[] = {x.data() + e * nI * 3, y.data() + (e % 3) * nJ * 3, b.data()};
    std::vector<float> want(static_cast<size_t>(nI));
    ASSERT_EQ(kconv_run(art_, "gaussian_conv", one, 3, want.data(), nI, nJ, nullptr), KCONV_OK);
    EXPECT_EQ(std::memcmp(want.data(), out.data() + e * nI, size_t(nI) * 4), 0) << "entry " << e;
  }
}

// A parameter per problem (transposed: X i 3, A i 1, Y j 3, S p 1, axis 0), the others broadcast.
TEST_F(CApiTest, BatchedParameter) {
  const int64_t nI = 20, nJ = 11;
  std::vector<float> x = pattern(size_t(nI * 3), 4), a = pattern(size_t(nI), 5),
                     y = pattern(size_t(nJ * 3), 6), s = {0.25f, 1.0f, 4.0f};
  const int64_t sBatch[] = {3};
  const int64_t *batch[] = {nullptr, nullptr, nullptr, sBatch};
  const int64_t rank[] = {0, 0, 0, 1};
  kconv_run_options options;
  kconv_run_options_init(&options);
  options.input_batch_rank = rank;
  options.input_batch = batch;
  std::vector<float> out(size_t(3 * nJ));
  const float *inputs[] = {x.data(), a.data(), y.data(), s.data()};
  ASSERT_EQ(kconv_run(art_, "transposed", inputs, 4, out.data(), nI, nJ, &options), KCONV_OK)
      << kconv_last_error();
  for (int64_t e = 0; e < 3; ++e) {
    const float *one[] = {x.data(), a.data(), y.data(), s.data() + e};
    std::vector<float> want(static_cast<size_t>(nJ));
    ASSERT_EQ(kconv_run(art_, "transposed", one, 4, want.data(), nI, nJ, nullptr), KCONV_OK);
    EXPECT_EQ(std::memcmp(want.data(), out.data() + e * nJ, size_t(nJ) * 4), 0) << "entry " << e;
  }
  // The problems differ (the scale s changes the result).
  EXPECT_NE(std::memcmp(out.data(), out.data() + nJ, size_t(nJ) * 4), 0);
}

TEST_F(CApiTest, BatchErrors) {
  std::vector<float> x(600), y(600), b(200), out(200, 5.0f);
  const float *inputs[] = {x.data(), y.data(), b.data()};
  const int64_t two[] = {2}, three[] = {3}, four[] = {4, 1};
  const int64_t *batch[] = {two, three, nullptr};
  const int64_t rank[] = {1, 1, 0};
  int64_t shape[4] = {-1, -1, -1, -1}, shapeRank = -1;
  // Shapes that do not broadcast: both inputs named, with their shapes.
  EXPECT_EQ(kconv_broadcast_batch_shape(art_, "gaussian_conv", 3, batch, rank, shape, 4,
                                        &shapeRank),
            KCONV_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(kconv_last_error(), "reduction 'gaussian_conv': input 1 (Y, j, dim 3) has "
                                           "batch shape (3,), input 0 (X, i, dim 3) has (2,): "
                                           "they do not broadcast"))
      << kconv_last_error();
  EXPECT_EQ(shapeRank, -1);
  EXPECT_EQ(shape[0], -1);
  kconv_run_options options;
  kconv_run_options_init(&options);
  options.input_batch_rank = rank;
  options.input_batch = batch;
  EXPECT_EQ(kconv_run(art_, "gaussian_conv", inputs, 3, out.data(), 10, 10, &options),
            KCONV_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(kconv_last_error(), "input 1 (Y, j, dim 3) has batch shape (3,), input 0 "
                                           "(X, i, dim 3) has (2,): they do not broadcast"))
      << kconv_last_error();
  // (2,) against (4, 1) broadcasts to (4, 2); the shape array must hold it.
  const int64_t *fits[] = {two, four, nullptr};
  const int64_t fitsRank[] = {1, 2, 0};
  EXPECT_EQ(kconv_broadcast_batch_shape(art_, "gaussian_conv", 3, fits, fitsRank, shape, 1,
                                        &shapeRank),
            KCONV_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(kconv_last_error(), "the broadcast batch shape has rank 2, shape holds 1"))
      << kconv_last_error();
  EXPECT_EQ(shapeRank, -1);
  ASSERT_EQ(kconv_broadcast_batch_shape(art_, "gaussian_conv", 3, fits, fitsRank, shape, 2,
                                        &shapeRank),
            KCONV_OK)
      << kconv_last_error();
  EXPECT_EQ(shapeRank, 2);
  EXPECT_EQ(shape[0], 4);
  EXPECT_EQ(shape[1], 2);
  // No batch: rank 0.
  ASSERT_EQ(kconv_broadcast_batch_shape(art_, "gaussian_conv", 3, nullptr, nullptr, shape, 0,
                                        &shapeRank),
            KCONV_OK);
  EXPECT_EQ(shapeRank, 0);
  EXPECT_EQ(kconv_broadcast_batch_shape(art_, "gaussian_conv", 2, nullptr, nullptr, shape, 0,
                                        &shapeRank),
            KCONV_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(kconv_last_error(), "expected 3 inputs (X, Y, B), got 2")) << kconv_last_error();
  EXPECT_EQ(kconv_broadcast_batch_shape(art_, "gaussian_conv", 3, nullptr, nullptr, shape, 0,
                                        nullptr),
            KCONV_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(kconv_last_error(), "kconv_broadcast_batch_shape: rank_out is a null "
                                           "pointer"));

  // Malformed option arrays.
  const int64_t negative[] = {-1, 0, 0};
  options.input_batch_rank = negative;
  EXPECT_EQ(kconv_run(art_, "gaussian_conv", inputs, 3, out.data(), 10, 10, &options),
            KCONV_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(kconv_last_error(), "kconv_run: input_batch_rank[0] must be >= 0, got -1"))
      << kconv_last_error();
  options.input_batch_rank = rank;
  options.input_batch = nullptr;
  EXPECT_EQ(kconv_run(art_, "gaussian_conv", inputs, 3, out.data(), 10, 10, &options),
            KCONV_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(kconv_last_error(), "input 0 has batch rank 1 but input_batch is a null "
                                           "pointer"))
      << kconv_last_error();
  const int64_t *missing[] = {nullptr, three, nullptr};
  options.input_batch = missing;
  EXPECT_EQ(kconv_run(art_, "gaussian_conv", inputs, 3, out.data(), 10, 10, &options),
            KCONV_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(kconv_last_error(), "input_batch[0] is a null pointer"))
      << kconv_last_error();
  options.input_batch_rank = nullptr;
  options.input_batch = batch;
  EXPECT_EQ(kconv_run(art_, "gaussian_conv", inputs, 3, out.data(), 10, 10, &options),
            KCONV_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(kconv_last_error(), "input_batch given without input_batch_rank"))
      << kconv_last_error();
  // Negative strides (the runtime's check).
  const int64_t *sameBatch[] = {two, two, nullptr};
  const int64_t minus[] = {-30};
  const int64_t *strides[] = {minus, nullptr, nullptr};
  options.input_batch_rank = rank;
  options.input_batch = sameBatch;
  options.input_batch_strides = strides;
  EXPECT_EQ(kconv_run(art_, "gaussian_conv", inputs, 3, out.data(), 10, 10, &options),
            KCONV_INVALID_ARGUMENT);
  EXPECT_STREQ(kconv_last_error(), "reduction 'gaussian_conv': input 0 (X, i, dim 3) has batch "
                                   "strides (-30,): strides must be >= 0");
  for (float v : out)
    EXPECT_EQ(v, 5.0f);
  // A batch with a 0 size: nothing to compute, nothing written, out may be NULL.
  const int64_t zero[] = {0};
  const int64_t *empty[] = {zero, nullptr, nullptr};
  const int64_t emptyRank[] = {1, 0, 0};
  options.input_batch_rank = emptyRank;
  options.input_batch = empty;
  options.input_batch_strides = nullptr;
  EXPECT_EQ(kconv_run(art_, "gaussian_conv", inputs, 3, nullptr, 10, 10, &options), KCONV_OK)
      << kconv_last_error();
  ASSERT_EQ(kconv_broadcast_batch_shape(art_, "gaussian_conv", 3, empty, emptyRank, shape, 4,
                                        &shapeRank),
            KCONV_OK);
  EXPECT_EQ(shapeRank, 1);
  EXPECT_EQ(shape[0], 0);
}

// An index kind: values and indices both [batch..., nOut, dim]; indices are per problem.
TEST(CApiIndexKinds, BatchedRunOutputs) {
  std::string why;
  const std::string &bytes = kconv::test::testIndexArtifactBytes(why);
  if (bytes.empty())
    GTEST_SKIP() << "cannot build the test kernels: " << why;
  kconv_artifact *art = nullptr;
  ASSERT_EQ(kconv_load_memory(bytes.data(), bytes.size(), "index-kinds.kca", &art), KCONV_OK)
      << kconv_last_error();
  const int64_t nI = 13, nJ = 21, problems = 4;
  std::vector<float> x = pattern(size_t(problems * nI * 3), 7), y = pattern(size_t(nJ * 3), 8);
  const int64_t xBatch[] = {problems};
  const int64_t *batch[] = {xBatch, nullptr};
  const int64_t rank[] = {1, 0};
  kconv_run_options options;
  kconv_run_options_init(&options);
  options.input_batch_rank = rank;
  options.input_batch = batch;
  std::vector<float> values(size_t(problems * nI * 3));
  std::vector<int64_t> indices(size_t(problems * nI * 3));
  const float *inputs[] = {x.data(), y.data()};
  ASSERT_EQ(kconv_run_outputs(art, "nearest", inputs, 2, values.data(), indices.data(), nI, nJ,
                              &options),
            KCONV_OK)
      << kconv_last_error();
  for (int64_t e = 0; e < problems; ++e) {
    const float *one[] = {x.data() + e * nI * 3, y.data()};
    std::vector<float> wantValues(size_t(nI * 3));
    std::vector<int64_t> wantIndices(size_t(nI * 3));
    ASSERT_EQ(kconv_run_outputs(art, "nearest", one, 2, wantValues.data(), wantIndices.data(), nI,
                                nJ, nullptr),
              KCONV_OK);
    EXPECT_EQ(std::memcmp(wantValues.data(), values.data() + e * nI * 3, size_t(nI * 3) * 4), 0);
    EXPECT_EQ(std::memcmp(wantIndices.data(), indices.data() + e * nI * 3, size_t(nI * 3) * 8),
              0);
  }
  for (int64_t index : indices)
    EXPECT_TRUE(index >= 0 && index < nJ) << index;
  kconv_free(art);
}
