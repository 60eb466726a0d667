// kconv-fold-exp-scale: Exp(x) -> Exp2(log2(e)·x), the factor log2 e = 1.4426950408889634 pushed
// towards the variables (sqrt(log2 e) = 1.2011224087864498 through a squared distance).
// RUN: kconv-opt %s --kconv-fold-exp-scale --split-input-file | FileCheck %s
// A 10,000-op chain (formulas are not walked recursively), in well under the time limit:
// RUN: python3 %S/Inputs/fold-exp-scale-chain.py 10000 > %t.chain.mlir
// RUN: timeout 60 kconv-opt %t.chain.mlir --kconv-fold-exp-scale | FileCheck %s --check-prefix=CHAIN

// The Gaussian: X (per output row) and Y (stored once in the shared tile) scaled by sqrt(log2 e),
// the negation kept, one exp2 per pair and no multiply.
// CHECK-LABEL: kconv.reduction @gaussian sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %Y: vector<3xf32>, %B: vector<1xf32>):
// CHECK-NEXT:    %[[S:.*]] = kconv.constant 1.2011224087864498 : vector<1xf32>
// CHECK-NEXT:    %[[XS:.*]] = kconv.mul %X, %[[S]] : vector<3xf32>, vector<1xf32>
// CHECK-NEXT:    %[[YS:.*]] = kconv.mul %Y, %[[S]] : vector<3xf32>, vector<1xf32>
// CHECK-NEXT:    %[[D:.*]] = kconv.sqdist %[[XS]], %[[YS]] : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    %[[N:.*]] = kconv.neg %[[D]] : vector<1xf32>
// CHECK-NEXT:    %[[E:.*]] = kconv.exp2 %[[N]] : vector<1xf32>
// CHECK-NEXT:    %[[R:.*]] = kconv.mul %[[E]], %B : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[R]] : vector<1xf32>
kconv.reduction @gaussian sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"B", j, 1>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>, %b: vector<1xf32>):
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.neg %0 : vector<1xf32>
  %2 = kconv.exp %1 : vector<1xf32>
  %3 = kconv.mul %2, %b : vector<1xf32>, vector<1xf32>
  kconv.yield %3 : vector<1xf32>
}

// -----

// axis = 0: the reduced category is i; the same folding.
// CHECK-LABEL: kconv.reduction @gaussian_axis0 sum axis = 0
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %Y: vector<3xf32>, %B: vector<2xf32>):
// CHECK-NEXT:    %[[S:.*]] = kconv.constant 1.2011224087864498 : vector<1xf32>
// CHECK-NEXT:    %[[XS:.*]] = kconv.mul %X, %[[S]] : vector<3xf32>, vector<1xf32>
// CHECK-NEXT:    %[[YS:.*]] = kconv.mul %Y, %[[S]] : vector<3xf32>, vector<1xf32>
// CHECK-NEXT:    %[[D:.*]] = kconv.sqdist %[[XS]], %[[YS]] : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    %[[N:.*]] = kconv.neg %[[D]] : vector<1xf32>
// CHECK-NEXT:    %[[E:.*]] = kconv.exp2 %[[N]] : vector<1xf32>
// CHECK-NEXT:    %[[R:.*]] = kconv.mul %[[E]], %B : vector<1xf32>, vector<2xf32>
// CHECK-NEXT:    kconv.yield %[[R]] : vector<2xf32>
kconv.reduction @gaussian_axis0 sum axis = 0 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"B", i, 2>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>, %b: vector<2xf32>):
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.neg %0 : vector<1xf32>
  %2 = kconv.exp %1 : vector<1xf32>
  %3 = kconv.mul %2, %b : vector<1xf32>, vector<2xf32>
  kconv.yield %3 : vector<2xf32>
}

// -----

// Exp(-(G · SqDist(X, Y))) with G a parameter: a product absorbs into its left side when that
// side can (here the parameter, scaled once), else into the right one.
// CHECK-LABEL: kconv.reduction @param_left sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %Y: vector<3xf32>, %G: vector<1xf32>):
// CHECK-NEXT:    %[[D:.*]] = kconv.sqdist %X, %Y : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    %[[C:.*]] = kconv.constant -1.4426950408889634 : vector<1xf32>
// CHECK-NEXT:    %[[GS:.*]] = kconv.mul %G, %[[C]] : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    %[[P:.*]] = kconv.mul %[[GS]], %[[D]] : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    %[[E:.*]] = kconv.exp2 %[[P]] : vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[E]] : vector<1xf32>
kconv.reduction @param_left sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"G", p, 1>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>, %g: vector<1xf32>):
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.mul %g, %0 : vector<1xf32>, vector<1xf32>
  %2 = kconv.neg %1 : vector<1xf32>
  %3 = kconv.exp %2 : vector<1xf32>
  kconv.yield %3 : vector<1xf32>
}

