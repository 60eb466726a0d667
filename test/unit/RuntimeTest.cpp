//===- RuntimeTest.cpp - the runtime end to end, without the compiler -----===//
//
// The artifact comes from TestArtifacts.h: hand-written C kernels (compiled with cc at test time)
// implementing the CPU kernel ABI. Results are compared with the float64 reference evaluator.
//
//===----------------------------------------------------------------------===//
#include "TestArtifacts.h"
#include "kconv/Runtime/Runtime.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <thread>

using namespace kconv;

namespace {

class RuntimeTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string why;
    bytes_ = &test::testArtifactBytes(why);
    if (bytes_->empty())
      GTEST_SKIP() << "cannot build the test kernels: " << why;
    art_ = Artifact::fromBytes(*bytes_, "test.kca");
  }

  static std::vector<float> random(int64_t count, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal;
    std::vector<float> v(static_cast<size_t>(count));
    for (float &x : v)
      x = normal(rng);
    return v;
  }

  /// Runs `name` on random inputs and compares every row with the reference.
  void checkAgainstReference(const std::string &name, int64_t nI, int64_t nJ,
                             const RunOptions &options = {}) {
    SCOPED_TRACE(name + " nI=" + std::to_string(nI) + " nJ=" + std::to_string(nJ) +
                 " threads=" + std::to_string(options.threads));
    const ReductionInfo &r = art_->reduction(name);
    std::vector<std::vector<float>> data;
    std::vector<Input> inputs;
    std::vector<const float *> pointers;
    uint64_t seed = uint64_t(nI * 1000003 + nJ);
    for (const VariableInfo &v : r.variables) {
      int64_t rows = v.category == VarCategory::Vi ? nI : v.category == VarCategory::Vj ? nJ : 1;
      data.push_back(random(rows * v.dim, seed++));
      if (v.category == VarCategory::Pm)
        for (float &x : data.back())
          x = std::fabs(x) + 0.1f;
    }
    for (auto &d : data) {
      inputs.push_back(d.data());
      pointers.push_back(d.data());
    }
    const int64_t nOut = art_->outputRows(name, nI, nJ);
    std::vector<float> out(static_cast<size_t>(nOut * r.valueDim) + 8,
                           std::numeric_limits<float>::quiet_NaN());
    art_->run(name, inputs, out.data(), nI, nJ, options);
    std::vector<double> ref = referenceRun(r, pointers, nI, nJ).values;
    ASSERT_EQ(ref.size(), size_t(nOut * r.valueDim));
    double diff = 0, norm = 0;
    for (size_t k = 0; k < ref.size(); ++k) {
      ASSERT_FALSE(std::isnan(out[k])) << "element " << k << " (broken packing writes NaN)";
      diff += (out[k] - ref[k]) * (out[k] - ref[k]);
      norm += ref[k] * ref[k];
    }
    if (norm > 0)
      EXPECT_LE(std::sqrt(diff / norm), 1e-5);
    else
      EXPECT_EQ(diff, 0.0);
    // Nothing past the output was touched.
    for (size_t k = ref.size(); k < out.size(); ++k)
      EXPECT_TRUE(std::isnan(out[k])) << "wrote past the output at " << k;
  }

  template <typename F> static void expectError(ErrorCode code, const std::string &fragment, F f) {
    try {
      f();
      FAIL() << "no error; expected '" << fragment << "'";
    } catch (const Error &e) {
      EXPECT_EQ(int(e.code()), int(code)) << e.what();
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  }

  const std::string *bytes_ = nullptr;
  std::shared_ptr<Artifact> art_;
};

const std::vector<std::pair<int64_t, int64_t>> kSizes = {
    {1, 1}, {1, 17}, {17, 1}, {16, 16}, {100, 37}, {37, 100}, {513, 2049}, {1000, 1000},
    {2, 3000}, {3001, 5}};

} // namespace

