//===- KconvRunTest.cpp - the kconv-run command line ------------------------===//
#include "TestArtifacts.h"
#include "kconv/Runtime/Npy.h"
#include "kconv/Runtime/Runtime.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sys/wait.h>

using namespace kconv;

namespace {

struct Result {
  int status = -1;
  std::string output; // stdout and stderr
};

Result kconvRun(const std::string &args) {
  std::string command = std::string(KCONV_RUN_PATH) + " " + args + " 2>&1";
  Result result;
  FILE *pipe = ::popen(command.c_str(), "r");
  if (!pipe)
    return result;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0)
    result.output.append(buffer, n);
  int status = ::pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

class KconvRunTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string why;
    const std::string &bytes = test::testArtifactBytes(why);
    if (bytes.empty())
      GTEST_SKIP() << "cannot build the test kernels: " << why;
    dir_ = test::makeTempDir();
    artifact_ = dir_ + "/t.kca";
    std::ofstream out(artifact_, std::ios::binary);
    out.write(bytes.data(), std::streamsize(bytes.size()));
  }
  void TearDown() override {
    if (!dir_.empty())
      std::system(("rm -rf " + dir_).c_str());
  }
  std::string file(const std::string &name) { return dir_ + "/" + name; }
  void write(const std::string &name, const std::string &bytes) {
    std::ofstream out(file(name), std::ios::binary);
    out.write(bytes.data(), std::streamsize(bytes.size()));
  }

  std::string dir_, artifact_;
};

#define EXPECT_OUTPUT(result, fragment)                                                        \
  EXPECT_NE((result).output.find(fragment), std::string::npos) << (result).output

} // namespace

TEST_F(KconvRunTest, Help) {
  Result r = kconvRun("--help");
  EXPECT_EQ(r.status, 0);
  EXPECT_OUTPUT(r, "usage: kconv-run ARTIFACT [REDUCTION]");
  EXPECT_OUTPUT(r, "--indices FILE"); // the index outputs are documented
  EXPECT_OUTPUT(r, "int64 .npy of shape (nOut, index_dim)");
  r = kconvRun("");
  EXPECT_EQ(r.status, 2);
  EXPECT_OUTPUT(r, "missing ARTIFACT");
  r = kconvRun(artifact_ + " gaussian_conv --frobnicate");
  EXPECT_EQ(r.status, 2);
  EXPECT_OUTPUT(r, "unknown option '--frobnicate'");
}

TEST_F(KconvRunTest, List) {
  Result r = kconvRun(artifact_ + " --list");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_OUTPUT(r, "4 reduction(s)");
  EXPECT_OUTPUT(r, "gaussian_conv: X: i 3, Y: j 3, B: j 1 -> i 1 (sum over j)");
  EXPECT_OUTPUT(r, "transposed: X: i 3, A: i 1, Y: j 3, S: p 1 -> j 1 (sum over i)");
  EXPECT_OUTPUT(r, "cpu: yes, gpu: no");
  EXPECT_OUTPUT(r, "cpu: no (reduction 'no_cpu' has no CPU code");
}

TEST_F(KconvRunTest, RandomCheckAndBench) {
  Result r = kconvRun(artifact_ + " gaussian_conv --random 3000,2000 --check --bench --repeats 3 "
                                  "--threads 2");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_OUTPUT(r, "gaussian_conv: nI = 3000, nJ = 2000, output (3000, 1), 2 thread(s)");
  EXPECT_OUTPUT(r, "check: relative error");
  EXPECT_OUTPUT(r, "on 256 of 3000 rows");
  EXPECT_OUTPUT(r, ": OK");
  EXPECT_OUTPUT(r, "bench: median");
  EXPECT_OUTPUT(r, "over 3 runs");
  EXPECT_OUTPUT(r, "pairs/s");
  r = kconvRun(artifact_ + " transposed --random 100,50 --check --check-rows 10");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_OUTPUT(r, "on 10 of 50 rows");
  // A tolerance no float32 result meets.
  r = kconvRun(artifact_ + " gaussian_vec --random 300 --check --tolerance 0");
  EXPECT_EQ(r.status, 3) << r.output;
  EXPECT_OUTPUT(r, "FAILED");
}

