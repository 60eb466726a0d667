// RUN: kconv-opt %s --kconv-plan-gpu-kernels --convert-kconv-to-gpu --split-input-file --verify-diagnostics

// expected-error @below {{the GPU lowering supports f32 formulas only, got 'f64'}}
kconv.reduction @double sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf64>, %y: vector<3xf64>):
  %0 = kconv.sqdist %x, %y : vector<3xf64>, vector<3xf64>
  kconv.yield %0 : vector<1xf64>
}

// -----

// A 400-float record per reduced row (unchunked: this test runs the conversion alone, without
// kconv-chunk-dimensions): even a 32-row tile would need 51 KB of shared memory.
// expected-error @below {{the reduced variables need 400 floats per row: even a 32-row shared-memory tile (51200 bytes) exceeds 48 KiB; wide variables are read chunk by chunk only by component sums and elementwise outputs of them (kconv-chunk-dimensions), not through Elem or Concat (kconv-compile --no-gpu builds the CPU code alone)}}
kconv.reduction @wide sum axis = 1 vars [#kconv.var<"X", i, 400>, #kconv.var<"Y", j, 400>] {
^bb0(%x: vector<400xf32>, %y: vector<400xf32>):
  %0 = kconv.sqdist %x, %y : vector<400xf32>, vector<400xf32>
  kconv.yield %0 : vector<1xf32>
}