TEST_F(RuntimeTest, ListsReductions) {
  ASSERT_EQ(art_->reductions().size(), 4u);
  const ReductionInfo &g = art_->reduction("gaussian_conv");
  EXPECT_EQ(g.axis, 1);
  EXPECT_EQ(g.valueDim, 1);
  ASSERT_EQ(g.variables.size(), 3u);
  EXPECT_EQ(g.variables[0].name, "X");
  EXPECT_EQ(g.variables[1].category, VarCategory::Vj);
  EXPECT_EQ(g.variables[2].dim, 1);
  EXPECT_EQ(signatureString(g), "X: i 3, Y: j 3, B: j 1 -> i 1 (sum over j)");
  EXPECT_EQ(signatureString(art_->reduction("transposed")),
            "X: i 3, A: i 1, Y: j 3, S: p 1 -> j 1 (sum over i)");
  EXPECT_EQ(art_->reduction("gaussian_vec").valueDim, 3);
  EXPECT_TRUE(art_->hasCpu("gaussian_conv"));
  EXPECT_FALSE(art_->hasCpu("no_cpu"));
  EXPECT_FALSE(art_->hasGpu("gaussian_conv"));
  EXPECT_EQ(art_->outputRows("transposed", 5, 7), 7);
  EXPECT_EQ(art_->outputRows("gaussian_conv", 5, 7), 5);
  EXPECT_EQ(g.indexDim, 0);
  expectError(ErrorCode::InvalidArgument, "no reduction named 'nope' (it has: gaussian_conv,",
              [&] { art_->reduction("nope"); });
}

TEST_F(RuntimeTest, GaussianMatchesReference) {
  for (auto [nI, nJ] : kSizes)
    checkAgainstReference("gaussian_conv", nI, nJ);
}

TEST_F(RuntimeTest, VectorOutputMatchesReference) {
  for (auto [nI, nJ] : kSizes)
    checkAgainstReference("gaussian_vec", nI, nJ);
}

TEST_F(RuntimeTest, AxisZeroWithParameterMatchesReference) {
  for (auto [nI, nJ] : kSizes)
    checkAgainstReference("transposed", nI, nJ);
}

TEST_F(RuntimeTest, ThreadCounts) {
  for (int threads : {1, 2, 3, 7, 16}) {
    RunOptions options;
    options.threads = threads;
    checkAgainstReference("gaussian_conv", 1000, 999, options);
    checkAgainstReference("transposed", 333, 2500, options);
  }
  art_->setThreads(3);
  EXPECT_EQ(art_->threads(), 3);
  checkAgainstReference("gaussian_vec", 500, 700);
  expectError(ErrorCode::InvalidArgument, "threads must be >= 0", [&] { art_->setThreads(-1); });
}

TEST_F(RuntimeTest, EmptyOutputWritesNothing) {
  std::vector<float> x(3), y(30), b(10);
  // nOut = 0: nothing written; out and the Vi input may be null.
  art_->run("gaussian_conv", {nullptr, y.data(), b.data()}, nullptr, 0, 10);
  art_->run("gaussian_conv", {nullptr, nullptr, nullptr}, nullptr, 0, 0);
  art_->run("transposed", {x.data(), x.data(), nullptr, x.data()}, nullptr, 1, 0);
  float sentinel = 42;
  art_->run("gaussian_conv", {x.data(), y.data(), b.data()}, &sentinel, 0, 10);
  EXPECT_EQ(sentinel, 42);
}

// nReduced = 0 reaches the kernel, which writes the empty sum.
TEST_F(RuntimeTest, EmptyReductionWritesZeros) {
  std::vector<float> x(9, 1.0f), s(1, 1.0f);
  std::vector<float> out(9, std::numeric_limits<float>::quiet_NaN());
  art_->run("gaussian_conv", {x.data(), nullptr, nullptr}, out.data(), 3, 0);
  for (int k = 0; k < 3; ++k)
    EXPECT_EQ(out[size_t(k)], 0.0f);
  EXPECT_TRUE(std::isnan(out[3]));
  std::fill(out.begin(), out.end(), std::numeric_limits<float>::quiet_NaN());
  art_->run("gaussian_vec", {x.data(), nullptr, nullptr}, out.data(), 3, 0);
  for (float v : out)
    EXPECT_EQ(v, 0.0f);
  std::fill(out.begin(), out.end(), std::numeric_limits<float>::quiet_NaN());
  art_->run("transposed", {nullptr, nullptr, x.data(), s.data()}, out.data(), 0, 2);
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_EQ(out[1], 0.0f);
  EXPECT_TRUE(std::isnan(out[2]));
}

TEST_F(RuntimeTest, ByName) {
  const int64_t nI = 50, nJ = 70;
  std::vector<float> x = random(nI * 3, 1), y = random(nJ * 3, 2), b = random(nJ, 3);
  std::vector<float> a(static_cast<size_t>(nI)), c(static_cast<size_t>(nI));
  art_->run("gaussian_conv", {x.data(), y.data(), b.data()}, a.data(), nI, nJ);
  art_->run("gaussian_conv", {{"B", b.data()}, {"X", x.data()}, {"Y", {y.data(), nJ, 3}}},
            c.data(), nI, nJ);
  EXPECT_EQ(a, c);
  std::vector<float> untouched(c);
  expectError(ErrorCode::InvalidArgument, "has no variable 'Z' (its variables: X, Y, B)", [&] {
    art_->run("gaussian_conv", {{"X", x.data()}, {"Y", y.data()}, {"Z", b.data()}}, c.data(),
              nI, nJ);
  });
  expectError(ErrorCode::InvalidArgument, "no input given for variable 'B'", [&] {
    art_->run("gaussian_conv", {{"X", x.data()}, {"Y", y.data()}}, c.data(), nI, nJ);
  });
  EXPECT_EQ(c, untouched);
}

