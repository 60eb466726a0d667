//===- ValidateTest.cpp - an artifact is code: what is checked before it runs -===//
//
// Regression tests for issue 11's "an artifact is code" findings: edited metadata (a wrong
// dimension, a deleted variable, a dimension of 2^61, attr cpu.symbol abort, gpu.block 0, ...) is
// refused at load time, before the CPU object is mapped, by comparing it with the ABI descriptor
// the code carries (kconv/ABI/KernelABI.h) and the PTX kernels' parameters; loading and listing
// run no code of the artifact; sizes that do not fit are errors, not wrapped values.
//
//===----------------------------------------------------------------------===//
#include "TestArtifacts.h"
#include "kconv/ABI/KernelABI.h"
#include "kconv/Runtime/Checked.h"
#include "kconv/Runtime/Runtime.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <limits>

using namespace kconv;

namespace {

class ValidateTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string why;
    const std::string &bytes = test::testArtifactBytes(why);
    if (bytes.empty())
      GTEST_SKIP() << "cannot build the test kernels: " << why;
    contents_ = parseArtifact(bytes, "t.kca");
  }

  /// Loading `c` fails with InvalidArtifact and a message containing `fragment`.
  static void expectRefused(const ArtifactContents &c, const std::string &fragment) {
    try {
      Artifact::fromBytes(serializeArtifact(c), "edited.kca");
      FAIL() << "loaded; expected '" << fragment << "'";
    } catch (const Error &e) {
      EXPECT_EQ(int(e.code()), int(ErrorCode::InvalidArtifact)) << e.what();
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  }

  ReductionInfo &gaussian() { return contents_.reductions[0]; }

  ArtifactContents contents_;
};

/// A PTX text declaring `name` with `params` parameters.
std::string ptxEntry(const std::string &name, int params) {
  std::string text = ".visible .entry " + name + "(\n";
  for (int k = 0; k < params; ++k)
    text += std::string("  .param .u64 p") + std::to_string(k) + (k + 1 < params ? ",\n" : "\n");
  return text + ")\n{\n  ret;\n}\n";
}

} // namespace

TEST_F(ValidateTest, TheUneditedArtifactLoads) {
  EXPECT_NO_THROW(validateArtifact(contents_, "t.kca"));
  EXPECT_NO_THROW(Artifact::fromBytes(serializeArtifact(contents_), "t.kca"));
}

TEST_F(ValidateTest, EditedDimensionIsRefused) {
  // `var X i 1` for a kernel compiled for dimension 3.
  gaussian().variables[0].dim = 1;
  gaussian().formula[0].dim = 1;
  expectRefused(contents_, "reduction 'gaussian_conv': the metadata does not match the CPU "
                           "code's ABI descriptor (kconv_cpu_gaussian_conv_abi): variable 0 (X) "
                           "is i 1 in the metadata but i 3 in the code");
}

TEST_F(ValidateTest, DeletedVariableIsRefused) {
  ReductionInfo &r = gaussian();
  r.variables.pop_back(); // B
  r.formula = {r.formula[0]};
  r.yield = 2;
  expectRefused(contents_, "the variable count is 2 in the metadata but 3 in the code");
}

TEST_F(ValidateTest, OtherFieldsAreCrossChecked) {
  ArtifactContents c = contents_;
  c.reductions[0].variables[2].category = VarCategory::Pm;
  expectRefused(c, "variable 2 (B) is p 1 in the metadata but j 1 in the code");
  c = contents_;
  c.reductions[1].kind = "min"; // the same output dimensions as sum
  expectRefused(c, "the kind is min in the metadata but sum in the code");
  c = contents_;
  c.reductions[0].attributes["cpu.lanes"] = "1"; // the kernel loads 16-float vectors
  expectRefused(c, "cpu.lanes is 1 in the metadata but 16 in the code");
  c = contents_;
  c.reductions[2].axis = 1;
  expectRefused(c, "the axis is 1 in the metadata but 0 in the code");
}

TEST_F(ValidateTest, DimensionsAreBounded) {
  gaussian().variables[1].dim = int64_t(1) << 61;
  expectRefused(contents_, "variable 'Y' has dimension 2305843009213693952 (the language "
                           "allows 1 to 65536)");
  ArtifactContents c = parseArtifact(serializeArtifact(contents_), "x");
  c.reductions[0].variables[1].dim = 3;
  c.reductions[0].valueDim = kconv::abi::kMaxDim + 1;
  expectRefused(c, "value_dim 65537 and index_dim 0 do not fit Sum_Reduction of a yield of "
                   "dimension 1 (k = 1): expected 1 and 0");
}

