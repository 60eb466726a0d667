// Algebraic rewrites that build new ops: powers, signs, inverses, exponentials.
// RUN: kconv-opt %s --kconv-simplify --split-input-file | FileCheck %s

// Pow(x, 2) -> Square(x)
// CHECK-LABEL: kconv.reduction @pow_two sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>):
// CHECK-NEXT:    %[[S:.*]] = kconv.square %X : vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[S]] : vector<3xf32>
kconv.reduction @pow_two sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  %0 = kconv.pow %x, 2 : vector<3xf32>
  kconv.yield %0 : vector<3xf32>
}

// -----

// Other powers stay.
// CHECK-LABEL: kconv.reduction @pow_three sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>):
// CHECK-NEXT:    %[[P:.*]] = kconv.pow %X, 3 : vector<3xf32>
// CHECK-NEXT:    %[[Q:.*]] = kconv.pow %[[P]], -2 : vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[Q]] : vector<3xf32>
kconv.reduction @pow_three sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  %0 = kconv.pow %x, 3 : vector<3xf32>
  %1 = kconv.pow %0, -2 : vector<3xf32>
  kconv.yield %1 : vector<3xf32>
}

// -----

// x * x -> Square(x)
// CHECK-LABEL: kconv.reduction @mul_self sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>):
// CHECK-NEXT:    %[[S:.*]] = kconv.square %X : vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[S]] : vector<3xf32>
kconv.reduction @mul_self sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  %0 = kconv.mul %x, %x : vector<3xf32>, vector<3xf32>
  kconv.yield %0 : vector<3xf32>
}

// -----

// Sqrt(Square(x)) -> Abs(x)
// CHECK-LABEL: kconv.reduction @sqrt_square sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>):
// CHECK-NEXT:    %[[A:.*]] = kconv.abs %X : vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[A]] : vector<3xf32>
kconv.reduction @sqrt_square sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  %0 = kconv.square %x : vector<3xf32>
  %1 = kconv.sqrt %0 : vector<3xf32>
  kconv.yield %1 : vector<3xf32>
}

// -----

// Sqrt(Pow(x, 2)) -> Sqrt(Square(x)) -> Abs(x)
// CHECK-LABEL: kconv.reduction @sqrt_pow_two sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>):
// CHECK-NEXT:    %[[A:.*]] = kconv.abs %X : vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[A]] : vector<3xf32>
kconv.reduction @sqrt_pow_two sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  %0 = kconv.pow %x, 2 : vector<3xf32>
  %1 = kconv.sqrt %0 : vector<3xf32>
  kconv.yield %1 : vector<3xf32>
}

// -----

// -(a - b) -> b - a
// CHECK-LABEL: kconv.reduction @neg_sub sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %Y: vector<3xf32>):
// CHECK-NEXT:    %[[S:.*]] = kconv.sub %Y, %X : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[S]] : vector<3xf32>
kconv.reduction @neg_sub sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>):
  %0 = kconv.sub %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.neg %0 : vector<3xf32>
  kconv.yield %1 : vector<3xf32>
}

// -----

// -(a - b) -> b - a with broadcasting: the operands swap, the result type stays.
// CHECK-LABEL: kconv.reduction @neg_sub_broadcast sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %S: vector<1xf32>):
// CHECK-NEXT:    %[[D:.*]] = kconv.sub %S, %X : vector<1xf32>, vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[D]] : vector<3xf32>
kconv.reduction @neg_sub_broadcast sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"S", j, 1>] {
^bb0(%x: vector<3xf32>, %s: vector<1xf32>):
  %0 = kconv.sub %x, %s : vector<3xf32>, vector<1xf32>
  %1 = kconv.neg %0 : vector<3xf32>
  kconv.yield %1 : vector<3xf32>
}

// -----

// a + (-b) -> a - b
// CHECK-LABEL: kconv.reduction @add_neg sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %Y: vector<3xf32>):
// CHECK-NEXT:    %[[S:.*]] = kconv.sub %X, %Y : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[S]] : vector<3xf32>
kconv.reduction @add_neg sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>):
  %0 = kconv.neg %y : vector<3xf32>
  %1 = kconv.add %x, %0 : vector<3xf32>, vector<3xf32>
  kconv.yield %1 : vector<3xf32>
}

// -----

// (-a) + b -> b - a
// CHECK-LABEL: kconv.reduction @neg_add sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %Y: vector<3xf32>):
// CHECK-NEXT:    %[[S:.*]] = kconv.sub %Y, %X : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[S]] : vector<3xf32>
kconv.reduction @neg_add sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>):
  %0 = kconv.neg %x : vector<3xf32>
  %1 = kconv.add %0, %y : vector<3xf32>, vector<3xf32>
  kconv.yield %1 : vector<3xf32>
}

// -----