TEST_F(RuntimeTest, BadCallsAreRefusedAndWriteNothing) {
  const int64_t nI = 20, nJ = 30;
  std::vector<float> x = random(nI * 3, 1), y = random(nJ * 3, 2), b = random(nJ, 3);
  std::vector<float> out(static_cast<size_t>(nI), -7.0f);
  auto run = [&](std::vector<Input> in, float *o, int64_t ni, int64_t nj,
                 const RunOptions &options = {}) {
    art_->run("gaussian_conv", in, o, ni, nj, options);
  };
  expectError(ErrorCode::InvalidArgument, "expected 3 inputs (X, Y, B), got 2",
              [&] { run({x.data(), y.data()}, out.data(), nI, nJ); });
  expectError(ErrorCode::InvalidArgument, "expected 3 inputs (X, Y, B), got 4",
              [&] { run({x.data(), y.data(), b.data(), b.data()}, out.data(), nI, nJ); });
  expectError(ErrorCode::InvalidArgument, "input 1 (Y, j, dim 3) is a null pointer",
              [&] { run({x.data(), nullptr, b.data()}, out.data(), nI, nJ); });
  expectError(ErrorCode::InvalidArgument, "values is a null pointer (20 output rows of 1 float32)",
              [&] { run({x.data(), y.data(), b.data()}, nullptr, nI, nJ); });
  expectError(ErrorCode::InvalidArgument, "nI and nJ must be >= 0, got nI = -1",
              [&] { run({x.data(), y.data(), b.data()}, out.data(), -1, nJ); });
  expectError(ErrorCode::InvalidArgument, "nJ = -5",
              [&] { run({x.data(), y.data(), b.data()}, out.data(), nI, -5); });
  expectError(ErrorCode::InvalidArgument, "input 0 (X, i, dim 3) has dimension 2, expected 3",
              [&] { run({{x.data(), nI, 2}, y.data(), b.data()}, out.data(), nI, nJ); });
  expectError(ErrorCode::InvalidArgument, "input 2 (B, j, dim 1) has 29 rows, expected nJ = 30",
              [&] { run({x.data(), y.data(), {b.data(), 29, 1}}, out.data(), nI, nJ); });
  RunOptions badThreads;
  badThreads.threads = -2;
  expectError(ErrorCode::InvalidArgument, "threads must be >= 0",
              [&] { run({x.data(), y.data(), b.data()}, out.data(), nI, nJ, badThreads); });
  expectError(ErrorCode::InvalidArgument, "no reduction named 'gaussian'", [&] {
    art_->run("gaussian", {x.data(), y.data(), b.data()}, out.data(), nI, nJ);
  });
  std::vector<float> s(1);
  expectError(ErrorCode::InvalidArgument, "is a parameter (1 row), got 4 rows", [&] {
    art_->run("transposed", {x.data(), x.data(), y.data(), {s.data(), 4, 1}}, out.data(), nI,
              nJ);
  });
  expectError(ErrorCode::InvalidArgument, "input 3 (S, p, dim 1) is a null pointer", [&] {
    art_->run("transposed", {x.data(), x.data(), y.data(), nullptr}, out.data(), nI, 0);
  });
  for (float v : out)
    EXPECT_EQ(v, -7.0f);
}

TEST_F(RuntimeTest, DeviceSelection) {
  std::vector<float> x(3), y(3), b(1), out(1, -1.0f);
  RunOptions gpu;
  gpu.device = Device::Gpu;
  expectError(ErrorCode::Unsupported, "this build/artifact has no GPU path", [&] {
    art_->run("gaussian_conv", {x.data(), y.data(), b.data()}, out.data(), 1, 1, gpu);
  });
  RunOptions cpu;
  cpu.device = Device::Cpu;
  art_->run("gaussian_conv", {x.data(), y.data(), b.data()}, out.data(), 1, 1, cpu);
  EXPECT_EQ(out[0], 0.0f); // b = 0
  expectError(ErrorCode::Unsupported, "has no CPU code (no attr cpu.symbol)", [&] {
    art_->run("no_cpu", {x.data(), y.data(), b.data()}, out.data(), 1, 1, cpu);
  });
  expectError(ErrorCode::Unsupported, "no backend can run it", [&] {
    art_->run("no_cpu", {x.data(), y.data(), b.data()}, out.data(), 1, 1);
  });
  EXPECT_EQ(parseDevice("auto"), Device::Auto);
  EXPECT_STREQ(toString(Device::Gpu), "gpu");
  expectError(ErrorCode::InvalidArgument, "unknown device 'tpu'", [] { parseDevice("tpu"); });
}

