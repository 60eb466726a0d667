// Every formula op, compiled and run on random inputs, against the float64 evaluation of the
// serialized formula (kconv-cpu-bench --check): sizes 1, around the vector width, and past the
// j-block; fast math, accurate math (libm exp/log), and the AVX2 code path.
// op_*: normal inputs; pos_*: inputs in [0.5, 2] (log, sqrt, division, negative powers).
//
// RUN: kconv-compile %s -o %t.kca
// RUN: kconv-compile %s --no-fast-math -o %t-accurate.kca
// RUN: kconv-compile %s --cpu=x86-64-v3 -o %t-avx2.kca
// The op_* formulas through the runtime as well (kconv-run draws normal inputs).
// RUN: for a in %t.kca %t-accurate.kca; do \
// RUN:   for n in op_add op_sub op_mul op_neg op_exp op_square op_abs op_pow3 op_pow0 op_sqdist op_sqdist_bcast op_sqnorm2 op_norm2 op_scalprod op_sum op_elem op_concat op_constant op_constant_only op_row_only op_reduced_only op_bcast_add op_bcast_mul op_param op_axis0; do \
// RUN:     kconv-run $a $n --random 45,1031 --check --tolerance 4e-6 > /dev/null || exit 1; \
// RUN:   done; done
// RUN: for a in %t.kca %t-accurate.kca %t-avx2.kca; do \
// RUN:   for n in op_add op_sub op_mul op_neg op_exp op_square op_abs op_pow3 op_pow0 op_sqdist op_sqdist_bcast op_sqnorm2 op_norm2 op_scalprod op_sum op_elem op_concat op_constant op_constant_only op_row_only op_reduced_only op_bcast_add op_bcast_mul op_param op_axis0; do \
// RUN:     for s in 1,1 19,37 300,1100; do \
// RUN:       kconv-cpu-bench $a $n --check --tol=4e-6 --random $s || exit 1; \
// RUN:     done; done; done
// RUN: for a in %t.kca %t-accurate.kca %t-avx2.kca; do \
// RUN:   for n in pos_div pos_div_bcast pos_log pos_sqrt pos_rsqrt pos_inv pos_pow_neg pos_pow7 pos_log_exp; do \
// RUN:     for s in 1,1 19,37 300,1100; do \
// RUN:       kconv-cpu-bench $a $n --dist=positive --check --tol=4e-6 --random $s || exit 1; \
// RUN:     done; done; done

kconv.reduction @op_add sum axis = 1 vars [#kconv.var<"X", i, 2>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<2xf32>, %y: vector<2xf32>):
  %0 = kconv.add %x, %y : vector<2xf32>, vector<2xf32>
  kconv.yield %0 : vector<2xf32>
}

kconv.reduction @op_sub sum axis = 1 vars [#kconv.var<"X", i, 2>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<2xf32>, %y: vector<2xf32>):
  %0 = kconv.sub %x, %y : vector<2xf32>, vector<2xf32>
  kconv.yield %0 : vector<2xf32>
}

kconv.reduction @op_mul sum axis = 1 vars [#kconv.var<"X", i, 2>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<2xf32>, %y: vector<2xf32>):
  %0 = kconv.mul %x, %y : vector<2xf32>, vector<2xf32>
  kconv.yield %0 : vector<2xf32>
}

kconv.reduction @op_neg sum axis = 1 vars [#kconv.var<"X", i, 2>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<2xf32>, %y: vector<2xf32>):
  %0 = kconv.mul %x, %y : vector<2xf32>, vector<2xf32>
  %1 = kconv.neg %0 : vector<2xf32>
  kconv.yield %1 : vector<2xf32>
}

kconv.reduction @op_exp sum axis = 1 vars [#kconv.var<"X", i, 2>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<2xf32>, %y: vector<2xf32>):
  %0 = kconv.mul %x, %y : vector<2xf32>, vector<2xf32>
  %1 = kconv.exp %0 : vector<2xf32>
  kconv.yield %1 : vector<2xf32>
}

kconv.reduction @op_square sum axis = 1 vars [#kconv.var<"X", i, 2>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<2xf32>, %y: vector<2xf32>):
  %0 = kconv.sub %x, %y : vector<2xf32>, vector<2xf32>
  %1 = kconv.square %0 : vector<2xf32>
  kconv.yield %1 : vector<2xf32>
}