// -----

// Exp(-(SqDist(X, Y) · G)): the left side absorbs first.
// CHECK-LABEL: kconv.reduction @param_right sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %Y: vector<3xf32>, %G: vector<1xf32>):
// CHECK-NEXT:    %[[S:.*]] = kconv.constant 1.2011224087864498 : vector<1xf32>
// CHECK-NEXT:    %[[XS:.*]] = kconv.mul %X, %[[S]] : vector<3xf32>, vector<1xf32>
// CHECK-NEXT:    %[[YS:.*]] = kconv.mul %Y, %[[S]] : vector<3xf32>, vector<1xf32>
// CHECK-NEXT:    %[[D:.*]] = kconv.sqdist %[[XS]], %[[YS]] : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    %[[N:.*]] = kconv.neg %[[D]] : vector<1xf32>
// CHECK-NEXT:    %[[P:.*]] = kconv.mul %[[N]], %G : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    %[[E:.*]] = kconv.exp2 %[[P]] : vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[E]] : vector<1xf32>
kconv.reduction @param_right sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"G", p, 1>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>, %g: vector<1xf32>):
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.mul %0, %g : vector<1xf32>, vector<1xf32>
  %2 = kconv.neg %1 : vector<1xf32>
  %3 = kconv.exp %2 : vector<1xf32>
  kconv.yield %3 : vector<1xf32>
}

// -----

// Exp(SqDist(X, Y) · (-2.5) + (-1)): the sum absorbs on both sides; the product by -2.5 passes
// c = -2.5·log2 e on, the distance takes sqrt(|c|) = 1.8991412802165111 and the sign; the constant
// folds to -log2 e.
// CHECK-LABEL: kconv.reduction @negative_constants sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %Y: vector<3xf32>):
// CHECK-NEXT:    %[[M:.*]] = kconv.constant -1.4426950408889634 : vector<1xf32>
// CHECK-NEXT:    %[[S:.*]] = kconv.constant 1.8991412802165111 : vector<1xf32>
// CHECK-NEXT:    %[[XS:.*]] = kconv.mul %X, %[[S]] : vector<3xf32>, vector<1xf32>
// CHECK-NEXT:    %[[YS:.*]] = kconv.mul %Y, %[[S]] : vector<3xf32>, vector<1xf32>
// CHECK-NEXT:    %[[D:.*]] = kconv.sqdist %[[XS]], %[[YS]] : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    %[[N:.*]] = kconv.neg %[[D]] : vector<1xf32>
// CHECK-NEXT:    %[[A:.*]] = kconv.add %[[N]], %[[M]] : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    %[[E:.*]] = kconv.exp2 %[[A]] : vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[E]] : vector<1xf32>
kconv.reduction @negative_constants sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>):
  %c = kconv.constant -2.500000e+00 : vector<1xf32>
  %m = kconv.constant -1.000000e+00 : vector<1xf32>
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.mul %0, %c : vector<1xf32>, vector<1xf32>
  %2 = kconv.add %1, %m : vector<1xf32>, vector<1xf32>
  %3 = kconv.exp %2 : vector<1xf32>
  kconv.yield %3 : vector<1xf32>
}

// -----

