"""Products of two activations (attention's q kᵀ and its weights times v,
a plain `a @ b`) have no constant operand, so they are no blkrew kernel:
blkrew-vectorize-matmuls gives them register tiles. Differential against
PyTorch on shapes the tiles divide and shapes they do not (peeled last
tiles, a reduction shorter than one tile's depth), on the host (1 and 2
threads) and AArch64 (qemu)."""

import pytest
import torch
from torch import nn

from blkrew.compiler.api import compile


class Attention(nn.Module):
    """Scaled dot-product attention without projections: two batch
    products around a softmax."""

    def forward(self, q, k, v):
        scores = torch.bmm(q, k.transpose(1, 2)) / q.shape[-1] ** 0.5
        return torch.bmm(torch.softmax(scores, dim=-1), v)


class Product(nn.Module):
    def forward(self, a, b):
        return torch.relu(a @ b)


@pytest.mark.parametrize("target", ["host", "aarch64"])
@pytest.mark.parametrize(
    "batch,seq,dim",
    [(2, 16, 32), (3, 10, 20), (1, 37, 9), (2, 12, 4)],
    ids=["tiles-divide", "partial-tiles", "narrow", "shallow"],
)
def test_attention_products_match_torch(target, batch, seq, dim, tmp_path):
    torch.manual_seed(0)
    q, k, v = (torch.randn(batch, seq, dim) for _ in range(3))
    model = Attention().eval()
    compiled = compile(model, (q, k, v), target=target, workdir=tmp_path)
    torch.testing.assert_close(compiled(q, k, v), model(q, k, v), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("threads", [1, 2])
def test_large_product_split_across_threads(threads, tmp_path):
    """256 x 128 by 128 x 130: with 2 threads, blkrew-prepare-loops splits
    it into slices first (it runs 2^22 iterations), each tiled."""
    torch.manual_seed(1)
    a, b = torch.randn(256, 128), torch.randn(128, 130)
    model = Product().eval()
    compiled = compile(model, (a, b), threads=threads, workdir=tmp_path)
    if threads > 1:
        assert "__kmpc_fork_call" in (tmp_path / "model.ll").read_text()
    torch.testing.assert_close(compiled(a, b), model(a, b), rtol=1e-4, atol=1e-4)
