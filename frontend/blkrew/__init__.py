"""blkrew: BLK-REW block pruning and a block-sparse MLIR compiler."""

from blkrew.compiler.opt import BlkRewOptError, find_blkrew_opt, run_blkrew_opt

__version__ = "0.1.0"

__all__ = ["BlkRewOptError", "find_blkrew_opt", "run_blkrew_opt", "__version__"]
