"""blkrew's model zoo (no torchvision): digits models for pruning benchmarks,
CIFAR-style VGG-16, ResNet-18 and MobileNetV2 for the compiler and benchmarks.

``get_model("digits-cnn")`` builds a model by name; ``example_input(name)``
gives a matching input batch; ``MODELS`` lists the names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from blkrew.models.cifar import (
    VGG,
    MobileNetV2,
    ResNet18,
    mobilenetv2_cifar,
    resnet18_cifar,
    vgg16_cifar,
)
from blkrew.models.digits import (
    DigitsCNN,
    DigitsRNN,
    digits_cnn,
    digits_gru,
    digits_lstm,
)

__all__ = [
    "MODELS",
    "VGG",
    "DigitsCNN",
    "DigitsRNN",
    "MobileNetV2",
    "ModelSpec",
    "ResNet18",
    "digits_cnn",
    "digits_gru",
    "digits_lstm",
    "example_input",
    "get_model",
    "mobilenetv2_cifar",
    "pruned_random_model",
    "resnet18_cifar",
    "vgg16_cifar",
]


@dataclass(frozen=True)
class ModelSpec:
    """A zoo entry: constructor, input shape (without batch) and dataset."""

    build: Callable[..., nn.Module]
    input_shape: tuple[int, ...]
    dataset: str  # "digits-image" | "digits-sequence" | "cifar10"


MODELS: dict[str, ModelSpec] = {
    "digits-cnn": ModelSpec(digits_cnn, (1, 8, 8), "digits-image"),
    "digits-gru": ModelSpec(digits_gru, (8, 8), "digits-sequence"),
    "digits-lstm": ModelSpec(digits_lstm, (8, 8), "digits-sequence"),
    "vgg16-cifar": ModelSpec(vgg16_cifar, (3, 32, 32), "cifar10"),
    "resnet18-cifar": ModelSpec(resnet18_cifar, (3, 32, 32), "cifar10"),
    "mobilenetv2-cifar": ModelSpec(mobilenetv2_cifar, (3, 32, 32), "cifar10"),
}


def _spec(name: str) -> ModelSpec:
    key = name.replace("_", "-").lower()
    if key not in MODELS:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(MODELS)}")
    return MODELS[key]


def get_model(name: str, **kwargs: Any) -> nn.Module:
    """Builds a zoo model by name (``"digits-cnn"``, ``"vgg16-cifar"``, ...)."""
    return _spec(name).build(**kwargs)


def example_input(name: str, batch: int = 1, seed: int = 0) -> torch.Tensor:
    """A random input batch shaped for the named model."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn((batch, *_spec(name).input_shape), generator=gen)


def pruned_random_model(
    name: str,
    compression: float = 8.0,
    block: tuple[int, int] = (8, 4),
    seed: int = 0,
) -> nn.Module:
    """The zoo model with random weights, hard-pruned ``compression``x in
    column blocks (the pruner's defaults: first conv and classifier kept
    dense), BatchNorm statistics calibrated on random data so activations
    stay informative through the pruned network. In eval mode.

    What the differential tests and the benchmarks compile: the sparsity
    pattern of a real BLK-REW run without the training time."""
    from blkrew.prune import BlockPruneConfig, ReweightedPruner

    torch.manual_seed(seed)
    model = get_model(name)
    pruner = ReweightedPruner(
        model, BlockPruneConfig(block=block, scheme="column", compression=compression)
    )
    pruner.hard_prune()
    pruner.remove()
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    if bns:
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average over the calibration batches
        model.train()
        with torch.no_grad():
            for i in range(4):
                model(example_input(name, batch=8, seed=100 + seed + i))
    return model.eval()
