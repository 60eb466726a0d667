"""Prints a reduction whose formula is a chain of N ops under one Exp (fold-exp-scale.mlir):
Exp(-(... -(-(SqDist(X, Y)) + Q) ...)) with Q = SqNorm2(X), alternating negations and sums."""
import sys

n = int(sys.argv[1])
lines = [
    'kconv.reduction @chain sum axis = 1 vars [#kconv.var<"X", i, 3>, #kconv.var<"Y", j, 3>] {',
    "^bb0(%x: vector<3xf32>, %y: vector<3xf32>):",
    "  %q = kconv.sqnorm2 %x : vector<3xf32>",
    "  %v0 = kconv.sqdist %x, %y : vector<3xf32>, vector<3xf32>",
]
for k in range(1, n + 1):
    if k % 2:
        lines.append(f"  %v{k} = kconv.neg %v{k - 1} : vector<1xf32>")
    else:
        lines.append(f"  %v{k} = kconv.add %v{k - 1}, %q : vector<1xf32>, vector<1xf32>")
lines += [f"  %e = kconv.exp %v{n} : vector<1xf32>", "  kconv.yield %e : vector<1xf32>", "}"]
print("\n".join(lines))
