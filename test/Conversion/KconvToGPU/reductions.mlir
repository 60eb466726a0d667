// RUN: kconv-opt %s --kconv-plan-gpu-kernels="block-size=256 rows-per-thread=1 unroll=1" --convert-kconv-to-gpu | FileCheck %s
// RUN: kconv-opt %s --kconv-plan-gpu-kernels="block-size=256 rows-per-thread=2 unroll=4" --convert-kconv-to-gpu | FileCheck %s --check-prefix=ROWS

// Each kind's arithmetic comes from its combiner (lib/Conversion/Combiner); split-j kernels
// (atomic adds) exist only for sum.

// ArgMin: state (+inf, -1), a strict comparison keeps the first index of a tie, the index is
// reduced row tileStart + j, written as int64 to the indices output.
// CHECK-LABEL: gpu.func @kconv_gpu_amin(
// CHECK-SAME:    %{{.*}}: !llvm.ptr<1> {llvm.noalias, llvm.readonly}, %{{.*}}: !llvm.ptr<1> {llvm.noalias, llvm.readonly}, %[[VALUES:.*]]: !llvm.ptr<1> {llvm.noalias}, %[[INDICES:.*]]: !llvm.ptr<1> {llvm.noalias}, %{{.*}}: i32, %{{.*}}: i32, %{{.*}}: i32, %{{.*}}: i32
// The indices of this block's batch entry.
// CHECK:         %[[ENTRYINDICES:.*]] = llvm.getelementptr %[[INDICES]][%{{.*}}] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, i64
// CHECK-DAG:     %[[INF:.*]] = arith.constant 0x7F800000 : f32
// CHECK-DAG:     %[[NONE:.*]] = arith.constant -1 : i32
// CHECK:         scf.for {{.*}} iter_args(%{{.*}} = %[[INF]], %{{.*}} = %[[NONE]]) -> (f32, i32)
// CHECK:           scf.for {{.*}} -> (f32, i32)
// CHECK:             %[[J:.*]] = arith.index_cast %{{.*}} : index to i32
// CHECK:             %[[LESS:.*]] = arith.cmpf olt, %[[F:.*]], %[[M:.*]] : f32
// CHECK:             arith.select %[[LESS]], %[[F]], %[[M]] : f32
// CHECK:             arith.select %[[LESS]], %[[J]], %{{.*}} : i32
// CHECK:         %[[AT:.*]] = llvm.getelementptr %[[ENTRYINDICES]][%{{.*}}] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, i64
// CHECK:         %[[WIDE:.*]] = arith.extsi %{{.*}} : i32 to i64
// CHECK:         llvm.store %[[WIDE]], %[[AT]] : i64, !llvm.ptr<1>
// CHECK-NOT:   gpu.func @kconv_gpu_amin_splitj
kconv.reduction @amin argmin axis = 1 vars [#kconv.var<"X", i, 1>, #kconv.var<"Y", j, 1>] {
^bb0(%x: vector<1xf32>, %y: vector<1xf32>):
  %0 = kconv.sub %x, %y : vector<1xf32>, vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}

// The small kernel merges the slices' states through shared memory, the index slot as its bits.
// CHECK-LABEL: gpu.func @kconv_gpu_amin_small(
// CHECK:         arith.bitcast %{{.*}} : i32 to f32
// CHECK:         gpu.barrier
// CHECK:         arith.bitcast %{{.*}} : f32 to i32

// KMin: a candidate enters the sorted K-list only when it beats the last entry (a branch).
// CHECK-LABEL: gpu.func @kconv_gpu_k3(
// CHECK:           %[[ENTERS:.*]] = arith.cmpf olt, %{{.*}}, %{{.*}} : f32
// CHECK:           scf.if %[[ENTERS]] -> (f32, f32, f32, i32, i32, i32)
// CHECK-COUNT-3:     arith.cmpf olt
// CHECK:             scf.yield
// CHECK:           } else {
// CHECK-NOT:   gpu.func @kconv_gpu_k3_splitj
// Two rows per thread, batches of 4 pairs: each row's batch minimum (from its first pair, no
// +inf start) against its last entry, one branch for both rows, the rows' own tests inside.
// ROWS-LABEL: gpu.func @kconv_gpu_k3(
// ROWS:           %[[A1:.*]] = arith.minnumf %{{[0-9]+}}, %{{[0-9]+}} : f32
// ROWS-NEXT:      %[[A2:.*]] = arith.minnumf %[[A1]], %{{[0-9]+}} : f32
// ROWS-NEXT:      %[[A3:.*]] = arith.minnumf %[[A2]], %{{[0-9]+}} : f32
// ROWS-NEXT:      %[[ROW0:.*]] = arith.cmpf olt, %[[A3]], %{{.*}} : f32
// ROWS-COUNT-3:   arith.minnumf
// ROWS-NEXT:      %[[ROW1:.*]] = arith.cmpf olt, %{{.*}}, %{{.*}} : f32
// ROWS-NEXT:      %[[ANY:.*]] = arith.ori %[[ROW0]], %[[ROW1]] : i1
// ROWS-NEXT:      scf.if %[[ANY]] -> (f32, f32, f32, i32, i32, i32, f32, f32, f32, i32, i32, i32)
// ROWS:             scf.if %{{.*}} -> (f32, f32, f32, i32, i32, i32)
// ROWS:             scf.if %{{.*}} -> (f32, f32, f32, i32, i32, i32)
// ROWS:           } else {
kconv.reduction @k3 argkmin k = 3 axis = 1 vars [#kconv.var<"X", i, 1>, #kconv.var<"Y", j, 1>] {
^bb0(%x: vector<1xf32>, %y: vector<1xf32>):
  %0 = kconv.sub %x, %y : vector<1xf32>, vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}

// LogSumExp: state (m, s) from (lowest finite, 0); a new maximum rescales (the rare branch),
// otherwise s += exp(f - m) with the formula's exp; the tile's partial state merges into the
// running one; finalize m + log(s).
// CHECK-LABEL: gpu.func @kconv_gpu_lse(
// CHECK-DAG:     %[[LOWEST:.*]] = arith.constant -3.40282347E+38 : f32
// CHECK:         scf.for {{.*}} -> (f32, f32)
// CHECK:           %[[GROWS:.*]] = arith.cmpf olt, %{{.*}}, %{{.*}} : f32
// CHECK:           scf.if %[[GROWS]] -> (f32, f32)
// CHECK:           } else {
// CHECK:             kconv.exp
// CHECK:         kconv.log
// CHECK-NOT:   gpu.func @kconv_gpu_lse_splitj
kconv.reduction @lse logsumexp axis = 1 vars [#kconv.var<"X", i, 1>, #kconv.var<"Y", j, 1>] {
^bb0(%x: vector<1xf32>, %y: vector<1xf32>):
  %0 = kconv.sub %x, %y : vector<1xf32>, vector<1xf32>
  %c = kconv.constant 1.0 : vector<1xf32>
  %1 = kconv.concat %0, %c : vector<1xf32>, vector<1xf32>
  kconv.yield %1 : vector<2xf32>
}

// Sum keeps its split-j kernels.
// CHECK-LABEL: gpu.func @kconv_gpu_total_splitj(
// CHECK:         llvm.atomicrmw fadd
kconv.reduction @total sum axis = 1 vars [#kconv.var<"X", i, 1>, #kconv.var<"Y", j, 1>] {
^bb0(%x: vector<1xf32>, %y: vector<1xf32>):
  %0 = kconv.sub %x, %y : vector<1xf32>, vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}
