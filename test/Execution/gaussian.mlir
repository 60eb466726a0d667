// Runs the compiled Gaussian kernel on random inputs and compares with a float64 evaluation of
// the serialized formula (kconv-cpu-bench --check: ||out - ref|| / ||ref|| on sampled rows).
// Sizes around the vector width (16), the j-block (1024), empty ranges.
//
// RUN: kconv-compile %s -o %t.kca
// RUN: kconv-cpu-bench %t.kca --check --tol=2e-6 --random 1,1
// RUN: kconv-cpu-bench %t.kca --check --tol=2e-6 --random 1,17
// RUN: kconv-cpu-bench %t.kca --check --tol=2e-6 --random 16,16
// RUN: kconv-cpu-bench %t.kca --check --tol=2e-6 --random 17,15
// RUN: kconv-cpu-bench %t.kca --check --tol=2e-6 --random 7,33 --threads=3
// RUN: kconv-cpu-bench %t.kca --check --tol=2e-6 --random 100,1000
// RUN: kconv-cpu-bench %t.kca --check --tol=2e-6 --random 1000,1024
// RUN: kconv-cpu-bench %t.kca --check --tol=2e-6 --random 1001,1025
// RUN: kconv-cpu-bench %t.kca --check --tol=2e-6 --random 3001,2100 --threads=4
// RUN: kconv-cpu-bench %t.kca --check --tol=2e-6 --random 20000,20000 --rows=64
// Spread-out points: most exps underflow (flushed to 0 under fast math).
// RUN: kconv-cpu-bench %t.kca --check --tol=2e-6 --random 1000,1000 --dist=scale:5
// RUN: kconv-cpu-bench %t.kca --check --tol=2e-6 --random 1000,1000 --dist=scale:30
// RUN: kconv-cpu-bench %t.kca --check --random 5,0 | FileCheck %s --check-prefix=EMPTY
// RUN: kconv-cpu-bench %t.kca --check --random 0,5
// EMPTY: rel error 0 over 5 rows
//
// Through the runtime (kconv-run: packing, thread pool, float64 reference).
// RUN: kconv-run %t.kca --random 1,1 --check --tolerance 2e-6
// RUN: kconv-run %t.kca --random 33,1 --check --tolerance 2e-6
// RUN: kconv-run %t.kca --random 1,33 --check --tolerance 2e-6
// RUN: kconv-run %t.kca --random 1500,2049 --check --tolerance 2e-6 --threads 3
//
// Accurate exp (libm), and the AVX2 code path (8 lanes, exponent-bit scaling).
// RUN: kconv-compile %s --no-fast-math -o %t-accurate.kca
// RUN: kconv-cpu-bench %t-accurate.kca --check --tol=1e-6 --random 1,1
// RUN: kconv-cpu-bench %t-accurate.kca --check --tol=1e-6 --random 33,1500
// RUN: kconv-compile %s --cpu=x86-64-v3 -o %t-avx2.kca
// RUN: kconv-cpu-bench %t-avx2.kca --check --tol=2e-6 --random 1,1
// RUN: kconv-cpu-bench %t-avx2.kca --check --tol=2e-6 --random 9,7
// RUN: kconv-cpu-bench %t-avx2.kca --check --tol=2e-6 --random 1001,1030
// RUN: kconv-run %t-accurate.kca --random 77,1234 --check --tolerance 1e-6
// RUN: kconv-run %t-avx2.kca --random 77,1234 --check --tolerance 2e-6
//
// Other tilings: one register row, 3 register rows, small j-blocks (many block sums).
// RUN: kconv-compile %s --rows=1 --jblock=16 -o %t-r1.kca
// RUN: kconv-cpu-bench %t-r1.kca --check --tol=2e-6 --random 37,100
// RUN: kconv-compile %s --rows=3 --jblock=48 -o %t-r3.kca
// RUN: kconv-cpu-bench %t-r3.kca --check --tol=2e-6 --random 38,101
kconv.reduction @gaussian_conv sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"B", j, 1>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>, %b: vector<1xf32>):
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.neg %0 : vector<1xf32>
  %2 = kconv.exp %1 : vector<1xf32>
  %3 = kconv.mul %2, %b : vector<1xf32>, vector<1xf32>
  kconv.yield %3 : vector<1xf32>
}
