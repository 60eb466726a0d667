// RUN: kconv-opt %s --kconv-plan-gpu-kernels="block-size=128" --convert-kconv-to-gpu | FileCheck %s
// RUN: kconv-opt %s --kconv-plan-gpu-kernels --convert-kconv-to-gpu | FileCheck %s --check-prefix=AUTO
// The default 256-row tile would need 53 KB: the block shrinks to 224 threads (45.5 KiB).
// AUTO-LABEL: gpu.func @kconv_gpu_wide(
// AUTO-SAME: workgroup(%{{.*}} : memref<2912xvector<4xf32>, #gpu.address_space<workgroup>>)
// AUTO-SAME: kconv.block_size = 224
// AUTO-SAME: known_block_size = array<i32: 224, 1, 1>
// With 128-row tiles the 52-float records fit (26 KB); the record is 13 float4 vectors.
// CHECK-LABEL: gpu.func @kconv_gpu_wide(
// CHECK-SAME: workgroup(%{{.*}} : memref<1664xvector<4xf32>, #gpu.address_space<workgroup>>)
// CHECK-SAME: kconv.shared_bytes = 26624
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
kconv.reduction @wide sum axis = 1 vars [#kconv.var<"X", i, 50>, #kconv.var<"Y", j, 50>, #kconv.var<"B", j, 2>] {
^bb0(%x: vector<50xf32>, %y: vector<50xf32>, %b: vector<2xf32>):
  %0 = kconv.sqdist %x, %y : vector<50xf32>, vector<50xf32>
  %1 = kconv.mul %0, %b : vector<1xf32>, vector<2xf32>
  kconv.yield %1 : vector<2xf32>
}