TEST_F(KconvRunTest, NpyInputsAndOutput) {
  const int64_t nI = 40, nJ = 30;
  std::vector<float> x(static_cast<size_t>(nI * 3)), y(static_cast<size_t>(nJ * 3)), b(static_cast<size_t>(nJ));
  for (size_t k = 0; k < x.size(); ++k)
    x[k] = float(std::sin(0.1 * double(k)));
  for (size_t k = 0; k < y.size(); ++k)
    y[k] = float(std::cos(0.3 * double(k)));
  for (size_t k = 0; k < b.size(); ++k)
    b[k] = float(k % 3);
  writeNpy(file("x.npy"), x.data(), {nI, 3});
  writeNpy(file("y.npy"), y.data(), {nJ, 3});
  // b as float64 with shape (n,): converted.
  {
    std::vector<float> bd = b;
    std::string dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (30,), }";
    while ((10 + dict.size() + 1) % 64)
      dict += ' ';
    dict += '\n';
    std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
    bytes += char(dict.size());
    bytes += '\0';
    bytes += dict;
    for (float v : b) {
      double d = v;
      bytes.append(reinterpret_cast<const char *>(&d), 8);
    }
    write("b.npy", bytes);
  }
  Result r = kconvRun(artifact_ + " gaussian_conv --input X=" + file("x.npy") + " --input Y=" +
                      file("y.npy") + " --input B=" + file("b.npy") + " -o " + file("out.npy") +
                      " --check");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_OUTPUT(r, "on 40 of 40 rows");
  NpyArray out = readNpy(file("out.npy"));
  EXPECT_EQ(out.shape, std::vector<int64_t>({nI, 1}));
  auto art = Artifact::load(artifact_);
  std::vector<float> want(static_cast<size_t>(nI));
  art->run("gaussian_conv", {x.data(), y.data(), b.data()}, want.data(), nI, nJ);
  EXPECT_EQ(out.data, want);

  // Mixed: files for some variables, --random for the rest (sizes must agree).
  r = kconvRun(artifact_ + " gaussian_conv --input X=" + file("x.npy") + " --random 40,25");
  EXPECT_EQ(r.status, 0) << r.output;
  r = kconvRun(artifact_ + " gaussian_conv --input X=" + file("x.npy") + " --random 41,25");
  EXPECT_EQ(r.status, 1);
  EXPECT_OUTPUT(r, "gives nI = 40 but --random says 41");
  // Parameter as (1,).
  std::vector<float> s = {0.5f};
  writeNpy(file("s.npy"), s.data(), {1});
  r = kconvRun(artifact_ + " transposed --input S=" + file("s.npy") + " --random 20,10 --check");
  EXPECT_EQ(r.status, 0) << r.output;
}

