"""Depthwise convolutions with zero padding, compiled and compared with torch.

blkrew-fold-depthwise-padding reads the padding implicitly (a window of
input rows in registers, shuffles against zero at the sides). These cases
cover what it rewrites (in place over its input at stride 1, into a new
buffer at stride 2, 5x5 taps, odd widths, with and without a bias; rows
wider than 64 through a ring of padded rows) and what it leaves to the
padded copy (a row of 2 outputs).
The activation after each convolution is applied to its rows before they
are stored (ReLU6, and SiLU for a body of more than a clamp).
"""

import pytest
import torch
from torch import nn

from blkrew.compiler.api import compile


class ExpandDepthwise(nn.Module):
    """1x1 expansion, ReLU6, depthwise (BN folded into its bias), ReLU6: the
    MobileNetV2 block whose depthwise input is an intermediate buffer."""

    def __init__(self, channels, kernel, stride, padding, bias, act="relu6"):
        super().__init__()
        self.act = {"relu6": nn.functional.relu6, "silu": nn.functional.silu}[act]
        self.expand = nn.Conv2d(3, channels, 1)
        self.depthwise = nn.Conv2d(
            channels,
            channels,
            kernel,
            stride=stride,
            padding=padding,
            groups=channels,
            bias=bias,
        )
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, x):
        y = nn.functional.relu6(self.expand(x))
        return self.act(self.bn(self.depthwise(y)))


CASES = {
    "3x3-s1-32": (32, 3, 1, 1, False),  # in place, BN bias folded
    "3x3-s2-32": (32, 3, 2, 1, False),  # distinct output buffer
    "3x3-s1-7": (7, 3, 1, 1, True),  # odd width, conv bias
    "3x3-s2-9": (9, 3, 2, 1, True),  # odd width and stride
    "5x5-s1-16": (16, 5, 1, 2, False),  # two rows and columns of padding
    "5x5-s2-16": (16, 5, 2, 2, True),
    "3x3-s1-64": (64, 3, 1, 1, False),  # the widest row one vector holds
    "3x3-s1-80": (80, 3, 1, 1, False),  # wider: a ring of padded rows, in place
    "3x3-s2-96": (96, 3, 2, 1, True),  # ring, strided, into a new buffer
    "5x5-s1-112": (112, 5, 1, 2, False),  # ring of 5 rows, chunks of 16
    "3x3-s2-4": (4, 3, 2, 1, False),  # 2 outputs a row: padded copy
    "3x3-s1-valid": (16, 3, 1, 0, False),  # no padding (prepare-loops)
}


@pytest.mark.parametrize("act", ["relu6", "silu"])
@pytest.mark.parametrize("case", CASES)
def test_padded_depthwise_matches_torch(case, act, tmp_path):
    size, kernel, stride, padding, bias = CASES[case]
    torch.manual_seed(size * 10 + kernel + stride)
    model = ExpandDepthwise(8, kernel, stride, padding, bias, act).eval()
    with torch.no_grad():
        model.bn.running_mean.uniform_(-1, 1)
        model.bn.running_var.uniform_(0.5, 2.0)
    x = torch.randn(1, 3, size, size)
    compiled = compile(model, x, workdir=tmp_path)
    torch.testing.assert_close(compiled(x), model(x), rtol=1e-4, atol=1e-4)


def test_padded_depthwise_batch_and_aarch64(tmp_path):
    """Batch 2 (the n loop) and NEON, where the 32-wide row vectors and
    their shuffles are split into 4-lane registers."""
    torch.manual_seed(5)
    model = nn.Sequential(
        ExpandDepthwise(8, 3, 1, 1, False), ExpandDepthwise(8, 3, 2, 1, True)
    ).eval()
    model[1].expand = nn.Conv2d(8, 8, 1)
    model.eval()
    x = torch.randn(2, 3, 16, 16)
    want = model(x)
    for target in ("host", "aarch64"):
        compiled = compile(model, x, target=target, workdir=tmp_path / target)
        torch.testing.assert_close(compiled(x), want, rtol=1e-4, atol=1e-4)
