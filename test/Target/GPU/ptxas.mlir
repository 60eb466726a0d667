// REQUIRES: ptxas
// Every kernel kconv emits assembles for sm_90 without spills or a stack frame, fast math or not.
// RUN: kconv-translate --kconv-to-ptx %S/Inputs/kernels.mlir -o %t.ptx
// RUN: %ptxas -arch=sm_90 -O3 -v %t.ptx -o %t.cubin 2>&1 | FileCheck %s --implicit-check-not="{{[1-9][0-9]*}} bytes spill" --implicit-check-not="{{[1-9][0-9]*}} bytes stack"
// RUN: kconv-translate --kconv-to-ptx --gpu-fast-math=false %S/Inputs/kernels.mlir -o %t.accurate.ptx
// RUN: %ptxas -arch=sm_90 -O3 -v %t.accurate.ptx -o %t.accurate.cubin 2>&1 | FileCheck %s --implicit-check-not="{{[1-9][0-9]*}} bytes spill" --implicit-check-not="{{[1-9][0-9]*}} bytes stack"
// The seed kernel with other register blockings and unrollings.
// RUN: kconv-translate --kconv-to-ptx --gpu-rows-per-thread=1 --gpu-unroll=8 %S/Inputs/kernels.mlir -o %t.r1.ptx
// RUN: %ptxas -arch=sm_90 -O3 -v %t.r1.ptx -o %t.r1.cubin 2>&1 | FileCheck %s --implicit-check-not="{{[1-9][0-9]*}} bytes spill" --implicit-check-not="{{[1-9][0-9]*}} bytes stack"
// RUN: kconv-translate --kconv-to-ptx --gpu-rows-per-thread=8 --gpu-unroll=16 %S/Inputs/kernels.mlir -o %t.r8.ptx
// RUN: %ptxas -arch=sm_90 -O3 -v %t.r8.ptx -o %t.r8.cubin 2>&1 | FileCheck %s --check-prefix=R8
// And the cubin kconv-translate embeds (it runs ptxas itself) reports the same.
// RUN: kconv-translate --kconv-gpu-metadata %S/Inputs/kernels.mlir | FileCheck %s --check-prefix=META

// Every kernel of the 6 reductions (plain and split-j, with R rows per thread and, where R > 1,
// with one), none with a stack frame or a spill (--implicit-check-not checks between matches).
// CHECK-DAG: Compiling entry function 'kconv_gpu_gaussian_conv' for 'sm_90'
// CHECK-DAG: Compiling entry function 'kconv_gpu_gaussian_conv_splitj' for 'sm_90'
// CHECK-DAG: Compiling entry function 'kconv_gpu_laplace' for 'sm_90'
// CHECK-DAG: Compiling entry function 'kconv_gpu_cauchy' for 'sm_90'
// CHECK-DAG: Compiling entry function 'kconv_gpu_gaussian_axis0' for 'sm_90'
// CHECK-DAG: Compiling entry function 'kconv_gpu_gaussian_vec3_splitj' for 'sm_90'
// CHECK-DAG: Compiling entry function 'kconv_gpu_all_ops' for 'sm_90'
// CHECK-DAG: Compiling entry function 'kconv_gpu_gaussian_conv_small' for 'sm_90'
// CHECK: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads

// 8 rows per thread: the seed kernel still fits (the vector-valued one may not).
// R8: Compiling entry function 'kconv_gpu_gaussian_conv' for 'sm_90'
// R8-NEXT: Function properties for kconv_gpu_gaussian_conv
// R8-NEXT: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads

// META: reduction gaussian_conv
// META: attr gpu.kernel kconv_gpu_gaussian_conv
// META: attr gpu.kernel_splitj kconv_gpu_gaussian_conv_splitj
// META: attr gpu.registers {{[1-9][0-9]?$}}
// META: attr gpu.rows_per_thread 4
// META: # spill stores 0 bytes
// META-NOT: # spill stores {{[1-9]}}
// META: # ptx {{[0-9]+}} bytes, cubin {{[1-9][0-9]*}} bytes
