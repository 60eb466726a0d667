// A kconv.chunk_sum (kconv-chunk-dimensions) in the CPU kernel: inside the vector step, a loop over
// the chunks reading the reduced variable's packed vectors (component c of row j at
// c * reducedStride + j) and the output row's components (broadcast), then the last chunk.
// RUN: kconv-opt %s --kconv-plan-cpu-kernels="lanes=8 rows=1" --convert-kconv-to-cpu --split-input-file | FileCheck %s

// CHECK-LABEL: func.func @kconv_cpu_wide(
// The full vectors of the reduced range, then the chunks: 2 of 4 components, then 10 - 8 = 2.
// CHECK:      scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %c8_i64{{.*}} iter_args
// CHECK:        scf.for %{{.*}} = %c0{{.*}} to %c8{{.*}} step %c4{{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (vector<8xf32>)
// CHECK-COUNT-4:  vector.broadcast %{{.*}} : f32 to vector<8xf32>
// CHECK-COUNT-4:  llvm.load %{{.*}} {alignment = 4 : i64} : !llvm.ptr -> vector<8xf32>
// CHECK:          %[[T:.*]] = kconv.sqdist %{{.*}}, %{{.*}} : vector<4xf32>, vector<4xf32>
// CHECK:          %[[C:.*]] = builtin.unrealized_conversion_cast %[[T]] : vector<1xf32> to vector<8xf32>
// CHECK-NEXT:     %[[S:.*]] = arith.addf %[[ACC]], %[[C]] : vector<8xf32>
// CHECK-NEXT:     scf.yield %[[S]] : vector<8xf32>
// CHECK:        kconv.sqdist %{{.*}}, %{{.*}} : vector<2xf32>, vector<2xf32>
kconv.reduction @wide sum axis = 1 vars [#kconv.var<"X", i, 10>, #kconv.var<"Y", j, 10>] {
^bb0(%x: vector<10xf32>, %y: vector<10xf32>):
  %0 = kconv.chunk_sum(%x, %y) chunk 4 : vector<10xf32>, vector<10xf32> -> vector<1xf32> {
  ^bb0(%xc: vector<4xf32>, %yc: vector<4xf32>):
    %1 = kconv.sqdist %xc, %yc : vector<4xf32>, vector<4xf32>
    kconv.yield %1 : vector<1xf32>
  }
  kconv.yield %0 : vector<1xf32>
}

// -----

// A wide yield (kconv.chunk_map): a loop over the output chunks (columns 0 and 8) around the loop
// nest, 8 states of the chunk per row, the chunk's term read at the column; then the last 4.
// CHECK-LABEL: func.func @kconv_cpu_wide_out(
// CHECK:      scf.for %[[COL:.*]] = %c0_i64{{.*}} to %c16_i64 step %c8_i64
// CHECK:        scf.for {{.*}} iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK:          kconv.mul %{{.*}}, %{{.*}} : vector<1xf32>, vector<8xf32>
// CHECK:      kconv.mul %{{.*}}, %{{.*}} : vector<1xf32>, vector<4xf32>
kconv.reduction @wide_out sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"B", j, 20>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>, %b: vector<20xf32>):
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.chunk_map(%b) chunk 8 : vector<20xf32> -> vector<20xf32> {
  ^bb0(%bc: vector<8xf32>):
    %2 = kconv.mul %0, %bc : vector<1xf32>, vector<8xf32>
    kconv.yield %2 : vector<8xf32>
  }
  kconv.yield %1 : vector<20xf32>
}
