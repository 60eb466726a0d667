// RUN: kconv-opt %s --kconv-plan-cpu-kernels="rows=1 lanes=8" --convert-kconv-to-cpu --cse --loop-invariant-code-motion --cse --convert-kconv-formula-to-arith="target=cpu lanes=8 avx512=false" --canonicalize --cse | FileCheck %s

// The last vector of each block's range is partial when nReduced is not a multiple of the lanes:
// its loads read the zero padding of the packed inputs, and a select drops those lanes (1 / 0 =
// inf there, so a multiplication by a 0/1 mask would not do).

// CHECK-LABEL: func.func @kconv_cpu_inverse_sum(
// CHECK-DAG:     %[[IOTA:.*]] = arith.constant dense<[0, 1, 2, 3, 4, 5, 6, 7]> : vector<8xi32>
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<8xf32>
// CHECK:         scf.for %[[JB:.*]] = {{.*}} step %c1024_i64 : i64 {
// CHECK:           %[[BLOCKEND:.*]] = arith.minsi
// CHECK:           %[[FULLEND:.*]] = arith.addi %[[JB]],
// The tail test depends on the block only (LICM takes it out of the row loop).
// CHECK:           %[[HASTAIL:.*]] = arith.cmpi slt, %[[FULLEND]], %[[BLOCKEND]] : i64
// CHECK:           scf.for
// CHECK:             %[[ACC:.*]] = scf.for %{{.*}} = %[[JB]] to %[[FULLEND]] step %c8_i64
// CHECK-NOT:           arith.select
// CHECK:               arith.divf
// CHECK:             }
// CHECK:             scf.if %[[HASTAIL]] -> (vector<8xf32>) {
// CHECK:               %[[LEFT:.*]] = arith.subi %[[BLOCKEND]], %[[FULLEND]] : i64
// CHECK:               %[[LEFT32:.*]] = arith.trunci %[[LEFT]] : i64 to i32
// CHECK:               %[[LEFTV:.*]] = vector.broadcast %[[LEFT32]] : i32 to vector<8xi32>
// CHECK:               %[[MASK:.*]] = arith.cmpi sgt, %[[LEFTV]], %[[IOTA]] : vector<8xi32>
// CHECK:               llvm.getelementptr inbounds %{{.*}}[%[[FULLEND]]]
// CHECK:               %[[V:.*]] = arith.divf
// CHECK:               %[[SEL:.*]] = arith.select %[[MASK]], %[[V]], %[[ZERO]] : vector<8xi1>, vector<8xf32>
// CHECK:               %[[SUM:.*]] = arith.addf %[[ACC]], %[[SEL]] fastmath<contract>
// CHECK:               scf.yield %[[SUM]] : vector<8xf32>
// CHECK:             } else {
// CHECK:               scf.yield %[[ACC]] : vector<8xf32>
// CHECK:             }
kconv.reduction @inverse_sum sum axis = 1 vars [#kconv.var<"A", i, 1>, #kconv.var<"B", j, 1>] {
^bb0(%a: vector<1xf32>, %b: vector<1xf32>):
  %0 = kconv.div %a, %b : vector<1xf32>, vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}