// Exp(-Sqrt(SqDist(X, Y))) + Exp(Scalprod(B, X) / 4): c·√a = sign(c)·√(c²·a), so the distance
// takes c² = log2(e)² and its operands log2 e; a quotient by a constant passes c/4 on, a scalar
// product absorbs into its left side (B: reduced, wanted at that one scale only).
// CHECK-LABEL: kconv.reduction @sqrt_div_scalprod sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %Y: vector<3xf32>, %B: vector<3xf32>):
// CHECK-NEXT:    %[[L:.*]] = kconv.constant 1.4426950408889634 : vector<1xf32>
// CHECK-NEXT:    %[[XS:.*]] = kconv.mul %X, %[[L]] : vector<3xf32>, vector<1xf32>
// CHECK-NEXT:    %[[YS:.*]] = kconv.mul %Y, %[[L]] : vector<3xf32>, vector<1xf32>
// CHECK-NEXT:    %[[D:.*]] = kconv.sqdist %[[XS]], %[[YS]] : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    %[[R:.*]] = kconv.sqrt %[[D]] : vector<1xf32>
// CHECK-NEXT:    %[[N:.*]] = kconv.neg %[[R]] : vector<1xf32>
// CHECK-NEXT:    %[[E1:.*]] = kconv.exp2 %[[N]] : vector<1xf32>
// CHECK-NEXT:    %[[Q:.*]] = kconv.constant 0.36067376022224085 : vector<1xf32>
// CHECK-NEXT:    %[[BS:.*]] = kconv.mul %B, %[[Q]] : vector<3xf32>, vector<1xf32>
// CHECK-NEXT:    %[[P:.*]] = kconv.scalprod %[[BS]], %X : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    %[[E2:.*]] = kconv.exp2 %[[P]] : vector<1xf32>
// CHECK-NEXT:    %[[S:.*]] = kconv.add %[[E1]], %[[E2]] : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[S]] : vector<1xf32>
kconv.reduction @sqrt_div_scalprod sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"B", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>, %b: vector<3xf32>):
  %c = kconv.constant 4.000000e+00 : vector<1xf32>
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.sqrt %0 : vector<1xf32>
  %2 = kconv.neg %1 : vector<1xf32>
  %3 = kconv.exp %2 : vector<1xf32>
  %4 = kconv.scalprod %b, %x : vector<3xf32>, vector<3xf32>
  %5 = kconv.div %4, %c : vector<1xf32>, vector<1xf32>
  %6 = kconv.exp %5 : vector<1xf32>
  %7 = kconv.add %3, %6 : vector<1xf32>, vector<1xf32>
  kconv.yield %7 : vector<1xf32>
}

// -----

// Exp(Sqrt(X) · (-3)) with X an output variable: c = -3·log2 e < 0 still goes under the root,
// as c² = 18.73, and the sign stays outside.
// CHECK-LABEL: kconv.reduction @sqrt_negative sum
// CHECK-NEXT:  ^bb0(%X: vector<2xf32>, %Y: vector<2xf32>):
// CHECK-NEXT:    %[[C:.*]] = kconv.constant 18.732320829050465 : vector<1xf32>
// CHECK-NEXT:    %[[XS:.*]] = kconv.mul %X, %[[C]] : vector<2xf32>, vector<1xf32>
// CHECK-NEXT:    %[[R:.*]] = kconv.sqrt %[[XS]] : vector<2xf32>
// CHECK-NEXT:    %[[N:.*]] = kconv.neg %[[R]] : vector<2xf32>
// CHECK-NEXT:    %[[E:.*]] = kconv.exp2 %[[N]] : vector<2xf32>
// CHECK-NEXT:    %[[P:.*]] = kconv.mul %[[E]], %Y : vector<2xf32>, vector<2xf32>
// CHECK-NEXT:    kconv.yield %[[P]] : vector<2xf32>
kconv.reduction @sqrt_negative sum axis = 1 vars [#kconv.var<"X", i, 2>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<2xf32>, %y: vector<2xf32>):
  %c = kconv.constant -3.000000e+00 : vector<1xf32>
  %0 = kconv.sqrt %x : vector<2xf32>
  %1 = kconv.mul %0, %c : vector<2xf32>, vector<1xf32>
  %2 = kconv.exp %1 : vector<2xf32>
  %3 = kconv.mul %2, %y : vector<2xf32>, vector<2xf32>
  kconv.yield %3 : vector<2xf32>
}

// -----

// Exp(Log(X · Y)): a logarithm absorbs nothing, the multiply stays at its level.
// CHECK-LABEL: kconv.reduction @exp_log sum
// CHECK-NEXT:  ^bb0(%X: vector<2xf32>, %Y: vector<2xf32>):
// CHECK-NEXT:    %[[P:.*]] = kconv.mul %X, %Y : vector<2xf32>, vector<2xf32>
// CHECK-NEXT:    %[[L:.*]] = kconv.log %[[P]] : vector<2xf32>
// CHECK-NEXT:    %[[C:.*]] = kconv.constant 1.4426950408889634 : vector<1xf32>
// CHECK-NEXT:    %[[S:.*]] = kconv.mul %[[L]], %[[C]] : vector<2xf32>, vector<1xf32>
// CHECK-NEXT:    %[[E:.*]] = kconv.exp2 %[[S]] : vector<2xf32>
// CHECK-NEXT:    kconv.yield %[[E]] : vector<2xf32>
kconv.reduction @exp_log sum axis = 1 vars [#kconv.var<"X", i, 2>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<2xf32>, %y: vector<2xf32>):
  %0 = kconv.mul %x, %y : vector<2xf32>, vector<2xf32>
  %1 = kconv.log %0 : vector<2xf32>
  %2 = kconv.exp %1 : vector<2xf32>
  kconv.yield %2 : vector<2xf32>
}

