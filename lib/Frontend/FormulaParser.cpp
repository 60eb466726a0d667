//===- FormulaParser.cpp - .kconv formula files to kconv IR ---------------===//
//
// The frontend's stages, in order: Lexer -> Parser -> Sema -> MLIRGen. Each stage reports its
// errors through one Diagnoser (sorted by position); MLIRGen runs only when nothing above
// reported an error. The language is documented in docs/formula-language.md; keep the two in sync.
//
//===----------------------------------------------------------------------===//
#include "kconv/Frontend/FormulaParser.h"

#include "kconv/Frontend/Diagnoser.h"
#include "kconv/Frontend/Lexer.h"
#include "kconv/Frontend/MLIRGen.h"
#include "kconv/Frontend/Parser.h"
#include "kconv/Frontend/Sema.h"

#include "kconv/Dialect/Kconv/IR/KconvDialect.h"

#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace kconv {
namespace {

/// The checked Module of the main buffer, or null after an error (reported through `diag`).
std::unique_ptr<frontend::Module> check(const llvm::MemoryBuffer &buffer, frontend::Diagnoser &diag,
                                        const FrontendOptions &options) {
  auto module = std::make_unique<frontend::Module>();
  module->filename = buffer.getBufferIdentifier().str();
  std::vector<frontend::Token> tokens = frontend::Lexer(buffer.getBuffer()).lexAll();
  module->statements = frontend::Parser(tokens, diag).parseFile();
  if (diag.gaveUp)
    return nullptr;
  frontend::Sema(diag, {options.elementType}).run(*module);
  if (diag.errors)
    return nullptr;
  return module;
}

const llvm::MemoryBuffer *mainBuffer(llvm::SourceMgr &sourceMgr, MLIRContext *context) {
  if (sourceMgr.getNumBuffers() == 0) {
    mlir::emitError(UnknownLoc::get(context)) << "no input buffer";
    return nullptr;
  }
  return sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID());
}

} // namespace

OwningOpRef<ModuleOp> parseFormulaFile(llvm::SourceMgr &sourceMgr, MLIRContext *context,
                                       const FrontendOptions &options) {
  context->getOrLoadDialect<mlir::kconv::KconvDialect>();
  const llvm::MemoryBuffer *buffer = mainBuffer(sourceMgr, context);
  if (!buffer)
    return nullptr;
  frontend::Diagnoser diag(context, buffer->getBufferIdentifier());
  std::unique_ptr<frontend::Module> module = check(*buffer, diag, options);
  if (!module)
    return nullptr;
  OwningOpRef<ModuleOp> ir = frontend::mlirGen(*module, diag);
  if (diag.errors)
    return nullptr;
  return ir;
}

LogicalResult printFormulaAST(llvm::SourceMgr &sourceMgr, MLIRContext *context,
                              llvm::raw_ostream &os, const FrontendOptions &options) {
  const llvm::MemoryBuffer *buffer = mainBuffer(sourceMgr, context);
  if (!buffer)
    return failure();
  frontend::Diagnoser diag(context, buffer->getBufferIdentifier());
  std::unique_ptr<frontend::Module> module = check(*buffer, diag, options);
  if (!module)
    return failure();
  frontend::dump(*module, os);
  return success();
}

} // namespace kconv
