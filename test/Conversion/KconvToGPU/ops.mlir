// RUN: kconv-opt %s --kconv-fold-exp-scale --kconv-plan-gpu-kernels="rows-per-thread=1 unroll=1" --convert-kconv-to-gpu --convert-kconv-formula-to-arith=target=nvvm --canonicalize --cse --loop-invariant-code-motion | FileCheck %s --check-prefix=FAST
// RUN: kconv-opt %s --kconv-plan-gpu-kernels="rows-per-thread=1 unroll=1 fast-math=false" --convert-kconv-to-gpu --convert-kconv-formula-to-arith="target=nvvm fast-math=false" --canonicalize --cse --loop-invariant-code-motion | FileCheck %s --check-prefix=ACCURATE
// RUN: kconv-opt %s --kconv-gpu-pipeline="to-binary=false" | FileCheck %s --check-prefix=NVVM
// RUN: kconv-opt %s --kconv-gpu-pipeline="to-binary=false fast-math=false" | FileCheck %s --check-prefix=NVVM

// Every formula op of the dialect, in one reduction with a parameter, broadcasting, a 2-D reduced
// variable (its record spans two float4 vectors) and a 4-D output.

// FAST-LABEL: gpu.func @kconv_gpu_all_ops(
// FAST-SAME: workgroup(%[[TILE:.*]] : memref<512xvector<4xf32>, #gpu.address_space<workgroup>>)
// The parameter is read once per thread.
// FAST:     %[[PB:.*]] = llvm.getelementptr %arg3[%{{.*}}] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, f32
// FAST:     %[[P:.*]] = llvm.load %[[PB]] : !llvm.ptr<1> -> f32
// FAST:     scf.for
// FAST:       scf.for
// FAST:         memref.load %[[TILE]]
// FAST:         memref.load %[[TILE]]
// FAST-DAG:     llvm.call_intrinsic "llvm.fabs.f32"
// FAST-DAG:     llvm.call_intrinsic "llvm.nvvm.sqrt.approx.ftz.f"
// FAST-DAG:     llvm.call_intrinsic "llvm.nvvm.lg2.approx.ftz.f"
// FAST-DAG:     llvm.call_intrinsic "llvm.nvvm.rsqrt.approx.ftz.f"
// FAST-DAG:     nvvm.rcp.approx.ftz.f
// FAST-DAG:     llvm.call_intrinsic "llvm.nvvm.div.approx.ftz.f"
// FAST-DAG:     llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// FAST:         scf.yield %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : f32, f32, f32, f32
// Four output components per row.
// FAST:     llvm.store
// FAST:     llvm.store
// FAST:     llvm.store
// FAST:     llvm.store
// FAST-LABEL: gpu.func @kconv_gpu_all_ops_splitj(
// FAST-COUNT-4: llvm.atomicrmw fadd

// Without fast math: IEEE sqrt and division, kconv's own inline exp (two-part log2 e reduction,
// ex2.approx of a fraction, exact 2^j) and log (exponent split + polynomial): no libdevice.
// ACCURATE-LABEL: gpu.func @kconv_gpu_all_ops(
// ACCURATE-NOT: {{(lg2|sqrt|rsqrt|rcp|div)\.approx}}
// ACCURATE-DAG: arith.constant -8388608 : i32
// ACCURATE-DAG: llvm.call_intrinsic "llvm.rint.f32"
// ACCURATE-DAG: llvm.call_intrinsic "llvm.sqrt.f32"
// ACCURATE-DAG: arith.divf
// ACCURATE-NOT: math.
// ACCURATE-LABEL: gpu.func @kconv_gpu_all_ops_splitj(

// After convert-gpu-to-nvvm: the tile is a 16-byte-aligned global in shared memory (addrspace 3),
// barriers are bar.sync, no libdevice call is left.
// NVVM: gpu.module @kconv_gpu [#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">]
// NVVM-NOT: __nv_
// NVVM: llvm.mlir.global internal @__wg_kconv_gpu_all_ops_0() {addr_space = 3 : i32{{.*}}} : !llvm.array<512 x vector<4xf32>>
// NVVM: llvm.func @kconv_gpu_all_ops({{.*}}nvvm.kernel, nvvm.maxntid = array<i32: 256, 1, 1>
// NVVM: nvvm.read.ptx.sreg.tid.x
// NVVM: nvvm.barrier
// NVVM: llvm.load %{{.*}} : !llvm.ptr<3> -> vector<4xf32>
// NVVM-NOT: __nv_

kconv.reduction @all_ops sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"B", j, 2>, #kconv.var<"P", p, 1>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>, %b: vector<2xf32>, %p: vector<1xf32>):
  %c = kconv.constant 5.000000e-01 : vector<1xf32>
  %0 = kconv.sub %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.add %0, %c : vector<3xf32>, vector<1xf32>
  %2 = kconv.mul %1, %p : vector<3xf32>, vector<1xf32>
  %3 = kconv.abs %2 : vector<3xf32>
  %4 = kconv.add %3, %c : vector<3xf32>, vector<1xf32>
  %5 = kconv.log %4 : vector<3xf32>
  %6 = kconv.sqrt %4 : vector<3xf32>
  %7 = kconv.rsqrt %4 : vector<3xf32>
  %8 = kconv.inv %4 : vector<3xf32>
  %9 = kconv.square %5 : vector<3xf32>
  %10 = kconv.pow %6, 3 : vector<3xf32>
  %11 = kconv.pow %7, -2 : vector<3xf32>
  %12 = kconv.div %8, %4 : vector<3xf32>, vector<3xf32>
  %13 = kconv.neg %12 : vector<3xf32>
  %14 = kconv.exp %13 : vector<3xf32>
  %15 = kconv.scalprod %9, %10 : vector<3xf32>, vector<3xf32>
  %16 = kconv.sum %11 : vector<3xf32>
  %17 = kconv.sqnorm2 %14 : vector<3xf32>
  %18 = kconv.norm2 %x : vector<3xf32>
  %19 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %20 = kconv.elem %b, 1 : vector<2xf32>
  %21 = kconv.concat %15, %16 : vector<1xf32>, vector<1xf32>
  %22 = kconv.add %17, %18 : vector<1xf32>, vector<1xf32>
  %23 = kconv.mul %19, %20 : vector<1xf32>, vector<1xf32>
  %24 = kconv.concat %22, %23 : vector<1xf32>, vector<1xf32>
  %25 = kconv.concat %21, %24 : vector<2xf32>, vector<2xf32>
  kconv.yield %25 : vector<4xf32>
}
