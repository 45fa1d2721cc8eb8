"""Differential: every zoo model, BLK-REW-pruned, compiled by blkrew equals
PyTorch (float32, rtol = atol = 1e-4), at batch 1 and batch > 1; the small
models also for AArch64 under qemu. Plus odd shapes: sizes not divisible by
the block, a 0%-pruned and a 100%-pruned layer."""

import pytest
import torch
from torch import nn

import blkrew
from blkrew.compiler.api import compile
from blkrew.models import MODELS, example_input, pruned_random_model

SMALL = ["digits-cnn", "digits-gru", "digits-lstm"]
CIFAR = ["vgg16-cifar", "resnet18-cifar", "mobilenetv2-cifar"]


def pruned_zoo_model(name: str) -> nn.Module:
    """The zoo model with random weights, hard-pruned 8x in 8x4 column blocks."""
    return pruned_random_model(name)


def check(model, x, target, workdir, **options):
    compiled = compile(model, x, target=target, workdir=workdir, **options)
    assert compiled.layers["sparse_matmuls"] > 0
    with torch.no_grad():
        want = model(x)
    assert want.std() > 1e-3, "degenerate reference output: the test would be weak"
    torch.testing.assert_close(compiled(x), want, rtol=1e-4, atol=1e-4)
    return compiled


def test_zoo_is_covered():
    assert set(MODELS) == set(SMALL) | set(CIFAR)


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("target", ["host", "aarch64"])
@pytest.mark.parametrize("name", SMALL)
def test_small_models(name, target, batch, tmp_path):
    model = pruned_zoo_model(name)
    check(model, example_input(name, batch=batch, seed=batch), target, tmp_path)


@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("name", CIFAR)
def test_cifar_models(name, batch, tmp_path):
    model = pruned_zoo_model(name)
    check(model, example_input(name, batch=batch, seed=batch), "host", tmp_path)


class OddShapes(nn.Module):
    """Sizes not divisible by the 8x4 block; one layer 0% pruned (dense), one
    100% pruned (all zeros)."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(37, 29)  # block-pruned, partial edge blocks
        self.b = nn.Linear(29, 13)  # 0% pruned
        self.c = nn.Linear(13, 11)  # 100% pruned: only the bias is left
        self.d = nn.Linear(13, 7)

    def forward(self, x):
        h = torch.relu(self.a(x))
        h = torch.tanh(self.b(h))
        return self.d(h) + self.c(h).sum(dim=1, keepdim=True)


@pytest.mark.parametrize("target", ["host", "aarch64"])
def test_odd_shapes(target, tmp_path):
    torch.manual_seed(3)
    model = OddShapes().eval()
    cfg = blkrew.BlockPruneConfig(block=(8, 4), scheme="column", compression=6.0)
    pruner = blkrew.ReweightedPruner(model, cfg)
    pruner.hard_prune()
    pruner.remove()
    with torch.no_grad():
        model.b.weight.normal_()  # 0% pruned
        model.c.weight.zero_()  # 100% pruned
    x = torch.randn(5, 37)
    compiled = check(model, x, target, tmp_path)
    # a and c are sparse kernels (c stores nothing), b and d are dense.
    assert compiled.layers["sparse_matmuls"] == 2
    assert compiled.layers["dense_packed_matmuls"] == 2