TEST_F(RuntimeTest, ConcurrentRunsFromFourThreads) {
  const int64_t nI = 300, nJ = 400;
  std::vector<float> x = random(nI * 3, 1), y = random(nJ * 3, 2), b = random(nJ, 3),
                     v = random(nJ * 3, 4);
  std::vector<float> want(static_cast<size_t>(nI)), wantVec(static_cast<size_t>(nI * 3));
  art_->run("gaussian_conv", {x.data(), y.data(), b.data()}, want.data(), nI, nJ);
  art_->run("gaussian_vec", {x.data(), y.data(), v.data()}, wantVec.data(), nI, nJ);
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      RunOptions options;
      options.threads = 1 + t; // different splits, identical results (rows are independent)
      for (int k = 0; k < 25; ++k) {
        if ((k + t) % 2) {
          std::vector<float> out(static_cast<size_t>(nI));
          art_->run("gaussian_conv", {x.data(), y.data(), b.data()}, out.data(), nI, nJ,
                    options);
          mismatches += out != want;
        } else {
          std::vector<float> out(static_cast<size_t>(nI * 3));
          art_->run("gaussian_vec", {x.data(), y.data(), v.data()}, out.data(), nI, nJ, options);
          mismatches += out != wantVec;
        }
      }
    });
  for (auto &t : threads)
    t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST_F(RuntimeTest, TwoLoadsAreIndependent) {
  auto other = Artifact::fromBytes(*bytes_, "again.kca");
  art_.reset(); // unloading one leaves the other usable
  std::vector<float> x(3, 0.0f), y(3, 0.0f), b(1, 2.0f), out(1);
  other->run("gaussian_conv", {x.data(), y.data(), b.data()}, out.data(), 1, 1);
  EXPECT_FLOAT_EQ(out[0], 2.0f);
}

TEST_F(RuntimeTest, LoadsWithoutMemfd) {
  ::setenv("KCONV_NO_MEMFD", "1", 1);
  std::shared_ptr<Artifact> art;
  EXPECT_NO_THROW(art = Artifact::fromBytes(*bytes_, "tmpfile.kca"));
  ::unsetenv("KCONV_NO_MEMFD");
  ASSERT_TRUE(art);
  std::vector<float> x(3, 0.0f), y(3, 0.0f), b(1, 2.0f), out(1);
  art->run("gaussian_conv", {x.data(), y.data(), b.data()}, out.data(), 1, 1);
  EXPECT_FLOAT_EQ(out[0], 2.0f);
}

TEST_F(RuntimeTest, LoadsFromFile) {
  std::string dir = test::makeTempDir();
  std::string path = dir + "/t.kca";
  {
    FILE *f = std::fopen(path.c_str(), "wb");
    ASSERT_TRUE(f);
    std::fwrite(bytes_->data(), 1, bytes_->size(), f);
    std::fclose(f);
  }
  auto art = Artifact::load(path);
  EXPECT_EQ(art->sourceName(), path);
  EXPECT_EQ(art->reductions().size(), 4u);
  std::remove(path.c_str());
  expectError(ErrorCode::IoError, "cannot open the artifact", [&] { Artifact::load(path); });
  ::rmdir(dir.c_str());
}

TEST_F(RuntimeTest, RefusesCodeForAnotherCpu) {
  ArtifactContents c = parseArtifact(*bytes_, "x");
  c.reductions[0].attributes["cpu.target"] = "aarch64-unknown-linux-gnu generic +neon";
#if defined(__aarch64__)
  c.reductions[0].attributes["cpu.target"] = "x86_64-unknown-linux-gnu x86-64-v4";
#endif
  auto art = Artifact::fromBytes(serializeArtifact(c), "foreign.kca");
  EXPECT_FALSE(art->hasCpu("gaussian_conv"));
  EXPECT_NE(art->cpuUnavailableReason("gaussian_conv").find("this CPU lacks: architecture"),
            std::string::npos)
      << art->cpuUnavailableReason("gaussian_conv");
  EXPECT_TRUE(art->hasCpu("gaussian_vec"));
  std::vector<float> x(3), y(3), b(1), out(1, -1.0f);
  expectError(ErrorCode::Unsupported, "was compiled for", [&] {
    art->run("gaussian_conv", {x.data(), y.data(), b.data()}, out.data(), 1, 1);
  });
  EXPECT_EQ(out[0], -1.0f);
}

