// REQUIRES: ptxas, cuobjdump
// The machine code of the seed kernel: its hot loop reads shared memory 16 bytes at a time
// (LDS.128, one per j, serving 4 rows), takes one MUFU.EX2 per pair with the negation folded into
// the MUFU operand, never touches local memory, and costs at most 8.5 instructions per pair
// (3 FADD + FMUL + 2 FFMA + MUFU.EX2 + FFMA = 8, plus the shared load and loop control).
// RUN: kconv-translate --kconv-to-cubin %S/Inputs/kernels.mlir -o %t.cubin
// RUN: %cuobjdump -sass -fun kconv_gpu_gaussian_conv %t.cubin > %t.sass
// RUN: FileCheck %s < %t.sass
// RUN: %python %kconv_src/scripts/sass-inner-loop.py %t.sass --max-per-pair 8.5 | FileCheck %s --check-prefix=LOOP
// The split-j variant has the same loop.
// RUN: %cuobjdump -sass -fun kconv_gpu_gaussian_conv_splitj %t.cubin | %python %kconv_src/scripts/sass-inner-loop.py - --max-per-pair 8.5 | FileCheck %s --check-prefix=LOOP
// The Laplace kernel: one MUFU.SQRT and one MUFU.EX2 per pair.
// RUN: %cuobjdump -sass -fun kconv_gpu_laplace %t.cubin | %python %kconv_src/scripts/sass-inner-loop.py - --max-per-pair 9.5 | FileCheck %s --check-prefix=LAPLACE

// CHECK: Function : kconv_gpu_gaussian_conv
// CHECK: BAR.SYNC
// CHECK: STS.128
// CHECK: BAR.SYNC
// CHECK: LDS.128
// CHECK: FADD
// CHECK: MUFU.EX2 R{{[0-9]+}}, -R{{[0-9]+}}
// CHECK-NOT: LDL
// CHECK-NOT: STL
// CHECK: EXIT

// LOOP: hot loop {{.*}}: {{[0-9]+}} instructions, 64 MUFU.EX2, 64 pairs: {{[0-9.]+}} instructions per pair, 0 local-memory accesses
// LOOP: opcodes: {{.*}}LDS.128 16
// LOOP-NOT: FAIL

// LAPLACE: opcodes: {{.*}}MUFU.SQRT 64, MUFU.EX2 64
// LAPLACE-NOT: FAIL
