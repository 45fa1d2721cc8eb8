"""Small models for scikit-learn's digits (8x8 grey images, 10 classes).

They train in seconds on two CPU cores and are the pruning quality benchmark's
subjects (``bench/prune_quality.py``).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["DigitsCNN", "DigitsRNN", "digits_cnn", "digits_gru", "digits_lstm"]


class DigitsCNN(nn.Module):
    """Three 3x3 convs (BN + ReLU) and two FC layers; input ``[N, 1, 8, 8]``."""

    def __init__(self, width: int = 16, hidden: int = 128, num_classes: int = 10):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            nn.Conv2d(1, w, 3, padding=1, bias=False),
            nn.BatchNorm2d(w),
            nn.ReLU(inplace=True),
            nn.Conv2d(w, 2 * w, 3, padding=1, bias=False),
            nn.BatchNorm2d(2 * w),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),  # 4x4
            nn.Conv2d(2 * w, 4 * w, 3, padding=1, bias=False),
            nn.BatchNorm2d(4 * w),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),  # 2x2
        )
        self.fc1 = nn.Linear(4 * w * 4, hidden)
        self.relu = nn.ReLU(inplace=True)
        self.classifier = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x).flatten(1)
        return self.classifier(self.relu(self.fc1(x)))


class DigitsRNN(nn.Module):
    """A GRU or LSTM over the 8 image rows (``[N, 8, 8]``: time, features),
    classified from the last hidden state."""

    def __init__(
        self,
        cell: str = "gru",
        hidden: int = 64,
        layers: int = 1,
        input_size: int = 8,
        num_classes: int = 10,
    ):
        super().__init__()
        rnn = {"gru": nn.GRU, "lstm": nn.LSTM}.get(cell)
        if rnn is None:
            raise ValueError(f"unknown cell {cell!r}; allowed: gru, lstm")
        self.rnn = rnn(input_size, hidden, num_layers=layers, batch_first=True)
        self.classifier = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.classifier(out[:, -1])


def digits_cnn(width: int = 16, hidden: int = 128) -> DigitsCNN:
    """Digits CNN (about 52k weights): conv 1->w->2w->4w, fc 16w->hidden->10."""
    return DigitsCNN(width=width, hidden=hidden)


def digits_gru(hidden: int = 64, layers: int = 1) -> DigitsRNN:
    """Digits GRU classifier over 8 time steps of 8 pixels."""
    return DigitsRNN("gru", hidden=hidden, layers=layers)


def digits_lstm(hidden: int = 64, layers: int = 1) -> DigitsRNN:
    """Digits LSTM classifier over 8 time steps of 8 pixels."""
    return DigitsRNN("lstm", hidden=hidden, layers=layers)
