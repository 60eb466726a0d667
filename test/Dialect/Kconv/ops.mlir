// RUN: kconv-opt %s | kconv-opt | FileCheck %s

// CHECK-LABEL: kconv.reduction @gaussian_conv sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"B", j, 1>] {
// CHECK-NEXT: ^bb0(%X: vector<3xf32>, %Y: vector<3xf32>, %B: vector<1xf32>):
// CHECK-NEXT:   %[[D:.*]] = kconv.sqdist %X, %Y : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:   %[[N:.*]] = kconv.neg %[[D]] : vector<1xf32>
// CHECK-NEXT:   %[[E:.*]] = kconv.exp %[[N]] : vector<1xf32>
// CHECK-NEXT:   %[[M:.*]] = kconv.mul %[[E]], %B : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:   kconv.yield %[[M]] : vector<1xf32>
kconv.reduction @gaussian_conv sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"B", j, 1>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>, %b: vector<1xf32>):
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.neg %0 : vector<1xf32>
  %2 = kconv.exp %1 : vector<1xf32>
  %3 = kconv.mul %2, %b : vector<1xf32>, vector<1xf32>
  kconv.yield %3 : vector<1xf32>
}
