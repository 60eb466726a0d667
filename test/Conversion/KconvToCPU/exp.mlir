// RUN: kconv-opt %s --kconv-plan-cpu-kernels="rows=1" --convert-kconv-to-cpu --cse --loop-invariant-code-motion --cse --convert-kconv-formula-to-arith="target=cpu lanes=16" --canonicalize --cse | FileCheck %s --check-prefix=FAST
// RUN: kconv-opt %s --kconv-plan-cpu-kernels="rows=1" --convert-kconv-to-cpu="flush-denormals=false" --cse --loop-invariant-code-motion --cse --convert-kconv-formula-to-arith="target=cpu lanes=16 fast-math=false" --canonicalize --cse | FileCheck %s --check-prefix=ACCURATE
// RUN: kconv-opt %s --kconv-plan-cpu-kernels="rows=1 lanes=8" --convert-kconv-to-cpu --cse --loop-invariant-code-motion --cse --convert-kconv-formula-to-arith="target=cpu lanes=8 avx512=false" --canonicalize --cse | FileCheck %s --check-prefix=AVX2

// exp: inlined Cody-Waite + polynomial (fast math), or math.exp (accurate, libm once lowered).

// FAST-LABEL: func.func @kconv_cpu_exp_dot(
// The argument's sign is unknown: both clamps, as selects that keep a NaN argument (NaN > c and
// NaN < c are false).
// FAST:         scf.for {{.*}} step %c16_i64
// FAST:           %[[OVER:.*]] = arith.cmpf ogt, %[[D:.*]], %[[HIC:.*]] : vector<16xf32>
// FAST-NEXT:      %[[HI:.*]] = arith.select %[[OVER]], %[[HIC]], %[[D]]
// FAST-NEXT:      %[[UNDER:.*]] = arith.cmpf olt, %[[HI]], %[[LOC:.*]] : vector<16xf32>
// FAST-NEXT:      %[[X:.*]] = arith.select %[[UNDER]], %[[LOC]], %[[HI]]
// t = x log2(e) + 1.5 2^23, n = t - 1.5 2^23
// FAST-NEXT:      %[[T:.*]] = math.fma %[[X]], %{{.*}}, %[[MAGIC:.*]] : vector<16xf32>
// FAST-NEXT:      %[[N:.*]] = arith.subf %[[T]], %[[MAGIC]] : vector<16xf32>
// r = x - n ln2 (two parts)
// FAST-NEXT:      %[[R1:.*]] = math.fma %[[N]], %{{.*}}, %[[X]] : vector<16xf32>
// FAST-NEXT:      %[[R:.*]] = math.fma %[[N]], %{{.*}}, %[[R1]] : vector<16xf32>
// degree-6 polynomial (Horner)
// FAST-COUNT-6:   math.fma %{{.*}}, %[[R]], %{{.*}} : vector<16xf32>
// 2^n by vscalefps
// FAST-NEXT:      llvm.call_intrinsic "llvm.x86.avx512.mask.scalef.ps.512"(%[[P:.*]], %[[N]], %[[P]], %c-1_i16, %c4_i32)
// FAST-NOT:       math.exp

// ACCURATE-LABEL: func.func @kconv_cpu_exp_dot(
// ACCURATE:         scf.for {{.*}} step %c16_i64
// ACCURATE:           %[[D:.*]] = math.fma %{{.*}}, %{{.*}}, %{{.*}} : vector<16xf32>
// ACCURATE-NEXT:      math.exp %[[D]] : vector<16xf32>

// Without AVX-512: 8 lanes, 2^n built in the exponent bits.
// AVX2-LABEL: func.func @kconv_cpu_exp_dot(
// AVX2:         scf.for {{.*}} step %c8_i64
// AVX2:           arith.cmpf ogt, %{{.*}} : vector<8xf32>
// AVX2:           %[[T:.*]] = math.fma %{{.*}} : vector<8xf32>
// AVX2:           %[[BITS:.*]] = arith.bitcast %[[T]] : vector<8xf32> to vector<8xi32>
// AVX2-NEXT:      %[[SHL:.*]] = arith.shli %[[BITS]], %{{.*}} : vector<8xi32>
// AVX2-NEXT:      %[[SCALE:.*]] = arith.addi %[[SHL]], %{{.*}} : vector<8xi32>
// AVX2-NEXT:      %[[S:.*]] = arith.bitcast %[[SCALE]] : vector<8xi32> to vector<8xf32>
// AVX2-NEXT:      arith.mulf %{{.*}}, %[[S]] : vector<8xf32>
// AVX2-NOT:       llvm.call_intrinsic "llvm.x86.avx512
kconv.reduction @exp_dot sum axis = 1 vars [#kconv.var<"X", i, 2>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<2xf32>, %y: vector<2xf32>):
  %0 = kconv.scalprod %x, %y : vector<2xf32>, vector<2xf32>
  %1 = kconv.exp %0 : vector<1xf32>
  kconv.yield %1 : vector<1xf32>
}

// exp(-c |x - y|) with c >= 0: the argument is known non-positive, no upper clamp.
// FAST-LABEL: func.func @kconv_cpu_laplace(
// FAST:         scf.for {{.*}} step %c16_i64
// FAST-NOT:       arith.cmpf ogt
// FAST:           arith.cmpf olt
// FAST:           llvm.call_intrinsic "llvm.x86.avx512.mask.scalef.ps.512"
kconv.reduction @laplace sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>):
  %c = kconv.constant 2.5 : vector<1xf32>
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.sqrt %0 : vector<1xf32>
  %2 = kconv.mul %c, %1 : vector<1xf32>, vector<1xf32>
  %3 = kconv.neg %2 : vector<1xf32>
  %4 = kconv.exp %3 : vector<1xf32>
  kconv.yield %4 : vector<1xf32>
}
