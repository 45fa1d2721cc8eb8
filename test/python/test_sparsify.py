"""Differential: torch-mlir import -> blkrew-sparsify -> reference lowering
equals PyTorch, for block-pruned FC layers; the IR shows which layers were
rewritten."""

import re
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


class GroupedAndTransposed(nn.Module):
    """A grouped convolution, then two transposed ones (the 2 x 2 stride-2
    upsampling of a U-Net decoder, and a 3 x 3 one with output padding)."""

    def __init__(self):
        super().__init__()
        self.grouped = nn.Conv2d(8, 32, 3, padding=1, groups=4)
        self.up = nn.ConvTranspose2d(32, 16, 2, stride=2)
        self.up3 = nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1)

    def forward(self, x):
        return self.up3(torch.relu(self.up(torch.relu(self.grouped(x)))))


@pytest.mark.parametrize("batch", [1, 2])
def test_grouped_and_transposed_convs_become_kernels(batch, tmp_path):
    """A grouped convolution is the ungrouped one with a block-diagonal
    filter, packed sparse; a transposed convolution's filter (a flip of the
    constant weight) is read at compile time. None stays a linalg
    convolution (their loops ran 9x and 6x slower than PyTorch)."""
    torch.manual_seed(2)
    model = GroupedAndTransposed().eval()
    x = torch.randn(batch, 8, 6, 6)
    compiled = blkrew.compile(model, x, workdir=tmp_path)
    layers = compiled.layers
    assert layers["convolutions"] == 0
    assert layers["sparse_matmuls"] == 1  # the grouped one: density 1/4
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), model(x), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("batch", [1, 2])
def test_grouped_conv1d_takes_the_grouped_pattern(batch, tmp_path):
    """A grouped nn.Conv1d imports as the 2-D grouped convolution (a unit
    height) and takes the same block-diagonal pattern: one sparse kernel, no
    linalg convolution left, and at batch 2 one loop over the images."""
    torch.manual_seed(4)
    model = nn.Sequential(nn.Conv1d(16, 32, 3, padding=1, groups=4), nn.ReLU())
    model.eval()
    x = torch.randn(batch, 16, 40)
    compiled = blkrew.compile(model, x, workdir=tmp_path)
    layers = compiled.layers
    assert layers["convolutions"] == 0
    assert layers["sparse_matmuls"] == 1
    assert layers["image_loops"] == (1 if batch > 1 else 0)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), model(x), rtol=1e-4, atol=1e-4)


def test_pruned_grouped_conv_keeps_its_groups_kept_columns(tmp_path):
    """The pruner prunes a grouped convolution per group; in the
    block-diagonal filter each 8-filter block keeps its group's kept
    columns only (8 filters a group: the blocks do not straddle groups)."""
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(32, 64, 3, padding=1, groups=8), nn.ReLU())
    pruner = blkrew.ReweightedPruner(
        model, blkrew.BlockPruneConfig(compression=4.0, skip_first_conv=False)
    )
    pruner.hard_prune()
    pruner.remove()
    model.eval()
    x = torch.randn(1, 32, 8, 8)
    compiled = blkrew.compile(model, x, workdir=tmp_path)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), model(x), rtol=1e-4, atol=1e-4)
    assert compiled.layers["sparse_matmuls"] == 1
    # The packed values hold the kept weights and no zeros of other groups.
    (kernel,) = [
        line
        for line in blkrew.run_blkrew_opt(import_linalg(model, x), [SPARSIFY]).split(
            "\n"
        )
        if "blkrew.bsr_matmul" in line
    ]
    stored = int(re.search(r"tensor<(\d+)x8xf32>", kernel).group(1)) * 8
    assert stored == int((model[0].weight != 0).sum()) == 64 * 4 * 9 // 4


class BatchedConvs(nn.Module):
    """A stride-1 and a stride-2 3 x 3 convolution (image by image on the
    CPU targets), then a 1 x 1 one (one batched product)."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 16, 3, padding=1)
        self.b = nn.Conv2d(16, 32, 3, stride=2, padding=1)
        self.c = nn.Conv2d(32, 24, 1)

    def forward(self, x):
        return self.c(torch.relu(self.b(torch.relu(self.a(x)))))


@pytest.mark.parametrize("target", ["host", "aarch64", "spirv"])
def test_batched_convolutions_run_image_by_image(target, tmp_path):
    """At a batch above 1 the CPU targets loop over the images of a
    convolution larger than 1 x 1: each product reads its image (stride 1:
    in place) and writes its output in NCHW. SPIR-V keeps one batched
    product (its export takes no host loops)."""
    torch.manual_seed(4)
    model = BatchedConvs().eval()
    x = torch.randn(3, 3, 8, 8)
    compiled = blkrew.compile(model, x, target=target, workdir=tmp_path)
    assert compiled.layers["image_loops"] == (0 if target == "spirv" else 2)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), model(x), rtol=1e-4, atol=1e-4)
