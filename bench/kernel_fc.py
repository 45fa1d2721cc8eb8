"""Quick FC kernel timing (not the full `make bench` of the performance issue).

W 1024x1024 with 90% of its weights zero in 8x4 column blocks, batch 256:
the kernel alone (`w @ x`, a constant-lhs matmul: no transposes) and
`nn.Linear` (activations transposed in and out of the kernel), against torch
dense at the same thread count. Medians of repeated runs; the machine is
shared, so read the ratios, not the absolute times.

    .venv/bin/python bench/kernel_fc.py
"""

from __future__ import annotations

import statistics
import tempfile
import time

import torch
from torch import nn

from blkrew.compiler.api import compile

M = K = 1024
N = 256


def column_pruned(seed: int = 0) -> torch.Tensor:
    """W with one column in 10 kept inside every 8-row block-row."""
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(M, K, generator=gen)
    for r0 in range(0, M, 8):
        keep = torch.zeros(K, dtype=torch.bool)
        keep[(torch.arange(K) + r0 // 8) % 10 == 0] = True
        w[r0 : r0 + 8, ~keep] = 0
    return w


class WX(nn.Module):
    def __init__(self, w: torch.Tensor):
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x):
        return self.w @ x


def median_ms(fn, x, runs: int = 50) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> None:
    w = column_pruned()
    useful_gflop = 2 * int((w != 0).sum()) * N / 1e9
    linear = nn.Linear(K, M, bias=False)
    with torch.no_grad():
        linear.weight.copy_(w)
    cases = [
        ("kernel (w @ x)", WX(w).eval(), torch.randn(K, N)),
        ("nn.Linear", linear.eval(), torch.randn(N, K)),
    ]
    print(
        "| case | threads | torch dense ms | blkrew ms | speedup | "
        "blkrew useful GFLOP/s |"
    )
    print("|---|---|---|---|---|---|")
    for name, model, x in cases:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            with tempfile.TemporaryDirectory() as tmp:
                compiled = compile(model, x, threads=threads, workdir=tmp)
                torch.testing.assert_close(compiled(x), model(x), rtol=1e-3, atol=1e-3)
                with torch.no_grad():
                    t_torch = median_ms(model, x)
                t_blkrew = median_ms(compiled, x)
            print(
                f"| {name} | {threads} | {t_torch:.2f} | {t_blkrew:.3f} | "
                f"{t_torch / t_blkrew:.1f}x | {useful_gflop / t_blkrew * 1e3:.0f} |"
            )


if __name__ == "__main__":
    main()