// a - (-b) -> a + b
// CHECK-LABEL: kconv.reduction @sub_neg sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>, %Y: vector<3xf32>):
// CHECK-NEXT:    %[[S:.*]] = kconv.add %X, %Y : vector<3xf32>, vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[S]] : vector<3xf32>
kconv.reduction @sub_neg sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>):
  %0 = kconv.neg %y : vector<3xf32>
  %1 = kconv.sub %x, %0 : vector<3xf32>, vector<3xf32>
  kconv.yield %1 : vector<3xf32>
}

// -----

// x * -1 -> -x
// CHECK-LABEL: kconv.reduction @mul_minus_one sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>):
// CHECK-NEXT:    %[[N:.*]] = kconv.neg %X : vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[N]] : vector<3xf32>
kconv.reduction @mul_minus_one sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  %m = kconv.constant -1.0 : vector<1xf32>
  %0 = kconv.mul %m, %x : vector<1xf32>, vector<3xf32>
  kconv.yield %0 : vector<3xf32>
}

// -----

// 1 / x -> Inv(x)
// CHECK-LABEL: kconv.reduction @one_div sum
// CHECK-NEXT:  ^bb0(%X: vector<3xf32>):
// CHECK-NEXT:    %[[I:.*]] = kconv.inv %X : vector<3xf32>
// CHECK-NEXT:    kconv.yield %[[I]] : vector<3xf32>
kconv.reduction @one_div sum axis = 1 vars [#kconv.var<"X", i, 3>] {
^bb0(%x: vector<3xf32>):
  %one = kconv.constant 1.0 : vector<1xf32>
  %0 = kconv.div %one, %x : vector<1xf32>, vector<3xf32>
  kconv.yield %0 : vector<3xf32>
}

// -----

// Exp(a) * Exp(b) -> Exp(a + b)
// CHECK-LABEL: kconv.reduction @mul_exps sum
// CHECK-NEXT:  ^bb0(%A: vector<1xf32>, %B: vector<1xf32>):
// CHECK-NEXT:    %[[S:.*]] = kconv.add %A, %B : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    %[[E:.*]] = kconv.exp %[[S]] : vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[E]] : vector<1xf32>
kconv.reduction @mul_exps sum axis = 1 vars [#kconv.var<"A", i, 1>, #kconv.var<"B", j, 1>] {
^bb0(%a: vector<1xf32>, %b: vector<1xf32>):
  %0 = kconv.exp %a : vector<1xf32>
  %1 = kconv.exp %b : vector<1xf32>
  %2 = kconv.mul %0, %1 : vector<1xf32>, vector<1xf32>
  kconv.yield %2 : vector<1xf32>
}

// -----

// Exp(-a) * Exp(-b) -> Exp(-a - b): the new a + b meets the sign rewrites.
// CHECK-LABEL: kconv.reduction @mul_exps_neg sum
// CHECK-NEXT:  ^bb0(%A: vector<1xf32>, %B: vector<1xf32>):
// CHECK-NEXT:    %[[N:.*]] = kconv.neg %A : vector<1xf32>
// CHECK-NEXT:    %[[S:.*]] = kconv.sub %[[N]], %B : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    %[[E:.*]] = kconv.exp %[[S]] : vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[E]] : vector<1xf32>
kconv.reduction @mul_exps_neg sum axis = 1 vars [#kconv.var<"A", i, 1>, #kconv.var<"B", j, 1>] {
^bb0(%a: vector<1xf32>, %b: vector<1xf32>):
  %na = kconv.neg %a : vector<1xf32>
  %nb = kconv.neg %b : vector<1xf32>
  %0 = kconv.exp %na : vector<1xf32>
  %1 = kconv.exp %nb : vector<1xf32>
  %2 = kconv.mul %0, %1 : vector<1xf32>, vector<1xf32>
  kconv.yield %2 : vector<1xf32>
}

// -----

// An Exp that is also used elsewhere is not merged: Exp(a + b) would cost one Exp more.
// CHECK-LABEL: kconv.reduction @mul_exps_shared sum
// CHECK-NEXT:  ^bb0(%A: vector<1xf32>, %B: vector<1xf32>):
// CHECK-NEXT:    %[[EA:.*]] = kconv.exp %A : vector<1xf32>
// CHECK-NEXT:    %[[EB:.*]] = kconv.exp %B : vector<1xf32>
// CHECK-NEXT:    %[[M:.*]] = kconv.mul %[[EA]], %[[EB]] : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    %[[R:.*]] = kconv.add %[[M]], %[[EA]] : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[R]] : vector<1xf32>
kconv.reduction @mul_exps_shared sum axis = 1 vars [#kconv.var<"A", i, 1>, #kconv.var<"B", j, 1>] {
^bb0(%a: vector<1xf32>, %b: vector<1xf32>):
  %0 = kconv.exp %a : vector<1xf32>
  %1 = kconv.exp %b : vector<1xf32>
  %2 = kconv.mul %0, %1 : vector<1xf32>, vector<1xf32>
  %3 = kconv.add %2, %0 : vector<1xf32>, vector<1xf32>
  kconv.yield %3 : vector<1xf32>
}

