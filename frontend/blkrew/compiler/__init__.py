"""The compiler half of blkrew: drives ``blkrew-opt`` and the toolchain."""

from blkrew.compiler.opt import BlkRewOptError, find_blkrew_opt, run_blkrew_opt

__all__ = ["BlkRewOptError", "find_blkrew_opt", "run_blkrew_opt"]
