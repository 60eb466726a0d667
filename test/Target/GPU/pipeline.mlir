// RUN: kconv-opt %s --kconv-gpu-pipeline | FileCheck %s
// RUN: kconv-opt %s --kconv-gpu-pipeline="gpu-arch=sm_80 ptx-features=+ptx78" | FileCheck %s --check-prefix=SM80

// The whole pipeline in kconv-opt: kconv → gpu.module (NVVM target attached) → gpu.binary holding
// the PTX of every kernel (format isa: no CUDA toolkit needed).
// CHECK: module attributes {gpu.container_module}
// CHECK: gpu.binary @kconv_gpu  [#gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">, {{.*}}assembly = "
// CHECK-SAME: .target sm_90
// CHECK-SAME: .visible .entry kconv_gpu_gaussian_conv(
// CHECK-SAME: ex2.approx.ftz.f32
// CHECK-SAME: .visible .entry kconv_gpu_gaussian_conv_splitj(
// CHECK-NOT: kconv.reduction

// SM80: #nvvm.target<O = 3, chip = "sm_80", features = "+ptx78">
// SM80-SAME: .target sm_80

kconv.reduction @gaussian_conv sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"B", j, 1>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>, %b: vector<1xf32>):
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.neg %0 : vector<1xf32>
  %2 = kconv.exp %1 : vector<1xf32>
  %3 = kconv.mul %2, %b : vector<1xf32>, vector<1xf32>
  kconv.yield %3 : vector<1xf32>
}
