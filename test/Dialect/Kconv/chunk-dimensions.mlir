// kconv-chunk-dimensions: component sums over sub-formulas wider than max-dim become
// kconv.chunk_sum loops over the variables' chunks.
// RUN: kconv-opt %s --pass-pipeline="builtin.module(kconv.reduction(kconv-chunk-dimensions{max-dim=8 chunk=4}))" --split-input-file | FileCheck %s

// SqDist of two wide variables: one chunk_sum, the sub-formula at the chunk's width.
// CHECK-LABEL: kconv.reduction @sqdist sum
// CHECK:      %[[S:.*]] = kconv.chunk_sum(%X, %Y) chunk 4 : vector<10xf32>, vector<10xf32> -> vector<1xf32> {
// CHECK-NEXT: ^bb0(%X_chunk: vector<4xf32>, %Y_chunk: vector<4xf32>):
// CHECK-NEXT:   %[[D:.*]] = kconv.sqdist %X_chunk, %Y_chunk : vector<4xf32>, vector<4xf32>
// CHECK-NEXT:   kconv.yield %[[D]] : vector<1xf32>
// CHECK-NEXT: }
// CHECK-NEXT: %[[N:.*]] = kconv.neg %[[S]] : vector<1xf32>
// CHECK-NEXT: %[[E:.*]] = kconv.exp %[[N]] : vector<1xf32>
// CHECK-NEXT: %[[R:.*]] = kconv.mul %[[E]], %B : vector<1xf32>, vector<1xf32>
// CHECK-NEXT: kconv.yield %[[R]] : vector<1xf32>
kconv.reduction @sqdist sum axis = 1 vars [#kconv.var<"X", i, 10>, #kconv.var<"Y", j, 10>, #kconv.var<"B", j, 1>] {
^bb0(%x: vector<10xf32>, %y: vector<10xf32>, %b: vector<1xf32>):
  %0 = kconv.sqdist %x, %y : vector<10xf32>, vector<10xf32>
  %1 = kconv.neg %0 : vector<1xf32>
  %2 = kconv.exp %1 : vector<1xf32>
  %3 = kconv.mul %2, %b : vector<1xf32>, vector<1xf32>
  kconv.yield %3 : vector<1xf32>
}

// -----

// An elementwise tree under a Sum moves into the chunk whole; dimension-1 values (a parameter,
// a constant, another sum) enter as they are; the variables come in argument order.
// CHECK-LABEL: kconv.reduction @tree sum
// CHECK:      %[[C:.*]] = kconv.constant 2.0
// CHECK:      %[[S:.*]] = kconv.chunk_sum(%W, %X, %Y) chunk 4 : vector<9xf32>, vector<9xf32>, vector<9xf32> -> vector<1xf32> {
// CHECK-NEXT: ^bb0(%W_chunk: vector<4xf32>, %X_chunk: vector<4xf32>, %Y_chunk: vector<4xf32>):
// CHECK-NEXT:   %[[A:.*]] = kconv.mul %Y_chunk, %X_chunk : vector<4xf32>, vector<4xf32>
// CHECK-NEXT:   %[[B:.*]] = kconv.mul %[[A]], %G : vector<4xf32>, vector<1xf32>
// CHECK-NEXT:   %[[E:.*]] = kconv.exp %W_chunk : vector<4xf32>
// CHECK-NEXT:   %[[F:.*]] = kconv.mul %[[E]], %[[C]] : vector<4xf32>, vector<1xf32>
// CHECK-NEXT:   %[[T:.*]] = kconv.sub %[[B]], %[[F]] : vector<4xf32>, vector<4xf32>
// CHECK-NEXT:   %[[U:.*]] = kconv.sum %[[T]] : vector<4xf32>
// CHECK-NEXT:   kconv.yield %[[U]] : vector<1xf32>
// CHECK-NEXT: }
// CHECK-NEXT: kconv.yield %[[S]] : vector<1xf32>
kconv.reduction @tree sum axis = 1 vars [#kconv.var<"W", p, 9>, #kconv.var<"X", i, 9>, #kconv.var<"Y", j, 9>, #kconv.var<"G", p, 1>] {
^bb0(%w: vector<9xf32>, %x: vector<9xf32>, %y: vector<9xf32>, %g: vector<1xf32>):
  %c = kconv.constant 2.0 : vector<1xf32>
  %0 = kconv.mul %y, %x : vector<9xf32>, vector<9xf32>
  %1 = kconv.mul %0, %g : vector<9xf32>, vector<1xf32>
  %2 = kconv.exp %w : vector<9xf32>
  %3 = kconv.mul %2, %c : vector<9xf32>, vector<1xf32>
  %4 = kconv.sub %1, %3 : vector<9xf32>, vector<9xf32>
  %5 = kconv.sum %4 : vector<9xf32>
  kconv.yield %5 : vector<1xf32>
}

