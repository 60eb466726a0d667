// RUN: kconv-opt %s --kconv-fold-exp-scale --kconv-plan-gpu-kernels="rows-per-thread=1 unroll=1" --convert-kconv-to-gpu --convert-kconv-formula-to-arith=target=nvvm --canonicalize --cse --loop-invariant-code-motion | FileCheck %s
// RUN: kconv-opt %s --kconv-plan-gpu-kernels --convert-kconv-to-gpu | FileCheck %s --check-prefix=AUTO

// The seed formula: out_i = Σ_j exp(-|x_i - y_j|²) b_j. One thread per i; (y_j, b_j) staged as one
// float4 record per j in a 256-row shared-memory tile; exp(-s) = ex2(-log2(e)·s) with log2(e)
// folded into x and y (each scaled once by sqrt(log2 e) = 1.2011224): no multiply per pair.

// CHECK: module attributes {gpu.container_module}
// CHECK: gpu.module @kconv_gpu
// CHECK-LABEL: gpu.func @kconv_gpu_gaussian_conv(
// CHECK-SAME: %[[X:.*]]: !llvm.ptr<1> {llvm.noalias, llvm.readonly}, %[[Y:.*]]: !llvm.ptr<1> {llvm.noalias, llvm.readonly}, %[[B:.*]]: !llvm.ptr<1> {llvm.noalias, llvm.readonly}, %[[OUT:.*]]: !llvm.ptr<1> {llvm.noalias}, %[[INDICES:.*]]: !llvm.ptr<1> {llvm.noalias}, %[[NOUT:[a-z0-9]+]]: i32, %[[NRED:[a-z0-9]+]]: i32, %[[CHUNK:[a-z0-9]+]]: i32, %[[BATCHBASE:[a-z0-9]+]]: i32, %{{[a-z0-9]+}}: i32, %{{[a-z0-9]+}}: i32, %{{[a-z0-9]+}}: i32, %[[SIZE3:[a-z0-9]+]]: i32, %{{[a-z0-9]+}}: i64{{(, %[a-z0-9]+: i64)+}})
// CHECK-SAME: workgroup(%[[TILE:.*]] : memref<256xvector<4xf32>, #gpu.address_space<workgroup>>) kernel
// CHECK-SAME: kconv.reduction = "gaussian_conv"
// CHECK-SAME: kconv.variant = "plain"
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>
// CHECK-DAG:   %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG:   %[[SCALE:.*]] = arith.constant 1.2011224 : f32
// The batch entry batchBase + blockIdx.z, decoded in 32 bits by the batch sizes; each variable's
// base moves by its batch strides, the output by whole problems.
// CHECK:       %[[BZ:.*]] = gpu.block_id z
// CHECK:       %[[ENTRY:.*]] = arith.addi %[[BATCHBASE]], %{{.*}} : i32
// CHECK:       arith.remui %[[ENTRY]], %[[SIZE3]] : i32
// CHECK:       %[[XB:.*]] = llvm.getelementptr %[[X]][%{{.*}}]
// CHECK:       %[[YB:.*]] = llvm.getelementptr %[[Y]][%{{.*}}]
// CHECK:       %[[BB:.*]] = llvm.getelementptr %[[B]][%{{.*}}]
// CHECK:       arith.muli %[[BZ]], %{{.*}} : index
// CHECK:       %[[OUTB:.*]] = llvm.getelementptr %[[OUT]][%{{.*}}]
// CHECK:       %[[TID:.*]] = gpu.thread_id x
// CHECK:       %[[X0:.*]] = llvm.load %{{.*}} : !llvm.ptr<1> -> f32
// CHECK:       %[[X1:.*]] = llvm.load %{{.*}} : !llvm.ptr<1> -> f32
// CHECK:       %[[X2:.*]] = llvm.load %{{.*}} : !llvm.ptr<1> -> f32
// CHECK:       %[[SX0:.*]] = arith.mulf %[[X0]], %[[SCALE]]{{( fastmath<contract>)?}} : f32
// CHECK:       %[[SX1:.*]] = arith.mulf %[[X1]], %[[SCALE]]{{( fastmath<contract>)?}} : f32
// CHECK:       %[[SX2:.*]] = arith.mulf %[[X2]], %[[SCALE]]{{( fastmath<contract>)?}} : f32
// Full tiles: cooperative load of one (y, b) record per thread, between barriers.
// CHECK:       %[[ACC:.*]] = scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[A:.*]] = %[[ZERO]]) -> (f32) {
// CHECK:         gpu.barrier
// CHECK:         llvm.getelementptr %[[YB]]
// CHECK:         arith.mulf %{{.*}}, %[[SCALE]]{{( fastmath<contract>)?}} : f32
// CHECK:         llvm.getelementptr %[[BB]]
// CHECK:         %[[REC:.*]] = vector.from_elements %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : vector<4xf32>
// CHECK:         memref.store %[[REC]], %[[TILE]][%[[TID]]]
// CHECK:         gpu.barrier
// The pair loop: one 16-byte shared-memory load, 3 sub, 1 mul, 2 fma, ex2, and the sum.
// CHECK:         %[[PARTIAL:.*]] = scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[P:.*]] = %[[ZERO]]) -> (f32) {
// CHECK-NEXT:      %[[V:.*]] = memref.load %[[TILE]][%[[J]]] : memref<256xvector<4xf32>, #gpu.address_space<workgroup>>
// CHECK-NEXT:      %[[Y0:.*]] = vector.extract %[[V]][0]
// CHECK-NEXT:      %[[Y1:.*]] = vector.extract %[[V]][1]
// CHECK-NEXT:      %[[Y2:.*]] = vector.extract %[[V]][2]
// CHECK-NEXT:      %[[BJ:.*]] = vector.extract %[[V]][3]
// CHECK-NEXT:      %[[D0:.*]] = arith.subf %[[SX0]], %[[Y0]] fastmath<contract> : f32
// CHECK-NEXT:      %[[D1:.*]] = arith.subf %[[SX1]], %[[Y1]] fastmath<contract> : f32
// CHECK-NEXT:      %[[D2:.*]] = arith.subf %[[SX2]], %[[Y2]] fastmath<contract> : f32
// CHECK-NEXT:      %[[S0:.*]] = arith.mulf %[[D0]], %[[D0]] fastmath<contract> : f32
// CHECK-NEXT:      %[[S1:.*]] = llvm.intr.fma(%[[D1]], %[[D1]], %[[S0]])
// CHECK-NEXT:      %[[S2:.*]] = llvm.intr.fma(%[[D2]], %[[D2]], %[[S1]])
// CHECK-NEXT:      %[[T:.*]] = arith.negf %[[S2]]{{( fastmath<contract>)?}} : f32
// CHECK-NEXT:      %[[E:.*]] = llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"(%[[T]]) : (f32) -> f32
// CHECK-NEXT:      %[[EB:.*]] = arith.mulf %[[E]], %[[BJ]] fastmath<contract> : f32
// CHECK-NEXT:      %[[P2:.*]] = arith.addf %[[P]], %[[EB]] fastmath<contract> : f32
// CHECK-NEXT:      scf.yield %[[P2]] : f32
// CHECK-NEXT:    }
// Block sum: the tile's partial is added to the accumulator once per tile.
// CHECK-NEXT:    %[[A2:.*]] = arith.addf %[[A]], %[[PARTIAL]] fastmath<contract> : f32
// CHECK-NEXT:    scf.yield %[[A2]] : f32
// The last partial tile: only threads with a row load; the loop runs to the remainder.
// CHECK:       scf.if %{{.*}} -> (f32) {
// CHECK:         gpu.barrier
// CHECK:         scf.if
// CHECK:           memref.store %{{.*}}, %[[TILE]][%[[TID]]]
// CHECK:         gpu.barrier
// CHECK:         scf.for
// CHECK:           llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// Rows past nOut computed garbage; only valid rows are stored.
// CHECK:       scf.if %{{.*}} {
// CHECK:         %[[PTR:.*]] = llvm.getelementptr %[[OUTB]]
// CHECK-NEXT:    llvm.store %{{.*}}, %[[PTR]] : f32, !llvm.ptr<1>
// CHECK:       gpu.return