// -----

// Exp(-SqDist(X, Y)) + Exp(SqDist(X, Y) · (-2)): Y would be wanted at sqrt(log2 e) and at
// sqrt(2·log2 e); it is staged once, so it is pinned and each distance is multiplied at its level.
// CHECK-LABEL: kconv.reduction @reduced_two_scales sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %Y: vector<3xf32>):
// CHECK-NEXT:    %[[D:.*]] = kconv.sqdist %X, %Y : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    %[[C2:.*]] = kconv.constant -2.8853900817779268 : vector<1xf32>
// CHECK-NEXT:    %[[S2:.*]] = kconv.mul %[[D]], %[[C2]] : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    %[[C1:.*]] = kconv.constant -1.4426950408889634 : vector<1xf32>
// CHECK-NEXT:    %[[S1:.*]] = kconv.mul %[[D]], %[[C1]] : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    %[[E1:.*]] = kconv.exp2 %[[S1]] : vector<1xf32>
// CHECK-NEXT:    %[[E2:.*]] = kconv.exp2 %[[S2]] : vector<1xf32>
// CHECK-NEXT:    %[[A:.*]] = kconv.add %[[E1]], %[[E2]] : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[A]] : vector<1xf32>
kconv.reduction @reduced_two_scales sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>):
  %c = kconv.constant -2.000000e+00 : vector<1xf32>
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.neg %0 : vector<1xf32>
  %2 = kconv.exp %1 : vector<1xf32>
  %3 = kconv.mul %0, %c : vector<1xf32>, vector<1xf32>
  %4 = kconv.exp %3 : vector<1xf32>
  %5 = kconv.add %2, %4 : vector<1xf32>, vector<1xf32>
  kconv.yield %5 : vector<1xf32>
}

// -----

// Exp(-SqDist(X, Y)) · Sum(Y): Y wanted scaled and unscaled is pinned too.
// CHECK-LABEL: kconv.reduction @reduced_scaled_and_unscaled sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %Y: vector<3xf32>):
// CHECK-NEXT:    %[[D:.*]] = kconv.sqdist %X, %Y : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    %[[C:.*]] = kconv.constant -1.4426950408889634 : vector<1xf32>
// CHECK-NEXT:    %[[S:.*]] = kconv.mul %[[D]], %[[C]] : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    %[[E:.*]] = kconv.exp2 %[[S]] : vector<1xf32>
// CHECK-NEXT:    %[[Y:.*]] = kconv.sum %Y : vector<3xf32>
// CHECK-NEXT:    %[[P:.*]] = kconv.mul %[[E]], %[[Y]] : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[P]] : vector<1xf32>
kconv.reduction @reduced_scaled_and_unscaled sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>):
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.neg %0 : vector<1xf32>
  %2 = kconv.exp %1 : vector<1xf32>
  %3 = kconv.sum %y : vector<3xf32>
  %4 = kconv.mul %2, %3 : vector<1xf32>, vector<1xf32>
  kconv.yield %4 : vector<1xf32>
}

// -----

// Exp(-Y) · Y: a pinned variable absorbs nothing, but a negation still passes the factor on, so
// the multiply lands on Y itself (one per pair, as at any level).
// CHECK-LABEL: kconv.reduction @pinned_pass_on sum
// CHECK-NEXT:  ^bb0(%X: vector<1xf32>, %Y: vector<1xf32>):
// CHECK-NEXT:    %[[C:.*]] = kconv.constant -1.4426950408889634 : vector<1xf32>
// CHECK-NEXT:    %[[S:.*]] = kconv.mul %Y, %[[C]] : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    %[[E:.*]] = kconv.exp2 %[[S]] : vector<1xf32>
// CHECK-NEXT:    %[[P:.*]] = kconv.mul %[[E]], %Y : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[P]] : vector<1xf32>
kconv.reduction @pinned_pass_on sum axis = 1 vars [#kconv.var<"X", i, 1>, #kconv.var<"Y", j, 1>] {
^bb0(%x: vector<1xf32>, %y: vector<1xf32>):
  %0 = kconv.neg %y : vector<1xf32>
  %1 = kconv.exp %0 : vector<1xf32>
  %2 = kconv.mul %1, %y : vector<1xf32>, vector<1xf32>
  kconv.yield %2 : vector<1xf32>
}

