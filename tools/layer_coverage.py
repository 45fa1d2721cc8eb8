#!/usr/bin/env python3
"""Which layers compile and agree with PyTorch, on which target.

Builds one small model per layer kind (block-pruned where it has a weight
matrix), compiles it for each target and compares the output with
PyTorch's. Prints a markdown table (``docs/layers.md`` holds its last run):
the largest absolute error, or the first line of the error that stopped
the compile. Takes a few minutes per target.

    .venv/bin/python tools/layer_coverage.py [--targets host,aarch64,spirv]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

import blkrew

ATOL = 1e-4  # beyond this an output counts as wrong


class Fn(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class SqueezeExcite(nn.Module):
    """MobileNetV3's block: hardswish conv, pooled gate, hardsigmoid."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 16, 3, padding=1)
        self.fc1, self.fc2 = nn.Conv2d(16, 4, 1), nn.Conv2d(4, 16, 1)

    def forward(self, x):
        y = F.hardswish(self.conv(x))
        gate = F.adaptive_avg_pool2d(y, 1)
        return y * F.hardsigmoid(self.fc2(F.relu(self.fc1(gate))))


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(16, 32), nn.Linear(16, 32)

    def forward(self, x):
        return self.a(x) + self.b(2 * x)


class EmbeddingGRU(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(50, 16)
        self.gru = nn.GRU(16, 32, batch_first=True)
        self.head = nn.Linear(32, 5)

    def forward(self, tokens):
        hidden, _ = self.gru(self.embed(tokens))
        return self.head(hidden[:, -1])


class FirstOutput(nn.Module):
    """An RNN's output sequence (not its final state)."""

    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x):
        return self.rnn(x)[0]


def conv(*after, **kw):
    return nn.Sequential(nn.Conv2d(8, 16, 3, padding=1, **kw), *after)


def mlp(act):
    return nn.Sequential(nn.Linear(32, 64), act, nn.Linear(64, 16))


IMAGE = (1, 8, 12, 12)
# name: (model factory, input factory)
LAYERS = {
    "Conv2d 3x3": (lambda: conv(nn.ReLU()), lambda: torch.randn(IMAGE)),
    "Conv2d stride 2, batch 2": (
        lambda: conv(stride=2),
        lambda: torch.randn(2, *IMAGE[1:]),
    ),
    "Conv2d dilation 2": (
        lambda: nn.Conv2d(8, 16, 3, padding=2, dilation=2),
        lambda: torch.randn(IMAGE),
    ),
    "Conv2d groups 2": (lambda: conv(groups=2), lambda: torch.randn(IMAGE)),
    "Conv2d depthwise x2, ReLU6": (
        lambda: nn.Sequential(nn.Conv2d(8, 16, 3, padding=1, groups=8), nn.ReLU6()),
        lambda: torch.randn(IMAGE),
    ),
    "Conv2d reflect padding": (
        lambda: conv(padding_mode="reflect"),
        lambda: torch.randn(IMAGE),
    ),
    "Conv1d": (
        lambda: nn.Sequential(nn.Conv1d(8, 32, 3, padding=1), nn.ReLU()),
        lambda: torch.randn(1, 8, 20),
    ),
    "ConvTranspose2d": (
        lambda: nn.ConvTranspose2d(8, 16, 2, stride=2),
        lambda: torch.randn(IMAGE),
    ),
    "MaxPool2d ceil_mode": (
        lambda: conv(nn.MaxPool2d(3, 2, ceil_mode=True)),
        lambda: torch.randn(IMAGE),
    ),
    "AvgPool2d padding": (
        lambda: conv(nn.AvgPool2d(3, 2, padding=1)),
        lambda: torch.randn(IMAGE),
    ),
    "AdaptiveAvgPool2d 2x2, Linear": (
        lambda: conv(nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(64, 10)),
        lambda: torch.randn(IMAGE),
    ),
    "Upsample nearest": (
        lambda: conv(nn.Upsample(scale_factor=2)),
        lambda: torch.randn(IMAGE),
    ),
    "Upsample bilinear, align_corners": (
        lambda: conv(nn.Upsample(size=(20, 20), mode="bilinear", align_corners=True)),
        lambda: torch.randn(IMAGE),
    ),
    "PixelShuffle": (
        lambda: conv(nn.PixelShuffle(2)),
        lambda: torch.randn(IMAGE),
    ),
    "BatchNorm2d (folded)": (
        lambda: conv(nn.BatchNorm2d(16), nn.ReLU()),
        lambda: torch.randn(IMAGE),
    ),
    "BatchNorm1d (folded)": (
        lambda: nn.Sequential(nn.Linear(32, 64), nn.BatchNorm1d(64), nn.ReLU()),
        lambda: torch.randn(4, 32),
    ),
    "GroupNorm": (lambda: conv(nn.GroupNorm(4, 16)), lambda: torch.randn(IMAGE)),
    "InstanceNorm2d": (
        lambda: conv(nn.InstanceNorm2d(16, affine=True)),
        lambda: torch.randn(IMAGE),
    ),
    "LayerNorm": (
        lambda: nn.Sequential(nn.Linear(32, 64), nn.LayerNorm(64)),
        lambda: torch.randn(4, 32),
    ),
    "Squeeze-and-excite (hardswish, hardsigmoid)": (
        SqueezeExcite,
        lambda: torch.randn(IMAGE),
    ),
    "PReLU per channel": (lambda: conv(nn.PReLU(16)), lambda: torch.randn(IMAGE)),
    "Softmax, batch 1": (
        lambda: conv(nn.Flatten(), nn.Softmax(1)),
        lambda: torch.randn(IMAGE),
    ),
    "LogSoftmax": (lambda: mlp(nn.LogSoftmax(-1)), lambda: torch.randn(4, 32)),
    **{
        f"{name}": (lambda act=act: mlp(act), lambda: torch.randn(4, 32) * 2)
        for name, act in {
            "GELU": nn.GELU(),
            "GELU tanh": nn.GELU(approximate="tanh"),
            "SiLU": nn.SiLU(),
            "Mish": nn.Mish(),
            "Softplus": nn.Softplus(),
            "ELU": nn.ELU(),
            "Sigmoid": nn.Sigmoid(),
            "Tanh": nn.Tanh(),
        }.items()
    },
    "Linear on [2, 5, 32]": (
        lambda: mlp(nn.ReLU()),
        lambda: torch.randn(2, 5, 32),
    ),
    "two Linear branches": (TwoInputs, lambda: torch.randn(4, 16)),
    "RNN tanh": (
        lambda: FirstOutput(nn.RNN(16, 32)),
        lambda: torch.randn(5, 1, 16),
    ),
    "GRU 2 layers": (
        lambda: FirstOutput(nn.GRU(16, 32, num_layers=2)),
        lambda: torch.randn(5, 2, 16),
    ),
    "LSTM bidirectional": (
        lambda: FirstOutput(nn.LSTM(16, 32, bidirectional=True)),
        lambda: torch.randn(5, 1, 16),
    ),
    "Embedding -> GRU (token ids)": (
        EmbeddingGRU,
        lambda: torch.randint(0, 50, (2, 7)),
    ),
    "TransformerEncoderLayer": (
        lambda: nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True),
        lambda: torch.randn(2, 6, 32),
    ),
}


