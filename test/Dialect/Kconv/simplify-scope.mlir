// What kconv-simplify leaves alone: the reduction's signature (vars and block arguments, even
// unused ones: the runtime binds variables by position), its attributes, and ops of other
// dialects. It runs on every reduction of a module, and a second run changes nothing.
// RUN: kconv-opt %s --kconv-simplify | FileCheck %s
// RUN: kconv-opt %s --kconv-simplify --kconv-simplify | FileCheck %s
// RUN: kconv-opt %s --pass-pipeline="builtin.module(kconv.reduction(kconv-simplify))" | FileCheck %s

// Y no longer contributes (Y * 0 with Y of dimension 1), but stays declared and bound.
// CHECK-LABEL: kconv.reduction @unused_variable sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 1>, #kconv.var<"B", j, 3>] {
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %Y: vector<1xf32>, %B: vector<3xf32>):
// CHECK-NEXT:    %[[D:.*]] = kconv.sqdist %X, %B : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[D]] : vector<1xf32>
// CHECK-NEXT:  }
kconv.reduction @unused_variable sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 1>, #kconv.var<"B", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<1xf32>, %b: vector<3xf32>):
  %zero = kconv.constant 0.0 : vector<1xf32>
  %0 = kconv.mul %y, %zero : vector<1xf32>, vector<1xf32>
  %1 = kconv.sqdist %x, %b : vector<3xf32>, vector<3xf32>
  %2 = kconv.add %1, %0 : vector<1xf32>, vector<1xf32>
  kconv.yield %2 : vector<1xf32>
}

// A formula that folds to a constant keeps every variable; axis and attributes stay.
// CHECK-LABEL: kconv.reduction @constant_formula sum axis = 0 vars [#kconv.var<"X", i, 2>, #kconv.var<"P", p, 1>] attributes {kconv.origin = "test"} {
// CHECK-NEXT:  ^bb0(%X: vector<2xf64>, %P: vector<1xf64>):
// CHECK-NEXT:    %[[C:.*]] = kconv.constant 1.000000e+00 : vector<1xf64>
// CHECK-NEXT:    kconv.yield %[[C]] : vector<1xf64>
// CHECK-NEXT:  }
kconv.reduction @constant_formula sum axis = 0 vars [#kconv.var<"X", i, 2>, #kconv.var<"P", p, 1>] attributes {kconv.origin = "test"} {
^bb0(%x: vector<2xf64>, %p: vector<1xf64>):
  %0 = kconv.pow %p, 0 : vector<1xf64>
  kconv.yield %0 : vector<1xf64>
}

// Other dialects' ops are not canonicalized (the pass runs on kconv.reduction only).
// CHECK-LABEL: func.func @not_a_reduction
// CHECK-NEXT:    %[[C:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT:    %[[A:.*]] = arith.addf %[[C]], %[[C]] : f32
// CHECK-NEXT:    return %[[A]] : f32
func.func @not_a_reduction() -> f32 {
  %c = arith.constant 1.0 : f32
  %0 = arith.addf %c, %c : f32
  return %0 : f32
}

// The last reduction of the module is simplified too.
// CHECK-LABEL: kconv.reduction @last sum axis = 1 vars [#kconv.var<"X", i, 3>] {
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>):
// CHECK-NEXT:    %[[N:.*]] = kconv.norm2 %X : vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[N]] : vector<1xf32>
kconv.reduction @last sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  %0 = kconv.scalprod %x, %x : vector<3xf32>, vector<3xf32>
  %1 = kconv.sqrt %0 : vector<1xf32>
  kconv.yield %1 : vector<1xf32>
}
