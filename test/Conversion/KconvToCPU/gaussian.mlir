// RUN: kconv-opt %s --kconv-plan-cpu-kernels="rows=2" --convert-kconv-to-cpu --cse --loop-invariant-code-motion --cse --convert-kconv-formula-to-arith="target=cpu lanes=16" --canonicalize --cse | FileCheck %s

// The tiled loop nest of the Gaussian convolution: zero the rows, j-blocks of 1024 reduced rows,
// register blocks of 2 output rows (then the remainder rows one by one), full 16-lane vectors,
// a masked last vector, and the block partial added to the output rows.

// CHECK-LABEL: func.func @kconv_cpu_gaussian_conv(
// CHECK-SAME:      %[[ARGS:[a-z0-9_]+]]: !llvm.ptr, %[[OUT:[a-z0-9_]+]]: !llvm.ptr, %[[INDICES:[a-z0-9_]+]]: !llvm.ptr, %[[BEGIN:[a-z0-9_]+]]: i64, %[[END:[a-z0-9_]+]]: i64, %[[NRED:[a-z0-9_]+]]: i64, %[[STRIDE:[a-z0-9_]+]]: i64)
// CHECK-NOT:     kconv.
// The variable pointers args[0..2].
// CHECK:         %[[X:.*]] = llvm.load %[[ARGS]] {alignment = 8 : i64} : !llvm.ptr -> !llvm.ptr
// CHECK:         llvm.getelementptr inbounds %[[ARGS]][1]
// CHECK:         %[[Y:.*]] = llvm.load {{.*}} : !llvm.ptr -> !llvm.ptr
// CHECK:         llvm.getelementptr inbounds %[[ARGS]][2]
// CHECK:         %[[B:.*]] = llvm.load {{.*}} : !llvm.ptr -> !llvm.ptr
// Rows [begin, end) are zeroed first (the empty sum, and the block-sum accumulators).
// CHECK:         scf.for %[[K:.*]] = %[[BEGIN]] to %[[END]] step %{{.*}} : i64 {
// CHECK:           llvm.store %{{.*}}, %{{.*}} : f32, !llvm.ptr
// CHECK:         }
// CHECK:         %[[MAINEND:.*]] = arith.addi %[[BEGIN]],
// CHECK:         scf.for %[[JB:.*]] = %{{.*}} to %[[NRED]] step %c1024_i64 : i64 {
// CHECK:           %[[BLOCKEND:.*]] = arith.minsi {{.*}}, %[[NRED]] : i64
// CHECK:           %[[FULLEND:.*]] = arith.addi %[[JB]],
// CHECK:           %[[HASTAIL:.*]] = arith.cmpi slt, %[[FULLEND]], %[[BLOCKEND]] : i64
// Register block of 2 rows: x_i, x_i+1 broadcast to 16 lanes once per block.
// CHECK:           scf.for %[[I:.*]] = %[[BEGIN]] to %[[MAINEND]] step %c2_i64 : i64 {
// CHECK-COUNT-6:     vector.broadcast %{{.*}} : f32 to vector<16xf32>
// CHECK:             %[[ACC:.*]]:2 = scf.for %[[J:.*]] = %[[JB]] to %[[FULLEND]] step %c16_i64 iter_args(%{{.*}} = %[[ZERO:.*]], %{{.*}} = %[[ZERO]]) -> (vector<16xf32>, vector<16xf32>) : i64 {
// The reduced variables: full-vector loads from the packed SoA inputs, once for both rows.
// CHECK:               llvm.getelementptr inbounds %[[Y]][%[[J]]]
// CHECK-NEXT:          llvm.load {{.*}} : !llvm.ptr -> vector<16xf32>
// CHECK:               arith.addi %[[STRIDE]], %[[J]] : i64
// CHECK:               llvm.load {{.*}} : !llvm.ptr -> vector<16xf32>
// CHECK:               llvm.load {{.*}} : !llvm.ptr -> vector<16xf32>
// CHECK:               llvm.getelementptr inbounds %[[B]][%[[J]]]
// CHECK-NEXT:          %[[BV:.*]] = llvm.load {{.*}} : !llvm.ptr -> vector<16xf32>
// Row 0: sqdist, neg, the inlined exp (no upper clamp: -|x - y|^2 <= 0), times b, accumulate.
// CHECK-COUNT-3:       arith.subf
// CHECK:               arith.mulf
// CHECK-COUNT-2:       math.fma
// CHECK:               arith.negf
// CHECK-NOT:           arith.cmpf ogt
// CHECK:               arith.cmpf olt
// CHECK-COUNT-9:       math.fma
// CHECK-NEXT:          llvm.call_intrinsic "llvm.x86.avx512.mask.scalef.ps.512"
// CHECK-NEXT:          arith.mulf %{{.*}}, %[[BV]]
// CHECK:               arith.addf
// Row 1 reuses the loaded vectors.
// CHECK-NOT:           llvm.load
// CHECK:               llvm.call_intrinsic "llvm.x86.avx512.mask.scalef.ps.512"
// CHECK:               scf.yield %{{.*}}, %{{.*}} : vector<16xf32>, vector<16xf32>
// CHECK:             }
// The last, partial vector: lanes l with fullEnd + l >= blockEnd contribute 0.
// CHECK:             %[[TAIL:.*]]:2 = scf.if %[[HASTAIL]] -> (vector<16xf32>, vector<16xf32>) {
// CHECK:               %[[MASK:.*]] = arith.cmpi sgt, %{{.*}}, %{{.*}} : vector<16xi32>
// CHECK:               arith.select %[[MASK]], %{{.*}}, %[[ZERO]] : vector<16xi1>, vector<16xf32>
// CHECK:               arith.select %[[MASK]], %{{.*}}, %[[ZERO]] : vector<16xi1>, vector<16xf32>
// CHECK:             } else {
// CHECK:               scf.yield %[[ACC]]#0, %[[ACC]]#1
// CHECK:             }
// Block partials into the output rows.
// CHECK:             vector.reduction <add>, %[[TAIL]]#0 fastmath<reassoc>
// CHECK:             llvm.load
// CHECK:             arith.addf
// CHECK:             llvm.store
// CHECK:             vector.reduction <add>, %[[TAIL]]#1 fastmath<reassoc>
// CHECK:           }
// Remainder rows, one at a time.
// CHECK:           scf.for %{{.*}} = %[[MAINEND]] to %[[END]] step %c1_i64 : i64 {
// CHECK-COUNT-3:     vector.broadcast %{{.*}} : f32 to vector<16xf32>
// CHECK:             scf.for {{.*}} iter_args(%{{.*}} = %[[ZERO]]) -> (vector<16xf32>) : i64 {
// CHECK:           }
// CHECK:         }
// CHECK:         return
kconv.reduction @gaussian_conv sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"B", j, 1>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>, %b: vector<1xf32>):
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.neg %0 : vector<1xf32>
  %2 = kconv.exp %1 : vector<1xf32>
  %3 = kconv.mul %2, %b : vector<1xf32>, vector<1xf32>
  kconv.yield %3 : vector<1xf32>
}
