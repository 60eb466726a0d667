//===- make_artifact_seeds.cpp - two seeds of the artifact fuzz corpus ---------===//
//
//   make_artifact_seeds COMPILED.kca OUT_DIR
//
// From an artifact with CPU and GPU code, writes OUT_DIR/gaussian-ptx.kca (its PTX only: no CPU
// object, no cubin) and OUT_DIR/small-ptx.kca (the same with empty PTX kernels of the ABI's
// parameter counts: a small input that still passes validation); and OUT_DIR/test-kernels.kca
// (the unit tests' artifact, test/unit/TestArtifacts.cpp). scripts/remake-artifact-corpus.sh
// builds and runs it.
//
//===----------------------------------------------------------------------===//
#include "../unit/TestArtifacts.h"
#include "kconv/ABI/KernelABI.h"

#include <fstream>
#include <iostream>
#include <sstream>

int main(int argc, char **argv) {
  if (argc != 3) {
    std::cerr << "usage: make_artifact_seeds COMPILED.kca OUT_DIR\n";
    return 2;
  }
  const std::string out = argv[2];
  std::string why;
  const std::string &kernels = kconv::test::testArtifactBytes(why);
  if (kernels.empty()) {
    std::cerr << "cannot build the test kernels: " << why << "\n";
    return 1;
  }
  std::ofstream(out + "/test-kernels.kca", std::ios::binary) << kernels;

  std::ifstream in(argv[1], std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  kconv::ArtifactContents c = kconv::parseArtifact(bytes.str(), argv[1]);
  c.cpuSharedObject.clear();
  c.cubin.clear();
  std::ofstream(out + "/gaussian-ptx.kca", std::ios::binary) << kconv::serializeArtifact(c);
  std::string ptx = ".version 8.0\n.target sm_90\n.address_size 64\n";
  for (const kconv::ReductionInfo &r : c.reductions)
    for (const auto &[key, name] : r.attributes) {
      if (key.rfind("gpu.kernel", 0) != 0)
        continue;
      ptx += ".visible .entry " + name + "(\n";
      const size_t params = kconv::abi::gpuKernelParamCount(r.variables.size());
      for (size_t p = 0; p < params; ++p)
        ptx += "  .param .u64 p" + std::to_string(p) + (p + 1 < params ? ",\n" : "\n");
      ptx += ")\n{\n  ret;\n}\n";
    }
  c.ptx = ptx;
  std::ofstream(out + "/small-ptx.kca", std::ios::binary) << kconv::serializeArtifact(c);
  return 0;
}
