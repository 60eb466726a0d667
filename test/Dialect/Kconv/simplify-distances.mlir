// Norms and distances: sums of squares become SqNorm2 / SqDist, square roots of them Norm2.
// RUN: kconv-opt %s --kconv-simplify --split-input-file | FileCheck %s

// Sum(Square(X - Y)) -> SqDist(X, Y)
// CHECK-LABEL: kconv.reduction @sum_square_sub sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %Y: vector<3xf32>):
// CHECK-NEXT:    %[[D:.*]] = kconv.sqdist %X, %Y : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[D]] : vector<1xf32>
kconv.reduction @sum_square_sub sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>):
  %0 = kconv.sub %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.square %0 : vector<3xf32>
  %2 = kconv.sum %1 : vector<3xf32>
  kconv.yield %2 : vector<1xf32>
}

// -----

// Sum((X - Y) * (X - Y)) -> Sum(Square(X - Y)) -> SqDist(X, Y), once CSE has merged the two X - Y.
// CHECK-LABEL: kconv.reduction @sum_mul_sub sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %Y: vector<3xf32>):
// CHECK-NEXT:    %[[D:.*]] = kconv.sqdist %X, %Y : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[D]] : vector<1xf32>
kconv.reduction @sum_mul_sub sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>):
  %0 = kconv.sub %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.sub %x, %y : vector<3xf32>, vector<3xf32>
  %2 = kconv.mul %0, %1 : vector<3xf32>, vector<3xf32>
  %3 = kconv.sum %2 : vector<3xf32>
  kconv.yield %3 : vector<1xf32>
}

// -----

// Sum(Square(x)) -> SqNorm2(x)
// CHECK-LABEL: kconv.reduction @sum_square sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>):
// CHECK-NEXT:    %[[N:.*]] = kconv.sqnorm2 %X : vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[N]] : vector<1xf32>
kconv.reduction @sum_square sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  %0 = kconv.square %x : vector<3xf32>
  %1 = kconv.sum %0 : vector<3xf32>
  kconv.yield %1 : vector<1xf32>
}

// -----

// SqNorm2(X - Y) -> SqDist(X, Y)
// CHECK-LABEL: kconv.reduction @sqnorm2_sub sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %Y: vector<3xf32>):
// CHECK-NEXT:    %[[D:.*]] = kconv.sqdist %X, %Y : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[D]] : vector<1xf32>
kconv.reduction @sqnorm2_sub sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>):
  %0 = kconv.sub %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.sqnorm2 %0 : vector<3xf32>
  kconv.yield %1 : vector<1xf32>
}

// -----

// The subtraction stays where something else uses it.
// CHECK-LABEL: kconv.reduction @sqnorm2_sub_shared sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %Y: vector<3xf32>):
// CHECK-NEXT:    %[[S:.*]] = kconv.sub %X, %Y : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    %[[D:.*]] = kconv.sqdist %X, %Y : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    %[[M:.*]] = kconv.mul %[[S]], %[[D]] : vector<3xf32>, vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[M]] : vector<3xf32>
kconv.reduction @sqnorm2_sub_shared sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>):
  %0 = kconv.sub %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.sqnorm2 %0 : vector<3xf32>
  %2 = kconv.mul %0, %1 : vector<3xf32>, vector<1xf32>
  kconv.yield %2 : vector<3xf32>
}

// -----

// Scalprod(x, x) -> SqNorm2(x)
// CHECK-LABEL: kconv.reduction @scalprod_self sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>):
// CHECK-NEXT:    %[[N:.*]] = kconv.sqnorm2 %X : vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[N]] : vector<1xf32>
kconv.reduction @scalprod_self sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  %0 = kconv.scalprod %x, %x : vector<3xf32>, vector<3xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

// Scalprod(X - Y, X - Y) -> SqNorm2(X - Y) -> SqDist(X, Y)
// CHECK-LABEL: kconv.reduction @scalprod_sub_self sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %Y: vector<3xf32>):
// CHECK-NEXT:    %[[D:.*]] = kconv.sqdist %X, %Y : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[D]] : vector<1xf32>
kconv.reduction @scalprod_sub_self sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>):
  %0 = kconv.sub %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.scalprod %0, %0 : vector<3xf32>, vector<3xf32>
  kconv.yield %1 : vector<1xf32>
}

// -----

// Sqrt(SqNorm2(x)) -> Norm2(x)
// CHECK-LABEL: kconv.reduction @sqrt_sqnorm2 sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>):
// CHECK-NEXT:    %[[N:.*]] = kconv.norm2 %X : vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[N]] : vector<1xf32>
kconv.reduction @sqrt_sqnorm2 sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  %0 = kconv.sqnorm2 %x : vector<3xf32>
  %1 = kconv.sqrt %0 : vector<1xf32>
  kconv.yield %1 : vector<1xf32>
}

// -----

// Sqrt(Sum(Square(x))) -> Sqrt(SqNorm2(x)) -> Norm2(x)
// CHECK-LABEL: kconv.reduction @sqrt_sum_square sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>):
// CHECK-NEXT:    %[[N:.*]] = kconv.norm2 %X : vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[N]] : vector<1xf32>
kconv.reduction @sqrt_sum_square sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  %0 = kconv.square %x : vector<3xf32>
  %1 = kconv.sum %0 : vector<3xf32>
  %2 = kconv.sqrt %1 : vector<1xf32>
  kconv.yield %2 : vector<1xf32>
}

// -----

// A distance stays Sqrt(SqDist(X, Y)), not Norm2(X - Y).
// CHECK-LABEL: kconv.reduction @sqrt_sqnorm2_sub sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %Y: vector<3xf32>):
// CHECK-NEXT:    %[[D:.*]] = kconv.sqdist %X, %Y : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    %[[R:.*]] = kconv.sqrt %[[D]] : vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[R]] : vector<1xf32>
kconv.reduction @sqrt_sqnorm2_sub sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>):
  %0 = kconv.sub %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.sqnorm2 %0 : vector<3xf32>
  %2 = kconv.sqrt %1 : vector<1xf32>
  kconv.yield %2 : vector<1xf32>
}

// -----

// A hand-written Gaussian kernel: Exp(-Sum((X - Y)**2) * 1) * B + 0 -> Exp(-SqDist(X, Y)) * B.
// CHECK-LABEL: kconv.reduction @gaussian_by_hand sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %Y: vector<3xf32>, %B: vector<1xf32>):
// CHECK-NEXT:    %[[D:.*]] = kconv.sqdist %X, %Y : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    %[[N:.*]] = kconv.neg %[[D]] : vector<1xf32>
// CHECK-NEXT:    %[[E:.*]] = kconv.exp %[[N]] : vector<1xf32>
// CHECK-NEXT:    %[[M:.*]] = kconv.mul %[[E]], %B : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[M]] : vector<1xf32>
kconv.reduction @gaussian_by_hand sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"B", j, 1>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>, %b: vector<1xf32>):
  %one = kconv.constant 1.0 : vector<1xf32>
  %zero = kconv.constant 0.0 : vector<1xf32>
  %0 = kconv.sub %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.pow %0, 2 : vector<3xf32>
  %2 = kconv.sum %1 : vector<3xf32>
  %3 = kconv.neg %2 : vector<1xf32>
  %4 = kconv.mul %3, %one : vector<1xf32>, vector<1xf32>
  %5 = kconv.exp %4 : vector<1xf32>
  %6 = kconv.mul %5, %b : vector<1xf32>, vector<1xf32>
  %7 = kconv.add %6, %zero : vector<1xf32>, vector<1xf32>
  kconv.yield %7 : vector<1xf32>
}
