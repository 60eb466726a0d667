// Algebraic identities that fold an op away (to one of its operands, or to a constant of the same
// dimension as the result).
// RUN: kconv-opt %s --kconv-simplify --split-input-file | FileCheck %s

// x * 1 -> x
// CHECK-LABEL: kconv.reduction @mul_one sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>):
// CHECK-NEXT:    kconv.yield %X : vector<3xf32>
kconv.reduction @mul_one sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  %one = kconv.constant 1.0 : vector<1xf32>
  %0 = kconv.mul %x, %one : vector<3xf32>, vector<1xf32>
  kconv.yield %0 : vector<3xf32>
}

// -----

// 1 * x -> x
// CHECK-LABEL: kconv.reduction @one_mul sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>):
// CHECK-NEXT:    kconv.yield %X : vector<3xf32>
kconv.reduction @one_mul sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  %one = kconv.constant 1.0 : vector<1xf32>
  %0 = kconv.mul %one, %x : vector<1xf32>, vector<3xf32>
  kconv.yield %0 : vector<3xf32>
}

// -----

// x + 0 -> x
// CHECK-LABEL: kconv.reduction @add_zero sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>):
// CHECK-NEXT:    kconv.yield %X : vector<3xf32>
kconv.reduction @add_zero sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  %zero = kconv.constant 0.0 : vector<1xf32>
  %0 = kconv.add %x, %zero : vector<3xf32>, vector<1xf32>
  kconv.yield %0 : vector<3xf32>
}

// -----

// 0 + x -> x
// CHECK-LABEL: kconv.reduction @zero_add sum
// CHECK-NEXT:  ^bb0(%X: vector<1xf32>):
// CHECK-NEXT:    kconv.yield %X : vector<1xf32>
kconv.reduction @zero_add sum axis = 1 vars [#kconv.var<"X", i, 1>] {
^bb0(%x: vector<1xf32>):
  %zero = kconv.constant 0.0 : vector<1xf32>
  %0 = kconv.add %zero, %x : vector<1xf32>, vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

// x - 0 -> x
// CHECK-LABEL: kconv.reduction @sub_zero sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>):
// CHECK-NEXT:    kconv.yield %X : vector<3xf32>
kconv.reduction @sub_zero sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  %zero = kconv.constant 0.0 : vector<1xf32>
  %0 = kconv.sub %x, %zero : vector<3xf32>, vector<1xf32>
  kconv.yield %0 : vector<3xf32>
}

// -----

// 0 - x -> -x
// CHECK-LABEL: kconv.reduction @zero_sub sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>):
// CHECK-NEXT:    %[[N:.*]] = kconv.neg %X : vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[N]] : vector<3xf32>
kconv.reduction @zero_sub sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  %zero = kconv.constant 0.0 : vector<1xf32>
  %0 = kconv.sub %zero, %x : vector<1xf32>, vector<3xf32>
  kconv.yield %0 : vector<3xf32>
}

// -----

// x / 1 -> x
// CHECK-LABEL: kconv.reduction @div_one sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>):
// CHECK-NEXT:    kconv.yield %X : vector<3xf32>
kconv.reduction @div_one sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  %one = kconv.constant 1.0 : vector<1xf32>
  %0 = kconv.div %x, %one : vector<3xf32>, vector<1xf32>
  kconv.yield %0 : vector<3xf32>
}

// -----

// --x -> x
// CHECK-LABEL: kconv.reduction @neg_neg sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>):
// CHECK-NEXT:    kconv.yield %X : vector<3xf32>
kconv.reduction @neg_neg sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  %0 = kconv.neg %x : vector<3xf32>
  %1 = kconv.neg %0 : vector<3xf32>
  kconv.yield %1 : vector<3xf32>
}

// -----

// Inv(Inv(x)) -> x
// CHECK-LABEL: kconv.reduction @inv_inv sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>):
// CHECK-NEXT:    kconv.yield %X : vector<3xf32>
kconv.reduction @inv_inv sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  %0 = kconv.inv %x : vector<3xf32>
  %1 = kconv.inv %0 : vector<3xf32>
  kconv.yield %1 : vector<3xf32>
}

// -----

// Abs(Abs(x)) -> Abs(x)
// CHECK-LABEL: kconv.reduction @abs_abs sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>):
// CHECK-NEXT:    %[[A:.*]] = kconv.abs %X : vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[A]] : vector<3xf32>
kconv.reduction @abs_abs sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  %0 = kconv.abs %x : vector<3xf32>
  %1 = kconv.abs %0 : vector<3xf32>
  kconv.yield %1 : vector<3xf32>
}

// -----

// x * 0 -> 0 for a dimension-1 x. The variable stays in the signature.
// CHECK-LABEL: kconv.reduction @mul_zero_scalar sum axis = 1 vars [#kconv.var<"S", j, 1>] {
// CHECK-NEXT:  ^bb0(%S: vector<1xf32>):
// CHECK-NEXT:    %[[Z:.*]] = kconv.constant 0.000000e+00 : vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[Z]] : vector<1xf32>
kconv.reduction @mul_zero_scalar sum axis = 1 vars [#kconv.var<"S", j, 1>] {
^bb0(%s: vector<1xf32>):
  %zero = kconv.constant 0.0 : vector<1xf32>
  %0 = kconv.mul %s, %zero : vector<1xf32>, vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

// Pow(x, 1) -> x
// CHECK-LABEL: kconv.reduction @pow_one sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>):
// CHECK-NEXT:    kconv.yield %X : vector<3xf32>
kconv.reduction @pow_one sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  %0 = kconv.pow %x, 1 : vector<3xf32>
  kconv.yield %0 : vector<3xf32>
}

// -----

// Pow(x, 0) -> 1 for a dimension-1 x.
// CHECK-LABEL: kconv.reduction @pow_zero_scalar sum
// CHECK-NEXT:  ^bb0(%S: vector<1xf32>):
// CHECK-NEXT:    %[[C:.*]] = kconv.constant 1.000000e+00 : vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[C]] : vector<1xf32>
kconv.reduction @pow_zero_scalar sum axis = 1 vars [#kconv.var<"S", j, 1>] {
^bb0(%s: vector<1xf32>):
  %0 = kconv.pow %s, 0 : vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

// Sum(x) -> x for a dimension-1 x.
// CHECK-LABEL: kconv.reduction @sum_scalar sum
// CHECK-NEXT:  ^bb0(%S: vector<1xf32>):
// CHECK-NEXT:    kconv.yield %S : vector<1xf32>
kconv.reduction @sum_scalar sum axis = 1 vars [#kconv.var<"S", j, 1>] {
^bb0(%s: vector<1xf32>):
  %0 = kconv.sum %s : vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

// Elem(x, 0) -> x for a dimension-1 x.
// CHECK-LABEL: kconv.reduction @elem_scalar sum
// CHECK-NEXT:  ^bb0(%S: vector<1xf32>):
// CHECK-NEXT:    kconv.yield %S : vector<1xf32>
kconv.reduction @elem_scalar sum axis = 1 vars [#kconv.var<"S", j, 1>] {
^bb0(%s: vector<1xf32>):
  %0 = kconv.elem %s, 0 : vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}