// -----

// Exp(-SqDist(X, Y)) · X: an output variable may be wanted scaled and unscaled (each copy is made
// once per output row).
// CHECK-LABEL: kconv.reduction @output_two_scales sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %Y: vector<3xf32>):
// CHECK-NEXT:    %[[S:.*]] = kconv.constant 1.2011224087864498 : vector<1xf32>
// CHECK-NEXT:    %[[XS:.*]] = kconv.mul %X, %[[S]] : vector<3xf32>, vector<1xf32>
// CHECK-NEXT:    %[[YS:.*]] = kconv.mul %Y, %[[S]] : vector<3xf32>, vector<1xf32>
// CHECK-NEXT:    %[[D:.*]] = kconv.sqdist %[[XS]], %[[YS]] : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    %[[N:.*]] = kconv.neg %[[D]] : vector<1xf32>
// CHECK-NEXT:    %[[E:.*]] = kconv.exp2 %[[N]] : vector<1xf32>
// CHECK-NEXT:    %[[P:.*]] = kconv.mul %[[E]], %X : vector<1xf32>, vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[P]] : vector<3xf32>
kconv.reduction @output_two_scales sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>):
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.neg %0 : vector<1xf32>
  %2 = kconv.exp %1 : vector<1xf32>
  %3 = kconv.mul %2, %x : vector<1xf32>, vector<3xf32>
  kconv.yield %3 : vector<3xf32>
}

// -----

// Pinning to a fixpoint: Exp(-(SqDist(X, Y) + SqDist(X, Z))) + Exp(-(SqDist(X, Y) · 2))
// + Exp(-SqDist(X, Z)). Round 1 pins Y (two scales); then the first sum no longer absorbs, so it
// wants SqDist(X, Z) unscaled while the third Exp wants it scaled: round 2 pins Z.
// CHECK-LABEL: kconv.reduction @pin_fixpoint sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %Y: vector<3xf32>, %Z: vector<3xf32>):
// CHECK-NEXT:    %[[DY:.*]] = kconv.sqdist %X, %Y : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    %[[C2:.*]] = kconv.constant -2.8853900817779268 : vector<1xf32>
// CHECK-NEXT:    %[[SY:.*]] = kconv.mul %[[DY]], %[[C2]] : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    %[[DZ:.*]] = kconv.sqdist %X, %Z : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    %[[C1:.*]] = kconv.constant -1.4426950408889634 : vector<1xf32>
// CHECK-NEXT:    %[[SZ:.*]] = kconv.mul %[[DZ]], %[[C1]] : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    %[[A:.*]] = kconv.add %[[DY]], %[[DZ]] : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    %[[SA:.*]] = kconv.mul %[[A]], %[[C1]] : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    %[[E1:.*]] = kconv.exp2 %[[SA]] : vector<1xf32>
// CHECK-NEXT:    %[[E2:.*]] = kconv.exp2 %[[SY]] : vector<1xf32>
// CHECK-NEXT:    %[[E3:.*]] = kconv.exp2 %[[SZ]] : vector<1xf32>
// CHECK-NEXT:    %[[T:.*]] = kconv.add %[[E1]], %[[E2]] : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    %[[R:.*]] = kconv.add %[[T]], %[[E3]] : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[R]] : vector<1xf32>
kconv.reduction @pin_fixpoint sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"Z", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>, %z: vector<3xf32>):
  %c = kconv.constant 2.000000e+00 : vector<1xf32>
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.sqdist %x, %z : vector<3xf32>, vector<3xf32>
  %2 = kconv.add %0, %1 : vector<1xf32>, vector<1xf32>
  %3 = kconv.neg %2 : vector<1xf32>
  %4 = kconv.exp %3 : vector<1xf32>
  %5 = kconv.mul %0, %c : vector<1xf32>, vector<1xf32>
  %6 = kconv.neg %5 : vector<1xf32>
  %7 = kconv.exp %6 : vector<1xf32>
  %8 = kconv.neg %1 : vector<1xf32>
  %9 = kconv.exp %8 : vector<1xf32>
  %10 = kconv.add %4, %7 : vector<1xf32>, vector<1xf32>
  %11 = kconv.add %10, %9 : vector<1xf32>, vector<1xf32>
  kconv.yield %11 : vector<1xf32>
}

// -----

