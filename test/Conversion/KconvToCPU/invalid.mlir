// RUN: kconv-opt %s --split-input-file --kconv-plan-cpu-kernels --convert-kconv-to-cpu --verify-diagnostics
// RUN: not kconv-opt %s --split-input-file --kconv-plan-cpu-kernels="lanes=12" --convert-kconv-to-cpu 2>&1 | FileCheck %s --check-prefix=LANES

// LANES: lanes must be a power of two up to 64, got 12

// expected-error @+1 {{the CPU backend supports f32 formulas only, got 'f64'}}
kconv.reduction @double sum axis = 1 vars [#kconv.var<"X", i, 1>, #kconv.var<"Y", j, 1>] {
^bb0(%x: vector<1xf64>, %y: vector<1xf64>):
  %0 = kconv.mul %x, %y : vector<1xf64>, vector<1xf64>
  kconv.yield %0 : vector<1xf64>
}
