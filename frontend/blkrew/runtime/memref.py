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

__all__ = ["descriptor_type", "fill_descriptor", "make_descriptor"]

_DTYPES = (torch.float32, torch.int32)


@cache
def descriptor_type(rank: int, dtype: torch.dtype = torch.float32) -> type:
    """The ctypes struct of a rank-``rank`` strided memref descriptor of
    ``dtype`` elements. The two pointers are ``void *``: the same ABI as
    ``T *``, and set from an integer without a ctypes cast."""
    if dtype not in _DTYPES:
        raise TypeError(f"unsupported dtype {dtype}")
    fields = [
        ("allocated", ctypes.c_void_p),
        ("aligned", ctypes.c_void_p),
        ("offset", ctypes.c_int64),
    ]
    if rank > 0:
        fields += [
            ("sizes", ctypes.c_int64 * rank),
            ("strides", ctypes.c_int64 * rank),
        ]
    name = f"MemRef{rank}D{str(dtype).removeprefix('torch.')}"
    return type(name, (ctypes.Structure,), {"_fields_": fields})


def fill_descriptor(desc: ctypes.Structure, tensor: torch.Tensor) -> None:
    """Points ``desc``, a ``descriptor_type(tensor.dim(), tensor.dtype)``
    with offset 0, at ``tensor``'s storage (which must stay alive)."""
    ptr = tensor.data_ptr()
    desc.allocated = ptr
    desc.aligned = ptr
    if tensor.dim() > 0:
        desc.sizes[:] = tensor.shape
        desc.strides[:] = tensor.stride()


def make_descriptor(tensor: torch.Tensor) -> ctypes.Structure:
    """A new descriptor viewing ``tensor``'s storage (which must stay alive)."""
    desc = descriptor_type(tensor.dim(), tensor.dtype)()
    fill_descriptor(desc, tensor)
    return desc
