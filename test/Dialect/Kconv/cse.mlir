// Common sub-formula elimination in kconv-simplify: equal ops are merged, commutative ops also
// when their operands are swapped; merges can enable the algebraic patterns.
// RUN: kconv-opt %s --kconv-simplify --split-input-file | FileCheck %s

// Two identical Gaussian factors become one.
// CHECK-LABEL: kconv.reduction @cse_chain sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %Y: vector<3xf32>):
// CHECK-NEXT:    %[[D:.*]] = kconv.sqdist %X, %Y : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    %[[N:.*]] = kconv.neg %[[D]] : vector<1xf32>
// CHECK-NEXT:    %[[E:.*]] = kconv.exp %[[N]] : vector<1xf32>
// CHECK-NEXT:    %[[S:.*]] = kconv.add %[[E]], %[[E]] : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[S]] : vector<1xf32>
kconv.reduction @cse_chain sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>):
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.neg %0 : vector<1xf32>
  %2 = kconv.exp %1 : vector<1xf32>
  %3 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %4 = kconv.neg %3 : vector<1xf32>
  %5 = kconv.exp %4 : vector<1xf32>
  %6 = kconv.add %2, %5 : vector<1xf32>, vector<1xf32>
  kconv.yield %6 : vector<1xf32>
}

// -----

// Equal constants become one.
// CHECK-LABEL: kconv.reduction @cse_constants sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>):
// CHECK-NEXT:    %[[C:.*]] = kconv.constant 2.000000e+00 : vector<1xf32>
// CHECK-NEXT:    %[[A:.*]] = kconv.add %X, %[[C]] : vector<3xf32>, vector<1xf32>
// CHECK-NEXT:    %[[M:.*]] = kconv.mul %[[A]], %[[C]] : vector<3xf32>, vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[M]] : vector<3xf32>
kconv.reduction @cse_constants sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  %c0 = kconv.constant 2.0 : vector<1xf32>
  %c1 = kconv.constant 2.0 : vector<1xf32>
  %0 = kconv.add %x, %c0 : vector<3xf32>, vector<1xf32>
  %1 = kconv.mul %0, %c1 : vector<3xf32>, vector<1xf32>
  kconv.yield %1 : vector<3xf32>
}

// -----

// X * Y and Y * X are one value.
// CHECK-LABEL: kconv.reduction @cse_commutative sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %Y: vector<3xf32>):
// CHECK-NEXT:    %[[M:.*]] = kconv.mul %X, %Y : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    %[[C:.*]] = kconv.concat %[[M]], %[[M]] : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[C]] : vector<6xf32>
kconv.reduction @cse_commutative sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>):
  %0 = kconv.mul %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.mul %y, %x : vector<3xf32>, vector<3xf32>
  %2 = kconv.concat %0, %1 : vector<3xf32>, vector<3xf32>
  kconv.yield %2 : vector<6xf32>
}

// -----

// Also with broadcasting: S * X and X * S.
// CHECK-LABEL: kconv.reduction @cse_commutative_broadcast sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %S: vector<1xf32>):
// CHECK-NEXT:    %[[M:.*]] = kconv.add %S, %X : vector<1xf32>, vector<3xf32>
// CHECK-NEXT:    %[[D:.*]] = kconv.div %[[M]], %[[M]] : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[D]] : vector<3xf32>
kconv.reduction @cse_commutative_broadcast sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"S", j, 1>] {
^bb0(%x: vector<3xf32>, %s: vector<1xf32>):
  %0 = kconv.add %s, %x : vector<1xf32>, vector<3xf32>
  %1 = kconv.add %x, %s : vector<3xf32>, vector<1xf32>
  %2 = kconv.div %0, %1 : vector<3xf32>, vector<3xf32>
  kconv.yield %2 : vector<3xf32>
}

// -----

// X - Y and Y - X are not the same.
// CHECK-LABEL: kconv.reduction @no_cse_sub_swapped sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %Y: vector<3xf32>):
// CHECK-NEXT:    %[[A:.*]] = kconv.sub %X, %Y : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    %[[B:.*]] = kconv.sub %Y, %X : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    %[[C:.*]] = kconv.concat %[[A]], %[[B]] : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[C]] : vector<6xf32>
kconv.reduction @no_cse_sub_swapped sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>):
  %0 = kconv.sub %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.sub %y, %x : vector<3xf32>, vector<3xf32>
  %2 = kconv.concat %0, %1 : vector<3xf32>, vector<3xf32>
  kconv.yield %2 : vector<6xf32>
}

// -----

// Ops that differ in an attribute are not merged; those that agree are.
// CHECK-LABEL: kconv.reduction @cse_attributes sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>):
// CHECK-NEXT:    %[[E0:.*]] = kconv.elem %X, 0 : vector<3xf32>
// CHECK-NEXT:    %[[E1:.*]] = kconv.elem %X, 1 : vector<3xf32>
// CHECK-NEXT:    %[[P3:.*]] = kconv.pow %[[E0]], 3 : vector<1xf32>
// CHECK-NEXT:    %[[P4:.*]] = kconv.pow %[[E1]], 4 : vector<1xf32>
// CHECK-NEXT:    %[[A:.*]] = kconv.add %[[P3]], %[[P3]] : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    %[[B:.*]] = kconv.add %[[A]], %[[P4]] : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[B]] : vector<1xf32>
kconv.reduction @cse_attributes sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  %0 = kconv.elem %x, 0 : vector<3xf32>
  %1 = kconv.elem %x, 1 : vector<3xf32>
  %2 = kconv.elem %x, 0 : vector<3xf32>
  %3 = kconv.pow %0, 3 : vector<1xf32>
  %4 = kconv.pow %2, 3 : vector<1xf32>
  %5 = kconv.pow %1, 4 : vector<1xf32>
  %6 = kconv.add %3, %4 : vector<1xf32>, vector<1xf32>
  %7 = kconv.add %6, %5 : vector<1xf32>, vector<1xf32>
  kconv.yield %7 : vector<1xf32>
}

// -----

// A merge enables a pattern: Scalprod(X + Y, Y + X) -> Scalprod(X + Y, X + Y) -> SqNorm2(X + Y).
// CHECK-LABEL: kconv.reduction @cse_then_pattern sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %Y: vector<3xf32>):
// CHECK-NEXT:    %[[A:.*]] = kconv.add %X, %Y : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    %[[N:.*]] = kconv.sqnorm2 %[[A]] : vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[N]] : vector<1xf32>
kconv.reduction @cse_then_pattern sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>):
  %0 = kconv.add %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.add %y, %x : vector<3xf32>, vector<3xf32>
  %2 = kconv.scalprod %0, %1 : vector<3xf32>, vector<3xf32>
  kconv.yield %2 : vector<1xf32>
}

// -----

// A pattern enables a merge: Pow(X, 2) and X * X both become Square(X), then one.
// CHECK-LABEL: kconv.reduction @pattern_then_cse sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>):
// CHECK-NEXT:    %[[S:.*]] = kconv.square %X : vector<3xf32>
// CHECK-NEXT:    %[[D:.*]] = kconv.sub %[[S]], %[[S]] : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[D]] : vector<3xf32>
kconv.reduction @pattern_then_cse sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  %0 = kconv.pow %x, 2 : vector<3xf32>
  %1 = kconv.mul %x, %x : vector<3xf32>, vector<3xf32>
  %2 = kconv.sub %0, %1 : vector<3xf32>, vector<3xf32>
  kconv.yield %2 : vector<3xf32>
}