def prune_(model: nn.Module) -> None:
    """Zeroes 3 of 4 columns in each 8 x 4 block of every weight matrix
    (conv filters as matrices), so the sparse kernels run."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() < 2 or "embed" in name:
                continue
            w = p.view(p.shape[0], -1)
            cols = torch.arange(w.shape[1])
            for r0 in range(0, w.shape[0], 8):
                w[r0 : r0 + 8, (cols + r0 // 8) % 4 != 0] = 0


def check(name: str, target: str, workdir: Path) -> str:
    make_model, make_input = LAYERS[name]
    torch.manual_seed(0)
    model = make_model().eval()
    prune_(model)
    x = make_input()
    with torch.no_grad():
        want = model(x)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compiled = blkrew.compile(model, x, target=target, workdir=workdir)
            got = compiled(x)
    except Exception as e:
        lines = [line.strip() for line in str(e).splitlines() if line.strip()]
        errors = [line for line in lines if "error:" in line]
        reason = (errors or lines or [type(e).__name__])[0]
        reason = reason.split("error:", 1)[-1].strip().replace("|", "/")
        return f"fails: {reason[:110]}"
    err = float((got - want).abs().max())
    return f"{err:.1e}" if err <= ATOL else f"WRONG ({err:.1e})"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", default="host,aarch64,spirv")
    parser.add_argument("--only", help="a substring of the layer names to run")
    args = parser.parse_args(argv)
    targets = args.targets.split(",")
    names = [n for n in LAYERS if not args.only or args.only in n]
    start = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="blkrew-layers-") as tmp:
        for i, name in enumerate(names):
            cells = [check(name, t, Path(tmp) / f"{i}-{t}") for t in targets]
            print(f"[{i + 1}/{len(names)}] {name}: {', '.join(cells)}", file=sys.stderr)
            rows.append(f"| {name} | " + " | ".join(cells) + " |")
    print("| layer | " + " | ".join(targets) + " |")
    print("|---|" + "---|" * len(targets))
    print("\n".join(rows))
    print(
        f"\nMax |blkrew - PyTorch| per output; generated by `tools/layer_coverage.py` "
        f"in {time.perf_counter() - start:.0f} s."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
