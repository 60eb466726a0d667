// Accuracy of the vectorized exp and log, element by element, in ulps of the float64 result
// (kconv-cpu-bench --sweep: the output-category variable sweeps a range, nReduced = 1).
//
// RUN: kconv-compile %s -o %t.kca
// RUN: kconv-compile %s --no-fast-math -o %t-accurate.kca
// RUN: kconv-compile %s --cpu=x86-64-v3 -o %t-avx2.kca
//
// Fast exp (AVX-512: vscalefps): <= 1 ulp over the whole range, overflow to +inf included;
// fast math runs with FTZ/DAZ, so results below FLT_MIN are 0 (counted, not errors);
// exp(-1e30) = 0, exp(1e30) = inf.
// RUN: kconv-cpu-bench %t.kca exp_row --sweep=-87.3,88.7,1000001 --max-ulp=1
// RUN: kconv-cpu-bench %t.kca exp_row --sweep=-110,100,200001 --max-ulp=1 | FileCheck %s --check-prefix=FTZ
// FTZ: max error {{0\.[0-9]+}} ulp {{.*}}, {{[1-9][0-9]*}} denormal results flushed to 0: OK
// RUN: kconv-cpu-bench %t.kca exp_row --sweep=-1e30,1e30,20001 --max-ulp=0
// The same code inside the j loop (the argument depends on i and j).
// RUN: kconv-cpu-bench %t.kca exp_pair --sweep=-87.3,88.7,1000001 --max-ulp=1
//
// AVX2 path (exponent bits): <= 1 ulp over the normal range.
// RUN: kconv-cpu-bench %t-avx2.kca exp_row --sweep=-87.3,88.3,1000001 --max-ulp=1
// RUN: kconv-cpu-bench %t-avx2.kca exp_pair --sweep=-87.3,88.3,1000001 --max-ulp=1
//
// Accurate exp (libm), denormal results kept (no FTZ without fast math).
// RUN: kconv-cpu-bench %t-accurate.kca exp_pair --sweep=-87.3,88.7,1000001 --max-ulp=1
// RUN: kconv-cpu-bench %t-accurate.kca exp_pair --sweep=-103,-87,100001 --max-ulp=1 | FileCheck %s --check-prefix=DENORMAL
// DENORMAL: 0 denormal results flushed to 0: OK
//
// log: the math dialect's polynomial (fast) and libm (accurate), over 60 decades.
// RUN: kconv-cpu-bench %t.kca log_pair --sweep=1e-30,1e30,1000001,geometric --max-ulp=1
// RUN: kconv-cpu-bench %t.kca log_pair --sweep=0.5,2,1000001 --max-ulp=1
// RUN: kconv-cpu-bench %t-avx2.kca log_pair --sweep=1e-30,1e30,1000001,geometric --max-ulp=1
// RUN: kconv-cpu-bench %t-accurate.kca log_pair --sweep=1e-30,1e30,1000001,geometric --max-ulp=1
kconv.reduction @exp_row sum axis = 1 vars [#kconv.var<"X", i, 1>, #kconv.var<"B", j, 1>] {
^bb0(%x: vector<1xf32>, %b: vector<1xf32>):
  %0 = kconv.exp %x : vector<1xf32>
  %1 = kconv.mul %0, %b : vector<1xf32>, vector<1xf32>
  kconv.yield %1 : vector<1xf32>
}
kconv.reduction @exp_pair sum axis = 1 vars [#kconv.var<"X", i, 1>, #kconv.var<"B", j, 1>] {
^bb0(%x: vector<1xf32>, %b: vector<1xf32>):
  %0 = kconv.mul %x, %b : vector<1xf32>, vector<1xf32>
  %1 = kconv.exp %0 : vector<1xf32>
  kconv.yield %1 : vector<1xf32>
}
kconv.reduction @log_pair sum axis = 1 vars [#kconv.var<"X", i, 1>, #kconv.var<"B", j, 1>] {
^bb0(%x: vector<1xf32>, %b: vector<1xf32>):
  %0 = kconv.mul %x, %b : vector<1xf32>, vector<1xf32>
  %1 = kconv.log %0 : vector<1xf32>
  kconv.yield %1 : vector<1xf32>
}
