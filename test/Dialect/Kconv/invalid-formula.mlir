// Diagnostics of the formula ops: KeOps broadcasting, dimensions, element types, inferred types.
// RUN: kconv-opt %s -split-input-file -verify-diagnostics

kconv.reduction @add_dims sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<3xf32>, %y: vector<2xf32>):
  // expected-error @below {{'kconv.add' operands have incompatible dimensions 3 and 2 (dimensions must be equal, or one of them 1)}}
  %0 = kconv.add %x, %y : vector<3xf32>, vector<2xf32>
  kconv.yield %0 : vector<3xf32>
}

// -----

kconv.reduction @sub_dims sum axis = 1 vars [#kconv.var<"X", i, 2>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<2xf32>, %y: vector<3xf32>):
  // expected-error @below {{'kconv.sub' operands have incompatible dimensions 2 and 3}}
  %0 = kconv.sub %x, %y : vector<2xf32>, vector<3xf32>
  kconv.yield %0 : vector<3xf32>
}

// -----

kconv.reduction @mul_dims sum axis = 1 vars [#kconv.var<"X", i, 4>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<4xf32>, %y: vector<3xf32>):
  // expected-error @below {{'kconv.mul' operands have incompatible dimensions 4 and 3}}
  %0 = kconv.mul %x, %y : vector<4xf32>, vector<3xf32>
  kconv.yield %0 : vector<4xf32>
}

// -----

kconv.reduction @div_dims sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<3xf32>, %y: vector<2xf32>):
  // expected-error @below {{'kconv.div' operands have incompatible dimensions 3 and 2}}
  %0 = kconv.div %x, %y : vector<3xf32>, vector<2xf32>
  kconv.yield %0 : vector<3xf32>
}

// -----

kconv.reduction @sqdist_dims sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<3xf32>, %y: vector<2xf32>):
  // expected-error @below {{'kconv.sqdist' operands have incompatible dimensions 3 and 2}}
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<2xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

// Scalar products do not broadcast, not even against a dimension-1 operand.
kconv.reduction @scalprod_dims sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"S", p, 1>] {
^bb0(%x: vector<3xf32>, %s: vector<1xf32>):
  // expected-error @below {{'kconv.scalprod' operands must have the same dimension, got 3 and 1 (no broadcasting in a scalar product)}}
  %0 = kconv.scalprod %x, %s : vector<3xf32>, vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

kconv.reduction @scalprod_element_types sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf64>):
  // expected-error @below {{'kconv.scalprod' operands have different element types}}
  %0 = kconv.scalprod %x, %y : vector<3xf32>, vector<3xf64>
  kconv.yield %0 : vector<1xf32>
}

// -----

kconv.reduction @add_element_types sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf64>):
  // expected-error @below {{'kconv.add' operands have different element types}}
  %0 = kconv.add %x, %y : vector<3xf32>, vector<3xf64>
  kconv.yield %0 : vector<3xf32>
}

// -----

kconv.reduction @concat_element_types sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf16>, %y: vector<3xf32>):
  // expected-error @below {{'kconv.concat' operands have different element types}}
  %0 = kconv.concat %x, %y : vector<3xf16>, vector<3xf32>
  kconv.yield %0 : vector<6xf32>
}

// -----

kconv.reduction @elem_index_too_large sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  // expected-error @below {{'kconv.elem' index 3 is out of range for an operand of dimension 3}}
  %0 = kconv.elem %x, 3 : vector<3xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

kconv.reduction @elem_index_negative sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  // expected-error @below {{'kconv.elem' index -1 is out of range for an operand of dimension 3}}
  %0 = kconv.elem %x, -1 : vector<3xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

// The generic form spells out the result type: the verifier infers it again.
kconv.reduction @elem_index_generic sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  // expected-error @below {{'kconv.elem' index 5 is out of range for an operand of dimension 3}}
  // expected-error @below {{'kconv.elem' op failed to infer returned types}}
  %0 = "kconv.elem"(%x) <{index = 5 : i64}> : (vector<3xf32>) -> vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

kconv.reduction @constant_dim sum axis = 1 vars [] {
  // expected-error @below {{'kconv.constant' op result must have dimension 1, got 3}}
  %0 = kconv.constant 1.0 : vector<3xf32>
  kconv.yield %0 : vector<3xf32>
}

// -----

