"""Runs a host shared library in-process through its C interface."""

from __future__ import annotations

import ctypes
import os
import threading
from pathlib import Path

import torch

from blkrew.runtime.memref import make_descriptor

__all__ = ["HostRunner"]

# A compiled model keeps its temporaries in a static arena
# (blkrew-plan-buffers), so two calls into one loaded library must not
# overlap. dlopen shares a library between loads of the same file, so the
# lock is per file as dlopen tells files apart (device and inode: a hard
# link is the same library, a copy another one).
_LOCKS: dict[tuple[int, int], threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _library_lock(library: Path) -> threading.Lock:
    st = os.stat(library)
    with _LOCKS_GUARD:
        return _LOCKS.setdefault((st.st_dev, st.st_ino), threading.Lock())


class HostRunner:
    """Loads ``model.so`` once; each call passes descriptors of the inputs and
    of caller-allocated outputs (results are out-params). ``threads`` fixes
    the OpenMP thread count of parallel kernels for each call (the calling
    thread's count is put back after it, so models compiled for different
    counts share a process); otherwise OMP_NUM_THREADS (or libomp's default)
    applies. Calls into one library are serialized: its temporaries live in
    one static arena."""

    def __init__(self, library: Path, entry: str, threads: int | None = None):
        self.library = ctypes.CDLL(str(library))
        self.lock = _library_lock(library)
        self.threads = threads
        if threads is not None:
            # The same libomp the library linked (same soname: one runtime).
            # Its thread count is per calling thread and outlives the call:
            # set once at load, as before, the last model loaded decided
            # every model's count.
            from blkrew.compiler.toolchain import LLVM_ROOT

            omp = ctypes.CDLL(str(LLVM_ROOT / "lib" / "libomp.so.5"))
            self._set_threads = omp.omp_set_num_threads
            self._set_threads.argtypes = [ctypes.c_int]
            self._set_threads.restype = None
            self._get_threads = omp.omp_get_max_threads
            self._get_threads.argtypes = []
            self._get_threads.restype = ctypes.c_int
        try:
            self.fn = getattr(self.library, entry)
        except AttributeError as e:
            raise ValueError(f"{library} has no entry point {entry}") from e
        self.fn.restype = None
        self._key = None  # (rank, dtype) of each argument of the last call
        self._descs = self._refs = None

    def run_pointers(self, pointers: list[int]) -> None:
        """Runs on the memory at ``pointers`` (inputs, then outputs): the
        caller has checked that it holds contiguous tensors of the shapes,
        strides and dtypes of the last ``run``, so only the pointers change."""
        with self.lock:
            for desc, ptr in zip(self._descs, pointers, strict=True):
                desc.allocated = desc.aligned = ptr
            self._call()

    def run(self, inputs: list[torch.Tensor], outputs: list[torch.Tensor]) -> None:
        tensors = (*inputs, *outputs)
        # The descriptors are kept and, while shapes, strides and dtypes
        # stay the same, only repointed: building new ctypes objects cost
        # more than a batch-1 GRU's whole kernel time, and rewriting the
        # sizes and strides was most of the call's remaining overhead.
        key = tuple((t.shape, t.stride(), t.dtype) for t in tensors)
        with self.lock:
            if key != self._key:
                self._descs = [make_descriptor(t) for t in tensors]
                self._refs = [ctypes.byref(d) for d in self._descs]
                self._key = key
            else:
                for desc, t in zip(self._descs, tensors, strict=True):
                    desc.allocated = desc.aligned = t.data_ptr()
            self._call()

    def _call(self) -> None:
        """Calls the entry point on the current descriptors (under the
        lock), with this runner's thread count for the call."""
        if self.threads is None:
            self.fn(*self._refs)
            return
        previous = self._get_threads()
        self._set_threads(self.threads)
        try:
            self.fn(*self._refs)
        finally:
            self._set_threads(previous)
