//===- CompileTest.cpp - kconv::compileArtifact, the compiler as a library ===//
#include "kconv/Driver/Compile.h"
#include "kconv/Runtime/Artifact.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

using namespace kconv;

namespace {

std::string readExample(const char *name) {
  std::ifstream in(std::string(KCONV_SOURCE_DIR) + "/examples/" + name, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// All messages of a result, one per line, for failure output.
std::string messages(const CompileResult &result) {
  std::string text;
  for (const CompileMessage &message : result.messages)
    text += message.text + "\n";
  return text;
}

CompileOptions cpuOnly(EmitKind emit) {
  CompileOptions options;
  options.emit = emit;
  options.cpu = "x86-64-v3"; // a named CPU: the same code on every host
  options.gpu = false;
  return options;
}

} // namespace

TEST(Compile, GaussianExampleToArtifact) {
  std::string source = readExample("gaussian.kconv");
  ASSERT_FALSE(source.empty());
  CompileResult result = compileArtifact(source, "gaussian.kconv", cpuOnly(EmitKind::Artifact));
  ASSERT_TRUE(result.succeeded) << messages(result);
  ArtifactContents contents = parseArtifact(result.output, "gaussian.kca");
  ASSERT_EQ(contents.reductions.size(), 1u);
  const ReductionInfo &r = contents.reductions[0];
  EXPECT_EQ(r.name, "gaussian_conv");
  EXPECT_EQ(r.kind, "sum");
  EXPECT_EQ(r.dtype, "f32");
  ASSERT_EQ(r.variables.size(), 3u);
  EXPECT_EQ(r.variables[0].name, "X");
  EXPECT_EQ(r.variables[0].dim, 3);
  EXPECT_EQ(r.variables[2].category, VarCategory::Vj);
  EXPECT_EQ(r.attributes.at("cpu.lanes"), "8"); // x86-64-v3: AVX2
  EXPECT_FALSE(contents.cpuSharedObject.empty());
  EXPECT_TRUE(contents.ptx.empty()); // gpu = false
}

TEST(Compile, EmitStages) {
  std::string source = readExample("gaussian.kconv");
  CompileResult ast = compileArtifact(source, "gaussian.kconv", cpuOnly(EmitKind::Ast));
  ASSERT_TRUE(ast.succeeded) << messages(ast);
  EXPECT_NE(ast.output.find("Reduction 'gaussian_conv' Sum_Reduction axis=1 f32 args=[X, Y, B]"),
            std::string::npos)
      << ast.output;
  CompileResult mlir = compileArtifact(source, "gaussian.kconv", cpuOnly(EmitKind::Mlir));
  ASSERT_TRUE(mlir.succeeded) << messages(mlir);
  EXPECT_NE(mlir.output.find("kconv.reduction @gaussian_conv sum axis = 1"), std::string::npos)
      << mlir.output;
}

TEST(Compile, BadFormulaIsALocatedError) {
  const char *source = "X = Vi(3)\n"
                       "Y = Vj(2)\n"
                       "f = Sum_Reduction(X + Y, axis=1)\n";
  CompileResult result = compileArtifact(source, "bad.kconv", cpuOnly(EmitKind::Artifact));
  EXPECT_FALSE(result.succeeded);
  EXPECT_TRUE(result.output.empty());
  ASSERT_EQ(result.messages.size(), 1u) << messages(result);
  EXPECT_EQ(result.messages[0].kind, CompileMessage::Kind::Located);
  // file:line:col of the '+', the message, then the source line and a caret under the '+'.
  EXPECT_NE(result.messages[0].text.find(
                "bad.kconv:3:21: error: dimension mismatch in '+': left operand has dimension 3, "
                "right operand has dimension 2"),
            std::string::npos)
      << result.messages[0].text;
  EXPECT_NE(result.messages[0].text.find("f = Sum_Reduction(X + Y, axis=1)\n"
                                         "                    ^"),
            std::string::npos)
      << result.messages[0].text;
}

TEST(Compile, UnlocatedErrors) {
  CompileOptions options = cpuOnly(EmitKind::Artifact);
  options.cpu = "not-a-cpu";
  CompileResult cpu = compileArtifact(readExample("gaussian.kconv"), "g.kconv", options);
  EXPECT_FALSE(cpu.succeeded);
  ASSERT_FALSE(cpu.messages.empty());
  EXPECT_EQ(cpu.messages.back().kind, CompileMessage::Kind::Error);
  EXPECT_NE(cpu.messages.back().text.find("unknown CPU 'not-a-cpu'"), std::string::npos);

  CompileResult missing =
      compileArtifactFile("/nonexistent/f.kconv", cpuOnly(EmitKind::Artifact));
  EXPECT_FALSE(missing.succeeded);
  ASSERT_EQ(missing.messages.size(), 1u);
  EXPECT_NE(missing.messages[0].text.find("cannot read '/nonexistent/f.kconv'"),
            std::string::npos);

  CompileResult ast = compileArtifact("", "f.mlir", cpuOnly(EmitKind::Ast));
  EXPECT_FALSE(ast.succeeded);
  ASSERT_EQ(ast.messages.size(), 1u);
  EXPECT_NE(ast.messages[0].text.find("--emit=ast needs a .kconv formula file"),
            std::string::npos);
}
