//===- Artifact.h - the kconv artifact file format ---------------*- C++ -*-===//
//
// One artifact per formula file: a small binary container (format in docs/architecture.md) with a
// text metadata table, the CPU code (an ELF shared object), and the GPU code (PTX, cubin). Written
// by kconv-compile, read by the runtime; needs neither MLIR nor LLVM.
//
//===----------------------------------------------------------------------===//
#ifndef KCONV_RUNTIME_ARTIFACT_H
#define KCONV_RUNTIME_ARTIFACT_H

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kconv {

constexpr uint32_t kArtifactFormatVersion = 2; // 2: reduction kinds, k, value_dim, index_dim

enum class VarCategory { Vi, Vj, Pm };

struct VariableInfo {
  std::string name;
  VarCategory category = VarCategory::Vi;
  int64_t dim = 1;
};

/// One instruction of a serialized formula (the body of a kconv.reduction). Values are numbered
/// from 0; the reduction's variables are values 0..V-1 in argument order, instruction k defines
/// value V+k. `name` is the kconv op mnemonic (add, sqdist, constant, ...).
struct FormulaOp {
  std::string name;
  int64_t dim = 1;                     // dimension of the value it defines
  std::vector<int64_t> operands;       // value ids
  std::optional<int64_t> integer;      // pow exponent, elem index
  std::optional<double> real;          // constant value
};

struct ReductionInfo {
  std::string name;
  std::string kind = "sum";            // kconv reduction kind mnemonic
  int axis = 1;                        // 1: reduce over j (output rows = i); 0: over i
  std::string dtype = "f32";
  /// K of the k-min kinds (`k` line), else 1.
  int64_t k = 1;
  /// Dimensions of one row of the float output and of the int64 index output; 0: the kind has no
  /// such output (Builtins.def, reductionOutputDims; docs/reductions.md).
  int64_t valueDim = 1;
  int64_t indexDim = 0;
  std::vector<VariableInfo> variables; // argument order
  /// A fused reduction (kconv-fuse-reductions, `fuses` line): the reductions of this artifact it
  /// computes at once, in the order of its output columns (each member's valueDim, then the
  /// next's; indices likewise). Empty for an ordinary reduction. Artifact::runMany runs it.
  std::vector<std::string> fuses;
  std::vector<FormulaOp> formula;
  int64_t yield = -1;                  // value id of the per-pair result
  /// Backend entry points and parameters, e.g. {"cpu.symbol", "kconv_cpu_gaussian_conv"}.
  std::map<std::string, std::string> attributes;

  VarCategory outputCategory() const { return axis == 1 ? VarCategory::Vi : VarCategory::Vj; }
  VarCategory reducedCategory() const { return axis == 1 ? VarCategory::Vj : VarCategory::Vi; }
};

struct ArtifactContents {
  std::string compilerVersion;
  std::string sourceName;              // the formula file it was compiled from
  std::vector<ReductionInfo> reductions;
  std::string cpuSharedObject;         // ELF shared object bytes; empty: no CPU code
  std::string ptx;                     // PTX text; empty: no GPU code
  std::string cubin;                   // optional
  /// Optional Ed25519 signature section: the signer's 32-byte public key, then the 64-byte
  /// signature of artifactSignedMessage (kconv-sign; checked by the runtime when trusted keys
  /// are set, docs/runtime.md "Signed artifacts").
  std::string signature;
  uint64_t contentHash = 0;            // filled by parseArtifact (FNV-1a 64 of the payloads)
};

/// Sizes of the signature section's two parts.
constexpr size_t kSignaturePublicKeyBytes = 32, kSignatureBytes = 64;

/// The metadata text of one artifact (what `kconv-compile --emit=metadata` prints).
std::string printMetadata(const ArtifactContents &contents);
/// Serializes the whole artifact: header, section table, payloads.
std::string serializeArtifact(const ArtifactContents &contents);
/// Parses and validates an artifact; throws kconv::Error(InvalidArtifact) naming `sourceName` and
/// what is wrong (bad magic, unsupported version, truncated, hash mismatch, bad metadata).
ArtifactContents parseArtifact(std::string_view bytes, std::string_view sourceName);

/// What an artifact's signature signs: a domain string, then every section except the
/// signature, in table order, as kind (u32 LE), size (u64 LE), payload. Computed from the file's
/// bytes (not from parsed contents), so that any change to any section breaks the signature.
/// Throws like parseArtifact on a malformed container.
std::string artifactSignedMessage(std::string_view bytes, std::string_view sourceName);

const char *toString(VarCategory category);

} // namespace kconv

#endif // KCONV_RUNTIME_ARTIFACT_H