// -----

// Norm2 is the square root of a chunked SqNorm2; Scalprod chunks like the other sums; a
// sub-formula used by two sums is cloned into both (the original is erased once unused).
// CHECK-LABEL: kconv.reduction @norm_scalprod sum
// CHECK:      %[[N:.*]] = kconv.chunk_sum(%X, %Y) chunk 4
// CHECK:        %[[D:.*]] = kconv.sub %X_chunk, %Y_chunk : vector<4xf32>, vector<4xf32>
// CHECK-NEXT:   %[[Q:.*]] = kconv.sqnorm2 %[[D]] : vector<4xf32>
// CHECK-NEXT:   kconv.yield %[[Q]] : vector<1xf32>
// CHECK:      %[[R:.*]] = kconv.sqrt %[[N]] : vector<1xf32>
// CHECK:      %[[P:.*]] = kconv.chunk_sum(%X, %Y) chunk 4
// CHECK:        %[[D2:.*]] = kconv.sub %X_chunk, %Y_chunk
// CHECK-NEXT:   %[[S:.*]] = kconv.scalprod %[[D2]], %Y_chunk : vector<4xf32>, vector<4xf32>
// CHECK-NOT:  vector<12xf32>
// CHECK:      kconv.add %[[R]], %[[P]]
kconv.reduction @norm_scalprod sum axis = 1 vars [#kconv.var<"X", i, 12>, #kconv.var<"Y", j, 12>] {
^bb0(%x: vector<12xf32>, %y: vector<12xf32>):
  %0 = kconv.sub %x, %y : vector<12xf32>, vector<12xf32>
  %1 = kconv.norm2 %0 : vector<12xf32>
  %2 = kconv.scalprod %0, %y : vector<12xf32>, vector<12xf32>
  %3 = kconv.add %1, %2 : vector<1xf32>, vector<1xf32>
  kconv.yield %3 : vector<1xf32>
}

// -----

// Not chunked: a sum no wider than max-dim; a Concat inside the sub-formula (it addresses
// components); a wide yield (an output dimension: the sum of its rows is the reduction's).
// CHECK-LABEL: kconv.reduction @kept sum
// CHECK-NOT:  kconv.chunk_sum
// CHECK:      kconv.sqdist %X, %X : vector<8xf32>, vector<8xf32>
// CHECK:      kconv.concat
// CHECK:      kconv.sum %{{.*}} : vector<16xf32>
// CHECK:      kconv.yield %{{.*}} : vector<16xf32>
kconv.reduction @kept sum axis = 1 vars [#kconv.var<"X", i, 8>, #kconv.var<"Y", j, 8>] {
^bb0(%x: vector<8xf32>, %y: vector<8xf32>):
  %0 = kconv.sqdist %x, %x : vector<8xf32>, vector<8xf32>
  %1 = kconv.concat %x, %y : vector<8xf32>, vector<8xf32>
  %2 = kconv.sum %1 : vector<16xf32>
  %3 = kconv.mul %1, %0 : vector<16xf32>, vector<1xf32>
  %4 = kconv.mul %3, %2 : vector<16xf32>, vector<1xf32>
  kconv.yield %4 : vector<16xf32>
}