kconv.reduction @op_abs sum axis = 1 vars [#kconv.var<"X", i, 2>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<2xf32>, %y: vector<2xf32>):
  %0 = kconv.sub %x, %y : vector<2xf32>, vector<2xf32>
  %1 = kconv.abs %0 : vector<2xf32>
  kconv.yield %1 : vector<2xf32>
}

kconv.reduction @op_pow3 sum axis = 1 vars [#kconv.var<"X", i, 2>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<2xf32>, %y: vector<2xf32>):
  %0 = kconv.sub %x, %y : vector<2xf32>, vector<2xf32>
  %1 = kconv.pow %0, 3 : vector<2xf32>
  kconv.yield %1 : vector<2xf32>
}

kconv.reduction @op_pow0 sum axis = 1 vars [#kconv.var<"X", i, 2>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<2xf32>, %y: vector<2xf32>):
  %0 = kconv.sub %x, %y : vector<2xf32>, vector<2xf32>
  %1 = kconv.pow %0, 0 : vector<2xf32>
  kconv.yield %1 : vector<2xf32>
}

kconv.reduction @op_sqdist sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>):
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  kconv.yield %0 : vector<1xf32>
}

kconv.reduction @op_sqdist_bcast sum axis = 1 vars [#kconv.var<"A", i, 1>, #kconv.var<"Y", j, 3>] {
^bb0(%a: vector<1xf32>, %y: vector<3xf32>):
  %0 = kconv.sqdist %a, %y : vector<1xf32>, vector<3xf32>
  kconv.yield %0 : vector<1xf32>
}

kconv.reduction @op_sqnorm2 sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>):
  %0 = kconv.sub %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.sqnorm2 %0 : vector<3xf32>
  kconv.yield %1 : vector<1xf32>
}

kconv.reduction @op_norm2 sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>):
  %0 = kconv.sub %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.norm2 %0 : vector<3xf32>
  kconv.yield %1 : vector<1xf32>
}

kconv.reduction @op_scalprod sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>):
  %0 = kconv.scalprod %x, %y : vector<3xf32>, vector<3xf32>
  kconv.yield %0 : vector<1xf32>
}

kconv.reduction @op_sum sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>):
  %0 = kconv.mul %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.sum %0 : vector<3xf32>
  kconv.yield %1 : vector<1xf32>
}

kconv.reduction @op_elem sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>):
  %0 = kconv.sub %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.elem %0, 2 : vector<3xf32>
  kconv.yield %1 : vector<1xf32>
}

kconv.reduction @op_concat sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>):
  %0 = kconv.mul %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.concat %0, %x : vector<3xf32>, vector<3xf32>
  %2 = kconv.concat %1, %y : vector<6xf32>, vector<3xf32>
  kconv.yield %2 : vector<9xf32>
}

kconv.reduction @op_constant sum axis = 1 vars [#kconv.var<"X", i, 2>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<2xf32>, %y: vector<2xf32>):
  %c = kconv.constant -0.75 : vector<1xf32>
  %0 = kconv.mul %c, %y : vector<1xf32>, vector<2xf32>
  %1 = kconv.add %0, %x : vector<2xf32>, vector<2xf32>
  kconv.yield %1 : vector<2xf32>
}

kconv.reduction @op_constant_only sum axis = 1 vars [#kconv.var<"X", i, 2>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<2xf32>, %y: vector<2xf32>):
  %c = kconv.constant 2.5 : vector<1xf32>
  kconv.yield %c : vector<1xf32>
}

kconv.reduction @op_row_only sum axis = 1 vars [#kconv.var<"X", i, 2>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<2xf32>, %y: vector<2xf32>):
  %0 = kconv.exp %x : vector<2xf32>
  kconv.yield %0 : vector<2xf32>
}

kconv.reduction @op_reduced_only sum axis = 1 vars [#kconv.var<"X", i, 2>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<2xf32>, %y: vector<2xf32>):
  %0 = kconv.exp %y : vector<2xf32>
  kconv.yield %0 : vector<2xf32>
}

kconv.reduction @op_bcast_add sum axis = 1 vars [#kconv.var<"A", i, 1>, #kconv.var<"Y", j, 3>] {
^bb0(%a: vector<1xf32>, %y: vector<3xf32>):
  %0 = kconv.add %a, %y : vector<1xf32>, vector<3xf32>
  kconv.yield %0 : vector<3xf32>
}

kconv.reduction @op_bcast_mul sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"B", j, 1>] {
^bb0(%x: vector<3xf32>, %b: vector<1xf32>):
  %0 = kconv.mul %x, %b : vector<3xf32>, vector<1xf32>
  kconv.yield %0 : vector<3xf32>
}

