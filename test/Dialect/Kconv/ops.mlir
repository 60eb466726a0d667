// Round trip of every kconv op: custom form, generic form and bytecode all print back the same.
// RUN: kconv-opt %s | kconv-opt | FileCheck %s
// RUN: kconv-opt %s -mlir-print-op-generic | kconv-opt | FileCheck %s
// RUN: kconv-opt %s -emit-bytecode | kconv-opt | FileCheck %s
// RUN: kconv-opt %s -mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// CHECK-LABEL: kconv.reduction @gaussian_conv sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"B", j, 1>] {
// CHECK-NEXT: ^bb0(%X: vector<3xf32>, %Y: vector<3xf32>, %B: vector<1xf32>):
// CHECK-NEXT:   %[[D:.*]] = kconv.sqdist %X, %Y : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:   %[[N:.*]] = kconv.neg %[[D]] : vector<1xf32>
// CHECK-NEXT:   %[[E:.*]] = kconv.exp %[[N]] : vector<1xf32>
// CHECK-NEXT:   %[[M:.*]] = kconv.mul %[[E]], %B : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:   kconv.yield %[[M]] : vector<1xf32>
// CHECK-NEXT: }

// GENERIC-LABEL: "kconv.reduction"() <{axis = 1 : i64, kind = #kconv<reduction_kind sum>, sym_name = "gaussian_conv", variables = [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"B", j, 1>]}> ({
// GENERIC-NEXT: ^bb0(%[[X:.*]]: vector<3xf32>, %[[Y:.*]]: vector<3xf32>, %[[B:.*]]: vector<1xf32>):
// GENERIC-NEXT:   %[[D:.*]] = "kconv.sqdist"(%[[X]], %[[Y]]) : (vector<3xf32>, vector<3xf32>) -> vector<1xf32>
// GENERIC-NEXT:   %[[N:.*]] = "kconv.neg"(%[[D]]) : (vector<1xf32>) -> vector<1xf32>
// GENERIC-NEXT:   %[[E:.*]] = "kconv.exp"(%[[N]]) : (vector<1xf32>) -> vector<1xf32>
// GENERIC-NEXT:   %[[M:.*]] = "kconv.mul"(%[[E]], %[[B]]) : (vector<1xf32>, vector<1xf32>) -> vector<1xf32>
// GENERIC-NEXT:   "kconv.yield"(%[[M]]) : (vector<1xf32>) -> ()
// GENERIC-NEXT: }) : () -> ()
kconv.reduction @gaussian_conv sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"B", j, 1>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>, %b: vector<1xf32>):
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.neg %0 : vector<1xf32>
  %2 = kconv.exp %1 : vector<1xf32>
  %3 = kconv.mul %2, %b : vector<1xf32>, vector<1xf32>
  kconv.yield %3 : vector<1xf32>
}

// Binary elementwise ops, with KeOps broadcasting both ways.
// CHECK-LABEL: kconv.reduction @binary sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"S", p, 1>] {
// CHECK-NEXT: ^bb0(%X: vector<3xf32>, %Y: vector<3xf32>, %S: vector<1xf32>):
// CHECK-NEXT:   %[[A:.*]] = kconv.add %X, %Y : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:   %[[B:.*]] = kconv.sub %[[A]], %S : vector<3xf32>, vector<1xf32>
// CHECK-NEXT:   %[[C:.*]] = kconv.mul %S, %[[B]] : vector<1xf32>, vector<3xf32>
// CHECK-NEXT:   %[[D:.*]] = kconv.div %[[C]], %Y : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:   %[[E:.*]] = kconv.add %S, %S : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:   %[[F:.*]] = kconv.div %[[E]], %[[D]] : vector<1xf32>, vector<3xf32>
// CHECK-NEXT:   kconv.yield %[[F]] : vector<3xf32>
kconv.reduction @binary sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"S", p, 1>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>, %s: vector<1xf32>):
  %0 = kconv.add %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.sub %0, %s : vector<3xf32>, vector<1xf32>
  %2 = kconv.mul %s, %1 : vector<1xf32>, vector<3xf32>
  %3 = kconv.div %2, %y : vector<3xf32>, vector<3xf32>
  %4 = kconv.add %s, %s : vector<1xf32>, vector<1xf32>
  %5 = kconv.div %4, %3 : vector<1xf32>, vector<3xf32>
  kconv.yield %5 : vector<3xf32>
}

