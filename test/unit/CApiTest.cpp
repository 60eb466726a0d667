//===- CApiTest.cpp - the C API --------------------------------------------===//
#include "TestArtifacts.h"
#include "kconv/Runtime/Runtime.h"
#include "kconv/Runtime/kconv.h"

#include <gtest/gtest.h>

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
  EXPECT_EQ(info.output_dim, 1);
  EXPECT_EQ(info.num_variables, 4);
  ASSERT_EQ(kconv_reduction_by_name(art_, "gaussian_vec", &info), KCONV_OK);
  EXPECT_EQ(info.output_dim, 3);
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
  EXPECT_TRUE(contains(kconv_last_error(), "out is a null pointer"));
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