TEST_F(RuntimeTest, RefusesMissingFeature) {
  // Find a feature this host lacks, if any.
  std::string lacking;
  for (const char *f : {"avx512vp2intersect", "avx512bf16", "avx512vnni", "avx512vbmi",
                        "avx512ifma", "avx512vpopcntdq", "avx512f", "avx2", "fma", "avx"})
    if (!missingCpuFeatures(std::string("x86_64 +") + f).empty()) {
      lacking = f;
      break;
    }
#if !defined(__x86_64__)
  GTEST_SKIP() << "feature checks are for x86-64";
#endif
  if (lacking.empty())
    GTEST_SKIP() << "this CPU has every feature the runtime checks";
  ArtifactContents c = parseArtifact(*bytes_, "x");
  c.reductions[1].attributes["cpu.target"] = "x86_64-unknown-linux-gnu znver4 +sse2,+" + lacking;
  auto art = Artifact::fromBytes(serializeArtifact(c), "features.kca");
  EXPECT_NE(art->cpuUnavailableReason("gaussian_vec").find("this CPU lacks: " + lacking),
            std::string::npos)
      << art->cpuUnavailableReason("gaussian_vec");
}

TEST(CpuTarget, Rule) {
#if defined(__x86_64__)
  EXPECT_TRUE(missingCpuFeatures("").empty());
  EXPECT_TRUE(missingCpuFeatures("x86_64").empty());
  EXPECT_TRUE(missingCpuFeatures("x86_64-unknown-linux-gnu generic").empty());
  EXPECT_TRUE(missingCpuFeatures("x86_64 x86-64 +sse2,-avx512f").empty()); // '-' is not required
  EXPECT_TRUE(missingCpuFeatures("x86_64 +some-future-feature").empty()); // unknown: not checked
  auto foreign = missingCpuFeatures("aarch64-linux-gnu");
  ASSERT_EQ(foreign.size(), 1u);
  EXPECT_EQ(foreign[0], "architecture aarch64 (this host is x86_64)");
  bool avx512 = __builtin_cpu_supports("avx512f");
  EXPECT_EQ(missingCpuFeatures("x86_64 +avx512f").empty(), avx512);
  EXPECT_EQ(missingCpuFeatures("x86_64 x86-64-v4").empty(),
            avx512 && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
                __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512cd") &&
                __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"));
  EXPECT_EQ(missingCpuFeatures("x86-64-v3").empty(),
            __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                __builtin_cpu_supports("bmi2"));
#else
  GTEST_SKIP() << "x86-64 host only";
#endif
}

TEST_F(RuntimeTest, RejectsBrokenCpuCode) {
  ArtifactContents c = parseArtifact(*bytes_, "x");
  c.reductions[0].attributes["cpu.symbol"] = "kconv_cpu_missing";
  expectError(ErrorCode::InvalidArtifact,
              "attr cpu.symbol must be the ABI's name kconv_cpu_gaussian_conv, got "
              "'kconv_cpu_missing'",
              [&] { Artifact::fromBytes(serializeArtifact(c), "nosym.kca"); });
  c = parseArtifact(*bytes_, "x");
  c.cpuSharedObject = "this is not an ELF file";
  expectError(ErrorCode::InvalidArtifact,
              "notelf.kca: its CPU code is not a usable shared object: not an ELF file",
              [&] { Artifact::fromBytes(serializeArtifact(c), "notelf.kca"); });
  c = parseArtifact(*bytes_, "x");
  c.reductions[0].attributes["cpu.lanes"] = "zero";
  expectError(ErrorCode::InvalidArtifact,
              "attribute cpu.lanes must be an integer from 1 to 64, got 'zero'",
              [&] { Artifact::fromBytes(serializeArtifact(c), "lanes.kca"); });
  c = parseArtifact(*bytes_, "x");
  c.reductions[1].name = "gaussian_conv";
  expectError(ErrorCode::InvalidArtifact, "two reductions named 'gaussian_conv'",
              [&] { Artifact::fromBytes(serializeArtifact(c), "dup.kca"); });
  // No CPU section at all: loads; every reduction reports why it cannot run on the CPU.
  c = parseArtifact(*bytes_, "x");
  c.cpuSharedObject.clear();
  auto art = Artifact::fromBytes(serializeArtifact(c), "nocpu.kca");
  EXPECT_EQ(art->cpuUnavailableReason("gaussian_conv"), "the artifact has no CPU code");
}

//===----------------------------------------------------------------------===//
// Kinds with indices (Outputs): the test artifact's hand-written kernels (TestArtifacts.h)
//===----------------------------------------------------------------------===//

namespace {

/// f (F components, float64) of the pair (output row o, reduced row r) of the index-kind test
/// reductions; `x`, `y` are the X and Y arrays.
std::vector<double> pairValue(const std::string &name, const float *x, const float *y, int64_t o,
                              int64_t r) {
  if (name == "nearest")
    return {double(x[3 * o]) - y[3 * r], double(x[3 * o + 1]) - y[3 * r + 1],
            double(x[3 * o + 2]) - y[3 * r + 2]};
  if (name == "argmin_t") { // axis 0: o is j, r is i
    double d = double(x[r]) - y[o];
    return {d * d};
  }
  if (name == "knn")
    return {std::fabs(double(x[2 * o]) - y[2 * r]), std::fabs(double(x[2 * o + 1]) - y[2 * r + 1])};
  double d = double(x[o]) - y[r]; // argknn
  return {d * d};
}

/// The float64 reference of docs/reductions.md for the k-min family (min_argmin and argmin are
/// K = 1): per component the K smallest values in ascending order, ties to the smaller index,
/// NaN skipped, +inf / -1 for the places not filled. [nOut x K x F] values and indices.
void kminReference(const std::string &name, int64_t k, int64_t f, const float *x, const float *y,
                   int64_t nOut, int64_t nReduced, std::vector<double> &values,
                   std::vector<int64_t> &indices) {
  values.assign(size_t(nOut * k * f), std::numeric_limits<double>::infinity());
  indices.assign(size_t(nOut * k * f), -1);
  for (int64_t o = 0; o < nOut; ++o)
    for (int64_t c = 0; c < f; ++c) {
      std::vector<std::pair<double, int64_t>> all;
      for (int64_t r = 0; r < nReduced; ++r) {
        double v = pairValue(name, x, y, o, r)[size_t(c)];
        if (!std::isnan(v) && v < std::numeric_limits<double>::infinity())
          all.push_back({v, r});
      }
      std::stable_sort(all.begin(), all.end(),
                       [](auto &a, auto &b) { return a.first < b.first; });
      for (int64_t q = 0; q < k && q < int64_t(all.size()); ++q) {
        values[size_t((o * k + q) * f + c)] = all[size_t(q)].first;
        indices[size_t((o * k + q) * f + c)] = all[size_t(q)].second;
      }
    }
}

} // namespace

class IndexKindsTest : public RuntimeTest {
protected:
  void SetUp() override {
    std::string why;
    bytes_ = &test::testIndexArtifactBytes(why);
    if (bytes_->empty())
      GTEST_SKIP() << "cannot build the test kernels: " << why;
    art_ = Artifact::fromBytes(*bytes_, "index-kinds.kca");
  }

  /// Runs `name` (X, Y random, or `xIn` / `yIn` when given) and compares with kminReference:
  /// values within float32 rounding, each index by the value it selects (a float32 near-tie may
  /// pick the other index). Nothing past either output is written.
  void check(const std::string &name, int64_t nI, int64_t nJ, int threads = 0,
             std::vector<float> xIn = {}, std::vector<float> yIn = {}) {
    SCOPED_TRACE(name + " nI=" + std::to_string(nI) + " nJ=" + std::to_string(nJ) +
                 " threads=" + std::to_string(threads));
    const ReductionInfo &r = art_->reduction(name);
    const int64_t d = r.variables[0].dim;
    const bool takesK = name == "knn" || name == "argknn";
    const int64_t k = takesK ? r.k : 1;
    const int64_t f = std::max(r.valueDim, r.indexDim) / k;
    std::vector<float> x = xIn.empty() ? random(nI * d, uint64_t(nI + 7)) : xIn;
    std::vector<float> y = yIn.empty() ? random(nJ * d, uint64_t(nJ + 11)) : yIn;
    const int64_t nOut = art_->outputRows(name, nI, nJ), nReduced = r.axis == 1 ? nJ : nI;
    constexpr int64_t kSentinel = 123456789;
    std::vector<float> values(size_t(nOut * r.valueDim) + 4,
                              std::numeric_limits<float>::quiet_NaN());
    std::vector<int64_t> indices(size_t(nOut * r.indexDim) + 4, kSentinel);
    RunOptions options;
    options.threads = threads;
    Outputs outputs{r.valueDim ? values.data() : nullptr, indices.data()};
    art_->run(name, {x.data(), y.data()}, outputs, nI, nJ, options);
    std::vector<double> refValues;
    std::vector<int64_t> refIndices;
    kminReference(name, k, f, x.data(), y.data(), nOut, nReduced, refValues, refIndices);
    for (int64_t o = 0; o < nOut; ++o)
      for (int64_t q = 0; q < k * f; ++q) {
        size_t at = size_t(o * k * f + q);
        double want = refValues[at];
        if (r.valueDim) {
          if (std::isinf(want))
            ASSERT_EQ(double(values[at]), want) << "row " << o << " entry " << q;
          else
            ASSERT_NEAR(values[at], want, 1e-5 * (1 + std::fabs(want)))
                << "row " << o << " entry " << q;
        }
        int64_t got = indices[at];
        if (refIndices[at] < 0) {
          ASSERT_EQ(got, -1) << "row " << o << " entry " << q;
          continue;
        }
        ASSERT_TRUE(got >= 0 && got < nReduced) << "row " << o << " entry " << q << ": " << got;
        double selected = pairValue(name, x.data(), y.data(), o, got)[size_t(q % f)];
        ASSERT_NEAR(selected, want, 1e-5 * (1 + std::fabs(want)))
            << "row " << o << " entry " << q << ": index " << got << " (reference "
            << refIndices[at] << ")";
      }
    for (size_t at = size_t(nOut * r.valueDim); at < values.size(); ++at)
      EXPECT_TRUE(std::isnan(values[at])) << "wrote past the values at " << at;
    for (size_t at = size_t(nOut * r.indexDim); at < indices.size(); ++at)
      EXPECT_EQ(indices[at], kSentinel) << "wrote past the indices at " << at;
  }
};

TEST_F(IndexKindsTest, Lists) {
  const ReductionInfo &knn = art_->reduction("knn");
  EXPECT_EQ(knn.kind, "kmin_argkmin");
  EXPECT_EQ(knn.k, 3);
  EXPECT_EQ(knn.valueDim, 6);
  EXPECT_EQ(knn.indexDim, 6);
  EXPECT_EQ(signatureString(art_->reduction("nearest")),
            "X: i 3, Y: j 3 -> i 3 + 3 indices (min_argmin over j)");
  EXPECT_EQ(signatureString(art_->reduction("argmin_t")),
            "X: i 1, Y: j 1 -> j 1 indices (argmin over i)");
}

TEST_F(IndexKindsTest, MatchReference) {
  for (const char *name : {"nearest", "argmin_t", "knn", "argknn"})
    for (auto [nI, nJ] : kSizes)
      check(name, nI, nJ);
}

// Indices are int32 inside the kernels: 2^31 reduced rows or more are refused before any code
// runs (the pointers are never read).
TEST_F(IndexKindsTest, IndicesNeedFewerThan2To31ReducedRows) {
  const float *fake = reinterpret_cast<const float *>(uintptr_t(64));
  std::vector<float> values(3);
  std::vector<int64_t> indices(3);
  const int64_t huge = int64_t(1) << 31;
  try {
    art_->run("nearest", {fake, fake}, Outputs{values.data(), indices.data()}, 1, huge);
    FAIL() << "expected an error";
  } catch (const Error &e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("must be fewer than 2^31; got 2147483648"),
              std::string::npos)
        << e.what();
  }
}