TEST_F(KconvRunTest, BadInputs) {
  std::vector<float> v(60, 1.0f);
  writeNpy(file("x.npy"), v.data(), {20, 3});
  writeNpy(file("x2.npy"), v.data(), {30, 2});
  writeNpy(file("y.npy"), v.data(), {20, 3});
  std::string ok = " --input X=" + file("x.npy") + " --input Y=" + file("y.npy");
  Result r = kconvRun(artifact_ + " gaussian_conv" + ok);
  EXPECT_EQ(r.status, 1);
  EXPECT_OUTPUT(r, "no input for variable B (j, dimension 1): give --input B=FILE or --random");
  r = kconvRun(artifact_ + " gaussian_conv --input X=" + file("x2.npy") + " --random 30,5");
  EXPECT_EQ(r.status, 1);
  EXPECT_OUTPUT(r, file("x2.npy") + ": shape (30, 2) does not fit variable X (i, dimension 3)");
  r = kconvRun(artifact_ + " gaussian_conv --input Q=" + file("x.npy"));
  EXPECT_EQ(r.status, 1);
  EXPECT_OUTPUT(r, "has no variable 'Q' (its variables: X, Y, B)");
  write("bad.npy", "this is not numpy");
  r = kconvRun(artifact_ + " gaussian_conv --input B=" + file("bad.npy") + ok);
  EXPECT_EQ(r.status, 1);
  EXPECT_OUTPUT(r, file("bad.npy") + ": not a usable .npy file: bad magic");
  std::string good = serializeNpy(v.data(), {20});
  write("short.npy", good.substr(0, good.size() - 4));
  r = kconvRun(artifact_ + " gaussian_conv --input B=" + file("short.npy") + ok);
  EXPECT_EQ(r.status, 1);
  EXPECT_OUTPUT(r, file("short.npy") + ": not a usable .npy file: truncated");
  std::string fortran = good;
  size_t at = fortran.find("False");
  fortran.replace(at, 5, "True ");
  write("fortran.npy", fortran);
  r = kconvRun(artifact_ + " gaussian_conv --input B=" + file("fortran.npy") + ok);
  EXPECT_EQ(r.status, 1);
  EXPECT_OUTPUT(r, file("fortran.npy") + ": not a usable .npy file: Fortran order");
  std::string ints = good;
  ints.replace(ints.find("<f4"), 3, "<i4");
  write("ints.npy", ints);
  r = kconvRun(artifact_ + " gaussian_conv --input B=" + file("ints.npy") + ok);
  EXPECT_EQ(r.status, 1);
  EXPECT_OUTPUT(r, file("ints.npy") + ": not a usable .npy file: dtype '<i4'");
  r = kconvRun(artifact_ + " gaussian_conv --input B=" + file("missing.npy") + ok);
  EXPECT_EQ(r.status, 1);
  EXPECT_OUTPUT(r, file("missing.npy") + ": cannot open");
  r = kconvRun(artifact_ + " gaussian_conv --random 10 --device gpu");
  EXPECT_EQ(r.status, 1);
  EXPECT_OUTPUT(r, "this build/artifact has no GPU path");
  r = kconvRun(artifact_ + " gaussian_conv --random 10 --device tpu");
  EXPECT_EQ(r.status, 2);
  EXPECT_OUTPUT(r, "unknown device 'tpu'");
  r = kconvRun(artifact_ + " --random 10");
  EXPECT_EQ(r.status, 2);
  EXPECT_OUTPUT(r, "the artifact has 4 reductions");
  r = kconvRun(file("x.npy") + " --list");
  EXPECT_EQ(r.status, 1);
  EXPECT_OUTPUT(r, "not a valid kconv artifact: bad magic");
}

TEST_F(KconvRunTest, EmptySizes) {
  Result r = kconvRun(artifact_ + " gaussian_conv --random 0,10 -o " + file("o.npy") + " --check");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(readNpy(file("o.npy")).shape, std::vector<int64_t>({0, 1}));
  r = kconvRun(artifact_ + " gaussian_vec --random 5,0 -o " + file("o.npy") + " --check");
  EXPECT_EQ(r.status, 0) << r.output;
  NpyArray o = readNpy(file("o.npy"));
  EXPECT_EQ(o.shape, std::vector<int64_t>({5, 3}));
  for (float v : o.data)
    EXPECT_EQ(v, 0.0f);
}

TEST_F(KconvRunTest, HugeSizesAreErrors) {
  // Used to exit 0 without writing anything (rows x dim and the chunk count overflowed).
  Result r = kconvRun(artifact_ + " gaussian_conv --random 6148914691236517206,1 --threads 1 -o " +
                      file("out.npy"));
  EXPECT_EQ(r.status, 1);
  EXPECT_OUTPUT(r, "--random: variable X (6148914691236517206 rows of dimension 3): size too "
                   "large: rows x dim = 6148914691236517206 x 3 does not fit in 64 bits");
  EXPECT_FALSE(std::ifstream(file("out.npy")).good());
  // Fits in 64 bits, not in memory.
  r = kconvRun(artifact_ + " gaussian_conv --random 1,1152921504606846976 --threads 1");
  EXPECT_EQ(r.status, 1);
  EXPECT_OUTPUT(r, "out of memory: random input Y needs 13835058055282163712 bytes");
}

