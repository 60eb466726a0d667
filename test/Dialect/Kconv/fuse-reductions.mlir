// kconv-fuse-reductions: a fused reduction per group of reductions of one kind, axis and
// variable set; the members stay.
// RUN: kconv-opt %s --kconv-fuse-reductions --split-input-file | FileCheck %s
// RUN: kconv-opt %s --kconv-fuse-reductions="max-dim=3" --split-input-file | FileCheck %s --check-prefix=LIMIT
// RUN: kconv-opt %s --kconv-fuse-reductions --kconv-fuse-reductions --split-input-file | FileCheck %s --check-prefix=TWICE

// Value and gradient-style pair: one fused reduction, both bodies, the yields concatenated.
kconv.reduction @value sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"B", j, 1>] {
^bb0(%X: vector<3xf32>, %Y: vector<3xf32>, %B: vector<1xf32>):
  %0 = kconv.sqdist %X, %Y : vector<3xf32>, vector<3xf32>
  %1 = kconv.exp %0 : vector<1xf32>
  %2 = kconv.mul %1, %B : vector<1xf32>, vector<1xf32>
  kconv.yield %2 : vector<1xf32>
}
kconv.reduction @grad sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"B", j, 1>] {
^bb0(%X: vector<3xf32>, %Y: vector<3xf32>, %B: vector<1xf32>):
  %0 = kconv.sqdist %X, %Y : vector<3xf32>, vector<3xf32>
  %1 = kconv.exp %0 : vector<1xf32>
  %2 = kconv.sub %X, %Y : vector<3xf32>, vector<3xf32>
  %3 = kconv.mul %1, %2 : vector<1xf32>, vector<3xf32>
  kconv.yield %3 : vector<3xf32>
}

// CHECK-LABEL: kconv.reduction @value sum
// CHECK-LABEL: kconv.reduction @grad sum
// CHECK-LABEL: kconv.reduction @fused__value__grad sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"B", j, 1>] attributes {fuses = [@value, @grad]} {
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %Y: vector<3xf32>, %B: vector<1xf32>):
// CHECK-NEXT:    %[[D1:.*]] = kconv.sqdist %X, %Y
// CHECK-NEXT:    %[[E1:.*]] = kconv.exp %[[D1]]
// CHECK-NEXT:    %[[V:.*]] = kconv.mul %[[E1]], %B
// CHECK-NEXT:    %[[D2:.*]] = kconv.sqdist %X, %Y
// CHECK-NEXT:    %[[E2:.*]] = kconv.exp %[[D2]]
// CHECK-NEXT:    %[[S:.*]] = kconv.sub %X, %Y
// CHECK-NEXT:    %[[G:.*]] = kconv.mul %[[E2]], %[[S]]
// CHECK-NEXT:    %[[C:.*]] = kconv.concat %[[V]], %[[G]] : vector<1xf32>, vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[C]] : vector<4xf32>
// The concatenated yield has 4 components: over max-dim = 3, not fused.
// LIMIT-LABEL: kconv.reduction @grad
// LIMIT-NOT:   @fused__
// Running the pass again adds nothing.
// TWICE:     @fused__value__grad sum {{.*}} attributes {fuses = [@value, @grad]}
// TWICE-NOT: {fuses = [@value, @grad]}

// -----

// Variables in another order and one only the second reads: the union, in order of first use.
kconv.reduction @first min axis = 0 vars [#kconv.var<"Y", j, 2>, #kconv.var<"X", i, 2>] {
^bb0(%Y: vector<2xf32>, %X: vector<2xf32>):
  %0 = kconv.sqdist %X, %Y : vector<2xf32>, vector<2xf32>
  kconv.yield %0 : vector<1xf32>
}
kconv.reduction @second min axis = 0 vars [#kconv.var<"X", i, 2>, #kconv.var<"Y", j, 2>, #kconv.var<"W", p, 2>] {
^bb0(%X: vector<2xf32>, %Y: vector<2xf32>, %W: vector<2xf32>):
  %0 = kconv.sub %X, %W : vector<2xf32>, vector<2xf32>
  kconv.yield %0 : vector<2xf32>
}

// CHECK-LABEL: kconv.reduction @fused__first__second min axis = 0 vars [#kconv.var<"Y", j, 2>, #kconv.var<"X", i, 2>, #kconv.var<"W", p, 2>] attributes {fuses = [@first, @second]} {
// CHECK-NEXT:  ^bb0(%Y: vector<2xf32>, %X: vector<2xf32>, %W: vector<2xf32>):
// CHECK-NEXT:    %[[D:.*]] = kconv.sqdist %X, %Y
// CHECK-NEXT:    %[[S:.*]] = kconv.sub %X, %W
// CHECK-NEXT:    %[[C:.*]] = kconv.concat %[[D]], %[[S]] : vector<1xf32>, vector<2xf32>
// CHECK-NEXT:    kconv.yield %[[C]] : vector<3xf32>
// LIMIT-LABEL: kconv.reduction @fused__first__second

// -----

// Not fused: another axis, a variable name meaning another variable, a kind with K, a kind
// with a weight.
kconv.reduction @a sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%X: vector<3xf32>):
  kconv.yield %X : vector<3xf32>
}
kconv.reduction @other_axis sum axis = 0 vars [#kconv.var<"X", i, 3>] {
^bb0(%X: vector<3xf32>):
  kconv.yield %X : vector<3xf32>
}
kconv.reduction @other_dim sum axis = 1 vars [#kconv.var<"X", i, 2>] {
^bb0(%X: vector<2xf32>):
  kconv.yield %X : vector<2xf32>
}
kconv.reduction @k1 kmin k = 2 axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%X: vector<3xf32>):
  kconv.yield %X : vector<3xf32>
}
kconv.reduction @k2 kmin k = 2 axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%X: vector<3xf32>):
  kconv.yield %X : vector<3xf32>
}
// CHECK-LABEL: kconv.reduction @k2
// CHECK-NOT:   @fused__

// -----

// The member names' fused name is taken: the next free one.
kconv.reduction @p sum axis = 1 vars [#kconv.var<"X", i, 1>] {
^bb0(%X: vector<1xf32>):
  kconv.yield %X : vector<1xf32>
}
kconv.reduction @fused__p__q min axis = 1 vars [#kconv.var<"X", i, 1>] {
^bb0(%X: vector<1xf32>):
  kconv.yield %X : vector<1xf32>
}
kconv.reduction @q sum axis = 1 vars [#kconv.var<"X", i, 1>] {
^bb0(%X: vector<1xf32>):
  kconv.yield %X : vector<1xf32>
}
// CHECK-LABEL: kconv.reduction @p sum
// CHECK-LABEL: kconv.reduction @q sum
// CHECK:       kconv.reduction @fused__p__q_2 sum {{.*}} attributes {fuses = [@p, @q]}
