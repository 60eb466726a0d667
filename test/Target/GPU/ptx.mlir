// RUN: kconv-translate --kconv-to-ptx %S/Inputs/kernels.mlir | FileCheck %s
// RUN: kconv-translate --kconv-to-ptx --gpu-arch=sm_80 %S/Inputs/kernels.mlir | FileCheck %s --check-prefix=SM80
// RUN: kconv-translate --kconv-to-ptx --gpu-fast-math=false %S/Inputs/kernels.mlir | FileCheck %s --check-prefix=ACCURATE

// The PTX of the seed kernel (4 rows per thread): the pair loop reads one 16-byte record (y, b)
// from shared memory per j and computes 4 pairs from it, each with one ex2.approx.ftz and no
// multiply by log2(e) (folded into the inputs).

// CHECK: .version 8.0
// CHECK: .target sm_90
// CHECK-LABEL: .visible .entry kconv_gpu_gaussian_conv(
// CHECK-COUNT-5: .param .u64 .ptr .global .align 1 kconv_gpu_gaussian_conv_param_{{[0-4]}},
// CHECK-COUNT-3: .param .u32 kconv_gpu_gaussian_conv_param_{{[5-7]}}
// CHECK: .maxntid 256, 1, 1
// CHECK: .shared .align 16 .b8 __wg_kconv_gpu_gaussian_conv_0[4096];
// Cooperative tile load between two barriers.
// CHECK: bar.sync 0;
// CHECK: ld.global.nc.b32
// CHECK: st.shared.v4.b32
// CHECK: bar.sync 0;
// CHECK: [[LOOP:\$L__BB0_[0-9]+]]:
// CHECK-NEXT: ld.shared.v4.b32 {%r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}}, %r[[B:[0-9]+]]}
// CHECK-COUNT-4: ex2.approx.ftz.f32
// CHECK: fma.rn.f32 %r{{[0-9]+}}, {{.*}}%r[[B]]
// CHECK: @%p{{[0-9]+}} bra [[LOOP]];
// CHECK-LABEL: .visible .entry kconv_gpu_gaussian_conv_splitj(
// CHECK: %ctaid.y
// CHECK: ex2.approx.ftz.f32
// CHECK: atom.global.add.f32
// Every kernel of the file is there, in both variants.
// CHECK-DAG: .entry kconv_gpu_laplace(
// CHECK-DAG: .entry kconv_gpu_cauchy_splitj(
// CHECK-DAG: .entry kconv_gpu_gaussian_axis0(
// CHECK-DAG: .entry kconv_gpu_gaussian_vec3_splitj(
// CHECK-DAG: .entry kconv_gpu_all_ops(

// SM80: .target sm_80
// SM80: .entry kconv_gpu_gaussian_conv(

// ACCURATE-LABEL: .visible .entry kconv_gpu_gaussian_conv(
// ACCURATE: cvt.rni.f32.f32
// ACCURATE: ex2.approx.ftz.f32
// ACCURATE-NOT: .extern
