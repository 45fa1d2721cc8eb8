# -*- Python -*-
# lit configuration for the blkrew IR tests (test/Dialect, test/Conversion,
# test/Integration). test/python holds pytest tests and is not run by lit.

import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "BLKREW"
# The internal shell: portable, and the only one lit >= 23 keeps.
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.blkrew_obj_root, "test")
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "python"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%shlibext", config.shlib_ext))
config.substitutions.append(("%mlir_lib_dir", config.mlir_lib_dir))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()

# Our tools and LLVM's first; then PATH for spirv-val (spirv-tools).
tool_dirs = [
    config.blkrew_tools_dir,
    config.llvm_tools_dir,
    *config.environment["PATH"].split(os.pathsep),
]
tools = [
    "blkrew-opt",
    ToolSubst("mlir-runner", unresolved="fatal"),
    ToolSubst("spirv-val", unresolved="fatal"),
]
llvm_config.add_tool_substitutions(tools, tool_dirs)
