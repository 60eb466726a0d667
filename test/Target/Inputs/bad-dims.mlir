// Dimensions 3 and 2 do not broadcast.
kconv.reduction @f sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 2>] {
^bb0(%x: vector<3xf32>, %y: vector<2xf32>):
  %0 = kconv.add %x, %y : vector<3xf32>, vector<2xf32>
  kconv.yield %0 : vector<3xf32>
}
