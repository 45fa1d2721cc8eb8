"""The packed format in NumPy agrees with itself and with the C++ verifier."""

import numpy as np
import pytest

import blkrew
from blkrew.compiler.format import pack, unpack
from blkrew.compiler.reference import bsr_matmul_module


def block_column_pruned(rng, m, k, block, keep=0.25):
    """A random matrix pruned the BLK-REW column way: inside each p x q block,
    whole columns are kept or removed."""
    p, q = block
    w = rng.standard_normal((m, k)).astype(np.float32)
    for r0 in range(0, m, p):
        for c0 in range(0, k, q):
            for c in range(c0, min(c0 + q, k)):
                if rng.random() > keep:
                    w[r0 : r0 + p, c] = 0.0
    return w


@pytest.mark.parametrize("shape", [(16, 32), (13, 17), (1, 5), (7, 1)])
@pytest.mark.parametrize("block", [(8, 4), (4, 1), (1, 4), (3, 5)])
@pytest.mark.parametrize("permute", [False, True])
def test_pack_unpack_round_trip(shape, block, permute):
    rng = np.random.default_rng(hash((shape, block, permute)) % 2**32)
    w = block_column_pruned(rng, *shape, block)
    perm = rng.permutation(shape[0]) if permute else None
    packed = pack(w, block, perm=perm)
    assert packed.row_ptr[0] == 0 and packed.row_ptr[-1] == packed.nnz_columns
    assert np.all(np.diff(packed.row_ptr) >= 0)
    assert packed.values.shape == (packed.nnz_columns, block[0])
    np.testing.assert_array_equal(unpack(packed), w)


def test_column_pruning_packs_without_padding():
    rng = np.random.default_rng(1)
    w = block_column_pruned(rng, 64, 128, (8, 4), keep=0.125)
    packed = pack(w, (8, 4))
    # Every stored value is a real weight: column-pruned blocks pack exactly.
    assert (
        packed.values.size == np.count_nonzero(np.any(w.reshape(8, 8, 128) != 0, 1)) * 8
    )
    assert packed.density == pytest.approx(np.count_nonzero(w) / w.size)


def test_all_zero_and_dense_matrices():
    zero = pack(np.zeros((10, 6), np.float32), (4, 2))
    assert zero.nnz_columns == 0
    assert zero.row_ptr.tolist() == [0, 0, 0, 0]
    dense = pack(np.ones((10, 6), np.float32), (4, 2))
    assert dense.nnz_columns == 3 * 6
    np.testing.assert_array_equal(unpack(dense), np.ones((10, 6)))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"block": (0, 4)}, "block sizes must be positive"),
        ({"block": (8, 4), "scheme": "diagonal"}, "unknown scheme"),
        ({"block": (8, 4), "perm": [0, 0, 1]}, "not a permutation"),
    ],
)
def test_pack_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        pack(np.ones((3, 3), np.float32), **kwargs)


def test_pack_rejects_non_matrix():
    with pytest.raises(ValueError, match="2-D"):
        pack(np.ones((2, 3, 4), np.float32), (2, 2))


@pytest.mark.parametrize("permute", [False, True])
def test_packed_arrays_pass_the_cpp_verifier(permute):
    rng = np.random.default_rng(7)
    w = block_column_pruned(rng, 21, 30, (8, 4))
    perm = rng.permutation(21) if permute else None
    packed = pack(w, (8, 4), perm=perm)
    # The verifier checks row_ptr, col_idx ranges and order against the layout.
    out = blkrew.run_blkrew_opt(bsr_matmul_module(packed, np.ones((30, 3), np.float32)))
    assert "blkrew.bsr_matmul" in out
