"""llvm-mca helpers: find a kernel's inner loop in AArch64 assembly and ask
llvm-mca how many cycles an iteration takes. Used by the auto-tuner's
AArch64 cost model and by the kernel benchmark. Estimates, not
measurements."""

from __future__ import annotations

import subprocess
from pathlib import Path

from blkrew.compiler.toolchain import llvm_tool

__all__ = ["aarch64_assembly", "inner_loop", "mca_cycles"]


def aarch64_assembly(ll_path: Path) -> str:
    """AArch64 assembly (clang -O3, NEON) of an LLVM IR file."""
    return subprocess.run(
        [
            str(llvm_tool("clang")),
            "--target=aarch64-linux-gnu",
            "-march=armv8-a+simd",
            "-O3",
            "-S",
            str(ll_path),
            "-o",
            "-",
            "-Wno-override-module",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def inner_loop(asm: str, marker: str = "fmla") -> list[str] | None:
    """The instructions of the single-block loop (a block that ends by
    branching back to its own label) with the most ``marker`` instructions."""
    best = None
    label, body = None, []
    for line in asm.splitlines() + [".Lend:"]:
        stripped = line.split("//")[0].strip()
        if stripped.endswith(":") and not stripped.startswith("."):
            label, body = None, []  # a function label
            continue
        if stripped.endswith(":"):
            if label and body and label in body[-1]:
                count = sum(marker in i for i in body)
                if count and (best is None or count > best[0]):
                    best = (count, body)
            label, body = stripped[:-1], []
            continue
        if label and stripped and not stripped.startswith("."):
            if not (body and label in body[-1]):  # stop after the back branch
                body.append(stripped)
    return best[1] if best else None


def mca_cycles(asm_lines: list[str], cpu: str, iterations: int = 200) -> float:
    """llvm-mca's estimate of the cycles per iteration of a loop body."""
    report = subprocess.run(
        [
            str(llvm_tool("llvm-mca")),
            "-mtriple=aarch64",
            f"-mcpu={cpu}",
            f"-iterations={iterations}",
        ],
        input="\n".join(asm_lines) + "\n",
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for line in report.splitlines():
        if line.startswith("Total Cycles:"):
            return int(line.split(":")[1]) / iterations
    raise RuntimeError(f"no cycle count in llvm-mca's report:\n{report}")
