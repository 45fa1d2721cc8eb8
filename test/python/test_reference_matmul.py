"""Differential: bsr_matmul through the reference lowering equals PyTorch."""

import numpy as np
import pytest
import torch

from blkrew.compiler.format import pack
from blkrew.compiler.reference import run_reference_matmul
from test_format import block_column_pruned


@pytest.mark.parametrize(
    "m, k, n, block, permute",
    [
        (32, 64, 16, (8, 4), False),  # the paper's FC block, sizes divisible
        (37, 50, 9, (8, 4), True),  # nothing divisible, permuted rows
        (24, 40, 1, (4, 1), False),  # batch 1
        (10, 12, 5, (1, 4), True),  # row groups of one row (row scheme)
        (17, 33, 7, (16, 1), False),
        (9, 11, 3, (3, 5), True),
    ],
)
def test_matches_torch(m, k, n, block, permute, device):
    rng = np.random.default_rng(m * 1000 + k)
    w = block_column_pruned(rng, m, k, block)
    x = rng.standard_normal((k, n)).astype(np.float32)
    perm = rng.permutation(m) if permute else None
    got = run_reference_matmul(pack(w, block, perm=perm), x)
    want = torch.from_numpy(w).to(device) @ torch.from_numpy(x).to(device)
    torch.testing.assert_close(torch.from_numpy(got), want.cpu(), rtol=1e-4, atol=1e-4)


def test_fully_pruned_gives_zeros():
    x = np.ones((6, 4), np.float32)
    got = run_reference_matmul(pack(np.zeros((5, 6), np.float32), (2, 2)), x)
    np.testing.assert_array_equal(got, np.zeros((5, 4), np.float32))


def test_unpruned_matches_dense():
    rng = np.random.default_rng(3)
    w = rng.standard_normal((12, 8)).astype(np.float32)
    x = rng.standard_normal((8, 6)).astype(np.float32)
    got = run_reference_matmul(pack(w, (4, 4)), x)
    torch.testing.assert_close(
        torch.from_numpy(got),
        torch.from_numpy(w) @ torch.from_numpy(x),
        rtol=1e-4,
        atol=1e-4,
    )
