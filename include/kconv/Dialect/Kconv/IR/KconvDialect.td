//===- KconvDialect.td - kconv dialect definition ----------*- tablegen -*-===//
#ifndef KCONV_DIALECT_TD
#define KCONV_DIALECT_TD

include "mlir/IR/OpBase.td"

def Kconv_Dialect : Dialect {
  let name = "kconv";
  let cppNamespace = "::mlir::kconv";
  let summary = "Pairwise reduction formulas: out_i = reduce_j F(x_i, y_j, p)";
  let description = [{
    The kconv dialect models KeOps-style pairwise reductions. A `kconv.reduction` names one
    reduction: its kind, its axis, the typed signature of its variables, and a region that computes
    the per-pair value F from the variables. Formula values are 1-D vectors (`vector<D x T>`): the
    dimension D of a KeOps variable or sub-formula. A dim-1 operand broadcasts against a dim-D one.
  }];
  let useDefaultAttributePrinterParser = 1;
  let hasConstantMaterializer = 1;
}

class Kconv_Op<string mnemonic, list<Trait> traits = []>
    : Op<Kconv_Dialect, mnemonic, traits>;

#endif // KCONV_DIALECT_TD
