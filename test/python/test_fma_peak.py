"""bench/native/fma_peak.c: the FMA peak behind the benchmarks' "limit"
column must measure the FMA units, not stack traffic."""

import ctypes
import platform
import re
import subprocess
from pathlib import Path

import pytest

from blkrew.compiler.toolchain import LLVM_ROOT, llvm_tool

SOURCE = Path(__file__).resolve().parents[2] / "bench" / "native" / "fma_peak.c"
FLAGS = ["-O3", "-march=native", "-fopenmp"]

pytestmark = pytest.mark.skipif(
    platform.machine() != "x86_64", reason="reads x86-64 assembly"
)


def _function(asm: str, name: str) -> str:
    start = asm.index(f"\n{name}:")
    return asm[start : asm.index(".Lfunc_end", start)]


def test_chains_stay_in_registers(tmp_path):
    asm_path = tmp_path / "fma_peak.s"
    subprocess.run(
        [str(llvm_tool("clang")), *FLAGS, "-S", str(SOURCE), "-o", str(asm_path)],
        check=True,
    )
    body = _function(asm_path.read_text(), "blkrew_fma_peak")
    assert re.search(r"vfmadd\w+\s+%[xyz]mm", body)
    # On AVX-512 the FMAs are 512-bit ones, as blkrew's kernels' are: clang
    # splits them into ymm halves on cores that prefer 256-bit vectors
    # unless the function asks otherwise, which halved the measured peak.
    if " avx512f" in Path("/proc/cpuinfo").read_text():
        assert re.search(r"vfmadd\w+\s+%zmm", body)
        assert not re.search(r"vfmadd\w+\s+[^\n]*%[xy]mm", body)
    # A spilled chain is a vector store to or load from the stack.
    spills = re.findall(r"vmov\w+\s+[^\n]*\(%rsp\)", body)
    assert not spills, spills


def test_flops_per_round_match_the_vectors(tmp_path):
    lib = tmp_path / "fma_peak.so"
    llvm_lib = LLVM_ROOT / "lib"
    subprocess.run(
        [str(llvm_tool("clang")), *FLAGS, "-shared", "-fPIC", str(SOURCE)]
        + ["-o", str(lib), f"-L{llvm_lib}", f"-Wl,-rpath,{llvm_lib}"],
        check=True,
    )
    native = ctypes.CDLL(str(lib))
    native.blkrew_fma_flops_per_round.restype = ctypes.c_int64
    flags = Path("/proc/cpuinfo").read_text()
    lanes = 16 if " avx512f" in flags else 8 if " avx" in flags else 4
    per_round = native.blkrew_fma_flops_per_round()
    assert per_round % (2 * lanes) == 0 and per_round // (2 * lanes) >= 8
    run = native.blkrew_fma_peak_threads
    run.argtypes = [ctypes.c_int64, ctypes.c_float, ctypes.c_int]
    run.restype = ctypes.c_float
    assert run(1000, 1e-4, 1) > 0