// Unary elementwise ops.
// CHECK-LABEL: kconv.reduction @unary sum axis = 1 vars [#kconv.var<"X", i, 3>] {
// CHECK-NEXT: ^bb0(%X: vector<3xf32>):
// CHECK-NEXT:   %[[A:.*]] = kconv.neg %X : vector<3xf32>
// CHECK-NEXT:   %[[B:.*]] = kconv.exp %[[A]] : vector<3xf32>
// CHECK-NEXT:   %[[C:.*]] = kconv.log %[[B]] : vector<3xf32>
// CHECK-NEXT:   %[[D:.*]] = kconv.abs %[[C]] : vector<3xf32>
// CHECK-NEXT:   %[[E:.*]] = kconv.sqrt %[[D]] : vector<3xf32>
// CHECK-NEXT:   %[[F:.*]] = kconv.rsqrt %[[E]] : vector<3xf32>
// CHECK-NEXT:   %[[G:.*]] = kconv.square %[[F]] : vector<3xf32>
// CHECK-NEXT:   %[[H:.*]] = kconv.inv %[[G]] : vector<3xf32>
// CHECK-NEXT:   kconv.yield %[[H]] : vector<3xf32>
kconv.reduction @unary sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  %0 = kconv.neg %x : vector<3xf32>
  %1 = kconv.exp %0 : vector<3xf32>
  %2 = kconv.log %1 : vector<3xf32>
  %3 = kconv.abs %2 : vector<3xf32>
  %4 = kconv.sqrt %3 : vector<3xf32>
  %5 = kconv.rsqrt %4 : vector<3xf32>
  %6 = kconv.square %5 : vector<3xf32>
  %7 = kconv.inv %6 : vector<3xf32>
  kconv.yield %7 : vector<3xf32>
}

// Integer powers: positive, zero, negative.
// CHECK-LABEL: kconv.reduction @pow sum axis = 1 vars [#kconv.var<"X", i, 2>] {
// CHECK-NEXT: ^bb0(%X: vector<2xf32>):
// CHECK-NEXT:   %[[A:.*]] = kconv.pow %X, 3 : vector<2xf32>
// CHECK-NEXT:   %[[B:.*]] = kconv.pow %[[A]], 0 : vector<2xf32>
// CHECK-NEXT:   %[[C:.*]] = kconv.pow %[[B]], -2 : vector<2xf32>
// CHECK-NEXT:   kconv.yield %[[C]] : vector<2xf32>
kconv.reduction @pow sum axis = 1 vars [#kconv.var<"X", i, 2>] {
^bb0(%x: vector<2xf32>):
  %0 = kconv.pow %x, 3 : vector<2xf32>
  %1 = kconv.pow %0, 0 : vector<2xf32>
  %2 = kconv.pow %1, -2 : vector<2xf32>
  kconv.yield %2 : vector<2xf32>
}

