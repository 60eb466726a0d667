// KeOps broadcasting: a dimension-1 operand against a dimension-D one gives a dimension-D result.
// Identities that would change a result's type must not fire; those that keep it still do.
// RUN: kconv-opt %s --kconv-simplify --split-input-file | FileCheck %s

// x * 0 with x of dimension 3 is a dimension-3 zero: not the dimension-1 constant 0.
// CHECK-LABEL: kconv.reduction @no_fold_mul_zero_vector sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>):
// CHECK-NEXT:    %[[Z:.*]] = kconv.constant 0.000000e+00 : vector<1xf32>
// CHECK-NEXT:    %[[M:.*]] = kconv.mul %X, %[[Z]] : vector<3xf32>, vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[M]] : vector<3xf32>
kconv.reduction @no_fold_mul_zero_vector sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  %zero = kconv.constant 0.0 : vector<1xf32>
  %0 = kconv.mul %zero, %x : vector<1xf32>, vector<3xf32>
  kconv.yield %0 : vector<3xf32>
}

// -----

// Pow(x, 0) with x of dimension 3 is a dimension-3 one.
// CHECK-LABEL: kconv.reduction @no_fold_pow_zero_vector sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>):
// CHECK-NEXT:    %[[P:.*]] = kconv.pow %X, 0 : vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[P]] : vector<3xf32>
kconv.reduction @no_fold_pow_zero_vector sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  %0 = kconv.pow %x, 0 : vector<3xf32>
  kconv.yield %0 : vector<3xf32>
}

// -----

// Sum and Elem of a dimension-3 value are not the value.
// CHECK-LABEL: kconv.reduction @no_fold_sum_elem_vector sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>):
// CHECK-NEXT:    %[[S:.*]] = kconv.sum %X : vector<3xf32>
// CHECK-NEXT:    %[[E:.*]] = kconv.elem %X, 0 : vector<3xf32>
// CHECK-NEXT:    %[[A:.*]] = kconv.add %[[S]], %[[E]] : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[A]] : vector<1xf32>
kconv.reduction @no_fold_sum_elem_vector sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  %0 = kconv.sum %x : vector<3xf32>
  %1 = kconv.elem %x, 0 : vector<3xf32>
  %2 = kconv.add %0, %1 : vector<1xf32>, vector<1xf32>
  kconv.yield %2 : vector<1xf32>
}

// -----

// Constants broadcast against a vector keep the vector's type: 0 + X -> X, X * 1 -> X, X / 1 -> X.
// CHECK-LABEL: kconv.reduction @fold_broadcast_identities sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>):
// CHECK-NEXT:    kconv.yield %X : vector<3xf32>
kconv.reduction @fold_broadcast_identities sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  %zero = kconv.constant 0.0 : vector<1xf32>
  %one = kconv.constant 1.0 : vector<1xf32>
  %0 = kconv.add %zero, %x : vector<1xf32>, vector<3xf32>
  %1 = kconv.mul %0, %one : vector<3xf32>, vector<1xf32>
  %2 = kconv.div %1, %one : vector<3xf32>, vector<1xf32>
  kconv.yield %2 : vector<3xf32>
}

// -----

// (S * 0) * X: S * 0 folds to the dimension-1 zero, the product with X (dimension 3) stays.
// CHECK-LABEL: kconv.reduction @fold_stops_at_broadcast sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %S: vector<1xf32>):
// CHECK-NEXT:    %[[Z:.*]] = kconv.constant 0.000000e+00 : vector<1xf32>
// CHECK-NEXT:    %[[M:.*]] = kconv.mul %X, %[[Z]] : vector<3xf32>, vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[M]] : vector<3xf32>
kconv.reduction @fold_stops_at_broadcast sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"S", j, 1>] {
^bb0(%x: vector<3xf32>, %s: vector<1xf32>):
  %zero = kconv.constant 0.0 : vector<1xf32>
  %0 = kconv.mul %s, %zero : vector<1xf32>, vector<1xf32>
  %1 = kconv.mul %0, %x : vector<1xf32>, vector<3xf32>
  kconv.yield %1 : vector<3xf32>
}

// -----

// Exp(a) * Exp(b) with a of dimension 3 and b of dimension 1 is not rewritten.
// CHECK-LABEL: kconv.reduction @no_mul_exps_broadcast sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %S: vector<1xf32>):
// CHECK-NEXT:    %[[A:.*]] = kconv.exp %X : vector<3xf32>
// CHECK-NEXT:    %[[B:.*]] = kconv.exp %S : vector<1xf32>
// CHECK-NEXT:    %[[M:.*]] = kconv.mul %[[A]], %[[B]] : vector<3xf32>, vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[M]] : vector<3xf32>
kconv.reduction @no_mul_exps_broadcast sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"S", j, 1>] {
^bb0(%x: vector<3xf32>, %s: vector<1xf32>):
  %0 = kconv.exp %x : vector<3xf32>
  %1 = kconv.exp %s : vector<1xf32>
  %2 = kconv.mul %0, %1 : vector<3xf32>, vector<1xf32>
  kconv.yield %2 : vector<3xf32>
}

// -----

// SqNorm2(X - S) with S of dimension 1 is not rewritten to SqDist; Sum(Square(...)) still becomes
// SqNorm2.
// CHECK-LABEL: kconv.reduction @no_sqdist_broadcast sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %S: vector<1xf32>):
// CHECK-NEXT:    %[[D:.*]] = kconv.sub %X, %S : vector<3xf32>, vector<1xf32>
// CHECK-NEXT:    %[[N:.*]] = kconv.sqnorm2 %[[D]] : vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[N]] : vector<1xf32>
kconv.reduction @no_sqdist_broadcast sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"S", j, 1>] {
^bb0(%x: vector<3xf32>, %s: vector<1xf32>):
  %0 = kconv.sub %x, %s : vector<3xf32>, vector<1xf32>
  %1 = kconv.square %0 : vector<3xf32>
  %2 = kconv.sum %1 : vector<3xf32>
  kconv.yield %2 : vector<1xf32>
}

// -----

// S * S for a dimension-1 S broadcast against X is Square(S), still dimension 1; the product with X
// keeps dimension 3.
// CHECK-LABEL: kconv.reduction @square_then_broadcast sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %S: vector<1xf32>):
// CHECK-NEXT:    %[[Q:.*]] = kconv.square %S : vector<1xf32>
// CHECK-NEXT:    %[[M:.*]] = kconv.mul %[[Q]], %X : vector<1xf32>, vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[M]] : vector<3xf32>
kconv.reduction @square_then_broadcast sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"S", j, 1>] {
^bb0(%x: vector<3xf32>, %s: vector<1xf32>):
  %0 = kconv.mul %s, %s : vector<1xf32>, vector<1xf32>
  %1 = kconv.mul %0, %x : vector<1xf32>, vector<3xf32>
  kconv.yield %1 : vector<3xf32>
}
