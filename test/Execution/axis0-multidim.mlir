// axis = 0 (sum over i, one output row per j) with a 2-d output, and axis = 1 with a 3-d output.
//
// RUN: kconv-compile %s -o %t.kca
// RUN: kconv-cpu-bench %t.kca gauss_t --check --tol=2e-6 --random 1,1
// RUN: kconv-cpu-bench %t.kca gauss_t --check --tol=2e-6 --random 17,3
// RUN: kconv-cpu-bench %t.kca gauss_t --check --tol=2e-6 --random 1500,29
// RUN: kconv-cpu-bench %t.kca gauss_t --check --tol=2e-6 --random 0,4
// RUN: kconv-cpu-bench %t.kca vec3 --check --tol=1e-5 --random 1,1
// RUN: kconv-cpu-bench %t.kca vec3 --check --tol=1e-5 --random 31,47
// RUN: kconv-cpu-bench %t.kca vec3 --check --tol=1e-5 --random 1200,1100
// RUN: kconv-run %t.kca gauss_t --random 1100,37 --check --tolerance 2e-6
// RUN: kconv-run %t.kca vec3 --random 37,1100 --check --tolerance 1e-5
// RUN: kconv-compile %s --no-fast-math -o %t-accurate.kca
// RUN: kconv-cpu-bench %t-accurate.kca gauss_t --check --tol=1e-6 --random 33,65
// RUN: kconv-cpu-bench %t-accurate.kca vec3 --check --tol=1e-5 --random 65,33
// RUN: kconv-compile %s --cpu=x86-64-v3 -o %t-avx2.kca
// RUN: kconv-cpu-bench %t-avx2.kca gauss_t --check --tol=2e-6 --random 333,17
// RUN: kconv-cpu-bench %t-avx2.kca vec3 --check --tol=1e-5 --random 17,333
kconv.reduction @gauss_t sum axis = 0 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"B", i, 2>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>, %b: vector<2xf32>):
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.neg %0 : vector<1xf32>
  %2 = kconv.exp %1 : vector<1xf32>
  %3 = kconv.mul %2, %b : vector<1xf32>, vector<2xf32>
  kconv.yield %3 : vector<2xf32>
}

// exp(-|x - y|^2) (x - y): a 3-d output (the gradient of the Gaussian kernel, up to -2 b).
kconv.reduction @vec3 sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>):
  %0 = kconv.sub %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.sqnorm2 %0 : vector<3xf32>
  %2 = kconv.neg %1 : vector<1xf32>
  %3 = kconv.exp %2 : vector<1xf32>
  %4 = kconv.mul %3, %0 : vector<1xf32>, vector<3xf32>
  kconv.yield %4 : vector<3xf32>
}
