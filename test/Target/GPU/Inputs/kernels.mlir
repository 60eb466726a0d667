// Formulas shared by the PTX / ptxas / SASS tests (not a test itself: Inputs/ is excluded).

// out_i = Σ_j exp(-|x_i - y_j|²) b_j  (the seed benchmark)
kconv.reduction @gaussian_conv sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"B", j, 1>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>, %b: vector<1xf32>):
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.neg %0 : vector<1xf32>
  %2 = kconv.exp %1 : vector<1xf32>
  %3 = kconv.mul %2, %b : vector<1xf32>, vector<1xf32>
  kconv.yield %3 : vector<1xf32>
}

// Laplace kernel: exp(-|x - y|) b
kconv.reduction @laplace sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"B", j, 1>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>, %b: vector<1xf32>):
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.sqrt %0 : vector<1xf32>
  %2 = kconv.neg %1 : vector<1xf32>
  %3 = kconv.exp %2 : vector<1xf32>
  %4 = kconv.mul %3, %b : vector<1xf32>, vector<1xf32>
  kconv.yield %4 : vector<1xf32>
}

// Cauchy kernel: b / (1 + |x - y|²)
kconv.reduction @cauchy sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"B", j, 1>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>, %b: vector<1xf32>):
  %c1 = kconv.constant 1.000000e+00 : vector<1xf32>
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.add %c1, %0 : vector<1xf32>, vector<1xf32>
  %2 = kconv.inv %1 : vector<1xf32>
  %3 = kconv.mul %2, %b : vector<1xf32>, vector<1xf32>
  kconv.yield %3 : vector<1xf32>
}

// Reduction over i (axis 0) with a parameter: out_j = Σ_i exp(-g |x_i - y_j|²) a_i
kconv.reduction @gaussian_axis0 sum axis = 0 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"A", i, 1>, #kconv.var<"G", p, 1>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>, %a: vector<1xf32>, %g: vector<1xf32>):
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.mul %g, %0 : vector<1xf32>, vector<1xf32>
  %2 = kconv.neg %1 : vector<1xf32>
  %3 = kconv.exp %2 : vector<1xf32>
  %4 = kconv.mul %3, %a : vector<1xf32>, vector<1xf32>
  kconv.yield %4 : vector<1xf32>
}

// Vector-valued: out_i = Σ_j exp(-|x_i - y_j|²) v_j, v of dimension 3
kconv.reduction @gaussian_vec3 sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"V", j, 3>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>, %v: vector<3xf32>):
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.neg %0 : vector<1xf32>
  %2 = kconv.exp %1 : vector<1xf32>
  %3 = kconv.mul %2, %v : vector<1xf32>, vector<3xf32>
  kconv.yield %3 : vector<3xf32>
}
kconv.reduction @all_ops sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"B", j, 2>, #kconv.var<"P", p, 1>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>, %b: vector<2xf32>, %p: vector<1xf32>):
  %c = kconv.constant 5.000000e-01 : vector<1xf32>
  %0 = kconv.sub %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.add %0, %c : vector<3xf32>, vector<1xf32>
  %2 = kconv.mul %1, %p : vector<3xf32>, vector<1xf32>
  %3 = kconv.abs %2 : vector<3xf32>
  %4 = kconv.add %3, %c : vector<3xf32>, vector<1xf32>
  %5 = kconv.log %4 : vector<3xf32>
  %6 = kconv.sqrt %4 : vector<3xf32>
  %7 = kconv.rsqrt %4 : vector<3xf32>
  %8 = kconv.inv %4 : vector<3xf32>
  %9 = kconv.square %5 : vector<3xf32>
  %10 = kconv.pow %6, 3 : vector<3xf32>
  %11 = kconv.pow %7, -2 : vector<3xf32>
  %12 = kconv.div %8, %4 : vector<3xf32>, vector<3xf32>
  %13 = kconv.neg %12 : vector<3xf32>
  %14 = kconv.exp %13 : vector<3xf32>
  %15 = kconv.scalprod %9, %10 : vector<3xf32>, vector<3xf32>
  %16 = kconv.sum %11 : vector<3xf32>
  %17 = kconv.sqnorm2 %14 : vector<3xf32>
  %18 = kconv.norm2 %x : vector<3xf32>
  %19 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %20 = kconv.elem %b, 1 : vector<2xf32>
  %21 = kconv.concat %15, %16 : vector<1xf32>, vector<1xf32>
  %22 = kconv.add %17, %18 : vector<1xf32>, vector<1xf32>
  %23 = kconv.mul %19, %20 : vector<1xf32>, vector<1xf32>
  %24 = kconv.concat %22, %23 : vector<1xf32>, vector<1xf32>
  %25 = kconv.concat %21, %24 : vector<2xf32>, vector<2xf32>
  kconv.yield %25 : vector<4xf32>
}
