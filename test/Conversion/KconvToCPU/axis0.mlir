// RUN: kconv-opt %s --kconv-plan-cpu-kernels="rows=1" --convert-kconv-to-cpu --canonicalize --cse | FileCheck %s

// axis = 0: one output row per j, the sum runs over i. Y and B (category j) are the per-row
// broadcasts, X (category i) is loaded as vectors from its packed SoA layout.

// CHECK-LABEL: func.func @kconv_cpu_gauss_t(
// CHECK-SAME:      %[[ARGS:[a-z0-9_]+]]: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: i64, %[[STRIDE:[a-z0-9_]+]]: i64)
// CHECK:         %[[X:.*]] = llvm.load %[[ARGS]] {{.*}} -> !llvm.ptr
// CHECK:         %[[Y:.*]] = llvm.load {{.*}} -> !llvm.ptr
// CHECK:         %[[B:.*]] = llvm.load {{.*}} -> !llvm.ptr
// CHECK:         scf.for {{.*}} step %c1024_i64 : i64 {
// CHECK:         scf.for %[[J:.*]] = {{.*}} step %c1_i64 : i64 {
// CHECK:           %[[ROW:.*]] = arith.muli %[[J]], %c3_i64 : i64
// CHECK:           llvm.getelementptr inbounds %[[Y]][%[[ROW]]]
// CHECK:           vector.broadcast
// CHECK:           vector.broadcast
// CHECK:           vector.broadcast
// CHECK:           llvm.getelementptr inbounds %[[B]][%[[J]]]
// CHECK:           vector.broadcast
// CHECK:           scf.for %[[I:.*]] = {{.*}} step %c16_i64 iter_args
// CHECK:             llvm.getelementptr inbounds %[[X]][%[[I]]]
// CHECK:             llvm.load {{.*}} -> vector<16xf32>
// CHECK:             arith.addi %[[STRIDE]], %[[I]]
kconv.reduction @gauss_t sum axis = 0 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"B", j, 1>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>, %b: vector<1xf32>):
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.neg %0 : vector<1xf32>
  %2 = kconv.exp %1 : vector<1xf32>
  %3 = kconv.mul %2, %b : vector<1xf32>, vector<1xf32>
  kconv.yield %3 : vector<1xf32>
}
