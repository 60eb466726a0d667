// f64 formulas are not supported by the CPU backend.
kconv.reduction @double sum axis = 1 vars [#kconv.var<"X", i, 1>, #kconv.var<"Y", j, 1>] {
^bb0(%x: vector<1xf64>, %y: vector<1xf64>):
  %0 = kconv.mul %x, %y : vector<1xf64>, vector<1xf64>
  kconv.yield %0 : vector<1xf64>
}