// Exp(-SqDist(X, Y)) + Exp(Exp(-SqDist(X, Y))): the inner Exp is used as it is and inside the
// outer one (scaled there at its own level); both uses see the one Exp2.
// CHECK-LABEL: kconv.reduction @exp_in_sum_of_exps sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %Y: vector<3xf32>):
// CHECK-NEXT:    %[[S:.*]] = kconv.constant 1.2011224087864498 : vector<1xf32>
// CHECK-NEXT:    %[[XS:.*]] = kconv.mul %X, %[[S]] : vector<3xf32>, vector<1xf32>
// CHECK-NEXT:    %[[YS:.*]] = kconv.mul %Y, %[[S]] : vector<3xf32>, vector<1xf32>
// CHECK-NEXT:    %[[D:.*]] = kconv.sqdist %[[XS]], %[[YS]] : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    %[[N:.*]] = kconv.neg %[[D]] : vector<1xf32>
// CHECK-NEXT:    %[[E1:.*]] = kconv.exp2 %[[N]] : vector<1xf32>
// CHECK-NEXT:    %[[L:.*]] = kconv.constant 1.4426950408889634 : vector<1xf32>
// CHECK-NEXT:    %[[M:.*]] = kconv.mul %[[E1]], %[[L]] : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    %[[E2:.*]] = kconv.exp2 %[[M]] : vector<1xf32>
// CHECK-NEXT:    %[[A:.*]] = kconv.add %[[E1]], %[[E2]] : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[A]] : vector<1xf32>
kconv.reduction @exp_in_sum_of_exps sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>):
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.neg %0 : vector<1xf32>
  %2 = kconv.exp %1 : vector<1xf32>
  %3 = kconv.exp %2 : vector<1xf32>
  %4 = kconv.add %2, %3 : vector<1xf32>, vector<1xf32>
  kconv.yield %4 : vector<1xf32>
}

// -----

// A value used inside and outside an Exp: -SqNorm2(X) stays as it is for the product and is
// rebuilt, on the scaled X, inside the Exp (never changed in place).
// CHECK-LABEL: kconv.reduction @shared_inside_outside sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %B: vector<1xf32>):
// CHECK-NEXT:    %[[Q:.*]] = kconv.sqnorm2 %X : vector<3xf32>
// CHECK-NEXT:    %[[S:.*]] = kconv.constant 1.2011224087864498 : vector<1xf32>
// CHECK-NEXT:    %[[XS:.*]] = kconv.mul %X, %[[S]] : vector<3xf32>, vector<1xf32>
// CHECK-NEXT:    %[[QS:.*]] = kconv.sqnorm2 %[[XS]] : vector<3xf32>
// CHECK-NEXT:    %[[NS:.*]] = kconv.neg %[[QS]] : vector<1xf32>
// CHECK-NEXT:    %[[N:.*]] = kconv.neg %[[Q]] : vector<1xf32>
// CHECK-NEXT:    %[[E:.*]] = kconv.exp2 %[[NS]] : vector<1xf32>
// CHECK-NEXT:    %[[P:.*]] = kconv.mul %[[E]], %[[N]] : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    %[[R:.*]] = kconv.mul %[[P]], %B : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[R]] : vector<1xf32>
kconv.reduction @shared_inside_outside sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"B", j, 1>] {
^bb0(%x: vector<3xf32>, %b: vector<1xf32>):
  %0 = kconv.sqnorm2 %x : vector<3xf32>
  %1 = kconv.neg %0 : vector<1xf32>
  %2 = kconv.exp %1 : vector<1xf32>
  %3 = kconv.mul %2, %1 : vector<1xf32>, vector<1xf32>
  %4 = kconv.mul %3, %b : vector<1xf32>, vector<1xf32>
  kconv.yield %4 : vector<1xf32>
}

// -----