// Each thread's rows land at their place in both outputs.
TEST_F(IndexKindsTest, ThreadCounts) {
  for (int threads : {1, 2, 3, 7})
    for (const char *name : {"nearest", "knn"})
      check(name, 1500, 700, threads);
}

// nReduced = 0 reaches the kernels, which write the kind's empty result (+inf, -1); fewer
// reduced rows than K leave +inf / -1 in the last places.
TEST_F(IndexKindsTest, EmptyAndShortReductions) {
  for (const char *name : {"nearest", "knn", "argknn"}) {
    check(name, 5, 0);
    check(name, 5, 1);
  }
  check("knn", 4, 2);
  check("argmin_t", 0, 3);
  std::vector<float> x(15, 1.0f);
  std::vector<float> values(15, 0.0f);
  std::vector<int64_t> indices(15, 0);
  art_->run("nearest", {x.data(), nullptr}, Outputs{values.data(), indices.data()}, 5, 0);
  for (size_t q = 0; q < 15; ++q) {
    EXPECT_EQ(values[q], std::numeric_limits<float>::infinity());
    EXPECT_EQ(indices[q], -1);
  }
}

// Ties go to the smallest index; NaN values are skipped.
TEST_F(IndexKindsTest, TiesAndNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> x = {0, 0, 0, 5, 5, 5};
  std::vector<float> y = {nan, nan, nan, 1, 2, 3, 1, 2, 3, -1, 2, 9};
  check("nearest", 2, 4, 0, x, y);
  std::vector<float> values(6);
  std::vector<int64_t> indices(6);
  art_->run("nearest", {x.data(), y.data()}, Outputs{values.data(), indices.data()}, 2, 4);
  EXPECT_EQ(indices, (std::vector<int64_t>{1, 1, 3, 1, 1, 3}));
  EXPECT_EQ(values, (std::vector<float>{-1, -2, -9, 4, 3, -4}));
}

