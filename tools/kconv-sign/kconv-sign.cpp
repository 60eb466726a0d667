//===- kconv-sign.cpp - sign kconv artifacts (Ed25519) --------------------===//
//
//   kconv-sign keygen SECRET_FILE PUBLIC_FILE      a new key pair (hex text files)
//   kconv-sign sign ARTIFACT --key SECRET_FILE [-o OUT]   sign (in place without -o)
//
// A runtime with trusted keys set ($KCONV_TRUSTED_KEYS=PUBLIC_FILE, or LoadOptions::trustedKeys)
// loads only artifacts signed by one of them (docs/runtime.md, "Signed artifacts").
// Exit status: 0 ok, 1 error, 2 bad command line.
//
//===----------------------------------------------------------------------===//
#include "kconv/Runtime/Runtime.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <sys/stat.h>

namespace {

const char *kUsage = R"(usage: kconv-sign keygen SECRET_FILE PUBLIC_FILE
       kconv-sign sign ARTIFACT --key SECRET_FILE [-o OUT]

keygen   writes a new Ed25519 key pair as hex text (the secret file with mode 0600)
sign     signs ARTIFACT (in place, or into OUT); a previous signature is replaced
Runtimes refuse unsigned or untrusted artifacts when KCONV_TRUSTED_KEYS lists public keys
(hex, or files holding them, separated by ',' or ':').
)";

std::string readFile(const std::string &path) {
  std::ifstream file(path, std::ios::binary);
  if (!file)
    throw kconv::Error(kconv::ErrorCode::IoError, path + ": cannot open");
  std::ostringstream bytes;
  bytes << file.rdbuf();
  return bytes.str();
}

void writeFile(const std::string &path, const std::string &bytes, mode_t mode = 0644) {
  std::string temp = path + ".tmp";
  {
    std::ofstream file(temp, std::ios::binary | std::ios::trunc);
    if (!file)
      throw kconv::Error(kconv::ErrorCode::IoError, temp + ": cannot open for writing");
    ::chmod(temp.c_str(), mode);
    file.write(bytes.data(), std::streamsize(bytes.size()));
    if (!file.flush())
      throw kconv::Error(kconv::ErrorCode::IoError, temp + ": write failed");
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0)
    throw kconv::Error(kconv::ErrorCode::IoError, "cannot rename " + temp + " to " + path);
}

int usage(const std::string &problem) {
  std::cerr << "kconv-sign: error: " << problem << "\n" << kUsage;
  return 2;
}

} // namespace

int main(int argc, char **argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  try {
    if (args[0] == "keygen") {
      if (args.size() != 3)
        return usage("keygen expects SECRET_FILE PUBLIC_FILE");
      kconv::SigningKey key = kconv::generateSigningKey();
      writeFile(args[1], key.secretKey + "\n", 0600);
      writeFile(args[2], key.publicKey + "\n");
      std::cout << "public key " << key.publicKey << "\n";
      return 0;
    }
    if (args[0] == "sign") {
      std::string artifact, key, output;
      for (size_t k = 1; k < args.size(); ++k) {
        if ((args[k] == "--key" || args[k] == "-o") && k + 1 < args.size()) {
          std::string &target = args[k] == "--key" ? key : output;
          target = args[++k];
        } else if (args[k][0] == '-' || !artifact.empty())
          return usage("unexpected argument '" + args[k] + "'");
        else
          artifact = args[k];
      }
      if (artifact.empty() || key.empty())
        return usage("sign expects ARTIFACT --key SECRET_FILE");
      std::string signedBytes = kconv::signArtifact(readFile(artifact), key, artifact);
      writeFile(output.empty() ? artifact : output, signedBytes);
      return 0;
    }
    return usage("unknown command '" + args[0] + "'");
  } catch (const std::exception &e) {
    std::cerr << "kconv-sign: error: " << e.what() << "\n";
    return 1;
  }
}
