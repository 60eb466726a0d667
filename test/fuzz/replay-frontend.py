#!/usr/bin/env python3
"""Replays .kconv inputs (the fuzzer's seed corpus and the crash inputs it found) through the
normal build's kconv-opt: usage replay-frontend.py KCONV_OPT DIR...

Each input must end in success (exit 0) or in clean diagnostics (exit 1, every error at
<file>:line:col); never a signal, a crash report or a hang (60 s). Prints one line per failure
and `replayed N inputs: M failed`; exits 1 if any failed, or if the directories hold no input."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

kconv_opt, dirs = sys.argv[1], sys.argv[2:]
inputs = sorted(os.path.join(d, f) for d in dirs if os.path.isdir(d) for f in os.listdir(d))
failures = 0
with tempfile.TemporaryDirectory() as tmp:
    for path in inputs:
        # kconv-opt reads a file as a formula file by its .kconv suffix.
        copy = os.path.join(tmp, "input.kconv")
        shutil.copyfile(path, copy)
        try:
            run = subprocess.run([kconv_opt, copy, "-o", os.devnull], capture_output=True,
                                 timeout=60)
        except subprocess.TimeoutExpired:
            print(f"{path}: hang (60 s)")
            failures += 1
            continue
        err = run.stderr.decode("utf-8", "replace")
        problem = None
        if run.returncode < 0:
            problem = f"killed by signal {-run.returncode}"
        elif run.returncode not in (0, 1):
            problem = f"exit code {run.returncode}"
        elif "Stack dump" in err or "PLEASE submit" in err or "Sanitizer" in err:
            problem = "crash report"
        elif run.returncode == 1 and not re.search(r"input\.kconv:\d+:\d+: error: ", err):
            problem = "failed without a file:line:col error"
        elif run.returncode == 0 and "error:" in err:
            problem = "exit 0 with an error"
        if problem:
            print(f"{path}: {problem}\n{err[-2000:]}")
            failures += 1
print(f"replayed {len(inputs)} inputs: {failures} failed")
sys.exit(1 if failures or not inputs else 0)