// The kind, k, value_dim and index_dim agree with the table (Builtins.def) before anything else
// of the reduction is compared with its code.
TEST_F(ValidateTest, KindKAndOutputDimensionsFollowTheTable) {
  auto edited = [&](auto edit) {
    ArtifactContents c = contents_;
    edit(c.reductions[0]); // gaussian: yield of dimension 1
    return c;
  };
  expectRefused(edited([](ReductionInfo &r) { r.kind = "median"; }),
                "reduction 'gaussian_conv': unknown reduction kind 'median' (known: sum, min,");
  expectRefused(edited([](ReductionInfo &r) { r.k = 3; }),
                "Sum_Reduction takes no K: k must be 1, got 3");
  // (k < 1 is refused by the metadata parser already.)
  expectRefused(edited([](ReductionInfo &r) {
                  r.kind = "argkmin";
                  r.k = 65;
                }),
                "ArgKMin_Reduction needs k from 1 to 64, got 65");
  // kmin with K = 4 of a scalar: 4 values, no indices.
  expectRefused(edited([](ReductionInfo &r) {
                  r.kind = "kmin";
                  r.k = 4;
                }),
                "value_dim 1 and index_dim 0 do not fit KMin_Reduction of a yield of dimension 1 "
                "(k = 4): expected 4 and 0");
  expectRefused(edited([](ReductionInfo &r) { r.kind = "min_argmin"; }),
                "expected 1 and 1");
  expectRefused(edited([](ReductionInfo &r) {
                  r.kind = "argmax";
                  r.indexDim = 1;
                }),
                "value_dim 1 and index_dim 1 do not fit ArgMax_Reduction of a yield of "
                "dimension 1 (k = 1): expected 0 and 1");
  expectRefused(edited([](ReductionInfo &r) { r.kind = "sumsoftmaxweight"; }),
                "SumSoftMaxWeight_Reduction reduces Concat(f, g): its yield needs at least 2 "
                "components, got 1");
  // Consistent metadata of another kind: refused by the code's descriptor, not by the table.
  expectRefused(edited([](ReductionInfo &r) {
                  r.kind = "kmin";
                  r.k = 2;
                  r.valueDim = 2;
                }),
                "in the metadata but");
}

TEST_F(ValidateTest, SymbolsMustHaveTheAbiNames) {
  // dlsym would find abort in libc.
  gaussian().attributes["cpu.symbol"] = "abort";
  expectRefused(contents_,
                "attr cpu.symbol must be the ABI's name kconv_cpu_gaussian_conv, got 'abort'");
  ArtifactContents c = parseArtifact(serializeArtifact(contents_), "x");
  c.reductions[0].attributes["cpu.symbol"] = "kconv_cpu_gaussian_conv";
  c.reductions[0].attributes["gpu.kernel"] = "kconv_gpu_other";
  expectRefused(c, "attr gpu.kernel must be the ABI's name kconv_gpu_gaussian_conv");
}

TEST_F(ValidateTest, GpuLaunchParametersAreBounded) {
  // gpu.block 0 / gpu.tile 0 / gpu.rows_per_thread 0 used to divide by zero in launch planning.
  for (const char *key : {"gpu.block", "gpu.tile", "gpu.rows_per_thread"}) {
    ArtifactContents c = contents_;
    c.reductions[0].attributes[key] = "0";
    expectRefused(c, std::string("attribute ") + key + " must be an integer from 1 to");
  }
  ArtifactContents c = contents_;
  c.reductions[0].attributes["gpu.block"] = "2048";
  expectRefused(c, "attribute gpu.block must be an integer from 1 to 1024, got '2048'");
  c = contents_;
  c.reductions[0].attributes["gpu.block"] = "256";
  c.reductions[0].attributes["gpu.small_rows"] = "24";
  expectRefused(c, "attr gpu.small_rows (24) must divide gpu.block (256)");
  c = contents_;
  c.reductions[0].attributes["gpu.kernel_small"] = "kconv_gpu_gaussian_conv_small";
  expectRefused(c, "attr gpu.kernel_small needs attr gpu.small_rows"); // was a division by 0
  c = contents_;
  c.reductions[0].attributes["cpu.jblock"] = "-5";
  expectRefused(c, "attribute cpu.jblock must be an integer from 1 to");
}

