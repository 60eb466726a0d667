// RUN: kconv-opt %s --kconv-plan-cpu-kernels="rows=2" --convert-kconv-to-cpu --cse --loop-invariant-code-motion --cse --convert-kconv-formula-to-arith="target=cpu lanes=16" --canonicalize --cse | FileCheck %s

// A 2-dimensional output: 2 accumulators per register row (4 for 2 rows), output rows of 2 floats.

// CHECK-LABEL: func.func @kconv_cpu_gauss_vec(
// CHECK-SAME:      %{{.*}}: !llvm.ptr, %[[OUT:[a-z0-9_]+]]: !llvm.ptr, %[[INDICES:[a-z0-9_]+]]: !llvm.ptr, %[[BEGIN:[a-z0-9_]+]]: i64, %[[END:[a-z0-9_]+]]: i64,
// Zeroing covers the floats [2 begin, 2 end).
// CHECK:         %[[LO:.*]] = arith.muli %[[BEGIN]], %c2_i64 : i64
// CHECK:         %[[HI:.*]] = arith.muli %[[END]], %c2_i64 : i64
// CHECK:         scf.for %{{.*}} = %[[LO]] to %[[HI]] step %c1_i64 : i64 {
// CHECK:         scf.for %[[I:.*]] = {{.*}} step %c2_i64 : i64 {
// CHECK:           %[[ACC:.*]]:4 = scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) : i64 {
// One exp per row, then the two components of B scaled by it.
// CHECK-COUNT-3:     llvm.load {{.*}} -> vector<16xf32>
// CHECK:             %[[B0:.*]] = llvm.load {{.*}} -> vector<16xf32>
// CHECK:             %[[B1:.*]] = llvm.load {{.*}} -> vector<16xf32>
// CHECK:             %[[E:.*]] = llvm.call_intrinsic "llvm.x86.avx512.mask.scalef.ps.512"
// CHECK:             arith.mulf %[[E]], %[[B0]]
// CHECK:             arith.mulf %[[E]], %[[B1]]
// CHECK:             llvm.call_intrinsic "llvm.x86.avx512.mask.scalef.ps.512"
// CHECK-NOT:         llvm.call_intrinsic
// CHECK:             scf.yield %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>
// CHECK:           %[[T:.*]]:4 = scf.if
// Row i: out[2 i], out[2 i + 1]; row i + 1: out[2 (i + 1)], out[2 (i + 1) + 1].
// CHECK:           vector.reduction <add>, %[[T]]#0
// CHECK:           vector.reduction <add>, %[[T]]#1
// CHECK:           %[[ROW0:.*]] = arith.muli %[[I]], %c2_i64 : i64
// CHECK:           llvm.getelementptr inbounds %[[OUT]][%[[ROW0]]]
// CHECK:           arith.addi %[[ROW0]], %c1_i64 : i64
// CHECK:           vector.reduction <add>, %[[T]]#2
// CHECK:           vector.reduction <add>, %[[T]]#3
kconv.reduction @gauss_vec sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"B", j, 2>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>, %b: vector<2xf32>):
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.neg %0 : vector<1xf32>
  %2 = kconv.exp %1 : vector<1xf32>
  %3 = kconv.mul %2, %b : vector<1xf32>, vector<2xf32>
  kconv.yield %3 : vector<2xf32>
}

// Many output components: fewer register rows (R * outputDim <= 12).
// CHECK-LABEL: func.func @kconv_cpu_wide(
// CHECK-NOT:     step %c2_i64
// CHECK:         scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) : i64 {
kconv.reduction @wide sum axis = 1 vars [#kconv.var<"X", i, 8>, #kconv.var<"Y", j, 8>] {
^bb0(%x: vector<8xf32>, %y: vector<8xf32>):
  %0 = kconv.mul %x, %y : vector<8xf32>, vector<8xf32>
  kconv.yield %0 : vector<8xf32>
}
