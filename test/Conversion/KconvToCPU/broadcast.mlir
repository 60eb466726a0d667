// RUN: kconv-opt %s --kconv-plan-cpu-kernels="rows=1" --convert-kconv-to-cpu --cse --loop-invariant-code-motion --cse --convert-kconv-formula-to-arith="target=cpu lanes=16" --canonicalize --cse | FileCheck %s

// A dim-1 operand broadcasts against a dim-3 one: the one vector of A (per output row) is used
// for the three components of Y.

// CHECK-LABEL: func.func @kconv_cpu_scale_sum(
// CHECK:         scf.for %[[I:.*]] = {{.*}} step %c1_i64 : i64 {
// CHECK:           %[[AS:.*]] = llvm.load %{{.*}} : !llvm.ptr -> f32
// CHECK-NEXT:      %[[A:.*]] = vector.broadcast %[[AS]] : f32 to vector<16xf32>
// CHECK-NOT:       vector.broadcast
// CHECK:           scf.for
// CHECK:             %[[Y0:.*]] = llvm.load {{.*}} -> vector<16xf32>
// CHECK:             %[[Y1:.*]] = llvm.load {{.*}} -> vector<16xf32>
// CHECK:             %[[Y2:.*]] = llvm.load {{.*}} -> vector<16xf32>
// CHECK-DAG:         %[[P0:.*]] = arith.mulf %[[A]], %[[Y0]]
// CHECK-DAG:         %[[P1:.*]] = arith.mulf %[[A]], %[[Y1]]
// CHECK-DAG:         %[[P2:.*]] = arith.mulf %[[A]], %[[Y2]]
// CHECK:             %[[S:.*]] = arith.addf %[[P0]], %[[P1]]
// CHECK:             arith.addf %[[S]], %[[P2]]
kconv.reduction @scale_sum sum axis = 1 vars [#kconv.var<"A", i, 1>, #kconv.var<"Y", j, 3>] {
^bb0(%a: vector<1xf32>, %y: vector<3xf32>):
  %0 = kconv.mul %a, %y : vector<1xf32>, vector<3xf32>
  %1 = kconv.sum %0 : vector<3xf32>
  kconv.yield %1 : vector<1xf32>
}

// The broadcast the other way round (dim-3 lhs, dim-1 rhs) with a reduced-side scalar.
// CHECK-LABEL: func.func @kconv_cpu_div_by_b(
// CHECK:           scf.for
// CHECK:             %[[B:.*]] = llvm.load {{.*}} -> vector<16xf32>
// CHECK-COUNT-3:     arith.divf %{{.*}}, %[[B]]
kconv.reduction @div_by_b sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"B", j, 1>] {
^bb0(%x: vector<3xf32>, %b: vector<1xf32>):
  %0 = kconv.div %x, %b : vector<3xf32>, vector<1xf32>
  kconv.yield %0 : vector<3xf32>
}
