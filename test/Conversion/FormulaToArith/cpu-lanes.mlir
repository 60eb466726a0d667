// convert-kconv-formula-to-arith with vector components (one reduced row per lane, as on x86).
// RUN: kconv-opt %s --convert-kconv-formula-to-arith="target=cpu lanes=16" | FileCheck %s --check-prefix=CPU

// CPU fast exp on 16 lanes: clamps that keep NaN (select on ordered compares), Cody-Waite,
// polynomial, vscalefps.
// CPU-LABEL: func.func @exp_lanes(
// CPU:         %[[OVER:.*]] = arith.cmpf ogt, %arg0, %[[HI:.*]] : vector<16xf32>
// CPU-NEXT:    %[[X1:.*]] = arith.select %[[OVER]], %[[HI]], %arg0
// CPU-NEXT:    %[[LO:.*]] = arith.constant dense<-1.040000e+02> : vector<16xf32>
// CPU-NEXT:    %[[UNDER:.*]] = arith.cmpf olt, %[[X1]], %[[LO]] : vector<16xf32>
// CPU-NEXT:    arith.select %[[UNDER]], %[[LO]], %[[X1]]
// CPU-COUNT-9: math.fma
// CPU:         llvm.call_intrinsic "llvm.x86.avx512.mask.scalef.ps.512"
func.func @exp_lanes(%a: vector<16xf32>) -> vector<16xf32> {
  %x = builtin.unrealized_conversion_cast %a : vector<16xf32> to vector<1xf32>
  %0 = kconv.exp %x : vector<1xf32>
  %r = builtin.unrealized_conversion_cast %0 : vector<1xf32> to vector<16xf32>
  return %r : vector<16xf32>
}
