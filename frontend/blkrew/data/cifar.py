"""CIFAR-10 from the standard python-pickle batches, from a local path only.

The directory (or its ``cifar-10-batches-py`` sub-directory) must hold
``data_batch_1`` .. ``data_batch_5`` and ``test_batch``: pickled dicts with
``b"data"`` (uint8 ``[N, 3072]``, channel-major 32x32 RGB) and ``b"labels"``.
Nothing is downloaded. The pickles are read with a restricted unpickler that
only rebuilds NumPy arrays, so a tampered file cannot run code.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

__all__ = ["CIFAR10_MEAN", "CIFAR10_STD", "cifar10_dataset", "load_cifar10_batch"]

TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILES = ("test_batch",)
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):  # noqa: D102
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"refusing to load {module}.{name} from a CIFAR batch file (only "
            "NumPy arrays, lists and bytes are expected)"
        )


def _resolve_root(root: str | Path) -> Path:
    path = Path(root).expanduser()
    if not path.exists():
        raise FileNotFoundError(
            f"CIFAR-10 directory {str(path)!r} does not exist; pass the folder "
            "holding data_batch_1..5 and test_batch (python version of CIFAR-10, "
            "e.g. '.../cifar-10-batches-py'). blkrew never downloads data."
        )
    if not path.is_dir():
        raise NotADirectoryError(f"CIFAR-10 path {str(path)!r} is not a directory")
    sub = path / "cifar-10-batches-py"
    if not (path / "test_batch").exists() and sub.is_dir():
        return sub
    return path


def load_cifar10_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch file: ``(uint8 [N, 3, 32, 32], int64 [N])``."""
    path = Path(path)
    with open(path, "rb") as f:
        try:
            obj = _NumpyOnlyUnpickler(io.BytesIO(f.read()), encoding="bytes").load()
        except (pickle.UnpicklingError, EOFError, ValueError) as e:
            raise ValueError(f"{path}: not a CIFAR-10 python batch file ({e})") from e
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a pickled dict, got {type(obj).__name__}")
    keys = {k.decode() if isinstance(k, bytes) else k: v for k, v in obj.items()}
    if "data" not in keys or "labels" not in keys:
        raise ValueError(
            f"{path}: expected keys b'data' and b'labels', got {sorted(map(str, keys))}"
        )
    data = np.asarray(keys["data"])
    labels = np.asarray(keys["labels"], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise ValueError(
            f"{path}: b'data' must be uint8 [N, 3072], got {data.dtype} "
            f"{list(data.shape)}"
        )
    if labels.shape != (data.shape[0],):
        raise ValueError(f"{path}: {labels.shape[0]} labels for {data.shape[0]} images")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"{path}: labels must be in 0..9")
    return data.reshape(-1, 3, 32, 32), labels


def cifar10_dataset(
    root: str | Path, split: str = "train", normalize: bool = True
) -> TensorDataset:
    """CIFAR-10 ``split`` ("train": data_batch_1..5, "test": test_batch) as a
    ``TensorDataset`` of float ``[N, 3, 32, 32]`` images (scaled to [0, 1] and,
    with ``normalize``, standardized by the usual channel mean/std) and
    int64 labels.

    Raises ``FileNotFoundError`` when the directory or a batch file is missing.
    """
    if split not in ("train", "test"):
        raise ValueError(f"unknown split {split!r}; allowed: train, test")
    base = _resolve_root(root)
    names = TRAIN_FILES if split == "train" else TEST_FILES
    missing = [n for n in names if not (base / n).is_file()]
    if missing:
        raise FileNotFoundError(
            f"CIFAR-10 directory {str(base)!r} lacks {', '.join(missing)} (the "
            f"{split} split needs {', '.join(names)})"
        )
    parts = [load_cifar10_batch(base / n) for n in names]
    x = torch.from_numpy(np.concatenate([p[0] for p in parts])).float() / 255.0
    y = torch.from_numpy(np.concatenate([p[1] for p in parts]))
    if normalize:
        mean = torch.tensor(CIFAR10_MEAN).reshape(1, 3, 1, 1)
        std = torch.tensor(CIFAR10_STD).reshape(1, 3, 1, 1)
        x = (x - mean) / std
    return TensorDataset(x, y)