// Ops with a dimension-1 result.
// CHECK-LABEL: kconv.reduction @scalar_results sum axis = 1 vars [#kconv.var<"X", i, 4>, #kconv.var<"Y", j, 4>, #kconv.var<"S", j, 1>] {
// CHECK-NEXT: ^bb0(%X: vector<4xf32>, %Y: vector<4xf32>, %S: vector<1xf32>):
// CHECK-NEXT:   %[[A:.*]] = kconv.sum %X : vector<4xf32>
// CHECK-NEXT:   %[[B:.*]] = kconv.sqnorm2 %Y : vector<4xf32>
// CHECK-NEXT:   %[[C:.*]] = kconv.norm2 %X : vector<4xf32>
// CHECK-NEXT:   %[[D:.*]] = kconv.sqdist %X, %Y : vector<4xf32>, vector<4xf32>
// CHECK-NEXT:   %[[E:.*]] = kconv.sqdist %X, %S : vector<4xf32>, vector<1xf32>
// CHECK-NEXT:   %[[F:.*]] = kconv.scalprod %X, %Y : vector<4xf32>, vector<4xf32>
// CHECK-NEXT:   %[[G:.*]] = kconv.concat %[[A]], %[[B]] : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:   %[[H:.*]] = kconv.concat %[[C]], %[[D]] : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:   %[[I:.*]] = kconv.concat %[[E]], %[[F]] : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:   %[[J:.*]] = kconv.concat %[[G]], %[[H]] : vector<2xf32>, vector<2xf32>
// CHECK-NEXT:   %[[K:.*]] = kconv.concat %[[J]], %[[I]] : vector<4xf32>, vector<2xf32>
// CHECK-NEXT:   kconv.yield %[[K]] : vector<6xf32>
kconv.reduction @scalar_results sum axis = 1 vars [#kconv.var<"X", i, 4>, #kconv.var<"Y", j, 4>, #kconv.var<"S", j, 1>] {
^bb0(%x: vector<4xf32>, %y: vector<4xf32>, %s: vector<1xf32>):
  %0 = kconv.sum %x : vector<4xf32>
  %1 = kconv.sqnorm2 %y : vector<4xf32>
  %2 = kconv.norm2 %x : vector<4xf32>
  %3 = kconv.sqdist %x, %y : vector<4xf32>, vector<4xf32>
  %4 = kconv.sqdist %x, %s : vector<4xf32>, vector<1xf32>
  %5 = kconv.scalprod %x, %y : vector<4xf32>, vector<4xf32>
  %6 = kconv.concat %0, %1 : vector<1xf32>, vector<1xf32>
  %7 = kconv.concat %2, %3 : vector<1xf32>, vector<1xf32>
  %8 = kconv.concat %4, %5 : vector<1xf32>, vector<1xf32>
  %9 = kconv.concat %6, %7 : vector<2xf32>, vector<2xf32>
  %10 = kconv.concat %9, %8 : vector<4xf32>, vector<2xf32>
  kconv.yield %10 : vector<6xf32>
}

// Elem and Concat.
// CHECK-LABEL: kconv.reduction @elem_concat sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 2>] {
// CHECK-NEXT: ^bb0(%X: vector<3xf32>, %Y: vector<2xf32>):
// CHECK-NEXT:   %[[A:.*]] = kconv.elem %X, 0 : vector<3xf32>
// CHECK-NEXT:   %[[B:.*]] = kconv.elem %Y, 1 : vector<2xf32>
// CHECK-NEXT:   %[[C:.*]] = kconv.concat %[[A]], %X : vector<1xf32>, vector<3xf32>
// CHECK-NEXT:   %[[D:.*]] = kconv.concat %[[C]], %[[B]] : vector<4xf32>, vector<1xf32>
// CHECK-NEXT:   %[[E:.*]] = kconv.concat %[[D]], %Y : vector<5xf32>, vector<2xf32>
// CHECK-NEXT:   kconv.yield %[[E]] : vector<7xf32>
kconv.reduction @elem_concat sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<3xf32>, %y: vector<2xf32>):
  %0 = kconv.elem %x, 0 : vector<3xf32>
  %1 = kconv.elem %y, 1 : vector<2xf32>
  %2 = kconv.concat %0, %x : vector<1xf32>, vector<3xf32>
  %3 = kconv.concat %2, %1 : vector<4xf32>, vector<1xf32>
  %4 = kconv.concat %3, %y : vector<5xf32>, vector<2xf32>
  kconv.yield %4 : vector<7xf32>
}

