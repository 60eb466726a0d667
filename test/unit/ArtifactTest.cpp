//===- ArtifactTest.cpp - the artifact container: round trip and rejections ===//
#include "TestArtifacts.h"
#include "kconv/Runtime/Error.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace kconv;

namespace {

ArtifactContents sample() {
  ArtifactContents c = test::testArtifactContents();
  c.cpuSharedObject = std::string("\x7f" "ELF fake shared object\0bytes", 29);
  c.ptx = ".version 8.0\n.target sm_90\n";
  c.cubin = std::string("cubin\0\1\2", 8);
  // Exercise int= and real= operands too.
  FormulaOp pow;
  pow.name = "pow";
  pow.dim = 1;
  pow.operands = {6};
  pow.integer = -3;
  FormulaOp constant;
  constant.name = "constant";
  constant.dim = 1;
  constant.real = 0.1;
  c.reductions[0].formula.push_back(pow);
  c.reductions[0].formula.push_back(constant);
  return c;
}

/// Expects parseArtifact to throw InvalidArtifact with `fragment` in the message.
void expectRejected(const std::string &bytes, const std::string &fragment) {
  try {
    parseArtifact(bytes, "test.kca");
    FAIL() << "accepted; expected an error containing '" << fragment << "'";
  } catch (const Error &e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArtifact);
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("test.kca"), std::string::npos) << e.what();
  }
}

void putU32(std::string &bytes, size_t offset, uint32_t value) {
  std::memcpy(&bytes[offset], &value, 4);
}

} // namespace

TEST(Artifact, RoundTrip) {
  ArtifactContents c = sample();
  std::string bytes = serializeArtifact(c);
  ArtifactContents back = parseArtifact(bytes, "test.kca");
  EXPECT_EQ(back.compilerVersion, c.compilerVersion);
  EXPECT_EQ(back.sourceName, c.sourceName);
  EXPECT_EQ(back.cpuSharedObject, c.cpuSharedObject);
  EXPECT_EQ(back.ptx, c.ptx);
  EXPECT_EQ(back.cubin, c.cubin);
  EXPECT_NE(back.contentHash, 0u);
  ASSERT_EQ(back.reductions.size(), c.reductions.size());
  for (size_t k = 0; k < c.reductions.size(); ++k) {
    const ReductionInfo &a = c.reductions[k], &b = back.reductions[k];
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.kind, b.kind);
    EXPECT_EQ(a.axis, b.axis);
    EXPECT_EQ(a.dtype, b.dtype);
    EXPECT_EQ(a.valueDim, b.valueDim);
    EXPECT_EQ(a.yield, b.yield);
    EXPECT_EQ(a.attributes, b.attributes);
    ASSERT_EQ(a.variables.size(), b.variables.size());
    for (size_t v = 0; v < a.variables.size(); ++v) {
      EXPECT_EQ(a.variables[v].name, b.variables[v].name);
      EXPECT_EQ(a.variables[v].category, b.variables[v].category);
      EXPECT_EQ(a.variables[v].dim, b.variables[v].dim);
    }
    ASSERT_EQ(a.formula.size(), b.formula.size());
    for (size_t o = 0; o < a.formula.size(); ++o) {
      EXPECT_EQ(a.formula[o].name, b.formula[o].name);
      EXPECT_EQ(a.formula[o].dim, b.formula[o].dim);
      EXPECT_EQ(a.formula[o].operands, b.formula[o].operands);
      EXPECT_EQ(a.formula[o].integer, b.formula[o].integer);
      EXPECT_EQ(a.formula[o].real, b.formula[o].real);
    }
  }
  // Serializing what was read gives the same bytes.
  EXPECT_EQ(serializeArtifact(back), bytes);
}

TEST(Artifact, MetadataOnly) {
  ArtifactContents c = test::testArtifactContents();
  ArtifactContents back = parseArtifact(serializeArtifact(c), "m.kca");
  EXPECT_TRUE(back.cpuSharedObject.empty());
  EXPECT_TRUE(back.ptx.empty());
  EXPECT_EQ(back.reductions.size(), c.reductions.size());
}

TEST(Artifact, RejectsTruncation) {
  std::string bytes = serializeArtifact(sample());
  ASSERT_GT(bytes.size(), 200u);
  expectRejected("", "bad magic");
  expectRejected(bytes.substr(0, 5), "bad magic");
  expectRejected(bytes.substr(0, 23), "bad magic"); // shorter than the header
  expectRejected(bytes.substr(0, 24), "truncated section table");
  expectRejected(bytes.substr(0, 40), "truncated section table");
  for (size_t length : {size_t(24 + 24 * 4), size_t(24 + 24 * 4 + 10), bytes.size() / 2,
                        bytes.size() - 1})
    expectRejected(bytes.substr(0, length), "truncated");
}

