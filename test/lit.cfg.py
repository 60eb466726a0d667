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
    ToolSubst("kconv-translate", unresolved="ignore"),
    ToolSubst("kconv-gpu-emulate", unresolved="ignore"),
    ToolSubst("kconv-compile", unresolved="ignore"),
    ToolSubst("kconv-run", unresolved="ignore"),
    ToolSubst("kconv-cpu-bench", unresolved="ignore"),
]
llvm_config.add_tool_substitutions(tools, tool_dirs)

# The CUDA toolkit (ptxas, cuobjdump) is optional: tests that need it say `REQUIRES: ptxas`, and
# lit reports them as UNSUPPORTED (visibly) where it is missing.
# cuobjdump (which runs nvdisasm) may also come from the pip wheels nvidia-cuda-cuobjdump and
# nvidia-cuda-nvdisasm (site-packages/nvidia/cu13/bin) where the toolkit lacks it.
import glob
import subprocess
cuda_dirs = [os.environ.get("KCONV_CUDA_BIN", "/usr/local/cuda/bin")]
try:
    nvidia_pkg = subprocess.run(
        ["python3", "-c", "import nvidia; print(list(nvidia.__path__)[0])"],
        capture_output=True, text=True, timeout=30).stdout.strip()
    if nvidia_pkg:
        cuda_dirs += sorted(glob.glob(os.path.join(nvidia_pkg, "cu*", "bin")))
except (OSError, subprocess.SubprocessError):
    pass
for tool in ["ptxas", "cuobjdump"]:
    path = shutil.which(tool)
    for d in cuda_dirs:
        if not path and os.path.exists(os.path.join(d, tool)):
            path = os.path.join(d, tool)
    if path:
        config.available_features.add(tool)
        config.substitutions.append(("%" + tool, path))
        tool_dir = os.path.dirname(path)
        if tool_dir not in config.environment["PATH"].split(os.pathsep):
            config.environment["PATH"] += os.pathsep + tool_dir  # nvdisasm beside cuobjdump
