#!/usr/bin/env python3
"""Find the hot loop of a kernel in `cuobjdump -sass` output and count its instructions.

The hot loop is the backward branch whose body holds the most MUFU.EX2 (the pair loop of a
kconv kernel over a full shared-memory tile). Prints the opcode histogram and the instructions
per pair, taking one MUFU.EX2 per pair (--ex2-per-pair to change). With --max-per-pair X the exit
status is 1 when the loop needs more than X instructions per pair, or has local-memory traffic.

  cuobjdump -sass -fun kconv_gpu_gaussian_conv k.cubin | scripts/sass-inner-loop.py -
"""
import argparse
import collections
import re
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sass", help="cuobjdump -sass output ('-': stdin)")
    ap.add_argument("--ex2-per-pair", type=float, default=1.0)
    ap.add_argument("--max-per-pair", type=float, default=None)
    args = ap.parse_args()
    text = sys.stdin.read() if args.sass == "-" else open(args.sass).read()
    ins = []
    for line in text.splitlines():
        m = re.match(r"\s+/\*([0-9a-f]{4,})\*/\s+(.*?)\s*;", line)
        if m:
            ins.append((int(m.group(1), 16), m.group(2)))
    best = None
    for addr, txt in ins:
        m = re.search(r"BRA (?:`\(\.L_x_\d+\)|(0x[0-9a-f]+))", txt)
        if not m or m.group(1) is None:
            continue
        target = int(m.group(1), 16)
        if target >= addr:
            continue
        body = [t for a, t in ins if target <= a <= addr]
        ex2 = sum("MUFU.EX2" in t for t in body)
        if ex2 and (best is None or ex2 > best[0]):
            best = (ex2, body, target, addr)
    if best is None:
        print("no loop with MUFU.EX2 found")
        return 1
    ex2, body, target, addr = best
    opcodes = collections.Counter(
        (t.split()[1] if t.startswith("@") else t.split()[0]) for t in body)
    pairs = ex2 / args.ex2_per_pair
    per_pair = len(body) / pairs
    local = sum(("LDL" in t or "STL" in t) for t in body)
    print(f"hot loop {target:#x}..{addr:#x}: {len(body)} instructions, {ex2} MUFU.EX2, "
          f"{pairs:g} pairs: {per_pair:.2f} instructions per pair, {local} local-memory accesses")
    print("opcodes: " + ", ".join(f"{k} {v}" for k, v in sorted(opcodes.items(), key=lambda kv: -kv[1])))
    if args.max_per_pair is not None and (per_pair > args.max_per_pair or local):
        print(f"FAIL: more than {args.max_per_pair} instructions per pair or local memory")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
