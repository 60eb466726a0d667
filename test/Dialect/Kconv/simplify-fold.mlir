// Constant folding of every formula op with constant operands. Folded values are computed in
// double precision; a result that is not finite (Log(0), Sqrt(-1), 1/0, ...) is not folded.
// RUN: kconv-opt %s --kconv-simplify --split-input-file | FileCheck %s

// CHECK-LABEL: kconv.reduction @fold_add sum
// CHECK-NEXT:    %[[C:.*]] = kconv.constant 5.000000e+00 : vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[C]] : vector<1xf32>
kconv.reduction @fold_add sum axis = 1 vars [] {
  %a = kconv.constant 2.0 : vector<1xf32>
  %b = kconv.constant 3.0 : vector<1xf32>
  %0 = kconv.add %a, %b : vector<1xf32>, vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

// CHECK-LABEL: kconv.reduction @fold_sub sum
// CHECK-NEXT:    %[[C:.*]] = kconv.constant -1.000000e+00 : vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[C]] : vector<1xf32>
kconv.reduction @fold_sub sum axis = 1 vars [] {
  %a = kconv.constant 2.0 : vector<1xf32>
  %b = kconv.constant 3.0 : vector<1xf32>
  %0 = kconv.sub %a, %b : vector<1xf32>, vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

// CHECK-LABEL: kconv.reduction @fold_mul sum
// CHECK-NEXT:    %[[C:.*]] = kconv.constant 6.000000e+00 : vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[C]] : vector<1xf32>
kconv.reduction @fold_mul sum axis = 1 vars [] {
  %a = kconv.constant 2.0 : vector<1xf32>
  %b = kconv.constant 3.0 : vector<1xf32>
  %0 = kconv.mul %a, %b : vector<1xf32>, vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

// CHECK-LABEL: kconv.reduction @fold_div sum
// CHECK-NEXT:    %[[C:.*]] = kconv.constant 7.500000e-01 : vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[C]] : vector<1xf32>
kconv.reduction @fold_div sum axis = 1 vars [] {
  %a = kconv.constant 3.0 : vector<1xf32>
  %b = kconv.constant 4.0 : vector<1xf32>
  %0 = kconv.div %a, %b : vector<1xf32>, vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

// Division by zero is left alone.
// CHECK-LABEL: kconv.reduction @no_fold_div_by_zero sum
// CHECK-NEXT:    %[[A:.*]] = kconv.constant 3.000000e+00 : vector<1xf32>
// CHECK-NEXT:    %[[Z:.*]] = kconv.constant 0.000000e+00 : vector<1xf32>
// CHECK-NEXT:    %[[D:.*]] = kconv.div %[[A]], %[[Z]] : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[D]] : vector<1xf32>
kconv.reduction @no_fold_div_by_zero sum axis = 1 vars [] {
  %a = kconv.constant 3.0 : vector<1xf32>
  %z = kconv.constant 0.0 : vector<1xf32>
  %0 = kconv.div %a, %z : vector<1xf32>, vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

// CHECK-LABEL: kconv.reduction @fold_neg sum
// CHECK-NEXT:    %[[C:.*]] = kconv.constant -2.500000e+00 : vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[C]] : vector<1xf32>
kconv.reduction @fold_neg sum axis = 1 vars [] {
  %a = kconv.constant 2.5 : vector<1xf32>
  %0 = kconv.neg %a : vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

// Exp(0) = 1.
// CHECK-LABEL: kconv.reduction @fold_exp_zero sum
// CHECK-NEXT:    %[[C:.*]] = kconv.constant 1.000000e+00 : vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[C]] : vector<1xf32>
kconv.reduction @fold_exp_zero sum axis = 1 vars [] {
  %z = kconv.constant 0.0 : vector<1xf32>
  %0 = kconv.exp %z : vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

// CHECK-LABEL: kconv.reduction @fold_exp sum
// CHECK-NEXT:    %[[C:.*]] = kconv.constant 2.7182818284590451 : vector<1xf64>
// CHECK-NEXT:    kconv.yield %[[C]] : vector<1xf64>
kconv.reduction @fold_exp sum axis = 1 vars [] {
  %a = kconv.constant 1.0 : vector<1xf64>
  %0 = kconv.exp %a : vector<1xf64>
  kconv.yield %0 : vector<1xf64>
}

// -----

// CHECK-LABEL: kconv.reduction @fold_log sum
// CHECK-NEXT:    %[[C:.*]] = kconv.constant 0.000000e+00 : vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[C]] : vector<1xf32>
kconv.reduction @fold_log sum axis = 1 vars [] {
  %a = kconv.constant 1.0 : vector<1xf32>
  %0 = kconv.log %a : vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

// Log(0) = -inf is left alone.
// CHECK-LABEL: kconv.reduction @no_fold_log_zero sum
// CHECK-NEXT:    %[[Z:.*]] = kconv.constant 0.000000e+00 : vector<1xf32>
// CHECK-NEXT:    %[[L:.*]] = kconv.log %[[Z]] : vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[L]] : vector<1xf32>
kconv.reduction @no_fold_log_zero sum axis = 1 vars [] {
  %z = kconv.constant 0.0 : vector<1xf32>
  %0 = kconv.log %z : vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

// Sqrt(4) = 2.
// CHECK-LABEL: kconv.reduction @fold_sqrt sum
// CHECK-NEXT:    %[[C:.*]] = kconv.constant 2.000000e+00 : vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[C]] : vector<1xf32>
kconv.reduction @fold_sqrt sum axis = 1 vars [] {
  %a = kconv.constant 4.0 : vector<1xf32>
  %0 = kconv.sqrt %a : vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

// Sqrt(-1) = NaN is left alone.
// CHECK-LABEL: kconv.reduction @no_fold_sqrt_negative sum
// CHECK-NEXT:    %[[A:.*]] = kconv.constant -1.000000e+00 : vector<1xf32>
// CHECK-NEXT:    %[[S:.*]] = kconv.sqrt %[[A]] : vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[S]] : vector<1xf32>
kconv.reduction @no_fold_sqrt_negative sum axis = 1 vars [] {
  %a = kconv.constant -1.0 : vector<1xf32>
  %0 = kconv.sqrt %a : vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

// CHECK-LABEL: kconv.reduction @fold_rsqrt sum
// CHECK-NEXT:    %[[C:.*]] = kconv.constant 5.000000e-01 : vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[C]] : vector<1xf32>
kconv.reduction @fold_rsqrt sum axis = 1 vars [] {
  %a = kconv.constant 4.0 : vector<1xf32>
  %0 = kconv.rsqrt %a : vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

// CHECK-LABEL: kconv.reduction @fold_square sum
// CHECK-NEXT:    %[[C:.*]] = kconv.constant 9.000000e+00 : vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[C]] : vector<1xf32>
kconv.reduction @fold_square sum axis = 1 vars [] {
  %a = kconv.constant -3.0 : vector<1xf32>
  %0 = kconv.square %a : vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

// CHECK-LABEL: kconv.reduction @fold_inv sum
// CHECK-NEXT:    %[[C:.*]] = kconv.constant 2.500000e-01 : vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[C]] : vector<1xf32>
kconv.reduction @fold_inv sum axis = 1 vars [] {
  %a = kconv.constant 4.0 : vector<1xf32>
  %0 = kconv.inv %a : vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

// CHECK-LABEL: kconv.reduction @fold_abs sum
// CHECK-NEXT:    %[[C:.*]] = kconv.constant 2.000000e+00 : vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[C]] : vector<1xf32>
kconv.reduction @fold_abs sum axis = 1 vars [] {
  %a = kconv.constant -2.0 : vector<1xf32>
  %0 = kconv.abs %a : vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

// Pow(2, 3) = 8, Pow(2, -2) = 0.25.
// CHECK-LABEL: kconv.reduction @fold_pow sum
// CHECK-NEXT:    %[[C:.*]] = kconv.constant 8.250000e+00 : vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[C]] : vector<1xf32>
kconv.reduction @fold_pow sum axis = 1 vars [] {
  %a = kconv.constant 2.0 : vector<1xf32>
  %0 = kconv.pow %a, 3 : vector<1xf32>
  %1 = kconv.pow %a, -2 : vector<1xf32>
  %2 = kconv.add %0, %1 : vector<1xf32>, vector<1xf32>
  kconv.yield %2 : vector<1xf32>
}

// -----

// Pow(0, -1) = inf is left alone.
// CHECK-LABEL: kconv.reduction @no_fold_pow_zero_negative sum
// CHECK-NEXT:    %[[Z:.*]] = kconv.constant 0.000000e+00 : vector<1xf32>
// CHECK-NEXT:    %[[P:.*]] = kconv.pow %[[Z]], -1 : vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[P]] : vector<1xf32>
kconv.reduction @no_fold_pow_zero_negative sum axis = 1 vars [] {
  %z = kconv.constant 0.0 : vector<1xf32>
  %0 = kconv.pow %z, -1 : vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

// The ops with a dimension-1 result, on constants: Sum(3) = Norm2(3) = 3 (one constant),
// SqNorm2(3) = 9, SqDist(3, -2) = 25, Scalprod(3, -2) = -6.
// CHECK-LABEL: kconv.reduction @fold_scalar_results sum
// CHECK-NEXT:    %[[THREE:.*]] = kconv.constant 3.000000e+00 : vector<1xf32>
// CHECK-NEXT:    %[[NINE:.*]] = kconv.constant 9.000000e+00 : vector<1xf32>
// CHECK-NEXT:    %[[TWENTYFIVE:.*]] = kconv.constant 2.500000e+01 : vector<1xf32>
// CHECK-NEXT:    %[[MINUSSIX:.*]] = kconv.constant -6.000000e+00 : vector<1xf32>
// CHECK-NEXT:    %[[A:.*]] = kconv.concat %[[THREE]], %[[NINE]] : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    %[[B:.*]] = kconv.concat %[[THREE]], %[[TWENTYFIVE]] : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    %[[C:.*]] = kconv.concat %[[A]], %[[B]] : vector<2xf32>, vector<2xf32>
// CHECK-NEXT:    %[[D:.*]] = kconv.concat %[[C]], %[[MINUSSIX]] : vector<4xf32>, vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[D]] : vector<5xf32>
kconv.reduction @fold_scalar_results sum axis = 1 vars [] {
  %a = kconv.constant 3.0 : vector<1xf32>
  %b = kconv.constant -2.0 : vector<1xf32>
  %0 = kconv.sum %a : vector<1xf32>
  %1 = kconv.sqnorm2 %a : vector<1xf32>
  %2 = kconv.norm2 %a : vector<1xf32>
  %3 = kconv.sqdist %a, %b : vector<1xf32>, vector<1xf32>
  %4 = kconv.scalprod %a, %b : vector<1xf32>, vector<1xf32>
  %5 = kconv.concat %0, %1 : vector<1xf32>, vector<1xf32>
  %6 = kconv.concat %2, %3 : vector<1xf32>, vector<1xf32>
  %7 = kconv.concat %5, %6 : vector<2xf32>, vector<2xf32>
  %8 = kconv.concat %7, %4 : vector<4xf32>, vector<1xf32>
  kconv.yield %8 : vector<5xf32>
}

// -----

// A whole constant sub-formula folds to one constant: Exp(-(2 * 3 - 6)) * Sqrt(4) = 2.
// CHECK-LABEL: kconv.reduction @fold_chain sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>):
// CHECK-NEXT:    %[[C:.*]] = kconv.constant 2.000000e+00 : vector<1xf32>
// CHECK-NEXT:    %[[M:.*]] = kconv.mul %X, %[[C]] : vector<3xf32>, vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[M]] : vector<3xf32>
kconv.reduction @fold_chain sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  %c2 = kconv.constant 2.0 : vector<1xf32>
  %c3 = kconv.constant 3.0 : vector<1xf32>
  %c4 = kconv.constant 4.0 : vector<1xf32>
  %c6 = kconv.constant 6.0 : vector<1xf32>
  %0 = kconv.mul %c2, %c3 : vector<1xf32>, vector<1xf32>
  %1 = kconv.sub %0, %c6 : vector<1xf32>, vector<1xf32>
  %2 = kconv.neg %1 : vector<1xf32>
  %3 = kconv.exp %2 : vector<1xf32>
  %4 = kconv.sqrt %c4 : vector<1xf32>
  %5 = kconv.mul %3, %4 : vector<1xf32>, vector<1xf32>
  %6 = kconv.mul %5, %x : vector<1xf32>, vector<3xf32>
  kconv.yield %6 : vector<3xf32>
}

// -----

// Equal constants are merged; folded constants keep the formula's element type.
// CHECK-LABEL: kconv.reduction @fold_f16_dedup sum
// CHECK-NEXT:  ^bb0(%X: vector<2xf16>):
// CHECK-NEXT:    %[[C:.*]] = kconv.constant 5.000000e-01 : vector<1xf16>
// CHECK-NEXT:    %[[A:.*]] = kconv.add %X, %[[C]] : vector<2xf16>, vector<1xf16>
// CHECK-NEXT:    %[[M:.*]] = kconv.mul %[[A]], %[[C]] : vector<2xf16>, vector<1xf16>
// CHECK-NEXT:    kconv.yield %[[M]] : vector<2xf16>
kconv.reduction @fold_f16_dedup sum axis = 1 vars [#kconv.var<"X", i, 2>] {
^bb0(%x: vector<2xf16>):
  %c2 = kconv.constant 2.0 : vector<1xf16>
  %half = kconv.constant 0.5 : vector<1xf16>
  %0 = kconv.inv %c2 : vector<1xf16>
  %1 = kconv.add %x, %0 : vector<2xf16>, vector<1xf16>
  %2 = kconv.mul %1, %half : vector<2xf16>, vector<1xf16>
  kconv.yield %2 : vector<2xf16>
}
