// RUN: kconv-opt %s --kconv-plan-cpu-kernels --convert-kconv-to-cpu --cse --loop-invariant-code-motion --cse --convert-kconv-formula-to-arith="target=cpu lanes=16" --canonicalize --cse | FileCheck %s
// RUN: kconv-opt %s --kconv-plan-cpu-kernels --convert-kconv-to-cpu="flush-denormals=false" --cse --loop-invariant-code-motion --cse --convert-kconv-formula-to-arith="target=cpu lanes=16 fast-math=false" --canonicalize --cse | FileCheck %s --check-prefix=NOFTZ
// RUN: kconv-opt %s --kconv-plan-cpu-kernels --convert-kconv-to-cpu="flush-denormals=false" --cse --loop-invariant-code-motion --cse --convert-kconv-formula-to-arith="target=cpu lanes=16" --canonicalize --cse | FileCheck %s --check-prefix=NOFTZ

// Fast math: FTZ and DAZ (MXCSR bits 15 and 6, 0x8040) for the duration of the call, the
// caller's MXCSR restored on exit. Underflowing exps otherwise cost a microcode assist each.

// CHECK-LABEL: func.func @kconv_cpu_far(
// CHECK:         %[[SLOT:.*]] = llvm.alloca %{{.*}} x i32 {alignment = 4 : i64}
// CHECK-NEXT:    llvm.call_intrinsic "llvm.x86.sse.stmxcsr"(%[[SLOT]])
// CHECK-NEXT:    %[[SAVED:.*]] = llvm.load %[[SLOT]] {alignment = 4 : i64} : !llvm.ptr -> i32
// CHECK-NEXT:    %[[FLUSH:.*]] = arith.ori %[[SAVED]], %c32832_i32 : i32
// CHECK-NEXT:    llvm.store %[[FLUSH]], %[[SLOT]]
// CHECK-NEXT:    llvm.call_intrinsic "llvm.x86.sse.ldmxcsr"(%[[SLOT]])
// CHECK:         scf.for
// CHECK:         llvm.store %[[SAVED]], %[[SLOT]]
// CHECK-NEXT:    llvm.call_intrinsic "llvm.x86.sse.ldmxcsr"(%[[SLOT]])
// CHECK-NEXT:    return

// NOFTZ-LABEL: func.func @kconv_cpu_far(
// NOFTZ-NOT:     mxcsr
// NOFTZ:         return
kconv.reduction @far sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>):
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.neg %0 : vector<1xf32>
  %2 = kconv.exp %1 : vector<1xf32>
  kconv.yield %2 : vector<1xf32>
}
