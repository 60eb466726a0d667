//===- Signature.cpp - signed artifacts (optional: libsodium Ed25519) -----===//
//
// An artifact may carry a signature section (Artifact.h): the signer's Ed25519 public key and the
// signature of artifactSignedMessage (every other section's kind, size and bytes). When trusted
// keys are set (LoadOptions::trustedKeys, $KCONV_TRUSTED_KEYS), Artifact::load refuses an
// artifact that is unsigned, signed by another key, or whose signature does not verify, before
// validating or mapping anything. Built with libsodium when CMake finds it (KCONV_HAVE_SODIUM);
// without it, setting trusted keys is an Unsupported error and kconv-sign is not built.
//
//===----------------------------------------------------------------------===//
#include "kconv/Runtime/Runtime.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#if KCONV_HAVE_SODIUM
#include <sodium.h>
#endif

namespace kconv {
namespace {

std::string toHex(std::string_view bytes) {
  static const char *digits = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : bytes) {
    hex += digits[c >> 4];
    hex += digits[c & 15];
  }
  return hex;
}

/// The bytes of a hex string of exactly `bytes` bytes (whitespace around it ignored); empty if
/// it is not one.
std::string fromHex(std::string_view text, size_t bytes) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  if (text.size() != 2 * bytes)
    return "";
  std::string out;
  for (size_t k = 0; k < text.size(); k += 2) {
    int value = 0;
    for (char c : text.substr(k, 2)) {
      int digit = c >= '0' && c <= '9'   ? c - '0'
                  : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                         : -1;
      if (digit < 0)
        return "";
      value = value * 16 + digit;
    }
    out += char(value);
  }
  return out;
}

/// A key given as hex, or as the path of a file holding the hex.
std::string readKey(const std::string &keyOrFile, size_t bytes, const char *what) {
  std::string key = fromHex(keyOrFile, bytes);
  if (!key.empty())
    return key;
  std::ifstream file(keyOrFile);
  if (!file)
    throw Error(ErrorCode::InvalidArgument,
                std::string(what) + " '" + keyOrFile + "' is neither " +
                    std::to_string(2 * bytes) + " hex digits nor a readable file");
  std::ostringstream text;
  text << file.rdbuf();
  key = fromHex(text.str(), bytes);
  if (key.empty())
    throw Error(ErrorCode::InvalidArgument, keyOrFile + ": expected a " + what + " of " +
                                                std::to_string(2 * bytes) + " hex digits");
  return key;
}

#if KCONV_HAVE_SODIUM
void initSodium() {
  if (sodium_init() < 0)
    throw Error(ErrorCode::Internal, "libsodium failed to initialize");
}
#endif

} // namespace

bool signingSupported() { return KCONV_HAVE_SODIUM != 0; }

std::vector<std::string> trustedKeysFromEnvironment() {
  std::vector<std::string> keys;
  const char *env = std::getenv("KCONV_TRUSTED_KEYS");
  if (!env)
    return keys;
  std::string text = env;
  for (size_t pos = 0; pos <= text.size();) {
    size_t end = text.find_first_of(",:", pos);
    if (end == std::string::npos)
      end = text.size();
    if (end > pos)
      keys.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return keys;
}

void checkArtifactSignature(std::string_view bytes, const ArtifactContents &contents,
                            const std::vector<std::string> &trustedKeys,
                            std::string_view sourceName) {
  if (trustedKeys.empty())
    return;
  std::string source(sourceName);
#if KCONV_HAVE_SODIUM
  initSodium();
  std::vector<std::string> trusted;
  for (const std::string &k : trustedKeys)
    trusted.push_back(readKey(k, crypto_sign_PUBLICKEYBYTES, "trusted public key"));
  if (contents.signature.empty())
    throw Error(ErrorCode::InvalidArtifact,
                source + ": the artifact is not signed, and only artifacts signed by a trusted key "
                         "may be loaded (trusted keys are set: KCONV_TRUSTED_KEYS or "
                         "LoadOptions::trustedKeys)");
  std::string_view publicKey = std::string_view(contents.signature).substr(0, kSignaturePublicKeyBytes);
  std::string_view signature = std::string_view(contents.signature).substr(kSignaturePublicKeyBytes);
  if (std::find(trusted.begin(), trusted.end(), publicKey) == trusted.end())
    throw Error(ErrorCode::InvalidArtifact,
                source + ": the artifact is signed by key " + toHex(publicKey) +
                    ", which is not a trusted key");
  std::string message = artifactSignedMessage(bytes, sourceName);
  if (crypto_sign_verify_detached(reinterpret_cast<const unsigned char *>(signature.data()),
                                  reinterpret_cast<const unsigned char *>(message.data()),
                                  message.size(),
                                  reinterpret_cast<const unsigned char *>(publicKey.data())) != 0)
    throw Error(ErrorCode::InvalidArtifact,
                source + ": the artifact's signature does not verify (it was changed after "
                         "signing, or the signature is forged)");
#else
  (void)bytes;
  (void)contents;
  throw Error(ErrorCode::Unsupported,
              source + ": trusted keys are set, but this runtime was built without libsodium and "
                       "cannot check signatures");
#endif
}

SigningKey generateSigningKey() {
#if KCONV_HAVE_SODIUM
  initSodium();
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_keypair(pk, sk);
  SigningKey key{toHex(std::string_view(reinterpret_cast<char *>(sk), sizeof(sk))),
                 toHex(std::string_view(reinterpret_cast<char *>(pk), sizeof(pk)))};
  sodium_memzero(sk, sizeof(sk));
  return key;
#else
  throw Error(ErrorCode::Unsupported, "this build has no libsodium: cannot make signing keys");
#endif
}

std::string signArtifact(std::string_view bytes, const std::string &secretKey,
                         std::string_view sourceName) {
#if KCONV_HAVE_SODIUM
  initSodium();
  std::string sk = readKey(secretKey, crypto_sign_SECRETKEYBYTES, "secret key");
  ArtifactContents contents = parseArtifact(bytes, sourceName);
  contents.signature.clear();
  // Sign the artifact as it will be written (serializeArtifact is deterministic).
  std::string unsignedBytes = serializeArtifact(contents);
  std::string message = artifactSignedMessage(unsignedBytes, sourceName);
  unsigned char signature[crypto_sign_BYTES];
  crypto_sign_detached(signature, nullptr, reinterpret_cast<const unsigned char *>(message.data()),
                       message.size(), reinterpret_cast<const unsigned char *>(sk.data()));
  // An Ed25519 secret key holds the public key in its second half.
  contents.signature = sk.substr(crypto_sign_SEEDBYTES) +
                       std::string(reinterpret_cast<char *>(signature), sizeof(signature));
  sodium_memzero(sk.data(), sk.size());
  return serializeArtifact(contents);
#else
  (void)bytes;
  (void)secretKey;
  throw Error(ErrorCode::Unsupported, std::string(sourceName) +
                                          ": this build has no libsodium: cannot sign artifacts");
#endif
}

} // namespace kconv
