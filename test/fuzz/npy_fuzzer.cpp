//===- npy_fuzzer.cpp - libFuzzer target: the .npy reader -----------------===//
//
// kconv::parseNpy (what kconv-run --input reads) on arbitrary bytes: it must refuse malformed
// files with kconv::Error, never crash, never read or allocate past what the file holds. Seed
// corpus: test/fuzz/corpus/npy (small valid files: float32/float64, versions 1-3, 0-2 dims).
//
//===----------------------------------------------------------------------===//
#include "kconv/Runtime/Error.h"
#include "kconv/Runtime/Npy.h"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  try {
    kconv::NpyArray array =
        kconv::parseNpy(std::string_view(reinterpret_cast<const char *>(data), size), "fuzz.npy");
    // A parsed array holds exactly the elements its shape says.
    uint64_t count = 1;
    for (int64_t d : array.shape)
      count *= uint64_t(d);
    if (count != array.data.size())
      __builtin_trap();
  } catch (const kconv::Error &) {
  }
  return 0;
}
