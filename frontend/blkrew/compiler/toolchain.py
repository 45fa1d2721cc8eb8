"""The native back end: LLVM dialect text -> LLVM IR -> object -> library.

Uses LLVM 22's ``mlir-translate`` and ``clang`` for both targets; AArch64
executables are linked with Debian's ``aarch64-linux-gnu-gcc`` and run
under ``qemu-aarch64``.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

__all__ = [
    "LLVM_ROOT",
    "ToolchainError",
    "compile_object",
    "link_aarch64_executable",
    "link_shared_library",
    "llvm_tool",
    "require",
    "translate_to_llvm_ir",
]

LLVM_ROOT = Path("/usr/lib/llvm-22")
TARGET_FLAGS = {
    # The host artifact is for this machine: use all of its vector units.
    "host": ["-march=native", "-fveclib=libmvec"],
    "aarch64": ["--target=aarch64-linux-gnu", "-march=armv8-a+simd"],
}


def llvm_tool(name: str) -> Path:
    """Path of an LLVM 22 tool (``mlir-runner``, ``clang``, ...)."""
    path = LLVM_ROOT / "bin" / name
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: install LLVM/MLIR 22 with `make setup`"
        )
    return path


class ToolchainError(RuntimeError):
    """A native tool failed; the message has its command line and output."""


def require(tool: str) -> str:
    """Path of a system tool, or a clear error naming the package to install."""
    path = shutil.which(tool)
    if path is None:
        raise ToolchainError(f"`{tool}` not found: run `make setup` to install it")
    return path


def _run(cmd: list[str], stdin: str | None = None) -> str:
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ToolchainError(
            f"command failed (exit {proc.returncode}):\n  $ {shlex.join(cmd)}\n"
            f"{proc.stderr.strip()}"
        )
    return proc.stdout


def translate_to_llvm_ir(llvm_dialect: str) -> str:
    """LLVM dialect text to LLVM IR text."""
    return _run([str(llvm_tool("mlir-translate")), "--mlir-to-llvmir"], llvm_dialect)


def compile_object(ll_path: Path, obj_path: Path, target: str) -> None:
    """Optimizes (clang -O3: loop and SLP vectorizers) and emits an object."""
    if target not in TARGET_FLAGS:
        raise ValueError(f"unknown target {target!r}: expected host or aarch64")
    _run(
        [
            str(llvm_tool("clang")),
            *TARGET_FLAGS[target],
            "-O3",
            "-fPIC",
            "-Wno-override-module",
            "-c",
            str(ll_path),
            "-o",
            str(obj_path),
        ]
    )


def link_shared_library(obj_path: Path, so_path: Path, openmp: bool = False) -> None:
    """Links a host object into a shared library loadable with ctypes (with
    LLVM's OpenMP runtime when the kernels are parallel)."""
    lib = LLVM_ROOT / "lib"
    _run(
        [
            str(llvm_tool("clang")),
            "-shared",
            str(obj_path),
            "-o",
            str(so_path),
            f"-L{lib}",
            f"-Wl,-rpath,{lib}",
            "-lmlir_c_runner_utils",
            *(["-lomp"] if openmp else []),
            "-lmvec",
            "-lm",
        ]
    )


def link_aarch64_executable(obj_path: Path, harness_c: Path, exe_path: Path) -> None:
    """Links an AArch64 object with the file-based harness (static, so qemu
    needs no sysroot at run time)."""
    _run(
        [
            require("aarch64-linux-gnu-gcc"),
            "-O2",
            "-static",
            str(harness_c),
            str(obj_path),
            "-o",
            str(exe_path),
            "-lm",
        ]
    )


def validate_spirv(path: Path) -> bool:
    """Runs ``spirv-val`` for the Vulkan 1.1 environment on a SPIR-V binary.
    Returns False when spirv-val is not installed (``make setup`` installs
    it); raises when the module is invalid."""
    tool = shutil.which("spirv-val")
    if tool is None:
        return False
    _run([tool, "--target-env", "vulkan1.1", str(path)])
    return True