// Exp(-SqNorm2(X)) · Exp(X) · B, every Exp on output-only values: X takes two scales.
// CHECK-LABEL: kconv.reduction @output_only sum
// CHECK-NEXT:  ^bb0(%X: vector<2xf32>, %B: vector<2xf32>):
// CHECK-NEXT:    %[[S:.*]] = kconv.constant 1.2011224087864498 : vector<1xf32>
// CHECK-NEXT:    %[[XS:.*]] = kconv.mul %X, %[[S]] : vector<2xf32>, vector<1xf32>
// CHECK-NEXT:    %[[Q:.*]] = kconv.sqnorm2 %[[XS]] : vector<2xf32>
// CHECK-NEXT:    %[[N:.*]] = kconv.neg %[[Q]] : vector<1xf32>
// CHECK-NEXT:    %[[E1:.*]] = kconv.exp2 %[[N]] : vector<1xf32>
// CHECK-NEXT:    %[[L:.*]] = kconv.constant 1.4426950408889634 : vector<1xf32>
// CHECK-NEXT:    %[[XL:.*]] = kconv.mul %X, %[[L]] : vector<2xf32>, vector<1xf32>
// CHECK-NEXT:    %[[E2:.*]] = kconv.exp2 %[[XL]] : vector<2xf32>
// CHECK-NEXT:    %[[P:.*]] = kconv.mul %[[E1]], %[[E2]] : vector<1xf32>, vector<2xf32>
// CHECK-NEXT:    %[[R:.*]] = kconv.mul %[[P]], %B : vector<2xf32>, vector<2xf32>
// CHECK-NEXT:    kconv.yield %[[R]] : vector<2xf32>
kconv.reduction @output_only sum axis = 1 vars [#kconv.var<"X", i, 2>, #kconv.var<"B", j, 2>] {
^bb0(%x: vector<2xf32>, %b: vector<2xf32>):
  %0 = kconv.sqnorm2 %x : vector<2xf32>
  %1 = kconv.neg %0 : vector<1xf32>
  %2 = kconv.exp %1 : vector<1xf32>
  %3 = kconv.exp %x : vector<2xf32>
  %4 = kconv.mul %2, %3 : vector<1xf32>, vector<2xf32>
  %5 = kconv.mul %4, %b : vector<2xf32>, vector<2xf32>
  kconv.yield %5 : vector<2xf32>
}

// -----

// Sum, Elem and Concat pass the factor through; Square takes sqrt(c); a formula without Exp is
// left alone (next case).
// CHECK-LABEL: kconv.reduction @pass_through sum
// CHECK-NEXT:  ^bb0(%X: vector<2xf32>, %Y: vector<2xf32>):
// CHECK-NEXT:    %[[S:.*]] = kconv.constant 1.2011224087864498 : vector<1xf32>
// CHECK-NEXT:    %[[YS:.*]] = kconv.mul %Y, %[[S]] : vector<2xf32>, vector<1xf32>
// CHECK-NEXT:    %[[SQ:.*]] = kconv.square %[[YS]] : vector<2xf32>
// CHECK-NEXT:    %[[L:.*]] = kconv.constant 1.4426950408889634 : vector<1xf32>
// CHECK-NEXT:    %[[XL:.*]] = kconv.mul %X, %[[L]] : vector<2xf32>, vector<1xf32>
// CHECK-NEXT:    %[[C:.*]] = kconv.concat %[[XL]], %[[SQ]] : vector<2xf32>, vector<2xf32>
// CHECK-NEXT:    %[[SU:.*]] = kconv.sum %[[C]] : vector<4xf32>
// CHECK-NEXT:    %[[EL:.*]] = kconv.elem %[[C]], 3 : vector<4xf32>
// CHECK-NEXT:    %[[A:.*]] = kconv.sub %[[SU]], %[[EL]] : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    %[[E:.*]] = kconv.exp2 %[[A]] : vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[E]] : vector<1xf32>
kconv.reduction @pass_through sum axis = 1 vars [#kconv.var<"X", i, 2>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<2xf32>, %y: vector<2xf32>):
  %0 = kconv.square %y : vector<2xf32>
  %1 = kconv.concat %x, %0 : vector<2xf32>, vector<2xf32>
  %2 = kconv.sum %1 : vector<4xf32>
  %3 = kconv.elem %1, 3 : vector<4xf32>
  %4 = kconv.sub %2, %3 : vector<1xf32>, vector<1xf32>
  %5 = kconv.exp %4 : vector<1xf32>
  kconv.yield %5 : vector<1xf32>
}

// -----

// CHECK-LABEL: kconv.reduction @no_exp sum
// CHECK-NEXT:  ^bb0(%X: vector<2xf32>, %Y: vector<2xf32>):
// CHECK-NEXT:    %[[D:.*]] = kconv.sqdist %X, %Y : vector<2xf32>, vector<2xf32>
// CHECK-NEXT:    %[[N:.*]] = kconv.neg %[[D]] : vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[N]] : vector<1xf32>
kconv.reduction @no_exp sum axis = 1 vars [#kconv.var<"X", i, 2>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<2xf32>, %y: vector<2xf32>):
  %0 = kconv.sqdist %x, %y : vector<2xf32>, vector<2xf32>
  %1 = kconv.neg %0 : vector<1xf32>
  kconv.yield %1 : vector<1xf32>
}