TEST_F(IndexKindsTest, ByName) {
  const int64_t nI = 40, nJ = 50;
  std::vector<float> x = random(nI * 2, 1), y = random(nJ * 2, 2);
  std::vector<float> v1(size_t(nI * 6)), v2(v1);
  std::vector<int64_t> i1(size_t(nI * 6)), i2(i1);
  art_->run("knn", {x.data(), y.data()}, Outputs{v1.data(), i1.data()}, nI, nJ);
  art_->run("knn", {{"Y", y.data()}, {"X", x.data()}}, Outputs{v2.data(), i2.data()}, nI, nJ);
  EXPECT_EQ(v1, v2);
  EXPECT_EQ(i1, i2);
}

// Each output pointer is required exactly when the kind has that output; a refused call writes
// nothing.
TEST_F(IndexKindsTest, OutputPointersAreChecked) {
  const int64_t nI = 20, nJ = 30;
  std::vector<float> x = random(nI * 3, 1), y = random(nJ * 3, 2);
  std::vector<float> values(size_t(nJ * 3), -7.0f);
  std::vector<int64_t> indices(size_t(nJ * 3), -7);
  expectError(ErrorCode::InvalidArgument,
              "reduction 'nearest': indices is a null pointer (20 output rows of 3 int64)", [&] {
                art_->run("nearest", {x.data(), y.data()}, Outputs{values.data(), nullptr}, nI,
                          nJ);
              });
  expectError(ErrorCode::InvalidArgument,
              "reduction 'nearest': values is a null pointer (20 output rows of 3 float32)", [&] {
                art_->run("nearest", {x.data(), y.data()}, Outputs{nullptr, indices.data()}, nI,
                          nJ);
              });
  // The float *out overloads are for kinds with values only.
  expectError(ErrorCode::InvalidArgument,
              "reduction 'nearest': indices is a null pointer",
              [&] { art_->run("nearest", {x.data(), y.data()}, values.data(), nI, nJ); });
  expectError(ErrorCode::InvalidArgument,
              "reduction 'argmin_t': values given, but kind argmin has no values output "
              "(pass null)",
              [&] { art_->run("argmin_t", {x.data(), y.data()}, values.data(), nI, nJ); });
  expectError(ErrorCode::InvalidArgument,
              "reduction 'argmin_t': indices is a null pointer (30 output rows of 1 int64)", [&] {
                art_->run("argmin_t", {x.data(), y.data()}, Outputs{}, nI, nJ);
              });
  // An output the kind lacks is refused even with no output rows; a missing one is not.
  expectError(ErrorCode::InvalidArgument, "values given, but kind argmin has no values output",
              [&] {
                art_->run("argmin_t", {x.data(), nullptr}, Outputs{values.data(), nullptr}, nI,
                          0);
              });
  art_->run("argmin_t", {x.data(), nullptr}, Outputs{}, nI, 0);
  art_->run("nearest", {nullptr, y.data()}, Outputs{}, 0, nJ);
  for (float v : values)
    EXPECT_EQ(v, -7.0f);
  for (int64_t v : indices)
    EXPECT_EQ(v, -7);
}

TEST_F(RuntimeTest, SumRefusesIndices) {
  const int64_t nI = 20, nJ = 30;
  std::vector<float> x = random(nI * 3, 1), y = random(nJ * 3, 2), b = random(nJ, 3);
  std::vector<float> values(size_t(nI), -7.0f);
  std::vector<int64_t> indices(size_t(nI), -7);
  expectError(ErrorCode::InvalidArgument,
              "reduction 'gaussian_conv': indices given, but kind sum has no indices output "
              "(pass null)",
              [&] {
                art_->run("gaussian_conv", {x.data(), y.data(), b.data()},
                          Outputs{values.data(), indices.data()}, nI, nJ);
              });
  for (float v : values)
    EXPECT_EQ(v, -7.0f);
  // The Outputs overload with values only is the float *out one.
  std::vector<float> want(static_cast<size_t>(nI));
  art_->run("gaussian_conv", {x.data(), y.data(), b.data()}, want.data(), nI, nJ);
  art_->run("gaussian_conv", {x.data(), y.data(), b.data()}, Outputs{values.data()}, nI, nJ);
  EXPECT_EQ(values, want);
}
