// kconv-plan-cpu-kernels alone: the #kconv.cpu_plan of each reduction.
// RUN: kconv-opt %s --kconv-plan-cpu-kernels --split-input-file | FileCheck %s
// RUN: kconv-opt %s --kconv-plan-cpu-kernels="lanes=8 rows=6 jblock=1001" --split-input-file | FileCheck %s --check-prefix=GIVEN
// RUN: kconv-opt %s --kconv-plan-cpu-kernels --kconv-plan-cpu-kernels="lanes=8" --split-input-file | FileCheck %s

// The defaults; a given j-block is rounded up to a multiple of the lanes. A plan that is there
// stays (the second RUN line's second pass plans nothing).
// CHECK-LABEL: kconv.reduction @gaussian
// CHECK-SAME:  kconv.cpu_plan = #kconv.cpu_plan<lanes = 16, rows = 4, jblock = 1024>
// GIVEN-LABEL: kconv.reduction @gaussian
// GIVEN-SAME:  #kconv.cpu_plan<lanes = 8, rows = 6, jblock = 1008>
kconv.reduction @gaussian sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"B", j, 1>] {
^bb0(%X: vector<3xf32>, %Y: vector<3xf32>, %B: vector<1xf32>):
  %0 = kconv.sqdist %X, %Y : vector<3xf32>, vector<3xf32>
  %1 = kconv.exp %0 : vector<1xf32>
  %2 = kconv.mul %1, %B : vector<1xf32>, vector<1xf32>
  kconv.yield %2 : vector<1xf32>
}

// -----

// A 6-component state: 12 / 6 = 2 register rows. Reduced records of 1000 floats: a block of
// 256 KiB / 4000 bytes, rounded down to the lanes (64 rows).
// CHECK-LABEL: kconv.reduction @wide_state
// CHECK-SAME:  #kconv.cpu_plan<lanes = 16, rows = 2, jblock = 64>
// GIVEN-LABEL: kconv.reduction @wide_state
// GIVEN-SAME:  #kconv.cpu_plan<lanes = 8, rows = 2, jblock = 64>
kconv.reduction @wide_state sum axis = 1 vars [#kconv.var<"X", i, 6>, #kconv.var<"Y", j, 1000>] {
^bb0(%X: vector<6xf32>, %Y: vector<1000xf32>):
  %0 = kconv.sqnorm2 %Y : vector<1000xf32>
  %1 = kconv.mul %X, %0 : vector<6xf32>, vector<1xf32>
  kconv.yield %1 : vector<6xf32>
}
