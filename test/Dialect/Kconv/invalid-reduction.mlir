// Diagnostics of kconv.reduction and kconv.yield: axis, variables, signature, body structure.
// RUN: kconv-opt %s -split-input-file -verify-diagnostics

// expected-error @below {{'kconv.reduction' op axis must be 0 (reduce over i) or 1 (reduce over j), got 2}}
kconv.reduction @axis_2 sum axis = 2 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  kconv.yield %x : vector<3xf32>
}

// -----

// expected-error @below {{'kconv.reduction' op axis must be 0 (reduce over i) or 1 (reduce over j), got -1}}
kconv.reduction @axis_negative sum axis = -1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  kconv.yield %x : vector<3xf32>
}

// -----

// expected-error @below {{'kconv.reduction' op variable 'X' is declared twice}}
kconv.reduction @duplicate_variable sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"X", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>):
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

// expected-error @below {{'kconv.reduction' op variable 'X' must have a positive dimension, got 0}}
kconv.reduction @zero_dim sum axis = 1 vars [#kconv.var<"X", i, 0>] {
^bb0(%x: vector<1xf32>):
  kconv.yield %x : vector<1xf32>
}

// -----

// expected-error @below {{'kconv.reduction' op variable 'Y' must have a positive dimension, got -3}}
kconv.reduction @negative_dim sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, -3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>):
  kconv.yield %x : vector<3xf32>
}

// -----

// expected-error @below {{'kconv.reduction' op body has 1 arguments but 2 variables are declared}}
kconv.reduction @too_few_arguments sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>):
  kconv.yield %x : vector<3xf32>
}

// -----

// expected-error @below {{'kconv.reduction' op body has 2 arguments but 1 variables are declared}}
kconv.reduction @too_many_arguments sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>):
  kconv.yield %x : vector<3xf32>
}

// -----

// expected-error @below {{'kconv.reduction' op variable 'Y' has dimension 3 but block argument #1 has type 'vector<2xf32>' (expected 'vector<3xf32>')}}
kconv.reduction @argument_dim sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<2xf32>):
  kconv.yield %x : vector<3xf32>
}

// -----

// expected-error @below {{'kconv.reduction' op variable 'X' has dimension 1 but block argument #0 has type 'f32' (expected 'vector<1xf32>')}}
kconv.reduction @argument_not_a_vector sum axis = 1 vars [#kconv.var<"X", i, 1>] {
^bb0(%x: f32):
  %0 = kconv.constant 1.0 : vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

// expected-error @below {{'kconv.reduction' op variable 'X' has dimension 3 but block argument #0 has type 'vector<[3]xf32>' (expected 'vector<3xf32>')}}
kconv.reduction @argument_scalable sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<[3]xf32>):
  %0 = kconv.constant 1.0 : vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

// expected-error @below {{'kconv.reduction' op variable 'Y' has element type 'f64' but the formula yields 'f32'}}
kconv.reduction @argument_element_type sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf64>):
  %0 = kconv.sum %x : vector<3xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

// expected-error @below {{'kconv.reduction' op body must end with 'kconv.yield', found 'kconv.sum'}}
kconv.reduction @missing_yield sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  %0 = kconv.sum %x : vector<3xf32>
}

// -----

// expected-error @below {{'kconv.reduction' op expects a non-empty block}}
kconv.reduction @empty_body sum axis = 1 vars [] {
}

// -----

// expected-error @below {{'kconv.reduction' op region #0 ('body') failed to verify constraint: region with 1 blocks}}
"kconv.reduction"() <{axis = 1 : i64, kind = #kconv<reduction_kind sum>, sym_name = "no_block", variables = []}> ({
}) : () -> ()

// -----

// expected-error @below {{'kconv.reduction' op expects region #0 to have 0 or 1 blocks}}
"kconv.reduction"() <{axis = 1 : i64, kind = #kconv<reduction_kind sum>, sym_name = "two_blocks", variables = [#kconv.var<"X", i, 3>]}> ({
^bb0(%x: vector<3xf32>):
  kconv.yield %x : vector<3xf32>
^bb1:
  kconv.yield %x : vector<3xf32>
}) : () -> ()

// -----

// expected-error @below {{'kconv.reduction' op body must end with 'kconv.yield', found 'kconv.sum'}}
kconv.reduction @yield_not_last sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  "kconv.yield"(%x) : (vector<3xf32>) -> ()
  %0 = kconv.sum %x : vector<3xf32>
}

// -----

func.func @yield_outside_reduction(%x: vector<1xf32>) {
  // expected-error @below {{'kconv.yield' op expects parent op to be one of 'kconv.reduction, kconv.chunk_sum, kconv.chunk_map'}}
  kconv.yield %x : vector<1xf32>
}

// -----

kconv.reduction @yield_not_a_formula sum axis = 1 vars [] {
  %0 = arith.constant 1.0 : f32
  // expected-error @below {{'kconv.yield' op operand #0 must be fixed-length vector of 16-bit float or 32-bit float or 64-bit float values of ranks 1, but got 'f32'}}
  "kconv.yield"(%0) : (f32) -> ()
}

// -----

kconv.reduction @outer sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  // expected-error @below {{'kconv.reduction' op symbol's parent must have the SymbolTable trait}}
  kconv.reduction @inner sum axis = 1 vars [#kconv.var<"Y", j, 3>] {
  ^bb0(%y: vector<3xf32>):
    kconv.yield %y : vector<3xf32>
  }
  kconv.yield %x : vector<3xf32>
}

// -----

// expected-note @below {{see existing symbol definition here}}
kconv.reduction @twice sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  kconv.yield %x : vector<3xf32>
}
// expected-error @below {{redefinition of symbol named 'twice'}}
kconv.reduction @twice sum axis = 0 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  kconv.yield %x : vector<3xf32>
}

// -----

// expected-error @below {{expected ::mlir::kconv::ReductionKind to be one of: sum}}
// expected-error @below {{failed to parse Kconv_ReductionKindAttr parameter 'value'}}
kconv.reduction @unknown_kind prod axis = 1 vars [] {
  %0 = kconv.constant 1.0 : vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

// expected-error @below {{expected ::mlir::kconv::VarCategory to be one of: i, j, p}}
// expected-error @below {{failed to parse Kconv_VariableAttr parameter 'category'}}
kconv.reduction @unknown_category sum axis = 1 vars [#kconv.var<"X", k, 3>] {
^bb0(%x: vector<3xf32>):
  kconv.yield %x : vector<3xf32>
}

// -----

// expected-error @below {{'kconv.reduction' op attribute 'variables' failed to satisfy constraint: reduction variables}}
"kconv.reduction"() <{axis = 1 : i64, kind = #kconv<reduction_kind sum>, sym_name = "not_variables", variables = [3 : i64]}> ({
^bb0(%x: vector<3xf32>):
  kconv.yield %x : vector<3xf32>
}) : () -> ()

// -----

// expected-error @+1 {{log2_exponent applies to logsumexp and sumsoftmaxweight only, not 'max_sumshiftexp'}}
kconv.reduction @max_shift max_sumshiftexp axis = 1 vars [#kconv.var<"X", i, 1>] attributes {log2_exponent} {
^bb0(%X: vector<1xf32>):
  %0 = kconv.constant 1.000000e+00 : vector<1xf32>
  %1 = kconv.concat %X, %0 : vector<1xf32>, vector<1xf32>
  kconv.yield %1 : vector<2xf32>
}
