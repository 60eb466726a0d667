// RUN: kconv-opt %s --convert-kconv-to-gpu --split-input-file --verify-diagnostics

// expected-error @below {{the GPU lowering supports f32 formulas only, got 'f64'}}
kconv.reduction @double sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {
^bb0(%x: vector<3xf64>, %y: vector<3xf64>):
  %0 = kconv.sqdist %x, %y : vector<3xf64>, vector<3xf64>
  kconv.yield %0 : vector<1xf64>
}

// -----

// A 52-float record per reduced row: a 256-row tile would need 53 KB of shared memory.
// expected-error @below {{the reduced variables need 52 floats per row: a 256-row shared-memory tile (53248 bytes) exceeds 48 KiB; use a smaller block-size}}
kconv.reduction @wide sum axis = 1 vars [#kconv.var<"X", i, 50>, #kconv.var<"Y", j, 50>] {
^bb0(%x: vector<50xf32>, %y: vector<50xf32>):
  %0 = kconv.sqdist %x, %y : vector<50xf32>, vector<50xf32>
  kconv.yield %0 : vector<1xf32>
}
