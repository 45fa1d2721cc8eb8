"""Offline datasets: scikit-learn digits (fixed split) and CIFAR-10 pickles."""

import pickle

import numpy as np
import pytest
import torch

from blkrew.data import cifar10_dataset, digits_dataset, get_datasets


def test_digits_shapes_and_split():
    tr = digits_dataset("image", "train")
    te = digits_dataset("image", "test")
    assert len(tr) == 1438 and len(te) == 359  # 1797 = 80% + 20% (rounded)
    x, y = tr.tensors
    assert x.shape == (1438, 1, 8, 8) and x.dtype == torch.float32
    assert y.dtype == torch.int64 and set(y.tolist()) == set(range(10))
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    xs, ys = digits_dataset("sequence", "test").tensors
    assert xs.shape == (359, 8, 8)
    torch.testing.assert_close(xs, te.tensors[0][:, 0])  # rows are time steps
    torch.testing.assert_close(ys, te.tensors[1])


def test_digits_split_is_deterministic_and_disjoint():
    a = digits_dataset("sequence", "test").tensors[0]
    b = digits_dataset("sequence", "test").tensors[0]
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    train = digits_dataset("image", "train").tensors[0].reshape(-1, 64)
    test = digits_dataset("image", "test").tensors[0].reshape(-1, 64)
    from sklearn.datasets import load_digits

    all_rows = {r.tobytes() for r in (load_digits().data / 16.0).astype(np.float32)}
    tr_rows = {r.numpy().tobytes() for r in train}
    te_rows = {r.numpy().tobytes() for r in test}
    assert tr_rows | te_rows == all_rows
    other = digits_dataset("image", "test", seed=1).tensors[0]
    assert not torch.equal(other, digits_dataset("image", "test").tensors[0])


def test_digits_errors():
    with pytest.raises(ValueError, match="unknown kind"):
        digits_dataset("video")
    with pytest.raises(ValueError, match="unknown split"):
        digits_dataset("image", "val")


def _write_batch(path, n, seed):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n).tolist()
    with open(path, "wb") as f:
        pickle.dump({b"batch_label": b"x", b"data": data, b"labels": labels}, f, 2)
    return data, labels


@pytest.fixture
def cifar_dir(tmp_path):
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    batches = {}
    for i in range(1, 6):
        batches[f"data_batch_{i}"] = _write_batch(root / f"data_batch_{i}", 3, i)
    batches["test_batch"] = _write_batch(root / "test_batch", 4, 9)
    return tmp_path, batches


def test_cifar_loader_on_tiny_pickles(cifar_dir):
    parent, batches = cifar_dir
    train = cifar10_dataset(parent, "train", normalize=False)  # finds the subdir
    x, y = train.tensors
    assert x.shape == (15, 3, 32, 32) and x.dtype == torch.float32
    want = np.concatenate([batches[f"data_batch_{i}"][0] for i in range(1, 6)])
    torch.testing.assert_close(
        x, torch.from_numpy(want.reshape(-1, 3, 32, 32)).float() / 255.0
    )
    assert y.tolist() == sum((batches[f"data_batch_{i}"][1] for i in range(1, 6)), [])
    test = cifar10_dataset(parent / "cifar-10-batches-py", "test")
    assert test.tensors[0].shape == (4, 3, 32, 32)
    assert abs(float(test.tensors[0].mean())) < 3.0  # standardized
    tr, te = get_datasets("cifar10", root=parent)
    assert len(tr) == 15 and len(te) == 4


def test_cifar_errors(cifar_dir, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist.*never downloads"):
        cifar10_dataset(tmp_path / "nowhere")
    parent, _ = cifar_dir
    (parent / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError, match="lacks data_batch_3"):
        cifar10_dataset(parent, "train")
    with pytest.raises(ValueError, match="needs a local data directory"):
        get_datasets("cifar10")
    bad = tmp_path / "bad"
    bad.mkdir()
    with open(bad / "test_batch", "wb") as f:
        pickle.dump({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, f)
    with pytest.raises(ValueError, match=r"uint8 \[N, 3072\]"):
        cifar10_dataset(bad, "test")


def test_cifar_loader_refuses_code_in_pickles(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("owned",))

    with open(tmp_path / "test_batch", "wb") as f:
        pickle.dump({b"data": Evil(), b"labels": []}, f)
    with pytest.raises(ValueError, match="refusing to load builtins.print"):
        cifar10_dataset(tmp_path, "test")
