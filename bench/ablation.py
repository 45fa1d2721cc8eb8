"""What each compiler optimization is worth, one at a time, on whole models.

For each CNN of the zoo (CIFAR, BLK-REW hard-pruned 8x, batch 1, one
thread), blkrew as it compiles by default and with one optimization turned
off, timed in the same interleaved rounds (so the ratio is honest on a
shared machine). The optimizations are ``blkrew.compile`` options:

- ``implicit_im2col``: stride-1 convolutions read their patches from the
  padded image inside the sparse kernel instead of writing the patch matrix
  first (``blkrew-fold-im2col``).
- ``weight_prefetch``: kernels with N up to 64 prefetch their packed
  weights 4 KiB ahead (``weight_prefetch_bytes``; off: 0).

    .venv/bin/python bench/ablation.py      # or: make bench-ablation

Writes bench/results/ablation.json and bench/results/ablation.md.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

from bench_io import run_meta, write_results
from blkrew.compiler.api import compile
from blkrew.models import example_input, pruned_random_model
from blkrew.timing import interleaved_ms

MODELS = ("vgg16-cifar", "resnet18-cifar", "mobilenetv2-cifar")
# Option turned off -> compile() keyword arguments that do it.
ABLATIONS = {
    "implicit_im2col": {"implicit_im2col": False},
    "weight_prefetch": {"weight_prefetch_bytes": 0},
}


def measure(name: str, repeat: int, workdir: Path) -> list[dict]:
    model = pruned_random_model(name, compression=8.0)
    x = example_input(name, batch=1, seed=1)
    torch.set_num_threads(1)
    with torch.no_grad():
        want = model(x)
    builds = {"default": compile(model, x, threads=1, workdir=workdir / name)}
    for option, kwargs in ABLATIONS.items():
        builds[option] = compile(
            model, x, threads=1, workdir=workdir / f"{name}-{option}", **kwargs
        )
    for build in builds.values():
        torch.testing.assert_close(build(x), want, rtol=1e-3, atol=1e-3)
    times = interleaved_ms({k: (lambda c=c: c(x)) for k, c in builds.items()}, repeat)
    rows = []
    for option in ABLATIONS:
        rows.append(
            {
                "model": name,
                "option": option,
                "default_ms": times["default"],
                "without_ms": times[option],
                "default_arena_bytes": builds["default"].manifest["arena_bytes"],
                "without_arena_bytes": builds[option].manifest["arena_bytes"],
            }
        )
        print(
            f"  {name} without {option}: {times[option]:.2f} ms,"
            f" default {times['default']:.2f} ms",
            flush=True,
        )
    return rows


def markdown(rows, meta) -> str:
    lines = [
        "# What each optimization is worth",
        "",
        f"Measured {meta['date']} on {meta['machine']} with `{meta['command']}`;",
        f"medians of {meta['repeat']} interleaved rounds, 1 thread, batch 1,",
        "random weights hard-pruned 8x in 8x4 column blocks. *without* = the",
        "same model compiled with the one option turned off, timed in the same",
        "rounds as the default build. speed-up = without / default.",
        "",
        "| model | option off | default ms | without ms | speed-up |"
        " default arena MB | without arena MB |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['option']} | {r['default_ms']:.2f} |"
            f" {r['without_ms']:.2f} | {r['without_ms'] / r['default_ms']:.2f}x |"
            f" {r['default_arena_bytes'] / 2**20:.2f} |"
            f" {r['without_arena_bytes'] / 2**20:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="blkrew-ablation-") as tmp:
        for name in args.models:
            print(f"[ablation] {name} ...", flush=True)
            rows += measure(name, args.repeat, Path(tmp))
    meta = run_meta("make bench-ablation", args.repeat)
    write_results("ablation", {"meta": meta, "rows": rows}, markdown(rows, meta))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
