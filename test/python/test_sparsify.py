"""Differential: torch-mlir import -> blkrew-sparsify -> reference lowering
equals PyTorch, for block-pruned FC layers; the IR shows which layers were
rewritten."""

import warnings

import numpy as np
import pytest
import torch
from torch import nn
from torch_mlir import fx  # a dependency: make setup installs it

import blkrew
from blkrew.compiler.reference import run_reference_module


def column_prune_(weight: torch.Tensor, block=(8, 4), keep_every=4):
    """Zeroes whole columns inside each p x q block (BLK-REW column scheme),
    keeping one column in `keep_every`, at a block-dependent offset."""
    p, q = block
    m, k = weight.shape
    mask = torch.zeros_like(weight, dtype=torch.bool)
    for r0 in range(0, m, p):
        for c in range(k):
            if (c + r0 // p) % keep_every == 0:
                mask[r0 : r0 + p, c] = True
    with torch.no_grad():
        weight.mul_(mask)


def import_linalg(model, *inputs) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return str(
            fx.export_and_import(model, *inputs, output_type="linalg-on-tensors")
        )


SPARSIFY = "--blkrew-sparsify=block-rows=8 block-cols=4"


@pytest.mark.parametrize("batch", [1, 5])
def test_pruned_mlp_matches_torch(batch):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(40, 30), nn.ReLU(), nn.Linear(30, 10)).eval()
    column_prune_(model[0].weight)
    column_prune_(model[2].weight)
    x = torch.randn(batch, 40)
    module = import_linalg(model, x)
    sparse_ir = blkrew.run_blkrew_opt(module, [SPARSIFY])
    assert sparse_ir.count("blkrew.bsr_matmul") == 2
    (got,) = run_reference_module(module, [x.numpy()], [SPARSIFY])
    torch.testing.assert_close(torch.from_numpy(got), model(x), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("pack_dense", [True, False])
def test_dense_layer_stays_dense_and_still_runs(pack_dense):
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 4)).eval()
    column_prune_(model[0].weight, block=(8, 4))  # 1 in 4 kept: rewritten
    x = torch.randn(3, 16)
    module = import_linalg(model, x)
    sparsify = f"{SPARSIFY} pack-dense={str(pack_dense).lower()}"
    sparse_ir = blkrew.run_blkrew_opt(module, [sparsify])
    # The unpruned second layer is above the density limit: a dense layer,
    # run by the kernel with every column kept, or left as a linalg matmul.
    assert sparse_ir.count("{blkrew.dense}") == (1 if pack_dense else 0)
    assert sparse_ir.count("blkrew.bsr_matmul") == (2 if pack_dense else 1)
    assert sparse_ir.count("linalg.matmul") == (0 if pack_dense else 1)
    (got,) = run_reference_module(module, [x.numpy()], [sparsify])
    torch.testing.assert_close(torch.from_numpy(got), model(x), rtol=1e-4, atol=1e-4)


def test_fully_pruned_layer():
    model = nn.Linear(12, 9).eval()
    with torch.no_grad():
        model.weight.zero_()
    x = torch.randn(2, 12)
    module = import_linalg(model, x)
    assert "blkrew.bsr_matmul" in blkrew.run_blkrew_opt(module, [SPARSIFY])
    (got,) = run_reference_module(module, [x.numpy()], [SPARSIFY])
    torch.testing.assert_close(torch.from_numpy(got), model(x), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(
        got, np.broadcast_to(model.bias.detach().numpy(), (2, 9)), rtol=1e-5, atol=1e-5
    )
