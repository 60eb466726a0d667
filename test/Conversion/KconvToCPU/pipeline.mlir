// RUN: kconv-opt %s --kconv-cpu-pipeline | FileCheck %s
// RUN: kconv-opt %s --kconv-cpu-pipeline="lanes=8 avx512=false fast-math=false" | FileCheck %s --check-prefix=AVX2

// kconv-cpu-pipeline ends in the LLVM dialect: one llvm.func per reduction, with the C ABI.

// CHECK-LABEL: llvm.func @kconv_cpu_gaussian_conv(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: i64)
// CHECK-NOT:     scf.
// CHECK-NOT:     vector.
// CHECK-NOT:     arith.
// CHECK-NOT:     func.func
// CHECK:         llvm.intr.fma
// CHECK:         llvm.call_intrinsic "llvm.x86.avx512.mask.scalef.ps.512"
// CHECK:         llvm.intr.vector.reduce.fadd
// CHECK:         llvm.return

// AVX2-LABEL: llvm.func @kconv_cpu_gaussian_conv(
// AVX2:         llvm.intr.exp(%{{.*}}) : (vector<8xf32>) -> vector<8xf32>
// AVX2-NOT:     llvm.call_intrinsic
kconv.reduction @gaussian_conv sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"B", j, 1>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>, %b: vector<1xf32>):
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.neg %0 : vector<1xf32>
  %2 = kconv.exp %1 : vector<1xf32>
  %3 = kconv.mul %2, %b : vector<1xf32>, vector<1xf32>
  kconv.yield %3 : vector<1xf32>
}