// The split-j variant: same body, adds its partial sum atomically.
// CHECK-LABEL: gpu.func @kconv_gpu_gaussian_conv_splitj(
// CHECK-SAME: kconv.variant = "splitj"
// CHECK:       gpu.block_id y
// CHECK:       llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// CHECK:       llvm.atomicrmw fadd %{{.*}}, %{{.*}} monotonic : !llvm.ptr<1>, f32
// CHECK-NOT:   kconv.reduction @

// Defaults: 4 rows per thread (1024 rows per block), 16 pairs unrolled: one shared-memory load
// serves 4 rows.
// AUTO-LABEL: gpu.func @kconv_gpu_gaussian_conv(
// AUTO-SAME: kconv.rows_per_thread = 4
// AUTO-COUNT-16: memref.load %{{.*}} : memref<256xvector<4xf32>, #gpu.address_space<workgroup>>
// AUTO-LABEL: gpu.func @kconv_gpu_gaussian_conv_splitj(

kconv.reduction @gaussian_conv sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"B", j, 1>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>, %b: vector<1xf32>):
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.neg %0 : vector<1xf32>
  %2 = kconv.exp %1 : vector<1xf32>
  %3 = kconv.mul %2, %b : vector<1xf32>, vector<1xf32>
  kconv.yield %3 : vector<1xf32>
}