TEST_F(ValidateTest, PtxParameterCountIsChecked) {
  ReductionInfo &r = gaussian();
  r.attributes["gpu.kernel"] = "kconv_gpu_gaussian_conv";
  r.attributes["gpu.kernel_splitj"] = "kconv_gpu_gaussian_conv_splitj";
  // 3 variables: 3 pointers + values, indices, nOut, nReduced, jChunk, batchBase + 4 batch
  // sizes + 3 x 4 batch strides = 25 parameters.
  contents_.ptx = ptxEntry("kconv_gpu_gaussian_conv", 25) +
                  ptxEntry("kconv_gpu_gaussian_conv_splitj", 25);
  EXPECT_NO_THROW(validateArtifact(contents_, "t.kca"));
  ArtifactContents c = contents_;
  c.ptx = ptxEntry("kconv_gpu_gaussian_conv", 25) +
          ptxEntry("kconv_gpu_gaussian_conv_splitj", 8); // the ABI before batch dimensions
  expectRefused(c, "the PTX kernel kconv_gpu_gaussian_conv_splitj takes 8 parameters, but the "
                   "metadata's 3 variables make 25");
  c.ptx = ptxEntry("kconv_gpu_gaussian_conv_splitj", 25) +
          ptxEntry("kconv_gpu_gaussian_conv_x", 25); // a longer name is not the kernel
  expectRefused(c, "its PTX has no kernel 'kconv_gpu_gaussian_conv' (attr gpu.kernel)");
}

TEST_F(ValidateTest, CodeWithoutDescriptorIsRefused) {
  std::string why;
  std::string so = test::compileSharedObject(
      "void kconv_cpu_gaussian_conv(void) {}\n"
      "const char kconv_cpu_gaussian_vec_abi[] = \"kconv-cpu-abi 1 garbage\";\n"
      "void kconv_cpu_gaussian_vec(void) {}\n",
      why);
  if (so.empty())
    GTEST_SKIP() << why;
  ArtifactContents c = contents_;
  c.cpuSharedObject = so;
  c.reductions.resize(2);
  expectRefused(c, "reduction 'gaussian_conv': its CPU code exports no ABI descriptor "
                   "'kconv_cpu_gaussian_conv_abi'");
  c.reductions.erase(c.reductions.begin());
  expectRefused(c, "its CPU code's ABI descriptor 'kconv_cpu_gaussian_vec_abi' is malformed");
  // The kernel must be a function of the object, not data.
  so = test::compileSharedObject(
      "const char kconv_cpu_gaussian_conv_abi[] = \"kconv-cpu-abi 2 kind=sum k=1 axis=1 dtype=f32 "
      "value_dim=1 index_dim=0 lanes=16 vars=i3,j3,j1\";\nint kconv_cpu_gaussian_conv = 3;\n",
      why);
  ASSERT_FALSE(so.empty()) << why;
  c = contents_;
  c.cpuSharedObject = so;
  c.reductions.resize(1);
  expectRefused(c, "its CPU code has no function 'kconv_cpu_gaussian_conv' (attr cpu.symbol)");
}

TEST_F(ValidateTest, LoadingAndListingRunNoCode) {
  // A constructor in the CPU object marks the process; it may run at the first CPU call only.
  std::string why;
  std::string source = test::testKernelSource() +
                       "\n#include <stdlib.h>\n"
                       "__attribute__((constructor)) static void kconv_test_mark(void) {\n"
                       "  setenv(\"KCONV_TEST_CONSTRUCTOR_RAN\", \"1\", 1);\n}\n";
  std::string so = test::compileSharedObject(source, why);
  if (so.empty())
    GTEST_SKIP() << why;
  ::unsetenv("KCONV_TEST_CONSTRUCTOR_RAN");
  ArtifactContents c = contents_;
  c.cpuSharedObject = so;
  auto art = Artifact::fromBytes(serializeArtifact(c), "ctor.kca");
  for (const ReductionInfo &r : art->reductions())
    (void)art->cpuUnavailableReason(r.name); // what kconv-run --list asks
  EXPECT_EQ(std::getenv("KCONV_TEST_CONSTRUCTOR_RAN"), nullptr);
  std::vector<float> x(3, 0.0f), y(3, 0.0f), b(1, 2.0f), out(1);
  art->run("gaussian_conv", {x.data(), y.data(), b.data()}, out.data(), 1, 1);
  EXPECT_FLOAT_EQ(out[0], 2.0f);
  EXPECT_NE(std::getenv("KCONV_TEST_CONSTRUCTOR_RAN"), nullptr);
  ::unsetenv("KCONV_TEST_CONSTRUCTOR_RAN");
}

