//===- MakeTestArtifact.cpp - kconv-make-test-artifact ----------------------===//
//
//   kconv-make-test-artifact [--index-kinds | --index-kinds-fake-gpu] OUT.kca
//
// Writes the runtime tests' artifact (TestArtifacts.h: hand-written C kernels compiled with $CC
// or cc, wrapped by kconv::serializeArtifact) for the Python tests and scripts/test-embed.sh;
// with --index-kinds the artifact of the kinds with indices (nearest, argmin_t, knn, argknn);
// --index-kinds-fake-gpu adds GPU kernels for `nearest` (min_argmin, no split-j form) whose PTX
// bodies are empty: only the fake CUDA driver (test/gpu-fake) computes them.
// Exit status 77 when no C compiler is available (the tests report "skipped").
//
//===----------------------------------------------------------------------===//
#include "TestArtifacts.h"

#include <cstdio>
#include <fstream>
#include <string>

int main(int argc, char **argv) {
  const std::string flag = argc == 3 ? argv[1] : "";
  const bool fakeGpu = flag == "--index-kinds-fake-gpu";
  const bool indexKinds = flag == "--index-kinds" || fakeGpu;
  if (argc != 2 && !indexKinds) {
    std::fprintf(stderr,
                 "usage: kconv-make-test-artifact [--index-kinds | --index-kinds-fake-gpu] "
                 "OUT.kca\n");
    return 2;
  }
  const char *path = argv[argc - 1];
  std::string why;
  const std::string &bytes = indexKinds ? kconv::test::testIndexArtifactBytes(why)
                                        : kconv::test::testArtifactBytes(why);
  if (bytes.empty()) {
    std::fprintf(stderr, "kconv-make-test-artifact: cannot build the test kernels: %s\n",
                 why.c_str());
    return 77;
  }
  std::string written = bytes;
  if (fakeGpu) {
    kconv::ArtifactContents c = kconv::parseArtifact(bytes, "index-kinds.kca");
    for (kconv::ReductionInfo &r : c.reductions)
      if (r.name == "nearest")
        r.attributes.insert({{"gpu.kernel", "kconv_gpu_nearest"},
                             {"gpu.kernel_r1", "kconv_gpu_nearest_r1"},
                             {"gpu.kernel_small", "kconv_gpu_nearest_small"},
                             {"gpu.small_rows", "32"},
                             {"gpu.block", "256"},
                             {"gpu.rows_per_thread", "4"},
                             {"gpu.tile", "256"}});
    c.ptx = ".version 8.0\n.target sm_90\n.address_size 64\n";
    for (const char *kernel : {"kconv_gpu_nearest", "kconv_gpu_nearest_r1",
                               "kconv_gpu_nearest_small"})
      c.ptx += std::string(".visible .entry ") + kernel +
               "(.param .u64 x, .param .u64 y, .param .u64 values, .param .u64 indices, "
               ".param .u32 n, .param .u32 m, .param .u32 chunk, .param .u32 batch_base, "
               ".param .u32 s0, .param .u32 s1, .param .u32 s2, .param .u32 s3, "
               ".param .u64 x0, .param .u64 x1, .param .u64 x2, .param .u64 x3, "
               ".param .u64 y0, .param .u64 y1, .param .u64 y2, .param .u64 y3)\n{\n  ret;\n}\n";
    written = kconv::serializeArtifact(c);
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(written.data(), std::streamsize(written.size()));
  out.close();
  if (!out) {
    std::fprintf(stderr, "kconv-make-test-artifact: cannot write %s\n", path);
    return 1;
  }
  return 0;
}
