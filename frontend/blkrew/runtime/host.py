"""Runs a host shared library in-process through its C interface."""

from __future__ import annotations

import ctypes
from pathlib import Path

import torch

from blkrew.runtime.memref import make_descriptor

__all__ = ["HostRunner"]


class HostRunner:
    """Loads ``model.so`` once; each call passes descriptors of the inputs and
    of caller-allocated outputs (results are out-params)."""

    def __init__(self, library: Path, entry: str):
        self.library = ctypes.CDLL(str(library))
        try:
            self.fn = getattr(self.library, entry)
        except AttributeError as e:
            raise ValueError(f"{library} has no entry point {entry}") from e
        self.fn.restype = None

    def run(self, inputs: list[torch.Tensor], outputs: list[torch.Tensor]) -> None:
        descs = [make_descriptor(t) for t in (*inputs, *outputs)]
        self.fn(*[ctypes.byref(d) for d in descs])
