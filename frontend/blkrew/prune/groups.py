"""Block partition of a GEMM matrix into BLK-REW groups, and hard-prune masks.

Everything here works on a stack of matrices ``w[G, M, K]`` (``G`` is 1 for
``nn.Linear``/``nn.Conv2d`` and the number of gates for GRU/LSTM weights, each
gate being its own FC matrix). The matrix is cut into blocks of ``p`` rows by
``q`` columns; blocks at the bottom/right edge may be partial.

Groups:

* **column** groups are the columns of a block: group ``(g, r, k)`` holds rows
  ``r*p : (r+1)*p`` of column ``k``, i.e. ``p`` elements (fewer in the last
  block-row). Its norms form a ``[G, ceil(M/p), K]`` grid.
* **row** groups are the rows of a block: group ``(g, m, c)`` holds columns
  ``c*q : (c+1)*q`` of row ``m`` (``q`` elements, fewer in the last
  block-column). Norms grid ``[G, M, ceil(K/q)]``.
* **bcr** uses both sets; a weight survives only when its column group and its
  row group both survive.

Hard pruning keeps, per matrix (per gate), the groups with the largest L2 norm
(ties broken by position, so every process computes the same mask from the
same weights). "Exact" compression means:

* column/row with equal-sized groups: exactly ``round(n_groups / compression)``
  groups are kept (at least one);
* when edge groups are partial, elements are counted: groups are taken in
  decreasing norm order and the prefix whose element count is closest to
  ``total / compression`` is kept (at least one group), so the achieved
  compression ``total / kept`` is the closest the group granularity allows
  for that ranking;
* bcr: ``round(n_col_groups / sqrt(compression))`` column groups are kept
  first, then the number of row groups (in norm order) whose joint mask has
  the element count closest to ``total / compression`` is found by binary
  search, then the column count is refined the same way for that row count.
  The kept element count is the closest achievable along that search (within
  one row group's surviving elements of the target).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = [
    "GroupSelection",
    "expand_column",
    "expand_row",
    "group_sizes",
    "group_sqnorms",
    "keep_count",
    "select_mask",
]


def _blocks(n: int, b: int) -> int:
    return -(-n // b)


def group_sqnorms(
    w: torch.Tensor, block: tuple[int, int], scheme: str
) -> dict[str, torch.Tensor]:
    """Squared L2 norms of the groups of ``w[G, M, K]``.

    Returns ``{"column": [G, ceil(M/p), K]}``, ``{"row": [G, M, ceil(K/q)]}`` or
    both for bcr. Differentiable.
    """
    g, m, k = w.shape
    p, q = block
    out: dict[str, torch.Tensor] = {}
    sq = w * w
    if scheme in ("column", "bcr"):
        rows = _blocks(m, p)
        padded = F.pad(sq, (0, 0, 0, rows * p - m))
        out["column"] = padded.reshape(g, rows, p, k).sum(dim=2)
    if scheme in ("row", "bcr"):
        cols = _blocks(k, q)
        padded = F.pad(sq, (0, cols * q - k))
        out["row"] = padded.reshape(g, m, cols, q).sum(dim=3)
    if not out:
        raise ValueError(f"unknown scheme {scheme!r}; allowed: column, row, bcr")
    return out


def group_sizes(m: int, k: int, block: tuple[int, int], kind: str) -> torch.Tensor:
    """Number of elements of each group, broadcastable to its norm grid."""
    p, q = block
    if kind == "column":
        rows = _blocks(m, p)
        sizes = torch.full((rows,), p, dtype=torch.int64)
        sizes[-1] = m - (rows - 1) * p
        return sizes.reshape(1, rows, 1).expand(1, rows, k)
    cols = _blocks(k, q)
    sizes = torch.full((cols,), q, dtype=torch.int64)
    sizes[-1] = k - (cols - 1) * q
    return sizes.reshape(1, 1, cols).expand(1, m, cols)


def expand_column(keep: torch.Tensor, p: int, m: int) -> torch.Tensor:
    """``[G, R, K]`` group flags to a ``[G, M, K]`` element mask."""
    return keep.repeat_interleave(p, dim=1)[:, :m]


def expand_row(keep: torch.Tensor, q: int, k: int) -> torch.Tensor:
    """``[G, M, C]`` group flags to a ``[G, M, K]`` element mask."""
    return keep.repeat_interleave(q, dim=2)[:, :, :k]


def keep_count(n_groups: int, sizes: torch.Tensor, target: float) -> int:
    """How many groups (taken in the order of ``sizes``) to keep.

    With equal sizes: ``round(n_groups * size / target ...)``, i.e.
    ``round(n_groups / compression)``; otherwise the prefix whose cumulative
    element count is closest to ``target``. Always at least 1.
    """
    if n_groups == 0:
        return 0
    if bool((sizes == sizes[0]).all()):
        n = round(target / int(sizes[0]))
    else:
        cum = torch.cat([sizes.new_zeros(1), sizes.cumsum(0)]).to(torch.float64)
        n = int(torch.argmin((cum - target).abs()))
    return max(1, min(n_groups, n))


def _ranks(norms: torch.Tensor) -> torch.Tensor:
    """Position of each entry in decreasing order (stable: ties by index)."""
    flat = norms.reshape(-1)
    order = torch.argsort(flat, descending=True, stable=True)
    ranks = torch.empty_like(order)
    ranks[order] = torch.arange(flat.numel(), device=flat.device)
    return ranks.reshape(norms.shape)


@dataclass
class GroupSelection:
    """A hard-prune decision for one ``[M, K]`` matrix (one gate)."""

    mask: torch.Tensor  # [M, K] bool
    kept: dict[str, int]  # groups kept per kind
    total: dict[str, int]  # groups per kind


def _select_one(
    w: torch.Tensor, block: tuple[int, int], scheme: str, compression: float
) -> GroupSelection:
    m, k = w.shape
    p, q = block
    total = m * k
    target = total / compression
    norms = {
        kind: t[0].to(torch.float64)
        for kind, t in group_sqnorms(w[None].detach(), block, scheme).items()
    }
    if scheme in ("column", "row"):
        kind = scheme
        nrm = norms[kind]
        sizes = group_sizes(m, k, block, kind)[0].expand_as(nrm).reshape(-1)
        order = torch.argsort(nrm.reshape(-1), descending=True, stable=True)
        n = keep_count(nrm.numel(), sizes[order], target)
        keep = torch.zeros(nrm.numel(), dtype=torch.bool, device=w.device)
        keep[order[:n]] = True
        keep = keep.reshape(nrm.shape)[None]
        mask = expand_column(keep, p, m) if kind == "column" else expand_row(keep, q, k)
        return GroupSelection(mask[0], {kind: n}, {kind: nrm.numel()})

    col_rank = _ranks(norms["column"])[None]
    row_rank = _ranks(norms["row"])[None]
    n_col, n_row = norms["column"].numel(), norms["row"].numel()

    def joint(nc: int, nr: int) -> torch.Tensor:
        return expand_column(col_rank < nc, p, m) & expand_row(row_rank < nr, q, k)

    def count(nc: int, nr: int) -> int:
        return int(joint(nc, nr).sum())

    def best(fn, n_max: int) -> int:
        # fn is nondecreasing in its argument: find the argument in
        # [1, n_max] whose count is closest to the target (fewer on ties).
        lo, hi = 1, n_max
        while lo < hi:
            mid = (lo + hi) // 2
            if fn(mid) >= target:
                hi = mid
            else:
                lo = mid + 1
        if lo > 1 and abs(fn(lo - 1) - target) <= abs(fn(lo) - target):
            return lo - 1
        return lo

    nc = max(1, min(n_col, round(n_col / math.sqrt(compression))))
    nr = best(lambda r: count(nc, r), n_row)
    nc = best(lambda c: count(c, nr), n_col)
    nr = best(lambda r: count(nc, r), n_row)
    return GroupSelection(
        joint(nc, nr)[0],
        {"column": nc, "row": nr},
        {"column": n_col, "row": n_row},
    )


def select_mask(
    w: torch.Tensor, block: tuple[int, int], scheme: str, compression: float
) -> tuple[torch.Tensor, list[GroupSelection]]:
    """Hard-prune mask of ``w[G, M, K]``: each of the G matrices on its own.

    Returns the ``[G, M, K]`` bool mask and the per-matrix selections.
    """
    sels = [_select_one(w[i], block, scheme, compression) for i in range(w.shape[0])]
    return torch.stack([s.mask for s in sels]), sels