// --indices goes with --output; a kind without indices writes no index file.
TEST_F(KconvRunTest, IndicesFileOnlyForKindsWithIndices) {
  Result r = kconvRun(artifact_ + " gaussian_conv --random 10 --indices " + file("i.npy"));
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_OUTPUT(r, "--indices needs --output");
  r = kconvRun(artifact_ + " gaussian_conv --random 10 -o " + file("o.npy") + " --indices " +
               file("i.npy"));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_OUTPUT(r, "wrote " + file("o.npy") + ", shape (10, 1)");
  EXPECT_EQ(r.output.find("indices"), std::string::npos) << r.output;
  EXPECT_FALSE(std::ifstream(file("i.npy")).good());
  EXPECT_EQ(readNpy(file("o.npy")).shape, std::vector<int64_t>({10, 1}));
}

namespace {

std::vector<float> wave(size_t n, double a, double b) {
  std::vector<float> v(n);
  for (size_t k = 0; k < n; ++k)
    v[k] = float(std::sin(a * double(k) + b));
  return v;
}

} // namespace

// Batched .npy files (rank 3+, a parameter 2+): one run over the batch equals one run per problem
// on that problem's files, bit for bit; the output .npy is (batch..., nOut, dim).
TEST_F(KconvRunTest, BatchedNpyEqualsPerProblemRuns) {
  const int64_t nI = 23, nJ = 17;
  // gaussian_conv: X (2, 3, nI, 3), Y (3, nJ, 3) (broadcast along the 2), B (2, 1, nJ, 1).
  std::vector<float> x = wave(size_t(6 * nI * 3), 0.37, 0.1), y = wave(size_t(3 * nJ * 3), 0.23, 1),
                     b = wave(size_t(2 * nJ), 0.11, 2);
  for (float &v : b)
    v = 1.0f + 0.5f * v;
  writeNpy(file("x.npy"), x.data(), {2, 3, nI, 3});
  writeNpy(file("y.npy"), y.data(), {3, nJ, 3});
  writeNpy(file("b.npy"), b.data(), {2, 1, nJ, 1});
  Result r = kconvRun(artifact_ + " gaussian_conv --input X=" + file("x.npy") + " --input Y=" +
                      file("y.npy") + " --input B=" + file("b.npy") + " -o " + file("out.npy") +
                      " --check --bench --repeats 2");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_OUTPUT(r, "gaussian_conv: nI = 23, nJ = 17, batch (2, 3), output (2, 3, 23, 1)");
  EXPECT_OUTPUT(r, "wrote " + file("out.npy") + ", shape (2, 3, 23, 1)");
  EXPECT_OUTPUT(r, "on 23 of 23 rows of 6 of 6 batch entries vs the float64 reference");
  EXPECT_OUTPUT(r, ": OK");
  NpyArray out = readNpy(file("out.npy"));
  ASSERT_EQ(out.shape, (std::vector<int64_t>{2, 3, nI, 1}));
  for (int64_t p = 0; p < 2; ++p)
    for (int64_t q = 0; q < 3; ++q) {
      SCOPED_TRACE("problem (" + std::to_string(p) + ", " + std::to_string(q) + ")");
      writeNpy(file("x1.npy"), x.data() + (p * 3 + q) * nI * 3, {nI, 3});
      writeNpy(file("y1.npy"), y.data() + q * nJ * 3, {nJ, 3});
      writeNpy(file("b1.npy"), b.data() + p * nJ, {nJ, 1});
      Result one = kconvRun(artifact_ + " gaussian_conv --input X=" + file("x1.npy") +
                            " --input Y=" + file("y1.npy") + " --input B=" + file("b1.npy") +
                            " -o " + file("one.npy"));
      ASSERT_EQ(one.status, 0) << one.output;
      EXPECT_OUTPUT(one, "output (23, 1)");
      NpyArray want = readNpy(file("one.npy"));
      ASSERT_EQ(want.shape, (std::vector<int64_t>{nI, 1}));
      EXPECT_EQ(std::vector<float>(out.data.begin() + (p * 3 + q) * nI,
                                   out.data.begin() + (p * 3 + q + 1) * nI),
                want.data);
    }
  // Not one problem repeated.
  EXPECT_NE(std::vector<float>(out.data.begin(), out.data.begin() + nI),
            std::vector<float>(out.data.begin() + nI, out.data.begin() + 2 * nI));

  // A parameter per problem (transposed: X i 3, A i 1, Y j 3, S p 1, axis 0), with --random for
  // the others (unbatched, shared).
  std::vector<float> s = {0.25f, 1.0f, 4.0f};
  writeNpy(file("s.npy"), s.data(), {3, 1});
  writeNpy(file("x2.npy"), x.data(), {nI, 3});
  r = kconvRun(artifact_ + " transposed --input S=" + file("s.npy") + " --input X=" +
               file("x2.npy") + " --random 23,9 --seed 5 -o " + file("t.npy") + " --check");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_OUTPUT(r, "batch (3,), output (3, 9, 1)");
  NpyArray t = readNpy(file("t.npy"));
  ASSERT_EQ(t.shape, (std::vector<int64_t>{3, 9, 1}));
  for (int64_t e = 0; e < 3; ++e) {
    writeNpy(file("s1.npy"), s.data() + e, {1});
    Result one = kconvRun(artifact_ + " transposed --input S=" + file("s1.npy") + " --input X=" +
                          file("x2.npy") + " --random 23,9 --seed 5 -o " + file("t1.npy"));
    ASSERT_EQ(one.status, 0) << one.output;
    EXPECT_EQ(std::vector<float>(t.data.begin() + e * 9, t.data.begin() + (e + 1) * 9),
              readNpy(file("t1.npy")).data)
        << "entry " << e;
  }
  // The parameter's row form (1, 1) is still unbatched.
  writeNpy(file("s11.npy"), s.data(), {1, 1});
  r = kconvRun(artifact_ + " transposed --input S=" + file("s11.npy") + " --random 23,9 -o " +
               file("t.npy"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(readNpy(file("t.npy")).shape, (std::vector<int64_t>{9, 1}));

  // An empty batch: nothing computed, an empty (0, nOut, dim) file.
  writeNpy(file("x0.npy"), x.data(), {0, nI, 3});
  r = kconvRun(artifact_ + " gaussian_conv --input X=" + file("x0.npy") + " --random 23,17 -o " +
               file("e.npy") + " --check");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(readNpy(file("e.npy")).shape, (std::vector<int64_t>{0, nI, 1}));
}

TEST_F(KconvRunTest, BatchedIndexKind) {
  std::string why;
  const std::string &bytes = test::testIndexArtifactBytes(why);
  if (bytes.empty())
    GTEST_SKIP() << why;
  write("k.kca", bytes);
  const int64_t nI = 11, nJ = 19;
  std::vector<float> x = wave(size_t(4 * nI * 3), 0.71, 0.3), y = wave(size_t(nJ * 3), 0.53, 2);
  writeNpy(file("x.npy"), x.data(), {4, nI, 3});
  writeNpy(file("y.npy"), y.data(), {nJ, 3});
  Result r = kconvRun(file("k.kca") + " nearest --input X=" + file("x.npy") + " --input Y=" +
                      file("y.npy") + " -o " + file("n.npy") + " --check");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_OUTPUT(r, "output (4, 11, 3), indices (4, 11, 3)");
  EXPECT_OUTPUT(r, "int64 indices, shape (4, 11, 3)");
  EXPECT_OUTPUT(r, "check: indices: 0 of 132 on 11 rows of 4 of 4 batch entries");
  NpyArray values = readNpy(file("n.npy"));
  EXPECT_EQ(values.shape, (std::vector<int64_t>{4, nI, 3}));
  // The index file (int64, version 1; readNpy reads float files only): its header, then the data.
  std::string bytes_;
  {
    std::ifstream in(file("n.indices.npy"), std::ios::binary);
    bytes_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  ASSERT_GT(bytes_.size(), 10u);
  const size_t header = 10 + size_t(uint8_t(bytes_[8])) + 256 * size_t(uint8_t(bytes_[9]));
  EXPECT_NE(bytes_.find("'descr': '<i8'"), std::string::npos);
  EXPECT_NE(bytes_.find("'shape': (4, 11, 3)"), std::string::npos) << bytes_.substr(0, header);
  ASSERT_EQ(bytes_.size(), header + size_t(4 * nI * 3) * 8);
  std::vector<int64_t> indices(size_t(4 * nI * 3));
  std::memcpy(indices.data(), bytes_.data() + header, indices.size() * 8);
  auto art = Artifact::load(file("k.kca"));
  for (int64_t e = 0; e < 4; ++e) {
    std::vector<float> v(size_t(nI * 3));
    std::vector<int64_t> idx(size_t(nI * 3));
    art->run("nearest", {x.data() + e * nI * 3, y.data()}, Outputs{v.data(), idx.data()}, nI,
             nJ);
    EXPECT_EQ(std::vector<float>(values.data.begin() + e * nI * 3,
                                 values.data.begin() + (e + 1) * nI * 3),
              v);
    EXPECT_EQ(std::vector<int64_t>(indices.begin() + e * nI * 3,
                                   indices.begin() + (e + 1) * nI * 3),
              idx);
  }
  for (int64_t j : indices)
    EXPECT_TRUE(j >= 0 && j < nJ) << j;
}

TEST_F(KconvRunTest, BatchShapesThatDoNotBroadcast) {
  std::vector<float> v(1000, 0.5f);
  writeNpy(file("x.npy"), v.data(), {2, 10, 3});
  writeNpy(file("y.npy"), v.data(), {3, 12, 3});
  writeNpy(file("b.npy"), v.data(), {12, 1});
  Result r = kconvRun(artifact_ + " gaussian_conv --input X=" + file("x.npy") + " --input Y=" +
                      file("y.npy") + " --input B=" + file("b.npy"));
  EXPECT_EQ(r.status, 1);
  EXPECT_OUTPUT(r, "--input Y=" + file("y.npy") + " (shape (3, 12, 3), batch (3,)) and --input X=" +
                       file("x.npy") + " (shape (2, 10, 3), batch (2,)): reduction "
                                       "'gaussian_conv': input 1 (Y, j, dim 3) has batch shape "
                                       "(3,), input 0 (X, i, dim 3) has (2,): they do not "
                                       "broadcast");
  // Rows must agree across the problems of all files, as before.
  writeNpy(file("y.npy"), v.data(), {2, 13, 3});
  r = kconvRun(artifact_ + " gaussian_conv --input Y=" + file("y.npy") + " --input B=" +
               file("b.npy") + " --random 10,13");
  EXPECT_EQ(r.status, 1);
  EXPECT_OUTPUT(r, file("b.npy") + " has 12 rows but " + file("y.npy") + " has 13");
  // A batched file of the wrong dimension.
  writeNpy(file("x.npy"), v.data(), {2, 10, 2});
  r = kconvRun(artifact_ + " gaussian_conv --input X=" + file("x.npy") + " --random 10");
  EXPECT_EQ(r.status, 1);
  EXPECT_OUTPUT(r, file("x.npy") + ": shape (2, 10, 2) does not fit variable X (i, dimension 3): "
                                   "expected (n, 3), or (B1, ..., Bk, n, 3) for a batch");
  writeNpy(file("s.npy"), v.data(), {3, 2});
  r = kconvRun(artifact_ + " transposed --input S=" + file("s.npy") + " --random 10");
  EXPECT_EQ(r.status, 1);
  EXPECT_OUTPUT(r, "does not fit parameter S of dimension 1: expected (1,), or (B1, ..., Bk, 1) "
                   "for a batch");
  r = kconvRun("--help");
  EXPECT_OUTPUT(r, "Batch dimensions: a file of shape");
  EXPECT_OUTPUT(r, "are (B1, ..., Bk, nOut, dim) over the broadcast batch shape");
}
