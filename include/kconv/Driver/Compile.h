//===- Compile.h - the compiler as a library: source -> artifact -*- C++ -*-===//
//
// The whole compile flow of kconv-compile (docs/architecture.md): a formula file (.kconv through
// the frontend, or a .mlir module of kconv.reduction ops) -> kconv-fuse-reductions ->
// kconv-simplify -> metadata -> CPU
// code (LLVM) and GPU code (PTX, cubin) -> the artifact bytes; or, with `emit`, one intermediate
// stage as text. Tools and bindings call this; nothing is printed, everything is returned.
//
//===----------------------------------------------------------------------===//
#ifndef KCONV_DRIVER_COMPILE_H
#define KCONV_DRIVER_COMPILE_H

#include "kconv/Frontend/FormulaParser.h"

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kconv {

/// What compileArtifact produces.
enum class EmitKind {
  Artifact, // the .kca bytes
  Ast,      // the checked AST of a .kconv file (frontend::dump)
  Mlir,     // the kconv IR after simplification
  Llvm,     // the optimized LLVM IR of the CPU kernels
  Asm,      // the CPU assembly
  Metadata, // the artifact's metadata text
  Ptx,      // the PTX of the GPU kernels
};

/// The options of kconv-compile; error messages name them as its flags (--lanes, ...).
struct CompileOptions {
  EmitKind emit = EmitKind::Artifact;
  /// Target CPU: "native" or an LLVM CPU name (skylake-avx512, x86-64-v3, znver4, ...).
  std::string cpu = "native";
  /// Polynomial exp/log and fast-math flags (false: libm, no fast-math flags).
  bool fastMath = true;
  int64_t lanes = 0; // f32 lanes per vector; 0: from the target (16 with AVX-512, else 8)
  int64_t jblock = 1024;
  int64_t rows = 4;
  /// GPU code in the artifact (and for EmitKind::Metadata, the gpu.* attributes).
  bool gpu = true;
  std::string gpuArch = "sm_90";
  unsigned gpuRowsPerThread = 0; // 0: by the formula's size
  /// kconv-fuse-reductions: one more reduction per group of reductions one kernel can compute
  /// together (same kind, axis and variables), run by Artifact::runMany.
  bool fuse = true;
  FrontendOptions frontend;
};

/// One message of a compilation, in the order they were produced.
struct CompileMessage {
  enum class Kind {
    Located, // an MLIR diagnostic, printed as "file:line:col: error: ..." with the source line
    Error,   // an error with no location (unknown CPU, unreadable file, ...): the text only
    Note,    // information on a successful compilation (e.g. no cubin: PTX only)
  };
  Kind kind;
  std::string text;
};

struct CompileResult {
  bool succeeded = false;
  /// EmitKind::Artifact: the artifact bytes; otherwise the emitted text.
  std::string output;
  std::vector<CompileMessage> messages;
};

/// Compiles `source`, the text of a formula file called `name` (its extension picks the frontend:
/// ".kconv" a formula file, anything else a .mlir module; locations and the artifact's source
/// name use it).
CompileResult compileArtifact(llvm::StringRef source, llvm::StringRef name,
                              const CompileOptions &options);

/// Reads the file at `path` ("-": stdin) and compiles it.
CompileResult compileArtifactFile(llvm::StringRef path, const CompileOptions &options);

} // namespace kconv

#endif // KCONV_DRIVER_COMPILE_H