TEST_F(ValidateTest, HugeSizesAreErrors) {
  auto art = Artifact::fromBytes(serializeArtifact(contents_), "t.kca");
  // Never read: every size check comes before the first access.
  std::vector<float> dummy(16, 0.0f);
  const float *p = dummy.data();
  auto expectTooLarge = [&](int64_t nI, int64_t nJ, const std::string &fragment) {
    SCOPED_TRACE("nI=" + std::to_string(nI) + " nJ=" + std::to_string(nJ));
    try {
      RunOptions o;
      o.device = Device::Cpu;
      o.threads = 1;
      art->run("gaussian_conv", {p, p, p}, dummy.data(), nI, nJ, o);
      FAIL() << "ran";
    } catch (const Error &e) {
      EXPECT_EQ(int(e.code()), int(ErrorCode::InvalidArgument)) << e.what();
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  // kconv-run --random 6148914691236517206,1 used to exit 0 without output (the chunk count
  // overflowed): nI x 3 does not fit in 64 bits.
  expectTooLarge(6148914691236517206, 1,
                 "input 0 (X, i, dim 3): size too large: rows x dim = 6148914691236517206 x 3");
  // nJ = 2^62 wrapped the packing buffer's size: nJ x 3 floats.
  expectTooLarge(1, int64_t(1) << 62, "input 1 (Y, j, dim 3): size too large");
  // nJ = 2^60: each input fits, the packing buffer (3 + 1 rows of 2^60 floats) does not.
  expectTooLarge(1, int64_t(1) << 60, "size too large: packing buffer bytes");
}

TEST(Checked, Arithmetic) {
  EXPECT_EQ(checkedMul(3, 4, "x"), 12);
  EXPECT_EQ(checkedAdd(std::numeric_limits<int64_t>::max() - 1, 1, "x"),
            std::numeric_limits<int64_t>::max());
  EXPECT_THROW(checkedMul(int64_t(1) << 62, 2, "x"), Error);
  EXPECT_THROW(checkedAdd(std::numeric_limits<int64_t>::max(), 1, "x"), Error);
  EXPECT_THROW(checkedMul(-1, 2, "x"), Error);
  EXPECT_THROW(checkedBytes(int64_t(1) << 62, 4, "x"), Error);
  try {
    checkedMul(int64_t(1) << 40, int64_t(1) << 30, "rows x dim");
    FAIL();
  } catch (const Error &e) {
    EXPECT_STREQ(e.what(), "size too large: rows x dim = 1099511627776 x 1073741824 does not "
                           "fit in 64 bits");
  }
}

TEST(KernelAbi, NamesAndDescriptor) {
  EXPECT_EQ(kconv::abi::cpuKernelName("g"), "kconv_cpu_g");
  EXPECT_EQ(kconv::abi::cpuAbiSymbolName("g"), "kconv_cpu_g_abi");
  EXPECT_EQ(kconv::abi::gpuKernelName("g", kconv::abi::GpuVariant::Rows, false), "kconv_gpu_g");
  EXPECT_EQ(kconv::abi::gpuKernelName("g", kconv::abi::GpuVariant::OneRow, true), "kconv_gpu_g_r1_splitj");
  EXPECT_EQ(kconv::abi::gpuKernelName("g", kconv::abi::GpuVariant::Small, false), "kconv_gpu_g_small");
  kconv::abi::GpuVariant v;
  bool splitj = false;
  ASSERT_TRUE(kconv::abi::parseGpuKernelName("g", "kconv_gpu_g_splitj", v, splitj));
  EXPECT_TRUE(v == kconv::abi::GpuVariant::Rows && splitj);
  EXPECT_FALSE(kconv::abi::parseGpuKernelName("g", "kconv_gpu_g_small_splitj", v, splitj));
  EXPECT_EQ(kconv::abi::gpuKernelParamCount(3), 25u);
  EXPECT_EQ(kconv::abi::gpuKernelParamBytes(3), 3 * 8 + 2 * 8 + 4 * 4 + 4 * 4 + 3 * 4 * 8u);
  EXPECT_EQ(kconv::abi::cpuJBlock(1000, 16), 1008);
  EXPECT_EQ(kconv::abi::cpuJBlock(3, 16), 16);
  EXPECT_EQ(kconv::abi::gpuJChunk(10, 3, 256), 4 * 256);
  int64_t r = 0;
  EXPECT_FALSE(kconv::abi::roundUp(std::numeric_limits<int64_t>::max(), 16, r));
  EXPECT_EQ(kconv::abi::elementSize(*kconv::abi::parseElementType("f16")), 2u);
  EXPECT_EQ(kconv::abi::elementSize(*kconv::abi::parseElementType("f64")), 8u);
  EXPECT_FALSE(kconv::abi::parseElementType("bf16"));

  kconv::abi::CpuAbiDescriptor d;
  d.lanes = 16;
  d.variables = {{'i', 3}, {'j', 3}, {'p', 1}};
  EXPECT_EQ(d.format(),
            "kconv-cpu-abi 2 kind=sum k=1 axis=1 dtype=f32 value_dim=1 index_dim=0 lanes=16 vars=i3,j3,p1");
  auto back = kconv::abi::CpuAbiDescriptor::parse(d.format());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->format(), d.format());
  EXPECT_FALSE(kconv::abi::CpuAbiDescriptor::parse("kconv-cpu-abi 1 kind=sum"));
  EXPECT_FALSE(kconv::abi::CpuAbiDescriptor::parse(
      "kconv-cpu-abi 2 kind=sum k=1 axis=1 dtype=f32 value_dim=1 index_dim=0 lanes=16 vars=q3"));
}
