"""Block structure and exact compression of BLK-REW hard pruning, for Linear,
Conv2d, GRU and LSTM weights whose sizes are not multiples of the block."""

import math

import pytest
import torch
from torch import nn

import blkrew
from blkrew.prune.groups import group_sizes, group_sqnorms, select_mask

SCHEMES = ["column", "row", "bcr"]


def _cfg(**kw):
    kw.setdefault("skip_classifier", False)
    kw.setdefault("skip_first_conv", False)
    kw.setdefault("skip_rnn_input", False)
    return blkrew.BlockPruneConfig(**kw)


def _models():
    torch.manual_seed(0)
    return {
        "linear": nn.Sequential(nn.Linear(19, 21)),  # W[21, 19]
        "conv": nn.Sequential(nn.Conv2d(5, 13, 3, stride=2, padding=1)),  # 13 x 45
        "gru": nn.GRU(7, 11, num_layers=2, bidirectional=True),
        "lstm": nn.LSTM(6, 10, num_layers=1),
    }


def assert_block_structure(mask3: torch.Tensor, block, scheme: str) -> None:
    """Every p x q block's kept set has the shape the scheme prescribes."""
    g_count, m, k = mask3.shape
    p, q = block
    for g in range(g_count):
        for r0 in range(0, m, p):
            for c0 in range(0, k, q):
                b = mask3[g, r0 : r0 + p, c0 : c0 + q]
                if scheme == "column":
                    # whole columns: every column is all kept or all pruned
                    assert bool(((b.all(0)) | (~b.any(0))).all()), (g, r0, c0, b)
                elif scheme == "row":
                    assert bool(((b.all(1)) | (~b.any(1))).all()), (g, r0, c0, b)
                else:
                    # a weight survives iff its row and its column survive:
                    # the block mask is the AND of a row and a column vector.
                    outer = b.any(1)[:, None] & b.any(0)[None, :]
                    assert torch.equal(b, outer), (g, r0, c0, b)


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("kind", ["linear", "conv", "gru", "lstm"])
@pytest.mark.parametrize("block", [(8, 4), (3, 5)])
def test_pruned_blocks_form_whole_columns_rows(kind, scheme, block):
    model = _models()[kind]
    pruner = blkrew.ReweightedPruner(
        model, _cfg(block=block, scheme=scheme, compression=4.0)
    )
    assert pruner.targets, "nothing to prune"
    if kind in ("gru", "lstm"):
        names = {t.name for t in pruner.targets}
        layers = model.num_layers
        dirs = ["", "_reverse"] if model.bidirectional else [""]
        want = {
            f"{w}_l{i}{d}"
            for w in ("weight_ih", "weight_hh")
            for i in range(layers)
            for d in dirs
        }
        assert names == want
    masks = pruner.hard_prune()
    for name, t in pruner.named_targets():
        mask, w = masks[name], t.param.detach()
        assert mask.dtype == torch.bool and mask.shape == w.shape
        assert torch.all(w[~mask] == 0)
        assert torch.all(w[mask] != 0)  # random weights: kept ones are nonzero
        assert_block_structure(t.view(mask), block, scheme)
        gates = {"gru": 3, "lstm": 4}.get(kind, 1)
        assert t.gates == gates
        # each gate matrix on its own hits the target
        p, q = block
        for g in range(gates):
            mg = t.view(mask)[g]
            total, kept = mg.numel(), int(mg.sum())
            assert abs(kept - total / 4.0) <= max(p, q), (name, g, kept, total)


@pytest.mark.parametrize("compression", [2.0, 3.0, 8.0, 16.0])
@pytest.mark.parametrize("scheme", ["column", "row"])
def test_exact_group_count_when_divisible(scheme, compression):
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(64, 48))  # 48 x 64: divisible by 8x4
    pruner = blkrew.ReweightedPruner(
        model, _cfg(block=(8, 4), scheme=scheme, compression=compression)
    )
    mask = pruner.hard_prune()["0.weight"]
    n_groups = (48 // 8) * 64 if scheme == "column" else 48 * (64 // 4)
    size = 8 if scheme == "column" else 4
    kept_groups = int(mask.sum()) // size
    assert kept_groups == round(n_groups / compression)
    row = pruner.layer_stats()[0]
    assert row["groups_kept"][scheme] == round(n_groups / compression)
    assert row["groups_total"][scheme] == n_groups
    assert math.isclose(row["compression"], mask.numel() / int(mask.sum()))
    if (n_groups / compression).is_integer():
        assert row["compression"] == compression


def test_partial_edge_groups_kept_count_is_closest_prefix():
    """With partial groups, the kept prefix (in norm order) is the one whose
    element count is closest to total / compression."""
    torch.manual_seed(2)
    w = torch.randn(1, 13, 10)
    for scheme, block in (("column", (4, 3)), ("row", (3, 4))):
        mask, sels = select_mask(w, block, scheme, 3.0)
        sq = group_sqnorms(w, block, scheme)[scheme][0].flatten()
        sizes = group_sizes(13, 10, block, scheme)[0]
        sizes = sizes.expand(group_sqnorms(w, block, scheme)[scheme][0].shape)
        order = torch.argsort(sq, descending=True, stable=True)
        cum = torch.cat([torch.zeros(1), sizes.flatten()[order].cumsum(0).float()])
        target = 130 / 3.0
        best = int(cum[torch.argmin((cum - target).abs())])
        assert int(mask.sum()) == best
        assert sels[0].kept[scheme] == int(torch.argmin((cum - target).abs()))
        # the kept groups are exactly the largest-norm ones
        kept_min = sq[order[: sels[0].kept[scheme]]].min()
        dropped = sq[order[sels[0].kept[scheme] :]]
        assert bool((dropped <= kept_min).all())


def test_bcr_keeps_close_to_target_and_largest_groups():
    torch.manual_seed(3)
    w = torch.randn(1, 37, 29)
    for c in (2.0, 4.0, 8.0, 16.0):
        mask, sels = select_mask(w, (8, 4), "bcr", c)
        kept = int(mask.sum())
        assert abs(kept - 37 * 29 / c) <= 4, (c, kept)
        assert set(sels[0].kept) == {"column", "row"}


def test_compression_one_keeps_everything_and_huge_compression_keeps_one_group():
    w = torch.randn(1, 16, 16)
    mask, _ = select_mask(w, (8, 4), "column", 1.0)
    assert bool(mask.all())
    mask, sels = select_mask(w, (8, 4), "column", 1e9)
    assert sels[0].kept["column"] == 1 and int(mask.sum()) == 8


def test_masks_pick_largest_norm_groups():
    w = torch.zeros(1, 8, 8)
    w[0, :, 5] = 3.0  # the strongest column group (rows 0..7 of column 5)
    w[0, :, 2] = 1.0
    w[0, :, 7] = 0.5
    mask, _ = select_mask(w + 0.01, (8, 4), "column", 4.0)  # keep 2 of 8
    assert mask[0].all(0).nonzero().flatten().tolist() == [2, 5]
