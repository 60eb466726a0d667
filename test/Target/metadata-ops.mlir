// RUN: kconv-compile %s --emit=metadata --cpu=x86-64-v3 | FileCheck %s

// int= (pow exponent, elem index) and real= (constants); parameters; axis 0; a 2-d output.

// CHECK:      reduction ops
// CHECK:      axis 0
// CHECK:      value_dim 2
// CHECK-NEXT: index_dim 0
// CHECK-NEXT: var X i 2
// CHECK-NEXT: var P p 1
// CHECK-NEXT: var Y j 2
// CHECK-NEXT: op constant 1 real=0.25
// CHECK-NEXT: op elem 1 0 int=1
// CHECK-NEXT: op pow 1 4 int=-3
// CHECK-NEXT: op mul 1 5 1
// CHECK-NEXT: op add 1 6 3
// CHECK-NEXT: op concat 2 7 7
// CHECK-NEXT: op sub 2 8 2
// CHECK-NEXT: yield 9
kconv.reduction @ops sum axis = 0 vars [#kconv.var<"X", i, 2>, #kconv.var<"P", p, 1>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<2xf32>, %p: vector<1xf32>, %y: vector<2xf32>):
  %c = kconv.constant 0.25 : vector<1xf32>
  %0 = kconv.elem %x, 1 : vector<2xf32>
  %1 = kconv.pow %0, -3 : vector<1xf32>
  %2 = kconv.mul %1, %p : vector<1xf32>, vector<1xf32>
  %3 = kconv.add %2, %c : vector<1xf32>, vector<1xf32>
  %4 = kconv.concat %3, %3 : vector<1xf32>, vector<1xf32>
  %5 = kconv.sub %4, %y : vector<2xf32>, vector<2xf32>
  kconv.yield %5 : vector<2xf32>
}