// -----

// Exp(x) * Exp(x) -> Square(Exp(x)) (x * x), not Exp(x + x).
// CHECK-LABEL: kconv.reduction @mul_exp_self sum
// CHECK-NEXT:  ^bb0(%A: vector<1xf32>):
// CHECK-NEXT:    %[[E:.*]] = kconv.exp %A : vector<1xf32>
// CHECK-NEXT:    %[[S:.*]] = kconv.square %[[E]] : vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[S]] : vector<1xf32>
kconv.reduction @mul_exp_self sum axis = 1 vars [#kconv.var<"A", i, 1>] {
^bb0(%a: vector<1xf32>):
  %0 = kconv.exp %a : vector<1xf32>
  %1 = kconv.mul %0, %0 : vector<1xf32>, vector<1xf32>
  kconv.yield %1 : vector<1xf32>
}

// -----

// (s * v) * t -> v * (s * t): the scalars first (the gradient's K * (X - Y) * B).
// CHECK-LABEL: kconv.reduction @mul_scalars_first sum
// CHECK-NEXT:  ^bb0(%S: vector<1xf32>, %V: vector<3xf32>, %T: vector<1xf32>):
// CHECK-NEXT:    %[[ST:.*]] = kconv.mul %S, %T : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    %[[R:.*]] = kconv.mul %V, %[[ST]] : vector<3xf32>, vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[R]] : vector<3xf32>
kconv.reduction @mul_scalars_first sum axis = 1 vars [#kconv.var<"S", i, 1>, #kconv.var<"V", j, 3>, #kconv.var<"T", j, 1>] {
^bb0(%s: vector<1xf32>, %v: vector<3xf32>, %t: vector<1xf32>):
  %0 = kconv.mul %s, %v : vector<1xf32>, vector<3xf32>
  %1 = kconv.mul %0, %t : vector<3xf32>, vector<1xf32>
  kconv.yield %1 : vector<3xf32>
}

// -----

// t * (v * s) likewise; an inner product used elsewhere stays (the rewrite would add one).
// CHECK-LABEL: kconv.reduction @mul_scalars_first_other_order sum
// CHECK-NEXT:  ^bb0(%S: vector<1xf32>, %V: vector<3xf32>, %T: vector<1xf32>):
// CHECK-NEXT:    %[[ST:.*]] = kconv.mul %S, %T : vector<1xf32>, vector<1xf32>
// CHECK-NEXT:    %[[R:.*]] = kconv.mul %V, %[[ST]] : vector<3xf32>, vector<1xf32>
// CHECK-NEXT:    kconv.yield %[[R]] : vector<3xf32>
kconv.reduction @mul_scalars_first_other_order sum axis = 1 vars [#kconv.var<"S", i, 1>, #kconv.var<"V", j, 3>, #kconv.var<"T", j, 1>] {
^bb0(%s: vector<1xf32>, %v: vector<3xf32>, %t: vector<1xf32>):
  %0 = kconv.mul %v, %s : vector<3xf32>, vector<1xf32>
  %1 = kconv.mul %t, %0 : vector<1xf32>, vector<3xf32>
  kconv.yield %1 : vector<3xf32>
}

// -----

// CHECK-LABEL: kconv.reduction @mul_scalars_first_shared sum
// CHECK-NEXT:  ^bb0(%S: vector<1xf32>, %V: vector<3xf32>, %T: vector<1xf32>):
// CHECK-NEXT:    %[[SV:.*]] = kconv.mul %V, %S : vector<3xf32>, vector<1xf32>
// CHECK-NEXT:    %[[R:.*]] = kconv.mul %[[SV]], %T : vector<3xf32>, vector<1xf32>
// CHECK-NEXT:    %[[C:.*]] = kconv.concat %[[SV]], %[[R]]
kconv.reduction @mul_scalars_first_shared sum axis = 1 vars [#kconv.var<"S", i, 1>, #kconv.var<"V", j, 3>, #kconv.var<"T", j, 1>] {
^bb0(%s: vector<1xf32>, %v: vector<3xf32>, %t: vector<1xf32>):
  %0 = kconv.mul %v, %s : vector<3xf32>, vector<1xf32>
  %1 = kconv.mul %0, %t : vector<3xf32>, vector<1xf32>
  %2 = kconv.concat %0, %1 : vector<3xf32>, vector<3xf32>
  kconv.yield %2 : vector<6xf32>
}
