// RUN: kconv-opt %s --kconv-plan-cpu-kernels="lanes=4 rows=1" --convert-kconv-to-cpu="flush-denormals=false" | FileCheck %s

// Each kind's arithmetic comes from its combiner (lib/Conversion/Combiner). Only sum zeroes its
// rows and adds j-block partials into them; the other kinds keep the row's state over the whole
// reduced range and write each row once.

// ArgMin: lane l of the index vector is reduced row j + l; the lanes' states merge by rotations
// (log2 4 = 2 steps, ties to the smaller index), lane 0 is finalized and stored as int64.
// CHECK-LABEL: func.func @kconv_cpu_amin(
// CHECK-SAME:    %{{.*}}: !llvm.ptr, %[[VALUES:.*]]: !llvm.ptr, %[[INDICES:.*]]: !llvm.ptr, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: i64)
// CHECK-NOT:     llvm.store
// CHECK:         scf.for
// CHECK-DAG:       %[[INF:.*]] = arith.constant dense<0x7F800000> : vector<4xf32>
// CHECK-DAG:       %[[NONE:.*]] = arith.constant dense<-1> : vector<4xi32>
// CHECK:           scf.for {{.*}} iter_args(%{{.*}} = %[[INF]], %{{.*}} = %[[NONE]]) -> (vector<4xf32>, vector<4xi32>)
// CHECK:             %[[IOTA:.*]] = arith.constant dense<[0, 1, 2, 3]> : vector<4xi32>
// CHECK:             %[[J:.*]] = arith.trunci %{{.*}} : i64 to i32
// CHECK:             %[[JV:.*]] = vector.broadcast %[[J]] : i32 to vector<4xi32>
// CHECK:             %[[LANEJ:.*]] = arith.addi %[[JV]], %[[IOTA]] : vector<4xi32>
// CHECK:             %[[LESS:.*]] = arith.cmpf olt
// CHECK:             arith.select %[[LESS]], %{{.*}}, %{{.*}} : vector<4xi1>, vector<4xf32>
// CHECK:             arith.select %[[LESS]], %[[LANEJ]], %{{.*}} : vector<4xi1>, vector<4xi32>
// The masked last vector keeps the old state in the lanes past the end.
// CHECK:           scf.if
// CHECK:             arith.select %{{.*}}, %{{.*}}, %{{.*}} : vector<4xi1>, vector<4xf32>
// CHECK:             arith.select %{{.*}}, %{{.*}}, %{{.*}} : vector<4xi1>, vector<4xi32>
// CHECK:           vector.shuffle %{{.*}}, %{{.*}} [2, 3, 0, 1] : vector<4xf32>, vector<4xf32>
// CHECK:           arith.cmpi slt, %{{.*}}, %{{.*}} : vector<4xi32>
// CHECK:           vector.shuffle %{{.*}}, %{{.*}} [1, 2, 3, 0] : vector<4xf32>, vector<4xf32>
// CHECK:           %[[LANE0:.*]] = vector.extract %{{.*}}[0] : i32 from vector<4xi32>
// CHECK:           %[[AT:.*]] = llvm.getelementptr inbounds %[[INDICES]][%{{.*}}] : (!llvm.ptr, i64) -> !llvm.ptr, i64
// CHECK:           %[[WIDE:.*]] = arith.extsi %[[LANE0]] : i32 to i64
// CHECK:           llvm.store %[[WIDE]], %[[AT]]
// CHECK:         return
kconv.reduction @amin argmin axis = 1 vars [#kconv.var<"X", i, 1>, #kconv.var<"Y", j, 1>] {
^bb0(%x: vector<1xf32>, %y: vector<1xf32>):
  %0 = kconv.sub %x, %y : vector<1xf32>, vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}

// LogSumExp: the rescaling branch is taken when any lane sees a new maximum.
// CHECK-LABEL: func.func @kconv_cpu_lse(
// CHECK:             %[[GROWS:.*]] = arith.cmpf olt, %{{.*}}, %{{.*}} : vector<4xf32>
// CHECK:             %[[ANY:.*]] = vector.reduction <or>, %[[GROWS]] : vector<4xi1> into i1
// CHECK:             scf.if %[[ANY]] -> (vector<4xf32>, vector<4xf32>)
// CHECK:               kconv.exp
// CHECK:             } else {
// CHECK:               kconv.exp
// CHECK:           kconv.log
kconv.reduction @lse logsumexp axis = 1 vars [#kconv.var<"X", i, 1>, #kconv.var<"Y", j, 1>] {
^bb0(%x: vector<1xf32>, %y: vector<1xf32>):
  %0 = kconv.sub %x, %y : vector<1xf32>, vector<1xf32>
  %c = kconv.constant 1.0 : vector<1xf32>
  %1 = kconv.concat %0, %c : vector<1xf32>, vector<1xf32>
  kconv.yield %1 : vector<2xf32>
}

// Sum: rows zeroed, j-blocks, partial sums added into the rows.
// CHECK-LABEL: func.func @kconv_cpu_total(
// CHECK:         llvm.store
// CHECK:         scf.for
// CHECK:           vector.reduction <add>
// CHECK:           llvm.load
// CHECK:           arith.addf
// CHECK:           llvm.store
kconv.reduction @total sum axis = 1 vars [#kconv.var<"X", i, 1>, #kconv.var<"Y", j, 1>] {
^bb0(%x: vector<1xf32>, %y: vector<1xf32>):
  %0 = kconv.sub %x, %y : vector<1xf32>, vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}