kconv.reduction @op_param sum axis = 1 vars [#kconv.var<"X", i, 2>, #kconv.var<"P", p, 2>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<2xf32>, %p: vector<2xf32>, %y: vector<2xf32>):
  %0 = kconv.mul %x, %y : vector<2xf32>, vector<2xf32>
  %1 = kconv.sub %0, %p : vector<2xf32>, vector<2xf32>
  %2 = kconv.scalprod %p, %1 : vector<2xf32>, vector<2xf32>
  %3 = kconv.exp %2 : vector<1xf32>
  kconv.yield %3 : vector<1xf32>
}

kconv.reduction @op_axis0 sum axis = 0 vars [#kconv.var<"X", i, 2>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<2xf32>, %y: vector<2xf32>):
  %0 = kconv.sub %x, %y : vector<2xf32>, vector<2xf32>
  %1 = kconv.sqnorm2 %0 : vector<2xf32>
  %2 = kconv.neg %1 : vector<1xf32>
  %3 = kconv.exp %2 : vector<1xf32>
  %4 = kconv.mul %3, %x : vector<1xf32>, vector<2xf32>
  kconv.yield %4 : vector<2xf32>
}

kconv.reduction @pos_div sum axis = 1 vars [#kconv.var<"X", i, 2>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<2xf32>, %y: vector<2xf32>):
  %0 = kconv.div %x, %y : vector<2xf32>, vector<2xf32>
  kconv.yield %0 : vector<2xf32>
}

kconv.reduction @pos_div_bcast sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"B", j, 1>] {
^bb0(%x: vector<3xf32>, %b: vector<1xf32>):
  %0 = kconv.div %x, %b : vector<3xf32>, vector<1xf32>
  kconv.yield %0 : vector<3xf32>
}

kconv.reduction @pos_log sum axis = 1 vars [#kconv.var<"X", i, 2>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<2xf32>, %y: vector<2xf32>):
  %0 = kconv.mul %x, %y : vector<2xf32>, vector<2xf32>
  %1 = kconv.log %0 : vector<2xf32>
  kconv.yield %1 : vector<2xf32>
}

kconv.reduction @pos_sqrt sum axis = 1 vars [#kconv.var<"X", i, 2>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<2xf32>, %y: vector<2xf32>):
  %0 = kconv.mul %x, %y : vector<2xf32>, vector<2xf32>
  %1 = kconv.sqrt %0 : vector<2xf32>
  kconv.yield %1 : vector<2xf32>
}

kconv.reduction @pos_rsqrt sum axis = 1 vars [#kconv.var<"X", i, 2>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<2xf32>, %y: vector<2xf32>):
  %0 = kconv.mul %x, %y : vector<2xf32>, vector<2xf32>
  %1 = kconv.rsqrt %0 : vector<2xf32>
  kconv.yield %1 : vector<2xf32>
}

kconv.reduction @pos_inv sum axis = 1 vars [#kconv.var<"X", i, 2>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<2xf32>, %y: vector<2xf32>):
  %0 = kconv.mul %x, %y : vector<2xf32>, vector<2xf32>
  %1 = kconv.inv %0 : vector<2xf32>
  kconv.yield %1 : vector<2xf32>
}

kconv.reduction @pos_pow_neg sum axis = 1 vars [#kconv.var<"X", i, 2>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<2xf32>, %y: vector<2xf32>):
  %0 = kconv.mul %x, %y : vector<2xf32>, vector<2xf32>
  %1 = kconv.pow %0, -2 : vector<2xf32>
  kconv.yield %1 : vector<2xf32>
}

kconv.reduction @pos_pow7 sum axis = 1 vars [#kconv.var<"X", i, 2>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<2xf32>, %y: vector<2xf32>):
  %0 = kconv.mul %x, %y : vector<2xf32>, vector<2xf32>
  %1 = kconv.pow %0, 7 : vector<2xf32>
  kconv.yield %1 : vector<2xf32>
}

kconv.reduction @pos_log_exp sum axis = 1 vars [#kconv.var<"X", i, 2>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<2xf32>, %y: vector<2xf32>):
  %0 = kconv.sqdist %x, %y : vector<2xf32>, vector<2xf32>
  %1 = kconv.log %0 : vector<1xf32>
  %2 = kconv.neg %1 : vector<1xf32>
  %3 = kconv.exp %2 : vector<1xf32>
  kconv.yield %3 : vector<1xf32>
}
