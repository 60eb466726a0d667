// A kconv.chunk_sum (kconv-chunk-dimensions) in the GPU kernels: the chunk sums of a step's R rows
// x U records in one loop over the chunks (fuseChunkSums), whose body reads the chunked variables
// from global memory (they are not staged in the shared tile), then the narrower last chunk.
// RUN: kconv-opt %s --kconv-plan-gpu-kernels="block-size=64" --convert-kconv-to-gpu --split-input-file | FileCheck %s

// The tile holds B alone (one float per reduced row). 4 rows per thread and 4 records per step:
// 16 sums carried by the loop, 16 SqDists of 32 components per iteration, then 1000 - 992 = 8.
// CHECK-LABEL: gpu.func @kconv_gpu_wide(
// CHECK-SAME:  workgroup(%{{.*}} : memref<64xvector<1xf32>, #gpu.address_space<workgroup>>)
// CHECK-SAME:  kconv.rows_per_thread = 4
// CHECK:       scf.for %{{.*}} = %c0{{.*}} to %c64{{.*}} step %c4
// The chunks are summed in blocks of 256 components (each block's sums start from 0): the whole
// blocks [0, 768), then [768, 992) as one more; every loop has a constant trip count.
// CHECK:       scf.for %[[BLOCK:.*]] = %c0{{.*}} to %c768{{.*}} step %c256{{.*}} iter_args({{.*}}) -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK:         %[[END:.*]] = arith.addi %[[BLOCK]], %c256
// CHECK:         scf.for %{{.*}} = %[[BLOCK]] to %[[END]] step %c32{{.*}} iter_args({{.*}}) -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK-COUNT-16: kconv.sqdist %{{.*}}, %{{.*}} : vector<32xf32>, vector<32xf32>
// CHECK:       scf.for %{{.*}} = %c768{{.*}} to %c992{{.*}} step %c32{{.*}} iter_args({{.*}}) -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK-COUNT-16: kconv.sqdist %{{.*}}, %{{.*}} : vector<32xf32>, vector<32xf32>
// CHECK:       scf.yield
// CHECK-COUNT-16: kconv.sqdist %{{.*}}, %{{.*}} : vector<8xf32>, vector<8xf32>
// The partial tile, one record at a time: the 4 rows' sums in one loop.
// CHECK:       scf.for %{{.*}} = %c0{{.*}} to %c768{{.*}} step %c256{{.*}} iter_args({{.*}}) -> (f32, f32, f32, f32)
// CHECK:       gpu.func @kconv_gpu_wide_splitj(
kconv.reduction @wide sum axis = 1 vars [#kconv.var<"X", i, 1000>, #kconv.var<"Y", j, 1000>, #kconv.var<"B", j, 1>] {
^bb0(%x: vector<1000xf32>, %y: vector<1000xf32>, %b: vector<1xf32>):
  %0 = kconv.chunk_sum(%x, %y) chunk 32 : vector<1000xf32>, vector<1000xf32> -> vector<1xf32> {
  ^bb0(%xc: vector<32xf32>, %yc: vector<32xf32>):
    %1 = kconv.sqdist %xc, %yc : vector<32xf32>, vector<32xf32>
    kconv.yield %1 : vector<1xf32>
  }
  %2 = kconv.mul %0, %b : vector<1xf32>, vector<1xf32>
  kconv.yield %2 : vector<1xf32>
}

// -----

// A wide yield (kconv.chunk_map): the kernel loops over the output chunks (columns 0 and 8)
// around its tile loops, then the last 4 columns.
// CHECK-LABEL: gpu.func @kconv_gpu_wide_out(
// CHECK:      scf.for %{{.*}} = %c0{{.*}} to %c16 step %c8 {
// CHECK:        gpu.barrier
// CHECK:        kconv.mul %{{.*}}, %{{.*}} : vector<1xf32>, vector<8xf32>
// CHECK:      kconv.mul %{{.*}}, %{{.*}} : vector<1xf32>, vector<4xf32>
// CHECK:      gpu.return
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