kconv.reduction @constant_integer_value sum axis = 1 vars [] {
  // expected-error @below {{invalid properties {value = 1 : i64} for op kconv.constant}}
  %0 = "kconv.constant"() <{value = 1 : i64}> : () -> vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

kconv.reduction @add_wrong_result_type sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"S", p, 1>] {
^bb0(%x: vector<3xf32>, %s: vector<1xf32>):
  // expected-error @below {{'kconv.add' op inferred type(s) 'vector<3xf32>' are incompatible with return type(s) of operation 'vector<1xf32>'}}
  // expected-error @below {{'kconv.add' op failed to infer returned types}}
  %0 = "kconv.add"(%x, %s) : (vector<3xf32>, vector<1xf32>) -> vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

kconv.reduction @sum_wrong_result_type sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  // expected-error @below {{'kconv.sum' op inferred type(s) 'vector<1xf32>' are incompatible with return type(s) of operation 'vector<3xf32>'}}
  // expected-error @below {{'kconv.sum' op failed to infer returned types}}
  %0 = "kconv.sum"(%x) : (vector<3xf32>) -> vector<3xf32>
  kconv.yield %0 : vector<3xf32>
}

// -----

kconv.reduction @concat_wrong_result_type sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  // expected-error @below {{'kconv.concat' op inferred type(s) 'vector<6xf32>' are incompatible with return type(s) of operation 'vector<3xf32>'}}
  // expected-error @below {{'kconv.concat' op failed to infer returned types}}
  %0 = "kconv.concat"(%x, %x) : (vector<3xf32>, vector<3xf32>) -> vector<3xf32>
  kconv.yield %0 : vector<3xf32>
}

// -----

kconv.reduction @unary_changes_dim sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  // expected-error @below {{'kconv.exp' op requires the same type for all operands and results}}
  %0 = "kconv.exp"(%x) : (vector<3xf32>) -> vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

kconv.reduction @pow_changes_element_type sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  // expected-error @below {{'kconv.pow' op requires the same type for all operands and results}}
  %0 = "kconv.pow"(%x) <{exponent = 2 : i64}> : (vector<3xf32>) -> vector<3xf64>
  kconv.yield %0 : vector<3xf64>
}

// -----

kconv.reduction @rank_2_operand sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<2x3xf32>):
  // expected-error @below {{'kconv.neg' op operand #0 must be fixed-length vector of 16-bit float or 32-bit float or 64-bit float values of ranks 1, but got 'vector<2x3xf32>'}}
  %0 = kconv.neg %x : vector<2x3xf32>
  kconv.yield %0 : vector<2x3xf32>
}

// -----

kconv.reduction @scalable_operand sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<[3]xf32>):
  // expected-error @below {{'kconv.sum' op operand #0 must be fixed-length vector of 16-bit float or 32-bit float or 64-bit float values of ranks 1, but got 'vector<[3]xf32>'}}
  %0 = kconv.sum %x : vector<[3]xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

kconv.reduction @integer_operand sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xi32>):
  // expected-error @below {{'kconv.abs' op operand #0 must be fixed-length vector of 16-bit float or 32-bit float or 64-bit float values of ranks 1, but got 'vector<3xi32>'}}
  %0 = kconv.abs %x : vector<3xi32>
  kconv.yield %0 : vector<3xi32>
}

// -----

// kconv.chunk_sum: chunked operands of one type, a chunk within the dimension, a dimension-1
// term, width-polymorphic ops only, and only dimension-1 values from outside.
kconv.reduction @chunk_types sum axis = 1 vars [#kconv.var<"X", i, 10>, #kconv.var<"Y", j, 12>] {
^bb0(%x: vector<10xf32>, %y: vector<12xf32>):
  // expected-error @below {{'kconv.chunk_sum' op chunked operands must have one type, got 'vector<10xf32>' and 'vector<12xf32>'}}
  %0 = kconv.chunk_sum(%x, %y) chunk 4 : vector<10xf32>, vector<12xf32> -> vector<1xf32> {
  ^bb0(%a: vector<4xf32>, %b: vector<4xf32>):
    %1 = kconv.sqdist %a, %b : vector<4xf32>, vector<4xf32>
    kconv.yield %1 : vector<1xf32>
  }
  kconv.yield %0 : vector<1xf32>
}

// -----

