// convert-kconv-to-gpu builds what the plan says: without kconv-plan-gpu-kernels it stops.
// RUN: kconv-opt %s --convert-kconv-to-gpu --verify-diagnostics

// expected-error @+1 {{has no kconv.gpu_plan attribute (run kconv-plan-gpu-kernels first)}}
kconv.reduction @unplanned sum axis = 1 vars [#kconv.var<"X", i, 1>] {
^bb0(%X: vector<1xf32>):
  kconv.yield %X : vector<1xf32>
}
