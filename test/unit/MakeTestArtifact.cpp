//===- MakeTestArtifact.cpp - kconv-make-test-artifact ----------------------===//
//
//   kconv-make-test-artifact OUT.kca
//
// Writes the runtime tests' artifact (TestArtifacts.h: hand-written C kernels compiled with $CC
// or cc, wrapped by kconv::serializeArtifact) for the Python tests and scripts/test-embed.sh.
// Exit status 77 when no C compiler is available (the tests report "skipped").
//
//===----------------------------------------------------------------------===//
#include "TestArtifacts.h"

#include <cstdio>
#include <fstream>

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: kconv-make-test-artifact OUT.kca\n");
    return 2;
  }
  std::string why;
  const std::string &bytes = kconv::test::testArtifactBytes(why);
  if (bytes.empty()) {
    std::fprintf(stderr, "kconv-make-test-artifact: cannot build the test kernels: %s\n",
                 why.c_str());
    return 77;
  }
  std::ofstream out(argv[1], std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  out.close();
  if (!out) {
    std::fprintf(stderr, "kconv-make-test-artifact: cannot write %s\n", argv[1]);
    return 1;
  }
  return 0;
}
