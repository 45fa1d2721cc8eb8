"""Datasets that are really here, offline: scikit-learn's digits and CIFAR-10
from a user-given local folder (``get_datasets`` picks by zoo dataset name)."""

from __future__ import annotations

from pathlib import Path

from torch.utils.data import TensorDataset

from blkrew.data.cifar import cifar10_dataset, load_cifar10_batch
from blkrew.data.digits import digits_arrays, digits_dataset

__all__ = [
    "cifar10_dataset",
    "digits_arrays",
    "digits_dataset",
    "get_datasets",
    "load_cifar10_batch",
]


def get_datasets(
    dataset: str, root: str | Path | None = None, seed: int = 0
) -> tuple[TensorDataset, TensorDataset]:
    """``(train, test)`` for ``"digits-image"``, ``"digits-sequence"`` or
    ``"cifar10"`` (which needs ``root``)."""
    if dataset == "digits-image":
        return digits_dataset("image", "train", seed=seed), digits_dataset(
            "image", "test", seed=seed
        )
    if dataset == "digits-sequence":
        return digits_dataset("sequence", "train", seed=seed), digits_dataset(
            "sequence", "test", seed=seed
        )
    if dataset == "cifar10":
        if root is None:
            raise ValueError(
                "CIFAR-10 needs a local data directory (data_batch_1..5, "
                "test_batch); nothing is downloaded"
            )
        return cifar10_dataset(root, "train"), cifar10_dataset(root, "test")
    raise ValueError(
        f"unknown dataset {dataset!r}; allowed: digits-image, digits-sequence, cifar10"
    )
