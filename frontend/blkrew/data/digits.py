"""scikit-learn's bundled digits (1797 8x8 grey images, 10 classes), offline.

The split is fixed: the samples are permuted with ``numpy.random.default_rng(
seed)`` (seed 0 by default) and the last ``test_fraction`` (20%) of that order
is the test set, so every run and every process sees the same split. Pixels
(0..16) are scaled to [0, 1].
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch.utils.data import TensorDataset

__all__ = ["digits_arrays", "digits_dataset"]

KINDS = ("image", "sequence")
SPLITS = ("train", "test")


@functools.lru_cache(maxsize=1)
def _load() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits  # bundled with scikit-learn

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)
    x.setflags(write=False)
    y = d.target.astype(np.int64)
    y.setflags(write=False)
    return x, y


def digits_arrays(
    split: str = "train", test_fraction: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``(x[N, 8, 8] float32 in [0, 1], y[N] int64)`` of one split."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; allowed: train, test")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    x, y = _load()
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(len(y) * test_fraction))
    idx = order[len(y) - n_test :] if split == "test" else order[: len(y) - n_test]
    return x[idx], y[idx]


def digits_dataset(
    kind: str = "image", split: str = "train", test_fraction: float = 0.2, seed: int = 0
) -> TensorDataset:
    """Digits as a ``TensorDataset``: images ``[N, 1, 8, 8]`` (``kind="image"``)
    or sequences ``[N, 8, 8]`` of 8 time steps, one pixel row each
    (``kind="sequence"``, for GRU/LSTM)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; allowed: image, sequence")
    x, y = digits_arrays(split, test_fraction, seed)
    xt = torch.from_numpy(x)
    if kind == "image":
        xt = xt[:, None]
    return TensorDataset(xt, torch.from_numpy(y))
