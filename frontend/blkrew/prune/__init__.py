"""BLK-REW block pruning: configuration, groups, the reweighted pruner, the
training recipe and the report. See ``docs/pruning.md``."""

from blkrew.prune.config import (
    METHODS,
    SCHEMES,
    BlockPruneConfig,
    LayerOverride,
    LayerSettings,
    parse_block,
    resolve_layers,
)
from blkrew.prune.fit import FitResult, evaluate, fit, train_epochs
from blkrew.prune.groups import group_sqnorms, select_mask
from blkrew.prune.report import format_table, mask_image, write_report
from blkrew.prune.reweighted import MASK_SUFFIX, ReweightedPruner, unwrap

__all__ = [
    "MASK_SUFFIX",
    "METHODS",
    "SCHEMES",
    "BlockPruneConfig",
    "FitResult",
    "LayerOverride",
    "LayerSettings",
    "ReweightedPruner",
    "evaluate",
    "fit",
    "format_table",
    "group_sqnorms",
    "mask_image",
    "parse_block",
    "resolve_layers",
    "select_mask",
    "train_epochs",
    "unwrap",
    "write_report",
]