kconv.reduction @chunk_width sum axis = 1 vars [#kconv.var<"X", i, 10>] {
^bb0(%x: vector<10xf32>):
  // expected-error @below {{'kconv.chunk_sum' op chunk must be in [1, 10], got 11}}
  %0 = kconv.chunk_sum(%x) chunk 11 : vector<10xf32> -> vector<1xf32> {
  ^bb0(%a: vector<11xf32>):
    %1 = kconv.sum %a : vector<11xf32>
    kconv.yield %1 : vector<1xf32>
  }
  kconv.yield %0 : vector<1xf32>
}

// -----

kconv.reduction @chunk_args sum axis = 1 vars [#kconv.var<"X", i, 10>] {
^bb0(%x: vector<10xf32>):
  // expected-error @below {{'kconv.chunk_sum' op body argument #0 has type 'vector<5xf32>', expected 'vector<4xf32>'}}
  %0 = kconv.chunk_sum(%x) chunk 4 : vector<10xf32> -> vector<1xf32> {
  ^bb0(%a: vector<5xf32>):
    %1 = kconv.sum %a : vector<5xf32>
    kconv.yield %1 : vector<1xf32>
  }
  kconv.yield %0 : vector<1xf32>
}

// -----

kconv.reduction @chunk_term sum axis = 1 vars [#kconv.var<"X", i, 10>] {
^bb0(%x: vector<10xf32>):
  // expected-error @below {{'kconv.chunk_sum' op the term of a chunk must have dimension 1, got 4}}
  %0 = kconv.chunk_sum(%x) chunk 4 : vector<10xf32> -> vector<1xf32> {
  ^bb0(%a: vector<4xf32>):
    kconv.yield %a : vector<4xf32>
  }
  kconv.yield %0 : vector<1xf32>
}

// -----

kconv.reduction @chunk_elem sum axis = 1 vars [#kconv.var<"X", i, 10>] {
^bb0(%x: vector<10xf32>):
  %0 = kconv.chunk_sum(%x) chunk 4 : vector<10xf32> -> vector<1xf32> {
  ^bb0(%a: vector<4xf32>):
    // expected-error @below {{'kconv.elem' op cannot be evaluated chunk by chunk (in a kconv.chunk_sum)}}
    %1 = kconv.elem %a, 2 : vector<4xf32>
    kconv.yield %1 : vector<1xf32>
  }
  kconv.yield %0 : vector<1xf32>
}

// -----

kconv.reduction @chunk_capture sum axis = 1 vars [#kconv.var<"X", i, 10>, #kconv.var<"Y", j, 4>] {
^bb0(%x: vector<10xf32>, %y: vector<4xf32>):
  %0 = kconv.chunk_sum(%x) chunk 4 : vector<10xf32> -> vector<1xf32> {
  ^bb0(%a: vector<4xf32>):
    // expected-error @below {{'kconv.sqdist' op takes a value of dimension 4 from outside the kconv.chunk_sum: only dimension-1 values may enter a chunk}}
    %1 = kconv.sqdist %a, %y : vector<4xf32>, vector<4xf32>
    kconv.yield %1 : vector<1xf32>
  }
  kconv.yield %0 : vector<1xf32>
}

// -----

// kconv.chunk_map: the reduction's yield only, of its operands' type, a chunk-wide term.
kconv.reduction @map_use sum axis = 1 vars [#kconv.var<"X", i, 10>] {
^bb0(%x: vector<10xf32>):
  // expected-error @below {{'kconv.chunk_map' op result must be the reduction's yield, and only that}}
  %0 = kconv.chunk_map(%x) chunk 4 : vector<10xf32> -> vector<10xf32> {
  ^bb0(%a: vector<4xf32>):
    kconv.yield %a : vector<4xf32>
  }
  %1 = kconv.sum %0 : vector<10xf32>
  kconv.yield %1 : vector<1xf32>
}

// -----

kconv.reduction @map_term sum axis = 1 vars [#kconv.var<"X", i, 10>] {
^bb0(%x: vector<10xf32>):
  // expected-error @below {{'kconv.chunk_map' op the term of a chunk must have dimension 4, got 1}}
  %0 = kconv.chunk_map(%x) chunk 4 : vector<10xf32> -> vector<10xf32> {
  ^bb0(%a: vector<4xf32>):
    %1 = kconv.sum %a : vector<4xf32>
    kconv.yield %1 : vector<1xf32>
  }
  kconv.yield %0 : vector<10xf32>
}