// Constants: the value is an f64 attribute whatever the element type; non-finite values print in hex.
// CHECK-LABEL: kconv.reduction @constants sum axis = 1 vars [#kconv.var<"X", i, 1>] {
// CHECK-NEXT: ^bb0(%X: vector<1xf64>):
// CHECK-NEXT:   %[[A:.*]] = kconv.constant -2.500000e-03 : vector<1xf64>
// CHECK-NEXT:   %[[B:.*]] = kconv.constant 1.000000e+300 : vector<1xf64>
// CHECK-NEXT:   %[[C:.*]] = kconv.constant 0x7FF0000000000000 : vector<1xf64>
// CHECK-NEXT:   %[[D:.*]] = kconv.add %X, %[[A]] : vector<1xf64>, vector<1xf64>
// CHECK-NEXT:   %[[E:.*]] = kconv.mul %[[B]], %[[C]] : vector<1xf64>, vector<1xf64>
// CHECK-NEXT:   %[[F:.*]] = kconv.div %[[D]], %[[E]] : vector<1xf64>, vector<1xf64>
// CHECK-NEXT:   kconv.yield %[[F]] : vector<1xf64>
kconv.reduction @constants sum axis = 1 vars [#kconv.var<"X", i, 1>] {
^bb0(%x: vector<1xf64>):
  %0 = kconv.constant -2.5e-3 : vector<1xf64>
  %1 = kconv.constant 1.0e+300 : vector<1xf64>
  %2 = kconv.constant 0x7FF0000000000000 : vector<1xf64>
  %3 = kconv.add %x, %0 : vector<1xf64>, vector<1xf64>
  %4 = kconv.mul %1, %2 : vector<1xf64>, vector<1xf64>
  %5 = kconv.div %3, %4 : vector<1xf64>, vector<1xf64>
  kconv.yield %5 : vector<1xf64>
}

// Reduction over i (axis = 0), f64, a parameter.
// CHECK-LABEL: kconv.reduction @transposed_f64 sum axis = 0 vars [#kconv.var<"X", i, 2>, #kconv.var<"Y", j, 2>, #kconv.var<"G", p, 1>] {
// CHECK-NEXT: ^bb0(%X: vector<2xf64>, %Y: vector<2xf64>, %G: vector<1xf64>):
// CHECK-NEXT:   %[[A:.*]] = kconv.sqdist %X, %Y : vector<2xf64>, vector<2xf64>
// CHECK-NEXT:   %[[B:.*]] = kconv.mul %G, %[[A]] : vector<1xf64>, vector<1xf64>
// CHECK-NEXT:   %[[C:.*]] = kconv.add %X, %[[B]] : vector<2xf64>, vector<1xf64>
// CHECK-NEXT:   kconv.yield %[[C]] : vector<2xf64>
kconv.reduction @transposed_f64 sum axis = 0 vars [#kconv.var<"X", i, 2>, #kconv.var<"Y", j, 2>, #kconv.var<"G", p, 1>] {
^bb0(%x: vector<2xf64>, %y: vector<2xf64>, %g: vector<1xf64>):
  %0 = kconv.sqdist %x, %y : vector<2xf64>, vector<2xf64>
  %1 = kconv.mul %g, %0 : vector<1xf64>, vector<1xf64>
  %2 = kconv.add %x, %1 : vector<2xf64>, vector<1xf64>
  kconv.yield %2 : vector<2xf64>
}

// f16, extra attributes, a formula that is just a variable.
// CHECK-LABEL: kconv.reduction @identity_f16 sum axis = 1 vars [#kconv.var<"P", p, 2>] attributes {kconv.note = "kept"} {
// CHECK-NEXT: ^bb0(%P: vector<2xf16>):
// CHECK-NEXT:   kconv.yield %P : vector<2xf16>
kconv.reduction @identity_f16 sum axis = 1 vars [#kconv.var<"P", p, 2>] attributes {kconv.note = "kept"} {
^bb0(%p: vector<2xf16>):
  kconv.yield %p : vector<2xf16>
}

// No variables at all: the block has no arguments and prints without a label.
// CHECK-LABEL: kconv.reduction @no_vars sum axis = 1 vars [] {
// CHECK-NEXT:   %[[C:.*]] = kconv.constant 1.000000e+00 : vector<1xf32>
// CHECK-NEXT:   kconv.yield %[[C]] : vector<1xf32>
kconv.reduction @no_vars sum axis = 1 vars [] {
  %c = kconv.constant 1.0 : vector<1xf32>
  kconv.yield %c : vector<1xf32>
}
