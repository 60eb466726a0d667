//===- frontend_fuzzer.cpp - libFuzzer target: the .kconv frontend ---------===//
//
// Feeds arbitrary bytes to kconv::parseFormulaFile as the contents of a .kconv file. Any outcome
// but a crash, a sanitizer report, a leak or a hang is fine: a module (which must then verify) or
// diagnostics. The diagnostics are rendered like kconv-opt does (file:line:col with the source
// line), to a discarded stream, so that the location code runs on the fuzzed bytes too.
//
//===----------------------------------------------------------------------===//
#include "kconv/Dialect/Kconv/IR/KconvDialect.h"
#include "kconv/Frontend/FormulaParser.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // One context per input: the parser loads the dialect into it and interns every attribute it
  // builds, so a shared context would grow without bound and hide per-input leaks.
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(
          llvm::StringRef(reinterpret_cast<const char *>(data), size), "fuzz.kconv"),
      llvm::SMLoc());
  llvm::raw_null_ostream discard;
  mlir::SourceMgrDiagnosticHandler handler(sourceMgr, &context, discard);
  mlir::OwningOpRef<mlir::ModuleOp> module = kconv::parseFormulaFile(sourceMgr, &context);
  // The frontend promises valid IR whenever it returns a module.
  if (module && mlir::failed(mlir::verify(*module)))
    std::abort();
  return 0;
}
