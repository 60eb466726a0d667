// kconv-plan-gpu-kernels alone: the cost model's #kconv.gpu_plan on each reduction.
// RUN: kconv-opt %s --kconv-plan-gpu-kernels | FileCheck %s
// RUN: kconv-opt %s --kconv-plan-gpu-kernels="fast-math=false" | FileCheck %s --check-prefix=ACCURATE
// RUN: kconv-opt %s --kconv-plan-gpu-kernels="rows-per-thread=2 unroll=4 block-size=128" | FileCheck %s --check-prefix=GIVEN

// The seed formula: 4 rows per thread, 16 pairs unrolled, the small kernel of 8 slices.
// CHECK-LABEL:  kconv.reduction @gaussian
// CHECK-SAME:   kconv.gpu_plan = #kconv.gpu_plan<block = 256, rows = 4, unroll = 16, row_unroll = 16, small_slices = 8, small_unroll = 16, pair_cost = 7>
// Accurate exp: a costlier pair (24 per exp), half the unroll.
// ACCURATE-LABEL: kconv.reduction @gaussian
// ACCURATE-SAME:  #kconv.gpu_plan<block = 256, rows = 4, unroll = 8, row_unroll = 16, small_slices = 8, small_unroll = 16, pair_cost = 29>
// Given rows, unroll and block; a block of 128 has no small kernel (16 rows per slice).
// GIVEN-LABEL:  kconv.reduction @gaussian
// GIVEN-SAME:   #kconv.gpu_plan<block = 128, rows = 2, unroll = 4, row_unroll = 16, small_slices = 1, small_unroll = 1, pair_cost = 7>
kconv.reduction @gaussian sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"B", j, 1>] {
^bb0(%X: vector<3xf32>, %Y: vector<3xf32>, %B: vector<1xf32>):
  %0 = kconv.sqdist %X, %Y : vector<3xf32>, vector<3xf32>
  %1 = kconv.neg %0 : vector<1xf32>
  %2 = kconv.exp %1 : vector<1xf32>
  %3 = kconv.mul %2, %B : vector<1xf32>, vector<1xf32>
  kconv.yield %3 : vector<1xf32>
}

// 16 exps and logs per pair: one row per thread, 8 pairs unrolled (8 x 80 <= 1024).
// CHECK-LABEL:  kconv.reduction @costly
// CHECK-SAME:   #kconv.gpu_plan<block = 256, rows = 1, unroll = 8, row_unroll = 8, small_slices = 8, small_unroll = 8, pair_cost = 80>
// ACCURATE-LABEL: kconv.reduction @costly
// ACCURATE-SAME:  #kconv.gpu_plan<block = 256, rows = 1, unroll = 1, row_unroll = 1, small_slices = 8, small_unroll = 1, pair_cost = 784>
kconv.reduction @costly sum axis = 1 vars [#kconv.var<"X", i, 16>, #kconv.var<"Y", j, 16>] {
^bb0(%X: vector<16xf32>, %Y: vector<16xf32>):
  %0 = kconv.sub %X, %Y : vector<16xf32>, vector<16xf32>
  %1 = kconv.exp %0 : vector<16xf32>
  %2 = kconv.log %1 : vector<16xf32>
  kconv.yield %2 : vector<16xf32>
}

// A record of 120 floats (Elem does not chunk): 48 KiB / 480 bytes -> a block of 96 rows,
// too small for the small kernel.
// CHECK-LABEL:  kconv.reduction @wide_record
// CHECK-SAME:   #kconv.gpu_plan<block = 96, rows = 2, unroll = 4, row_unroll = 8, small_slices = 1, small_unroll = 1, pair_cost = 121>
// GIVEN-LABEL:  kconv.reduction @wide_record
// GIVEN-SAME:   #kconv.gpu_plan<block = 96,
kconv.reduction @wide_record sum axis = 1 vars [#kconv.var<"X", i, 1>, #kconv.var<"Y", j, 120>] {
^bb0(%X: vector<1xf32>, %Y: vector<120xf32>):
  %0 = kconv.elem %Y, 7 : vector<120xf32>
  %1 = kconv.mul %0, %X : vector<1xf32>, vector<1xf32>
  kconv.yield %1 : vector<1xf32>
}

// A cheap LogSumExp: 2 rows per thread, not 4, since each row's batch of pairs stays live until
// the batch's test (ShiftExpCombiner::preferredBatch).
// CHECK-LABEL:  kconv.reduction @sinkhorn
// CHECK-SAME:   #kconv.gpu_plan<block = 256, rows = 2, unroll = 16,
kconv.reduction @sinkhorn logsumexp axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"G", p, 1>] attributes {log2_exponent} {
^bb0(%X: vector<3xf32>, %Y: vector<3xf32>, %G: vector<1xf32>):
  %0 = kconv.constant 1.000000e+00 : vector<1xf32>
  %1 = kconv.constant -1.4426950408889634 : vector<1xf32>
  %2 = kconv.mul %G, %1 : vector<1xf32>, vector<1xf32>
  %3 = kconv.sqdist %X, %Y : vector<3xf32>, vector<3xf32>
  %4 = kconv.mul %2, %3 : vector<1xf32>, vector<1xf32>
  %5 = kconv.concat %4, %0 : vector<1xf32>, vector<1xf32>
  kconv.yield %5 : vector<2xf32>
}
