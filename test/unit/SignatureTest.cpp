//===- SignatureTest.cpp - signed artifacts and trusted keys -----------------===//
//
// With trusted keys set (LoadOptions::trustedKeys or $KCONV_TRUSTED_KEYS), only artifacts signed
// by one of them load: unsigned, other-key and changed-after-signing artifacts are refused. Also
// the kconv-sign command line with kconv-run. Skipped when the runtime has no libsodium.
//
//===----------------------------------------------------------------------===//
#include "TestArtifacts.h"
#include "kconv/Runtime/Runtime.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sys/wait.h>

using namespace kconv;

namespace {

class SignatureTest : public ::testing::Test {
protected:
  void SetUp() override {
    if (!signingSupported())
      GTEST_SKIP() << "this runtime was built without libsodium";
    std::string why;
    bytes_ = &test::testArtifactBytes(why);
    if (bytes_->empty())
      GTEST_SKIP() << "cannot build the test kernels: " << why;
    ::unsetenv("KCONV_TRUSTED_KEYS");
    key_ = generateSigningKey();
  }
  void TearDown() override { ::unsetenv("KCONV_TRUSTED_KEYS"); }

  static void expectRefused(const std::string &bytes, const LoadOptions &options,
                            const std::string &fragment) {
    try {
      Artifact::fromBytes(bytes, "s.kca", options);
      FAIL() << "loaded; expected '" << fragment << "'";
    } catch (const Error &e) {
      EXPECT_EQ(int(e.code()), int(ErrorCode::InvalidArtifact)) << e.what();
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  }

  const std::string *bytes_ = nullptr;
  SigningKey key_;
};

} // namespace

TEST_F(SignatureTest, SignedByATrustedKeyLoadsAndRuns) {
  std::string signedBytes = signArtifact(*bytes_, key_.secretKey, "t.kca");
  EXPECT_EQ(parseArtifact(signedBytes, "s").signature.size(), 96u);
  LoadOptions trust;
  trust.trustedKeys = {key_.publicKey};
  auto art = Artifact::fromBytes(signedBytes, "s.kca", trust);
  std::vector<float> x(3, 0.0f), y(3, 0.0f), b(1, 2.0f), out(1);
  art->run("gaussian_conv", {x.data(), y.data(), b.data()}, out.data(), 1, 1);
  EXPECT_FLOAT_EQ(out[0], 2.0f);
  // Without trusted keys, signed and unsigned artifacts load alike.
  EXPECT_NO_THROW(Artifact::fromBytes(signedBytes, "s.kca"));
  EXPECT_NO_THROW(Artifact::fromBytes(*bytes_, "u.kca"));
  // Signing again replaces the signature.
  SigningKey other = generateSigningKey();
  std::string resigned = signArtifact(signedBytes, other.secretKey, "s.kca");
  trust.trustedKeys = {other.publicKey};
  EXPECT_NO_THROW(Artifact::fromBytes(resigned, "r.kca", trust));
}

TEST_F(SignatureTest, UnsignedOrUntrustedIsRefused) {
  LoadOptions trust;
  trust.trustedKeys = {key_.publicKey};
  expectRefused(*bytes_, trust, "s.kca: the artifact is not signed");
  SigningKey other = generateSigningKey();
  expectRefused(signArtifact(*bytes_, other.secretKey, "t.kca"), trust,
                "the artifact is signed by key " + other.publicKey +
                    ", which is not a trusted key");
}

TEST_F(SignatureTest, ChangedAfterSigningIsRefused) {
  std::string signedBytes = signArtifact(*bytes_, key_.secretKey, "t.kca");
  LoadOptions trust;
  trust.trustedKeys = {key_.publicKey};
  // Edit the metadata, keep the signature; the content hash is recomputed by the writer.
  ArtifactContents c = parseArtifact(signedBytes, "s");
  c.reductions[0].attributes["cpu.jblock"] = "32";
  expectRefused(serializeArtifact(c), trust, "the artifact's signature does not verify");
  c = parseArtifact(signedBytes, "s");
  c.cpuSharedObject[c.cpuSharedObject.size() / 2] ^= 1;
  expectRefused(serializeArtifact(c), trust, "the artifact's signature does not verify");
}

TEST_F(SignatureTest, TrustedKeysFromTheEnvironment) {
  std::string dir = test::makeTempDir();
  std::string pubFile = dir + "/k.pub";
  std::ofstream(pubFile) << key_.publicKey << "\n";
  SigningKey other = generateSigningKey();
  ::setenv("KCONV_TRUSTED_KEYS", (other.publicKey + ":" + pubFile).c_str(), 1);
  EXPECT_EQ(trustedKeysFromEnvironment().size(), 2u);
  expectRefused(*bytes_, {}, "the artifact is not signed");
  EXPECT_NO_THROW(Artifact::fromBytes(signArtifact(*bytes_, key_.secretKey, "t"), "s.kca"));
  ::setenv("KCONV_TRUSTED_KEYS", "not-a-key", 1);
  try {
    Artifact::fromBytes(*bytes_, "s.kca");
    FAIL();
  } catch (const Error &e) {
    EXPECT_EQ(int(e.code()), int(ErrorCode::InvalidArgument));
    EXPECT_NE(std::string(e.what()).find("'not-a-key' is neither 64 hex digits nor a readable file"),
              std::string::npos)
        << e.what();
  }
  std::remove(pubFile.c_str());
  std::system(("rm -rf " + dir).c_str());
}

TEST_F(SignatureTest, MalformedSignatureSection) {
  ArtifactContents c = parseArtifact(*bytes_, "t");
  c.signature = "short";
  try {
    parseArtifact(serializeArtifact(c), "bad.kca");
    FAIL();
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("the signature section has 5 bytes"), std::string::npos)
        << e.what();
  }
}

#ifdef KCONV_SIGN_PATH
TEST_F(SignatureTest, CommandLine) {
  std::string dir = test::makeTempDir();
  {
    std::ofstream out(dir + "/t.kca", std::ios::binary);
    out.write(bytes_->data(), std::streamsize(bytes_->size()));
  }
  auto sh = [&](const std::string &command) {
    int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  std::string sign = KCONV_SIGN_PATH, run = KCONV_RUN_PATH;
  ASSERT_EQ(sh(sign + " keygen " + dir + "/k.sec " + dir + "/k.pub >/dev/null"), 0);
  std::string trust = "KCONV_TRUSTED_KEYS=" + dir + "/k.pub ";
  EXPECT_EQ(sh(trust + run + " " + dir + "/t.kca --list >/dev/null 2>&1"), 1); // unsigned
  ASSERT_EQ(sh(sign + " sign " + dir + "/t.kca --key " + dir + "/k.sec -o " + dir + "/s.kca"), 0);
  EXPECT_EQ(sh(trust + run + " " + dir + "/s.kca gaussian_conv --random 50,60 --check >/dev/null"),
            0);
  EXPECT_EQ(sh(sign + " sign " + dir + "/t.kca 2>/dev/null"), 2); // no --key
  std::system(("rm -rf " + dir).c_str());
}
#endif
