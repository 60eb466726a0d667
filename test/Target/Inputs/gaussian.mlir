// The benchmark formula: out_i = sum_j exp(-|x_i - y_j|^2) b_j.
kconv.reduction @gaussian_conv sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>, #kconv.var<"B", j, 1>] {
^bb0(%x: vector<3xf32>, %y: vector<3xf32>, %b: vector<1xf32>):
  %0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>
  %1 = kconv.neg %0 : vector<1xf32>
  %2 = kconv.exp %1 : vector<1xf32>
  %3 = kconv.mul %2, %b : vector<1xf32>, vector<1xf32>
  kconv.yield %3 : vector<1xf32>
}
