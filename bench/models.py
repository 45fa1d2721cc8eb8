"""Whole models at batch 1: blkrew sparse and dense against torch.

VGG-16, ResNet-18 and MobileNetV2 (CIFAR, BLK-REW hard-pruned 8x) and the
digits GRU (10x), random weights: blkrew on the pruned model, blkrew on the
same model unpruned ("dense": every layer through the same kernels with all
columns kept), torch eager on the pruned model, and oneDNN
(TorchScript ``optimize_for_inference``, which runs the convolutions in
oneDNN's blocked layout) where it applies (CNNs). Medians of
interleaved rounds (each contender once per round, in shuffled order) at
1 and 2 threads, all in one run.

    .venv/bin/python bench/models.py          # or: make bench-models

Writes bench/results/models.json and bench/results/models.md.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

# isort: off
# Before torch: bounded OpenMP spinning for both runtimes (see the module).
from openmp_env import SETTLE_S

# isort: on
import torch

from bench_io import run_meta, write_results
from blkrew.compiler.api import compile
from blkrew.models import example_input, get_model, pruned_random_model
from blkrew.timing import interleaved_ms

MODELS = {  # name: compression
    "vgg16-cifar": 8.0,
    "resnet18-cifar": 8.0,
    "mobilenetv2-cifar": 8.0,
    "digits-gru": 10.0,
}
THREADS = (1, 2)


def omp_regions(compiled) -> int:
    """Parallel regions (``__kmpc_fork_call`` sites) in a host build: 0
    where no kernel or op crossed the thresholds for threads."""
    ll = (compiled.directory / "model.ll").read_text()
    return sum(
        "call" in line and "@__kmpc_fork_call(" in line for line in ll.splitlines()
    )


def measure(name: str, compression: float, repeat: int, workdir: Path) -> list[dict]:
    pruned = pruned_random_model(name, compression=compression)
    dense = get_model(name).eval()
    x = example_input(name, batch=1, seed=1)
    onednn = None
    if x.dim() == 4:
        # oneDNN end to end: TorchScript's inference optimization converts
        # the convolutions to mkldnn tensors and propagates the layout.
        with torch.no_grad():
            traced = torch.jit.freeze(torch.jit.trace(pruned, x))
            onednn = torch.jit.optimize_for_inference(traced)
    rows = []
    single = None  # the 1-thread sparse build, timed again beside the others
    for threads in THREADS:
        torch.set_num_threads(threads)
        sparse_c = compile(
            pruned, x, threads=threads, workdir=workdir / f"{name}-s{threads}"
        )
        dense_c = compile(
            dense, x, threads=threads, workdir=workdir / f"{name}-d{threads}"
        )
        with torch.no_grad():
            torch.testing.assert_close(sparse_c(x), pruned(x), rtol=1e-3, atol=1e-3)
            fns = {
                "blkrew_sparse_ms": lambda c=sparse_c: c(x),
                "blkrew_dense_ms": lambda c=dense_c: c(x),
            }
            if threads == 1:
                single = sparse_c
            else:
                # The 1-thread build in these rounds too (the machine's
                # phases differ more between rounds than threads change
                # the time), after the dense model, which evicts the
                # weights as the previous round's last contender does for
                # the threaded build.
                fns["blkrew_sparse_1thr_same_rounds_ms"] = lambda c=single: c(x)
            fns["torch_eager_ms"] = lambda: pruned(x)
            if onednn is not None:
                fns["onednn_ms"] = lambda m=onednn: m(x)
            row = {
                "model": name,
                "compression": compression,
                "threads": threads,
                "onednn_ms": None,
                "sparse_omp_regions": omp_regions(sparse_c),
                **interleaved_ms(
                    fns, repeat, settle_s=SETTLE_S if threads > 1 else 0.0
                ),
                "layers": sparse_c.layers,
            }
        rows.append(row)
        print(
            f"  {name} t={threads}: blkrew sparse {row['blkrew_sparse_ms']:.2f} ms,"
            f" dense {row['blkrew_dense_ms']:.2f}, torch {row['torch_eager_ms']:.2f},"
            f" oneDNN {row['onednn_ms'] or float('nan'):.2f}",
            flush=True,
        )
    return rows


def markdown(rows, meta) -> str:
    lines = [
        "# Whole models at batch 1",
        "",
        f"Measured {meta['date']} on {meta['machine']} with `{meta['command']}`;",
        f"medians of {meta['repeat']} interleaved rounds (each contender once,",
        "in an order shuffled each round) after a warm-up, random weights,",
        "BLK-REW hard-pruned (8x CNNs, 10x GRU) in 8x4 column blocks. With 2",
        "threads blkrew splits the sparse kernels and dense ops over its",
        "thresholds (docs/compile.md: no layer of the pruned CIFAR CNNs is).",
        "Scaling: the 1-thread sparse build's time over this row's, timed in",
        "the same rounds (rows of different thread counts are not: compare",
        "them through this column only). OpenMP regions: parallel regions in",
        "the sparse build; with none, the 2-thread build runs on one thread",
        "and its scaling says how those rounds differed, not the code.",
        "",
        "| model | thr | blkrew sparse ms | blkrew dense ms | torch eager ms |"
        " oneDNN ms | sparse vs torch | sparse vs oneDNN | sparse scaling |"
        " OpenMP regions |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        one = r["onednn_ms"]
        sparse_ms = r["blkrew_sparse_ms"]
        single_ms = r.get("blkrew_sparse_1thr_same_rounds_ms", sparse_ms)
        lines.append(
            f"| {r['model']} | {r['threads']} | {r['blkrew_sparse_ms']:.2f} |"
            f" {r['blkrew_dense_ms']:.2f} | {r['torch_eager_ms']:.2f} |"
            f" {f'{one:.2f}' if one else 'n/a'} |"
            f" {r['torch_eager_ms'] / r['blkrew_sparse_ms']:.1f}x |"
            f" {f'{one / sparse_ms:.1f}x' if one else 'n/a'} |"
            f" {single_ms / sparse_ms:.2f}x |"
            f" {r.get('sparse_omp_regions', 'n/a')} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="blkrew-bench-") as tmp:
        for name in args.models:
            print(f"[models] {name} ...", flush=True)
            rows += measure(name, MODELS[name], args.repeat, Path(tmp))
    meta = run_meta("make bench-models", args.repeat)
    write_results("models", {"meta": meta, "rows": rows}, markdown(rows, meta))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
