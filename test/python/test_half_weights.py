"""compile(half_weights=True): the sparse kernels that wait on their weights
(the small-N shape) store them as f16, differential against PyTorch with
the same weights rounded to f16; the other kernels are unchanged."""

import copy

import pytest
import torch
from torch import nn

from blkrew.compiler.api import CompileError, compile
from test_sparsify import column_prune_


def pruned_mlp(seed=0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 48), nn.ReLU(), nn.Linear(48, 10)).eval()
    column_prune_(model[0].weight)
    return model


def with_half_weights(model, layers):
    """A copy of ``model`` whose ``layers`` have their weights rounded to
    f16 (and back to f32): what the compiled kernels compute with."""
    rounded = copy.deepcopy(model)
    with torch.no_grad():
        for i in layers:
            weight = rounded[i].weight
            weight.copy_(weight.half().float())
    return rounded


# Batch 1: both linear layers (the pruned one and the dense classifier,
# packed whole) run the small-N kernel on both targets (N = 1 is below 8
# lanes on AVX2 and 4 on NEON).
@pytest.mark.parametrize("target", ["host", "aarch64"])
def test_batch1_linear_matches_rounded_torch(target, tmp_path):
    model = pruned_mlp()
    x = torch.randn(1, 64)
    compiled = compile(model, x, target=target, half_weights=True, workdir=tmp_path)
    assert compiled.manifest["half_weights"] is True
    rounded = with_half_weights(model, [0, 2])
    for _ in range(2):
        x = torch.randn(1, 64)
        y = compiled(x)
        torch.testing.assert_close(y, rounded(x), rtol=1e-5, atol=1e-5)
        # The rounding did happen: the f32 model's result is further off.
        assert (y - model(x)).abs().max() > 1e-5


def test_wide_n_keeps_f32_weights(tmp_path):
    """N = 32 is a register-tile kernel, where f16 weights cost more than
    they save: the weights stay f32 and the result is the f32 one."""
    model = pruned_mlp(1)
    x = torch.randn(32, 64)
    compiled = compile(model, x, half_weights=True, workdir=tmp_path)
    torch.testing.assert_close(compiled(x), model(x), rtol=1e-5, atol=1e-5)
    assert "half" not in (compiled.directory / "model.ll").read_text()


def test_small_map_conv_matches_rounded_torch(tmp_path):
    """A convolution on a 2 x 2 map (N = 4 output pixels) at batch 1."""
    torch.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(16, 32, 3, padding=1), nn.ReLU()).eval()
    column_prune_(model[0].weight.view(32, -1))
    x = torch.randn(1, 16, 2, 2)
    compiled = compile(model, x, half_weights=True, workdir=tmp_path)
    assert compiled.layers["sparse_matmuls"] + compiled.layers["convolutions"] >= 1
    y = compiled(x)
    torch.testing.assert_close(
        y, with_half_weights(model, [0])(x), rtol=1e-5, atol=1e-5
    )
    assert (y - model(x)).abs().max() > 1e-5


def test_weight_beyond_f16_is_an_error(tmp_path):
    model = pruned_mlp()
    with torch.no_grad():
        model[0].weight[0, 0] = 1e5
    with pytest.raises(CompileError, match="outside f16's range"):
        compile(model, torch.randn(1, 64), half_weights=True, workdir=tmp_path)


def test_spirv_rejects_half_weights(tmp_path):
    with pytest.raises(ValueError, match="CPU targets only"):
        compile(
            pruned_mlp(),
            torch.randn(1, 64),
            target="spirv",
            half_weights=True,
            workdir=tmp_path,
        )
