// RUN: kconv-opt %s --split-input-file --kconv-plan-cpu-kernels="rows=1" --convert-kconv-to-cpu --cse --loop-invariant-code-motion --cse --convert-kconv-formula-to-arith="target=cpu lanes=16" --canonicalize --cse | FileCheck %s
// RUN: kconv-opt %s --split-input-file --kconv-plan-cpu-kernels="rows=1" --convert-kconv-to-cpu="flush-denormals=false" --cse --loop-invariant-code-motion --cse --convert-kconv-formula-to-arith="target=cpu lanes=16 fast-math=false" --canonicalize --cse | FileCheck %s --check-prefix=ACCURATE

// Elementwise and reducing formula ops on 16-lane vectors.

// CHECK-LABEL: func.func @kconv_cpu_elementwise(
// CHECK:         scf.for {{.*}} step %c16_i64
// CHECK:           %[[Y:.*]] = llvm.load {{.*}} -> vector<16xf32>
// CHECK:           %[[A:.*]] = arith.addf %[[X:.*]], %[[Y]]
// CHECK:           %[[S:.*]] = arith.subf %[[A]], %[[Y]]
// CHECK:           %[[M:.*]] = arith.mulf %[[S]], %[[Y]]
// CHECK:           %[[D:.*]] = arith.divf %[[M]], %[[Y]]
// CHECK:           %[[N:.*]] = arith.negf %[[D]]
// CHECK:           %[[AB:.*]] = math.absf %[[N]]
// CHECK:           %[[SQ:.*]] = math.sqrt %[[AB]]
// rsqrt: 1 / sqrt, and 0 at 0 (KeOps' definition)
// CHECK:           %[[RS0:.*]] = math.sqrt %[[SQ]]
// CHECK:           %[[RSD:.*]] = arith.divf %[[ONE:.*]], %[[RS0]]
// CHECK:           %[[ISZERO:.*]] = arith.cmpf oeq, %[[SQ]], %[[ZERO:.*]] :
// CHECK:           %[[RS:.*]] = arith.select %[[ISZERO]], %[[ZERO]], %[[RSD]]
// square
// CHECK:           %[[SQR:.*]] = arith.mulf %[[RS]], %[[RS]]
// inv
// CHECK:           %[[INV:.*]] = arith.divf %[[ONE]], %[[SQR]]
// fast log: the math dialect's polynomial, no libm call
// CHECK-NOT:       math.log
// CHECK:           scf.yield
// ACCURATE-LABEL: func.func @kconv_cpu_elementwise(
// ACCURATE:         math.log %{{.*}} : vector<16xf32>
kconv.reduction @elementwise sum axis = 1 vars [#kconv.var<"X", i, 1>, #kconv.var<"Y", j, 1>] {
^bb0(%x: vector<1xf32>, %y: vector<1xf32>):
  %0 = kconv.add %x, %y : vector<1xf32>, vector<1xf32>
  %1 = kconv.sub %0, %y : vector<1xf32>, vector<1xf32>
  %2 = kconv.mul %1, %y : vector<1xf32>, vector<1xf32>
  %3 = kconv.div %2, %y : vector<1xf32>, vector<1xf32>
  %4 = kconv.neg %3 : vector<1xf32>
  %5 = kconv.abs %4 : vector<1xf32>
  %6 = kconv.sqrt %5 : vector<1xf32>
  %7 = kconv.rsqrt %6 : vector<1xf32>
  %8 = kconv.square %7 : vector<1xf32>
  %9 = kconv.inv %8 : vector<1xf32>
  %10 = kconv.log %9 : vector<1xf32>
  kconv.yield %10 : vector<1xf32>
}

// -----

// pow by repeated squaring: x^5 = x * (x^2)^2, x^-3 = 1 / (x * x^2), x^0 = 1.
// CHECK-LABEL: func.func @kconv_cpu_powers(
// CHECK:         scf.for {{.*}} step %c16_i64
// CHECK:           %[[Y:.*]] = llvm.load {{.*}} -> vector<16xf32>
// CHECK:           %[[Y2:.*]] = arith.mulf %[[Y]], %[[Y]]
// CHECK:           %[[Y4:.*]] = arith.mulf %[[Y2]], %[[Y2]]
// CHECK:           %[[Y5:.*]] = arith.mulf %[[Y]], %[[Y4]]
// CHECK:           %[[Y3:.*]] = arith.mulf %[[Y]], %[[Y2]]
// CHECK:           %[[YM3:.*]] = arith.divf %{{.*}}, %[[Y3]]
// CHECK:           %[[S:.*]] = arith.addf %[[Y5]], %[[YM3]]
// CHECK:           arith.addf %[[S]], %{{.*}}
kconv.reduction @powers sum axis = 1 vars [#kconv.var<"Y", j, 1>] {
^bb0(%y: vector<1xf32>):
  %0 = kconv.pow %y, 5 : vector<1xf32>
  %1 = kconv.pow %y, -3 : vector<1xf32>
  %2 = kconv.pow %y, 0 : vector<1xf32>
  %3 = kconv.add %0, %1 : vector<1xf32>, vector<1xf32>
  %4 = kconv.add %3, %2 : vector<1xf32>, vector<1xf32>
  kconv.yield %4 : vector<1xf32>
}