TEST(Artifact, RejectsFlippedByte) {
  std::string bytes = serializeArtifact(sample());
  for (size_t at : {bytes.size() - 1, bytes.size() - 20, size_t(24 + 24 * 4 + 3)}) {
    std::string corrupt = bytes;
    corrupt[at] ^= 0x40;
    expectRejected(corrupt, "content hash mismatch");
  }
  // A flipped bit in the stored hash itself.
  std::string corrupt = bytes;
  corrupt[17] ^= 1;
  expectRejected(corrupt, "content hash mismatch");
}

TEST(Artifact, RejectsBadMagicAndForeignFiles) {
  std::string bytes = serializeArtifact(sample());
  std::string badMagic = bytes;
  badMagic[0] = 'X';
  expectRejected(badMagic, "bad magic");
  expectRejected(std::string("\x7f" "ELF\2\1\1\0\0\0\0\0\0\0\0\0\3\0\x3e\0\1\0\0\0", 24) +
                     std::string(100, '\0'),
                 "bad magic");
  expectRejected("{\"not\": \"an artifact\"}\n and some more text to be long enough", "bad magic");
  expectRejected(std::string(1000, '\0'), "bad magic");
}

TEST(Artifact, RejectsOtherVersions) {
  std::string bytes = serializeArtifact(sample());
  std::string future = bytes;
  putU32(future, 8, kArtifactFormatVersion + 1);
  expectRejected(future, "format version " + std::to_string(kArtifactFormatVersion + 1) +
                             " is not supported");
  std::string zero = bytes;
  putU32(zero, 8, 0);
  expectRejected(zero, "format version 0");
}

TEST(Artifact, RejectsBadSectionTable) {
  std::string bytes = serializeArtifact(sample());
  std::string none = bytes;
  putU32(none, 12, 0);
  expectRejected(none, "truncated section table");
  std::string many = bytes;
  putU32(many, 12, 1000);
  expectRejected(many, "truncated section table");
  std::string kind = bytes;
  putU32(kind, 24 + 24, 99); // second section's kind
  expectRejected(kind, "unknown section kind 99");
  std::string past = bytes;
  uint64_t huge = uint64_t(1) << 40;
  std::memcpy(&past[24 + 8], &huge, 8); // metadata offset
  expectRejected(past, "ends past the end of the file");
}

TEST(Artifact, RejectsMalformedMetadata) {
  auto withMetadata = [](const std::string &metadata) {
    // Build a container around hand-written metadata: serialize a valid one, then splice.
    ArtifactContents c;
    c.compilerVersion = "x";
    std::string bytes = serializeArtifact(c);
    std::string original = printMetadata(c);
    std::string out = bytes.substr(0, 24 + 24) + metadata;
    uint64_t size = metadata.size();
    std::memcpy(&out[24 + 16], &size, 8);
    uint64_t hash = 0xcbf29ce484222325ULL;
    for (unsigned char ch : metadata) {
      hash ^= ch;
      hash *= 0x100000001b3ULL;
    }
    std::memcpy(&out[16], &hash, 8);
    return out;
  };
  std::string good = "kconv-metadata 2\ncompiler x\nreduction r\nvar X i 3\nop sqnorm2 1 0\n"
                     "yield 1\nend\n";
  EXPECT_NO_THROW(parseArtifact(withMetadata(good), "test.kca"));
  expectRejected(withMetadata(""), "empty metadata");
  expectRejected(withMetadata("kconv-metadata 7\n"), "metadata line 1");
  expectRejected(withMetadata("kconv-metadata 2\nreduction r\nvar X i 3\n"),
                 "ends inside reduction 'r'");
  expectRejected(withMetadata("kconv-metadata 2\nreduction r\nvar X q 3\nyield 0\nend\n"),
                 "unknown variable category 'q'");
  expectRejected(withMetadata("kconv-metadata 2\nreduction r\nvar X i 3\nop exp 1 5\n"),
                 "operand 5 is not defined before this op");
  expectRejected(withMetadata("kconv-metadata 2\nreduction r\nvar X i 3\nend\n"), "no yield");
  expectRejected(withMetadata("kconv-metadata 2\nreduction r\naxis 2\n"), "axis must be 0 or 1");
  expectRejected(withMetadata("kconv-metadata 2\nbogus 1\n"), "outside a reduction");
  expectRejected(withMetadata("kconv-metadata 2\nreduction r\nbogus 1\n"), "unknown key 'bogus'");
}
