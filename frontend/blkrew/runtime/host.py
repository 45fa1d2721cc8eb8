"""Runs a host shared library in-process through its C interface."""

from __future__ import annotations

import ctypes
from pathlib import Path

import torch

from blkrew.runtime.memref import make_descriptor

__all__ = ["HostRunner"]


class HostRunner:
    """Loads ``model.so`` once; each call passes descriptors of the inputs and
    of caller-allocated outputs (results are out-params). ``threads`` fixes
    the OpenMP thread count of parallel kernels; otherwise OMP_NUM_THREADS
    (or libomp's default) applies."""

    def __init__(self, library: Path, entry: str, threads: int | None = None):
        self.library = ctypes.CDLL(str(library))
        if threads is not None:
            # The same libomp the library linked (same soname: one runtime).
            from blkrew.compiler.toolchain import LLVM_ROOT

            omp = ctypes.CDLL(str(LLVM_ROOT / "lib" / "libomp.so.5"))
            omp.omp_set_num_threads(ctypes.c_int(threads))
        try:
            self.fn = getattr(self.library, entry)
        except AttributeError as e:
            raise ValueError(f"{library} has no entry point {entry}") from e
        self.fn.restype = None

    def run(self, inputs: list[torch.Tensor], outputs: list[torch.Tensor]) -> None:
        descs = [make_descriptor(t) for t in (*inputs, *outputs)]
        self.fn(*[ctypes.byref(d) for d in descs])