// -----

// A sum whose wide operand broadcasts against a dimension-1 one: SqDist(X, c).
// CHECK-LABEL: kconv.reduction @broadcast sum
// CHECK:      kconv.chunk_sum(%X) chunk 4 : vector<20xf32> -> vector<1xf32>
// CHECK-NEXT: ^bb0(%X_chunk: vector<4xf32>):
// CHECK-NEXT:   kconv.sqdist %X_chunk, %G : vector<4xf32>, vector<1xf32>
kconv.reduction @broadcast sum axis = 0 vars [#kconv.var<"X", i, 20>, #kconv.var<"G", p, 1>] {
^bb0(%x: vector<20xf32>, %g: vector<1xf32>):
  %0 = kconv.sqdist %x, %g : vector<20xf32>, vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}

// -----

// A wide yield: a chunk_map of output-chunk (default 8) components; the dimension-1 value it takes
// (the chunked Gaussian) is computed once per pair, outside.
// CHECK-LABEL: kconv.reduction @wide_output sum
// CHECK:      %[[S:.*]] = kconv.chunk_sum(%X, %Y) chunk 4
// CHECK:      %[[K:.*]] = kconv.exp
// CHECK:      %[[M:.*]] = kconv.chunk_map(%B) chunk 8 : vector<20xf32> -> vector<20xf32> {
// CHECK-NEXT: ^bb0(%B_chunk: vector<8xf32>):
// CHECK-NEXT:   %[[P:.*]] = kconv.mul %[[K]], %B_chunk : vector<1xf32>, vector<8xf32>
// CHECK-NEXT:   kconv.yield %[[P]] : vector<8xf32>
// CHECK-NEXT: }
// CHECK-NEXT: kconv.yield %[[M]] : vector<20xf32>
kconv.reduction @wide_output sum axis = 1 vars [#kconv.var<"X", i, 10>, #kconv.var<"Y", j, 10>, #kconv.var<"B", j, 20>] {
^bb0(%x: vector<10xf32>, %y: vector<10xf32>, %b: vector<20xf32>):
  %0 = kconv.sqdist %x, %y : vector<10xf32>, vector<10xf32>
  %1 = kconv.neg %0 : vector<1xf32>
  %2 = kconv.exp %1 : vector<1xf32>
  %3 = kconv.mul %2, %b : vector<1xf32>, vector<20xf32>
  kconv.yield %3 : vector<20xf32>
}

// -----

// A yield that is a variable; KMin reduces each component on its own too.
// CHECK-LABEL: kconv.reduction @kmin_output kmin
// CHECK:      %[[M:.*]] = kconv.chunk_map(%Y) chunk 8 : vector<12xf32> -> vector<12xf32> {
// CHECK-NEXT: ^bb0(%Y_chunk: vector<8xf32>):
// CHECK-NEXT:   kconv.yield %Y_chunk : vector<8xf32>
kconv.reduction @kmin_output kmin k = 2 axis = 1 vars [#kconv.var<"Y", j, 12>] {
^bb0(%y: vector<12xf32>):
  kconv.yield %y : vector<12xf32>
}

// -----

// Not for a weighted kind (its f and g meet in one state: Concat(f, g) is not componentwise).
// CHECK-LABEL: kconv.reduction @weighted logsumexp
// CHECK-NOT:  kconv.chunk_map
kconv.reduction @weighted logsumexp axis = 1 vars [#kconv.var<"X", i, 1>, #kconv.var<"Y", j, 20>] {
^bb0(%x: vector<1xf32>, %y: vector<20xf32>):
  %0 = kconv.concat %x, %y : vector<1xf32>, vector<20xf32>
  kconv.yield %0 : vector<21xf32>
}
