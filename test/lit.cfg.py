# -*- Python -*-
import os
import shutil

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "KCONV"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".kconv", ".test"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.kconv_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%kconv_src", config.kconv_src_root))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()
# `not` at the start of a RUN line (lit only substitutes it after a pipe).
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

tool_dirs = [config.kconv_tools_dir, config.llvm_tools_dir]
tools = [
    ToolSubst("kconv-opt", unresolved="ignore"),
    ToolSubst("kconv-compile", unresolved="ignore"),
    ToolSubst("kconv-run", unresolved="ignore"),
    ToolSubst("kconv-cpu-bench", unresolved="ignore"),
]
llvm_config.add_tool_substitutions(tools, tool_dirs)

# The CUDA toolkit (ptxas, cuobjdump) is optional: tests that need it say `REQUIRES: ptxas`, and
# lit reports them as UNSUPPORTED (visibly) where it is missing.
cuda_bin = os.environ.get("KCONV_CUDA_BIN", "/usr/local/cuda/bin")
for tool in ["ptxas", "cuobjdump"]:
    path = shutil.which(tool) or (os.path.join(cuda_bin, tool)
                                  if os.path.exists(os.path.join(cuda_bin, tool)) else None)
    if path:
        config.available_features.add(tool)
        config.substitutions.append(("%" + tool, path))
