// A syntax error on line 4 (the missing colon before the type).
kconv.reduction @f sum axis = 1 vars [#kconv.var<"X", i, 1>] {
^bb0(%x: vector<1xf32>):
  %0 = kconv.neg %x vector<1xf32>
  kconv.yield %0 : vector<1xf32>
}