// The chain: -(... -(SqDist(X, Y) + Q) ... + Q): every level passes ±log2 e on, so Y is wanted at
// sqrt(log2 e) only and keeps its fold; one Exp2, no Exp left.
// CHAIN-LABEL: kconv.reduction @chain sum
// CHAIN:     %[[S:.*]] = kconv.constant 1.2011224087864498 : vector<1xf32>
// CHAIN:     kconv.mul %Y, %[[S]] : vector<3xf32>, vector<1xf32>
// CHAIN-NOT: kconv.mul %Y
// CHAIN-NOT: kconv.exp {{.*}}
// CHAIN:     %[[E:.*]] = kconv.exp2
// CHAIN-NEXT: kconv.yield %[[E]] : vector<1xf32>

// -----

// LogSumExp takes exp of its f (the yield's first component) without an Exp op: f gets the log2 e
// factor (here into the parameter, computed once) and the reduction `log2_exponent`; the weight
// (the frontend's constant 1) stays.
// CHECK-LABEL: kconv.reduction @sinkhorn logsumexp
// CHECK-SAME:  attributes {log2_exponent}
// CHECK:         %[[ONE:.*]] = kconv.constant 1.000000e+00
// CHECK:         %[[C:.*]] = kconv.constant -1.4426950408889634
// CHECK:         %[[G:.*]] = kconv.mul %G, %[[C]]
// CHECK:         %[[D:.*]] = kconv.sqdist %X, %Y
// CHECK:         %[[F:.*]] = kconv.mul %[[G]], %[[D]]
// CHECK:         %[[Y:.*]] = kconv.concat %[[F]], %[[ONE]]
// CHECK-NEXT:    kconv.yield %[[Y]]
kconv.reduction @sinkhorn logsumexp axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"G", p, 1>] {
^bb0(%X: vector<3xf32>, %Y: vector<3xf32>, %G: vector<1xf32>):
  %0 = kconv.constant 1.000000e+00 : vector<1xf32>
  %1 = kconv.neg %G : vector<1xf32>
  %2 = kconv.sqdist %X, %Y : vector<3xf32>, vector<3xf32>
  %3 = kconv.mul %1, %2 : vector<1xf32>, vector<1xf32>
  %4 = kconv.concat %3, %0 : vector<1xf32>, vector<1xf32>
  kconv.yield %4 : vector<2xf32>
}

// -----

// SumSoftMaxWeight: f scaled (through the squared distance into both variables), g = B unscaled.
// CHECK-LABEL: kconv.reduction @softmax sumsoftmaxweight
// CHECK-SAME:  attributes {log2_exponent}
// CHECK:         %[[S:.*]] = kconv.constant 1.2011224087864498
// CHECK:         %[[XS:.*]] = kconv.mul %X, %[[S]]
// CHECK:         %[[YS:.*]] = kconv.mul %Y, %[[S]]
// CHECK:         %[[D:.*]] = kconv.sqdist %[[XS]], %[[YS]]
// CHECK:         %[[F:.*]] = kconv.neg %[[D]]
// CHECK:         %[[Y:.*]] = kconv.concat %[[F]], %B
// CHECK-NEXT:    kconv.yield %[[Y]]
kconv.reduction @softmax sumsoftmaxweight axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"B", j, 2>] {
^bb0(%X: vector<3xf32>, %Y: vector<3xf32>, %B: vector<2xf32>):
  %0 = kconv.sqdist %X, %Y : vector<3xf32>, vector<3xf32>
  %1 = kconv.neg %0 : vector<1xf32>
  %2 = kconv.concat %1, %B : vector<1xf32>, vector<2xf32>
  kconv.yield %2 : vector<3xf32>
}

// -----

// Max_SumShiftExp outputs max f itself: its f stays in natural units.
// CHECK-LABEL: kconv.reduction @max_shift max_sumshiftexp
// CHECK-NOT:   log2_exponent
// CHECK:         %[[D:.*]] = kconv.sqdist %X, %Y
// CHECK-NEXT:    %[[F:.*]] = kconv.neg %[[D]]
kconv.reduction @max_shift max_sumshiftexp axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%X: vector<3xf32>, %Y: vector<3xf32>):
  %0 = kconv.constant 1.000000e+00 : vector<1xf32>
  %1 = kconv.sqdist %X, %Y : vector<3xf32>, vector<3xf32>
  %2 = kconv.neg %1 : vector<1xf32>
  %3 = kconv.concat %2, %0 : vector<1xf32>, vector<1xf32>
  kconv.yield %3 : vector<2xf32>
}
