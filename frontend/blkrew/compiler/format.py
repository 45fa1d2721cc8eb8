"""The packed block-sparse format of the ``blkrew`` dialect, in NumPy.

A weight matrix ``W[M, K]`` is cut into row groups of ``p`` consecutive rows
(after an optional row permutation). Each group stores the sorted list of
columns it keeps and, for every kept column, the ``p`` values of that column
in the group:

* ``row_ptr[G + 1]`` (int32), ``G = ceil(M / p)``: group ``g`` owns entries
  ``row_ptr[g]:row_ptr[g + 1]`` of ``col_idx``;
* ``col_idx[nnz]`` (int32): kept columns, strictly increasing in a group;
* ``values[nnz, p]``: the column vectors; rows past ``M`` in the last group
  are zero padding.

With a permutation ``perm``, packed row ``r`` holds original row ``perm[r]``.
This is the reference the C++ verifier and lowerings agree with; see
``docs/format.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PackedMatrix", "pack", "unpack"]


@dataclass(frozen=True)
class PackedMatrix:
    """Packed arrays plus the layout they were packed with."""

    row_ptr: np.ndarray
    col_idx: np.ndarray
    values: np.ndarray
    shape: tuple[int, int]
    block: tuple[int, int]
    scheme: str = "column"
    perm: tuple[int, ...] | None = None

    @property
    def nnz_columns(self) -> int:
        """Number of stored column vectors."""
        return int(self.col_idx.shape[0])

    @property
    def density(self) -> float:
        """Stored values (padding included) over dense size."""
        m, k = self.shape
        return self.values.size / max(1, m * k)

    def layout_attr(self) -> str:
        """The ``#blkrew.layout`` attribute text for this matrix."""
        p, q = self.block
        text = f"#blkrew.layout<block = [{p}, {q}], scheme = {self.scheme}"
        if self.perm is not None:
            text += ", perm = [" + ", ".join(str(int(r)) for r in self.perm) + "]"
        return text + ">"


def pack(
    weight: np.ndarray,
    block: tuple[int, int],
    scheme: str = "column",
    perm: np.ndarray | list[int] | None = None,
) -> PackedMatrix:
    """Packs a dense 2-D matrix; a column is kept in a group when any of the
    group's rows is nonzero in it."""
    w = np.asarray(weight)
    if w.ndim != 2:
        raise ValueError(f"expected a 2-D weight matrix, got shape {w.shape}")
    p, q = (int(block[0]), int(block[1]))
    if p <= 0 or q <= 0:
        raise ValueError(f"block sizes must be positive, got {block}")
    if scheme not in ("column", "row", "bcr"):
        raise ValueError(f"unknown scheme {scheme!r}: expected column, row or bcr")
    m, k = w.shape
    if perm is not None:
        perm = np.asarray(perm, dtype=np.int64)
        if sorted(perm.tolist()) != list(range(m)):
            raise ValueError(f"perm is not a permutation of 0..{m - 1}")
        w = w[perm]
    groups = -(-m // p)
    padded = np.zeros((groups * p, k), dtype=w.dtype)
    padded[:m] = w
    tiles = padded.reshape(groups, p, k)
    kept = np.any(tiles != 0, axis=1)  # [groups, k]
    row_ptr = np.zeros(groups + 1, dtype=np.int32)
    row_ptr[1:] = np.cumsum(kept.sum(axis=1))
    g_idx, c_idx = np.nonzero(kept)  # row-major: sorted by group, then column
    values = tiles[g_idx, :, c_idx]  # [nnz, p]
    return PackedMatrix(
        row_ptr=row_ptr,
        col_idx=c_idx.astype(np.int32),
        values=np.ascontiguousarray(values),
        shape=(m, k),
        block=(p, q),
        scheme=scheme,
        perm=None if perm is None else tuple(int(r) for r in perm),
    )


def unpack(packed: PackedMatrix) -> np.ndarray:
    """Rebuilds the dense matrix (original row order)."""
    m, k = packed.shape
    p = packed.block[0]
    groups = len(packed.row_ptr) - 1
    out = np.zeros((groups * p, k), dtype=packed.values.dtype)
    for g in range(groups):
        lo, hi = packed.row_ptr[g], packed.row_ptr[g + 1]
        out[g * p : (g + 1) * p, packed.col_idx[lo:hi]] = packed.values[lo:hi].T
    out = out[:m]
    if packed.perm is not None:
        dense = np.empty_like(out)
        dense[list(packed.perm)] = out
        out = dense
    return out