// -----

// Component ops: elem, concat, sum, sqnorm2, norm2, scalprod; the output is
// (Y1 + sum(Y), |Y|^2, |X| * (X|Y)): three accumulators.
// CHECK-LABEL: func.func @kconv_cpu_components(
// CHECK:         scf.for {{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK:           %[[Y0:.*]] = llvm.load {{.*}} -> vector<16xf32>
// CHECK:           %[[Y1:.*]] = llvm.load {{.*}} -> vector<16xf32>
// sum(Y)
// CHECK:           %[[SUM:.*]] = arith.addf %[[Y0]], %[[Y1]]
// Elem(Y, 1) + sum(Y)
// CHECK:           %[[C0:.*]] = arith.addf %[[Y1]], %[[SUM]]
// |Y|^2: a product, then FMAs
// CHECK:           %[[Q0:.*]] = arith.mulf %[[Y0]], %[[Y0]]
// CHECK:           %[[C1:.*]] = math.fma %[[Y1]], %[[Y1]], %[[Q0]]
// (X|Y) * |X|, |X| computed outside the inner loop (it depends on the output row only)
// CHECK:           %[[P0:.*]] = arith.mulf %[[X0:.*]], %[[Y0]]
// CHECK:           %[[DOT:.*]] = math.fma %[[X1:.*]], %[[Y1]], %[[P0]]
// CHECK:           %[[C2:.*]] = arith.mulf %[[NORM:.*]], %[[DOT]]
// CHECK:           arith.addf %{{.*}}, %[[C0]]
// CHECK:           arith.addf %{{.*}}, %[[C1]]
// CHECK:           arith.addf %{{.*}}, %[[C2]]
kconv.reduction @components sum axis = 1 vars [#kconv.var<"X", i, 2>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<2xf32>, %y: vector<2xf32>):
  %0 = kconv.elem %y, 1 : vector<2xf32>
  %1 = kconv.sum %y : vector<2xf32>
  %2 = kconv.add %0, %1 : vector<1xf32>, vector<1xf32>
  %3 = kconv.sqnorm2 %y : vector<2xf32>
  %4 = kconv.norm2 %x : vector<2xf32>
  %5 = kconv.scalprod %x, %y : vector<2xf32>, vector<2xf32>
  %6 = kconv.mul %4, %5 : vector<1xf32>, vector<1xf32>
  %7 = kconv.concat %2, %3 : vector<1xf32>, vector<1xf32>
  %8 = kconv.concat %7, %6 : vector<2xf32>, vector<1xf32>
  kconv.yield %8 : vector<3xf32>
}

// -----

// Parameters and constants are loaded / splatted once per call, outside all loops; what depends
// on the output row only (here X * P + 1) once per row block, outside the inner loop.
// CHECK-LABEL: func.func @kconv_cpu_params(
// CHECK-SAME:      %[[ARGS:[a-z0-9]+]]: !llvm.ptr
// CHECK:         llvm.getelementptr inbounds %[[ARGS]][1]
// CHECK-NEXT:    %[[PP:.*]] = llvm.load {{.*}} -> !llvm.ptr
// CHECK:         %[[PS:.*]] = llvm.load %[[PP]] {{.*}} -> f32
// CHECK:         %[[P:.*]] = vector.broadcast %[[PS]] : f32 to vector<16xf32>
// CHECK:         scf.for {{.*}} step %c1024_i64
// CHECK:           scf.for {{.*}} step %c1_i64
// CHECK:             %[[X:.*]] = vector.broadcast
// CHECK:             %[[XP:.*]] = arith.mulf %[[X]], %[[P]]
// CHECK:             %[[XP1:.*]] = arith.addf %[[XP]], %{{.*}}
// CHECK:             scf.for {{.*}} step %c16_i64
// CHECK:               %[[Y:.*]] = llvm.load {{.*}} -> vector<16xf32>
// CHECK-NEXT:          arith.mulf %[[XP1]], %[[Y]]
kconv.reduction @params sum axis = 1 vars [#kconv.var<"X", i, 1>, #kconv.var<"P", p, 1>, #kconv.var<"Y", j, 1>] {
^bb0(%x: vector<1xf32>, %p: vector<1xf32>, %y: vector<1xf32>):
  %c = kconv.constant 1.0 : vector<1xf32>
  %0 = kconv.mul %x, %p : vector<1xf32>, vector<1xf32>
  %1 = kconv.add %0, %c : vector<1xf32>, vector<1xf32>
  %2 = kconv.mul %1, %y : vector<1xf32>, vector<1xf32>
  kconv.yield %2 : vector<1xf32>
}
