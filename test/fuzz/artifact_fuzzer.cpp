//===- artifact_fuzzer.cpp - libFuzzer target: artifact parser + validator ===//
//
// Feeds arbitrary bytes to what the runtime does with an artifact before running anything:
// parseArtifact (container, hash, metadata text, signature section), the signed message, and
// validateArtifact (metadata bounds, names,
// the CPU object's ELF symbol table and ABI descriptors, the PTX kernels' parameters). Neither may
// crash, and neither maps code: the target never calls Artifact::load/fromBytes (which would
// dlopen at the first CPU call only, but keeps the fuzzer away from that path entirely).
//
// The content hash makes random mutations fail early; the fuzzer therefore also recomputes the
// hash of mutated inputs (FNV-1a over the payloads) so that the metadata and ELF parsers see
// them. Seed corpus: test/fuzz/corpus/artifact (artifacts written by kconv-compile).
//
//===----------------------------------------------------------------------===//
#include "kconv/Runtime/Artifact.h"
#include "kconv/Runtime/Error.h"
#include "kconv/Runtime/Runtime.h"

#include <cstdint>
#include <cstring>
#include <string>

namespace {

/// Rewrites the header's content hash to match the section payloads, when the table is readable
/// (the same FNV-1a 64 as lib/Runtime/Artifact.cpp; docs/architecture.md).
void fixHash(std::string &bytes) {
  if (bytes.size() < 24)
    return;
  uint32_t count;
  std::memcpy(&count, bytes.data() + 12, 4);
  if (count == 0 || count > 64 || bytes.size() < 24 + uint64_t(count) * 24)
    return;
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (uint32_t i = 0; i < count; ++i) {
    uint64_t offset, size;
    std::memcpy(&offset, bytes.data() + 24 + i * 24 + 8, 8);
    std::memcpy(&size, bytes.data() + 24 + i * 24 + 16, 8);
    if (offset > bytes.size() || size > bytes.size() - offset)
      return;
    for (uint64_t k = 0; k < size; ++k) {
      hash ^= static_cast<unsigned char>(bytes[offset + k]);
      hash *= 0x100000001b3ULL;
    }
  }
  std::memcpy(&bytes[16], &hash, 8);
}

void check(const std::string &bytes) {
  try {
    kconv::ArtifactContents contents = kconv::parseArtifact(bytes, "fuzz.kca");
    (void)kconv::artifactSignedMessage(bytes, "fuzz.kca");
    kconv::validateArtifact(contents, "fuzz.kca");
  } catch (const kconv::Error &) {
    // Refusing is the expected outcome for most inputs; only a crash is a finding.
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string bytes(reinterpret_cast<const char *>(data), size);
  check(bytes);
  fixHash(bytes);
  check(bytes);
  return 0;
}
