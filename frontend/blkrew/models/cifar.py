"""CIFAR-style models (32x32 RGB input, 10 classes), written here so that the
package needs no torchvision: VGG-16 (with BatchNorm), ResNet-18 and
MobileNetV2, in the usual CIFAR adaptations (3x3 stride-1 stem, no stem
max-pool, a single linear classifier)."""

from __future__ import annotations

import torch
from torch import nn

__all__ = [
    "MobileNetV2",
    "ResNet18",
    "VGG",
    "mobilenetv2_cifar",
    "resnet18_cifar",
    "vgg16_cifar",
]

_VGG16 = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M"]
_VGG16 += [512, 512, 512, "M", 512, 512, 512, "M"]


class VGG(nn.Module):
    """VGG with BatchNorm; ``cfg`` lists conv widths and "M" for 2x2 pools."""

    def __init__(self, cfg: list[int | str], num_classes: int = 10, width: float = 1.0):
        super().__init__()
        layers: list[nn.Module] = []
        c = 3
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
                continue
            out = max(1, int(int(v) * width))
            layers += [
                nn.Conv2d(c, out, 3, padding=1, bias=False),
                nn.BatchNorm2d(out),
                nn.ReLU(inplace=True),
            ]
            c = out
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


class _BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResNet18(nn.Module):
    """ResNet-18 for 32x32 inputs: 3x3 stem, four stages of two basic blocks."""

    def __init__(self, num_classes: int = 10, width: float = 1.0):
        super().__init__()
        widths = [max(1, int(w * width)) for w in (64, 128, 256, 512)]
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        stages = []
        c = widths[0]
        for i, w in enumerate(widths):
            stride = 1 if i == 0 else 2
            stages.append(
                nn.Sequential(_BasicBlock(c, w, stride), _BasicBlock(w, w, 1))
            )
            c = w
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.pool(x).flatten(1))


class _InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if expand != 1:
            layers += [
                nn.Conv2d(cin, hidden, 1, bias=False),
                nn.BatchNorm2d(hidden),
                nn.ReLU6(inplace=True),
            ]
        layers += [
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return x + out if self.use_res else out


class MobileNetV2(nn.Module):
    """MobileNetV2 for 32x32 inputs (stride-1 stem and first stride-2 stage
    changed to stride 1, as in the common CIFAR adaptation)."""

    # expansion t, channels c, repeats n, stride s
    _CFG = [
        (1, 16, 1, 1),
        (6, 24, 2, 1),  # stride 2 on ImageNet
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ]

    def __init__(self, num_classes: int = 10, width: float = 1.0):
        super().__init__()

        def ch(c: int) -> int:
            return max(8, int(c * width + 4) // 8 * 8)

        c = ch(32)
        layers: list[nn.Module] = [
            nn.Conv2d(3, c, 3, 1, 1, bias=False),
            nn.BatchNorm2d(c),
            nn.ReLU6(inplace=True),
        ]
        for t, cout, n, s in self._CFG:
            for i in range(n):
                layers.append(_InvertedResidual(c, ch(cout), s if i == 0 else 1, t))
                c = ch(cout)
        last = ch(1280) if width > 1.0 else 1280
        layers += [nn.Conv2d(c, last, 1, bias=False), nn.BatchNorm2d(last)]
        layers.append(nn.ReLU6(inplace=True))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(last, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.features(x)).flatten(1))


def vgg16_cifar(num_classes: int = 10, width: float = 1.0) -> VGG:
    """VGG-16 (BN) for CIFAR-10; ``width`` scales every conv (tests use less)."""
    return VGG(_VGG16, num_classes=num_classes, width=width)


def resnet18_cifar(num_classes: int = 10, width: float = 1.0) -> ResNet18:
    """ResNet-18 for CIFAR-10; ``width`` scales every stage."""
    return ResNet18(num_classes=num_classes, width=width)


def mobilenetv2_cifar(num_classes: int = 10, width: float = 1.0) -> MobileNetV2:
    """MobileNetV2 for CIFAR-10; ``width`` is the usual width multiplier."""
    return MobileNetV2(num_classes=num_classes, width=width)
