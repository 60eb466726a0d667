// convert-kconv-formula-to-arith alone: variables enter as unrealized_conversion_casts of their
// components, results leave the same way; the casts fold away.
// RUN: kconv-opt %s --split-input-file --convert-kconv-formula-to-arith="target=generic" | FileCheck %s --check-prefix=GENERIC
// RUN: kconv-opt %s --split-input-file --convert-kconv-formula-to-arith="target=nvvm" | FileCheck %s --check-prefix=NVVM
// RUN: kconv-opt %s --split-input-file --convert-kconv-formula-to-arith="target=nvvm fast-math=false" | FileCheck %s --check-prefix=ACCURATE
// RUN: not kconv-opt %s --split-input-file --convert-kconv-formula-to-arith="target=tpu" 2>&1 | FileCheck %s --check-prefix=BADTARGET
// BADTARGET: unknown target 'tpu' (expected generic, cpu or nvvm)

// Broadcasting: a dimension-1 operand meets every component.
// GENERIC-LABEL: func.func @broadcast_sub(
// GENERIC-SAME:    %[[A0:.*]]: f32, %[[A1:.*]]: f32, %[[A2:.*]]: f32, %[[C:.*]]: f32)
// GENERIC-NEXT:    %[[R0:.*]] = arith.subf %[[A0]], %[[C]] fastmath<contract> : f32
// GENERIC-NEXT:    %[[R1:.*]] = arith.subf %[[A1]], %[[C]] fastmath<contract> : f32
// GENERIC-NEXT:    %[[R2:.*]] = arith.subf %[[A2]], %[[C]] fastmath<contract> : f32
// GENERIC-NEXT:    return %[[R0]], %[[R1]], %[[R2]]
// GENERIC-NOT:     unrealized_conversion_cast
func.func @broadcast_sub(%a0: f32, %a1: f32, %a2: f32, %c: f32) -> (f32, f32, f32) {
  %x = builtin.unrealized_conversion_cast %a0, %a1, %a2 : f32, f32, f32 to vector<3xf32>
  %s = builtin.unrealized_conversion_cast %c : f32 to vector<1xf32>
  %0 = kconv.sub %x, %s : vector<3xf32>, vector<1xf32>
  %r:3 = builtin.unrealized_conversion_cast %0 : vector<3xf32> to f32, f32, f32
  return %r#0, %r#1, %r#2 : f32, f32, f32
}

// -----

// SqDist: differences, one product, then FMAs (the target's FMA: math.fma, llvm.intr.fma on NVVM).
// GENERIC-LABEL: func.func @sqdist(
// GENERIC:         %[[D0:.*]] = arith.subf %arg0, %arg2
// GENERIC-NEXT:    %[[D1:.*]] = arith.subf %arg1, %arg3
// GENERIC-NEXT:    %[[P:.*]] = arith.mulf %[[D0]], %[[D0]]
// GENERIC-NEXT:    %[[S:.*]] = math.fma %[[D1]], %[[D1]], %[[P]] fastmath<contract> : f32
// GENERIC-NEXT:    return %[[S]]
// NVVM-LABEL: func.func @sqdist(
// NVVM:         llvm.intr.fma
func.func @sqdist(%a0: f32, %a1: f32, %b0: f32, %b1: f32) -> f32 {
  %x = builtin.unrealized_conversion_cast %a0, %a1 : f32, f32 to vector<2xf32>
  %y = builtin.unrealized_conversion_cast %b0, %b1 : f32, f32 to vector<2xf32>
  %0 = kconv.sqdist %x, %y : vector<2xf32>, vector<2xf32>
  %r = builtin.unrealized_conversion_cast %0 : vector<1xf32> to f32
  return %r : f32
}

// -----

// exp2 and KeOps' Rsqrt (0 at 0) through each target's math.
// GENERIC-LABEL: func.func @exp2_rsqrt(
// GENERIC:         math.exp2 %arg0 : f32
// GENERIC:         %[[SQ:.*]] = math.sqrt %arg0 : f32
// GENERIC:         %[[INV:.*]] = arith.divf %{{.*}}, %[[SQ]] : f32
// GENERIC:         %[[Z:.*]] = arith.cmpf oeq, %arg0, %{{.*}} : f32
// GENERIC:         arith.select %[[Z]], %{{.*}}, %[[INV]] : f32
// NVVM-LABEL: func.func @exp2_rsqrt(
// NVVM:         llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"(%arg0)
// NVVM:         %[[RS:.*]] = llvm.call_intrinsic "llvm.nvvm.rsqrt.approx.ftz.f"(%arg0)
// NVVM:         %[[Z:.*]] = arith.cmpf oeq, %arg0, %{{.*}} : f32
// NVVM:         arith.select %[[Z]], %{{.*}}, %[[RS]] : f32
// Accurate: the inline exp (two exact powers of two) and the IEEE sqrt.
// ACCURATE-LABEL: func.func @exp2_rsqrt(
// ACCURATE:         arith.minimumf
// ACCURATE:         arith.maximumf
// ACCURATE:         llvm.call_intrinsic "llvm.rint.f32"
// ACCURATE:         llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// ACCURATE:         llvm.call_intrinsic "llvm.sqrt.f32"(%arg0)
// ACCURATE:         arith.select
func.func @exp2_rsqrt(%a: f32) -> (f32, f32) {
  %x = builtin.unrealized_conversion_cast %a : f32 to vector<1xf32>
  %0 = kconv.exp2 %x : vector<1xf32>
  %1 = kconv.rsqrt %x : vector<1xf32>
  %r0 = builtin.unrealized_conversion_cast %0 : vector<1xf32> to f32
  %r1 = builtin.unrealized_conversion_cast %1 : vector<1xf32> to f32
  return %r0, %r1 : f32, f32
}

