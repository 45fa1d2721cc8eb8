"""blkrew: BLK-REW block pruning and a block-sparse MLIR compiler."""

from blkrew import data, models, prune
from blkrew.compiler.api import CompiledModule, CompileError, compile, load
from blkrew.compiler.opt import BlkRewOptError, find_blkrew_opt, run_blkrew_opt
from blkrew.prune import BlockPruneConfig, ReweightedPruner

__version__ = "0.1.0"

__all__ = [
    "BlkRewOptError",
    "BlockPruneConfig",
    "CompileError",
    "CompiledModule",
    "compile",
    "load",
    "ReweightedPruner",
    "data",
    "find_blkrew_opt",
    "models",
    "prune",
    "run_blkrew_opt",
    "__version__",
]
