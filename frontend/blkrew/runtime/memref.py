"""Calling compiled functions through MLIR's C interface with ctypes.

A function lowered with ``llvm.emit_c_interface`` gets a wrapper
``_mlir_ciface_<name>`` that takes a pointer to a strided memref descriptor
per memref argument::

    struct { T *allocated; T *aligned; int64_t offset;
             int64_t sizes[rank]; int64_t strides[rank]; }

The descriptors here point straight at torch tensors' memory (no copies).
"""

from __future__ import annotations

import ctypes
from functools import cache

import torch

__all__ = ["descriptor_type", "make_descriptor"]

_CTYPES = {torch.float32: ctypes.c_float, torch.int32: ctypes.c_int32}


@cache
def descriptor_type(rank: int, dtype: torch.dtype = torch.float32) -> type:
    """The ctypes struct of a rank-``rank`` strided memref descriptor."""
    elem = ctypes.POINTER(_CTYPES[dtype])
    fields = [
        ("allocated", elem),
        ("aligned", elem),
        ("offset", ctypes.c_int64),
    ]
    if rank > 0:
        fields += [
            ("sizes", ctypes.c_int64 * rank),
            ("strides", ctypes.c_int64 * rank),
        ]
    return type(f"MemRef{rank}D", (ctypes.Structure,), {"_fields_": fields})


def make_descriptor(tensor: torch.Tensor) -> ctypes.Structure:
    """A descriptor viewing ``tensor``'s storage (which must stay alive)."""
    if tensor.dtype not in _CTYPES:
        raise TypeError(f"unsupported dtype {tensor.dtype}")
    desc = descriptor_type(tensor.dim(), tensor.dtype)()
    ptr = ctypes.cast(
        ctypes.c_void_p(tensor.data_ptr()), ctypes.POINTER(_CTYPES[tensor.dtype])
    )
    desc.allocated = ptr
    desc.aligned = ptr
    desc.offset = 0
    if tensor.dim() > 0:
        desc.sizes[:] = list(tensor.shape)
        desc.strides[:] = list(tensor.stride())
    return desc
